/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - definitions shared by every unit of the driver
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_COMMON_H
#define _DRIVERS_IPC_KBUS_COMMON_H

#undef pr_fmt
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define KBUS_NAME "kbus"

struct kbus_bus;
struct kbus_ksock;
struct kbus_msg;
struct kbus_qentry;
struct kbus_binding;
struct kbus_request;

#endif /* _DRIVERS_IPC_KBUS_COMMON_H */
