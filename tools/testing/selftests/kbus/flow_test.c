// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - flow control, limits, bind events and accounting tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>

#include "common.h"

#define BUDGET_PARAM "/sys/module/kbus/parameters/kbus_bus_budget"

static int write_param(const char *path, unsigned long val)
{
	char buf[32];
	int fd = open(path, O_WRONLY), n;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%lu\n", val);
	n = write(fd, buf, n) == n ? 0 : -errno;
	close(fd);
	return n;
}

static unsigned long read_param(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return strtoul(buf, NULL, 10);
}

FIXTURE(flow) {
	bool skip;
	int a;
	int b;
	int c;
	unsigned long saved_budget;
};

FIXTURE_SETUP(flow)
{
	self->a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->a < 0) {
		self->skip = true;
		return;
	}
	self->b = kbus_open(_metadata);
	self->c = kbus_open(_metadata);
}

FIXTURE_TEARDOWN(flow)
{
	__u32 old;

	if (self->skip)
		return;
	/* Bus-wide: leave it as the other tests expect it. */
	kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS, 0, &old);
	if (self->saved_budget)
		write_param(BUDGET_PARAM, self->saved_budget);
	close(self->c);
	close(self->b);
	close(self->a);
}

/* The debugfs stats line of a Ksock must show its dropped count. */
static void expect_stats_dropped(struct __test_metadata *const _metadata,
				 __u32 ksock, unsigned long long dropped)
{
	char line[256], want[64];
	bool in_ksock = false, found = false;
	unsigned int id;
	FILE *f = fopen("/sys/kernel/debug/kbus/stats", "r");

	ASSERT_NE(NULL, f)
		TH_LOG("no /sys/kernel/debug/kbus/stats: %s", strerror(errno));
	snprintf(want, sizeof(want), "dropped %llu", dropped);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "  ksock %u ", &id) == 1)
			in_ksock = id == ksock;
		else if (in_ksock && strstr(line, want))
			found = true;
	}
	fclose(f);
	EXPECT_TRUE(found)
		TH_LOG("no \"%s\" for ksock %u in the stats", want, ksock);
}

static void send_named(struct __test_metadata *const _metadata, int fd,
		       const char *name, __u32 flags, int expect)
{
	struct kbus_message_header h;
	struct kbus_msg_id id;

	kbus_msg_init(&h, name, NULL, 0);
	h.flags = flags;
	ASSERT_EQ(0, kbus_write_msg(fd, &h, false));
	EXPECT_EQ(expect, kbus_send(fd, &id));
}

static void expect_next(struct __test_metadata *const _metadata, int fd,
			const char *name)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);

	EXPECT_STREQ(name, kbus_msg_name(m));
	free(m);
}

TEST_F(flow, urgent_messages_go_to_the_head_of_the_queue)
{
	ASSERT_EQ(0, kbus_bind(self->b, "$.U.*", 0));
	send_named(_metadata, self->a, "$.U.First", 0, 0);
	send_named(_metadata, self->a, "$.U.Second", KBUS_BIT_URGENT, 0);
	send_named(_metadata, self->a, "$.U.Third", KBUS_BIT_URGENT, 0);
	expect_next(_metadata, self->b, "$.U.Third");
	expect_next(_metadata, self->b, "$.U.Second");
	expect_next(_metadata, self->b, "$.U.First");
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(flow, maxmsgs_is_bounded_and_queries_with_zero)
{
	__u32 val;

	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MAXMSGS, 0, &val));
	EXPECT_EQ(100, val);
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->a, KBUS_IOC_MAXMSGS, 100001,
					&val));
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MAXMSGS, 100000, &val));
	EXPECT_EQ(100000, val);
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MAXMSGS, 0, &val));
	EXPECT_EQ(100000, val);
}

TEST_F(flow, full_listener_misses_announcement_and_counts_it)
{
	__u64 dropped = ~0ULL;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Drop", 0));
	ASSERT_EQ(0, kbus_ioctl(self->b, KBUS_IOC_DROPPED, &dropped));
	EXPECT_EQ(0, dropped);
	send_named(_metadata, self->a, "$.Drop", 0, 0);
	send_named(_metadata, self->a, "$.Drop", 0, 0);
	send_named(_metadata, self->a, "$.Drop", 0, 0);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_ioctl(self->b, KBUS_IOC_DROPPED, &dropped));
	EXPECT_EQ(2, dropped);
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->b, KBUS_IOC_DROPPED, NULL));
	expect_stats_dropped(_metadata, kbus_ksock_id(_metadata, self->b), 2);
}

