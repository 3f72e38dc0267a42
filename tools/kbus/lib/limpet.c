// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkbus - Limpets: two buses joined through a stream socket
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * A Limpet holds one Ksock on its bus and one connected stream socket (TCP
 * or Unix) to its peer, another Limpet on another bus.  Each has a network
 * id, non-zero and unique among the Limpets that are joined, which form a
 * tree.  What one hears on its bus it passes to the peer; what the peer
 * sends it, it sends on its bus:
 *
 *  - announcements (and the copies of requests that listeners get) as they
 *    are, keeping their id and original sender;
 *  - a replier bound on the far side makes the peer bind as the replier
 *    "by proxy" for the name here, so that requests to it reach the Limpet,
 *    which passes them on and, when the answer comes back, replies with it
 *    to the requester;
 *  - a stateful request is checked by the Limpet on the bus of the
 *    replier it names (final_to): it goes on only if that replier is
 *    still the one bound, else $.KBUS.Replier.NotSameKsock goes back
 *    ($.KBUS.Replier.GoneAway if none is);
 *  - a request that cannot be sent on the far bus, or whose answer cannot
 *    be passed on, is answered with $.KBUS.RemoteError.<ERRNO>;
 *  - when the link fails (the peer closes it, or reads nothing for
 *    LIMPET_STALL_MS), every request in flight across it is answered with
 *    $.KBUS.Replier.GoneAway;
 *  - only names under the pattern go either way, and should replier bind
 *    events be lost ($.KBUS.UnbindEventsLost) the link is dropped, so that
 *    the pair relinks with the repliers as they are.
 *
 * The link is not authenticated: whoever can connect to a Limpet can send
 * on its bus.  Listen on a loopback address or a Unix socket, and reach
 * another machine through something that authenticates (ssh, a VPN).
 *
 * A message that leaves its bus is given the Limpet's network id in
 * id.network_id and, unless it has one, orig_from {network id, sender};
 * KBUS keeps ids with a non-zero network id as they are.  Nothing a Limpet
 * sends itself is passed back (echo suppression).
 *
 * On the link, after each end has sent "HELO" and its network id, each
 * message is an entire message with its header as 16 32-bit words (start
 * guard, id, in_reply_to, to, from, orig_from, final_to, extra, flags,
 * name_len, data_len, end guard; the user addresses left out), all in
 * network byte order, then the name, NUL and padding, the data and padding
 * and the end guard.  The three words of a replier bind event's data are
 * in network byte order too.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libkbus.h"
#include "internal.h"

#define WIRE_HELO		0x48454c4fU	/* "HELO" */
#define WIRE_HDR_WORDS		16
#define WIRE_HDR_LEN		(WIRE_HDR_WORDS * 4)
/* The largest message the link carries (KBUS's own limit is far lower). */
#define WIRE_MAX_DATA		(64U << 20)
/* Bytes read from the link before it is taken as a misbehaving peer. */
#define WIRE_MAX_BUFFERED	(256U << 20)
/* A Limpet's queue: room for the catch-up bind events of a busy bus. */
#define LIMPET_MAX_MSGS		10000
/* Messages handled from one side before looking at the other. */
#define LIMPET_BATCH		64
/* How long the peer may take to read what is sent to it. */
#define LIMPET_STALL_MS		30000

#define STATUS_GONEAWAY		KBUS_MSG_NAME_REPLIER_GONEAWAY
#define STATUS_NOTSAME		"$.KBUS.Replier.NotSameKsock"
#define STATUS_REMOTE_ERROR	"$.KBUS.RemoteError."

/* A request this Limpet is the replier for by proxy, passed to the peer. */
struct proxied {
	kbus_msg_id_t wire_id;		/* its id on the link */
	kbus_msg_id_t local_id;		/* its id on this bus */
	uint32_t requester;		/* the Ksock that sent it */
};

