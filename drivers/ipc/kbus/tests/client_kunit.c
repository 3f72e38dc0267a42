// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - KUnit tests of kernel clients
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kbus.h>
#include <linux/kthread.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "../client.h"
#include "../kbus_internal.h"

#define REC_MAX		128
#define REC_WAIT	(5 * HZ)

/* One message as a test client saw it. */
struct rec_msg {
	char name[64];
	char data[16];
	u32 data_len;
	u32 flags;
	u32 from;
	struct kbus_msg_id id;
	struct kbus_msg_id in_reply_to;
};

/* What a test client records, and how it behaves. */
struct rec {
	spinlock_t lock;	/* protects n and msgs */
	unsigned int n;
	struct rec_msg msgs[REC_MAX];
	wait_queue_head_t wait;
	/* Reply "pong" to requests. */
	bool reply;
	/* Block in the first call until @proceed, having told @blocked. */
	bool block_first;
	struct completion blocked;
	struct completion proceed;
};

static void rec_recv(struct kbus_client *client,
		     const struct kbus_client_msg *m)
{
	struct rec *r = kbus_client_priv(client);
	struct rec_msg *rm;
	unsigned int n;

	spin_lock(&r->lock);
	n = r->n;
	if (n < REC_MAX) {
		rm = &r->msgs[n];
		memcpy(rm->name, m->name, min_t(u32, m->name_len,
						sizeof(rm->name) - 1));
		rm->data_len = m->data_len;
		if (m->data)
			memcpy(rm->data, m->data,
			       min_t(u32, m->data_len, sizeof(rm->data)));
		rm->flags = m->flags;
		rm->from = m->from;
		rm->id = m->id;
		rm->in_reply_to = m->in_reply_to;
		r->n = n + 1;
	}
	spin_unlock(&r->lock);
	wake_up(&r->wait);

	if (r->block_first && !n) {
		complete(&r->blocked);
		wait_for_completion(&r->proceed);
	}
	if (r->reply && (m->flags & KBUS_BIT_WANT_YOU_TO_REPLY))
		kbus_client_reply(client, m, "pong", 4);
}

static const struct kbus_client_ops rec_ops = {
	.recv = rec_recv,
};

static unsigned int rec_count(struct rec *r)
{
	unsigned int n;

	spin_lock(&r->lock);
	n = r->n;
	spin_unlock(&r->lock);
	return n;
}

static bool rec_wait(struct rec *r, unsigned int n)
{
	return wait_event_timeout(r->wait, rec_count(r) >= n, REC_WAIT) > 0;
}

KUNIT_DEFINE_ACTION_WRAPPER(client_close_action, kbus_client_close,
			    struct kbus_client *);

static struct rec *rec_alloc(struct kunit *test)
{
	struct rec *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	spin_lock_init(&r->lock);
	init_waitqueue_head(&r->wait);
	init_completion(&r->blocked);
	init_completion(&r->proceed);
	return r;
}

/* A client of bus 0 recording into @r, closed when the test ends. */
static struct kbus_client *rec_client(struct kunit *test, struct rec *r)
{
	struct kbus_client *c = kbus_client_open(0, &rec_ops, r);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, client_close_action,
						  c));
	return c;
}

static void client_receives_in_bus_order(struct kunit *test)
{
	struct rec *rl = rec_alloc(test), *rs = rec_alloc(test);
	struct kbus_client *l = rec_client(test, rl);
	struct kbus_client *s = rec_client(test, rs);
	struct kbus_msg_id ids[100];
	u32 i;

	KUNIT_ASSERT_EQ(test, 0, kbus_client_bind(l, "$.KUnit.Order", false));
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		KUNIT_ASSERT_EQ(test, 0,
				kbus_client_send(s, "$.KUnit.Order", &i,
						 sizeof(i), 0, &ids[i]));
	KUNIT_ASSERT_TRUE(test, rec_wait(rl, ARRAY_SIZE(ids)));
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		struct rec_msg *m = &rl->msgs[i];

		KUNIT_EXPECT_STREQ(test, "$.KUnit.Order", m->name);
		KUNIT_EXPECT_EQ(test, sizeof(i), m->data_len);
		KUNIT_EXPECT_EQ(test, 0, memcmp(m->data, &i, sizeof(i)));
		KUNIT_EXPECT_EQ(test, ids[i].serial_num, m->id.serial_num);
		KUNIT_EXPECT_EQ(test, kbus_client_id(s), m->from);
	}
	/* The sender hears nothing of its own. */
	KUNIT_EXPECT_EQ(test, 0, rec_count(rs));
}

