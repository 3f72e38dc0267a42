// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkbus - a small C library for the KBUS message bus
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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libkbus.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KBUS_HDR_LEN	sizeof(struct kbus_message_header)

static int kbus_ioctl(int ks, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(ks, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* ---- Ksocks ---- */

int kbus_open_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int kbus_open(unsigned int bus, int flags)
{
	char path[32];

	snprintf(path, sizeof(path), KBUS_DEV_FMT, bus);
	return kbus_open_path(path, flags);
}

int kbus_open_spec(const char *spec, int flags)
{
	unsigned long bus;
	char *end;

	if (!spec || !*spec)
		return -EINVAL;
	if (strchr(spec, '/'))
		return kbus_open_path(spec, flags);
	errno = 0;
	bus = strtoul(spec, &end, 10);
	if (errno || *end || bus > UINT_MAX || spec[0] == '-')
		return -EINVAL;
	return kbus_open(bus, flags);
}

int kbus_close(int ks)
{
	return close(ks) ? -errno : 0;
}

static int bind_op(int ks, unsigned long cmd, const char *name, bool replier)
{
	struct kbus_bind_request req = {
		.is_replier = replier,
		.name_len = strlen(name),
		.name = (uintptr_t)name,
	};

	return kbus_ioctl(ks, cmd, &req);
}

int kbus_bind(int ks, const char *name, bool replier)
{
	return bind_op(ks, KBUS_IOC_BIND, name, replier);
}

int kbus_unbind(int ks, const char *name, bool replier)
{
	return bind_op(ks, KBUS_IOC_UNBIND, name, replier);
}

int kbus_ksock_id(int ks, uint32_t *id)
{
	__u32 val = 0;
	int ret = kbus_ioctl(ks, KBUS_IOC_KSOCKID, &val);

	if (!ret)
		*id = val;
	return ret;
}

int kbus_find_replier(int ks, const char *name, uint32_t *id)
{
	struct kbus_bind_query q = {
		.name_len = strlen(name),
		.name = (uintptr_t)name,
	};
	int ret = kbus_ioctl(ks, KBUS_IOC_REPLIER, &q);

	if (ret < 0)
		return ret;
	*id = q.return_id;
	return ret ? 1 : 0;
}

/* An ioctl with a __u32 in/out argument. */
static int u32_op(int ks, unsigned long cmd, uint32_t in, uint32_t *out)
{
	__u32 val = in;
	int ret = kbus_ioctl(ks, cmd, &val);

	if (ret >= 0 && out)
		*out = val;
	return ret < 0 ? ret : 0;
}

int kbus_new_device(int ks, uint32_t *bus)
{
	return u32_op(ks, KBUS_IOC_NEWDEVICE, 0, bus);
}

int kbus_version(int ks, struct kbus_version *v)
{
	return kbus_ioctl(ks, KBUS_IOC_VERSION, v);
}

int kbus_max_messages(int ks, uint32_t set, uint32_t *limit)
{
	return u32_op(ks, KBUS_IOC_MAXMSGS, set, limit);
}

int kbus_num_messages(int ks, uint32_t *count)
{
	return u32_op(ks, KBUS_IOC_NUMMSGS, 0, count);
}

int kbus_unreplied_to(int ks, uint32_t *count)
{
	return u32_op(ks, KBUS_IOC_UNREPLIEDTO, 0, count);
}

int kbus_only_once(int ks, uint32_t val, uint32_t *old)
{
	return u32_op(ks, KBUS_IOC_MSGONLYONCE, val, old);
}

int kbus_report_replier_binds(int ks, uint32_t val, uint32_t *old)
{
	return u32_op(ks, KBUS_IOC_REPORTREPLIERBINDS, val, old);
}

int kbus_verbose(int ks, uint32_t val, uint32_t *old)
{
	return u32_op(ks, KBUS_IOC_VERBOSE, val, old);
}

int kbus_max_message_size(int ks, uint32_t set, uint32_t *size)
{
	return u32_op(ks, KBUS_IOC_MAXMSGSIZE, set, size);
}

int kbus_last_sent(int ks, struct kbus_msg_id *id)
{
	return kbus_ioctl(ks, KBUS_IOC_LASTSENT, id);
}

int kbus_dropped(int ks, uint64_t *count)
{
	__u64 val = 0;
	int ret = kbus_ioctl(ks, KBUS_IOC_DROPPED, &val);

	if (!ret)
		*count = val;
	return ret;
}

int kbus_discard(int ks)
{
	return kbus_ioctl(ks, KBUS_IOC_DISCARD, NULL);
}

/* ---- Waiting ---- */

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

int kbus_wait(int ks, unsigned int what, int timeout_ms)
{
	struct pollfd pfd = { .fd = ks };
	int64_t deadline = deadline_after(timeout_ms);
	unsigned int ready;
	int ret;

	if (what & KBUS_READABLE)
		pfd.events |= POLLIN;
	if (what & KBUS_WRITABLE)
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
			ready |= KBUS_READABLE;
		if (pfd.revents & POLLOUT)
			ready |= KBUS_WRITABLE;
		if (ready)
			return ready;
		if (pfd.revents & (POLLERR | POLLHUP))
			return -EIO;
	}
}

/* ---- Sending ---- */

int kbus_send(int ks, const char *name, const void *data, uint32_t data_len,
	      uint32_t flags, uint32_t to,
	      const struct kbus_msg_id *in_reply_to, struct kbus_msg_id *id)
{
	struct kbus_message_header h = {
		.start_guard = KBUS_MSG_START_GUARD,
		.end_guard = KBUS_MSG_END_GUARD,
		.flags = flags,
		.to = to,
		.name_len = strlen(name),
		.name = (uintptr_t)name,
		.data_len = data ? data_len : 0,
		.data = data && data_len ? (uintptr_t)data : 0,
	};
	struct kbus_send args = {
		.size = sizeof(args),
		.msg_ptr = (uintptr_t)&h,
		.msg_len = sizeof(h),
	};
	int ret;

	if (in_reply_to)
		h.in_reply_to = *in_reply_to;
	/* One call; an ALL_OR_WAIT send waits for room unless O_NONBLOCK. */
	ret = kbus_ioctl(ks, KBUS_IOC_SENDMSG, &args);
	if (ret == 0 && id)
		*id = args.id;
	return ret < 0 ? ret : 0;
}

int kbus_announce(int ks, const char *name, const void *data,
		  uint32_t data_len, struct kbus_msg_id *id)
{
	return kbus_send(ks, name, data, data_len, 0, 0, NULL, id);
}

int kbus_request(int ks, const char *name, const void *data,
		 uint32_t data_len, struct kbus_msg_id *id)
{
	return kbus_send(ks, name, data, data_len, KBUS_BIT_WANT_A_REPLY, 0,
			 NULL, id);
}

int kbus_stateful_request(int ks, const char *name, uint32_t replier,
			  const void *data, uint32_t data_len,
			  struct kbus_msg_id *id)
{
	if (!replier)
		return -EINVAL;
	return kbus_send(ks, name, data, data_len, KBUS_BIT_WANT_A_REPLY,
			 replier, NULL, id);
}

int kbus_reply(int ks, const struct kbus_msg *req, const void *data,
	       uint32_t data_len, struct kbus_msg_id *id)
{
	if (!kbus_msg_wants_us_to_reply(req))
		return -EINVAL;
	return kbus_send(ks, req->name, data, data_len, 0, req->hdr.from,
			 &req->hdr.id, id);
}

/* ---- Receiving ---- */

int kbus_msg_parse(void *buf, size_t len, struct kbus_msg *msg)
{
	struct kbus_message_header h;
	const char *rest = (const char *)buf + KBUS_HDR_LEN;
	size_t want, nlen, dlen;
	uint32_t guard;

	if (len < KBUS_HDR_LEN)
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.start_guard != KBUS_MSG_START_GUARD ||
	    h.end_guard != KBUS_MSG_END_GUARD || h.name || h.data ||
	    !h.name_len || h.name_len > KBUS_MAX_NAME_LEN)
		return -EPROTO;
	nlen = h.name_len;
	dlen = h.data_len;
	want = KBUS_ENTIRE_MSG_LEN(nlen, dlen);
	if (len != want)
		return -EPROTO;
	memcpy(&guard, rest + 4 * KBUS_ENTIRE_MSG_END_GUARD_INDEX(nlen, dlen),
	       sizeof(guard));
	if (guard != KBUS_MSG_END_GUARD)
		return -EPROTO;
	if (rest[nlen] != '\0' || memchr(rest, 0, nlen))
		return -EPROTO;

	memset(msg, 0, sizeof(*msg));
	msg->hdr = h;
	msg->name = rest;
	msg->data = dlen ? rest + 4 * KBUS_ENTIRE_MSG_DATA_INDEX(nlen) : NULL;
	msg->buf = buf;
	msg->len = len;
	return 0;
}

