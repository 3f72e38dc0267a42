// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkbus - Ksocks: opening, binding, options, waiting, receiving, sending,
 * and what their errors mean; the buses of a kbus filesystem
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libkbus.h"
#include "internal.h"

/* The "leave it alone" value of the original 0/1 settings. */
#define KBUS_QUERY_ONLY	0xFFFFFFFFU

/* What kbus_ksock_read_next_msg() first tries to read into. */
#define RECV_FIRST_SIZE	1024

static int kbus_ioctl(int ks, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(ks, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* ==== What the library keeps per Ksock ==== */

/*
 * struct ksock_state - the library's state of one Ksock (file descriptor).
 * @last_id: id of the last message sent with libkbus.
 * @pending: the bytes written with kbus_ksock_write_msg() and
 *           kbus_ksock_write_data(), not yet sent (NULL if none).
 * @pending_len: bytes in @pending.
 * @pending_size: bytes allocated at @pending.
 */
struct ksock_state {
	struct kbus_msg_id last_id;
	unsigned char *pending;
	size_t pending_len;
	size_t pending_size;
};

/* Protects @states and @nr_states, and every state they point to. */
static pthread_mutex_t states_lock = PTHREAD_MUTEX_INITIALIZER;
/* The state of file descriptor N at [N], NULL if it has none. */
static struct ksock_state **states;
static size_t nr_states;

/* The state of @ks, allocated if @create; NULL if none.  Lock held. */
static struct ksock_state *state_get_locked(int ks, bool create)
{
	struct ksock_state **p;
	size_t n;

	if (ks < 0)
		return NULL;
	if ((size_t)ks < nr_states && states[ks])
		return states[ks];
	if (!create)
		return NULL;
	if ((size_t)ks >= nr_states) {
		n = (size_t)ks + 16;
		p = realloc(states, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + nr_states, 0, (n - nr_states) * sizeof(*p));
		states = p;
		nr_states = n;
	}
	states[ks] = calloc(1, sizeof(*states[ks]));
	return states[ks];
}

/* Forget @ks: it is being closed, or is a new Ksock. */
static void state_drop(int ks)
{
	struct ksock_state *st;

	pthread_mutex_lock(&states_lock);
	st = state_get_locked(ks, false);
	if (st) {
		free(st->pending);
		free(st);
		states[ks] = NULL;
	}
	pthread_mutex_unlock(&states_lock);
}

/* Remember @id as the last message sent on @ks (best effort). */
static void note_sent(int ks, const struct kbus_msg_id *id)
{
	struct ksock_state *st;

	pthread_mutex_lock(&states_lock);
	st = state_get_locked(ks, true);
	if (st)
		st->last_id = *id;
	pthread_mutex_unlock(&states_lock);
}

/* ==== Ksocks ==== */

static kbus_ksock_t open_ksock(const char *path, int flags)
{
	int fd = open(path, flags & (O_ACCMODE | O_CLOEXEC));

	if (fd < 0)
		return -errno;
	/* A descriptor closed with close(2) may have left state behind. */
	state_drop(fd);
	return fd;
}

kbus_ksock_t kbus_ksock_open(uint32_t device_number, int flags)
{
	char path[32];

	snprintf(path, sizeof(path), KBUS_DEV_FMT, device_number);
	return open_ksock(path, flags);
}

kbus_ksock_t kbus_ksock_open_by_name(const char *device_name, int flags)
{
	return open_ksock(device_name, flags);
}

int kbus_ksock_close(kbus_ksock_t ksock)
{
	state_drop(ksock);
	return close(ksock) ? -errno : 0;
}

static int bind_op(int ks, unsigned long cmd, const char *name,
		   uint32_t is_replier)
{
	struct kbus_bind b = {
		.size = sizeof(b),
		.flags = is_replier ? KBUS_BIND_REPLIER : 0,
		.name_ptr = (uintptr_t)name,
		.name_len = strlen(name),
	};

	return kbus_ioctl(ks, cmd, &b);
}

int kbus_ksock_bind(kbus_ksock_t ksock, const char *name, uint32_t is_replier)
{
	return bind_op(ksock, KBUS_IOC_BIND, name, is_replier);
}

int kbus_ksock_unbind(kbus_ksock_t ksock, const char *name,
		      uint32_t is_replier)
{
	return bind_op(ksock, KBUS_IOC_UNBIND, name, is_replier);
}

int kbus_ksock_info(kbus_ksock_t ksock, struct kbus_ksock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return kbus_ioctl(ksock, KBUS_IOC_KSOCK_INFO, info);
}

int kbus_ksock_id(kbus_ksock_t ksock, uint32_t *ksock_id)
{
	struct kbus_ksock_info info;
	int ret = kbus_ksock_info(ksock, &info);

	if (!ret)
		*ksock_id = info.ksock_id;
	return ret;
}

int kbus_ksock_num_messages(kbus_ksock_t ksock, uint32_t *num_messages)
{
	struct kbus_ksock_info info;
	int ret = kbus_ksock_info(ksock, &info);

	if (!ret)
		*num_messages = info.num_msgs;
	return ret;
}

int kbus_ksock_num_unreplied_to(kbus_ksock_t ksock, uint32_t *num_messages)
{
	struct kbus_ksock_info info;
	int ret = kbus_ksock_info(ksock, &info);

	if (!ret)
		*num_messages = info.num_unreplied;
	return ret;
}

int kbus_ksock_find_replier(kbus_ksock_t ksock, const char *name,
			    uint32_t *replier_ksock_id)
{
	struct kbus_replier q = {
		.size = sizeof(q),
		.name_ptr = (uintptr_t)name,
		.name_len = strlen(name),
	};
	int ret = kbus_ioctl(ksock, KBUS_IOC_REPLIER, &q);

	if (ret)
		return ret;
	*replier_ksock_id = q.replier_id;
	return q.replier_id ? 1 : 0;
}

/* ---- Options ---- */

static int get_opt(int ks, uint32_t option, uint64_t *value)
{
	struct kbus_option o = { .size = sizeof(o), .option = option };
	int ret = kbus_ioctl(ks, KBUS_IOC_GET_OPTION, &o);

	if (!ret)
		*value = o.value;
	return ret;
}

static int set_opt(int ks, uint32_t option, uint64_t value)
{
	struct kbus_option o = {
		.size = sizeof(o),
		.option = option,
		.value = value,
	};

	return kbus_ioctl(ks, KBUS_IOC_SET_OPTION, &o);
}

/*
 * The original in/out protocol of a limit: *@val 0 reads @option, anything
 * else sets it; *@val is then the current value.
 */
static int limit_op(int ks, uint32_t option, uint32_t *val)
{
	uint64_t v;
	int ret;

	if (*val) {
		ret = set_opt(ks, option, *val);
		if (ret)
			return ret;
	}
	ret = get_opt(ks, option, &v);
	if (!ret)
		*val = v;
	return ret;
}

/*
 * The original 0/1/0xFFFFFFFF protocol of a flag: set it (unless asked
 * only to read it); return what it was before.  An -EBUSY from the set
 * leaves it set, and is returned.
 */
static int flag_op(int ks, uint32_t option, uint32_t request)
{
	uint64_t old;
	int ret;

	if (request > 1 && request != KBUS_QUERY_ONLY)
		return -EINVAL;
	ret = get_opt(ks, option, &old);
	if (ret)
		return ret;
	if (request != KBUS_QUERY_ONLY) {
		ret = set_opt(ks, option, request);
		if (ret)
			return ret;
	}
	return old ? 1 : 0;
}

int kbus_ksock_max_messages(kbus_ksock_t ksock, uint32_t *max_messages)
{
	return limit_op(ksock, KBUS_OPT_MAX_MSGS, max_messages);
}

int kbus_ksock_only_once(kbus_ksock_t ksock, uint32_t request)
{
	return flag_op(ksock, KBUS_OPT_ONLY_ONCE, request);
}

int kbus_ksock_report_replier_binds(kbus_ksock_t ksock, uint32_t request)
{
	return flag_op(ksock, KBUS_OPT_REPORT_REPLIER_BINDS, request);
}

int kbus_ksock_kernel_module_verbose(kbus_ksock_t ksock, uint32_t request)
{
	(void)ksock;
	(void)request;
	return -EOPNOTSUPP;
}

int kbus_ksock_max_message_size(kbus_ksock_t ksock,
				uint32_t *max_message_size)
{
	uint64_t v;
	int ret;

	if (*max_message_size != 1)
		return limit_op(ksock, KBUS_OPT_MAX_MSG_SIZE,
				max_message_size);
	ret = get_opt(ksock, KBUS_OPT_ABS_MAX_MSG_SIZE, &v);
	if (!ret)
		*max_message_size = v;
	return ret;
}

/* ==== Buses of a kbus filesystem ==== */

/* One KBUS_IOC_ADD_BUS or KBUS_IOC_REMOVE_BUS on the control node. */
static int bus_ctl(const char *control_path, unsigned long cmd,
		   struct kbus_bus_ctl *ctl)
{
	int fd, ret;

	fd = open(control_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = kbus_ioctl(fd, cmd, ctl);
	close(fd);
	return ret;
}

int kbus_bus_add(const char *control_path, uint32_t *index)
{
	struct kbus_bus_ctl ctl = { .size = sizeof(ctl) };
	int ret = bus_ctl(control_path, KBUS_IOC_ADD_BUS, &ctl);

	if (!ret)
		*index = ctl.index;
	return ret;
}

int kbus_bus_remove(const char *control_path, uint32_t index)
{
	struct kbus_bus_ctl ctl = { .size = sizeof(ctl), .index = index };

	return bus_ctl(control_path, KBUS_IOC_REMOVE_BUS, &ctl);
}

/* ==== Waiting ==== */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until @deadline (-1: none), for poll(). */
static int ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

int kbus_wait(kbus_ksock_t ksock, int wait_for, int timeout_ms)
{
	struct pollfd pfd = { .fd = ksock };
	int64_t deadline = deadline_after(timeout_ms);
	int ready, ret;

	if (wait_for & KBUS_KSOCK_READABLE)
		pfd.events |= POLLIN;
	if (wait_for & KBUS_KSOCK_WRITABLE)
		pfd.events |= POLLOUT;
	if (!pfd.events)
		return -EINVAL;

	for (;;) {
		ret = poll(&pfd, 1, ms_left(deadline));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (!ret)
			return 0;
		if (pfd.revents & POLLNVAL)
			return -EBADF;
		ready = 0;
		if (pfd.revents & POLLIN)
			ready |= KBUS_KSOCK_READABLE;
		if (pfd.revents & POLLOUT)
			ready |= KBUS_KSOCK_WRITABLE;
		if (ready)
			return ready;
		if (pfd.revents & (POLLERR | POLLHUP))
			return -EIO;
	}
}

int kbus_wait_for_message(kbus_ksock_t ksock, int wait_for)
{
	return kbus_wait(ksock, wait_for, -1);
}

/* ==== Receiving ==== */

/* One KBUS_IOC_RECVMSG without waiting; *@len is the message's length. */
static int recv_into(int ks, void *buf, size_t size, uint32_t *len)
{
	struct kbus_recv r = {
		.size = sizeof(r),
		.flags = KBUS_RECV_NONBLOCK,
		.buf_ptr = (uintptr_t)buf,
		.buf_len = size > UINT32_MAX ? UINT32_MAX : size,
	};
	int ret = kbus_ioctl(ks, KBUS_IOC_RECVMSG, &r);

	*len = r.msg_len;
	return ret;
}

/* Is the @len bytes at @buf a well-formed entire message? */
static bool entire_ok(const void *buf, size_t len)
{
	const kbus_entire_message_t *m = buf;
	const kbus_message_t *h = &m->header;
	const char *name = (const char *)m->rest;

	if (len < KBUS_HDR_LEN ||
	    h->start_guard != KBUS_MSG_START_GUARD ||
	    h->end_guard != KBUS_MSG_END_GUARD || h->name || h->data ||
	    !h->name_len || h->name_len > KBUS_MAX_NAME_LEN)
		return false;
	if (len != KBUS_ENTIRE_MSG_LEN((size_t)h->name_len,
				       (size_t)h->data_len))
		return false;
	if (*kbus_msg_end_ptr(m) != KBUS_MSG_END_GUARD)
		return false;
	return name[h->name_len] == '\0' && !memchr(name, 0, h->name_len);
}

/*
 * Take the next message off the queue, without waiting, into a buffer of
 * @size bytes or, if it is larger, of its size.  Returns 1 with *@msg, 0
 * if the queue is empty, or -errno (-EPROTO if KBUS gave something that is
 * not a message).
 */
static int recv_alloc(int ks, size_t size, kbus_message_t **msg)
{
	void *buf = NULL, *p;
	uint32_t len;
	int ret;

	*msg = NULL;
	if (size < KBUS_HDR_LEN)
		size = KBUS_HDR_LEN;
	for (;;) {
		p = realloc(buf, size);
		if (!p) {
			ret = -ENOMEM;
			break;
		}
		buf = p;
		ret = recv_into(ks, buf, size, &len);
		if (ret != -EMSGSIZE)
			break;
		/* It stayed queued: again, with the size it said it needs. */
		if (len <= size) {
			ret = -EPROTO;
			break;
		}
		size = len;
	}
	if (!ret && !entire_ok(buf, len))
		ret = -EPROTO;
	if (ret) {
		free(buf);
		return ret == -EAGAIN ? 0 : ret;
	}
	*msg = buf;
	return 1;
}

int kbus_ksock_next_msg(kbus_ksock_t ksock, uint32_t *message_length)
{
	uint32_t len = 0;
	int ret;

	*message_length = 0;
	/* A zero-length buffer: the message stays queued, EMSGSIZE tells its length. */
	ret = recv_into(ksock, NULL, 0, &len);
	if (ret == -EAGAIN)
		return 0;
	if (ret != -EMSGSIZE)
		return ret ? ret : -EPROTO;
	*message_length = len;
	return 1;
}

int kbus_ksock_len_left(kbus_ksock_t ksock, uint32_t *len_left)
{
	int ret = kbus_ksock_next_msg(ksock, len_left);

	return ret < 0 ? ret : 0;
}

int kbus_ksock_read_msg(kbus_ksock_t ksock, kbus_message_t **msg,
			size_t msg_len)
{
	int ret = recv_alloc(ksock, msg_len, msg);

	if (!ret)
		return -EBADMSG;
	return ret < 0 ? ret : 0;
}

int kbus_ksock_read_next_msg(kbus_ksock_t ksock, kbus_message_t **msg)
{
	int ret = recv_alloc(ksock, RECV_FIRST_SIZE, msg);

	return ret < 0 ? ret : 0;
}

int kbus_recv_timeout(kbus_ksock_t ksock, kbus_message_t **msg,
		      int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	int left, ret;

	for (;;) {
		ret = recv_alloc(ksock, RECV_FIRST_SIZE, msg);
		if (ret)
			return ret;
		/* Readable but empty (another reader was first): time still counts. */
		left = ms_left(deadline);
		if (!left)
			return 0;
		ret = kbus_wait(ksock, KBUS_KSOCK_READABLE, left);
		if (ret <= 0)
			return ret;
	}
}

int kbus_wait_reply(kbus_ksock_t ksock, const kbus_msg_id_t *req_id,
		    kbus_message_t **reply, int timeout_ms,
		    void (*other)(const kbus_message_t *msg, void *arg),
		    void *arg)
{
	int64_t deadline = deadline_after(timeout_ms);
	kbus_message_t *msg;
	int ret;

	*reply = NULL;
	for (;;) {
		ret = kbus_recv_timeout(ksock, &msg, ms_left(deadline));
		if (ret <= 0)
			return ret;
		if (kbus_msg_is_reply(msg) &&
		    !kbus_msg_compare_ids(&msg->in_reply_to, req_id)) {
			*reply = msg;
			return 1;
		}
		if (other)
			other(msg, arg);
		kbus_msg_delete(&msg);
	}
}

/* ==== Sending ==== */

/* One KBUS_IOC_SENDMSG of @len bytes at @msg, without waiting. */
static int send_bytes(int ks, const void *msg, uint64_t len,
		      struct kbus_msg_id *id)
{
	struct kbus_send s = {
		.size = sizeof(s),
		.flags = KBUS_SEND_NONBLOCK,
		.msg_ptr = (uintptr_t)msg,
		.msg_len = len,
	};
	int ret;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	ret = kbus_ioctl(ks, KBUS_IOC_SENDMSG, &s);
	if (ret)
		return ret;
	note_sent(ks, &s.id);
	if (id)
		*id = s.id;
	return 0;
}

int kbus_ksock_send_msg(kbus_ksock_t ksock, const kbus_message_t *msg,
			kbus_msg_id_t *msg_id)
{
	return send_bytes(ksock, msg, msg_size(msg), msg_id);
}

/*
 * One KBUS_IOC_SENDRECV: the send as send_bytes() (without waiting), then
 * a receive that waits, into a first buffer of RECV_FIRST_SIZE bytes; a
 * longer message, which stays queued, is then received with its size.
 */
int kbus_ksock_send_recv(kbus_ksock_t ksock, const kbus_message_t *msg,
			 kbus_msg_id_t *msg_id, kbus_message_t **reply)
{
	uint64_t len = msg_size(msg);
	struct kbus_send s = {
		.size = sizeof(s),
		.flags = KBUS_SEND_NONBLOCK,
		.msg_ptr = (uintptr_t)msg,
		.msg_len = len,
	};
	struct kbus_recv r = {
		.size = sizeof(r),
		.buf_len = RECV_FIRST_SIZE,
	};
	struct kbus_sendrecv sr = {
		.size = sizeof(sr),
		.send_ptr = (uintptr_t)&s,
		.recv_ptr = (uintptr_t)&r,
	};
	void *buf;
	int ret;

	*reply = NULL;
	if (msg_id)
		*msg_id = (kbus_msg_id_t){ 0, 0 };
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	buf = malloc(RECV_FIRST_SIZE);
	if (!buf)
		return -ENOMEM;
	r.buf_ptr = (uintptr_t)buf;
	/*
	 * Not kbus_ioctl(), which calls again after EINTR: that is right
	 * only while nothing has been sent (the id still 0).
	 */
	do {
		ret = ioctl(ksock, KBUS_IOC_SENDRECV, &sr) < 0 ? -errno : 0;
	} while (ret == -EINTR && !s.id.network_id && !s.id.serial_num);
	/* The id is set once the message is sent, whatever came after. */
	if (s.id.network_id || s.id.serial_num) {
		note_sent(ksock, &s.id);
		if (msg_id)
			*msg_id = s.id;
	}
	if (ret == -EMSGSIZE && r.msg_len > RECV_FIRST_SIZE) {
		free(buf);
		ret = recv_alloc(ksock, r.msg_len, reply);
		return ret < 0 ? ret : ret ? 0 : -EAGAIN;
	}
	if (!ret && !entire_ok(buf, r.msg_len))
		ret = -EPROTO;
	if (ret) {
		free(buf);
		return ret;
	}
	*reply = buf;
	return 0;
}

/*
 * The length of the message whose first @len bytes are at @buf: 0 if that
 * is not known yet (the header is not all there).
 */
static uint64_t written_msg_len(const unsigned char *buf, size_t len)
{
	kbus_message_t h;

	if (len < KBUS_HDR_LEN)
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.name)
		return KBUS_HDR_LEN;
	return KBUS_ENTIRE_MSG_LEN((uint64_t)h.name_len, (uint64_t)h.data_len);
}

int kbus_ksock_write_data(kbus_ksock_t ksock, const void *data,
			  size_t data_len)
{
	struct ksock_state *st;
	size_t need, size;
	uint64_t whole;
	unsigned char *p;
	int ret = 0;

	if (ksock < 0)
		return -EBADF;
	if (!data_len)
		return 0;
	pthread_mutex_lock(&states_lock);
	st = state_get_locked(ksock, true);
	if (!st) {
		ret = -ENOMEM;
		goto out;
	}
	need = st->pending_len + data_len;
	if (need < data_len) {
		ret = -EMSGSIZE;
		goto drop;
	}
	if (need > st->pending_size) {
		size = st->pending_size ? st->pending_size : 256;
		while (size < need)
			size = size * 2 > size ? size * 2 : need;
		p = realloc(st->pending, size);
		if (!p) {
			ret = -ENOMEM;
			goto drop;
		}
		st->pending = p;
		st->pending_size = size;
	}
	memcpy(st->pending + st->pending_len, data, data_len);
	st->pending_len = need;
	/* As write() was: nothing may follow the end of the message. */
	whole = written_msg_len(st->pending, st->pending_len);
	if (whole && st->pending_len > whole) {
		ret = -EMSGSIZE;
		goto drop;
	}
	goto out;
drop:
	/* As write() was: an error drops the whole message. */
	free(st->pending);
	st->pending = NULL;
	st->pending_len = 0;
	st->pending_size = 0;
out:
	pthread_mutex_unlock(&states_lock);
	return ret;
}

int kbus_ksock_write_msg(kbus_ksock_t ksock, const kbus_message_t *msg)
{
	uint64_t len = msg_size(msg);

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	return kbus_ksock_write_data(ksock, msg, len);
}

int kbus_ksock_discard(kbus_ksock_t ksock)
{
	struct ksock_state *st;

	pthread_mutex_lock(&states_lock);
	st = state_get_locked(ksock, false);
	if (st) {
		free(st->pending);
		st->pending = NULL;
		st->pending_len = 0;
		st->pending_size = 0;
	}
	pthread_mutex_unlock(&states_lock);
	return 0;
}

int kbus_ksock_send(kbus_ksock_t ksock, kbus_msg_id_t *msg_id)
{
	struct ksock_state *st;
	unsigned char *buf;
	size_t len, size;
	int ret;

	/* Take the message out of the state: nothing is locked while sending. */
	pthread_mutex_lock(&states_lock);
	st = state_get_locked(ksock, false);
	buf = st ? st->pending : NULL;
	len = st ? st->pending_len : 0;
	size = st ? st->pending_size : 0;
	if (st) {
		st->pending = NULL;
		st->pending_len = 0;
		st->pending_size = 0;
	}
	pthread_mutex_unlock(&states_lock);

	if (!len) {
		free(buf);
		return -ENOMSG;
	}
	if (len != written_msg_len(buf, len)) {
		free(buf);
		return -EINVAL;
	}
	ret = send_bytes(ksock, buf, len, msg_id);
	if (ret == -EAGAIN) {
		/* Keep it to send again, unless another was written meanwhile. */
		pthread_mutex_lock(&states_lock);
		st = state_get_locked(ksock, true);
		if (st && !st->pending) {
			st->pending = buf;
			st->pending_len = len;
			st->pending_size = size;
			buf = NULL;
		}
		pthread_mutex_unlock(&states_lock);
	}
	free(buf);
	return ret;
}

int kbus_ksock_last_msg_id(kbus_ksock_t ksock, kbus_msg_id_t *msg_id)
{
	struct ksock_state *st;

	if (ksock < 0)
		return -EBADF;
	pthread_mutex_lock(&states_lock);
	st = state_get_locked(ksock, false);
	if (st)
		*msg_id = st->last_id;
	else
		memset(msg_id, 0, sizeof(*msg_id));
	pthread_mutex_unlock(&states_lock);
	return 0;
}

/* ==== Error texts ==== */

const char *kbus_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EADDRINUSE:
		return "another Ksock is already the replier for that name";
	case EADDRNOTAVAIL:
		return "no replier is bound to that name (or, for a reply, the requester has gone away)";
	case EAGAIN:
		return "a recipient's queue is full (try again later)";
	case EBADMSG:
		return "invalid message name (or a wildcard where none is allowed)";
	case EBUSY:
		return "a recipient's queue is full";
	case ECANCELED:
		return "the send was cancelled while it waited for room";
	case ECONNREFUSED:
		return "the reply answers no request outstanding from this Ksock";
	case EMSGSIZE:
		return "message too large for this bus";
	case ENAMETOOLONG:
		return "message name too long";
	case ENOSPC:
		return "too many bindings, or this user's byte limit on the bus is used up";
	case ENOLCK:
		return "no room in our own queue for the reply to this request, or too many requests outstanding";
	case ENOBUFS:
		return "this user's byte limit on the bus is used up";
	case ENOMSG:
		return "no message to send";
	case EPIPE:
		return "the replier has changed since the stateful request was addressed";
	case ENODEV:
		return "the bus has gone away";
	case ENOENT:
		return "no such bus device (is the kbus driver loaded?)";
	case EOPNOTSUPP:
		return "not supported by this KBUS";
	case EPERM:
		return "not permitted: needs CAP_SYS_ADMIN (or a $.KBUS name, only KBUS sends those)";
	case EPROTO:
		return "malformed message read from the bus";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

const char *kbus_synthetic_meaning(const char *name)
{
	static const struct {
		const char *name;
		const char *meaning;
	} names[] = {
		{ KBUS_MSG_NAME_REPLIER_GONEAWAY,
		  "the replier went away without reading the request" },
		{ KBUS_MSG_NAME_REPLIER_IGNORED,
		  "the replier went away after reading the request, without replying" },
		{ KBUS_MSG_NAME_REPLIER_UNBOUND,
		  "the replier unbound before reading the request" },
		{ KBUS_MSG_NAME_UNBIND_EVENTS_LOST,
		  "replier unbind events were lost" },
		{ KBUS_MSG_NAME_REPLIER_BIND_EVENT,
		  "a replier bound or unbound" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i].name))
			return names[i].meaning;
	return NULL;
}
