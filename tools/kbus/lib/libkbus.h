/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkbus - a small C library for the KBUS message bus
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Thin helpers over the ABI in <linux/kbus.h>.  A Ksock is a plain file
 * descriptor.  Unless said otherwise, functions return 0 (or a documented
 * non-negative value) on success and a negative errno on failure; they
 * never print anything.  Nothing blocks except kbus_wait() and the
 * functions built on it, which take a timeout.
 */

#ifndef _LIBKBUS_H
#define _LIBKBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kbus.h>

/* Where the buses and the debugfs files are. */
#define KBUS_DEV_FMT		"/dev/kbus%u"
#define KBUS_DEBUGFS_DIR	"/sys/kernel/debug/kbus"
#define KBUS_DEBUGFS_BINDINGS	KBUS_DEBUGFS_DIR "/bindings"
#define KBUS_DEBUGFS_STATS	KBUS_DEBUGFS_DIR "/stats"

/* ---- Ksocks ---- */

/*
 * Open bus @bus (/dev/kbus<bus>).  @flags are open(2) flags (usually
 * O_RDWR; O_RDONLY is enough to listen); O_CLOEXEC is always added.
 * Returns the Ksock (a file descriptor) or a negative errno.
 */
int kbus_open(unsigned int bus, int flags);

/* Open a bus device by path, as kbus_open(). */
int kbus_open_path(const char *path, int flags);

/*
 * Open a bus named by @spec: a bus number ("0") or a device path
 * ("/dev/kbus1").  Returns the Ksock or a negative errno (-EINVAL if
 * @spec is neither).
 */
int kbus_open_spec(const char *spec, int flags);

int kbus_close(int ks);

/* Bind or unbind @name (which may end in ".*" or ".%"). */
int kbus_bind(int ks, const char *name, bool replier);
int kbus_unbind(int ks, const char *name, bool replier);

/* This Ksock's id. */
int kbus_ksock_id(int ks, uint32_t *id);

/*
 * Which Ksock is the replier for @name?  Returns 1 and sets *@id if there
 * is one, 0 and *@id = 0 if not, or a negative errno.
 */
int kbus_find_replier(int ks, const char *name, uint32_t *id);

/* Create a new bus (needs CAP_SYS_ADMIN); *@bus is its number. */
int kbus_new_device(int ks, uint32_t *bus);

/* ABI version and feature bits of the running kernel. */
int kbus_version(int ks, struct kbus_version *v);

/*
 * Get/set helpers.  For the boolean settings @val is 0, 1 or KBUS_QUERY;
 * each returns the previous (or current) value in *@old.
 */
int kbus_max_messages(int ks, uint32_t set, uint32_t *limit);
int kbus_num_messages(int ks, uint32_t *count);
int kbus_unreplied_to(int ks, uint32_t *count);
int kbus_only_once(int ks, uint32_t val, uint32_t *old);
int kbus_report_replier_binds(int ks, uint32_t val, uint32_t *old);
int kbus_verbose(int ks, uint32_t val, uint32_t *old);
int kbus_max_message_size(int ks, uint32_t set, uint32_t *size);
int kbus_last_sent(int ks, struct kbus_msg_id *id);
int kbus_dropped(int ks, uint64_t *count);
int kbus_discard(int ks);

/* ---- Waiting ---- */

#define KBUS_READABLE	0x1
#define KBUS_WRITABLE	0x2

/*
 * Wait until @ks is KBUS_READABLE (a message is queued) and/or
 * KBUS_WRITABLE (a pending send has finished), as asked in @what, for at
 * most @timeout_ms milliseconds (-1: no limit).  Restarts after signals.
 * Returns the mask of what is ready, 0 on timeout, or a negative errno.
 */
int kbus_wait(int ks, unsigned int what, int timeout_ms);

/* ---- Sending ---- */

/*
 * Send a message.  @data may be NULL if @data_len is 0.  @flags are
 * KBUS_BIT_* flags, @to the Ksock id of the recipient (requester for a
 * reply, expected replier for a stateful request; 0 otherwise),
 * @in_reply_to the request answered (NULL if not a reply).  On success the
 * message id is stored in *@id if @id is not NULL.
 *
 * Typical errors (see also kbus_strerror()): -EADDRNOTAVAIL (request with
 * no replier, or the requester of a reply has gone), -EPIPE (stateful
 * request, the replier has changed), -EBADMSG (bad name), -EBUSY (replier
 * queue full), -ECONNREFUSED (reply to a request not outstanding).
 */
int kbus_send(int ks, const char *name, const void *data, uint32_t data_len,
	      uint32_t flags, uint32_t to,
	      const struct kbus_msg_id *in_reply_to, struct kbus_msg_id *id);

/* An announcement. */
int kbus_announce(int ks, const char *name, const void *data,
		  uint32_t data_len, struct kbus_msg_id *id);

/* A request. */
int kbus_request(int ks, const char *name, const void *data,
		 uint32_t data_len, struct kbus_msg_id *id);

/*
 * A stateful request: fails with -EPIPE unless Ksock @replier is still the
 * replier for @name (and -EADDRNOTAVAIL if there is no replier at all).
 */
int kbus_stateful_request(int ks, const char *name, uint32_t replier,
			  const void *data, uint32_t data_len,
			  struct kbus_msg_id *id);

struct kbus_msg;

/* Reply to @req, a request that this Ksock has received. */
int kbus_reply(int ks, const struct kbus_msg *req, const void *data,
	       uint32_t data_len, struct kbus_msg_id *id);

/* ---- Receiving ---- */

/*
 * A received message: a parsed view of an "entire" message.  @hdr is a
 * copy of the header (its name and data fields are 0); @name (NUL
 * terminated) and @data point into @buf.  @data is NULL when
 * @hdr.data_len is 0.
 */
