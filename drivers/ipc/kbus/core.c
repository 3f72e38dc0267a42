// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - buses, Ksocks and the device lifetime
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/cdev.h>
#include <linux/cred.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rtmutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>
#include <linux/xarray.h>

#include "account.h"
#include "bind.h"
#include "core.h"
#include "debugfs.h"
#include "event.h"
#include "fops.h"
#include "fs.h"
#include "msg.h"
#include "reply.h"

/**
 * DOC: Locking overview
 *
 * KBUS has five kinds of locks.  In acquisition order:
 *
 * 1. &kbus_ksock.rd_lock (mutex): serialises the receivers of one open
 *    file, from looking at the head of its queue, through the copy of
 *    that message to user space, to taking it off the queue, so that they
 *    deliver in queue order.  Never held while waiting for a message; the
 *    only lock held while a copy to user space may take (and sleep in) a
 *    page fault.  A Ksock never takes another Ksock's rd_lock.
 *
 * 2. &kbus_buses_lock (mutex): the list of buses and bus creation.  Taken
 *    before a bus lock (debugfs walks every bus).
 *
 * 3. &kbus_bus.sleep_lock (rt_mutex): held by a task that holds the bus
 *    lock sleepably (see 4.), and by a task that waits for that to end,
 *    until it has taken the spinlock again: so the holder, if preempted,
 *    runs at the priority of its highest waiter (priority inheritance).
 *
 * 4. &kbus_bus.lock ("the bus lock"): everything shared on one bus: the
 *    binding registry, every Ksock's queue, outstanding and owed requests,
 *    id counters and settings.  Sending a message takes it once and
 *    delivers to every recipient under it, which is what makes the order
 *    of messages the same for every recipient.  It is held one of two
 *    ways:
 *
 *    - as a spinlock (kbus_bus_lock()), by a send, a receive and every
 *      other operation that need not sleep: the critical section is not
 *      preempted, so a task waits for the bus lock for the critical
 *      sections of the tasks ahead of it, whatever their priority, not
 *      for a preempted holder.  (With PREEMPT_RT the spinlock is a
 *      sleeping lock with priority inheritance, which bounds the wait
 *      too.)  A receive looks at its message under it and takes it off
 *      the queue under it, copying it out in between: in the same hold
 *      with page faults disabled if the body is at most
 *      %KBUS_INLINE_COPY_MAX bytes and the pages written to are present
 *      and writable, else with the lock dropped; a send writes its id
 *      under it with page faults disabled, allocates the queue entries
 *      of its second and later recipients with %GFP_NOWAIT, and is made
 *      again holding the lock sleepably if one cannot be had so, or if
 *      it has more than %KBUS_SPIN_MAX_COPIES recipients.
 *    - sleepably (kbus_bus_lock_sleepable()), by what allocates with
 *      %GFP_KERNEL or may take long: an open, a close, a bind or unbind
 *      (and the replier bind events they send), a change of option,
 *      debugfs.  The holder takes
 *      &kbus_bus.sleep_lock, then sets &kbus_bus.sleeping under the
 *      spinlock and drops the spinlock: from then on, a task that takes
 *      the spinlock and finds &kbus_bus.sleeping set drops it and waits
 *      for &kbus_bus.sleep_lock (lending the holder its priority), takes
 *      the spinlock again and gives &kbus_bus.sleep_lock back.  What the
 *      bus lock protects may be changed only under the spinlock or by
 *      the sleepable holder; kbus_lockdep_assert_bus() checks either.
 *
 *    No two bus locks are ever held together.  (A bus lock that was an
 *    rt_mutex for every operation was measured and rejected: its strict
 *    hand-over to the first waiter turned the receivers of a fan-out into
 *    a convoy, 25 to 40 times slower per delivery with full preemption.
 *    The receivers and senders of a fan-out now take only the spinlock.)
 *
 * 5. The wait queue spinlocks of the Ksocks, taken by wake-ups, which
 *    skip a queue nobody waits on (wq_has_sleeper()).  A sender wakes the
 *    recipients of its message after dropping the bus lock (so that they
 *    do not find it held), in an RCU read-side critical section entered
 *    before dropping it: Ksocks are freed after a grace period.
 *
 * Lockless paths: a receiver that copies a message out with the bus lock
 * dropped holds a reference to it, and a message is immutable once sent;
 * poll reads &kbus_ksock.queue_len with READ_ONCE()
 * (paired with WRITE_ONCE() in the queue helpers) and the room state of
 * its last send (smp_load_acquire()/smp_store_release()) after
 * registering on the wait queues and a full barrier (paired with that of
 * wq_has_sleeper() in the wake-ups), so a message queued in between wakes
 * it; a receive reads the hint &kbus_ksock.gets_requests with READ_ONCE().
 *
 * Lifetimes: a bus of /dev is freed by the release of its &struct device,
 * after the last open file has dropped its reference; a bus of a kbus
 * filesystem is freed with its inode, which every open file of the bus
 * pins (see "kbus filesystem"); a Ksock lives from open to
 * release and is reachable by others only through its bus, under the bus
 * lock; a message lives while a queue entry, a reader or a sender holds a
 * reference to it.
 */

