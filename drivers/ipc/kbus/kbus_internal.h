/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - structures shared by the units of the driver
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_KBUS_INTERNAL_H
#define _DRIVERS_IPC_KBUS_KBUS_INTERNAL_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/kbus.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/rtmutex.h>
#include <linux/memcontrol.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "common.h"
#include "limits.h"

/* Kinds of name nodes, in increasing replier precedence. */
enum {
	KBUS_NAME_STAR = 1,
	KBUS_NAME_PERCENT,
	KBUS_NAME_EXACT,
};

/**
 * struct kbus_names - The names bound on a bus, hashed.
 * @buckets: 1 << @bits chains of &struct kbus_name_node.
 * @last: the node the last successful lookup found, looked at before
 *        hashing: the messages of a bus often repeat a name (a request,
 *        its listeners, its reply).  NULL at first, and once that node is
 *        freed.
 * @bits: log2 of the number of buckets.
 * @count: nodes in the table.
 * @nr_kind: nodes of each kind in the table, so that a send does not look
 *           up the wildcards of a kind of which none is bound.
 * @key: the key of the keyed hash (hsiphash(), meant for hash tables),
 *       random, so that the names bound cannot be chosen to fall into one
 *       chain.
 *
 * All protected by the bus lock.
 */
struct kbus_names {
	struct hlist_head *buckets;
	struct kbus_name_node *last;
	u32 bits;
	u32 count;
	u32 nr_kind[KBUS_NAME_EXACT + 1];
	hsiphash_key_t key;
};

/**
 * struct kbus_bus - One bus: a /dev/kbusN device and everything on it.
 * @lock: the bus lock; serialises every operation on the bus, which is
 *        what gives all recipients the same message order.  Held as a
 *        spinlock by the operations that need not sleep, or held
 *        "sleepably" (@sleep_lock and @sleeping) by those that must.
 * @sleep_lock: held by the one task that holds the bus lock sleepably,
 *              from before it sets @sleeping to after it clears it; a
 *              task that finds @sleeping set waits for it here, lending
 *              the holder its priority, and holds it until it has taken
 *              @lock again.
 * @sleeping: the bus lock is held sleepably: nobody else may touch what
 *            it protects (protected by @lock).
 * @index: bus number N (invariant after init).
 * @dev: the device; its release frees the bus (invariant after init).
 * @cdev: the character device (invariant after init).
 * @registered: a bus of /dev, whose device was added to the driver core
 *              and keeps it alive; otherwise a bus of a kbus filesystem,
 *              kept by its inode (invariant after init).
 * @dead: the device is being removed; opens fail (protected by @lock).
 * @names: names bound on this bus, in a hash table that grows and shrinks
 *         with them, with a random key (protected by @lock).
 * @ksocks: all open Ksocks (protected by @lock).
 * @ksock_ids: Ksock id to Ksock (modified under @lock; lookups under @lock).
 * @last_ksock: the Ksock kbus_ksock_lookup_locked() found last, or NULL:
 *              in a run of requests and replies between two Ksocks, each
 *              lookup is of the same requester (protected by @lock;
 *              cleared when that Ksock leaves @ksock_ids).
 * @next_ksock_id: cursor for allocating Ksock ids (protected by @lock).
 * @next_serial: serial number of the next message (protected by @lock).
 * @max_msg_size: largest entire message accepted (protected by @lock;
 *                writers read it with READ_ONCE() before sending).
 * @user_ns: the user namespace that owns the bus: %CAP_SYS_ADMIN in it is
 *           needed to change bus-wide settings (a reference; invariant).
 * @report_replier_binds: the %KBUS_OPT_REPORT_REPLIER_BINDS option
 *                        (protected by @lock).
 * @bus_node: entry in the list of the buses of /dev (protected by
 *            kbus_buses_lock).
 * @dentry: for a bus of a kbus filesystem, its node (protected by the lock
 *          of the filesystem's root directory).
 * @write_wait: senders waiting for room (%KBUS_BIT_ALL_OR_WAIT); woken
 *              whenever a queue of the bus gets room or a Ksock or
 *              binding goes away.
 * @room_seq: incremented under @lock before @write_wait is woken, so that
 *            a sender that failed for lack of room knows whether to retry.
 * @users: the accounts of the users with Ksocks open on the bus, by user
 *         id (modified and looked up under @lock).
 */
