// SPDX-License-Identifier: GPL-2.0
/*
 * kbus mqtt - a KBUS bus joined to an MQTT 5 broker
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 *   kbus [-b BUS] [-v] mqtt -i ID [-p SUBTREE] [-t PREFIX] [-T MS] [-1]
 *        HOST:PORT
 *
 * The bridge holds one Ksock on its bus and one MQTT 5 connection to a
 * broker.  Bridges on several buses that share a broker and a topic prefix
 * join those buses as Limpets do (lib/limpet.c), and any MQTT client can
 * take part.  Each bridge has an ID, non-zero and unique among bridges and
 * Limpets: it is the KBUS network id of the messages that leave its bus,
 * and its MQTT client id is "kbus-bridge-<ID>".
 *
 * Topics, for the prefix P (-t, default "kbus") and the subtree S (-p,
 * default "$"); the KBUS name S.a.b is the topic P/a/b:
 *
 *   P/a/b                  a message: the payload is its data (QoS 1, not
 *                          retained)
 *   P/$repliers/<ID>/a/b   retained "1": bridge ID has a replier for S.a.b
 *                          on its bus (an empty payload deletes it)
 *   P/$bridges/<ID>        retained "online", or "offline" (also its will)
 *   P/$reply/<ID>          the responses to the requests of bridge ID
 *
 * MQTT 5 user properties of a message: "kbus-id" ("<network>:<serial>")
 * and "kbus-from" ("<network>:<ksock>"), stamped as a Limpet stamps id and
 * orig_from, and "kbus-flags" (hex).  A request has a response topic
 * P/$reply/<ID>, 8 bytes of correlation data, "kbus-to" (the bridge whose
 * replier it is for) and, if stateful, "kbus-final-to"
 * ("<network>:<ksock>").  A response has the correlation data of its
 * request and "kbus-name", the name of the reply (a status such as
 * $.KBUS.Replier.GoneAway, or the request's name).
 *
 * A replier bound on a bus (under S) is announced under $repliers; the
 * other bridges bind the name as the replier by proxy, publish the
 * requests they get for it with "kbus-to" set, and the bridge named there
 * sends each one on its bus and publishes the answer to the response topic.
 * A message from MQTT with a response topic whose "kbus-to" is this
 * bridge, or that has no "kbus-to" and a replier on this bus, is sent as a
 * request; every other message from MQTT is announced on the bus, so that
 * listeners everywhere see it.  A stateful request goes on only if the
 * replier it names is still bound ($.KBUS.Replier.NotSameKsock if not); a
 * request that cannot be sent is answered at once with a status
 * ($.KBUS.Replier.GoneAway or $.KBUS.RemoteError.<ERRNO>).  The bridge
 * never gets its own publications back (the No Local subscription
 * option), and drops what it sent on its own bus.
 *
 * What holds across a bridge, and what does not:
 *
 *  - Messages keep their order as far as MQTT keeps it: within one QoS 1
 *    session.  What is sent on a bus while its bridge is not connected is
 *    not bridged; nothing is sent again after a reconnection.
 *  - A request to a replier by proxy is answered exactly once: by the far
 *    replier's reply or by the status KBUS sent in its place, or by
 *    $.KBUS.Replier.GoneAway if no answer came within -T milliseconds, its
 *    bridge went offline, the connection to the broker was lost or this
 *    bridge stopped.  An answer that comes later is dropped.  GoneAway
 *    does not mean that the far side did not act on the request.
 *  - A response is published only while connected: one that cannot be is
 *    lost, and the requester's bridge answers GoneAway in its place.  An
 *    MQTT client's request that names no bridge is sent by every bridge
 *    whose bus has a replier for it, and may get several responses.
 *  - Only repliers for plain names are bridged: wildcard repliers ($.A.*,
 *    $.A.%) are not announced.  They still answer the requests from MQTT
 *    that name no bridge.
 *  - KBUS_BIT_ALL_OR_WAIT and KBUS_BIT_ALL_OR_FAIL apply on the sender's
 *    bus only; KBUS_BIT_URGENT and the user flags are carried across.
 *  - $.KBUS names are never bridged, except as the statuses that answer a
 *    request.
 *  - As with Limpets, the buses joined by bridges and Limpets must form a
 *    tree: a message that can reach a bus by two ways arrives twice.  So
 *    a bus has at most one bridge for each broker and prefix.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "libkbus.h"
#include "internal.h"
#include "mqtt.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define EXIT_OK			0
#define EXIT_USAGE		1
#define EXIT_KBUS		2

#define DEFAULT_PREFIX		"kbus"
#define DEFAULT_SUBTREE		"$"
#define DEFAULT_TIMEOUT_MS	10000
/* MQTT keepalive: the broker notices a dead bridge within 1.5 times this. */
#define KEEPALIVE_S		5
#define RECONNECT_MS		500
/* Longest wait for CONNACK and SUBACK. */
#define HANDSHAKE_MS		10000
/* Longest wait for the last publications to be acknowledged on a stop. */
#define FLUSH_MS		2000
/* The Ksock's queue: room for the catch-up bind events of a busy bus. */
#define BRIDGE_MAX_MSGS		10000
/* Messages read from the bus before looking at the broker again. */
#define BRIDGE_BATCH		64
#define QOS			1
#define CORR_LEN		8

#define PROP_ID			"kbus-id"
#define PROP_FROM		"kbus-from"
#define PROP_TO			"kbus-to"
#define PROP_FINAL_TO		"kbus-final-to"
#define PROP_FLAGS		"kbus-flags"
#define PROP_NAME		"kbus-name"

#define BRIDGE_ONLINE		"online"
#define BRIDGE_OFFLINE		"offline"

#define STATUS_GONEAWAY		KBUS_MSG_NAME_REPLIER_GONEAWAY
#define STATUS_NOTSAME		"$.KBUS.Replier.NotSameKsock"
/* Publications that may wait for the broker's acknowledgment. */
#define MAX_UNACKED		1000
#define STATUS_REMOTE_ERROR	"$.KBUS.RemoteError."

/* The flags a message keeps when it is sent on another bus. */
#define FLAGS_CARRIED		(KBUS_USER_FLAGS_MASK | KBUS_BIT_URGENT)

#define USAGE "usage: kbus mqtt -i ID [-p SUBTREE] [-t PREFIX] [-T MS] [-1] HOST:PORT"

/* A request this bridge answers by proxy, published to MQTT. */
struct proxied {
	uint64_t corr;			/* its correlation data */
	kbus_msg_id_t local_id;		/* its id on this bus */
	uint32_t requester;		/* the Ksock that sent it */
	uint32_t bridge;		/* the bridge whose replier it is for */
	int64_t deadline;		/* when it gets GoneAway */
	char *name;
};

/* A request from MQTT sent on this bus, awaiting its answer. */
struct sent {
	kbus_msg_id_t id;		/* its id on this bus */
	char *topic;			/* the response topic */
	void *corr;			/* the correlation data, or NULL */
	uint16_t corr_len;
};

/* A name with a replier on another bridge's bus (or bound by proxy here). */
struct offer {
	uint32_t bridge;
	char *name;
};

/* Another bridge that said whether it is online. */
struct peer {
	uint32_t id;
	bool offline;
};

enum link_state {
	LINK_DOWN,			/* not connected */
	LINK_CONNECTING,		/* waiting for CONNACK */
	LINK_SUBSCRIBING,		/* waiting for SUBACK */
	LINK_UP,			/* bridging */
};

/* What a message from MQTT says in its properties. */
struct meta {
	char *response_topic;
	void *corr;
	uint16_t corr_len;
	char *name;			/* kbus-name */
	bool has_id, has_from, has_final_to, has_to;
	kbus_msg_id_t id;
	kbus_orig_from_t from;
	kbus_orig_from_t final_to;
	uint32_t to;
	uint32_t flags;
};

