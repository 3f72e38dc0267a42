// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - message sending, receiving, ordering and queueing tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <sys/uio.h>

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

/* SENDMSG of a pointy header with KBUS_SEND_* @sflags. */
static int send_hdr(int fd, const struct kbus_message_header *h, __u32 sflags,
		    struct kbus_msg_id *id)
{
	return kbus_sendmsg(fd, h, sizeof(*h), sflags, id);
}

/* A read() or write() style call must fail with exactly @err. */
#define EXPECT_ERRNO(err, call) do {					\
	long _ee_ret;							\
	int _ee_err;							\
									\
	errno = 0;							\
	_ee_ret = (long)(call);						\
	_ee_err = errno;						\
	EXPECT_EQ(-1, _ee_ret)						\
		TH_LOG("%s", #call);					\
	EXPECT_EQ(err, _ee_err)						\
		TH_LOG("%s: %s", #call, strerror(_ee_err));		\
} while (0)

/* ---- Sending and receiving, pointy and entire ---- */

FIXTURE(msg) {
	bool skip;
	int sender;
	int listener;
	__u32 sender_id;
	__u64 saved_max_size;	/* bus maximum to put back, 0 if unchanged */
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
	/* Bus-wide: leave it as the other tests expect it. */
	if (self->saved_max_size)
		EXPECT_EQ(0, kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE,
					  self->saved_max_size));
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
	/* Nobody missed it for lack of room either. */
	EXPECT_EQ(0, kbus_dropped(_metadata, self->listener));
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
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id id[11];
	int other = kbus_open(_metadata);
	int i;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Msg.Serial", 0));
	kbus_msg_init(&h, "$.Msg.Serial", NULL, 0);
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id[0]));
	for (i = 1; i < 11; i++) {
		/* Serials are per bus, whoever sends. */
		int fd = i & 1 ? other : self->sender;

		ASSERT_EQ(0, kbus_send_msg(fd, &h, variant->entire, &id[i]));
		EXPECT_EQ(0, id[i].network_id);
		EXPECT_EQ(id[i - 1].serial_num + 1, id[i].serial_num);
	}
	/* The ids SENDMSG reported are the ones the messages carry. */
	for (i = 0; i < 11; i++) {
		got = kbus_recv(_metadata, self->listener);
		EXPECT_EQ(0, got->header.id.network_id);
		EXPECT_EQ(id[i].serial_num, got->header.id.serial_num);
		free(got);
	}
	kbus_expect_empty(_metadata, self->listener);
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

TEST_F(msg, kbus_flags_are_cleared_on_send_and_user_flags_kept)
{
	const __u32 spoof = KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_YOU_TO_REPLY;
	const __u32 user[] = { 0xFFFF0000U, 0xA5A50000U, 0x00010000U,
			       0x80000000U };
	struct kbus_entire_message *got, *req;
	struct kbus_message_header h;
	int replier = kbus_open(_metadata);
	__u32 replier_id = kbus_ksock_id(_metadata, replier);
	struct kbus_msg_id id;
	size_t i;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Msg.Flags.*", 0));
	ASSERT_EQ(0, kbus_bind(replier, "$.Msg.Flags.Ask", 1));

	/* An announcement: the user's half untouched, URGENT kept. */
	for (i = 0; i < ARRAY_SIZE(user); i++) {
		kbus_msg_init(&h, "$.Msg.Flags.Tell", NULL, 0);
		h.flags = user[i] | spoof | KBUS_BIT_URGENT;
		ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire,
					   NULL));
		got = kbus_recv(_metadata, self->listener);
		EXPECT_EQ(user[i] | KBUS_BIT_URGENT, got->header.flags)
			TH_LOG("sent with flags 0x%x", h.flags);
		free(got);
	}

	/* A request: only the replier's copy says "you reply". */
	kbus_msg_init(&h, "$.Msg.Flags.Ask", "q", 1);
	h.flags = 0x5A5A0000U | KBUS_BIT_WANT_A_REPLY | spoof;
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	req = kbus_recv(_metadata, replier);
	EXPECT_EQ(0x5A5A0000U | KBUS_BIT_WANT_A_REPLY |
		  KBUS_BIT_WANT_YOU_TO_REPLY, req->header.flags);
	EXPECT_EQ(id.serial_num, req->header.id.serial_num);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(0x5A5A0000U | KBUS_BIT_WANT_A_REPLY, got->header.flags);
	free(got);

	/* The reply: nobody can make it look synthetic. */
	kbus_msg_init(&h, "$.Msg.Flags.Ask", "a", 1);
	h.in_reply_to = req->header.id;
	h.to = req->header.from;
	h.flags = 0x00010000U | spoof;
	ASSERT_EQ(0, kbus_send_msg(replier, &h, variant->entire, NULL));
	got = kbus_recv(_metadata, self->sender);
	EXPECT_EQ(0x00010000U, got->header.flags);
	EXPECT_EQ(replier_id, got->header.from);
	EXPECT_EQ(id.serial_num, got->header.in_reply_to.serial_num);
	free(got);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(0x00010000U, got->header.flags);
	free(got);
	kbus_expect_empty(_metadata, self->listener);
	free(req);
	close(replier);
}

