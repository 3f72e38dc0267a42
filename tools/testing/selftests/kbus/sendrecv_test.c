// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - one-call send and receive tests: SENDMSG, RECVMSG and CANCEL
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "common.h"

/* The ids a receiver sees for a sender its user namespace cannot map. */
#define OVERFLOW_ID		65534U

/* Room for any small message a child receives. */
#define SMALL_BUF		4096

/* ---- Plain helpers: no harness, usable in children and threads ---- */

/* A private anonymous mapping, or NULL. */
static void *sr_map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void sr_send_fill(struct kbus_send *s, const void *msg, size_t len,
			 __u32 flags)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->flags = flags;
	s->msg_ptr = (uintptr_t)msg;
	s->msg_len = len;
}

/* SENDMSG of a message with no data: @hflags in the header, @sflags. */
static int sr_send_name(int fd, const char *name, __u32 hflags, __u32 sflags,
			struct kbus_msg_id *id)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, name, NULL, 0);
	h.flags = hflags;
	return kbus_sendmsg(fd, &h, sizeof(h), sflags, id);
}

/*
 * Wait (bounded) for a message named @name and receive it with the
 * sender's credentials.  0, -EBADMSG if it has another name, or -errno.
 */
static int sr_recv_named(int fd, const char *name, struct kbus_recv *r)
{
	struct kbus_entire_message *m = malloc(SMALL_BUF);
	int ret;

	if (!m)
		return -ENOMEM;
	ret = kbus_wait_fd(fd, POLLIN, KBUS_WAIT_MS);
	if (ret >= 0)
		ret = kbus_recvmsg(fd, m, SMALL_BUF,
				   KBUS_RECV_CREDS | KBUS_RECV_NONBLOCK, r);
	if (!ret && (m->header.name_len != strlen(name) ||
		     memcmp(kbus_msg_name(m), name, m->header.name_len)))
		ret = -EBADMSG;
	free(m);
	return ret;
}

/* ---- Harness helpers ---- */

/*
 * Receive the next message, which must be queued, with RECVMSG: learn its
 * size with a zero-length buffer, then receive it and check its framing.
 * The caller frees it.
 */
static struct kbus_entire_message *
sr_recv(struct __test_metadata *const _metadata, int fd, __u32 flags,
	struct kbus_recv *out)
{
	struct kbus_entire_message *m;
	struct kbus_recv r;
	__u32 len;

	ASSERT_EQ(-EMSGSIZE, kbus_recvmsg(fd, NULL, 0,
					  flags | KBUS_RECV_NONBLOCK, &r))
		TH_LOG("expected a queued message");
	len = r.msg_len;
	ASSERT_LE(KBUS_HDR_LEN + 8, len);
	m = malloc(len);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, kbus_recvmsg(fd, m, len, flags | KBUS_RECV_NONBLOCK, &r));
	EXPECT_EQ(len, r.msg_len);
	kbus_check_entire(_metadata, m, len);
	if (out)
		*out = r;
	return m;
}

static void sr_expect_next(struct __test_metadata *const _metadata, int fd,
			   const char *name)
{
	struct kbus_entire_message *m = sr_recv(_metadata, fd, 0, NULL);

	EXPECT_STREQ(name, kbus_msg_name(m));
	free(m);
}

FIXTURE(sendrecv) {
	bool skip;
	int a;
	int b;
	int c;
	__u32 a_id;
};

FIXTURE_SETUP(sendrecv)
{
	self->a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->a < 0) {
		self->skip = true;
		return;
	}
	self->b = kbus_open(_metadata);
	self->c = kbus_open(_metadata);
	self->a_id = kbus_ksock_id(_metadata, self->a);
}

FIXTURE_TEARDOWN(sendrecv)
{
	if (self->skip)
		return;
	close(self->c);
	close(self->b);
	close(self->a);
}

/* ---- SENDMSG ---- */

TEST_F(sendrecv, sendmsg_argument_edges)
{
	static union {
		struct kbus_send s;
		unsigned char raw[8192];
	} big;
	union {
		struct kbus_send s;
		unsigned char raw[64];
	} u;
	struct kbus_message_header h, bad;
	long pg = sysconf(_SC_PAGESIZE);
	struct kbus_entire_message *m;
	struct kbus_send *ro;
	char *none, *two;
	__u32 queued = 0, last;
	size_t len;

	none = sr_map(pg, PROT_NONE);
	ASSERT_NE(NULL, none);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Arg", 0));
	kbus_msg_init(&h, "$.Arg", "data", 4);

	/* Shorter than the first version. */
	memset(&u, 0, sizeof(u));
	sr_send_fill(&u.s, &h, sizeof(h), 0);
	u.s.size = 0;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.s.size = sizeof(u.s) - 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));

	/* Exactly the first version. */
	u.s.size = sizeof(u.s);
	ASSERT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	queued++;
	EXPECT_EQ(0U, u.s.id.network_id);
	EXPECT_NE(0U, u.s.id.serial_num);
	last = u.s.id.serial_num;

	/* The id is written back only: it must be 0 on input. */
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.s.id.serial_num = 0;
	u.s.id.network_id = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.s.id.network_id = 0;
	EXPECT_EQ(queued, kbus_num_msgs(_metadata, self->b));

	/* Larger, with a zero tail: accepted. */
	u.s.size = 40;
	ASSERT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	queued++;
	EXPECT_LT(last, u.s.id.serial_num);
	memset(&u.s.id, 0, sizeof(u.s.id));

	/* Larger, with a non-zero byte past the known part. */
	u.raw[35] = 1;
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.raw[35] = 0;
	EXPECT_EQ(queued, kbus_num_msgs(_metadata, self->b));

	/* A page, all of it checked; past a page, refused as openat2 does. */
	memset(&big, 0, sizeof(big));
	sr_send_fill(&big.s, &h, sizeof(h), 0);
	big.s.size = getpagesize();
	EXPECT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &big.s));
	queued++;
	memset(&big.s.id, 0, sizeof(big.s.id));
	big.raw[big.s.size - 1] = 0xff;
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &big.s));
	big.raw[big.s.size - 1] = 0;
	big.s.size = getpagesize() + 1;
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &big.s));

	/* Unknown flags and the reserved field. */
	u.s.flags = 1U << 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.s.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.s.flags = 0;
	u.s.__reserved = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, &u.s));
	u.s.__reserved = 0;

	/* Bad user addresses. */
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, NULL));
	EXPECT_EQ(-EFAULT, kbus_sendmsg(self->a, none, sizeof(h), 0, NULL));
	bad = h;
	bad.name = (uintptr_t)none;
	EXPECT_EQ(-EFAULT, kbus_send_msg(self->a, &bad, false, NULL));
	bad = h;
	bad.data = (uintptr_t)none;
	EXPECT_EQ(-EFAULT, kbus_send_msg(self->a, &bad, false, NULL));

	/* An entire message whose body runs into an unmapped page. */
	two = sr_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	ASSERT_EQ(0, mprotect(two + pg, pg, PROT_NONE));
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	memcpy(two + pg - KBUS_HDR_LEN, m, KBUS_HDR_LEN);
	EXPECT_EQ(-EFAULT, kbus_sendmsg(self->a, two + pg - KBUS_HDR_LEN, len,
					0, NULL));
	free(m);

	/* The id cannot be written back: nothing is sent. */
	ro = sr_map(pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, ro);
	sr_send_fill(ro, &h, sizeof(h), 0);
	ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->a, KBUS_IOC_SENDMSG, ro));

	EXPECT_EQ(queued, kbus_num_msgs(_metadata, self->b));
	while (queued--) {
		m = sr_recv(_metadata, self->b, 0, NULL);
		kbus_check_msg(_metadata, m, "$.Arg", "data", 4, self->a_id);
		free(m);
	}
	munmap(ro, pg);
	munmap(two, 2 * pg);
	munmap(none, pg);
}

TEST_F(sendrecv, sendmsg_msg_len_must_match_the_message)
{
	struct {
		struct kbus_message_header h;
		char pad[64];
	} p;
	struct kbus_entire_message *m;
	char *buf;
	size_t len;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Len", 0));
	memset(&p, 0, sizeof(p));
	kbus_msg_init(&p.h, "$.Len", "abcdef", 6);
	m = kbus_msg_entire(&p.h, &len);
	ASSERT_NE(NULL, m);
	ASSERT_GE(sizeof(p), len);
	buf = calloc(1, len + 8);
	ASSERT_NE(NULL, buf);
	memcpy(buf, m, len);
	free(m);

	/* Pointy: exactly the header. */
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, &p, KBUS_HDR_LEN + 4, 0,
					NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, &p, len, 0, NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, &p, KBUS_HDR_LEN - 4, 0,
					NULL));
	/* Entire: exactly KBUS_ENTIRE_MSG_LEN(). */
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, buf, len - 4, 0, NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, buf, len + 4, 0, NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, buf, KBUS_HDR_LEN, 0, NULL));
	/* Shorter than any header. */
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, &p, 10, 0, NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, buf, 10, 0, NULL));
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, buf, 0, 0, NULL));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));

	/* The right lengths are accepted. */
	EXPECT_EQ(0, kbus_sendmsg(self->a, &p, KBUS_HDR_LEN, 0, NULL));
	EXPECT_EQ(0, kbus_sendmsg(self->a, buf, len, 0, NULL));
	EXPECT_EQ(2U, kbus_num_msgs(_metadata, self->b));
	free(buf);
}

