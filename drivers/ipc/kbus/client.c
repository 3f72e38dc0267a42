// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - kernel clients
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/export.h>
#include <linux/kbus.h>
#include <linux/lockdep.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "bind.h"
#include "client.h"
#include "core.h"
#include "event.h"
#include "msg.h"
#include "reply.h"
#include "send.h"

/**
 * DOC: Kernel clients
 *
 * Kernel code uses a bus through a *kernel client*: a Ksock of one of the
 * buses of /dev that no file holds (include/linux/kbus.h).  It binds,
 * sends and replies as a process does, under the same rules, limits and
 * guarantees: its messages take their place in the bus's one order, a
 * request it sends always gets its reply or a synthetic status, and when
 * it is closed (a module going away) the requests it holds are answered
 * for it (``$.KBUS.Replier.GoneAway`` for unread ones,
 * ``$.KBUS.Replier.Ignored`` for read ones), as for a process that exits.
 *
 * Messages queued for it are handed to its &kbus_client_ops.recv in
 * process context, from a work item that a wake-up of its Ksock queues:
 * one at a time, in queue order (the bus's order, but for
 * %KBUS_BIT_URGENT messages, which go to the head of the queue), each
 * taken off the queue before the call.  A client gets each message once,
 * however many of its bindings match it (as with %KBUS_OPT_ONLY_ONCE): a
 * request it is the replier for comes with %KBUS_BIT_WANT_YOU_TO_REPLY.
 * Such a request must be answered with kbus_client_reply() during the
 * call; if it is not, KBUS answers it with ``$.KBUS.Replier.Ignored`` as
 * soon as the call returns, so that no requester waits for a reply that
 * cannot come.
 *
 * Every function may sleep (might_sleep()) and none may be called with
 * the bus lock held, either way (lockdep); kbus_client_close() may not be called from
 * any client's callback (it waits for the client's callback to return).
 */

/* Messages handed over per run of the work item, before it yields. */
#define KBUS_CLIENT_BATCH	32
/* How long the work item waits for memory before it tries again. */
#define KBUS_CLIENT_RETRY_MS	20

static void kbus_client_check_context(struct kbus_client *client)
{
	might_sleep();
	lockdep_assert_not_held(&client->ks->bus->lock);
	lockdep_assert_not_held(&client->ks->bus->sleep_lock);
}

/*
 * Wake-up of the Ksock's wait queue, for a message queued: queue the
 * delivery work (on an unbound workqueue: a callback may take its time).
 */
static int kbus_client_wake(struct wait_queue_entry *wait, unsigned int mode,
			    int sync, void *key)
{
	struct kbus_client *client = container_of(wait, struct kbus_client,
						  wait);

	if (key && !(key_to_poll(key) & EPOLLIN))
		return 0;
	if (!READ_ONCE(client->closing))
		queue_work(system_unbound_wq, &client->work);
	return 0;
}

/*
 * Take the head of the queue, recording a request to reply to as owed
 * with *@owed (then NULL).  Returns the copy, or NULL if the queue is
 * empty.
 */
static struct kbus_qentry *kbus_client_take(struct kbus_ksock *ks,
					    struct kbus_request **owed)
{
	struct kbus_qentry *qe;

	kbus_bus_lock(ks->bus);
	qe = list_first_entry_or_null(&ks->queue, struct kbus_qentry, node);
	if (qe) {
		kbus_queue_take_locked(ks, qe);
		if ((qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY) &&
		    kbus_reply_awaited_locked(ks, qe->msg)) {
			kbus_owed_add_locked(ks, *owed, &qe->msg->id,
					     qe->msg->from);
			*owed = NULL;
		}
	}
	kbus_bus_unlock(ks->bus);
	if (qe)
		kbus_bus_room_wake(ks->bus);
	return qe;
}

static void kbus_client_deliver(struct kbus_client *client,
				struct kbus_qentry *qe)
{
	struct kbus_msg *msg = qe->msg;
	struct kbus_client_msg m = {
		.id = msg->id,
		.in_reply_to = msg->in_reply_to,
		.from = msg->from,
		.to = msg->to,
		.flags = qe->flags,
		.name = kbus_msg_name(msg),
		.name_len = msg->name_len,
		.data = msg->data_len ? kbus_msg_data(msg) : NULL,
		.data_len = msg->data_len,
	};

