// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - sending: routing a message to its recipients
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/build_bug.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "account.h"
#include "bind.h"
#include "core.h"
#include "msg.h"
#include "reply.h"
#include "send.h"
#include "trace.h"

/**
 * DOC: Message lifecycle and ordering
 *
 * A message is sent with one %KBUS_IOC_SENDMSG, as a header pointing at
 * its name and data ("pointy") or with name and data inline ("entire"),
 * and copied from user space once, into a &struct kbus_msg.  It is then
 * routed under the bus lock, in two passes:
 *
 * 1. Plan: find the replier (for a request) or the requester (for a
 *    reply) and every matching listener binding, and decide for each
 *    whether it gets a copy, misses it (no room within its limits, see
 *    "Resource accounting", or no memory for the copy's queue entry in
 *    its memory cgroup), or makes the send fail
 *    (%KBUS_BIT_ALL_OR_FAIL, %KBUS_BIT_ALL_OR_WAIT, a full replier).
 *    Each copy's queue entry is allocated as it is planned, charged to
 *    the memory cgroup of its recipient; without sleeping under the bus
 *    lock held as a spinlock, and if that fails, with the send made
 *    again holding the bus lock sleepably (see "Locking overview").
 *    Nothing has been delivered yet, so a failure here (-ENOMEM too)
 *    leaves no trace.
 * 2. Deliver: the reply, then the request to its replier, then the
 *    listeners' copies, each charged to its recipient as it is queued.
 *    This pass cannot fail.  It goes through the listener bindings the
 *    plan remembered, in the order it found them, or if there were more
 *    than %KBUS_ROUTE_PLANNED, through the listeners of the name again.
 *
 * Every recipient shares the one message body.  Because every send and
 * every queue change of a bus happens under its lock, and message ids are
 * assigned under that lock in send order, every recipient sees the bus's
 * messages in the same order (except that %KBUS_BIT_URGENT messages go to
 * the head of each queue).  A send that waits for room
 * (%KBUS_BIT_ALL_OR_WAIT) is given its id when it is finally delivered,
 * so ids never go backwards on a bus.
 */

/*
 * A Ksock is full if one more copy, on top of those planned for it, would
 * take it past one of its limits.
 */
static bool full_pending_locked(const struct kbus_ksock *ks, size_t cost)
{
	return (u64)ks->queue_len + ks->num_outstanding + ks->send_pending >=
	       ks->max_msgs || !kbus_ksock_room_locked(ks, cost);
}

struct route {
	struct kbus_bus *bus;
	struct kbus_ksock *sender;	/* NULL for KBUS's own messages */
	struct kbus_msg *msg;
	size_t cost;			/* kbus_msg_cost() of the message */
	u32 mode;			/* ALL_OR_* bits in force */
	bool lossy;			/* a bind event: lost if no room */
	bool nofail;			/* allocations cannot fail */
	bool atomic;			/* under the spinlock: cannot sleep */
	bool need_sleep;		/* to be made again, sleepably */
	u32 ncopies;			/* copies planned */
	struct kbus_msg_id lost_id;	/* the one id they all share */
	struct list_head entries;	/* preallocated queue entries */
	struct list_head lost;		/* preallocated UnbindEventsLost */
	bool defer_wake;		/* the caller wakes after unlocking */
	u32 nwake;			/* recipients in @wake */
	u32 nplanned;			/* listener bindings planned */
	/* Last, not cleared: only the first @nwake, @nplanned are read. */
	struct kbus_ksock *wake[KBUS_WAKE_BATCH];
	struct kbus_binding *planned[KBUS_ROUTE_PLANNED];
};

/* route_init() clears up to the arrays: nothing may follow them. */
static_assert(offsetofend(struct route, planned) == sizeof(struct route));

/*
 * Start a route: every field zero but those given, except the arrays at
 * its end.  Clearing them would cost each send a few hundred bytes of
 * stores, where a send to one listener reads one entry of each.
 */
static void route_init(struct route *r, struct kbus_bus *bus,
		       struct kbus_ksock *sender, struct kbus_msg *msg)
{
	memset(r, 0, offsetof(struct route, wake));
	r->bus = bus;
	r->sender = sender;
	r->msg = msg;
	INIT_LIST_HEAD(&r->entries);
	INIT_LIST_HEAD(&r->lost);
}