/* ---- Header checks ---- */

static char bad_header_data[8] = "payload";
static char long_name[KBUS_MAX_NAME_LEN + 2];
static __u32 bus_max_size;	/* the bus's maximum, read by the test */

static void spoil_start_guard(struct kbus_message_header *h)
{
	h->start_guard = KBUS_MSG_END_GUARD;
}

static void spoil_end_guard(struct kbus_message_header *h)
{
	h->end_guard = KBUS_MSG_START_GUARD;
}

static void spoil_extra(struct kbus_message_header *h)
{
	h->extra = 1;
}

static void spoil_reserved0(struct kbus_message_header *h)
{
	h->__reserved0 = 0x80000000U;
}

static void spoil_reserved1(struct kbus_message_header *h)
{
	h->__reserved1 = 1;
}

static void spoil_unknown_and_user_flag(struct kbus_message_header *h)
{
	h->flags = 0x00010000U | (1U << 15);
}

static void spoil_name_len_zero(struct kbus_message_header *h)
{
	h->name_len = 0;
}

static void spoil_name_len_over_max(struct kbus_message_header *h)
{
	if (h->name)
		h->name = (uintptr_t)long_name;
	h->name_len = KBUS_MAX_NAME_LEN + 1;
}

static void spoil_name_len_huge(struct kbus_message_header *h)
{
	h->name_len = 0xFFFFFFFFU;
}

static void spoil_data_without_name(struct kbus_message_header *h)
{
	h->name = 0;
	h->data = (uintptr_t)bad_header_data;
}

static void spoil_data_len_without_data(struct kbus_message_header *h)
{
	h->data = 0;
}

static void spoil_data_without_data_len(struct kbus_message_header *h)
{
	h->data_len = 0;
}

static void spoil_all_or_both(struct kbus_message_header *h)
{
	h->flags = KBUS_BIT_ALL_OR_WAIT | KBUS_BIT_ALL_OR_FAIL;
}

static void spoil_request_and_reply(struct kbus_message_header *h)
{
	h->flags = KBUS_BIT_WANT_A_REPLY;
	h->in_reply_to.serial_num = 1;
}

static void spoil_request_and_remote_reply(struct kbus_message_header *h)
{
	h->flags = KBUS_BIT_WANT_A_REPLY;
	h->in_reply_to.network_id = 1;
}

static void spoil_over_max_size(struct kbus_message_header *h)
{
	h->data_len = bus_max_size;
}

static void spoil_data_len_huge(struct kbus_message_header *h)
{
	h->data_len = 0xFFFFFFFFU;
}

/* Two faults at once: the first check that fails decides. */
static void spoil_guard_and_name_len(struct kbus_message_header *h)
{
	spoil_start_guard(h);
	spoil_name_len_over_max(h);
}

static void spoil_name_len_and_size(struct kbus_message_header *h)
{
	spoil_name_len_over_max(h);
	spoil_data_len_huge(h);
}

static void spoil_bad_name_and_size(struct kbus_message_header *h)
{
	if (h->name)
		h->name = (uintptr_t)"$.a..b";
	h->name_len = 6;
	spoil_over_max_size(h);
}

static void spoil_kbus_name_and_size(struct kbus_message_header *h)
{
	if (h->name)
		h->name = (uintptr_t)"$.KBUS.X";
	h->name_len = 8;
	spoil_over_max_size(h);
}

#define FORM_POINTY	1
#define FORM_ENTIRE	2
#define FORM_BOTH	(FORM_POINTY | FORM_ENTIRE)

