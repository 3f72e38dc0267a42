/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkbus - the C library of the KBUS message bus
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * The original KBUS libkbus API (kbus_ksock_*() and kbus_msg_*()), over the
 * ABI 2 interface of <linux/kbus.h>, so that an original KBUS program ports
 * by recompiling; and a few conveniences built on it (one-call sends,
 * waiting with a timeout, one-line formatting, error texts).
 *
 * As in the original: a Ksock is a plain file descriptor; functions return
 * 0 (or the documented non-negative value) on success and a negative errno
 * on failure, and never print anything (except kbus_msg_print() and
 * kbus_msg_dump(), whose job it is); nothing blocks except
 * kbus_wait_for_message() and the functions that take a timeout.  Every
 * send and receive is made with KBUS_SEND_NONBLOCK or KBUS_RECV_NONBLOCK.
 *
 * Where ABI 2 differs from the original interface (see each function):
 *
 * - There is no "current message": kbus_ksock_next_msg() only looks at the
 *   length of the next message, and the read functions take it off the
 *   queue in one call.
 * - There is no partly written message in the kernel: kbus_ksock_write_msg()
 *   and kbus_ksock_write_data() keep the bytes in the library, per file
 *   descriptor, and kbus_ksock_send() sends them in one KBUS_IOC_SENDMSG.
 *   The kernel checks the message when it is sent, not when it is written.
 * - The id of a message is known only once it has been sent: a send that
 *   fails has none.  kbus_ksock_last_msg_id() is kept by the library.
 * - Setting bus-wide options (replier bind events, the maximum message
 *   size) needs CAP_SYS_ADMIN (-EPERM).  Buses are no longer created
 *   through a Ksock: each mount of the kbus filesystem is a set of buses,
 *   added and removed through its kbus-control node (kbus_bus_add(),
 *   kbus_bus_remove()).
 * - The header's name and data fields are 64-bit integers (__aligned_u64),
 *   not pointers: code that sets them directly needs a (uintptr_t) cast;
 *   kbus_msg_create*(), kbus_msg_name_ptr() and kbus_msg_data_ptr() hide
 *   the difference.
 *
 * The per-descriptor state (the message being written, the id of the last
 * message sent) is protected by a lock, so Ksocks may be used from several
 * threads; with a C library older than glibc 2.34, link with -lpthread.
 * Close a Ksock with kbus_ksock_close(), which also drops that state.
 */

#ifndef _LIBKBUS_H
#define _LIBKBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kbus.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Where the buses and the debugfs files are.  In a kbus filesystem, bus N
 * is the node KBUS_FS_BUS_FMT next to its KBUS_FS_CONTROL node.
 */
#define KBUS_DEV_FMT		"/dev/kbus%u"
#define KBUS_FS_CONTROL		"kbus-control"
#define KBUS_FS_BUS_FMT		"kbus%u"
#define KBUS_DEBUGFS_DIR	"/sys/kernel/debug/kbus"
#define KBUS_DEBUGFS_BINDINGS	KBUS_DEBUGFS_DIR "/bindings"
#define KBUS_DEBUGFS_STATS	KBUS_DEBUGFS_DIR "/stats"

/* The original library's types. */
typedef int kbus_ksock_t;
typedef struct kbus_message_header kbus_message_t;
typedef struct kbus_entire_message kbus_entire_message_t;
typedef struct kbus_msg_id kbus_msg_id_t;
typedef struct kbus_orig_from kbus_orig_from_t;
typedef struct kbus_replier_bind_event_data kbus_replier_bind_event_data_t;

/* ==== Messages: inline helpers ==== */

/* An "entire" message (name and data follow the header), not a pointy one. */
static inline int kbus_msg_is_entire(const kbus_message_t *msg)
{
	return msg->name == 0;
}