struct bridge {
	/* The configuration. */
	uint32_t id;
	const char *subtree;
	size_t subtree_len;
	const char *prefix;
	size_t prefix_len;
	const char *addr;		/* HOST:PORT, as given */
	char *host;
	int port;
	int timeout_ms;
	bool once;
	bool verbose;
	/* Names and topics made from it. */
	char *pattern;			/* S.* */
	char *client_id;		/* kbus-bridge-<ID> */
	char *sub_topic;		/* P/# */
	char *entry_middle;		/* $repliers/<ID>/ */
	char *bridge_topic;		/* P/$bridges/<ID> */
	char *reply_topic;		/* P/$reply/<ID> */
	/* This bus. */
	kbus_ksock_t ksock;
	uint32_t ksock_id;
	/* The broker. */
	struct mosquitto *mosq;
	enum link_state state;
	bool lost;			/* the connection has ended */
	bool ended;			/* a connection has ended */
	bool said_connected;		/* "connected" printed for it */
	bool ever_up;			/* a connection got that far */
	bool refused;			/* by the broker, in its CONNACK */
	bool stopping;
	bool fatal;			/* a KBUS or system error */
	char reason[160];		/* why the connection ended */
	char last_failure[160];		/* the last failure to connect */
	int64_t next_connect;
	int64_t handshake_end;
	int sub_mid;
	int last_mid;			/* of the last publication */
	int table_mid;			/* of the last of the replier table */
	unsigned int unacked;		/* publications not yet acknowledged */
	uint64_t next_corr;
	/* Requests answered by proxy, in flight to MQTT. */
	struct proxied *proxied;
	size_t n_proxied, cap_proxied;
	/* Requests from MQTT in flight on this bus. */
	struct sent *sent;
	size_t n_sent, cap_sent;
	/* Names with a replier here, announced under $repliers. */
	char **locals;
	size_t n_locals, cap_locals;
	/* Names other bridges announce. */
	struct offer *remotes;
	size_t n_remotes, cap_remotes;
	/* Names bound here as the replier by proxy, and for which bridge. */
	struct offer *proxies;
	size_t n_proxies, cap_proxies;
	struct peer *peers;
	size_t n_peers, cap_peers;
	/* The signal mask while waiting (SIGINT and SIGTERM let in). */
	sigset_t wait_mask;
};

static volatile sig_atomic_t mqtt_stop;

static void mqtt_on_signal(int sig)
{
	(void)sig;
	mqtt_stop = 1;
}

/* ==== Logging ==== */

/* Each line is written in one go. */
#define LOG_LINE_MAX		2048

static void __attribute__((format(printf, 2, 3)))
say(const struct bridge *b, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (!b->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mqtt %u: %s\n", b->id, line);
}

static void __attribute__((format(printf, 1, 2)))
complain(const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "kbus: mqtt: %s\n", line);
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kbus: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'kbus help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* ==== Helpers ==== */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * A decimal uint32 at the start of @s, up to @stop or the end: true with
 * *@v and *@end (the first character after it) set.
 */
static bool parse_u32(const char *s, char stop, uint32_t *v, const char **end)
{
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (*s - '0');
		if (n > UINT32_MAX)
			return false;
	}
	if (*s && *s != stop)
		return false;
	*v = n;
	*end = s;
	return true;
}

/* "<a>:<b>", two decimal uint32s. */
static bool parse_pair(const char *s, uint32_t *a, uint32_t *b)
{
	const char *end;

	if (!parse_u32(s, ':', a, &end) || *end != ':')
		return false;
	return parse_u32(end + 1, '\0', b, &end);
}

/* A whole string that is a decimal uint32. */
static bool parse_whole_u32(const char *s, uint32_t *v)
{
	const char *end;

	return parse_u32(s, '\0', v, &end);
}

/* Correlation data: a big-endian 64-bit counter. */
static void corr_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = CORR_LEN - 1; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t corr_get(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < CORR_LEN; i++)
		v = v << 8 | p[i];
	return v;
}

/* ==== Names and topics ==== */

