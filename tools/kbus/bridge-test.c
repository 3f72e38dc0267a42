// SPDX-License-Identifier: GPL-2.0
/*
 * bridge-test - checks of buses joined by Limpets ("kbus limpet") and by
 * the MQTT bridge ("kbus mqtt")
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 *   bridge-test KBUS_COMMAND
 *   bridge-test -B COUNT KBUS_COMMAND
 *
 * Run as root on a system with KBUS (a test guest, never a machine in
 * use): brings the loopback interface up, mounts a kbus filesystem with
 * five buses in a temporary directory, and joins them: bus 0 to bus 1 by
 * "kbus limpet" processes over TCP on 127.0.0.1, bus 1 to bus 2 over a
 * Unix socket, and bus 3 to bus 4 by "kbus mqtt" processes through a
 * mosquitto broker that it starts on 127.0.0.1 only.  Prints one
 * TAP-like line per check ("ok N - ..." or "not ok N - ...", with "# "
 * lines saying why) and exits with 0 if every check passed.
 *
 * With -B it is a benchmark instead: COUNT round trips of a 64-byte
 * request and its reply on one bus, and from one bus to a replier on
 * another through a Limpet pair (over a Unix socket and over TCP) and
 * through the MQTT bridge, with the median, 99th percentile and worst
 * case of each and their ratios to the round trip on one bus.
 */

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libkbus.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define WAIT_MS		5000	/* for what must come */
#define QUIET_MS	300	/* for what must not */
#define NBUS		7	/* 0-2 Limpets, 3-4 MQTT, 5-6 a Limpet's -p */
#define CHAIN		3	/* buses of the chain of Limpets */

static const char *kbus_cmd;
static char dir[64];
static char bus_path[NBUS][96];
static char tcp_addr[32];
static char unix_addr[96];
static char unix_addr2[96];
static char mqtt_addr[32];
static char mqtt_dir[96];
static char log_dir[96];
static pid_t broker = -1;
static int n_checks, n_failed;

/*
 * A bridge process (kbus limpet or kbus mqtt) and what it has printed;
 * it prints @up once it is linked or connected.
 */
struct limpet {
	const char *name;
	int bus;
	const char *args[12];
	const char *up;
	pid_t pid;
	int out;
	char text[16384];
	size_t len;
};

#define LIMPET(n, b, ...)						\
	{ .name = n, .bus = b, .up = "linked to",			\
	  .args = { "limpet", __VA_ARGS__ } }
#define MQTT(n, b, id)							\
	{ .name = n, .bus = b, .up = "connected to",			\
	  .args = { "mqtt", "-i", id, "-p", "$.Mq", "-t", "kbustest",	\
		    "-T", "30000", mqtt_addr } }

static struct limpet limpets[] = {
	LIMPET("L1", 0, "-n", "1", "-l", tcp_addr),
	LIMPET("L2", 1, "-n", "2", "-c", tcp_addr),
	LIMPET("L3", 1, "-n", "3", "-l", unix_addr),
	LIMPET("L4", 2, "-n", "4", "-c", unix_addr),
	MQTT("M1", 3, "11"),
	MQTT("M2", 4, "12"),
	LIMPET("L5", 5, "-n", "5", "-p", "$.Public.*", "-l", unix_addr2),
	LIMPET("L6", 6, "-n", "6", "-c", unix_addr2),
};

