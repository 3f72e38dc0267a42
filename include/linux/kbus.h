/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - the interface for kernel clients
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _LINUX_KBUS_H
#define _LINUX_KBUS_H

#include <linux/types.h>
#include <uapi/linux/kbus.h>

struct kbus_client;

/**
 * struct kbus_client_msg - A message as a kernel client receives it.
 * @id: its id.
 * @in_reply_to: for a reply, the id of the request it answers.
 * @from: the Ksock id of the sender, 0 for KBUS itself.
 * @to: the Ksock id it was addressed to, or 0.
 * @flags: the flags of this copy, as %KBUS_IOC_RECVMSG gives them (the
 *         sender's user bits included): %KBUS_BIT_WANT_YOU_TO_REPLY if
 *         this client is the replier that must answer it, with
 *         kbus_client_reply() during the call.
 * @name: the message name (not NUL-terminated).
 * @name_len: its length.
 * @data: the data, or NULL.
 * @data_len: its length.
 *
 * Valid only during the &kbus_client_ops.recv call that is given it.
 */
struct kbus_client_msg {
	struct kbus_msg_id id;
	struct kbus_msg_id in_reply_to;
	u32 from;
	u32 to;
	u32 flags;
	const char *name;
	u32 name_len;
	const void *data;
	u32 data_len;
};

/**
 * struct kbus_client_ops - What a kernel client is called for.
 * @recv: a message was queued for the client.  Called in process context
 *        (a workqueue), one message at a time, in queue order; may sleep
 *        and may call any kbus_client_*() function but kbus_client_close().
 *        A request it is the replier for and does not reply to during the
 *        call is answered with ``$.KBUS.Replier.Ignored`` when it returns.
 */
struct kbus_client_ops {
	void (*recv)(struct kbus_client *client,
		     const struct kbus_client_msg *msg);
};

struct kbus_client *kbus_client_open(u32 bus, const struct kbus_client_ops *ops,
				     void *priv);
void kbus_client_close(struct kbus_client *client);
void *kbus_client_priv(const struct kbus_client *client);
u32 kbus_client_id(const struct kbus_client *client);
int kbus_client_bind(struct kbus_client *client, const char *name,
		     bool replier);
int kbus_client_unbind(struct kbus_client *client, const char *name,
		       bool replier);
int kbus_client_send(struct kbus_client *client, const char *name,
		     const void *data, u32 data_len, u32 flags,
		     struct kbus_msg_id *id);
int kbus_client_reply(struct kbus_client *client,
		      const struct kbus_client_msg *request, const void *data,
		      u32 data_len);

#endif /* _LINUX_KBUS_H */
