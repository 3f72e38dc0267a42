// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - helpers shared by its programs
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stb.h"

const char *stb_name = "stb";
const char *stb_bus = "0";
/* The number of the bus if stb_bus is one. */
static unsigned int bus_nr;

bool stb_set_bus(const char *arg)
{
	unsigned long nr;
	char *end;

	if (!strchr(arg, '/')) {
		nr = strtoul(arg, &end, 10);
		if (*end || !*arg)
			return false;
		bus_nr = nr;
	}
	stb_bus = arg;
	return true;
}

const char *stb_bus_path(void)
{
	static char path[32];

	if (strchr(stb_bus, '/'))
		return stb_bus;
	snprintf(path, sizeof(path), KBUS_DEV_FMT, bus_nr);
	return path;
}

bool stb_bus_nr(unsigned int *nr)
{
	if (strchr(stb_bus, '/'))
		return false;
	*nr = bus_nr;
	return true;
}

int stb_bus_open(void)
{
	const int flags = O_RDWR | O_CLOEXEC;

	if (strchr(stb_bus, '/'))
		return kbus_ksock_open_by_name(stb_bus, flags);
	return kbus_ksock_open(bus_nr, flags);
}

void stb_init(const char *name, int argc, char **argv)
{
	int opt;

	stb_name = name;
	while ((opt = getopt(argc, argv, "b:")) != -1) {
		switch (opt) {
		case 'b':
			if (!stb_set_bus(optarg)) {
				fprintf(stderr, "%s: invalid bus '%s'\n", name,
					optarg);
				exit(1);
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-b BUS]\n", name);
			exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: %s [-b BUS]\n", name);
		exit(1);
	}
}

static void vevent(const char *event, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;
	ssize_t w;
	char *p;

	n = snprintf(line, sizeof(line), "%s\t%s\t", stb_name, event);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	/* One line per event: no newlines or tabs inside. */
	for (p = line + n; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	n = strlen(line);
	line[n++] = '\n';
	/* One write (below PIPE_BUF): lines of several programs never mix. */
	do {
		w = write(STDOUT_FILENO, line, n);
	} while (w < 0 && errno == EINTR);
}

void stb_event(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vevent(event, fmt, ap);
	va_end(ap);
}

void stb_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vevent("error", fmt, ap);
	va_end(ap);
	exit(1);
}

int stb_open(void)
{
	int ks = stb_bus_open();

	if (ks < 0)
		stb_fail("cannot open %s: %s", stb_bus_path(),
			 kbus_strerror(ks));
	return ks;
}

uint32_t stb_ksock_id(int ks)
{
	uint32_t id;
	int err = kbus_ksock_id(ks, &id);

	if (err)
		stb_fail("cannot get the Ksock id: %s", kbus_strerror(err));
	return id;
}

void stb_bind(int ks, const char *name, bool replier)
{
	int err = kbus_ksock_bind(ks, name, replier);

	if (err)
		stb_fail("cannot bind to %s as %s: %s", name,
			 replier ? "replier" : "listener", kbus_strerror(err));
}

void stb_announce(int ks, const char *name, const char *text)
{
	int err = kbus_announce(ks, name, text, strlen(text), NULL);

	if (err)
		stb_fail("cannot announce %s: %s", name, kbus_strerror(err));
}

void stb_reply(int ks, const kbus_message_t *req, const char *text)
{
	int err = kbus_reply(ks, req, text, strlen(text), NULL);

	if (err)
		stb_fail("cannot reply to %s request %u:%u: %s",
			 stb_name_of(req), req->id.network_id,
			 req->id.serial_num, kbus_strerror(err));
}

const char *stb_data(const kbus_message_t *msg, char *buf, size_t size)
{
	size_t n = msg->data_len;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(buf, kbus_msg_data_ptr(msg), n);
	buf[n] = '\0';
	return buf;
}

/* Receive and handle everything queued on @ks. */
static void drain(struct stb_loop *loop, int ks)
{
	kbus_message_t *msg;
	int ret;

	for (;;) {
		ret = kbus_ksock_read_next_msg(ks, &msg);
		if (ret < 0)
			stb_fail("cannot receive: %s", kbus_strerror(ret));
		if (!msg)
			return;
		loop->on_msg(ks, msg);
		kbus_msg_delete(&msg);
	}
}

void stb_run(struct stb_loop *loop)
{
	struct pollfd pfd[5];
	char buf[1024];
	size_t len = 0;
	char *nl;
	ssize_t n;
	int i, ret;

	pfd[0].fd = STDIN_FILENO;
	pfd[0].events = POLLIN;
	for (i = 0; i < loop->nks; i++) {
		pfd[i + 1].fd = loop->ks[i];
		pfd[i + 1].events = POLLIN;
	}

	for (;;) {
		ret = poll(pfd, loop->nks + 1,
			   loop->on_tick ? loop->tick_ms : -1);
		if (ret < 0 && errno != EINTR)
			stb_fail("poll: %s", strerror(errno));
		for (i = 0; i < loop->nks; i++)
			if (ret > 0 && pfd[i + 1].revents)
				drain(loop, loop->ks[i]);
		if (ret > 0 && pfd[0].revents) {
			n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Finish what is queued, then stop. */
				for (i = 0; i < loop->nks; i++)
					drain(loop, loop->ks[i]);
				return;
			}
			len += n;
			buf[len] = '\0';
			while ((nl = strchr(buf, '\n'))) {
				*nl = '\0';
				if (loop->on_line && *buf)
					loop->on_line(buf);
				len -= nl + 1 - buf;
				memmove(buf, nl + 1, len + 1);
			}
			if (len == sizeof(buf) - 1)
				len = 0;	/* overlong line: drop it */
		}
		if (loop->on_tick)
			loop->on_tick();
	}
}