/*
 * Queue a copy.  A sender that can (kbus_send()) wakes the first
 * recipients only once it has dropped the bus lock, so that they do not
 * find it held when they come to take the message; the rest, and every
 * recipient of a message KBUS generates under a lock held by its caller,
 * are woken at once.
 */
static __always_inline void push(struct route *r, struct kbus_ksock *ks,
				 struct kbus_qentry *qe, bool urgent)
{
	if (!r->defer_wake) {
		kbus_queue_push_locked(ks, qe, urgent);
		return;
	}
	kbus_queue_add_locked(ks, qe, urgent);
	/* Already to be woken after the bus lock is dropped. */
	if (ks->wake_pending)
		return;
	if (r->nwake == ARRAY_SIZE(r->wake)) {
		kbus_ksock_wake(ks);
		return;
	}
	ks->wake_pending = true;
	r->wake[r->nwake++] = ks;
}

/* A full listener misses the message: counted once, however many bindings. */
static void plan_missed(struct kbus_ksock *ks, struct kbus_binding *b)
{
	if (!ks->send_missed)
		b->send_state = KBUS_SEND_DROP;
	ks->send_missed = true;
}

/*
 * A send first runs under the bus lock held as a spinlock, where a queue
 * entry for a second recipient must be found without sleeping; if none
 * can be, the send is made again with the bus lock held sleepably (see
 * send_msg()).  The unbind events of a replier
 * cannot fail, however it goes (a closing or OOM-killed task): their few
 * small allocations may not either.
 */
static gfp_t route_gfp(const struct route *r)
{
	if (r->atomic)
		return GFP_NOWAIT | __GFP_ACCOUNT | __GFP_NOWARN;
	return GFP_KERNEL_ACCOUNT | (r->nofail ? __GFP_NOFAIL : 0);
}

/* An allocation failed: for lack of memory, or of the right to sleep? */
static int alloc_failed(struct route *r)
{
	if (r->atomic)
		r->need_sleep = true;
	return -ENOMEM;
}

/* Allocate the queue entry of a copy planned for @ks, charged to its memcg. */
static __always_inline int alloc_entry(struct route *r,
				       struct kbus_ksock *ks)
{
	struct mem_cgroup *old = set_active_memcg(ks->memcg);
	struct kbus_qentry *qe;

	qe = kbus_qentry_alloc_gfp(r->msg, 0, route_gfp(r));
	set_active_memcg(old);
	if (!qe)
		return alloc_failed(r);
	list_add_tail(&qe->node, &r->entries);
	return 0;
}

/* Plan a copy for @ks through @b, charged to @ks's limits. */
static __always_inline int plan_copy(struct route *r, struct kbus_ksock *ks,
				     struct kbus_binding *b)
{
	int err;

	if (r->atomic && ++r->ncopies > KBUS_SPIN_MAX_COPIES) {
		r->need_sleep = true;
		return -ENOMEM;
	}
	err = alloc_entry(r, ks);
	if (err)
		return err;
	if (b)
		b->send_state = KBUS_SEND_DELIVER;
	ks->send_pending++;
	ks->send_bytes += r->cost;
	ks->user->send_bytes += r->cost;
	ks->send_chosen = true;
	return 0;
}

/*
 * A listener of a replier bind event that has no room for it, or no
 * memory for its copy, gets a single ``$.KBUS.UnbindEventsLost`` in its
 * place, past its limits, and nothing more until it has read it.  The
 * marker is charged to the memory cgroup of the task whose bind or unbind
 * the event reports, so that the listener's cannot make that fail.
 */
static int plan_lost(struct route *r, struct kbus_binding *b)
{
	struct kbus_ksock *ks = b->ksock;
	struct kbus_qentry *qe;

	if (ks->unbind_lost || ks->send_chosen) {
		plan_missed(ks, b);
		return 0;
	}
	qe = kbus_synth_alloc_gfp(route_gfp(r));
	if (!qe)
		return alloc_failed(r);
	list_add_tail(&qe->node, &r->lost);
	b->send_state = KBUS_SEND_LOST;
	ks->send_chosen = true;
	/* Its other bindings add nothing: the event is missed. */
	ks->send_missed = true;
	return 0;
}

