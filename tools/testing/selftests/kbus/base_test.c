// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - ABI edge tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <linux/capability.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "common.h"

/* A user address that faults: a page with no access. */
static void *fault_page(void)
{
	void *p = mmap(NULL, getpagesize(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

TEST(struct_layout)
{
	/* One layout for 32-bit and 64-bit processes. */
	EXPECT_EQ(8, sizeof(struct kbus_msg_id));
	EXPECT_EQ(8, sizeof(struct kbus_orig_from));
	EXPECT_EQ(88, sizeof(struct kbus_message_header));
	EXPECT_EQ(0, offsetof(struct kbus_message_header, start_guard));
	EXPECT_EQ(4, offsetof(struct kbus_message_header, id));
	EXPECT_EQ(12, offsetof(struct kbus_message_header, in_reply_to));
	EXPECT_EQ(20, offsetof(struct kbus_message_header, to));
	EXPECT_EQ(24, offsetof(struct kbus_message_header, from));
	EXPECT_EQ(28, offsetof(struct kbus_message_header, orig_from));
	EXPECT_EQ(36, offsetof(struct kbus_message_header, final_to));
	EXPECT_EQ(44, offsetof(struct kbus_message_header, extra));
	EXPECT_EQ(48, offsetof(struct kbus_message_header, flags));
	EXPECT_EQ(52, offsetof(struct kbus_message_header, name_len));
	EXPECT_EQ(56, offsetof(struct kbus_message_header, data_len));
	EXPECT_EQ(60, offsetof(struct kbus_message_header, __reserved0));
	EXPECT_EQ(64, offsetof(struct kbus_message_header, name));
	EXPECT_EQ(72, offsetof(struct kbus_message_header, data));
	EXPECT_EQ(80, offsetof(struct kbus_message_header, end_guard));
	EXPECT_EQ(84, offsetof(struct kbus_message_header, __reserved1));
	EXPECT_EQ(88, sizeof(struct kbus_entire_message));
	EXPECT_EQ(88, offsetof(struct kbus_entire_message, rest));

	EXPECT_EQ(16, sizeof(struct kbus_bind_request));
	EXPECT_EQ(0, offsetof(struct kbus_bind_request, is_replier));
	EXPECT_EQ(4, offsetof(struct kbus_bind_request, name_len));
	EXPECT_EQ(8, offsetof(struct kbus_bind_request, name));
	EXPECT_EQ(16, sizeof(struct kbus_bind_query));
	EXPECT_EQ(0, offsetof(struct kbus_bind_query, return_id));
	EXPECT_EQ(4, offsetof(struct kbus_bind_query, name_len));
	EXPECT_EQ(8, offsetof(struct kbus_bind_query, name));
	EXPECT_EQ(12, sizeof(struct kbus_replier_bind_event_data));
	EXPECT_EQ(8, sizeof(struct kbus_version));

	/* "Kbus" and "subK" in memory on little-endian machines. */
	EXPECT_EQ(0x7375624B, KBUS_MSG_START_GUARD);
	EXPECT_EQ(0x4B627573, KBUS_MSG_END_GUARD);
	EXPECT_EQ(1000, KBUS_MAX_NAME_LEN);
	EXPECT_EQ(0xFFFF0000U, KBUS_USER_FLAGS_MASK);
	EXPECT_EQ(0, KBUS_FLAGS_MASK & KBUS_USER_FLAGS_MASK);
}

TEST(entire_message_lengths)
{
	EXPECT_EQ(4, KBUS_PADDED_NAME_LEN(3));
	EXPECT_EQ(8, KBUS_PADDED_NAME_LEN(4));
	EXPECT_EQ(8, KBUS_PADDED_NAME_LEN(6));
	EXPECT_EQ(8, KBUS_PADDED_NAME_LEN(7));
	EXPECT_EQ(1004, KBUS_PADDED_NAME_LEN(1000));
	EXPECT_EQ(0, KBUS_PADDED_DATA_LEN(0));
	EXPECT_EQ(4, KBUS_PADDED_DATA_LEN(1));
	EXPECT_EQ(4, KBUS_PADDED_DATA_LEN(4));
	EXPECT_EQ(8, KBUS_PADDED_DATA_LEN(5));

	/* The shortest message, "$.A" without data. */
	EXPECT_EQ(96, KBUS_ENTIRE_MSG_LEN(3, 0));
	/* "$.Fred" without and with 4 bytes of data. */
	EXPECT_EQ(100, KBUS_ENTIRE_MSG_LEN(6, 0));
	EXPECT_EQ(104, KBUS_ENTIRE_MSG_LEN(6, 4));
	EXPECT_EQ(2, KBUS_ENTIRE_MSG_DATA_INDEX(6));
	EXPECT_EQ(2, KBUS_ENTIRE_MSG_END_GUARD_INDEX(6, 0));
	EXPECT_EQ(3, KBUS_ENTIRE_MSG_END_GUARD_INDEX(6, 4));
	EXPECT_EQ(4, KBUS_ENTIRE_MSG_END_GUARD_INDEX(6, 5));
}

static const struct {
	unsigned long cmd;
	const char *name;
	unsigned int dir;
	unsigned int nr;
	unsigned int size;
} kbus_ioctls[] = {
	{ KBUS_IOC_RESET, "RESET", _IOC_NONE, 1, 0 },
	{ KBUS_IOC_BIND, "BIND", _IOC_WRITE, 2, 16 },
	{ KBUS_IOC_UNBIND, "UNBIND", _IOC_WRITE, 3, 16 },
	{ KBUS_IOC_KSOCKID, "KSOCKID", _IOC_READ, 4, 4 },
	{ KBUS_IOC_REPLIER, "REPLIER", _IOC_READ | _IOC_WRITE, 5, 16 },
	{ KBUS_IOC_NEXTMSG, "NEXTMSG", _IOC_READ, 6, 4 },
	{ KBUS_IOC_LENLEFT, "LENLEFT", _IOC_READ, 7, 4 },
	{ KBUS_IOC_SEND, "SEND", _IOC_READ, 8, 8 },
	{ KBUS_IOC_DISCARD, "DISCARD", _IOC_NONE, 9, 0 },
	{ KBUS_IOC_LASTSENT, "LASTSENT", _IOC_READ, 10, 8 },
	{ KBUS_IOC_MAXMSGS, "MAXMSGS", _IOC_READ | _IOC_WRITE, 11, 4 },
	{ KBUS_IOC_NUMMSGS, "NUMMSGS", _IOC_READ, 12, 4 },
	{ KBUS_IOC_UNREPLIEDTO, "UNREPLIEDTO", _IOC_READ, 13, 4 },
	{ KBUS_IOC_MSGONLYONCE, "MSGONLYONCE", _IOC_READ | _IOC_WRITE, 14, 4 },
	{ KBUS_IOC_VERBOSE, "VERBOSE", _IOC_READ | _IOC_WRITE, 15, 4 },
	{ KBUS_IOC_NEWDEVICE, "NEWDEVICE", _IOC_READ, 16, 4 },
	{ KBUS_IOC_REPORTREPLIERBINDS, "REPORTREPLIERBINDS",
	  _IOC_READ | _IOC_WRITE, 17, 4 },
	{ KBUS_IOC_MAXMSGSIZE, "MAXMSGSIZE", _IOC_READ | _IOC_WRITE, 18, 4 },
	{ KBUS_IOC_VERSION, "VERSION", _IOC_READ, 19, 8 },
	{ KBUS_IOC_DROPPED, "DROPPED", _IOC_READ, 20, 8 },
	/* Size-first arguments: the size is in the struct, not the number. */
	{ KBUS_IOC_SENDMSG, "SENDMSG", _IOC_NONE, 21, 0 },
	{ KBUS_IOC_RECVMSG, "RECVMSG", _IOC_NONE, 22, 0 },
	{ KBUS_IOC_CANCEL, "CANCEL", _IOC_NONE, 23, 0 },
};

TEST(ioctl_numbers_encode_argument_sizes)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kbus_ioctls); i++) {
		unsigned long cmd = kbus_ioctls[i].cmd;

		TH_LOG("KBUS_IOC_%s = 0x%lx", kbus_ioctls[i].name, cmd);
		EXPECT_EQ(KBUS_IOC_MAGIC, _IOC_TYPE(cmd));
		EXPECT_EQ(kbus_ioctls[i].nr, _IOC_NR(cmd));
		EXPECT_EQ(kbus_ioctls[i].dir, _IOC_DIR(cmd));
		EXPECT_EQ(kbus_ioctls[i].size, _IOC_SIZE(cmd));
	}
	EXPECT_EQ(0xB9, KBUS_IOC_MAGIC);
}

