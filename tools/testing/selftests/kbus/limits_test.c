// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS selftests: resource limits against an unprivileged user
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * The bus node is made 0666, as a deployment that lets every user on
 * would do, and an attacker of uid NOBODY does what an ordinary opener
 * can to exhaust the bus: its victim, another unprivileged user, must not
 * notice.  Each side runs in a child process: a failing step is its exit
 * status.
 */

#define _GNU_SOURCE
#include <grp.h>
#include <sys/stat.h>

#include "common.h"

#define ATTACKER_UID	65534
#define VICTIM_UID	65533

/* Requests the attacker sends without ever answering one. */
#define HOSTAGE_REQUESTS	100000
/* kbus.user_bytes while it does. */
#define HOSTAGE_USER_BYTES	(4UL << 20)

/* ---- Plain helpers: run in the children ---- */

static int become(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		return -1;
	return geteuid() == uid ? 0 : -1;
}

static int open_bus(void)
{
	return open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
}

/* Read @len bytes from a pipe, waiting up to @secs seconds. */
static int read_within(int fd, void *buf, size_t len, int secs)
{
	int ret;

	do {
		ret = kbus_pipe_read(fd, buf, len);
		secs -= KBUS_WAIT_MS / 1000;
	} while (ret == -ETIMEDOUT && secs > 0);
	return ret;
}

/* Tell the parent a step is done, and wait for it to say go on. */
static int handshake(int in, int out)
{
	char c = 1;

	if (write(out, &c, 1) != 1)
		return -1;
	return read_within(in, &c, 1, 120);
}

/* Receive without waiting; 0 if the name is @name, else -1. */
static int recv_named(int fd, const char *name)
{
	static char buf[KBUS_HDR_LEN + 4096];
	struct kbus_entire_message *m = (void *)buf;

	if (kbus_recvmsg(fd, buf, sizeof(buf), KBUS_RECV_NONBLOCK, NULL))
		return -1;
	return strcmp(kbus_msg_name(m), name) ? -1 : 0;
}

/* An empty queue: 0, else -1. */
static int queue_empty(int fd)
{
	static char buf[KBUS_HDR_LEN + 4096];

	return kbus_recvmsg(fd, buf, sizeof(buf), KBUS_RECV_NONBLOCK,
			    NULL) == -EAGAIN ? 0 : -1;
}

/* The bytes charged to the user of @fd, or ~0 on error. */
static __u64 user_bytes(int fd)
{
	struct kbus_ksock_info info;

	return kbus_info(fd, &info) ? ~0ULL : info.user_bytes;
}

/* The messages queued for @fd, or ~0 on error. */
static __u32 queued(int fd)
{
	struct kbus_ksock_info info;

	return kbus_info(fd, &info) ? ~0U : info.num_msgs;
}

/* ---- The attacker's floods ---- */

#define FLOOD_KSOCKS	4

/*
 * Listeners of $.Junk with every limit raised as far as an ordinary user
 * may, then 41 messages of the largest size and many small ones to them,
 * never read.
 */
static int self_flood(void *arg, int in, int out)
{
	unsigned long limit = kbus_read_param(KBUS_PARAM_USER_BYTES);
	struct kbus_message_header h;
	int fd[FLOOD_KSOCKS], i;
	__u64 max_size;
	char *big;

	if (become(ATTACKER_UID) || !limit)
		return 1;
	for (i = 0; i < FLOOD_KSOCKS; i++) {
		fd[i] = open_bus();
		if (fd[i] < 0)
			return 2;
		if (kbus_set_opt(fd[i], KBUS_OPT_MAX_MSGS, KBUS_MAX_MAX_MSGS) ||
		    kbus_bind(fd[i], "$.Junk", 0))
			return 3;
		/* As much as it may hold (a kernel without the option: all). */
		if (kbus_set_opt(fd[i], KBUS_OPT_MAX_BYTES, limit) == -EPERM)
			return 3;
	}
	if (kbus_get_opt(fd[0], KBUS_OPT_MAX_MSG_SIZE, &max_size))
		return 4;
	big = calloc(1, max_size);
	if (!big)
		return 5;
	kbus_msg_init(&h, "$.Junk", big, max_size - KBUS_ENTIRE_MSG_LEN(6, 0));
	for (i = 0; i < 41; i++) {
		/* Sending never fails: the listeners miss what they cannot hold. */
		if (kbus_send_msg(fd[0], &h, false, NULL))
			return 6;
	}
	kbus_msg_init(&h, "$.Junk", big, 100);
	for (i = 0; i < 10000; i++) {
		if (kbus_send_msg(fd[i % FLOOD_KSOCKS], &h, false, NULL))
			return 7;
	}
	free(big);
	/* The attacker holds what its limit allows, and no more. */
	if (user_bytes(fd[0]) > limit || user_bytes(fd[0]) < limit / 2)
		return 8;
	return handshake(in, out) ? 9 : 0;
}