static const struct {
	const char *what;
	void (*spoil)(struct kbus_message_header *h);
	int forms;
	int error;
} bad_headers[] = {
	{ "start guard", spoil_start_guard, FORM_BOTH, EINVAL },
	{ "end guard", spoil_end_guard, FORM_BOTH, EINVAL },
	{ "extra", spoil_extra, FORM_BOTH, EINVAL },
	{ "reserved0", spoil_reserved0, FORM_BOTH, EINVAL },
	{ "reserved1", spoil_reserved1, FORM_BOTH, EINVAL },
	{ "unknown flag", spoil_unknown_and_user_flag, FORM_BOTH, EINVAL },
	{ "name_len 0", spoil_name_len_zero, FORM_BOTH, EINVAL },
	{ "name_len 1001", spoil_name_len_over_max, FORM_BOTH, ENAMETOOLONG },
	{ "name_len ~0", spoil_name_len_huge, FORM_BOTH, ENAMETOOLONG },
	{ "data without name", spoil_data_without_name, FORM_BOTH, EINVAL },
	{ "data_len without data", spoil_data_len_without_data, FORM_POINTY,
	  EINVAL },
	{ "data without data_len", spoil_data_without_data_len, FORM_POINTY,
	  EINVAL },
	{ "ALL_OR_WAIT and ALL_OR_FAIL", spoil_all_or_both, FORM_BOTH, EINVAL },
	{ "request with in_reply_to", spoil_request_and_reply, FORM_BOTH,
	  EINVAL },
	{ "request with remote in_reply_to", spoil_request_and_remote_reply,
	  FORM_BOTH, EINVAL },
	{ "over the bus maximum", spoil_over_max_size, FORM_BOTH, EMSGSIZE },
	{ "data_len ~0", spoil_data_len_huge, FORM_BOTH, EMSGSIZE },
	{ "guard before name length", spoil_guard_and_name_len, FORM_BOTH,
	  EINVAL },
	{ "name length before size", spoil_name_len_and_size, FORM_BOTH,
	  ENAMETOOLONG },
	{ "size before name", spoil_bad_name_and_size, FORM_BOTH, EMSGSIZE },
	{ "size before $.KBUS", spoil_kbus_name_and_size, FORM_BOTH,
	  EMSGSIZE },
};

/*
 * Send @h, spoiled, in the variant's form.  An entire message is sent
 * with the body of the good message: every fault in the table is one of
 * the header, which is checked before the length and the body.
 */
static int send_spoiled(const struct kbus_message_header *good, bool entire,
			void (*spoil)(struct kbus_message_header *h), int fd)
{
	struct kbus_message_header h = *good;
	struct kbus_entire_message *m;
	size_t len;
	int ret;

	if (!entire) {
		spoil(&h);
		return send_hdr(fd, &h, 0, NULL);
	}
	m = kbus_msg_entire(good, &len);
	if (!m)
		return -ENOMEM;
	spoil(&m->header);
	ret = kbus_sendmsg(fd, m, len, 0, NULL);
	free(m);
	return ret;
}

TEST_F(msg, bad_headers_fail_with_their_errno_and_send_nothing)
{
	int form = variant->entire ? FORM_ENTIRE : FORM_POINTY;
	struct kbus_message_header good, h;
	struct kbus_entire_message *got;
	__u64 max;
	unsigned int bit;
	size_t i;

	ASSERT_EQ(0, kbus_get_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE, &max));
	bus_max_size = max;
	memset(long_name, 'n', sizeof(long_name));
	memcpy(long_name, "$.", 2);
	long_name[sizeof(long_name) - 1] = '\0';
	ASSERT_EQ(0, kbus_bind(self->listener, "$.*", 0));
	kbus_msg_init(&good, "$.Msg.Header", bad_header_data,
		      sizeof(bad_header_data));

	for (i = 0; i < ARRAY_SIZE(bad_headers); i++) {
		if (!(bad_headers[i].forms & form))
			continue;
		EXPECT_EQ(-bad_headers[i].error,
			  send_spoiled(&good, variant->entire,
				       bad_headers[i].spoil, self->sender))
			TH_LOG("%s", bad_headers[i].what);
	}
	/* Every kernel flag KBUS does not define. */
	for (bit = 0; bit < 16; bit++) {
		if (KBUS_FLAGS_MASK & (1U << bit))
			continue;
		h = good;
		h.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, kbus_send_msg(self->sender, &h,
						 variant->entire, NULL))
			TH_LOG("flag bit %u", bit);
	}
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->listener));

	/* The Ksock still sends, and the good message is intact. */
	ASSERT_EQ(0, kbus_send_msg(self->sender, &good, variant->entire,
				   NULL));
	got = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, got, "$.Msg.Header", bad_header_data,
		       sizeof(bad_header_data), self->sender_id);
	free(got);
	kbus_expect_empty(_metadata, self->listener);
}

