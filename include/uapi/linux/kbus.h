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
 * Each bus is a character device, ``/dev/kbus<N>``, or a node ``kbus<N>``
 * of a kbus filesystem (each mount of which is an independent set of
 * buses, created and removed through its ``kbus-control`` node).  Every
 * open file of a bus is a *Ksock*.  A Ksock binds to message names as a
 * listener or as the one replier for a name (%KBUS_IOC_BIND), sends a message with one
 * %KBUS_IOC_SENDMSG and receives one with one %KBUS_IOC_RECVMSG (or does
 * both in one %KBUS_IOC_SENDRECV), and waits with poll() or epoll.
 *
 * The message model is the original KBUS's: the same header fields in the
 * same order, the same "entire" message layout that receivers read, the
 * same flags and the same guarantees.  The interface is new (ABI version
 * %KBUS_ABI_VERSION): one call per message, no user address kept after a
 * call, and every argument a struct that starts with its own size.
 *
 * Argument structs are read with the kernel's copy_struct_from_user()
 * rules: @size is sizeof() of the struct the caller was built with; a
 * smaller @size than the first version gives %EINVAL, a larger one is
 * accepted if the bytes the kernel does not know are zero (%E2BIG if not,
 * or if @size is larger than a page).  New fields will give the old
 * behaviour when zero.  Unknown flags, and reserved fields that are not
 * zero, give %EINVAL; so do "out" fields that are not zero on input.
 * Because the size is in the struct, not in the ioctl number, the ioctl
 * numbers are _IO() ones, as iommufd's are: a struct that grows keeps its
 * number, and the kernel never reads or writes past @size bytes.
 */

