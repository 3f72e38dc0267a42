// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - message sending, receiving, ordering and queueing tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include "common.h"

/* The entire message a recipient must read for a header it was sent. */
static struct kbus_entire_message *
expected_copy(const struct kbus_message_header *h,
	      const struct kbus_msg_id *id, __u32 from, __u32 flags,
	      size_t *len)
{
	struct kbus_entire_message *m = kbus_msg_entire(h, len);

	if (m) {
		m->header.id = *id;
		m->header.from = from;
		m->header.flags = flags;
	}
	return m;
}

static void expect_same_bytes(struct __test_metadata *const _metadata,
			      const void *got, size_t got_len,
			      const void *want, size_t want_len)
{
	const unsigned char *g = got, *w = want;
	size_t i;

	ASSERT_EQ(want_len, got_len);
	for (i = 0; i < want_len; i++) {
		if (g[i] != w[i])
			break;
	}
	EXPECT_EQ(want_len, i)
		TH_LOG("byte %zu differs: got 0x%02x, want 0x%02x", i,
		       i < want_len ? g[i] : 0, i < want_len ? w[i] : 0);
}

/* ---- Sending and receiving, pointy and entire ---- */

FIXTURE(msg) {
	bool skip;
	int sender;
	int listener;
	__u32 sender_id;
};

FIXTURE_VARIANT(msg) {
	bool entire;
};

FIXTURE_VARIANT_ADD(msg, pointy) {
	.entire = false,
};

FIXTURE_VARIANT_ADD(msg, entire) {
	.entire = true,
};

FIXTURE_SETUP(msg)
{
	self->sender = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->sender < 0) {
		self->skip = true;
		return;
	}
	self->listener = kbus_open(_metadata);
	self->sender_id = kbus_ksock_id(_metadata, self->sender);
}

FIXTURE_TEARDOWN(msg)
{
	if (self->skip)
		return;
	close(self->listener);
	close(self->sender);
}

TEST_F(msg, announcement_is_delivered_byte_exact)
{
	const __u32 lens[] = { 0, 1, 2, 3, 4, 5, 37, 4096, 65537 };
	struct kbus_entire_message *got, *want;
	struct kbus_message_header h;
	struct kbus_msg_id id;
	unsigned char *data;
	size_t i, want_len;
	ssize_t n;
	__u32 j;

	data = malloc(65537);
	ASSERT_NE(NULL, data);
	for (j = 0; j < 65537; j++)
		data[j] = j ^ (j >> 8) ^ 0x5a;
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Msg.Exact", 0));

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		kbus_msg_init(&h, "$.Msg.Exact", data, lens[i]);
		/* Passed through untouched for an announcement. */
		h.to = 0x1234;
		h.orig_from.network_id = 5;
		h.orig_from.local_id = 6;
		h.final_to.network_id = 7;
		h.final_to.local_id = 8;
		h.flags = 0xBEEF0000U;
		ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire,
					   &id));
		EXPECT_EQ(0, id.network_id);
		EXPECT_NE(0, id.serial_num);

		n = kbus_read_next(self->listener, &got);
		ASSERT_LT(0, n);
		kbus_check_entire(_metadata, got, n);
		want = expected_copy(&h, &id, self->sender_id, h.flags,
				     &want_len);
		ASSERT_NE(NULL, want);
		expect_same_bytes(_metadata, got, n, want, want_len);
		free(want);
		free(got);
	}
	kbus_expect_empty(_metadata, self->listener);
	free(data);
}

TEST_F(msg, send_without_listener_is_dropped)
{
	struct kbus_message_header h;
	struct kbus_msg_id id;

	kbus_msg_init(&h, "$.Msg.Nobody", "gone", 4);
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	EXPECT_NE(0, id.serial_num);
	kbus_expect_empty(_metadata, self->sender);
	kbus_expect_empty(_metadata, self->listener);
	/* Binding later does not bring it back. */
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Msg.Nobody", 0));
	kbus_expect_empty(_metadata, self->listener);
}