TEST_F(msg, lowered_max_msg_size_is_enforced_bus_wide)
{
	/* 88 + 12 ("$.Msg.Max" and NUL, padded) + data + 4: 104 bytes fit. */
	static const char name[] = "$.Msg.Max";
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	char data[512];
	__u64 orig, abs_max, val;
	int ret;

	ASSERT_EQ(0, kbus_get_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE, &orig));
	ASSERT_EQ(0, kbus_get_opt(self->sender, KBUS_OPT_ABS_MAX_MSG_SIZE,
				  &abs_max));
	ASSERT_EQ(KBUS_ENTIRE_MSG_LEN(strlen(name), 104), 208);
	ret = kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE, orig);
	if (ret == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	EXPECT_LE(orig, abs_max);

	/* A large message queued before the limit comes down. */
	memset(data, 'm', sizeof(data));
	ASSERT_EQ(0, kbus_bind(self->listener, name, 0));
	ASSERT_EQ(0, kbus_announce(self->sender, name, data, sizeof(data),
				   NULL));

	self->saved_max_size = orig;
	ASSERT_EQ(0, kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE, 208));
	EXPECT_EQ(208, kbus_opt(_metadata, self->listener,
				KBUS_OPT_MAX_MSG_SIZE));
	/* Out of range, or read-only: refused, and nothing changes. */
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE,
					KBUS_MIN_MAX_MSG_SIZE - 1));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE,
					abs_max + 1));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE,
					(1ULL << 32) + 208));
	EXPECT_EQ(-EOPNOTSUPP, kbus_set_opt(self->sender,
					    KBUS_OPT_ABS_MAX_MSG_SIZE, 208));
	EXPECT_EQ(208, kbus_opt(_metadata, self->sender,
				KBUS_OPT_MAX_MSG_SIZE));
	EXPECT_EQ(abs_max, kbus_opt(_metadata, self->sender,
				    KBUS_OPT_ABS_MAX_MSG_SIZE));

	/* The limit is on the entire length, padding included. */
	kbus_msg_init(&h, name, data, 104);
	EXPECT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, NULL));
	kbus_msg_init(&h, name, data, 101);
	EXPECT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, NULL));
	kbus_msg_init(&h, name, data, 105);
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->sender, &h, variant->entire,
					   NULL));
	/* Whoever sends: the limit is the bus's. */
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->listener, &h,
					   variant->entire, NULL));
	EXPECT_EQ(3, kbus_num_msgs(_metadata, self->listener));

	/* What was queued before is received whole. */
	got = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, got, name, data, sizeof(data),
		       self->sender_id);
	free(got);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(104, got->header.data_len);
	free(got);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(101, got->header.data_len);
	free(got);
	kbus_expect_empty(_metadata, self->listener);

	/* Put back, the old limit holds again. */
	ASSERT_EQ(0, kbus_set_opt(self->sender, KBUS_OPT_MAX_MSG_SIZE, orig));
	self->saved_max_size = 0;
	ASSERT_EQ(0, kbus_get_opt(self->listener, KBUS_OPT_MAX_MSG_SIZE, &val));
	EXPECT_EQ(orig, val);
	EXPECT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));
}

struct listen_args {
	const char *bind;
};

/*
 * A listener in its own process: bind, say so, then pass the one message
 * it gets back to the parent as it was received (length, then bytes).
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
	if (kbus_recvmsg(fd, NULL, 0, KBUS_RECV_NONBLOCK, NULL) != -EAGAIN)
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
	/* KBUS's own bits are cleared, the user's go through. */
	h.flags = 0x00420000U | KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_YOU_TO_REPLY;
	ASSERT_EQ(0, kbus_send_msg(self->sender, &h, variant->entire, &id));
	want = expected_copy(&h, &id, self->sender_id, 0x00420000U, &want_len);
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
	bool reporting;		/* replier bind reports turned on */
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
	/* Bus-wide: leave it as the other tests expect it. */
	if (self->reporting)
		EXPECT_EQ(0, kbus_set_opt(self->a,
					  KBUS_OPT_REPORT_REPLIER_BINDS, 0));
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
	ssize_t len;
	__u32 i;
	int fd;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, "$.Order.*", 0))
		return 2;
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 2 * ORDER_TOTAL))
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
	if (kbus_recvmsg(fd, NULL, 0, KBUS_RECV_NONBLOCK, NULL) != -EAGAIN)
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
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, true, NULL));
	for (; *p; p++) {
		got = kbus_recv(_metadata, self->b);
		EXPECT_EQ(*p, *(const char *)kbus_msg_data(got));
		EXPECT_EQ(KBUS_BIT_URGENT, got->header.flags);
		free(got);
	}
}

