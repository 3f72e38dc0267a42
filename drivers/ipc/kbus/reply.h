/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - requests, replies and the messages that stand in for replies
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_REPLY_H
#define _DRIVERS_IPC_KBUS_REPLY_H

#include <linux/types.h>

#include "kbus_internal.h"

struct kbus_request *kbus_request_alloc(bool with_spare);
void kbus_request_free(struct kbus_request *req);
struct kbus_request *kbus_outstanding_get(struct kbus_ksock *ks);
void kbus_outstanding_keep(struct kbus_ksock *ks, struct kbus_request *req);
struct kbus_request *kbus_owed_get(struct kbus_ksock *ks);
void kbus_owed_keep(struct kbus_ksock *ks, struct kbus_request *req);

/**
 * kbus_outstanding_put() - Keep or free a requester's record, if any.
 * @ks: the requester that allocated it.
 * @req: a record in no tree, or NULL (as after most sends, which used
 *       theirs): see kbus_outstanding_keep().
 *
 * Context: Any context in which kbus_request_free() may be called; the
 * bus lock may be held.
 */
static inline void kbus_outstanding_put(struct kbus_ksock *ks,
					struct kbus_request *req)
{
	if (req)
		kbus_outstanding_keep(ks, req);
}

/**
 * kbus_owed_put() - Keep or free a replier's record, if any.
 * @ks: the replier that allocated it.
 * @req: a record in no tree, without spare, or NULL (as after most
 *       receives): see kbus_owed_keep().
 *
 * Context: As kbus_outstanding_put().
 */
static inline void kbus_owed_put(struct kbus_ksock *ks,
				 struct kbus_request *req)
{
	if (req)
		kbus_owed_keep(ks, req);
}

void kbus_outstanding_add_locked(struct kbus_ksock *requester,
				 struct kbus_request *req,
				 const struct kbus_msg_id *id, u32 replier_id);
struct kbus_request *kbus_outstanding_find_locked(struct kbus_ksock *requester,
						  const struct kbus_msg_id *id,
						  u32 replier_id);
void kbus_outstanding_remove_locked(struct kbus_ksock *requester,
				    struct kbus_request *req);

int kbus_cancel_request_locked(struct kbus_ksock *ks,
			       const struct kbus_msg_id *id);
bool kbus_reply_awaited_locked(struct kbus_ksock *replier,
			       const struct kbus_msg *req);
void kbus_owed_add_locked(struct kbus_ksock *replier, struct kbus_request *req,
			  const struct kbus_msg_id *id, u32 requester_id);
struct kbus_request *kbus_owed_find_locked(struct kbus_ksock *replier,
					   const struct kbus_msg_id *id,
					   u32 requester_id);
void kbus_owed_remove_locked(struct kbus_ksock *replier,
			     struct kbus_request *req);

bool kbus_synth_reply_locked(struct kbus_bus *bus, const char *name,
			     u32 requester_id, const struct kbus_msg_id *id,
			     u32 replier_id);
void kbus_queue_flush_locked(struct kbus_ksock *ks,
			     const struct kbus_binding *binding,
			     const char *synth_name);
void kbus_requests_release_locked(struct kbus_ksock *ks);
int kbus_unbind_locked(struct kbus_ksock *ks, const char *name, u32 len,
		       bool is_replier);

#endif /* _DRIVERS_IPC_KBUS_REPLY_H */