TEST_F(flow, all_or_flags_are_ignored_on_replies)
{
	struct kbus_entire_message *req, *rep;
	struct kbus_message_header h;
	__u64 dropped;

	/* a asks, b replies, c listens to the name with a full queue. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Rep", 1));
	kbus_set_max_msgs(_metadata, self->c, 1);
	ASSERT_EQ(0, kbus_bind(self->c, "$.Rep", 0));
	ASSERT_EQ(0, kbus_request(self->a, "$.Rep", NULL, 0, 0, NULL));
	req = kbus_recv(_metadata, self->b);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));

	kbus_msg_init(&h, "$.Rep", "r", 1);
	h.in_reply_to = req->header.id;
	h.to = req->header.from;
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	EXPECT_EQ(0, kbus_send_msg(self->b, &h, false, NULL));
	rep = kbus_recv(_metadata, self->a);
	EXPECT_EQ(req->header.id.serial_num, rep->header.in_reply_to.serial_num);
	ASSERT_EQ(0, kbus_ioctl(self->c, KBUS_IOC_DROPPED, &dropped));
	EXPECT_EQ(1, dropped);
	free(rep);
	free(req);
}

TEST_F(flow, all_or_fail_to_a_full_listener_reaches_nobody)
{
	kbus_set_max_msgs(_metadata, self->c, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Aof", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Aof", 0));
	send_named(_metadata, self->a, "$.Aof", 0, 0);
	send_named(_metadata, self->a, "$.Aof", KBUS_BIT_ALL_OR_FAIL, -EBUSY);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
}

TEST_F(flow, both_all_or_flags_are_rejected)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, "$.Both", NULL, 0);
	h.flags = KBUS_BIT_ALL_OR_FAIL | KBUS_BIT_ALL_OR_WAIT;
	EXPECT_EQ(-EINVAL, kbus_write_msg(self->a, &h, false));
}

TEST_F(flow, all_or_wait_nonblocking_waits_for_poll)
{
	struct kbus_message_header h;
	int nb;

	nb = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, nb);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Wait", 0));
	send_named(_metadata, nb, "$.Wait", 0, 0);

	send_named(_metadata, nb, "$.Wait", KBUS_BIT_ALL_OR_WAIT, -EAGAIN);
	EXPECT_FALSE(kbus_poll_now(nb) & POLLOUT);
	kbus_msg_init(&h, "$.Wait", NULL, 0);
	EXPECT_EQ(-EALREADY, kbus_write_msg(nb, &h, false));
	EXPECT_EQ(-EAGAIN, kbus_send(nb, NULL));

	/* Room appears: poll finishes the send and reports writable. */
	expect_next(_metadata, self->b, "$.Wait");
	ASSERT_LT(0, kbus_wait_fd(nb, POLLOUT, KBUS_WAIT_MS));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	expect_next(_metadata, self->b, "$.Wait");

	/* DISCARD gives up a waiting send. */
	send_named(_metadata, nb, "$.Wait", 0, 0);
	send_named(_metadata, nb, "$.Wait", KBUS_BIT_ALL_OR_WAIT, -EAGAIN);
	EXPECT_EQ(0, kbus_discard(nb));
	EXPECT_TRUE(kbus_poll_now(nb) & POLLOUT);
	expect_next(_metadata, self->b, "$.Wait");
	kbus_expect_empty(_metadata, self->b);
	close(nb);
}

/* Child: fill its queue, tell the parent, drain when told, report. */
static int drainer(void *arg, int in, int out)
{
	struct kbus_entire_message *m;
	int fd = open(KBUS_DEV0, O_RDWR);
	__u32 max = 1, id;

	if (fd < 0 || kbus_set_u32(fd, KBUS_IOC_MAXMSGS, max, &max))
		return 1;
	if (kbus_bind(fd, "$.Blocking", 0) || kbus_get_u32(fd, KBUS_IOC_KSOCKID, &id))
		return 2;
	if (kbus_pipe_write(out, &id, sizeof(id)))
		return 3;
	if (kbus_wait(in))		/* queue filled, sender blocked */
		return 4;
	if (kbus_read_next(fd, &m) <= 0)
		return 5;
	free(m);
	/* The blocked send now completes into our queue. */
	if (kbus_wait_fd(fd, POLLIN, KBUS_WAIT_MS) < 0)
		return 6;
	if (kbus_read_next(fd, &m) <= 0)
		return 7;
	if (strcmp(kbus_msg_name(m), "$.Blocking"))
		return 8;
	free(m);
	return 0;
}