/* The message name (not NUL-terminated in a pointy message). */
static inline char *kbus_msg_name_ptr(const kbus_message_t *msg)
{
	const kbus_entire_message_t *entire = (const kbus_entire_message_t *)msg;

	if (msg->name)
		return (char *)(uintptr_t)msg->name;
	return (char *)(uintptr_t)entire->rest;
}

/* The message data: NULL for a pointy message without data. */
static inline void *kbus_msg_data_ptr(const kbus_message_t *msg)
{
	const kbus_entire_message_t *entire = (const kbus_entire_message_t *)msg;

	if (msg->name)
		return (void *)(uintptr_t)msg->data;
	return (void *)(uintptr_t)&entire->rest[KBUS_ENTIRE_MSG_DATA_INDEX(msg->name_len)];
}

/* The final end guard of an entire message. */
static inline uint32_t *kbus_msg_end_ptr(const kbus_entire_message_t *entire)
{
	const kbus_message_t *h = &entire->header;
	size_t i = KBUS_ENTIRE_MSG_END_GUARD_INDEX((size_t)h->name_len,
						   (size_t)h->data_len);

	return (uint32_t *)(uintptr_t)&entire->rest[i];
}

/* A reply: the replier's, or one that KBUS sends in its place. */
static inline int kbus_msg_is_reply(const kbus_message_t *msg)
{
	return msg->in_reply_to.network_id || msg->in_reply_to.serial_num;
}

/* A request, whoever it was delivered to. */
static inline int kbus_msg_is_request(const kbus_message_t *msg)
{
	return (msg->flags & KBUS_BIT_WANT_A_REPLY) != 0;
}

/* A request aimed at one particular replier (@to). */
static inline int kbus_msg_is_stateful_request(const kbus_message_t *msg)
{
	return kbus_msg_is_request(msg) && msg->to;
}

/* A request that this Ksock, as its replier, must answer. */
static inline int kbus_msg_wants_us_to_reply(const kbus_message_t *msg)
{
	return (msg->flags & KBUS_BIT_WANT_A_REPLY) &&
	       (msg->flags & KBUS_BIT_WANT_YOU_TO_REPLY);
}

/* Generated by KBUS itself ($.KBUS.*). */
static inline int kbus_msg_is_synthetic(const kbus_message_t *msg)
{
	return (msg->flags & KBUS_BIT_SYNTHETIC) != 0;
}

/* Compare two ids: 0 if equal, else -1 or 1 as @id1 sorts before @id2. */
static inline int kbus_msg_compare_ids(const kbus_msg_id_t *id1,
				       const kbus_msg_id_t *id2)
{
	if (id1->network_id != id2->network_id)
		return id1->network_id < id2->network_id ? -1 : 1;
	if (id1->serial_num != id2->serial_num)
		return id1->serial_num < id2->serial_num ? -1 : 1;
	return 0;
}

/* ==== Ksocks ==== */

/*
 * Open /dev/kbus<@device_number>.  @flags: O_RDONLY, O_WRONLY or O_RDWR,
 * optionally with O_CLOEXEC; other flags are ignored, as in the original.
 * Binding and sending need write access, receiving read access.  Returns
 * the Ksock or -errno.
 */
kbus_ksock_t kbus_ksock_open(uint32_t device_number, int flags);

/*
 * Open a bus by its path, as kbus_ksock_open(): a device node such as
 * /dev/kbus1, or a bus node (kbus<N>) of a mounted kbus filesystem.
 */
kbus_ksock_t kbus_ksock_open_by_name(const char *device_name, int flags);

/* Close a Ksock, dropping what the library keeps for it. */
int kbus_ksock_close(kbus_ksock_t ksock);

/*
 * Bind @name (which may end in ".*" or ".%") as a replier if @is_replier,
 * else as a listener; unbind the most recent such binding.
 */
int kbus_ksock_bind(kbus_ksock_t ksock, const char *name, uint32_t is_replier);
int kbus_ksock_unbind(kbus_ksock_t ksock, const char *name,
		      uint32_t is_replier);