/* Check a received copy of @h as sent from @from with @id. */
static void expect_copy(struct __test_metadata *const _metadata,
			const struct kbus_entire_message *m,
			const struct kbus_message_header *h, __u32 from,
			const struct kbus_msg_id *id)
{
	kbus_check_msg(_metadata, m, (const char *)(uintptr_t)h->name,
		       (const void *)(uintptr_t)h->data, h->data_len, from);
	EXPECT_EQ(h->flags, m->header.flags);
	EXPECT_EQ(id->network_id, m->header.id.network_id);
	EXPECT_EQ(id->serial_num, m->header.id.serial_num);
	EXPECT_EQ(0U, m->header.in_reply_to.network_id);
	EXPECT_EQ(0U, m->header.in_reply_to.serial_num);
	EXPECT_EQ(0U, m->header.to);
	EXPECT_EQ(h->orig_from.network_id, m->header.orig_from.network_id);
	EXPECT_EQ(h->orig_from.local_id, m->header.orig_from.local_id);
	EXPECT_EQ(h->final_to.network_id, m->header.final_to.network_id);
	EXPECT_EQ(h->final_to.local_id, m->header.final_to.local_id);
}

TEST_F(sendrecv, entire_and_pointy_sendmsg_deliver_the_same_message)
{
	static const char name[] = "$.Same.Msg";
	static const char data[] = "seven!!";
	struct kbus_entire_message *m1, *m2, *m3;
	struct kbus_msg_id id1, id2, id3;
	struct kbus_message_header h;
	struct kbus_recv r1, r2;

	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	kbus_msg_init(&h, name, data, 7);
	h.flags = 0x12340000;
	h.orig_from.network_id = 7;
	h.orig_from.local_id = 8;
	h.final_to.network_id = 9;
	h.final_to.local_id = 10;

	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, &id1));
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, true, &id2));
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, &id3));
	EXPECT_EQ(0U, id1.network_id);
	EXPECT_EQ(0U, id2.network_id);
	EXPECT_LT(id1.serial_num, id2.serial_num);
	EXPECT_LT(id2.serial_num, id3.serial_num);

	m1 = sr_recv(_metadata, self->b, 0, &r1);
	m2 = sr_recv(_metadata, self->b, 0, &r2);
	m3 = sr_recv(_metadata, self->b, 0, NULL);
	expect_copy(_metadata, m1, &h, self->a_id, &id1);
	expect_copy(_metadata, m2, &h, self->a_id, &id2);
	expect_copy(_metadata, m3, &h, self->a_id, &id3);

	/* Byte for byte the same but for the id. */
	ASSERT_EQ(r1.msg_len, r2.msg_len);
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(strlen(name), 7), r1.msg_len);
	m2->header.id = m1->header.id;
	EXPECT_EQ(0, memcmp(m1, m2, r1.msg_len));
	free(m3);
	free(m2);
	free(m1);
}

/*
 * A send reads a small message with its header, onto the kernel's stack:
 * a pointy one's name and data if they fit after the header, else its
 * name alone, or neither.  Messages of every size around those limits
 * arrive whole, sent either way.
 */
TEST_F(sendrecv, sendmsg_of_sizes_around_the_read_with_the_header)
{
	static const __u32 data_lens[] = {
		0, 1, 64, 100, 150, 151, 152, 153, 154, 155, 156, 157, 158,
		159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170,
		200, 255, 256, 257, 1000, 4096,
	};
	static const char short_name[] = "$.Sizes";
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	char long_name[201];
	unsigned char *data;
	unsigned int i, n;
	int entire;

	memset(long_name, 'L', sizeof(long_name) - 1);
	memcpy(long_name, "$.", 2);
	long_name[sizeof(long_name) - 1] = 0;
	ASSERT_EQ(0, kbus_bind(self->b, short_name, 0));
	ASSERT_EQ(0, kbus_bind(self->b, long_name, 0));
	data = malloc(4096);
	ASSERT_NE(NULL, data);
	for (i = 0; i < 4096; i++)
		data[i] = i * 7 + 3;
	for (n = 0; n < 2; n++) {
		const char *name = n ? long_name : short_name;

		for (i = 0; i < ARRAY_SIZE(data_lens); i++) {
			for (entire = 0; entire < 2; entire++) {
				kbus_msg_init(&h, name, data_lens[i] ? data : NULL,
					      data_lens[i]);
				ASSERT_EQ(0, kbus_send_msg(self->a, &h, entire,
							   NULL))
					TH_LOG("%s, %u data bytes, %s", name,
					       data_lens[i],
					       entire ? "entire" : "pointy");
				m = sr_recv(_metadata, self->b, 0, NULL);
				kbus_check_msg(_metadata, m, name, data,
					       data_lens[i], self->a_id);
				free(m);
			}
		}
	}
	free(data);
}

/*
 * A pointy message whose name or data runs into an unmapped page fails
 * with EFAULT and sends nothing, whether the data was to be read with the
 * header (small) or after it (large).
 */
TEST_F(sendrecv, pointy_sendmsg_with_a_name_or_data_cut_short_fails_efault)
{
	static const __u32 data_lens[] = { 8, 64, 150, 1000, 4096 };
	long pg = sysconf(_SC_PAGESIZE);
	struct kbus_message_header h;
	unsigned int i;
	char *two;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Cut", 0));
	two = sr_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	memset(two, 'x', pg);
	ASSERT_EQ(0, mprotect(two + pg, pg, PROT_NONE));

	/* The name's last bytes are on the unmapped page. */
	memcpy(two + pg - 4, "$.Cu", 4);
	kbus_msg_init(&h, "$.Cut", "data", 4);
	h.name = (uintptr_t)(two + pg - 4);
	EXPECT_EQ(-EFAULT, kbus_send_msg(self->a, &h, false, NULL));

	/* The data's last byte, or all of it, is on the unmapped page. */
	for (i = 0; i < ARRAY_SIZE(data_lens); i++) {
		kbus_msg_init(&h, "$.Cut", two, data_lens[i]);
		h.data = (uintptr_t)(two + pg - data_lens[i] + 1);
		EXPECT_EQ(-EFAULT, kbus_send_msg(self->a, &h, false, NULL))
			TH_LOG("%u data bytes cut short", data_lens[i]);
		h.data = (uintptr_t)(two + pg);
		EXPECT_EQ(-EFAULT, kbus_send_msg(self->a, &h, false, NULL))
			TH_LOG("%u data bytes unmapped", data_lens[i]);
		/* Readable, the same data goes. */
		h.data = (uintptr_t)(two + pg - data_lens[i]);
		EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	}
	EXPECT_EQ(ARRAY_SIZE(data_lens),
		  kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, munmap(two, 2 * pg));
}