	client->ops->recv(client, &m);
}

/*
 * A request handed to the callback and not answered during it: answer it
 * for the client, as a closing Ksock does.
 */
static void kbus_client_unanswered(struct kbus_client *client,
				   const struct kbus_qentry *qe)
{
	struct kbus_ksock *ks = client->ks;
	struct kbus_request *req;

	if (!(qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY))
		return;
	kbus_bus_lock(ks->bus);
	req = kbus_owed_find_locked(ks, &qe->msg->id, qe->msg->from);
	if (req) {
		kbus_owed_remove_locked(ks, req);
		kbus_synth_reply_locked(ks->bus, KBUS_MSG_NAME_REPLIER_IGNORED,
					req->peer_id, &req->id, ks->id);
		kbus_request_free(req);
	}
	kbus_bus_unlock(ks->bus);
}

static void kbus_client_work(struct work_struct *work)
{
	struct kbus_client *client = container_of(work, struct kbus_client,
						  work);
	struct kbus_ksock *ks = client->ks;
	struct kbus_request *owed = NULL;
	struct kbus_qentry *qe;
	int n;

	for (n = 0; n < KBUS_CLIENT_BATCH; n++) {
		if (READ_ONCE(client->closing))
			break;
		/* Pairs with WRITE_ONCE() in the queue helpers. */
		if (!READ_ONCE(ks->queue_len))
			break;
		if (!owed) {
			owed = kbus_owed_get(ks);
			if (!owed) {
				/* Lose nothing: wait for memory, then retry. */
				msleep(KBUS_CLIENT_RETRY_MS);
				continue;
			}
		}
		qe = kbus_client_take(ks, &owed);
		if (!qe)
			break;
		kbus_client_deliver(client, qe);
		kbus_client_unanswered(client, qe);
		kbus_qentry_free(qe);
	}
	kbus_owed_put(ks, owed);
	/* More left: let others run first. */
	if (n == KBUS_CLIENT_BATCH && !READ_ONCE(client->closing))
		queue_work(system_unbound_wq, work);
}

/**
 * kbus_client_open() - Open a kernel client on a bus of /dev.
 * @bus: the bus number N of /dev/kbus<N>.
 * @ops: what to call for messages; must outlive the client.
 * @priv: for the caller, returned by kbus_client_priv().
 *
 * Context: Process context, may sleep.
 * Return: the client, ERR_PTR(-ENODEV) if there is no such bus, or an
 * error of opening a Ksock (-ENOMEM, -EMFILE, -EBUSY, -EINTR).
 */
struct kbus_client *kbus_client_open(u32 bus,
				     const struct kbus_client_ops *ops,
				     void *priv)
{
	struct kbus_client *client;
	struct kbus_bus *b;
	int err;

	might_sleep();
	if (WARN_ON_ONCE(!ops || !ops->recv))
		return ERR_PTR(-EINVAL);
	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client)
		return ERR_PTR(-ENOMEM);
	b = kbus_bus_get(bus);
	if (!b) {
		err = -ENODEV;
		goto err_free;
	}
	client->ks = kbus_ksock_create(b, true);
	if (IS_ERR(client->ks)) {
		err = PTR_ERR(client->ks);
		goto err_put;
	}
	/* Each message once: see "Kernel clients". */
	kbus_bus_lock(b);
	client->ks->only_once = true;
	kbus_bus_unlock(b);
	client->ops = ops;
	client->priv = priv;
	INIT_WORK(&client->work, kbus_client_work);
	init_waitqueue_func_entry(&client->wait, kbus_client_wake);
	add_wait_queue(&client->ks->wait, &client->wait);
	return client;

err_put:
	kbus_bus_put(b);
err_free:
	kfree(client);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(kbus_client_open);

/**
 * kbus_client_close() - Close a kernel client.
 * @client: the client, or NULL.
 *
 * No callback runs once this returns.  Messages not yet handed to the
 * callback are dropped, and the requests the client holds are answered
 * for it with ``$.KBUS.Replier.GoneAway`` (not handed over) or
 * ``$.KBUS.Replier.Ignored`` (handed over and not replied to).
 *
 * Context: Process context, may sleep; not from a client's callback.
 */
