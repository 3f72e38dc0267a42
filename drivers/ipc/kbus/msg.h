/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - message store and per-Ksock queues
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_MSG_H
#define _DRIVERS_IPC_KBUS_MSG_H

#include <linux/gfp_types.h>
#include <linux/types.h>

#include "kbus_internal.h"

int kbus_msg_cache_init(void);
void kbus_msg_cache_exit(void);
struct kbus_msg *kbus_msg_alloc(u32 name_len, u32 data_len);
struct kbus_msg *kbus_msg_alloc_gfp(u32 name_len, u32 data_len, gfp_t gfp);
void kbus_msg_put(struct kbus_msg *msg);
void kbus_msg_seal(struct kbus_msg *msg);
void kbus_msg_header_image(const struct kbus_qentry *qe,
			   struct kbus_message_header *hdr);

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
void kbus_bus_room_wake(struct kbus_bus *bus);
bool kbus_queue_full_locked(const struct kbus_ksock *ks);
void kbus_queue_push_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			    bool urgent);
void kbus_queue_add_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			   bool urgent);
void kbus_ksock_wake(struct kbus_ksock *ks);
void kbus_queue_remove_locked(struct kbus_ksock *ks, struct kbus_qentry *qe);
void kbus_queue_take_locked(struct kbus_ksock *ks, struct kbus_qentry *qe);

#endif /* _DRIVERS_IPC_KBUS_MSG_H */