TEST_F(sendrecv, sendmsg_checks_the_header)
{
	static const char *const bad_names[] = { "$.a..b", "$.a.*" };
	char longname[KBUS_MAX_NAME_LEN + 2];
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	__u32 max, dlen;
	size_t len, i;
	__u64 opt;
	char *data;

	kbus_msg_init(&h, "$.Hdr", NULL, 0);

	/* Guards. */
	h.start_guard = 0x12345678;
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, true, NULL));
	h.start_guard = KBUS_MSG_START_GUARD;
	h.end_guard = 0x12345678;
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, false, NULL));
	h.end_guard = KBUS_MSG_END_GUARD;
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	m->rest[KBUS_ENTIRE_MSG_END_GUARD_INDEX(h.name_len, 0)] = 0;
	EXPECT_EQ(-EINVAL, kbus_sendmsg(self->a, m, len, 0, NULL));
	free(m);

	/* Invalid names and wildcards, either way. */
	for (i = 0; i < ARRAY_SIZE(bad_names); i++) {
		kbus_msg_init(&h, bad_names[i], NULL, 0);
		EXPECT_EQ(-EBADMSG, kbus_send_msg(self->a, &h, false, NULL))
			TH_LOG("pointy %s", bad_names[i]);
		EXPECT_EQ(-EBADMSG, kbus_send_msg(self->a, &h, true, NULL))
			TH_LOG("entire %s", bad_names[i]);
	}

	/* Names of 1001 bytes are too long, of 1000 are not. */
	memset(longname, 'a', sizeof(longname));
	longname[0] = '$';
	longname[1] = '.';
	longname[KBUS_MAX_NAME_LEN + 1] = '\0';
	kbus_msg_init(&h, longname, NULL, 0);
	EXPECT_EQ(-ENAMETOOLONG, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-ENAMETOOLONG, kbus_send_msg(self->a, &h, true, NULL));
	longname[KBUS_MAX_NAME_LEN] = '\0';
	ASSERT_EQ(0, kbus_bind(self->b, longname, 0));
	kbus_msg_init(&h, longname, NULL, 0);
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	sr_expect_next(_metadata, self->b, longname);

	/* Larger than the bus allows. */
	ASSERT_EQ(0, kbus_get_opt(self->a, KBUS_OPT_MAX_MSG_SIZE, &opt));
	max = opt;
	ASSERT_LE(KBUS_ENTIRE_MSG_LEN(5, 0), max);
	data = calloc(1, max);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Big", 0));
	kbus_msg_init(&h, "$.Big", data, max);
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->a, &h, true, NULL));
	/* The largest message that fits, and one byte more. */
	dlen = (max - KBUS_ENTIRE_MSG_LEN(5, 0)) & ~3U;
	kbus_msg_init(&h, "$.Big", data, dlen + 1);
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->a, &h, false, NULL));
	kbus_msg_init(&h, "$.Big", data, dlen);
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	m = sr_recv(_metadata, self->b, 0, NULL);
	kbus_check_msg(_metadata, m, "$.Big", data, dlen, self->a_id);
	free(m);
	free(data);
}

TEST_F(sendrecv, sendmsg_refuses_kbus_names)
{
	struct kbus_message_header h;

	ASSERT_EQ(0, kbus_bind(self->b, "$.*", 0));
	kbus_msg_init(&h, "$.KBUS.Foo", NULL, 0);
	EXPECT_EQ(-EPERM, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EPERM, kbus_send_msg(self->a, &h, true, NULL));
	kbus_msg_init(&h, KBUS_MSG_NAME_REPLIER_GONEAWAY, NULL, 0);
	EXPECT_EQ(-EPERM, kbus_send_msg(self->a, &h, false, NULL));
	kbus_msg_init(&h, "$.KBUS", NULL, 0);
	EXPECT_EQ(-EPERM, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EPERM, kbus_send_msg(self->a, &h, true, NULL));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));

	/* Only "$.KBUS" itself and names below it. */
	kbus_msg_init(&h, "$.KBUSX", NULL, 0);
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	sr_expect_next(_metadata, self->b, "$.KBUSX");
}

TEST_F(sendrecv, sendmsg_needs_a_file_open_for_writing)
{
	struct kbus_message_header h;
	char buf[SMALL_BUF];
	struct kbus_send s;
	int ro;

	ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, kbus_bind(self->b, "$.ReadOnly", 0));
	/* Binding needs writing too, so nothing is sent to it. */
	EXPECT_EQ(-EBADF, kbus_bind(ro, "$.ReadOnly", 0));
	EXPECT_EQ(-EBADF, kbus_bind(ro, "$.ReadOnly", 1));
	kbus_msg_init(&h, "$.ReadOnly", NULL, 0);
	EXPECT_EQ(-EBADF, kbus_send_msg(ro, &h, false, NULL));
	EXPECT_EQ(-EBADF, kbus_send_msg(ro, &h, true, NULL));

	/* The argument is checked first. */
	sr_send_fill(&s, &h, sizeof(h), 0);
	s.size = 8;
	EXPECT_EQ(-EINVAL, kbus_ioctl(ro, KBUS_IOC_SENDMSG, &s));
	s.size = sizeof(s);
	s.flags = 1U << 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(ro, KBUS_IOC_SENDMSG, &s));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, ro));

	/* It may still receive: nothing is queued, which is not EBADF. */
	EXPECT_EQ(-EAGAIN, kbus_recvmsg(ro, buf, sizeof(buf),
					KBUS_RECV_NONBLOCK, NULL));
	EXPECT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	sr_expect_next(_metadata, self->b, "$.ReadOnly");
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, ro));
	close(ro);
}

TEST_F(sendrecv, recvmsg_needs_a_file_open_for_reading)
{
	struct kbus_message_header h;
	char buf[SMALL_BUF];
	int wo;

	wo = open(KBUS_DEV0, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wo);
	/* What a binding brings in must be received: no listening either. */
	EXPECT_EQ(-EBADF, kbus_bind(wo, "$.WriteOnly", 0));
	EXPECT_EQ(-EBADF, kbus_bind(wo, "$.WriteOnly", 1));
	EXPECT_EQ(-EBADF, kbus_recvmsg(wo, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EBADF, kbus_recvmsg(wo, buf, sizeof(buf),
				       KBUS_RECV_NONBLOCK, NULL));
	/* It sends, and is never readable. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.WriteOnly", 0));
	kbus_msg_init(&h, "$.WriteOnly", NULL, 0);
	EXPECT_EQ(0, kbus_send_msg(wo, &h, false, NULL));
	EXPECT_EQ(0, kbus_poll_now(wo) & POLLIN);
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	/* But no request: its reply could never be received. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.WriteOnly", 1));
	h.flags = KBUS_BIT_WANT_A_REPLY;
	EXPECT_EQ(-EBADF, kbus_send_msg(wo, &h, false, NULL));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	close(wo);
}

/* ---- RECVMSG ---- */

TEST_F(sendrecv, recvmsg_argument_edges)
{
	union {
		struct kbus_recv r;
		unsigned char raw[64];
	} u;
	struct kbus_entire_message *m;

	m = malloc(SMALL_BUF);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, kbus_bind(self->b, "$.RArg", 0));
	ASSERT_EQ(0, sr_send_name(self->a, "$.RArg", 0, 0, NULL));

	memset(&u, 0, sizeof(u));
	u.r.size = sizeof(u.r);
	u.r.flags = KBUS_RECV_NONBLOCK;
	u.r.buf_ptr = (uintptr_t)m;
	u.r.buf_len = SMALL_BUF;

	u.r.size = 0;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.size = sizeof(u.r) - 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.size = 48;
	u.raw[44] = 1;
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.raw[44] = 0;
	u.r.flags = KBUS_RECV_NONBLOCK | 1U << 2;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.flags = KBUS_RECV_NONBLOCK | 1U << 31;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.flags = KBUS_RECV_NONBLOCK;
	u.r.__reserved = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.__reserved = 0;
	/* The fields written back must be 0 on input. */
	u.r.msg_len = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.msg_len = 0;
	u.r.pid = -1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.pid = 0;
	u.r.uid = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.uid = 0;
	u.r.gid = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	u.r.gid = 0;
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));

	/* Larger, with a zero tail: accepted. */
	ASSERT_EQ(0, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &u.r));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(6, 0), u.r.msg_len);
	kbus_check_entire(_metadata, m, u.r.msg_len);
	EXPECT_STREQ("$.RArg", kbus_msg_name(m));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	free(m);
}

TEST_F(sendrecv, recvmsg_reports_the_length_of_a_message_that_does_not_fit)
{
	static const char name[] = "$.Size.Msg";
	static const char data[] = "0123456789";
	size_t want = KBUS_ENTIRE_MSG_LEN(strlen(name), 10);
	struct kbus_entire_message *m;
	struct kbus_recv r;
	unsigned char *buf;

	buf = malloc(want + 16);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, kbus_announce(self->a, name, data, 10, NULL));
	ASSERT_EQ(0, kbus_announce(self->a, name, data, 10, NULL));

	EXPECT_EQ(-EMSGSIZE, kbus_recvmsg(self->b, NULL, 0, 0, &r));
	EXPECT_EQ(want, r.msg_len);
	EXPECT_EQ(2U, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(-EMSGSIZE, kbus_recvmsg(self->b, buf, want - 1, 0, &r));
	EXPECT_EQ(want, r.msg_len);
	EXPECT_EQ(2U, kbus_num_msgs(_metadata, self->b));

	/* Exactly the right size. */
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, want, 0, &r));
	EXPECT_EQ(want, r.msg_len);
	m = (struct kbus_entire_message *)buf;
	kbus_check_entire(_metadata, m, want);
	kbus_check_msg(_metadata, m, name, data, 10, self->a_id);
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));

	/* A larger buffer: nothing is written past the message. */
	memset(buf, 0xaa, want + 16);
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, want + 16, 0, &r));
	EXPECT_EQ(want, r.msg_len);
	kbus_check_entire(_metadata, m, want);
	kbus_check_msg(_metadata, m, name, data, 10, self->a_id);
	EXPECT_EQ(0xaa, buf[want]);
	EXPECT_EQ(0xaa, buf[want + 15]);
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	free(buf);
}

