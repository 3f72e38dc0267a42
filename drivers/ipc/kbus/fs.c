// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - the kbus filesystem: independent instances of buses
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/fsnotify.h>
#include <linux/magic.h>
#include <linux/namei.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>
#include <linux/xarray.h>

#include "core.h"
#include "fops.h"
#include "fs.h"

/**
 * DOC: kbus filesystem
 *
 * Each mount of the ``kbus`` filesystem is an independent instance: its
 * own buses, numbered from 0, that share nothing with the buses of other
 * instances or of /dev.  Its root directory holds ``kbus-control`` and a
 * node ``kbus<N>`` per bus; opening a bus node opens a Ksock on that bus,
 * as opening /dev/kbus<N> does.  %KBUS_IOC_ADD_BUS and %KBUS_IOC_REMOVE_BUS
 * on ``kbus-control`` add and remove buses.
 *
 * The filesystem can be mounted in a user namespace (%FS_USERNS_MOUNT).
 * The instance then belongs to that namespace: %CAP_SYS_ADMIN in it is
 * what adding and removing buses, and changing the bus-wide settings of
 * its buses, need.
 *
 * Mount options: ``uid=``, ``gid=`` and ``mode=`` give the owner and mode
 * (read and write bits only) of the bus nodes created from then on
 * (default: the namespace's root and 0600); ``buses=`` the number of buses
 * created at mount (default 1, at most 256; ignored by a remount).
 * ``kbus-control`` is the namespace root's, mode 0600.  Bus nodes are
 * regular files without contents: on a read-only mount they open for
 * reading only, and buses are neither added nor removed.
 *
 * Lifetimes: a bus lives as long as its inode, which its node and every
 * open file of it pin.  A bus can be removed only while nobody has it
 * open; its number is free again at once.  An instance lives until it is
 * unmounted and the last file open in it is closed; the buses go with it.
 *
 * Locking: adding and removing buses is serialised by the lock of the root
 * directory's inode (taken before any bus lock), which also protects
 * &kbus_bus.dentry; &kbus_instance.buses has its own lock for lookups, and
 * the mount options a spinlock.
 */

/**
 * struct kbus_fs_opts - The mount options of an instance.
 * @uid: owner of the bus nodes created from now on.
 * @gid: group of the bus nodes created from now on.
 * @mode: permission bits of the bus nodes created from now on.
 * @buses: buses created at mount.
 */
struct kbus_fs_opts {
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u32 buses;
};

/**
 * struct kbus_instance - One mount of the kbus filesystem.
 * @opts_lock: protects @opts.  A lock of its own: /proc/self/mountinfo
 *             shows them under namespace_sem, which mounting on a
 *             directory of the instance takes inside the directory's
 *             inode lock.
 * @opts: its options.
 * @buses: bus number to bus; NULL (reserved) while a bus is being removed
 *         (modified under the root directory's inode lock).
 * @next_ino: the inode number of the next bus node, never reused while
 *            the instance lives (protected by the root directory's inode
 *            lock).
 */
struct kbus_instance {
	spinlock_t opts_lock;	/* see @opts_lock above */
	struct kbus_fs_opts opts;
	struct xarray buses;
	unsigned long next_ino;
};

static struct kbus_fs_opts kbus_fs_get_opts(struct kbus_instance *inst)
{
	struct kbus_fs_opts opts;

	spin_lock(&inst->opts_lock);
	opts = inst->opts;
	spin_unlock(&inst->opts_lock);
	return opts;
}

/* Inode numbers: the root, the control node, then the bus nodes. */
enum {
	KBUS_FS_ROOT_INO = 1,
	KBUS_FS_CONTROL_INO,
	KBUS_FS_FIRST_BUS_INO,
};

#define KBUS_FS_NODE_MODES	0666
#define KBUS_FS_DEF_MODE	0600
#define KBUS_FS_DEF_BUSES	1

static const struct super_operations kbus_fs_super_ops;

static kuid_t kbus_fs_root_uid(struct user_namespace *ns)
{
	kuid_t uid = make_kuid(ns, 0);

	return uid_valid(uid) ? uid : GLOBAL_ROOT_UID;
}

static kgid_t kbus_fs_root_gid(struct user_namespace *ns)
{
	kgid_t gid = make_kgid(ns, 0);

	return gid_valid(gid) ? gid : GLOBAL_ROOT_GID;
}

static struct inode *kbus_fs_new_inode(struct super_block *sb,
				       unsigned long ino, umode_t mode,
				       kuid_t uid, kgid_t gid)
{
	struct inode *inode = new_inode(sb);

	if (!inode)
		return NULL;
	inode->i_ino = ino;
	inode->i_mode = mode;
	inode->i_uid = uid;
	inode->i_gid = gid;
	simple_inode_init_ts(inode);
	return inode;
}