/* Is @part (@len bytes) a part of a KBUS name ([A-Za-z0-9]+)? */
static bool part_ok(const char *part, size_t len)
{
	size_t i;
	char c;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		c = part[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Is @name a KBUS message name (not a wildcard)? */
static bool name_ok(const char *name)
{
	const char *p, *dot;
	size_t len = strlen(name);

	if (len < 3 || len > KBUS_MAX_NAME_LEN || strncmp(name, "$.", 2))
		return false;
	for (p = name + 2; ; p = dot + 1) {
		dot = strchr(p, '.');
		if (!part_ok(p, dot ? (size_t)(dot - p) : strlen(p)))
			return false;
		if (!dot)
			return true;
	}
}

/* Is @name under $.KBUS (or $.KBUS itself)? */
static bool name_is_kbus(const char *name)
{
	return !strncmp(name, "$.KBUS", 6) && (!name[6] || name[6] == '.');
}

/* A status a reply may be named by, as the kernel allows a bridge. */
static bool name_is_status(const char *name)
{
	static const char *const prefixes[] = {
		"$.KBUS.Replier.", "$.KBUS.Request.", STATUS_REMOTE_ERROR,
	};
	size_t i;

	if (!name_ok(name))
		return false;
	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The part of @name below the subtree ("a.b" of "S.a.b"), or NULL. */
static const char *name_below(const struct bridge *b, const char *name)
{
	if (strncmp(name, b->subtree, b->subtree_len) ||
	    name[b->subtree_len] != '.' || !name[b->subtree_len + 1])
		return NULL;
	return name + b->subtree_len + 1;
}

/* Is @name bridged: a plain name under the subtree, not under $.KBUS? */
static bool name_bridged(const struct bridge *b, const char *name)
{
	return name_ok(name) && !name_is_kbus(name) && name_below(b, name);
}

/*
 * The topic "P/<middle>a/b" of the bridged name S.a.b, in malloc()ed
 * memory, or NULL if out of memory.
 */
static char *name_to_topic(const struct bridge *b, const char *middle,
			   const char *name)
{
	const char *rest = name_below(b, name);
	char *topic, *p;

	if (!rest || asprintf(&topic, "%s/%s%s", b->prefix, middle, rest) < 0)
		return NULL;
	for (p = topic + b->prefix_len + 1 + strlen(middle); *p; p++)
		if (*p == '.')
			*p = '/';
	return topic;
}

/*
 * The bridged name S.a.b of the topic levels "a/b", in malloc()ed memory;
 * NULL if they do not make one (or out of memory).
 */
static char *levels_to_name(const struct bridge *b, const char *levels)
{
	size_t len = b->subtree_len + 1 + strlen(levels);
	char *name, *p;

	if (len > KBUS_MAX_NAME_LEN)
		return NULL;
	name = malloc(len + 1);
	if (!name)
		return NULL;
	snprintf(name, len + 1, "%s.%s", b->subtree, levels);
	for (p = name + b->subtree_len + 1; *p; p++)
		if (*p == '/')
			*p = '.';
	if (!name_bridged(b, name)) {
		free(name);
		return NULL;
	}
	return name;
}

/* ==== Tables ==== */

static int local_find(const struct bridge *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n_locals; i++)
		if (!strcmp(b->locals[i], name))
			return i;
	return -1;
}

/* The offer of @name by @bridge in @offers (any bridge if 0), or -1. */
static int offer_find(const struct offer *offers, size_t n, uint32_t bridge,
		      const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((!bridge || offers[i].bridge == bridge) &&
		    !strcmp(offers[i].name, name))
			return i;
	return -1;
}

static struct peer *peer_find(const struct bridge *b, uint32_t id)
{
	size_t i;

	for (i = 0; i < b->n_peers; i++)
		if (b->peers[i].id == id)
			return &b->peers[i];
	return NULL;
}

static bool peer_offline(const struct bridge *b, uint32_t id)
{
	const struct peer *p = peer_find(b, id);

	return p && p->offline;
}

static void peer_set(struct bridge *b, uint32_t id, bool offline)
{
	struct peer *p = peer_find(b, id);

	if (!p) {
		if (kbus_grow((void **)&b->peers, &b->cap_peers, b->n_peers + 1,
			      sizeof(*b->peers))) {
			say(b, "out of memory: bridge %u not noted", id);
			return;
		}
		p = &b->peers[b->n_peers++];
		p->id = id;
	}
	p->offline = offline;
}

static void remote_add(struct bridge *b, uint32_t bridge, const char *name)
{
	char *copy;

	if (offer_find(b->remotes, b->n_remotes, bridge, name) >= 0)
		return;
	copy = strdup(name);
	if (!copy || kbus_grow((void **)&b->remotes, &b->cap_remotes,
			       b->n_remotes + 1, sizeof(*b->remotes))) {
		free(copy);
		say(b, "out of memory: replier for %s on bridge %u not noted",
		    name, bridge);
		return;
	}
	b->remotes[b->n_remotes].bridge = bridge;
	b->remotes[b->n_remotes++].name = copy;
}

static void remote_del_at(struct bridge *b, size_t i)
{
	free(b->remotes[i].name);
	b->remotes[i] = b->remotes[--b->n_remotes];
}

static void sent_free(struct sent *s)
{
	free(s->topic);
	free(s->corr);
}

static void tables_free(struct bridge *b)
{
	size_t i;

	for (i = 0; i < b->n_proxied; i++)
		free(b->proxied[i].name);
	for (i = 0; i < b->n_sent; i++)
		sent_free(&b->sent[i]);
	for (i = 0; i < b->n_locals; i++)
		free(b->locals[i]);
	for (i = 0; i < b->n_remotes; i++)
		free(b->remotes[i].name);
	for (i = 0; i < b->n_proxies; i++)
		free(b->proxies[i].name);
	free(b->proxied);
	free(b->sent);
	free(b->locals);
	free(b->remotes);
	free(b->proxies);
	free(b->peers);
}

/* ==== Sending on this bus ==== */

/*
 * Send @h on this bus with @name and its data_len bytes of @data; its id
 * in *@id if not NULL.  Returns 0 or -errno.
 */
static int bus_send(struct bridge *b, kbus_message_t *h, const char *name,
		    const void *data, kbus_msg_id_t *id)
{
	h->start_guard = KBUS_MSG_START_GUARD;
	h->end_guard = KBUS_MSG_END_GUARD;
	h->name = (uintptr_t)name;
	h->name_len = strlen(name);
	h->data = h->data_len ? (uintptr_t)data : 0;
	h->extra = 0;
	h->__reserved0 = 0;
	h->__reserved1 = 0;
	return kbus_ksock_send_msg(b->ksock, h, id);
}

/* Answer request @req_id from Ksock @requester with @status. */
static void bus_status(struct bridge *b, const kbus_msg_id_t *req_id,
		       uint32_t requester, const char *status)
{
	kbus_message_t h;
	int err;

	memset(&h, 0, sizeof(h));
	h.in_reply_to = *req_id;
	h.to = requester;
	err = bus_send(b, &h, status, NULL, NULL);
	if (err)
		say(b, "cannot answer request %u:%u with %s: %s",
		    req_id->network_id, req_id->serial_num, status,
		    kbus_strerror(err));
	else
		say(b, "answered request %u:%u with %s", req_id->network_id,
		    req_id->serial_num, status);
}

/* "$.KBUS.RemoteError.<ERRNO>" for -errno @err, in @buf. */
static const char *remote_error(char *buf, size_t size, int err)
{
	snprintf(buf, size, "%s%s", STATUS_REMOTE_ERROR,
		 kbus_limpet_errno_name(err));
	return buf;
}

/* Answer the proxied request at @i with @status and forget it. */
static void proxied_answer(struct bridge *b, size_t i, const char *status)
{
	struct proxied *p = &b->proxied[i];

	bus_status(b, &p->local_id, p->requester, status);
	free(p->name);
	*p = b->proxied[--b->n_proxied];
}

/* Answer every proxied request for @bridge (0: all) with GoneAway. */
static void proxied_gone(struct bridge *b, uint32_t bridge)
{
	size_t i = b->n_proxied;

	while (i--)
		if (!bridge || b->proxied[i].bridge == bridge)
			proxied_answer(b, i, STATUS_GONEAWAY);
}

/* Answer the proxied requests whose time is up. */
static void proxied_expire(struct bridge *b)
{
	int64_t now = now_ms();
	size_t i = b->n_proxied;

	while (i--) {
		if (b->proxied[i].deadline > now)
			continue;
		say(b, "no response to %s within %d ms",
		    b->proxied[i].name, b->timeout_ms);
		proxied_answer(b, i, STATUS_GONEAWAY);
	}
}

/* ==== Publishing ==== */

__attribute__((format(printf, 3, 4)))
static int add_user(mosquitto_property **props, const char *key,
		    const char *fmt, ...)
{
	char val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return mosquitto_property_add_string_pair(props,
						  MQTT_PROP_USER_PROPERTY,
						  key, val);
}

/*
 * kbus-id, kbus-from and kbus-flags of @msg, stamped as it leaves this
 * bus: its id and original sender get this bridge's id as their network
 * if they have none.  Returns 0 or a MOSQ_ERR_* code.
 */
static int add_stamps(const struct bridge *b, mosquitto_property **props,
		      const kbus_message_t *msg)
{
	kbus_msg_id_t id = msg->id;
	kbus_orig_from_t from = msg->orig_from;
	int rc;

	if (!id.network_id)
		id.network_id = b->id;
	if (!from.network_id && msg->from) {
		from.network_id = b->id;
		from.local_id = msg->from;
	}
	rc = add_user(props, PROP_ID, "%u:%u", id.network_id, id.serial_num);
	if (!rc && from.network_id)
		rc = add_user(props, PROP_FROM, "%u:%u", from.network_id,
			      from.local_id);
	if (!rc)
		rc = add_user(props, PROP_FLAGS, "%x",
			      msg->flags & ~KBUS_BIT_WANT_YOU_TO_REPLY);
	return rc;
}

/*
 * Publish at QoS 1 while connected.  Returns 0 or a MOSQ_ERR_* code:
 * MOSQ_ERR_NOMEM, without trying, if MAX_UNACKED publications wait for
 * the broker already (a busy bus and a slow broker must not make the
 * bridge grow without end), except for the retained replier table.
 */
static int publish(struct bridge *b, const char *topic, const void *payload,
		   size_t len, bool retain, const mosquitto_property *props)
{
	int rc;

	if (!b->mosq || b->state < LINK_SUBSCRIBING || b->lost)
		return MOSQ_ERR_NO_CONN;
	if (len > INT_MAX)
		return MOSQ_ERR_PAYLOAD_SIZE;
	if (!retain && b->unacked >= MAX_UNACKED) {
		say(b, "%u publications unacknowledged: %s not published",
		    b->unacked, topic);
		return MOSQ_ERR_NOMEM;
	}
	rc = mosquitto_publish_v5(b->mosq, &b->last_mid, topic, (int)len,
				  payload, QOS, retain, props);
	if (rc)
		say(b, "no publication to %s: %s", topic,
		    mosquitto_strerror(rc));
	else
		b->unacked++;
	return rc;
}

/* The status for a request that could not be published (MOSQ_ERR_*). */
static const char *publish_status(int rc)
{
	switch (rc) {
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return STATUS_REMOTE_ERROR "EMSGSIZE";
	case MOSQ_ERR_NOMEM:
		return STATUS_REMOTE_ERROR "ENOMEM";
	default:
		return STATUS_GONEAWAY;
	}
}

/*
 * Announce (@on) or withdraw this bus's replier for @name.  Returns 0 or
 * a MOSQ_ERR_* code.
 */
static int publish_entry(struct bridge *b, const char *name, bool on)
{
	char *topic = name_to_topic(b, b->entry_middle, name);
	int rc;

	if (!topic) {
		say(b, "out of memory: replier for %s not announced", name);
		return MOSQ_ERR_NOMEM;
	}
	rc = publish(b, topic, on ? "1" : NULL, on ? 1 : 0, true, NULL);
	if (!rc)
		say(b, "%s %s", on ? "announced" : "withdrew", topic);
	free(topic);
	return rc;
}

static int publish_bridge_state(struct bridge *b, const char *state)
{
	return publish(b, b->bridge_topic, state, strlen(state), true, NULL);
}

/*
 * Publish a response to a request from MQTT: to @s's response topic, with
 * its correlation data and kbus-name @name; the data and stamps of @reply
 * if not NULL (else no payload).
 */
static void publish_response(struct bridge *b, const struct sent *s,
			     const char *name, const kbus_message_t *reply)
{
	mosquitto_property *props = NULL;
	const void *data = NULL;
	size_t len = 0;
	int rc = 0;

	if (s->corr)
		rc = mosquitto_property_add_binary(&props,
						   MQTT_PROP_CORRELATION_DATA,
						   s->corr, s->corr_len);
	if (!rc)
		rc = mosquitto_property_add_string_pair(&props,
							MQTT_PROP_USER_PROPERTY,
							PROP_NAME, name);
	if (!rc && reply) {
		rc = add_stamps(b, &props, reply);
		data = kbus_msg_data_ptr(reply);
		len = reply->data_len;
	}
	if (rc)
		say(b, "cannot respond to %s: %s", s->topic,
		    mosquitto_strerror(rc));
	else if (!publish(b, s->topic, data, len, false, props))
		say(b, "responded %s to %s", name, s->topic);
	mosquitto_property_free_all(&props);
}

/* Respond to a request from MQTT that never reached this bus. */
static void respond_status(struct bridge *b, const struct meta *m,
			   const char *status)
{
	struct sent s = {
		.topic = m->response_topic,
		.corr = m->corr,
		.corr_len = m->corr_len,
	};

	publish_response(b, &s, status, NULL);
}

/* ==== Repliers ==== */

/* Unbind the proxy at @i; returns its name, for the caller to free(). */
static char *proxy_unbind(struct bridge *b, size_t i)
{
	char *name = b->proxies[i].name;
	int err;

	err = kbus_ksock_unbind(b->ksock, name, 1);
	if (err)
		say(b, "cannot unbind %s: %s", name, kbus_strerror(err));
	else
		say(b, "no longer the replier for %s for bridge %u", name,
		    b->proxies[i].bridge);
	b->proxies[i] = b->proxies[--b->n_proxies];
	return name;
}

static void proxy_bind(struct bridge *b, uint32_t bridge, const char *name)
{
	char *copy = strdup(name);
	int err;

	if (!copy || kbus_grow((void **)&b->proxies, &b->cap_proxies,
			       b->n_proxies + 1, sizeof(*b->proxies))) {
		free(copy);
		say(b, "out of memory: not the replier for %s", name);
		return;
	}
	err = kbus_ksock_bind(b->ksock, name, 1);
	if (err) {
		say(b, "cannot be the replier for %s for bridge %u: %s", name,
		    bridge, kbus_strerror(err));
		free(copy);
		return;
	}
	b->proxies[b->n_proxies].bridge = bridge;
	b->proxies[b->n_proxies++].name = copy;
	say(b, "replier for %s by proxy for bridge %u", name, bridge);
}

/**
 * proxy_sync() - make the proxy for a name follow what bridges announce
 * @b: the bridge
 * @name: the name (not one of the proxies table's strings)
 *
 * Keep the proxy for @name if its bridge still announces a replier for it;
 * else unbind it and, while connected, bind it for another bridge that
 * does (unless a replier is bound here).
 */
static void proxy_sync(struct bridge *b, const char *name)
{
	int i = offer_find(b->proxies, b->n_proxies, 0, name);

	if (i >= 0) {
		if (offer_find(b->remotes, b->n_remotes, b->proxies[i].bridge,
			       name) >= 0)
			return;
		free(proxy_unbind(b, i));
	}
	if (b->state != LINK_UP || local_find(b, name) >= 0)
		return;
	i = offer_find(b->remotes, b->n_remotes, 0, name);
	if (i >= 0)
		proxy_bind(b, b->remotes[i].bridge, name);
}

/* Drop every proxy and every request in flight for @bridge (0: all). */
static void bridge_gone(struct bridge *b, uint32_t bridge)
{
	size_t i;
	char *name;

	proxied_gone(b, bridge);
	i = b->n_remotes;
	while (i--)
		if (!bridge || b->remotes[i].bridge == bridge)
			remote_del_at(b, i);
	i = b->n_proxies;
	while (i--) {
		if (bridge && b->proxies[i].bridge != bridge)
			continue;
		name = proxy_unbind(b, i);
		proxy_sync(b, name);
		free(name);
	}
}

/* A replier here bound (@bind) or unbound @name. */
static void local_update(struct bridge *b, const char *name, bool bind)
{
	int i = local_find(b, name);
	char *copy;

	if (bind) {
		if (i >= 0)
			return;
		copy = strdup(name);
		if (!copy || kbus_grow((void **)&b->locals, &b->cap_locals,
				       b->n_locals + 1, sizeof(*b->locals))) {
			free(copy);
			say(b, "out of memory: replier for %s not noted", name);
			return;
		}
		b->locals[b->n_locals++] = copy;
		say(b, "a replier for %s is bound here", name);
		if (b->state == LINK_UP)
			publish_entry(b, name, true);
		return;
	}
	if (i < 0)
		return;
	free(b->locals[i]);
	b->locals[i] = b->locals[--b->n_locals];
	say(b, "the replier for %s here has gone", name);
	if (b->state == LINK_UP)
		publish_entry(b, name, false);
	/* Another bridge may have one. */
	proxy_sync(b, name);
}

/*
 * Replier bind events were lost: drop the names whose replier has gone
 * (a name whose replier changed keeps its entry, which is still right).
 */
static void local_recheck(struct bridge *b)
{
	uint32_t replier;
	size_t i = b->n_locals;
	char *name;

	while (i--) {
		if (kbus_ksock_find_replier(b->ksock, b->locals[i],
					    &replier) < 0)
			continue;
		if (replier && replier != b->ksock_id)
			continue;
		name = strdup(b->locals[i]);
		if (name)
			local_update(b, name, false);
		free(name);
	}
}

/* ==== From this bus ==== */

static void from_bus_bind_event(struct bridge *b, const kbus_message_t *msg)
{
	uint32_t is_bind, binder;
	char *bound;

	if (kbus_msg_split_bind_event(msg, &is_bind, &binder, &bound))
		return;
	/* Wildcards are not bridged, nor the proxies of this bridge. */
	if (binder != b->ksock_id && name_bridged(b, bound))
		local_update(b, bound, is_bind);
	free(bound);
}

/* A reply (or status) to a request this bridge sent for MQTT. */
static void from_bus_reply(struct bridge *b, const kbus_message_t *msg)
{
	struct sent s;
	size_t i;

	for (i = 0; i < b->n_sent; i++)
		if (!kbus_msg_compare_ids(&b->sent[i].id, &msg->in_reply_to))
			break;
	if (i == b->n_sent)
		return;
	s = b->sent[i];
	b->sent[i] = b->sent[--b->n_sent];
	publish_response(b, &s, kbus_msg_name_ptr(msg), msg);
	sent_free(&s);
}

/* Properties of a request published for the replier of bridge @to. */
static int request_props(const struct bridge *b, mosquitto_property **props,
			 const kbus_message_t *msg, uint64_t corr, uint32_t to)
{
	unsigned char cd[CORR_LEN];
	int rc;

	corr_put(cd, corr);
	rc = add_stamps(b, props, msg);
	if (!rc)
		rc = mosquitto_property_add_string(props,
						   MQTT_PROP_RESPONSE_TOPIC,
						   b->reply_topic);
	if (!rc)
		rc = mosquitto_property_add_binary(props,
						   MQTT_PROP_CORRELATION_DATA,
						   cd, sizeof(cd));
	if (!rc)
		rc = add_user(props, PROP_TO, "%u", to);
	if (!rc && kbus_msg_is_stateful_request(msg) &&
	    msg->final_to.network_id)
		rc = add_user(props, PROP_FINAL_TO, "%u:%u",
			      msg->final_to.network_id,
			      msg->final_to.local_id);
	return rc;
}

/**
 * from_bus_request() - a request to this bridge as the replier by proxy
 * @b: the bridge
 * @msg: the request
 *
 * Publish it for the bridge whose replier it is for and remember it until
 * its response comes or its time is up; if it cannot be published, answer
 * it at once.
 */
static void from_bus_request(struct bridge *b, const kbus_message_t *msg)
{
	const char *name = kbus_msg_name_ptr(msg);
	mosquitto_property *props = NULL;
	const char *status = STATUS_GONEAWAY;
	struct proxied *p;
	char *topic = NULL, *copy = NULL;
	int i, rc;

	i = offer_find(b->proxies, b->n_proxies, 0, name);
	if (b->state != LINK_UP || i < 0 || !name_bridged(b, name))
		goto answer;
	/*
	 * A stateful request for a replier behind another bridge than the
	 * one this proxy now stands for: that replier is not the one bound.
	 */
	status = STATUS_NOTSAME;
	if (msg->final_to.network_id &&
	    msg->final_to.network_id != b->proxies[i].bridge &&
	    peer_find(b, msg->final_to.network_id))
		goto answer;
	status = STATUS_REMOTE_ERROR "ENOMEM";
	if (kbus_grow((void **)&b->proxied, &b->cap_proxied, b->n_proxied + 1,
		      sizeof(*b->proxied)))
		goto answer;
	topic = name_to_topic(b, "", name);
	copy = strdup(name);
	if (!topic || !copy)
		goto answer;
	rc = request_props(b, &props, msg, b->next_corr,
			   b->proxies[i].bridge);
	if (!rc)
		rc = publish(b, topic, kbus_msg_data_ptr(msg), msg->data_len,
			     false, props);
	mosquitto_property_free_all(&props);
	if (rc) {
		status = publish_status(rc);
		goto answer;
	}
	p = &b->proxied[b->n_proxied++];
	p->corr = b->next_corr++;
	p->local_id = msg->id;
	p->requester = msg->from;
	p->bridge = b->proxies[i].bridge;
	p->deadline = now_ms() + b->timeout_ms;
	p->name = copy;
	say(b, "request %u:%u for %s sent to bridge %u", msg->id.network_id,
	    msg->id.serial_num, name, p->bridge);
	free(topic);
	return;

answer:
	free(topic);
	free(copy);
	bus_status(b, &msg->id, msg->from, status);
}

/* An announcement, or a listener's copy of a request: publish it. */
static void from_bus_message(struct bridge *b, const kbus_message_t *msg)
{
	const char *name = kbus_msg_name_ptr(msg);
	mosquitto_property *props = NULL;
	char *topic;
	int rc;

	topic = name_to_topic(b, "", name);
	if (!topic) {
		say(b, "out of memory: %s not published", name);
		return;
	}
	rc = add_stamps(b, &props, msg);
	if (!rc)
		publish(b, topic, kbus_msg_data_ptr(msg), msg->data_len, false,
			props);
	else
		say(b, "cannot publish %s: %s", name, mosquitto_strerror(rc));
	mosquitto_property_free_all(&props);
	free(topic);
}

/* Handle one message from this bus. */
static void from_bus(struct bridge *b, const kbus_message_t *msg)
{
	const char *name = kbus_msg_name_ptr(msg);

	/* A request owed is always answered, whoever sent it. */
	if (kbus_msg_wants_us_to_reply(msg)) {
		from_bus_request(b, msg);
		return;
	}
	/* Nothing this bridge sent goes back. */
	if (msg->from == b->ksock_id)
		return;
	if (kbus_msg_name_is(msg, KBUS_MSG_NAME_REPLIER_BIND_EVENT)) {
		from_bus_bind_event(b, msg);
		return;
	}
	if (kbus_msg_name_is(msg, KBUS_MSG_NAME_UNBIND_EVENTS_LOST)) {
		say(b, "replier bind events were lost: checking the repliers");
		local_recheck(b);
		return;
	}
	if (kbus_msg_is_reply(msg)) {
		if (msg->to == b->ksock_id)
			from_bus_reply(b, msg);
		return;
	}
	if (b->state == LINK_UP && name_bridged(b, name))
		from_bus_message(b, msg);
}

/**
 * bus_read() - handle the messages queued on the Ksock
 * @b: the bridge
 * @max: how many at most (0: until the queue is empty)
 *
 * Returns 0, or -errno if the Ksock cannot be read (the bridge has failed).
 */
static int bus_read(struct bridge *b, unsigned int max)
{
	kbus_message_t *msg;
	unsigned int n;
	int err;

	for (n = 0; !max || n < max; n++) {
		err = kbus_ksock_read_next_msg(b->ksock, &msg);
		if (err) {
			complain("cannot receive from the bus: %s",
				 kbus_strerror(err));
			b->fatal = true;
			return err;
		}
		if (!msg)
			break;
		from_bus(b, msg);
		kbus_msg_delete(&msg);
	}
	return 0;
}

/* ==== From MQTT ==== */

/* One user property of a message from MQTT; may take *@val. */
static void meta_user(const struct bridge *b, struct meta *m,
		      const char *key, char **val)
{
	bool ok = true;

	if (!strcmp(key, PROP_ID) && !m->has_id) {
		ok = parse_pair(*val, &m->id.network_id, &m->id.serial_num);
		m->has_id = ok;
	} else if (!strcmp(key, PROP_FROM) && !m->has_from) {
		ok = parse_pair(*val, &m->from.network_id, &m->from.local_id);
		m->has_from = ok;
	} else if (!strcmp(key, PROP_FINAL_TO) && !m->has_final_to) {
		ok = parse_pair(*val, &m->final_to.network_id,
				&m->final_to.local_id);
		m->has_final_to = ok;
	} else if (!strcmp(key, PROP_TO) && !m->has_to) {
		/* One that cannot be read is for some other bridge. */
		m->has_to = true;
		ok = parse_whole_u32(*val, &m->to);
		if (!ok)
			m->to = 0;
	} else if (!strcmp(key, PROP_FLAGS)) {
		unsigned long v;
		char *end;

		errno = 0;
		v = strtoul(*val, &end, 16);
		ok = !errno && **val && !*end && v <= UINT32_MAX;
		m->flags = ok ? v : 0;
	} else if (!strcmp(key, PROP_NAME) && !m->name) {
		m->name = *val;
		*val = NULL;
	}
	if (!ok)
		say(b, "ignoring %s '%s'", key, *val);
}

/* What the properties @props of a message from MQTT say. */
static void meta_read(const struct bridge *b,
		      const mosquitto_property *props, struct meta *m)
{
	const mosquitto_property *p;
	char *key = NULL, *val = NULL;

	memset(m, 0, sizeof(*m));
	mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC,
				       &m->response_topic, false);
	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA,
				       &m->corr, &m->corr_len, false);
	p = mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY,
						&key, &val, false);
	while (p) {
		meta_user(b, m, key, &val);
		free(key);
		free(val);
		key = NULL;
		val = NULL;
		p = mosquitto_property_read_string_pair(p,
							MQTT_PROP_USER_PROPERTY,
							&key, &val, true);
	}
}