/**
 * DOC: KBUS errno values
 *
 * The errors that the KBUS entry points return, in general.  Each ioctl's
 * own description says which of them it can give and when.
 *
 * - %E2BIG: an argument struct is larger than the kernel knows and the
 *   bytes past the part it knows are not all zero, or it is larger than a
 *   page.
 * - %EADDRINUSE: a replier is already bound to exactly this name.
 * - %EADDRNOTAVAIL: a request found no replier, or a reply's requester has
 *   gone away.
 * - %EAGAIN: the call would wait (O_NONBLOCK or a NONBLOCK flag): nothing
 *   to receive, or a %KBUS_BIT_ALL_OR_WAIT send must wait for room.
 * - %EBADF: the file is not open for writing (BIND, UNBIND, SENDMSG) or
 *   for reading (BIND, RECVMSG, SENDMSG of a request, whose reply must be
 *   received).
 * - %EBADMSG: a message name is not valid (or is a wildcard where one is
 *   not allowed).
 * - %EBUSY: a recipient has no room within its limits
 *   (%KBUS_BIT_ALL_OR_FAIL, requests); a bus to remove is open.
 * - %ECANCELED: a waiting send was cancelled with %KBUS_IOC_CANCEL.
 * - %ECONNREFUSED: a reply answers no request that is outstanding from this
 *   Ksock to the requester (wrong id, second reply, unsolicited reply).
 * - %EFAULT: a user address is not valid.
 * - %EINTR: a signal arrived while the call waited.
 * - %EINVAL: a field, flag, reserved field or guard is not valid; a
 *   message length that does not match its header; UNBIND of a binding
 *   that does not exist; an unknown option.
 * - %ENOENT: no request with that id is outstanding from this Ksock
 *   (%KBUS_IOC_CANCEL of a request); no bus with that number
 *   (%KBUS_IOC_REMOVE_BUS).
 * - %EMSGSIZE: the message is larger than the bus's maximum message size,
 *   or than the receiver's buffer.
 * - %ENAMETOOLONG: a name is longer than %KBUS_MAX_NAME_LEN.
 * - %ENOBUFS: a request would take the sender's user past its byte limit
 *   on the bus (the ``kbus.user_bytes`` module parameter).
 * - %EMFILE: opening a bus would take the user past its byte limit on it.
 * - %ENODEV: the bus has gone away.
 * - %ENOLCK: a request cannot be sent because the sender's own queue has no
 *   room left for its reply, or the sender has ``kbus.max_requests``
 *   requests outstanding.
 * - %ENOMEM: out of memory.
 * - %ENOTTY: unknown ioctl.
 * - %EOPNOTSUPP: an option that cannot be set.
 * - %EPERM: a bus-wide setting, or adding or removing a bus, needs
 *   %CAP_SYS_ADMIN in the user namespace that owns the bus or the kbus
 *   filesystem (the initial one for the buses of ``/dev``), held by the
 *   opener of the file; a ``$.KBUS`` name, which only KBUS sends (but
 *   see %KBUS_IOC_SENDMSG for the status replies of a bridge).
 * - %EROFS: adding or removing a bus of a read-only kbus filesystem.
 * - %ENOSPC: a binding would take the Ksock past ``kbus.max_bindings``
 *   or its user past its byte limit; every bus number of a kbus
 *   filesystem is in use.
 * - %EPIPE: a stateful request names a replier that is no longer the one
 *   bound.
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
 * struct kbus_message_header - A KBUS message, as sent and received.
 * @start_guard: %KBUS_MSG_START_GUARD.
 * @id: message id.  Set by KBUS on send when ``id.network_id`` is 0.
 * @in_reply_to: for a reply, the id of the request; ``{0, 0}`` otherwise.
 * @to: for a reply, the Ksock id of the requester; for a stateful request,
 *      the Ksock id of the replier that must still be bound; else 0.
 * @from: Ksock id of the sender; always set by KBUS on send (0 for
 *        messages that KBUS generates itself).
 * @orig_from: passed through untouched (for bridging processes).
 * @final_to: passed through untouched (for bridging processes).
 * @extra: must be 0 on send; 0 on receive.
 * @flags: %KBUS_BIT_* flags.  The low 16 bits belong to KBUS; unknown bits
 *         there are rejected.  The high 16 bits (%KBUS_USER_FLAGS_MASK) are
 *         the application's and pass through untouched.
 * @name_len: length of the message name, excluding any terminating NUL.
 * @data_len: length of the message data in bytes (0 for none).
 * @__reserved0: must be 0 on send; 0 on receive.
 * @name: on send, the user address of the name of a "pointy" message, 0
 *        for an "entire" message (whose name follows the header); 0 on
 *        receive.
 * @data: on send, the user address of the data of a "pointy" message (0
 *        if and only if @data_len is 0), 0 for an "entire" message; 0 on
 *        receive.
 * @end_guard: %KBUS_MSG_END_GUARD.
 * @__reserved1: must be 0 on send; 0 on receive.
 *
 * A "pointy" message is this header alone, with @name (and @data) pointing
 * into the sender's memory; KBUS copies them during %KBUS_IOC_SENDMSG.
 *
 * An "entire" message is this header with @name and @data 0, followed by
 * the name, a NUL and zero padding to a multiple of 4 bytes, the data and
 * zero padding to a multiple of 4 bytes, and a final %KBUS_MSG_END_GUARD
 * (see struct kbus_entire_message).  %KBUS_IOC_RECVMSG always returns
 * entire messages.
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
/* If any recipient's queue is full, wait for room (EAGAIN if nonblocking). */
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

/* Names of the messages KBUS generates itself. */
#define KBUS_MSG_NAME_REPLIER_GONEAWAY		"$.KBUS.Replier.GoneAway"
#define KBUS_MSG_NAME_REPLIER_IGNORED		"$.KBUS.Replier.Ignored"
#define KBUS_MSG_NAME_REPLIER_UNBOUND		"$.KBUS.Replier.Unbound"
#define KBUS_MSG_NAME_UNBIND_EVENTS_LOST	"$.KBUS.UnbindEventsLost"
#define KBUS_MSG_NAME_REQUEST_CANCELLED		"$.KBUS.Request.Cancelled"
#define KBUS_MSG_NAME_REPLIER_BIND_EVENT	"$.KBUS.ReplierBindEvent"

/* The ABI this header describes (struct kbus_ksock_info @abi_version). */
#define KBUS_ABI_VERSION	2

/**
 * struct kbus_bind - Argument of %KBUS_IOC_BIND and %KBUS_IOC_UNBIND.
 * @size: sizeof(struct kbus_bind).
 * @flags: %KBUS_BIND_REPLIER to bind as the replier, 0 as a listener.
 * @name_ptr: user address of the name (no NUL needed).
 * @name_len: length of the name.
 * @__reserved: must be 0.
 */