TEST_F(msg, sender_bound_to_name_receives_own_message)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->sender, "$.Msg.Echo", 0));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Msg.Echo", 0));
	kbus_msg_init(&h, "$.Msg.Echo", "me", 2);
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	got = kbus_recv(_metadata, self->sender);
	kbus_check_msg(_metadata, got, "$.Msg.Echo", "me", 2,
		       self->sender_id);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
}

TEST_F(msg, message_serials_increase_by_one)
{
	struct kbus_message_header h;
	struct kbus_msg_id id, prev, last;
	int other = kbus_open(_metadata);
	int i;

	kbus_msg_init(&h, "$.Msg.Serial", NULL, 0);
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &prev));
	for (i = 0; i < 10; i++) {
		/* Serials are per bus, whoever sends. */
		int fd = i & 1 ? other : self->sender;

		ASSERT_EQ(0, kbus_send_msg(fd, &h, variant->entire, &id));
		EXPECT_EQ(0, id.network_id);
		EXPECT_EQ(prev.serial_num + 1, id.serial_num);
		ASSERT_EQ(0, kbus_ioctl(fd, KBUS_IOC_LASTSENT, &last));
		EXPECT_EQ(id.serial_num, last.serial_num);
		prev = id;
	}
	close(other);
}

TEST_F(msg, ids_with_network_id_are_kept)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Msg.Remote", 0));
	kbus_msg_init(&h, "$.Msg.Remote", NULL, 0);
	h.id.network_id = 7;
	h.id.serial_num = 42;
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	EXPECT_EQ(7, id.network_id);
	EXPECT_EQ(42, id.serial_num);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(7, got->header.id.network_id);
	EXPECT_EQ(42, got->header.id.serial_num);
	free(got);

	/* A local message's serial is always KBUS's. */
	h.id.network_id = 0;
	h.id.serial_num = 0xFFFFFF00U;
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	EXPECT_EQ(0, id.network_id);
	EXPECT_NE(0xFFFFFF00U, id.serial_num);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
}

struct listen_args {
	const char *bind;
};

/*
 * A listener in its own process: bind, say so, then pass the one message
 * it gets back to the parent as it was read (length, then bytes).
 */
static int listener_child(void *arg, int in, int out)
{
	const struct listen_args *la = arg;
	struct kbus_entire_message *m;
	ssize_t len;
	__u32 n;
	int fd;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, la->bind, 0))
		return 2;
	if (kbus_post(out))
		return 3;
	if (kbus_wait_fd(fd, POLLIN, KBUS_WAIT_MS) < 0)
		return 4;
	len = kbus_read_next(fd, &m);
	if (len <= 0)
		return 5;
	n = len;
	if (kbus_pipe_write(out, &n, sizeof(n)) || kbus_pipe_write(out, m, n))
		return 6;
	free(m);
	/* Exactly one copy. */
	if (kbus_nextmsg(fd, &n) != 0)
		return 7;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(msg, forked_listeners_receive_byte_exact_copies, 60)
{
	static const struct listen_args args[] = {
		{ "$.Fan.Out" }, { "$.Fan.*" }, { "$.Fan.%" }, { "$.*" },
	};
	struct kbus_child kids[ARRAY_SIZE(args)];
	struct kbus_entire_message *want;
	struct kbus_message_header h;
	char data[37] = "fan out to several processes at once";
	struct kbus_msg_id id;
	size_t i, want_len;

	for (i = 0; i < ARRAY_SIZE(args); i++) {
		kbus_spawn(_metadata, &kids[i], listener_child,
			   (void *)&args[i]);
		ASSERT_EQ(0, kbus_wait(kids[i].from_child));
	}

	kbus_msg_init(&h, "$.Fan.Out", data, sizeof(data));
	h.flags = 0x00420000U;
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	want = expected_copy(&h, &id, self->sender_id, h.flags, &want_len);
	ASSERT_NE(NULL, want);

	for (i = 0; i < ARRAY_SIZE(args); i++) {
		void *got;
		__u32 n;

		ASSERT_EQ(0, kbus_pipe_read(kids[i].from_child, &n, sizeof(n)))
			TH_LOG("listener of %s sent nothing", args[i].bind);
		ASSERT_EQ(want_len, n);
		got = malloc(n);
		ASSERT_NE(NULL, got);
		ASSERT_EQ(0, kbus_pipe_read(kids[i].from_child, got, n));
		expect_same_bytes(_metadata, got, n, want, want_len);
		free(got);
		kbus_child_done(_metadata, &kids[i]);
	}
	free(want);
}