static void __attribute__((format(printf, 2, 3)))
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	n_checks++;
	if (!ok)
		n_failed++;
	printf("%sok %d - ", ok ? "" : "not ", n_checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ==== Processes ==== */

/*
 * Start @l with its output (its log too, shown should a check fail) in a
 * file of log_dir: a file, not a pipe, so that a bridge that logs much
 * while nobody reads never waits.
 */
static void limpet_start(struct limpet *l)
{
	char path[160];
	int fd;

	l->len = 0;
	l->text[0] = '\0';
	l->pid = -1;
	snprintf(path, sizeof(path), "%s/%s", log_dir, l->name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	l->out = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || l->out < 0 || lseek(l->out, 0, SEEK_END) < 0)
		goto out;
	l->pid = fork();
	if (l->pid == 0) {
		const char *argv[ARRAY_SIZE(l->args) + 5] = {
			kbus_cmd, "-v", "-b", bus_path[l->bus],
		};
		size_t i;

		for (i = 0; i < ARRAY_SIZE(l->args) && l->args[i]; i++)
			argv[4 + i] = l->args[i];
		dup2(fd, 1);
		dup2(fd, 2);
		execv(kbus_cmd, (char **)argv);
		_exit(127);
	}
out:
	if (fd >= 0)
		close(fd);
}

/*
 * Read what @l has printed since it started, for up to @ms; is @what in
 * it yet?  Only the last part is kept if it printed much.
 */
static bool limpet_said(struct limpet *l, const char *what, int ms)
{
	int64_t end = now_ms() + ms;
	size_t room;
	ssize_t n;

	for (;;) {
		room = sizeof(l->text) - 1 - l->len;
		if (!room) {
			memmove(l->text, l->text + l->len / 2,
				l->len - l->len / 2);
			l->len -= l->len / 2;
			room = sizeof(l->text) - 1 - l->len;
		}
		n = l->out >= 0 ? read(l->out, l->text + l->len, room) : -1;
		if (n > 0) {
			l->len += n;
			l->text[l->len] = '\0';
			continue;
		}
		if (strstr(l->text, what))
			return true;
		if (n < 0 || now_ms() >= end)
			return false;
		usleep(20000);
	}
}

static void limpet_kill(struct limpet *l)
{
	if (l->pid <= 0)
		return;
	kill(l->pid, SIGKILL);
	waitpid(l->pid, NULL, 0);
	close(l->out);
	l->out = -1;
	l->pid = 0;
}

/* Wait until @l (started) is linked; a check. */
static bool limpet_linked(struct limpet *l, const char *why)
{
	bool ok;

	ok = l->pid > 0 && limpet_said(l, l->up, 2 * WAIT_MS);
	check(ok, "%s: %s %s (network %s, bus %d) is up", why, l->args[0],
	      l->name, l->args[2], l->bus);
	if (!ok)
		note("%s printed: %s", l->name, l->text);
	return ok;
}

/* Start @l, whose peer runs, and wait until it is linked; a check. */
static bool limpet_up(struct limpet *l, const char *why)
{
	limpet_start(l);
	return limpet_linked(l, why);
}

/* Start the pair @a (listening) and @b, and wait until both are linked. */
static bool limpet_pair_up(struct limpet *a, struct limpet *b,
			   const char *why)
{
	bool ok;

	limpet_start(a);
	limpet_start(b);
	ok = limpet_linked(a, why);
	return limpet_linked(b, why) && ok;
}

/* Show the last lines each running bridge printed (after a failure). */
static void show_logs(void)
{
	size_t i;
	char *p;
	int n;

	for (i = 0; i < ARRAY_SIZE(limpets); i++) {
		if (limpets[i].pid <= 0)
			continue;
		limpet_said(&limpets[i], "\x01", 200);	/* read what is there */
		p = limpets[i].text + limpets[i].len;
		for (n = 0; p > limpets[i].text && n <= 40; p--)
			n += p[-1] == '\n';
		note("%s's last lines:", limpets[i].name);
		while (*p) {
			char *nl = strchr(p, '\n');

			if (!nl)
				nl = p + strlen(p);
			note("  %.*s", (int)(nl - p), p);
			p = *nl ? nl + 1 : nl;
		}
	}
}

/* ==== Buses ==== */

static int bus_open(int bus)
{
	int ks = kbus_ksock_open_by_name(bus_path[bus], O_RDWR);

	if (ks < 0)
		note("cannot open %s: %s", bus_path[bus], kbus_strerror(ks));
	return ks;
}

static uint32_t ksock_id(int ks)
{
	uint32_t id = 0;

	kbus_ksock_id(ks, &id);
	return id;
}

/* Wait until @name's replier as seen from @ks is there (or gone). */
static uint32_t wait_replier(int ks, const char *name, bool present)
{
	int64_t end = now_ms() + WAIT_MS;
	uint32_t id;

	do {
		if (kbus_ksock_find_replier(ks, name, &id) >= 0 &&
		    !!id == present)
			return present ? id : 1;
		usleep(20000);
	} while (now_ms() < end);
	return 0;
}

/* The next message for @ks within @ms, or NULL. */
static kbus_message_t *recv_within(int ks, int ms)
{
	kbus_message_t *msg = NULL;

	if (kbus_recv_timeout(ks, &msg, ms) <= 0)
		return NULL;
	return msg;
}

static bool data_is(const kbus_message_t *m, const char *s)
{
	return m->data_len == strlen(s) &&
	       !memcmp(kbus_msg_data_ptr(m), s, m->data_len);
}

static void show(const char *what, const kbus_message_t *m)
{
	char line[512];

	if (!m) {
		note("%s: nothing", what);
		return;
	}
	kbus_msg_format(m, line, sizeof(line), 64);
	note("%s: %s (orig_from %u:%u, final_to %u:%u)", what, line,
	     m->orig_from.network_id, m->orig_from.local_id,
	     m->final_to.network_id, m->final_to.local_id);
}

/* Is @m the answer to request @id named @name, synthetic or not? */
static bool answers(const kbus_message_t *m, const kbus_msg_id_t *id,
		    const char *name, bool synthetic)
{
	return m && kbus_msg_name_is(m, name) &&
	       !kbus_msg_compare_ids(&m->in_reply_to, id) &&
	       !!kbus_msg_is_synthetic(m) == synthetic;
}

static bool quiet(int ks, const char *who)
{
	kbus_message_t *m = recv_within(ks, QUIET_MS);

	if (!m)
		return true;
	show(who, m);
	kbus_msg_delete(&m);
	return false;
}

/* Wait, up to WAIT_MS, until something is queued for @ks. */
static void wait_queued(int ks)
{
	int64_t end = now_ms() + WAIT_MS;
	uint32_t n = 0;

	while (!kbus_ksock_num_messages(ks, &n) && !n && now_ms() < end)
		usleep(20000);
}

#define ANY_SENDER	UINT32_MAX

/*
 * The check @desc: within @ms, @q gets the status @name in answer to its
 * request @id, from Ksock @from (ANY_SENDER: whoever sent it).
 */
static void expect_status(int q, const kbus_msg_id_t *id, const char *name,
			  uint32_t from, int ms, const char *desc)
{
	kbus_message_t *m = recv_within(q, ms);

	check(answers(m, id, name, true) &&
	      (from == ANY_SENDER || m->from == from), "%s", desc);
	show("requester got", m);
	kbus_msg_delete(&m);
}

/* ==== Setup ==== */

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

static void cleanup(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(limpets); i++)
		limpet_kill(&limpets[i]);
	if (broker > 0) {
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
	}
	if (mqtt_dir[0]) {
		char path[160];

		snprintf(path, sizeof(path), "%s/mosquitto.conf", mqtt_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/mosquitto.log", mqtt_dir);
		unlink(path);
		rmdir(mqtt_dir);
	}
	if (log_dir[0]) {
		char path[160];

		for (i = 0; i < ARRAY_SIZE(limpets); i++) {
			snprintf(path, sizeof(path), "%s/%s", log_dir,
				 limpets[i].name);
			unlink(path);
		}
		rmdir(log_dir);
	}
	if (dir[0]) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
}

/* ==== One bridge: bus 0 - L1 - TCP - L2 - bus 1 ==== */

static void test_pair(void)
{
	kbus_message_t *m = NULL, *req = NULL, *reply = NULL, *sreq = NULL;
	kbus_msg_id_t id, sid;
	uint32_t proxy, rid, qid, sender_id;
	int sender, heard0, heard1, q, r, r2;

	/* Announcements, to a wildcard listener on the far bus. */
	sender = bus_open(0);
	heard0 = bus_open(0);
	heard1 = bus_open(1);
	if (sender < 0 || heard0 < 0 || heard1 < 0)
		return;
	sender_id = ksock_id(sender);
	kbus_ksock_bind(heard0, "$.Bridge.*", 0);
	kbus_ksock_bind(heard1, "$.Bridge.*", 0);
	kbus_announce(sender, "$.Bridge.News", "hello", 5, &id);
	m = recv_within(heard1, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Bridge.News") && data_is(m, "hello") &&
	      m->id.network_id == 1 && m->id.serial_num == id.serial_num &&
	      m->orig_from.network_id == 1 &&
	      m->orig_from.local_id == sender_id && m->from != 0,
	      "pair: an announcement reaches a wildcard listener on the far bus, with its id and original sender");
	show("far listener got", m);
	kbus_msg_delete(&m);
	check(quiet(heard1, "far listener also got"),
	      "pair: the far listener gets it once");
	m = recv_within(heard0, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Bridge.News") && m->from == sender_id,
	      "pair: a listener on the sender's bus gets it");
	kbus_msg_delete(&m);
	check(quiet(heard0, "near listener also got"),
	      "pair: ... once: nothing comes back over the bridge");
	kbus_ksock_close(sender);

	/* Request and reply. */
	q = bus_open(0);
	r = bus_open(1);
	if (q < 0 || r < 0)
		return;
	qid = ksock_id(q);
	rid = ksock_id(r);
	kbus_ksock_bind(r, "$.Bridge.Echo", 1);
	proxy = wait_replier(q, "$.Bridge.Echo", true);
	check(proxy != 0,
	      "pair: a replier on the far bus makes the Limpet its replier by proxy here");
	kbus_request(q, "$.Bridge.Echo", "ping", 4, &id);
	req = recv_within(r, WAIT_MS);
	check(req && kbus_msg_wants_us_to_reply(req) && data_is(req, "ping") &&
	      req->orig_from.network_id == 1 && req->orig_from.local_id == qid,
	      "pair: the request reaches the far replier, to be answered, with its original sender");
	show("far replier got", req);
	if (req)
		kbus_reply(r, req, "pong", 4, NULL);
	reply = recv_within(q, WAIT_MS);
	check(answers(reply, &id, "$.Bridge.Echo", false) &&
	      data_is(reply, "pong") && reply->from == proxy &&
	      reply->orig_from.network_id == 2 &&
	      reply->orig_from.local_id == rid,
	      "pair: the requester gets the far replier's reply, from the proxy, original sender the replier");
	show("requester got", reply);
	kbus_msg_delete(&req);
	/* The listeners saw the request and the reply go by. */
	while ((m = recv_within(heard1, QUIET_MS)))
		kbus_msg_delete(&m);
	while ((m = recv_within(heard0, QUIET_MS)))
		kbus_msg_delete(&m);

	/* A stateful request to the replier that answered. */
	if (reply &&
	    !kbus_msg_create_stateful_request(&sreq, reply, "$.Bridge.Echo",
					      13, "again", 5, 0)) {
		kbus_ksock_send_msg(q, sreq, &sid);
		req = recv_within(r, WAIT_MS);
		check(req && kbus_msg_wants_us_to_reply(req) &&
		      data_is(req, "again") &&
		      req->final_to.network_id == 2 &&
		      req->final_to.local_id == rid,
		      "pair: a stateful request reaches the replier it names on the far bus");
		show("far replier got", req);
		if (req)
			kbus_reply(r, req, "yes", 3, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &sid, "$.Bridge.Echo", false) &&
		      data_is(m, "yes"),
		      "pair: ... and its reply comes back");
		kbus_msg_delete(&m);
	} else {
		check(false, "pair: a stateful request can be built from the reply");
	}

	/* The far replier replaced: the stateful request is refused. */
	kbus_ksock_close(r);
	wait_replier(q, "$.Bridge.Echo", false);
	r2 = bus_open(1);
	kbus_ksock_bind(r2, "$.Bridge.Echo", 1);
	check(wait_replier(q, "$.Bridge.Echo", true) == proxy,
	      "pair: a new far replier is proxied by the same Limpet");
	if (sreq) {
		kbus_ksock_send_msg(q, sreq, &sid);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &sid, "$.KBUS.Replier.NotSameKsock", true),
		      "pair: a stateful request to a replaced far replier gets $.KBUS.Replier.NotSameKsock");
		show("requester got", m);
		kbus_msg_delete(&m);
		check(quiet(r2, "the new replier got"),
		      "pair: ... and the new replier never sees it");
	}
	kbus_msg_delete(&sreq);
	kbus_msg_delete(&reply);

	/* The far replier goes away: with the request read, and unread. */
	kbus_request(q, "$.Bridge.Echo", "x", 1, &id);
	req = recv_within(r2, WAIT_MS);
	kbus_msg_delete(&req);
	kbus_ksock_close(r2);
	expect_status(q, &id, "$.KBUS.Replier.Ignored", proxy, WAIT_MS,
		      "pair: a far replier that closes with the request read: $.KBUS.Replier.Ignored");
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Echo", 1);
	wait_replier(q, "$.Bridge.Echo", true);
	kbus_request(q, "$.Bridge.Echo", "y", 1, &id);
	/* Let it be queued on the far side, then close unread. */
	wait_queued(r);
	kbus_ksock_close(r);
	expect_status(q, &id, "$.KBUS.Replier.GoneAway", ANY_SENDER, WAIT_MS,
		      "pair: a far replier that closes with the request unread: $.KBUS.Replier.GoneAway");

	/* The far replier unbinds with the request unread: Unbound. */
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Unb", 1);
	wait_replier(q, "$.Bridge.Unb", true);
	kbus_request(q, "$.Bridge.Unb", NULL, 0, &id);
	wait_queued(r);
	kbus_ksock_unbind(r, "$.Bridge.Unb", 1);
	expect_status(q, &id, "$.KBUS.Replier.Unbound", ANY_SENDER, WAIT_MS,
		      "pair: a far replier that unbinds with the request unread: $.KBUS.Replier.Unbound");
	check(quiet(q, "requester also got"),
	      "pair: ... and nothing more: one answer");
	kbus_ksock_close(r);

	/* A far replier with no room: $.KBUS.RemoteError.EBUSY. */
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Full", 1);
	kbus_ksock_bind(r, "$.Bridge.Filler", 0);
	{
		uint32_t one = 1;

		kbus_ksock_max_messages(r, &one);
	}
	kbus_announce(heard1, "$.Bridge.Filler", NULL, 0, NULL);
	wait_replier(q, "$.Bridge.Full", true);
	kbus_request(q, "$.Bridge.Full", NULL, 0, &id);
	expect_status(q, &id, "$.KBUS.RemoteError.EBUSY", ANY_SENDER, WAIT_MS,
		      "pair: a request the far bus refuses gets $.KBUS.RemoteError.EBUSY");
	kbus_ksock_close(r);

	/* The far Limpet killed with a request in flight. */
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Slow", 1);
	proxy = wait_replier(q, "$.Bridge.Slow", true);
	kbus_request(q, "$.Bridge.Slow", NULL, 0, &id);
	req = recv_within(r, WAIT_MS);
	check(req, "pair: the far replier holds a request");
	kbus_msg_delete(&req);
	limpet_kill(&limpets[1]);
	expect_status(q, &id, "$.KBUS.Replier.GoneAway", proxy, WAIT_MS,
		      "pair: the far Limpet killed mid-request: the requester gets $.KBUS.Replier.GoneAway");
	check(quiet(q, "requester also got"),
	      "pair: ... and nothing more: one answer");
	check(wait_replier(q, "$.Bridge.Slow", false),
	      "pair: ... and the proxy goes with the link");
	if (limpet_up(&limpets[1], "pair: relink after the kill")) {
		proxy = wait_replier(q, "$.Bridge.Slow", true);
		check(proxy != 0,
		      "pair: the relinked pair proxies the replier again");
		kbus_request(q, "$.Bridge.Slow", "2", 1, &id);
		req = recv_within(r, WAIT_MS);
		if (req)
			kbus_reply(r, req, "ok", 2, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &id, "$.Bridge.Slow", false) && data_is(m, "ok"),
		      "pair: a request is answered across the relinked pair");
		kbus_msg_delete(&m);
	}

	/* The near Limpet (the proxy) killed with a request in flight. */
	kbus_request(q, "$.Bridge.Slow", "3", 1, &id);
	req = recv_within(r, WAIT_MS);
	kbus_msg_delete(&req);
	limpet_kill(&limpets[0]);
	m = recv_within(q, WAIT_MS);
	check(m && kbus_msg_is_synthetic(m) && m->from == 0 &&
	      !kbus_msg_compare_ids(&m->in_reply_to, &id) &&
	      !strncmp(kbus_msg_name_ptr(m), "$.KBUS.Replier.", 15),
	      "pair: the near Limpet killed mid-request: KBUS answers the requester");
	show("requester got", m);
	kbus_msg_delete(&m);
	limpet_up(&limpets[0], "pair: relink after the near kill");
	check(limpet_said(&limpets[1], "unlinked", WAIT_MS) &&
	      wait_replier(q, "$.Bridge.Slow", true),
	      "pair: the other end relinks by itself");
	kbus_ksock_close(r);
	kbus_ksock_close(q);
	kbus_ksock_close(heard0);
	kbus_ksock_close(heard1);
}