struct kbus_bind {
	__u32 size;
	__u32 flags;
	__aligned_u64 name_ptr;
	__u32 name_len;
	__u32 __reserved;
};

/* Bind (or unbind) as the replier for the name. */
#define KBUS_BIND_REPLIER	(1U << 0)

/**
 * struct kbus_replier - Argument of %KBUS_IOC_REPLIER.
 * @size: sizeof(struct kbus_replier).
 * @flags: must be 0.
 * @name_ptr: user address of a name, or a pattern as bound.
 * @name_len: length of the name.
 * @replier_id: out (0 on input): Ksock id of the replier that a request to
 *              @name would reach (or, for a pattern, of the replier bound
 *              to exactly that pattern); 0 if there is none.
 */
struct kbus_replier {
	__u32 size;
	__u32 flags;
	__aligned_u64 name_ptr;
	__u32 name_len;
	__u32 replier_id;
};

/**
 * struct kbus_send - Argument of %KBUS_IOC_SENDMSG.
 * @size: sizeof(struct kbus_send).
 * @flags: %KBUS_SEND_* flags.
 * @msg_ptr: user address of the message: a header whose @name (and @data)
 *           point at the name and data ("pointy"), or an entire message.
 * @msg_len: bytes at @msg_ptr: sizeof(struct kbus_message_header) for a
 *           pointy message, KBUS_ENTIRE_MSG_LEN(name_len, data_len) for an
 *           entire one.
 * @__reserved: must be 0.
 * @id: out (0 on input): the id the message was sent with.
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
 * @size: sizeof(struct kbus_recv).
 * @flags: %KBUS_RECV_* flags.
 * @buf_ptr: user address of the buffer for the entire message.
 * @buf_len: size of that buffer.
 * @msg_len: out (0 on input): length of the entire message, also when it
 *           did not fit.
 * @pid: out (0 on input), with %KBUS_RECV_CREDS: the sending process's id
 *       in the receiver's pid namespace; 0 if it is not visible there or
 *       the message comes from KBUS itself.
 * @uid: out (0 on input), with %KBUS_RECV_CREDS: the sender's effective
 *       user id in the receiver's user namespace (the overflow id if
 *       unmapped); root of the initial namespace for messages KBUS
 *       generates.
 * @gid: out (0 on input), with %KBUS_RECV_CREDS: the sender's effective
 *       group id, as @uid.
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

/**
 * struct kbus_sendrecv - Argument of %KBUS_IOC_SENDRECV.
 * @size: sizeof(struct kbus_sendrecv).
 * @flags: must be 0.
 * @send_ptr: user address of the struct kbus_send of the message to send.
 * @recv_ptr: user address of the struct kbus_recv of the message to
 *            receive.
 *
 * Each of the two structs is the argument of its own ioctl, read, checked
 * and written as that ioctl does.
 */
struct kbus_sendrecv {
	__u32 size;
	__u32 flags;
	__aligned_u64 send_ptr;
	__aligned_u64 recv_ptr;
};

/**
 * struct kbus_ksock_info - Argument of %KBUS_IOC_KSOCK_INFO.
 * @size: sizeof(struct kbus_ksock_info).
 * @flags: must be 0.
 * @abi_version: out: %KBUS_ABI_VERSION of the running kernel.
 * @ksock_id: out: this Ksock's id, unique and non-zero on its bus.
 * @num_msgs: out: messages queued for this Ksock.
 * @num_unreplied: out: requests this Ksock has received and not yet
 *                 replied to.
 * @num_outstanding: out: requests this Ksock has sent and not yet had a
 *                   reply to; each holds a slot of its queue.
 * @__reserved: must be 0.
 * @dropped: out: messages this Ksock missed because its queue was full
 *           (by %KBUS_OPT_MAX_MSGS, %KBUS_OPT_MAX_BYTES or its user's
 *           limit) or its memory cgroup could not take its copy.
 * @queued_bytes: out: bytes charged for the messages queued for this
 *                Ksock, limited by %KBUS_OPT_MAX_BYTES.
 * @user_bytes: out: bytes charged on this bus to the user that opened
 *              this Ksock, for all its Ksocks.
 *
 * All out fields must be 0 on input.
 */
