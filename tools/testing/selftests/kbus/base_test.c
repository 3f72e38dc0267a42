// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - ABI edge tests
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * The edges of every ioctl of ABI 2: its number, the size, flags,
 * reserved and "out" fields of its argument struct, bad user addresses;
 * the options and who may change them; the layout of the structs and of a
 * message.  sendrecv_test.c goes deeper into SENDMSG and RECVMSG.
 */

#define _GNU_SOURCE
#include <grp.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "common.h"

/* The user and group that the permission tests become. */
#define NOBODY		65534

/* ---- Plain helpers: no harness, usable in children ---- */

/* A private anonymous mapping of @len bytes, or NULL. */
static void *base_map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Messages queued for @fd, or -1. */
static int base_num_msgs(int fd)
{
	struct kbus_ksock_info info;

	return kbus_info(fd, &info) ? -1 : (int)info.num_msgs;
}

/* Receive and drop whatever is queued for @fd. */
static void base_drain(int fd)
{
	struct kbus_entire_message *m;

	while (kbus_read_next(fd, &m) > 0)
		free(m);
}

/* Become uid and gid NOBODY, with no supplementary groups, for good. */
static int become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -1;
	return geteuid() == NOBODY && getegid() == NOBODY ? 0 : -1;
}

/* ---- The layout ---- */

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

	EXPECT_EQ(12, sizeof(struct kbus_replier_bind_event_data));
	EXPECT_EQ(0, offsetof(struct kbus_replier_bind_event_data, is_bind));
	EXPECT_EQ(4, offsetof(struct kbus_replier_bind_event_data, binder));
	EXPECT_EQ(8, offsetof(struct kbus_replier_bind_event_data, name_len));
	EXPECT_EQ(12, offsetof(struct kbus_replier_bind_event_data, rest));

	/* The argument structs: each starts with its size. */
	EXPECT_EQ(24, sizeof(struct kbus_bind));
	EXPECT_EQ(0, offsetof(struct kbus_bind, size));
	EXPECT_EQ(4, offsetof(struct kbus_bind, flags));
	EXPECT_EQ(8, offsetof(struct kbus_bind, name_ptr));
	EXPECT_EQ(16, offsetof(struct kbus_bind, name_len));
	EXPECT_EQ(20, offsetof(struct kbus_bind, __reserved));

	EXPECT_EQ(24, sizeof(struct kbus_replier));
	EXPECT_EQ(0, offsetof(struct kbus_replier, size));
	EXPECT_EQ(4, offsetof(struct kbus_replier, flags));
	EXPECT_EQ(8, offsetof(struct kbus_replier, name_ptr));
	EXPECT_EQ(16, offsetof(struct kbus_replier, name_len));
	EXPECT_EQ(20, offsetof(struct kbus_replier, replier_id));

	EXPECT_EQ(32, sizeof(struct kbus_send));
	EXPECT_EQ(0, offsetof(struct kbus_send, size));
	EXPECT_EQ(4, offsetof(struct kbus_send, flags));
	EXPECT_EQ(8, offsetof(struct kbus_send, msg_ptr));
	EXPECT_EQ(16, offsetof(struct kbus_send, msg_len));
	EXPECT_EQ(20, offsetof(struct kbus_send, __reserved));
	EXPECT_EQ(24, offsetof(struct kbus_send, id));

	EXPECT_EQ(40, sizeof(struct kbus_recv));
	EXPECT_EQ(0, offsetof(struct kbus_recv, size));
	EXPECT_EQ(4, offsetof(struct kbus_recv, flags));
	EXPECT_EQ(8, offsetof(struct kbus_recv, buf_ptr));
	EXPECT_EQ(16, offsetof(struct kbus_recv, buf_len));
	EXPECT_EQ(20, offsetof(struct kbus_recv, msg_len));
	EXPECT_EQ(24, offsetof(struct kbus_recv, pid));
	EXPECT_EQ(28, offsetof(struct kbus_recv, uid));
	EXPECT_EQ(32, offsetof(struct kbus_recv, gid));
	EXPECT_EQ(36, offsetof(struct kbus_recv, __reserved));

	EXPECT_EQ(56, sizeof(struct kbus_ksock_info));
	EXPECT_EQ(0, offsetof(struct kbus_ksock_info, size));
	EXPECT_EQ(4, offsetof(struct kbus_ksock_info, flags));
	EXPECT_EQ(8, offsetof(struct kbus_ksock_info, abi_version));
	EXPECT_EQ(12, offsetof(struct kbus_ksock_info, ksock_id));
	EXPECT_EQ(16, offsetof(struct kbus_ksock_info, num_msgs));
	EXPECT_EQ(20, offsetof(struct kbus_ksock_info, num_unreplied));
	EXPECT_EQ(24, offsetof(struct kbus_ksock_info, num_outstanding));
	EXPECT_EQ(28, offsetof(struct kbus_ksock_info, __reserved));
	EXPECT_EQ(32, offsetof(struct kbus_ksock_info, dropped));
	EXPECT_EQ(40, offsetof(struct kbus_ksock_info, queued_bytes));
	EXPECT_EQ(48, offsetof(struct kbus_ksock_info, user_bytes));

	EXPECT_EQ(24, sizeof(struct kbus_option));
	EXPECT_EQ(0, offsetof(struct kbus_option, size));
	EXPECT_EQ(4, offsetof(struct kbus_option, option));
	EXPECT_EQ(8, offsetof(struct kbus_option, flags));
	EXPECT_EQ(12, offsetof(struct kbus_option, __reserved));
	EXPECT_EQ(16, offsetof(struct kbus_option, value));

	EXPECT_EQ(16, sizeof(struct kbus_bus_ctl));
	EXPECT_EQ(0, offsetof(struct kbus_bus_ctl, size));
	EXPECT_EQ(4, offsetof(struct kbus_bus_ctl, flags));
	EXPECT_EQ(8, offsetof(struct kbus_bus_ctl, index));
	EXPECT_EQ(12, offsetof(struct kbus_bus_ctl, __reserved));
}

TEST(constants)
{
	EXPECT_EQ(2, KBUS_ABI_VERSION);
	/* "Kbus" and "subK" in memory on little-endian machines. */
	EXPECT_EQ(0x7375624B, KBUS_MSG_START_GUARD);
	EXPECT_EQ(0x4B627573, KBUS_MSG_END_GUARD);
	EXPECT_EQ(1000, KBUS_MAX_NAME_LEN);
	EXPECT_EQ(0xFFFF0000U, KBUS_USER_FLAGS_MASK);
	EXPECT_EQ(0, KBUS_FLAGS_MASK & KBUS_USER_FLAGS_MASK);
	EXPECT_EQ(0x30F, KBUS_FLAGS_MASK);

	EXPECT_EQ(1, KBUS_BIND_REPLIER);
	EXPECT_EQ(1, KBUS_SEND_NONBLOCK);
	EXPECT_EQ(1, KBUS_RECV_NONBLOCK);
	EXPECT_EQ(2, KBUS_RECV_CREDS);

	EXPECT_EQ(1, KBUS_OPT_MAX_MSGS);
	EXPECT_EQ(2, KBUS_OPT_ONLY_ONCE);
	EXPECT_EQ(3, KBUS_OPT_REPORT_REPLIER_BINDS);
	EXPECT_EQ(4, KBUS_OPT_MAX_MSG_SIZE);
	EXPECT_EQ(5, KBUS_OPT_ABS_MAX_MSG_SIZE);
	EXPECT_EQ(6, KBUS_OPT_MAX_BYTES);
	EXPECT_EQ(100000, KBUS_MAX_MAX_MSGS);
	EXPECT_EQ(100, KBUS_MIN_MAX_MSG_SIZE);
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

/* ---- Ioctl numbers ---- */

static const struct {
	unsigned long cmd;
	const char *name;
	unsigned int nr;
} kbus_ioctls[] = {
	{ KBUS_IOC_BIND, "BIND", 1 },
	{ KBUS_IOC_UNBIND, "UNBIND", 2 },
	{ KBUS_IOC_REPLIER, "REPLIER", 3 },
	{ KBUS_IOC_SENDMSG, "SENDMSG", 4 },
	{ KBUS_IOC_RECVMSG, "RECVMSG", 5 },
	{ KBUS_IOC_CANCEL, "CANCEL", 6 },
	{ KBUS_IOC_KSOCK_INFO, "KSOCK_INFO", 7 },
	{ KBUS_IOC_GET_OPTION, "GET_OPTION", 8 },
	{ KBUS_IOC_SET_OPTION, "SET_OPTION", 9 },
	{ KBUS_IOC_ADD_BUS, "ADD_BUS", 10 },
	{ KBUS_IOC_REMOVE_BUS, "REMOVE_BUS", 11 },
};

TEST(ioctl_numbers_are_io_without_size)
{
	size_t i;

	EXPECT_EQ(0xB9, KBUS_IOC_MAGIC);
	for (i = 0; i < ARRAY_SIZE(kbus_ioctls); i++) {
		unsigned long cmd = kbus_ioctls[i].cmd;

		/* The size is in the struct, not in the number. */
		EXPECT_EQ(_IO(0xB9, kbus_ioctls[i].nr), cmd)
			TH_LOG("KBUS_IOC_%s = 0x%lx", kbus_ioctls[i].name, cmd);
		EXPECT_EQ(KBUS_IOC_MAGIC, _IOC_TYPE(cmd));
		EXPECT_EQ(kbus_ioctls[i].nr, _IOC_NR(cmd));
		EXPECT_EQ(_IOC_NONE, _IOC_DIR(cmd));
		EXPECT_EQ(0, _IOC_SIZE(cmd));
	}
}

/* ---- The fixture ---- */

FIXTURE(kbus) {
	bool skip;
	int fd;
	int other;
	__u64 max_size;
	__u64 report;
	bool mode_saved;
	mode_t mode;
};

FIXTURE_SETUP(kbus)
{
	self->fd = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->fd < 0) {
		self->skip = true;
		return;
	}
	self->other = kbus_open(_metadata);
	/* Bus-wide settings, restored by the teardown. */
	ASSERT_EQ(0, kbus_get_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE,
				  &self->max_size));
	ASSERT_EQ(0, kbus_get_opt(self->fd, KBUS_OPT_REPORT_REPLIER_BINDS,
				  &self->report));
}