/* ==== A chain: bus 0 - L1 - L2 - bus 1 - L3 - L4 - bus 2 ==== */

static void test_chain(void)
{
	kbus_message_t *m, *req, *reply = NULL, *sreq = NULL;
	int heard[CHAIN], sender, q, r, i;
	kbus_msg_id_t id;
	uint32_t rid;

	if (!limpet_pair_up(&limpets[2], &limpets[3], "chain"))
		return;
	for (i = 0; i < CHAIN; i++) {
		heard[i] = bus_open(i);
		if (heard[i] < 0)
			return;
		kbus_ksock_bind(heard[i], "$.Chain.%", 0);
	}
	sender = bus_open(0);
	kbus_announce(sender, "$.Chain.News", "far", 3, &id);
	for (i = 0; i < CHAIN; i++) {
		m = recv_within(heard[i], WAIT_MS);
		check(m && kbus_msg_name_is(m, "$.Chain.News") &&
		      data_is(m, "far") &&
		      m->id.network_id == (i ? 1 : 0) &&
		      m->id.serial_num == id.serial_num,
		      "chain: an announcement from bus 0 reaches bus %d with its id", i);
		show("listener got", m);
		kbus_msg_delete(&m);
		check(quiet(heard[i], "listener also got"),
		      "chain: ... once on bus %d", i);
	}
	kbus_ksock_close(sender);

	/* A request from bus 2 to a replier on bus 0, two hops away. */
	r = bus_open(0);
	q = bus_open(2);
	rid = ksock_id(r);
	kbus_ksock_bind(r, "$.Chain.Ask", 1);
	check(wait_replier(q, "$.Chain.Ask", true) != 0,
	      "chain: a replier on bus 0 is proxied on bus 2");
	kbus_request(q, "$.Chain.Ask", "?", 1, &id);
	req = recv_within(r, WAIT_MS);
	check(req && kbus_msg_wants_us_to_reply(req) &&
	      req->orig_from.network_id == 4,
	      "chain: a request from bus 2 reaches the replier on bus 0");
	show("replier got", req);
	if (req)
		kbus_reply(r, req, "!", 1, NULL);
	kbus_msg_delete(&req);
	reply = recv_within(q, WAIT_MS);
	check(answers(reply, &id, "$.Chain.Ask", false) && data_is(reply, "!") &&
	      reply->orig_from.network_id == 1 &&
	      reply->orig_from.local_id == rid,
	      "chain: ... and its reply comes back two hops");
	show("requester got", reply);

	if (reply &&
	    !kbus_msg_create_stateful_request(&sreq, reply, "$.Chain.Ask", 11,
					      "!?", 2, 0)) {
		kbus_ksock_send_msg(q, sreq, &id);
		req = recv_within(r, WAIT_MS);
		check(req && req->final_to.network_id == 1 &&
		      req->final_to.local_id == rid,
		      "chain: a stateful request reaches its replier two hops away");
		if (req)
			kbus_reply(r, req, "!!", 2, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &id, "$.Chain.Ask", false) && data_is(m, "!!"),
		      "chain: ... and is answered");
		kbus_msg_delete(&m);
	}
	kbus_msg_delete(&sreq);
	kbus_msg_delete(&reply);

	/* The replier on bus 0 goes with the request unread. */
	kbus_request(q, "$.Chain.Ask", NULL, 0, &id);
	wait_queued(r);
	kbus_ksock_close(r);
	expect_status(q, &id, "$.KBUS.Replier.GoneAway", ANY_SENDER, WAIT_MS,
		      "chain: a replier gone two hops away: $.KBUS.Replier.GoneAway");
	check(wait_replier(q, "$.Chain.Ask", false),
	      "chain: ... and its proxies go too");
	kbus_ksock_close(q);
	for (i = 0; i < CHAIN; i++)
		kbus_ksock_close(heard[i]);
}

