/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - helpers shared by the selftests
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Wrappers that return 0 or -errno do not use the harness, so that forked
 * children can call them; the helpers that take @_metadata assert and may
 * only run in the test process.
 */

#ifndef _SELFTESTS_KBUS_COMMON_H
#define _SELFTESTS_KBUS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kbus.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define KBUS_DEV0		"/dev/kbus0"

/* How long a test waits for another process or a message, in ms. */
#define KBUS_WAIT_MS		10000

#define KBUS_HDR_LEN		sizeof(struct kbus_message_header)

/* Module parameters of the resource limits. */
#define KBUS_PARAM_DIR		"/sys/module/kbus/parameters/"
#define KBUS_PARAM_USER_BYTES	KBUS_PARAM_DIR "user_bytes"
#define KBUS_PARAM_MAX_REQUESTS	KBUS_PARAM_DIR "max_requests"
#define KBUS_PARAM_MAX_BINDINGS	KBUS_PARAM_DIR "max_bindings"

/* ---- Plain wrappers: no harness, usable in children ---- */

/* Write a module parameter: 0 or -errno. */
static inline int kbus_write_param(const char *path, unsigned long val)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%lu\n", val);
	n = write(fd, buf, n) == n ? 0 : -errno;
	close(fd);
	return n;
}

/* Read a module parameter, 0 if it cannot be read. */
static inline unsigned long kbus_read_param(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return strtoul(buf, NULL, 10);
}

static inline int kbus_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* BIND or UNBIND with @flags (KBUS_BIND_REPLIER or 0). */
static inline int kbus_bind_op(int fd, unsigned long cmd, const char *name,
			       __u32 len, __u32 flags)
{
	struct kbus_bind b = {
		.size = sizeof(b),
		.flags = flags,
		.name_ptr = (uintptr_t)name,
		.name_len = len,
	};

	return kbus_ioctl(fd, cmd, &b);
}

static inline int kbus_bind_len(int fd, const char *name, __u32 len,
				bool is_replier)
{
	return kbus_bind_op(fd, KBUS_IOC_BIND, name, len,
			    is_replier ? KBUS_BIND_REPLIER : 0);
}

static inline int kbus_bind(int fd, const char *name, bool is_replier)
{
	return kbus_bind_len(fd, name, strlen(name), is_replier);
}

static inline int kbus_unbind_len(int fd, const char *name, __u32 len,
				  bool is_replier)
{
	return kbus_bind_op(fd, KBUS_IOC_UNBIND, name, len,
			    is_replier ? KBUS_BIND_REPLIER : 0);
}

static inline int kbus_unbind(int fd, const char *name, bool is_replier)
{
	return kbus_unbind_len(fd, name, strlen(name), is_replier);
}

/* REPLIER query: 0 and *@id set (0 if there is no replier), or -errno. */
static inline int kbus_replier_len(int fd, const char *name, __u32 len,
				   __u32 *id)
{
	struct kbus_replier q = {
		.size = sizeof(q),
		.name_ptr = (uintptr_t)name,
		.name_len = len,
	};
	int ret = kbus_ioctl(fd, KBUS_IOC_REPLIER, &q);

	if (id)
		*id = ret ? 0xdeadbeef : q.replier_id;
	return ret;
}

static inline int kbus_replier(int fd, const char *name, __u32 *id)
{
	return kbus_replier_len(fd, name, strlen(name), id);
}

/* KSOCK_INFO into *@info. */
static inline int kbus_info(int fd, struct kbus_ksock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return kbus_ioctl(fd, KBUS_IOC_KSOCK_INFO, info);
}

/* GET_OPTION: 0 and *@val set, or -errno. */
static inline int kbus_get_opt(int fd, __u32 option, __u64 *val)
{
	struct kbus_option o = { .size = sizeof(o), .option = option };
	int ret = kbus_ioctl(fd, KBUS_IOC_GET_OPTION, &o);

	*val = ret ? 0xdeadbeef : o.value;
	return ret;
}

/* SET_OPTION. */
static inline int kbus_set_opt(int fd, __u32 option, __u64 val)
{
	struct kbus_option o = {
		.size = sizeof(o),
		.option = option,
		.value = val,
	};

	return kbus_ioctl(fd, KBUS_IOC_SET_OPTION, &o);
}

