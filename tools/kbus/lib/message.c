// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkbus - messages: building, one-call sends, bind events, printing
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "libkbus.h"
#include "internal.h"

/* ==== Headers ==== */

/* Fill in a pointy header. */
static void hdr_init(kbus_message_t *h, const char *name, uint32_t name_len,
		     const void *data, uint32_t data_len, uint32_t flags)
{
	memset(h, 0, sizeof(*h));
	h->start_guard = KBUS_MSG_START_GUARD;
	h->end_guard = KBUS_MSG_END_GUARD;
	h->flags = flags;
	h->name_len = name_len;
	h->name = (uintptr_t)name;
	h->data_len = data_len;
	h->data = data_len ? (uintptr_t)data : 0;
}

/* The pointy header of the reply to @req. */
static int hdr_init_reply(kbus_message_t *h, const kbus_message_t *req,
			  const void *data, uint32_t data_len, uint32_t flags)
{
	if (!kbus_msg_wants_us_to_reply(req))
		return -EBADMSG;
	hdr_init(h, kbus_msg_name_ptr(req), req->name_len, data, data_len,
		 flags);
	h->to = req->from;
	h->in_reply_to = req->id;
	return 0;
}

/*
 * The pointy header of a stateful request to whoever sent or was sent
 * @earlier.
 */
static int hdr_init_stateful(kbus_message_t *h, const kbus_message_t *earlier,
			     const char *name, uint32_t name_len,
			     const void *data, uint32_t data_len,
			     uint32_t flags)
{
	struct kbus_orig_from final_to;
	uint32_t to;

	if (kbus_msg_is_reply(earlier)) {
		to = earlier->from;
		final_to = earlier->orig_from;
	} else if (kbus_msg_is_stateful_request(earlier)) {
		to = earlier->to;
		final_to = earlier->final_to;
	} else {
		return -EBADMSG;
	}
	hdr_init(h, name, name_len, data, data_len,
		 flags | KBUS_BIT_WANT_A_REPLY);
	h->to = to;
	h->final_to = final_to;
	return 0;
}

/* ==== One-call sends ==== */

static int send_pointy(int ks, const char *name, const void *data,
		       uint32_t data_len, uint32_t flags, uint32_t to,
		       struct kbus_msg_id *id)
{
	kbus_message_t h;

	hdr_init(&h, name, strlen(name), data, data_len, flags);
	h.to = to;
	return kbus_ksock_send_msg(ks, &h, id);
}

int kbus_announce(kbus_ksock_t ksock, const char *name, const void *data,
		  uint32_t data_len, kbus_msg_id_t *msg_id)
{
	return send_pointy(ksock, name, data, data_len, 0, 0, msg_id);
}

int kbus_request(kbus_ksock_t ksock, const char *name, const void *data,
		 uint32_t data_len, kbus_msg_id_t *msg_id)
{
	return send_pointy(ksock, name, data, data_len, KBUS_BIT_WANT_A_REPLY,
			   0, msg_id);
}

int kbus_stateful_request(kbus_ksock_t ksock, const char *name,
			  uint32_t replier, const void *data,
			  uint32_t data_len, kbus_msg_id_t *msg_id)
{
	if (!replier)
		return -EINVAL;
	return send_pointy(ksock, name, data, data_len, KBUS_BIT_WANT_A_REPLY,
			   replier, msg_id);
}

int kbus_reply(kbus_ksock_t ksock, const kbus_message_t *req,
	       const void *data, uint32_t data_len, kbus_msg_id_t *msg_id)
{
	kbus_message_t h;
	int ret = hdr_init_reply(&h, req, data, data_len, 0);

	return ret ? ret : kbus_ksock_send_msg(ksock, &h, msg_id);
}

/* ==== Messages ==== */

/*
 * Make *@msg the message of pointy header @h: a copy of it, or if @entire,
 * the entire message with copies of its name and data.
 */
static int msg_make(kbus_message_t **msg, const kbus_message_t *h,
		    bool entire)
{
	kbus_entire_message_t *m;
	uint64_t len;

	*msg = NULL;
	len = entire ? KBUS_ENTIRE_MSG_LEN((uint64_t)h->name_len,
					   (uint64_t)h->data_len) : KBUS_HDR_LEN;
	if (len > INT_MAX)
		return -EMSGSIZE;
	m = calloc(1, len);
	if (!m)
		return -ENOMEM;
	m->header = *h;
	if (entire) {
		m->header.name = 0;
		m->header.data = 0;
		memcpy(m->rest, (const void *)(uintptr_t)h->name, h->name_len);
		if (h->data_len)
			memcpy(kbus_msg_data_ptr(&m->header),
			       (const void *)(uintptr_t)h->data, h->data_len);
		*kbus_msg_end_ptr(m) = KBUS_MSG_END_GUARD;
	}
	*msg = &m->header;
	return 0;
}