TEST_F(kbus, poll_reports_pollin_only_while_messages_are_queued)
{
	struct kbus_entire_message *got;
	struct kbus_recv r;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Poll", 0));
	/* Writable, nothing to read. */
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->b));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Poll", NULL, 0, NULL));
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	/* The sender has nothing to read. */
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Poll", NULL, 0, NULL));

	/* A receive into too small a buffer takes nothing. */
	EXPECT_EQ(-EMSGSIZE, kbus_recvmsg(self->b, NULL, 0, KBUS_RECV_NONBLOCK,
					  &r));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(6, 0), r.msg_len);
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	got = kbus_recv(_metadata, self->b);
	free(got);
	/* One is left. */
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	got = kbus_recv(_metadata, self->b);
	free(got);
	/* Once all have come and gone, nothing to read. */
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->b));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(self->b, POLLIN, 10));
	kbus_expect_empty(_metadata, self->b);
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
	struct kbus_message_header h;
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, ro);
	EXPECT_EQ(0, kbus_poll_now(ro));
	/* It can neither bind nor send, so nothing comes its way. */
	EXPECT_EQ(-EBADF, kbus_bind(ro, "$.ReadOnly", 0));
	kbus_msg_init(&h, "$.ReadOnly", NULL, 0);
	EXPECT_EQ(-EBADF, kbus_send_msg(ro, &h, false, NULL));
	ASSERT_EQ(0, kbus_bind(self->b, "$.ReadOnly", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.ReadOnly", NULL, 0, NULL));
	EXPECT_EQ(0, kbus_poll_now(ro));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, ro));
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));
	close(ro);
}

TEST_F(kbus, read_only_ksock_reports_pollin_for_catch_up_events)
{
	struct kbus_entire_message *got;
	bool found = false;
	ssize_t n;
	int ro, ret;

	ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, kbus_bind(self->c, "$.ReadOnly.Replier", 1));
	/* Turning reports on queues an event per replier, even here. */
	ret = kbus_set_opt(ro, KBUS_OPT_REPORT_REPLIER_BINDS, 1);
	if (ret == -EPERM) {
		close(ro);
		SKIP(return, "needs CAP_SYS_ADMIN");
	}
	self->reporting = true;
	ASSERT_EQ(0, ret);
	ASSERT_LE(1, kbus_num_msgs(_metadata, ro));
	EXPECT_EQ(POLLIN, kbus_poll_now(ro));
	while ((n = kbus_read_next(ro, &got)) > 0) {
		kbus_check_entire(_metadata, got, n);
		EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT,
			     kbus_msg_name(got));
		if (!strcmp((const char *)kbus_msg_data(got) + 12,
			    "$.ReadOnly.Replier"))
			found = true;
		free(got);
	}
	EXPECT_EQ(0, n);
	EXPECT_TRUE(found);
	EXPECT_EQ(0, kbus_poll_now(ro));
	close(ro);
}

TEST_F(kbus, read_and_write_fail_einval_and_leave_the_queue_alone)
{
	struct kbus_entire_message *got, *m;
	struct kbus_message_header h;
	struct kbus_msg_id first, id;
	char buf[512];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	size_t len;
	int ro, wo;

	ASSERT_EQ(0, kbus_bind(self->b, "$.RW", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.RW", "one", 3, &first));
	ASSERT_EQ(0, kbus_announce(self->a, "$.RW", "two", 3, NULL));

	/* No read(), however much is asked for. */
	memset(buf, 0x55, sizeof(buf));
	EXPECT_ERRNO(EINVAL, read(self->b, buf, sizeof(buf)));
	EXPECT_ERRNO(EINVAL, read(self->b, buf, 0));
	EXPECT_ERRNO(EINVAL, readv(self->b, &iov, 1));
	EXPECT_EQ(0x55, buf[0]);
	/* A stream: no positioned I/O, no seeking. */
	EXPECT_ERRNO(ESPIPE, pread(self->b, buf, sizeof(buf), 0));
	EXPECT_ERRNO(ESPIPE, lseek(self->b, 0, SEEK_SET));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(POLLIN | POLLOUT, kbus_poll_now(self->b));

	/* No write() either, even of a well-formed message. */
	kbus_msg_init(&h, "$.RW", "three", 5);
	EXPECT_ERRNO(EINVAL, write(self->a, &h, sizeof(h)));
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	EXPECT_ERRNO(EINVAL, write(self->a, m, len));
	iov.iov_base = m;
	iov.iov_len = len;
	EXPECT_ERRNO(EINVAL, writev(self->a, &iov, 1));
	EXPECT_ERRNO(ESPIPE, pwrite(self->a, m, len, 0));
	free(m);
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));

	/* Nothing was sent, not even an id was used. */
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, &id));
	EXPECT_EQ(first.serial_num + 2, id.serial_num);

	/* The queue is as it was, in order. */
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(first.serial_num, got->header.id.serial_num);
	EXPECT_EQ(0, memcmp("one", kbus_msg_data(got), 3));
	free(got);
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(0, memcmp("two", kbus_msg_data(got), 3));
	free(got);
	got = kbus_recv(_metadata, self->b);
	kbus_check_msg(_metadata, got, "$.RW", "three", 5,
		       kbus_ksock_id(_metadata, self->a));
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->b);

	/* The open mode is checked first. */
	ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	wo = open(KBUS_DEV0, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wo);
	EXPECT_ERRNO(EINVAL, read(ro, buf, sizeof(buf)));
	EXPECT_ERRNO(EBADF, write(ro, buf, sizeof(buf)));
	EXPECT_ERRNO(EBADF, read(wo, buf, sizeof(buf)));
	EXPECT_ERRNO(EINVAL, write(wo, buf, sizeof(buf)));
	close(wo);
	close(ro);
}

