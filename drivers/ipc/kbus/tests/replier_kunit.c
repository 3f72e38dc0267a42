// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - KUnit tests for repliers, requests and synthetic replies
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/string.h>

#include "../bind.h"
#include "../core.h"
#include "../msg.h"
#include "../reply.h"
#include "../send.h"
#include "kunit_util.h"

#define NAME "$.Svc.Time"
#define NAME_LEN (sizeof(NAME) - 1)

struct replier_fixture {
	struct kbus_bus *bus;
	struct kbus_ksock *requester;
	struct kbus_ksock *replier;
};

static int replier_init(struct kunit *test)
{
	struct replier_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->bus = kbus_test_bus(test);
	f->requester = kbus_test_ksock(test, f->bus);
	f->replier = kbus_test_ksock(test, f->bus);
	kbus_bus_lock_sleepable(f->bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(f->replier, NAME, NAME_LEN,
						  true));
	kbus_bus_unlock_sleepable(f->bus);
	test->priv = f;
	return 0;
}

/* Send a request from @from; return its id. */
static struct kbus_msg_id send_request(struct kunit *test,
				       struct kbus_ksock *from, int expect)
{
	struct kbus_msg *msg = kbus_test_msg(test, NAME,
					     KBUS_BIT_WANT_A_REPLY, 0);
	struct kbus_msg_id id = {};

	KUNIT_EXPECT_EQ(test, expect, kbus_send(from, msg, &id));
	kbus_msg_put(msg);
	return id;
}

static int send_reply(struct kunit *test, struct kbus_ksock *from,
		      const struct kbus_msg_id *req_id, u32 to)
{
	struct kbus_msg *msg = kbus_test_msg(test, NAME, 0, 4);
	struct kbus_msg_id id;
	int err;

	msg->in_reply_to = *req_id;
	msg->to = to;
	err = kbus_send(from, msg, &id);
	kbus_msg_put(msg);
	return err;
}

/* What RECVMSG does: pop, and record a request the Ksock must answer. */
static struct kbus_qentry *next_msg(struct kunit *test, struct kbus_ksock *ks)
{
	struct kbus_request *owed = kbus_owed_get(ks);
	struct kbus_qentry *qe;

	KUNIT_ASSERT_NOT_NULL(test, owed);
	qe = kbus_test_pop(test, ks);
	kbus_bus_lock_sleepable(ks->bus);
	if (qe && (qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY)) {
		kbus_owed_add_locked(ks, owed, &qe->msg->id, qe->msg->from);
		owed = NULL;
	}
	kbus_bus_unlock_sleepable(ks->bus);
	kbus_owed_put(ks, owed);
	return qe;
}

static void expect_synthetic(struct kunit *test, struct kbus_ksock *ks,
			     const char *name, const struct kbus_msg_id *req)
{
	struct kbus_qentry *qe = next_msg(test, ks);

	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_STREQ(test, kbus_msg_name(qe->msg), name);
	KUNIT_EXPECT_TRUE(test, qe->flags & KBUS_BIT_SYNTHETIC);
	KUNIT_EXPECT_EQ(test, qe->msg->from, 0);
	KUNIT_EXPECT_EQ(test, qe->msg->to, ks->id);
	KUNIT_EXPECT_EQ(test, qe->msg->in_reply_to.serial_num, req->serial_num);
	KUNIT_EXPECT_EQ(test, ks->num_outstanding, 0);
	/* Exactly one answer. */
	KUNIT_EXPECT_NULL(test, next_msg(test, ks));
}

static void replier_bind_twice_fails(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_ksock *other = kbus_test_ksock(test, f->bus);

	kbus_bus_lock_sleepable(f->bus);
	KUNIT_EXPECT_EQ(test, -EADDRINUSE,
			kbus_bind_locked(other, NAME, NAME_LEN, true));
	KUNIT_EXPECT_EQ(test, -EADDRINUSE,
			kbus_bind_locked(f->replier, NAME, NAME_LEN, true));
	/* Listening to the same name is still fine. */
	KUNIT_EXPECT_EQ(test, 0, kbus_bind_locked(other, NAME, NAME_LEN,
						  false));
	kbus_bus_unlock_sleepable(f->bus);
}