static int plan_one(struct route *r, struct kbus_binding *b)
{
	struct kbus_ksock *ks = b->ksock;
	int err;

	/* A Ksock that misses the message misses it through every binding. */
	if (ks->send_missed || (ks->only_once && ks->send_chosen))
		return 0;
	/* After a loss, no event until the marker has been read. */
	if (r->lossy && ks->unbind_lost) {
		plan_missed(ks, b);
		return 0;
	}
	if (full_pending_locked(ks, r->cost)) {
		if (r->lossy)
			return plan_lost(r, b);
		if (r->mode & KBUS_BIT_ALL_OR_FAIL)
			return -EBUSY;
		if (r->mode & KBUS_BIT_ALL_OR_WAIT)
			return -EAGAIN;
		plan_missed(ks, b);
		return 0;
	}
	err = plan_copy(r, ks, b);
	/*
	 * A listener whose copy cannot be allocated misses the message, as
	 * if its queue were full, rather than make the send fail for
	 * everyone; only a send that must reach every listener fails.  Its
	 * other bindings do not try again.  An allocation that only needed
	 * to sleep is made again, sleepably.
	 */
	if (err != -ENOMEM || r->need_sleep ||
	    (r->mode & (KBUS_BIT_ALL_OR_FAIL | KBUS_BIT_ALL_OR_WAIT)))
		return err;
	if (r->lossy)
		return plan_lost(r, b);
	plan_missed(ks, b);
	return 0;
}

/*
 * Plan the copy of one listener binding.  Every Ksock whose planning
 * state this changes has a binding in another state than
 * %KBUS_SEND_NONE: the bindings remembered are all that delivering, or
 * resetting, needs to visit.
 */
static int plan_listener(struct kbus_binding *b, void *arg)
{
	struct route *r = arg;
	int err;

	b->send_state = KBUS_SEND_NONE;
	err = plan_one(r, b);
	if (b->send_state != KBUS_SEND_NONE) {
		if (r->nplanned < ARRAY_SIZE(r->planned))
			r->planned[r->nplanned] = b;
		r->nplanned++;
	}
	return err;
}

static void reset_ksock(struct kbus_ksock *ks)
{
	if (ks) {
		ks->send_pending = 0;
		ks->send_bytes = 0;
		ks->user->send_bytes = 0;
		ks->send_chosen = false;
		ks->send_missed = false;
	}
}

static int reset_listener(struct kbus_binding *b, void *arg)
{
	b->send_state = KBUS_SEND_NONE;
	reset_ksock(b->ksock);
	return 0;
}

static struct kbus_qentry *take_entry(struct route *r, u32 flags,
				      struct kbus_binding *b)
{
	struct kbus_qentry *qe;

	qe = list_first_entry(&r->entries, struct kbus_qentry, node);
	list_del_init(&qe->node);
	qe->flags = flags;
	qe->binding = b;
	return qe;
}

static int deliver_listener(struct kbus_binding *b, void *arg)
{
	struct route *r = arg;
	struct kbus_ksock *ks = b->ksock;
	u32 flags = r->msg->flags & ~KBUS_BIT_WANT_YOU_TO_REPLY;
	struct kbus_qentry *qe;

	switch (b->send_state) {
	case KBUS_SEND_DELIVER:
		push(r, ks, take_entry(r, flags, b),
		     r->msg->flags & KBUS_BIT_URGENT);
		break;
	case KBUS_SEND_LOST:
		qe = list_first_entry(&r->lost, struct kbus_qentry, node);
		list_del_init(&qe->node);
		/* One message, so one id, however many listeners miss out. */
		if (!r->lost_id.serial_num)
			kbus_next_msg_id_locked(ks->bus, &r->lost_id);
		kbus_synth_fill(qe, KBUS_MSG_NAME_UNBIND_EVENTS_LOST,
				&r->lost_id, 0, 0, NULL);
		qe->binding = b;
		qe->lost_marker = true;
		ks->unbind_lost = true;
		push(r, ks, qe, false);
		/* The event itself is missed. */
		ks->dropped++;
		break;
	case KBUS_SEND_DROP:
		ks->dropped++;
		trace_kbus_drop(ks, r->msg, flags);
		break;
	}
	return reset_listener(b, arg);
}

/* Call @fn for the planned listener bindings, in the order planned. */
static void visit_planned(struct route *r, const char *name, u32 len,
			  int (*fn)(struct kbus_binding *b, void *arg))
{
	u32 i;

	if (r->nplanned > ARRAY_SIZE(r->planned)) {
		kbus_visit_listeners_locked(r->bus, name, len, fn, r);
		return;
	}
	for (i = 0; i < r->nplanned; i++)
		fn(r->planned[i], r);
}