struct kbus_ksock_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 ksock_id;
	__u32 num_msgs;
	__u32 num_unreplied;
	__u32 num_outstanding;
	__u32 __reserved;
	__aligned_u64 dropped;
	__aligned_u64 queued_bytes;
	__aligned_u64 user_bytes;
};

/**
 * struct kbus_option - Argument of %KBUS_IOC_GET_OPTION and
 * %KBUS_IOC_SET_OPTION.
 * @size: sizeof(struct kbus_option).
 * @option: one of the %KBUS_OPT_* values.
 * @flags: must be 0.
 * @__reserved: must be 0.
 * @value: in for SET, out for GET (0 on input).
 */
struct kbus_option {
	__u32 size;
	__u32 option;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 value;
};

/*
 * Options.  Those of a Ksock concern the caller's file only; those of a
 * bus apply to every Ksock on it, and setting them needs %CAP_SYS_ADMIN in
 * the user namespace that owns the bus.
 */
/* Ksock: queue limit, 1 to %KBUS_MAX_MAX_MSGS (default 100). */
#define KBUS_OPT_MAX_MSGS		1
/*
 * Ksock: 1 to receive one copy of a message however many of its listener
 * bindings match it (the replier's copy, for a request to this Ksock), 0
 * for one copy per binding (default).
 */
#define KBUS_OPT_ONLY_ONCE		2
/*
 * Bus: 1 to send ``$.KBUS.ReplierBindEvent`` whenever a replier binds or
 * unbinds (default 0).  Setting 1 also queues, on the caller's queue, one
 * bind event for each replier already bound; those that do not fit are
 * lost as for any full listener.
 */
#define KBUS_OPT_REPORT_REPLIER_BINDS	3
/* Bus: largest entire message, %KBUS_MIN_MAX_MSG_SIZE to the absolute one. */
#define KBUS_OPT_MAX_MSG_SIZE		4
/* Read-only: the absolute maximum of %KBUS_OPT_MAX_MSG_SIZE. */
#define KBUS_OPT_ABS_MAX_MSG_SIZE	5
/*
 * Ksock: limit of the bytes charged for the messages queued for it
 * (default 2 MiB), 1 to the ``kbus.user_bytes`` module parameter.  A
 * message that would take it past the limit is missed as for a full
 * queue, unless nothing is queued.
 */
#define KBUS_OPT_MAX_BYTES		6

/* Bounds of the options above. */
#define KBUS_MAX_MAX_MSGS		100000
#define KBUS_MIN_MAX_MSG_SIZE		100

/**
 * struct kbus_cancel - Argument of %KBUS_IOC_CANCEL for a request.
 * @size: sizeof(struct kbus_cancel).
 * @flags: must be 0.
 * @id: the id of a request this Ksock sent and has had no reply to.
 */
struct kbus_cancel {
	__u32 size;
	__u32 flags;
	struct kbus_msg_id id;
};

/**
 * struct kbus_bus_ctl - Argument of %KBUS_IOC_ADD_BUS and
 * %KBUS_IOC_REMOVE_BUS, on the ``kbus-control`` node of a kbus filesystem.
 * @size: sizeof(struct kbus_bus_ctl).
 * @flags: must be 0.
 * @index: %KBUS_IOC_ADD_BUS: out (0 on input), the new bus's number N, whose
 *         node is ``kbus<N>`` in the same directory.
 *         %KBUS_IOC_REMOVE_BUS: in, the number of the bus to remove.
 * @__reserved: must be 0.
 */
struct kbus_bus_ctl {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 __reserved;
};

#define KBUS_IOC_MAGIC	0xB9

