/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - sending: routing a message to its recipients
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_SEND_H
#define _DRIVERS_IPC_KBUS_SEND_H

#include <linux/types.h>

#include "kbus_internal.h"

int kbus_send(struct kbus_ksock *ks, struct kbus_msg *msg,
	      struct kbus_msg_id *id);
int kbus_send_user(struct kbus_ksock *ks, struct kbus_msg *msg,
		   struct kbus_msg_id __user *uid);
int kbus_send_event_locked(struct kbus_bus *bus, struct kbus_msg *msg,
			   bool nofail);

#endif /* _DRIVERS_IPC_KBUS_SEND_H */