FIXTURE(kbus) {
	bool skip;
	int fd;
	int listener;
	__u32 max_size;
	__u32 verbose;
	__u32 report;
};

FIXTURE_SETUP(kbus)
{
	self->fd = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->fd < 0) {
		self->skip = true;
		return;
	}
	self->listener = kbus_open(_metadata);
	/* Bus-wide settings, restored by the teardown. */
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 0,
				  &self->max_size));
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_VERBOSE, KBUS_QUERY,
				  &self->verbose));
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_REPORTREPLIERBINDS,
				  KBUS_QUERY, &self->report));
}

FIXTURE_TEARDOWN(kbus)
{
	if (self->skip)
		return;
	/* Best effort: a test may have dropped CAP_SYS_ADMIN. */
	kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, self->max_size, NULL);
	kbus_set_u32(self->fd, KBUS_IOC_VERBOSE, self->verbose, NULL);
	kbus_set_u32(self->fd, KBUS_IOC_REPORTREPLIERBINDS, self->report,
		     NULL);
	close(self->listener);
	close(self->fd);
}

TEST_F(kbus, version_reports_abi_and_base_feature)
{
	struct kbus_version v;

	memset(&v, 0xff, sizeof(v));
	ASSERT_EQ(0, kbus_ioctl(self->fd, KBUS_IOC_VERSION, &v));
	EXPECT_EQ(KBUS_ABI_VERSION, v.abi_version);
	EXPECT_EQ(KBUS_FEATURE_BASE, v.features & KBUS_FEATURE_BASE);
}