/* This Ksock's id, non-zero and unique on its bus. */
int kbus_ksock_id(kbus_ksock_t ksock, uint32_t *ksock_id);

/*
 * ABI 2 only: everything KBUS_IOC_KSOCK_INFO tells (ABI version, Ksock id,
 * queued messages, requests owed and outstanding, messages dropped).
 */
int kbus_ksock_info(kbus_ksock_t ksock, struct kbus_ksock_info *info);

/*
 * Is there a next message?  Returns 1 with *@message_length set to its
 * length (what kbus_ksock_read_msg() needs), or 0 with it set to 0 if the
 * queue is empty.  Unlike the original, this takes nothing off the queue:
 * there is no "current message" in ABI 2.
 */
int kbus_ksock_next_msg(kbus_ksock_t ksock, uint32_t *message_length);

/*
 * Bytes left to read of the message being read.  A message is now read in
 * one call, so this is the length of the next message (0 if none): what
 * is left to read after kbus_ksock_next_msg().
 */
int kbus_ksock_len_left(kbus_ksock_t ksock, uint32_t *len_left);

/*
 * The id of the last message sent through this library on this Ksock
 * ({0, 0} if none).  Kept by the library (ABI 2 has no LASTSENT): only
 * messages that were sent count, and only those sent with libkbus.
 */
int kbus_ksock_last_msg_id(kbus_ksock_t ksock, kbus_msg_id_t *msg_id);

/*
 * Which Ksock is the replier for @name?  Returns 1 with *@replier_ksock_id
 * set, or 0 (and 0 in it) if there is none.  For a plain name, this is the
 * replier that a request to it would reach, through wildcards if need be;
 * for a wildcard, the replier bound to exactly that pattern.
 */
int kbus_ksock_find_replier(kbus_ksock_t ksock, const char *name,
			    uint32_t *replier_ksock_id);

/*
 * The queue limit of this Ksock.  If *@max_messages is 0 it is only read;
 * otherwise it is set (1 to KBUS_MAX_MAX_MSGS, -EINVAL outside).  Either
 * way *@max_messages is then the current limit.
 */
int kbus_ksock_max_messages(kbus_ksock_t ksock, uint32_t *max_messages);

/* Messages queued for this Ksock. */
int kbus_ksock_num_messages(kbus_ksock_t ksock, uint32_t *num_messages);

/* Requests this Ksock has received as replier and not yet answered. */
int kbus_ksock_num_unreplied_to(kbus_ksock_t ksock, uint32_t *num_messages);

/*
 * Send the message written with kbus_ksock_write_msg() and
 * kbus_ksock_write_data(), in one KBUS_IOC_SENDMSG, and store its id in
 * *@msg_id (if not NULL).  -ENOMSG if nothing was written, -EINVAL (the
 * bytes are dropped) if it is not a whole message.  On -EAGAIN (an
 * ALL_OR_WAIT message and a recipient's queue is full) the message is kept:
 * wait for KBUS_KSOCK_WRITABLE and call this again, or drop it with
 * kbus_ksock_discard(); on any other result it is gone.  A message gets its
 * id when it is sent: there is none on failure.
 */
int kbus_ksock_send(kbus_ksock_t ksock, kbus_msg_id_t *msg_id);

/* Drop the message written and not sent (if any).  Always 0. */
int kbus_ksock_discard(kbus_ksock_t ksock);

/*
 * Receive one copy only of a message that several bindings of this Ksock
 * match (@request 1), one per binding (0, the default), or leave the
 * setting alone (0xFFFFFFFF).  Returns the setting as it was before (0 or
 * 1), or -errno (-EINVAL for another @request).
 */
int kbus_ksock_only_once(kbus_ksock_t ksock, uint32_t request);

