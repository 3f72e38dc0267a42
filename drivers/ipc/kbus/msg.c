// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - message store and per-Ksock queues
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * A message is stored once, in a reference-counted &struct kbus_msg whose
 * body is laid out exactly as the bytes that follow the header of an
 * "entire" message.  Every recipient gets a &struct kbus_qentry on its
 * queue that points at the shared message and carries the flags of that
 * copy.  Readers build the header image from the message and the entry and
 * copy the body as it is.
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/build_bug.h>
#include <linux/limits.h>
#include <linux/lockdep.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "account.h"
#include "msg.h"
#include "trace.h"

static struct kmem_cache *kbus_qentry_cache;

/**
 * kbus_msg_cache_init() - Create the cache of queue entries.
 *
 * Context: Module initialisation.
 * Return: 0, or -ENOMEM.
 */
int kbus_msg_cache_init(void)
{
	kbus_qentry_cache = KMEM_CACHE(kbus_qentry, SLAB_ACCOUNT);
	return kbus_qentry_cache ? 0 : -ENOMEM;
}

/**
 * kbus_msg_cache_exit() - Destroy the cache of queue entries.
 *
 * Context: Module exit, once every entry has been freed.
 */
void kbus_msg_cache_exit(void)
{
	kmem_cache_destroy(kbus_qentry_cache);
}

/*
 * The bytes allocated for a message whose body is @body_len long.  Up to
 * a page, a message is allocated with kmalloc(), as kvmalloc() would do
 * (it turns to vmalloc() only above a page), and freed with kfree(): most
 * messages are small, and neither end then makes kvmalloc()'s or
 * kvfree()'s extra call.
 */
static size_t msg_size(size_t body_len)
{
	return struct_size_t(struct kbus_msg, body, body_len);
}

/* A name's length fits the message's u16. */
static_assert(KBUS_MAX_NAME_LEN <= U16_MAX);

static __always_inline struct kbus_msg *msg_alloc(u32 name_len,
						  u32 data_len, gfp_t gfp)
{
	struct kbus_msg *msg;
	size_t size;

	if (name_len > KBUS_MAX_NAME_LEN ||
	    data_len > KBUS_ABS_MAX_MESSAGE_SIZE)
		return ERR_PTR(-EMSGSIZE);
	size = msg_size(kbus_body_len(name_len, data_len));

	/*
	 * The body is not zeroed: every caller writes the name and the data
	 * over it, and kbus_msg_seal() the padding and the guard.
	 */
	msg = size <= PAGE_SIZE ? kmalloc(size, gfp) : kvmalloc(size, gfp);
	if (!msg)
		return ERR_PTR(-ENOMEM);
	memset(msg, 0, offsetof(struct kbus_msg, body));
	refcount_set(&msg->refcount, 1);
	msg->name_len = name_len;
	msg->data_len = data_len;
	kbus_msg_set_cost(msg);
	return msg;
}

/**
 * kbus_msg_alloc() - Allocate a message with room for a name and data.
 * @name_len: length of the name.
 * @data_len: length of the data.
 *
 * The caller fills the name and data and then calls kbus_msg_seal(); the
 * body is not zeroed before (only the fields before it are), so every
 * byte of the name and data must be written.  The allocation is charged
 * to the caller's memory cgroup.
 *
 * Context: Process context, may sleep.
 * Return: the message with one reference, or ERR_PTR(-ENOMEM) or
 * ERR_PTR(-EMSGSIZE) if the sizes overflow.
 */
struct kbus_msg *kbus_msg_alloc(u32 name_len, u32 data_len)
{
	return msg_alloc(name_len, data_len, GFP_KERNEL_ACCOUNT);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_msg_alloc);

/**
 * kbus_msg_alloc_gfp() - kbus_msg_alloc() with allocation flags.
 * @name_len: length of the name.
 * @data_len: length of the data.
 * @gfp: the allocation flags; with __GFP_NOFAIL (for what a closing Ksock
 *       must send) the message must be at most a page.
 *
 * Context: Process context, may sleep.
 * Return: as kbus_msg_alloc().
 */
