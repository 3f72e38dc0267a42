// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - SENDRECV: a send and a receive in one call
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * SENDRECV is a SENDMSG and then a RECVMSG.  These tests check what the
 * two together promise beyond each of them: both arguments checked before
 * anything is sent, the send's id telling which of the two an error came
 * from, and no restart once the message is sent.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sys/time.h>

#include "common.h"

/* Room for any small message. */
#define RT_BUF		4096

/* The id SENDMSG never gives: what the send's id field holds before. */
static const struct kbus_msg_id rt_no_id;

struct rt_call {
	struct kbus_message_header h;
	struct kbus_send s;
	struct kbus_recv r;
	struct kbus_sendrecv sr;
	char buf[RT_BUF];
};

/*
 * Set up @c to send a message named @name with @data_len bytes of @data
 * and header flags @hflags, then receive into its buffer with @rflags.
 */
static void rt_init(struct rt_call *c, const char *name, const void *data,
		    __u32 data_len, __u32 hflags, __u32 rflags)
{
	memset(c, 0, sizeof(*c));
	kbus_msg_init(&c->h, name, data, data_len);
	c->h.flags = hflags;
	c->s.size = sizeof(c->s);
	c->s.msg_ptr = (uintptr_t)&c->h;
	c->s.msg_len = sizeof(c->h);
	c->r.size = sizeof(c->r);
	c->r.flags = rflags;
	c->r.buf_ptr = (uintptr_t)c->buf;
	c->r.buf_len = sizeof(c->buf);
	c->sr.size = sizeof(c->sr);
	c->sr.send_ptr = (uintptr_t)&c->s;
	c->sr.recv_ptr = (uintptr_t)&c->r;
}

static int rt_call(int fd, struct rt_call *c)
{
	return kbus_ioctl(fd, KBUS_IOC_SENDRECV, &c->sr);
}

static bool rt_id_set(const struct kbus_msg_id *id)
{
	return id->network_id || id->serial_num;
}

static bool rt_id_eq(const struct kbus_msg_id *a, const struct kbus_msg_id *b)
{
	return a->network_id == b->network_id && a->serial_num == b->serial_num;
}

static const struct kbus_entire_message *rt_msg(const struct rt_call *c)
{
	return (const struct kbus_entire_message *)c->buf;
}

/* ---- The replier child ---- */

#define RT_NAME		"$.RoundTrip.Echo"
#define RT_DONE		"$.RoundTrip.Done"

/*
 * Child: the replier of RT_NAME, answering each request with its data
 * plus one, in one SENDRECV per request after the first RECVMSG; it ends
 * when it receives RT_DONE.  Exit status: 0, or the step that failed.
 */
static int rt_replier(void *arg, int in, int out)
{
	const struct kbus_entire_message *req;
	struct rt_call c;
	__u32 val;
	int fd, ret;

	(void)arg;
	(void)in;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, RT_NAME, true) || kbus_bind(fd, RT_DONE, false))
		return 2;
	if (kbus_post(out))
		return 3;
	rt_init(&c, RT_NAME, &val, sizeof(val), 0, 0);
	if (kbus_recvmsg(fd, c.buf, sizeof(c.buf), 0, NULL))
		return 4;
	for (;;) {
		req = rt_msg(&c);
		if (!strcmp(kbus_msg_name(req), RT_DONE))
			return 0;
		if (!(req->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY))
			return 5;
		memcpy(&val, kbus_msg_data(req), sizeof(val));
		val++;
		c.h.in_reply_to = req->header.id;
		c.h.to = req->header.from;
		c.s.id = rt_no_id;
		c.r.msg_len = 0;
		ret = rt_call(fd, &c);
		if (ret)
			return 6;
	}
}

/*
 * A request answered with one call on each side: the requester sends and
 * waits for the reply, the replier replies and waits for the next
 * request.  Each reply answers the request sent by the same call, and
 * carries the replier's credentials when asked.
 */