/*
 * Bus-wide: send $.KBUS.ReplierBindEvent when a replier binds or unbinds
 * (@request 1), or not (0), or leave it alone (0xFFFFFFFF).  Returns the
 * setting as it was before, or -errno: -EPERM to change it without
 * CAP_SYS_ADMIN; -EBUSY if turning it on queued an event per existing
 * replier on this Ksock and its queue filled up (it is on).  The read and
 * the change are two calls, not one atomic exchange.
 */
int kbus_ksock_report_replier_binds(kbus_ksock_t ksock, uint32_t request);

/* Gone: KBUS uses dynamic debug now.  Always -EOPNOTSUPP. */
int kbus_ksock_kernel_module_verbose(kbus_ksock_t ksock, uint32_t request);

/*
 * Bus-wide: the largest message (KBUS_ENTIRE_MSG_LEN() bytes) that may be
 * sent.  If *@max_message_size is 0 it is only read; if 1, the absolute
 * maximum is read instead; otherwise it is set (KBUS_MIN_MAX_MSG_SIZE to
 * the absolute maximum, -EINVAL outside; -EPERM without CAP_SYS_ADMIN).
 * *@max_message_size is then the value read or set.
 */
int kbus_ksock_max_message_size(kbus_ksock_t ksock,
				uint32_t *max_message_size);

/* ==== Buses of a kbus filesystem ==== */

/*
 * Add a bus to the kbus filesystem whose kbus-control node is
 * @control_path (opened read-write for the call): the lowest free number,
 * stored in *@index; its node is kbus<N> (KBUS_FS_BUS_FMT) in the same
 * directory.  -EPERM without CAP_SYS_ADMIN in the user namespace that
 * owns the filesystem, -ENOSPC if every bus number is in use, -ENOTTY if
 * @control_path is not a kbus-control node.
 */
int kbus_bus_add(const char *control_path, uint32_t *index);

/*
 * Remove bus @index of the kbus filesystem whose kbus-control node is
 * @control_path; its node goes at once.  -ENOENT if there is no such bus
 * (or no @control_path), -EBUSY if the bus is open, -EPERM as
 * kbus_bus_add().
 */
int kbus_bus_remove(const char *control_path, uint32_t index);

/* ==== Waiting ==== */

#define KBUS_KSOCK_READABLE	1
#define KBUS_KSOCK_WRITABLE	2

/*
 * Wait, without limit, until the Ksock is KBUS_KSOCK_READABLE (a message is
 * queued) and/or KBUS_KSOCK_WRITABLE (a send is worth trying), as asked in
 * @wait_for.  Returns which are, or -errno.
 */
int kbus_wait_for_message(kbus_ksock_t ksock, int wait_for);

/*
 * As kbus_wait_for_message(), for at most @timeout_ms milliseconds (-1: no
 * limit); restarts after signals.  Returns 0 on timeout.
 */
int kbus_wait(kbus_ksock_t ksock, int wait_for, int timeout_ms);

/* ==== Receiving ==== */

/*
 * Take the next message off the queue into *@msg, an entire message in
 * malloc()ed memory (free it with kbus_msg_delete()).  @msg_len is its
 * length from kbus_ksock_next_msg(); should a different message now be
 * first (an urgent one), it is read all the same.  -EBADMSG, and *@msg
 * NULL, if the queue is empty.  A request that this Ksock is to answer is
 * owed a reply from now on.
 */
int kbus_ksock_read_msg(kbus_ksock_t ksock, kbus_message_t **msg,
			size_t msg_len);

/*
 * As kbus_ksock_read_msg() without knowing the length first.  Returns 0,
 * with *@msg NULL if the queue is empty.
 */
int kbus_ksock_read_next_msg(kbus_ksock_t ksock, kbus_message_t **msg);

/*
 * Wait up to @timeout_ms (-1: no limit) for a message and read it as
 * kbus_ksock_read_next_msg().  Returns 1 with *@msg, 0 on timeout (*@msg
 * NULL), or -errno.
 */