/**
 * DOC: KBUS ioctls
 *
 * Every ioctl takes a size-first struct, or no argument.  Each returns 0 or
 * fails with the errno given; answers come back in the struct.
 *
 * %KBUS_IOC_BIND: bind to a name (struct kbus_bind).  A Ksock may be bound
 * to a name several times as a listener (it then gets a copy per binding);
 * a name has at most one replier.  Fails with %EBADMSG (empty or invalid
 * name, or ``$.KBUS.ReplierBindEvent`` as replier), %ENAMETOOLONG,
 * %EADDRINUSE (a replier is bound to that name), %ENOSPC (a limit), %EBADF,
 * %EINVAL, %E2BIG, %EFAULT, %ENOMEM.  A listener of replier bind events
 * that has no room never makes it fail: it misses the event.
 *
 * %KBUS_IOC_UNBIND: remove the most recent matching binding of this Ksock;
 * unread messages queued through it are dropped (requests among them get
 * ``$.KBUS.Replier.Unbound``).  Fails with %EBADMSG, %ENAMETOOLONG,
 * %EINVAL (no such binding), %EBADF, %E2BIG, %EFAULT, %ENOMEM.
 *
 * %KBUS_IOC_REPLIER: which Ksock a request to a name would reach (struct
 * kbus_replier).  Fails with %EBADMSG, %ENAMETOOLONG, %EINVAL, %E2BIG,
 * %EFAULT, %ENOMEM.
 *
 * %KBUS_IOC_SENDMSG: send one message (struct kbus_send), writing the id it
 * was sent with.  The message is copied in during the call.  An
 * %KBUS_BIT_ALL_OR_WAIT send that finds a recipient full waits until every
 * recipient has room, and is given its id when it is delivered; with
 * O_NONBLOCK or %KBUS_SEND_NONBLOCK it fails with %EAGAIN instead and
 * keeps nothing: poll() reports %EPOLLOUT once it is worth trying again.
 * The id is written as soon as the message is given it, before it is
 * routed: if it cannot be, nothing is sent and the call fails with
 * %EFAULT; after a call that fails otherwise it reads 0.  Fails with
 * %EINVAL (a bad field, flag or reserved field; @msg_len not the message's
 * length; a guard; a name length of 0; both %KBUS_BIT_ALL_OR_WAIT and
 * %KBUS_BIT_ALL_OR_FAIL; %KBUS_BIT_WANT_A_REPLY with @in_reply_to),
 * %E2BIG, %EBADMSG, %ENAMETOOLONG, %EMSGSIZE, %EPERM (a ``$.KBUS`` name,
 * except that a reply may be a status a bridge passes on:
 * ``$.KBUS.Replier.GoneAway``, ``.Ignored``, ``.Unbound``,
 * ``.NotSameKsock`` or ``$.KBUS.RemoteError.<ERRNO>``, which goes to the
 * requester only, marked %KBUS_BIT_SYNTHETIC with the replier in @from),
 * %EBADF (a request from a file not open for reading), %EFAULT,
 * %ENOMEM, %ENOBUFS, %ENOLCK, %EADDRNOTAVAIL, %ECONNREFUSED, %EPIPE,
 * %EBUSY, %EAGAIN, %ECANCELED, %EINTR.
 *
 * %KBUS_IOC_RECVMSG: receive the next message as an entire message
 * (struct kbus_recv), waiting for one unless O_NONBLOCK or
 * %KBUS_RECV_NONBLOCK.  @msg_len is set to the message's length; if
 * @buf_len is smaller, the message stays queued and the call fails with
 * %EMSGSIZE, so a call with @buf_len 0 learns the size of the next
 * message.  A request received that is marked %KBUS_BIT_WANT_YOU_TO_REPLY
 * is owed a reply from now on.  Without %KBUS_RECV_CREDS, @pid, @uid and
 * @gid stay 0.  Only the first @msg_len bytes of the buffer are written;
 * after a failed call their contents are unspecified.  Fails with %EINVAL,
 * %E2BIG, %EBADF, %EMSGSIZE, %EAGAIN (nothing queued), %EFAULT (the
 * buffer or the struct is not writable: the message stays queued),
 * %ENOMEM, %EINTR.
 *
 * %KBUS_IOC_SENDRECV: a %KBUS_IOC_SENDMSG, then a %KBUS_IOC_RECVMSG, in
 * one call (struct kbus_sendrecv): a requester sends a request and waits
 * for its reply, a replier sends a reply and waits for the next request,
 * each with one system call instead of two.  Both structs are read and
 * checked before anything is sent: an error in either sends nothing.  The
 * send is a SENDMSG's, with its errors; once it has succeeded, its id is
 * in the struct kbus_send, and the receive is a RECVMSG's, with its
 * errors.  So a call that fails with that id still 0 sent nothing, and one
 * that fails with the id set sent its message and received none (with
 * %EMSGSIZE, the next message stays queued and @msg_len tells its
 * length, as for RECVMSG).  Once the message is sent, the call is never
 * restarted, since a restart would repeat the send: a signal while the
 * receive waits ends the call with %EINTR, with or without %SA_RESTART
 * (and so do a stop and continue, and the freezer), and the caller
 * receives with %KBUS_IOC_RECVMSG.  The file must be open for
 * reading and writing.  Fails with %EINVAL (@flags not 0, or either
 * struct as its own ioctl would), %E2BIG, %EFAULT, %EBADF and the errors
 * of %KBUS_IOC_SENDMSG and %KBUS_IOC_RECVMSG.
 *
 * %KBUS_IOC_CANCEL: with no argument (0), make every %KBUS_IOC_SENDMSG of
 * this Ksock that is waiting for room fail with %ECANCELED.  With a
 * struct kbus_cancel, give up a request this Ksock sent and has had no
 * reply to: its requester is sent ``$.KBUS.Request.Cancelled`` in place
 * of the reply, its replier owes nothing any more (a reply from it fails
 * with %ECONNREFUSED), and once the status is read its queue slot is
 * free.  Fails with %ENOENT (no such request outstanding), %EINVAL,
 * %E2BIG, %EFAULT.
 *
 * %KBUS_IOC_KSOCK_INFO: about this Ksock and the ABI (struct
 * kbus_ksock_info).  Fails with %EINVAL, %E2BIG, %EFAULT.
 *
 * %KBUS_IOC_GET_OPTION, %KBUS_IOC_SET_OPTION: read or change an option
 * (struct kbus_option).  Fail with %EINVAL (unknown option, or a value out
 * of its range), %EOPNOTSUPP (setting a read-only option), %EPERM (setting
 * a bus option without %CAP_SYS_ADMIN), %E2BIG, %EFAULT; setting
 * %KBUS_OPT_REPORT_REPLIER_BINDS also with %ENOMEM (the option is not
 * changed).  Lowering a Ksock's queue limit below its queued messages drops
 * none of them.
 *
 * On the ``kbus-control`` node of a kbus filesystem only:
 *
 * %KBUS_IOC_ADD_BUS: create a bus in the instance (struct kbus_bus_ctl),
 * with the lowest free number.  Fails with %EPERM (needs %CAP_SYS_ADMIN
 * in the user namespace that owns the instance), %ENOSPC (every bus number
 * is in use), %EROFS (a read-only mount), %EINVAL, %E2BIG, %EFAULT,
 * %ENOMEM.
 *
 * %KBUS_IOC_REMOVE_BUS: remove a bus of the instance (struct kbus_bus_ctl)
 * that nobody has open, and its node with anything mounted on it.  Fails
 * with %EPERM, %ENOENT (no such bus), %EBUSY (the bus is open), %EROFS,
 * %EINVAL, %E2BIG, %EFAULT.
 */