TEST(requester_and_replier_each_make_one_call_per_round_trip)
{
	const struct kbus_entire_message *rep;
	struct kbus_child ch;
	struct rt_call c;
	__u32 val, i;
	int fd = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);

	if (fd < 0)
		return;
	kbus_spawn(_metadata, &ch, rt_replier, NULL);
	ASSERT_EQ(0, kbus_wait(ch.from_child));
	for (i = 0; i < 100; i++) {
		val = i * 7;
		rt_init(&c, RT_NAME, &val, sizeof(val), KBUS_BIT_WANT_A_REPLY,
			KBUS_RECV_CREDS);
		ASSERT_EQ(0, rt_call(fd, &c)) TH_LOG("round trip %u", i);
		ASSERT_TRUE(rt_id_set(&c.s.id));
		rep = rt_msg(&c);
		kbus_check_entire(_metadata, rep,
				  c.r.msg_len);
		EXPECT_TRUE(rt_id_eq(&c.s.id, &rep->header.in_reply_to));
		EXPECT_EQ(0U, rep->header.flags & KBUS_BIT_SYNTHETIC);
		EXPECT_STREQ(RT_NAME, kbus_msg_name(rep));
		ASSERT_EQ(sizeof(val), rep->header.data_len);
		memcpy(&val, kbus_msg_data(rep), sizeof(val));
		EXPECT_EQ(i * 7 + 1, val);
		EXPECT_EQ(ch.pid, c.r.pid);
		EXPECT_EQ(getuid(), c.r.uid);
	}
	ASSERT_EQ(0, kbus_announce(fd, RT_DONE, NULL, 0, NULL));
	kbus_child_done(_metadata, &ch);
	kbus_expect_empty(_metadata, fd);
	close(fd);
}

FIXTURE(roundtrip) {
	bool skip;
	int a;
	int b;
};

FIXTURE_SETUP(roundtrip)
{
	self->a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->a < 0) {
		self->skip = true;
		return;
	}
	self->b = kbus_open(_metadata);
}

FIXTURE_TEARDOWN(roundtrip)
{
	if (self->skip)
		return;
	close(self->b);
	close(self->a);
}

/*
 * With nothing to receive, a nonblocking receive fails with EAGAIN after
 * the send: the id is set, and the message was delivered.  The other side
 * does the same with the reply.
 */
TEST_F(roundtrip, eagain_of_the_receive_comes_after_the_send)
{
	static const char name[] = "$.RoundTrip.Again";
	struct kbus_entire_message *m;
	struct rt_call c;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, true));
	rt_init(&c, name, "ping", 4, KBUS_BIT_WANT_A_REPLY, KBUS_RECV_NONBLOCK);
	EXPECT_EQ(-EAGAIN, rt_call(self->a, &c));
	ASSERT_TRUE(rt_id_set(&c.s.id));
	EXPECT_EQ(0U, c.r.msg_len);

	m = kbus_recv(_metadata, self->b);
	EXPECT_STREQ(name, kbus_msg_name(m));
	EXPECT_TRUE(rt_id_eq(&c.s.id, &m->header.id));
	EXPECT_NE(0U, m->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY);

	/* The reply, and a receive that does not wait: O_NONBLOCK too. */
	rt_init(&c, name, "pong", 4, 0, 0);
	c.h.in_reply_to = m->header.id;
	c.h.to = m->header.from;
	free(m);
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, rt_call(self->b, &c));
	ASSERT_TRUE(rt_id_set(&c.s.id));
	EXPECT_EQ(0U, kbus_unreplied(_metadata, self->b));

	m = kbus_recv(_metadata, self->a);
	EXPECT_TRUE(rt_id_eq(&c.s.id, &m->header.id));
	EXPECT_EQ(0, memcmp("pong", kbus_msg_data(m), 4));
	free(m);
}

/*
 * A message already queued is received at once, in delivery order: the
 * call's own message goes after it, whatever it is.
 */