void kbus_client_close(struct kbus_client *client)
{
	struct kbus_bus *bus;

	if (!client)
		return;
	kbus_client_check_context(client);
	/* It would wait for a callback, maybe for this one. */
	if (WARN_ON_ONCE(current_work() &&
			 current_work()->func == kbus_client_work))
		return;
	bus = client->ks->bus;
	/* The work item hands over nothing more once it sees this. */
	WRITE_ONCE(client->closing, true);
	remove_wait_queue(&client->ks->wait, &client->wait);
	cancel_work_sync(&client->work);
	kbus_ksock_release(client->ks);
	kbus_bus_put(bus);
	kfree(client);
}
EXPORT_SYMBOL_GPL(kbus_client_close);

/**
 * kbus_client_priv() - The @priv given to kbus_client_open().
 * @client: the client.
 *
 * Context: Any context.
 * Return: @priv.
 */
void *kbus_client_priv(const struct kbus_client *client)
{
	return client->priv;
}
EXPORT_SYMBOL_GPL(kbus_client_priv);

/**
 * kbus_client_id() - The Ksock id of a kernel client.
 * @client: the client.
 *
 * Context: Any context.
 * Return: the id that the client's messages carry in ``from``.
 */
u32 kbus_client_id(const struct kbus_client *client)
{
	return client->ks->id;
}
EXPORT_SYMBOL_GPL(kbus_client_id);

static int kbus_client_bind_op(struct kbus_client *client, const char *name,
			       bool replier, bool bind)
{
	struct kbus_ksock *ks = client->ks;
	size_t len;
	int err;

	kbus_client_check_context(client);
	len = strnlen(name, KBUS_MAX_NAME_LEN + 1);
	if (len > KBUS_MAX_NAME_LEN)
		return -ENAMETOOLONG;
	if (!kbus_name_valid(name, len, true))
		return -EBADMSG;
	/* Only KBUS sends replier bind events: nobody may be their replier. */
	if (bind && replier && !strcmp(name, KBUS_MSG_NAME_REPLIER_BIND_EVENT))
		return -EBADMSG;
	kbus_bus_lock_sleepable(ks->bus);
	if (bind)
		err = kbus_bind_report_locked(ks, name, len, replier);
	else
		err = kbus_unbind_report_locked(ks, name, len, replier);
	kbus_bus_unlock_sleepable(ks->bus);
	return err;
}

/**
 * kbus_client_bind() - Bind a kernel client to a name.
 * @client: the client.
 * @name: the name or wildcard pattern, NUL-terminated.
 * @replier: as the replier for @name, or as a listener.
 *
 * Context: Process context, may sleep.
 * Return: 0, -EBADMSG (not a valid name, or ``$.KBUS.ReplierBindEvent`` as
 * replier), -ENAMETOOLONG, -EADDRINUSE (@name has a replier), -ENOSPC (a
 * limit) or -ENOMEM.
 */
int kbus_client_bind(struct kbus_client *client, const char *name,
		     bool replier)
{
	return kbus_client_bind_op(client, name, replier, true);
}
EXPORT_SYMBOL_GPL(kbus_client_bind);

/**
 * kbus_client_unbind() - Undo the most recent matching kbus_client_bind().
 * @client: the client.
 * @name: the name or wildcard pattern, NUL-terminated.
 * @replier: the replier binding, or a listener one.
 *
 * Context: Process context, may sleep.
 * Return: 0, -EINVAL (no such binding), -EBADMSG or -ENAMETOOLONG.
 */
int kbus_client_unbind(struct kbus_client *client, const char *name,
		       bool replier)
{
	return kbus_client_bind_op(client, name, replier, false);
}
EXPORT_SYMBOL_GPL(kbus_client_unbind);

static int kbus_client_send_msg(struct kbus_client *client, const char *name,
				u32 name_len, const void *data, u32 data_len,
				u32 flags, u32 to,
				const struct kbus_msg_id *in_reply_to,
				struct kbus_msg_id *id)
{
	struct kbus_ksock *ks = client->ks;
	struct kbus_msg_id sent;
	struct kbus_msg *msg;
	int err;