TEST_F(kbus, reset_returns_zero)
{
	EXPECT_EQ(0, kbus_ioctl(self->fd, KBUS_IOC_RESET, NULL));
}

TEST_F(kbus, ksock_ids_are_unique_and_nonzero)
{
	__u32 a = kbus_ksock_id(_metadata, self->fd);
	__u32 b = kbus_ksock_id(_metadata, self->listener);
	int fd = kbus_open(_metadata);
	__u32 c = kbus_ksock_id(_metadata, fd);

	EXPECT_NE(0, a);
	EXPECT_NE(0, b);
	EXPECT_NE(0, c);
	EXPECT_NE(a, b);
	EXPECT_NE(a, c);
	EXPECT_NE(b, c);
	/* Stable for the life of the Ksock. */
	EXPECT_EQ(a, kbus_ksock_id(_metadata, self->fd));
	close(fd);
}

TEST_F(kbus, unknown_ioctl_fails_enotty)
{
	const unsigned long cmds[] = {
		_IO(KBUS_IOC_MAGIC, 0),
		_IO(KBUS_IOC_MAGIC, 24),
		_IO(KBUS_IOC_MAGIC, 100),
		_IOR(KBUS_IOC_MAGIC, 21, __u32),
		_IOWR(KBUS_IOC_MAGIC, 255, __u64),
		/* The original KBUS's numbers: magic 'k', pointer sizes. */
		_IO('k', 1),
		_IOW('k', 2, char *),
		_IOR('k', 4, char *),
		_IOR('k', 6, char *),
		_IOR('k', 8, char *),
	};
	__u64 arg[4] = {};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], arg));
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("cmd 0x%lx", cmds[i]);
	}
}

/* Every known command number, encoded with a wrong size or direction. */
TEST_F(kbus, ioctl_with_wrong_size_or_direction_fails_enotty)
{
	const unsigned int sizes[] = { 0, 1, 4, 7, 8, 15, 16, 17, 24, 4097 };
	const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	static __u64 arg[1024];
	size_t i, s, d;

	for (i = 0; i < ARRAY_SIZE(kbus_ioctls); i++) {
		for (d = 0; d < ARRAY_SIZE(dirs); d++) {
			for (s = 0; s < ARRAY_SIZE(sizes); s++) {
				unsigned long cmd;

				if (dirs[d] == kbus_ioctls[i].dir &&
				    sizes[s] == kbus_ioctls[i].size)
					continue;
				/* No size without a direction. */
				if (dirs[d] == _IOC_NONE && sizes[s])
					continue;
				cmd = _IOC(dirs[d], KBUS_IOC_MAGIC,
					   kbus_ioctls[i].nr, sizes[s]);
				memset(arg, 0, sizeof(arg));
				errno = 0;
				EXPECT_EQ(-1, ioctl(self->fd, cmd, arg))
					TH_LOG("%s as 0x%lx",
					       kbus_ioctls[i].name, cmd);
				EXPECT_EQ(ENOTTY, errno)
					TH_LOG("%s as 0x%lx",
					       kbus_ioctls[i].name, cmd);
			}
		}
	}
}

TEST_F(kbus, null_or_bad_ioctl_pointer_fails_efault)
{
	/* Every command that takes a pointer, except NEWDEVICE and SEND. */
	const unsigned long cmds[] = {
		KBUS_IOC_BIND, KBUS_IOC_UNBIND, KBUS_IOC_KSOCKID,
		KBUS_IOC_REPLIER, KBUS_IOC_NEXTMSG, KBUS_IOC_LENLEFT,
		KBUS_IOC_LASTSENT, KBUS_IOC_MAXMSGS, KBUS_IOC_NUMMSGS,
		KBUS_IOC_UNREPLIEDTO, KBUS_IOC_MSGONLYONCE, KBUS_IOC_VERBOSE,
		KBUS_IOC_REPORTREPLIERBINDS, KBUS_IOC_MAXMSGSIZE,
		KBUS_IOC_VERSION, KBUS_IOC_DROPPED, KBUS_IOC_SENDMSG,
		KBUS_IOC_RECVMSG,
	};
	void *bad = fault_page();
	size_t i;

	ASSERT_NE(NULL, bad);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, cmds[i], NULL))
			TH_LOG("cmd 0x%lx with NULL", cmds[i]);
		EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, cmds[i], bad))
			TH_LOG("cmd 0x%lx with %p", cmds[i], bad);
	}
	/* Nothing was changed on the way. */
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->fd));
	munmap(bad, getpagesize());
}

TEST_F(kbus, send_with_bad_id_pointer_fails_efault)
{
	void *bad = fault_page();
	struct kbus_message_header h;

	ASSERT_NE(NULL, bad);
	kbus_msg_init(&h, "$.Base.Efault", NULL, 0);
	ASSERT_EQ(0, kbus_bind(self->fd, "$.Base.Efault", 0));
	ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, KBUS_IOC_SEND, NULL));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, KBUS_IOC_SEND, bad));
	/* Nothing was sent, and the message written is still there. */
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->fd));
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->fd, &h, false));
	ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
	ASSERT_EQ(0, kbus_send(self->fd, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->fd));
	munmap(bad, getpagesize());
}

