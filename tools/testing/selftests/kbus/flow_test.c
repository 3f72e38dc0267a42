// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - flow control, limits, bind events and accounting tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <linux/capability.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "common.h"

/* ---- Plain helpers: no harness, usable in children and threads ---- */

/* SENDMSG of a message named @name, no data, header flags @flags. */
static int send_named(int fd, const char *name, __u32 flags, __u32 sflags,
		      struct kbus_msg_id *id)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, name, NULL, 0);
	h.flags = flags;
	return kbus_sendmsg(fd, &h, sizeof(h), sflags, id);
}

static int wait_pid_state(pid_t pid, char state)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return kbus_wait_task_state(path, state);
}

/* ---- The fixture ---- */

FIXTURE(flow) {
	bool skip;
	int a;
	int b;
	int c;
	bool reporting;			/* replier bind reports turned on */
	unsigned long saved_user_bytes;	/* to put back, 0 if unchanged */
	unsigned long saved_requests;	/* likewise */
	unsigned long saved_bindings;	/* likewise */
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
	if (self->skip)
		return;
	/* Bus-wide: leave it as the other tests expect it. */
	if (self->reporting)
		EXPECT_EQ(0, kbus_set_opt(self->a,
					  KBUS_OPT_REPORT_REPLIER_BINDS, 0));
	if (self->saved_user_bytes)
		EXPECT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES,
					      self->saved_user_bytes));
	if (self->saved_requests)
		EXPECT_EQ(0, kbus_write_param(KBUS_PARAM_MAX_REQUESTS,
					      self->saved_requests));
	if (self->saved_bindings)
		EXPECT_EQ(0, kbus_write_param(KBUS_PARAM_MAX_BINDINGS,
					      self->saved_bindings));
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
	FILE *f = fopen("/sys/kernel/debug/kbus/stats", "re");

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

static void expect_next(struct __test_metadata *const _metadata, int fd,
			const char *name)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);

	EXPECT_STREQ(name, kbus_msg_name(m));
	free(m);
}

/* Receive the next message: it must have the id @serial. */
static void expect_serial(struct __test_metadata *const _metadata, int fd,
			  __u32 serial)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);

	EXPECT_EQ(serial, m->header.id.serial_num);
	free(m);
}

/* ---- Queue limits ---- */

TEST_F(flow, urgent_messages_go_to_the_head_of_the_queue)
{
	ASSERT_EQ(0, kbus_bind(self->b, "$.U.*", 0));
	EXPECT_EQ(0, send_named(self->a, "$.U.First", 0, 0, NULL));
	EXPECT_EQ(0, send_named(self->a, "$.U.Second", KBUS_BIT_URGENT, 0,
				NULL));
	EXPECT_EQ(0, send_named(self->a, "$.U.Third", KBUS_BIT_URGENT, 0,
				NULL));
	expect_next(_metadata, self->b, "$.U.Third");
	expect_next(_metadata, self->b, "$.U.Second");
	expect_next(_metadata, self->b, "$.U.First");
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(flow, max_msgs_option_is_bounded)
{
	EXPECT_EQ(100, kbus_opt(_metadata, self->a, KBUS_OPT_MAX_MSGS));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_MAX_MSGS, 0));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_MAX_MSGS,
					KBUS_MAX_MAX_MSGS + 1));
	/* Not truncated to 32 bits. */
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_MAX_MSGS,
					(1ULL << 32) + 5));
	EXPECT_EQ(100, kbus_opt(_metadata, self->a, KBUS_OPT_MAX_MSGS));
	kbus_set_max_msgs(_metadata, self->a, KBUS_MAX_MAX_MSGS);
	kbus_set_max_msgs(_metadata, self->a, 1);
	/* Per Ksock. */
	EXPECT_EQ(100, kbus_opt(_metadata, self->b, KBUS_OPT_MAX_MSGS));
}