TEST_F(sendrecv, recvmsg_fault_leaves_the_message_queued)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct kbus_entire_message *m, *rep;
	struct kbus_msg_id id, rid;
	char *none, *two;

	none = sr_map(pg, PROT_NONE);
	ASSERT_NE(NULL, none);
	two = sr_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	ASSERT_EQ(0, mprotect(two + pg, pg, PROT_NONE));

	/* An announcement. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Fault", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Fault", "xyz", 3, &id));
	EXPECT_EQ(-EFAULT, kbus_recvmsg(self->b, none, pg, 0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	/* The header fits, the name and data do not. */
	EXPECT_EQ(-EFAULT, kbus_recvmsg(self->b, two + pg - KBUS_HDR_LEN, pg,
					0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	m = sr_recv(_metadata, self->b, 0, NULL);
	kbus_check_msg(_metadata, m, "$.Fault", "xyz", 3, self->a_id);
	EXPECT_EQ(id.serial_num, m->header.id.serial_num);
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	free(m);

	/* A request counts as read only once it has been received. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Fault.Req", 1));
	ASSERT_EQ(0, sr_send_name(self->a, "$.Fault.Req", KBUS_BIT_WANT_A_REPLY,
				  0, &id));
	EXPECT_EQ(-EFAULT, kbus_recvmsg(self->c, none, pg, 0, NULL));
	EXPECT_EQ(0U, kbus_unreplied(_metadata, self->c));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(-EFAULT, kbus_recvmsg(self->c, two + pg - KBUS_HDR_LEN, pg,
					0, NULL));
	EXPECT_EQ(0U, kbus_unreplied(_metadata, self->c));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->c));
	m = sr_recv(_metadata, self->c, 0, NULL);
	EXPECT_EQ(1U, kbus_unreplied(_metadata, self->c));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  m->header.flags);
	EXPECT_EQ(id.serial_num, m->header.id.serial_num);

	/* It is owed exactly once: the reply goes, and settles it. */
	ASSERT_EQ(0, kbus_reply(self->c, m, "ok", 2, &rid));
	EXPECT_EQ(0U, kbus_unreplied(_metadata, self->c));
	rep = sr_recv(_metadata, self->a, 0, NULL);
	kbus_check_msg(_metadata, rep, "$.Fault.Req", "ok", 2,
		       kbus_ksock_id(_metadata, self->c));
	EXPECT_EQ(id.serial_num, rep->header.in_reply_to.serial_num);
	EXPECT_EQ(-ECONNREFUSED, kbus_reply(self->c, m, "ok", 2, NULL));
	free(rep);
	free(m);
	munmap(two, 2 * pg);
	munmap(none, pg);
}

/*
 * Send "data" from @from (Ksock id @from_id) with the struct kbus_send at
 * @s, and receive it at @to with the struct kbus_recv at @r, without
 * blocking: each call succeeds, and the message goes once, with the id
 * the sender was told.
 */
static void sr_send_recv_at(struct __test_metadata *const _metadata,
			    int from, __u32 from_id, int to,
			    struct kbus_send *s, struct kbus_recv *r,
			    char *buf, size_t len)
{
	static const char name[] = "$.Answer.Page";
	struct kbus_message_header h;
	struct kbus_entire_message *m;

	kbus_msg_init(&h, name, "data", 4);
	s->size = sizeof(*s);
	s->flags = KBUS_SEND_NONBLOCK;
	s->msg_ptr = (uintptr_t)&h;
	s->msg_len = sizeof(h);
	ASSERT_EQ(0, kbus_ioctl(from, KBUS_IOC_SENDMSG, s));
	EXPECT_NE(0U, s->id.serial_num);

	r->size = sizeof(*r);
	r->flags = KBUS_RECV_NONBLOCK | KBUS_RECV_CREDS;
	r->buf_ptr = (uintptr_t)buf;
	r->buf_len = len;
	ASSERT_EQ(0, kbus_ioctl(to, KBUS_IOC_RECVMSG, r));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(strlen(name), 4), r->msg_len);
	EXPECT_EQ(getpid(), r->pid);
	EXPECT_EQ(geteuid(), r->uid);
	EXPECT_EQ(getegid(), r->gid);
	m = (struct kbus_entire_message *)buf;
	kbus_check_entire(_metadata, m, r->msg_len);
	kbus_check_msg(_metadata, m, name, "data", 4, from_id);
	EXPECT_EQ(s->id.serial_num, m->header.id.serial_num);
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, to));
}

/*
 * The id of a send is written under the bus lock, where no page fault may
 * be taken: when it is on a page that cannot be written without one, the
 * send faults it in and is made again.  So are a short message and the
 * answer of a receive, first written under the lock: on a fault they are
 * written again with the lock dropped, where they may fault.  Both land:
 * here on the zero page (a page only read so far: reading the struct maps
 * it in so) and on pages shared copy-on-write with a child.
 */
TEST_F(sendrecv, answers_on_pages_only_read_so_far)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct kbus_send *s;
	struct kbus_recv *r;
	char *two, *three, *buf;
	int status;
	pid_t pid;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Answer.Page", 0));
	buf = sr_map(pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, buf);

	/* The id, and pid, uid and gid, at the start of the second page. */
	two = sr_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	s = (struct kbus_send *)(two + pg - offsetof(struct kbus_send, id));
	r = (struct kbus_recv *)(two + pg - pg / 2);
	sr_send_recv_at(_metadata, self->a, self->a_id, self->b, s, r, buf,
			pg);
	ASSERT_EQ(0, munmap(two, 2 * pg));
	two = sr_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	r = (struct kbus_recv *)(two + pg - offsetof(struct kbus_recv, pid));
	s = (struct kbus_send *)(two + pg / 2);
	sr_send_recv_at(_metadata, self->a, self->a_id, self->b, s, r, buf,
			pg);

	ASSERT_EQ(0, munmap(two, 2 * pg));

	/*
	 * Pages written, then shared with a child: copied on write.  The id
	 * at the start of the second page, the answer at that of the third.
	 */
	three = sr_map(3 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, three);
	memset(three, 0, 3 * pg);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	/* The first page, and the receive buffer, are the parent's own. */
	memset(three, 0, pg);
	memset(buf, 0, pg);
	s = (struct kbus_send *)(three + pg - offsetof(struct kbus_send, id));
	r = (struct kbus_recv *)(three + 2 * pg -
				 offsetof(struct kbus_recv, pid));
	sr_send_recv_at(_metadata, self->a, self->a_id, self->b, s, r, buf,
			pg);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, munmap(three, 3 * pg));
	ASSERT_EQ(0, munmap(buf, pg));
}

/* A receive whose answer cannot be written fails before it waits. */
TEST_F(sendrecv, recvmsg_with_a_read_only_struct_fails_before_waiting)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct kbus_recv *r;
	char buf[256];

	r = sr_map(pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, r);
	r->size = sizeof(*r);
	r->buf_ptr = (uintptr_t)buf;
	r->buf_len = sizeof(buf);
	ASSERT_EQ(0, mprotect(r, pg, PROT_READ));
	/* Nothing is queued: it fails at once, not when a message comes. */
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, r));
	ASSERT_EQ(0, munmap(r, pg));
}

/*
 * A message that was copied out but whose answer cannot be written is not
 * taken: the receive fails and the message stays queued, whether its body
 * was written with its header (small) or after it (large).
 */
TEST_F(sendrecv, recvmsg_with_a_read_only_struct_leaves_the_message_queued)
{
	static const __u32 data_lens[] = { 3, 1000 };
	long pg = sysconf(_SC_PAGESIZE);
	struct kbus_entire_message *m;
	static char data[1000];
	struct kbus_msg_id id;
	struct kbus_recv *r;
	static char buf[2048];
	unsigned int i;

	memset(data, 'd', sizeof(data));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Answer.ReadOnly", 0));
	for (i = 0; i < ARRAY_SIZE(data_lens); i++) {
		ASSERT_EQ(0, kbus_announce(self->a, "$.Answer.ReadOnly", data,
					   data_lens[i], &id));
		r = sr_map(pg, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, r);
		r->size = sizeof(*r);
		r->flags = KBUS_RECV_NONBLOCK;
		r->buf_ptr = (uintptr_t)buf;
		r->buf_len = sizeof(buf);
		ASSERT_EQ(0, mprotect(r, pg, PROT_READ));
		EXPECT_EQ(-EFAULT, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, r));
		EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
		ASSERT_EQ(0, munmap(r, pg));

		m = sr_recv(_metadata, self->b, 0, NULL);
		kbus_check_msg(_metadata, m, "$.Answer.ReadOnly", data,
			       data_lens[i], self->a_id);
		EXPECT_EQ(id.serial_num, m->header.id.serial_num);
		EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
		free(m);
	}
}

