// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - tracepoint tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>

#include "common.h"

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing",
	"/sys/kernel/debug/tracing",
};

/* The kbus events the tests turn on (and off again). */
static const char *const kbus_events[] = {
	"kbus_send", "kbus_deliver", "kbus_drop",
};

static int trace_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int trace_event_enable(const char *dir, const char *event,
			      const char *val)
{
	char file[128];

	snprintf(file, sizeof(file), "events/kbus/%s/enable", event);
	return trace_write(dir, file, val);
}

/* Set every event of kbus_events[]: NULL, or the first one that failed. */
static const char *trace_events_set(const char *dir, const char *val)
{
	const char *failed = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kbus_events); i++) {
		if (trace_event_enable(dir, kbus_events[i], val) && !failed)
			failed = kbus_events[i];
	}
	return failed;
}

static char *trace_read(const char *dir)
{
	size_t size = 1 << 20, got = 0;
	char path[256], *buf = calloc(1, size);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	return buf;
}

FIXTURE(trace) {
	bool skip;
	const char *dir;
	int a;
	int b;
	__u32 a_id;
	__u32 b_id;
};

FIXTURE_SETUP(trace)
{
	const char *failed;
	char path[256];
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tracefs_dirs); i++) {
		snprintf(path, sizeof(path), "%s/events", tracefs_dirs[i]);
		if (!stat(path, &st)) {
			self->dir = tracefs_dirs[i];
			break;
		}
	}
	/* Where nothing mounted it (a minimal init), mount it. */
	if (!self->dir && !mount("tracefs", tracefs_dirs[0], "tracefs", 0, NULL))
		self->dir = tracefs_dirs[0];
	if (!self->dir) {
		self->skip = true;
		SKIP(return, "no tracefs, and mounting it failed: %s",
		     strerror(errno));
	}
	self->a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->a < 0) {
		self->skip = true;
		return;
	}
	self->b = kbus_open(_metadata);
	self->a_id = kbus_ksock_id(_metadata, self->a);
	self->b_id = kbus_ksock_id(_metadata, self->b);
	snprintf(path, sizeof(path), "%s/events/kbus", self->dir);
	ASSERT_EQ(0, stat(path, &st))
		TH_LOG("no kbus trace events in %s", self->dir);

	ASSERT_EQ(0, trace_write(self->dir, "trace", ""));
	failed = trace_events_set(self->dir, "1");
	ASSERT_EQ(NULL, failed)
		TH_LOG("cannot enable %s", failed ? failed : "");
}

FIXTURE_TEARDOWN(trace)
{
	if (self->skip)
		return;
	trace_events_set(self->dir, "0");
	close(self->b);
	close(self->a);
}

/* Stop tracing and read what was traced; the caller frees it. */
static char *trace_stop(struct __test_metadata *const _metadata,
			const char *dir)
{
	const char *failed = trace_events_set(dir, "0");
	char *trace;

	EXPECT_EQ(NULL, failed)
		TH_LOG("cannot disable %s", failed ? failed : "");
	trace = trace_read(dir);
	ASSERT_NE(NULL, trace);
	return trace;
}

static void expect_traced(struct __test_metadata *const _metadata,
			  const char *trace, const char *want)
{
	EXPECT_NE(NULL, strstr(trace, want))
		TH_LOG("no \"%s\" in the trace", want);
}

TEST_F(trace, send_and_deliver_tracepoints_fire)
{
	struct kbus_msg_id id;
	char want[160], *trace;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Traced", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Traced", "x", 1, &id));
	trace = trace_stop(_metadata, self->dir);

	snprintf(want, sizeof(want),
		 "kbus_send: bus=0 from=%u id=0:%u flags=0x0 len=1 name=$.Traced err=0",
		 self->a_id, id.serial_num);
	expect_traced(_metadata, trace, want);
	snprintf(want, sizeof(want), "kbus_deliver: bus=0 ksock=%u id=0:%u flags=0x0",
		 self->b_id, id.serial_num);
	expect_traced(_metadata, trace, want);
	free(trace);
}

TEST_F(trace, each_attempt_of_a_send_is_traced_and_a_refused_one_gives_its_id_back)
{
	struct kbus_message_header h;
	struct kbus_msg_id first, id;
	char want[160], *trace, *p;
	unsigned int from, serial = 0;
	int n;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Traced.Wait", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Traced.Wait", NULL, 0, &first));
	kbus_msg_init(&h, "$.Traced.Wait", NULL, 0);
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	ASSERT_EQ(-EAGAIN, kbus_sendmsg(self->a, &h, sizeof(h),
					KBUS_SEND_NONBLOCK, NULL));
	free(kbus_recv(_metadata, self->b));
	ASSERT_EQ(0, kbus_sendmsg(self->a, &h, sizeof(h), KBUS_SEND_NONBLOCK,
				  &id));
	trace = trace_stop(_metadata, self->dir);

	/*
	 * The refused attempt, with its errno and the id it would have had;
	 * nothing was delivered, so the attempt that went has the same id.
	 */
	p = strstr(trace, "flags=0x100 len=0 name=$.Traced.Wait err=-11");
	EXPECT_NE(NULL, p)
		TH_LOG("the refused attempt was not traced");
	if (p) {
		while (p > trace && p[-1] != '\n')
			p--;
		p = strstr(p, "kbus_send: ");
		ASSERT_NE(NULL, p);
		n = sscanf(p, "kbus_send: bus=0 from=%u id=0:%u", &from,
			   &serial);
		ASSERT_EQ(2, n);
		EXPECT_EQ(self->a_id, from);
		EXPECT_EQ(first.serial_num + 1, serial);
		EXPECT_EQ(id.serial_num, serial);
	}
	/* The attempt that went. */
	snprintf(want, sizeof(want),
		 "kbus_send: bus=0 from=%u id=0:%u flags=0x100 len=0 name=$.Traced.Wait err=0",
		 self->a_id, id.serial_num);
	expect_traced(_metadata, trace, want);
	snprintf(want, sizeof(want), "kbus_deliver: bus=0 ksock=%u id=0:%u flags=0x100",
		 self->b_id, id.serial_num);
	expect_traced(_metadata, trace, want);
	free(trace);
}

TEST_F(trace, missed_message_is_traced_as_dropped)
{
	struct kbus_msg_id first, missed;
	char want[160], *trace;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Traced.Drop", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Traced.Drop", NULL, 0, &first));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Traced.Drop", NULL, 0,
				   &missed));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
	trace = trace_stop(_metadata, self->dir);

	snprintf(want, sizeof(want), "kbus_deliver: bus=0 ksock=%u id=0:%u ",
		 self->b_id, first.serial_num);
	expect_traced(_metadata, trace, want);
	snprintf(want, sizeof(want), "kbus_drop: bus=0 ksock=%u id=0:%u flags=0x0",
		 self->b_id, missed.serial_num);
	expect_traced(_metadata, trace, want);
	snprintf(want, sizeof(want), "kbus_deliver: bus=0 ksock=%u id=0:%u ",
		 self->b_id, missed.serial_num);
	EXPECT_EQ(NULL, strstr(trace, want))
		TH_LOG("the missed message was traced as delivered");
	free(trace);
}

TEST_HARNESS_MAIN
