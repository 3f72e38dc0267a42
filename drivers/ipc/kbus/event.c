// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - replier bind events
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/lockdep.h>
#include <linux/string.h>

#include "account.h"
#include "bind.h"
#include "core.h"
#include "event.h"
#include "msg.h"
#include "reply.h"
#include "send.h"

/**
 * DOC: Replier bind events
 *
 * With %KBUS_OPT_REPORT_REPLIER_BINDS on, every time a replier binds to or
 * unbinds from a name, KBUS announces ``$.KBUS.ReplierBindEvent`` (data:
 * struct kbus_replier_bind_event_data) to its listeners: once the binding
 * has been made, or before it is removed, also when the replier's Ksock
 * closes.
 *
 * The events are lossy, so that no listener can stop others from binding:
 * a listener without room for an event (see "Resource accounting") gets
 * one ``$.KBUS.UnbindEventsLost`` in its place, queued past its limits,
 * and misses every event after it until it has read that one.  BIND and
 * UNBIND never wait for nor fail because of a listener.
 *
 * The unbind event of a replier binding is allocated with the binding and
 * the few small allocations that queue it cannot fail, so a closing or
 * OOM-killed replier always announces that it has gone.
 */

/**
 * kbus_bind_event_alloc() - Allocate a replier bind event.
 * @binder: the replier's Ksock id.
 * @name: the name or pattern.
 * @len: its length.
 * @is_bind: a bind rather than an unbind.
 *
 * Context: Process context, may sleep.
 * Return: the event, without its id, or an ERR_PTR().
 */
struct kbus_msg *kbus_bind_event_alloc(u32 binder, const char *name, u32 len,
				       bool is_bind)
{
	static const char event_name[] = KBUS_MSG_NAME_REPLIER_BIND_EVENT;
	struct kbus_replier_bind_event_data data = {
		.is_bind = is_bind,
		.binder = binder,
		.name_len = len,
	};
	u32 name_len = sizeof(event_name) - 1;
	struct kbus_msg *msg;
	u8 *p;

	msg = kbus_msg_alloc(name_len,
			     sizeof(data) + KBUS_PADDED_NAME_LEN(len));
	if (IS_ERR(msg))
		return msg;
	memcpy(msg->body, event_name, name_len);
	p = kbus_msg_data(msg);
	memcpy(p, &data, sizeof(data));
	memcpy(p + sizeof(data), name, len);
	memset(p + sizeof(data) + len, 0, KBUS_PADDED_NAME_LEN(len) - len);
	kbus_msg_seal(msg);
	msg->flags = KBUS_BIT_SYNTHETIC;
	return msg;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bind_event_alloc);

/**
 * kbus_report_bind_locked() - Announce that a replier binds or unbinds.
 * @b: the replier binding.
 * @is_bind: a bind rather than an unbind.
 *
 * Does nothing unless the bus reports replier binds.  An unbind event
 * uses the one allocated with the binding, and cannot fail.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, or -ENOMEM (for a bind event only).
 */
int kbus_report_bind_locked(struct kbus_binding *b, bool is_bind)
{
	struct kbus_ksock *ks = b->ksock;
	struct kbus_bus *bus = ks->bus;
	struct kbus_msg *msg;
	int err;

	kbus_lockdep_assert_bus_sleepable(bus);

	if (!bus->report_replier_binds)
		return 0;
	if (is_bind) {
		msg = kbus_bind_event_alloc(ks->id, b->node->full,
					    strlen(b->node->full), true);
		if (IS_ERR(msg))
			return PTR_ERR(msg);
	} else {
		if (WARN_ON_ONCE(!b->is_replier || !b->unbind_event))
			return 0;
		msg = b->unbind_event;
		b->unbind_event = NULL;
	}
	kbus_next_msg_id_locked(bus, &msg->id);
	err = kbus_send_event_locked(bus, msg, !is_bind);
	kbus_msg_put(msg);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_report_bind_locked);

static void free_events(struct list_head *events)
{
	struct kbus_qentry *qe, *tmp;

	list_for_each_entry_safe(qe, tmp, events, node) {
		list_del_init(&qe->node);
		kbus_qentry_free(qe);
	}
}