TEST_F(roundtrip, a_message_already_queued_is_received_first)
{
	static const char name[] = "$.RoundTrip.Queued";
	struct rt_call c;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->a, name, false));
	ASSERT_EQ(0, kbus_announce(self->b, name, "one", 3, NULL));
	/* a listens to its own name: its send queues a copy for itself. */
	rt_init(&c, name, "two", 3, 0, 0);
	ASSERT_EQ(0, rt_call(self->a, &c));
	EXPECT_EQ(0, memcmp("one", kbus_msg_data(rt_msg(&c)), 3));
	rt_init(&c, name, "three", 5, 0, 0);
	ASSERT_EQ(0, rt_call(self->a, &c));
	EXPECT_EQ(0, memcmp("two", kbus_msg_data(rt_msg(&c)), 3));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->a));
}

/*
 * EMSGSIZE from the receive: the message sent is delivered, the one that
 * does not fit stays queued and its length is told.
 */
TEST_F(roundtrip, emsgsize_of_the_receive_leaves_the_message_queued)
{
	static const char name[] = "$.RoundTrip.Big";
	static const char other[] = "$.RoundTrip.Other";
	struct kbus_entire_message *m;
	struct rt_call c;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->a, name, false));
	ASSERT_EQ(0, kbus_bind(self->b, other, false));
	ASSERT_EQ(0, kbus_announce(self->b, name, "0123456789", 10, NULL));
	rt_init(&c, other, "x", 1, 0, 0);
	c.r.buf_len = KBUS_ENTIRE_MSG_LEN(strlen(name), 10) - 1;
	EXPECT_EQ(-EMSGSIZE, rt_call(self->a, &c));
	ASSERT_TRUE(rt_id_set(&c.s.id));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(strlen(name), 10), c.r.msg_len);
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->a));
	m = kbus_recv(_metadata, self->b);
	EXPECT_TRUE(rt_id_eq(&c.s.id, &m->header.id));
	free(m);
	m = kbus_recv(_metadata, self->a);
	EXPECT_EQ(0, memcmp("0123456789", kbus_msg_data(m), 10));
	free(m);
}

/* Whether the listener @fd has a message queued; it is then received. */
static bool rt_got_one(struct __test_metadata *const _metadata, int fd)
{
	__u32 n = kbus_num_msgs(_metadata, fd);

	if (n)
		free(kbus_recv(_metadata, fd));
	return n;
}

/*
 * The argument struct of SENDRECV itself: its size, flags and address.
 * None of these sends anything.
 */
TEST_F(roundtrip, argument_edges_send_nothing)
{
	static const char name[] = "$.RoundTrip.Edges";
	static union {
		struct kbus_sendrecv sr;
		unsigned char raw[8192];
	} big;
	struct kbus_sendrecv *bad;
	struct rt_call c;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	rt_init(&c, name, NULL, 0, 0, KBUS_RECV_NONBLOCK);

	c.sr.size = 0;
	EXPECT_EQ(-EINVAL, rt_call(self->a, &c));
	c.sr.size = sizeof(c.sr) - 1;
	EXPECT_EQ(-EINVAL, rt_call(self->a, &c));
	c.sr.size = sizeof(c.sr);
	c.sr.flags = 1;
	EXPECT_EQ(-EINVAL, rt_call(self->a, &c));
	c.sr.flags = 0;
	EXPECT_FALSE(rt_got_one(_metadata, self->b));

	/* A larger struct: zero past the known part, or E2BIG. */
	big.sr = c.sr;
	big.sr.size = sizeof(big.sr) + 8;
	big.raw[sizeof(big.sr) + 4] = 1;
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->a, KBUS_IOC_SENDRECV, &big));
	big.sr.size = sizeof(big.raw);
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->a, KBUS_IOC_SENDRECV, &big));
	EXPECT_FALSE(rt_got_one(_metadata, self->b));
	big.raw[sizeof(big.sr) + 4] = 0;
	big.sr.size = sizeof(big.sr) + 8;
	EXPECT_EQ(-EAGAIN, kbus_ioctl(self->a, KBUS_IOC_SENDRECV, &big));
	EXPECT_TRUE(rt_got_one(_metadata, self->b));

	/* The struct itself at an address that cannot be read. */
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->a, KBUS_IOC_SENDRECV, bad));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->a, KBUS_IOC_SENDRECV, NULL));

	/* Either inner struct at an address that cannot be read. */
	rt_init(&c, name, NULL, 0, 0, KBUS_RECV_NONBLOCK);
	c.sr.send_ptr = (uintptr_t)bad;
	EXPECT_EQ(-EFAULT, rt_call(self->a, &c));
	rt_init(&c, name, NULL, 0, 0, KBUS_RECV_NONBLOCK);
	c.sr.recv_ptr = (uintptr_t)bad;
	EXPECT_EQ(-EFAULT, rt_call(self->a, &c));
	EXPECT_FALSE(rt_id_set(&c.s.id));
	EXPECT_FALSE(rt_got_one(_metadata, self->b));
	munmap(bad, 4096);
}