TEST_F(flow, full_listener_misses_announcement_and_counts_it)
{
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Drop", 0));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	EXPECT_EQ(0, send_named(self->a, "$.Drop", 0, 0, NULL));
	EXPECT_EQ(0, send_named(self->a, "$.Drop", 0, 0, NULL));
	EXPECT_EQ(0, send_named(self->a, "$.Drop", 0, 0, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(2, kbus_dropped(_metadata, self->b));
	/* The sender misses nothing. */
	EXPECT_EQ(0, kbus_dropped(_metadata, self->a));
	expect_stats_dropped(_metadata, kbus_ksock_id(_metadata, self->b), 2);
}

TEST_F_TIMEOUT(flow, lowering_max_msgs_below_the_queue_keeps_it_and_lets_no_sender_in, 60)
{
	struct kbus_msg_id id[5];
	struct kbus_sender s;
	int i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Lower", 0));
	kbus_set_max_msgs(_metadata, self->b, 5);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, send_named(self->c, "$.Lower", 0, 0, &id[i]));
	/* Full: an ALL_OR_WAIT send waits. */
	kbus_sender_start(_metadata, &s, self->a, "$.Lower", KBUS_BIT_ALL_OR_WAIT);

	kbus_set_max_msgs(_metadata, self->b, 2);
	/* Nothing is dropped, and the waiting send does not get in. */
	EXPECT_EQ(5, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	kbus_sender_waits(_metadata, &s, 200);

	/* Over the limit: announcements miss it, ALL_OR_FAIL fails. */
	EXPECT_EQ(0, send_named(self->c, "$.Lower", 0, 0, NULL));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
	EXPECT_EQ(-EBUSY, send_named(self->c, "$.Lower", KBUS_BIT_ALL_OR_FAIL,
				     0, NULL));
	EXPECT_EQ(5, kbus_num_msgs(_metadata, self->b));

	/* Down to the new limit is not room yet. */
	for (i = 0; i < 3; i++)
		expect_serial(_metadata, self->b, id[i].serial_num);
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	kbus_sender_waits(_metadata, &s, 200);

	/* Below it, the waiting send goes, after what was queued. */
	expect_serial(_metadata, self->b, id[3].serial_num);
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	EXPECT_LT(id[4].serial_num, s.id.serial_num);
	expect_serial(_metadata, self->b, id[4].serial_num);
	expect_serial(_metadata, self->b, s.id.serial_num);
	kbus_expect_empty(_metadata, self->b);
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
}

TEST_F_TIMEOUT(flow, request_holds_a_slot_of_the_senders_queue_for_its_reply, 60)
{
	struct kbus_entire_message *req, *rep;
	struct kbus_message_header h;
	struct kbus_ksock_info info;
	struct kbus_msg_id rid;
	struct kbus_sender s;

	/* a asks, c replies; a also listens to news from b. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Slot.Ask", 1));
	ASSERT_EQ(0, kbus_bind(self->a, "$.Slot.News", 0));
	kbus_set_max_msgs(_metadata, self->a, 2);
	ASSERT_EQ(0, send_named(self->a, "$.Slot.Ask", KBUS_BIT_WANT_A_REPLY,
				0, &rid));
	info = kbus_info_of(_metadata, self->a);
	EXPECT_EQ(1, info.num_outstanding);
	EXPECT_EQ(0, info.num_msgs);

	/* One slot is left: one announcement fits, the next is missed. */
	EXPECT_EQ(0, send_named(self->b, "$.Slot.News", 0, 0, NULL));
	EXPECT_EQ(0, send_named(self->b, "$.Slot.News", 0, 0, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->a));

	/* No room for another reply: refused at once, even if told to wait. */
	EXPECT_EQ(-ENOLCK, send_named(self->a, "$.Slot.Ask",
				      KBUS_BIT_WANT_A_REPLY, 0, NULL));
	EXPECT_EQ(-ENOLCK, send_named(self->a, "$.Slot.Ask",
				      KBUS_BIT_WANT_A_REPLY |
				      KBUS_BIT_ALL_OR_WAIT,
				      KBUS_SEND_NONBLOCK, NULL));
	kbus_msg_init(&h, "$.Slot.Ask", NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY | KBUS_BIT_ALL_OR_WAIT;
	kbus_sender_spawn(_metadata, &s, self->a, &h);
	EXPECT_EQ(-ENOLCK, kbus_sender_finish(_metadata, &s));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(1, kbus_info_of(_metadata, self->a).num_outstanding);

	/* The reply takes the slot kept for it. */
	req = kbus_recv(_metadata, self->c);
	ASSERT_EQ(0, kbus_reply(self->c, req, "ok", 2, NULL));
	free(req);
	info = kbus_info_of(_metadata, self->a);
	EXPECT_EQ(2, info.num_msgs);
	EXPECT_EQ(0, info.num_outstanding);
	EXPECT_EQ(1, kbus_dropped(_metadata, self->a));
	/* The queue is full until a message is received. */
	EXPECT_EQ(-ENOLCK, send_named(self->a, "$.Slot.Ask",
				      KBUS_BIT_WANT_A_REPLY, 0, NULL));
	expect_next(_metadata, self->a, "$.Slot.News");
	rep = kbus_recv(_metadata, self->a);
	EXPECT_EQ(rid.serial_num, rep->header.in_reply_to.serial_num);
	kbus_check_msg(_metadata, rep, "$.Slot.Ask", "ok", 2,
		       kbus_ksock_id(_metadata, self->c));
	free(rep);
	EXPECT_EQ(0, send_named(self->a, "$.Slot.Ask", KBUS_BIT_WANT_A_REPLY,
				0, NULL));
	EXPECT_EQ(1, kbus_info_of(_metadata, self->a).num_outstanding);
}

/* ---- ALL_OR_FAIL and ALL_OR_WAIT ---- */

TEST_F_TIMEOUT(flow, all_or_flags_are_ignored_on_replies, 60)
{
	struct kbus_entire_message *req, *rep;
	struct kbus_message_header h;
	struct kbus_msg_id rid;
	struct kbus_sender s;

	/* a asks, b replies, c listens to the name with a full queue. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Rep", 1));
	kbus_set_max_msgs(_metadata, self->c, 1);
	ASSERT_EQ(0, kbus_bind(self->c, "$.Rep", 0));
	ASSERT_EQ(0, send_named(self->a, "$.Rep", KBUS_BIT_WANT_A_REPLY, 0,
				NULL));
	req = kbus_recv(_metadata, self->b);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));

	/* ALL_OR_FAIL: the reply goes all the same; c misses it. */
	kbus_msg_init(&h, "$.Rep", "r", 1);
	h.in_reply_to = req->header.id;
	h.to = req->header.from;
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	EXPECT_EQ(0, kbus_send_msg(self->b, &h, false, &rid));
	rep = kbus_recv(_metadata, self->a);
	EXPECT_EQ(req->header.id.serial_num, rep->header.in_reply_to.serial_num);
	EXPECT_EQ(rid.serial_num, rep->header.id.serial_num);
	EXPECT_EQ(1, kbus_dropped(_metadata, self->c));
	free(rep);
	free(req);

	/* ALL_OR_WAIT: the reply does not wait for c either. */
	ASSERT_EQ(0, send_named(self->a, "$.Rep", KBUS_BIT_WANT_A_REPLY, 0,
				NULL));
	EXPECT_EQ(2, kbus_dropped(_metadata, self->c));
	req = kbus_recv(_metadata, self->b);
	kbus_msg_init(&h, "$.Rep", "w", 1);
	h.in_reply_to = req->header.id;
	h.to = req->header.from;
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	kbus_sender_spawn(_metadata, &s, self->b, &h);
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	rep = kbus_recv(_metadata, self->a);
	EXPECT_EQ(req->header.id.serial_num, rep->header.in_reply_to.serial_num);
	EXPECT_EQ(s.id.serial_num, rep->header.id.serial_num);
	EXPECT_EQ(3, kbus_dropped(_metadata, self->c));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	free(rep);
	free(req);
}

TEST_F(flow, all_or_fail_to_a_full_listener_reaches_nobody)
{
	kbus_set_max_msgs(_metadata, self->c, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Aof", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Aof", 0));
	EXPECT_EQ(0, send_named(self->a, "$.Aof", 0, 0, NULL));
	EXPECT_EQ(-EBUSY, send_named(self->a, "$.Aof", KBUS_BIT_ALL_OR_FAIL, 0,
				     NULL));
	/* Also when it could wait: ALL_OR_FAIL never does. */
	EXPECT_EQ(-EBUSY, send_named(self->a, "$.Aof", KBUS_BIT_ALL_OR_FAIL,
				     KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	/* Refused, not missed; and the sender has nothing to wait for. */
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->c));
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
}

/*
 * A send remembers up to 8 listener bindings from planning (the driver's
 * KBUS_ROUTE_PLANNED) and visits the listeners again past that.  Either
 * way, an ALL_OR_FAIL send refused by the last listener leaves every
 * listener it had planned a copy for as it was: each takes the next
 * message, although with max_msgs 1 a copy still counted as planned would
 * make it miss it.
 */
TEST_F(flow, all_or_fail_refused_by_the_last_of_many_listeners_leaves_the_others_intact)
{
	/* Both ways, and 9: 8 planned when refused, 9 when delivered. */
	static const int counts[] = { 4, 9, 12 };
	int fds[12];
	unsigned int k;
	int i, n;

	for (k = 0; k < ARRAY_SIZE(counts); k++) {
		n = counts[k];
		for (i = 0; i < n; i++) {
			fds[i] = kbus_open(_metadata);
			kbus_set_max_msgs(_metadata, fds[i], 1);
			ASSERT_EQ(0, kbus_bind(fds[i], "$.Many", 0));
		}
		/* Only the last one, visited last, is full. */
		ASSERT_EQ(0, kbus_bind(fds[n - 1], "$.Many.Fill", 0));
		ASSERT_EQ(0, send_named(self->a, "$.Many.Fill", 0, 0, NULL));
		EXPECT_EQ(-EBUSY, send_named(self->a, "$.Many",
					     KBUS_BIT_ALL_OR_FAIL, 0, NULL))
			TH_LOG("%d listeners", n);
		for (i = 0; i < n - 1; i++)
			EXPECT_EQ(0, kbus_num_msgs(_metadata, fds[i]));
		ASSERT_EQ(0, send_named(self->a, "$.Many", 0, 0, NULL));
		for (i = 0; i < n - 1; i++) {
			EXPECT_EQ(0, kbus_dropped(_metadata, fds[i]))
				TH_LOG("%d listeners: listener %d missed it",
				       n, i);
			expect_next(_metadata, fds[i], "$.Many");
		}
		EXPECT_EQ(1, kbus_dropped(_metadata, fds[n - 1]));
		expect_next(_metadata, fds[n - 1], "$.Many.Fill");
		/* And the delivery left nobody half planned either. */
		ASSERT_EQ(0, send_named(self->a, "$.Many", 0, 0, NULL));
		for (i = 0; i < n; i++) {
			expect_next(_metadata, fds[i], "$.Many");
			EXPECT_EQ(i < n - 1 ? 0 : 1,
				  kbus_dropped(_metadata, fds[i]));
			close(fds[i]);
		}
	}
}

TEST_F(flow, both_all_or_flags_are_rejected)
{
	struct kbus_message_header h;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Both", 0));
	kbus_msg_init(&h, "$.Both", NULL, 0);
	h.flags = KBUS_BIT_ALL_OR_FAIL | KBUS_BIT_ALL_OR_WAIT;
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, true, NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, &h, sizeof(h),
					KBUS_SEND_NONBLOCK, NULL));
	/* Even with room everywhere. */
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
}