/*
 * Receive the next message into @buf without waiting: 1, 0 if there is
 * none, or -errno (-EMSGSIZE, with *@len set, if it does not fit).
 */
static int recv_into(int ks, void *buf, size_t size, uint32_t *len)
{
	struct kbus_recv args = {
		.size = sizeof(args),
		.flags = KBUS_RECV_NONBLOCK,
		.buf_ptr = (uintptr_t)buf,
		.buf_len = size > UINT32_MAX ? UINT32_MAX : size,
	};
	int ret = kbus_ioctl(ks, KBUS_IOC_RECVMSG, &args);

	*len = args.msg_len;
	if (ret == -EAGAIN)
		return 0;
	return ret < 0 ? ret : 1;
}

int kbus_recv_buf(int ks, void *buf, size_t size, struct kbus_msg *msg,
		  size_t *needed)
{
	uint32_t len = 0;
	int ret;

	ret = recv_into(ks, buf, size, &len);
	if (needed && (ret > 0 || ret == -EMSGSIZE))
		*needed = len;
	if (ret <= 0)
		return ret;
	ret = kbus_msg_parse(buf, len, msg);
	return ret < 0 ? ret : 1;
}

int kbus_recv(int ks, struct kbus_msg *msg)
{
	size_t size = 2048;
	uint32_t len;
	void *buf = NULL, *p;
	int ret;

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
		/* Too small: try again with the size it said it needs. */
		size = len;
	}
	if (ret > 0 && kbus_msg_parse(buf, len, msg) < 0)
		ret = -EPROTO;
	if (ret <= 0) {
		free(buf);
		return ret;
	}
	msg->allocated = true;
	return 1;
}