static int msg_create(kbus_message_t **msg, const char *name,
		      uint32_t name_len, const void *data, uint32_t data_len,
		      uint32_t flags, bool entire)
{
	kbus_message_t h;

	*msg = NULL;
	if (!name || (data_len && !data))
		return -EINVAL;
	hdr_init(&h, name, name_len, data, data_len, flags);
	return msg_make(msg, &h, entire);
}

int kbus_msg_create(kbus_message_t **msg, const char *name, uint32_t name_len,
		    const void *data, uint32_t data_len, uint32_t flags)
{
	return msg_create(msg, name, name_len, data, data_len, flags, false);
}

int kbus_msg_create_entire(kbus_message_t **msg, const char *name,
			   uint32_t name_len, const void *data,
			   uint32_t data_len, uint32_t flags)
{
	return msg_create(msg, name, name_len, data, data_len, flags, true);
}

int kbus_msg_create_request(kbus_message_t **msg, const char *name,
			    uint32_t name_len, const void *data,
			    uint32_t data_len, uint32_t flags)
{
	return msg_create(msg, name, name_len, data, data_len,
			  flags | KBUS_BIT_WANT_A_REPLY, false);
}

int kbus_msg_create_entire_request(kbus_message_t **msg, const char *name,
				   uint32_t name_len, const void *data,
				   uint32_t data_len, uint32_t flags)
{
	return msg_create(msg, name, name_len, data, data_len,
			  flags | KBUS_BIT_WANT_A_REPLY, true);
}

static int msg_create_reply_to(kbus_message_t **msg,
			       const kbus_message_t *in_reply_to,
			       const void *data, uint32_t data_len,
			       uint32_t flags, bool entire)
{
	kbus_message_t h;
	int ret;

	*msg = NULL;
	if (data_len && !data)
		return -EINVAL;
	ret = hdr_init_reply(&h, in_reply_to, data, data_len, flags);
	return ret ? ret : msg_make(msg, &h, entire);
}

int kbus_msg_create_reply_to(kbus_message_t **msg,
			     const kbus_message_t *in_reply_to,
			     const void *data, uint32_t data_len,
			     uint32_t flags)
{
	return msg_create_reply_to(msg, in_reply_to, data, data_len, flags,
				   false);
}

int kbus_msg_create_entire_reply_to(kbus_message_t **msg,
				    const kbus_message_t *in_reply_to,
				    const void *data, uint32_t data_len,
				    uint32_t flags)
{
	return msg_create_reply_to(msg, in_reply_to, data, data_len, flags,
				   true);
}

static int msg_create_stateful(kbus_message_t **msg,
			       const kbus_message_t *earlier_msg,
			       const char *name, uint32_t name_len,
			       const void *data, uint32_t data_len,
			       uint32_t flags, bool entire)
{
	kbus_message_t h;
	int ret;

	*msg = NULL;
	if (!name || (data_len && !data))
		return -EINVAL;
	ret = hdr_init_stateful(&h, earlier_msg, name, name_len, data,
				data_len, flags);
	return ret ? ret : msg_make(msg, &h, entire);
}

int kbus_msg_create_stateful_request(kbus_message_t **msg,
				     const kbus_message_t *earlier_msg,
				     const char *name, uint32_t name_len,
				     const void *data, uint32_t data_len,
				     uint32_t flags)
{
	return msg_create_stateful(msg, earlier_msg, name, name_len, data,
				   data_len, flags, false);
}

int kbus_msg_create_entire_stateful_request(kbus_message_t **msg,
					    const kbus_message_t *earlier_msg,
					    const char *name, uint32_t name_len,
					    const void *data, uint32_t data_len,
					    uint32_t flags)
{
	return msg_create_stateful(msg, earlier_msg, name, name_len, data,
				   data_len, flags, true);
}

void kbus_msg_delete(kbus_message_t **msg_p)
{
	if (msg_p) {
		free(*msg_p);
		*msg_p = NULL;
	}
}

int kbus_msg_sizeof(const kbus_message_t *msg)
{
	uint64_t len = msg_size(msg);

	return len > INT_MAX ? INT_MAX : (int)len;
}

bool kbus_msg_name_is(const kbus_message_t *msg, const char *name)
{
	return msg->name_len == strlen(name) &&
	       !memcmp(kbus_msg_name_ptr(msg), name, msg->name_len);
}

/* ---- Replier bind events ---- */