/*
 * The receive's struct is checked before the send: each error RECVMSG
 * would give for it, with nothing sent.
 */
TEST_F(roundtrip, a_bad_receive_argument_sends_nothing)
{
	static const char name[] = "$.RoundTrip.BadRecv";
	struct rt_call c;
	int i;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	for (i = 0; i < 7; i++) {
		rt_init(&c, name, NULL, 0, 0, KBUS_RECV_NONBLOCK);
		switch (i) {
		case 0:
			c.r.flags |= 1U << 31;
			break;
		case 1:
			c.r.__reserved = 1;
			break;
		case 2:
			c.r.msg_len = 1;
			break;
		case 3:
			c.r.pid = 1;
			break;
		case 4:
			c.r.size = 8;
			break;
		case 5:
			c.r.uid = 1;
			break;
		case 6:
			c.r.gid = 1;
			break;
		}
		EXPECT_EQ(-EINVAL, rt_call(self->a, &c)) TH_LOG("case %d", i);
		EXPECT_FALSE(rt_id_set(&c.s.id)) TH_LOG("case %d", i);
		EXPECT_FALSE(rt_got_one(_metadata, self->b))
			TH_LOG("case %d sent its message", i);
	}
}

/*
 * An error of the send: nothing is received (a message queued for the
 * caller stays queued, the receive's struct is not written) and the id
 * stays 0.
 */
TEST_F(roundtrip, an_error_of_the_send_receives_nothing)
{
	static const char name[] = "$.RoundTrip.BadSend";
	static const int want[] = {
		EPERM, EINVAL, EINVAL, EADDRNOTAVAIL, ECONNREFUSED,
	};
	struct rt_call c;
	unsigned int i;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->a, name, false));
	ASSERT_EQ(0, kbus_announce(self->b, name, "q", 1, NULL));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		rt_init(&c, name, NULL, 0, 0, 0);
		switch (i) {
		case 0:
			/* Only KBUS sends $.KBUS names. */
			kbus_msg_init(&c.h, "$.KBUS.Fake", NULL, 0);
			break;
		case 1:
			c.s.flags = 1U << 31;
			break;
		case 2:
			c.h.start_guard = 0;
			break;
		case 3:
			/* A request with no replier bound. */
			c.h.flags = KBUS_BIT_WANT_A_REPLY;
			break;
		case 4:
			/* A reply to no request. */
			c.h.in_reply_to.serial_num = 1;
			c.h.to = kbus_ksock_id(_metadata, self->b);
			break;
		}
		EXPECT_EQ(-want[i], rt_call(self->a, &c)) TH_LOG("case %u", i);
		EXPECT_FALSE(rt_id_set(&c.s.id)) TH_LOG("case %u", i);
		EXPECT_EQ(0U, c.r.msg_len) TH_LOG("case %u", i);
		EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->a))
			TH_LOG("case %u", i);
	}
	free(kbus_recv(_metadata, self->a));
}

/*
 * SENDRECV needs a file open for writing (the send) and for reading (the
 * receive), whatever it sends: EBADF, with nothing sent.
 */