/* SENDMSG of the @len bytes at @msg: 0 and *@id set, or -errno. */
static inline int kbus_sendmsg(int fd, const void *msg, size_t len,
			       __u32 flags, struct kbus_msg_id *id)
{
	struct kbus_send s = {
		.size = sizeof(s),
		.flags = flags,
		.msg_ptr = (uintptr_t)msg,
		.msg_len = len,
	};
	int ret = kbus_ioctl(fd, KBUS_IOC_SENDMSG, &s);

	if (id)
		*id = ret ? (struct kbus_msg_id){ 0xdeadbeef, 0xdeadbeef } : s.id;
	return ret;
}

/*
 * RECVMSG into @buf: 0, or -errno.  *@r (if not NULL) gets the whole
 * argument back: msg_len and, with KBUS_RECV_CREDS, the credentials.
 */
static inline int kbus_recvmsg(int fd, void *buf, size_t len, __u32 flags,
			       struct kbus_recv *r)
{
	struct kbus_recv tmp = {
		.size = sizeof(tmp),
		.flags = flags,
		.buf_ptr = (uintptr_t)buf,
		.buf_len = len,
	};
	int ret = kbus_ioctl(fd, KBUS_IOC_RECVMSG, &tmp);

	if (r)
		*r = tmp;
	return ret;
}

/* One write() of the whole buffer (pipes): 0, -errno, or -EIO if short. */
static inline int kbus_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* ---- Building messages ---- */

/* A "pointy" header for @name and @data; callers adjust the rest. */
static inline void kbus_msg_init(struct kbus_message_header *h,
				 const char *name, const void *data,
				 __u32 data_len)
{
	memset(h, 0, sizeof(*h));
	h->start_guard = KBUS_MSG_START_GUARD;
	h->end_guard = KBUS_MSG_END_GUARD;
	h->name_len = strlen(name);
	h->name = (uintptr_t)name;
	h->data_len = data_len;
	h->data = data_len ? (uintptr_t)data : 0;
}

/*
 * The "entire" form of a pointy header: the header with name and data 0,
 * the name, NUL and zero padding, the data and zero padding, and the end
 * guard.  Allocated; *len is its length.  NULL if out of memory.
 */
static inline struct kbus_entire_message *
kbus_msg_entire(const struct kbus_message_header *h, size_t *len)
{
	size_t n = KBUS_ENTIRE_MSG_LEN((size_t)h->name_len,
				       (size_t)h->data_len);
	struct kbus_entire_message *m = calloc(1, n);

	if (!m)
		return NULL;
	m->header = *h;
	m->header.name = 0;
	m->header.data = 0;
	if (h->name)
		memcpy(m->rest, (const void *)(uintptr_t)h->name,
		       h->name_len);
	if (h->data)
		memcpy(&m->rest[KBUS_ENTIRE_MSG_DATA_INDEX(h->name_len)],
		       (const void *)(uintptr_t)h->data, h->data_len);
	m->rest[KBUS_ENTIRE_MSG_END_GUARD_INDEX(h->name_len, h->data_len)] =
		KBUS_MSG_END_GUARD;
	*len = n;
	return m;
}

/* Send a message, as its pointy header or as an entire message. */
static inline int kbus_send_msg(int fd, const struct kbus_message_header *h,
				bool entire, struct kbus_msg_id *id)
{
	struct kbus_entire_message *m;
	size_t len;
	int ret;

	if (!entire)
		return kbus_sendmsg(fd, h, sizeof(*h), 0, id);
	m = kbus_msg_entire(h, &len);
	if (!m)
		return -ENOMEM;
	ret = kbus_sendmsg(fd, m, len, 0, id);
	free(m);
	return ret;
}

static inline int kbus_announce(int fd, const char *name, const void *data,
				__u32 data_len, struct kbus_msg_id *id)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, name, data, data_len);
	return kbus_send_msg(fd, &h, false, id);
}