TEST_F(flow, nonblocking_all_or_wait_is_retried_after_pollout_with_a_new_id)
{
	struct kbus_msg_id first, other, id;
	int nb;

	nb = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, nb);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Wait", 0));
	ASSERT_EQ(0, send_named(nb, "$.Wait", 0, 0, &first));

	/* An O_NONBLOCK file, or KBUS_SEND_NONBLOCK: EAGAIN, nothing kept. */
	EXPECT_EQ(-EAGAIN, send_named(nb, "$.Wait", KBUS_BIT_ALL_OR_WAIT, 0,
				      NULL));
	EXPECT_EQ(0, kbus_poll_now(nb) & POLLOUT);
	EXPECT_EQ(-EAGAIN, send_named(self->a, "$.Wait", KBUS_BIT_ALL_OR_WAIT,
				      KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(0, kbus_poll_now(self->a) & POLLOUT);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	/* Not room: another Ksock's message elsewhere. */
	ASSERT_EQ(0, send_named(self->c, "$.Wait.Other", 0, 0, &other));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(nb, POLLOUT, 50));
	EXPECT_LT(first.serial_num, other.serial_num);

	/* Room appears: both are told, and a retry goes with a new id. */
	expect_serial(_metadata, self->b, first.serial_num);
	ASSERT_LT(0, kbus_wait_fd(nb, POLLOUT, KBUS_WAIT_MS));
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	ASSERT_EQ(0, send_named(nb, "$.Wait", KBUS_BIT_ALL_OR_WAIT, 0, &id));
	EXPECT_LT(other.serial_num, id.serial_num);
	EXPECT_EQ(POLLOUT, kbus_poll_now(nb));
	/* The other one finds the queue full again. */
	EXPECT_EQ(-EAGAIN, send_named(self->a, "$.Wait", KBUS_BIT_ALL_OR_WAIT,
				      KBUS_SEND_NONBLOCK, NULL));
	expect_serial(_metadata, self->b, id.serial_num);
	kbus_expect_empty(_metadata, self->b);
	close(nb);
}