TEST_F(roundtrip, needs_a_file_open_for_reading_and_writing)
{
	static const char name[] = "$.RoundTrip.Mode";
	static const int modes[] = { O_RDONLY, O_WRONLY };
	struct rt_call c;
	unsigned int i;
	int fd;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		fd = kbus_open_path(_metadata, KBUS_DEV0, modes[i]);
		ASSERT_LE(0, fd);
		rt_init(&c, name, NULL, 0, 0, KBUS_RECV_NONBLOCK);
		EXPECT_EQ(-EBADF, rt_call(fd, &c)) TH_LOG("mode %d", modes[i]);
		EXPECT_FALSE(rt_id_set(&c.s.id));
		EXPECT_FALSE(rt_got_one(_metadata, self->b))
			TH_LOG("mode %d sent its message", modes[i]);
		close(fd);
	}
}

static volatile sig_atomic_t rt_alarms;

static void rt_count_alarm(int sig)
{
	(void)sig;
	rt_alarms++;
}

/*
 * A signal while the receive waits ends the call with EINTR even when its
 * handler asks for SA_RESTART: a restart would send the message again.
 * The message was sent once, and the id says so.
 */
TEST_F_TIMEOUT(roundtrip, a_signal_after_the_send_gives_eintr_not_a_restart, 30)
{
	static const char name[] = "$.RoundTrip.Intr";
	/* Again every 200 ms, in case the first comes before the call. */
	struct itimerval it = {
		.it_value = { .tv_usec = 200000 },
		.it_interval = { .tv_usec = 200000 },
	};
	struct itimerval off = {};
	struct sigaction sa, old;
	struct kbus_entire_message *m;
	struct rt_call c;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rt_count_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, &old));

	rt_alarms = 0;
	rt_init(&c, name, "once", 4, 0, 0);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, rt_call(self->a, &c));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
	EXPECT_LE(1, rt_alarms);
	ASSERT_EQ(0, sigaction(SIGALRM, &old, NULL));
	ASSERT_TRUE(rt_id_set(&c.s.id));

	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b))
		TH_LOG("the message was not sent once");
	m = kbus_recv(_metadata, self->b);
	EXPECT_TRUE(rt_id_eq(&c.s.id, &m->header.id));
	free(m);
	kbus_expect_empty(_metadata, self->a);
}

/*
 * A receive buffer that cannot be written is the receive's EFAULT, after
 * the send: the id is set and the message that did not fit stays queued.
 */
TEST_F(roundtrip, efault_of_the_receive_buffer_comes_after_the_send)
{
	static const char name[] = "$.RoundTrip.BadBuf";
	static const char other[] = "$.RoundTrip.BadBufOther";
	struct rt_call c;
	void *ro;

	if (self->skip)
		return;
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, kbus_bind(self->a, name, false));
	ASSERT_EQ(0, kbus_bind(self->b, other, false));
	ASSERT_EQ(0, kbus_announce(self->b, name, "kept", 4, NULL));
	rt_init(&c, other, NULL, 0, 0, 0);
	c.r.buf_ptr = (uintptr_t)ro;
	EXPECT_EQ(-EFAULT, rt_call(self->a, &c));
	EXPECT_TRUE(rt_id_set(&c.s.id));
	EXPECT_TRUE(rt_got_one(_metadata, self->b));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->a));
	free(kbus_recv(_metadata, self->a));
	munmap(ro, 4096);
}

/*
 * A receive struct that can be read but not written (its answer could
 * not be given) fails with EFAULT before anything is sent.
 */
TEST_F(roundtrip, a_read_only_receive_struct_sends_nothing)
{
	static const char name[] = "$.RoundTrip.RoRecv";
	struct kbus_recv *r;
	struct rt_call c;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	r = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	rt_init(&c, name, NULL, 0, 0, KBUS_RECV_NONBLOCK);
	*r = c.r;
	ASSERT_EQ(0, mprotect(r, 4096, PROT_READ));
	c.sr.recv_ptr = (uintptr_t)r;
	EXPECT_EQ(-EFAULT, rt_call(self->a, &c));
	EXPECT_FALSE(rt_id_set(&c.s.id));
	EXPECT_FALSE(rt_got_one(_metadata, self->b));
	munmap(r, 4096);
}