/* Wait until @pid is asleep (state S) in the kernel. */
static int wait_sleeping(pid_t pid)
{
	char path[64], buf[256], *p;
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (i = 0; i < 100000; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -1;
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return 0;
		sched_yield();
	}
	return -1;
}

/* Child: a blocking ALL_OR_WAIT send; reports its result. */
static int blocking_sender(void *arg, int in, int out)
{
	struct kbus_message_header h;
	int fd = open(KBUS_DEV0, O_RDWR), ret;

	if (fd < 0)
		return 1;
	kbus_msg_init(&h, "$.Blocking", NULL, 0);
	if (kbus_send_msg(fd, &h, false, NULL))
		return 2;
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	if (kbus_post(out))
		return 3;
	ret = kbus_send_msg(fd, &h, false, NULL);
	if (kbus_pipe_write(out, &ret, sizeof(ret)))
		return 4;
	return 0;
}

TEST_F_TIMEOUT(flow, all_or_wait_blocks_until_a_reader_makes_room, 60)
{
	struct kbus_child drain, sender;
	int ret = 1;

	kbus_spawn(_metadata, &drain, drainer, NULL);
	kbus_child_u32(_metadata, &drain);
	kbus_spawn(_metadata, &sender, blocking_sender, NULL);
	ASSERT_EQ(0, kbus_wait(sender.from_child));
	ASSERT_EQ(0, wait_sleeping(sender.pid));
	/* Still blocked: no result yet. */
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(sender.from_child, POLLIN, 0));
	ASSERT_EQ(0, kbus_post(drain.to_child));
	ASSERT_EQ(0, kbus_pipe_read(sender.from_child, &ret, sizeof(ret)));
	EXPECT_EQ(0, ret);
	kbus_child_done(_metadata, &sender);
	kbus_child_done(_metadata, &drain);
}

TEST_F(flow, poll_reports_writable_only_for_writers)
{
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, ro);
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a) & (POLLIN | POLLOUT));
	EXPECT_EQ(0, kbus_poll_now(ro) & (POLLIN | POLLOUT));
	close(ro);
}

static void expect_bind_event(struct __test_metadata *const _metadata, int fd,
			      __u32 is_bind, __u32 binder, const char *name)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);
	const struct kbus_replier_bind_event_data *d = kbus_msg_data(m);

	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT, kbus_msg_name(m));
	EXPECT_EQ(KBUS_BIT_SYNTHETIC | KBUS_BIT_ALL_OR_FAIL, m->header.flags);
	EXPECT_EQ(0, m->header.from);
	EXPECT_EQ(12 + KBUS_PADDED_NAME_LEN(strlen(name)), m->header.data_len);
	EXPECT_EQ(is_bind, d->is_bind);
	EXPECT_EQ(binder, d->binder);
	EXPECT_EQ(strlen(name), d->name_len);
	EXPECT_STREQ(name, (const char *)d->rest);
	free(m);
}

TEST_F(flow, replier_bind_events_arrive_in_order)
{
	__u32 old, rid = kbus_ksock_id(_metadata, self->c);

	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS, 1,
				  &old));
	EXPECT_EQ(0, old);
	/* Catch-up: nothing is bound yet. */
	kbus_expect_empty(_metadata, self->a);
	ASSERT_EQ(0, kbus_bind(self->b, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.A", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.B", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.C", 0));	/* listener: none */
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Ev.A", 1));
	close(self->c);
	self->c = kbus_open(_metadata);

	expect_bind_event(_metadata, self->b, 1, rid, "$.Ev.A");
	expect_bind_event(_metadata, self->b, 1, rid, "$.Ev.B");
	expect_bind_event(_metadata, self->b, 0, rid, "$.Ev.A");
	expect_bind_event(_metadata, self->b, 0, rid, "$.Ev.B");
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(flow, full_bind_event_listener_makes_replier_bind_fail)
{
	__u32 old, id = 1;

	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS, 1,
				  &old));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.*", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.A", 1));
	EXPECT_EQ(-EAGAIN, kbus_bind(self->c, "$.Full.B", 1));
	EXPECT_EQ(0, kbus_replier(self->a, "$.Full.B", &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(-EAGAIN, kbus_unbind(self->c, "$.Full.A", 1));
	EXPECT_EQ(1, kbus_replier(self->a, "$.Full.A", &id));

	/* A closing replier cannot fail: its event goes past the limit. */
	close(self->c);
	self->c = kbus_open(_metadata);
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, kbus_replier(self->a, "$.Full.A", &id));
}

