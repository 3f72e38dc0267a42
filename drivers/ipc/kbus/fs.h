/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - the kbus filesystem: independent instances of buses
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_FS_H
#define _DRIVERS_IPC_KBUS_FS_H

#include <linux/fs.h>
#include <linux/types.h>

extern struct file_system_type kbus_fs_type;

int kbus_fs_add_bus(struct super_block *sb, u32 *index);
int kbus_fs_remove_bus(struct super_block *sb, u32 index);
struct kbus_bus *kbus_fs_bus(struct super_block *sb, u32 index);

int kbus_fs_init(void);
void kbus_fs_exit(void);

#endif /* _DRIVERS_IPC_KBUS_FS_H */