/*
 * A buffer whose pages were never touched is not mapped in yet: the copy
 * of the message faults them in (for a short message, once its copy under
 * the bus lock, with page faults disabled, has failed), and the message
 * is received whole, whatever its size.
 */
TEST_F(sendrecv, recvmsg_into_pages_not_yet_mapped_in)
{
	static const size_t sizes[] = { 3, 6000, 12000 };
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = 4 * pg, i, n;
	struct kbus_entire_message *m;
	struct kbus_msg_id id;
	struct kbus_recv r;
	char *data, *buf;

	data = malloc(sizes[ARRAY_SIZE(sizes) - 1]);
	ASSERT_NE(NULL, data);
	for (n = 0; n < sizes[ARRAY_SIZE(sizes) - 1]; n++)
		data[n] = 'a' + n % 26;
	ASSERT_EQ(0, kbus_bind(self->b, "$.Untouched", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Untouched.Req", 1));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		ASSERT_EQ(0, kbus_announce(self->a, "$.Untouched", data,
					   sizes[i], &id));
		m = sr_map(len, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, m);
		ASSERT_EQ(0, kbus_recvmsg(self->b, m, len, 0, &r));
		EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(11, sizes[i]), r.msg_len);
		kbus_check_entire(_metadata, m, r.msg_len);
		kbus_check_msg(_metadata, m, "$.Untouched", data, sizes[i],
			       self->a_id);
		EXPECT_EQ(id.serial_num, m->header.id.serial_num);
		munmap(m, len);
	}
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));

	/* The header lands on a page in use, the rest on one not mapped in. */
	ASSERT_EQ(0, kbus_announce(self->a, "$.Untouched", data, sizes[1],
				   &id));
	m = sr_map(len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	memset(m, 0xaa, 64);
	buf = (char *)m + pg - 256;
	ASSERT_EQ(0, kbus_recvmsg(self->b, buf, len - pg, 0, &r));
	kbus_check_entire(_metadata, (struct kbus_entire_message *)buf,
			  r.msg_len);
	kbus_check_msg(_metadata, (struct kbus_entire_message *)buf,
		       "$.Untouched", data, sizes[1], self->a_id);
	EXPECT_EQ(id.serial_num,
		  ((struct kbus_entire_message *)buf)->header.id.serial_num);
	munmap(m, len);

	/* A request received so is owed once. */
	ASSERT_EQ(0, sr_send_name(self->a, "$.Untouched.Req",
				  KBUS_BIT_WANT_A_REPLY, 0, &id));
	m = sr_map(len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, kbus_recvmsg(self->c, m, len, 0, NULL));
	EXPECT_EQ(id.serial_num, m->header.id.serial_num);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  m->header.flags);
	EXPECT_EQ(1U, kbus_unreplied(_metadata, self->c));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->c));
	munmap(m, len);
	free(data);
}

TEST_F(sendrecv, recvmsg_on_an_empty_queue_need_not_wait)
{
	char buf[SMALL_BUF];
	int nb;

	nb = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-EAGAIN, kbus_recvmsg(nb, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EAGAIN, kbus_recvmsg(self->b, buf, sizeof(buf),
					KBUS_RECV_NONBLOCK, NULL));

	/* With a message queued, both receive it. */
	ASSERT_EQ(0, kbus_bind(nb, "$.Empty", 0));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Empty", 0));
	ASSERT_EQ(0, sr_send_name(self->a, "$.Empty", 0, 0, NULL));
	EXPECT_EQ(0, kbus_recvmsg(nb, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(0, kbus_recvmsg(self->b, buf, sizeof(buf),
				  KBUS_RECV_NONBLOCK, NULL));
	EXPECT_EQ(-EAGAIN, kbus_recvmsg(nb, buf, sizeof(buf), 0, NULL));
	close(nb);
}

/* What a child saw when its blocking RECVMSG returned. */
struct recv_report {
	int ret;
	__u32 msg_len;
	__u32 name_len;
	char name[64];
};

/* Child: bind, say so, then a blocking RECVMSG; report what it got. */
static int waiting_receiver(void *arg, int in, int out)
{
	struct recv_report rep = { .ret = 1 };
	const char *name = arg;
	struct kbus_entire_message *m = malloc(SMALL_BUF);
	struct kbus_recv r;
	int fd;

	(void)in;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (!m || fd < 0)
		return 1;
	if (kbus_bind(fd, name, 0))
		return 2;
	if (kbus_post(out))
		return 3;
	rep.ret = kbus_recvmsg(fd, m, SMALL_BUF, 0, &r);
	rep.msg_len = r.msg_len;
	if (!rep.ret) {
		rep.name_len = m->header.name_len;
		if (rep.name_len < sizeof(rep.name))
			memcpy(rep.name, kbus_msg_name(m), rep.name_len);
	}
	if (kbus_pipe_write(out, &rep, sizeof(rep)))
		return 4;
	return 0;
}

TEST_F_TIMEOUT(sendrecv, blocking_recvmsg_waits_for_a_message, 30)
{
	static const char name[] = "$.Block.Recv";
	struct recv_report rep;
	struct kbus_child ch;

	kbus_spawn(_metadata, &ch, waiting_receiver, (void *)name);
	ASSERT_EQ(0, kbus_wait(ch.from_child));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(ch.from_child, POLLIN, 200))
		TH_LOG("RECVMSG returned with no message queued");
	ASSERT_EQ(0, kbus_announce(self->a, name, "abc", 3, NULL));
	ASSERT_EQ(0, kbus_pipe_read(ch.from_child, &rep, sizeof(rep)));
	EXPECT_EQ(0, rep.ret);
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(strlen(name), 3), rep.msg_len);
	EXPECT_EQ(strlen(name), rep.name_len);
	EXPECT_STREQ(name, rep.name);
	kbus_child_done(_metadata, &ch);
}

static volatile sig_atomic_t sr_alarms;

static void sr_count_alarm(int sig)
{
	(void)sig;
	sr_alarms++;
}

/*
 * A signal whose handler has no SA_RESTART ends a blocking RECVMSG with
 * EINTR, and takes nothing off the queue: what comes next is received.
 */
TEST_F_TIMEOUT(sendrecv, signal_without_sa_restart_ends_a_blocking_recvmsg_with_eintr, 30)
{
	static const char name[] = "$.Block.Intr";
	struct itimerval it = { .it_value = { .tv_usec = 200000 } };
	struct sigaction sa, old;
	struct kbus_recv r;
	char *buf = malloc(SMALL_BUF);

	ASSERT_NE(NULL, buf);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sr_count_alarm;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, &old));
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));

	sr_alarms = 0;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, kbus_recvmsg(self->b, buf, SMALL_BUF, 0, &r));
	EXPECT_EQ(1, sr_alarms);
	ASSERT_EQ(0, sigaction(SIGALRM, &old, NULL));

	ASSERT_EQ(0, kbus_announce(self->a, name, "abc", 3, NULL));
	EXPECT_EQ(0, kbus_recvmsg(self->b, buf, SMALL_BUF, 0, &r));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(strlen(name), 3), r.msg_len);
	kbus_expect_empty(_metadata, self->b);
	free(buf);
}

/* ---- Credentials ---- */

/* Child: send a message, report, and stay until told to go. */
static int cred_sender(void *arg, int in, int out)
{
	int fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC), ret;

	(void)arg;
	if (fd < 0)
		return 1;
	ret = sr_send_name(fd, "$.Cred.Child", 0, 0, NULL);
	if (kbus_pipe_write(out, &ret, sizeof(ret)))
		return 2;
	return kbus_wait(in) ? 3 : 0;
}

