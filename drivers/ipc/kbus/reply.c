// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - requests, replies and the messages that stand in for replies
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/lockdep.h>
#include <linux/slab.h>

#include "account.h"
#include "bind.h"
#include "core.h"
#include "msg.h"
#include "reply.h"
#include "trace.h"

/**
 * DOC: The reply-or-error guarantee
 *
 * Every request that KBUS accepts gets exactly one answer: the replier's
 * reply, or a message that KBUS generates to say why no reply will come.
 *
 * When a request is delivered to its replier, KBUS records it among the
 * requester's *outstanding* requests.  The record holds a slot of the
 * requester's queue (the queue counts as full earlier) and a spare message,
 * allocated then, that becomes the synthetic reply if it is needed.  So the
 * answer can always be queued: there is room for it and nothing left to
 * allocate.
 *
 * When the replier receives the request, KBUS records it among the
 * replier's *owed* requests (&struct kbus_ksock_info.num_unreplied counts
 * them).  Both are trees ordered by the other end's Ksock id and the
 * request id, so that a reply, a synthetic reply and a close find each
 * record in O(log n), however many requests a Ksock holds.
 *
 * The outstanding record goes away when the answer is queued, whichever it
 * is; after a real reply, the requester may keep it, spare and all, for
 * its next request, and the replier its owed record for the next request
 * it reads (see kbus_outstanding_get()), so that a steady exchange of requests
 * and replies allocates nothing but the messages.
 *
 * Synthetic replies carry %KBUS_BIT_SYNTHETIC, ``from`` 0 (KBUS itself)
 * and ``in_reply_to`` the request.  A reply is accepted only from the
 * replier the request went to, and only while the record exists, so a
 * second reply or a reply from anyone else fails with -ECONNREFUSED.
 * Synthetic replies:
 *
 * - ``$.KBUS.Replier.GoneAway``: the replier closed with the request unread.
 * - ``$.KBUS.Replier.Unbound``: the replier unbound the binding through
 *   which the unread request was queued.
 * - ``$.KBUS.Replier.Ignored``: the replier closed with the request read
 *   and not replied to.
 * - ``$.KBUS.Request.Cancelled``: the requester gave the request up
 *   (%KBUS_IOC_CANCEL with its id), so that a replier that never answers
 *   cannot keep its slot forever.
 *
 * If the requester closes first, its records and spares are freed; a later
 * reply fails with -EADDRNOTAVAIL and is removed from the replier's owed
 * requests.  A request that nobody waits for any more when its replier
 * reads it (its requester closed or cancelled it, or it was answered
 * before it was read) is not owed.
 */

/**
 * kbus_request_alloc() - Allocate a request record.
 * @with_spare: also allocate the spare synthetic reply (for an outstanding
 *              record).
 *
 * Context: Process context, may sleep.
 * Return: the record, or NULL if out of memory.
 */
struct kbus_request *kbus_request_alloc(bool with_spare)
{
	struct kbus_request *req;

	req = kzalloc(sizeof(*req), GFP_KERNEL_ACCOUNT);
	if (!req)
		return NULL;
	RB_CLEAR_NODE(&req->node);
	if (with_spare) {
		req->spare = kbus_synth_alloc();
		if (!req->spare) {
			kfree(req);
			return NULL;
		}
	}
	return req;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_request_alloc);

/**
 * kbus_request_free() - Free a request record in no tree.
 * @req: the record, or NULL.
 *
 * Context: Process context.
 */
void kbus_request_free(struct kbus_request *req)
{
	if (!req)
		return;
	kbus_qentry_free(req->spare);
	kfree(req);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_request_free);

/*
 * A Ksock keeps at most one record of each kind that it has finished
 * with, so that after its first request, or the first request it reads,
 * the commonest exchange allocates nothing for its bookkeeping.  The slot
 * is emptied and refilled with atomic exchanges: a Ksock's own calls take
 * from it without the bus lock, and the reply that ends a request refills
 * it under the lock.  The bytes of both kept records are charged with the
 * Ksock (see ksock_cost()), to the memory cgroup of the task that
 * allocated them.
 */