FIXTURE_TEARDOWN(kbus)
{
	__u64 val;

	if (self->skip)
		return;
	if (self->mode_saved)
		chmod(KBUS_DEV0, self->mode);
	if (!kbus_get_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE, &val) &&
	    val != self->max_size)
		kbus_set_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE, self->max_size);
	if (!kbus_get_opt(self->fd, KBUS_OPT_REPORT_REPLIER_BINDS, &val) &&
	    val != self->report)
		kbus_set_opt(self->fd, KBUS_OPT_REPORT_REPLIER_BINDS,
			     self->report);
	close(self->other);
	close(self->fd);
}

/* Make the bus node readable and writable by all; the teardown restores it. */
static void node_for_all(struct __test_metadata *const _metadata,
			 mode_t *mode, bool *mode_saved)
{
	struct stat st;

	ASSERT_EQ(0, stat(KBUS_DEV0, &st));
	*mode = st.st_mode & 07777;
	*mode_saved = true;
	ASSERT_EQ(0, chmod(KBUS_DEV0, 0666));
}

/* ---- Unknown ioctls ---- */

TEST_F(kbus, unknown_ioctl_fails_enotty)
{
	const unsigned long cmds[] = {
		_IO(KBUS_IOC_MAGIC, 0),
		_IO(KBUS_IOC_MAGIC, 11),
		_IO(KBUS_IOC_MAGIC, 100),
		_IO(KBUS_IOC_MAGIC, 255),
		_IOR(KBUS_IOC_MAGIC, 11, struct kbus_bind),
		_IOWR(KBUS_IOC_MAGIC, 255, __u64),
		/* The numbers of the interface before ABI 2. */
		_IOR(KBUS_IOC_MAGIC, 11, __u32),	/* MAXMSGS */
		_IOR(KBUS_IOC_MAGIC, 12, __u32),	/* NUMMSGS */
		_IOR(KBUS_IOC_MAGIC, 13, __u32),	/* UNREPLIEDTO */
		_IOWR(KBUS_IOC_MAGIC, 14, __u32),	/* MSGONLYONCE */
		_IOWR(KBUS_IOC_MAGIC, 15, __u32),	/* VERBOSE */
		_IOR(KBUS_IOC_MAGIC, 16, __u32),	/* NEWDEVICE */
		_IOWR(KBUS_IOC_MAGIC, 17, __u32),	/* REPORTREPLIERBINDS */
		_IOWR(KBUS_IOC_MAGIC, 18, __u32),	/* MAXMSGSIZE */
		_IOR(KBUS_IOC_MAGIC, 19, __u64),	/* VERSION */
		_IOR(KBUS_IOC_MAGIC, 20, __u64),	/* DROPPED */
		_IO(KBUS_IOC_MAGIC, 21),		/* SENDMSG */
		_IO(KBUS_IOC_MAGIC, 22),		/* RECVMSG */
		_IO(KBUS_IOC_MAGIC, 23),		/* CANCEL */
	};
	static __u64 arg[64];
	unsigned int nr, dir;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(arg, 0, sizeof(arg));
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], arg));
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("cmd 0x%lx", cmds[i]);
	}

	/* The original KBUS's numbers: magic 'k', pointer-sized arguments. */
	for (nr = 0; nr <= 24; nr++) {
		for (dir = _IOC_NONE; dir <= (_IOC_READ | _IOC_WRITE); dir++) {
			unsigned long cmd = _IOC(dir, 'k', nr,
						 dir ? sizeof(char *) : 0);

			memset(arg, 0, sizeof(arg));
			errno = 0;
			EXPECT_EQ(-1, ioctl(self->fd, cmd, arg));
			EXPECT_EQ(ENOTTY, errno)
				TH_LOG("cmd 0x%lx", cmd);
		}
	}
	/* Nothing was changed on the way. */
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->fd));
	EXPECT_EQ(100, kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSGS));
}