/* Child: fill its queue, tell the parent, drain when told, report. */
static int drainer(void *arg, int in, int out)
{
	struct kbus_entire_message *m;
	struct kbus_ksock_info info;
	int fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);

	if (fd < 0 || kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 1))
		return 1;
	if (kbus_bind(fd, "$.Blocking", 0) || kbus_info(fd, &info))
		return 2;
	if (kbus_pipe_write(out, &info.ksock_id, sizeof(info.ksock_id)))
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
	if (kbus_pipe_write(out, &m->header.id.serial_num, sizeof(__u32)))
		return 9;
	free(m);
	return 0;
}

/* Child: fill the drainer, then a blocking ALL_OR_WAIT send; report. */
static int blocking_sender(void *arg, int in, int out)
{
	struct kbus_msg_id first, id = {};
	int fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC), ret;

	if (fd < 0)
		return 1;
	if (send_named(fd, "$.Blocking", 0, 0, &first))
		return 2;
	if (kbus_post(out))
		return 3;
	ret = send_named(fd, "$.Blocking", KBUS_BIT_ALL_OR_WAIT, 0, &id);
	if (kbus_pipe_write(out, &ret, sizeof(ret)) ||
	    kbus_pipe_write(out, &first.serial_num, sizeof(__u32)) ||
	    kbus_pipe_write(out, &id.serial_num, sizeof(__u32)))
		return 4;
	return 0;
}

TEST_F_TIMEOUT(flow, all_or_wait_blocks_until_a_reader_makes_room, 60)
{
	struct kbus_child drain, sender;
	__u32 first, sent, got;
	int ret = 1;

	kbus_spawn(_metadata, &drain, drainer, NULL);
	kbus_child_u32(_metadata, &drain);
	kbus_spawn(_metadata, &sender, blocking_sender, NULL);
	ASSERT_EQ(0, kbus_wait(sender.from_child));
	ASSERT_EQ(0, wait_pid_state(sender.pid, 'S'));
	/* Still blocked: no result yet. */
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(sender.from_child, POLLIN, 100));
	ASSERT_EQ(0, kbus_post(drain.to_child));
	ASSERT_EQ(0, kbus_pipe_read(sender.from_child, &ret, sizeof(ret)));
	EXPECT_EQ(0, ret);
	first = kbus_child_u32(_metadata, &sender);
	sent = kbus_child_u32(_metadata, &sender);
	got = kbus_child_u32(_metadata, &drain);
	/* Delivered with the id it was given when it went. */
	EXPECT_EQ(sent, got);
	EXPECT_LT(first, sent);
	kbus_child_done(_metadata, &sender);
	kbus_child_done(_metadata, &drain);
}

TEST_F(flow, poll_reports_writable_only_for_writers)
{
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	int wo = open(KBUS_DEV0, O_WRONLY | O_CLOEXEC);

	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a) & (POLLIN | POLLOUT));
	EXPECT_EQ(POLLOUT, kbus_poll_now(wo) & (POLLIN | POLLOUT));
	EXPECT_EQ(0, kbus_poll_now(ro) & (POLLIN | POLLOUT));
	close(wo);
	close(ro);
}

/* ---- Signals and a waiting send ---- */

static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
	signals_seen++;
}

static void set_handler(struct __test_metadata *const _metadata, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_signal;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
}

/* Signal the sending thread and wait (bounded) for its handler to run. */
static void signal_sender(struct __test_metadata *const _metadata,
			  struct kbus_sender *s)
{
	int i;

	signals_seen = 0;
	ASSERT_EQ(0, pthread_kill(s->thread, SIGUSR1));
	for (i = 0; i < KBUS_WAIT_MS && !signals_seen; i++)
		poll(NULL, 0, 1);
	ASSERT_EQ(1, signals_seen);
}

TEST_F_TIMEOUT(flow, signal_without_sa_restart_ends_a_waiting_send_with_eintr, 60)
{
	struct kbus_sender s;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Sig", 0));
	ASSERT_EQ(0, send_named(self->c, "$.Sig", 0, 0, NULL));
	set_handler(_metadata, 0);

	kbus_sender_start(_metadata, &s, self->a, "$.Sig", KBUS_BIT_ALL_OR_WAIT);
	signal_sender(_metadata, &s);
	EXPECT_EQ(-EINTR, kbus_sender_finish(_metadata, &s));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));

	/* Nothing of it is left to arrive once there is room. */
	expect_next(_metadata, self->b, "$.Sig");
	kbus_expect_empty(_metadata, self->b);
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	EXPECT_EQ(0, send_named(self->a, "$.Sig", KBUS_BIT_ALL_OR_WAIT,
				KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
}

TEST_F_TIMEOUT(flow, signal_with_sa_restart_leaves_the_send_waiting, 60)
{
	struct kbus_entire_message *m;
	struct kbus_sender s;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Sig.Restart", 0));
	ASSERT_EQ(0, send_named(self->c, "$.Sig.Restart", 0, 0, NULL));
	set_handler(_metadata, SA_RESTART);

	kbus_sender_start(_metadata, &s, self->a, "$.Sig.Restart",
			  KBUS_BIT_ALL_OR_WAIT);
	signal_sender(_metadata, &s);
	/* The handler ran; the send started again and waits. */
	kbus_sender_waits(_metadata, &s, 200);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));

	expect_next(_metadata, self->b, "$.Sig.Restart");
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	m = kbus_recv(_metadata, self->b);
	EXPECT_EQ(s.id.serial_num, m->header.id.serial_num);
	EXPECT_EQ(kbus_ksock_id(_metadata, self->a), m->header.from);
	free(m);
	kbus_expect_empty(_metadata, self->b);
}