/* ==== MQTT: bus 3 - M1 - mosquitto - M2 - bus 4 ==== */

/* Can we connect to 127.0.0.1:@port? */
static bool port_open(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = !connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return ok;
}

/* Start mosquitto on 127.0.0.1:@port, only there; a check. */
static bool broker_start(int port)
{
	static const char *const paths[] = {
		"/usr/sbin/mosquitto", "/usr/bin/mosquitto",
	};
	const char *path = NULL;
	char conf[160], log[160];
	int64_t end;
	size_t i;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(paths); i++)
		if (!access(paths[i], X_OK))
			path = paths[i];
	if (!path) {
		check(false, "mqtt: mosquitto is installed (Debian: mosquitto)");
		return false;
	}
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", mqtt_dir);
	snprintf(log, sizeof(log), "%s/mosquitto.log", mqtt_dir);
	f = fopen(conf, "w");
	if (!f) {
		check(false, "mqtt: write %s", conf);
		return false;
	}
	/*
	 * Loopback only, nothing kept, no switch to its own user, and no
	 * Nagle delay on its sockets (as a broker for requests should be).
	 */
	fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n"
		"persistence false\nuser root\nset_tcp_nodelay true\n"
		"log_dest file %s\n", port, log);
	fclose(f);
	broker = fork();
	if (broker == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execl(path, path, "-c", conf, (char *)NULL);
		_exit(127);
	}
	end = now_ms() + 2 * WAIT_MS;
	while (broker > 0 && !port_open(port) && now_ms() < end)
		usleep(50000);
	check(broker > 0 && port_open(port),
	      "mqtt: mosquitto listens on 127.0.0.1:%d", port);
	return port_open(port);
}