/* Every known number, encoded with a direction or a size. */
TEST_F(kbus, ioctl_with_direction_or_size_fails_enotty)
{
	const unsigned int sizes[] = {
		0, 4, 8, 16, 24, 32, 40, 88, 4096, _IOC_SIZEMASK,
	};
	const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	static __u64 arg[64];
	size_t i, s, d;

	for (i = 0; i < ARRAY_SIZE(kbus_ioctls); i++) {
		for (d = 0; d < ARRAY_SIZE(dirs); d++) {
			for (s = 0; s < ARRAY_SIZE(sizes); s++) {
				unsigned long cmd;

				/* The one right encoding. */
				if (dirs[d] == _IOC_NONE && !sizes[s])
					continue;
				cmd = _IOC(dirs[d], KBUS_IOC_MAGIC,
					   kbus_ioctls[i].nr, sizes[s]);
				memset(arg, 0, sizeof(arg));
				/* A plausible size, were it read. */
				arg[0] = 24;
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
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->fd));
}

/* ---- The argument structs of every ioctl ---- */

#define ARG_SEND	"$.Base.Arg"		/* SENDMSG sends it; other listens */
#define ARG_BIND	"$.Base.Arg.Bind"
#define ARG_UNBIND	"$.Base.Arg.Unbind"
#define ARG_ASK		"$.Base.Arg.Ask"	/* other is its replier */
#define ARG_RECV	"$.Base.Arg.Recv"	/* fd listens; other sends it */

/* What the argument tests work with. */
struct arg_ctx {
	int fd;			/* the Ksock under test */
	int other;		/* another Ksock of the bus */
	__u32 fd_id;
	__u32 other_id;
	int control;		/* kbus-control of an instance of our own */
	char dir[32];		/* where the instance is mounted */
};

static struct kbus_message_header arg_msg;
static char arg_rbuf[256];

/*
 * One ioctl that takes a struct.  fill() builds a valid argument with its
 * size field set to the first version's size; prepare() makes one valid
 * call possible; check() checks whether a valid call took effect since
 * prepare() (@done) or nothing happened, and cleans up: 0, or the step
 * that failed.
 */
struct arg_op {
	const char *name;
	unsigned long cmd;
	__u32 size;
	void (*fill)(void *arg);
	int (*prepare)(struct arg_ctx *c);
	int (*check)(struct arg_ctx *c, const void *arg, bool done);
	bool writes;		/* it writes to the struct */
	bool control;		/* an ioctl of kbus-control, not of a Ksock */
};

static void fill_name(void *arg, const char *name)
{
	struct kbus_bind *b = arg;

	b->size = sizeof(*b);
	b->name_ptr = (uintptr_t)name;
	b->name_len = strlen(name);
}

static void fill_bind(void *arg)
{
	fill_name(arg, ARG_BIND);
}

static void fill_unbind(void *arg)
{
	fill_name(arg, ARG_UNBIND);
}

static void fill_replier(void *arg)
{
	struct kbus_replier *q = arg;

	q->size = sizeof(*q);
	q->name_ptr = (uintptr_t)ARG_ASK;
	q->name_len = strlen(ARG_ASK);
}

static void fill_sendmsg(void *arg)
{
	struct kbus_send *s = arg;

	kbus_msg_init(&arg_msg, ARG_SEND, NULL, 0);
	s->size = sizeof(*s);
	s->msg_ptr = (uintptr_t)&arg_msg;
	s->msg_len = sizeof(arg_msg);
}

static void fill_recvmsg(void *arg)
{
	struct kbus_recv *r = arg;

	memset(arg_rbuf, 0, sizeof(arg_rbuf));
	r->size = sizeof(*r);
	r->flags = KBUS_RECV_NONBLOCK;
	r->buf_ptr = (uintptr_t)arg_rbuf;
	r->buf_len = sizeof(arg_rbuf);
}

static void fill_info(void *arg)
{
	struct kbus_ksock_info *i = arg;

	i->size = sizeof(*i);
}

static void fill_get_option(void *arg)
{
	struct kbus_option *o = arg;

	o->size = sizeof(*o);
	o->option = KBUS_OPT_MAX_MSGS;
}

static void fill_set_option(void *arg)
{
	struct kbus_option *o = arg;

	o->size = sizeof(*o);
	o->option = KBUS_OPT_MAX_MSGS;
	o->value = 7;
}

static void fill_add_bus(void *arg)
{
	struct kbus_bus_ctl *bc = arg;

	bc->size = sizeof(*bc);
}

/* The bus the REMOVE_BUS tests remove: prepare_remove_bus() adds it. */
#define ARG_BUS		1

static void fill_remove_bus(void *arg)
{
	struct kbus_bus_ctl *bc = arg;

	bc->size = sizeof(*bc);
	bc->index = ARG_BUS;
}

static int prepare_nothing(struct arg_ctx *c)
{
	return 0;
}

static int prepare_unbind(struct arg_ctx *c)
{
	return kbus_bind(c->fd, ARG_UNBIND, false);
}

static int prepare_recvmsg(struct arg_ctx *c)
{
	return kbus_announce(c->other, ARG_RECV, NULL, 0, NULL);
}

static int prepare_set_option(struct arg_ctx *c)
{
	return kbus_set_opt(c->fd, KBUS_OPT_MAX_MSGS, 100);
}

/* Whether bus @index of the test's instance has a node. */
static bool arg_bus_exists(struct arg_ctx *c, __u32 index)
{
	char path[KBUS_PATH_MAX], name[16];

	snprintf(name, sizeof(name), "kbus%u", index);
	return !access(kbus_fs_path(path, c->dir, name), F_OK);
}

static int prepare_remove_bus(struct arg_ctx *c)
{
	__u32 index;

	if (arg_bus_exists(c, ARG_BUS))
		return 0;
	if (kbus_bus_ctl(c->control, KBUS_IOC_ADD_BUS, &index))
		return 1;
	return index == ARG_BUS ? 0 : 2;
}

static int check_bind(struct arg_ctx *c, const void *arg, bool done)
{
	int ret = kbus_unbind(c->fd, ARG_BIND, false);

	if (!done)
		return ret == -EINVAL ? 0 : 1;
	if (ret)
		return 2;
	/* Exactly one binding was made. */
	return kbus_unbind(c->fd, ARG_BIND, false) == -EINVAL ? 0 : 3;
}

static int check_unbind(struct arg_ctx *c, const void *arg, bool done)
{
	int ret = kbus_unbind(c->fd, ARG_UNBIND, false);

	if (done)
		return ret == -EINVAL ? 0 : 1;
	return ret ? 2 : 0;
}

static int check_replier(struct arg_ctx *c, const void *arg, bool done)
{
	const struct kbus_replier *q = arg;

	return !done || q->replier_id == c->other_id ? 0 : 1;
}

static int check_sendmsg(struct arg_ctx *c, const void *arg, bool done)
{
	const struct kbus_send *s = arg;
	int n = base_num_msgs(c->other);

	base_drain(c->other);
	if (n != done)
		return 1;
	return !done || s->id.serial_num ? 0 : 2;
}

static int check_recvmsg(struct arg_ctx *c, const void *arg, bool done)
{
	const struct kbus_entire_message *m = (const void *)arg_rbuf;
	const struct kbus_recv *r = arg;
	int n = base_num_msgs(c->fd);

	base_drain(c->fd);
	if (n != !done)
		return 1;
	if (!done)
		return 0;
	if (r->msg_len != KBUS_ENTIRE_MSG_LEN(strlen(ARG_RECV), 0))
		return 2;
	return strcmp(kbus_msg_name(m), ARG_RECV) ? 3 : 0;
}

static int check_info(struct arg_ctx *c, const void *arg, bool done)
{
	const struct kbus_ksock_info *i = arg;

	if (!done)
		return 0;
	if (i->abi_version != KBUS_ABI_VERSION)
		return 1;
	return i->ksock_id == c->fd_id ? 0 : 2;
}

static int check_get_option(struct arg_ctx *c, const void *arg, bool done)
{
	const struct kbus_option *o = arg;

	return !done || o->value == 100 ? 0 : 1;
}

static int check_set_option(struct arg_ctx *c, const void *arg, bool done)
{
	__u64 val;

	if (kbus_get_opt(c->fd, KBUS_OPT_MAX_MSGS, &val))
		return 1;
	if (kbus_set_opt(c->fd, KBUS_OPT_MAX_MSGS, 100))
		return 2;
	return val == (done ? 7 : 100) ? 0 : 3;
}

/* Bus 0 is there from the mount: a valid call added bus 1. */
static int check_add_bus(struct arg_ctx *c, const void *arg, bool done)
{
	const struct kbus_bus_ctl *bc = arg;
	__u32 index = ARG_BUS;

	if (arg_bus_exists(c, ARG_BUS) != done)
		return 1;
	if (!done)
		return 0;
	if (bc->index != ARG_BUS)
		return 2;
	return kbus_bus_ctl(c->control, KBUS_IOC_REMOVE_BUS, &index) ? 3 : 0;
}

static int check_remove_bus(struct arg_ctx *c, const void *arg, bool done)
{
	__u32 index = ARG_BUS;

	if (arg_bus_exists(c, ARG_BUS) == done)
		return 1;
	if (done)
		return 0;
	return kbus_bus_ctl(c->control, KBUS_IOC_REMOVE_BUS, &index) ? 2 : 0;
}

static const struct arg_op arg_ops[] = {
	{ "BIND", KBUS_IOC_BIND, 24, fill_bind, prepare_nothing,
	  check_bind },
	{ "UNBIND", KBUS_IOC_UNBIND, 24, fill_unbind, prepare_unbind,
	  check_unbind },
	{ "REPLIER", KBUS_IOC_REPLIER, 24, fill_replier, prepare_nothing,
	  check_replier, .writes = true },
	{ "SENDMSG", KBUS_IOC_SENDMSG, 32, fill_sendmsg, prepare_nothing,
	  check_sendmsg, .writes = true },
	{ "RECVMSG", KBUS_IOC_RECVMSG, 40, fill_recvmsg, prepare_recvmsg,
	  check_recvmsg, .writes = true },
	{ "KSOCK_INFO", KBUS_IOC_KSOCK_INFO, 56, fill_info, prepare_nothing,
	  check_info, .writes = true },
	{ "GET_OPTION", KBUS_IOC_GET_OPTION, 24, fill_get_option,
	  prepare_nothing, check_get_option, .writes = true },
	{ "SET_OPTION", KBUS_IOC_SET_OPTION, 24, fill_set_option,
	  prepare_set_option, check_set_option },
	{ "ADD_BUS", KBUS_IOC_ADD_BUS, 16, fill_add_bus, prepare_nothing,
	  check_add_bus, .writes = true, .control = true },
	{ "REMOVE_BUS", KBUS_IOC_REMOVE_BUS, 16, fill_remove_bus,
	  prepare_remove_bus, check_remove_bus, .control = true },
};

/* Set up the Ksocks for the argument tests. */
static void arg_setup(struct __test_metadata *const _metadata, int fd,
		      int other, struct arg_ctx *c)
{
	char path[KBUS_PATH_MAX];
	int ret;

	c->fd = fd;
	c->other = other;
	c->fd_id = kbus_ksock_id(_metadata, fd);
	c->other_id = kbus_ksock_id(_metadata, other);
	ret = kbus_mount_instance(c->dir, "buses=1");
	ASSERT_EQ(0, ret)
		TH_LOG("cannot mount a kbus filesystem: %s", strerror(-ret));
	c->control = open(kbus_fs_path(path, c->dir, "kbus-control"),
			  O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, c->control);
	ASSERT_EQ(0, kbus_bind(other, ARG_SEND, false));
	ASSERT_EQ(0, kbus_bind(other, ARG_ASK, true));
	ASSERT_EQ(0, kbus_bind(fd, ARG_RECV, false));
}

/* The file @op is an ioctl of. */
static int arg_fd(const struct arg_ctx *c, const struct arg_op *op)
{
	return op->control ? c->control : c->fd;
}

/*
 * Call @op with a valid argument at @arg whose size field says @size;
 * if @poke, the byte at @arg + @poke is set to 0x5a first.
 */
static int arg_call(const struct arg_ctx *c, const struct arg_op *op,
		    void *arg, size_t clear, __u32 size, size_t poke)
{
	memset(arg, 0, clear);
	op->fill(arg);
	*(__u32 *)arg = size;
	if (poke)
		((unsigned char *)arg)[poke] = 0x5a;
	return kbus_ioctl(arg_fd(c, op), op->cmd, arg);
}

TEST_F(kbus, argument_size_edges_of_every_ioctl)
{
	size_t pg = page_size(), i, s;
	struct arg_ctx c;
	char *buf;

	arg_setup(_metadata, self->fd, self->other, &c);
	/* Room for a struct of a page and one byte more. */
	buf = base_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, buf);

	for (i = 0; i < ARRAY_SIZE(arg_ops); i++) {
		const struct arg_op *op = &arg_ops[i];
		const struct {
			__u32 size;
			size_t poke;
			int error;
		} bad[] = {
			/* Shorter than the first version. */
			{ 0, 0, EINVAL },
			{ 4, 0, EINVAL },
			{ op->size - 1, 0, EINVAL },
			/* Longer, with a byte the kernel does not know. */
			{ op->size + 8, op->size, E2BIG },
			{ op->size + 8, op->size + 7, E2BIG },
			{ pg, pg - 1, E2BIG },
			/* Longer than a page. */
			{ pg + 1, 0, E2BIG },
			{ 2 * pg, 0, E2BIG },
			{ 0xFFFFFFFFU, 0, E2BIG },
		};
		const __u32 good[] = { op->size, op->size + 8, pg };

		ASSERT_EQ(0, op->prepare(&c)) TH_LOG("%s", op->name);
		for (s = 0; s < ARRAY_SIZE(bad); s++) {
			EXPECT_EQ(-bad[s].error,
				  arg_call(&c, op, buf, 2 * pg, bad[s].size,
					   bad[s].poke))
				TH_LOG("%s size %u, byte %zu set", op->name,
				       bad[s].size, bad[s].poke);
		}
		EXPECT_EQ(0, op->check(&c, buf, false))
			TH_LOG("%s: a refused call did something", op->name);

		/* The first version, and larger ones with a zero tail. */
		for (s = 0; s < ARRAY_SIZE(good); s++) {
			ASSERT_EQ(0, op->prepare(&c)) TH_LOG("%s", op->name);
			EXPECT_EQ(0, arg_call(&c, op, buf, 2 * pg, good[s], 0))
				TH_LOG("%s size %u", op->name, good[s]);
			EXPECT_EQ(0, op->check(&c, buf, true))
				TH_LOG("%s size %u", op->name, good[s]);
			/* The size field is left as it was. */
			EXPECT_EQ(good[s], *(__u32 *)buf);
		}
	}
	munmap(buf, 2 * pg);
}

