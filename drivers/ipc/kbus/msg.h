/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - message store and per-Ksock queues
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_MSG_H
#define _DRIVERS_IPC_KBUS_MSG_H

#include <linux/gfp_types.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/string.h>
#include <linux/types.h>

#include "kbus_internal.h"

int kbus_msg_cache_init(void);
void kbus_msg_cache_exit(void);
struct kbus_msg *kbus_msg_alloc(u32 name_len, u32 data_len);
struct kbus_msg *kbus_msg_alloc_gfp(u32 name_len, u32 data_len, gfp_t gfp);
void kbus_msg_free(struct kbus_msg *msg);

/**
 * kbus_msg_put() - Drop a reference to a message.
 * @msg: the message, or NULL.
 *
 * Context: Process context.  Under the bus lock held as a spinlock, only
 * for a message KBUS generates (small, never from vmalloc(), whose free
 * may sleep): the last reference to a message from a sender is dropped
 * with the bus lock dropped, or held sleepably.
 */
static inline void kbus_msg_put(struct kbus_msg *msg)
{
	if (msg && refcount_dec_and_test(&msg->refcount))
		kbus_msg_free(msg);
}

void kbus_msg_seal(struct kbus_msg *msg);

/**
 * kbus_msg_name() - The name of a message.
 * @msg: the message.
 *
 * Return: the NUL-terminated name.
 */
static inline const char *kbus_msg_name(const struct kbus_msg *msg)
{
	return (const char *)msg->body;
}

/**
 * kbus_msg_data() - Where the data of a message is stored.
 * @msg: the message.
 *
 * Return: the start of the data area (valid even when there is no data).
 */
static inline u8 *kbus_msg_data(struct kbus_msg *msg)
{
	return msg->body + KBUS_PADDED_NAME_LEN(msg->name_len);
}

/**
 * kbus_msg_entire_len() - Length of a message read as an entire message.
 * @msg: the message.
 *
 * Return: the header size plus the body length.
 */
static inline size_t kbus_msg_entire_len(const struct kbus_msg *msg)
{
	return sizeof(struct kbus_message_header) + kbus_msg_body_len(msg);
}

/**
 * kbus_msg_is_request() - Whether a message asks for a reply.
 * @msg: the message.
 *
 * Return: true for a request.
 */
static inline bool kbus_msg_is_request(const struct kbus_msg *msg)
{
	return msg->flags & KBUS_BIT_WANT_A_REPLY;
}

/**
 * kbus_msg_is_reply() - Whether a message is a reply.
 * @msg: the message.
 *
 * Return: true if the message answers a request.
 */
static inline bool kbus_msg_is_reply(const struct kbus_msg *msg)
{
	return msg->in_reply_to.network_id || msg->in_reply_to.serial_num;
}

/**
 * kbus_msg_header_image() - Build the header a reader sees for a copy.
 * @qe: the recipient's copy.
 * @hdr: where to build the header; every byte is written.
 *
 * Context: Any context.
 */
static inline void kbus_msg_header_image(const struct kbus_qentry *qe,
					 struct kbus_message_header *hdr)
{
	const struct kbus_msg *msg = qe->msg;

	memset(hdr, 0, sizeof(*hdr));
	hdr->start_guard = KBUS_MSG_START_GUARD;
	hdr->id = msg->id;
	hdr->in_reply_to = msg->in_reply_to;
	hdr->to = msg->to;
	hdr->from = msg->from;
	hdr->orig_from = msg->orig_from;
	hdr->final_to = msg->final_to;
	hdr->flags = qe->flags;
	hdr->name_len = msg->name_len;
	hdr->data_len = msg->data_len;
	hdr->end_guard = KBUS_MSG_END_GUARD;
}

struct kbus_qentry *kbus_qentry_alloc(struct kbus_msg *msg, u32 flags);
struct kbus_qentry *kbus_qentry_alloc_gfp(struct kbus_msg *msg, u32 flags,
					  gfp_t gfp);
void kbus_qentry_free(struct kbus_qentry *qe);
struct kbus_qentry *kbus_synth_alloc(void);
struct kbus_qentry *kbus_synth_alloc_gfp(gfp_t gfp);
void kbus_synth_fill(struct kbus_qentry *qe, const char *name,
		     const struct kbus_msg_id *id, u32 from, u32 to,
		     const struct kbus_msg_id *in_reply_to);

void kbus_bus_room_locked(struct kbus_bus *bus);
bool kbus_queue_full_locked(const struct kbus_ksock *ks);
void kbus_queue_push_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			    bool urgent);
void kbus_queue_add_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			   bool urgent);
void kbus_queue_remove_locked(struct kbus_ksock *ks, struct kbus_qentry *qe);
void kbus_queue_take_locked(struct kbus_ksock *ks, struct kbus_qentry *qe);

/**
 * kbus_bus_room_wake() - Wake the senders waiting for room on a bus.
 * @bus: the bus, whose @room_seq has moved.
 *
 * Called after dropping the bus lock where it can be, so that a woken
 * sender does not find the lock still held.
 *
 * Context: Any context that may take a spinlock.
 */
static inline void kbus_bus_room_wake(struct kbus_bus *bus)
{
	/*
	 * Most of the time nobody waits: skip the wait queue's lock.  The
	 * barrier of wq_has_sleeper() orders the move of @room_seq before
	 * the look at the queue; it pairs with the one every waiter has
	 * between joining the queue and testing its condition
	 * (set_current_state() in wait_event_*(), smp_mb() in kbus_poll()).
	 * Keyed, so that pollers interested only in EPOLLIN are skipped.
	 */
	if (wq_has_sleeper(&bus->write_wait))
		wake_up_interruptible_poll(&bus->write_wait,
					   EPOLLOUT | EPOLLWRNORM);
}

/**
 * kbus_ksock_wake() - Wake the readers of a Ksock that has a new message.
 * @ks: the Ksock; valid (the bus lock held, or an RCU read-side critical
 *      section entered while it was: Ksocks are freed after a grace
 *      period).
 *
 * Context: Any context that may take a spinlock.
 */
static inline void kbus_ksock_wake(struct kbus_ksock *ks)
{
	/*
	 * A sync wake-up, as sockets and pipes use: the sender usually goes
	 * on to wait for the answer, so the reader may run on its CPU.  As
	 * in kbus_bus_room_wake(), the wait queue's lock is skipped when
	 * nobody waits; the queue was changed before.
	 */
	if (wq_has_sleeper(&ks->wait))
		wake_up_interruptible_sync_poll(&ks->wait,
						EPOLLIN | EPOLLRDNORM);
}

#endif /* _DRIVERS_IPC_KBUS_MSG_H */