TEST_F(kbus, bind_with_bad_name_pointer_fails_efault)
{
	void *bad = fault_page();

	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, NULL, 5, 0));
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, bad, 5, 0));
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, bad, 5, 1));
	EXPECT_EQ(-EFAULT, kbus_unbind_len(self->fd, bad, 5, 0));
	EXPECT_EQ(-EFAULT, kbus_replier_len(self->fd, bad, 5, NULL));
	munmap(bad, getpagesize());
}

TEST_F(kbus, write_or_read_with_bad_buffer_fails_efault)
{
	struct kbus_message_header h;
	void *bad = fault_page();
	__u32 len;

	ASSERT_NE(NULL, bad);
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_write, self->fd, NULL, KBUS_HDR_LEN));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, bad, KBUS_HDR_LEN));
	EXPECT_EQ(EFAULT, errno);
	/* Nothing was kept. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Base.Read", 0));
	kbus_msg_init(&h, "$.Base.Read", "data", 4);
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	ASSERT_EQ(1, kbus_nextmsg(self->listener, &len));
	errno = 0;
	EXPECT_EQ(-1, read(self->listener, bad, len));
	EXPECT_EQ(EFAULT, errno);
	munmap(bad, getpagesize());
}

TEST_F(kbus, pointy_bad_name_or_data_pointer_fails_efault_at_send)
{
	struct kbus_message_header h;
	void *bad = fault_page();

	ASSERT_NE(NULL, bad);
	/* KBUS only follows the pointers when the message is sent. */
	kbus_msg_init(&h, "$.Base.Pointy", NULL, 0);
	h.name = (uintptr_t)bad;
	ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(-EFAULT, kbus_send(self->fd, NULL));
	/* The message was dropped. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	kbus_msg_init(&h, "$.Base.Pointy", NULL, 0);
	h.data = (uintptr_t)bad;
	h.data_len = 16;
	ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(-EFAULT, kbus_send(self->fd, NULL));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	munmap(bad, getpagesize());
}

TEST_F(kbus, pointy_invalid_or_wildcard_name_fails_ebadmsg_at_send)
{
	static const char * const names[] = {
		"$.Base.", "$.Base..X", "Base", "$.Base.*", "$.Base.%", "$.*",
	};
	struct kbus_message_header h;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		kbus_msg_init(&h, names[i], NULL, 0);
		ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
		EXPECT_EQ(-EBADMSG, kbus_send(self->fd, NULL))
			TH_LOG("name \"%s\"", names[i]);
		EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	}
}

TEST_F(kbus, entire_invalid_name_fails_ebadmsg_when_written)
{
	static const char * const names[] = {
		"$.Base.", "$.Base-X", "Base.X", "$.Base.*", "$.Base.%",
	};
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	size_t i, len;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		kbus_msg_init(&h, names[i], "0123456789", 10);
		m = kbus_msg_entire(&h, &len);
		ASSERT_NE(NULL, m);
		/* The header alone is fine. */
		ASSERT_EQ(0, kbus_write(self->fd, m, KBUS_HDR_LEN));
		/* The name is checked as soon as all of it is in. */
		EXPECT_EQ(-EBADMSG, kbus_write(self->fd, m->rest,
					       h.name_len))
			TH_LOG("name \"%s\"", names[i]);
		/* The partial message was discarded. */
		EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
		free(m);
	}
}

TEST_F(kbus, entire_bad_final_guard_fails_einval)
{
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	size_t len;

	kbus_msg_init(&h, "$.Base.Guard", "abcde", 5);
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	m->rest[KBUS_ENTIRE_MSG_END_GUARD_INDEX(h.name_len, h.data_len)] =
		KBUS_MSG_START_GUARD;
	ASSERT_EQ(0, kbus_write(self->fd, m, len - 4));
	EXPECT_EQ(-EINVAL, kbus_write(self->fd, (char *)m + len - 4, 4));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	free(m);
}

TEST_F(kbus, entire_padding_content_is_ignored)
{
	struct kbus_entire_message *m, *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;
	size_t len;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Base.Pad", 0));
	kbus_msg_init(&h, "$.Base.Pad", "xyz", 3);
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	/* Garbage after the name's NUL and after the data. */
	((char *)m->rest)[11] = 'Q';
	((char *)m->rest)[15] = 'Q';
	ASSERT_EQ(0, kbus_write(self->fd, m, len));
	ASSERT_EQ(0, kbus_send(self->fd, &id));
	got = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, got, "$.Base.Pad", "xyz", 3,
		       kbus_ksock_id(_metadata, self->fd));
	free(got);
	free(m);
}