/* Child: report its Ksock id, then an ALL_OR_WAIT send; report that. */
static int waiting_child(void *arg, int in, int out)
{
	struct kbus_ksock_info info;
	struct kbus_msg_id id = {};
	int fd, ret;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_info(fd, &info))
		return 2;
	if (kbus_pipe_write(out, &info.ksock_id, sizeof(info.ksock_id)))
		return 3;
	ret = send_named(fd, arg, KBUS_BIT_ALL_OR_WAIT, 0, &id);
	if (kbus_pipe_write(out, &ret, sizeof(ret)) ||
	    kbus_pipe_write(out, &id.serial_num, sizeof(id.serial_num)))
		return 4;
	return 0;
}

TEST_F_TIMEOUT(flow, sigkill_ends_one_waiting_send_and_sigstop_leaves_another, 60)
{
	static const char name[] = "$.Sig.Kill";
	struct kbus_child killed, stopped;
	struct kbus_entire_message *m;
	__u32 stopped_id, serial;
	int ret = 1, status;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, send_named(self->c, name, 0, 0, NULL));
	kbus_spawn(_metadata, &killed, waiting_child, (void *)name);
	kbus_child_u32(_metadata, &killed);
	kbus_spawn(_metadata, &stopped, waiting_child, (void *)name);
	stopped_id = kbus_child_u32(_metadata, &stopped);
	ASSERT_EQ(0, wait_pid_state(killed.pid, 'S'));
	ASSERT_EQ(0, wait_pid_state(stopped.pid, 'S'));

	/* Stopped and continued, a waiting send waits on. */
	ASSERT_EQ(0, kill(stopped.pid, SIGSTOP));
	ASSERT_EQ(0, wait_pid_state(stopped.pid, 'T'));
	ASSERT_EQ(0, kill(stopped.pid, SIGCONT));
	ASSERT_EQ(0, wait_pid_state(stopped.pid, 'S'));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(stopped.from_child, POLLIN, 100))
		TH_LOG("the send returned when it should wait");

	/* Killed, it goes at once, and its message with it. */
	ASSERT_EQ(0, kill(killed.pid, SIGKILL));
	ASSERT_EQ(killed.pid, waitpid(killed.pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(killed.to_child);
	close(killed.from_child);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(stopped.from_child, POLLIN, 100));

	/* Room for one: the one left waiting gets it. */
	expect_next(_metadata, self->b, name);
	ASSERT_EQ(0, kbus_pipe_read(stopped.from_child, &ret, sizeof(ret)));
	EXPECT_EQ(0, ret);
	serial = kbus_child_u32(_metadata, &stopped);
	kbus_child_done(_metadata, &stopped);
	m = kbus_recv(_metadata, self->b);
	EXPECT_EQ(stopped_id, m->header.from);
	EXPECT_EQ(serial, m->header.id.serial_num);
	free(m);
	kbus_expect_empty(_metadata, self->b);
}

/* ---- Replier bind events ---- */

/* Turn replier bind reports on from @fd, noting it for the teardown. */
static int reports_on(bool *reporting, int fd)
{
	int ret = kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, 1);

	if (ret != -EPERM)
		*reporting = true;
	return ret;
}