struct kbus_bus {
	spinlock_t lock;	/* the bus lock: see "Locking overview" */
	struct rt_mutex sleep_lock;
	bool sleeping;
	u32 index;
	struct device dev;
	struct cdev cdev;
	bool registered;
	bool dead;
	struct kbus_names names;
	struct list_head ksocks;
	struct xarray ksock_ids;
	struct kbus_ksock *last_ksock;
	u32 next_ksock_id;
	u32 next_serial;
	u32 max_msg_size;
	struct user_namespace *user_ns;
	bool report_replier_binds;
	struct list_head bus_node;
	struct dentry *dentry;
	wait_queue_head_t write_wait;
	atomic_t room_seq;
	struct xarray users;
};

/**
 * struct kbus_user - What one user's Ksocks hold on one bus.
 * @uid: the user (invariant).
 * @nksocks: the user's open Ksocks on the bus (protected by the bus lock).
 * @bytes: bytes charged to the user (protected by the bus lock).
 * @send_bytes: scratch for the send in progress: bytes of the copies
 *              planned for the user's Ksocks (protected by the bus lock;
 *              0 between sends).
 *
 * See "Resource accounting" for what is charged.
 */
struct kbus_user {
	kuid_t uid;
	u32 nksocks;
	size_t bytes;
	size_t send_bytes;
};

/**
 * struct kbus_qentry - One recipient's copy of a message.
 * @node: entry in the recipient's queue (protected by the bus lock).
 * @msg: the message; the entry owns one reference.
 * @binding: the binding the copy was queued through, or NULL for replies
 *           and messages KBUS generates (protected by the bus lock).
 * @flags: this copy's flags.
 * @lost_marker: the ``$.KBUS.UnbindEventsLost`` of its Ksock.
 */
struct kbus_qentry {
	struct list_head node;
	struct kbus_msg *msg;
	struct kbus_binding *binding;
	u32 flags;
	bool lost_marker;
};

/**
 * struct kbus_msg - A message as stored: shared by all its recipients.
 * @refcount: one reference per queue entry and per sender in flight.
 * @id: message id (invariant after send).
 * @in_reply_to: id of the request this replies to, or {0, 0}.
 * @to: see struct kbus_message_header.
 * @from: Ksock id of the sender, 0 for KBUS itself.
 * @orig_from: passed through.
 * @final_to: passed through.
 * @flags: flags common to every copy (%KBUS_BIT_WANT_YOU_TO_REPLY clear).
 * @name_len: length of the name.
 * @cost: kbus_msg_cost(), worked out when the lengths are set, so that
 *        each charge and uncharge of a copy does not look up the
 *        allocator's size class again; 0 if it does not fit (a message
 *        allocated in more than 32 KiB), for kbus_msg_cost() to work
 *        it out.
 * @data_len: length of the data.
 * @pid: the sending process (thread group), or NULL for messages KBUS
 *       generates; the message holds a reference (invariant after send).
 * @uid: the sender's effective user id (invariant after send).
 * @gid: the sender's effective group id (invariant after send).
 * @entry: the queue entry of the first copy, allocated with the message
 *         because most messages have one recipient; free while
 *         @entry.msg is NULL.  Only the task that sends the message takes
 *         entries for it, and only before the first is queued, so taking
 *         @entry never races with a reader releasing it.
 * @body: the bytes that follow the header in an entire message: name, NUL
 *        and zero padding, data and zero padding, end guard.
 *
 * A message is immutable once it has been sent, so readers copy from it
 * without any lock.
 */