/* ==== A Limpet's pattern: bus 5 - L5 (-p $.Public.*) - L6 - bus 6 ==== */

static void test_pattern(void)
{
	int a, b, r;
	kbus_message_t *m;

	if (!limpet_pair_up(&limpets[6], &limpets[7], "pattern"))
		return;
	a = bus_open(5);
	b = bus_open(6);
	if (a < 0 || b < 0)
		return;
	kbus_ksock_bind(a, "$.*", 0);
	kbus_ksock_bind(b, "$.*", 0);

	kbus_announce(a, "$.Private.News", NULL, 0, NULL);
	kbus_announce(a, "$.Public.News", NULL, 0, NULL);
	m = recv_within(b, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Public.News"),
	      "pattern: only names under the Limpet's -p leave its bus");
	show("far listener got", m);
	kbus_msg_delete(&m);
	kbus_announce(b, "$.Private.Back", NULL, 0, NULL);
	kbus_announce(b, "$.Public.Back", NULL, 0, NULL);
	while ((m = recv_within(a, WAIT_MS)) &&
	       (kbus_msg_name_is(m, "$.Private.News") ||
		kbus_msg_name_is(m, "$.Public.News")))
		kbus_msg_delete(&m);	/* its own, as a listener */
	check(m && kbus_msg_name_is(m, "$.Public.Back"),
	      "pattern: ... and only those come in, whatever the peer's pattern");
	show("near listener got", m);
	kbus_msg_delete(&m);
	check(quiet(a, "near listener also got"),
	      "pattern: ... nothing else");

	/* Bound in this order, so the first event is handled by then. */
	r = bus_open(6);
	kbus_ksock_bind(r, "$.Private.Ask", 1);
	kbus_ksock_bind(r, "$.Public.Ask", 1);
	check(wait_replier(a, "$.Public.Ask", true) &&
	      wait_replier(a, "$.Private.Ask", false),
	      "pattern: a far replier is proxied only under the pattern");
	kbus_ksock_close(r);
	kbus_ksock_close(a);
	kbus_ksock_close(b);
}

