/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - accounting: who pays for what is held
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_ACCOUNT_H
#define _DRIVERS_IPC_KBUS_ACCOUNT_H

#include <linux/types.h>
#include <linux/uidgid.h>

#include "kbus_internal.h"

extern unsigned long kbus_user_bytes;
extern unsigned int kbus_max_requests;
extern unsigned int kbus_max_bindings;

int kbus_user_get_locked(struct kbus_ksock *ks, kuid_t uid);
void kbus_user_put_locked(struct kbus_ksock *ks);
bool kbus_user_room_locked(const struct kbus_user *user, size_t cost);
void kbus_user_charge_locked(struct kbus_user *user, size_t cost);
void kbus_user_uncharge_locked(struct kbus_user *user, size_t cost);

size_t kbus_msg_cost(const struct kbus_msg *msg);
size_t kbus_request_cost(void);
bool kbus_ksock_room_locked(const struct kbus_ksock *ks, size_t cost);

#endif /* _DRIVERS_IPC_KBUS_ACCOUNT_H */