/* Queue a catch-up event on @ks, or the marker in its place if it is full. */
static void catch_up_one(struct kbus_ksock *ks, struct kbus_qentry *qe,
			 struct kbus_qentry **lost)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_msg_id id;

	if (!ks->unbind_lost && !kbus_queue_full_locked(ks) &&
	    kbus_ksock_room_locked(ks, kbus_msg_cost(qe->msg))) {
		kbus_next_msg_id_locked(bus, &qe->msg->id);
		kbus_queue_push_locked(ks, qe, false);
		return;
	}
	if (!ks->unbind_lost) {
		kbus_next_msg_id_locked(bus, &id);
		kbus_synth_fill(*lost, KBUS_MSG_NAME_UNBIND_EVENTS_LOST, &id,
				0, 0, NULL);
		(*lost)->lost_marker = true;
		ks->unbind_lost = true;
		kbus_queue_push_locked(ks, *lost, false);
		*lost = NULL;
	}
	ks->dropped++;
	kbus_qentry_free(qe);
}

/**
 * kbus_report_catch_up_locked() - Queue a bind event per existing replier.
 * @ks: the Ksock that turns %KBUS_OPT_REPORT_REPLIER_BINDS on.
 *
 * Ksocks in the order they were opened, and each one's oldest binding
 * first.  Everything is allocated before anything is
 * queued, so that on failure nothing is; events that do not fit are lost
 * as those sent to a full listener are.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, or -ENOMEM.
 */
int kbus_report_catch_up_locked(struct kbus_ksock *ks)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_qentry *qe, *tmp, *lost = NULL;
	struct kbus_binding *b;
	struct kbus_ksock *other;
	struct kbus_msg *msg;
	LIST_HEAD(events);

	kbus_lockdep_assert_bus_sleepable(bus);

	list_for_each_entry(other, &bus->ksocks, bus_node) {
		list_for_each_entry_reverse(b, &other->bindings, ksock_link) {
			if (!b->is_replier)
				continue;
			msg = kbus_bind_event_alloc(other->id, b->node->full,
						    strlen(b->node->full),
						    true);
			if (IS_ERR(msg))
				goto err_free;
			qe = kbus_qentry_alloc(msg, msg->flags);
			kbus_msg_put(msg);
			if (!qe)
				goto err_free;
			list_add_tail(&qe->node, &events);
		}
	}
	if (!list_empty(&events) && !ks->unbind_lost) {
		lost = kbus_synth_alloc();
		if (!lost)
			goto err_free;
	}
	list_for_each_entry_safe(qe, tmp, &events, node) {
		list_del_init(&qe->node);
		catch_up_one(ks, qe, &lost);
	}
	kbus_qentry_free(lost);
	return 0;

err_free:
	free_events(&events);
	return -ENOMEM;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_report_catch_up_locked);

/**
 * kbus_bind_report_locked() - Bind a Ksock, and report a replier binding.
 * @ks: the Ksock.
 * @name: the name or pattern, valid.
 * @len: its length.
 * @is_replier: bind as the replier.
 *
 * The binding is made first, so that an event never announces a binding
 * that failed; if the event cannot go, the binding is undone.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, or an error of kbus_bind_locked() or of the event.
 */
int kbus_bind_report_locked(struct kbus_ksock *ks, const char *name, u32 len,
			    bool is_replier)
{
	struct kbus_binding *b;
	int err;

	err = kbus_bind_locked(ks, name, len, is_replier);
	if (err || !is_replier)
		return err;
	b = kbus_binding_find_locked(ks, name, len, true);
	if (WARN_ON_ONCE(!b))
		return -EINVAL;
	err = kbus_report_bind_locked(b, true);
	if (err)
		kbus_binding_free_locked(b);
	return err;
}

/**
 * kbus_unbind_report_locked() - Unbind a Ksock, and report a replier's
 * unbinding.
 * @ks: the Ksock.
 * @name: the name or pattern.
 * @len: its length.
 * @is_replier: the replier binding.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, or -EINVAL if there is no such binding.
 */
int kbus_unbind_report_locked(struct kbus_ksock *ks, const char *name,
			      u32 len, bool is_replier)
{
	struct kbus_binding *b;

	b = kbus_binding_find_locked(ks, name, len, is_replier);
	if (!b)
		return -EINVAL;
	/* Cannot fail: the event was allocated with the binding. */
	if (is_replier)
		kbus_report_bind_locked(b, false);
	return kbus_unbind_locked(ks, name, len, is_replier);
}