static void meta_free(struct meta *m)
{
	free(m->response_topic);
	free(m->corr);
	free(m->name);
}

/* Set id, orig_from and flags of @h from what a message from MQTT says. */
static void meta_to_header(const struct meta *m, kbus_message_t *h)
{
	memset(h, 0, sizeof(*h));
	if (m->has_id && m->id.network_id)
		h->id = m->id;
	if (m->has_from)
		h->orig_from = m->from;
	h->flags = m->flags & FLAGS_CARRIED;
}

/* "P/<path>": bridge id @id and (if @levels) the topic levels after it. */
static bool path_bridge(const char *path, uint32_t *id, const char **levels)
{
	const char *end;

	if (!parse_u32(path, levels ? '/' : '\0', id, &end) || !*id)
		return false;
	if (!levels)
		return true;
	if (*end != '/' || !end[1])
		return false;
	*levels = end + 1;
	return true;
}

/* P/$repliers/<ID>/a/b: bridge ID announces or withdraws a replier. */
static void from_mqtt_entry(struct bridge *b, const char *path,
			    const struct mosquitto_message *msg)
{
	bool on = msg->payloadlen > 0;
	const char *levels;
	uint32_t id;
	char *name;

	if (!path_bridge(path, &id, &levels)) {
		say(b, "ignoring %s: no bridge id", msg->topic);
		return;
	}
	name = levels_to_name(b, levels);
	if (!name) {
		say(b, "ignoring %s: not a name under %s", msg->topic,
		    b->subtree);
		return;
	}
	if (id == b->id) {
		/* Left by an earlier run of this bridge? */
		if (on && local_find(b, name) < 0) {
			say(b, "clearing %s: no such replier here", msg->topic);
			publish(b, msg->topic, NULL, 0, true, NULL);
		}
		free(name);
		return;
	}
	if (!on) {
		int i = offer_find(b->remotes, b->n_remotes, id, name);

		if (i >= 0)
			remote_del_at(b, i);
	} else if (peer_offline(b, id)) {
		say(b, "ignoring %s: bridge %u is offline", msg->topic, id);
	} else {
		remote_add(b, id, name);
	}
	proxy_sync(b, name);
	free(name);
}

