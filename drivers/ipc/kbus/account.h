/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - accounting: who pays for what is held
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_ACCOUNT_H
#define _DRIVERS_IPC_KBUS_ACCOUNT_H

#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/limits.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "kbus_internal.h"

extern unsigned long kbus_user_bytes;
extern unsigned int kbus_max_requests;
extern unsigned int kbus_max_bindings;
/* Set by kbus_account_init(): see kbus_record_cost(), kbus_request_cost(). */
extern size_t kbus_record_bytes;
extern size_t kbus_request_bytes;

int kbus_user_get_locked(struct kbus_ksock *ks, kuid_t uid);
void kbus_user_put_locked(struct kbus_ksock *ks);

/**
 * kbus_user_room_locked() - Whether a user's account can take a charge.
 * @user: the account.
 * @cost: the bytes to charge, on top of those planned for the send in
 *        progress.
 *
 * Context: The bus lock is held.
 * Return: true if the charge stays within ``kbus_user_bytes``.
 */
static inline bool kbus_user_room_locked(const struct kbus_user *user,
					 size_t cost)
{
	return (u64)user->bytes + user->send_bytes + cost <=
	       READ_ONCE(kbus_user_bytes);
}

/**
 * kbus_user_charge_locked() - Charge a user's account.
 * @user: the account.
 * @cost: bytes.
 *
 * Context: The bus lock is held.
 */
static inline void kbus_user_charge_locked(struct kbus_user *user,
					   size_t cost)
{
	user->bytes += cost;
}

/**
 * kbus_user_uncharge_locked() - Give back what was charged to a user.
 * @user: the account.
 * @cost: bytes charged earlier.
 *
 * Context: The bus lock is held.
 */
static inline void kbus_user_uncharge_locked(struct kbus_user *user,
					     size_t cost)
{
	if (WARN_ON_ONCE(cost > user->bytes))
		cost = user->bytes;
	user->bytes -= cost;
}

/**
 * kbus_msg_cost_of() - Work out what a message costs each holder of a copy.
 * @msg: the message, with its lengths set.
 *
 * Return: the message as allocated, plus a queue entry.
 */
static inline size_t kbus_msg_cost_of(const struct kbus_msg *msg)
{
	size_t size = struct_size(msg, body, kbus_msg_body_len(msg));

	return kmalloc_size_roundup(size) + sizeof(struct kbus_qentry);
}

/**
 * kbus_msg_set_cost() - Keep in a message what it costs.
 * @msg: the message, whose lengths have just been set.
 */
static inline void kbus_msg_set_cost(struct kbus_msg *msg)
{
	size_t cost = kbus_msg_cost_of(msg);

	msg->cost = cost <= U16_MAX ? cost : 0;
}

/**
 * kbus_msg_cost() - Bytes charged to each holder of a copy of a message.
 * @msg: the message.
 *
 * Return: kbus_msg_cost_of() the message, as kept in it when its lengths
 * were set if it fitted.
 */
static inline size_t kbus_msg_cost(const struct kbus_msg *msg)
{
	if (likely(msg->cost))
		return msg->cost;
	return kbus_msg_cost_of(msg);
}

void kbus_account_init(void);

/**
 * kbus_record_cost() - Bytes charged for one request record.
 *
 * Return: a struct kbus_request as allocated: what a replier is charged
 * per request read and not answered.
 */
static inline size_t kbus_record_cost(void)
{
	return kbus_record_bytes;
}

/**
 * kbus_request_cost() - Bytes charged to a requester per request in flight.
 *
 * Return: the request record and the status kept ready with it.
 */
static inline size_t kbus_request_cost(void)
{
	return kbus_request_bytes;
}

bool kbus_ksock_room_locked(const struct kbus_ksock *ks, size_t cost);

#endif /* _DRIVERS_IPC_KBUS_ACCOUNT_H */