static void test_mqtt(void)
{
	kbus_message_t *m, *req;
	int sender, heard3, heard4, q, r, port;
	uint32_t proxy, sender_id, rid;
	kbus_msg_id_t id;

	if (mkdir(mqtt_dir, 0700)) {
		check(false, "mqtt: mkdir %s: %s", mqtt_dir, strerror(errno));
		return;
	}
	port = 20000 + (getpid() + 7) % 20000;
	snprintf(mqtt_addr, sizeof(mqtt_addr), "127.0.0.1:%d", port);
	if (!broker_start(port) ||
	    !limpet_pair_up(&limpets[4], &limpets[5], "mqtt"))
		return;

	/* Announcements both ways, to wildcard listeners. */
	sender = bus_open(3);
	heard3 = bus_open(3);
	heard4 = bus_open(4);
	if (sender < 0 || heard3 < 0 || heard4 < 0)
		return;
	sender_id = ksock_id(sender);
	kbus_ksock_bind(heard3, "$.Mq.*", 0);
	kbus_ksock_bind(heard4, "$.Mq.*", 0);
	kbus_announce(sender, "$.Mq.News", "hello", 5, &id);
	m = recv_within(heard4, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Mq.News") && data_is(m, "hello") &&
	      m->id.network_id == 11 && m->id.serial_num == id.serial_num &&
	      m->orig_from.network_id == 11 &&
	      m->orig_from.local_id == sender_id,
	      "mqtt: an announcement reaches a wildcard listener on the far bus, with its id and original sender");
	show("far listener got", m);
	kbus_msg_delete(&m);
	check(quiet(heard4, "far listener also got"),
	      "mqtt: the far listener gets it once");
	m = recv_within(heard3, WAIT_MS);
	kbus_msg_delete(&m);
	check(quiet(heard3, "near listener also got"),
	      "mqtt: nothing comes back to the sender's bus");
	kbus_announce(heard4, "$.Mq.Back", "x", 1, NULL);
	m = recv_within(heard3, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Mq.Back") &&
	      m->id.network_id == 12,
	      "mqtt: and the other way");
	kbus_msg_delete(&m);
	while ((m = recv_within(heard4, QUIET_MS)))
		kbus_msg_delete(&m);
	kbus_ksock_close(sender);

	/* Request and reply. */
	q = bus_open(3);
	r = bus_open(4);
	rid = ksock_id(r);
	kbus_ksock_bind(r, "$.Mq.Echo", 1);
	proxy = wait_replier(q, "$.Mq.Echo", true);
	check(proxy != 0,
	      "mqtt: a replier on the far bus makes the bridge its replier by proxy here");
	kbus_request(q, "$.Mq.Echo", "ping", 4, &id);
	req = recv_within(r, WAIT_MS);
	check(req && kbus_msg_wants_us_to_reply(req) && data_is(req, "ping") &&
	      req->orig_from.network_id == 11,
	      "mqtt: the request reaches the far replier, to be answered");
	show("far replier got", req);
	if (req)
		kbus_reply(r, req, "pong", 4, NULL);
	kbus_msg_delete(&req);
	m = recv_within(q, WAIT_MS);
	check(answers(m, &id, "$.Mq.Echo", false) && data_is(m, "pong") &&
	      m->from == proxy && m->orig_from.network_id == 12 &&
	      m->orig_from.local_id == rid,
	      "mqtt: the requester gets the far replier's reply from the proxy");
	show("requester got", m);
	kbus_msg_delete(&m);

	/* The far replier closes with the request read. */
	kbus_request(q, "$.Mq.Echo", "x", 1, &id);
	req = recv_within(r, WAIT_MS);
	kbus_msg_delete(&req);
	kbus_ksock_close(r);
	expect_status(q, &id, "$.KBUS.Replier.Ignored", ANY_SENDER, WAIT_MS,
		      "mqtt: a far replier that closes with the request read: $.KBUS.Replier.Ignored");
	check(wait_replier(q, "$.Mq.Echo", false),
	      "mqtt: ... and its proxy goes");

	/* The far bridge killed with a request in flight. */
	r = bus_open(4);
	kbus_ksock_bind(r, "$.Mq.Slow", 1);
	wait_replier(q, "$.Mq.Slow", true);
	kbus_request(q, "$.Mq.Slow", NULL, 0, &id);
	req = recv_within(r, WAIT_MS);
	check(req, "mqtt: the far replier holds a request");
	kbus_msg_delete(&req);
	limpet_kill(&limpets[5]);
	expect_status(q, &id, "$.KBUS.Replier.GoneAway", ANY_SENDER, 3 * WAIT_MS,
		      "mqtt: the far bridge killed mid-request: its will gets the requester $.KBUS.Replier.GoneAway");
	check(quiet(q, "requester also got"),
	      "mqtt: ... and nothing more: one answer");
	check(wait_replier(q, "$.Mq.Slow", false) ||
	      wait_replier(q, "$.Mq.Slow", false),
	      "mqtt: ... and the proxy goes once the broker says it is offline");
	if (limpet_up(&limpets[5], "mqtt: restart")) {
		check(wait_replier(q, "$.Mq.Slow", true) != 0,
		      "mqtt: the restarted bridge's replier is proxied again");
		kbus_request(q, "$.Mq.Slow", "2", 1, &id);
		req = recv_within(r, WAIT_MS);
		if (req)
			kbus_reply(r, req, "ok", 2, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &id, "$.Mq.Slow", false) && data_is(m, "ok"),
		      "mqtt: a request is answered through the restarted bridge");
		kbus_msg_delete(&m);
	}
	kbus_ksock_close(r);
	kbus_ksock_close(q);
	kbus_ksock_close(heard3);
	kbus_ksock_close(heard4);
}