/* Send a request; @to 0 for an ordinary one, a replier id for stateful. */
static inline int kbus_request(int fd, const char *name, const void *data,
			       __u32 data_len, __u32 to,
			       struct kbus_msg_id *id)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, name, data, data_len);
	h.flags = KBUS_BIT_WANT_A_REPLY;
	h.to = to;
	return kbus_send_msg(fd, &h, false, id);
}

static inline const char *kbus_msg_name(const struct kbus_entire_message *m)
{
	return (const char *)m->rest;
}

static inline const void *kbus_msg_data(const struct kbus_entire_message *m)
{
	return &m->rest[KBUS_ENTIRE_MSG_DATA_INDEX(m->header.name_len)];
}

/* Reply to a request as read (an entire message). */
static inline int kbus_reply(int fd, const struct kbus_entire_message *req,
			     const void *data, __u32 data_len,
			     struct kbus_msg_id *id)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, kbus_msg_name(req), data, data_len);
	h.in_reply_to = req->header.id;
	h.to = req->header.from;
	return kbus_send_msg(fd, &h, false, id);
}

/* Give up the request @id sent from @fd: 0 or -errno. */
static inline int kbus_cancel_request(int fd, const struct kbus_msg_id *id)
{
	struct kbus_cancel c = {
		.size = sizeof(c),
		.id = *id,
	};

	return kbus_ioctl(fd, KBUS_IOC_CANCEL, &c);
}

/* ---- Receiving ---- */

/*
 * Receive the next message, without waiting, into an allocated buffer.
 * Returns its length, 0 if the queue is empty, or -errno.
 */
static inline ssize_t kbus_read_next(int fd, struct kbus_entire_message **msg)
{
	struct kbus_recv r;
	char *buf = NULL, *p;
	size_t size = 256;
	int ret;

	*msg = NULL;
	for (;;) {
		p = realloc(buf, size);
		if (!p) {
			free(buf);
			return -ENOMEM;
		}
		buf = p;
		ret = kbus_recvmsg(fd, buf, size, KBUS_RECV_NONBLOCK, &r);
		if (ret != -EMSGSIZE)
			break;
		size = r.msg_len;
	}
	if (ret) {
		free(buf);
		return ret == -EAGAIN ? 0 : ret;
	}
	*msg = (struct kbus_entire_message *)buf;
	return r.msg_len;
}

/* Wait for @events on @fd: the revents, -ETIMEDOUT, or -errno. */
static inline int kbus_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ret;

	do {
		ret = poll(&p, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	return p.revents;
}

/* The poll events of @fd right now. */
static inline short kbus_poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

/*
 * Wait until the task whose stat file is @path is in @state ('S': asleep
 * in the kernel, 'T': stopped).  0, -ESRCH if it died, or -ETIMEDOUT.
 */
static inline int kbus_wait_task_state(const char *path, char state)
{
	char buf[512], *p;
	ssize_t n;
	int i, fd;

	for (i = 0; i < KBUS_WAIT_MS; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -EIO;
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (!p || p[1] != ' ')
			return -EIO;
		if (p[2] == state)
			return 0;
		if (p[2] == 'Z' || p[2] == 'X')
			return -ESRCH;
		poll(NULL, 0, 1);
	}
	return -ETIMEDOUT;
}

/* ---- Harness helpers ---- */

/*
 * Open a bus device.  If it does not exist the test is skipped and -1 is
 * returned (the caller records the skip and returns); any other error
 * fails the test.
 */
static inline int kbus_open_path(struct __test_metadata *const _metadata,
				 const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		SKIP(return -1, "%s does not exist (CONFIG_KBUS=y needed)", path);
	ASSERT_LE(0, fd)
		TH_LOG("cannot open %s: %s", path, strerror(errno));
	return fd;
}

/*
 * Mount a kbus filesystem with @opts on a new directory, whose path is
 * stored in @dir (at least 32 bytes), in a mount namespace of the calling
 * process's own, on a tmpfs over /tmp: nobody else sees the mounts and
 * nothing is left behind when the process exits.  0, or -errno.
 */
static inline int kbus_mount_instance(char *dir, const char *opts)
{
	static const char tmpl[] = "/tmp/kbusfs.XXXXXX";

	memcpy(dir, tmpl, sizeof(tmpl));
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/tmp", "tmpfs", 0, NULL))
		return -errno;
	if (!mkdtemp(dir))
		return -errno;
	return mount("none", dir, "kbus", 0, opts) ? -errno : 0;
}

/* @dir/@name into @buf (of KBUS_PATH_MAX bytes). */
#define KBUS_PATH_MAX	64
static inline const char *kbus_fs_path(char *buf, const char *dir,
				       const char *name)
{
	snprintf(buf, KBUS_PATH_MAX, "%s/%s", dir, name);
	return buf;
}

/* KBUS_IOC_ADD_BUS or KBUS_IOC_REMOVE_BUS on a control node: 0 or -errno. */
static inline int kbus_bus_ctl(int control, unsigned long cmd, __u32 *index)
{
	struct kbus_bus_ctl bc = { .size = sizeof(bc) };
	int ret;

	if (cmd == KBUS_IOC_REMOVE_BUS)
		bc.index = *index;
	ret = kbus_ioctl(control, cmd, &bc);
	if (!ret && cmd == KBUS_IOC_ADD_BUS)
		*index = bc.index;
	return ret;
}

/* Write @s to the file @path: 0, or -errno (-EIO if short). */
static inline int kbus_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

/* Read the file @path into @buf, without its final newline: 0 or -errno. */
static inline int kbus_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* Drop CAP_SYS_ADMIN from the effective set of this process. */
static inline int kbus_drop_sys_admin(void)
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

/* Open another Ksock of bus 0, which the fixture already found. */
static inline int kbus_open(struct __test_metadata *const _metadata)
{
	int fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd)
		TH_LOG("cannot open " KBUS_DEV0 ": %s", strerror(errno));
	return fd;
}