TEST_F_TIMEOUT(sendrecv, recvmsg_reports_sender_credentials, 30)
{
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	struct kbus_child ch;
	struct kbus_recv r;
	char buf[SMALL_BUF];
	int ret;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Cred.*", 0));

	/* Sent with SENDMSG by this process. */
	ASSERT_EQ(0, sr_send_name(self->a, "$.Cred.Msg", 0, 0, NULL));
	m = sr_recv(_metadata, self->b, KBUS_RECV_CREDS, &r);
	EXPECT_STREQ("$.Cred.Msg", kbus_msg_name(m));
	EXPECT_EQ(getpid(), r.pid);
	EXPECT_EQ(geteuid(), r.uid);
	EXPECT_EQ(getegid(), r.gid);
	free(m);

	/* Sent as an entire message. */
	kbus_msg_init(&h, "$.Cred.Entire", NULL, 0);
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, true, NULL));
	m = sr_recv(_metadata, self->b, KBUS_RECV_CREDS, &r);
	EXPECT_STREQ("$.Cred.Entire", kbus_msg_name(m));
	EXPECT_EQ(getpid(), r.pid);
	EXPECT_EQ(geteuid(), r.uid);
	EXPECT_EQ(getegid(), r.gid);
	free(m);

	/*
	 * Not asked for: the fields stay 0.  They must be 0 on input, so a
	 * receiver cannot preset them to tell "not set" from 0.
	 */
	ASSERT_EQ(0, sr_send_name(self->a, "$.Cred.Msg", 0, 0, NULL));
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.buf_ptr = (uintptr_t)buf;
	r.buf_len = sizeof(buf);
	r.gid = 12345;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &r));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	r.gid = 0;
	ASSERT_EQ(0, kbus_ioctl(self->b, KBUS_IOC_RECVMSG, &r));
	EXPECT_EQ(KBUS_ENTIRE_MSG_LEN(strlen("$.Cred.Msg"), 0), r.msg_len);
	EXPECT_EQ(0, r.pid);
	EXPECT_EQ(0U, r.uid);
	EXPECT_EQ(0U, r.gid);

	/* Sent by another process. */
	kbus_spawn(_metadata, &ch, cred_sender, NULL);
	ASSERT_EQ(0, kbus_pipe_read(ch.from_child, &ret, sizeof(ret)));
	ASSERT_EQ(0, ret);
	m = sr_recv(_metadata, self->b, KBUS_RECV_CREDS, &r);
	EXPECT_STREQ("$.Cred.Child", kbus_msg_name(m));
	EXPECT_EQ(ch.pid, r.pid);
	EXPECT_EQ(geteuid(), r.uid);
	EXPECT_EQ(getegid(), r.gid);
	free(m);
	ASSERT_EQ(0, kbus_post(ch.to_child));
	kbus_child_done(_metadata, &ch);

	/* Generated by KBUS: a replier goes away before reading. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.CredReq", 1));
	ASSERT_EQ(0, sr_send_name(self->a, "$.CredReq", KBUS_BIT_WANT_A_REPLY, 0,
				  NULL));
	close(self->c);
	self->c = kbus_open(_metadata);
	m = sr_recv(_metadata, self->a, KBUS_RECV_CREDS, &r);
	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_GONEAWAY, kbus_msg_name(m));
	EXPECT_TRUE(!!(m->header.flags & KBUS_BIT_SYNTHETIC));
	EXPECT_EQ(0U, m->header.from);
	EXPECT_EQ(0, r.pid);
	free(m);
}

/* Stages a namespace child reports. */
enum {
	NS_OPEN = 1,
	NS_UNSHARE,
	NS_MAP,
	NS_FORK,
	NS_READY,
	NS_RECV,
	NS_SEND,
};

struct ns_report {
	int stage;
	int err;		/* 0 or -errno */
	__s32 pid;
	__u32 uid;
	__u32 gid;
};

/* Write a report: 0, or 100 + stage if the pipe failed (an exit code). */
static int ns_tell(int out, int stage, int err, __s32 pid, __u32 uid,
		   __u32 gid)
{
	struct ns_report rep = {
		.stage = stage,
		.err = err,
		.pid = pid,
		.uid = uid,
		.gid = gid,
	};

	return kbus_pipe_write(out, &rep, sizeof(rep)) ? 100 + stage : 0;
}

/*
 * Read the next report of a namespace child: it must be for @stage and
 * say success.  A refused unshare() fails the test naming @need.
 */
static void ns_expect(struct __test_metadata *const _metadata,
		      struct kbus_child *c, int stage, const char *need,
		      struct ns_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	ASSERT_EQ(0, kbus_pipe_read(c->from_child, rep, sizeof(*rep)))
		TH_LOG("no report from the child for stage %d", stage);
	if (rep->stage == NS_UNSHARE) {
		ASSERT_EQ(0, rep->err)
			TH_LOG("unshare() was refused (%s): %s needed",
			       strerror(-rep->err), need);
	}
	ASSERT_EQ(stage, rep->stage)
		TH_LOG("the child failed at stage %d: %s", rep->stage,
		       strerror(-rep->err));
	ASSERT_EQ(0, rep->err)
		TH_LOG("stage %d: %s", stage, strerror(-rep->err));
}

struct userns_arg {
	bool map;
};

/*
 * Child: open a Ksock, enter a new user namespace (mapping its own ids to
 * 1000 if asked), receive a message from the parent and send one back.
 */
static int userns_child(void *arg, int in, int out)
{
	const struct userns_arg *ua = arg;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct kbus_recv r;
	char map[64];
	int fd, ret;

	memset(&r, 0, sizeof(r));
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ns_tell(out, NS_OPEN, -errno, 0, 0, 0);
	ret = kbus_bind(fd, "$.UserNs.Down", 0);
	if (ret)
		return ns_tell(out, NS_OPEN, ret, 0, 0, 0);
	if (unshare(CLONE_NEWUSER))
		return ns_tell(out, NS_UNSHARE, -errno, 0, 0, 0);
	/* A change of user namespace clears the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (ua->map) {
		ret = kbus_write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "1000 %u 1", (unsigned int)uid);
		if (!ret)
			ret = kbus_write_file("/proc/self/uid_map", map);
		snprintf(map, sizeof(map), "1000 %u 1", (unsigned int)gid);
		if (!ret)
			ret = kbus_write_file("/proc/self/gid_map", map);
		if (ret)
			return ns_tell(out, NS_MAP, ret, 0, 0, 0);
	}
	ret = ns_tell(out, NS_READY, 0, getpid(), geteuid(), getegid());
	if (ret)
		return ret;
	ret = sr_recv_named(fd, "$.UserNs.Down", &r);
	ret = ns_tell(out, NS_RECV, ret, r.pid, r.uid, r.gid);
	if (ret)
		return ret;
	ret = sr_send_name(fd, "$.UserNs.Up", 0, 0, NULL);
	ret = ns_tell(out, NS_SEND, ret, 0, 0, 0);
	if (ret)
		return ret;
	/* Stay until the parent has received. */
	return kbus_wait(in) ? 1 : 0;
}

static void check_user_ns(struct __test_metadata *const _metadata, int a,
			  int b, bool map)
{
	struct userns_arg ua = { .map = map };
	__u32 want = map ? 1000 : OVERFLOW_ID;
	const char *need = geteuid() ?
		"CONFIG_USER_NS=y (and unprivileged user namespaces allowed)" :
		"CONFIG_USER_NS=y";
	struct kbus_entire_message *m;
	struct ns_report rep;
	struct kbus_child ch;
	struct kbus_recv r;

	ASSERT_EQ(0, kbus_bind(b, "$.UserNs.Up", 0));
	kbus_spawn(_metadata, &ch, userns_child, &ua);
	ns_expect(_metadata, &ch, NS_READY, need, &rep);
	EXPECT_EQ(want, rep.uid)
		TH_LOG("the child's own uid in its user namespace");
	EXPECT_EQ(want, rep.gid)
		TH_LOG("the child's own gid in its user namespace");

	/* From the parent to the child in its user namespace. */
	ASSERT_EQ(0, sr_send_name(a, "$.UserNs.Down", 0, 0, NULL));
	ns_expect(_metadata, &ch, NS_RECV, need, &rep);
	EXPECT_EQ(getpid(), rep.pid);
	EXPECT_EQ(want, rep.uid);
	EXPECT_EQ(want, rep.gid);

	/* Back: the parent sees the child's ids as they are outside. */
	ns_expect(_metadata, &ch, NS_SEND, need, &rep);
	m = sr_recv(_metadata, b, KBUS_RECV_CREDS, &r);
	EXPECT_STREQ("$.UserNs.Up", kbus_msg_name(m));
	EXPECT_EQ(ch.pid, r.pid);
	EXPECT_EQ(geteuid(), r.uid);
	EXPECT_EQ(getegid(), r.gid);
	free(m);
	ASSERT_EQ(0, kbus_post(ch.to_child));
	kbus_child_done(_metadata, &ch);
}

TEST_F_TIMEOUT(sendrecv, creds_of_a_sender_unmapped_in_a_user_ns_are_overflow_ids, 60)
{
	check_user_ns(_metadata, self->a, self->b, false);
}