/* The entries planned and not delivered: usually none. */
static __always_inline void free_entries(struct route *r)
{
	struct kbus_qentry *qe, *tmp;

	if (likely(list_empty(&r->entries) && list_empty(&r->lost)))
		return;
	list_for_each_entry_safe(qe, tmp, &r->entries, node) {
		list_del(&qe->node);
		kbus_qentry_free(qe);
	}
	list_for_each_entry_safe(qe, tmp, &r->lost, node) {
		list_del(&qe->node);
		kbus_qentry_free(qe);
	}
}

/*
 * Route a message whose id and sender are set.  @req is the outstanding
 * record (with its spare reply) to use if the message is a request.
 */
static int route_locked(struct route *r, struct kbus_request **req)
{
	struct kbus_ksock *ks = r->sender, *requester = NULL, *replier = NULL;
	struct kbus_msg *msg = r->msg;
	struct kbus_bus *bus = r->bus;
	const char *name = kbus_msg_name(msg);
	struct kbus_binding *rb = NULL;
	struct kbus_request *out = NULL, *owed;
	bool urgent = msg->flags & KBUS_BIT_URGENT;
	bool to_listeners = true;
	int err;

	kbus_lockdep_assert_bus(bus);

	r->nplanned = 0;
	r->cost = kbus_msg_cost(msg);
	if (kbus_msg_is_reply(msg)) {
		r->mode = 0;	/* ALL_OR_* do not apply to replies */
		requester = kbus_ksock_lookup_locked(bus, msg->to);
		if (!requester) {
			/* The requester has gone: nothing is owed any more. */
			owed = kbus_owed_find_locked(ks, &msg->in_reply_to,
						     msg->to);
			if (owed) {
				kbus_owed_remove_locked(ks, owed);
				kbus_owed_put(ks, owed);
			}
			return -EADDRNOTAVAIL;
		}
		out = kbus_outstanding_find_locked(requester,
						   &msg->in_reply_to, ks->id);
		if (!out)
			return -ECONNREFUSED;
		/*
		 * The reply takes the slot reserved when the request went,
		 * past the requester's byte limits if need be.
		 */
		err = alloc_entry(r, requester);
		if (err)
			return err;
		requester->send_chosen = true;
	} else if (kbus_msg_is_request(msg)) {
		rb = kbus_replier_for_locked(bus, name, msg->name_len);
		if (!rb)
			return -EADDRNOTAVAIL;
		replier = rb->ksock;
		if (msg->to && msg->to != replier->id)
			return -EPIPE;
		/* The slot for the reply is taken from the sender's queue. */
		ks->send_pending++;
		if (full_pending_locked(replier, r->cost) ||
		    replier->num_owed >= READ_ONCE(kbus_max_requests)) {
			err = r->mode & KBUS_BIT_ALL_OR_WAIT ? -EAGAIN : -EBUSY;
			goto out_reset;
		}
		err = plan_copy(r, replier, NULL);
		if (err)
			goto out_reset;
	}

	/*
	 * A status a bridge relays (the only synthetic reply sent through
	 * here) goes to its requester alone, as those of KBUS do.
	 */
	to_listeners = !requester || !(msg->flags & KBUS_BIT_SYNTHETIC);
	if (to_listeners) {
		err = kbus_visit_listeners_locked(bus, name, msg->name_len,
						  plan_listener, r);
		if (err)
			goto out_reset;
	}

	if (requester) {
		kbus_outstanding_remove_locked(requester, out);
		kbus_outstanding_put(requester, out);
		owed = kbus_owed_find_locked(ks, &msg->in_reply_to, msg->to);
		if (owed) {
			kbus_owed_remove_locked(ks, owed);
			kbus_owed_put(ks, owed);
		}
		push(r, requester, take_entry(r, msg->flags, NULL), urgent);
		trace_kbus_reply(bus, requester->id, &msg->in_reply_to, ks->id,
				 false);
	}
	if (replier) {
		push(r, replier,
		     take_entry(r, msg->flags | KBUS_BIT_WANT_YOU_TO_REPLY, rb),
		     urgent);
		kbus_outstanding_add_locked(ks, *req, &msg->id, replier->id);
		*req = NULL;
	}
	/* Delivering resets each listener's planning state as it goes. */
	visit_planned(r, name, msg->name_len, deliver_listener);
	err = 0;
	goto out_ksocks;

out_reset:
	visit_planned(r, name, msg->name_len, reset_listener);
out_ksocks:
	reset_ksock(ks);
	reset_ksock(requester);
	reset_ksock(replier);
	return err;
}