/*
 * Give @inode the name @name in the root directory, whose inode lock is
 * held; the inode is put on failure.  Return: the node, pinned until it
 * is removed, or an ERR_PTR().
 */
static struct dentry *kbus_fs_add_node(struct super_block *sb,
				       const char *name, struct inode *inode)
{
	struct inode *dir = d_inode(sb->s_root);
	struct dentry *dentry;

	dentry = lookup_one_len(name, sb->s_root, strlen(name));
	if (IS_ERR(dentry)) {
		iput(inode);
		return dentry;
	}
	if (d_really_is_positive(dentry)) {
		dput(dentry);
		iput(inode);
		return ERR_PTR(-EEXIST);
	}
	/* The reference from the lookup is the pin. */
	d_instantiate(dentry, inode);
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	fsnotify_create(dir, dentry);
	return dentry;
}

static int kbus_fs_bus_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
			       struct iattr *attr)
{
	/* A bus node has no contents to truncate. */
	if (attr->ia_valid & ATTR_SIZE)
		return -EINVAL;
	return simple_setattr(idmap, dentry, attr);
}

static const struct inode_operations kbus_fs_bus_iops = {
	.setattr = kbus_fs_bus_setattr,
};

/**
 * kbus_fs_add_bus() - Add a bus to an instance.
 * @sb: the instance.
 * @index: where to store its number, the lowest free one.
 *
 * Context: Process context; takes the root directory's inode lock.
 * Return: 0, -ENOSPC if every bus number is in use, or -ENOMEM.
 */
int kbus_fs_add_bus(struct super_block *sb, u32 *index)
{
	struct kbus_instance *inst = sb->s_fs_info;
	struct kbus_fs_opts opts = kbus_fs_get_opts(inst);
	struct inode *dir = d_inode(sb->s_root);
	char name[sizeof(KBUS_NAME "4294967295")];
	struct dentry *dentry;
	struct kbus_bus *bus;
	struct inode *inode;
	u32 id;
	int ret;

	inode_lock(dir);
	/* Reserve the number: NULL until the bus is complete. */
	ret = xa_alloc(&inst->buses, &id, NULL,
		       XA_LIMIT(0, KBUS_MAX_NUM_DEVICES - 1),
		       GFP_KERNEL_ACCOUNT);
	if (ret) {
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto out_unlock;
	}
	bus = kbus_bus_alloc(id, sb->s_user_ns);
	if (IS_ERR(bus)) {
		ret = PTR_ERR(bus);
		goto err_id;
	}
	inode = kbus_fs_new_inode(sb, inst->next_ino++, S_IFREG | opts.mode,
				  opts.uid, opts.gid);
	if (!inode) {
		kbus_bus_free(bus);
		ret = -ENOMEM;
		goto err_id;
	}
	/* From here on the inode frees the bus when it goes. */
	inode->i_op = &kbus_fs_bus_iops;
	inode->i_fop = &kbus_fops;
	inode->i_private = bus;
	snprintf(name, sizeof(name), KBUS_NAME "%u", id);
	dentry = kbus_fs_add_node(sb, name, inode);
	if (IS_ERR(dentry)) {
		ret = PTR_ERR(dentry);
		goto err_id;
	}
	bus->dentry = dentry;
	/* Cannot fail: the entry is reserved. */
	xa_store(&inst->buses, id, bus, GFP_KERNEL_ACCOUNT);
	*index = id;
	inode_unlock(dir);
	return 0;

err_id:
	xa_erase(&inst->buses, id);
out_unlock:
	inode_unlock(dir);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_fs_add_bus);

/**
 * kbus_fs_remove_bus() - Remove a bus that nobody has open.
 * @sb: the instance.
 * @index: the bus number.
 *
 * The bus's node goes (with anything mounted on it) and then its number
 * is free; the bus is freed when its inode goes, once any path lookup
 * that found the node is done (an open of it from now on fails with
 * -ENODEV).
 *
 * Context: Process context; takes the root directory's inode lock and the
 * bus lock.
 * Return: 0, -ENOENT if there is no such bus, or -EBUSY if it is open.
 */