/* ---- Everything else: plain Ksocks ---- */

FIXTURE(kbus) {
	bool skip;
	int a;
	int b;
	int c;
};

FIXTURE_SETUP(kbus)
{
	self->a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->a < 0) {
		self->skip = true;
		return;
	}
	self->b = kbus_open(_metadata);
	self->c = kbus_open(_metadata);
}

FIXTURE_TEARDOWN(kbus)
{
	if (self->skip)
		return;
	close(self->c);
	close(self->b);
	close(self->a);
}

/* Pop and check the names of the messages queued on @fd, in order. */
static void expect_names(struct __test_metadata *const _metadata, int fd,
			 const char *const *names, size_t n)
{
	struct kbus_entire_message *got;
	size_t i;

	EXPECT_EQ(n, kbus_num_msgs(_metadata, fd));
	for (i = 0; i < n; i++) {
		got = kbus_recv(_metadata, fd);
		EXPECT_STREQ(names[i], kbus_msg_name(got));
		free(got);
	}
	kbus_expect_empty(_metadata, fd);
}

TEST_F(kbus, wildcards_match_by_depth)
{
	int d = kbus_open(_metadata), e = kbus_open(_metadata);
	int f = kbus_open(_metadata);
	static const char *const to_b[] = { "$.W.X", "$.W.X.Y", "$.W.X.Y.Z" };
	static const char *const to_c[] = { "$.W.X" };
	static const char *const to_d[] = { "$.W" };
	static const char *const to_e[] = {
		"$.W", "$.W.X", "$.W.X.Y", "$.WX.Y", "$.V", "$.W.X.Y.Z",
	};
	static const char *const to_f[] = { "$.W", "$.V" };
	size_t i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.W.*", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.W.%", 0));
	ASSERT_EQ(0, kbus_bind(d, "$.W", 0));
	ASSERT_EQ(0, kbus_bind(e, "$.*", 0));
	ASSERT_EQ(0, kbus_bind(f, "$.%", 0));

	for (i = 0; i < ARRAY_SIZE(to_e); i++)
		ASSERT_EQ(0, kbus_announce(self->a, to_e[i], NULL, 0, NULL));

	expect_names(_metadata, self->b, to_b, ARRAY_SIZE(to_b));
	expect_names(_metadata, self->c, to_c, ARRAY_SIZE(to_c));
	expect_names(_metadata, d, to_d, ARRAY_SIZE(to_d));
	expect_names(_metadata, e, to_e, ARRAY_SIZE(to_e));
	expect_names(_metadata, f, to_f, ARRAY_SIZE(to_f));
	kbus_expect_empty(_metadata, self->a);
	close(f);
	close(e);
	close(d);
}

#define ORDER_SENDERS	2
#define ORDER_READERS	3
#define ORDER_MSGS	200
#define ORDER_TOTAL	(ORDER_SENDERS * ORDER_MSGS)

struct order_rec {
	__u32 serial;
	__u32 sender;
	__u32 seq;
};

struct order_args {
	struct order_rec (*rec)[ORDER_TOTAL];
	__u32 index;
};