TEST_F(kbus, write_returns_count_and_accepts_any_split)
{
	struct kbus_entire_message *m, *got;
	struct kbus_message_header h;
	char data[13] = "split writes";
	size_t len, i;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Base.Split", 0));

	/* An entire message, one byte per write(). */
	kbus_msg_init(&h, "$.Base.Split", data, sizeof(data));
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	for (i = 0; i < len; i++)
		ASSERT_EQ(1, write(self->fd, (char *)m + i, 1));
	ASSERT_EQ(0, kbus_send(self->fd, NULL));
	got = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, got, "$.Base.Split", data, sizeof(data),
		       kbus_ksock_id(_metadata, self->fd));
	free(got);

	/* A pointy header, one byte per write(). */
	for (i = 0; i < sizeof(h); i++)
		ASSERT_EQ(1, write(self->fd, (char *)&h + i, 1));
	ASSERT_EQ(0, kbus_send(self->fd, NULL));
	got = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, got, "$.Base.Split", data, sizeof(data),
		       kbus_ksock_id(_metadata, self->fd));
	free(got);

	/* Odd pieces across the header, name and data boundaries. */
	for (i = 0; i < len; i += 7) {
		size_t n = len - i < 7 ? len - i : 7;

		ASSERT_EQ(n, write(self->fd, (char *)m + i, n));
	}
	ASSERT_EQ(0, kbus_send(self->fd, NULL));
	got = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, got, "$.Base.Split", data, sizeof(data),
		       kbus_ksock_id(_metadata, self->fd));
	free(got);
	free(m);
}

TEST_F(kbus, write_after_complete_message_fails_emsgsize)
{
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	char buf[256];
	size_t len;

	/* A pointy message is complete after its header. */
	kbus_msg_init(&h, "$.Base.Extra", NULL, 0);
	ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(-EMSGSIZE, kbus_write(self->fd, "x", 1));
	/* The message was discarded. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	/* Two messages cannot go in one write(). */
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &h, sizeof(h));
	EXPECT_EQ(-EMSGSIZE, kbus_write(self->fd, buf, 2 * sizeof(h)));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	/* An entire message is complete after its final guard. */
	kbus_msg_init(&h, "$.Base.Extra", "1234", 4);
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	ASSERT_LE(len + 4, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, m, len);
	EXPECT_EQ(-EMSGSIZE, kbus_write(self->fd, buf, len + 4));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	ASSERT_EQ(0, kbus_write(self->fd, m, len));
	EXPECT_EQ(-EMSGSIZE, kbus_write(self->fd, buf, 1));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	free(m);
}

TEST_F(kbus, send_without_message_fails_enomsg)
{
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	/* Nothing was sent. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
}

TEST_F(kbus, send_of_incomplete_message_fails_einval)
{
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	size_t len;

	kbus_msg_init(&h, "$.Base.Partial", "abcdef", 6);
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);

	/* Part of a header. */
	ASSERT_EQ(0, kbus_write(self->fd, &h, sizeof(h) - 1));
	EXPECT_EQ(-EINVAL, kbus_send(self->fd, NULL));
	/* ... which was then discarded. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	/* An entire message without its final guard. */
	ASSERT_EQ(0, kbus_write(self->fd, m, len - 4));
	EXPECT_EQ(-EINVAL, kbus_send(self->fd, NULL));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	/* An entire header and half of the name. */
	ASSERT_EQ(0, kbus_write(self->fd, m, sizeof(h) + 4));
	EXPECT_EQ(-EINVAL, kbus_send(self->fd, NULL));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));

	/* The Ksock still works. */
	ASSERT_EQ(0, kbus_write(self->fd, m, len));
	EXPECT_EQ(0, kbus_send(self->fd, NULL));
	free(m);
}

TEST_F(kbus, discard_drops_partial_message)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, "$.Base.Discard", NULL, 0);
	ASSERT_EQ(0, kbus_write(self->fd, &h, 40));
	EXPECT_EQ(0, kbus_discard(self->fd));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	/* Nothing to discard is fine. */
	EXPECT_EQ(0, kbus_discard(self->fd));
	ASSERT_EQ(0, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(0, kbus_discard(self->fd));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
}

TEST_F(kbus, unknown_kernel_flags_fail_einval)
{
	struct kbus_message_header h;
	unsigned int bit;

	kbus_msg_init(&h, "$.Base.Flags", NULL, 0);
	for (bit = 0; bit < 16; bit++) {
		if (KBUS_FLAGS_MASK & (1U << bit))
			continue;
		h.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, kbus_write_msg(self->fd, &h, false))
			TH_LOG("flag bit %u", bit);
		EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	}
	/* Every known flag alone is accepted by write(). */
	for (bit = 0; bit < 16; bit++) {
		if (!(KBUS_FLAGS_MASK & (1U << bit)))
			continue;
		h.flags = 1U << bit;
		EXPECT_EQ(0, kbus_write_msg(self->fd, &h, false))
			TH_LOG("flag bit %u", bit);
		EXPECT_EQ(0, kbus_discard(self->fd));
	}
}

TEST_F(kbus, user_flags_pass_through_untouched)
{
	const __u32 user[] = { 0xFFFF0000U, 0xA5A50000U, 0x00010000U,
			       0x80000000U };
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	size_t i;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Base.UserFlags", 0));
	kbus_msg_init(&h, "$.Base.UserFlags", NULL, 0);
	for (i = 0; i < ARRAY_SIZE(user); i++) {
		h.flags = user[i];
		ASSERT_EQ(0, kbus_send_msg(self->fd, &h, i & 1, NULL));
		got = kbus_recv(_metadata, self->listener);
		EXPECT_EQ(user[i], got->header.flags);
		free(got);
	}
}

