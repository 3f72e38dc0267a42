// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - tracepoint tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <sys/stat.h>

#include "common.h"

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing",
	"/sys/kernel/debug/tracing",
};

static int trace_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static char *trace_read(const char *dir)
{
	size_t size = 1 << 20, got = 0;
	char path[256], *buf = calloc(1, size);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", dir);
	fd = open(path, O_RDONLY);
	if (!buf || fd < 0) {
		free(buf);
		return NULL;
	}
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	return buf;
}

TEST(send_and_deliver_tracepoints_fire)
{
	const char *dir = NULL;
	struct kbus_msg_id id;
	char path[256], want[128], *trace;
	struct stat st;
	int a, b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tracefs_dirs); i++) {
		snprintf(path, sizeof(path), "%s/events", tracefs_dirs[i]);
		if (!stat(path, &st)) {
			dir = tracefs_dirs[i];
			break;
		}
	}
	if (!dir)
		SKIP(return, "tracefs is not mounted");
	a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (a < 0)
		return;
	b = kbus_open(_metadata);
	snprintf(path, sizeof(path), "%s/events/kbus", dir);
	ASSERT_EQ(0, stat(path, &st))
		TH_LOG("no kbus trace events in %s", dir);

	ASSERT_EQ(0, trace_write(dir, "trace", ""));
	ASSERT_EQ(0, trace_write(dir, "events/kbus/kbus_send/enable", "1"));
	ASSERT_EQ(0, trace_write(dir, "events/kbus/kbus_deliver/enable", "1"));
	ASSERT_EQ(0, kbus_bind(b, "$.Traced", 0));
	ASSERT_EQ(0, kbus_announce(a, "$.Traced", "x", 1, &id));
	trace_write(dir, "events/kbus/enable", "0");

	trace = trace_read(dir);
	ASSERT_NE(NULL, trace);
	snprintf(want, sizeof(want), "from=%u id=0:%u flags=0x0 len=1 name=$.Traced err=0",
		 kbus_ksock_id(_metadata, a), id.serial_num);
	EXPECT_NE(NULL, strstr(trace, want))
		TH_LOG("no \"%s\" in the trace", want);
	snprintf(want, sizeof(want), "ksock=%u id=0:%u",
		 kbus_ksock_id(_metadata, b), id.serial_num);
	EXPECT_NE(NULL, strstr(trace, want))
		TH_LOG("no \"%s\" in the trace", want);
	free(trace);
	close(b);
	close(a);
}

TEST_HARNESS_MAIN