static int order_reader(void *arg, int in, int out)
{
	const struct order_args *oa = arg;
	struct kbus_entire_message *m;
	__u32 i, n;
	ssize_t len;
	int fd;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, "$.Order.*", 0))
		return 2;
	if (kbus_set_u32(fd, KBUS_IOC_MAXMSGS, 2 * ORDER_TOTAL, NULL))
		return 3;
	if (kbus_post(out))
		return 4;
	for (i = 0; i < ORDER_TOTAL; i++) {
		if (kbus_wait_fd(fd, POLLIN, KBUS_WAIT_MS) < 0)
			return 5;
		len = kbus_read_next(fd, &m);
		if (len <= 0 || m->header.data_len != 8)
			return 6;
		oa->rec[oa->index][i].serial = m->header.id.serial_num;
		memcpy(&oa->rec[oa->index][i].sender, kbus_msg_data(m), 8);
		free(m);
	}
	if (kbus_nextmsg(fd, &n) != 0)
		return 7;
	close(fd);
	return 0;
}

static int order_sender(void *arg, int in, int out)
{
	const struct order_args *oa = arg;
	char name[16];
	__u32 data[2];
	int fd;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	snprintf(name, sizeof(name), "$.Order.S%u", oa->index);
	if (kbus_post(out) || kbus_wait(in))
		return 2;
	data[0] = oa->index;
	for (data[1] = 0; data[1] < ORDER_MSGS; data[1]++) {
		if (kbus_announce(fd, name, data, sizeof(data), NULL))
			return 3;
	}
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(kbus, all_listeners_see_same_order, 120)
{
	struct kbus_child readers[ORDER_READERS], senders[ORDER_SENDERS];
	struct order_args rargs[ORDER_READERS], sargs[ORDER_SENDERS];
	struct order_rec (*rec)[ORDER_TOTAL];
	__u32 next[ORDER_SENDERS] = {};
	size_t size = sizeof(*rec) * ORDER_READERS;
	int i, j;

	rec = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rec);

	for (i = 0; i < ORDER_READERS; i++) {
		rargs[i].rec = rec;
		rargs[i].index = i;
		kbus_spawn(_metadata, &readers[i], order_reader, &rargs[i]);
		ASSERT_EQ(0, kbus_wait(readers[i].from_child));
	}
	for (i = 0; i < ORDER_SENDERS; i++) {
		sargs[i].rec = rec;
		sargs[i].index = i;
		kbus_spawn(_metadata, &senders[i], order_sender, &sargs[i]);
		ASSERT_EQ(0, kbus_wait(senders[i].from_child));
	}
	/* Let the senders race each other. */
	for (i = 0; i < ORDER_SENDERS; i++)
		ASSERT_EQ(0, kbus_post(senders[i].to_child));
	for (i = 0; i < ORDER_SENDERS; i++)
		kbus_child_done(_metadata, &senders[i]);
	for (i = 0; i < ORDER_READERS; i++)
		kbus_child_done(_metadata, &readers[i]);
	ASSERT_FALSE(_metadata->exit_code);

	/* The same sequence everywhere... */
	for (i = 1; i < ORDER_READERS; i++)
		EXPECT_EQ(0, memcmp(rec[0], rec[i], sizeof(*rec)))
			TH_LOG("reader %d saw another order than reader 0", i);
	/* ... in serial order, each sender's messages in its order. */
	for (j = 0; j < ORDER_TOTAL; j++) {
		struct order_rec *r = &rec[0][j];

		if (j)
			EXPECT_LT(rec[0][j - 1].serial, r->serial);
		ASSERT_GT(ORDER_SENDERS, r->sender);
		EXPECT_EQ(next[r->sender], r->seq);
		next[r->sender] = r->seq + 1;
	}
	for (i = 0; i < ORDER_SENDERS; i++)
		EXPECT_EQ(ORDER_MSGS, next[i]);
	munmap(rec, size);
}