/* ==== -B: round trips through each kind of bridge ==== */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A replier for @name on @bus, in a child process, until killed. */
static pid_t bench_replier(int bus, const char *name)
{
	kbus_message_t *m;
	pid_t pid = fork();
	int ks;

	if (pid)
		return pid;
	ks = kbus_ksock_open_by_name(bus_path[bus], O_RDWR);
	if (ks < 0 || kbus_ksock_bind(ks, name, 1))
		_exit(1);
	for (;;) {
		if (kbus_recv_timeout(ks, &m, -1) <= 0)
			_exit(1);
		if (kbus_msg_wants_us_to_reply(m))
			kbus_reply(ks, m, kbus_msg_data_ptr(m), m->data_len, NULL);
		kbus_msg_delete(&m);
	}
}

/*
 * @count round trips from a requester on @from to @name's replier on @to;
 * the p50 in *@p50 (ns).  Returns false, having said why, on a failure.
 */
static bool bench_path(const char *what, int from, int to, const char *name,
		       unsigned long count, double *p50)
{
	static const char payload[64] = "round trip";
	uint64_t *t = calloc(count, sizeof(*t));
	unsigned long i, warm = count / 10 + 10;
	kbus_message_t *m = NULL;
	pid_t replier;
	kbus_msg_id_t id;
	uint64_t start;
	bool ok = false;
	int q;

	q = bus_open(from);
	if (!t || q < 0)
		goto out_free;
	replier = bench_replier(to, name);
	if (replier < 0 || !wait_replier(q, name, true)) {
		printf("# %s: no replier for %s\n", what, name);
		goto out;
	}
	for (i = 0; i < warm + count; i++) {
		start = now_ns();
		if (kbus_request(q, name, payload, sizeof(payload), &id))
			break;
		m = recv_within(q, 3 * WAIT_MS);
		if (!answers(m, &id, name, false))
			break;
		kbus_msg_delete(&m);
		if (i >= warm)
			t[i - warm] = now_ns() - start;
	}
	if (i < warm + count) {
		printf("# %s: round trip %lu failed\n", what, i);
		show(what, m);
		show_logs();
		kbus_msg_delete(&m);
		goto out;
	}
	qsort(t, count, sizeof(*t), cmp_u64);
	*p50 = t[count / 2];
	printf("bridge  %-24s %10.1f %10.1f %10.1f\n", what, t[count / 2] / 1e3,
	       t[count * 99 / 100] / 1e3, t[count - 1] / 1e3);
	ok = true;
out:
	kill(replier, SIGKILL);
	waitpid(replier, NULL, 0);
	kbus_ksock_close(q);
out_free:
	free(t);
	return ok;
}