/* A thread making one SENDRECV of @name with ALL_OR_WAIT. */
struct rt_waiter {
	pthread_t thread;
	int fd;
	const char *name;
	struct rt_call c;
	int pipe[2];
	pid_t tid;
	int ret;
};

static void *rt_waiter_main(void *arg)
{
	struct rt_waiter *w = arg;

	w->tid = syscall(SYS_gettid);
	rt_init(&w->c, w->name, NULL, 0, KBUS_BIT_ALL_OR_WAIT, 0);
	if (kbus_post(w->pipe[1]))
		return NULL;
	w->ret = rt_call(w->fd, &w->c);
	kbus_post(w->pipe[1]);
	return NULL;
}

/*
 * CANCEL makes a SENDRECV waiting for room fail with ECANCELED, the id 0:
 * nothing sent, nothing received.
 */
TEST_F_TIMEOUT(roundtrip, cancel_ends_a_sendrecv_waiting_for_room, 30)
{
	static const char name[] = "$.RoundTrip.Cancel";
	struct rt_waiter w = { .name = name };
	char path[64];

	if (self->skip)
		return;
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	ASSERT_EQ(0, kbus_announce(self->a, name, NULL, 0, NULL));
	w.fd = self->a;
	ASSERT_EQ(0, pipe(w.pipe));
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, rt_waiter_main, &w));
	ASSERT_EQ(0, kbus_wait(w.pipe[0]));
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", w.tid);
	ASSERT_EQ(0, kbus_wait_task_state(path, 'S'));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(w.pipe[0], POLLIN, 100))
		TH_LOG("the call returned when it should wait");
	ASSERT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_CANCEL, NULL));
	ASSERT_EQ(0, kbus_wait(w.pipe[0]))
		TH_LOG("CANCEL did not end the waiting call");
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(-ECANCELED, w.ret);
	EXPECT_FALSE(rt_id_set(&w.c.s.id));
	EXPECT_EQ(0U, w.c.r.msg_len);
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	close(w.pipe[0]);
	close(w.pipe[1]);
}

/* ---- SIGKILL of a blocked SENDRECV ---- */

/* Child: a SENDRECV of an announcement of @arg; reports if it returns. */
static int rt_blocked(void *arg, int in, int out)
{
	const char *name = arg;
	struct rt_call c;
	int fd, ret;

	(void)in;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	rt_init(&c, name, NULL, 0, KBUS_BIT_ALL_OR_WAIT, 0);
	if (kbus_post(out))
		return 2;
	ret = rt_call(fd, &c);
	kbus_pipe_write(out, &ret, sizeof(ret));
	return 3;
}

/* Blocked in the receive, after the send. */
TEST_F_TIMEOUT(roundtrip, sigkill_ends_a_sendrecv_waiting_to_receive, 30)
{
	static const char name[] = "$.RoundTrip.KillRecv";
	struct kbus_child ch;

	if (self->skip)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	kbus_spawn(_metadata, &ch, rt_blocked, (void *)name);
	kbus_child_kill_blocked(_metadata, &ch);
	EXPECT_TRUE(rt_got_one(_metadata, self->b));
}

/* Blocked in the send, waiting for room: nothing of it is left. */
TEST_F_TIMEOUT(roundtrip, sigkill_ends_a_sendrecv_waiting_for_room, 30)
{
	static const char name[] = "$.RoundTrip.KillSend";
	struct kbus_child ch;

	if (self->skip)
		return;
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	ASSERT_EQ(0, kbus_announce(self->a, name, NULL, 0, NULL));
	kbus_spawn(_metadata, &ch, rt_blocked, (void *)name);
	kbus_child_kill_blocked(_metadata, &ch);
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	EXPECT_TRUE(rt_got_one(_metadata, self->b));
	EXPECT_FALSE(rt_got_one(_metadata, self->b));
}

TEST_HARNESS_MAIN