TEST_F(kbus, urgent_message_jumps_the_queue)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	const char *order = "31254";
	const char *p;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Urgent", 0));
	kbus_msg_init(&h, "$.Urgent", "1", 1);
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	kbus_msg_init(&h, "$.Urgent", "2", 1);
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	kbus_msg_init(&h, "$.Urgent", "3", 1);
	h.flags = KBUS_BIT_URGENT;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	for (p = order; p < order + 3; p++) {
		got = kbus_recv(_metadata, self->b);
		EXPECT_EQ(*p, *(const char *)kbus_msg_data(got));
		free(got);
	}
	/* Two urgent messages come out newest first. */
	kbus_msg_init(&h, "$.Urgent", "4", 1);
	h.flags = KBUS_BIT_URGENT;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	kbus_msg_init(&h, "$.Urgent", "5", 1);
	h.flags = KBUS_BIT_URGENT;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	for (; *p; p++) {
		got = kbus_recv(_metadata, self->b);
		EXPECT_EQ(*p, *(const char *)kbus_msg_data(got));
		EXPECT_EQ(KBUS_BIT_URGENT, got->header.flags);
		free(got);
	}
}

TEST_F(kbus, poll_reports_pollin_only_when_queue_is_not_empty)
{
	__u32 len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Poll", 0));
	/* Writable, nothing to read. */
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->b));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Poll", NULL, 0, NULL));
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Poll", NULL, 0, NULL));
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	/* The current message does not count: the queue is empty. */
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->b));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(self->b, POLLIN, 10));
}

static int poll_child(void *arg, int in, int out)
{
	struct kbus_entire_message *m;
	__u32 serial;
	int fd, ret;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, "$.Poll.Wake", 0))
		return 2;
	if (kbus_poll_now(fd) & POLLIN)
		return 3;
	if (kbus_post(out))
		return 4;
	ret = kbus_wait_fd(fd, POLLIN, KBUS_WAIT_MS);
	if (ret < 0)
		return 5;
	if (!(ret & POLLIN))
		return 6;
	if (kbus_read_next(fd, &m) <= 0)
		return 7;
	serial = m->header.id.serial_num;
	free(m);
	if (kbus_pipe_write(out, &serial, sizeof(serial)))
		return 8;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(kbus, poll_wakes_listener_in_other_process, 30)
{
	struct kbus_child kid;
	struct kbus_msg_id id;

	kbus_spawn(_metadata, &kid, poll_child, NULL);
	ASSERT_EQ(0, kbus_wait(kid.from_child));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Poll.Wake", NULL, 0, &id));
	EXPECT_EQ(id.serial_num, kbus_child_u32(_metadata, &kid));
	kbus_child_done(_metadata, &kid);
}

TEST_F(kbus, read_only_ksock_is_never_writable)
{
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, ro);
	ASSERT_EQ(0, kbus_bind(ro, "$.ReadOnly", 0));
	EXPECT_EQ(0, kbus_poll_now(ro));
	ASSERT_EQ(0, kbus_announce(self->a, "$.ReadOnly", NULL, 0, NULL));
	EXPECT_EQ(POLLIN, kbus_poll_now(ro));
	close(ro);
}

TEST_F(kbus, nextmsg_on_empty_queue_returns_zero)
{
	__u32 len = 0xdeadbeef;

	EXPECT_EQ(0, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(0, len);
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, kbus_u32(_metadata, self->b, KBUS_IOC_LENLEFT));

	/* Also once a message has come and gone. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Empty", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Empty", NULL, 0, NULL));
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(7, 0), len);
	len = 0xdeadbeef;
	EXPECT_EQ(0, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(0, len);
	/* NEXTMSG dropped the current message. */
	EXPECT_EQ(0, kbus_u32(_metadata, self->b, KBUS_IOC_LENLEFT));
}