int kbus_fs_remove_bus(struct super_block *sb, u32 index)
{
	struct kbus_instance *inst = sb->s_fs_info;
	struct inode *dir = d_inode(sb->s_root);
	struct dentry *dentry;
	struct kbus_bus *bus;
	int ret = 0;

	inode_lock(dir);
	bus = xa_load(&inst->buses, index);
	if (!bus) {
		ret = -ENOENT;
		goto out_unlock;
	}
	kbus_bus_lock(bus);
	if (list_empty(&bus->ksocks))
		bus->dead = true;
	else
		ret = -EBUSY;
	kbus_bus_unlock(bus);
	if (ret)
		goto out_unlock;
	/* Keep the number reserved, and the bus out of reach, until done. */
	xa_store(&inst->buses, index, NULL, GFP_KERNEL_ACCOUNT);
	dentry = bus->dentry;
	bus->dentry = NULL;
	inode_unlock(dir);

	/* Takes the lock itself; drops the pin: the bus may go now. */
	simple_recursive_removal(dentry, NULL);
	xa_erase(&inst->buses, index);
	return 0;

out_unlock:
	inode_unlock(dir);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_fs_remove_bus);

/**
 * kbus_fs_bus() - Look up a bus of an instance by number.
 * @sb: the instance.
 * @index: the bus number.
 *
 * For tests: the bus may be removed as soon as this returns.
 *
 * Context: Any context.
 * Return: the bus, or NULL.
 */
struct kbus_bus *kbus_fs_bus(struct super_block *sb, u32 index)
{
	struct kbus_instance *inst = sb->s_fs_info;

	return xa_load(&inst->buses, index);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_fs_bus);

static void kbus_fs_evict_inode(struct inode *inode)
{
	struct kbus_bus *bus = inode->i_private;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	/* Nobody has the bus open: every open file pins its inode. */
	if (bus)
		kbus_bus_free(bus);
}

static int kbus_fs_show_options(struct seq_file *m, struct dentry *root)
{
	struct kbus_instance *inst = root->d_sb->s_fs_info;
	struct user_namespace *ns = root->d_sb->s_user_ns;
	struct kbus_fs_opts opts = kbus_fs_get_opts(inst);

	if (!uid_eq(opts.uid, kbus_fs_root_uid(ns)))
		seq_printf(m, ",uid=%u", from_kuid_munged(ns, opts.uid));
	if (!gid_eq(opts.gid, kbus_fs_root_gid(ns)))
		seq_printf(m, ",gid=%u", from_kgid_munged(ns, opts.gid));
	if (opts.mode != KBUS_FS_DEF_MODE)
		seq_printf(m, ",mode=%o", opts.mode);
	return 0;
}

static const struct super_operations kbus_fs_super_ops = {
	.statfs = simple_statfs,
	.drop_inode = generic_delete_inode,
	.evict_inode = kbus_fs_evict_inode,
	.show_options = kbus_fs_show_options,
};

/**
 * struct kbus_fs_context - A mount or remount being set up.
 * @opts: the options given, over the defaults (a mount) or the instance's
 *        (a remount).
 */
struct kbus_fs_context {
	struct kbus_fs_opts opts;
};

enum {
	KBUS_OPT_UID,
	KBUS_OPT_GID,
	KBUS_OPT_MODE,
	KBUS_OPT_BUSES,
};

static const struct fs_parameter_spec kbus_fs_params[] = {
	fsparam_u32("uid", KBUS_OPT_UID),
	fsparam_u32("gid", KBUS_OPT_GID),
	fsparam_u32oct("mode", KBUS_OPT_MODE),
	fsparam_u32("buses", KBUS_OPT_BUSES),
	{}
};

static int kbus_fs_parse_param(struct fs_context *fc,
			       struct fs_parameter *param)
{
	struct kbus_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	kuid_t uid;
	kgid_t gid;
	int opt;

	opt = fs_parse(fc, kbus_fs_params, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case KBUS_OPT_UID:
		uid = make_kuid(fc->user_ns, result.uint_32);
		if (!uid_valid(uid))
			return invalfc(fc, "uid %u is not mapped",
				       result.uint_32);
		ctx->opts.uid = uid;
		break;
	case KBUS_OPT_GID:
		gid = make_kgid(fc->user_ns, result.uint_32);
		if (!gid_valid(gid))
			return invalfc(fc, "gid %u is not mapped",
				       result.uint_32);
		ctx->opts.gid = gid;
		break;
	case KBUS_OPT_MODE:
		if (result.uint_32 & ~KBUS_FS_NODE_MODES)
			return invalfc(fc, "mode %o: read and write bits only",
				       result.uint_32);
		ctx->opts.mode = result.uint_32;
		break;
	case KBUS_OPT_BUSES:
		if (result.uint_32 > KBUS_MAX_NUM_DEVICES)
			return invalfc(fc, "buses %u: at most %d",
				       result.uint_32, KBUS_MAX_NUM_DEVICES);
		ctx->opts.buses = result.uint_32;
		break;
	}
	return 0;
}