/* struct bind_event - the data of a $.KBUS.ReplierBindEvent, parsed. */
struct bind_event {
	uint32_t is_bind;
	uint32_t binder;
	const char *name;	/* inside the message, NUL-terminated */
	uint32_t name_len;
};

/* Parse a $.KBUS.ReplierBindEvent: 0, or -EBADMSG if @msg is not one. */
static int parse_bind_event(const kbus_message_t *msg, struct bind_event *ev)
{
	const kbus_replier_bind_event_data_t *d = kbus_msg_data_ptr(msg);
	size_t fixed = sizeof(*d);

	if (!kbus_msg_name_is(msg, KBUS_MSG_NAME_REPLIER_BIND_EVENT))
		return -EBADMSG;
	if (!d || msg->data_len < fixed)
		return -EBADMSG;
	if (d->name_len > KBUS_MAX_NAME_LEN ||
	    msg->data_len < fixed + KBUS_PADDED_NAME_LEN(d->name_len))
		return -EBADMSG;
	ev->name = (const char *)d->rest;
	if (ev->name[d->name_len] != '\0')
		return -EBADMSG;
	ev->is_bind = d->is_bind;
	ev->binder = d->binder;
	ev->name_len = d->name_len;
	return 0;
}

int kbus_msg_split_bind_event(const kbus_message_t *msg, uint32_t *is_bind,
			      uint32_t *binder, char **name)
{
	struct bind_event ev;
	int ret = parse_bind_event(msg, &ev);

	if (ret)
		return ret;
	*name = strndup(ev.name, ev.name_len);
	if (!*name)
		return -ENOMEM;
	*is_bind = ev.is_bind;
	*binder = ev.binder;
	return 0;
}

/* ---- The original's printing ---- */

void kbus_msg_print(FILE *stream, const kbus_message_t *msg)
{
	const unsigned char *data = kbus_msg_data_ptr(msg);
	const char *name = kbus_msg_name_ptr(msg);
	static const struct {
		uint32_t bit;
		const char *tag;
	} tags[] = {
		{ KBUS_BIT_WANT_A_REPLY, "REQ" },
		{ KBUS_BIT_WANT_YOU_TO_REPLY, "YOU" },
		{ KBUS_BIT_SYNTHETIC, "SYN" },
		{ KBUS_BIT_URGENT, "URG" },
		{ KBUS_BIT_ALL_OR_FAIL, "aFL" },
		{ KBUS_BIT_ALL_OR_WAIT, "aWT" },
	};
	struct bind_event ev;
	bool is_event = false;
	uint32_t i, n;

	if (kbus_msg_is_reply(msg)) {
		fputs(msg->name_len > 7 && !strncmp(name, "$.KBUS.", 7) ?
		      "<Status" : "<Reply", stream);
	} else if (kbus_msg_is_request(msg)) {
		fputs("<Request", stream);
	} else if (kbus_msg_name_is(msg, KBUS_MSG_NAME_REPLIER_BIND_EVENT)) {
		fputs("<ReplierBindEvent", stream);
		is_event = true;
	} else {
		fputs("<Announcement", stream);
	}
	if (!is_event)
		fprintf(stream, " '%.*s'", (int)msg->name_len, name);
	if (msg->id.network_id || msg->id.serial_num)
		fprintf(stream, " id=[%u:%u]", msg->id.network_id,
			msg->id.serial_num);
	if (msg->to)
		fprintf(stream, " to=%u", msg->to);
	if (msg->from)
		fprintf(stream, " from=%u", msg->from);
	if (msg->orig_from.network_id || msg->orig_from.local_id)
		fprintf(stream, " orig_from=(%u,%u)", msg->orig_from.network_id,
			msg->orig_from.local_id);
	if (msg->final_to.network_id || msg->final_to.local_id)
		fprintf(stream, " final_to=(%u,%u)", msg->final_to.network_id,
			msg->final_to.local_id);
	if (kbus_msg_is_reply(msg))
		fprintf(stream, " in_reply_to=[%u:%u]",
			msg->in_reply_to.network_id,
			msg->in_reply_to.serial_num);
	if (msg->flags) {
		fprintf(stream, " flags=%08x", msg->flags);
		for (i = 0; i < ARRAY_SIZE(tags); i++)
			if (msg->flags & tags[i].bit)
				fprintf(stream, " %s", tags[i].tag);
	}
	if (msg->data_len && data) {
		fputs(" data=", stream);
		if (is_event && !parse_bind_event(msg, &ev)) {
			fprintf(stream, " [%s '%s' for %u]",
				ev.is_bind ? "Bind" : "Unbind", ev.name,
				ev.binder);
		} else {
			n = msg->data_len < 20 ? msg->data_len : 20;
			for (i = 0; i < n; i++) {
				if (isprint(data[i]))
					fputc(data[i], stream);
				else
					fprintf(stream, "\\x%02x", data[i]);
			}
			if (msg->data_len > 20)
				fputs("...", stream);
		}
	}
	fputc('>', stream);
}