static void expect_bind_event(struct __test_metadata *const _metadata, int fd,
			      __u32 is_bind, __u32 binder, const char *name)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);
	const struct kbus_replier_bind_event_data *d = kbus_msg_data(m);

	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT, kbus_msg_name(m));
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags);
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
	__u32 rid = kbus_ksock_id(_metadata, self->c);
	int ret;

	ret = reports_on(&self->reporting, self->a);
	if (ret == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(1, kbus_opt(_metadata, self->b,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
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

TEST_F(flow, full_bind_event_listener_loses_events_closing_too)
{
	__u32 cid = kbus_ksock_id(_metadata, self->c), id = 1;
	struct kbus_entire_message *m;
	int ret;

	ret = reports_on(&self->reporting, self->a);
	if (ret == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.*", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.A", 1));
	EXPECT_EQ(0, kbus_bind(self->c, "$.Full.B", 1));
	EXPECT_EQ(0, kbus_replier(self->a, "$.Full.B", &id));
	EXPECT_EQ(cid, id);

	/* A closing replier's events are lost the same way. */
	close(self->c);
	self->c = kbus_open(_metadata);
	EXPECT_EQ(0, kbus_replier(self->a, "$.Full.A", &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(3, kbus_dropped(_metadata, self->b));
	expect_bind_event(_metadata, self->b, 1, cid, "$.Full.A");
	m = kbus_recv(_metadata, self->b);
	EXPECT_STREQ(KBUS_MSG_NAME_UNBIND_EVENTS_LOST, kbus_msg_name(m));
	free(m);
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(flow, after_a_lost_bind_event_none_comes_until_the_marker_is_read)
{
	__u32 cid = kbus_ksock_id(_metadata, self->c);
	struct kbus_entire_message *m;
	int ret;

	ret = reports_on(&self->reporting, self->a);
	if (ret == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Lost.A", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Lost.B", 1));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));

	/* Room again, but the marker is unread: the event is missed. */
	kbus_set_max_msgs(_metadata, self->b, 10);
	ASSERT_EQ(0, kbus_bind(self->c, "$.Lost.C", 1));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(2, kbus_dropped(_metadata, self->b));
	expect_bind_event(_metadata, self->b, 1, cid, "$.Lost.A");
	m = kbus_recv(_metadata, self->b);
	EXPECT_STREQ(KBUS_MSG_NAME_UNBIND_EVENTS_LOST, kbus_msg_name(m));
	free(m);
	kbus_expect_empty(_metadata, self->b);

	/* Once it is read, events come again. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Lost.D", 1));
	expect_bind_event(_metadata, self->b, 1, cid, "$.Lost.D");
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(flow, turning_reports_on_catches_up_on_existing_repliers)
{
	__u32 rid = kbus_ksock_id(_metadata, self->c);
	int ret;

	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.Up", 1));
	ret = reports_on(&self->reporting, self->a);
	if (ret == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	expect_bind_event(_metadata, self->a, 1, rid, "$.Catch.Up");
	kbus_expect_empty(_metadata, self->a);
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a,
					KBUS_OPT_REPORT_REPLIER_BINDS, 2));
	EXPECT_EQ(1, kbus_opt(_metadata, self->a,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
	/* Only the Ksock that turned reports on catches up. */
	kbus_expect_empty(_metadata, self->b);
}

/* ---- Bus-wide settings ---- */

static int unprivileged(void *arg, int in, int out)
{
	__u64 size, val;
	int before, fd;

	/* Opened while this process may change the bus. */
	before = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (before < 0)
		return 1;
	if (kbus_get_opt(before, KBUS_OPT_MAX_MSG_SIZE, &size))
		return 2;
	if (kbus_drop_sys_admin())
		return 3;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 4;
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, size) != -EPERM)
		return 5;
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, 1) != -EPERM)
		return 6;
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, 0) != -EPERM)
		return 7;
	/* A value out of range is refused first; a read-only option always. */
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, 1) != -EINVAL)
		return 9;
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, 2) != -EINVAL)
		return 10;
	if (kbus_set_opt(fd, KBUS_OPT_ABS_MAX_MSG_SIZE, size) != -EOPNOTSUPP)
		return 11;
	/* Asking is allowed. */
	if (kbus_get_opt(fd, KBUS_OPT_MAX_MSG_SIZE, &val) || val != size)
		return 12;
	if (kbus_get_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, &val) || val)
		return 13;
	if (kbus_get_opt(fd, KBUS_OPT_ABS_MAX_MSG_SIZE, &val) || val < size)
		return 14;
	/* Per-Ksock settings are everybody's. */
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 5) ||
	    kbus_get_opt(fd, KBUS_OPT_MAX_MSGS, &val) || val != 5)
		return 15;
	if (kbus_set_opt(fd, KBUS_OPT_ONLY_ONCE, 1))
		return 16;
	/* The right is the opener's: the file opened before keeps it. */
	if (kbus_set_opt(before, KBUS_OPT_MAX_MSG_SIZE, size))
		return 17;
	if (kbus_set_opt(before, KBUS_OPT_REPORT_REPLIER_BINDS, 0))
		return 18;
	return 0;
}

TEST_F(flow, bus_settings_need_cap_sys_admin_of_the_opener)
{
	struct kbus_child c;

	if (geteuid())
		SKIP(return, "needs root");
	kbus_spawn(_metadata, &c, unprivileged, NULL);
	kbus_child_done(_metadata, &c);
}

/* ---- Byte limits ---- */

TEST_F(flow, max_bytes_option_is_bounded)
{
	unsigned long user_bytes = kbus_read_param(KBUS_PARAM_USER_BYTES);

	ASSERT_LT(0, user_bytes);
	EXPECT_EQ(2 << 20, kbus_opt(_metadata, self->a, KBUS_OPT_MAX_BYTES));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_MAX_BYTES, 0));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_MAX_BYTES,
					user_bytes + 1));
	EXPECT_EQ(0, kbus_set_opt(self->a, KBUS_OPT_MAX_BYTES, user_bytes));
	EXPECT_EQ(0, kbus_set_opt(self->a, KBUS_OPT_MAX_BYTES, 1));
	EXPECT_EQ(1, kbus_opt(_metadata, self->a, KBUS_OPT_MAX_BYTES));
	/* Per Ksock. */
	EXPECT_EQ(2 << 20, kbus_opt(_metadata, self->b, KBUS_OPT_MAX_BYTES));
}

