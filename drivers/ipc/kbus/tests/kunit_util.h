/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - helpers shared by the KUnit suites
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _DRIVERS_IPC_KBUS_TESTS_KUNIT_UTIL_H
#define _DRIVERS_IPC_KBUS_TESTS_KUNIT_UTIL_H

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/string.h>

#include "../core.h"
#include "../msg.h"

KUNIT_DEFINE_ACTION_WRAPPER(kbus_test_bus_free, kbus_bus_free,
			    struct kbus_bus *);
KUNIT_DEFINE_ACTION_WRAPPER(kbus_test_ksock_release, kbus_ksock_release,
			    struct kbus_ksock *);
KUNIT_DEFINE_ACTION_WRAPPER(kbus_test_qentry_free, kbus_qentry_free,
			    struct kbus_qentry *);

/* A bus without a device, freed when the test ends. */
static inline struct kbus_bus *kbus_test_bus(struct kunit *test)
{
	struct kbus_bus *bus = kbus_bus_alloc(0, &init_user_ns);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bus);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, kbus_test_bus_free,
						  bus));
	return bus;
}

/* A Ksock on @bus, released when the test ends (before the bus). */
static inline struct kbus_ksock *kbus_test_ksock(struct kunit *test,
						 struct kbus_bus *bus)
{
	struct kbus_ksock *ks = kbus_ksock_create(bus, false);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ks);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  kbus_test_ksock_release,
						  ks));
	return ks;
}

/* A sealed message; the caller owns the one reference. */
static inline struct kbus_msg *kbus_test_msg(struct kunit *test,
					     const char *name, u32 flags,
					     u32 data_len)
{
	struct kbus_msg *msg = kbus_msg_alloc(strlen(name), data_len);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, msg);
	memcpy(msg->body, name, strlen(name));
	memset(kbus_msg_data(msg), 0xa5, data_len);
	kbus_msg_seal(msg);
	msg->flags = flags;
	return msg;
}

/* Pop the head of a Ksock's queue; the entry is freed when the test ends. */
static inline struct kbus_qentry *kbus_test_pop(struct kunit *test,
						struct kbus_ksock *ks)
{
	struct kbus_qentry *qe;

	kbus_bus_lock(ks->bus);
	qe = list_first_entry_or_null(&ks->queue, struct kbus_qentry, node);
	if (qe)
		kbus_queue_remove_locked(ks, qe);
	kbus_bus_unlock(ks->bus);
	if (qe)
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test,
							  kbus_test_qentry_free,
							  qe));
	return qe;
}

#endif /* _DRIVERS_IPC_KBUS_TESTS_KUNIT_UTIL_H */
