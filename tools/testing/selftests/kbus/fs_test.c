// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - kbus filesystem tests: instances of buses, their control node
 * and their lifetimes
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Each test mounts its instances in a mount namespace of its own (see
 * kbus_mount_instance()), so nothing is left mounted when it ends.
 */

#define _GNU_SOURCE
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "common.h"

#define NOBODY		65534

/* ---- Helpers ---- */

static bool fs_exists(const char *dir, const char *name)
{
	char path[KBUS_PATH_MAX];

	return !access(kbus_fs_path(path, dir, name), F_OK);
}

static int fs_open(const char *dir, const char *name, int flags)
{
	char path[KBUS_PATH_MAX];
	int fd = open(kbus_fs_path(path, dir, name), flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int fs_add(int control, __u32 *index)
{
	return kbus_bus_ctl(control, KBUS_IOC_ADD_BUS, index);
}

static int fs_remove(int control, __u32 index)
{
	return kbus_bus_ctl(control, KBUS_IOC_REMOVE_BUS, &index);
}

/* Become root of a new user namespace (mapped to the caller's ids). */
static int enter_userns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (unshare(CLONE_NEWUSER))
		return -errno;
	if (kbus_write_file("/proc/self/setgroups", "deny"))
		return -EIO;
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (kbus_write_file("/proc/self/uid_map", map))
		return -EIO;
	snprintf(map, sizeof(map), "0 %u 1", gid);
	return kbus_write_file("/proc/self/gid_map", map);
}

/* Whether /proc/self/mountinfo's line for @dir has all of @opts. */
static bool mountinfo_has(const char *dir, const char *opt)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, dir) && strstr(line, " kbus ") &&
		    strstr(line, opt))
			found = true;
	}
	fclose(f);
	return found;
}

/* Mount an instance of our own with @opts on a new directory @dir. */
static void fs_mount(struct __test_metadata *const _metadata, char *dir,
		     const char *opts)
{
	int ret = kbus_mount_instance(dir, opts);

	ASSERT_EQ(0, ret) TH_LOG("mount -o %s: %s", opts, strerror(-ret));
}

/* ---- Mounting ---- */