/**
 * kbus_bus_lock_wait() - Wait until nobody holds the bus lock sleepably.
 * @bus: the bus, whose lock (as a spinlock) the caller holds and finds held
 *       sleepably.
 *
 * The slow path of kbus_bus_lock(): the spinlock is dropped while the
 * caller waits for @bus->sleep_lock, which lends the sleepable holder the
 * caller's priority, and taken again before @bus->sleep_lock is given
 * back, so that nobody can hold the bus lock sleepably meanwhile.  The
 * next waiter is woken while the caller is still in its critical section.
 * Uninterruptible, as a mutex: a sleepable holder never waits for user
 * space.
 *
 * Context: Process context; the bus lock is held as a spinlock, and is
 * again on return.
 */
void kbus_bus_lock_wait(struct kbus_bus *bus)
	__must_hold(&bus->lock)
{
	spin_unlock(&bus->lock);
	rt_mutex_lock(&bus->sleep_lock);
	spin_lock(&bus->lock);
	rt_mutex_unlock(&bus->sleep_lock);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bus_lock_wait);

static void kbus_bus_begin_sleepable(struct kbus_bus *bus)
{
	spin_lock(&bus->lock);
	bus->sleeping = true;
	spin_unlock(&bus->lock);
}

/**
 * kbus_bus_lock_sleepable() - Hold the bus lock, allowed to sleep.
 * @bus: the bus.
 *
 * For what may allocate with %GFP_KERNEL or take long (a bind, a close):
 * until kbus_bus_unlock_sleepable(), the caller holds the bus lock without
 * holding the spinlock, and every other user of the bus lock waits for it
 * on @bus->sleep_lock, an rt_mutex, so that a preempted holder inherits the
 * priority of its highest waiter.
 *
 * Context: Process context; takes the bus lock uninterruptibly.
 */