/* @len bytes of @p, printable characters as they are and '?' for others. */
static void dump_text(const unsigned char *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		putchar(isgraph(p[i]) || p[i] == ' ' ? p[i] : '?');
}

/* @len bytes of @p in hex, @per_line to a line. */
static void dump_hex(const unsigned char *p, size_t len, size_t per_line)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i % per_line))
			fputs("\n   ", stdout);
		printf(" %02x", p[i]);
	}
	putchar('\n');
}

void kbus_msg_dump(const kbus_message_t *msg, int dump_data)
{
	const unsigned char *data = kbus_msg_data_ptr(msg);

	printf("Message: %p (%s)\n", (const void *)msg,
	       kbus_msg_is_entire(msg) ? "entire" : "pointy");
	printf("  start guard: %08x\n", msg->start_guard);
	printf("  id:          {%u,%u}\n", msg->id.network_id,
	       msg->id.serial_num);
	printf("  in_reply_to: {%u,%u}\n", msg->in_reply_to.network_id,
	       msg->in_reply_to.serial_num);
	printf("  to:          %u\n", msg->to);
	printf("  from:        %u\n", msg->from);
	printf("  orig_from:   {%u,%u}\n", msg->orig_from.network_id,
	       msg->orig_from.local_id);
	printf("  final_to:    {%u,%u}\n", msg->final_to.network_id,
	       msg->final_to.local_id);
	printf("  flags:       %08x\n", msg->flags);
	printf("  name_len:    %u\n", msg->name_len);
	printf("  data_len:    %u\n", msg->data_len);
	printf("  name (ptr):  %#llx\n", (unsigned long long)msg->name);
	printf("  data (ptr):  %#llx\n", (unsigned long long)msg->data);
	printf("  end guard:   %08x\n", msg->end_guard);
	printf("  Message name:   ");
	dump_text((const unsigned char *)kbus_msg_name_ptr(msg), msg->name_len);
	putchar('\n');
	if (!dump_data)
		return;
	if (data && msg->data_len) {
		printf("  Data (text):    ");
		dump_text(data, msg->data_len);
		printf("\n  Data (bytes):");
		dump_hex(data, msg->data_len, 16);
	}
	printf("  Whole message (bytes):");
	dump_hex((const unsigned char *)msg, kbus_msg_sizeof(msg), 26);
}

/* ==== Text ==== */

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

static void out_putn(struct out *o, const char *s, size_t n)
{
	while (n--)
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

/* C-like escapes: printable ASCII as is, \n, \t, \\, \", \xNN otherwise. */
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
	rest = flags;
	for (i = 0; i < ARRAY_SIZE(flag_names); i++) {
		if (flags & flag_names[i].bit) {
			out_printf(o, "%s%s", sep, flag_names[i].name);
			sep = ",";
		}
		rest &= ~flag_names[i].bit;
	}
	if (rest)
		out_printf(o, "%sflags=0x%x", sep, rest);
	out_putc(o, ']');
}

int kbus_msg_format(const kbus_message_t *msg, char *buf, size_t size,
		    size_t max_data)
{
	struct out o = { .buf = buf, .size = size };
	const unsigned char *data = kbus_msg_data_ptr(msg);
	struct bind_event ev;
	const char *kind;
	size_t n;

	if (kbus_msg_is_reply(msg))
		kind = "reply";
	else if (kbus_msg_is_request(msg))
		kind = "request";
	else
		kind = "announce";

	out_id(&o, &msg->id);
	out_printf(&o, " %s from %u to %u", kind, msg->from, msg->to);
	if (kbus_msg_is_reply(msg)) {
		out_printf(&o, " re ");
		out_id(&o, &msg->in_reply_to);
	}
	out_flags(&o, msg->flags);
	out_putc(&o, ' ');
	out_putn(&o, kbus_msg_name_ptr(msg), msg->name_len);

	if (!parse_bind_event(msg, &ev)) {
		out_printf(&o, " {%s %u ", ev.is_bind ? "bind" : "unbind",
			   ev.binder);
		out_escape(&o, (const unsigned char *)ev.name, ev.name_len);
		out_putc(&o, '}');
	} else if (msg->data_len && data) {
		n = msg->data_len;
		if (max_data && n > max_data)
			n = max_data;
		out_printf(&o, " \"");
		out_escape(&o, data, n);
		out_putc(&o, '"');
		if (n < msg->data_len)
			out_printf(&o, "... (%u bytes)", msg->data_len);
	}
	return out_result(&o);
}