TEST(mount_has_control_node_and_buses)
{
	struct statfs sfs;
	struct stat st;
	char dir[32], path[KBUS_PATH_MAX];

	fs_mount(_metadata, dir, "buses=3");
	ASSERT_EQ(0, statfs(dir, &sfs));
	EXPECT_EQ(KBUS_SUPER_MAGIC, sfs.f_type);

	ASSERT_EQ(0, stat(kbus_fs_path(path, dir, "kbus-control"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	ASSERT_EQ(0, stat(kbus_fs_path(path, dir, "kbus2"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_TRUE(fs_exists(dir, "kbus0"));
	EXPECT_TRUE(fs_exists(dir, "kbus1"));
	EXPECT_FALSE(fs_exists(dir, "kbus3"));
}

TEST(mount_defaults_to_one_bus)
{
	char dir[32];

	fs_mount(_metadata, dir, "");
	EXPECT_TRUE(fs_exists(dir, "kbus0"));
	EXPECT_FALSE(fs_exists(dir, "kbus1"));
}

TEST(mount_options_set_owner_and_mode_of_new_nodes)
{
	char dir[32], path[KBUS_PATH_MAX];
	struct stat st;
	__u32 index;
	int control;

	fs_mount(_metadata, dir, "uid=65534,gid=65533,mode=0660,buses=1");
	ASSERT_EQ(0, stat(kbus_fs_path(path, dir, "kbus0"), &st));
	EXPECT_EQ(0660, st.st_mode & 07777);
	EXPECT_EQ(NOBODY, st.st_uid);
	EXPECT_EQ(65533, st.st_gid);
	/* kbus-control stays root's. */
	ASSERT_EQ(0, stat(kbus_fs_path(path, dir, "kbus-control"), &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_TRUE(mountinfo_has(dir, "uid=65534"));
	EXPECT_TRUE(mountinfo_has(dir, "gid=65533"));
	EXPECT_TRUE(mountinfo_has(dir, "mode=660"));

	/*
	 * A remount changes the options it gives, for the nodes made from
	 * then on.
	 */
	ASSERT_EQ(0, mount(NULL, dir, NULL, MS_REMOUNT, "mode=0666"))
		TH_LOG("remount: %s", strerror(errno));
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	ASSERT_EQ(0, fs_add(control, &index));
	ASSERT_EQ(1, index);
	ASSERT_EQ(0, stat(kbus_fs_path(path, dir, "kbus1"), &st));
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_EQ(NOBODY, st.st_uid);
	EXPECT_EQ(65533, st.st_gid);
	ASSERT_EQ(0, stat(kbus_fs_path(path, dir, "kbus0"), &st));
	EXPECT_EQ(0660, st.st_mode & 07777);

	/* buses= applies at mount only: a remount ignores it. */
	EXPECT_EQ(0, mount(NULL, dir, NULL, MS_REMOUNT, "buses=5"));
	EXPECT_FALSE(fs_exists(dir, "kbus2"));
	close(control);
}

TEST(bad_mount_options_fail_einval)
{
	static const char * const bad[] = {
		"mode=0777", "mode=01666", "mode=0100", "mode=8",
		"buses=257", "buses=-1", "buses=x", "uid=4294967295",
		"gid=4294967295", "uid=", "size=1", "buses",
	};
	char dir[32];
	size_t i;

	fs_mount(_metadata, dir, "buses=0");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, mount("none", dir, "kbus", 0, bad[i]))
			TH_LOG("%s", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i]);
	}
	/* The limits themselves are fine. */
	EXPECT_EQ(0, mount("none", dir, "kbus", 0, "buses=256,mode=0"));
	EXPECT_TRUE(fs_exists(dir, "kbus255"));
}

/* ---- The control node ---- */

TEST(control_adds_and_removes_buses)
{
	char dir[32];
	__u32 index;
	int control, fd;

	fs_mount(_metadata, dir, "buses=0");
	EXPECT_FALSE(fs_exists(dir, "kbus0"));
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);

	ASSERT_EQ(0, fs_add(control, &index));
	EXPECT_EQ(0, index);
	ASSERT_EQ(0, fs_add(control, &index));
	EXPECT_EQ(1, index);
	EXPECT_TRUE(fs_exists(dir, "kbus1"));

	/* The lowest free number is used again. */
	ASSERT_EQ(0, fs_remove(control, 0));
	EXPECT_FALSE(fs_exists(dir, "kbus0"));
	EXPECT_EQ(-ENOENT, fs_open(dir, "kbus0", O_RDWR));
	ASSERT_EQ(0, fs_add(control, &index));
	EXPECT_EQ(0, index);

	/* No such bus. */
	EXPECT_EQ(-ENOENT, fs_remove(control, 5));
	EXPECT_EQ(-ENOENT, fs_remove(control, 256));
	EXPECT_EQ(-ENOENT, fs_remove(control, ~0U));

	/* An open bus cannot go, and works on. */
	fd = fs_open(dir, "kbus1", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBUSY, fs_remove(control, 1));
	EXPECT_TRUE(fs_exists(dir, "kbus1"));
	ASSERT_EQ(0, kbus_bind(fd, "$.Fs.Busy", false));
	ASSERT_EQ(0, kbus_announce(fd, "$.Fs.Busy", "x", 1, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, fd));
	close(fd);
	EXPECT_EQ(0, fs_remove(control, 1));
	EXPECT_EQ(-ENOENT, fs_remove(control, 1));

	/* A bus added again under the number is a new one. */
	ASSERT_EQ(0, fs_add(control, &index));
	EXPECT_EQ(1, index);
	fd = fs_open(dir, "kbus1", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kbus_ksock_id(_metadata, fd));
	kbus_expect_empty(_metadata, fd);
	close(fd);
	close(control);
}

TEST(control_runs_out_of_bus_numbers_enospc)
{
	char dir[32];
	__u32 index;
	int control;

	fs_mount(_metadata, dir, "buses=256");
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	EXPECT_EQ(-ENOSPC, fs_add(control, &index));
	ASSERT_EQ(0, fs_remove(control, 17));
	ASSERT_EQ(0, fs_add(control, &index));
	EXPECT_EQ(17, index);
	EXPECT_EQ(-ENOSPC, fs_add(control, &index));
	close(control);
}

TEST(control_and_ksock_ioctls_do_not_mix_enotty)
{
	struct kbus_ksock_info info = { .size = sizeof(info) };
	struct kbus_bus_ctl bc = { .size = sizeof(bc) };
	char dir[32], buf[8];
	int control, fd, dev;

	fs_mount(_metadata, dir, "buses=1");
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	fd = fs_open(dir, "kbus0", O_RDWR);
	ASSERT_LE(0, fd);

	EXPECT_EQ(-ENOTTY, kbus_ioctl(control, KBUS_IOC_KSOCK_INFO, &info));
	EXPECT_EQ(-ENOTTY, kbus_ioctl(control, KBUS_IOC_BIND, &info));
	EXPECT_EQ(-ENOTTY, kbus_ioctl(control, _IO(KBUS_IOC_MAGIC, 12), &bc));
	EXPECT_EQ(-ENOTTY, kbus_ioctl(control, _IOWR(KBUS_IOC_MAGIC, 10,
						     struct kbus_bus_ctl),
				      &bc));
	EXPECT_EQ(-ENOTTY, kbus_ioctl(fd, KBUS_IOC_ADD_BUS, &bc));
	EXPECT_EQ(-ENOTTY, kbus_ioctl(fd, KBUS_IOC_REMOVE_BUS, &bc));
	EXPECT_FALSE(fs_exists(dir, "kbus1"));
	dev = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		EXPECT_EQ(-ENOTTY, kbus_ioctl(dev, KBUS_IOC_ADD_BUS, &bc));
		EXPECT_EQ(-ENOTTY, kbus_ioctl(dev, KBUS_IOC_REMOVE_BUS, &bc));
		close(dev);
	}

	/* The control node is for ioctls only. */
	EXPECT_EQ(-1, read(control, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(control, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	close(control);
}

static int add_without_sys_admin(void *arg, int in, int out)
{
	const char *dir = arg;
	int before, control;
	__u32 index = 0;

	/* Opened while this process may add buses. */
	before = fs_open(dir, "kbus-control", O_RDWR);
	if (before < 0)
		return 1;
	if (kbus_drop_sys_admin())
		return 2;
	control = fs_open(dir, "kbus-control", O_RDWR);
	if (control < 0)
		return 3;
	if (fs_add(control, &index) != -EPERM || index)
		return 4;
	if (fs_remove(control, 0) != -EPERM)
		return 5;
	/* The opener's credentials count, as for a bus's settings. */
	if (fs_add(before, &index) || index != 1)
		return 6;
	if (fs_remove(before, 1))
		return 7;
	/* A bad argument is refused as such first. */
	if (kbus_ioctl(control, KBUS_IOC_ADD_BUS, NULL) != -EFAULT)
		return 8;
	return 0;
}

TEST(control_needs_cap_sys_admin_eperm)
{
	struct kbus_child c;
	char dir[32];

	if (geteuid())
		SKIP(return, "needs root");
	fs_mount(_metadata, dir, "buses=1");
	kbus_spawn(_metadata, &c, add_without_sys_admin, dir);
	kbus_child_done(_metadata, &c);
	EXPECT_TRUE(fs_exists(dir, "kbus0"));
	EXPECT_FALSE(fs_exists(dir, "kbus1"));
}

TEST(read_only_mount_adds_and_removes_nothing_erofs)
{
	char dir[32];
	__u32 index;
	int control, fd;

	fs_mount(_metadata, dir, "buses=1");
	ASSERT_EQ(0, mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL));
	control = fs_open(dir, "kbus-control", O_RDONLY);
	ASSERT_LE(0, control);
	EXPECT_EQ(-EROFS, fs_add(control, &index));
	EXPECT_EQ(-EROFS, fs_remove(control, 0));
	EXPECT_FALSE(fs_exists(dir, "kbus1"));
	/* Its buses open for reading only. */
	EXPECT_EQ(-EROFS, fs_open(dir, "kbus0", O_RDWR));
	fd = fs_open(dir, "kbus0", O_RDONLY);
	ASSERT_LE(0, fd);
	close(fd);

	ASSERT_EQ(0, mount(NULL, dir, NULL, MS_REMOUNT, NULL));
	EXPECT_EQ(0, fs_add(control, &index));
	EXPECT_EQ(1, index);
	EXPECT_EQ(0, fs_remove(control, 0));
	close(control);
}

TEST(bus_node_has_nothing_to_truncate_einval)
{
	char dir[32], path[KBUS_PATH_MAX];
	struct stat st;
	int fd;

	fs_mount(_metadata, dir, "buses=1");
	kbus_fs_path(path, dir, "kbus0");
	EXPECT_EQ(-1, open(path, O_RDWR | O_TRUNC | O_CLOEXEC));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, truncate(path, 0));
	EXPECT_EQ(EINVAL, errno);
	fd = fs_open(dir, "kbus0", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ftruncate(fd, 0));
	close(fd);
	/* Its owner and mode can change. */
	EXPECT_EQ(0, chmod(path, 0666));
	EXPECT_EQ(0, chown(path, NOBODY, NOBODY));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_EQ(NOBODY, st.st_uid);
	EXPECT_EQ(0, st.st_size);
}

TEST(adding_and_removing_is_seen_by_inotify)
{
	char dir[32], buf[4096];
	struct inotify_event *ev;
	int control, in, mask = 0;
	__u32 index;
	ssize_t n;
	char *p;

	fs_mount(_metadata, dir, "buses=0");
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ASSERT_LE(0, in);
	ASSERT_LE(0, inotify_add_watch(in, dir, IN_CREATE | IN_DELETE));
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	ASSERT_EQ(0, fs_add(control, &index));
	ASSERT_EQ(0, fs_remove(control, index));
	n = read(in, buf, sizeof(buf));
	ASSERT_LT(0, n);
	for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
		ev = (struct inotify_event *)p;
		EXPECT_STREQ("kbus0", ev->name);
		mask |= ev->mask;
	}
	EXPECT_EQ(IN_CREATE | IN_DELETE, mask);
	close(control);
	close(in);
}

/* A mount on a bus node goes with it, not lost in the instance. */
TEST(removing_a_bus_detaches_what_is_mounted_on_it)
{
	char dir[32], path[KBUS_PATH_MAX];
	int control, fd;

	fs_mount(_metadata, dir, "buses=2");
	fd = open("/tmp/kbus-fs-file", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, mount("/tmp/kbus-fs-file", kbus_fs_path(path, dir, "kbus1"),
			   NULL, MS_BIND, NULL))
		TH_LOG("bind mount: %s", strerror(errno));
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	ASSERT_EQ(0, fs_remove(control, 1));
	EXPECT_FALSE(fs_exists(dir, "kbus1"));
	close(control);
	/* Nothing is left mounted below: a plain unmount works. */
	EXPECT_EQ(0, umount(dir)) TH_LOG("umount: %s", strerror(errno));
}

/* ---- Instances are independent ---- */

#define FS_NAME		"$.Fs.Cross"
#define FS_ASK		"$.Fs.Ask"

/*
 * In a mount namespace of its own (and a user namespace if @arg), mount an
 * instance and use the same names as the parent's instance: nothing of the
 * parent's may show.  The parent waits on @in until this is done.
 */
static int other_instance(void *arg, int in, int out)
{
	bool userns = arg;
	struct kbus_entire_message *m;
	char dir[32];
	__u32 replier;
	__u64 size;
	int a, b, dev;
	ssize_t len;

	if (userns && enter_userns())
		return 1;
	if (kbus_mount_instance(dir, "buses=1"))
		return 2;
	a = fs_open(dir, "kbus0", O_RDWR);
	b = fs_open(dir, "kbus0", O_RDWR);
	if (a < 0 || b < 0)
		return 3;
	/* Ksock ids and serial numbers start afresh. */
	{
		struct kbus_ksock_info info = { .size = sizeof(info) };

		if (kbus_info(a, &info) || info.ksock_id != 1)
			return 4;
	}
	/* The parent's replier and listener are not here. */
	if (kbus_replier(a, FS_ASK, &replier) || replier)
		return 5;
	if (kbus_request(a, FS_ASK, NULL, 0, 0, NULL) != -EADDRNOTAVAIL)
		return 6;
	if (kbus_bind(b, FS_ASK, true))
		return 7;
	if (kbus_bind(b, FS_NAME, false))
		return 8;
	if (kbus_announce(a, FS_NAME, "child", 5, NULL))
		return 9;
	len = kbus_read_next(b, &m);
	if (len <= 0 || m->header.id.serial_num != 1 || m->header.from != 1)
		return 10;
	free(m);

	/* Its bus-wide settings are the instance owner's to change. */
	if (kbus_get_opt(a, KBUS_OPT_MAX_MSG_SIZE, &size))
		return 11;
	if (kbus_set_opt(a, KBUS_OPT_MAX_MSG_SIZE, 1000))
		return 12;
	if (userns) {
		/* ... not those of /dev/kbus0, owned by the initial one. */
		dev = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
		if (dev >= 0 &&
		    kbus_set_opt(dev, KBUS_OPT_MAX_MSG_SIZE, size) != -EPERM)
			return 13;
		if (dev >= 0)
			close(dev);
	}
	if (kbus_post(out))
		return 14;
	if (kbus_wait(in))
		return 15;
	return 0;
}

static void instances_do_not_share(struct __test_metadata *const _metadata,
				   bool userns)
{
	struct kbus_entire_message *m;
	struct kbus_child c;
	char dir[32], buf[64];
	__u32 replier;
	__u64 size;
	int a, b;

	fs_mount(_metadata, dir, "buses=1");
	a = fs_open(dir, "kbus0", O_RDWR);
	ASSERT_LE(0, a);
	b = fs_open(dir, "kbus0", O_RDWR);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, kbus_bind(a, FS_ASK, true));
	ASSERT_EQ(0, kbus_bind(a, FS_NAME, false));
	ASSERT_EQ(0, kbus_get_opt(a, KBUS_OPT_MAX_MSG_SIZE, &size));

	kbus_spawn(_metadata, &c, other_instance, userns ? "" : NULL);
	ASSERT_EQ(0, kbus_wait(c.from_child))
		TH_LOG("the other instance's side failed");
	/* With the child's Ksocks still open, nothing of theirs is here. */
	ASSERT_EQ(0, kbus_replier(b, FS_ASK, &replier));
	EXPECT_EQ(kbus_ksock_id(_metadata, a), replier);
	EXPECT_EQ(-EAGAIN, kbus_recvmsg(a, buf, sizeof(buf),
					KBUS_RECV_NONBLOCK, NULL));
	EXPECT_EQ(size, kbus_opt(_metadata, a, KBUS_OPT_MAX_MSG_SIZE));
	ASSERT_EQ(0, kbus_post(c.to_child));
	kbus_child_done(_metadata, &c);

	/* And this instance works as before. */
	ASSERT_EQ(0, kbus_announce(b, FS_NAME, "here", 4, NULL));
	m = kbus_recv(_metadata, a);
	kbus_check_msg(_metadata, m, FS_NAME, "here", 4,
		       kbus_ksock_id(_metadata, b));
	free(m);
	close(b);
	close(a);
}

TEST(instances_in_two_mount_namespaces_do_not_share)
{
	instances_do_not_share(_metadata, false);
}

TEST(instance_in_a_user_namespace_does_not_share)
{
	instances_do_not_share(_metadata, true);
}

/* Mounted in a user namespace, the instance belongs to it. */
static int userns_instance_owner(void *arg, int in, int out)
{
	char dir[32], path[KBUS_PATH_MAX];
	__u32 index = 0;
	struct stat st;
	int control;

	if (enter_userns())
		return 1;
	if (kbus_mount_instance(dir, "buses=0"))
		return 2;
	control = fs_open(dir, "kbus-control", O_RDWR);
	if (control < 0)
		return 3;
	if (fs_add(control, &index) || index != 0)
		return 4;
	/* Owned by the namespace's root, which is the caller outside. */
	if (stat(kbus_fs_path(path, dir, "kbus0"), &st) || st.st_uid != 0)
		return 5;
	if (fs_remove(control, 0))
		return 6;
	return 0;
}

TEST(instance_mounted_in_a_user_namespace_is_its_own)
{
	struct kbus_child c;

	kbus_spawn(_metadata, &c, userns_instance_owner, NULL);
	kbus_child_done(_metadata, &c);
}

/* ---- Lifetimes ---- */

TEST(unmount_with_ksocks_open)
{
	struct kbus_entire_message *m;
	struct kbus_msg_id id;
	char dir[32];
	int a, b, control;

	fs_mount(_metadata, dir, "buses=2");
	a = fs_open(dir, "kbus0", O_RDWR);
	ASSERT_LE(0, a);
	b = fs_open(dir, "kbus0", O_RDWR);
	ASSERT_LE(0, b);
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	ASSERT_EQ(0, kbus_bind(b, FS_ASK, true));
	ASSERT_EQ(0, kbus_request(a, FS_ASK, "q", 1, 0, &id));

	EXPECT_EQ(-1, umount(dir));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, umount2(dir, MNT_DETACH));
	EXPECT_FALSE(fs_exists(dir, "kbus0"));
	EXPECT_FALSE(fs_exists(dir, "kbus-control"));

	/* The instance lives on for the files open in it. */
	m = kbus_recv(_metadata, b);
	kbus_check_msg(_metadata, m, FS_ASK, "q", 1,
		       kbus_ksock_id(_metadata, a));
	free(m);
	EXPECT_EQ(-EBUSY, fs_remove(control, 0));
	EXPECT_EQ(0, fs_remove(control, 1));
	/* The replier goes: its requester is told. */
	close(b);
	m = kbus_recv(_metadata, a);
	kbus_check_msg(_metadata, m, KBUS_MSG_NAME_REPLIER_IGNORED, NULL, 0, 0);
	free(m);
	close(control);
	/* The last file closed frees the instance (kmemleak checks it). */
	close(a);
}

TEST(close_in_any_order_after_unmount)
{
	char dir[32];
	int fds[6], control, i;
	__u32 index;

	fs_mount(_metadata, dir, "buses=1");
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	ASSERT_EQ(0, fs_add(control, &index));
	for (i = 0; i < 6; i++) {
		fds[i] = fs_open(dir, i % 2 ? "kbus1" : "kbus0", O_RDWR);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, kbus_bind(fds[i], "$.Fs.Any", false));
	}
	ASSERT_EQ(0, kbus_announce(fds[0], "$.Fs.Any", NULL, 0, NULL));
	ASSERT_EQ(0, umount2(dir, MNT_DETACH));
	/* The control node first, then the Ksocks out of order. */
	close(control);
	close(fds[3]);
	close(fds[0]);
	close(fds[5]);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, fds[2]));
	close(fds[1]);
	close(fds[4]);
	close(fds[2]);
}