int kbus_recv_timeout(kbus_ksock_t ksock, kbus_message_t **msg,
		      int timeout_ms);

/*
 * Wait up to @timeout_ms (-1: no limit) for the reply to request @req_id
 * sent from this Ksock: the replier's, or the one KBUS sends instead.
 * Other messages that arrive meanwhile are given to @other (if not NULL;
 * it must not keep them) and deleted.  Returns 1 with *@reply (free it with
 * kbus_msg_delete()), 0 on timeout, or -errno.
 */
int kbus_wait_reply(kbus_ksock_t ksock, const kbus_msg_id_t *req_id,
		    kbus_message_t **reply, int timeout_ms,
		    void (*other)(const kbus_message_t *msg, void *arg),
		    void *arg);

/* ==== Sending ==== */

/*
 * Add @msg to the message being written on this Ksock, without sending it:
 * its header alone if it is pointy (its name and data are read when it is
 * sent, so they must stay valid until then), all of it if it is entire.
 * -EMSGSIZE, and what was written is dropped, if this goes past the end of
 * the message.
 */
int kbus_ksock_write_msg(kbus_ksock_t ksock, const kbus_message_t *msg);

/* Add @data_len bytes to the message being written, as write_msg(). */
int kbus_ksock_write_data(kbus_ksock_t ksock, const void *data,
			  size_t data_len);

/*
 * Send @msg, pointy or entire, in one KBUS_IOC_SENDMSG, and store its id in
 * *@msg_id (if not NULL).  What kbus_ksock_write_msg() kept is left alone.
 * Typical errors (see kbus_strerror()): -EADDRNOTAVAIL (a request with no
 * replier, or a reply whose requester has gone), -EPIPE (a stateful request
 * and the replier has changed), -EBADMSG (bad name), -EBUSY (a queue is
 * full), -ECONNREFUSED (a reply to a request not outstanding), -EAGAIN (an
 * ALL_OR_WAIT message and a queue is full: try again when writable).
 */
int kbus_ksock_send_msg(kbus_ksock_t ksock, const kbus_message_t *msg,
			kbus_msg_id_t *msg_id);

/*
 * Send @msg as kbus_ksock_send_msg() does, then wait for the next message
 * and receive it into *@reply (free it with kbus_msg_delete()), in one
 * KBUS_IOC_SENDRECV: a request and the wait for its reply, or a reply and
 * the wait for the next request.  The message received is the next one
 * queued, which is a request's reply only if nothing came before it.  If
 * the send fails, nothing is received and *@msg_id (if not NULL) is
 * {0, 0}; once it has succeeded, *@msg_id is its id, and an error is the
 * receive's (-EINTR: a signal came while waiting; the message was sent,
 * and is not sent again).  Returns 0 or -errno.
 */
int kbus_ksock_send_recv(kbus_ksock_t ksock, const kbus_message_t *msg,
			 kbus_msg_id_t *msg_id, kbus_message_t **reply);

/*
 * One-call sends from a header built on the stack (pointy: nothing is
 * allocated).  @data may be NULL if @data_len is 0.
 */
int kbus_announce(kbus_ksock_t ksock, const char *name, const void *data,
		  uint32_t data_len, kbus_msg_id_t *msg_id);
int kbus_request(kbus_ksock_t ksock, const char *name, const void *data,
		 uint32_t data_len, kbus_msg_id_t *msg_id);
/* A request that fails (-EPIPE) unless Ksock @replier is still the replier. */
int kbus_stateful_request(kbus_ksock_t ksock, const char *name,
			  uint32_t replier, const void *data,
			  uint32_t data_len, kbus_msg_id_t *msg_id);
/* Reply to @req, a request this Ksock received to answer (else -EBADMSG). */
int kbus_reply(kbus_ksock_t ksock, const kbus_message_t *req,
	       const void *data, uint32_t data_len, kbus_msg_id_t *msg_id);

