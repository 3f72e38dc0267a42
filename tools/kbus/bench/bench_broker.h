/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS benchmark - a userspace message broker, the baseline that KBUS
 * replaces
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * A broker process routes messages by name between its clients, as ubus
 * or dbus-broker do, over AF_UNIX SOCK_SEQPACKET connections: one
 * datagram per message, a struct broker_hdr followed by the name and the
 * data.  See bench_broker.c for what it does with each type.
 */

#ifndef _KBUS_BENCH_BROKER_H
#define _KBUS_BENCH_BROKER_H

#include <linux/types.h>
#include <stdbool.h>
#include <sys/types.h>

/* What the kernel's tools/include would give, for a build without it. */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#ifndef __noreturn
#define __noreturn	__attribute__((__noreturn__))
#endif
#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif

/* The type of a message (struct broker_hdr @type). */
enum broker_type {
	BROKER_BIND = 1,	/* bind to the name; answered with a STATUS */
	BROKER_UNBIND,		/* remove a binding; answered with a STATUS */
	BROKER_ANNOUNCE,	/* to the name's listeners */
	BROKER_REQUEST,		/* to the name's replier, and its listeners */
	BROKER_REPLY,		/* to the requester of @in_reply_to */
	BROKER_STATUS,		/* from the broker: @flags is 0 or an errno */
};

/* BIND, UNBIND: as the name's replier, not as a listener. */
#define BROKER_F_REPLIER	0x1U
/*
 * ANNOUNCE, REQUEST: wait for room in every listener's socket (the
 * broker blocks meanwhile), rather than skip a listener that is full.
 */
#define BROKER_F_WAIT		0x2U
/* REQUEST: set on the replier's copy, which is owed a REPLY. */
#define BROKER_F_YOU_REPLY	0x4U

/* Longest name, and most data, of a message. */
#define BROKER_MAX_NAME		1000
#define BROKER_MAX_DATA		(128U << 10)

/**
 * struct broker_hdr - The start of every message.
 * @type: an enum broker_type.
 * @flags: %BROKER_F_* flags; for a STATUS, 0 or a positive errno.
 * @name_len: bytes of name after the header (no NUL).
 * @data_len: bytes of data after the name.
 * @id: set by the sender, unique on its connection.
 * @in_reply_to: REPLY: the @id of the request; STATUS: the @id of the
 *               message it answers.
 * @from: set by the broker: the sender's client id (0 for the broker).
 * @to: REPLY: the requester's client id (its request's @from); STATUS:
 *      the recipient's client id.
 */
struct broker_hdr {
	__u32 type;
	__u32 flags;
	__u32 name_len;
	__u32 data_len;
	__u64 id;
	__u64 in_reply_to;
	__u32 from;
	__u32 to;
};

pid_t broker_start(void);
int broker_stop(pid_t pid);
int broker_connect(void);
int broker_bind(int fd, const char *name, bool replier);
__s64 broker_send(int fd, __u32 type, __u32 flags, const char *name,
		  const void *data, __u32 len, const struct broker_hdr *req);
ssize_t broker_recv(int fd, void *buf, size_t len);

#endif /* _KBUS_BENCH_BROKER_H */