static int bench(unsigned long count)
{
	static const char *const what[] = {
		"one bus", "limpet, unix socket", "limpet, tcp 127.0.0.1",
		"mqtt, mosquitto",
	};
	static const char *const key[] = {
		"direct", "limpet_unix", "limpet_tcp", "mqtt",
	};
	double p50[4] = { 0 };
	bool ok[4] = { false };
	struct utsname uts;
	int i, port;

	if (!uname(&uts))
		printf("kernel: %s %s %s\n", uts.sysname, uts.release,
		       uts.machine);

	port = 20000 + (getpid() + 7) % 20000;
	snprintf(mqtt_addr, sizeof(mqtt_addr), "127.0.0.1:%d", port);
	printf("# bridge: %lu round trips of a 64-byte request and its reply each\n",
	       count);
	printf("bridge  %-24s %10s %10s %10s\n", "path", "p50 us", "p99 us",
	       "max us");
	ok[0] = bench_path(what[0], 0, 0, "$.Bench.Direct", count, &p50[0]);
	if (limpet_pair_up(&limpets[2], &limpets[3], "bench"))
		ok[1] = bench_path(what[1], 2, 1, "$.Bench.Unix", count,
				   &p50[1]);
	if (limpet_pair_up(&limpets[0], &limpets[1], "bench"))
		ok[2] = bench_path(what[2], 0, 1, "$.Bench.Tcp", count,
				   &p50[2]);
	if (!mkdir(mqtt_dir, 0700) && broker_start(port) &&
	    limpet_pair_up(&limpets[4], &limpets[5], "bench"))
		ok[3] = bench_path(what[3], 3, 4, "$.Mq.Bench", count,
				   &p50[3]);
	for (i = 1; i < 4; i++) {
		if (ok[0] && ok[i])
			printf("ratio bridge_%s_p50/bridge_direct_p50 = %.2f\n",
			       key[i], p50[i] / p50[0]);
		else
			printf("# ratio bridge_%s_p50/bridge_direct_p50 not available\n",
			       key[i]);
	}
	return ok[0] && ok[1] && ok[2] && ok[3] && !n_failed ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long bench_count = 0;
	char opts[32], *end;
	int i;

	if (argc == 4 && !strcmp(argv[1], "-B")) {
		bench_count = strtoul(argv[2], &end, 10);
		if (*end || bench_count < 100)
			argc = 0;	/* a usage error */
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr,
			"usage: bridge-test [-B COUNT (at least 100)] KBUS_COMMAND\n");
		return 2;
	}
	kbus_cmd = argv[1];
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	check(lo_up() == 0, "the loopback interface is up");
	snprintf(dir, sizeof(dir), "/tmp/kbus-bridge.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		check(false, "a temporary directory");
		goto out;
	}
	snprintf(opts, sizeof(opts), "buses=%d", NBUS);
	if (mount("none", dir, "kbus", 0, opts)) {
		check(false, "mount a kbus filesystem with %d buses: %s", NBUS,
		      strerror(errno));
		rmdir(dir);
		dir[0] = '\0';
		goto out;
	}
	for (i = 0; i < NBUS; i++)
		snprintf(bus_path[i], sizeof(bus_path[i]), "%s/kbus%d", dir, i);
	snprintf(tcp_addr, sizeof(tcp_addr), "127.0.0.1:%d",
		 20000 + getpid() % 20000);
	snprintf(unix_addr, sizeof(unix_addr), "%s.sock", dir);
	snprintf(unix_addr2, sizeof(unix_addr2), "%s.sock2", dir);
	snprintf(mqtt_dir, sizeof(mqtt_dir), "%s.mqtt", dir);
	snprintf(log_dir, sizeof(log_dir), "%s.logs", dir);
	if (mkdir(log_dir, 0700)) {
		check(false, "mkdir %s: %s", log_dir, strerror(errno));
		log_dir[0] = '\0';
		goto out;
	}
	if (bench_count)
		return bench(bench_count);

	if (limpet_pair_up(&limpets[0], &limpets[1], "pair"))
		test_pair();
	test_chain();
	test_pattern();
	test_mqtt();
out:
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