TEST_F(kbus, sender_cannot_set_synthetic_or_want_you_to_reply)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Base.Spoof", 0));
	kbus_msg_init(&h, "$.Base.Spoof", NULL, 0);
	h.flags = KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_YOU_TO_REPLY |
		  KBUS_BIT_URGENT | 0x12340000U;
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(KBUS_BIT_URGENT | 0x12340000U, got->header.flags);
	free(got);
}

TEST_F(kbus, sender_cannot_set_from_or_serial)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;

	ASSERT_EQ(0, kbus_bind(self->listener, "$.Base.From", 0));
	kbus_msg_init(&h, "$.Base.From", NULL, 0);
	h.from = 0x5555;
	h.id.serial_num = 0x7777;
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, true, NULL));
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(kbus_ksock_id(_metadata, self->fd), got->header.from);
	EXPECT_NE(0x7777, got->header.id.serial_num);
	free(got);
}

TEST_F(kbus, message_over_max_size_fails_emsgsize)
{
	struct kbus_message_header h;
	__u32 max = self->max_size;

	/* Checked on the header, before any data is copied. */
	kbus_msg_init(&h, "$.Base.Big", NULL, 0);
	h.data_len = max;
	h.data = (uintptr_t)&h;
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	h.data_len = 0xFFFFFFFFU;
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->fd, &h, false));
	/* The header of an entire message too. */
	h.name = 0;
	h.data = 0;
	h.data_len = max;
	EXPECT_EQ(-EMSGSIZE, kbus_write(self->fd, &h, sizeof(h)));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	/* One byte over: 88 + 4 + padded data + 4 > max. */
	kbus_msg_init(&h, "$.A", NULL, 0);
	h.data_len = max - KBUS_ENTIRE_MSG_LEN(3, 0) + 1;
	h.data = (uintptr_t)&h;
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->fd, &h, false));
}

TEST_F(kbus, message_of_max_size_is_accepted)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	__u32 data_len = self->max_size - KBUS_ENTIRE_MSG_LEN(3, 0);
	unsigned char *data = malloc(data_len);
	__u32 i;

	ASSERT_NE(NULL, data);
	for (i = 0; i < data_len; i++)
		data[i] = i * 7 + (i >> 8);
	ASSERT_EQ(0, kbus_bind(self->listener, "$.A", 0));
	kbus_msg_init(&h, "$.A", data, data_len);
	ASSERT_EQ(self->max_size,
		  KBUS_ENTIRE_MSG_LEN(h.name_len, (size_t)h.data_len));
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, true, NULL));
	for (i = 0; i < 2; i++) {
		got = kbus_recv(_metadata, self->listener);
		kbus_check_msg(_metadata, got, "$.A", data, data_len,
			       kbus_ksock_id(_metadata, self->fd));
		free(got);
	}
	free(data);
}

TEST_F(kbus, lowered_max_size_is_enforced)
{
	struct kbus_message_header h;
	char data[200] = {};
	__u32 val;

	if (kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 200, &val) == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	ASSERT_EQ(200, val);
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 0, &val));
	ASSERT_EQ(200, val);

	/* 88 + 4 ("$.A" and NUL) + 104 + 4 = 200. */
	kbus_msg_init(&h, "$.A", data, 104);
	EXPECT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	EXPECT_EQ(0, kbus_send_msg(self->fd, &h, true, NULL));
	kbus_msg_init(&h, "$.A", data, 105);
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->fd, &h, false));
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->fd, &h, true));
	/* Also for another Ksock of the bus: the limit is per bus. */
	EXPECT_EQ(-EMSGSIZE, kbus_write_msg(self->listener, &h, false));
}

TEST_F(kbus, maxmsgsize_protocol)
{
	__u32 abs_max, val;

	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 1,
				  &abs_max));
	EXPECT_LE(409600, abs_max);
	/* Each bus starts at the absolute maximum. */
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 0, &val));
	EXPECT_EQ(abs_max, val);

	EXPECT_EQ(-EINVAL, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 2,
					NULL));
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 99,
					NULL));
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE,
					abs_max + 1, NULL));
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE,
					0xFFFFFFFFU, NULL));
	/* Failed attempts changed nothing. */
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 0, &val));
	EXPECT_EQ(abs_max, val);

	val = 0;
	if (kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, 100, &val) == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	EXPECT_EQ(100, val);
	ASSERT_EQ(0, kbus_set_u32(self->listener, KBUS_IOC_MAXMSGSIZE, 0,
				  &val));
	EXPECT_EQ(100, val);
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGSIZE, abs_max,
				  &val));
	EXPECT_EQ(abs_max, val);
}

