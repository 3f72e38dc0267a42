/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - replier bind events
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_EVENT_H
#define _DRIVERS_IPC_KBUS_EVENT_H

#include <linux/types.h>

#include "kbus_internal.h"

struct kbus_msg *kbus_bind_event_alloc(u32 binder, const char *name, u32 len,
				       bool is_bind);
int kbus_report_bind_locked(struct kbus_binding *b, bool is_bind);
int kbus_report_catch_up_locked(struct kbus_ksock *ks);
int kbus_bind_report_locked(struct kbus_ksock *ks, const char *name, u32 len,
			    bool is_replier);
int kbus_unbind_report_locked(struct kbus_ksock *ks, const char *name,
			      u32 len, bool is_replier);

#endif /* _DRIVERS_IPC_KBUS_EVENT_H */
