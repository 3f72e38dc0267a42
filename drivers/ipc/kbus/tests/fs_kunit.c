// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - KUnit tests of kbus filesystem instances and the lifetimes of
 * their buses
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <kunit/test.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/mount.h>

#include "../fs.h"
#include "../kbus_internal.h"
#include "kunit_util.h"

KUNIT_DEFINE_ACTION_WRAPPER(kbus_test_unmount, kern_unmount,
			    struct vfsmount *);

/* An instance mounted by the kernel (one bus), unmounted at the end. */
static struct super_block *kbus_test_instance(struct kunit *test)
{
	struct vfsmount *mnt = kern_mount(&kbus_fs_type);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, mnt);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, kbus_test_unmount,
						  mnt));
	return mnt->mnt_sb;
}

static void instance_starts_with_bus_zero(struct kunit *test)
{
	struct super_block *sb = kbus_test_instance(test);
	struct kbus_bus *bus = kbus_fs_bus(sb, 0);

	KUNIT_ASSERT_NOT_NULL(test, bus);
	KUNIT_EXPECT_EQ(test, 0, bus->index);
	KUNIT_EXPECT_FALSE(test, bus->registered);
	KUNIT_EXPECT_PTR_EQ(test, sb->s_user_ns, bus->user_ns);
	KUNIT_EXPECT_NOT_NULL(test, bus->dentry);
	KUNIT_EXPECT_PTR_EQ(test, (void *)bus,
			    d_inode(bus->dentry)->i_private);
	KUNIT_EXPECT_NULL(test, kbus_fs_bus(sb, 1));
}

static void instances_have_their_own_buses(struct kunit *test)
{
	struct super_block *a = kbus_test_instance(test);
	struct super_block *b = kbus_test_instance(test);
	struct kbus_ksock *ka, *kb;

	KUNIT_ASSERT_PTR_NE(test, a, b);
	KUNIT_ASSERT_NOT_NULL(test, kbus_fs_bus(a, 0));
	KUNIT_ASSERT_NOT_NULL(test, kbus_fs_bus(b, 0));
	KUNIT_EXPECT_PTR_NE(test, kbus_fs_bus(a, 0), kbus_fs_bus(b, 0));
	/* Ksock ids are per bus. */
	ka = kbus_test_ksock(test, kbus_fs_bus(a, 0));
	kb = kbus_test_ksock(test, kbus_fs_bus(b, 0));
	KUNIT_EXPECT_EQ(test, 1, ka->id);
	KUNIT_EXPECT_EQ(test, 1, kb->id);
}

static void add_takes_the_lowest_free_number(struct kunit *test)
{
	struct super_block *sb = kbus_test_instance(test);
	u32 index = 99;

	KUNIT_ASSERT_EQ(test, 0, kbus_fs_add_bus(sb, &index));
	KUNIT_EXPECT_EQ(test, 1, index);
	KUNIT_ASSERT_EQ(test, 0, kbus_fs_add_bus(sb, &index));
	KUNIT_EXPECT_EQ(test, 2, index);
	KUNIT_ASSERT_EQ(test, 0, kbus_fs_remove_bus(sb, 1));
	KUNIT_EXPECT_NULL(test, kbus_fs_bus(sb, 1));
	KUNIT_EXPECT_EQ(test, -ENOENT, kbus_fs_remove_bus(sb, 1));
	KUNIT_ASSERT_EQ(test, 0, kbus_fs_add_bus(sb, &index));
	KUNIT_EXPECT_EQ(test, 1, index);
	KUNIT_EXPECT_EQ(test, -ENOENT, kbus_fs_remove_bus(sb, 3));
	KUNIT_EXPECT_EQ(test, -ENOENT, kbus_fs_remove_bus(sb, U32_MAX));
}

static void add_fails_enospc_when_numbers_run_out(struct kunit *test)
{
	struct super_block *sb = kbus_test_instance(test);
	u32 index, i;

	for (i = 1; i < KBUS_MAX_NUM_DEVICES; i++) {
		KUNIT_ASSERT_EQ(test, 0, kbus_fs_add_bus(sb, &index));
		KUNIT_ASSERT_EQ(test, i, index);
	}
	index = 7;
	KUNIT_EXPECT_EQ(test, -ENOSPC, kbus_fs_add_bus(sb, &index));
	KUNIT_EXPECT_EQ(test, 7, index);
	KUNIT_ASSERT_EQ(test, 0, kbus_fs_remove_bus(sb, 100));
	KUNIT_ASSERT_EQ(test, 0, kbus_fs_add_bus(sb, &index));
	KUNIT_EXPECT_EQ(test, 100, index);
}