TEST_F(kbus, read_without_current_message_returns_zero)
{
	char buf[256];

	EXPECT_EQ(0, read(self->b, buf, sizeof(buf)));
	ASSERT_EQ(0, kbus_bind(self->b, "$.NoCurrent", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.NoCurrent", NULL, 0, NULL));
	/* Queued is not current: NEXTMSG comes first. */
	EXPECT_EQ(0, read(self->b, buf, sizeof(buf)));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	/* read() never blocks, even on an O_NONBLOCK-less file. */
	EXPECT_EQ(0, read(self->c, buf, sizeof(buf)));
}

TEST_F(kbus, partial_reads_follow_lenleft)
{
	char data[37] = "thirty-seven bytes of message data!!";
	struct kbus_entire_message *want;
	struct kbus_message_header h;
	struct kbus_msg_id id;
	size_t want_len, off;
	char buf[512];
	__u32 len;
	ssize_t n;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Partial", 0));
	kbus_msg_init(&h, "$.Partial", data, sizeof(data));
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, &id));
	want = expected_copy(&h, &id, kbus_ksock_id(_metadata, self->a), 0,
			     &want_len);
	ASSERT_NE(NULL, want);

	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	ASSERT_EQ(want_len, len);
	EXPECT_EQ(len, kbus_u32(_metadata, self->b, KBUS_IOC_LENLEFT));
	/* A zero-length read changes nothing. */
	EXPECT_EQ(0, read(self->b, buf, 0));
	EXPECT_EQ(len, kbus_u32(_metadata, self->b, KBUS_IOC_LENLEFT));

	/* Sizes that cross the header, name, data and guard boundaries. */
	for (off = 0; off < len; off += n) {
		size_t step = off < 80 ? 10 : 7;

		n = read(self->b, buf + off, step);
		ASSERT_EQ(len - off < step ? len - off : step, n);
		EXPECT_EQ(len - off - n,
			  kbus_u32(_metadata, self->b, KBUS_IOC_LENLEFT));
	}
	expect_same_bytes(_metadata, buf, off, want, want_len);
	EXPECT_EQ(0, read(self->b, buf, sizeof(buf)));
	EXPECT_EQ(0, kbus_u32(_metadata, self->b, KBUS_IOC_LENLEFT));
	free(want);
}

TEST_F(kbus, read_stops_at_end_of_current_message)
{
	char buf[1024];
	__u32 len1, len2;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Stop", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Stop", "first", 5, NULL));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Stop", "second message", 14,
				   NULL));
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len1));
	EXPECT_EQ(len1, read(self->b, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp("first", buf + KBUS_HDR_LEN + 8, 5));
	EXPECT_EQ(0, read(self->b, buf, sizeof(buf)));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len2));
	EXPECT_EQ(len1 + 8, len2);
	EXPECT_EQ(len2, read(self->b, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp("second message", buf + KBUS_HDR_LEN + 8, 14));
	EXPECT_EQ(0, read(self->b, buf, sizeof(buf)));
}

TEST_F(kbus, nextmsg_skips_rest_of_unfinished_message)
{
	struct kbus_entire_message *got;
	char buf[32];
	__u32 len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Skip", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Skip", "one", 3, NULL));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Skip", "two", 3, NULL));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Skip", "six", 3, NULL));
	EXPECT_EQ(3, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	/* The current message is not counted. */
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(sizeof(buf), read(self->b, buf, sizeof(buf)));
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(0, memcmp("two", kbus_msg_data(got), 3));
	free(got);
	/* And without reading anything. */
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(0, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(0, read(self->b, buf, sizeof(buf)));
}

TEST_F(kbus, full_listener_misses_announcement)
{
	struct kbus_msg_id id[3];
	struct kbus_entire_message *got;
	int i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full", 0));
	kbus_set_max_msgs(_metadata, self->b, 2);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kbus_announce(self->a, "$.Full", NULL, 0, &id[i]));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(3, kbus_num_msgs(_metadata, self->c));
	for (i = 0; i < 2; i++) {
		got = kbus_recv(_metadata, self->b);
		EXPECT_EQ(id[i].serial_num, got->header.id.serial_num);
		free(got);
	}
	kbus_expect_empty(_metadata, self->b);
	/* Room again. */
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full", NULL, 0, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
}