int kbus_recv_timeout(int ks, struct kbus_msg *msg, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	int ret;

	for (;;) {
		ret = kbus_recv(ks, msg);
		if (ret)
			return ret;
		ret = kbus_wait(ks, KBUS_READABLE, ms_left(deadline));
		if (ret <= 0)
			return ret;
	}
}

int kbus_wait_reply(int ks, const struct kbus_msg_id *req_id,
		    struct kbus_msg *reply, int timeout_ms,
		    void (*other)(const struct kbus_msg *msg, void *arg),
		    void *arg)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct kbus_msg msg;
	int ret;

	for (;;) {
		ret = kbus_recv_timeout(ks, &msg, ms_left(deadline));
		if (ret <= 0)
			return ret;
		if (kbus_msg_is_reply(&msg) &&
		    kbus_id_equal(&msg.hdr.in_reply_to, req_id)) {
			*reply = msg;
			return 1;
		}
		if (other)
			other(&msg, arg);
		kbus_msg_free(&msg);
	}
}

void kbus_msg_free(struct kbus_msg *msg)
{
	if (msg->allocated)
		free(msg->buf);
	memset(msg, 0, sizeof(*msg));
}

/* ---- Message helpers ---- */

bool kbus_msg_name_is(const struct kbus_msg *msg, const char *name)
{
	return msg->name && !strcmp(msg->name, name);
}

int kbus_msg_bind_event(const struct kbus_msg *msg,
			struct kbus_bind_event *ev)
{
	const struct kbus_replier_bind_event_data *d = msg->data;
	size_t fixed = sizeof(*d);
	const char *name;

	if (!kbus_msg_name_is(msg, KBUS_MSG_NAME_REPLIER_BIND_EVENT))
		return -EINVAL;
	if (!d || msg->hdr.data_len < fixed)
		return -EPROTO;
	if (d->name_len > KBUS_MAX_NAME_LEN ||
	    msg->hdr.data_len < fixed + KBUS_PADDED_NAME_LEN(d->name_len))
		return -EPROTO;
	name = (const char *)d->rest;
	if (name[d->name_len] != '\0')
		return -EPROTO;
	ev->is_bind = d->is_bind;
	ev->binder = d->binder;
	ev->name = name;
	ev->name_len = d->name_len;
	return 0;
}

/* ---- Text ---- */

/* snprintf()-style output into a bounded buffer. */
struct out {
	char *buf;
	size_t size;
	size_t len;	/* what would have been written */
};

static void out_putc(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
	if (o->size)
		o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

static void out_puts(struct out *o, const char *s)
{
	while (*s)
		out_putc(o, *s++);
}

/* Short formatted output (up to 127 characters at a time). */
static void out_printf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n, i;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	for (i = 0; i < n && i < (int)sizeof(tmp) - 1; i++)
		out_putc(o, tmp[i]);
}

static void out_escape(struct out *o, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (p[i]) {
		case '\n':
			out_printf(o, "\\n");
			break;
		case '\t':
			out_printf(o, "\\t");
			break;
		case '\r':
			out_printf(o, "\\r");
			break;
		case '\\':
			out_printf(o, "\\\\");
			break;
		case '"':
			out_printf(o, "\\\"");
			break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f)
				out_putc(o, p[i]);
			else
				out_printf(o, "\\x%02x", p[i]);
		}
	}
}

static int out_result(struct out *o)
{
	if (o->size)
		o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
	return o->len > INT_MAX ? INT_MAX : (int)o->len;
}