static inline struct kbus_ksock_info
kbus_info_of(struct __test_metadata *const _metadata, int fd)
{
	struct kbus_ksock_info info;

	EXPECT_EQ(0, kbus_info(fd, &info));
	return info;
}

static inline __u32 kbus_ksock_id(struct __test_metadata *const _metadata,
				  int fd)
{
	return kbus_info_of(_metadata, fd).ksock_id;
}

static inline __u32 kbus_num_msgs(struct __test_metadata *const _metadata,
				  int fd)
{
	return kbus_info_of(_metadata, fd).num_msgs;
}

static inline __u32 kbus_unreplied(struct __test_metadata *const _metadata,
				   int fd)
{
	return kbus_info_of(_metadata, fd).num_unreplied;
}

static inline __u64 kbus_dropped(struct __test_metadata *const _metadata,
				 int fd)
{
	return kbus_info_of(_metadata, fd).dropped;
}

static inline __u64 kbus_opt(struct __test_metadata *const _metadata, int fd,
			     __u32 option)
{
	__u64 val;

	EXPECT_EQ(0, kbus_get_opt(fd, option, &val));
	return val;
}

static inline void kbus_set_max_msgs(struct __test_metadata *const _metadata,
				     int fd, __u32 max)
{
	ASSERT_EQ(0, kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, max));
	ASSERT_EQ(max, kbus_opt(_metadata, fd, KBUS_OPT_MAX_MSGS));
}

/* Check the framing of an entire message as read, @len bytes long. */
static inline void kbus_check_entire(struct __test_metadata *const _metadata,
				     const struct kbus_entire_message *m,
				     size_t len)
{
	const struct kbus_message_header *h = &m->header;
	const unsigned char *p = (const unsigned char *)m->rest;
	size_t npad, dpad, i;

	ASSERT_LE(KBUS_HDR_LEN + 8, len);
	EXPECT_EQ(KBUS_MSG_START_GUARD, h->start_guard);
	EXPECT_EQ(KBUS_MSG_END_GUARD, h->end_guard);
	EXPECT_EQ(0, h->extra);
	EXPECT_EQ(0, h->__reserved0);
	EXPECT_EQ(0, h->__reserved1);
	EXPECT_EQ(0, h->name);
	EXPECT_EQ(0, h->data);
	ASSERT_EQ(KBUS_ENTIRE_MSG_LEN((size_t)h->name_len,
				      (size_t)h->data_len), len);
	npad = KBUS_PADDED_NAME_LEN(h->name_len);
	dpad = KBUS_PADDED_DATA_LEN((size_t)h->data_len);
	for (i = h->name_len; i < npad; i++)
		EXPECT_EQ(0, p[i]);
	for (i = npad + h->data_len; i < npad + dpad; i++)
		EXPECT_EQ(0, p[i]);
	EXPECT_EQ(KBUS_MSG_END_GUARD,
		  m->rest[KBUS_ENTIRE_MSG_END_GUARD_INDEX(h->name_len,
							  h->data_len)]);
}

