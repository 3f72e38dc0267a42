/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - kernel clients
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_CLIENT_H
#define _DRIVERS_IPC_KBUS_CLIENT_H

#include <linux/kbus.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "kbus_internal.h"

/**
 * struct kbus_client - A kernel client: a Ksock that no file holds.
 * @ks: its Ksock (invariant).
 * @ops: what it is called for (invariant).
 * @priv: for its owner (invariant).
 * @work: hands the queued messages to @ops->recv.
 * @wait: on @ks->wait: a wake-up queues @work.
 * @closing: kbus_client_close() has begun: nothing more is handed over
 *           (WRITE_ONCE() and READ_ONCE()).
 */
struct kbus_client {
	struct kbus_ksock *ks;
	const struct kbus_client_ops *ops;
	void *priv;
	struct work_struct work;
	struct wait_queue_entry wait;
	bool closing;
};

#endif /* _DRIVERS_IPC_KBUS_CLIENT_H */
