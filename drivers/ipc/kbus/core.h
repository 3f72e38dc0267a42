/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - buses, Ksocks and the device lifetime
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_CORE_H
#define _DRIVERS_IPC_KBUS_CORE_H

#include <linux/types.h>
#include <linux/user_namespace.h>

#include "kbus_internal.h"

extern struct mutex kbus_buses_lock;
extern struct list_head kbus_buses;

struct kbus_bus *kbus_bus_alloc(u32 index, struct user_namespace *user_ns);
void kbus_bus_free(struct kbus_bus *bus);

struct kbus_bus *kbus_bus_get(u32 index);
void kbus_bus_put(struct kbus_bus *bus);
struct kbus_ksock *kbus_ksock_create(struct kbus_bus *bus, bool kernel);
void kbus_ksock_release(struct kbus_ksock *ks);
struct kbus_ksock *kbus_ksock_lookup_locked(struct kbus_bus *bus, u32 id);
void kbus_next_msg_id_locked(struct kbus_bus *bus, struct kbus_msg_id *id);

#endif /* _DRIVERS_IPC_KBUS_CORE_H */