static void client_request_gets_reply(struct kunit *test)
{
	struct rec *rr = rec_alloc(test), *rq = rec_alloc(test);
	struct kbus_client *replier = rec_client(test, rr);
	struct kbus_client *q = rec_client(test, rq);
	struct kbus_msg_id id;

	rr->reply = true;
	KUNIT_ASSERT_EQ(test, 0, kbus_client_bind(replier, "$.KUnit.Ask",
						  true));
	/* A listener too: it still gets the request once. */
	KUNIT_ASSERT_EQ(test, 0, kbus_client_bind(replier, "$.KUnit.*",
						  false));
	KUNIT_ASSERT_EQ(test, 0, kbus_client_send(q, "$.KUnit.Ask", "ping", 4,
						  KBUS_BIT_WANT_A_REPLY, &id));
	KUNIT_ASSERT_TRUE(test, rec_wait(rq, 1));
	KUNIT_EXPECT_STREQ(test, "$.KUnit.Ask", rq->msgs[0].name);
	KUNIT_EXPECT_EQ(test, 0, memcmp("pong", rq->msgs[0].data, 4));
	KUNIT_EXPECT_EQ(test, id.serial_num, rq->msgs[0].in_reply_to.serial_num);
	KUNIT_EXPECT_EQ(test, kbus_client_id(replier), rq->msgs[0].from);
	/*
	 * The replier was asked once, and told to reply; as a listener it
	 * hears its own reply.
	 */
	msleep(20);
	KUNIT_ASSERT_EQ(test, 2, rec_count(rr));
	KUNIT_EXPECT_TRUE(test, rr->msgs[0].flags & KBUS_BIT_WANT_YOU_TO_REPLY);
	KUNIT_EXPECT_EQ(test, 4, rr->msgs[0].data_len);
	KUNIT_EXPECT_EQ(test, 0, memcmp("ping", rr->msgs[0].data, 4));
	KUNIT_EXPECT_EQ(test, id.serial_num,
			rr->msgs[1].in_reply_to.serial_num);
	KUNIT_EXPECT_FALSE(test,
			   rr->msgs[1].flags & KBUS_BIT_WANT_YOU_TO_REPLY);
}

static int close_thread(void *arg)
{
	kbus_client_close(arg);
	return 0;
}

/*
 * A kernel replier closed with one request handed over (in flight) and
 * one still queued: the requester gets Ignored for the first and
 * GoneAway for the second, and nothing more.
 */
static void replier_closed_with_requests_in_flight_and_queued(struct kunit *test)
{
	struct rec *rr = rec_alloc(test), *rq = rec_alloc(test);
	struct kbus_client *q = rec_client(test, rq);
	struct kbus_client *replier;
	struct task_struct *t;
	struct kbus_msg_id id1, id2;

	replier = kbus_client_open(0, &rec_ops, rr);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, replier);
	rr->block_first = true;
	KUNIT_ASSERT_EQ(test, 0, kbus_client_bind(replier, "$.KUnit.Hold",
						  true));
	KUNIT_ASSERT_EQ(test, 0, kbus_client_send(q, "$.KUnit.Hold", NULL, 0,
						  KBUS_BIT_WANT_A_REPLY, &id1));
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&rr->blocked,
							  REC_WAIT), 0);
	/* The first is in the callback; the second stays queued. */
	KUNIT_ASSERT_EQ(test, 0, kbus_client_send(q, "$.KUnit.Hold", NULL, 0,
						  KBUS_BIT_WANT_A_REPLY, &id2));
	KUNIT_EXPECT_EQ(test, 1, READ_ONCE(replier->ks->queue_len));

	t = kthread_run(close_thread, replier, "kbus-kunit-close");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
	/* Let the close begin: it waits for the callback to return. */
	while (!READ_ONCE(replier->closing))
		schedule_timeout_uninterruptible(1);
	complete(&rr->proceed);

	/*
	 * The first is answered when its callback returns, the second when
	 * the close flushes the queue.
	 */
	KUNIT_ASSERT_TRUE(test, rec_wait(rq, 2));
	KUNIT_EXPECT_STREQ(test, KBUS_MSG_NAME_REPLIER_IGNORED,
			   rq->msgs[0].name);
	KUNIT_EXPECT_EQ(test, id1.serial_num,
			rq->msgs[0].in_reply_to.serial_num);
	KUNIT_EXPECT_STREQ(test, KBUS_MSG_NAME_REPLIER_GONEAWAY,
			   rq->msgs[1].name);
	KUNIT_EXPECT_EQ(test, id2.serial_num,
			rq->msgs[1].in_reply_to.serial_num);
	/* The replier's callback saw only the first. */
	KUNIT_EXPECT_EQ(test, 1, rec_count(rr));
	msleep(20);
	KUNIT_EXPECT_EQ(test, 2, rec_count(rq));
}

/*
 * A kernel client's request is always answered: by KBUS when its replier
 * returns without replying, and when its replier goes.
 */