struct kbus_limpet {
	kbus_ksock_t ksock;
	int sock;
	uint32_t ksock_id;
	uint32_t network_id;
	uint32_t peer_id;
	char *pattern;
	FILE *log;
	/* Requests answered by the peer's side, owed to requesters here. */
	struct proxied *proxied;
	size_t n_proxied, cap_proxied;
	/* Requests from the peer sent on this bus, awaiting their answer. */
	kbus_msg_id_t *sent;
	size_t n_sent, cap_sent;
	/* Names this Limpet is bound to as the replier by proxy. */
	char **proxies;
	size_t n_proxies, cap_proxies;
	/* Bytes read from the link and not yet handled. */
	unsigned char *rbuf;
	size_t rlen, rcap;
	bool peer_closed;
	struct kbus_limpet_stats stats;
};

/* A message read from the link: its header and where its parts are. */
struct wire_msg {
	kbus_message_t h;
	const char *name;
	const unsigned char *data;
};

static void __attribute__((format(printf, 2, 3)))
say(const struct kbus_limpet *lp, const char *fmt, ...)
{
	va_list ap;

	if (!lp->log)
		return;
	fprintf(lp->log, "limpet %u: ", lp->network_id);
	va_start(ap, fmt);
	vfprintf(lp->log, fmt, ap);
	va_end(ap);
	fputc('\n', lp->log);
	fflush(lp->log);
}

static bool id_set(const kbus_msg_id_t *id)
{
	return id->network_id || id->serial_num;
}

/* ==== Names ==== */

/* Does @name fall under @pattern ("$.A.B", "$.A.*" or "$.A.%")? */
static bool name_matches(const char *pattern, const char *name)
{
	size_t plen = strlen(pattern);

	if (plen >= 2 && pattern[plen - 2] == '.' &&
	    (pattern[plen - 1] == '*' || pattern[plen - 1] == '%')) {
		if (strncmp(pattern, name, plen - 1))
			return false;
		if (!name[plen - 1])
			return false;
		/* '%' is one more level, '*' any number. */
		return pattern[plen - 1] == '*' || !strchr(name + plen - 1, '.');
	}
	return !strcmp(pattern, name);
}

/* name_matches() for a name of @len bytes, not NUL-terminated. */
static bool wire_name_matches(const char *pattern, const char *name,
			      uint32_t len)
{
	char buf[KBUS_MAX_NAME_LEN + 1];

	memcpy(buf, name, len);
	buf[len] = '\0';
	return name_matches(pattern, buf);
}

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { EPIPE, "EPIPE" },
	{ EBUSY, "EBUSY" }, { ENOLCK, "ENOLCK" }, { ENOBUFS, "ENOBUFS" },
	{ EMSGSIZE, "EMSGSIZE" }, { EBADMSG, "EBADMSG" }, { EPERM, "EPERM" },
	{ EAGAIN, "EAGAIN" }, { EINVAL, "EINVAL" }, { ENOMEM, "ENOMEM" },
	{ ECONNREFUSED, "ECONNREFUSED" }, { ENAMETOOLONG, "ENAMETOOLONG" },
	{ EBADF, "EBADF" }, { ENODEV, "ENODEV" }, { EINTR, "EINTR" },
	{ EFAULT, "EFAULT" }, { ECANCELED, "ECANCELED" },
};

const char *kbus_limpet_errno_name(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return "EUNKNOWN";
}

static bool is_bind_event(const char *name, uint32_t len)
{
	static const char ev[] = KBUS_MSG_NAME_REPLIER_BIND_EVENT;

	return len == sizeof(ev) - 1 && !memcmp(name, ev, len);
}

/* ==== The link ==== */