struct kbus_msg {
	refcount_t refcount;
	u32 flags;
	struct kbus_msg_id id;
	struct kbus_msg_id in_reply_to;
	u32 to;
	u32 from;
	struct kbus_orig_from orig_from;
	struct kbus_orig_from final_to;
	u16 name_len;
	u16 cost;
	u32 data_len;
	struct pid *pid;
	kuid_t uid;
	kgid_t gid;
	struct kbus_qentry entry;
	u8 body[];
};

/**
 * kbus_body_len() - Bytes in the body of a message.
 * @name_len: length of its name.
 * @data_len: length of its data.
 *
 * Return: the length of the name and of the data, each padded, and of the
 * end guard.
 */
static inline size_t kbus_body_len(u32 name_len, u32 data_len)
{
	return KBUS_PADDED_NAME_LEN(name_len) +
	       KBUS_PADDED_DATA_LEN((size_t)data_len) + 4;
}

/**
 * kbus_msg_body_len() - Bytes in a message's body.
 * @msg: the message.
 *
 * Return: kbus_body_len() of its name and data.
 */
static inline size_t kbus_msg_body_len(const struct kbus_msg *msg)
{
	return kbus_body_len(msg->name_len, msg->data_len);
}

/**
 * struct kbus_request - A request in flight, seen from one end.
 * @node: node in the Ksock's outstanding or owed tree, ordered by
 *        (@peer_id, @id) (protected by the bus lock).
 * @id: id of the request.
 * @peer_id: in the requester's outstanding tree, the replier's Ksock id; in
 *           the replier's owed tree, the requester's Ksock id.
 * @spare: in the outstanding tree only: the synthetic reply, allocated when
 *         the request was sent, queued if the real reply can never come.
 *         NULL in the owed tree.
 */
struct kbus_request {
	struct rb_node node;
	struct kbus_msg_id id;
	u32 peer_id;
	struct kbus_qentry *spare;
};