TEST_F(kbus, all_or_fail_to_full_listener_fails_ebusy)
{
	struct kbus_message_header h;
	__u32 len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Fail", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.Fail", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Fail", NULL, 0, NULL));

	kbus_msg_init(&h, "$.Full.Fail", "x", 1);
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	EXPECT_EQ(-EBUSY, kbus_send_msg(self->a, &h, false, NULL));
	/* Nobody got it, not even the listener with room. */
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	/* The sender is not left sending. */
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	EXPECT_EQ(-ENOMSG, kbus_send(self->a, NULL));

	/* With room everywhere it goes. */
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->c));
}

TEST_F(kbus, all_or_wait_to_full_listener_waits_until_resent)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id id, again, last;
	__u32 len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Wait", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.Wait", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Wait", NULL, 0, NULL));

	/* Without O_NONBLOCK, SEND would wait for room. */
	ASSERT_EQ(0, fcntl(self->a, F_SETFL, O_NONBLOCK));
	kbus_msg_init(&h, "$.Full.Wait", "wait", 4);
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	ASSERT_EQ(0, kbus_write_msg(self->a, &h, false));
	ASSERT_EQ(-EAGAIN, kbus_send(self->a, &id));
	/* The message has its id already. */
	EXPECT_EQ(0, id.network_id);
	EXPECT_NE(0, id.serial_num);
	ASSERT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_LASTSENT, &last));
	EXPECT_EQ(id.serial_num, last.serial_num);
	/* Still sending: not writable (poll tried again), write() refuses. */
	EXPECT_EQ(0, kbus_poll_now(self->a));
	EXPECT_EQ(-EALREADY, kbus_write_msg(self->a, &h, false));
	EXPECT_EQ(-EALREADY, kbus_write(self->a, "x", 1));
	/* Nobody has it yet. */
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));

	/* Trying again while still full changes nothing. */
	ASSERT_EQ(-EAGAIN, kbus_send(self->a, &again));
	EXPECT_EQ(id.serial_num, again.serial_num);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));

	/* Make room; the retry goes to everyone, once, with the same id. */
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	ASSERT_EQ(0, kbus_send(self->a, &again));
	EXPECT_EQ(id.serial_num, again.serial_num);
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	kbus_check_msg(_metadata, got, "$.Full.Wait", "wait", 4,
		       kbus_ksock_id(_metadata, self->a));
	free(got);
	kbus_expect_empty(_metadata, self->b);
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->c));

	/* And the Ksock writes again. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->a, NULL));
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
}

TEST_F(kbus, discard_ends_all_or_wait_send)
{
	struct kbus_message_header h;
	__u32 len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Discard", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.Discard", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Discard", NULL, 0, NULL));

	ASSERT_EQ(0, fcntl(self->a, F_SETFL, O_NONBLOCK));
	kbus_msg_init(&h, "$.Full.Discard", "never", 5);
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	ASSERT_EQ(-EAGAIN, kbus_send_msg(self->a, &h, true, NULL));
	EXPECT_EQ(-EALREADY, kbus_write_msg(self->a, &h, false));
	EXPECT_EQ(0, kbus_discard(self->a));
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	EXPECT_EQ(-ENOMSG, kbus_send(self->a, NULL));

	/* The discarded message never arrives anywhere. */
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	/* The next message goes normally. */
	h.flags = 0;
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->c));
}