/* P/$bridges/<ID>: bridge ID is online or offline. */
static void from_mqtt_bridge(struct bridge *b, const char *path,
			     const struct mosquitto_message *msg)
{
	size_t len = msg->payloadlen;
	uint32_t id;

	if (!path_bridge(path, &id, NULL) || id == b->id)
		return;
	if (len == strlen(BRIDGE_ONLINE) &&
	    !memcmp(msg->payload, BRIDGE_ONLINE, len)) {
		say(b, "bridge %u is online", id);
		peer_set(b, id, false);
	} else if (!len || (len == strlen(BRIDGE_OFFLINE) &&
			    !memcmp(msg->payload, BRIDGE_OFFLINE, len))) {
		say(b, "bridge %u is offline", id);
		peer_set(b, id, true);
		bridge_gone(b, id);
	} else {
		say(b, "ignoring %s: neither online nor offline", msg->topic);
	}
}

/* The name to answer proxied request @p with, given kbus-name @name. */
static const char *reply_name(const struct proxied *p, const char *name)
{
	if (name && (!strcmp(name, p->name) || name_is_status(name)))
		return name;
	return p->name;
}

/**
 * from_mqtt_response() - a response on P/$reply/<ID>
 * @b: the bridge
 * @path: the topic after "P/$reply/"
 * @msg: the response
 * @props: its properties
 *
 * If it is this bridge's and answers a request in flight, send the reply
 * to the requester; should that fail (other than for the requester having
 * gone), answer with $.KBUS.RemoteError.<ERRNO> instead.
 */
static void from_mqtt_response(struct bridge *b, const char *path,
			       const struct mosquitto_message *msg,
			       const mosquitto_property *props)
{
	struct proxied p;
	kbus_message_t h;
	struct meta m;
	char status[64];
	uint64_t corr;
	uint32_t id;
	size_t i;
	int err;

	if (!path_bridge(path, &id, NULL) || id != b->id)
		return;		/* another bridge's */
	meta_read(b, props, &m);
	if (!m.corr || m.corr_len != CORR_LEN) {
		say(b, "ignoring a response without correlation data");
		goto out;
	}
	corr = corr_get(m.corr);
	for (i = 0; i < b->n_proxied; i++)
		if (b->proxied[i].corr == corr)
			break;
	if (i == b->n_proxied) {
		say(b, "ignoring a response to no request in flight");
		goto out;
	}
	p = b->proxied[i];
	b->proxied[i] = b->proxied[--b->n_proxied];

	meta_to_header(&m, &h);
	h.in_reply_to = p.local_id;
	h.to = p.requester;
	h.data_len = msg->payloadlen;
	err = bus_send(b, &h, reply_name(&p, m.name), msg->payload, NULL);
	if (!err) {
		say(b, "request %u:%u answered with %s", p.local_id.network_id,
		    p.local_id.serial_num, reply_name(&p, m.name));
	} else if (err == -EADDRNOTAVAIL || err == -ECONNREFUSED) {
		say(b, "the requester of %u:%u has gone",
		    p.local_id.network_id, p.local_id.serial_num);
	} else {
		say(b, "cannot pass on the response to %u:%u: %s",
		    p.local_id.network_id, p.local_id.serial_num,
		    kbus_strerror(err));
		bus_status(b, &p.local_id, p.requester,
			   remote_error(status, sizeof(status), err));
	}
	free(p.name);
out:
	meta_free(&m);
}