/* ==== Messages ==== */

/*
 * Create a pointy message in malloc()ed memory: @name and @data are not
 * copied and must stay valid until it has been sent.  @data may be NULL if
 * @data_len is 0.  @flags are KBUS_BIT_* flags.  Delete it with
 * kbus_msg_delete().
 */
int kbus_msg_create(kbus_message_t **msg, const char *name, uint32_t name_len,
		    const void *data, uint32_t data_len, uint32_t flags);

/* As kbus_msg_create(), but an entire message: @name and @data are copied. */
int kbus_msg_create_entire(kbus_message_t **msg, const char *name,
			   uint32_t name_len, const void *data,
			   uint32_t data_len, uint32_t flags);

/* A request: @flags with KBUS_BIT_WANT_A_REPLY added. */
int kbus_msg_create_request(kbus_message_t **msg, const char *name,
			    uint32_t name_len, const void *data,
			    uint32_t data_len, uint32_t flags);
int kbus_msg_create_entire_request(kbus_message_t **msg, const char *name,
				   uint32_t name_len, const void *data,
				   uint32_t data_len, uint32_t flags);

/*
 * The reply to @in_reply_to, a request that this Ksock is to answer
 * (kbus_msg_wants_us_to_reply(), else -EBADMSG): its name, @to its sender,
 * @in_reply_to its id.  The pointy form points at @in_reply_to's name,
 * which must stay valid until the reply has been sent.
 */
int kbus_msg_create_reply_to(kbus_message_t **msg,
			     const kbus_message_t *in_reply_to,
			     const void *data, uint32_t data_len,
			     uint32_t flags);
int kbus_msg_create_entire_reply_to(kbus_message_t **msg,
				    const kbus_message_t *in_reply_to,
				    const void *data, uint32_t data_len,
				    uint32_t flags);

/*
 * A stateful request to the replier that sent @earlier_msg (a reply: @to
 * and @final_to from its @from and @orig_from) or that an earlier stateful
 * request went to (@to and @final_to copied); -EBADMSG if @earlier_msg is
 * neither.  KBUS_BIT_WANT_A_REPLY is added to @flags.
 */
int kbus_msg_create_stateful_request(kbus_message_t **msg,
				     const kbus_message_t *earlier_msg,
				     const char *name, uint32_t name_len,
				     const void *data, uint32_t data_len,
				     uint32_t flags);
int kbus_msg_create_entire_stateful_request(kbus_message_t **msg,
					    const kbus_message_t *earlier_msg,
					    const char *name, uint32_t name_len,
					    const void *data, uint32_t data_len,
					    uint32_t flags);

/* Free a message (not what a pointy one points to); *@msg_p becomes NULL. */
void kbus_msg_delete(kbus_message_t **msg_p);

/* Bytes of @msg to send: the header if pointy, the whole if entire. */
int kbus_msg_sizeof(const kbus_message_t *msg);

/*
 * The data of a $.KBUS.ReplierBindEvent: whether it was a bind, the
 * replier's Ksock id, and a malloc()ed copy of the name (free() it).
 * -EBADMSG if @msg is not one or is malformed.
 */
int kbus_msg_split_bind_event(const kbus_message_t *msg, uint32_t *is_bind,
			      uint32_t *binder, char **name);

/* Is this message named @name? */
bool kbus_msg_name_is(const kbus_message_t *msg, const char *name);

/*
 * Print @msg on @stream as the original did, without a newline:
 *
 *   <Request '$.Time' id=[0:6] from=3 flags=00000003 REQ YOU data=now>
 */
void kbus_msg_print(FILE *stream, const kbus_message_t *msg);

/* Print every field of @msg on stdout, and its data if @dump_data. */
void kbus_msg_dump(const kbus_message_t *msg, int dump_data);