/*
 * Receive the next message, which must be there, and check its framing.
 * The caller frees it.
 */
static inline struct kbus_entire_message *
kbus_recv(struct __test_metadata *const _metadata, int fd)
{
	struct kbus_entire_message *m;
	ssize_t len;

	len = kbus_read_next(fd, &m);
	ASSERT_LT(0, len)
		TH_LOG("expected a message: %zd", len);
	kbus_check_entire(_metadata, m, len);
	return m;
}

/* The queue must be empty: nothing counted, nothing to receive. */
static inline void kbus_expect_empty(struct __test_metadata *const _metadata,
				     int fd)
{
	char buf[256];

	EXPECT_EQ(0, kbus_num_msgs(_metadata, fd));
	EXPECT_EQ(-EAGAIN, kbus_recvmsg(fd, buf, sizeof(buf),
					KBUS_RECV_NONBLOCK, NULL));
}

/* Check a received message's name, data and sender. */
static inline void kbus_check_msg(struct __test_metadata *const _metadata,
				  const struct kbus_entire_message *m,
				  const char *name, const void *data,
				  __u32 data_len, __u32 from)
{
	EXPECT_EQ(strlen(name), m->header.name_len);
	EXPECT_STREQ(name, kbus_msg_name(m));
	ASSERT_EQ(data_len, m->header.data_len);
	if (data_len)
		EXPECT_EQ(0, memcmp(data, kbus_msg_data(m), data_len));
	EXPECT_EQ(from, m->header.from);
}

/* ---- Allocation failures (fault injection) ---- */

#define FAILSLAB "/sys/kernel/debug/failslab/"

/* Write @val to @path: 0, or -errno. */
static inline int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Run @op with the @nth slab allocation of this thread made to fail.
 * Returns whether a failure was injected (false: @op made fewer than @nth
 * allocations); *@ret is what @op returned.
 */
static inline bool with_nth_failure(struct __test_metadata *const _metadata,
				    int failnth, int nth, int (*op)(void *),
				    void *arg, int *ret)
{
	char buf[16];
	ssize_t n;

	snprintf(buf, sizeof(buf), "%d", nth);
	EXPECT_EQ((ssize_t)strlen(buf), pwrite(failnth, buf, strlen(buf), 0));
	*ret = op(arg);
	n = pread(failnth, buf, sizeof(buf) - 1, 0);
	EXPECT_LT(0, n);
	if (n <= 0)
		return false;
	buf[n] = 0;
	if (atoi(buf)) {
		/* Not reached: take the count back. */
		EXPECT_EQ(1, pwrite(failnth, "0", 1, 0));
		return false;
	}
	return true;
}

/* failslab for GFP_KERNEL allocations too, quietly; restored by undo. */
struct failslab_saved {
	char wait[8];
	char verbose[8];
};

static inline int failslab_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

static inline int failslab_setup(struct failslab_saved *saved)
{
	if (failslab_read(FAILSLAB "ignore-gfp-wait", saved->wait,
			  sizeof(saved->wait)) ||
	    failslab_read(FAILSLAB "verbose", saved->verbose,
			  sizeof(saved->verbose)))
		return -ENOENT;
	if (write_str(FAILSLAB "ignore-gfp-wait", "N") ||
	    write_str(FAILSLAB "verbose", "0"))
		return -EIO;
	return 0;
}

static inline void failslab_undo(const struct failslab_saved *saved)
{
	write_str(FAILSLAB "ignore-gfp-wait", saved->wait);
	write_str(FAILSLAB "verbose", saved->verbose);
}