static void replier_unbind_then_rebind_by_another(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_ksock *other = kbus_test_ksock(test, f->bus);

	kbus_bus_lock_sleepable(f->bus);
	KUNIT_EXPECT_EQ(test, -EINVAL,
			kbus_unbind_locked(f->replier, NAME, NAME_LEN, false));
	KUNIT_EXPECT_EQ(test, 0,
			kbus_unbind_locked(f->replier, NAME, NAME_LEN, true));
	KUNIT_EXPECT_NULL(test, kbus_replier_for_locked(f->bus, NAME,
							NAME_LEN));
	KUNIT_EXPECT_EQ(test, 0, kbus_bind_locked(other, NAME, NAME_LEN, true));
	KUNIT_EXPECT_PTR_EQ(test,
			    kbus_replier_for_locked(f->bus, NAME,
						    NAME_LEN)->ksock, other);
	kbus_bus_unlock_sleepable(f->bus);
}

static void request_without_replier_fails(struct kunit *test)
{
	struct replier_fixture *f = test->priv;

	kbus_bus_lock_sleepable(f->bus);
	KUNIT_ASSERT_EQ(test, 0,
			kbus_unbind_locked(f->replier, NAME, NAME_LEN, true));
	kbus_bus_unlock_sleepable(f->bus);
	send_request(test, f->requester, -EADDRNOTAVAIL);
	KUNIT_EXPECT_EQ(test, f->requester->num_outstanding, 0);
}

static void request_reserves_a_reply_slot(struct kunit *test)
{
	struct replier_fixture *f = test->priv;

	f->requester->max_msgs = 2;
	send_request(test, f->requester, 0);
	KUNIT_EXPECT_EQ(test, f->requester->num_outstanding, 1);
	send_request(test, f->requester, 0);
	KUNIT_EXPECT_EQ(test, f->requester->num_outstanding, 2);
	send_request(test, f->requester, -ENOLCK);
	KUNIT_EXPECT_EQ(test, f->replier->queue_len, 2);
}

static void request_to_full_replier_is_busy(struct kunit *test)
{
	struct replier_fixture *f = test->priv;

	f->replier->max_msgs = 1;
	send_request(test, f->requester, 0);
	send_request(test, f->requester, -EBUSY);
	KUNIT_EXPECT_EQ(test, f->requester->num_outstanding, 1);
}

static void stateful_request_to_other_replier_fails(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg *msg = kbus_test_msg(test, NAME,
					     KBUS_BIT_WANT_A_REPLY, 0);
	struct kbus_msg_id id;

	msg->to = f->requester->id;
	KUNIT_EXPECT_EQ(test, -EPIPE, kbus_send(f->requester, msg, &id));
	msg->to = f->replier->id;
	KUNIT_EXPECT_EQ(test, 0, kbus_send(f->requester, msg, &id));
	kbus_msg_put(msg);
}

static void reply_is_accepted_once_from_the_replier(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_ksock *other = kbus_test_ksock(test, f->bus);
	struct kbus_msg_id req;
	struct kbus_qentry *qe;

	req = send_request(test, f->requester, 0);
	qe = next_msg(test, f->replier);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_TRUE(test, qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY);
	KUNIT_EXPECT_EQ(test, f->replier->num_owed, 1);

	KUNIT_EXPECT_EQ(test, -ECONNREFUSED,
			send_reply(test, other, &req, f->requester->id));
	KUNIT_EXPECT_EQ(test, 0,
			send_reply(test, f->replier, &req, f->requester->id));
	KUNIT_EXPECT_EQ(test, f->replier->num_owed, 0);
	KUNIT_EXPECT_EQ(test, f->requester->num_outstanding, 0);
	KUNIT_EXPECT_EQ(test, -ECONNREFUSED,
			send_reply(test, f->replier, &req, f->requester->id));

	qe = next_msg(test, f->requester);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_EQ(test, qe->msg->in_reply_to.serial_num, req.serial_num);
	KUNIT_EXPECT_FALSE(test, qe->flags & KBUS_BIT_SYNTHETIC);
}

static void replier_release_with_unread_request_sends_gone_away(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg_id req = send_request(test, f->requester, 0);

	kunit_release_action(test, kbus_test_ksock_release, f->replier);
	expect_synthetic(test, f->requester, KBUS_MSG_NAME_REPLIER_GONEAWAY,
			 &req);
}