struct kbus_msg *kbus_msg_alloc_gfp(u32 name_len, u32 data_len, gfp_t gfp)
{
	return msg_alloc(name_len, data_len, gfp);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_msg_alloc_gfp);

/**
 * kbus_msg_free() - Free a message whose last reference was dropped.
 * @msg: the message.
 *
 * Its size is worked out again from its lengths, which only
 * kbus_synth_fill() changes after the allocation, and only downwards in
 * a message far smaller than a page: kfree() gets what kmalloc() gave.
 *
 * Context: As kbus_msg_put().
 */
void kbus_msg_free(struct kbus_msg *msg)
{
	put_pid(msg->pid);
	if (msg_size(kbus_msg_body_len(msg)) <= PAGE_SIZE)
		kfree(msg);
	else
		kvfree(msg);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_msg_free);

/*
 * Zero the @n bytes at @p that pad a name or data to a multiple of four
 * (a name's NUL included: 1 to 4 bytes; data: 0 to 3), without a call to
 * memset() for so few.
 */
static void zero_pad(u8 *p, size_t n)
{
	switch (n) {
	case 4:
		p[3] = 0;
		fallthrough;
	case 3:
		p[2] = 0;
		fallthrough;
	case 2:
		p[1] = 0;
		fallthrough;
	case 1:
		p[0] = 0;
		break;
	}
}

/**
 * kbus_msg_seal() - Make the padding and guard of a filled message canonical.
 * @msg: the message, with its name and data filled.
 *
 * Zeroes the NUL and padding after the name and the padding after the data
 * (whatever a writer put there) and stores the final end guard.
 *
 * Context: Any context.
 */
void kbus_msg_seal(struct kbus_msg *msg)
{
	size_t npad = KBUS_PADDED_NAME_LEN(msg->name_len);
	size_t dpad = KBUS_PADDED_DATA_LEN((size_t)msg->data_len);
	u32 guard = KBUS_MSG_END_GUARD;

	zero_pad(msg->body + msg->name_len, npad - msg->name_len);
	zero_pad(msg->body + npad + msg->data_len, dpad - msg->data_len);
	memcpy(msg->body + npad + dpad, &guard, sizeof(guard));
}
EXPORT_SYMBOL_IF_KUNIT(kbus_msg_seal);

/**
 * kbus_qentry_alloc() - Allocate a recipient's copy of a message.
 * @msg: the message; the new entry takes its own reference.
 * @flags: the flags of this copy.
 *
 * The first copy of @msg uses the entry embedded in it, further copies
 * come from the queue entry cache.
 *
 * Context: Process context, may sleep.
 * Return: the entry, or NULL if out of memory.
 */
struct kbus_qentry *kbus_qentry_alloc(struct kbus_msg *msg, u32 flags)
{
	return kbus_qentry_alloc_gfp(msg, flags, GFP_KERNEL_ACCOUNT);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_qentry_alloc);

/**
 * kbus_qentry_alloc_gfp() - kbus_qentry_alloc() with allocation flags.
 * @msg: as for kbus_qentry_alloc().
 * @flags: the flags of this copy.
 * @gfp: the allocation flags.
 *
 * Context: Process context; sleeps only if @gfp allows it.
 * Return: the entry, or NULL if out of memory.
 */
struct kbus_qentry *kbus_qentry_alloc_gfp(struct kbus_msg *msg, u32 flags,
					  gfp_t gfp)
{
	struct kbus_qentry *qe;

	if (!msg->entry.msg) {
		qe = &msg->entry;
		memset(qe, 0, sizeof(*qe));
	} else {
		qe = kmem_cache_zalloc(kbus_qentry_cache, gfp);
		if (!qe)
			return NULL;
	}
	INIT_LIST_HEAD(&qe->node);
	refcount_inc(&msg->refcount);
	qe->msg = msg;
	qe->flags = flags;
	return qe;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_qentry_alloc_gfp);

