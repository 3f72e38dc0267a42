/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkbus - what its parts, and the kbus command, share (not installed)
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _LIBKBUS_INTERNAL_H
#define _LIBKBUS_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

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

/*
 * Grow the array *@arr, of *@cap elements of @size bytes, to hold @need
 * (doubling, from 16).  0 or -ENOMEM (the array is left as it was).
 */
static inline int kbus_grow(void **arr, size_t *cap, size_t need,
			    size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

#endif /* _LIBKBUS_INTERNAL_H */