/*
 * Make the calling thread's allocations fail on demand: open its fail-nth
 * file and set failslab up (failslab_undo() restores it).  Returns the
 * file, or -1 once the test has been skipped because it is not run as
 * root (for @why); fails the test if the kernel cannot inject faults.
 */
static inline int failnth_open(struct __test_metadata *const _metadata,
			       struct failslab_saved *saved, const char *why)
{
	int fd;

	if (geteuid())
		SKIP(return -1, "needs root: %s", why);
	fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd)
		TH_LOG("no fail-nth: CONFIG_FAULT_INJECTION and CONFIG_FAILSLAB needed");
	/* GFP_KERNEL allocations too, and no stack dump in the log. */
	ASSERT_EQ(0, failslab_setup(saved))
		TH_LOG("no " FAILSLAB ": CONFIG_FAULT_INJECTION_DEBUG_FS needed");
	return fd;
}

/* ---- Other processes ---- */

/*
 * A forked child and the pipes to it.  The child runs without the harness
 * (it must not use ASSERT_*()): it reports through its exit status and
 * through @from_child.
 */
struct kbus_child {
	pid_t pid;
	int to_child;
	int from_child;
};

typedef int (*kbus_child_fn)(void *arg, int in, int out);

static inline void kbus_spawn(struct __test_metadata *const _metadata,
			      struct kbus_child *c, kbus_child_fn fn,
			      void *arg)
{
	int down[2], up[2], fd;

	ASSERT_EQ(0, pipe(down));
	ASSERT_EQ(0, pipe(up));
	c->pid = fork();
	ASSERT_LE(0, c->pid);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Keep none of the parent's Ksocks alive. */
		for (fd = 3; fd < 1024; fd++) {
			if (fd != down[0] && fd != up[1])
				close(fd);
		}
		_exit(fn(arg, down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	c->to_child = down[1];
	c->from_child = up[0];
}

/* Reap a child; it must have exited with status 0. */
static inline void kbus_child_done(struct __test_metadata *const _metadata,
				   struct kbus_child *c)
{
	int status;

	close(c->to_child);
	close(c->from_child);
	ASSERT_EQ(c->pid, waitpid(c->pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status))
		TH_LOG("child %d: status 0x%x", c->pid, status);
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child %d failed at step %d", c->pid,
		       WEXITSTATUS(status));
}

/* Kill a child with SIGKILL and reap it. */
static inline void kbus_child_kill(struct __test_metadata *const _metadata,
				   struct kbus_child *c)
{
	int status;

	ASSERT_EQ(0, kill(c->pid, SIGKILL));
	ASSERT_EQ(c->pid, waitpid(c->pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status))
		TH_LOG("child %d: status 0x%x", c->pid, status);
	close(c->to_child);
	close(c->from_child);
}

/* Read exactly @len bytes from a pipe, waiting at most KBUS_WAIT_MS. */
static inline int kbus_pipe_read(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (kbus_wait_fd(fd, POLLIN, KBUS_WAIT_MS) < 0)
			return -ETIMEDOUT;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		got += n;
	}
	return 0;
}

static inline int kbus_pipe_write(int fd, const void *buf, size_t len)
{
	return kbus_write(fd, buf, len);
}

/* One-byte handshakes over a pipe. */
static inline int kbus_post(int fd)
{
	return kbus_pipe_write(fd, "", 1);
}

static inline int kbus_wait(int fd)
{
	char c;

	return kbus_pipe_read(fd, &c, 1);
}

/* Read the __u32 a child sent. */
static inline __u32 kbus_child_u32(struct __test_metadata *const _metadata,
				   struct kbus_child *c)
{
	__u32 val;

	ASSERT_EQ(0, kbus_pipe_read(c->from_child, &val, sizeof(val)));
	return val;
}

/*
 * The child is about to make a call that blocks: let it block, SIGKILL it,
 * and check that it is gone (reaped) within a second.
 */
static inline void kbus_child_kill_blocked(struct __test_metadata *const _metadata,
					   struct kbus_child *c)
{
	pid_t got = 0;
	char path[64];
	int status = 0, i;