struct kbus_msg {
	struct kbus_message_header hdr;
	const char *name;
	const void *data;
	void *buf;		/* the entire message as read */
	size_t len;		/* its length */
	bool allocated;		/* @buf was allocated by kbus_recv() */
};

/*
 * Take the next message off the queue, without waiting, and read it into
 * a newly allocated buffer (free it with kbus_msg_free()).  Returns 1 with *@msg filled in,
 * 0 if the queue is empty, or a negative errno (-EPROTO if what was read
 * is not a well-formed message).
 */
int kbus_recv(int ks, struct kbus_msg *msg);

/*
 * As kbus_recv(), but into the caller's buffer.  If the message does not
 * fit, returns -EMSGSIZE and stores the length needed in *@needed (if not
 * NULL); the message stays queued for a call with a larger buffer.
 */
int kbus_recv_buf(int ks, void *buf, size_t size, struct kbus_msg *msg,
		  size_t *needed);

/*
 * Wait for up to @timeout_ms (-1: no limit) for a message and receive it
 * as kbus_recv().  Returns 1 with a message, 0 on timeout, or a negative
 * errno.
 */
int kbus_recv_timeout(int ks, struct kbus_msg *msg, int timeout_ms);

/*
 * Wait for up to @timeout_ms (-1: no limit) for the reply to the request
 * @req_id sent from @ks, the replier's or one generated by KBUS.  Other
 * messages that arrive meanwhile are passed to @other (if not NULL; the
 * callback must not keep them) or dropped.  Returns 1 with the reply, 0 on
 * timeout, or a negative errno.
 */
int kbus_wait_reply(int ks, const struct kbus_msg_id *req_id,
		    struct kbus_msg *reply, int timeout_ms,
		    void (*other)(const struct kbus_msg *msg, void *arg),
		    void *arg);

/*
 * Parse an entire message of @len bytes in @buf.  Returns 0, or -EPROTO if
 * it is not well formed (guards, lengths).
 */
int kbus_msg_parse(void *buf, size_t len, struct kbus_msg *msg);

/* Free the buffer of a message received with kbus_recv(). */
void kbus_msg_free(struct kbus_msg *msg);

/* ---- Message helpers ---- */

static inline bool kbus_id_is_zero(const struct kbus_msg_id *id)
{
	return !id->network_id && !id->serial_num;
}

static inline bool kbus_id_equal(const struct kbus_msg_id *a,
				 const struct kbus_msg_id *b)
{
	return a->network_id == b->network_id &&
	       a->serial_num == b->serial_num;
}

/* A request (whoever it was delivered to). */
static inline bool kbus_msg_is_request(const struct kbus_msg *msg)
{
	return msg->hdr.flags & KBUS_BIT_WANT_A_REPLY;
}

/* A reply: the replier's or one generated by KBUS. */
static inline bool kbus_msg_is_reply(const struct kbus_msg *msg)
{
	return !kbus_id_is_zero(&msg->hdr.in_reply_to);
}

/* Generated by KBUS itself ($.KBUS.*). */
static inline bool kbus_msg_is_synthetic(const struct kbus_msg *msg)
{
	return msg->hdr.flags & KBUS_BIT_SYNTHETIC;
}

/* A request that this Ksock, as its replier, must answer. */
static inline bool kbus_msg_wants_us_to_reply(const struct kbus_msg *msg)
{
	return (msg->hdr.flags & (KBUS_BIT_WANT_A_REPLY |
				  KBUS_BIT_WANT_YOU_TO_REPLY)) ==
	       (KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY);
}

/* A request aimed at one particular replier. */
static inline bool kbus_msg_is_stateful_request(const struct kbus_msg *msg)
{
	return kbus_msg_is_request(msg) && msg->hdr.to;
}

/* Is this message named @name? */
bool kbus_msg_name_is(const struct kbus_msg *msg, const char *name);

/* The data of a $.KBUS.ReplierBindEvent message. */
struct kbus_bind_event {
	bool is_bind;		/* bound (true) or unbound (false) */
	uint32_t binder;	/* the replier's Ksock id */
	const char *name;	/* the name, inside the message */
	uint32_t name_len;
};

/*
 * Parse the data of a $.KBUS.ReplierBindEvent.  Returns 0, -EINVAL if
 * @msg is not one, or -EPROTO if its data is malformed.
 */
int kbus_msg_bind_event(const struct kbus_msg *msg,
			struct kbus_bind_event *ev);

/* ---- Text ---- */

/*
 * Format @msg on one line, snprintf() style, e.g.
 *
 *   0:7 reply from 4 to 3 re 0:6 $.Time "12:00"
 *
 * the id, the kind (announcement, request, reply, synthetic), sender and
 * recipient, the request answered, flags other than the kind, the name,
 * and the data as escaped text (at most @max_data bytes, 0 for all).
 */
int kbus_msg_format(const struct kbus_msg *msg, char *buf, size_t size,
		    size_t max_data);

/* Print kbus_msg_format() and a newline on @f. */
int kbus_msg_print(FILE *f, const struct kbus_msg *msg);

/*
 * Escape @len bytes of @data as C-like text (printable ASCII as is, \n,
 * \t, \\, \", \xNN otherwise) into @buf, snprintf() style.
 */
int kbus_escape(const void *data, size_t len, char *buf, size_t size);

/*
 * What a negative errno from a KBUS operation means, in KBUS terms (for
 * example -EADDRNOTAVAIL: "no replier is bound to the name, or the
 * requester has gone").  Falls back to strerror().
 */
const char *kbus_strerror(int err);

/* What a $.KBUS.* message name means, or NULL if not one KBUS sends. */
const char *kbus_synthetic_meaning(const char *name);

#endif /* _LIBKBUS_H */