/*
 * Write @id to @uid with page faults disabled, as copy_to_user_nofault()
 * would, but as two 32-bit stores in one user access: for eight bytes,
 * the string copy behind copy_to_user_nofault() costs more than the
 * stores, and it is made under the bus lock.  Returns false on a fault.
 */
static bool put_id_nofault(struct kbus_msg_id __user *uid,
			   const struct kbus_msg_id *id)
{
	bool ok = false;

	if (should_fail_usercopy())
		return false;
	pagefault_disable();
	if (!user_write_access_begin(uid, sizeof(*uid)))
		goto out;
	unsafe_put_user(id->network_id, &uid->network_id, end);
	unsafe_put_user(id->serial_num, &uid->serial_num, end);
	ok = true;
end:
	user_write_access_end();
out:
	pagefault_enable();
	return ok;
}

/*
 * The part of a send made under the bus lock, held either way: the id is
 * stored to @id and written to @uid, either or both.  Returns as
 * kbus_send(), and -ENOMEM with @r->need_sleep set if, under the spinlock,
 * a queue entry could not be had without sleeping or the message has more
 * than %KBUS_SPIN_MAX_COPIES recipients (nothing was routed).
 */
static int send_locked(struct route *r, struct kbus_request **req,
		       struct kbus_msg_id *id, struct kbus_msg_id __user *uid)
{
	struct kbus_ksock *ks = r->sender;
	struct kbus_msg *msg = r->msg;
	struct kbus_bus *bus = r->bus;
	u32 last_serial;
	int err;

	kbus_lockdep_assert_bus(bus);

	if (*req && (kbus_queue_full_locked(ks) ||
		     ks->num_outstanding >= READ_ONCE(kbus_max_requests)))
		return -ENOLCK;
	if (*req && !kbus_user_room_locked(ks->user, kbus_request_cost()))
		return -ENOBUFS;
	msg->from = ks->id;
	last_serial = bus->next_serial;
	if (!msg->id.network_id)
		kbus_next_msg_id_locked(bus, &msg->id);
	/*
	 * A user space sender is told the id first, so that a send whose id
	 * cannot be written is not made.  No page fault may be taken under
	 * the bus lock (see kbus_send_user()).
	 */
	if (uid && !put_id_nofault(uid, &msg->id))
		err = -EFAULT;
	else
		err = route_locked(r, req);
	if (err)
		/* Nothing was delivered: the id is free for the next message. */
		bus->next_serial = last_serial;
	if (r->need_sleep)
		return err;
	if (!err && id)
		*id = msg->id;
	trace_kbus_send(bus, ks->id, msg, err);
	if (err)
		kbus_dbg(bus, "ksock %u send %u:%u %s: %d\n", ks->id,
			 msg->id.network_id, msg->id.serial_num,
			 kbus_msg_name(msg), err);
	return err;
}

/* Before the bus lock is dropped: the recipients to wake are not pending. */
static void send_unpend(struct route *r)
{
	u32 i;

	for (i = 0; i < r->nwake; i++)
		r->wake[i]->wake_pending = false;
}

/*
 * After the bus lock was dropped, in the RCU read-side critical section
 * entered before (a recipient that closes meanwhile is freed after a grace
 * period): wake the recipients.
 */
static void send_wake(struct route *r)
{
	u32 i;

	for (i = 0; i < r->nwake; i++)
		kbus_ksock_wake(r->wake[i]);
	r->nwake = 0;
}

/* A send, with the id stored to @id and written to @uid, either or both. */
static int send_msg(struct kbus_ksock *ks, struct kbus_msg *msg,
		    struct kbus_msg_id *id, struct kbus_msg_id __user *uid)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_request *req = NULL;
	struct route r __uninitialized;
	int err;

	if (kbus_msg_is_request(msg) && kbus_msg_is_reply(msg))
		return -EINVAL;
	route_init(&r, bus, ks, msg);
	r.mode = msg->flags & (KBUS_BIT_ALL_OR_FAIL | KBUS_BIT_ALL_OR_WAIT);
	r.defer_wake = true;
	r.atomic = true;
	if (kbus_msg_is_request(msg)) {
		req = kbus_outstanding_get(ks);
		if (!req)
			return -ENOMEM;
	}

	kbus_bus_lock(bus);
	err = send_locked(&r, &req, id, uid);
	send_unpend(&r);
	rcu_read_lock();
	kbus_bus_unlock(bus);
	send_wake(&r);
	rcu_read_unlock();
	free_entries(&r);

	if (r.need_sleep) {
		/* Made again, allowed to sleep and to take long. */
		r.atomic = false;
		r.need_sleep = false;
		r.ncopies = 0;
		err = kbus_bus_lock_sleepable_killable(bus);
		if (!err) {
			err = send_locked(&r, &req, id, uid);
			send_unpend(&r);
			rcu_read_lock();
			kbus_bus_unlock_sleepable(bus);
			send_wake(&r);
			rcu_read_unlock();
			free_entries(&r);
		}
	}
	kbus_outstanding_put(ks, req);
	return err;
}