/* ==== Limpets: joining two buses ==== */

/*
 * A Limpet joins its bus to another bus, on this machine or another,
 * through a connected stream socket (TCP or Unix) to a Limpet on that bus
 * (Documentation/ipc/kbus.rst, "Bridging buses").  Limpets form a tree;
 * each has a network id, non-zero and unique in the tree.  Messages under
 * the pattern go both ways; repliers on one side become repliers by proxy
 * on the other; every request in flight across a link that fails is
 * answered with $.KBUS.Replier.GoneAway.
 */
struct kbus_limpet;

struct kbus_limpet_config {
	uint32_t network_id;	/* this Limpet's network id, non-zero */
	const char *pattern;	/* the names joined; NULL: "$.*" (all) */
	FILE *log;		/* where to say what it does, or NULL */
	int helo_timeout_ms;	/* wait for the peer's HELO; 0: 10 s */
};

struct kbus_limpet_stats {
	uint64_t from_bus;	/* messages read from this bus */
	uint64_t to_peer;	/* ... of which passed to the peer */
	uint64_t from_peer;	/* messages read from the peer */
	uint64_t to_bus;	/* messages sent on this bus */
	uint64_t statuses;	/* requests answered with a status */
	uint64_t in_flight;	/* requests from here the peer has to answer */
	uint64_t proxies;	/* names bound as the replier by proxy */
};

/*
 * Start a Limpet on @ksock (opened read-write; CAP_SYS_ADMIN over the bus
 * is needed to turn replier bind reports on) and @sock, connected to the
 * peer: exchange network ids (-EPROTO if the peer's is 0, equal to ours or
 * not sent as a Limpet sends it; -ETIMEDOUT), then bind.  On success the
 * Limpet owns @sock (kbus_limpet_free() closes it), not @ksock.
 */
int kbus_limpet_new(struct kbus_limpet **lp, kbus_ksock_t ksock, int sock,
		    const struct kbus_limpet_config *cfg);

/*
 * Handle what is waiting on either side, waiting up to @timeout_ms for
 * something if nothing is.  Returns 0, or -errno once the link is unusable
 * (-ECONNRESET: the peer closed it; -EPROTO: it sent something else than
 * messages).
 */
int kbus_limpet_step(struct kbus_limpet *lp, int timeout_ms);

/* The network id of the peer. */
uint32_t kbus_limpet_peer_id(const struct kbus_limpet *lp);

void kbus_limpet_get_stats(const struct kbus_limpet *lp,
			   struct kbus_limpet_stats *stats);

/*
 * Stop: answer every request in flight across the link with
 * $.KBUS.Replier.GoneAway, drop the proxies and bindings, close the
 * socket.  The Ksock stays open and can serve the next link.
 */
void kbus_limpet_free(struct kbus_limpet *lp);

/* "EBUSY" for EBUSY or -EBUSY: the <ERRNO> of $.KBUS.RemoteError.<ERRNO>. */
const char *kbus_limpet_errno_name(int err);

/* ==== Text ==== */

/*
 * Format @msg on one line, snprintf() style, e.g.
 *
 *   0:7 reply from 4 to 3 re 0:6 $.Time "12:00"
 *
 * the id, the kind (announce, request, reply), sender and recipient, the
 * request answered, flags other than the kind in brackets, the name, and
 * the data as escaped text (at most @max_data bytes, 0 for all).
 */
int kbus_msg_format(const kbus_message_t *msg, char *buf, size_t size,
		    size_t max_data);

/*
 * What a negative errno from a KBUS operation means, in KBUS terms (for
 * example -EADDRNOTAVAIL: "no replier is bound to that name").  Falls
 * back to strerror().
 */
const char *kbus_strerror(int err);

/* What a $.KBUS.* message name means, or NULL if not one KBUS sends. */
const char *kbus_synthetic_meaning(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* _LIBKBUS_H */