TEST_F(kbus, maxmsgs_protocol)
{
	__u32 val;

	/* 0 asks; the default is 100. */
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS, 0, &val));
	EXPECT_EQ(100, val);
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS, 100001,
					NULL));
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS,
					0xFFFFFFFFU, NULL));
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS, 0, &val));
	EXPECT_EQ(100, val);
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS, 100000, &val));
	EXPECT_EQ(100000, val);
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS, 1, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MAXMSGS, 0, &val));
	EXPECT_EQ(1, val);
	/* Per Ksock. */
	ASSERT_EQ(0, kbus_set_u32(self->listener, KBUS_IOC_MAXMSGS, 0, &val));
	EXPECT_EQ(100, val);
}

/* The 0 / 1 / KBUS_QUERY protocol; each call writes the previous value. */
static void check_bool_protocol(struct __test_metadata *const _metadata,
				int fd, unsigned long cmd, __u32 initial)
{
	__u32 val;

	ASSERT_EQ(0, kbus_set_u32(fd, cmd, KBUS_QUERY, &val));
	EXPECT_EQ(initial, val);
	EXPECT_EQ(-EINVAL, kbus_set_u32(fd, cmd, 2, NULL));
	EXPECT_EQ(-EINVAL, kbus_set_u32(fd, cmd, 0xFFFFFFFEU, NULL));
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, KBUS_QUERY, &val));
	EXPECT_EQ(initial, val);
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, 1, &val));
	EXPECT_EQ(initial, val);
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, KBUS_QUERY, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, 1, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, 0, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, KBUS_QUERY, &val));
	EXPECT_EQ(0, val);
	ASSERT_EQ(0, kbus_set_u32(fd, cmd, initial, &val));
	EXPECT_EQ(0, val);
}

TEST_F(kbus, msgonlyonce_protocol)
{
	check_bool_protocol(_metadata, self->fd, KBUS_IOC_MSGONLYONCE, 0);
	/* Per Ksock. */
	ASSERT_EQ(0, kbus_set_u32(self->fd, KBUS_IOC_MSGONLYONCE, 1, NULL));
	EXPECT_EQ(0, kbus_set_u32(self->listener, KBUS_IOC_MSGONLYONCE,
				  KBUS_QUERY, NULL));
	check_bool_protocol(_metadata, self->listener, KBUS_IOC_MSGONLYONCE,
			    0);
}

TEST_F(kbus, verbose_protocol)
{
	if (kbus_set_u32(self->fd, KBUS_IOC_VERBOSE, self->verbose, NULL) ==
	    -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	check_bool_protocol(_metadata, self->fd, KBUS_IOC_VERBOSE,
			    self->verbose);
}

TEST_F(kbus, reportreplierbinds_protocol)
{
	if (kbus_set_u32(self->fd, KBUS_IOC_REPORTREPLIERBINDS, self->report,
			 NULL) == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN");
	check_bool_protocol(_metadata, self->fd, KBUS_IOC_REPORTREPLIERBINDS,
			    self->report);
}

/* Drop CAP_SYS_ADMIN from this process's effective set. */
static void drop_cap_sys_admin(struct __test_metadata *const _metadata)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &=
		~CAP_TO_MASK(CAP_SYS_ADMIN);
	ASSERT_EQ(0, syscall(SYS_capset, &hdr, data));
}

TEST_F(kbus, bus_settings_need_cap_sys_admin)
{
	__u32 val;
	int fd;

	drop_cap_sys_admin(_metadata);
	fd = kbus_open(_metadata);

	EXPECT_EQ(-EPERM, kbus_set_u32(fd, KBUS_IOC_VERBOSE, 1, NULL));
	EXPECT_EQ(-EPERM, kbus_set_u32(fd, KBUS_IOC_VERBOSE, 0, NULL));
	EXPECT_EQ(-EPERM, kbus_set_u32(fd, KBUS_IOC_REPORTREPLIERBINDS, 1,
				       NULL));
	EXPECT_EQ(-EPERM, kbus_set_u32(fd, KBUS_IOC_MAXMSGSIZE, 1000, NULL));
	EXPECT_EQ(-EPERM, kbus_get_u32(fd, KBUS_IOC_NEWDEVICE, &val));

	/* Asking is allowed. */
	EXPECT_EQ(0, kbus_set_u32(fd, KBUS_IOC_VERBOSE, KBUS_QUERY, &val));
	EXPECT_EQ(self->verbose, val);
	EXPECT_EQ(0, kbus_set_u32(fd, KBUS_IOC_REPORTREPLIERBINDS,
				  KBUS_QUERY, &val));
	EXPECT_EQ(self->report, val);
	EXPECT_EQ(0, kbus_set_u32(fd, KBUS_IOC_MAXMSGSIZE, 0, &val));
	EXPECT_EQ(self->max_size, val);
	EXPECT_EQ(0, kbus_set_u32(fd, KBUS_IOC_MAXMSGSIZE, 1, &val));
	/* So are the Ksock's own settings. */
	EXPECT_EQ(0, kbus_set_u32(fd, KBUS_IOC_MAXMSGS, 5, &val));
	EXPECT_EQ(0, kbus_set_u32(fd, KBUS_IOC_MSGONLYONCE, 1, &val));
	close(fd);
}

TEST_F(kbus, lastsent_reports_last_sent_id)
{
	struct kbus_msg_id id, last;
	int fd = kbus_open(_metadata);

	memset(&last, 0xff, sizeof(last));
	ASSERT_EQ(0, kbus_ioctl(fd, KBUS_IOC_LASTSENT, &last));
	EXPECT_EQ(0, last.network_id);
	EXPECT_EQ(0, last.serial_num);

	ASSERT_EQ(0, kbus_announce(fd, "$.Base.Last", NULL, 0, &id));
	EXPECT_EQ(0, id.network_id);
	EXPECT_NE(0, id.serial_num);
	ASSERT_EQ(0, kbus_ioctl(fd, KBUS_IOC_LASTSENT, &last));
	EXPECT_EQ(0, last.network_id);
	EXPECT_EQ(id.serial_num, last.serial_num);
	/* Per Ksock. */
	ASSERT_EQ(0, kbus_ioctl(self->listener, KBUS_IOC_LASTSENT, &last));
	EXPECT_EQ(0, last.serial_num);
	close(fd);
}

/* A header that is fine except for one thing. */
FIXTURE(bad_header) {
	bool skip;
	int fd;
	struct kbus_message_header h;
};

FIXTURE_VARIANT(bad_header) {
	void (*spoil)(struct kbus_message_header *h);
	int error;
};

static char bad_header_data[8] = "payload";

FIXTURE_SETUP(bad_header)
{
	self->fd = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->fd < 0) {
		self->skip = true;
		return;
	}
	kbus_msg_init(&self->h, "$.Base.Header", bad_header_data,
		      sizeof(bad_header_data));
}