static struct kbus_request *request_get(struct kbus_request **slot,
					bool with_spare)
{
	struct kbus_request *req = xchg(slot, NULL);

	return req ?: kbus_request_alloc(with_spare);
}

static void request_put(struct kbus_request **slot, struct kbus_request *req)
{
	if (cmpxchg(slot, NULL, req))
		kbus_request_free(req);
}

/**
 * kbus_outstanding_get() - A record, with its spare, for a request to send.
 * @ks: the requester.
 *
 * The record @ks kept from its last request answered, or a new one.
 *
 * Context: Process context, may sleep.
 * Return: a record in no tree, or NULL if out of memory.
 */
struct kbus_request *kbus_outstanding_get(struct kbus_ksock *ks)
{
	return request_get(&ks->spare_req, true);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_outstanding_get);

/**
 * kbus_outstanding_keep() - Keep or free a requester's record.
 * @ks: the requester that allocated it.
 * @req: a record in no tree.  Only one whose spare reply is still there
 *       is kept.
 *
 * Context: As kbus_outstanding_put().
 */
void kbus_outstanding_keep(struct kbus_ksock *ks, struct kbus_request *req)
{
	if (req->spare)
		request_put(&ks->spare_req, req);
	else
		kbus_request_free(req);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_outstanding_keep);

/**
 * kbus_owed_get() - A record for a request to be read.
 * @ks: the replier.
 *
 * The record @ks kept from the last request it replied to, or a new one.
 *
 * Context: Process context, may sleep.
 * Return: a record in no tree, without spare, or NULL if out of memory.
 */
struct kbus_request *kbus_owed_get(struct kbus_ksock *ks)
{
	return request_get(&ks->spare_owed, false);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_owed_get);

/**
 * kbus_owed_keep() - Keep or free a replier's record.
 * @ks: the replier that allocated it.
 * @req: a record in no tree, without spare.
 *
 * Context: As kbus_outstanding_put().
 */
void kbus_owed_keep(struct kbus_ksock *ks, struct kbus_request *req)
{
	if (!req->spare)
		request_put(&ks->spare_owed, req);
	else
		kbus_request_free(req);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_owed_keep);

/* Order of request records in a tree: by peer, then by request id. */
static int req_cmp(u32 peer_id, const struct kbus_msg_id *id,
		   const struct kbus_request *req)
{
	if (peer_id != req->peer_id)
		return peer_id < req->peer_id ? -1 : 1;
	if (id->network_id != req->id.network_id)
		return id->network_id < req->id.network_id ? -1 : 1;
	if (id->serial_num != req->id.serial_num)
		return id->serial_num < req->id.serial_num ? -1 : 1;
	return 0;
}

/* Insert a record whose @id and @peer_id are set: O(log n), cannot fail. */
static void req_insert(struct rb_root *root, struct kbus_request *req)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (req_cmp(req->peer_id, &req->id,
			    rb_entry(parent, struct kbus_request, node)) < 0)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&req->node, parent, link);
	rb_insert_color(&req->node, root);
}

static struct kbus_request *req_find(struct rb_root *root,
				     const struct kbus_msg_id *id, u32 peer_id)
{
	struct rb_node *n = root->rb_node;
	struct kbus_request *req;
	int c;

	while (n) {
		req = rb_entry(n, struct kbus_request, node);
		c = req_cmp(peer_id, id, req);
		if (!c)
			return req;
		n = c < 0 ? n->rb_left : n->rb_right;
	}
	return NULL;
}

static void req_erase(struct rb_root *root, struct kbus_request *req)
{
	rb_erase(&req->node, root);
	RB_CLEAR_NODE(&req->node);
}

/**
 * kbus_outstanding_add_locked() - Record a request sent by a Ksock.
 * @requester: the Ksock that sent it.
 * @req: a record with a spare, in no tree; the Ksock takes it over.
 * @id: the request's id.
 * @replier_id: the Ksock id of the replier it was delivered to.
 *
 * Context: The bus lock is held.
 */
