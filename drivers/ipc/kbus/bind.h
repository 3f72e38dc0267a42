/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - message names and the binding registry
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_BIND_H
#define _DRIVERS_IPC_KBUS_BIND_H

#include <linux/string.h>
#include <linux/types.h>

#include "kbus_internal.h"

int kbus_bind_cache_init(void);
void kbus_bind_cache_exit(void);
int kbus_names_init(struct kbus_bus *bus);
void kbus_names_destroy(struct kbus_bus *bus);
bool kbus_name_valid(const char *name, u32 len, bool wildcard_ok);
bool kbus_name_status(const char *name, u32 len);

/**
 * kbus_name_reserved() - Whether only KBUS itself may send a name.
 * @name: the name.
 * @len: its length.
 *
 * Context: Any context.
 * Return: true for ``$.KBUS`` and ``$.KBUS.<anything>``.
 */
static inline bool kbus_name_reserved(const char *name, u32 len)
{
	static const char prefix[] = "$.KBUS";
	size_t n = sizeof(prefix) - 1;

	return len >= n && !memcmp(name, prefix, n) &&
	       (len == n || name[n] == '.');
}

int kbus_bind_locked(struct kbus_ksock *ks, const char *name, u32 len,
		     bool is_replier);
struct kbus_binding *kbus_binding_find_locked(struct kbus_ksock *ks,
					      const char *name, u32 len,
					      bool is_replier);
void kbus_binding_free_locked(struct kbus_binding *b);
struct kbus_binding *kbus_replier_for_locked(struct kbus_bus *bus,
					     const char *name, u32 len);
struct kbus_binding *kbus_replier_exact_locked(struct kbus_bus *bus,
					       const char *name, u32 len);

int kbus_visit_listeners_locked(struct kbus_bus *bus, const char *name,
				u32 len,
				int (*fn)(struct kbus_binding *b, void *arg),
				void *arg);

#endif /* _DRIVERS_IPC_KBUS_BIND_H */