TEST_F(flow, byte_limit_stops_a_listener_and_nothing_else)
{
	static char data[3000];
	__u32 a_id = kbus_ksock_id(_metadata, self->a);
	struct kbus_message_header h;
	struct kbus_entire_message *m;
	struct kbus_ksock_info info;
	__u32 i, held;

	memset(data, 'b', sizeof(data));
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_MAX_BYTES, 20000));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bytes", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Bytes", 0));
	kbus_msg_init(&h, "$.Bytes", data, sizeof(data));
	for (i = 0; i < 10; i++)
		EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));

	/* The small listener holds what fits and missed the rest... */
	info = kbus_info_of(_metadata, self->b);
	held = info.num_msgs;
	EXPECT_LT(0, held);
	EXPECT_GT(10, held);
	EXPECT_EQ(10 - held, info.dropped);
	EXPECT_GE(20000, info.queued_bytes);
	EXPECT_LT(held * sizeof(data), info.queued_bytes);
	/* ... the other got everything; the sender holds nothing. */
	EXPECT_EQ(10, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(0, kbus_info_of(_metadata, self->a).queued_bytes);
	/* ALL_OR_FAIL is refused for it, as for a full queue. */
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	EXPECT_EQ(-EBUSY, kbus_send_msg(self->a, &h, false, NULL));
	h.flags = 0;

	/* What was queued is intact; reading it makes room again. */
	for (i = 0; i < held; i++) {
		m = kbus_recv(_metadata, self->b);
		kbus_check_msg(_metadata, m, "$.Bytes", data, sizeof(data),
			       a_id);
		free(m);
	}
	EXPECT_EQ(0, kbus_info_of(_metadata, self->b).queued_bytes);
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
}

TEST_F(flow, user_limit_covers_all_of_a_users_ksocks)
{
	static char data[8000];
	struct kbus_message_header h;
	struct kbus_ksock_info info;
	unsigned long saved;
	__u32 held_b, held_c;
	int i;

	if (access(KBUS_PARAM_USER_BYTES, W_OK))
		SKIP(return, "no writable " KBUS_PARAM_USER_BYTES);
	saved = kbus_read_param(KBUS_PARAM_USER_BYTES);
	ASSERT_LT(0, saved);
	self->saved_user_bytes = saved;
	kbus_set_max_msgs(_metadata, self->b, 1000);
	kbus_set_max_msgs(_metadata, self->c, 1000);
	ASSERT_EQ(0, kbus_bind(self->b, "$.User", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.User", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.User.Ask", 1));
	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES, 128 * 1024));

	kbus_msg_init(&h, "$.User", data, sizeof(data));
	for (i = 0; i < 20; i++)
		EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	/* The user's Ksocks share the limit, whatever their own say. */
	info = kbus_info_of(_metadata, self->b);
	held_b = info.num_msgs;
	held_c = kbus_num_msgs(_metadata, self->c);
	EXPECT_GE(128 * 1024, info.user_bytes);
	EXPECT_LT((held_b + held_c) * sizeof(data), info.user_bytes);
	EXPECT_GT(20, held_b);
	EXPECT_GT(20, held_c);
	EXPECT_EQ(20 - held_b, kbus_dropped(_metadata, self->b));

	/* What the user would add fails: a request, a binding. */
	kbus_msg_init(&h, "$.User.Ask", NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY;
	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES,
				      kbus_info_of(_metadata, self->a).user_bytes));
	EXPECT_EQ(-ENOBUFS, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-ENOSPC, kbus_bind(self->a, "$.User.More", 0));
	EXPECT_EQ(-1, open(KBUS_DEV0, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(0, kbus_info_of(_metadata, self->a).num_outstanding);

	/* Reading gives it back. */
	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES, saved));
	self->saved_user_bytes = 0;
	while (kbus_num_msgs(_metadata, self->b))
		free(kbus_recv(_metadata, self->b));
	while (kbus_num_msgs(_metadata, self->c))
		free(kbus_recv(_metadata, self->c));
	EXPECT_GT(held_b * sizeof(data), kbus_info_of(_metadata, self->a).user_bytes);
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(0, kbus_bind(self->a, "$.User.More", 0));
}

/*
 * A request's records are charged to its requester's and its replier's
 * users; when it ends they are given back, and a send waiting for room at
 * a Ksock of either user may go.  All the Ksocks here are the test's
 * user's.
 */
TEST_F_TIMEOUT(flow, ending_a_request_gives_room_to_a_waiting_send, 60)
{
	static const char *const how[] = {
		"cancel of an unread request",
		"cancel of a read request",
		"reply",
	};
	struct kbus_entire_message *m = NULL;
	struct kbus_msg_id id;
	struct kbus_sender s;
	__u64 before, cost;
	unsigned long saved;
	int r, i, ret;

	if (access(KBUS_PARAM_USER_BYTES, W_OK))
		SKIP(return, "no writable " KBUS_PARAM_USER_BYTES);
	saved = kbus_read_param(KBUS_PARAM_USER_BYTES);
	ASSERT_LT(0, saved);
	self->saved_user_bytes = saved;
	ASSERT_EQ(0, kbus_bind(self->b, "$.Room.Tell", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Room.Ask", 1));
	r = kbus_open(_metadata);

	/* What one copy of the announcement costs the user. */
	before = kbus_info_of(_metadata, self->a).user_bytes;
	ASSERT_EQ(0, send_named(self->a, "$.Room.Tell", 0, 0, NULL));
	cost = kbus_info_of(_metadata, self->a).user_bytes - before;
	ASSERT_LT(0, cost);
	expect_next(_metadata, self->b, "$.Room.Tell");

	for (i = 0; i < 3; i++) {
		TH_LOG("ending the request by %s", how[i]);
		ASSERT_EQ(0, kbus_request(r, "$.Room.Ask", NULL, 0, 0, &id));
		if (i > 0)
			m = kbus_recv(_metadata, self->c);
		/* One byte short of room for the announcement: it waits. */
		before = kbus_info_of(_metadata, self->a).user_bytes;
		ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES,
					      before + cost - 1));
		kbus_sender_start(_metadata, &s, self->a, "$.Room.Tell",
				  KBUS_BIT_ALL_OR_WAIT);
		ret = i < 2 ? kbus_cancel_request(r, &id) :
			      kbus_reply(self->c, m, NULL, 0, NULL);
		EXPECT_EQ(0, ret);
		EXPECT_EQ(0, kbus_sender_finish(_metadata, &s))
			TH_LOG("the %s woke no waiting send", how[i]);
		ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES, saved));
		expect_next(_metadata, self->b, "$.Room.Tell");
		expect_next(_metadata, r, i < 2 ?
			    KBUS_MSG_NAME_REQUEST_CANCELLED : "$.Room.Ask");
		if (i == 0)
			m = kbus_recv(_metadata, self->c);
		free(m);
		m = NULL;
		EXPECT_EQ(0, kbus_num_msgs(_metadata, self->c));
		EXPECT_EQ(0, kbus_unreplied(_metadata, self->c));
	}
	self->saved_user_bytes = 0;
	close(r);
}