#define KBUS_IOC_BIND		_IO(KBUS_IOC_MAGIC, 1)
#define KBUS_IOC_UNBIND		_IO(KBUS_IOC_MAGIC, 2)
#define KBUS_IOC_REPLIER	_IO(KBUS_IOC_MAGIC, 3)
#define KBUS_IOC_SENDMSG	_IO(KBUS_IOC_MAGIC, 4)
#define KBUS_IOC_RECVMSG	_IO(KBUS_IOC_MAGIC, 5)
#define KBUS_IOC_CANCEL		_IO(KBUS_IOC_MAGIC, 6)
#define KBUS_IOC_KSOCK_INFO	_IO(KBUS_IOC_MAGIC, 7)
#define KBUS_IOC_GET_OPTION	_IO(KBUS_IOC_MAGIC, 8)
#define KBUS_IOC_SET_OPTION	_IO(KBUS_IOC_MAGIC, 9)
#define KBUS_IOC_ADD_BUS	_IO(KBUS_IOC_MAGIC, 10)
#define KBUS_IOC_REMOVE_BUS	_IO(KBUS_IOC_MAGIC, 11)
#define KBUS_IOC_SENDRECV	_IO(KBUS_IOC_MAGIC, 12)

#endif /* _UAPI_LINUX_KBUS_H */
