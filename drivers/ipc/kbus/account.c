// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - accounting: who pays for what is held
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/cache.h>
#include <linux/init.h>
#include <linux/lockdep.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "account.h"

/**
 * DOC: Resource accounting
 *
 * Everything KBUS keeps on behalf of a Ksock is charged to whoever holds
 * it, never to a bystander, and is limited:
 *
 * - A copy of a message is charged, while it is queued, to the Ksock
 *   whose queue holds it and to the user that opened that Ksock: the
 *   message as allocated plus its queue entry.  Recipients that share one
 *   message body are each charged all of it, so the charges bound the
 *   memory used.
 * - A user's account on a bus is also charged with its open Ksocks (each
 *   with the two request records it may keep for its next request, see
 *   kbus_outstanding_get()), their requests in flight (the record of each
 *   and the status kept ready in case the reply never comes), with the
 *   requests they have read and not answered, and with their bindings (a
 *   replier's with the event that will announce its unbinding).
 * - A reply always reaches its requester: a slot of the requester's queue
 *   was reserved for it when the request was sent, and its bytes are
 *   charged to the requester without checking the byte limits, which it
 *   can therefore pass by at most its outstanding requests' replies.  The
 *   same holds for the status that stands in for a reply that will never
 *   come, and for the one ``$.KBUS.UnbindEventsLost`` of a listener
 *   (in memory, that marker is charged to the cgroup of the task whose
 *   bind or unbind it stands in for).
 * - Memory is charged to a memory cgroup as well (%__GFP_ACCOUNT): a
 *   message's body to the sender's, since all its recipients share it,
 *   with the queue entry of its first copy, which is part of it; the
 *   entry of every other copy to the cgroup of the task that opened the
 *   recipient's Ksock.  A listener whose cgroup cannot take that entry
 *   misses the message (counted as dropped), as one without room does,
 *   so that it cannot make other users' sends fail; only a send that
 *   must reach every listener (%KBUS_BIT_ALL_OR_FAIL,
 *   %KBUS_BIT_ALL_OR_WAIT) fails, with -ENOMEM.
 *
 * So one user holds at most ``kbus_user_bytes`` on a bus, and whatever it
 * does, messages and replies between other users' Ksocks go through.  A
 * smaller limit set at run time applies to what is charged from then on.
 */

unsigned long kbus_user_bytes = KBUS_DEF_USER_BYTES;
EXPORT_SYMBOL_IF_KUNIT(kbus_user_bytes);
module_param_named(user_bytes, kbus_user_bytes, ulong, 0644);
MODULE_PARM_DESC(user_bytes,
		 "Bytes one user's Ksocks may hold on a bus (default 16 MiB)");

unsigned int kbus_max_requests = KBUS_DEF_MAX_REQUESTS;
EXPORT_SYMBOL_IF_KUNIT(kbus_max_requests);
module_param_named(max_requests, kbus_max_requests, uint, 0644);
MODULE_PARM_DESC(max_requests,
		 "Requests a Ksock may have outstanding, and unanswered (default 1024)");

unsigned int kbus_max_bindings = KBUS_DEF_MAX_BINDINGS;
EXPORT_SYMBOL_IF_KUNIT(kbus_max_bindings);
module_param_named(max_bindings, kbus_max_bindings, uint, 0644);
MODULE_PARM_DESC(max_bindings,
		 "Bindings a Ksock may have (default 1024)");

/*
 * Bytes charged to a user for each of its open Ksocks: the Ksock and the
 * two request records it may keep for reuse (see kbus_outstanding_get()).
 */
static size_t ksock_cost(void)
{
	return kmalloc_size_roundup(sizeof(struct kbus_ksock)) +
	       kbus_request_cost() + kbus_record_cost();
}

/**
 * kbus_user_get_locked() - Attach a new Ksock to its user's account.
 * @ks: the Ksock, not yet attached.
 * @uid: its user.
 *
 * The Ksock itself, with the records it may keep, is charged to the
 * account.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, -EMFILE if the user cannot be charged, or -ENOMEM.
 */
int kbus_user_get_locked(struct kbus_ksock *ks, kuid_t uid)
{
	struct kbus_bus *bus = ks->bus;
	unsigned long index = __kuid_val(uid);
	struct kbus_user *user;
	int err;

	kbus_lockdep_assert_bus_sleepable(bus);

	user = xa_load(&bus->users, index);
	if (user && !kbus_user_room_locked(user, ksock_cost()))
		return -EMFILE;
	if (!user) {
		user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
		if (!user)
			return -ENOMEM;
		user->uid = uid;
		err = xa_err(xa_store(&bus->users, index, user,
				      GFP_KERNEL_ACCOUNT));
		if (err) {
			kfree(user);
			return err;
		}
	}
	user->nksocks++;
	kbus_user_charge_locked(user, ksock_cost());
	ks->user = user;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_user_get_locked);

/**
 * kbus_user_put_locked() - Detach a closing Ksock from its user's account.
 * @ks: the Ksock, which holds nothing any more.
 *
 * Context: The bus lock is held.
 */
void kbus_user_put_locked(struct kbus_ksock *ks)
{
	struct kbus_user *user = ks->user;

	kbus_lockdep_assert_bus(ks->bus);

	ks->user = NULL;
	kbus_user_uncharge_locked(user, ksock_cost());
	if (--user->nksocks)
		return;
	/* Everything charged was held by the user's Ksocks, now gone. */
	WARN_ON_ONCE(user->bytes);
	xa_erase(&ks->bus->users, __kuid_val(user->uid));
	kfree(user);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_user_put_locked);

/*
 * The charges for request records, as allocated: what kmalloc() gives for
 * a size depends on the slab caches of the running kernel, not on the
 * call, so it is looked up once (kbus_account_init()) rather than at each
 * charge, eight times a request's round trip.
 */
size_t kbus_record_bytes __ro_after_init;
EXPORT_SYMBOL_IF_KUNIT(kbus_record_bytes);
size_t kbus_request_bytes __ro_after_init;
EXPORT_SYMBOL_IF_KUNIT(kbus_request_bytes);

/**
 * kbus_account_init() - Work out the charges that never change.
 *
 * Context: Module initialisation, with the slab caches set up.
 */
void __init kbus_account_init(void)
{
	u32 body = KBUS_PADDED_NAME_LEN(KBUS_SYNTH_NAME_MAX - 1) + 4;

	kbus_record_bytes = kmalloc_size_roundup(sizeof(struct kbus_request));
	kbus_request_bytes = kbus_record_bytes +
		kmalloc_size_roundup(struct_size_t(struct kbus_msg, body, body));
}

/**
 * kbus_ksock_room_locked() - Whether a copy fits in a Ksock's limits.
 * @ks: the recipient.
 * @cost: the copy's kbus_msg_cost().
 *
 * The copies already planned for @ks and its user in the send in
 * progress count as queued.  A Ksock with nothing queued has room for one
 * copy however large, so that a small %KBUS_OPT_MAX_BYTES only slows a
 * receiver down; the user's limit is never passed.
 *
 * Context: The bus lock is held.
 * Return: true if the copy may be queued.
 */
bool kbus_ksock_room_locked(const struct kbus_ksock *ks, size_t cost)
{
	u64 queued = (u64)ks->queued_bytes + ks->send_bytes;

	kbus_lockdep_assert_bus(ks->bus);

	if (queued && queued + cost > ks->max_bytes)
		return false;
	return kbus_user_room_locked(ks->user, cost);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_ksock_room_locked);