/* A field of an argument struct that must be zero or among known bits. */
static const struct {
	unsigned long cmd;
	const char *what;
	size_t offset;
	unsigned int width;
	__u64 value;
} arg_spoils[] = {
	{ KBUS_IOC_BIND, "flags bit 1", 4, 4, 1U << 1 },
	{ KBUS_IOC_BIND, "flags bit 31", 4, 4, 1U << 31 },
	{ KBUS_IOC_BIND, "all flags", 4, 4, 0xFFFFFFFFU },
	{ KBUS_IOC_BIND, "__reserved", 20, 4, 1 },
	{ KBUS_IOC_BIND, "__reserved top bit", 20, 4, 1U << 31 },
	{ KBUS_IOC_UNBIND, "flags bit 1", 4, 4, 1U << 1 },
	{ KBUS_IOC_UNBIND, "all flags", 4, 4, 0xFFFFFFFFU },
	{ KBUS_IOC_UNBIND, "__reserved", 20, 4, 1 },
	{ KBUS_IOC_REPLIER, "flags bit 0", 4, 4, 1 },
	{ KBUS_IOC_REPLIER, "flags bit 31", 4, 4, 1U << 31 },
	{ KBUS_IOC_REPLIER, "replier_id (out)", 20, 4, 1 },
	{ KBUS_IOC_REPLIER, "replier_id (out), all bits", 20, 4, 0xFFFFFFFFU },
	{ KBUS_IOC_SENDMSG, "flags bit 1", 4, 4, 1U << 1 },
	{ KBUS_IOC_SENDMSG, "flags bit 31", 4, 4, 1U << 31 },
	{ KBUS_IOC_SENDMSG, "__reserved", 20, 4, 1 },
	{ KBUS_IOC_RECVMSG, "flags bit 2", 4, 4, KBUS_RECV_NONBLOCK | 1U << 2 },
	{ KBUS_IOC_RECVMSG, "flags bit 31", 4, 4,
	  KBUS_RECV_NONBLOCK | 1U << 31 },
	{ KBUS_IOC_RECVMSG, "__reserved", 36, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "flags", 4, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "abi_version (out)", 8, 4, KBUS_ABI_VERSION },
	{ KBUS_IOC_KSOCK_INFO, "ksock_id (out)", 12, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "num_msgs (out)", 16, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "num_unreplied (out)", 20, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "num_outstanding (out)", 24, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "__reserved", 28, 4, 1 },
	{ KBUS_IOC_KSOCK_INFO, "dropped (out)", 32, 8, 1 },
	{ KBUS_IOC_KSOCK_INFO, "dropped (out), top bit", 32, 8, 1ULL << 63 },
	{ KBUS_IOC_KSOCK_INFO, "queued_bytes (out)", 40, 8, 1 },
	{ KBUS_IOC_KSOCK_INFO, "user_bytes (out)", 48, 8, 1 },
	{ KBUS_IOC_GET_OPTION, "flags", 8, 4, 1 },
	{ KBUS_IOC_GET_OPTION, "__reserved", 12, 4, 1 },
	{ KBUS_IOC_GET_OPTION, "value (out)", 16, 8, 1 },
	{ KBUS_IOC_GET_OPTION, "value (out), high word", 16, 8, 1ULL << 40 },
	{ KBUS_IOC_SET_OPTION, "flags", 8, 4, 1 },
	{ KBUS_IOC_SET_OPTION, "flags bit 31", 8, 4, 1U << 31 },
	{ KBUS_IOC_SET_OPTION, "__reserved", 12, 4, 1 },
	{ KBUS_IOC_ADD_BUS, "flags", 4, 4, 1 },
	{ KBUS_IOC_ADD_BUS, "index (out)", 8, 4, 1 },
	{ KBUS_IOC_ADD_BUS, "index (out), top bit", 8, 4, 1U << 31 },
	{ KBUS_IOC_ADD_BUS, "__reserved", 12, 4, 1 },
	{ KBUS_IOC_REMOVE_BUS, "flags", 4, 4, 1 },
	{ KBUS_IOC_REMOVE_BUS, "__reserved", 12, 4, 1 },
};

TEST_F(kbus, unknown_flags_reserved_and_out_fields_fail_einval)
{
	union {
		__u64 align;
		unsigned char raw[64];
	} u;
	const struct arg_op *op;
	struct arg_ctx c;
	size_t i, s, n;

	arg_setup(_metadata, self->fd, self->other, &c);
	for (i = 0; i < ARRAY_SIZE(arg_ops); i++) {
		op = &arg_ops[i];
		n = 0;
		ASSERT_EQ(0, op->prepare(&c)) TH_LOG("%s", op->name);
		for (s = 0; s < ARRAY_SIZE(arg_spoils); s++) {
			__u32 v32 = arg_spoils[s].value;
			__u64 v64 = arg_spoils[s].value;

			if (arg_spoils[s].cmd != op->cmd)
				continue;
			n++;
			memset(&u, 0, sizeof(u));
			op->fill(u.raw);
			if (arg_spoils[s].width == 8)
				memcpy(u.raw + arg_spoils[s].offset, &v64, 8);
			else
				memcpy(u.raw + arg_spoils[s].offset, &v32, 4);
			EXPECT_EQ(-EINVAL, kbus_ioctl(arg_fd(&c, op), op->cmd, u.raw))
				TH_LOG("%s with %s", op->name,
				       arg_spoils[s].what);
			/* The size is checked before anything else. */
			*(__u32 *)u.raw = op->size + 8;
			u.raw[op->size + 4] = 1;
			EXPECT_EQ(-E2BIG, kbus_ioctl(arg_fd(&c, op), op->cmd, u.raw))
				TH_LOG("%s with %s", op->name,
				       arg_spoils[s].what);
		}
		EXPECT_LT(0, n) TH_LOG("no field of %s tried", op->name);
		EXPECT_EQ(0, op->check(&c, u.raw, false))
			TH_LOG("%s: a refused call did something", op->name);
	}
}