FIXTURE_TEARDOWN(bad_header)
{
	if (self->skip)
		return;
	close(self->fd);
}

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

static void spoil_flags(struct kbus_message_header *h)
{
	h->flags = 0x8000;
}

static void spoil_name_len_zero(struct kbus_message_header *h)
{
	h->name_len = 0;
}

static void spoil_name_len_long(struct kbus_message_header *h)
{
	h->name_len = KBUS_MAX_NAME_LEN + 1;
}

static void spoil_name_len_huge(struct kbus_message_header *h)
{
	h->name_len = 0xFFFFFFFFU;
}

static void spoil_data_without_name(struct kbus_message_header *h)
{
	h->name = 0;
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

static void spoil_too_big(struct kbus_message_header *h)
{
	h->data_len = 0x40000000U;
}

static void spoil_data_len_huge(struct kbus_message_header *h)
{
	h->data_len = 0xFFFFFFFFU;
}

FIXTURE_VARIANT_ADD(bad_header, start_guard) {
	.spoil = spoil_start_guard, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, end_guard) {
	.spoil = spoil_end_guard, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, extra_nonzero) {
	.spoil = spoil_extra, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, reserved0_nonzero) {
	.spoil = spoil_reserved0, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, reserved1_nonzero) {
	.spoil = spoil_reserved1, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, unknown_flag) {
	.spoil = spoil_flags, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, name_len_zero) {
	.spoil = spoil_name_len_zero, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, name_len_over_max) {
	.spoil = spoil_name_len_long, .error = ENAMETOOLONG,
};

FIXTURE_VARIANT_ADD(bad_header, name_len_huge) {
	.spoil = spoil_name_len_huge, .error = ENAMETOOLONG,
};

FIXTURE_VARIANT_ADD(bad_header, data_pointer_without_name_pointer) {
	.spoil = spoil_data_without_name, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, data_len_without_data_pointer) {
	.spoil = spoil_data_len_without_data, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, data_pointer_without_data_len) {
	.spoil = spoil_data_without_data_len, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, all_or_wait_and_all_or_fail) {
	.spoil = spoil_all_or_both, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, want_a_reply_and_in_reply_to) {
	.spoil = spoil_request_and_reply, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_header, over_max_size) {
	.spoil = spoil_too_big, .error = EMSGSIZE,
};

FIXTURE_VARIANT_ADD(bad_header, data_len_huge) {
	.spoil = spoil_data_len_huge, .error = EMSGSIZE,
};

TEST_F(bad_header, write_fails)
{
	struct kbus_message_header good = self->h;

	variant->spoil(&self->h);
	EXPECT_EQ(-variant->error, kbus_write(self->fd, &self->h,
					      sizeof(self->h)));
	/* The message was discarded, and the Ksock still works. */
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
	EXPECT_EQ(0, kbus_send_msg(self->fd, &good, false, NULL));
}

TEST_F(bad_header, write_fails_when_header_is_complete)
{
	const char *p = (const char *)&self->h;

	variant->spoil(&self->h);
	/* Nothing is checked until all of the header is in. */
	ASSERT_EQ(0, kbus_write(self->fd, p, 40));
	ASSERT_EQ(0, kbus_write(self->fd, p + 40, sizeof(self->h) - 41));
	EXPECT_EQ(-variant->error,
		  kbus_write(self->fd, p + sizeof(self->h) - 1, 1));
	EXPECT_EQ(-ENOMSG, kbus_send(self->fd, NULL));
}

TEST_HARNESS_MAIN