/**
 * struct kbus_ksock - An open file of a bus.
 * @bus: the bus (invariant after open).
 * @pid: the opening process (thread group); the Ksock holds a reference
 *       (invariant after open).
 * @user: the account of the opening user on the bus (invariant after
 *        open).
 * @memcg: the memory cgroup of the opening task, charged with the queue
 *         entries of the copies sent to this Ksock; a reference, or NULL
 *         (invariant after open).
 * @id: Ksock id, unique and non-zero on the bus (invariant after open).
 * @max_msgs: queue limit; the queue is full when @queue_len plus
 *            @num_outstanding reaches it (protected by the bus lock).
 * @bus_node: entry in @bus->ksocks (protected by the bus lock).
 * @queue: queued copies, oldest first (protected by the bus lock).
 * @queue_len: entries in @queue (protected by the bus lock; poll reads it
 *             with READ_ONCE()).
 * @queue_gen: copies taken off @queue so far, so that a receiver that
 *             copied the head out without the bus lock knows whether it
 *             is still the same copy (protected by the bus lock).
 * @queued_bytes: bytes charged for the copies on @queue (protected by the
 *                bus lock).
 * @max_bytes: the %KBUS_OPT_MAX_BYTES limit of @queued_bytes (protected
 *             by the bus lock).
 * @bindings: this Ksock's bindings, newest first (protected by the bus
 *            lock).
 * @outstanding: requests sent and not yet answered, each holding a slot of
 *               the queue for its reply, found in O(log n) (protected by
 *               the bus lock).
 * @owed: requests received and not yet replied to, found in O(log n)
 *        (protected by the bus lock).
 * @spare_req: an outstanding record, with its spare reply, kept from the
 *             last request answered, for the next request to use; or NULL
 *             (taken and refilled with xchg() and cmpxchg(), see
 *             kbus_outstanding_get()).
 * @spare_owed: an owed record kept from the last request replied to, for
 *              the next request received; or NULL (as @spare_req).
 * @num_bindings: entries in @bindings (protected by the bus lock).
 * @num_outstanding: entries in @outstanding (protected by the bus lock).
 * @num_owed: entries in @owed (protected by the bus lock).
 * @gets_requests: a request to reply to has been received here, so a
 *                 receive allocates its record of what is owed before
 *                 looking at the queue (a hint: set under the bus lock
 *                 with WRITE_ONCE(), read with READ_ONCE()).
 * @send_pending: scratch for the send in progress: copies planned for this
 *                Ksock (protected by the bus lock; 0 between sends).
 * @dropped: messages this Ksock missed because its queue was full
 *           (protected by the bus lock).
 * @send_bytes: scratch for the send in progress: bytes of those copies
 *              (protected by the bus lock; 0 between sends).
 * @only_once: the %KBUS_OPT_ONLY_ONCE option (protected by the bus lock).
 * @send_chosen: scratch for the send in progress: this Ksock gets a copy
 *               (protected by the bus lock; false between sends).
 * @send_missed: scratch for the send in progress: this Ksock misses the
 *               message for lack of room (protected by the bus lock; false
 *               between sends).
 * @wake_pending: scratch for the send in progress: the sender will wake
 *                this Ksock once it has dropped the bus lock (protected
 *                by the bus lock; false between sends).
 * @unbind_lost: a ``$.KBUS.UnbindEventsLost`` is queued here (protected by
 *               the bus lock).
 * @send_blocked: the last %KBUS_IOC_SENDMSG returned -EAGAIN for lack of
 *                room; poll() reports the file not writable until the
 *                bus's @room_seq moves past @blocked_seq (written with
 *                smp_store_release(), read with smp_load_acquire()).
 * @blocked_seq: the bus's @room_seq before that send was tried (written
 *               before @send_blocked is set).
 * @cancel_seq: incremented by %KBUS_IOC_CANCEL; a waiting send that sees
 *              it move returns -ECANCELED (atomic).
 * @wait: woken when a message is queued (protected by its own lock).
 * @rd_lock: serialises this file's receivers from looking at the head
 *           of the queue, through its copy to user space, to taking it
 *           off, so that they deliver in queue order and each message
 *           once.  Taken before the bus lock; never held while waiting for
 *           a message.
 *
 * Without lock debugging the Ksock fits kmalloc-256 (the mem shape of
 * kbus_bench measures it): it is freed with kfree_rcu_mightsleep(), so
 * it carries no rcu_head.
 */
struct kbus_ksock {
	struct kbus_bus *bus;
	struct pid *pid;
	struct kbus_user *user;
	struct mem_cgroup *memcg;
	u32 id;
	u32 max_msgs;
	struct list_head bus_node;
	struct list_head queue;
	u32 queue_len;
	u32 queue_gen;
	size_t queued_bytes;
	u64 max_bytes;
	struct list_head bindings;
	struct rb_root outstanding;
	struct rb_root owed;
	struct kbus_request *spare_req;
	struct kbus_request *spare_owed;
	u32 num_bindings;
	u32 num_outstanding;
	u32 num_owed;
	u32 send_pending;
	u64 dropped;
	size_t send_bytes;
	bool gets_requests;
	bool only_once;
	bool send_chosen;
	bool send_missed;
	bool wake_pending;
	bool unbind_lost;
	bool send_blocked;
	int blocked_seq;
	atomic_t cancel_seq;
	wait_queue_head_t wait;

	struct mutex rd_lock;	/* see @rd_lock above */
};

/**
 * struct kbus_name_node - A name (or wildcard pattern) bound on a bus.
 * @hnode: entry in the bus's name table (protected by the bus lock).
 * @listeners: listener bindings to this name, oldest first (protected by
 *             the bus lock).
 * @replier: the replier binding, or NULL (protected by the bus lock).
 * @kind: %KBUS_NAME_EXACT, %KBUS_NAME_STAR or %KBUS_NAME_PERCENT
 *        (invariant).
 * @len: length of the key, the start of @full that the node is hashed
 *       and found by: for a wildcard, the part before the final ``.*`` or
 *       ``.%``; the whole name otherwise (invariant; at most
 *       %KBUS_MAX_NAME_LEN).
 * @full: the whole name or pattern as bound, NUL-terminated (invariant).
 */