TEST_F(kbus, bad_argument_pointers_fail_efault)
{
	union {
		__u64 align;
		unsigned char raw[64];
	} u;
	size_t pg = page_size(), i;
	char *none, *two, *ro;
	const struct arg_op *op;
	struct arg_ctx c;
	void *arg;

	arg_setup(_metadata, self->fd, self->other, &c);
	none = base_map(pg, PROT_NONE);
	ASSERT_NE(NULL, none);
	/* A page, then a page that cannot be touched. */
	two = base_map(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	ASSERT_EQ(0, mprotect(two + pg, pg, PROT_NONE));
	ro = base_map(pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, ro);

	for (i = 0; i < ARRAY_SIZE(arg_ops); i++) {
		op = &arg_ops[i];
		ASSERT_EQ(0, op->prepare(&c)) TH_LOG("%s", op->name);
		EXPECT_EQ(-EFAULT, kbus_ioctl(arg_fd(&c, op), op->cmd, NULL))
			TH_LOG("%s with NULL", op->name);
		EXPECT_EQ(-EFAULT, kbus_ioctl(arg_fd(&c, op), op->cmd, none))
			TH_LOG("%s with PROT_NONE", op->name);
		EXPECT_EQ(-EFAULT, kbus_ioctl(arg_fd(&c, op), op->cmd,
					      (void *)(uintptr_t)-4096))
			TH_LOG("%s with a kernel address", op->name);

		/* The size can be read, the rest of the struct cannot. */
		memset(&u, 0, sizeof(u));
		op->fill(u.raw);
		arg = two + pg - 8;
		memset(two, 0, pg);
		memcpy(arg, u.raw, 8);
		EXPECT_EQ(-EFAULT, kbus_ioctl(arg_fd(&c, op), op->cmd, arg))
			TH_LOG("%s across the end of a mapping", op->name);

		/* The struct can be read, the tail its size claims cannot. */
		arg = two + pg - op->size;
		memset(two, 0, pg);
		op->fill(arg);
		*(__u32 *)arg = op->size + 8;
		EXPECT_EQ(-EFAULT, kbus_ioctl(arg_fd(&c, op), op->cmd, arg))
			TH_LOG("%s with a tail past a mapping", op->name);
		EXPECT_EQ(0, op->check(&c, arg, false))
			TH_LOG("%s: a refused call did something", op->name);

		/*
		 * A struct that cannot be written: refused before anything
		 * happens by the ioctls that write to it.
		 */
		ASSERT_EQ(0, mprotect(ro, pg, PROT_READ | PROT_WRITE));
		memset(ro, 0, pg);
		op->fill(ro);
		ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
		ASSERT_EQ(0, op->prepare(&c)) TH_LOG("%s", op->name);
		EXPECT_EQ(op->writes ? -EFAULT : 0,
			  kbus_ioctl(arg_fd(&c, op), op->cmd, ro))
			TH_LOG("%s with a read-only struct", op->name);
		/* REPLIER only answers a question: nothing to undo. */
		if (op->cmd != KBUS_IOC_REPLIER) {
			EXPECT_EQ(0, op->check(&c, ro, !op->writes))
				TH_LOG("%s with a read-only struct", op->name);
		}
	}
	/* Nothing was changed on the way. */
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->fd));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->other));
	munmap(ro, pg);
	munmap(two, 2 * pg);
	munmap(none, pg);
}

TEST_F(kbus, cancel_without_argument_or_with_a_request)
{
	struct kbus_entire_message *got;
	void *none = base_map(page_size(), PROT_NONE);

	ASSERT_NE(NULL, none);
	EXPECT_EQ(0, kbus_ioctl(self->fd, KBUS_IOC_CANCEL, NULL));
	/* Anything else is a struct kbus_cancel (request_test tests it). */
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, KBUS_IOC_CANCEL, none));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, KBUS_IOC_CANCEL,
				      (void *)(uintptr_t)-1));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, KBUS_IOC_CANCEL,
				      (void *)(uintptr_t)1));
	/* With nothing waiting, it has nothing to do: later sends go. */
	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Cancel", false));
	ASSERT_EQ(0, kbus_announce(self->fd, "$.Base.Cancel", "c", 1, NULL));
	got = kbus_recv(_metadata, self->other);
	kbus_check_msg(_metadata, got, "$.Base.Cancel", "c", 1,
		       kbus_ksock_id(_metadata, self->fd));
	free(got);
	/* On a read-only file too. */
	close(self->other);
	self->other = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->other);
	EXPECT_EQ(0, kbus_ioctl(self->other, KBUS_IOC_CANCEL, NULL));
	munmap(none, page_size());
}

/* ---- No read() or write() ---- */

TEST_F(kbus, read_and_write_fail_einval_and_queue_nothing)
{
	struct kbus_entire_message *m;
	struct kbus_message_header h;
	char buf[512] = "";
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	size_t len;
	void *p;

	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.RW", false));
	ASSERT_EQ(0, kbus_bind(self->fd, "$.Base.RW", false));
	kbus_msg_init(&h, "$.Base.RW", "data", 4);
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);

	/* A message as the old interface took it: not sent, not kept. */
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, &h, sizeof(h)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, m, len));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, m, 0));
	EXPECT_EQ(EINVAL, errno);
	iov.iov_base = m;
	iov.iov_len = len;
	errno = 0;
	EXPECT_EQ(-1, writev(self->fd, &iov, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->other));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->fd));

	/* A queued message cannot be read(): it stays queued. */
	ASSERT_EQ(0, kbus_send_msg(self->other, &h, false, NULL));
	ASSERT_EQ(1, kbus_num_msgs(_metadata, self->fd));
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, 0));
	EXPECT_EQ(EINVAL, errno);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	errno = 0;
	EXPECT_EQ(-1, readv(self->fd, &iov, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->fd));

	/* A stream without positions, and nothing to map. */
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, m, len, 0));
	EXPECT_EQ(ESPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	errno = 0;
	p = mmap(NULL, page_size(), PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENODEV, errno);

	/* The message is still there, intact. */
	free(m);
	m = kbus_recv(_metadata, self->fd);
	kbus_check_msg(_metadata, m, "$.Base.RW", "data", 4,
		       kbus_ksock_id(_metadata, self->other));
	free(m);
	kbus_expect_empty(_metadata, self->fd);
	/* Nothing was sent by the write()s. */
	m = kbus_recv(_metadata, self->other);
	kbus_check_msg(_metadata, m, "$.Base.RW", "data", 4,
		       kbus_ksock_id(_metadata, self->other));
	free(m);
	kbus_expect_empty(_metadata, self->other);
}

/* ---- KSOCK_INFO ---- */

TEST_F(kbus, ksock_info_reports_abi_version_and_counts)
{
	struct kbus_entire_message *req;
	struct kbus_ksock_info info;
	int r = kbus_open(_metadata);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ASSERT_EQ(0, kbus_ioctl(self->fd, KBUS_IOC_KSOCK_INFO, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(KBUS_ABI_VERSION, info.abi_version);
	EXPECT_NE(0, info.ksock_id);
	EXPECT_EQ(0, info.num_msgs);
	EXPECT_EQ(0, info.num_unreplied);
	EXPECT_EQ(0, info.num_outstanding);
	EXPECT_EQ(0, info.__reserved);
	EXPECT_EQ(0, info.dropped);

	/* A request: outstanding for its sender, owed once read. */
	ASSERT_EQ(0, kbus_bind(r, "$.Base.Info.Ask", true));
	ASSERT_EQ(0, kbus_request(self->fd, "$.Base.Info.Ask", NULL, 0, 0,
				  NULL));
	info = kbus_info_of(_metadata, self->fd);
	EXPECT_EQ(1, info.num_outstanding);
	EXPECT_EQ(0, info.num_msgs);
	info = kbus_info_of(_metadata, r);
	EXPECT_EQ(1, info.num_msgs);
	EXPECT_EQ(0, info.num_unreplied);
	req = kbus_recv(_metadata, r);
	info = kbus_info_of(_metadata, r);
	EXPECT_EQ(0, info.num_msgs);
	EXPECT_EQ(1, info.num_unreplied);

	/* The outstanding request holds one of the two slots. */
	kbus_set_max_msgs(_metadata, self->fd, 2);
	ASSERT_EQ(0, kbus_bind(self->fd, "$.Base.Info", false));
	ASSERT_EQ(0, kbus_announce(self->other, "$.Base.Info", NULL, 0, NULL));
	ASSERT_EQ(0, kbus_announce(self->other, "$.Base.Info", NULL, 0, NULL));
	info = kbus_info_of(_metadata, self->fd);
	EXPECT_EQ(1, info.num_msgs);
	EXPECT_EQ(1, info.num_outstanding);
	EXPECT_EQ(1, info.dropped);
	EXPECT_EQ(KBUS_ABI_VERSION, info.abi_version);

	/* The reply arrives; nothing is owed or outstanding any more. */
	ASSERT_EQ(0, kbus_reply(r, req, NULL, 0, NULL));
	info = kbus_info_of(_metadata, r);
	EXPECT_EQ(0, info.num_unreplied);
	info = kbus_info_of(_metadata, self->fd);
	EXPECT_EQ(2, info.num_msgs);
	EXPECT_EQ(0, info.num_outstanding);
	free(req);
	close(r);
}

TEST_F(kbus, ksock_ids_are_unique_and_nonzero)
{
	__u32 a = kbus_ksock_id(_metadata, self->fd);
	__u32 b = kbus_ksock_id(_metadata, self->other);
	int fd = kbus_open(_metadata);
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	__u32 c = kbus_ksock_id(_metadata, fd);
	__u32 d;

	ASSERT_LE(0, ro);
	d = kbus_ksock_id(_metadata, ro);
	EXPECT_NE(0, a);
	EXPECT_NE(0, b);
	EXPECT_NE(0, c);
	EXPECT_NE(0, d);
	EXPECT_NE(a, b);
	EXPECT_NE(a, c);
	EXPECT_NE(a, d);
	EXPECT_NE(b, c);
	EXPECT_NE(b, d);
	EXPECT_NE(c, d);
	/* Stable for the life of the Ksock. */
	EXPECT_EQ(a, kbus_ksock_id(_metadata, self->fd));
	close(fd);
	close(ro);
}

/* ---- Options ---- */

TEST_F(kbus, options_start_at_their_defaults)
{
	int fd = kbus_open(_metadata);
	__u64 abs_max;

	EXPECT_EQ(100, kbus_opt(_metadata, fd, KBUS_OPT_MAX_MSGS));
	EXPECT_EQ(0, kbus_opt(_metadata, fd, KBUS_OPT_ONLY_ONCE));
	EXPECT_EQ(0, kbus_opt(_metadata, fd, KBUS_OPT_REPORT_REPLIER_BINDS));
	abs_max = kbus_opt(_metadata, fd, KBUS_OPT_ABS_MAX_MSG_SIZE);
	/* CONFIG_KBUS_ABS_MAX_MESSAGE_SIZE's range. */
	EXPECT_LE(409600, abs_max);
	EXPECT_GE(16777216, abs_max);
	/* Each bus starts at the absolute maximum. */
	EXPECT_EQ(abs_max, kbus_opt(_metadata, fd, KBUS_OPT_MAX_MSG_SIZE));
	EXPECT_EQ(abs_max, self->max_size);
	close(fd);
}

TEST_F(kbus, max_msgs_option_range)
{
	const __u64 bad[] = {
		0, KBUS_MAX_MAX_MSGS + 1, 0xFFFFFFFFULL, 1ULL << 32,
		(1ULL << 32) | 5, ~0ULL,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, kbus_set_opt(self->fd, KBUS_OPT_MAX_MSGS,
						bad[i]))
			TH_LOG("value 0x%llx", (unsigned long long)bad[i]);
	}
	/* Failed attempts changed nothing. */
	EXPECT_EQ(100, kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSGS));
	kbus_set_max_msgs(_metadata, self->fd, KBUS_MAX_MAX_MSGS);
	kbus_set_max_msgs(_metadata, self->fd, 1);
	/* Per Ksock. */
	EXPECT_EQ(100, kbus_opt(_metadata, self->other, KBUS_OPT_MAX_MSGS));
}