static int kbus_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct kbus_fs_context *ctx = fc->fs_private;
	struct kbus_instance *inst;
	struct dentry *dentry;
	struct inode *inode;
	u32 i, index;
	int ret;

	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = KBUS_SUPER_MAGIC;
	sb->s_op = &kbus_fs_super_ops;
	sb->s_d_op = &simple_dentry_operations;
	sb->s_time_gran = 1;
	sb->s_iflags |= SB_I_NOEXEC | SB_I_NODEV;

	inst = kzalloc(sizeof(*inst), GFP_KERNEL_ACCOUNT);
	if (!inst)
		return -ENOMEM;
	spin_lock_init(&inst->opts_lock);
	inst->opts = ctx->opts;
	xa_init_flags(&inst->buses, XA_FLAGS_ALLOC);
	inst->next_ino = KBUS_FS_FIRST_BUS_INO;
	sb->s_fs_info = inst;

	inode = kbus_fs_new_inode(sb, KBUS_FS_ROOT_INO, S_IFDIR | 0755,
				  kbus_fs_root_uid(sb->s_user_ns),
				  kbus_fs_root_gid(sb->s_user_ns));
	if (!inode)
		return -ENOMEM;
	inode->i_op = &simple_dir_inode_operations;
	inode->i_fop = &simple_dir_operations;
	set_nlink(inode, 2);
	sb->s_root = d_make_root(inode);
	if (!sb->s_root)
		return -ENOMEM;

	inode = kbus_fs_new_inode(sb, KBUS_FS_CONTROL_INO, S_IFREG | 0600,
				  kbus_fs_root_uid(sb->s_user_ns),
				  kbus_fs_root_gid(sb->s_user_ns));
	if (!inode)
		return -ENOMEM;
	inode->i_fop = &kbus_control_fops;
	inode_lock(d_inode(sb->s_root));
	dentry = kbus_fs_add_node(sb, KBUS_NAME "-control", inode);
	inode_unlock(d_inode(sb->s_root));
	if (IS_ERR(dentry))
		return PTR_ERR(dentry);

	for (i = 0; i < ctx->opts.buses; i++) {
		ret = kbus_fs_add_bus(sb, &index);
		if (ret)
			return ret;
	}
	return 0;
}

static int kbus_fs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, kbus_fs_fill_super);
}

static int kbus_fs_reconfigure(struct fs_context *fc)
{
	struct kbus_fs_context *ctx = fc->fs_private;
	struct super_block *sb = fc->root->d_sb;
	struct kbus_instance *inst = sb->s_fs_info;

	/* buses= applies at mount only: ignored, so that fstab's lines work. */
	spin_lock(&inst->opts_lock);
	inst->opts.uid = ctx->opts.uid;
	inst->opts.gid = ctx->opts.gid;
	inst->opts.mode = ctx->opts.mode;
	spin_unlock(&inst->opts_lock);
	return 0;
}

static void kbus_fs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations kbus_fs_context_ops = {
	.free = kbus_fs_free_fc,
	.parse_param = kbus_fs_parse_param,
	.get_tree = kbus_fs_get_tree,
	.reconfigure = kbus_fs_reconfigure,
};

static int kbus_fs_init_fs_context(struct fs_context *fc)
{
	struct kbus_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	if (fc->purpose == FS_CONTEXT_FOR_RECONFIGURE) {
		/* A remount changes only the options it gives. */
		ctx->opts = kbus_fs_get_opts(fc->root->d_sb->s_fs_info);
	} else {
		ctx->opts.uid = kbus_fs_root_uid(fc->user_ns);
		ctx->opts.gid = kbus_fs_root_gid(fc->user_ns);
		ctx->opts.mode = KBUS_FS_DEF_MODE;
		ctx->opts.buses = KBUS_FS_DEF_BUSES;
	}
	fc->fs_private = ctx;
	fc->ops = &kbus_fs_context_ops;
	return 0;
}

static void kbus_fs_kill_sb(struct super_block *sb)
{
	struct kbus_instance *inst = sb->s_fs_info;

	/* Drops the nodes' pins: the buses go with their inodes. */
	kill_litter_super(sb);
	if (inst) {
		xa_destroy(&inst->buses);
		kfree(inst);
	}
}

struct file_system_type kbus_fs_type = {
	.owner = THIS_MODULE,
	.name = KBUS_NAME,
	.init_fs_context = kbus_fs_init_fs_context,
	.parameters = kbus_fs_params,
	.kill_sb = kbus_fs_kill_sb,
	.fs_flags = FS_USERNS_MOUNT,
};
EXPORT_SYMBOL_IF_KUNIT(kbus_fs_type);

int __init kbus_fs_init(void)
{
	return register_filesystem(&kbus_fs_type);
}

void kbus_fs_exit(void)
{
	unregister_filesystem(&kbus_fs_type);
}