void kbus_bus_lock_sleepable(struct kbus_bus *bus)
{
	rt_mutex_lock(&bus->sleep_lock);
	kbus_bus_begin_sleepable(bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bus_lock_sleepable);

/**
 * kbus_bus_lock_sleepable_killable() - kbus_bus_lock_sleepable(), killably.
 * @bus: the bus.
 *
 * Context: Process context.
 * Return: 0 with the bus lock held sleepably, or -EINTR if a fatal signal
 * arrived while the caller waited for it.
 */
int kbus_bus_lock_sleepable_killable(struct kbus_bus *bus)
{
	if (rt_mutex_lock_killable(&bus->sleep_lock))
		return -EINTR;
	kbus_bus_begin_sleepable(bus);
	return 0;
}

/**
 * kbus_bus_unlock_sleepable() - Give back the bus lock held sleepably.
 * @bus: the bus.
 *
 * Context: Process context; the bus lock is held sleepably.
 */
void kbus_bus_unlock_sleepable(struct kbus_bus *bus)
{
	spin_lock(&bus->lock);
	bus->sleeping = false;
	spin_unlock(&bus->lock);
	rt_mutex_unlock(&bus->sleep_lock);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bus_unlock_sleepable);

static int kbus_num_devices = KBUS_DEF_NUM_DEVICES;
module_param_named(num_devices, kbus_num_devices, int, 0444);
MODULE_PARM_DESC(num_devices,
		 "Number of buses created at load (1-256, default 1)");

/* Protects kbus_buses and the creation of buses. */
DEFINE_MUTEX(kbus_buses_lock);
LIST_HEAD(kbus_buses);
static DEFINE_IDA(kbus_ida);
static dev_t kbus_devt;

static char *kbus_devnode(const struct device *dev, umode_t *mode)
{
	/* Owner only; udev rules can widen it (see the documentation). */
	if (mode)
		*mode = 0600;
	return NULL;
}

static const struct class kbus_class = {
	.name = KBUS_NAME,
	.devnode = kbus_devnode,
};

/**
 * kbus_bus_alloc() - Allocate and initialise a bus without a device.
 * @index: the bus number.
 * @user_ns: the user namespace that owns the bus (a reference is taken).
 *
 * Context: Process context, may sleep.
 * Return: the bus, or ERR_PTR(-ENOMEM).
 */
struct kbus_bus *kbus_bus_alloc(u32 index, struct user_namespace *user_ns)
{
	struct kbus_bus *bus;

	bus = kzalloc(sizeof(*bus), GFP_KERNEL_ACCOUNT);
	if (!bus)
		return ERR_PTR(-ENOMEM);
	if (kbus_names_init(bus)) {
		kfree(bus);
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&bus->lock);
	rt_mutex_init(&bus->sleep_lock);
	bus->index = index;
	INIT_LIST_HEAD(&bus->ksocks);
	INIT_LIST_HEAD(&bus->bus_node);
	xa_init_flags(&bus->ksock_ids, XA_FLAGS_ALLOC);
	init_waitqueue_head(&bus->write_wait);
	atomic_set(&bus->room_seq, 0);
	xa_init(&bus->users);
	bus->max_msg_size = KBUS_DEF_MAX_MESSAGE_SIZE;
	bus->user_ns = get_user_ns(user_ns);
	return bus;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bus_alloc);

/**
 * kbus_bus_free() - Free a bus that has no device and no Ksock.
 * @bus: the bus.
 *
 * Context: Process context.
 */
void kbus_bus_free(struct kbus_bus *bus)
{
	WARN_ON_ONCE(!list_empty(&bus->ksocks));
	xa_destroy(&bus->ksock_ids);
	xa_destroy(&bus->users);
	kbus_names_destroy(bus);
	put_user_ns(bus->user_ns);
	kfree(bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bus_free);

static void kbus_bus_release(struct device *dev)
{
	struct kbus_bus *bus = container_of(dev, struct kbus_bus, dev);

	ida_free(&kbus_ida, bus->index);
	kbus_bus_free(bus);
}

/* Create a bus of /dev and its device node, at load. */
static int kbus_bus_create(void)
{
	struct kbus_bus *bus;
	int ret;

	ret = ida_alloc_max(&kbus_ida, KBUS_MAX_NUM_DEVICES - 1, GFP_KERNEL);
	if (ret < 0)
		return ret;

	bus = kbus_bus_alloc(ret, &init_user_ns);
	if (IS_ERR(bus)) {
		ida_free(&kbus_ida, ret);
		return PTR_ERR(bus);
	}

	device_initialize(&bus->dev);
	bus->dev.devt = MKDEV(MAJOR(kbus_devt), bus->index);
	bus->dev.class = &kbus_class;
	bus->dev.release = kbus_bus_release;
	cdev_init(&bus->cdev, &kbus_fops);
	bus->cdev.owner = THIS_MODULE;
	ret = dev_set_name(&bus->dev, KBUS_NAME "%u", bus->index);
	if (ret)
		goto err_put;
	ret = cdev_device_add(&bus->cdev, &bus->dev);
	if (ret)
		goto err_put;
	bus->registered = true;

	mutex_lock(&kbus_buses_lock);
	list_add_tail(&bus->bus_node, &kbus_buses);
	mutex_unlock(&kbus_buses_lock);
	return 0;

err_put:
	put_device(&bus->dev);
	return ret;
}

static void kbus_bus_destroy(struct kbus_bus *bus)
{
	kbus_bus_lock(bus);
	bus->dead = true;
	kbus_bus_unlock(bus);
	cdev_device_del(&bus->cdev, &bus->dev);
	put_device(&bus->dev);
}

/**
 * kbus_bus_get() - Find a bus of /dev by number, and hold it.
 * @index: the bus number N of /dev/kbus<N>.
 *
 * Context: Process context; takes kbus_buses_lock.
 * Return: the bus, to be given back with kbus_bus_put(), or NULL.
 */
struct kbus_bus *kbus_bus_get(u32 index)
{
	struct kbus_bus *bus, *found = NULL;

	mutex_lock(&kbus_buses_lock);
	list_for_each_entry(bus, &kbus_buses, bus_node) {
		if (bus->index == index) {
			get_device(&bus->dev);
			found = bus;
			break;
		}
	}
	mutex_unlock(&kbus_buses_lock);
	return found;
}

/**
 * kbus_bus_put() - Give back a bus of /dev found with kbus_bus_get().
 * @bus: the bus.
 *
 * Context: Process context.
 */
void kbus_bus_put(struct kbus_bus *bus)
{
	put_device(&bus->dev);
}

/**
 * kbus_ksock_create() - Open a Ksock on a bus.
 * @bus: the bus.
 * @kernel: for a kernel client: the Ksock belongs to no process and no
 *          memory cgroup, and is charged to the initial user's account.
 *
 * Context: Process context; takes the bus lock sleepably (killably).
 * Return: the Ksock, ERR_PTR(-EINTR) on a fatal signal, ERR_PTR(-ENODEV)
 * if the bus is going away, ERR_PTR(-EMFILE) if the opening user is at its
 * byte limit on the bus, ERR_PTR(-EBUSY) if every Ksock id is in use, or
 * ERR_PTR(-ENOMEM).
 */
struct kbus_ksock *kbus_ksock_create(struct kbus_bus *bus, bool kernel)
{
	struct kbus_ksock *ks;
	int ret;

	ks = kzalloc(sizeof(*ks), GFP_KERNEL_ACCOUNT);
	if (!ks)
		return ERR_PTR(-ENOMEM);
	ks->bus = bus;
	if (!kernel) {
		ks->pid = get_pid(task_tgid(current));
		ks->memcg = get_mem_cgroup_from_mm(current->mm);
	}
	ks->max_msgs = KBUS_DEF_MAX_MESSAGES;
	ks->max_bytes = KBUS_DEF_MAX_BYTES;
	INIT_LIST_HEAD(&ks->bus_node);
	INIT_LIST_HEAD(&ks->queue);
	INIT_LIST_HEAD(&ks->bindings);
	ks->outstanding = RB_ROOT;
	ks->owed = RB_ROOT;
	init_waitqueue_head(&ks->wait);
	mutex_init(&ks->rd_lock);

	if (kbus_bus_lock_sleepable_killable(bus)) {
		ret = -EINTR;
		goto err_free;
	}
	if (bus->dead) {
		ret = -ENODEV;
		goto err_unlock;
	}
	ret = kbus_user_get_locked(ks, kernel ? GLOBAL_ROOT_UID :
					   current_euid());
	if (ret)
		goto err_unlock;
	ret = xa_alloc_cyclic(&bus->ksock_ids, &ks->id, ks,
			      XA_LIMIT(1, U32_MAX), &bus->next_ksock_id,
			      GFP_KERNEL_ACCOUNT);
	if (ret < 0)
		goto err_user;
	list_add_tail(&ks->bus_node, &bus->ksocks);
	kbus_bus_unlock_sleepable(bus);
	return ks;

err_user:
	kbus_user_put_locked(ks);
err_unlock:
	kbus_bus_unlock_sleepable(bus);
err_free:
	mem_cgroup_put(ks->memcg);
	put_pid(ks->pid);
	kfree(ks);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_ksock_create);

/**
 * kbus_ksock_release() - Close a Ksock.
 * @ks: the Ksock.
 *
 * Every request it still holds is answered: unread ones with
 * ``$.KBUS.Replier.GoneAway``, read ones with ``$.KBUS.Replier.Ignored``.
 * Its bindings go (with unbind events for its replier bindings, if the
 * bus reports them), and the requests it sent are forgotten.
 *
 * Context: Process context; takes the bus lock sleepably (not
 * interruptibly: a release must always complete).
 */
void kbus_ksock_release(struct kbus_ksock *ks)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_binding *b, *tmp;

	kbus_bus_lock_sleepable(bus);
	/* Unreachable from now on: nothing more can be queued here. */
	xa_erase(&bus->ksock_ids, ks->id);
	if (bus->last_ksock == ks)
		bus->last_ksock = NULL;
	list_del_init(&ks->bus_node);
	kbus_queue_flush_locked(ks, NULL, KBUS_MSG_NAME_REPLIER_GONEAWAY);
	list_for_each_entry_safe(b, tmp, &ks->bindings, ksock_link) {
		if (!b->is_replier)
			kbus_binding_free_locked(b);
	}
	list_for_each_entry_safe(b, tmp, &ks->bindings, ksock_link) {
		/* Cannot fail: the event was allocated with the binding. */
		kbus_report_bind_locked(b, false);
		kbus_binding_free_locked(b);
	}
	kbus_requests_release_locked(ks);
	/* Nothing queued since can be read: drop it. */
	kbus_queue_flush_locked(ks, NULL, KBUS_MSG_NAME_REPLIER_GONEAWAY);
	kbus_user_put_locked(ks);
	kbus_bus_room_locked(bus);
	kbus_bus_unlock_sleepable(bus);

	/* Unreachable, so no reply can keep a record here any more. */
	kbus_request_free(ks->spare_req);
	kbus_request_free(ks->spare_owed);
	mem_cgroup_put(ks->memcg);
	put_pid(ks->pid);
	mutex_destroy(&ks->rd_lock);
	/*
	 * A sender may still be waking it (kbus_send()).  Without an
	 * rcu_head, which would take the Ksock past kmalloc-256: in process
	 * context, this may wait for a grace period if memory is short.
	 */
	kfree_rcu_mightsleep(ks);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_ksock_release);

static void kbus_destroy_all(void)
{
	struct kbus_bus *bus, *tmp;
	LIST_HEAD(doomed);

	mutex_lock(&kbus_buses_lock);
	list_splice_init(&kbus_buses, &doomed);
	mutex_unlock(&kbus_buses_lock);

	list_for_each_entry_safe(bus, tmp, &doomed, bus_node) {
		list_del_init(&bus->bus_node);
		kbus_bus_destroy(bus);
	}
}

static int __init kbus_init(void)
{
	int ret, i;

	if (kbus_num_devices < 1 || kbus_num_devices > KBUS_MAX_NUM_DEVICES) {
		pr_err("num_devices must be 1 to %d\n",
		       KBUS_MAX_NUM_DEVICES);
		return -EINVAL;
	}

	kbus_account_init();
	ret = kbus_msg_cache_init();
	if (ret)
		return ret;
	ret = kbus_bind_cache_init();
	if (ret)
		goto err_msg_cache;
	ret = alloc_chrdev_region(&kbus_devt, 0, KBUS_MAX_NUM_DEVICES,
				  KBUS_NAME);
	if (ret)
		goto err_cache;
	ret = class_register(&kbus_class);
	if (ret)
		goto err_region;

	for (i = 0; i < kbus_num_devices; i++) {
		ret = kbus_bus_create();
		if (ret)
			goto err_buses;
	}
	ret = kbus_fs_init();
	if (ret)
		goto err_buses;
	kbus_debugfs_init();
	return 0;

err_buses:
	kbus_destroy_all();
	class_unregister(&kbus_class);
err_region:
	unregister_chrdev_region(kbus_devt, KBUS_MAX_NUM_DEVICES);
err_cache:
	kbus_bind_cache_exit();
err_msg_cache:
	kbus_msg_cache_exit();
	return ret;
}

static void __exit kbus_exit(void)
{
	kbus_debugfs_exit();
	kbus_fs_exit();
	kbus_destroy_all();
	class_unregister(&kbus_class);
	unregister_chrdev_region(kbus_devt, KBUS_MAX_NUM_DEVICES);
	ida_destroy(&kbus_ida);
	kbus_bind_cache_exit();
	kbus_msg_cache_exit();
}

module_init(kbus_init);
module_exit(kbus_exit);

MODULE_DESCRIPTION("KBUS lightweight kernel-mediated message bus");
MODULE_LICENSE("GPL");