	ASSERT_EQ(0, kbus_wait(c->from_child));
	snprintf(path, sizeof(path), "/proc/%d/stat", c->pid);
	EXPECT_EQ(0, kbus_wait_task_state(path, 'S'));
	EXPECT_EQ(-ETIMEDOUT, kbus_wait_fd(c->from_child, POLLIN, 100))
		TH_LOG("the call returned when it should wait");
	ASSERT_EQ(0, kill(c->pid, SIGKILL));
	for (i = 0; i < 100 && !got; i++) {
		got = waitpid(c->pid, &status, WNOHANG);
		if (!got)
			poll(NULL, 0, 10);
	}
	close(c->to_child);
	close(c->from_child);
	ASSERT_EQ(c->pid, got)
		TH_LOG("child %d not reaped within 1 s of SIGKILL", c->pid);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
}

/*
 * A thread of the test's process that makes one SENDMSG of @h (its pointy
 * header) from @fd, for the sends that wait: kbus_sender_start() starts
 * it and checks that the send waits, kbus_sender_finish() collects what
 * the send returned, and @id is the id it was given.
 */
struct kbus_sender {
	pthread_t thread;
	int fd;
	struct kbus_message_header h;
	int pipe[2];
	pid_t tid;
	int ret;
	struct kbus_msg_id id;
};

static inline void *kbus_sender_main(void *arg)
{
	struct kbus_sender *s = arg;

	s->tid = syscall(SYS_gettid);
	if (kbus_post(s->pipe[1]))
		return NULL;
	s->ret = kbus_sendmsg(s->fd, &s->h, sizeof(s->h), 0, &s->id);
	kbus_post(s->pipe[1]);
	return NULL;
}

/*
 * Start a thread sending @h from @fd, waiting or not.  The name @h points
 * to must outlive the thread.
 */
static inline void kbus_sender_spawn(struct __test_metadata *const _metadata,
				     struct kbus_sender *s, int fd,
				     const struct kbus_message_header *h)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->h = *h;
	s->ret = 1;
	ASSERT_EQ(0, pipe2(s->pipe, O_CLOEXEC));
	ASSERT_EQ(0, pthread_create(&s->thread, NULL, kbus_sender_main, s));
	ASSERT_EQ(0, kbus_wait(s->pipe[0]));
}

/* The thread sleeps, and its send has not returned within @ms. */
static inline void kbus_sender_waits(struct __test_metadata *const _metadata,
				     struct kbus_sender *s, int ms)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", s->tid);
	ASSERT_EQ(0, kbus_wait_task_state(path, 'S'))
		TH_LOG("the sending thread did not block");
	ASSERT_EQ(-ETIMEDOUT, kbus_wait_fd(s->pipe[0], POLLIN, ms))
		TH_LOG("the send returned when it should wait");
}

/*
 * Start a thread sending @name with header flags @hflags from @fd, and
 * check that the send waits.  @name must outlive the thread.
 */
static inline void kbus_sender_start(struct __test_metadata *const _metadata,
				     struct kbus_sender *s, int fd,
				     const char *name, __u32 hflags)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, name, NULL, 0);
	h.flags = hflags;
	kbus_sender_spawn(_metadata, s, fd, &h);
	kbus_sender_waits(_metadata, s, 0);
}

/*
 * Wait (bounded) for the thread's send to return, and return its result.
 * A send that does not return is cancelled, so that the thread ends.
 */
static inline int kbus_sender_finish(struct __test_metadata *const _metadata,
				     struct kbus_sender *s)
{
	int ready = kbus_wait_fd(s->pipe[0], POLLIN, KBUS_WAIT_MS);

	if (ready < 0)
		kbus_ioctl(s->fd, KBUS_IOC_CANCEL, NULL);
	EXPECT_LT(0, ready)
		TH_LOG("the send did not return");
	ASSERT_EQ(0, kbus_wait(s->pipe[0]));
	ASSERT_EQ(0, pthread_join(s->thread, NULL));
	close(s->pipe[0]);
	close(s->pipe[1]);
	return s->ret;
}

#endif /* _SELFTESTS_KBUS_COMMON_H */