TEST_F(kbus, too_small_buffers_leave_the_message_queued)
{
	char data[37] = "thirty-seven bytes of message data!!";
	struct kbus_entire_message *want;
	struct kbus_message_header h;
	struct kbus_recv r;
	struct kbus_msg_id id;
	size_t want_len, i;
	unsigned char buf[512];
	__u32 sizes[8];

	ASSERT_EQ(0, kbus_bind(self->b, "$.Partial", 0));
	kbus_msg_init(&h, "$.Partial", data, sizeof(data));
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, &id));
	want = expected_copy(&h, &id, kbus_ksock_id(_metadata, self->a), 0,
			     &want_len);
	ASSERT_NE(NULL, want);
	ASSERT_GE(sizeof(buf), want_len);

	/* Short of the header, the name, the data, the end guard. */
	sizes[0] = 0;
	sizes[1] = 1;
	sizes[2] = KBUS_HDR_LEN - 1;
	sizes[3] = KBUS_HDR_LEN;
	sizes[4] = KBUS_HDR_LEN + KBUS_PADDED_NAME_LEN(9) - 1;
	sizes[5] = KBUS_HDR_LEN + KBUS_PADDED_NAME_LEN(9) + sizeof(data);
	sizes[6] = want_len - 4;
	sizes[7] = want_len - 1;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(buf, 0xaa, sizeof(buf));
		EXPECT_EQ(-EMSGSIZE, kbus_recvmsg(self->b, buf, sizes[i], 0,
						  &r))
			TH_LOG("buffer of %u", sizes[i]);
		EXPECT_EQ(want_len, r.msg_len);
		/* Nothing written, nothing taken. */
		EXPECT_EQ(0xaa, buf[0]);
		EXPECT_EQ(0xaa, buf[sizes[i] ? sizes[i] - 1 : 0]);
		EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	}

	/* Exactly its size: all of it, byte for byte. */
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, want_len, 0, &r));
	EXPECT_EQ(want_len, r.msg_len);
	expect_same_bytes(_metadata, buf, r.msg_len, want, want_len);
	kbus_expect_empty(_metadata, self->b);
	free(want);
}

TEST_F(kbus, each_receive_returns_one_message)
{
	unsigned char buf[1024];
	struct kbus_recv r;
	__u32 len1;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Stop", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Stop", "first", 5, NULL));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Stop", "second message", 14,
				   NULL));
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, sizeof(buf), 0, &r));
	len1 = r.msg_len;
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(6, 5), len1);
	EXPECT_EQ(0, memcmp("first", buf + KBUS_HDR_LEN + 8, 5));
	/* Nothing of the next message follows it. */
	EXPECT_EQ(0xaa, buf[len1]);
	EXPECT_EQ(0xaa, buf[sizeof(buf) - 1]);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));

	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, sizeof(buf), 0, &r));
	EXPECT_EQ(len1 + 8, r.msg_len);
	EXPECT_EQ(0, memcmp("second message", buf + KBUS_HDR_LEN + 8, 14));
	EXPECT_EQ(0xaa, buf[r.msg_len]);
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, message_that_does_not_fit_is_not_overtaken)
{
	char data[37] = "thirty-seven bytes of message data!!";
	struct kbus_entire_message *got;
	unsigned char buf[KBUS_ENTIRE_MSG_LEN(6, 3)];
	struct kbus_recv r;
	int i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Skip", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Skip", data, sizeof(data),
				   NULL));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Skip", "two", 3, NULL));
	/* Room for the second, not the first: the first stays first. */
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(-EMSGSIZE, kbus_recvmsg(self->b, buf, sizeof(buf),
						  0, &r));
		EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(6, sizeof(data)), r.msg_len);
		EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	}
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(sizeof(data), got->header.data_len);
	free(got);
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, sizeof(buf), 0, &r));
	EXPECT_EQ(sizeof(buf), r.msg_len);
	EXPECT_EQ(0, memcmp("two", buf + KBUS_HDR_LEN + 8, 3));
	kbus_expect_empty(_metadata, self->b);
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
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->c));
	for (i = 0; i < 2; i++) {
		got = kbus_recv(_metadata, self->b);
		EXPECT_EQ(id[i].serial_num, got->header.id.serial_num);
		free(got);
	}
	kbus_expect_empty(_metadata, self->b);
	/* Room again. */
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full", NULL, 0, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
}