/* A sender whose ALL_OR_WAIT send is waiting: poll until it has gone. */
static int waiting_sender(void *arg, int in, int out)
{
	struct kbus_message_header h;
	struct kbus_msg_id id;
	int fd, ret;

	fd = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 1;
	kbus_msg_init(&h, "$.Full.Poll", "late", 4);
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	if (kbus_send_msg(fd, &h, false, &id) != -EAGAIN)
		return 2;
	if (kbus_pipe_write(out, &id.serial_num, sizeof(id.serial_num)))
		return 3;
	ret = kbus_wait_fd(fd, POLLOUT, KBUS_WAIT_MS);
	if (ret < 0)
		return 4;
	if (!(ret & POLLOUT))
		return 5;
	/* poll() sent it: nothing is left to send. */
	if (kbus_send(fd, NULL) != -ENOMSG)
		return 6;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(kbus, poll_finishes_waiting_send_when_room_appears, 60)
{
	struct kbus_entire_message *got;
	struct kbus_child kid;
	__u32 serial, len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Poll", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Poll", NULL, 0, NULL));

	kbus_spawn(_metadata, &kid, waiting_sender, NULL);
	serial = kbus_child_u32(_metadata, &kid);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));

	/* Making room wakes the sender's poll, which sends. */
	ASSERT_EQ(1, kbus_nextmsg(self->b, &len));
	kbus_child_done(_metadata, &kid);
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(serial, got->header.id.serial_num);
	kbus_check_msg(_metadata, got, "$.Full.Poll", "late", 4,
		       got->header.from);
	EXPECT_NE(0, got->header.from);
	free(got);
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, lowering_maxmsgs_keeps_queued_messages)
{
	int i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Lower", 0));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, kbus_announce(self->a, "$.Lower", NULL, 0, NULL));
	kbus_set_max_msgs(_metadata, self->b, 2);
	EXPECT_EQ(5, kbus_num_msgs(_metadata, self->b));
	/* Over the limit: announcements skip it. */
	ASSERT_EQ(0, kbus_announce(self->a, "$.Lower", NULL, 0, NULL));
	EXPECT_EQ(5, kbus_num_msgs(_metadata, self->b));
}

TEST_F(kbus, newdevice_creates_independent_bus)
{
	struct kbus_entire_message *got;
	struct kbus_msg_id id;
	char path[64];
	__u32 bus = 0xdeadbeef, replier;
	int x, y, ret;

	ret = kbus_get_u32(self->a, KBUS_IOC_NEWDEVICE, &bus);
	if (ret == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	ASSERT_NE(0, bus);
	ASSERT_GT(256, bus);

	snprintf(path, sizeof(path), "/sys/class/kbus/kbus%u", bus);
	EXPECT_EQ(0, access(path, F_OK))
		TH_LOG("no %s", path);
	snprintf(path, sizeof(path), "/dev/kbus%u", bus);
	x = open(path, O_RDWR | O_CLOEXEC);
	if (x < 0 && errno == ENOENT)
		SKIP(return, "%s did not appear (no devtmpfs on /dev?)", path);
	ASSERT_LE(0, x);
	y = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, y);

	/* Ids and serials start afresh. */
	EXPECT_EQ(1, kbus_ksock_id(_metadata, x));
	EXPECT_EQ(2, kbus_ksock_id(_metadata, y));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Indep", 0));
	ASSERT_EQ(0, kbus_bind(y, "$.Indep", 0));
	ASSERT_EQ(0, kbus_announce(x, "$.Indep", "new", 3, &id));
	EXPECT_EQ(0, id.network_id);
	EXPECT_EQ(1, id.serial_num);

	/* Bindings are per bus. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Indep.Ask", 1));
	EXPECT_EQ(0, kbus_replier(x, "$.Indep.Ask", &replier));
	EXPECT_EQ(0, replier);
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(x, "$.Indep.Ask", NULL, 0, 0,
					       NULL));
	EXPECT_EQ(0, kbus_bind(x, "$.Indep.Ask", 1));

	got = kbus_recv(_metadata, y);
	kbus_check_msg(_metadata, got, "$.Indep", "new", 3, 1);
	free(got);
	kbus_expect_empty(_metadata, self->b);

	ASSERT_EQ(0, kbus_announce(self->a, "$.Indep", "old", 3, NULL));
	got = kbus_recv(_metadata, self->b);
	kbus_check_msg(_metadata, got, "$.Indep", "old", 3,
		       kbus_ksock_id(_metadata, self->a));
	free(got);
	kbus_expect_empty(_metadata, y);
	close(y);
	close(x);
}

TEST_HARNESS_MAIN