TEST_F(flow, turning_reports_on_catches_up_on_existing_repliers)
{
	__u32 old, rid = kbus_ksock_id(_metadata, self->c);

	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.Up", 1));
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS, 1,
				  &old));
	expect_bind_event(_metadata, self->a, 1, rid, "$.Catch.Up");
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS,
					2, &old));
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS,
				  KBUS_QUERY, &old));
	EXPECT_EQ(1, old);
}

TEST_F(flow, catch_up_into_a_full_queue_is_busy)
{
	__u32 old;

	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.One", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.Two", 1));
	kbus_set_max_msgs(_metadata, self->a, 1);
	EXPECT_EQ(-EBUSY, kbus_set_u32(self->a, KBUS_IOC_REPORTREPLIERBINDS, 1,
				       &old));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));
}

/* Drop CAP_SYS_ADMIN from the effective set of this process. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data);
}

static int unprivileged(void *arg, int in, int out)
{
	__u32 val;
	int fd;

	if (drop_sys_admin())
		return 1;
	fd = open(KBUS_DEV0, O_RDWR);
	if (fd < 0)
		return 2;
	if (kbus_set_u32(fd, KBUS_IOC_MAXMSGSIZE, 1000, &val) != -EPERM)
		return 3;
	if (kbus_set_u32(fd, KBUS_IOC_VERBOSE, 1, &val) != -EPERM)
		return 4;
	if (kbus_set_u32(fd, KBUS_IOC_REPORTREPLIERBINDS, 1, &val) != -EPERM)
		return 5;
	if (kbus_get_u32(fd, KBUS_IOC_NEWDEVICE, &val) != -EPERM)
		return 6;
	/* Asking is allowed. */
	if (kbus_set_u32(fd, KBUS_IOC_MAXMSGSIZE, 0, &val) || !val)
		return 7;
	if (kbus_set_u32(fd, KBUS_IOC_VERBOSE, KBUS_QUERY, &val))
		return 8;
	/* Per-Ksock settings are everybody's. */
	if (kbus_set_u32(fd, KBUS_IOC_MAXMSGS, 5, &val) || val != 5)
		return 9;
	return 0;
}

TEST_F(flow, bus_settings_need_cap_sys_admin)
{
	struct kbus_child c;

	if (geteuid())
		SKIP(return, "needs root");
	kbus_spawn(_metadata, &c, unprivileged, NULL);
	kbus_child_done(_metadata, &c);
}

TEST_F(flow, byte_budget_stops_a_sender_and_nothing_else)
{
	static char data[4000];
	unsigned long saved;
	struct kbus_message_header h;
	struct kbus_entire_message *m;
	int i, sent = 0, ret = 0;

	if (access(BUDGET_PARAM, W_OK))
		SKIP(return, "no writable " BUDGET_PARAM);
	saved = read_param(BUDGET_PARAM);
	ASSERT_LT(0, saved);
	self->saved_budget = saved;
	memset(data, 'b', sizeof(data));
	kbus_set_max_msgs(_metadata, self->b, 1000);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Budget", 0));
	ASSERT_EQ(0, write_param(BUDGET_PARAM, 64 * 1024));

	kbus_msg_init(&h, "$.Budget", data, sizeof(data));
	for (i = 0; i < 100 && !ret; i++) {
		ret = kbus_send_msg(self->a, &h, false, NULL);
		if (!ret)
			sent++;
	}
	EXPECT_EQ(-ENOBUFS, ret);
	EXPECT_LT(5, sent);
	EXPECT_GT(64 * 1024 / (int)sizeof(data) + 1, sent);
	EXPECT_EQ(sent, kbus_num_msgs(_metadata, self->b));

	/* What was queued is intact; reading it makes room again. */
	for (i = 0; i < sent; i++) {
		m = kbus_recv(_metadata, self->b);
		kbus_check_msg(_metadata, m, "$.Budget", data, sizeof(data),
			       kbus_ksock_id(_metadata, self->a));
		free(m);
	}
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
}

TEST_HARNESS_MAIN