void kbus_outstanding_add_locked(struct kbus_ksock *requester,
				 struct kbus_request *req,
				 const struct kbus_msg_id *id, u32 replier_id)
{
	kbus_lockdep_assert_bus(requester->bus);

	req->id = *id;
	req->peer_id = replier_id;
	req_insert(&requester->outstanding, req);
	requester->num_outstanding++;
	kbus_user_charge_locked(requester->user, kbus_request_cost());
}
EXPORT_SYMBOL_IF_KUNIT(kbus_outstanding_add_locked);

/**
 * kbus_outstanding_find_locked() - Find a request a Ksock is waiting on.
 * @requester: the Ksock that sent it.
 * @id: the request's id.
 * @replier_id: the replier it must have gone to.
 *
 * Context: The bus lock is held.
 * Return: the record, or NULL.
 */
struct kbus_request *kbus_outstanding_find_locked(struct kbus_ksock *requester,
						  const struct kbus_msg_id *id,
						  u32 replier_id)
{
	kbus_lockdep_assert_bus(requester->bus);

	return req_find(&requester->outstanding, id, replier_id);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_outstanding_find_locked);

/**
 * kbus_outstanding_remove_locked() - Forget an answered request.
 * @requester: the Ksock that sent it.
 * @req: its record; the caller now owns it.
 *
 * What the request cost its user is given back, so a send waiting for
 * room at a Ksock of that user may go now: waiting senders are told.
 *
 * Context: The bus lock is held.
 */
void kbus_outstanding_remove_locked(struct kbus_ksock *requester,
				    struct kbus_request *req)
{
	kbus_lockdep_assert_bus(requester->bus);

	req_erase(&requester->outstanding, req);
	requester->num_outstanding--;
	kbus_user_uncharge_locked(requester->user, kbus_request_cost());
	kbus_bus_room_locked(requester->bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_outstanding_remove_locked);

/**
 * kbus_reply_awaited_locked() - Whether a request still waits for a reply.
 * @replier: the Ksock the request was delivered to.
 * @req: the request.
 *
 * A request can stop waiting while it is queued: its requester closed, or
 * the replier answered it before reading it.  Nothing is owed for it then.
 *
 * Context: The bus lock is held.
 * Return: true if its requester still has it outstanding from @replier.
 */
bool kbus_reply_awaited_locked(struct kbus_ksock *replier,
			       const struct kbus_msg *req)
{
	struct kbus_ksock *requester;

	kbus_lockdep_assert_bus(replier->bus);

	requester = kbus_ksock_lookup_locked(replier->bus, req->from);
	return requester &&
	       kbus_outstanding_find_locked(requester, &req->id, replier->id);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_reply_awaited_locked);

/**
 * kbus_owed_add_locked() - Record a request read by its replier.
 * @replier: the replier.
 * @req: a record in no tree; the Ksock takes it over.
 * @id: the request's id.
 * @requester_id: the Ksock id of the requester.
 *
 * Context: The bus lock is held.
 */
void kbus_owed_add_locked(struct kbus_ksock *replier, struct kbus_request *req,
			  const struct kbus_msg_id *id, u32 requester_id)
{
	kbus_lockdep_assert_bus(replier->bus);

	req->id = *id;
	req->peer_id = requester_id;
	req_insert(&replier->owed, req);
	replier->num_owed++;
	kbus_user_charge_locked(replier->user, kbus_record_cost());
}
EXPORT_SYMBOL_IF_KUNIT(kbus_owed_add_locked);

/**
 * kbus_owed_find_locked() - Find a request a replier has read.
 * @replier: the replier.
 * @id: the request's id.
 * @requester_id: the requester's Ksock id.
 *
 * Context: The bus lock is held.
 * Return: the record, or NULL.
 */
struct kbus_request *kbus_owed_find_locked(struct kbus_ksock *replier,
					   const struct kbus_msg_id *id,
					   u32 requester_id)
{
	kbus_lockdep_assert_bus(replier->bus);

	return req_find(&replier->owed, id, requester_id);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_owed_find_locked);

/**
 * kbus_owed_remove_locked() - Forget a request a replier has dealt with.
 * @replier: the replier.
 * @req: its record; the caller now owns it.
 *
 * A request that was refused, or is waiting (%KBUS_BIT_ALL_OR_WAIT),
 * because the replier owed ``kbus_max_requests`` may go now, and so may a
 * send waiting for room at a Ksock of the replier's user, which is given
 * the record's cost back: waiting senders are told there is room.
 *
 * Context: The bus lock is held.
 */
void kbus_owed_remove_locked(struct kbus_ksock *replier,
			     struct kbus_request *req)
{
	kbus_lockdep_assert_bus(replier->bus);

