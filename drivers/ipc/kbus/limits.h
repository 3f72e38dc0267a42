/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - numeric limits
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_LIMITS_H
#define _DRIVERS_IPC_KBUS_LIMITS_H

#include <linux/kbus.h>
#include <linux/limits.h>

/* Buses: minors 0 .. KBUS_MAX_NUM_DEVICES - 1. */
#define KBUS_MAX_NUM_DEVICES		256
#define KBUS_DEF_NUM_DEVICES		1

/* Per-Ksock queue limit at open (at most KBUS_MAX_MAX_MSGS, uapi). */
#define KBUS_DEF_MAX_MESSAGES		100

/* Per-bus maximum message size (entire length), and its bounds. */
#define KBUS_ABS_MAX_MESSAGE_SIZE	CONFIG_KBUS_ABS_MAX_MESSAGE_SIZE
#define KBUS_DEF_MAX_MESSAGE_SIZE	CONFIG_KBUS_ABS_MAX_MESSAGE_SIZE

/* Per-Ksock receive limit in bytes at open (KBUS_OPT_MAX_BYTES). */
#define KBUS_DEF_MAX_BYTES		(2U << 20)

/* Defaults of the module parameters of "Resource accounting". */
#define KBUS_DEF_USER_BYTES		(16UL << 20)
#define KBUS_DEF_MAX_REQUESTS		1024
#define KBUS_DEF_MAX_BINDINGS		1024

/* Kernel-defined flag bits accepted on write, and the kernel's half. */
#define KBUS_FLAGS_KNOWN		KBUS_FLAGS_MASK
#define KBUS_FLAGS_KERNEL_HALF		(~KBUS_USER_FLAGS_MASK)

/* Sizes of the first versions of the argument structs. */
#define KBUS_BIND_SIZE_VER0		24
#define KBUS_REPLIER_SIZE_VER0		24
#define KBUS_SEND_SIZE_VER0		32
#define KBUS_RECV_SIZE_VER0		40
#define KBUS_INFO_SIZE_VER0		56
#define KBUS_OPTION_SIZE_VER0		24
#define KBUS_BUS_CTL_SIZE_VER0		16
#define KBUS_CANCEL_SIZE_VER0		16
#define KBUS_SENDRECV_SIZE_VER0		24

/* log2 of the buckets of a bus's name table: at first, and at least. */
#define KBUS_NAMES_MIN_BITS		4

/*
 * Longest copy between user memory and the kernel made word by word in
 * one user access: a send's argument struct, header, name or data each
 * (where user addresses can be masked), and a receive's body, written in
 * the access that writes its header.  Longer ones are made with
 * copy_from_user() or copy_to_user(), faster for large copies.
 */
#define KBUS_INLINE_COPY_MAX		256

/* Recipients of a send woken after the bus lock is dropped. */
#define KBUS_WAKE_BATCH			16

/*
 * Listener bindings given a copy, a miss or a lost-events marker that a
 * send remembers from planning, to deliver or reset them without looking
 * the name up again; past that many, it visits the listeners again.
 */
#define KBUS_ROUTE_PLANNED		8

/*
 * Copies a send may plan with the bus lock held as a spinlock, which
 * cannot be preempted: a send to more recipients is made with the bus lock
 * held sleepably, so that no number of bindings makes a long section with
 * preemption disabled.
 */
#define KBUS_SPIN_MAX_COPIES		64

/* Flags the argument structs accept. */
#define KBUS_BIND_FLAGS			KBUS_BIND_REPLIER
#define KBUS_SEND_FLAGS			KBUS_SEND_NONBLOCK
#define KBUS_RECV_FLAGS			(KBUS_RECV_NONBLOCK | KBUS_RECV_CREDS)

/* Longest name of a status KBUS generates itself (with its NUL). */
#define KBUS_SYNTH_NAME_MAX		sizeof(KBUS_MSG_NAME_REQUEST_CANCELLED)

#endif /* _DRIVERS_IPC_KBUS_LIMITS_H */