/**
 * to_bus_request() - send a request from MQTT on this bus
 * @b: the bridge
 * @name: its name
 * @replier: the replier here for @name
 * @msg: the request
 * @m: what its properties say
 *
 * A stateful request goes on only if the replier it names (when it is on
 * this bus) is still bound.  The answer is published to its response
 * topic when it comes; if it cannot be sent, a status is published now.
 */
static void to_bus_request(struct bridge *b, const char *name,
			   uint32_t replier, const struct mosquitto_message *msg,
			   const struct meta *m)
{
	struct sent s = { 0 };
	kbus_message_t h;
	char status[64];
	int err;

	if (!replier) {
		respond_status(b, m, STATUS_GONEAWAY);
		return;
	}
	meta_to_header(m, &h);
	h.flags |= KBUS_BIT_WANT_A_REPLY;
	if (m->has_final_to && m->final_to.network_id) {
		if (m->final_to.network_id == b->id &&
		    m->final_to.local_id != replier) {
			respond_status(b, m, STATUS_NOTSAME);
			return;
		}
		h.to = replier;
		h.final_to = m->final_to;
	}
	if (kbus_grow((void **)&b->sent, &b->cap_sent, b->n_sent + 1,
		      sizeof(*b->sent)))
		goto nomem;
	s.topic = strdup(m->response_topic);
	if (!s.topic)
		goto nomem;
	if (m->corr && m->corr_len) {
		s.corr = malloc(m->corr_len);
		if (!s.corr)
			goto nomem;
		memcpy(s.corr, m->corr, m->corr_len);
		s.corr_len = m->corr_len;
	}
	h.data_len = msg->payloadlen;
	err = bus_send(b, &h, name, msg->payload, &s.id);
	if (err) {
		say(b, "cannot send request %s: %s", name, kbus_strerror(err));
		respond_status(b, m, err == -EADDRNOTAVAIL ? STATUS_GONEAWAY :
			       remote_error(status, sizeof(status), err));
		sent_free(&s);
		return;
	}
	say(b, "request %s sent here as %u:%u", name, s.id.network_id,
	    s.id.serial_num);
	b->sent[b->n_sent++] = s;
	return;

nomem:
	sent_free(&s);
	respond_status(b, m, STATUS_REMOTE_ERROR "ENOMEM");
}

/* Announce a message from MQTT on this bus. */
static void to_bus_announce(struct bridge *b, const char *name,
			    const struct mosquitto_message *msg,
			    const struct meta *m)
{
	kbus_message_t h;
	int err;

	meta_to_header(m, &h);
	h.data_len = msg->payloadlen;
	err = bus_send(b, &h, name, msg->payload, NULL);
	if (err && err != -EADDRNOTAVAIL)
		say(b, "cannot announce %s: %s", name, kbus_strerror(err));
}

/* The replier here for @name, not this bridge's proxy; 0 if none. */
static uint32_t local_replier(struct bridge *b, const char *name)
{
	uint32_t replier = 0;

	if (kbus_ksock_find_replier(b->ksock, name, &replier) <= 0 ||
	    replier == b->ksock_id)
		return 0;
	return replier;
}

/* P/a/b: a message, or a request to send here. */
static void from_mqtt_message(struct bridge *b, const char *levels,
			      const struct mosquitto_message *msg,
			      const mosquitto_property *props)
{
	uint32_t replier;
	struct meta m;
	char *name;

	name = levels_to_name(b, levels);
	if (!name) {
		say(b, "ignoring %s: not a name under %s", msg->topic,
		    b->subtree);
		return;
	}
	meta_read(b, props, &m);
	if (m.has_id && m.id.network_id == b->id) {
		say(b, "ignoring %s: it came from this bus", msg->topic);
		goto out;
	}
	replier = local_replier(b, name);
	if (m.response_topic && (m.has_to ? m.to == b->id : replier != 0))
		to_bus_request(b, name, replier, msg, &m);
	else
		to_bus_announce(b, name, msg, &m);
out:
	meta_free(&m);
	free(name);
}

/* Handle one message from MQTT, by its topic. */
static void from_mqtt(struct bridge *b, const struct mosquitto_message *msg,
		      const mosquitto_property *props)
{
	const char *rest = msg->topic;

	if (b->stopping || strncmp(rest, b->prefix, b->prefix_len) ||
	    rest[b->prefix_len] != '/')
		return;
	rest += b->prefix_len + 1;
	if (!strncmp(rest, "$repliers/", 10))
		from_mqtt_entry(b, rest + 10, msg);
	else if (!strncmp(rest, "$bridges/", 9))
		from_mqtt_bridge(b, rest + 9, msg);
	else if (!strncmp(rest, "$reply/", 7))
		from_mqtt_response(b, rest + 7, msg, props);
	else
		from_mqtt_message(b, rest, msg, props);
}

/* ==== The connection ==== */

static void __attribute__((format(printf, 2, 3)))
link_lost(struct bridge *b, const char *fmt, ...)
{
	va_list ap;

	if (b->lost)
		return;
	b->lost = true;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
}

/* What a MOSQ_ERR_* code or an MQTT 5 reason code means. */
static const char *mqtt_reason(int rc)
{
	if (rc == MOSQ_ERR_ERRNO)
		return strerror(errno);
	if (rc >= 0x80)
		return mosquitto_reason_string(rc);
	return mosquitto_strerror(rc);
}

/* Print that the bridge is connected, once its replier table is out. */
static void link_announce(struct bridge *b)
{
	b->said_connected = true;
	b->ever_up = true;
	b->last_failure[0] = '\0';
	printf("mqtt: bridge %u connected to %s\n", b->id, b->addr);
	fflush(stdout);
}

/**
 * link_ready() - subscribed: start bridging
 * @b: the bridge
 *
 * Say "online", announce this bus's repliers and take up the proxies for
 * what other bridges announced already.  "connected" is printed once the
 * broker has acknowledged the last of these publications.
 */