/*
 * Requests to its own replier, which never reads them, from many Ksocks:
 * refused once its limits are reached.
 */
static int hostage_requests(void *arg, int in, int out)
{
	unsigned long *sent = arg;
	struct kbus_message_header h;
	int rq[8], rp, i, ret;

	if (become(ATTACKER_UID))
		return 1;
	rp = open_bus();
	if (rp < 0 || kbus_set_opt(rp, KBUS_OPT_MAX_MSGS, KBUS_MAX_MAX_MSGS) ||
	    kbus_bind(rp, "$.Hole", 1))
		return 2;
	for (i = 0; i < (int)ARRAY_SIZE(rq); i++) {
		rq[i] = open_bus();
		if (rq[i] < 0 ||
		    kbus_set_opt(rq[i], KBUS_OPT_MAX_MSGS, KBUS_MAX_MAX_MSGS))
			return 3;
	}
	kbus_msg_init(&h, "$.Hole", NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY;
	*sent = 0;
	for (i = 0; i < HOSTAGE_REQUESTS; i++) {
		ret = kbus_send_msg(rq[i % ARRAY_SIZE(rq)], &h, false, NULL);
		if (!ret)
			(*sent)++;
		else if (ret != -ENOLCK && ret != -ENOBUFS && ret != -EBUSY)
			return 4;
	}
	if (user_bytes(rp) > HOSTAGE_USER_BYTES)
		return 5;
	if (write(out, sent, sizeof(*sent)) != sizeof(*sent))
		return 6;
	return handshake(in, out) ? 7 : 0;
}

/* A listener of everything with room for one message, filled. */
static int full_listener(void *arg, int in, int out)
{
	int fd;

	if (become(ATTACKER_UID))
		return 1;
	fd = open_bus();
	if (fd < 0 || kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 1) ||
	    kbus_bind(fd, "$.*", 0) ||
	    kbus_announce(fd, "$.Fill", NULL, 0, NULL))
		return 2;
	if (handshake(in, out))
		return 3;
	/* What it holds: its own message, then the marker, nothing more. */
	if (recv_named(fd, "$.Fill"))
		return 4;
	if (recv_named(fd, KBUS_MSG_NAME_UNBIND_EVENTS_LOST))
		return 5;
	return queue_empty(fd) ? 6 : 0;
}

#define BIND_FLOOD_ROUNDS	3
#define BIND_FLOOD_KSOCKS	4
#define BIND_FLOOD_NAMES	1000

/*
 * A full listener of the bind events, and rounds of Ksocks binding as
 * many replier names as they may, then closing.
 */
static int bind_flood(void *arg, int in, int out)
{
	int l, fd[BIND_FLOOD_KSOCKS], r, k, n;
	char name[64];

	if (become(ATTACKER_UID))
		return 1;
	l = open_bus();
	if (l < 0 || kbus_set_opt(l, KBUS_OPT_MAX_MSGS, 1) ||
	    kbus_bind(l, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0))
		return 2;
	for (r = 0; r < BIND_FLOOD_ROUNDS; r++) {
		for (k = 0; k < BIND_FLOOD_KSOCKS; k++) {
			fd[k] = open_bus();
			if (fd[k] < 0)
				return 3;
			for (n = 0; n < BIND_FLOOD_NAMES; n++) {
				snprintf(name, sizeof(name), "$.Flood.K%d.N%d",
					 k, n);
				if (kbus_bind(fd[k], name, 1))
					return 4;
			}
		}
		for (k = 0; k < BIND_FLOOD_KSOCKS; k++)
			close(fd[k]);
	}
	return handshake(in, out) ? 5 : 0;
}

/* ---- The victim ---- */

/*
 * A listener, a replier with a request read and not yet answered, and a
 * requester; once the parent says go, everything must work.
 */