/**
 * kbus_qentry_free() - Free a copy that is on no queue.
 * @qe: the entry, or NULL.
 *
 * Context: Process context; as kbus_msg_put() for the copy's message.
 */
void kbus_qentry_free(struct kbus_qentry *qe)
{
	struct kbus_msg *msg;

	if (!qe)
		return;
	msg = qe->msg;
	if (msg && qe == &msg->entry) {
		/* Free again for another copy while the sender holds @msg. */
		qe->msg = NULL;
		kbus_msg_put(msg);
		return;
	}
	kbus_msg_put(msg);
	kmem_cache_free(kbus_qentry_cache, qe);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_qentry_free);

/**
 * kbus_synth_alloc() - Allocate a copy of a message KBUS will generate.
 *
 * The message has room for the longest name KBUS generates and no data, so
 * that generating it later cannot fail.
 *
 * Context: Process context, may sleep.
 * Return: the entry, or NULL if out of memory.
 */
struct kbus_qentry *kbus_synth_alloc(void)
{
	return kbus_synth_alloc_gfp(GFP_KERNEL_ACCOUNT);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_synth_alloc);

/**
 * kbus_synth_alloc_gfp() - kbus_synth_alloc() with allocation flags.
 * @gfp: the allocation flags.
 *
 * Context: Process context; sleeps only if @gfp allows it.
 * Return: the entry, or NULL if out of memory.
 */
struct kbus_qentry *kbus_synth_alloc_gfp(gfp_t gfp)
{
	struct kbus_qentry *qe;
	struct kbus_msg *msg;

	msg = kbus_msg_alloc_gfp(KBUS_SYNTH_NAME_MAX - 1, 0, gfp);
	if (IS_ERR(msg))
		return NULL;
	qe = kbus_qentry_alloc_gfp(msg, 0, gfp);
	kbus_msg_put(msg);
	return qe;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_synth_alloc_gfp);

/**
 * kbus_synth_fill() - Turn a spare copy into a message KBUS generates.
 * @qe: an entry from kbus_synth_alloc(), on no queue.
 * @name: one of the KBUS_MSG_NAME_* names.
 * @id: the id of the new message.
 * @from: the Ksock id the message is from (0 for KBUS itself).
 * @to: the Ksock id of the recipient.
 * @in_reply_to: the request it answers, or NULL.
 *
 * Context: Any context.
 */
void kbus_synth_fill(struct kbus_qentry *qe, const char *name,
		     const struct kbus_msg_id *id, u32 from, u32 to,
		     const struct kbus_msg_id *in_reply_to)
{
	struct kbus_msg *msg = qe->msg;
	u32 len = strlen(name);

	if (WARN_ON_ONCE(len >= KBUS_SYNTH_NAME_MAX))
		len = KBUS_SYNTH_NAME_MAX - 1;
	msg->name_len = len;
	msg->data_len = 0;
	kbus_msg_set_cost(msg);
	memcpy(msg->body, name, len);
	kbus_msg_seal(msg);
	msg->id = *id;
	if (in_reply_to)
		msg->in_reply_to = *in_reply_to;
	msg->from = from;
	msg->to = to;
	msg->flags = KBUS_BIT_SYNTHETIC;
	qe->flags = KBUS_BIT_SYNTHETIC;
	qe->binding = NULL;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_synth_fill);

/**
 * kbus_bus_room_locked() - Tell waiting senders that there may be room.
 * @bus: the bus.
 *
 * Context: The bus lock is held.
 */