static void link_ready(struct bridge *b)
{
	size_t i;
	int rc;

	b->state = LINK_UP;
	rc = publish_bridge_state(b, BRIDGE_ONLINE);
	for (i = 0; !rc && i < b->n_locals; i++)
		rc = publish_entry(b, b->locals[i], true);
	i = b->n_remotes;
	while (i--)
		proxy_sync(b, b->remotes[i].name);
	b->table_mid = b->last_mid;
	if (rc)
		link_lost(b, "cannot publish the replier table: %s",
			  mosquitto_strerror(rc));
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct bridge *b = obj;

	(void)flags;
	(void)props;
	if (rc) {
		b->refused = true;
		link_lost(b, "refused by the broker: %s",
			  rc >= 0x80 ? mosquitto_reason_string(rc) :
			  mosquitto_connack_string(rc));
		return;
	}
	b->state = LINK_SUBSCRIBING;
	rc = mosquitto_subscribe_v5(mosq, &b->sub_mid, b->sub_topic, QOS,
				    MQTT_SUB_OPT_NO_LOCAL, NULL);
	if (rc)
		link_lost(b, "cannot subscribe to %s: %s", b->sub_topic,
			  mosquitto_strerror(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid,
			 int qos_count, const int *granted_qos,
			 const mosquitto_property *props)
{
	struct bridge *b = obj;

	(void)mosq;
	(void)props;
	if (mid != b->sub_mid || b->state != LINK_SUBSCRIBING)
		return;
	if (qos_count < 1 || granted_qos[0] < 0 || granted_qos[0] > 2) {
		link_lost(b, "subscription to %s refused", b->sub_topic);
		return;
	}
	link_ready(b);
}

static void on_message(struct mosquitto *mosq, void *obj,
		       const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	(void)mosq;
	from_mqtt(obj, msg, props);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid,
		       int reason_code, const mosquitto_property *props)
{
	struct bridge *b = obj;

	(void)mosq;
	(void)props;
	if (reason_code >= 0x80)
		say(b, "publication %d refused: %s", mid,
		    mosquitto_reason_string(reason_code));
	if (b->unacked)
		b->unacked--;
	if (b->state == LINK_UP && !b->said_connected && mid == b->table_mid)
		link_announce(b);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
			  const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	link_lost(obj, "%s", mqtt_reason(rc));
}

/*
 * Say why connecting failed, once until the reason changes or the bridge
 * connects: on stderr if @loud (the broker refused it), else if verbose.
 */
static void __attribute__((format(printf, 3, 4)))
connect_failed(struct bridge *b, bool loud, const char *fmt, ...)
{
	char text[sizeof(b->last_failure)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!strcmp(text, b->last_failure))
		return;
	snprintf(b->last_failure, sizeof(b->last_failure), "%s", text);
	if (loud)
		complain("cannot connect to %s: %s", b->addr, text);
	else
		say(b, "cannot connect to %s: %s", b->addr, text);
}

/* A new client, with its options, will and callbacks; NULL on failure. */
static struct mosquitto *link_client(struct bridge *b)
{
	struct mosquitto *mosq;
	int rc;

	mosq = mosquitto_new(b->client_id, true, b);
	if (!mosq) {
		complain("cannot create an MQTT client: %s", strerror(errno));
		return NULL;
	}
	rc = mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
				  MQTT_PROTOCOL_V5);
	/* Requests and their replies are small: no waiting to coalesce. */
	if (!rc)
		rc = mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (!rc)
		rc = mosquitto_will_set_v5(mosq, b->bridge_topic,
					   strlen(BRIDGE_OFFLINE),
					   BRIDGE_OFFLINE, QOS, true, NULL);
	if (rc) {
		complain("cannot set up the MQTT client: %s",
			 mosquitto_strerror(rc));
		mosquitto_destroy(mosq);
		return NULL;
	}
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_subscribe_v5_callback_set(mosq, on_subscribe);
	mosquitto_message_v5_callback_set(mosq, on_message);
	mosquitto_publish_v5_callback_set(mosq, on_publish);
	mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
	return mosq;
}

/*
 * Try to connect to the broker (a fresh client each time: nothing of an
 * earlier connection is sent again).  Returns 0, or -1 if the bridge
 * cannot go on.
 */
static int link_start(struct bridge *b)
{
	int rc;

	b->next_connect = now_ms() + RECONNECT_MS;
	b->mosq = link_client(b);
	if (!b->mosq) {
		b->fatal = true;
		return -1;
	}
	rc = mosquitto_connect_bind_v5(b->mosq, b->host, b->port, KEEPALIVE_S,
				       NULL, NULL);
	if (rc) {
		connect_failed(b, false, "%s", mqtt_reason(rc));
		mosquitto_destroy(b->mosq);
		b->mosq = NULL;
		return 0;
	}
	say(b, "connecting to %s as %s", b->addr, b->client_id);
	b->state = LINK_CONNECTING;
	b->lost = false;
	b->refused = false;
	b->reason[0] = '\0';
	b->unacked = 0;
	b->handshake_end = now_ms() + HANDSHAKE_MS;
	return 0;
}

/*
 * The connection has ended: answer every request in flight to MQTT with
 * GoneAway, drop the proxies and what other bridges said, and close.
 * The requests from MQTT still in flight here are forgotten: their
 * answers have nowhere to go.
 */
static void link_end(struct bridge *b)
{
	size_t i;

	b->state = LINK_DOWN;
	bridge_gone(b, 0);
	for (i = 0; i < b->n_sent; i++)
		sent_free(&b->sent[i]);
	b->n_sent = 0;
	b->n_peers = 0;
	mosquitto_destroy(b->mosq);
	b->mosq = NULL;
	if (b->said_connected) {
		printf("mqtt: bridge %u disconnected: %s\n", b->id,
		       b->reason);
		fflush(stdout);
	} else if (!b->stopping) {
		connect_failed(b, b->refused, "%s", b->reason);
	}
	b->said_connected = false;
	b->lost = false;
	b->ended = true;
	b->next_connect = now_ms() + RECONNECT_MS;
}

/* Is there something to read on the connection? */
static bool link_readable(struct bridge *b)
{
	struct pollfd pfd = { .fd = mosquitto_socket(b->mosq), .events = POLLIN };

	return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0;
}

/*
 * Read (up to BRIDGE_BATCH packets), write and keep the connection alive,
 * as @revents says.
 */
static void link_service(struct bridge *b, short revents)
{
	int i, rc;

	for (i = 0; i < BRIDGE_BATCH && (revents & (POLLIN | POLLERR | POLLHUP));
	     i++) {
		rc = mosquitto_loop_read(b->mosq, 1);
		if (rc) {
			link_lost(b, "%s", mqtt_reason(rc));
			break;
		}
		if (b->lost || !link_readable(b))
			break;
	}
	if (!b->lost && mosquitto_want_write(b->mosq)) {
		rc = mosquitto_loop_write(b->mosq, 1);
		if (rc)
			link_lost(b, "%s", mqtt_reason(rc));
	}
	if (!b->lost) {
		rc = mosquitto_loop_misc(b->mosq);
		if (rc)
			link_lost(b, "%s", mqtt_reason(rc));
	}
	if (!b->lost && mosquitto_socket(b->mosq) < 0)
		link_lost(b, "the connection was closed");
	if (!b->lost && b->state != LINK_UP && now_ms() >= b->handshake_end)
		link_lost(b, "no answer from the broker");
}

/* How long to wait at most: until the next deadline, and 1 s. */
static int step_timeout(const struct bridge *b)
{
	int64_t now = now_ms(), next = now + 1000;
	size_t i;

	if (b->state == LINK_DOWN && b->next_connect < next)
		next = b->next_connect;
	if (b->state != LINK_DOWN && b->state != LINK_UP &&
	    b->handshake_end < next)
		next = b->handshake_end;
	for (i = 0; i < b->n_proxied; i++)
		if (b->proxied[i].deadline < next)
			next = b->proxied[i].deadline;
	return next > now ? (int)(next - now) : 0;
}

/**
 * bridge_step() - wait for the bus or the broker, and handle what came
 * @b: the bridge
 * @timeout_ms: the longest wait
 *
 * SIGINT and SIGTERM are let in only while waiting.  Returns 0, or -errno
 * if the bridge cannot go on.
 */
static int bridge_step(struct bridge *b, int timeout_ms)
{
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (timeout_ms % 1000) * 1000000L,
	};
	struct pollfd pfd[2] = {
		{ .fd = b->ksock, .events = POLLIN },
		{ .fd = -1 },
	};
	int sock = b->mosq ? mosquitto_socket(b->mosq) : -1;

	if (sock >= 0) {
		pfd[1].fd = sock;
		pfd[1].events = POLLIN;
		if (mosquitto_want_write(b->mosq))
			pfd[1].events |= POLLOUT;
	}
	if (ppoll(pfd, 2, &ts, &b->wait_mask) < 0) {
		if (errno != EINTR) {
			complain("poll: %s", strerror(errno));
			b->fatal = true;
			return -errno;
		}
		pfd[0].revents = 0;
		pfd[1].revents = 0;
	}
	if (b->mosq)
		link_service(b, pfd[1].revents);
	if (pfd[0].revents & (POLLERR | POLLHUP)) {
		complain("the bus has gone away");
		b->fatal = true;
		return -ENODEV;
	}
	if ((pfd[0].revents & POLLIN) && bus_read(b, BRIDGE_BATCH))
		return -EIO;
	proxied_expire(b);
	if (b->mosq && b->lost)
		link_end(b);
	return 0;
}

/* Bridge until stopped, the bridge fails or (with -1) a connection ends. */
static void bridge_run(struct bridge *b)
{
	while (!mqtt_stop && !b->fatal) {
		if (b->state == LINK_DOWN) {
			if (b->once && b->ended)
				break;
			if (now_ms() >= b->next_connect && link_start(b))
				break;
		}
		if (bridge_step(b, step_timeout(b)))
			break;
	}
}

/* Wait until what was published has gone and been acknowledged. */
static void link_flush(struct bridge *b, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	struct pollfd pfd;
	int64_t left;

	while (!b->lost && (b->unacked || mosquitto_want_write(b->mosq))) {
		left = end - now_ms();
		if (left <= 0)
			break;
		pfd.fd = mosquitto_socket(b->mosq);
		pfd.events = POLLIN;
		if (mosquitto_want_write(b->mosq))
			pfd.events |= POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, left > 100 ? 100 : (int)left) < 0 &&
		    errno != EINTR)
			break;
		link_service(b, pfd.revents);
	}
}

/* Write what is queued (the DISCONNECT) until the socket closes. */
static void link_drain(struct bridge *b, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	struct pollfd pfd;
	int64_t left;

	while (mosquitto_socket(b->mosq) >= 0 &&
	       mosquitto_want_write(b->mosq)) {
		left = end - now_ms();
		if (left <= 0)
			break;
		pfd.fd = mosquitto_socket(b->mosq);
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left > 100 ? 100 : (int)left) < 0 &&
		    errno != EINTR)
			break;
		if (mosquitto_loop_write(b->mosq, 1))
			break;
	}
}

/**
 * bridge_stop() - stop cleanly
 * @b: the bridge
 *
 * Answer every request in flight to MQTT, drop the proxies and bindings,
 * and answer what is left on the Ksock; then, if connected, respond
 * GoneAway to the requests from MQTT still in flight here, withdraw this
 * bus's repliers, say "offline" and disconnect.
 */