TEST_F(kbus, all_or_fail_to_full_listener_fails_ebusy)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Fail", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.Fail", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Fail", NULL, 0, NULL));

	kbus_msg_init(&h, "$.Full.Fail", "x", 1);
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	EXPECT_EQ(-EBUSY, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EBUSY, kbus_send_msg(self->a, &h, true, NULL));
	/* Nobody got it, not even the listener with room. */
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	/* Refused, not missed. */
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	/* The sender is not left waiting for anything. */
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));

	/* With room everywhere it goes. */
	got = kbus_recv(_metadata, self->b);
	free(got);
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->c));
}

TEST_F(kbus, all_or_wait_to_full_listener_goes_only_when_retried_with_room)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id first, other, id;
	__u32 a_id = kbus_ksock_id(_metadata, self->a);

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Wait", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.Wait", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Wait", NULL, 0, &first));

	/* Without waiting: refused, and nobody has it. */
	kbus_msg_init(&h, "$.Full.Wait", "wait", 4);
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	ASSERT_EQ(-EAGAIN, send_hdr(self->a, &h, KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	/* Not worth trying again until there is room; if tried, no change. */
	EXPECT_EQ(0, kbus_poll_now(self->a));
	ASSERT_EQ(-EAGAIN, send_hdr(self->a, &h, KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->c));

	/* Meanwhile another message goes. */
	ASSERT_EQ(0, kbus_announce(self->c, "$.Full.Other", NULL, 0, &other));

	/* Room: the retry goes to everyone, once, with a new id. */
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(first.serial_num, got->header.id.serial_num);
	free(got);
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	ASSERT_EQ(0, send_hdr(self->a, &h, KBUS_SEND_NONBLOCK, &id));
	EXPECT_LT(other.serial_num, id.serial_num);
	EXPECT_EQ(POLLOUT, kbus_poll_now(self->a));
	got = kbus_recv(_metadata, self->b);
	kbus_check_msg(_metadata, got, "$.Full.Wait", "wait", 4, a_id);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	EXPECT_EQ(KBUS_BIT_ALL_OR_WAIT, got->header.flags);
	free(got);
	kbus_expect_empty(_metadata, self->b);
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->c));
	got = kbus_recv(_metadata, self->c);
	EXPECT_EQ(first.serial_num, got->header.id.serial_num);
	free(got);
	got = kbus_recv(_metadata, self->c);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->c);
}

/*
 * A sender in its own process whose ALL_OR_WAIT send finds no room: it
 * waits for POLLOUT, then sends again.
 */