static void replier_release_after_read_sends_ignored(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg_id req = send_request(test, f->requester, 0);

	KUNIT_ASSERT_NOT_NULL(test, next_msg(test, f->replier));
	kunit_release_action(test, kbus_test_ksock_release, f->replier);
	expect_synthetic(test, f->requester, KBUS_MSG_NAME_REPLIER_IGNORED,
			 &req);
}

static void replier_unbind_with_unread_request_sends_unbound(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg_id req = send_request(test, f->requester, 0);

	kbus_bus_lock_sleepable(f->bus);
	KUNIT_ASSERT_EQ(test, 0,
			kbus_unbind_locked(f->replier, NAME, NAME_LEN, true));
	kbus_bus_unlock_sleepable(f->bus);
	KUNIT_EXPECT_EQ(test, f->replier->queue_len, 0);
	expect_synthetic(test, f->requester, KBUS_MSG_NAME_REPLIER_UNBOUND,
			 &req);
}

static void replier_unbind_after_read_still_owes_reply(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg_id req = send_request(test, f->requester, 0);

	KUNIT_ASSERT_NOT_NULL(test, next_msg(test, f->replier));
	kbus_bus_lock_sleepable(f->bus);
	KUNIT_ASSERT_EQ(test, 0,
			kbus_unbind_locked(f->replier, NAME, NAME_LEN, true));
	kbus_bus_unlock_sleepable(f->bus);
	KUNIT_EXPECT_NULL(test, next_msg(test, f->requester));
	KUNIT_EXPECT_EQ(test, 0,
			send_reply(test, f->replier, &req, f->requester->id));
	KUNIT_EXPECT_NOT_NULL(test, next_msg(test, f->requester));
}

static void requester_release_drops_outstanding(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg_id req = send_request(test, f->requester, 0);
	u32 requester_id = f->requester->id;

	KUNIT_ASSERT_NOT_NULL(test, next_msg(test, f->replier));
	kunit_release_action(test, kbus_test_ksock_release, f->requester);
	KUNIT_EXPECT_EQ(test, -EADDRNOTAVAIL,
			send_reply(test, f->replier, &req, requester_id));
	KUNIT_EXPECT_EQ(test, f->replier->num_owed, 0);
}

static void same_ksock_can_request_and_reply(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_msg_id req = send_request(test, f->replier, 0);
	struct kbus_qentry *qe;

	KUNIT_EXPECT_EQ(test, f->replier->num_outstanding, 1);
	qe = next_msg(test, f->replier);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_EQ(test, 0,
			send_reply(test, f->replier, &req, f->replier->id));
	qe = next_msg(test, f->replier);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_EQ(test, qe->msg->in_reply_to.serial_num, req.serial_num);
	KUNIT_EXPECT_EQ(test, f->replier->num_outstanding, 0);
	KUNIT_EXPECT_EQ(test, f->replier->num_owed, 0);
}

/*
 * The records of an answered request stay with the Ksocks that allocated
 * them and serve the next request; a request KBUS answers uses its
 * record's spare reply up, and the record is not kept.
 */