/* ---- Count limits ---- */

TEST_F(flow, requests_and_bindings_of_a_ksock_are_limited)
{
	struct kbus_message_header h;
	struct kbus_entire_message *m;
	struct kbus_msg_id id;
	int d;

	if (access(KBUS_PARAM_MAX_REQUESTS, W_OK) ||
	    access(KBUS_PARAM_MAX_BINDINGS, W_OK))
		SKIP(return, "no writable kbus.max_requests, kbus.max_bindings");
	self->saved_requests = kbus_read_param(KBUS_PARAM_MAX_REQUESTS);
	self->saved_bindings = kbus_read_param(KBUS_PARAM_MAX_BINDINGS);
	ASSERT_EQ(1024, self->saved_requests);
	ASSERT_EQ(1024, self->saved_bindings);
	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_MAX_REQUESTS, 2));
	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_MAX_BINDINGS, 2));

	/* Bindings: the third fails, whatever its kind. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Count.Ask", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Count.News", 0));
	EXPECT_EQ(-ENOSPC, kbus_bind(self->c, "$.Count.More", 0));
	EXPECT_EQ(-ENOSPC, kbus_bind(self->c, "$.Count.More", 1));
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Count.News", 0));
	EXPECT_EQ(0, kbus_bind(self->c, "$.Count.More", 0));

	/* Outstanding requests: the third fails, and takes nothing. */
	kbus_msg_init(&h, "$.Count.Ask", NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, &id));
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-ENOLCK, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(2, kbus_info_of(_metadata, self->a).num_outstanding);

	/* Requests read and not answered: a third is refused as if full. */
	free(kbus_recv(_metadata, self->c));
	m = kbus_recv(_metadata, self->c);
	EXPECT_EQ(2, kbus_unreplied(_metadata, self->c));
	EXPECT_EQ(-EBUSY, kbus_send_msg(self->b, &h, false, NULL));
	h.flags |= KBUS_BIT_ALL_OR_WAIT;
	EXPECT_EQ(-EAGAIN, kbus_sendmsg(self->b, &h, sizeof(h),
					KBUS_SEND_NONBLOCK, NULL));
	/* Answering one makes room for it. */
	ASSERT_EQ(0, kbus_reply(self->c, m, NULL, 0, NULL));
	free(m);
	h.flags = KBUS_BIT_WANT_A_REPLY;
	EXPECT_EQ(0, kbus_send_msg(self->b, &h, false, NULL));
	/* A Ksock opened now has the same limits. */
	d = kbus_open(_metadata);
	EXPECT_EQ(0, kbus_bind(d, "$.Count.D1", 0));
	EXPECT_EQ(0, kbus_bind(d, "$.Count.D2", 0));
	EXPECT_EQ(-ENOSPC, kbus_bind(d, "$.Count.D3", 0));
	close(d);
}

/*
 * A request waiting for room because its replier owes kbus.max_requests
 * goes as soon as the replier answers one, also when the answer finds
 * its requester gone.
 */
TEST_F_TIMEOUT(flow, answering_a_request_lets_a_waiting_request_in, 60)
{
	const __u32 ask = KBUS_BIT_WANT_A_REPLY | KBUS_BIT_ALL_OR_WAIT;
	struct kbus_entire_message *m;
	struct kbus_sender s;
	int r1, r2;

	if (access(KBUS_PARAM_MAX_REQUESTS, W_OK))
		SKIP(return, "no writable kbus.max_requests");
	self->saved_requests = kbus_read_param(KBUS_PARAM_MAX_REQUESTS);
	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_MAX_REQUESTS, 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Owed.Ask", 1));
	r1 = kbus_open(_metadata);
	r2 = kbus_open(_metadata);

	/* The replier owes one request: the next one waits... */
	ASSERT_EQ(0, send_named(r1, "$.Owed.Ask", KBUS_BIT_WANT_A_REPLY, 0,
				NULL));
	m = kbus_recv(_metadata, self->c);
	ASSERT_EQ(1, kbus_unreplied(_metadata, self->c));
	kbus_sender_start(_metadata, &s, r2, "$.Owed.Ask", ask);
	/* ...until it answers. */
	ASSERT_EQ(0, kbus_reply(self->c, m, NULL, 0, NULL));
	free(m);
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));

	/* Again, with the requester of the owed request gone. */
	m = kbus_recv(_metadata, self->c);
	EXPECT_EQ(kbus_ksock_id(_metadata, r2), m->header.from);
	kbus_sender_start(_metadata, &s, self->a, "$.Owed.Ask", ask);
	close(r2);
	kbus_sender_waits(_metadata, &s, 100);
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_reply(self->c, m, NULL, 0, NULL));
	free(m);
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	/* It is queued at the replier, and nothing is owed. */
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->c));
	close(r1);
}

TEST_HARNESS_MAIN