TEST_F_TIMEOUT(sendrecv, creds_are_translated_into_the_receivers_user_ns, 60)
{
	check_user_ns(_metadata, self->a, self->b, true);
}

/* Grandchild, init of a new pid namespace: receive, then send. */
static int pidns_grandchild(int in, int out)
{
	struct kbus_recv r;
	int fd, ret;

	memset(&r, 0, sizeof(r));
	/* The parent has read the child's report of our pid. */
	if (kbus_wait(in))
		return 1;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ns_tell(out, NS_OPEN, -errno, 0, 0, 0);
	ret = kbus_bind(fd, "$.PidNs.Down", 0);
	if (ret)
		return ns_tell(out, NS_OPEN, ret, 0, 0, 0);
	ret = ns_tell(out, NS_READY, 0, getpid(), 0, 0);
	if (ret)
		return ret;
	ret = sr_recv_named(fd, "$.PidNs.Down", &r);
	ret = ns_tell(out, NS_RECV, ret, r.pid, r.uid, r.gid);
	if (ret)
		return ret;
	ret = sr_send_name(fd, "$.PidNs.Up", 0, 0, NULL);
	ret = ns_tell(out, NS_SEND, ret, 0, 0, 0);
	if (ret)
		return ret;
	/* Stay until the parent has received. */
	return kbus_wait(in) ? 2 : 0;
}

/* Child: unshare the pid namespace and fork its init; report its pid. */
static int pidns_child(void *arg, int in, int out)
{
	int flags = *(const int *)arg, status, ret;
	pid_t pid;

	if (unshare(flags))
		return ns_tell(out, NS_UNSHARE, -errno, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pid = fork();
	if (pid < 0)
		return ns_tell(out, NS_FORK, -errno, 0, 0, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(pidns_grandchild(in, out));
	}
	ret = ns_tell(out, NS_FORK, 0, pid, 0, 0);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return ret;
	}
	if (waitpid(pid, &status, 0) != pid)
		return 3;
	if (!WIFEXITED(status))
		return 4;
	return WEXITSTATUS(status) ? 10 + WEXITSTATUS(status) : 0;
}

TEST_F_TIMEOUT(sendrecv, creds_pid_is_translated_into_the_receivers_pid_ns, 60)
{
	/* Without root, a user namespace makes CLONE_NEWPID possible. */
	int flags = CLONE_NEWPID | (geteuid() ? CLONE_NEWUSER : 0);
	const char *need = geteuid() ?
		"CONFIG_PID_NS=y and CONFIG_USER_NS=y" : "CONFIG_PID_NS=y";
	struct kbus_entire_message *m;
	struct ns_report rep;
	struct kbus_child ch;
	struct kbus_recv r;
	pid_t gpid;

	ASSERT_EQ(0, kbus_bind(self->b, "$.PidNs.Up", 0));
	kbus_spawn(_metadata, &ch, pidns_child, &flags);
	ns_expect(_metadata, &ch, NS_FORK, need, &rep);
	gpid = rep.pid;
	ASSERT_LT(0, gpid);
	ASSERT_EQ(0, kbus_post(ch.to_child));
	ns_expect(_metadata, &ch, NS_READY, need, &rep);
	EXPECT_EQ(1, rep.pid)
		TH_LOG("the grandchild should be init of its pid namespace");

	/* The parent is not visible in the grandchild's namespace. */
	ASSERT_EQ(0, sr_send_name(self->a, "$.PidNs.Down", 0, 0, NULL));
	ns_expect(_metadata, &ch, NS_RECV, need, &rep);
	EXPECT_EQ(0, rep.pid);

	/* The grandchild is, in the parent's, with the pid fork() gave. */
	ns_expect(_metadata, &ch, NS_SEND, need, &rep);
	m = sr_recv(_metadata, self->b, KBUS_RECV_CREDS, &r);
	EXPECT_STREQ("$.PidNs.Up", kbus_msg_name(m));
	EXPECT_EQ(gpid, r.pid);
	free(m);
	ASSERT_EQ(0, kbus_post(ch.to_child));
	kbus_child_done(_metadata, &ch);
}

/* ---- Blocking calls and signals ---- */

/* Child: a blocking RECVMSG on an empty queue; reports if it returns. */
static int blocked_receiver(void *arg, int in, int out)
{
	char buf[SMALL_BUF];
	int fd, ret;

	(void)arg;
	(void)in;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_post(out))
		return 2;
	ret = kbus_recvmsg(fd, buf, sizeof(buf), 0, NULL);
	kbus_pipe_write(out, &ret, sizeof(ret));
	return 3;
}

/* Child: an ALL_OR_WAIT SENDMSG of @arg; reports if it returns. */
static int blocked_sender(void *arg, int in, int out)
{
	const char *name = arg;
	int fd, ret;

	(void)in;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_post(out))
		return 2;
	ret = sr_send_name(fd, name, KBUS_BIT_ALL_OR_WAIT, 0, NULL);
	kbus_pipe_write(out, &ret, sizeof(ret));
	return 3;
}

TEST_F_TIMEOUT(sendrecv, sigkill_ends_a_blocked_recvmsg, 30)
{
	struct kbus_child ch;

	kbus_spawn(_metadata, &ch, blocked_receiver, NULL);
	kbus_child_kill_blocked(_metadata, &ch);
}

TEST_F_TIMEOUT(sendrecv, sigkill_ends_a_sendmsg_waiting_for_room, 30)
{
	static const char name[] = "$.Kill.Send";
	struct kbus_entire_message *m;
	struct kbus_child ch;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));
	kbus_spawn(_metadata, &ch, blocked_sender, (void *)name);
	kbus_child_kill_blocked(_metadata, &ch);

	/* Nothing of the killed send is left. */
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	m = sr_recv(_metadata, self->b, 0, NULL);
	EXPECT_EQ(self->a_id, m->header.from);
	free(m);
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, sr_send_name(self->a, name, KBUS_BIT_ALL_OR_WAIT,
				  KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
}

TEST_F_TIMEOUT(sendrecv, cancel_makes_a_waiting_sendmsg_return_ecanceled, 60)
{
	static const char name[] = "$.Cancel";
	struct kbus_entire_message *m;
	struct kbus_sender s;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));
	/* Nothing waits: nothing to do, and nothing is remembered. */
	EXPECT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_CANCEL, NULL));

	kbus_sender_start(_metadata, &s, self->a, name, KBUS_BIT_ALL_OR_WAIT);
	/* Another Ksock's CANCEL does not touch it. */
	EXPECT_EQ(0, kbus_ioctl(self->c, KBUS_IOC_CANCEL, NULL));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(s.pipe[0], POLLIN, 200))
		TH_LOG("CANCEL of another Ksock ended the send");
	EXPECT_EQ(0, kbus_ioctl(self->a, KBUS_IOC_CANCEL, NULL));
	EXPECT_EQ(-ECANCELED, kbus_sender_finish(_metadata, &s));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));

	/* A later send waits, and goes once there is room. */
	kbus_sender_start(_metadata, &s, self->a, name, KBUS_BIT_ALL_OR_WAIT);
	sr_expect_next(_metadata, self->b, name);
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	m = sr_recv(_metadata, self->b, 0, NULL);
	EXPECT_EQ(s.id.serial_num, m->header.id.serial_num);
	free(m);
}

TEST_F_TIMEOUT(sendrecv, a_waiting_sendmsg_takes_its_id_when_delivered, 60)
{
	struct kbus_msg_id first, id_b;
	struct kbus_entire_message *m;
	struct kbus_sender s;
	int d;

	d = kbus_open(_metadata);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Wait.A", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Wait.B", 0));
	ASSERT_EQ(0, sr_send_name(d, "$.Wait.A", 0, 0, &first));

	kbus_sender_start(_metadata, &s, self->a, "$.Wait.A",
			  KBUS_BIT_ALL_OR_WAIT);
	ASSERT_EQ(0, sr_send_name(d, "$.Wait.B", 0, 0, &id_b));
	m = sr_recv(_metadata, self->b, 0, NULL);
	EXPECT_STREQ("$.Wait.A", kbus_msg_name(m));
	EXPECT_EQ(first.serial_num, m->header.id.serial_num);
	free(m);
	ASSERT_EQ(0, kbus_sender_finish(_metadata, &s));
	EXPECT_LT(id_b.serial_num, s.id.serial_num)
		TH_LOG("the waiting send kept the id of its first attempt");

	m = sr_recv(_metadata, self->b, 0, NULL);
	EXPECT_STREQ("$.Wait.A", kbus_msg_name(m));
	EXPECT_EQ(self->a_id, m->header.from);
	EXPECT_EQ(s.id.network_id, m->header.id.network_id);
	EXPECT_EQ(s.id.serial_num, m->header.id.serial_num);
	free(m);
	m = sr_recv(_metadata, self->c, 0, NULL);
	EXPECT_STREQ("$.Wait.B", kbus_msg_name(m));
	EXPECT_EQ(id_b.serial_num, m->header.id.serial_num);
	free(m);
	close(d);
}