TEST_F(kbus, only_once_option_range)
{
	const __u64 bad[] = { 2, 0xFFFFFFFFULL, (1ULL << 32) | 1, ~0ULL };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, kbus_set_opt(self->fd, KBUS_OPT_ONLY_ONCE,
						bad[i]))
			TH_LOG("value 0x%llx", (unsigned long long)bad[i]);
	}
	EXPECT_EQ(0, kbus_opt(_metadata, self->fd, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->fd, KBUS_OPT_ONLY_ONCE, 1));
	EXPECT_EQ(1, kbus_opt(_metadata, self->fd, KBUS_OPT_ONLY_ONCE));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->fd, KBUS_OPT_ONLY_ONCE, 2));
	EXPECT_EQ(1, kbus_opt(_metadata, self->fd, KBUS_OPT_ONLY_ONCE));
	/* Per Ksock. */
	EXPECT_EQ(0, kbus_opt(_metadata, self->other, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->fd, KBUS_OPT_ONLY_ONCE, 0));
	EXPECT_EQ(0, kbus_opt(_metadata, self->fd, KBUS_OPT_ONLY_ONCE));
}

TEST_F(kbus, report_replier_binds_option_range)
{
	const __u64 bad[] = { 2, 0xFFFFFFFFULL, (1ULL << 32) | 1, ~0ULL };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL,
			  kbus_set_opt(self->fd, KBUS_OPT_REPORT_REPLIER_BINDS,
				       bad[i]))
			TH_LOG("value 0x%llx", (unsigned long long)bad[i]);
	}
	EXPECT_EQ(self->report,
		  kbus_opt(_metadata, self->fd, KBUS_OPT_REPORT_REPLIER_BINDS));
	ASSERT_EQ(0, kbus_set_opt(self->fd, KBUS_OPT_REPORT_REPLIER_BINDS, 1));
	/* Bus-wide. */
	EXPECT_EQ(1, kbus_opt(_metadata, self->other,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
	ASSERT_EQ(0, kbus_set_opt(self->other, KBUS_OPT_REPORT_REPLIER_BINDS,
				  0));
	EXPECT_EQ(0, kbus_opt(_metadata, self->fd,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
	/* The catch-up of setting 1 is bind_test's. */
	base_drain(self->fd);
}

TEST_F(kbus, max_msg_size_option_range)
{
	__u64 abs_max = kbus_opt(_metadata, self->fd,
				 KBUS_OPT_ABS_MAX_MSG_SIZE);
	const __u64 bad[] = {
		0, 1, KBUS_MIN_MAX_MSG_SIZE - 1, abs_max + 1, 0xFFFFFFFFULL,
		(1ULL << 32) | KBUS_MIN_MAX_MSG_SIZE, ~0ULL,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, kbus_set_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE,
						bad[i]))
			TH_LOG("value 0x%llx", (unsigned long long)bad[i]);
	}
	EXPECT_EQ(self->max_size,
		  kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSG_SIZE));

	ASSERT_EQ(0, kbus_set_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE,
				  KBUS_MIN_MAX_MSG_SIZE));
	EXPECT_EQ(KBUS_MIN_MAX_MSG_SIZE,
		  kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSG_SIZE));
	/* Bus-wide. */
	EXPECT_EQ(KBUS_MIN_MAX_MSG_SIZE,
		  kbus_opt(_metadata, self->other, KBUS_OPT_MAX_MSG_SIZE));
	ASSERT_EQ(0, kbus_set_opt(self->other, KBUS_OPT_MAX_MSG_SIZE,
				  abs_max));
	EXPECT_EQ(abs_max, kbus_opt(_metadata, self->fd,
				    KBUS_OPT_MAX_MSG_SIZE));
	/* The absolute maximum does not move. */
	EXPECT_EQ(abs_max, kbus_opt(_metadata, self->fd,
				    KBUS_OPT_ABS_MAX_MSG_SIZE));
}

TEST_F(kbus, abs_max_msg_size_is_read_only)
{
	__u64 abs_max = kbus_opt(_metadata, self->fd,
				 KBUS_OPT_ABS_MAX_MSG_SIZE);

	EXPECT_EQ(-EOPNOTSUPP, kbus_set_opt(self->fd, KBUS_OPT_ABS_MAX_MSG_SIZE,
					    abs_max));
	EXPECT_EQ(-EOPNOTSUPP, kbus_set_opt(self->fd, KBUS_OPT_ABS_MAX_MSG_SIZE,
					    KBUS_MIN_MAX_MSG_SIZE));
	EXPECT_EQ(-EOPNOTSUPP, kbus_set_opt(self->fd, KBUS_OPT_ABS_MAX_MSG_SIZE,
					    0));
	EXPECT_EQ(abs_max, kbus_opt(_metadata, self->fd,
				    KBUS_OPT_ABS_MAX_MSG_SIZE));
	EXPECT_EQ(self->max_size,
		  kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSG_SIZE));
}

TEST_F(kbus, unknown_option_fails_einval)
{
	const __u32 options[] = { 0, 7, 8, 0x100, 0x80000000U, 0xFFFFFFFFU };
	__u64 val;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++) {
		EXPECT_EQ(-EINVAL, kbus_get_opt(self->fd, options[i], &val))
			TH_LOG("GET option %u", options[i]);
		EXPECT_EQ(-EINVAL, kbus_set_opt(self->fd, options[i], 0))
			TH_LOG("SET option %u to 0", options[i]);
		EXPECT_EQ(-EINVAL, kbus_set_opt(self->fd, options[i], 1))
			TH_LOG("SET option %u to 1", options[i]);
	}
}

/* ---- Who may change what ---- */

/*
 * A process of uid and gid NOBODY opens the bus itself: it may read every
 * option and set its Ksock's, but no bus-wide one, and no new bus.
 */
static int nobody_opens(void *arg, int in, int out)
{
	__u64 report, size, abs_max, val;
	struct kbus_ksock_info info;
	int fd;

	if (become_nobody())
		return 1;
	/* No denial at open. */
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 2;
	if (kbus_info(fd, &info) || info.abi_version != KBUS_ABI_VERSION)
		return 3;
	/* Reading the bus options is everybody's. */
	if (kbus_get_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, &report))
		return 4;
	if (kbus_get_opt(fd, KBUS_OPT_MAX_MSG_SIZE, &size))
		return 5;
	if (kbus_get_opt(fd, KBUS_OPT_ABS_MAX_MSG_SIZE, &abs_max))
		return 6;
	/* Changing them is not, nor setting them to what they are. */
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, !report) != -EPERM)
		return 7;
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, report) != -EPERM)
		return 8;
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, 1000) != -EPERM)
		return 9;
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, size) != -EPERM)
		return 10;
	/* A bad value or a read-only option is refused as such first. */
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, 2) != -EINVAL)
		return 12;
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, 99) != -EINVAL)
		return 13;
	if (kbus_set_opt(fd, KBUS_OPT_ABS_MAX_MSG_SIZE, abs_max) !=
	    -EOPNOTSUPP)
		return 14;
	/* The Ksock's own options are its opener's. */
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 5) ||
	    kbus_get_opt(fd, KBUS_OPT_MAX_MSGS, &val) || val != 5)
		return 15;
	if (kbus_set_opt(fd, KBUS_OPT_ONLY_ONCE, 1) ||
	    kbus_get_opt(fd, KBUS_OPT_ONLY_ONCE, &val) || val != 1)
		return 16;
	/* And it works as any other Ksock. */
	if (kbus_bind(fd, "$.Base.Nobody", false))
		return 17;
	if (kbus_announce(fd, "$.Base.Nobody", "n", 1, NULL))
		return 18;
	if (base_num_msgs(fd) != 1)
		return 19;
	close(fd);
	return 0;
}