void kbus_bus_room_locked(struct kbus_bus *bus)
{
	kbus_lockdep_assert_bus(bus);

	atomic_inc(&bus->room_seq);
	kbus_bus_room_wake(bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bus_room_locked);

/**
 * kbus_queue_full_locked() - Whether a Ksock's queue has no room.
 * @ks: the Ksock.
 *
 * Slots reserved for the replies to the Ksock's outstanding requests count
 * as used.
 *
 * Context: The bus lock is held.
 * Return: true if nothing more may be queued.
 */
bool kbus_queue_full_locked(const struct kbus_ksock *ks)
{
	kbus_lockdep_assert_bus(ks->bus);
	return (u64)ks->queue_len + ks->num_outstanding >= ks->max_msgs;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_queue_full_locked);

/**
 * kbus_queue_push_locked() - Queue a copy on a Ksock and wake its readers.
 * @ks: the recipient.
 * @qe: the copy, on no queue; the queue takes it over.
 * @urgent: queue at the head instead of the tail.
 *
 * Does not check the queue limit: the caller has done so, or is using a
 * slot reserved earlier.
 *
 * Context: The bus lock is held.
 */
void kbus_queue_push_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			    bool urgent)
{
	kbus_queue_add_locked(ks, qe, urgent);
	kbus_ksock_wake(ks);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_queue_push_locked);

/**
 * kbus_queue_add_locked() - Queue a copy on a Ksock, waking nobody yet.
 * @ks: the recipient.
 * @qe: the copy, on no queue; the queue takes it over.
 * @urgent: queue at the head instead of the tail.
 *
 * As kbus_queue_push_locked(), for a caller that wakes the recipient with
 * kbus_ksock_wake() once it has dropped the bus lock.
 *
 * Context: The bus lock is held.
 */
void kbus_queue_add_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			   bool urgent)
{
	size_t cost;

	kbus_lockdep_assert_bus(ks->bus);

	cost = kbus_msg_cost(qe->msg);
	ks->queued_bytes += cost;
	kbus_user_charge_locked(ks->user, cost);
	if (urgent)
		list_add(&qe->node, &ks->queue);
	else
		list_add_tail(&qe->node, &ks->queue);
	/* Pairs with the READ_ONCE() in the poll handler. */
	WRITE_ONCE(ks->queue_len, ks->queue_len + 1);
	trace_kbus_deliver(ks, qe->msg, qe->flags);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_queue_add_locked);

/**
 * kbus_queue_remove_locked() - Take a copy off a Ksock's queue.
 * @ks: the Ksock.
 * @qe: a copy on @ks's queue; the caller now owns it.
 *
 * Context: The bus lock is held.
 */
void kbus_queue_remove_locked(struct kbus_ksock *ks, struct kbus_qentry *qe)
{
	kbus_queue_take_locked(ks, qe);
	kbus_bus_room_wake(ks->bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_queue_remove_locked);

/**
 * kbus_queue_take_locked() - Take a copy off a Ksock's queue, waking nobody.
 * @ks: the Ksock.
 * @qe: a copy on @ks's queue; the caller now owns it.
 *
 * As kbus_queue_remove_locked(), for a caller that wakes the senders
 * waiting for room with kbus_bus_room_wake() once it has dropped the bus
 * lock.
 *
 * Context: The bus lock is held.
 */
void kbus_queue_take_locked(struct kbus_ksock *ks, struct kbus_qentry *qe)
{
	size_t cost;

	kbus_lockdep_assert_bus(ks->bus);

	list_del_init(&qe->node);
	WRITE_ONCE(ks->queue_len, ks->queue_len - 1);
	/*
	 * The message is immutable while queued (kbus_synth_fill() fills
	 * entries on no queue): its cost is what was charged.
	 */
	cost = kbus_msg_cost(qe->msg);
	ks->queued_bytes -= cost;
	kbus_user_uncharge_locked(ks->user, cost);
	if (qe->lost_marker) {
		qe->lost_marker = false;
		ks->unbind_lost = false;
	}
	ks->queue_gen++;
	atomic_inc(&ks->bus->room_seq);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_queue_take_locked);