int kbus_escape(const void *data, size_t len, char *buf, size_t size)
{
	struct out o = { .buf = buf, .size = size };

	out_escape(&o, data, len);
	return out_result(&o);
}

static void out_id(struct out *o, const struct kbus_msg_id *id)
{
	out_printf(o, "%u:%u", id->network_id, id->serial_num);
}

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ KBUS_BIT_SYNTHETIC, "synthetic" },
	{ KBUS_BIT_WANT_YOU_TO_REPLY, "you-reply" },
	{ KBUS_BIT_URGENT, "urgent" },
	{ KBUS_BIT_ALL_OR_WAIT, "all-or-wait" },
	{ KBUS_BIT_ALL_OR_FAIL, "all-or-fail" },
};

static void out_flags(struct out *o, uint32_t flags)
{
	const char *sep = "";
	uint32_t rest;
	size_t i;

	flags &= ~KBUS_BIT_WANT_A_REPLY;	/* shown as the kind */
	if (!flags)
		return;
	out_printf(o, " [");
	for (i = 0; i < ARRAY_SIZE(flag_names); i++) {
		if (flags & flag_names[i].bit) {
			out_printf(o, "%s%s", sep, flag_names[i].name);
			sep = ",";
		}
	}
	rest = flags & ~(KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_YOU_TO_REPLY |
			 KBUS_BIT_URGENT | KBUS_BIT_ALL_OR_WAIT |
			 KBUS_BIT_ALL_OR_FAIL);
	if (rest)
		out_printf(o, "%sflags=0x%x", sep, rest);
	out_putc(o, ']');
}

int kbus_msg_format(const struct kbus_msg *msg, char *buf, size_t size,
		    size_t max_data)
{
	const struct kbus_message_header *h = &msg->hdr;
	struct out o = { .buf = buf, .size = size };
	struct kbus_bind_event ev;
	const char *kind;
	size_t n;

	if (kbus_msg_is_reply(msg))
		kind = "reply";
	else if (kbus_msg_is_request(msg))
		kind = "request";
	else
		kind = "announce";

	out_id(&o, &h->id);
	out_printf(&o, " %s from %u to %u", kind, h->from, h->to);
	if (kbus_msg_is_reply(msg)) {
		out_printf(&o, " re ");
		out_id(&o, &h->in_reply_to);
	}
	out_flags(&o, h->flags);
	out_putc(&o, ' ');
	out_puts(&o, msg->name ? msg->name : "?");

	if (!kbus_msg_bind_event(msg, &ev)) {
		out_printf(&o, " {%s %u ", ev.is_bind ? "bind" : "unbind",
			   ev.binder);
		out_escape(&o, (const unsigned char *)ev.name, ev.name_len);
		out_putc(&o, '}');
	} else if (h->data_len) {
		n = h->data_len;
		if (max_data && n > max_data)
			n = max_data;
		out_printf(&o, " \"");
		out_escape(&o, msg->data, n);
		out_putc(&o, '"');
		if (n < h->data_len)
			out_printf(&o, "... (%u bytes)", h->data_len);
	}
	return out_result(&o);
}

int kbus_msg_print(FILE *f, const struct kbus_msg *msg)
{
	char line[1024];

	kbus_msg_format(msg, line, sizeof(line), 256);
	return fprintf(f, "%s\n", line) < 0 ? -EIO : 0;
}

const char *kbus_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EADDRINUSE:
		return "another Ksock is already the replier for that name";
	case EADDRNOTAVAIL:
		return "no replier is bound to that name (or, for a reply, the requester has gone away)";
	case EALREADY:
		return "a previous message is still being sent";
	case EBADMSG:
		return "invalid message name (or a wildcard where none is allowed)";
	case EBUSY:
		return "a recipient's queue is full";
	case ECONNREFUSED:
		return "the reply answers no request outstanding from this Ksock";
	case EMSGSIZE:
		return "message too large for this bus";
	case ENAMETOOLONG:
		return "message name too long";
	case ENOLCK:
		return "no room in our own queue for the reply to this request";
	case ENOBUFS:
		return "the bus's byte budget is used up";
	case ENOMSG:
		return "no message to send";
	case EPIPE:
		return "the replier has changed since the stateful request was addressed";
	case ENODEV:
		return "the bus has gone away";
	case ENOENT:
		return "no such bus device (is the kbus driver loaded?)";
	case EPERM:
		return "operation needs CAP_SYS_ADMIN";
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
		{ KBUS_MSG_NAME_REPLIER_DISAPPEARED,
		  "the replier disappeared while the request waited for room" },
		{ KBUS_MSG_NAME_ERROR_SENDING,
		  "the request could not be sent after waiting for room" },
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