/**
 * kbus_send() - Send a message from a Ksock.
 * @ks: the sender.
 * @msg: the message, complete and validated; the caller keeps its
 *       reference.
 * @id: where to store the message's id (set on success).
 *
 * Unless the message came from another network (``id.network_id`` set),
 * it is given the bus's next id, under the bus lock, at each call, and a
 * call that fails gives it back: a send tried again after -EAGAIN is given
 * its id when it is delivered, and a refused send leaves no gap.
 *
 * Context: Process context; takes the bus lock as a spinlock, and
 * sleepably (killably) for a queue entry that could not be allocated
 * without sleeping or a message of more than %KBUS_SPIN_MAX_COPIES copies.
 * Return: 0; -EINVAL if the message is both a request and a reply;
 * -ENOLCK if a request finds no room for its reply in the sender's queue,
 * or the sender has ``kbus_max_requests`` outstanding; -ENOBUFS if a
 * request would take the sender's user past ``kbus_user_bytes``;
 * -EADDRNOTAVAIL if a request has no replier or a reply's requester has
 * gone; -ECONNREFUSED if a reply answers no request
 * outstanding from this Ksock; -EPIPE if a stateful request's replier is
 * not bound any more; -EBUSY if a required recipient is full; -EAGAIN if
 * an %KBUS_BIT_ALL_OR_WAIT send must wait; -ENOMEM; -EINTR if a fatal
 * signal arrived while it waited to hold the bus lock sleepably.
 */
int kbus_send(struct kbus_ksock *ks, struct kbus_msg *msg,
	      struct kbus_msg_id *id)
{
	return send_msg(ks, msg, id, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_send);

/**
 * kbus_send_user() - Send a message, telling a user space sender its id.
 * @ks: the sender.
 * @msg: the message, as for kbus_send().
 * @uid: where to write the message's id, in user memory.
 *
 * As kbus_send(), except that the id is written to @uid under the bus
 * lock, with page faults disabled, as soon as it is given and before
 * anything is routed: if it cannot be written, nothing is sent and
 * -EFAULT is returned.  The caller then tells a page not mapped in (or to
 * be copied on write) from one that cannot be written by writing it with
 * page faults allowed, and tries again.  A send that fails after the id
 * was written leaves it there: the caller clears it.
 *
 * Context: Process context; takes the bus lock as kbus_send() does.
 * Return: as kbus_send(), and -EFAULT before any other error the routing
 * finds.
 */
int kbus_send_user(struct kbus_ksock *ks, struct kbus_msg *msg,
		   struct kbus_msg_id __user *uid)
{
	return send_msg(ks, msg, NULL, uid);
}

/**
 * kbus_send_event_locked() - Send a replier bind event.
 * @bus: the bus.
 * @msg: the event, with its id, flags and addressing set; the caller keeps
 *       its reference.
 * @nofail: an unbind event, which cannot fail: its allocations do not.
 *
 * The event never waits for nor fails for a slow listener: one without
 * room, or without memory for its copy, gets a single
 * ``$.KBUS.UnbindEventsLost`` in its place, past its limits, and misses
 * every event after it until it has read that one.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, or -ENOMEM (never with @nofail).
 */
int kbus_send_event_locked(struct kbus_bus *bus, struct kbus_msg *msg,
			   bool nofail)
{
	struct route r __uninitialized;
	int err;

	kbus_lockdep_assert_bus_sleepable(bus);

	route_init(&r, bus, NULL, msg);
	r.lossy = true;
	r.nofail = nofail;
	err = route_locked(&r, NULL);
	trace_kbus_send(bus, 0, msg, err);
	free_entries(&r);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_send_event_locked);