static void open_bus_cannot_be_removed(struct kunit *test)
{
	struct super_block *sb = kbus_test_instance(test);
	struct kbus_bus *bus = kbus_fs_bus(sb, 0);
	struct kbus_ksock *ks;

	KUNIT_ASSERT_NOT_NULL(test, bus);
	ks = kbus_ksock_create(bus, false);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ks);
	KUNIT_EXPECT_EQ(test, -EBUSY, kbus_fs_remove_bus(sb, 0));
	KUNIT_EXPECT_PTR_EQ(test, bus, kbus_fs_bus(sb, 0));
	KUNIT_EXPECT_FALSE(test, bus->dead);
	kbus_ksock_release(ks);
	KUNIT_EXPECT_EQ(test, 0, kbus_fs_remove_bus(sb, 0));
	KUNIT_EXPECT_NULL(test, kbus_fs_bus(sb, 0));
}

/*
 * A path lookup that found the node before the bus was removed holds the
 * inode, and with it the bus: opening it then fails, and the bus goes
 * when the lookup lets go.
 */
static void removed_bus_outlives_its_node_but_refuses_opens(struct kunit *test)
{
	struct super_block *sb = kbus_test_instance(test);
	struct kbus_bus *bus = kbus_fs_bus(sb, 0);
	struct dentry *dentry;
	struct kbus_ksock *ks;
	u32 index;

	KUNIT_ASSERT_NOT_NULL(test, bus);
	dentry = dget(bus->dentry);
	KUNIT_ASSERT_EQ(test, 0, kbus_fs_remove_bus(sb, 0));
	KUNIT_EXPECT_TRUE(test, d_unhashed(dentry));
	KUNIT_EXPECT_PTR_EQ(test, (void *)bus, d_inode(dentry)->i_private);
	KUNIT_EXPECT_TRUE(test, bus->dead);
	KUNIT_EXPECT_NULL(test, bus->dentry);
	ks = kbus_ksock_create(bus, false);
	KUNIT_EXPECT_EQ(test, -ENODEV, PTR_ERR_OR_ZERO(ks));
	if (!IS_ERR(ks))
		kbus_ksock_release(ks);
	/* The number is free at once. */
	KUNIT_EXPECT_EQ(test, 0, kbus_fs_add_bus(sb, &index));
	KUNIT_EXPECT_EQ(test, 0, index);
	KUNIT_EXPECT_PTR_NE(test, bus, kbus_fs_bus(sb, 0));
	/* The last reference frees the old bus (KASAN and kmemleak). */
	dput(dentry);
}

/* Unmounting with buses open leaves them to their last Ksock. */
static void unmount_frees_every_bus(struct kunit *test)
{
	struct vfsmount *mnt = kern_mount(&kbus_fs_type);
	u32 index, i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, mnt);
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_EQ(test, 0, kbus_fs_add_bus(mnt->mnt_sb, &index));
	KUNIT_EXPECT_EQ(test, 0, kbus_fs_remove_bus(mnt->mnt_sb, 3));
	/* Every bus is freed with its inode (KASAN and kmemleak). */
	kern_unmount(mnt);
}

static struct kunit_case kbus_fs_cases[] = {
	KUNIT_CASE(instance_starts_with_bus_zero),
	KUNIT_CASE(instances_have_their_own_buses),
	KUNIT_CASE(add_takes_the_lowest_free_number),
	KUNIT_CASE(add_fails_enospc_when_numbers_run_out),
	KUNIT_CASE(open_bus_cannot_be_removed),
	KUNIT_CASE(removed_bus_outlives_its_node_but_refuses_opens),
	KUNIT_CASE(unmount_frees_every_bus),
	{}
};

static struct kunit_suite kbus_fs_suite = {
	.name = "kbus_fs",
	.test_cases = kbus_fs_cases,
};

kunit_test_suite(kbus_fs_suite);
