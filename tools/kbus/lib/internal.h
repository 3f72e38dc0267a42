/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkbus - what its two halves share (not installed)
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _LIBKBUS_INTERNAL_H
#define _LIBKBUS_INTERNAL_H

#include <stdint.h>

#include "libkbus.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KBUS_HDR_LEN	sizeof(struct kbus_message_header)

/* Bytes of @msg to send: the header if pointy, the whole if entire. */
static inline uint64_t msg_size(const kbus_message_t *msg)
{
	if (!kbus_msg_is_entire(msg))
		return KBUS_HDR_LEN;
	return KBUS_ENTIRE_MSG_LEN((uint64_t)msg->name_len,
				   (uint64_t)msg->data_len);
}

#endif /* _LIBKBUS_INTERNAL_H */