TEST(removed_bus_keeps_no_name)
{
	char dir[32], path[KBUS_PATH_MAX];
	int control, dfd;

	fs_mount(_metadata, dir, "buses=1");
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	/* A directory file descriptor does not hold the bus. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, fs_remove(control, 0));
	EXPECT_EQ(-1, openat(dfd, "kbus0", O_RDWR));
	EXPECT_EQ(ENOENT, errno);
	/* Nor can a node be made by hand. */
	EXPECT_EQ(-1, open(kbus_fs_path(path, dir, "kbus0"),
			   O_RDWR | O_CREAT, 0600));
	EXPECT_EQ(-1, mkdir(kbus_fs_path(path, dir, "sub"), 0700));
	EXPECT_EQ(-1, unlink(kbus_fs_path(path, dir, "kbus-control")));
	EXPECT_TRUE(fs_exists(dir, "kbus-control"));
	close(dfd);
	close(control);
}

/*
 * A file that holds a removed bus's node without opening it (O_PATH)
 * cannot open the bus again: ENODEV.
 */
TEST(open_of_a_removed_bus_fails_enodev)
{
	char dir[32], proc[64];
	int control, pfd;

	fs_mount(_metadata, dir, "buses=1");
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);
	pfd = fs_open(dir, "kbus0", O_PATH);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, fs_remove(control, 0));
	EXPECT_FALSE(fs_exists(dir, "kbus0"));

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	EXPECT_EQ(-1, open(proc, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(ENODEV, errno);
	close(pfd);
	close(control);
}

static int do_add(void *arg)
{
	__u32 index;

	return fs_add(*(int *)arg, &index);
}

/*
 * ADD_BUS with each of its allocations failing in turn fails with ENOMEM
 * and leaves no node behind; once memory is there, the bus is added under
 * the number that was free.
 */
TEST(control_add_without_memory_fails_enomem)
{
	struct failslab_saved saved;
	int control, failnth, nth, ret, enomem = 0;
	char dir[32];

	failnth = failnth_open(_metadata, &saved, "failslab");
	if (failnth < 0)
		return;
	fs_mount(_metadata, dir, "buses=0");
	control = fs_open(dir, "kbus-control", O_RDWR);
	ASSERT_LE(0, control);

	for (nth = 1; nth < 200; nth++) {
		if (!with_nth_failure(_metadata, failnth, nth, do_add, &control,
				      &ret))
			break;
		if (ret == 0) {
			/* An allocation with a fallback: it all happened. */
			EXPECT_TRUE(fs_exists(dir, "kbus0"));
			ASSERT_EQ(0, fs_remove(control, 0));
			continue;
		}
		EXPECT_EQ(-ENOMEM, ret)
			TH_LOG("ADD_BUS with allocation %d failing", nth);
		enomem++;
		EXPECT_FALSE(fs_exists(dir, "kbus0"))
			TH_LOG("a node left by an ADD_BUS that failed (%d)", nth);
	}
	EXPECT_LT(0, enomem);
	EXPECT_EQ(0, ret);
	EXPECT_TRUE(fs_exists(dir, "kbus0"));
	EXPECT_EQ(-ENOENT, fs_remove(control, 1));

	failslab_undo(&saved);
	close(failnth);
	close(control);
}

TEST_HARNESS_MAIN