	kbus_client_check_context(client);
	if (WARN_ON_ONCE(!data && data_len))
		return -EINVAL;
	if (flags & ~(KBUS_USER_FLAGS_MASK | KBUS_BIT_WANT_A_REPLY |
		      KBUS_BIT_ALL_OR_FAIL | KBUS_BIT_URGENT))
		return -EINVAL;
	if (name_len > KBUS_MAX_NAME_LEN)
		return -ENAMETOOLONG;
	if (KBUS_ENTIRE_MSG_LEN((u64)name_len, (u64)data_len) >
	    READ_ONCE(ks->bus->max_msg_size))
		return -EMSGSIZE;
	if (!kbus_name_valid(name, name_len, false))
		return -EBADMSG;
	if (kbus_name_reserved(name, name_len))
		return -EPERM;

	msg = kbus_msg_alloc(name_len, data_len);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	memcpy(msg->body, name, name_len);
	if (data_len)
		memcpy(kbus_msg_data(msg), data, data_len);
	kbus_msg_seal(msg);
	/* Sent by the kernel: no process, the initial user and group. */
	msg->uid = GLOBAL_ROOT_UID;
	msg->gid = GLOBAL_ROOT_GID;
	msg->flags = flags;
	msg->to = to;
	if (in_reply_to)
		msg->in_reply_to = *in_reply_to;
	err = kbus_send(ks, msg, &sent);
	kbus_msg_put(msg);
	if (!err && id)
		*id = sent;
	return err;
}

/**
 * kbus_client_send() - Send an announcement or a request.
 * @client: the client.
 * @name: the message name, NUL-terminated.
 * @data: the data, or NULL.
 * @data_len: its length.
 * @flags: %KBUS_BIT_WANT_A_REPLY for a request (its reply, or the status
 *         in its place, comes to the client's callback), and any of
 *         %KBUS_BIT_URGENT, %KBUS_BIT_ALL_OR_FAIL and the user flag bits.
 * @id: where to store the message's id, or NULL.
 *
 * A kernel client never waits for room: %KBUS_BIT_ALL_OR_WAIT is refused.
 *
 * Context: Process context, may sleep.
 * Return: 0, -EINVAL (a flag, or no @data for @data_len), -EBADMSG (not a
 * valid name), -ENAMETOOLONG, -EMSGSIZE, -EPERM (a ``$.KBUS`` name), or an
 * error of sending a message (see %KBUS_IOC_SENDMSG): -EADDRNOTAVAIL,
 * -EBUSY, -ENOLCK, -ENOBUFS, -ENOMEM, -EINTR (a fatal signal).
 */
int kbus_client_send(struct kbus_client *client, const char *name,
		     const void *data, u32 data_len, u32 flags,
		     struct kbus_msg_id *id)
{
	return kbus_client_send_msg(client, name,
				    strnlen(name, KBUS_MAX_NAME_LEN + 1),
				    data, data_len, flags, 0, NULL, id);
}
EXPORT_SYMBOL_GPL(kbus_client_send);

/**
 * kbus_client_reply() - Reply to a request handed to the client.
 * @client: the client.
 * @request: the request, as given to the callback (%KBUS_BIT_WANT_YOU_TO_REPLY
 *           set).
 * @data: the data of the reply, or NULL.
 * @data_len: its length.
 *
 * The reply has the request's name and goes to its sender.
 *
 * Context: Process context, may sleep.
 * Return: 0, -ECONNREFUSED (no reply is owed to that request any more),
 * -EADDRNOTAVAIL (its sender has gone), -EMSGSIZE, -ENOMEM or -EINTR.
 */
int kbus_client_reply(struct kbus_client *client,
		      const struct kbus_client_msg *request, const void *data,
		      u32 data_len)
{
	if (!(request->flags & KBUS_BIT_WANT_YOU_TO_REPLY))
		return -ECONNREFUSED;
	return kbus_client_send_msg(client, request->name, request->name_len,
				    data, data_len, 0, request->from,
				    &request->id, NULL);
}
EXPORT_SYMBOL_GPL(kbus_client_reply);