static int waiting_sender(void *arg, int in, int out)
{
	struct kbus_message_header h;
	struct kbus_ksock_info info;
	struct kbus_msg_id id;
	int fd, ret;

	fd = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_info(fd, &info))
		return 2;
	kbus_msg_init(&h, "$.Full.Poll", "late", 4);
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	if (kbus_send_msg(fd, &h, false, &id) != -EAGAIN)
		return 3;
	if (kbus_poll_now(fd) & POLLOUT)
		return 4;
	if (kbus_pipe_write(out, &info.ksock_id, sizeof(info.ksock_id)))
		return 5;
	ret = kbus_wait_fd(fd, POLLOUT, KBUS_WAIT_MS);
	if (ret < 0)
		return 6;
	if (!(ret & POLLOUT))
		return 7;
	if (kbus_send_msg(fd, &h, false, &id))
		return 8;
	if (kbus_pipe_write(out, &id.serial_num, sizeof(id.serial_num)))
		return 9;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(kbus, sender_in_other_process_is_told_when_to_retry, 60)
{
	struct kbus_entire_message *got;
	struct kbus_child kid;
	__u32 serial, kid_id;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Full.Poll", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Full.Poll", NULL, 0, NULL));

	kbus_spawn(_metadata, &kid, waiting_sender, NULL);
	kid_id = kbus_child_u32(_metadata, &kid);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(kid.from_child, POLLIN, 100))
		TH_LOG("the sender went on without room");

	/* Making room wakes the sender's poll; its retry goes. */
	got = kbus_recv(_metadata, self->b);
	free(got);
	serial = kbus_child_u32(_metadata, &kid);
	kbus_child_done(_metadata, &kid);
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(serial, got->header.id.serial_num);
	kbus_check_msg(_metadata, got, "$.Full.Poll", "late", 4, kid_id);
	free(got);
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, lowering_maxmsgs_keeps_queued_messages)
{
	struct kbus_entire_message *got;
	struct kbus_msg_id id[5];
	int i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Lower", 0));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, kbus_announce(self->a, "$.Lower", NULL, 0, &id[i]));
	kbus_set_max_msgs(_metadata, self->b, 2);
	EXPECT_EQ(5, kbus_num_msgs(_metadata, self->b));
	/* Over the limit: announcements skip it. */
	ASSERT_EQ(0, kbus_announce(self->a, "$.Lower", NULL, 0, NULL));
	EXPECT_EQ(5, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
	/* Every message kept is received, in order. */
	for (i = 0; i < 5; i++) {
		got = kbus_recv(_metadata, self->b);
		EXPECT_EQ(id[i].serial_num, got->header.id.serial_num);
		free(got);
	}
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, only_once_is_a_boolean_of_each_ksock)
{
	EXPECT_EQ(0, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 2));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE,
					(1ULL << 32) | 1));
	EXPECT_EQ(0, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 1));
	EXPECT_EQ(1, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	/* Setting it again is fine; other Ksocks keep theirs. */
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 1));
	EXPECT_EQ(1, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	EXPECT_EQ(0, kbus_opt(_metadata, self->c, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 0));
	EXPECT_EQ(0, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
}

TEST_F(kbus, only_once_listener_needs_room_for_one_copy)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	/* Two bindings match, and there is room for one copy. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Once.A", 0));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Once.*", 0));
	kbus_set_max_msgs(_metadata, self->b, 1);
	kbus_msg_init(&h, "$.Once.A", "x", 1);
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	EXPECT_EQ(-EBUSY, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, kbus_dropped(_metadata, self->b));
	/* Without ALL_OR_FAIL it gets one copy and misses the other. */
	h.flags = 0;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
	got = kbus_recv(_metadata, self->b);
	free(got);

	/* One copy per message: it fits, and nothing is missed. */
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 1));
	h.flags = KBUS_BIT_ALL_OR_FAIL;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, true, &id));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	h.flags = 0;
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->b));
}

/* A bus of a kbus filesystem shares nothing with /dev/kbus0. */
TEST_F(kbus, bus_of_a_kbus_filesystem_is_independent)
{
	struct kbus_entire_message *got;
	char path[KBUS_PATH_MAX], dir[32];
	struct kbus_msg_id id;
	__u32 replier;
	int x, y, ret;

	ret = kbus_mount_instance(dir, "buses=1");
	ASSERT_EQ(0, ret) TH_LOG("mount: %s", strerror(-ret));
	kbus_fs_path(path, dir, "kbus0");
	x = open(path, O_RDWR | O_CLOEXEC);
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

/*
 * A listener bound twice to what a message matches, with no room: it
 * misses one message, counted once (with and without only-once).
 */
TEST_F(kbus, message_missed_through_two_bindings_counts_once)
{
	int once;

	for (once = 0; once <= 1; once++) {
		ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, once));
		kbus_set_max_msgs(_metadata, self->b, 1);
		ASSERT_EQ(0, kbus_bind(self->b, "$.Missed.Twice", false));
		ASSERT_EQ(0, kbus_bind(self->b, "$.Missed.*", false));
		/* The first copy fills the queue. */
		ASSERT_EQ(0, kbus_announce(self->a, "$.Missed.Twice", NULL, 0,
					   NULL));
		EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
		ASSERT_EQ(0, kbus_announce(self->a, "$.Missed.Twice", NULL, 0,
					   NULL));
		EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
		/* Without only-once, the first send's second copy too. */
		EXPECT_EQ(once ? 1 : 2, kbus_dropped(_metadata, self->b))
			TH_LOG("only-once %d", once);
		ASSERT_EQ(0, kbus_unbind(self->b, "$.Missed.Twice", false));
		ASSERT_EQ(0, kbus_unbind(self->b, "$.Missed.*", false));
		close(self->b);
		self->b = kbus_open(_metadata);
	}
}

TEST_HARNESS_MAIN