TEST_F_TIMEOUT(sendrecv, unbind_wakes_a_waiting_sendmsg, 60)
{
	static const char name[] = "$.Unbind.Wait";
	struct kbus_sender s;

	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));
	kbus_sender_start(_metadata, &s, self->a, name, KBUS_BIT_ALL_OR_WAIT);
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, name, 0));
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
}

TEST_F_TIMEOUT(sendrecv, only_once_wakes_a_waiting_sendmsg, 60)
{
	struct kbus_sender s;

	kbus_set_max_msgs(_metadata, self->b, 2);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Once.A", 0));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Once.*", 0));
	ASSERT_EQ(0, sr_send_name(self->a, "$.Once.B", 0, 0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));

	/* Two copies do not fit. */
	kbus_sender_start(_metadata, &s, self->a, "$.Once.A",
			  KBUS_BIT_ALL_OR_WAIT);
	EXPECT_EQ(0U, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 1));
	EXPECT_EQ(0, kbus_sender_finish(_metadata, &s));
	EXPECT_EQ(2U, kbus_num_msgs(_metadata, self->b));
	sr_expect_next(_metadata, self->b, "$.Once.B");
	sr_expect_next(_metadata, self->b, "$.Once.A");
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
}

/* ---- poll and epoll ---- */

TEST_F(sendrecv, nonblocking_all_or_wait_sendmsg_keeps_nothing)
{
	static const char name[] = "$.Keep";
	int nb;

	nb = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, nb);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));

	EXPECT_EQ(-EAGAIN, sr_send_name(self->a, name, KBUS_BIT_ALL_OR_WAIT,
					KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(-EAGAIN, sr_send_name(nb, name, KBUS_BIT_ALL_OR_WAIT, 0,
					NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0ULL, kbus_dropped(_metadata, self->b));

	/* Neither Ksock is left with a send in hand: the next one goes. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Keep.Other", 0));
	EXPECT_EQ(0, sr_send_name(self->a, "$.Keep.Other", 0, 0, NULL));
	EXPECT_EQ(0, sr_send_name(nb, "$.Keep.Other", 0, 0, NULL));
	EXPECT_EQ(2U, kbus_num_msgs(_metadata, self->c));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));

	/* Room made and polled: nothing turns up later. */
	sr_expect_next(_metadata, self->b, name);
	kbus_poll_now(self->a);
	kbus_poll_now(nb);
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->b));
	close(nb);
}

TEST_F(sendrecv, pollout_after_eagain_waits_for_room)
{
	static const char name[] = "$.Out";
	struct epoll_event ev, got;
	int nb, lt, et;

	nb = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, nb);
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));
	EXPECT_TRUE(!!(kbus_poll_now(nb) & POLLOUT));

	EXPECT_EQ(-EAGAIN, sr_send_name(nb, name, KBUS_BIT_ALL_OR_WAIT, 0,
					NULL));
	EXPECT_FALSE(kbus_poll_now(nb) & POLLOUT);

	lt = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, lt);
	et = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, et);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.fd = nb;
	ASSERT_EQ(0, epoll_ctl(lt, EPOLL_CTL_ADD, nb, &ev));
	ev.events = EPOLLOUT | EPOLLET;
	ASSERT_EQ(0, epoll_ctl(et, EPOLL_CTL_ADD, nb, &ev));
	EXPECT_EQ(0, epoll_wait(lt, &got, 1, 0));
	EXPECT_EQ(0, epoll_wait(et, &got, 1, 0));
	EXPECT_FALSE(kbus_poll_now(nb) & POLLOUT);

	/* Room is made. */
	sr_expect_next(_metadata, self->b, name);
	EXPECT_TRUE(!!(kbus_poll_now(nb) & POLLOUT));
	memset(&got, 0, sizeof(got));
	ASSERT_EQ(1, epoll_wait(lt, &got, 1, KBUS_WAIT_MS));
	EXPECT_TRUE(!!(got.events & EPOLLOUT));
	memset(&got, 0, sizeof(got));
	ASSERT_EQ(1, epoll_wait(et, &got, 1, KBUS_WAIT_MS))
		TH_LOG("edge-triggered epoll missed the room being made");
	EXPECT_TRUE(!!(got.events & EPOLLOUT));

	EXPECT_EQ(0, sr_send_name(nb, name, KBUS_BIT_ALL_OR_WAIT, 0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->b));
	/* Writable again, full queue or not: the last send went. */
	EXPECT_TRUE(!!(kbus_poll_now(nb) & POLLOUT));
	close(et);
	close(lt);
	close(nb);
}

TEST_F(sendrecv, epoll_reports_pollin_level_and_edge_triggered)
{
	static const char name[] = "$.In";
	struct epoll_event ev, got;
	int lt, et;

	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	lt = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, lt);
	et = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, et);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = self->b;
	ASSERT_EQ(0, epoll_ctl(lt, EPOLL_CTL_ADD, self->b, &ev));
	ev.events = EPOLLIN | EPOLLET;
	ASSERT_EQ(0, epoll_ctl(et, EPOLL_CTL_ADD, self->b, &ev));
	EXPECT_EQ(0, epoll_wait(lt, &got, 1, 0));
	EXPECT_EQ(0, epoll_wait(et, &got, 1, 0));

	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));
	memset(&got, 0, sizeof(got));
	ASSERT_EQ(1, epoll_wait(lt, &got, 1, KBUS_WAIT_MS));
	EXPECT_TRUE(!!(got.events & EPOLLIN));
	memset(&got, 0, sizeof(got));
	ASSERT_EQ(1, epoll_wait(et, &got, 1, KBUS_WAIT_MS));
	EXPECT_TRUE(!!(got.events & EPOLLIN));

	/* Level-triggered reports it again, edge-triggered does not. */
	EXPECT_EQ(1, epoll_wait(lt, &got, 1, 0));
	EXPECT_EQ(0, epoll_wait(et, &got, 1, 0));

	/* Another message is another edge. */
	ASSERT_EQ(0, sr_send_name(self->a, name, 0, 0, NULL));
	memset(&got, 0, sizeof(got));
	EXPECT_EQ(1, epoll_wait(et, &got, 1, KBUS_WAIT_MS));
	EXPECT_TRUE(!!(got.events & EPOLLIN));
	EXPECT_EQ(0, epoll_wait(et, &got, 1, 0));

	/* Drained: neither reports. */
	sr_expect_next(_metadata, self->b, name);
	sr_expect_next(_metadata, self->b, name);
	EXPECT_EQ(0, epoll_wait(lt, &got, 1, 0));
	EXPECT_EQ(0, epoll_wait(et, &got, 1, 0));
	close(et);
	close(lt);
}

TEST_F(sendrecv, poll_does_not_send_a_refused_sendmsg)
{
	static const char name[] = "$.Poll.Req";
	struct kbus_entire_message *m;
	struct pollfd p;
	int nb;

	nb = open(KBUS_DEV0, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, nb);
	kbus_set_max_msgs(_metadata, self->c, 1);
	ASSERT_EQ(0, kbus_bind(self->c, name, 1));
	ASSERT_EQ(0, sr_send_name(nb, name, KBUS_BIT_WANT_A_REPLY, 0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->c));

	EXPECT_EQ(-EAGAIN, sr_send_name(nb, name, KBUS_BIT_WANT_A_REPLY |
					KBUS_BIT_ALL_OR_WAIT, 0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->c));

	/* Room at the replier. */
	m = sr_recv(_metadata, self->c, 0, NULL);
	free(m);
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->c));

	memset(&p, 0, sizeof(p));
	p.fd = nb;
	p.events = POLLIN;
	EXPECT_LE(0, poll(&p, 1, 0));
	EXPECT_TRUE(!!(kbus_poll_now(nb) & POLLOUT));
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, self->c))
		TH_LOG("poll() sent the refused request");
	EXPECT_EQ(0U, kbus_num_msgs(_metadata, nb));

	/* Sending it again would have worked. */
	EXPECT_EQ(0, sr_send_name(nb, name, KBUS_BIT_WANT_A_REPLY |
				  KBUS_BIT_ALL_OR_WAIT, 0, NULL));
	EXPECT_EQ(1U, kbus_num_msgs(_metadata, self->c));
	close(nb);
}

TEST_HARNESS_MAIN