TEST_F(kbus, unprivileged_opener_may_not_change_the_bus)
{
	struct kbus_child c;

	if (geteuid())
		SKIP(return, "needs root");
	node_for_all(_metadata, &self->mode, &self->mode_saved);
	kbus_spawn(_metadata, &c, nobody_opens, NULL);
	kbus_child_done(_metadata, &c);
	/* The bus is as it was. */
	EXPECT_EQ(self->report, kbus_opt(_metadata, self->fd,
					 KBUS_OPT_REPORT_REPLIER_BINDS));
	EXPECT_EQ(self->max_size, kbus_opt(_metadata, self->fd,
					   KBUS_OPT_MAX_MSG_SIZE));
}

/*
 * Root opens the bus, then becomes NOBODY for good: the file keeps the
 * rights of its opener.  @arg: whether the node is closed to others.
 */
static int root_opens_then_drops(void *arg, int in, int out)
{
	bool node_closed = *(bool *)arg;
	int fd, fd2;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (become_nobody())
		return 2;
	/* No longer privileged: the node cannot be opened again. */
	if (node_closed) {
		fd2 = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
		if (fd2 >= 0 || errno != EACCES)
			return 3;
	}
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, 1000))
		return 4;
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, 1))
		return 5;
	close(fd);
	return 0;
}

TEST_F(kbus, file_opened_by_root_may_change_the_bus_after_setuid)
{
	struct kbus_child c;
	struct stat st;
	bool node_closed;

	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, stat(KBUS_DEV0, &st));
	node_closed = !(st.st_mode & 0007);
	kbus_spawn(_metadata, &c, root_opens_then_drops, &node_closed);
	kbus_child_done(_metadata, &c);
	/* The changes were made; the teardown undoes them. */
	EXPECT_EQ(1000, kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSG_SIZE));
	EXPECT_EQ(1, kbus_opt(_metadata, self->fd,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
}

/*
 * Open the bus as NOBODY, then become root again: the file keeps the
 * rights of its opener, not of its user.
 */
static int nobody_opens_then_root_uses(void *arg, int in, int out)
{
	__u64 report, size;
	int fd, root;

	/* Only the effective ids: the real and saved ones stay root. */
	if (setgroups(0, NULL) || setresgid(-1, NOBODY, -1) ||
	    setresuid(-1, NOBODY, -1))
		return 1;
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 2;
	if (setresuid(-1, 0, -1) || setresgid(-1, 0, -1) || geteuid())
		return 3;
	/* Root again, with its capabilities: a file it opens now may. */
	root = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (root < 0)
		return 4;
	if (kbus_get_opt(root, KBUS_OPT_REPORT_REPLIER_BINDS, &report) ||
	    kbus_get_opt(root, KBUS_OPT_MAX_MSG_SIZE, &size))
		return 5;
	if (kbus_set_opt(root, KBUS_OPT_MAX_MSG_SIZE, size))
		return 6;
	if (!report && kbus_set_opt(root, KBUS_OPT_REPORT_REPLIER_BINDS, 0))
		return 7;
	/* The file NOBODY opened may not, whoever uses it. */
	if (kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, !report) != -EPERM)
		return 8;
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE, 1000) != -EPERM)
		return 9;
	/* Its Ksock options are still its own. */
	if (kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 5))
		return 11;
	close(root);
	close(fd);
	return 0;
}

TEST_F(kbus, file_opened_unprivileged_may_not_change_the_bus_as_root)
{
	struct kbus_child c;

	if (geteuid())
		SKIP(return, "needs root");
	node_for_all(_metadata, &self->mode, &self->mode_saved);
	kbus_spawn(_metadata, &c, nobody_opens_then_root_uses, NULL);
	kbus_child_done(_metadata, &c);
	EXPECT_EQ(self->report, kbus_opt(_metadata, self->fd,
					 KBUS_OPT_REPORT_REPLIER_BINDS));
	EXPECT_EQ(self->max_size, kbus_opt(_metadata, self->fd,
					   KBUS_OPT_MAX_MSG_SIZE));
}

/* ---- Messages ---- */

TEST_F(kbus, send_with_bad_id_pointer_fails_efault)
{
	struct kbus_message_header h;
	struct kbus_send *s;

	s = base_map(page_size(), PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Efault", false));
	kbus_msg_init(&h, "$.Base.Efault", NULL, 0);
	s->size = sizeof(*s);
	s->msg_ptr = (uintptr_t)&h;
	s->msg_len = sizeof(h);
	/* The id could not be written back: nothing is sent. */
	ASSERT_EQ(0, mprotect(s, page_size(), PROT_READ));
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->fd, KBUS_IOC_SENDMSG, s));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->other));
	/* Once it can, the same send goes. */
	ASSERT_EQ(0, mprotect(s, page_size(), PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, kbus_ioctl(self->fd, KBUS_IOC_SENDMSG, s));
	EXPECT_NE(0, s->id.serial_num);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->other));
	munmap(s, page_size());
}

/*
 * Send the entire message for @h placed to end where a PROT_NONE page
 * starts, less @short_by bytes: those are unreadable.
 */
static int send_entire_cut(struct __test_metadata *_metadata, int fd,
			   const struct kbus_message_header *h, size_t short_by)
{
	size_t pg = page_size(), len = 0;
	struct kbus_entire_message *m;
	char *two, *at;
	int ret;

	m = kbus_msg_entire(h, &len);
	EXPECT_NE(NULL, m);
	EXPECT_GE(pg, len);
	two = base_map(2 * pg, PROT_READ | PROT_WRITE);
	EXPECT_NE(NULL, two);
	if (!m || len > pg || !two) {
		free(m);
		if (two)
			munmap(two, 2 * pg);
		return -ENOMEM;
	}
	at = two + pg - len + short_by;
	memcpy(at, m, len - short_by);
	ret = mprotect(two + pg, pg, PROT_NONE) ? -errno : 0;
	EXPECT_EQ(0, ret);
	if (!ret)
		ret = kbus_sendmsg(fd, at, len, 0, NULL);
	munmap(two, 2 * pg);
	free(m);
	return ret;
}

/*
 * An entire message is read with its header in one go when it is small:
 * a tail that cannot be read fails the send with EFAULT, small or large,
 * and a header that is wrong still fails it with EINVAL, as when the
 * header is read alone first.  Nothing is sent.
 */
TEST_F(kbus, send_entire_with_unreadable_tail_fails_efault)
{
	/*
	 * With this name, 152 bytes of data make an entire message of 256
	 * bytes, the most read in one access, and 156 one of 260.
	 */
	static const size_t sizes[] = { 8, 100, 152, 156, 200, 1000 };
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	static char data[1000];
	unsigned int i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i * 7;
	ASSERT_EQ(256, KBUS_ENTIRE_MSG_LEN(strlen("$.Base.Tail"), 152));
	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Tail", false));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		kbus_msg_init(&h, "$.Base.Tail", data, sizes[i]);
		TH_LOG("%zu bytes of data", sizes[i]);
		EXPECT_EQ(-EFAULT, send_entire_cut(_metadata, self->fd, &h, 1));
		EXPECT_EQ(-EFAULT, send_entire_cut(_metadata, self->fd, &h,
						   sizes[i] / 2 + 4));
		h.start_guard = 0;
		EXPECT_EQ(-EINVAL, send_entire_cut(_metadata, self->fd, &h, 1));
		h.start_guard = KBUS_MSG_START_GUARD;
		h.flags = KBUS_BIT_ALL_OR_WAIT | KBUS_BIT_ALL_OR_FAIL;
		EXPECT_EQ(-EINVAL, send_entire_cut(_metadata, self->fd, &h, 1));
		EXPECT_EQ(0, kbus_num_msgs(_metadata, self->other));
		/* Whole, each is sent. */
		h.flags = 0;
		EXPECT_EQ(0, send_entire_cut(_metadata, self->fd, &h, 0));
		EXPECT_EQ(1, kbus_num_msgs(_metadata, self->other));
		ASSERT_LT(0, kbus_read_next(self->other, &got));
		EXPECT_EQ(sizes[i], got->header.data_len);
		EXPECT_EQ(0, memcmp(kbus_msg_data(got), data, sizes[i]));
		free(got);
	}
}

