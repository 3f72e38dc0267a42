// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - debugfs introspection
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * /sys/kernel/debug/kbus/bindings lists every binding of every bus, by
 * Ksock, each one's newest first, laid out as the original KBUS's
 * /proc/kbus/bindings was, which people who debugged KBUS systems know.
 * /sys/kernel/debug/kbus/stats shows the state of every bus and Ksock.
 * Both are for people: their format is not an ABI and may change (see
 * Documentation/ipc/kbus.rst).
 */

#include "common.h"

#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/seq_file.h>

#include "core.h"
#include "debugfs.h"

static struct dentry *kbus_debugfs_dir;

static int bindings_show(struct seq_file *m, void *v)
{
	struct kbus_binding *b;
	struct kbus_ksock *ks;
	struct kbus_bus *bus;

	mutex_lock(&kbus_buses_lock);
	list_for_each_entry(bus, &kbus_buses, bus_node) {
		seq_puts(m, "# <device> is bound to <Ksock-ID> in <process-PID> as <Replier|Listener> for <message-name>\n");
		kbus_bus_lock_sleepable(bus);
		list_for_each_entry(ks, &bus->ksocks, bus_node)
			list_for_each_entry(b, &ks->bindings, ksock_link)
				seq_printf(m, "%3u: %8u %8lu  %c  %s\n",
					   bus->index, ks->id,
					   (unsigned long)pid_vnr(ks->pid),
					   b->is_replier ? 'R' : 'L',
					   b->node->full);
		kbus_bus_unlock_sleepable(bus);
	}
	mutex_unlock(&kbus_buses_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bindings);

static int stats_show(struct seq_file *m, void *v)
{
	struct kbus_ksock *ks;
	struct kbus_bus *bus;

	mutex_lock(&kbus_buses_lock);
	list_for_each_entry(bus, &kbus_buses, bus_node) {
		kbus_bus_lock_sleepable(bus);
		seq_printf(m, "dev %2u: next ksock %u next msg %u max msg size %u\n",
			   bus->index, bus->next_ksock_id, bus->next_serial + 1,
			   bus->max_msg_size);
		list_for_each_entry(ks, &bus->ksocks, bus_node) {
			seq_printf(m, "  ksock %u pid %d uid %u queue %u of %u, %zu of %llu bytes\n",
				   ks->id, pid_vnr(ks->pid),
				   from_kuid_munged(current_user_ns(),
						    ks->user->uid),
				   ks->queue_len, ks->max_msgs,
				   ks->queued_bytes, ks->max_bytes);
			seq_printf(m, "    outstanding requests %u, unreplied to %u, dropped %llu, user bytes %zu\n",
				   ks->num_outstanding, ks->num_owed,
				   ks->dropped, ks->user->bytes);
		}
		kbus_bus_unlock_sleepable(bus);
	}
	mutex_unlock(&kbus_buses_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

/**
 * kbus_debugfs_init() - Create the debugfs files.
 *
 * Failure is not an error: debugfs is optional.
 *
 * Context: Process context.
 */
void kbus_debugfs_init(void)
{
	kbus_debugfs_dir = debugfs_create_dir(KBUS_NAME, NULL);
	debugfs_create_file("bindings", 0400, kbus_debugfs_dir, NULL,
			    &bindings_fops);
	debugfs_create_file("stats", 0400, kbus_debugfs_dir, NULL,
			    &stats_fops);
}

/**
 * kbus_debugfs_exit() - Remove the debugfs files.
 *
 * Context: Process context.
 */
void kbus_debugfs_exit(void)
{
	debugfs_remove_recursive(kbus_debugfs_dir);
}
