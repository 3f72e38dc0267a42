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

#include "core.h"
#include "event.h"
#include "msg.h"
#include "send.h"

/**
 * DOC: Replier bind events
 *
 * With %KBUS_OPT_REPORT_REPLIER_BINDS on, every time a replier binds to or
 * unbinds from a name, KBUS announces ``$.KBUS.ReplierBindEvent`` (data:
 * struct kbus_replier_bind_event_data) to its listeners: once the binding
 * has been made, or before it is removed.  The event is sent as
 * %KBUS_BIT_ALL_OR_FAIL: if a listener has no room, BIND or UNBIND fails
 * with -EAGAIN and nothing changes (a binding just made is undone).
 *
 * A Ksock that closes cannot fail, so its unbind events reach full
 * listeners past their queue limit, up to %KBUS_MAX_UNSENT_UNBIND_MESSAGES
 * such copies per bus; beyond that a full listener gets one
 * ``$.KBUS.UnbindEventsLost`` instead, and no further events until it has
 * read it.
 */

static struct kbus_msg *event_alloc_locked(struct kbus_bus *bus, u32 binder,
					   const char *name, u32 len,
					   bool is_bind, gfp_t gfp)
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

	msg = kbus_msg_alloc_gfp(name_len,
				 sizeof(data) + KBUS_PADDED_NAME_LEN(len), gfp);
	if (IS_ERR(msg))
		return msg;
	memcpy(msg->body, event_name, name_len);
	p = kbus_msg_data(msg);
	memcpy(p, &data, sizeof(data));
	memcpy(p + sizeof(data), name, len);	/* NUL and padding are zero */
	kbus_msg_seal(msg);
	kbus_next_msg_id_locked(bus, &msg->id);
	msg->flags = KBUS_BIT_SYNTHETIC | KBUS_BIT_ALL_OR_FAIL;
	return msg;
}

/**
 * kbus_report_bind_locked() - Announce that a replier binds or unbinds.
 * @ks: the replier.
 * @name: the name or pattern.
 * @len: its length.
 * @is_bind: a bind rather than an unbind.
 * @force: the replier is closing; the event cannot fail, for lack of room
 *         or of memory.
 *
 * Does nothing unless the bus reports replier binds.
 *
 * Context: The bus lock is held.
 * Return: 0, or unless @force: -EAGAIN if a listener of the event has no
 * room, -ENOBUFS, or -ENOMEM.
 */
int kbus_report_bind_locked(struct kbus_ksock *ks, const char *name, u32 len,
			    bool is_bind, bool force)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_msg *msg;
	int err;

	lockdep_assert_held(&bus->lock);

	if (!bus->report_replier_binds)
		return 0;
	/* A closing replier's event cannot fail: it is a page at most. */
	msg = event_alloc_locked(bus, ks->id, name, len, is_bind,
				 GFP_KERNEL_ACCOUNT | (force ? __GFP_NOFAIL : 0));
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	err = kbus_send_event_locked(bus, msg, force);
	kbus_msg_put(msg);
	return err == -EBUSY ? -EAGAIN : err;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_report_bind_locked);

/**
 * kbus_report_catch_up_locked() - Queue a bind event per existing replier.
 * @ks: the Ksock that turned reporting on; the events go to its queue
 *      only, whether or not it listens to them.
 *
 * Context: The bus lock is held.
 * Return: 0, -EBUSY if the queue filled up (the events queued so far
 * stay), or -ENOMEM.
 */
int kbus_report_catch_up_locked(struct kbus_ksock *ks)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_binding *b;
	struct kbus_qentry *qe;
	struct kbus_msg *msg;

	lockdep_assert_held(&bus->lock);

	list_for_each_entry_reverse(b, &bus->bindings, bus_link) {
		if (!b->is_replier)
			continue;
		if (kbus_queue_full_locked(ks))
			return -EBUSY;
		msg = event_alloc_locked(bus, b->ksock->id, b->node->full,
					 strlen(b->node->full), true,
					 GFP_KERNEL_ACCOUNT);
		if (IS_ERR(msg))
			return PTR_ERR(msg);
		qe = kbus_qentry_alloc(msg, msg->flags);
		kbus_msg_put(msg);
		if (!qe)
			return -ENOMEM;
		kbus_queue_push_locked(ks, qe, false);
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_report_catch_up_locked);