	req_erase(&replier->owed, req);
	replier->num_owed--;
	kbus_user_uncharge_locked(replier->user, kbus_record_cost());
	kbus_bus_room_locked(replier->bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_owed_remove_locked);

/**
 * kbus_synth_reply_locked() - Answer a request with a synthetic reply.
 * @bus: the bus.
 * @name: the KBUS_MSG_NAME_* of the reply.
 * @requester_id: the Ksock id of the requester.
 * @id: the request's id.
 * @replier_id: the replier the request went to.
 *
 * The reply is from KBUS itself (``from`` 0).  Does nothing if the
 * requester has gone or the request has already been answered.  Cannot
 * fail otherwise: the slot and the message were reserved when the request
 * was sent.
 *
 * Context: The bus lock is held.
 * Return: true if a reply was queued.
 */
bool kbus_synth_reply_locked(struct kbus_bus *bus, const char *name,
			     u32 requester_id, const struct kbus_msg_id *id,
			     u32 replier_id)
{
	struct kbus_ksock *requester;
	struct kbus_request *req;
	struct kbus_qentry *qe;
	struct kbus_msg_id new_id = {};

	kbus_lockdep_assert_bus(bus);

	requester = kbus_ksock_lookup_locked(bus, requester_id);
	if (!requester)
		return false;
	req = kbus_outstanding_find_locked(requester, id, replier_id);
	if (!req)
		return false;

	kbus_outstanding_remove_locked(requester, req);
	qe = req->spare;
	req->spare = NULL;
	kbus_request_free(req);

	kbus_next_msg_id_locked(bus, &new_id);
	kbus_synth_fill(qe, name, &new_id, 0, requester_id, id);
	kbus_queue_push_locked(requester, qe, false);
	trace_kbus_reply(bus, requester_id, id, replier_id, true);
	kbus_dbg(bus, "%s to ksock %u for %u:%u\n", name, requester_id,
		 id->network_id, id->serial_num);
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_synth_reply_locked);

/**
 * kbus_cancel_request_locked() - Give up a request sent and not answered.
 * @ks: the requester.
 * @id: the request's id.
 *
 * The requester gets ``$.KBUS.Request.Cancelled`` in place of the reply,
 * in the slot reserved for it; the replier owes nothing any more.  A
 * request still queued at the replier stays there (it is not owed when
 * read either).
 *
 * Context: The bus lock is held.
 * Return: 0, or -ENOENT if no request with @id is outstanding from @ks.
 */
int kbus_cancel_request_locked(struct kbus_ksock *ks,
			       const struct kbus_msg_id *id)
{
	struct kbus_request *req = NULL, *owed;
	struct kbus_ksock *replier;
	struct rb_node *n;

	kbus_lockdep_assert_bus(ks->bus);

	/* Ordered by replier first: at most kbus_max_requests to look at. */
	for (n = rb_first(&ks->outstanding); n; n = rb_next(n)) {
		req = rb_entry(n, struct kbus_request, node);
		if (req->id.network_id == id->network_id &&
		    req->id.serial_num == id->serial_num)
			break;
	}
	if (!n || !id->serial_num)
		return -ENOENT;

	replier = kbus_ksock_lookup_locked(ks->bus, req->peer_id);
	owed = replier ? kbus_owed_find_locked(replier, id, ks->id) : NULL;
	if (owed) {
		kbus_owed_remove_locked(replier, owed);
		kbus_request_free(owed);
	}
	kbus_synth_reply_locked(ks->bus, KBUS_MSG_NAME_REQUEST_CANCELLED,
				ks->id, id, req->peer_id);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_cancel_request_locked);

/**
 * kbus_queue_flush_locked() - Drop unread copies from a Ksock's queue.
 * @ks: the Ksock.
 * @binding: drop only the copies queued through this binding; NULL for all.
 * @synth_name: the synthetic reply that each dropped request gets.
 *
 * Context: The bus lock is held sleepably (the last reference to a large
 * message may be dropped); may sleep.
 */
void kbus_queue_flush_locked(struct kbus_ksock *ks,
			     const struct kbus_binding *binding,
			     const char *synth_name)
{
	struct kbus_qentry *qe, *tmp;
	struct kbus_msg *msg;

	kbus_lockdep_assert_bus_sleepable(ks->bus);

	list_for_each_entry_safe(qe, tmp, &ks->queue, node) {
		if (binding && qe->binding != binding)
			continue;
		kbus_queue_remove_locked(ks, qe);
		msg = qe->msg;
		if (qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY)
			kbus_synth_reply_locked(ks->bus, synth_name, msg->from,
						&msg->id, ks->id);
		kbus_qentry_free(qe);
	}
}
EXPORT_SYMBOL_IF_KUNIT(kbus_queue_flush_locked);

/**
 * kbus_requests_release_locked() - Settle a closing Ksock's requests.
 * @ks: the Ksock, whose queue has been flushed and bindings removed.
 *
 * Frees the records of the requests it sent (their replies can no longer
 * be delivered) and answers the requests it read and did not reply to
 * with ``$.KBUS.Replier.Ignored``.
 *
 * Context: The bus lock is held.
 */
void kbus_requests_release_locked(struct kbus_ksock *ks)
{
	struct kbus_request *req, *tmp;

	kbus_lockdep_assert_bus(ks->bus);

	rbtree_postorder_for_each_entry_safe(req, tmp, &ks->outstanding, node)
		kbus_request_free(req);
	kbus_user_uncharge_locked(ks->user,
				  ks->num_outstanding * kbus_request_cost());
	ks->outstanding = RB_ROOT;
	ks->num_outstanding = 0;
	while (!RB_EMPTY_ROOT(&ks->owed)) {
		req = rb_entry(rb_first(&ks->owed), struct kbus_request, node);
		kbus_owed_remove_locked(ks, req);
		kbus_synth_reply_locked(ks->bus, KBUS_MSG_NAME_REPLIER_IGNORED,
					req->peer_id, &req->id, ks->id);
		kbus_request_free(req);
	}
}
EXPORT_SYMBOL_IF_KUNIT(kbus_requests_release_locked);

/**
 * kbus_unbind_locked() - Remove a Ksock's most recent binding to a name.
 * @ks: the Ksock.
 * @name: a valid name or pattern, exactly as bound.
 * @len: its length.
 * @is_replier: remove a replier binding rather than a listener one.
 *
 * Unread copies queued through the binding are dropped; each request among
 * them is answered with ``$.KBUS.Replier.Unbound``.  Requests already read
 * are still owed.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, or -EINVAL if there is no such binding.
 */
int kbus_unbind_locked(struct kbus_ksock *ks, const char *name, u32 len,
		       bool is_replier)
{
	struct kbus_binding *b;

	kbus_lockdep_assert_bus_sleepable(ks->bus);

	b = kbus_binding_find_locked(ks, name, len, is_replier);
	if (!b)
		return -EINVAL;
	kbus_queue_flush_locked(ks, b, KBUS_MSG_NAME_REPLIER_UNBOUND);
	kbus_binding_free_locked(b);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_unbind_locked);