static void answered_request_records_are_reused(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_request *out = NULL, *owed = NULL, *rec;
	size_t bytes = f->requester->user->bytes;
	struct kbus_msg_id req;
	int round, err;

	KUNIT_EXPECT_NULL(test, f->requester->spare_req);
	KUNIT_EXPECT_NULL(test, f->replier->spare_owed);
	for (round = 0; round < 3; round++) {
		req = send_request(test, f->requester, 0);
		KUNIT_EXPECT_NULL(test, f->requester->spare_req);
		if (round)
			KUNIT_EXPECT_PTR_EQ(test, f->requester->outstanding.rb_node,
					    &out->node);
		KUNIT_ASSERT_NOT_NULL(test, next_msg(test, f->replier));
		KUNIT_EXPECT_NULL(test, f->replier->spare_owed);
		KUNIT_EXPECT_EQ(test, 0, send_reply(test, f->replier, &req,
						    f->requester->id));
		KUNIT_ASSERT_NOT_NULL(test, next_msg(test, f->requester));

		KUNIT_ASSERT_NOT_NULL(test, f->requester->spare_req);
		KUNIT_EXPECT_NOT_NULL(test, f->requester->spare_req->spare);
		KUNIT_EXPECT_TRUE(test,
				  RB_EMPTY_NODE(&f->requester->spare_req->node));
		KUNIT_ASSERT_NOT_NULL(test, f->replier->spare_owed);
		KUNIT_EXPECT_NULL(test, f->replier->spare_owed->spare);
		if (round) {
			KUNIT_EXPECT_PTR_EQ(test, f->requester->spare_req, out);
			KUNIT_EXPECT_PTR_EQ(test, f->replier->spare_owed, owed);
		}
		out = f->requester->spare_req;
		owed = f->replier->spare_owed;
		/* Kept records are charged with their Ksocks, once. */
		KUNIT_EXPECT_EQ(test, f->requester->user->bytes, bytes);
	}

	req = send_request(test, f->requester, 0);
	KUNIT_EXPECT_NULL(test, f->requester->spare_req);
	kbus_bus_lock_sleepable(f->bus);
	err = kbus_cancel_request_locked(f->requester, &req);
	kbus_bus_unlock_sleepable(f->bus);
	KUNIT_EXPECT_EQ(test, 0, err);
	expect_synthetic(test, f->requester, KBUS_MSG_NAME_REQUEST_CANCELLED,
			 &req);
	KUNIT_EXPECT_NULL(test, f->requester->spare_req);
	/* The next request has a record again, with its spare. */
	req = send_request(test, f->requester, 0);
	kbus_bus_lock_sleepable(f->bus);
	rec = kbus_outstanding_find_locked(f->requester, &req,
					   f->replier->id);
	KUNIT_EXPECT_NOT_NULL(test, rec);
	if (rec)
		KUNIT_EXPECT_NOT_NULL(test, rec->spare);
	kbus_bus_unlock_sleepable(f->bus);
}

static void every_request_gets_exactly_one_answer(struct kunit *test)
{
	struct replier_fixture *f = test->priv;
	struct kbus_qentry *qe;
	int i, answers = 0;

	f->requester->max_msgs = 64;
	for (i = 0; i < 30; i++)
		send_request(test, f->requester, 0);
	/* Answer ten, read ten more, leave ten unread; then go away. */
	for (i = 0; i < 20; i++) {
		qe = next_msg(test, f->replier);
		KUNIT_ASSERT_NOT_NULL(test, qe);
		if (i < 10)
			KUNIT_EXPECT_EQ(test, 0,
					send_reply(test, f->replier,
						   &qe->msg->id,
						   f->requester->id));
	}
	kunit_release_action(test, kbus_test_ksock_release, f->replier);
	while ((qe = next_msg(test, f->requester)))
		answers++;
	KUNIT_EXPECT_EQ(test, answers, 30);
	KUNIT_EXPECT_EQ(test, f->requester->num_outstanding, 0);
}

static struct kunit_case kbus_replier_cases[] = {
	KUNIT_CASE(replier_bind_twice_fails),
	KUNIT_CASE(replier_unbind_then_rebind_by_another),
	KUNIT_CASE(request_without_replier_fails),
	KUNIT_CASE(request_reserves_a_reply_slot),
	KUNIT_CASE(request_to_full_replier_is_busy),
	KUNIT_CASE(stateful_request_to_other_replier_fails),
	KUNIT_CASE(reply_is_accepted_once_from_the_replier),
	KUNIT_CASE(replier_release_with_unread_request_sends_gone_away),
	KUNIT_CASE(replier_release_after_read_sends_ignored),
	KUNIT_CASE(replier_unbind_with_unread_request_sends_unbound),
	KUNIT_CASE(replier_unbind_after_read_still_owes_reply),
	KUNIT_CASE(requester_release_drops_outstanding),
	KUNIT_CASE(same_ksock_can_request_and_reply),
	KUNIT_CASE(answered_request_records_are_reused),
	KUNIT_CASE(every_request_gets_exactly_one_answer),
	{}
};

static struct kunit_suite kbus_replier_suite = {
	.name = "kbus_replier",
	.init = replier_init,
	.test_cases = kbus_replier_cases,
};

kunit_test_suite(kbus_replier_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests for KBUS repliers and requests");
MODULE_LICENSE("GPL");