struct kbus_name_node {
	struct hlist_node hnode;
	struct list_head listeners;
	struct kbus_binding *replier;
	u8 kind;
	u16 len;
	char full[];
};

/**
 * struct kbus_binding - A Ksock bound to a name.
 * @node: the name (protected by the bus lock).
 * @ksock: the Ksock (invariant).
 * @name_link: for a listener, entry in @node->listeners (protected by the
 *             bus lock).
 * @unbind_event: for a replier, the ``$.KBUS.ReplierBindEvent`` that will
 *                announce its unbinding, allocated with the binding so
 *                that a closing Ksock always has it, or NULL once sent
 *                (protected by the bus lock).
 * @ksock_link: entry in @ksock->bindings (protected by the bus lock).
 * @charge: bytes charged to the Ksock's user for the binding (invariant).
 * @is_replier: replier or listener binding (invariant).
 * @send_state: scratch for the send in progress: what this binding's Ksock
 *              gets (protected by the bus lock; %KBUS_SEND_NONE between
 *              sends).
 */
struct kbus_binding {
	struct kbus_name_node *node;
	struct kbus_ksock *ksock;
	union {
		struct list_head name_link;
		struct kbus_msg *unbind_event;
	};
	struct list_head ksock_link;
	u32 charge;
	bool is_replier;
	u8 send_state;
};

/* What a listener binding gets in the send in progress. */
enum {
	KBUS_SEND_NONE,
	KBUS_SEND_DELIVER,
	KBUS_SEND_DROP,
	KBUS_SEND_LOST,		/* $.KBUS.UnbindEventsLost instead */
};

/* Debug messages of a bus: dynamic debug ones (pr_debug()). */
#define kbus_dbg(bus, fmt, ...)						\
	pr_debug("bus %u: " fmt, (bus)->index, ##__VA_ARGS__)

/*
 * The bus lock (see "Locking overview" in core.c).  kbus_bus_lock() holds it
 * as a spinlock; kbus_bus_lock_sleepable() holds it while allowing its
 * holder to sleep: allocate, or do work that may be long.  Either way its
 * holder alone may touch what it protects.
 */
void kbus_bus_lock_wait(struct kbus_bus *bus) __must_hold(&bus->lock);
void kbus_bus_lock_sleepable(struct kbus_bus *bus);
int kbus_bus_lock_sleepable_killable(struct kbus_bus *bus);
void kbus_bus_unlock_sleepable(struct kbus_bus *bus);

/* Hold the bus lock as a spinlock, once nobody holds it sleepably. */
static inline void kbus_bus_lock(struct kbus_bus *bus)
	__acquires(&bus->lock)
{
	/* It may wait for a sleepable holder, which must not be the caller. */
	might_sleep();
	lockdep_assert_not_held(&bus->sleep_lock);
	spin_lock(&bus->lock);
	if (unlikely(bus->sleeping))
		kbus_bus_lock_wait(bus);
}

static inline void kbus_bus_unlock(struct kbus_bus *bus)
	__releases(&bus->lock)
{
	spin_unlock(&bus->lock);
}

/*
 * Assert that the bus lock is held, either way.  @sleeping is written only
 * by the holder of @sleep_lock (under @lock), which may read it without
 * @lock.
 */
static inline void kbus_lockdep_assert_bus(const struct kbus_bus *bus)
{
	lockdep_assert(lockdep_is_held(&bus->lock) ||
		       (lockdep_is_held(&bus->sleep_lock) && bus->sleeping));
}

/* Assert that the bus lock is held sleepably: the holder may sleep. */
static inline void kbus_lockdep_assert_bus_sleepable(const struct kbus_bus *bus)
{
	lockdep_assert(lockdep_is_held(&bus->sleep_lock) && bus->sleeping);
}

#endif /* _DRIVERS_IPC_KBUS_KBUS_INTERNAL_H */