static int victim_traffic(void *arg, int in, int out)
{
	int l, rp, rq;
	static char buf[KBUS_HDR_LEN + 4096];
	struct kbus_entire_message *req = (void *)buf;

	if (become(VICTIM_UID))
		return 1;
	l = open_bus();
	rp = open_bus();
	rq = open_bus();
	if (l < 0 || rp < 0 || rq < 0)
		return 2;
	if (kbus_bind(l, "$.Victim.News", 0) ||
	    kbus_bind(rp, "$.Victim.Ask", 1))
		return 3;
	if (kbus_request(rq, "$.Victim.Ask", "q1", 2, 0, NULL))
		return 4;
	if (kbus_recvmsg(rp, buf, sizeof(buf), KBUS_RECV_NONBLOCK, NULL) ||
	    strcmp(kbus_msg_name(req), "$.Victim.Ask"))
		return 5;

	/* The attacker does its worst now. */
	if (handshake(in, out))
		return 6;

	/* The reply to the outstanding request... */
	if (kbus_reply(rp, req, "a1", 2, NULL))
		return 7;
	if (recv_named(rq, "$.Victim.Ask"))
		return 8;
	/* ... an announcement... */
	if (kbus_announce(rq, "$.Victim.News", "n", 1, NULL) ||
	    recv_named(l, "$.Victim.News"))
		return 9;
	/* ... and a new request, answered. */
	if (kbus_request(rq, "$.Victim.Ask", "q2", 2, 0, NULL))
		return 10;
	if (kbus_recvmsg(rp, buf, sizeof(buf), KBUS_RECV_NONBLOCK, NULL) ||
	    kbus_reply(rp, req, "a2", 2, NULL) ||
	    recv_named(rq, "$.Victim.Ask"))
		return 11;
	return 0;
}

/* A replier that binds, unbinds, binds again and closes. */
static int victim_binds(void *arg, int in, int out)
{
	bool *listen = arg;
	int fd, l = -1;
	__u32 id;

	if (become(VICTIM_UID))
		return 1;
	fd = open_bus();
	if (fd < 0)
		return 2;
	if (*listen) {
		l = open_bus();
		if (l < 0 || kbus_set_opt(l, KBUS_OPT_MAX_MSGS, 10) ||
		    kbus_bind(l, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0))
			return 3;
	}
	if (kbus_bind(fd, "$.Victim.Svc", 1))
		return 4;
	if (kbus_unbind(fd, "$.Victim.Svc", 1))
		return 5;
	if (kbus_bind(fd, "$.Victim.Svc", 1))
		return 6;
	if (kbus_replier(fd, "$.Victim.Svc", &id) || !id)
		return 7;
	close(fd);
	if (!*listen)
		return 0;
	/* Its listener heard all of it: bind, unbind, bind, and the close. */
	if (queued(l) != 4)
		return 8;
	for (id = 0; id < 4; id++) {
		if (recv_named(l, KBUS_MSG_NAME_REPLIER_BIND_EVENT))
			return 9;
	}
	return 0;
}

/* ---- The tests ---- */

FIXTURE(limits) {
	bool skip;
	mode_t mode;		/* of the node, put back */
	int admin;		/* root's Ksock, for bus options */
	__u64 report_was;
	unsigned long user_bytes_was;
};

FIXTURE_SETUP(limits)
{
	struct stat st;

	if (geteuid()) {
		self->skip = true;
		SKIP(return, "needs root, to act as two other users");
	}
	self->admin = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	ASSERT_EQ(0, stat(KBUS_DEV0, &st));
	self->mode = st.st_mode & 07777;
	ASSERT_EQ(0, chmod(KBUS_DEV0, 0666));
	ASSERT_EQ(0, kbus_get_opt(self->admin, KBUS_OPT_REPORT_REPLIER_BINDS,
				  &self->report_was));
	self->user_bytes_was = kbus_read_param(KBUS_PARAM_USER_BYTES);
	ASSERT_LT(0, self->user_bytes_was);
}

FIXTURE_TEARDOWN(limits)
{
	if (self->skip)
		return;
	EXPECT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES,
				      self->user_bytes_was));
	EXPECT_EQ(0, kbus_set_opt(self->admin, KBUS_OPT_REPORT_REPLIER_BINDS,
				  self->report_was));
	EXPECT_EQ(0, chmod(KBUS_DEV0, self->mode));
	close(self->admin);
}

/* Wait for a child's handshake byte; if it exits instead, say how. */
static void wait_ready(struct __test_metadata *const _metadata,
		       struct kbus_child *c)
{
	char ch;