static void bridge_stop(struct bridge *b)
{
	kbus_message_t *msg;
	size_t i;

	b->stopping = true;
	proxied_gone(b, 0);
	while (b->n_proxies)
		free(proxy_unbind(b, b->n_proxies - 1));
	kbus_ksock_unbind(b->ksock, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0);
	kbus_ksock_unbind(b->ksock, b->pattern, 0);
	while (!kbus_ksock_read_next_msg(b->ksock, &msg) && msg) {
		if (kbus_msg_wants_us_to_reply(msg))
			bus_status(b, &msg->id, msg->from, STATUS_GONEAWAY);
		else if (kbus_msg_is_reply(msg) && msg->to == b->ksock_id)
			from_bus_reply(b, msg);
		kbus_msg_delete(&msg);
	}
	if (!b->mosq)
		return;
	if (b->state == LINK_UP && !b->lost) {
		for (i = 0; i < b->n_sent; i++)
			publish_response(b, &b->sent[i], STATUS_GONEAWAY, NULL);
		for (i = 0; i < b->n_locals; i++)
			publish_entry(b, b->locals[i], false);
		publish_bridge_state(b, BRIDGE_OFFLINE);
		link_flush(b, FLUSH_MS);
	}
	if (!b->lost) {
		link_lost(b, "stopped");
		/* A normal DISCONNECT: the broker drops the will. */
		if (!mosquitto_disconnect_v5(b->mosq,
					     MQTT_RC_NORMAL_DISCONNECTION,
					     NULL))
			link_drain(b, FLUSH_MS);
	}
	link_end(b);
}

/* ==== Setting up ==== */

/*
 * Listen to the subtree and to replier bind events, and learn the
 * repliers already bound (the catch-up events turning reports on queues).
 * Returns 0 or -errno (said why).
 */
static int bus_setup(struct bridge *b)
{
	uint32_t max_msgs = BRIDGE_MAX_MSGS;
	int err;

	err = kbus_ksock_id(b->ksock, &b->ksock_id);
	if (!err)
		err = kbus_ksock_max_messages(b->ksock, &max_msgs);
	if (!err) {
		err = kbus_ksock_only_once(b->ksock, 1);
		if (err > 0)
			err = 0;
	}
	if (err) {
		complain("cannot set up the Ksock: %s", kbus_strerror(err));
		return err;
	}
	err = kbus_ksock_bind(b->ksock, b->pattern, 0);
	if (err) {
		complain("cannot listen to %s: %s", b->pattern,
			 kbus_strerror(err));
		return err;
	}
	err = kbus_ksock_bind(b->ksock, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0);
	if (err) {
		complain("cannot listen to %s: %s",
			 KBUS_MSG_NAME_REPLIER_BIND_EVENT, kbus_strerror(err));
		return err;
	}
	err = kbus_ksock_report_replier_binds(b->ksock, 1);
	if (err == -EBUSY) {
		complain("too many repliers: some will not be announced");
	} else if (err < 0) {
		complain("cannot turn on replier bind events: %s",
			 kbus_strerror(err));
		return err;
	}
	return bus_read(b, 0);
}

/* Names and topics made from the configuration.  Returns 0 or -ENOMEM. */
static int bridge_names(struct bridge *b)
{
	if (asprintf(&b->pattern, "%s.*", b->subtree) < 0)
		b->pattern = NULL;
	if (asprintf(&b->client_id, "kbus-bridge-%u", b->id) < 0)
		b->client_id = NULL;
	if (asprintf(&b->sub_topic, "%s/#", b->prefix) < 0)
		b->sub_topic = NULL;
	if (asprintf(&b->entry_middle, "$repliers/%u/", b->id) < 0)
		b->entry_middle = NULL;
	if (asprintf(&b->bridge_topic, "%s/$bridges/%u", b->prefix,
		     b->id) < 0)
		b->bridge_topic = NULL;
	if (asprintf(&b->reply_topic, "%s/$reply/%u", b->prefix, b->id) < 0)
		b->reply_topic = NULL;
	if (!b->pattern || !b->client_id || !b->sub_topic ||
	    !b->entry_middle || !b->bridge_topic || !b->reply_topic)
		return -ENOMEM;
	return 0;
}

static void bridge_free(struct bridge *b)
{
	tables_free(b);
	free(b->pattern);
	free(b->client_id);
	free(b->sub_topic);
	free(b->entry_middle);
	free(b->bridge_topic);
	free(b->reply_topic);
	free(b->host);
}

/* Is @prefix usable as the topic prefix (no wildcards, no empty level)? */
static bool prefix_ok(const char *prefix)
{
	const char *p;

	if (!*prefix || strpbrk(prefix, "+#"))
		return false;
	for (p = prefix; *p; p++)
		if (*p == '/' && (p == prefix || !p[1] || p[1] == '/'))
			return false;
	return true;
}

/* HOST:PORT (HOST may be [IPv6]); -1 if it is not. */
static int parse_addr(struct bridge *b, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	const char *host = addr;
	size_t len;
	uint32_t port;

	if (!colon || colon == addr || !parse_whole_u32(colon + 1, &port) ||
	    !port || port > 65535)
		return -1;
	len = colon - addr;
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	b->host = strndup(host, len);
	if (!b->host)
		return -1;
	b->port = port;
	return 0;
}

/* Parse the command line into @b.  Returns 0 or EXIT_USAGE (said why). */
static int parse_args(struct bridge *b, int argc, char **argv)
{
	char *end;
	long v;
	int opt;

	b->subtree = DEFAULT_SUBTREE;
	b->prefix = DEFAULT_PREFIX;
	b->timeout_ms = DEFAULT_TIMEOUT_MS;
	optind = 0;
	while ((opt = getopt(argc, argv, "i:p:t:T:1")) != -1) {
		switch (opt) {
		case 'i':
			if (!parse_whole_u32(optarg, &b->id) || !b->id)
				return usage_error("mqtt: invalid bridge id '%s'",
						   optarg);
			break;
		case 'p':
			b->subtree = optarg;
			break;
		case 't':
			b->prefix = optarg;
			break;
		case 'T':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || !*optarg || *end || v <= 0 || v > INT_MAX)
				return usage_error("mqtt: invalid timeout '%s'",
						   optarg);
			b->timeout_ms = v;
			break;
		case '1':
			b->once = true;
			break;
		default:
			return usage_error(USAGE);
		}
	}
	if (!b->id)
		return usage_error("mqtt: -i ID, a bridge id other than 0, is needed");
	if (optind >= argc)
		return usage_error("mqtt: HOST:PORT of the broker is needed");
	if (optind < argc - 1)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	b->addr = argv[optind];
	if (strcmp(b->subtree, "$") && !name_ok(b->subtree))
		return usage_error("mqtt: invalid subtree '%s' (not $ or a name)",
				   b->subtree);
	if (!prefix_ok(b->prefix))
		return usage_error("mqtt: invalid topic prefix '%s'", b->prefix);
	if (parse_addr(b, b->addr))
		return usage_error("mqtt: '%s' is not HOST:PORT", b->addr);
	b->subtree_len = strlen(b->subtree);
	b->prefix_len = strlen(b->prefix);
	return 0;
}

/*
 * The first correlation data: the time, so that a late response to a
 * request of an earlier run of this bridge matches nothing.
 */
static uint64_t first_corr(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int kbus_mqtt_main(int argc, char **argv, int (*open_bus)(void), bool verbose)
{
	struct sigaction sa = { .sa_handler = mqtt_on_signal };
	struct sigaction old_int, old_term;
	struct bridge b = { .ksock = -1 };
	sigset_t block, old_mask;
	int ret = EXIT_KBUS, rc;

	b.verbose = verbose;
	ret = parse_args(&b, argc, argv);
	if (ret) {
		free(b.host);
		return ret;
	}
	ret = EXIT_KBUS;
	if (bridge_names(&b)) {
		complain("out of memory");
		goto out_free;
	}
	b.next_corr = first_corr();

	/* The signals are only let in while waiting: none can be missed. */
	mqtt_stop = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	b.wait_mask = old_mask;
	sigdelset(&b.wait_mask, SIGINT);
	sigdelset(&b.wait_mask, SIGTERM);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	signal(SIGPIPE, SIG_IGN);

	rc = mosquitto_lib_init();
	if (rc) {
		complain("cannot initialise libmosquitto: %s",
			 mosquitto_strerror(rc));
		goto out_signals;
	}
	b.ksock = open_bus();
	if (b.ksock < 0)
		goto out_lib;
	if (bus_setup(&b))
		goto out_close;
	say(&b, "bridging %s as %s/... (Ksock %u)", b.pattern, b.prefix,
	    b.ksock_id);
	bridge_run(&b);
	bridge_stop(&b);
	/* With -1, a connection the broker never let through is an error. */
	if (!b.fatal && (!b.once || b.ever_up || mqtt_stop))
		ret = EXIT_OK;
out_close:
	kbus_ksock_close(b.ksock);
out_lib:
	mosquitto_lib_cleanup();
out_signals:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
out_free:
	bridge_free(&b);
	return ret;
}