TEST_F(kbus, bind_with_bad_name_pointer_fails_efault)
{
	size_t pg = page_size();
	char *bad = base_map(pg, PROT_NONE);
	char *two = base_map(2 * pg, PROT_READ | PROT_WRITE);
	char *end;
	__u32 id;

	ASSERT_NE(NULL, bad);
	ASSERT_NE(NULL, two);
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, NULL, 5, false));
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, bad, 5, false));
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, bad, 5, true));
	EXPECT_EQ(-EFAULT, kbus_unbind_len(self->fd, bad, 5, false));
	EXPECT_EQ(-EFAULT, kbus_replier_len(self->fd, bad, 5, NULL));

	/* A name that runs off the end of a mapping. */
	ASSERT_EQ(0, mprotect(two + pg, pg, PROT_NONE));
	end = two + pg - 5;
	memcpy(end, "$.Bad", 5);
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, end, 6, false));
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->fd, end, 6, true));
	EXPECT_EQ(-EFAULT, kbus_replier_len(self->fd, end, 6, NULL));
	/* Its first five bytes are a name. */
	EXPECT_EQ(0, kbus_bind_len(self->fd, end, 5, true));
	EXPECT_EQ(0, kbus_replier(self->other, "$.Bad", &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->fd), id);
	EXPECT_EQ(-EFAULT, kbus_unbind_len(self->fd, end, 6, true));
	EXPECT_EQ(0, kbus_unbind_len(self->fd, end, 5, true));
	munmap(two, 2 * pg);
	munmap(bad, pg);
}

TEST_F(kbus, entire_padding_content_is_ignored)
{
	struct kbus_entire_message *m, *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;
	size_t len;

	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Pad", false));
	kbus_msg_init(&h, "$.Base.Pad", "xyz", 3);
	m = kbus_msg_entire(&h, &len);
	ASSERT_NE(NULL, m);
	/* Garbage after the name's NUL and after the data. */
	((char *)m->rest)[11] = 'Q';
	((char *)m->rest)[15] = 'Q';
	ASSERT_EQ(0, kbus_sendmsg(self->fd, m, len, 0, &id));
	/* What is received is padded with zeroes (kbus_recv() checks). */
	got = kbus_recv(_metadata, self->other);
	kbus_check_msg(_metadata, got, "$.Base.Pad", "xyz", 3,
		       kbus_ksock_id(_metadata, self->fd));
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	free(m);
}

TEST_F(kbus, unknown_kernel_flags_fail_einval)
{
	const __u32 stripped = KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_YOU_TO_REPLY;
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	unsigned int bit;
	int r = kbus_open(_metadata);

	/* A replier, so that a request goes too. */
	ASSERT_EQ(0, kbus_bind(r, "$.Base.Flags", true));
	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Flags", false));
	kbus_msg_init(&h, "$.Base.Flags", NULL, 0);
	for (bit = 0; bit < 16; bit++) {
		if (KBUS_FLAGS_MASK & (1U << bit))
			continue;
		h.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, kbus_send_msg(self->fd, &h, false, NULL))
			TH_LOG("flag bit %u", bit);
		EXPECT_EQ(-EINVAL, kbus_send_msg(self->fd, &h, true, NULL))
			TH_LOG("flag bit %u", bit);
	}
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->other));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, r));

	/* Every known flag alone is accepted. */
	for (bit = 0; bit < 16; bit++) {
		if (!(KBUS_FLAGS_MASK & (1U << bit)))
			continue;
		h.flags = 1U << bit;
		EXPECT_EQ(0, kbus_send_msg(self->fd, &h, bit & 1, NULL))
			TH_LOG("flag bit %u", bit);
		got = kbus_recv(_metadata, self->other);
		EXPECT_EQ(h.flags & ~stripped, got->header.flags)
			TH_LOG("flag bit %u", bit);
		free(got);
		kbus_expect_empty(_metadata, self->other);
	}
	/* The one request reached the replier. */
	got = kbus_recv(_metadata, r);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  got->header.flags);
	free(got);
	kbus_expect_empty(_metadata, r);
	close(r);
}

TEST_F(kbus, user_flags_pass_through_untouched)
{
	const __u32 user[] = { 0xFFFF0000U, 0xA5A50000U, 0x00010000U,
			       0x80000000U };
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	size_t i;

	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.UserFlags", false));
	kbus_msg_init(&h, "$.Base.UserFlags", NULL, 0);
	for (i = 0; i < ARRAY_SIZE(user); i++) {
		h.flags = user[i];
		ASSERT_EQ(0, kbus_send_msg(self->fd, &h, i & 1, NULL));
		got = kbus_recv(_metadata, self->other);
		EXPECT_EQ(user[i], got->header.flags);
		free(got);
	}
}

TEST_F(kbus, sender_cannot_set_synthetic_or_want_you_to_reply)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;

	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Spoof", false));
	kbus_msg_init(&h, "$.Base.Spoof", NULL, 0);
	h.flags = KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_YOU_TO_REPLY |
		  KBUS_BIT_URGENT | 0x12340000U;
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, true, NULL));
	got = kbus_recv(_metadata, self->other);
	EXPECT_EQ(KBUS_BIT_URGENT | 0x12340000U, got->header.flags);
	free(got);
	got = kbus_recv(_metadata, self->other);
	EXPECT_EQ(KBUS_BIT_URGENT | 0x12340000U, got->header.flags);
	free(got);
}

TEST_F(kbus, sender_cannot_set_from_or_serial)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.From", false));
	kbus_msg_init(&h, "$.Base.From", NULL, 0);
	h.from = 0x5555;
	h.id.serial_num = 0x7777;
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, true, &id));
	got = kbus_recv(_metadata, self->other);
	EXPECT_EQ(kbus_ksock_id(_metadata, self->fd), got->header.from);
	EXPECT_NE(0x7777, got->header.id.serial_num);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	EXPECT_EQ(0, got->header.id.network_id);
	free(got);
}

TEST_F(kbus, message_over_max_size_fails_emsgsize)
{
	struct kbus_message_header h;
	__u32 max = self->max_size;

	ASSERT_EQ(0, kbus_bind(self->other, "$.Base.Big", false));
	ASSERT_EQ(0, kbus_bind(self->other, "$.A", false));
	/* Checked on the header, before any data is copied. */
	kbus_msg_init(&h, "$.Base.Big", NULL, 0);
	h.data_len = max;
	h.data = (uintptr_t)&h;
	EXPECT_EQ(-EMSGSIZE, kbus_sendmsg(self->fd, &h, sizeof(h), 0, NULL));
	/* No overflow of the length. */
	h.data_len = 0xFFFFFFFFU;
	EXPECT_EQ(-EMSGSIZE, kbus_sendmsg(self->fd, &h, sizeof(h), 0, NULL));
	h.data_len = 0xFFFFFFFCU;
	EXPECT_EQ(-EMSGSIZE, kbus_sendmsg(self->fd, &h, sizeof(h), 0, NULL));
	/* The header of an entire message too, whatever msg_len says. */
	h.name = 0;
	h.data = 0;
	h.data_len = max;
	EXPECT_EQ(-EMSGSIZE, kbus_sendmsg(self->fd, &h, sizeof(h), 0, NULL));
	/* One byte over: 88 + 4 + padded data + 4 > max. */
	kbus_msg_init(&h, "$.A", NULL, 0);
	h.data_len = max - KBUS_ENTIRE_MSG_LEN(3, 0) + 1;
	h.data = (uintptr_t)&h;
	EXPECT_EQ(-EMSGSIZE, kbus_sendmsg(self->fd, &h, sizeof(h), 0, NULL));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, self->other));
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
	ASSERT_EQ(0, kbus_bind(self->other, "$.A", false));
	kbus_msg_init(&h, "$.A", data, data_len);
	ASSERT_EQ(self->max_size,
		  KBUS_ENTIRE_MSG_LEN(h.name_len, (size_t)h.data_len));
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	ASSERT_EQ(0, kbus_send_msg(self->fd, &h, true, NULL));
	for (i = 0; i < 2; i++) {
		got = kbus_recv(_metadata, self->other);
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

	ASSERT_EQ(0, kbus_set_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE, 200));
	EXPECT_EQ(200, kbus_opt(_metadata, self->fd, KBUS_OPT_MAX_MSG_SIZE));
	ASSERT_EQ(0, kbus_bind(self->other, "$.A", false));

	/* 88 + 4 ("$.A" and NUL) + 104 + 4 = 200. */
	kbus_msg_init(&h, "$.A", data, 104);
	EXPECT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	EXPECT_EQ(0, kbus_send_msg(self->fd, &h, true, NULL));
	kbus_msg_init(&h, "$.A", data, 105);
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->fd, &h, false, NULL));
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->fd, &h, true, NULL));
	/* Also for another Ksock of the bus: the limit is per bus. */
	EXPECT_EQ(-EMSGSIZE, kbus_send_msg(self->other, &h, false, NULL));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->other));

	/* Raised again, the message goes. */
	ASSERT_EQ(0, kbus_set_opt(self->fd, KBUS_OPT_MAX_MSG_SIZE,
				  self->max_size));
	EXPECT_EQ(0, kbus_send_msg(self->fd, &h, false, NULL));
	EXPECT_EQ(3, kbus_num_msgs(_metadata, self->other));
}

TEST_HARNESS_MAIN