	if (read_within(c->from_child, &ch, 1, 120))
		kbus_child_done(_metadata, c);
	ASSERT_EQ(0, _metadata->exit_code)
		TH_LOG("child %d did not get ready", c->pid);
}

static void go_on(struct __test_metadata *const _metadata,
		  struct kbus_child *c)
{
	char ch = 1;

	ASSERT_EQ(1, write(c->to_child, &ch, 1));
}

TEST_F(limits, self_flood_leaves_another_users_traffic_alone)
{
	struct kbus_child victim, attacker;

	kbus_spawn(_metadata, &victim, victim_traffic, NULL);
	wait_ready(_metadata, &victim);
	kbus_spawn(_metadata, &attacker, self_flood, NULL);
	wait_ready(_metadata, &attacker);
	go_on(_metadata, &victim);
	kbus_child_done(_metadata, &victim);
	go_on(_metadata, &attacker);
	kbus_child_done(_metadata, &attacker);
}

/* Slab in use, in kB, from /proc/meminfo. */
static long slab_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Slab: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

TEST_F_TIMEOUT(limits, unanswered_requests_stay_within_the_users_limit, 300)
{
	struct kbus_child attacker;
	unsigned long sent = 0;
	long before, after;
	double overhead;

	ASSERT_EQ(0, kbus_write_param(KBUS_PARAM_USER_BYTES,
				      HOSTAGE_USER_BYTES));
	/*
	 * Once for nothing: the memory freed by the refused attempts then
	 * fills what the allocator keeps of freed objects (KASAN's
	 * quarantine in a debug kernel) before the measurement as after it.
	 */
	kbus_spawn(_metadata, &attacker, hostage_requests, &sent);
	ASSERT_EQ(0, read_within(attacker.from_child, &sent, sizeof(sent),
				 120));
	wait_ready(_metadata, &attacker);
	go_on(_metadata, &attacker);
	kbus_child_done(_metadata, &attacker);

	before = slab_kb();
	ASSERT_LT(0, before);
	kbus_spawn(_metadata, &attacker, hostage_requests, &sent);
	ASSERT_EQ(0, read_within(attacker.from_child, &sent, sizeof(sent),
				 120));
	wait_ready(_metadata, &attacker);
	after = slab_kb();
	TH_LOG("%lu of %d requests held; slab grew by %ld kB, the limit is %lu kB",
	       sent, HOSTAGE_REQUESTS, after - before,
	       HOSTAGE_USER_BYTES >> 10);
	EXPECT_LT(100, sent);
	EXPECT_GT(HOSTAGE_REQUESTS, sent);
	/*
	 * What the attacker holds is charged as allocated.  A kernel that
	 * tracks every object (kmemleak, and KASAN with it in the test
	 * kernel) spends about twice as much again on its own records of
	 * them; and other tasks allocate meanwhile.
	 */
	overhead = access("/sys/kernel/debug/kmemleak", F_OK) ? 1.25 : 4;
	TH_LOG("allowed: %.2f times the limit", overhead);
	EXPECT_GT((long)(overhead * (HOSTAGE_USER_BYTES >> 10)) + 1024,
		  after - before);
	go_on(_metadata, &attacker);
	kbus_child_done(_metadata, &attacker);
}

TEST_F(limits, full_listener_of_everything_stops_no_bind)
{
	struct kbus_child victim, attacker;
	bool listen = false;

	ASSERT_EQ(0, kbus_set_opt(self->admin, KBUS_OPT_REPORT_REPLIER_BINDS,
				  1));
	kbus_spawn(_metadata, &attacker, full_listener, NULL);
	wait_ready(_metadata, &attacker);
	kbus_spawn(_metadata, &victim, victim_binds, &listen);
	kbus_child_done(_metadata, &victim);
	go_on(_metadata, &attacker);
	kbus_child_done(_metadata, &attacker);
}

TEST_F_TIMEOUT(limits, bind_flood_leaves_another_users_bind_events_alone, 300)
{
	struct kbus_child victim, attacker;
	bool listen = true;

	ASSERT_EQ(0, kbus_set_opt(self->admin, KBUS_OPT_REPORT_REPLIER_BINDS,
				  1));
	kbus_spawn(_metadata, &attacker, bind_flood, NULL);
	wait_ready(_metadata, &attacker);
	kbus_spawn(_metadata, &victim, victim_binds, &listen);
	kbus_child_done(_metadata, &victim);
	go_on(_metadata, &attacker);
	kbus_child_done(_metadata, &attacker);
}

TEST_HARNESS_MAIN
