/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - debugfs introspection
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_DEBUGFS_H
#define _DRIVERS_IPC_KBUS_DEBUGFS_H

#ifdef CONFIG_DEBUG_FS

void kbus_debugfs_init(void);
void kbus_debugfs_exit(void);

#else /* !CONFIG_DEBUG_FS */

static inline void kbus_debugfs_init(void)
{
}

static inline void kbus_debugfs_exit(void)
{
}

#endif /* CONFIG_DEBUG_FS */

#endif /* _DRIVERS_IPC_KBUS_DEBUGFS_H */