/* Read what the link has for us into rbuf, without waiting. */
static int link_fill(struct kbus_limpet *lp)
{
	ssize_t n;
	int err;

	for (;;) {
		if (lp->rlen == lp->rcap) {
			if (lp->rcap >= WIRE_MAX_BUFFERED)
				return -ENOBUFS;
			err = kbus_grow((void **)&lp->rbuf, &lp->rcap,
					lp->rcap ? lp->rcap * 2 : 65536, 1);
			if (err)
				return err;
		}
		n = recv(lp->sock, lp->rbuf + lp->rlen, lp->rcap - lp->rlen,
			 MSG_DONTWAIT);
		if (n > 0) {
			lp->rlen += n;
			continue;
		}
		if (n == 0) {
			lp->peer_closed = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
}

/*
 * Write all of @buf to the link.  While the link is full, keep reading
 * what the peer sends, so that two Limpets writing to each other at once
 * cannot both wait for ever; a peer that reads nothing for
 * LIMPET_STALL_MS is taken as gone (-ETIMEDOUT).
 */
static int link_write(struct kbus_limpet *lp, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	struct pollfd pfd;
	ssize_t n;
	int err;

	while (len) {
		n = send(lp->sock, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		pfd.fd = lp->sock;
		pfd.events = POLLOUT | (lp->peer_closed ? 0 : POLLIN);
		n = poll(&pfd, 1, LIMPET_STALL_MS);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (pfd.revents & POLLIN) {
			err = link_fill(lp);
			if (err)
				return err;
		}
		if (pfd.revents & (POLLERR | POLLHUP))
			return -ECONNRESET;
	}
	return 0;
}

static uint32_t *put32(uint32_t *w, uint32_t v)
{
	*w = htonl(v);
	return w + 1;
}

/*
 * Send a message to the peer: header @h (its name_len and data_len
 * describe @name and @data).
 */
static int link_send(struct kbus_limpet *lp, const kbus_message_t *h,
		     const char *name, const void *data)
{
	size_t nlen = KBUS_PADDED_NAME_LEN(h->name_len);
	size_t dlen = KBUS_PADDED_DATA_LEN(h->data_len);
	size_t len = WIRE_HDR_LEN + nlen + dlen + 4;
	unsigned char *buf = calloc(1, len);
	uint32_t *w = (uint32_t *)buf;
	int err;

	if (!buf)
		return -ENOMEM;
	w = put32(w, KBUS_MSG_START_GUARD);
	w = put32(w, h->id.network_id);
	w = put32(w, h->id.serial_num);
	w = put32(w, h->in_reply_to.network_id);
	w = put32(w, h->in_reply_to.serial_num);
	w = put32(w, h->to);
	w = put32(w, h->from);
	w = put32(w, h->orig_from.network_id);
	w = put32(w, h->orig_from.local_id);
	w = put32(w, h->final_to.network_id);
	w = put32(w, h->final_to.local_id);
	w = put32(w, 0);
	w = put32(w, h->flags);
	w = put32(w, h->name_len);
	w = put32(w, h->data_len);
	put32(w, KBUS_MSG_END_GUARD);
	memcpy(buf + WIRE_HDR_LEN, name, h->name_len);
	memcpy(buf + WIRE_HDR_LEN + nlen, data, h->data_len);
	if (is_bind_event(name, h->name_len)) {
		uint32_t *d = (uint32_t *)(buf + WIRE_HDR_LEN + nlen);
		uint32_t i;

		for (i = 0; i < 3 && (i + 1) * 4 <= h->data_len; i++)
			d[i] = htonl(d[i]);
	}
	put32((uint32_t *)(buf + len - 4), KBUS_MSG_END_GUARD);
	err = link_write(lp, buf, len);
	free(buf);
	return err;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/*
 * The next whole message in rbuf, if there is one: 1 with *@m filled in
 * (pointing into rbuf) and *@used its length, 0 if more bytes are needed,
 * -EPROTO if the peer sent something that is not a message.
 */
static int link_parse(const struct kbus_limpet *lp, struct wire_msg *m,
		      size_t *used)
{
	const unsigned char *p = lp->rbuf;
	size_t nlen, len;
	uint32_t w[WIRE_HDR_WORDS];
	int i;

	if (lp->rlen < WIRE_HDR_LEN)
		return 0;
	for (i = 0; i < WIRE_HDR_WORDS; i++)
		w[i] = get32(p + 4 * i);
	if (w[0] != KBUS_MSG_START_GUARD || w[15] != KBUS_MSG_END_GUARD ||
	    !w[13] || w[13] > KBUS_MAX_NAME_LEN || w[14] > WIRE_MAX_DATA)
		return -EPROTO;
	nlen = KBUS_PADDED_NAME_LEN(w[13]);
	len = WIRE_HDR_LEN + nlen + KBUS_PADDED_DATA_LEN(w[14]) + 4;
	if (lp->rlen < len)
		return 0;
	if (get32(p + len - 4) != KBUS_MSG_END_GUARD ||
	    memchr(p + WIRE_HDR_LEN, 0, w[13]))
		return -EPROTO;

	memset(&m->h, 0, sizeof(m->h));
	m->h.start_guard = KBUS_MSG_START_GUARD;
	m->h.id.network_id = w[1];
	m->h.id.serial_num = w[2];
	m->h.in_reply_to.network_id = w[3];
	m->h.in_reply_to.serial_num = w[4];
	m->h.to = w[5];
	m->h.from = w[6];
	m->h.orig_from.network_id = w[7];
	m->h.orig_from.local_id = w[8];
	m->h.final_to.network_id = w[9];
	m->h.final_to.local_id = w[10];
	m->h.flags = w[12];
	m->h.name_len = w[13];
	m->h.data_len = w[14];
	m->h.end_guard = KBUS_MSG_END_GUARD;
	m->name = (const char *)p + WIRE_HDR_LEN;
	m->data = p + WIRE_HDR_LEN + nlen;
	*used = len;
	return 1;
}

/* Send the peer a status in answer to its request @req. */
static int link_status(struct kbus_limpet *lp, const kbus_message_t *req,
		       const char *status)
{
	kbus_message_t h;

	memset(&h, 0, sizeof(h));
	h.start_guard = KBUS_MSG_START_GUARD;
	h.end_guard = KBUS_MSG_END_GUARD;
	h.in_reply_to = req->id;
	h.flags = KBUS_BIT_SYNTHETIC;
	h.name_len = strlen(status);
	lp->stats.statuses++;
	say(lp, "answering request %u:%u with %s", req->id.network_id,
	    req->id.serial_num, status);
	return link_send(lp, &h, status, NULL);
}

/* ==== This bus ==== */

/* Send on this bus the message @h, whose name and data are given. */
static int bus_send(struct kbus_limpet *lp, kbus_message_t *h,
		    const char *name, const void *data)
{
	int err;

	h->start_guard = KBUS_MSG_START_GUARD;
	h->end_guard = KBUS_MSG_END_GUARD;
	h->name = (uintptr_t)name;
	h->data = h->data_len ? (uintptr_t)data : 0;
	h->extra = 0;
	h->__reserved0 = 0;
	h->__reserved1 = 0;
	err = kbus_ksock_send_msg(lp->ksock, h, NULL);
	if (!err)
		lp->stats.to_bus++;
	return err;
}

/* Answer a request owed here, from the peer's side, with a status. */
static void bus_status(struct kbus_limpet *lp, const struct proxied *p,
		       const char *status)
{
	kbus_message_t h;
	int err;

	memset(&h, 0, sizeof(h));
	h.in_reply_to = p->local_id;
	h.to = p->requester;
	h.name_len = strlen(status);
	err = bus_send(lp, &h, status, NULL);
	lp->stats.statuses++;
	if (err)
		say(lp, "cannot answer request %u:%u with %s: %s",
		    p->local_id.network_id, p->local_id.serial_num, status,
		    kbus_strerror(err));
}

static int proxy_find(const struct kbus_limpet *lp, const char *name)
{
	size_t i;

	for (i = 0; i < lp->n_proxies; i++)
		if (!strcmp(lp->proxies[i], name))
			return i;
	return -1;
}

/* The far side's replier for @name (un)bound: follow it here. */
static void bus_proxy(struct kbus_limpet *lp, bool bind, const char *name)
{
	int i = proxy_find(lp, name);
	char *copy;
	int err;

	if (bind) {
		if (i >= 0)
			return;
		if (kbus_grow((void **)&lp->proxies, &lp->cap_proxies,
			      lp->n_proxies + 1, sizeof(*lp->proxies)))
			goto nomem;
		copy = strdup(name);
		if (!copy)
			goto nomem;
		err = kbus_ksock_bind(lp->ksock, name, 1);
		if (err) {
			say(lp, "cannot be the replier for %s here: %s", name,
			    kbus_strerror(err));
			free(copy);
			return;
		}
		lp->proxies[lp->n_proxies++] = copy;
		say(lp, "replier for %s by proxy", name);
		return;
	}
	if (i < 0)
		return;
	err = kbus_ksock_unbind(lp->ksock, name, 1);
	if (err)
		say(lp, "cannot unbind %s: %s", name, kbus_strerror(err));
	free(lp->proxies[i]);
	lp->proxies[i] = lp->proxies[--lp->n_proxies];
	say(lp, "no longer the replier for %s", name);
	return;
nomem:
	say(lp, "out of memory: not the replier for %s", name);
}

/* A replier bind event from the peer's bus. */
static void from_peer_bind_event(struct kbus_limpet *lp,
				 const struct wire_msg *m)
{
	uint32_t is_bind, name_len;
	char *name;

	if (m->h.data_len < 12)
		return;
	is_bind = get32(m->data);
	name_len = get32(m->data + 8);
	if (name_len == 0 || name_len > KBUS_MAX_NAME_LEN ||
	    12 + name_len > m->h.data_len)
		return;
	name = strndup((const char *)m->data + 12, name_len);
	if (!name)
		return;
	if (name_matches(lp->pattern, name))
		bus_proxy(lp, is_bind, name);
	free(name);
}

/* The peer's side answered a request that a requester here sent. */
static void from_peer_reply(struct kbus_limpet *lp, const struct wire_msg *m)
{
	struct proxied p;
	kbus_message_t h;
	size_t i;
	int err;

	for (i = 0; i < lp->n_proxied; i++)
		if (!kbus_msg_compare_ids(&lp->proxied[i].wire_id,
					  &m->h.in_reply_to))
			break;
	if (i == lp->n_proxied)
		return;		/* not ours, or already answered */
	p = lp->proxied[i];
	lp->proxied[i] = lp->proxied[--lp->n_proxied];

	h = m->h;
	h.in_reply_to = p.local_id;
	h.to = p.requester;
	h.from = 0;
	h.flags &= KBUS_USER_FLAGS_MASK | KBUS_BIT_URGENT;
	err = bus_send(lp, &h, m->name, m->data);
	if (err && err != -EADDRNOTAVAIL) {
		/* The requester still needs its one answer. */
		char status[64];

		say(lp, "cannot pass on the answer to %u:%u: %s",
		    p.local_id.network_id, p.local_id.serial_num,
		    kbus_strerror(err));
		snprintf(status, sizeof(status), "%s%s", STATUS_REMOTE_ERROR,
			 kbus_limpet_errno_name(err));
		bus_status(lp, &p, status);
	}
}

/* A request from the peer's side for the replier here. */
static int from_peer_request(struct kbus_limpet *lp, const struct wire_msg *m)
{
	char status[64];
	kbus_message_t h = m->h;
	uint32_t replier = 0;
	char *name;
	int err;

	h.to = 0;
	h.from = 0;
	h.flags &= KBUS_USER_FLAGS_MASK | KBUS_BIT_URGENT;
	h.flags |= KBUS_BIT_WANT_A_REPLY;
	name = strndup(m->name, m->h.name_len);
	if (!name)
		return link_status(lp, &m->h, STATUS_REMOTE_ERROR "ENOMEM");
	err = kbus_ksock_find_replier(lp->ksock, name, &replier);
	free(name);
	/*
	 * No replier, or only this Limpet's own proxy (a replier that went
	 * away on this side while the request crossed): it has gone.
	 */
	if (err <= 0 || replier == lp->ksock_id)
		return link_status(lp, &m->h, STATUS_GONEAWAY);
	if (h.final_to.network_id) {
		/* Stateful: only to the replier it was meant for. */
		if (h.final_to.network_id == lp->network_id &&
		    replier != h.final_to.local_id)
			return link_status(lp, &m->h, STATUS_NOTSAME);
		h.to = replier;
	}
	if (kbus_grow((void **)&lp->sent, &lp->cap_sent, lp->n_sent + 1,
		      sizeof(*lp->sent)))
		return link_status(lp, &m->h, STATUS_REMOTE_ERROR "ENOMEM");
	err = bus_send(lp, &h, m->name, m->data);
	if (err) {
		snprintf(status, sizeof(status), "%s%s", STATUS_REMOTE_ERROR,
			 kbus_limpet_errno_name(err));
		return link_status(lp, &m->h, status);
	}
	lp->sent[lp->n_sent++] = m->h.id;
	return 0;
}

/* Handle one message from the peer. */
static int from_peer(struct kbus_limpet *lp, const struct wire_msg *m)
{
	kbus_message_t h = m->h;
	int err;

	lp->stats.from_peer++;
	if (is_bind_event(m->name, m->h.name_len)) {
		from_peer_bind_event(lp, m);
		return 0;
	}
	/* Only what began on the far side comes this way. */
	if (m->h.id.network_id == lp->network_id)
		return 0;
	/* Nor anything outside this Limpet's pattern (a request owes one). */
	if (!id_set(&m->h.in_reply_to) &&
	    !wire_name_matches(lp->pattern, m->name, m->h.name_len)) {
		if ((m->h.flags & KBUS_BIT_WANT_A_REPLY) &&
		    (m->h.flags & KBUS_BIT_WANT_YOU_TO_REPLY))
			return link_status(lp, &m->h, STATUS_GONEAWAY);
		return 0;
	}
	if (id_set(&m->h.in_reply_to)) {
		from_peer_reply(lp, m);
		return 0;
	}
	if ((m->h.flags & KBUS_BIT_WANT_A_REPLY) &&
	    (m->h.flags & KBUS_BIT_WANT_YOU_TO_REPLY))
		return from_peer_request(lp, m);
	/* An announcement, or a listener's copy of a request. */
	h.to = 0;
	h.from = 0;
	h.final_to.network_id = 0;
	h.final_to.local_id = 0;
	h.flags &= KBUS_USER_FLAGS_MASK | KBUS_BIT_URGENT;
	err = bus_send(lp, &h, m->name, m->data);
	if (err && err != -EADDRNOTAVAIL)
		say(lp, "cannot pass on %.*s: %s", (int)m->h.name_len,
		    m->name, kbus_strerror(err));
	return 0;
}

/* Handle one message from this bus. */
static int from_bus(struct kbus_limpet *lp, const kbus_message_t *msg)
{
	const char *name = kbus_msg_name_ptr(msg);
	const void *data = kbus_msg_data_ptr(msg);
	kbus_message_t h = *msg;
	bool pass;
	size_t i;

	/*
	 * A request from this Limpet to itself (its proxies went round,
	 * when a replier went away as its request crossed): answer it, so
	 * that the answer goes back to the peer's requester.
	 */
	if (kbus_msg_wants_us_to_reply(msg) && msg->from == lp->ksock_id) {
		struct proxied self = { .local_id = msg->id,
					.requester = msg->from };

		bus_status(lp, &self, STATUS_GONEAWAY);
		return 0;
	}
	if (id_set(&msg->in_reply_to)) {
		/*
		 * Only the answer to a request this Limpet sent, whoever
		 * sent it (the Limpet itself, just above, too).
		 */
		if (msg->to != lp->ksock_id)
			return 0;
		for (i = 0; i < lp->n_sent; i++)
			if (!kbus_msg_compare_ids(&lp->sent[i], &msg->in_reply_to))
				break;
		if (i == lp->n_sent)
			return 0;
		lp->sent[i] = lp->sent[--lp->n_sent];
	} else if (msg->from == lp->ksock_id ||
		   msg->id.network_id == lp->peer_id) {
		/* Nothing this Limpet sent goes back. */
		return 0;
	} else if (is_bind_event(name, msg->name_len)) {
		uint32_t is_bind, binder;
		char *bound;

		if (kbus_msg_split_bind_event(msg, &is_bind, &binder, &bound))
			return 0;
		pass = binder != lp->ksock_id &&
		       name_matches(lp->pattern, bound);
		free(bound);
		if (!pass)
			return 0;
	} else if (kbus_msg_name_is(msg, KBUS_MSG_NAME_UNBIND_EVENTS_LOST)) {
		/* The far side's proxies may be wrong: start again. */
		say(lp, "replier bind events were lost: relinking");
		return -ESTALE;
	}

	if (!h.id.network_id)
		h.id.network_id = lp->network_id;
	if (!h.orig_from.network_id && h.from) {
		h.orig_from.network_id = lp->network_id;
		h.orig_from.local_id = h.from;
	}
	if (kbus_msg_wants_us_to_reply(msg)) {
		struct proxied *p;

		if (kbus_grow((void **)&lp->proxied, &lp->cap_proxied,
			      lp->n_proxied + 1, sizeof(*lp->proxied))) {
			struct proxied tmp = { .local_id = msg->id,
					       .requester = msg->from };

			bus_status(lp, &tmp, STATUS_REMOTE_ERROR "ENOMEM");
			return 0;
		}
		p = &lp->proxied[lp->n_proxied++];
		p->wire_id = h.id;
		p->local_id = msg->id;
		p->requester = msg->from;
	}
	lp->stats.to_peer++;
	return link_send(lp, &h, name, data);
}

/* ==== The API ==== */

int kbus_limpet_new(struct kbus_limpet **lpp, kbus_ksock_t ksock, int sock,
		    const struct kbus_limpet_config *cfg)
{
	uint32_t max_msgs = LIMPET_MAX_MSGS;
	struct kbus_limpet *lp;
	unsigned char helo[8];
	struct pollfd pfd;
	int timeout, err;
	size_t got = 0;
	ssize_t n;

	*lpp = NULL;
	if (!cfg || !cfg->network_id || sock < 0)
		return -EINVAL;
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return -ENOMEM;
	lp->ksock = ksock;
	lp->sock = sock;
	lp->network_id = cfg->network_id;
	lp->log = cfg->log;
	lp->pattern = strdup(cfg->pattern ? cfg->pattern : "$.*");
	if (!lp->pattern) {
		err = -ENOMEM;
		goto out_free;
	}
	err = kbus_ksock_id(ksock, &lp->ksock_id);
	if (err)
		goto out_free;

	/* HELO and the network id each way. */
	put32((uint32_t *)helo, WIRE_HELO);
	put32((uint32_t *)helo + 1, lp->network_id);
	err = link_write(lp, helo, sizeof(helo));
	if (err)
		goto out_free;
	timeout = cfg->helo_timeout_ms ? cfg->helo_timeout_ms : 10000;
	while (got < sizeof(helo)) {
		pfd.fd = sock;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, timeout);
		if (n == 0) {
			err = -ETIMEDOUT;
			goto out_free;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out_free;
		}
		n = recv(sock, helo + got, sizeof(helo) - got, MSG_DONTWAIT);
		if (n == 0) {
			err = -ECONNRESET;
			goto out_free;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			goto out_free;
		}
		got += n;
	}
	lp->peer_id = get32(helo + 4);
	if (get32(helo) != WIRE_HELO || !lp->peer_id ||
	    lp->peer_id == lp->network_id) {
		err = -EPROTO;
		goto out_free;
	}

	/*
	 * One copy of each message, room for a busy bus, everything under
	 * the pattern, and the replier bind events, the present repliers
	 * first (turning the reports on queues one per replier).
	 */
	err = kbus_ksock_max_messages(ksock, &max_msgs);
	if (err)
		goto out_free;
	err = kbus_ksock_only_once(ksock, 1);
	if (err < 0)
		goto out_free;
	err = kbus_ksock_bind(ksock, lp->pattern, 0);
	if (err)
		goto out_free;
	err = kbus_ksock_bind(ksock, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0);
	if (err)
		goto out_unbind;
	err = kbus_ksock_report_replier_binds(ksock, 1);
	if (err < 0)
		goto out_unbind_events;
	say(lp, "linked to network %u", lp->peer_id);
	*lpp = lp;
	return 0;

out_unbind_events:
	kbus_ksock_unbind(ksock, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0);
out_unbind:
	kbus_ksock_unbind(ksock, lp->pattern, 0);
out_free:
	free(lp->pattern);
	free(lp->rbuf);
	free(lp);
	return err;
}

uint32_t kbus_limpet_peer_id(const struct kbus_limpet *lp)
{
	return lp->peer_id;
}

void kbus_limpet_get_stats(const struct kbus_limpet *lp,
			   struct kbus_limpet_stats *stats)
{
	*stats = lp->stats;
	stats->in_flight = lp->n_proxied;
	stats->proxies = lp->n_proxies;
}

/* Handle the whole messages the peer has sent; at most LIMPET_BATCH. */
static int limpet_from_link(struct kbus_limpet *lp)
{
	struct wire_msg m;
	size_t used;
	int i, ret;

	for (i = 0; i < LIMPET_BATCH; i++) {
		ret = link_parse(lp, &m, &used);
		if (ret < 0) {
			say(lp, "the peer sent something that is not a message");
			return ret;
		}
		if (!ret)
			break;
		ret = from_peer(lp, &m);
		memmove(lp->rbuf, lp->rbuf + used, lp->rlen - used);
		lp->rlen -= used;
		if (ret)
			return ret;
	}
	return 0;
}

int kbus_limpet_step(struct kbus_limpet *lp, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = lp->ksock, .events = POLLIN },
		{ .fd = lp->sock, .events = POLLIN },
	};
	kbus_message_t *msg;
	struct wire_msg m;
	size_t used;
	int i, ret;

	/* Whole messages already read have priority over waiting. */
	if (link_parse(lp, &m, &used) == 0 && !lp->peer_closed) {
		ret = poll(pfd, 2, timeout_ms);
		if (ret < 0)
			return errno == EINTR ? 0 : -errno;
	} else {
		pfd[0].revents = POLLIN;
	}
	if (pfd[1].revents) {
		ret = link_fill(lp);
		if (ret)
			return ret;
	}
	ret = limpet_from_link(lp);
	if (ret)
		return ret;
	if (pfd[0].revents & (POLLERR | POLLHUP))
		return -ENODEV;
	for (i = 0; i < LIMPET_BATCH; i++) {
		ret = kbus_ksock_read_next_msg(lp->ksock, &msg);
		if (ret)
			return ret;
		if (!msg)
			break;
		lp->stats.from_bus++;
		ret = from_bus(lp, msg);
		kbus_msg_delete(&msg);
		if (ret)
			return ret;
	}
	/* Gone only once everything it sent before closing is handled. */
	if (lp->peer_closed && link_parse(lp, &m, &used) == 0)
		return -ECONNRESET;
	return 0;
}

void kbus_limpet_free(struct kbus_limpet *lp)
{
	kbus_message_t *msg;
	size_t i;

	if (!lp)
		return;
	/* Every request in flight across the link gets its answer. */
	for (i = 0; i < lp->n_proxied; i++)
		bus_status(lp, &lp->proxied[i], STATUS_GONEAWAY);
	/* Requests queued for a proxy get $.KBUS.Replier.Unbound. */
	while (lp->n_proxies)
		bus_proxy(lp, false, lp->proxies[lp->n_proxies - 1]);
	kbus_ksock_unbind(lp->ksock, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0);
	kbus_ksock_unbind(lp->ksock, lp->pattern, 0);
	/* What is left was for the link; a request owed is answered. */
	while (!kbus_ksock_read_next_msg(lp->ksock, &msg) && msg) {
		if (kbus_msg_wants_us_to_reply(msg)) {
			struct proxied p = { .local_id = msg->id,
					     .requester = msg->from };

			bus_status(lp, &p, STATUS_GONEAWAY);
		}
		kbus_msg_delete(&msg);
	}
	close(lp->sock);
	for (i = 0; i < lp->n_proxies; i++)
		free(lp->proxies[i]);
	free(lp->proxies);
	free(lp->proxied);
	free(lp->sent);
	free(lp->rbuf);
	free(lp->pattern);
	free(lp);
}
