/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * KBUS - userspace API of the KBUS message bus
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _UAPI_LINUX_KBUS_H
#define _UAPI_LINUX_KBUS_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: KBUS userspace ABI
 *
 * Each bus is a character device, ``/dev/kbus<N>``.  Every open file of a
 * bus is a *Ksock*.  A Ksock binds to message names as a listener or as the
 * one replier for a name, composes a message with write(), sends it with
 * %KBUS_IOC_SEND, selects the next queued message with %KBUS_IOC_NEXTMSG
 * and reads it with read().
 *
 * The message layout, the field names and the ioctl set are those of the
 * original KBUS, so that existing KBUS applications port by recompiling
 * against this header.  Unlike the original, user addresses are carried in
 * naturally aligned 64-bit fields, so the layout is the same for 32-bit and
 * 64-bit processes (and byte-identical to the original's on x86-64), and
 * every ioctl number encodes the real size of its argument, except those
 * whose argument starts with its own size (struct kbus_send, struct
 * kbus_recv): their numbers are _IO() ones, and the struct can grow.
 *
 * ABI version: %KBUS_ABI_VERSION, reported by %KBUS_IOC_VERSION.
 */

/**
 * DOC: KBUS errno values
 *
 * The errors that the KBUS entry points return, in general.  Each ioctl's
 * own description says which of them it can give and when.
 *
 * - %EADDRINUSE: a replier is already bound to exactly this name.
 * - %EADDRNOTAVAIL: a request found no replier, or a reply's requester has
 *   gone away.
 * - %EAGAIN: nothing to do without blocking: a listener of a replier bind
 *   event has no room (BIND/UNBIND), or an %KBUS_BIT_ALL_OR_WAIT send on an
 *   O_NONBLOCK file must wait for room.
 * - %E2BIG: a size-first argument struct is larger than the kernel knows,
 *   and the bytes past the part it knows are not all zero, or it is larger
 *   than a page.
 * - %EALREADY: write() while a previous message is still being sent.
 * - %EBADF: the file is not open for writing (%KBUS_IOC_SENDMSG) or for
 *   reading (%KBUS_IOC_RECVMSG).
 * - %EBADMSG: a message name is not valid (or is a wildcard where one is
 *   not allowed).
 * - %EBUSY: a recipient's queue is full (%KBUS_BIT_ALL_OR_FAIL, requests).
 * - %ECANCELED: a waiting send was cancelled with %KBUS_IOC_CANCEL.
 * - %ECONNREFUSED: a reply answers no request that is outstanding from this
 *   Ksock to the requester (wrong id, second reply, unsolicited reply).
 * - %EFAULT: a user address is not valid.
 * - %EINVAL: a field, flag, reserved field or guard is not valid; UNBIND of
 *   a binding that does not exist; no bus number left for NEWDEVICE.
 * - %EMSGSIZE: the message is larger than the bus's maximum message size,
 *   or a byte was written after a complete message.
 * - %ENAMETOOLONG: a name is longer than %KBUS_MAX_NAME_LEN.
 * - %ENOLCK: a request cannot be sent because the sender's own queue has no
 *   room left for its reply.
 * - %ENOBUFS: the message would take the bus past its byte budget.
 * - %ENOMEM: out of memory.
 * - %ENOMSG: SEND without a message written.
 * - %ENOTTY: unknown ioctl.
 * - %EPERM: the caller may not change a bus-wide setting (needs
 *   %CAP_SYS_ADMIN), or sent a ``$.KBUS`` name, which only KBUS sends.
 * - %EPIPE: a stateful request names a replier that is no longer the one
 *   bound.
 * - %ENODEV: the bus has gone away.
 */

/**
 * struct kbus_msg_id - Identity of a message.
 * @network_id: 0 for a message that originated on this bus; otherwise the
 *              id of the network it came from (set by bridging processes).
 * @serial_num: serial number, unique on the originating bus.
 *
 * ``{0, 0}`` means "no message".
 */
struct kbus_msg_id {
	__u32 network_id;
	__u32 serial_num;
};

/**
 * struct kbus_orig_from - Original sender or final recipient across buses.
 * @network_id: network the Ksock is on (0 for this bus).
 * @local_id: Ksock id on that network.
 *
 * KBUS itself never interprets these; bridging processes use them.
 */
struct kbus_orig_from {
	__u32 network_id;
	__u32 local_id;
};

/* Guards around a message header ("Kbus" and "subK" as little-endian). */
#define KBUS_MSG_START_GUARD	0x7375624B
#define KBUS_MSG_END_GUARD	0x4B627573

/**
 * struct kbus_message_header - A KBUS message, as written and read.
 * @start_guard: %KBUS_MSG_START_GUARD.
 * @id: message id.  Set by KBUS on send when ``id.network_id`` is 0.
 * @in_reply_to: for a reply, the id of the request; ``{0, 0}`` otherwise.
 * @to: for a reply, the Ksock id of the requester; for a stateful request,
 *      the Ksock id of the replier that must still be bound; else 0.
 * @from: Ksock id of the sender; always set by KBUS on send (0 for
 *        messages that KBUS generates itself).
 * @orig_from: passed through untouched (for bridging processes).
 * @final_to: passed through untouched (for bridging processes).
 * @extra: must be 0 on write; 0 on read.
 * @flags: %KBUS_BIT_* flags.  The low 16 bits belong to KBUS; unknown bits
 *         there are rejected.  The high 16 bits (%KBUS_USER_FLAGS_MASK) are
 *         the application's and pass through untouched.
 * @name_len: length of the message name, excluding any terminating NUL.
 * @data_len: length of the message data in bytes (0 for none).
 * @__reserved0: must be 0 on write; 0 on read.
 * @name: user address of the name for a "pointy" message, 0 for an "entire"
 *        message (whose name follows the header).
 * @data: user address of the data for a "pointy" message (0 if and only if
 *        @data_len is 0), 0 for an "entire" message.
 * @end_guard: %KBUS_MSG_END_GUARD.
 * @__reserved1: must be 0 on write; 0 on read.
 *
 * A "pointy" message is this header alone, with @name (and @data) pointing
 * into the writer's memory.  KBUS copies name and data when the message is
 * sent, so they must stay valid until %KBUS_IOC_SEND returns.
 *
 * An "entire" message is this header with @name and @data 0, followed by
 * the name, a NUL and zero padding to a multiple of 4 bytes, the data and
 * zero padding to a multiple of 4 bytes, and a final %KBUS_MSG_END_GUARD
 * (see struct kbus_entire_message).  read() always returns entire messages.
 */
struct kbus_message_header {
	__u32 start_guard;
	struct kbus_msg_id id;
	struct kbus_msg_id in_reply_to;
	__u32 to;
	__u32 from;
	struct kbus_orig_from orig_from;
	struct kbus_orig_from final_to;
	__u32 extra;
	__u32 flags;
	__u32 name_len;
	__u32 data_len;
	__u32 __reserved0;
	__aligned_u64 name;
	__aligned_u64 data;
	__u32 end_guard;
	__u32 __reserved1;
};

/**
 * struct kbus_entire_message - A message with its name and data inline.
 * @header: the header, with @header.name and @header.data 0.
 * @rest: the name, NUL and padding, then the data and padding, then
 *        %KBUS_MSG_END_GUARD.
 */
struct kbus_entire_message {
	struct kbus_message_header header;
	__u32 rest[];
};

/* Bytes a name of @n bytes takes in an entire message (NUL, pad to 4). */
#define KBUS_PADDED_NAME_LEN(n)		(4 * (((n) + 1 + 3) / 4))
/* Bytes data of @d bytes takes in an entire message (pad to 4). */
#define KBUS_PADDED_DATA_LEN(d)		(4 * (((d) + 3) / 4))
/* Total length of an entire message with an @n byte name and @d bytes. */
#define KBUS_ENTIRE_MSG_LEN(n, d)					\
	(sizeof(struct kbus_entire_message) + KBUS_PADDED_NAME_LEN(n) +	\
	 KBUS_PADDED_DATA_LEN(d) + 4)
/* Index in @rest of the first data word of an entire message. */
#define KBUS_ENTIRE_MSG_DATA_INDEX(n)	(((n) + 1 + 3) / 4)
/* Index in @rest of the final end guard of an entire message. */
#define KBUS_ENTIRE_MSG_END_GUARD_INDEX(n, d)				\
	(KBUS_ENTIRE_MSG_DATA_INDEX(n) + ((d) + 3) / 4)

/* Longest message name, excluding the terminating NUL. */
#define KBUS_MAX_NAME_LEN	1000

/*
 * Message flags.  The low 16 bits are KBUS's, the high 16 bits are the
 * application's and are never touched.
 */
/* The message is a request: exactly one reply or error will come back. */
#define KBUS_BIT_WANT_A_REPLY		(1U << 0)
/* Set by KBUS on the replier's copy of a request only. */
#define KBUS_BIT_WANT_YOU_TO_REPLY	(1U << 1)
/* Set by KBUS on the messages it generates itself. */
#define KBUS_BIT_SYNTHETIC		(1U << 2)
/* Queue the message at the head of each recipient's queue. */
#define KBUS_BIT_URGENT			(1U << 3)
/* If any recipient's queue is full, wait (EAGAIN, then poll) for room. */
#define KBUS_BIT_ALL_OR_WAIT		(1U << 8)
/* If any recipient's queue is full, fail with EBUSY: nobody gets it. */
#define KBUS_BIT_ALL_OR_FAIL		(1U << 9)

/* The bits of @flags that KBUS defines. */
#define KBUS_FLAGS_MASK							\
	(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY |		\
	 KBUS_BIT_SYNTHETIC | KBUS_BIT_URGENT | KBUS_BIT_ALL_OR_WAIT |	\
	 KBUS_BIT_ALL_OR_FAIL)
/* The application's half of @flags, passed through untouched. */
#define KBUS_USER_FLAGS_MASK	0xFFFF0000U

/**
 * struct kbus_bind_request - Argument of %KBUS_IOC_BIND and %KBUS_IOC_UNBIND.
 * @is_replier: 1 to bind as the replier for @name, 0 as a listener.
 * @name_len: length of the name (no NUL needed).
 * @name: user address of the name.
 */
struct kbus_bind_request {
	__u32 is_replier;
	__u32 name_len;
	__aligned_u64 name;
};

/**
 * struct kbus_bind_query - Argument of %KBUS_IOC_REPLIER.
 * @return_id: out: Ksock id of the replier bound to @name, or 0.
 * @name_len: length of the name (no NUL needed).
 * @name: user address of the name.
 */
struct kbus_bind_query {
	__u32 return_id;
	__u32 name_len;
	__aligned_u64 name;
};

/**
 * struct kbus_replier_bind_event_data - Data of ``$.KBUS.ReplierBindEvent``.
 * @is_bind: 1 if a replier bound, 0 if it unbound.
 * @binder: Ksock id of the replier.
 * @name_len: length of the name it (un)bound.
 * @rest: the name, NUL-terminated and zero-padded to a multiple of 4.
 */
struct kbus_replier_bind_event_data {
	__u32 is_bind;
	__u32 binder;
	__u32 name_len;
	__u32 rest[];
};

/**
 * struct kbus_version - Argument of %KBUS_IOC_VERSION.
 * @abi_version: out: %KBUS_ABI_VERSION of the running kernel.
 * @features: out: %KBUS_FEATURE_* bits the running kernel supports.
 */
struct kbus_version {
	__u32 abi_version;
	__u32 features;
};

/* The ABI described by this header. */
#define KBUS_ABI_VERSION	1

/* Since ABI 1: the original KBUS message model and ioctl set. */
#define KBUS_FEATURE_BASE	(1U << 0)
/* Since ABI 1: %KBUS_IOC_DROPPED counts announcements missed. */
#define KBUS_FEATURE_DROPPED	(1U << 1)
/* Since ABI 1: %KBUS_BIT_ALL_OR_WAIT sends block unless O_NONBLOCK. */
#define KBUS_FEATURE_BLOCKING_SEND	(1U << 2)
/* Since ABI 1: each bus has a byte budget; sends past it get %ENOBUFS. */
#define KBUS_FEATURE_BYTE_BUDGET	(1U << 3)

/**
 * struct kbus_send - Argument of %KBUS_IOC_SENDMSG.
 * @size: sizeof(struct kbus_send), for extensibility.
 * @flags: %KBUS_SEND_* flags.
 * @msg_ptr: user address of the message: a header whose @name (and @data)
 *           point at the name and data ("pointy"), or an entire message.
 * @msg_len: bytes at @msg_ptr: sizeof(struct kbus_message_header) for a
 *           pointy message, KBUS_ENTIRE_MSG_LEN(name_len, data_len) for an
 *           entire one.
 * @__reserved: must be 0.
 * @id: out: the id the message was sent with.
 *
 * KBUS copies the message in during the call; no user address is kept.
 */
struct kbus_send {
	__u32 size;
	__u32 flags;
	__aligned_u64 msg_ptr;
	__u32 msg_len;
	__u32 __reserved;
	struct kbus_msg_id id;
};

/* Return %EAGAIN rather than wait, as if the file were O_NONBLOCK. */
#define KBUS_SEND_NONBLOCK	(1U << 0)

/**
 * struct kbus_recv - Argument of %KBUS_IOC_RECVMSG.
 * @size: sizeof(struct kbus_recv), for extensibility.
 * @flags: %KBUS_RECV_* flags.
 * @buf_ptr: user address of the buffer for the entire message.
 * @buf_len: size of that buffer.
 * @msg_len: out: length of the entire message, also when it did not fit.
 * @pid: out, with %KBUS_RECV_CREDS: the sending process's id in the
 *       receiver's pid namespace; 0 if it is not visible there or the
 *       message comes from KBUS itself.
 * @uid: out, with %KBUS_RECV_CREDS: the sender's effective user id in the
 *       receiver's user namespace (the overflow id if unmapped); root of
 *       the initial namespace for messages KBUS generates.
 * @gid: out, with %KBUS_RECV_CREDS: the sender's effective group id, as
 *       @uid.
 * @__reserved: must be 0.
 */
struct kbus_recv {
	__u32 size;
	__u32 flags;
	__aligned_u64 buf_ptr;
	__u32 buf_len;
	__u32 msg_len;
	__s32 pid;
	__u32 uid;
	__u32 gid;
	__u32 __reserved;
};

/* Return %EAGAIN rather than wait, as if the file were O_NONBLOCK. */
#define KBUS_RECV_NONBLOCK	(1U << 0)
/* Fill @pid, @uid and @gid with the sender's credentials. */
#define KBUS_RECV_CREDS		(1U << 1)

/* Names of the messages KBUS generates itself. */
#define KBUS_MSG_NAME_REPLIER_GONEAWAY		"$.KBUS.Replier.GoneAway"
#define KBUS_MSG_NAME_REPLIER_IGNORED		"$.KBUS.Replier.Ignored"
#define KBUS_MSG_NAME_REPLIER_UNBOUND		"$.KBUS.Replier.Unbound"
#define KBUS_MSG_NAME_REPLIER_DISAPPEARED	"$.KBUS.Replier.Disappeared"
#define KBUS_MSG_NAME_ERROR_SENDING		"$.KBUS.ErrorSending"
#define KBUS_MSG_NAME_UNBIND_EVENTS_LOST	"$.KBUS.UnbindEventsLost"
#define KBUS_MSG_NAME_REPLIER_BIND_EVENT	"$.KBUS.ReplierBindEvent"

/* Value for the get/set ioctls below that asks without changing. */
#define KBUS_QUERY	0xFFFFFFFFU

#define KBUS_IOC_MAGIC	0xB9

/**
 * DOC: KBUS ioctls
 *
 * All ioctls take a pointer argument (or none).  Get/set ioctls on a
 * ``__u32`` read the new value from the argument and write back the
 * previous (or current) one.
 *
 * %KBUS_IOC_RESET: reserved, does nothing.  Returns 0.
 *
 * %KBUS_IOC_BIND: bind to a name.  Returns 0, or %EBADMSG (empty or invalid
 * name, or ``$.KBUS.ReplierBindEvent`` as replier), %ENAMETOOLONG,
 * %EADDRINUSE (a replier is bound to that name), %EINVAL (@is_replier not 0
 * or 1), %EAGAIN (a bind event listener has no room), %EFAULT, %ENOMEM.
 *
 * %KBUS_IOC_UNBIND: remove the most recent matching binding of this Ksock;
 * unread messages queued through it are dropped (requests among them get
 * ``$.KBUS.Replier.Unbound``).  Returns 0, or %EBADMSG, %ENAMETOOLONG,
 * %EINVAL (no such binding, or @is_replier not 0 or 1), %EAGAIN, %EFAULT.
 *
 * %KBUS_IOC_KSOCKID: write this Ksock's id.  Returns 0.
 *
 * %KBUS_IOC_REPLIER: find the replier bound to exactly @name.  Returns 1
 * and sets @return_id if there is one, 0 and @return_id 0 if not, or
 * %EBADMSG, %ENAMETOOLONG, %EFAULT.
 *
 * %KBUS_IOC_NEXTMSG: drop the current message and pop the next one, writing
 * its entire length (0 if the queue is empty).  Returns 1 if a message was
 * popped, 0 if not.
 *
 * %KBUS_IOC_LENLEFT: write how many bytes of the current message are left
 * to read.  Returns 0.
 *
 * %KBUS_IOC_SEND: send the message written, writing its id.  Returns 0, or
 * %ENOMSG, %EINVAL, %EBADMSG, %EFAULT, %ENOMEM, %ENOBUFS, %ENOLCK,
 * %EADDRNOTAVAIL, %ECONNREFUSED, %EPIPE, %EBUSY, %EAGAIN, %EINTR.  With
 * %KBUS_BIT_ALL_OR_WAIT, a send that finds a recipient full waits for
 * room; on an O_NONBLOCK file it returns %EAGAIN instead and the Ksock
 * stays "sending": write() fails with %EALREADY, SEND tries again, poll()
 * finishes the send when there is room (a request that then fails gets
 * ``$.KBUS.Replier.Disappeared`` or ``$.KBUS.ErrorSending``), and DISCARD
 * gives up.
 *
 * %KBUS_IOC_DISCARD: drop a partly written or still-sending message.
 * Returns 0.
 *
 * %KBUS_IOC_LASTSENT: write the id of the last message sent.  Returns 0.
 *
 * %KBUS_IOC_MAXMSGS: set this Ksock's queue limit (0: leave it), write the
 * limit in force.  Returns 0, or %EINVAL (above the maximum).
 *
 * %KBUS_IOC_NUMMSGS: write the number of queued messages.  Returns 0.
 *
 * %KBUS_IOC_UNREPLIEDTO: write the number of requests read by this Ksock and
 * not yet replied to.  Returns 0.
 *
 * %KBUS_IOC_MSGONLYONCE: 0 or 1 turns only-once delivery off or on,
 * %KBUS_QUERY asks; writes the previous value.  Returns 0 or %EINVAL.
 *
 * %KBUS_IOC_VERBOSE: per-bus debug messages, as %KBUS_IOC_MSGONLYONCE.
 * Changing it needs %CAP_SYS_ADMIN (%EPERM).  The messages are dynamic
 * debug ones: they are printed while both this setting and their dynamic
 * debug switch (``module kbus``) are on.
 *
 * %KBUS_IOC_NEWDEVICE: create a new bus and write its number.  Returns 0,
 * or %EPERM (needs %CAP_SYS_ADMIN), %EINVAL (no bus number left), %ENOMEM.
 *
 * %KBUS_IOC_REPORTREPLIERBINDS: per-bus replier bind events, as
 * %KBUS_IOC_MSGONLYONCE.  Changing it needs %CAP_SYS_ADMIN (%EPERM).
 * Setting 1 also queues on the caller's own queue one bind event for each
 * replier already bound; %EBUSY if the queue fills up (the setting stays).
 *
 * %KBUS_IOC_MAXMSGSIZE: 0 asks for the bus's maximum message size, 1 for
 * the absolute maximum, any other value sets it.  Writes the value in
 * force.  Returns 0, or %EINVAL (below 100 or above the absolute maximum),
 * %EPERM (setting needs %CAP_SYS_ADMIN).
 *
 * %KBUS_IOC_VERSION: write struct kbus_version.  Returns 0.
 *
 * %KBUS_IOC_DROPPED: write (``__u64``) how many announcements this Ksock
 * has missed because its queue was full.  Returns 0.
 *
 * %KBUS_IOC_SENDMSG: send one message in one call (struct kbus_send),
 * writing the id it was sent with.  The message is copied in during the
 * call.  An %KBUS_BIT_ALL_OR_WAIT send that finds a recipient full waits
 * until every recipient has room, and is given its id when it is
 * delivered; with O_NONBLOCK or %KBUS_SEND_NONBLOCK it returns %EAGAIN
 * instead and keeps nothing: poll() reports %EPOLLOUT once it is worth
 * trying again.  Returns 0, or %EINVAL (a bad field, flag or reserved
 * field; @msg_len not the message's length; a guard), %E2BIG (@size larger
 * than known, with non-zero bytes past the known part), %EBADMSG,
 * %ENAMETOOLONG, %EMSGSIZE, %EPERM (a ``$.KBUS.`` name: only KBUS sends
 * those), %EBADF (the file is not open for writing), %EFAULT, %ENOMEM,
 * %ENOBUFS, %ENOLCK, %EADDRNOTAVAIL, %ECONNREFUSED, %EPIPE, %EBUSY,
 * %EAGAIN, %ECANCELED (%KBUS_IOC_CANCEL while it waited), %EINTR.
 *
 * %KBUS_IOC_RECVMSG: receive the next message as an entire message
 * (struct kbus_recv), waiting for one unless O_NONBLOCK or
 * %KBUS_RECV_NONBLOCK.  @msg_len is set to the message's length; if
 * @buf_len is smaller the message stays queued and the call fails with
 * %EMSGSIZE, so a call with @buf_len 0 learns the size of the next
 * message.  A request received through it counts as read (see
 * %KBUS_IOC_UNREPLIEDTO).  Without %KBUS_RECV_CREDS, @pid, @uid and @gid
 * are left as they were.  Returns 0, or %EINVAL, %E2BIG, %EBADF,
 * %EMSGSIZE, %EAGAIN (nothing queued), %EFAULT (the buffer is not
 * writable: the message stays queued; only if the buffer is unmapped
 * during the call is the message lost), %ENOMEM, %EINTR.
 *
 * %KBUS_IOC_CANCEL: make every %KBUS_IOC_SENDMSG of this Ksock that is
 * waiting for room return %ECANCELED.  Returns 0.
 */
#define KBUS_IOC_RESET		_IO(KBUS_IOC_MAGIC, 1)
#define KBUS_IOC_BIND		_IOW(KBUS_IOC_MAGIC, 2, struct kbus_bind_request)
#define KBUS_IOC_UNBIND		_IOW(KBUS_IOC_MAGIC, 3, struct kbus_bind_request)
#define KBUS_IOC_KSOCKID	_IOR(KBUS_IOC_MAGIC, 4, __u32)
#define KBUS_IOC_REPLIER	_IOWR(KBUS_IOC_MAGIC, 5, struct kbus_bind_query)
#define KBUS_IOC_NEXTMSG	_IOR(KBUS_IOC_MAGIC, 6, __u32)
#define KBUS_IOC_LENLEFT	_IOR(KBUS_IOC_MAGIC, 7, __u32)
#define KBUS_IOC_SEND		_IOR(KBUS_IOC_MAGIC, 8, struct kbus_msg_id)
#define KBUS_IOC_DISCARD	_IO(KBUS_IOC_MAGIC, 9)
#define KBUS_IOC_LASTSENT	_IOR(KBUS_IOC_MAGIC, 10, struct kbus_msg_id)
#define KBUS_IOC_MAXMSGS	_IOWR(KBUS_IOC_MAGIC, 11, __u32)
#define KBUS_IOC_NUMMSGS	_IOR(KBUS_IOC_MAGIC, 12, __u32)
#define KBUS_IOC_UNREPLIEDTO	_IOR(KBUS_IOC_MAGIC, 13, __u32)
#define KBUS_IOC_MSGONLYONCE	_IOWR(KBUS_IOC_MAGIC, 14, __u32)
#define KBUS_IOC_VERBOSE	_IOWR(KBUS_IOC_MAGIC, 15, __u32)
#define KBUS_IOC_NEWDEVICE	_IOR(KBUS_IOC_MAGIC, 16, __u32)
#define KBUS_IOC_REPORTREPLIERBINDS _IOWR(KBUS_IOC_MAGIC, 17, __u32)
#define KBUS_IOC_MAXMSGSIZE	_IOWR(KBUS_IOC_MAGIC, 18, __u32)
#define KBUS_IOC_VERSION	_IOR(KBUS_IOC_MAGIC, 19, struct kbus_version)
#define KBUS_IOC_DROPPED	_IOR(KBUS_IOC_MAGIC, 20, __u64)
#define KBUS_IOC_SENDMSG	_IO(KBUS_IOC_MAGIC, 21)
#define KBUS_IOC_RECVMSG	_IO(KBUS_IOC_MAGIC, 22)
#define KBUS_IOC_CANCEL		_IO(KBUS_IOC_MAGIC, 23)

#endif /* _UAPI_LINUX_KBUS_H */