static void kernel_requester_always_gets_an_answer(struct kunit *test)
{
	struct rec *rr = rec_alloc(test), *rq = rec_alloc(test);
	struct kbus_client *q = rec_client(test, rq);
	struct kbus_client *replier;
	struct kbus_msg_id id;

	replier = kbus_client_open(0, &rec_ops, rr);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, replier);
	KUNIT_ASSERT_EQ(test, 0, kbus_client_bind(replier, "$.KUnit.Gone",
						  true));
	KUNIT_ASSERT_EQ(test, 0, kbus_client_send(q, "$.KUnit.Gone", "x", 1,
						  KBUS_BIT_WANT_A_REPLY, &id));
	KUNIT_ASSERT_TRUE(test, rec_wait(rr, 1));
	KUNIT_EXPECT_EQ(test, 0, memcmp("x", rr->msgs[0].data, 1));
	/* Not replied to in the callback: Ignored, at once. */
	KUNIT_ASSERT_TRUE(test, rec_wait(rq, 1));
	KUNIT_EXPECT_STREQ(test, KBUS_MSG_NAME_REPLIER_IGNORED,
			   rq->msgs[0].name);
	KUNIT_EXPECT_EQ(test, id.serial_num,
			rq->msgs[0].in_reply_to.serial_num);
	KUNIT_EXPECT_TRUE(test, rq->msgs[0].flags & KBUS_BIT_SYNTHETIC);
	KUNIT_EXPECT_EQ(test, 0, READ_ONCE(replier->ks->num_owed));

	/* Queued and not handed over when the module goes: GoneAway. */
	rr->block_first = true;
	reinit_completion(&rr->blocked);
	kbus_client_close(replier);
	KUNIT_EXPECT_EQ(test, -EADDRNOTAVAIL,
			kbus_client_send(q, "$.KUnit.Gone", NULL, 0,
					 KBUS_BIT_WANT_A_REPLY, NULL));
	KUNIT_EXPECT_EQ(test, 1, rec_count(rq));
}

static void client_errors(struct kunit *test)
{
	struct rec *r = rec_alloc(test);
	struct kbus_client *c = rec_client(test, r);
	struct kbus_client_msg not_request = {
		.name = "$.KUnit.X", .name_len = 9,
	};
	char long_name[KBUS_MAX_NAME_LEN + 8];

	KUNIT_EXPECT_EQ(test, -ENODEV,
			PTR_ERR(kbus_client_open(KBUS_MAX_NUM_DEVICES, &rec_ops,
						 r)));
	KUNIT_EXPECT_EQ(test, -EBADMSG, kbus_client_bind(c, "$.", false));
	KUNIT_EXPECT_EQ(test, -EBADMSG,
			kbus_client_bind(c, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
					 true));
	KUNIT_EXPECT_EQ(test, -EBADMSG, kbus_client_send(c, "nope", NULL, 0,
							 0, NULL));
	KUNIT_EXPECT_EQ(test, -EBADMSG, kbus_client_send(c, "$.A.*", NULL, 0,
							 0, NULL));
	KUNIT_EXPECT_EQ(test, -EPERM, kbus_client_send(c, "$.KBUS.Fake", NULL,
						       0, 0, NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			kbus_client_send(c, "$.KUnit.X", NULL, 0,
					 KBUS_BIT_ALL_OR_WAIT, NULL));
	KUNIT_EXPECT_EQ(test, -EADDRNOTAVAIL,
			kbus_client_send(c, "$.KUnit.Nobody", NULL, 0,
					 KBUS_BIT_WANT_A_REPLY, NULL));
	KUNIT_EXPECT_EQ(test, -ECONNREFUSED,
			kbus_client_reply(c, &not_request, NULL, 0));
	KUNIT_EXPECT_EQ(test, -EINVAL, kbus_client_unbind(c, "$.KUnit.X",
							  false));
	memset(long_name, 'a', sizeof(long_name));
	long_name[0] = '$';
	long_name[1] = '.';
	long_name[sizeof(long_name) - 1] = '\0';
	KUNIT_EXPECT_EQ(test, -ENAMETOOLONG,
			kbus_client_send(c, long_name, NULL, 0, 0, NULL));
	KUNIT_EXPECT_EQ(test, -ENAMETOOLONG,
			kbus_client_bind(c, long_name, false));
	KUNIT_EXPECT_EQ(test, 0, rec_count(r));
}

static struct kunit_case kbus_client_cases[] = {
	KUNIT_CASE(client_receives_in_bus_order),
	KUNIT_CASE(client_request_gets_reply),
	KUNIT_CASE(replier_closed_with_requests_in_flight_and_queued),
	KUNIT_CASE(kernel_requester_always_gets_an_answer),
	KUNIT_CASE(client_errors),
	{}
};

static struct kunit_suite kbus_client_suite = {
	.name = "kbus_client",
	.test_cases = kbus_client_cases,
};

kunit_test_suite(kbus_client_suite);
