/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - file operations: the userspace interface
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_FOPS_H
#define _DRIVERS_IPC_KBUS_FOPS_H

#include <linux/fs.h>

extern const struct file_operations kbus_fops;
extern const struct file_operations kbus_control_fops;

#endif /* _DRIVERS_IPC_KBUS_FOPS_H */
