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
#include <linux/xarray.h>

#include "kbus_internal.h"

extern struct mutex kbus_buses_lock;
extern struct list_head kbus_buses;

struct kbus_bus *kbus_bus_alloc(u32 index, struct user_namespace *user_ns);
void kbus_bus_free(struct kbus_bus *bus);

struct kbus_bus *kbus_bus_get(u32 index);
void kbus_bus_put(struct kbus_bus *bus);
struct kbus_ksock *kbus_ksock_create(struct kbus_bus *bus, bool kernel);
void kbus_ksock_release(struct kbus_ksock *ks);

/**
 * kbus_ksock_lookup_locked() - Find an open Ksock of a bus by id.
 * @bus: the bus.
 * @id: the Ksock id.
 *
 * Context: The bus lock is held.
 * Return: the Ksock, or NULL.
 */
static inline struct kbus_ksock *
kbus_ksock_lookup_locked(struct kbus_bus *bus, u32 id)
{
	struct kbus_ksock *ks;

	kbus_lockdep_assert_bus(bus);
	ks = bus->last_ksock;
	/* No Ksock has id 0. */
	if (ks && ks->id == id)
		return ks;
	if (!id)
		return NULL;
	ks = xa_load(&bus->ksock_ids, id);
	if (ks)
		bus->last_ksock = ks;
	return ks;
}

/**
 * kbus_next_msg_id_locked() - Assign the next message id of a bus.
 * @bus: the bus.
 * @id: where to store the id.
 *
 * Context: The bus lock is held.
 */
static inline void kbus_next_msg_id_locked(struct kbus_bus *bus,
					   struct kbus_msg_id *id)
{
	kbus_lockdep_assert_bus(bus);

	if (++bus->next_serial == 0)
		++bus->next_serial;
	id->network_id = 0;
	id->serial_num = bus->next_serial;
}

#endif /* _DRIVERS_IPC_KBUS_CORE_H */
