// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - KUnit tests for the message store, queues, names and bindings
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/string.h>

#include "../account.h"
#include "../bind.h"
#include "../core.h"
#include "../event.h"
#include "../msg.h"
#include "../reply.h"
#include "../send.h"
#include "kunit_util.h"

static struct kbus_qentry *push_new(struct kunit *test, struct kbus_ksock *ks,
				    u32 serial, bool urgent)
{
	struct kbus_msg *msg = kbus_test_msg(test, "$.Q", 0, 0);
	struct kbus_qentry *qe;

	msg->id.serial_num = serial;
	qe = kbus_qentry_alloc(msg, 0);
	kbus_msg_put(msg);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	kbus_bus_lock_sleepable(ks->bus);
	kbus_queue_push_locked(ks, qe, urgent);
	kbus_bus_unlock_sleepable(ks->bus);
	return qe;
}

static void queue_pop_returns_fifo_order(struct kunit *test)
{
	struct kbus_ksock *ks = kbus_test_ksock(test, kbus_test_bus(test));
	u32 i;

	for (i = 1; i <= 5; i++)
		push_new(test, ks, i, false);
	KUNIT_EXPECT_EQ(test, ks->queue_len, 5);
	for (i = 1; i <= 5; i++)
		KUNIT_EXPECT_EQ(test, kbus_test_pop(test, ks)->msg->id.serial_num,
				i);
	KUNIT_EXPECT_EQ(test, ks->queue_len, 0);
}

static void queue_pop_empty_returns_null(struct kunit *test)
{
	struct kbus_ksock *ks = kbus_test_ksock(test, kbus_test_bus(test));

	KUNIT_EXPECT_NULL(test, kbus_test_pop(test, ks));
	KUNIT_EXPECT_EQ(test, ks->queue_len, 0);
}

static void queue_push_urgent_goes_to_head(struct kunit *test)
{
	struct kbus_ksock *ks = kbus_test_ksock(test, kbus_test_bus(test));

	push_new(test, ks, 1, false);
	push_new(test, ks, 2, true);
	push_new(test, ks, 3, true);
	KUNIT_EXPECT_EQ(test, kbus_test_pop(test, ks)->msg->id.serial_num, 3);
	KUNIT_EXPECT_EQ(test, kbus_test_pop(test, ks)->msg->id.serial_num, 2);
	KUNIT_EXPECT_EQ(test, kbus_test_pop(test, ks)->msg->id.serial_num, 1);
}

static void queue_full_counts_reserved_reply_slots(struct kunit *test)
{
	struct kbus_ksock *ks = kbus_test_ksock(test, kbus_test_bus(test));

	ks->max_msgs = 2;
	push_new(test, ks, 1, false);
	kbus_bus_lock_sleepable(ks->bus);
	KUNIT_EXPECT_FALSE(test, kbus_queue_full_locked(ks));
	ks->num_outstanding = 1;
	KUNIT_EXPECT_TRUE(test, kbus_queue_full_locked(ks));
	ks->num_outstanding = 0;
	kbus_bus_unlock_sleepable(ks->bus);
	push_new(test, ks, 2, false);
	kbus_bus_lock_sleepable(ks->bus);
	KUNIT_EXPECT_TRUE(test, kbus_queue_full_locked(ks));
	kbus_bus_unlock_sleepable(ks->bus);
}

static void queue_remove_updates_length(struct kunit *test)
{
	struct kbus_ksock *ks = kbus_test_ksock(test, kbus_test_bus(test));
	struct kbus_qentry *qe;

	push_new(test, ks, 1, false);
	qe = push_new(test, ks, 2, false);
	push_new(test, ks, 3, false);
	kbus_bus_lock_sleepable(ks->bus);
	kbus_queue_remove_locked(ks, qe);
	kbus_bus_unlock_sleepable(ks->bus);
	kbus_qentry_free(qe);
	KUNIT_EXPECT_EQ(test, ks->queue_len, 2);
	KUNIT_EXPECT_EQ(test, kbus_test_pop(test, ks)->msg->id.serial_num, 1);
	KUNIT_EXPECT_EQ(test, kbus_test_pop(test, ks)->msg->id.serial_num, 3);
}

static void msg_seal_zeroes_padding_and_sets_guard(struct kunit *test)
{
	struct kbus_msg *msg = kbus_msg_alloc(5, 3);
	u32 guard;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, msg);
	memset(msg->body, 0xff, kbus_msg_body_len(msg));
	memcpy(msg->body, "$.Abc", 5);
	kbus_msg_seal(msg);
	/* "$.Abc" + NUL + 2 pad = 8; 3 data + 1 pad = 4; guard = 4. */
	KUNIT_EXPECT_EQ(test, kbus_msg_body_len(msg), 16);
	KUNIT_EXPECT_EQ(test, msg->body[5], 0);
	KUNIT_EXPECT_EQ(test, msg->body[7], 0);
	KUNIT_EXPECT_EQ(test, msg->body[10], 0xff);
	KUNIT_EXPECT_EQ(test, msg->body[11], 0);
	memcpy(&guard, msg->body + 12, 4);
	KUNIT_EXPECT_EQ(test, guard, KBUS_MSG_END_GUARD);
	KUNIT_EXPECT_EQ(test, kbus_msg_entire_len(msg),
			KBUS_ENTIRE_MSG_LEN(5, 3));
	kbus_msg_put(msg);
}

static void msg_alloc_rejects_oversized_name(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, PTR_ERR(kbus_msg_alloc(KBUS_MAX_NAME_LEN + 1, 0)),
			-EMSGSIZE);
	KUNIT_EXPECT_EQ(test,
			PTR_ERR(kbus_msg_alloc(3, KBUS_ABS_MAX_MESSAGE_SIZE + 1)),
			-EMSGSIZE);
}

static void header_image_carries_copy_flags(struct kunit *test)
{
	struct kbus_msg *msg = kbus_test_msg(test, "$.Img", 0x10000, 2);
	struct kbus_message_header hdr;
	struct kbus_qentry *qe;

	qe = kbus_qentry_alloc(msg, msg->flags | KBUS_BIT_WANT_YOU_TO_REPLY);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	kbus_msg_put(msg);
	KUNIT_EXPECT_EQ(test, refcount_read(&qe->msg->refcount), 1);
	kbus_msg_header_image(qe, &hdr);
	KUNIT_EXPECT_EQ(test, hdr.start_guard, KBUS_MSG_START_GUARD);
	KUNIT_EXPECT_EQ(test, hdr.end_guard, KBUS_MSG_END_GUARD);
	KUNIT_EXPECT_EQ(test, hdr.flags, 0x10000 | KBUS_BIT_WANT_YOU_TO_REPLY);
	KUNIT_EXPECT_EQ(test, hdr.name_len, 5);
	KUNIT_EXPECT_EQ(test, hdr.data_len, 2);
	KUNIT_EXPECT_EQ(test, hdr.name, 0);
	KUNIT_EXPECT_EQ(test, hdr.data, 0);
	kbus_qentry_free(qe);
}

static void first_copy_uses_the_embedded_entry(struct kunit *test)
{
	struct kbus_msg *msg = kbus_test_msg(test, "$.Emb", 0, 4);
	struct kbus_qentry *first, *second, *again;

	first = kbus_qentry_alloc(msg, 0);
	second = kbus_qentry_alloc(msg, 0);
	KUNIT_ASSERT_NOT_NULL(test, first);
	KUNIT_ASSERT_NOT_NULL(test, second);
	KUNIT_EXPECT_PTR_EQ(test, first, &msg->entry);
	KUNIT_EXPECT_PTR_NE(test, second, &msg->entry);
	KUNIT_EXPECT_EQ(test, refcount_read(&msg->refcount), 3);

	/* Freed, the embedded entry serves the next copy again. */
	kbus_qentry_free(first);
	KUNIT_EXPECT_NULL(test, msg->entry.msg);
	KUNIT_EXPECT_EQ(test, refcount_read(&msg->refcount), 2);
	again = kbus_qentry_alloc(msg, 0);
	KUNIT_ASSERT_NOT_NULL(test, again);
	KUNIT_EXPECT_PTR_EQ(test, again, &msg->entry);

	/* The entries outlive the sender's reference. */
	kbus_msg_put(msg);
	KUNIT_EXPECT_EQ(test, refcount_read(&msg->refcount), 2);
	kbus_qentry_free(second);
	KUNIT_EXPECT_EQ(test, refcount_read(&again->msg->refcount), 1);
	kbus_qentry_free(again);
}

/*
 * A message keeps what it costs each holder, as worked out from its
 * lengths, when that fits; a large one has it worked out at each charge.
 */
static void msg_cost_is_kept_when_it_fits(struct kunit *test)
{
	static const u32 data_lens[] = { 0, 64, 4096, 20000, 40000 };
	struct kbus_msg_id id = { 0, 7 };
	struct kbus_qentry *qe;
	struct kbus_msg *msg;
	size_t cost;
	int i;

	for (i = 0; i < ARRAY_SIZE(data_lens); i++) {
		msg = kbus_test_msg(test, "$.Cost", 0, data_lens[i]);
		cost = kbus_msg_cost_of(msg);
		KUNIT_EXPECT_GT(test, cost, data_lens[i]);
		KUNIT_EXPECT_EQ(test, kbus_msg_cost(msg), cost);
		KUNIT_EXPECT_EQ(test, msg->cost, cost <= U16_MAX ? cost : 0);
		/* 20000 bytes are allocated in 32 KiB: kept; 40000 in 64. */
		if (data_lens[i] == 20000)
			KUNIT_EXPECT_NE(test, msg->cost, 0);
		if (data_lens[i] == 40000)
			KUNIT_EXPECT_EQ(test, msg->cost, 0);
		kbus_msg_put(msg);
	}

	/*
	 * A spare copy filled as a message KBUS generates has its cost
	 * worked out again, from its new lengths.
	 */
	qe = kbus_synth_alloc();
	KUNIT_ASSERT_NOT_NULL(test, qe);
	qe->msg->cost = 1;
	kbus_synth_fill(qe, KBUS_MSG_NAME_REPLIER_GONEAWAY, &id, 0, 1, NULL);
	KUNIT_EXPECT_EQ(test, qe->msg->cost, kbus_msg_cost_of(qe->msg));
	kbus_qentry_free(qe);
}

/*
 * A Ksock found by id is remembered for the next lookup, and forgotten
 * as it closes: its id then finds nothing.
 */
static void ksock_lookup_forgets_a_closed_ksock(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *a = kbus_test_ksock(test, bus);
	struct kbus_ksock *b = kbus_test_ksock(test, bus);
	u32 a_id = a->id;

	kbus_bus_lock(bus);
	KUNIT_EXPECT_NULL(test, kbus_ksock_lookup_locked(bus, 0));
	KUNIT_EXPECT_PTR_EQ(test, kbus_ksock_lookup_locked(bus, a_id), a);
	KUNIT_EXPECT_PTR_EQ(test, bus->last_ksock, a);
	/* Id 0 is nobody's, whoever was found last. */
	KUNIT_EXPECT_NULL(test, kbus_ksock_lookup_locked(bus, 0));
	KUNIT_EXPECT_PTR_EQ(test, kbus_ksock_lookup_locked(bus, b->id), b);
	KUNIT_EXPECT_PTR_EQ(test, kbus_ksock_lookup_locked(bus, a_id), a);
	kbus_bus_unlock(bus);

	kunit_release_action(test, kbus_test_ksock_release, a);
	kbus_bus_lock(bus);
	KUNIT_EXPECT_NULL(test, bus->last_ksock);
	KUNIT_EXPECT_NULL(test, kbus_ksock_lookup_locked(bus, a_id));
	KUNIT_EXPECT_PTR_EQ(test, kbus_ksock_lookup_locked(bus, b->id), b);
	kbus_bus_unlock(bus);
}

struct name_case {
	const char *name;
	bool valid;
	bool wildcard;
	const char *desc;
};

static const struct name_case name_cases[] = {
	{ "$.A", true, false, "single word" },
	{ "$.Sensors.Kitchen", true, false, "two words" },
	{ "$.a1.B2.c3", true, false, "alphanumerics" },
	{ "$.*", true, true, "root star" },
	{ "$.%", true, true, "root percent" },
	{ "$.A.*", true, true, "star below a word" },
	{ "$.A.%", true, true, "percent below a word" },
	{ "", false, false, "empty" },
	{ "$", false, false, "dollar alone" },
	{ "$.", false, false, "dollar dot" },
	{ "$..A", false, false, "double dot" },
	{ "$.A.", false, false, "trailing dot" },
	{ "A.B", false, false, "no dollar" },
	{ "$.A-B", false, false, "hyphen" },
	{ "$.A_B", false, false, "underscore" },
	{ "$.A B", false, false, "space" },
	{ "$.*.A", false, false, "star not last" },
	{ "$.A*", false, false, "star inside a word" },
	{ "$.A.**", false, false, "double star" },
	{ "$.A.%.*", false, false, "two wildcards" },
	{ "$.$", false, false, "dollar as a word" },
};

KUNIT_ARRAY_PARAM_DESC(name_case, name_cases, desc);

static void name_validity_follows_grammar(struct kunit *test)
{
	const struct name_case *c = test->param_value;
	u32 len = strlen(c->name);

	KUNIT_EXPECT_EQ(test, kbus_name_valid(c->name, len, true), c->valid);
	/* Without wildcards, only the plain valid names remain valid. */
	KUNIT_EXPECT_EQ(test, kbus_name_valid(c->name, len, false),
			c->valid && !c->wildcard);
}

static void name_length_limit_is_enforced(struct kunit *test)
{
	char *name = kunit_kzalloc(test, KBUS_MAX_NAME_LEN + 2, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, name);
	memset(name, 'x', KBUS_MAX_NAME_LEN + 1);
	name[0] = '$';
	name[1] = '.';
	KUNIT_EXPECT_TRUE(test, kbus_name_valid(name, KBUS_MAX_NAME_LEN, false));
	KUNIT_EXPECT_FALSE(test,
			   kbus_name_valid(name, KBUS_MAX_NAME_LEN + 1, false));
}

struct match_case {
	const char *pattern;
	const char *name;
	bool match;
	const char *desc;
};

static const struct match_case match_cases[] = {
	{ "$.A.B", "$.A.B", true, "exact" },
	{ "$.A.B", "$.A.BC", false, "exact is not a prefix" },
	{ "$.A.*", "$.A.B", true, "star one level" },
	{ "$.A.*", "$.A.B.C", true, "star two levels" },
	{ "$.A.*", "$.A", false, "star excludes its prefix" },
	{ "$.A.*", "$.AB.C", false, "star on word boundaries" },
	{ "$.A.%", "$.A.B", true, "percent one level" },
	{ "$.A.%", "$.A.B.C", false, "percent not two levels" },
	{ "$.A.%", "$.A", false, "percent excludes its prefix" },
	{ "$.*", "$.Anything.At.All", true, "root star" },
	{ "$.%", "$.Top", true, "root percent" },
	{ "$.%", "$.Top.Next", false, "root percent one level" },
};

KUNIT_ARRAY_PARAM_DESC(match_case, match_cases, desc);

static int count_listener(struct kbus_binding *b, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void binding_lookup_matches_wildcards(struct kunit *test)
{
	const struct match_case c = *(const struct match_case *)test->param_value;
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *ks = kbus_test_ksock(test, bus);
	int n = 0;

	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, c.pattern,
						  strlen(c.pattern), false));
	kbus_visit_listeners_locked(bus, c.name, strlen(c.name),
				    count_listener, &n);
	kbus_bus_unlock_sleepable(bus);
	KUNIT_EXPECT_EQ(test, n, c.match ? 1 : 0);
}

/*
 * A name is found only by itself: for every length up to past two words,
 * a name that differs from a bound one in any one byte (the node just
 * found is tried first) finds nothing.
 */
static void name_lookup_compares_every_byte(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *ks = kbus_test_ksock(test, bus);
	char bound[24], other[24];
	u32 len, i;
	int n;

	kbus_bus_lock_sleepable(bus);
	for (len = 3; len <= 20; len++) {
		memcpy(bound, "$.", 2);
		for (i = 2; i < len; i++)
			bound[i] = 'a' + i;
		KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, bound, len,
							  false));
		for (i = 2; i < len; i++) {
			n = 0;
			kbus_visit_listeners_locked(bus, bound, len,
						    count_listener, &n);
			KUNIT_EXPECT_EQ(test, n, 1);
			memcpy(other, bound, len);
			other[i] = 'A';
			n = 0;
			kbus_visit_listeners_locked(bus, other, len,
						    count_listener, &n);
			KUNIT_EXPECT_EQ_MSG(test, n, 0, "length %u, byte %u",
					    len, i);
		}
		KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, bound, len,
							    false));
	}
	kbus_bus_unlock_sleepable(bus);
}

static void replier_precedence_exact_percent_longest_star(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *root = kbus_test_ksock(test, bus);
	struct kbus_ksock *star = kbus_test_ksock(test, bus);
	struct kbus_ksock *pct = kbus_test_ksock(test, bus);
	struct kbus_ksock *exact = kbus_test_ksock(test, bus);
	const char *name = "$.A.B";
	struct kbus_binding *b;

	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(star, "$.A.*", 5, true));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(root, "$.*", 3, true));
	b = kbus_replier_for_locked(bus, name, 5);
	KUNIT_EXPECT_PTR_EQ(test, b ? b->ksock : NULL, star);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(pct, "$.A.%", 5, true));
	b = kbus_replier_for_locked(bus, name, 5);
	KUNIT_EXPECT_PTR_EQ(test, b ? b->ksock : NULL, pct);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(exact, name, 5, true));
	b = kbus_replier_for_locked(bus, name, 5);
	KUNIT_EXPECT_PTR_EQ(test, b ? b->ksock : NULL, exact);
	b = kbus_replier_for_locked(bus, "$.C", 3);
	KUNIT_EXPECT_PTR_EQ(test, b ? b->ksock : NULL, root);
	b = kbus_replier_for_locked(bus, "$.A.B.C", 7);
	KUNIT_EXPECT_PTR_EQ(test, b ? b->ksock : NULL, star);
	kbus_bus_unlock_sleepable(bus);
}

static void send_fans_out_in_the_same_order(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *sender = kbus_test_ksock(test, bus);
	struct kbus_ksock *a = kbus_test_ksock(test, bus);
	struct kbus_ksock *b = kbus_test_ksock(test, bus);
	struct kbus_msg_id id;
	struct kbus_msg *msg;
	u32 i, first = 0;

	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(a, "$.F.*", 5, false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(b, "$.F.X", 5, false));
	kbus_bus_unlock_sleepable(bus);

	for (i = 0; i < 4; i++) {
		msg = kbus_test_msg(test, "$.F.X", 0, i);
		KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
		KUNIT_EXPECT_EQ(test, msg->from, sender->id);
		if (!first)
			first = id.serial_num;
		kbus_msg_put(msg);
	}
	KUNIT_EXPECT_EQ(test, a->queue_len, 4);
	KUNIT_EXPECT_EQ(test, b->queue_len, 4);
	for (i = 0; i < 4; i++) {
		struct kbus_qentry *qa = kbus_test_pop(test, a);
		struct kbus_qentry *qb = kbus_test_pop(test, b);

		KUNIT_ASSERT_NOT_NULL(test, qa);
		KUNIT_ASSERT_NOT_NULL(test, qb);
		/* One shared body, the same order everywhere. */
		KUNIT_EXPECT_PTR_EQ(test, qa->msg, qb->msg);
		KUNIT_EXPECT_EQ(test, qa->msg->id.serial_num, first + i);
	}
}

static void send_to_full_listener_is_counted_as_dropped(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *sender = kbus_test_ksock(test, bus);
	struct kbus_ksock *l = kbus_test_ksock(test, bus);
	struct kbus_msg_id id;
	struct kbus_msg *msg;

	l->max_msgs = 1;
	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, "$.D", 3, false));
	kbus_bus_unlock_sleepable(bus);

	msg = kbus_test_msg(test, "$.D", 0, 0);
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	kbus_msg_put(msg);
	msg = kbus_test_msg(test, "$.D", 0, 0);
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	kbus_msg_put(msg);
	msg = kbus_test_msg(test, "$.D", KBUS_BIT_ALL_OR_FAIL, 0);
	KUNIT_EXPECT_EQ(test, -EBUSY, kbus_send(sender, msg, &id));
	kbus_msg_put(msg);
	KUNIT_EXPECT_EQ(test, l->queue_len, 1);
	KUNIT_EXPECT_EQ(test, l->dropped, 1);
}

/* Two bindings that match, a full queue: one message missed, counted once. */
static void dropped_counts_a_message_once(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *sender = kbus_test_ksock(test, bus);
	struct kbus_ksock *l = kbus_test_ksock(test, bus);
	struct kbus_msg_id id;
	struct kbus_msg *msg;
	int only_once;

	for (only_once = 0; only_once <= 1; only_once++) {
		l->max_msgs = 1;
		l->only_once = only_once;
		l->dropped = 0;
		kbus_bus_lock_sleepable(bus);
		KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, "$.T.D", 5, false));
		KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, "$.T.*", 5, false));
		kbus_bus_unlock_sleepable(bus);

		/* Fills the queue (one copy only fits). */
		msg = kbus_test_msg(test, "$.T.D", 0, 0);
		KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
		kbus_msg_put(msg);
		KUNIT_EXPECT_EQ(test, l->queue_len, 1);
		l->dropped = 0;
		msg = kbus_test_msg(test, "$.T.D", 0, 0);
		KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
		kbus_msg_put(msg);
		KUNIT_EXPECT_EQ(test, l->dropped, 1);

		KUNIT_EXPECT_NOT_NULL(test, kbus_test_pop(test, l));
		kbus_bus_lock_sleepable(bus);
		KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(l, "$.T.D", 5, false));
		KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(l, "$.T.*", 5, false));
		kbus_bus_unlock_sleepable(bus);
	}
}

static void only_once_delivers_one_copy(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *sender = kbus_test_ksock(test, bus);
	struct kbus_ksock *l = kbus_test_ksock(test, bus);
	struct kbus_msg_id id;
	struct kbus_msg *msg;

	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, "$.O", 3, false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, "$.*", 3, false));
	kbus_bus_unlock_sleepable(bus);

	msg = kbus_test_msg(test, "$.O", 0, 0);
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	KUNIT_EXPECT_EQ(test, l->queue_len, 2);
	l->only_once = true;
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	KUNIT_EXPECT_EQ(test, l->queue_len, 3);
	kbus_msg_put(msg);
}

static void all_or_fail_delivers_to_nobody_if_one_is_full(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *sender = kbus_test_ksock(test, bus);
	struct kbus_ksock *roomy = kbus_test_ksock(test, bus);
	struct kbus_ksock *full = kbus_test_ksock(test, bus);
	struct kbus_msg_id id, before;
	struct kbus_msg *msg, *other;

	full->max_msgs = 1;
	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(roomy, "$.N", 3, false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(full, "$.N", 3, false));
	kbus_bus_unlock_sleepable(bus);
	msg = kbus_test_msg(test, "$.N", 0, 0);
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	kbus_msg_put(msg);

	msg = kbus_test_msg(test, "$.N", KBUS_BIT_ALL_OR_FAIL, 0);
	KUNIT_EXPECT_EQ(test, -EBUSY, kbus_send(sender, msg, &id));
	kbus_msg_put(msg);
	msg = kbus_test_msg(test, "$.N", KBUS_BIT_ALL_OR_WAIT, 0);
	KUNIT_EXPECT_EQ(test, -EAGAIN, kbus_send(sender, msg, &id));
	KUNIT_EXPECT_EQ(test, roomy->queue_len, 1);
	KUNIT_EXPECT_EQ(test, full->queue_len, 1);
	KUNIT_EXPECT_EQ(test, full->send_pending, 0);

	/*
	 * The refused attempts gave their id back: the next message sent
	 * takes it.  Then room appears, and the retry reaches both, with
	 * the id that follows: its place in the order is its delivery.
	 */
	before = msg->id;
	other = kbus_test_msg(test, "$.Other", 0, 0);
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, other, &id));
	kbus_msg_put(other);
	KUNIT_EXPECT_EQ(test, id.serial_num, before.serial_num);
	KUNIT_EXPECT_NOT_NULL(test, kbus_test_pop(test, full));
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	KUNIT_EXPECT_EQ(test, id.serial_num, msg->id.serial_num);
	KUNIT_EXPECT_EQ(test, id.serial_num, before.serial_num + 1);
	KUNIT_EXPECT_EQ(test, roomy->queue_len, 2);
	KUNIT_EXPECT_EQ(test, full->queue_len, 1);
	kbus_msg_put(msg);
}

static void byte_limits_charge_the_holder(struct kunit *test)
{
	unsigned long saved = kbus_user_bytes;
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *sender = kbus_test_ksock(test, bus);
	struct kbus_ksock *l = kbus_test_ksock(test, bus);
	struct kbus_qentry *qe;
	struct kbus_msg_id id;
	struct kbus_msg *msg;
	size_t cost;
	int i;

	l->max_bytes = 8192;
	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, "$.B", 3, false));
	kbus_bus_unlock_sleepable(bus);
	msg = kbus_test_msg(test, "$.B", 0, 1000);
	cost = kbus_msg_cost(msg);
	kbus_msg_put(msg);
	KUNIT_ASSERT_GT(test, cost, 1000);
	for (i = 0; i < 20; i++) {
		msg = kbus_test_msg(test, "$.B", 0, 1000);
		KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
		kbus_msg_put(msg);
	}
	/* The listener holds what fits and missed the rest. */
	KUNIT_EXPECT_EQ(test, l->queue_len, 8192 / cost);
	KUNIT_EXPECT_EQ(test, l->queued_bytes, l->queue_len * cost);
	KUNIT_EXPECT_EQ(test, l->dropped, 20 - l->queue_len);
	/* Its user pays (the sender's too: one user), the sender nothing. */
	KUNIT_EXPECT_EQ(test, sender->queued_bytes, 0);
	KUNIT_EXPECT_PTR_EQ(test, l->user, sender->user);
	KUNIT_EXPECT_GE(test, l->user->bytes, l->queued_bytes);

	/* The user's limit holds whatever the Ksock's limit says. */
	l->max_bytes = 1 << 20;
	kbus_user_bytes = l->user->bytes;
	msg = kbus_test_msg(test, "$.B", 0, 1000);
	KUNIT_EXPECT_EQ(test, 0, kbus_send(sender, msg, &id));
	kbus_msg_put(msg);
	kbus_user_bytes = saved;
	KUNIT_EXPECT_EQ(test, l->queue_len, 8192 / cost);

	/* Reading gives the bytes back. */
	while ((qe = kbus_test_pop(test, l)))
		kunit_release_action(test, kbus_test_qentry_free, qe);
	KUNIT_EXPECT_EQ(test, l->queued_bytes, 0);
}

/* Find the binding of @ks to @name, which must exist. */
static struct kbus_binding *find_binding(struct kunit *test,
					 struct kbus_ksock *ks,
					 const char *name, bool is_replier)
{
	struct kbus_binding *b;

	b = kbus_binding_find_locked(ks, name, strlen(name), is_replier);
	KUNIT_ASSERT_NOT_NULL(test, b);
	return b;
}

static void bind_events_to_a_full_listener_are_lost(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *rep = kbus_test_ksock(test, bus);
	struct kbus_ksock *l = kbus_test_ksock(test, bus);
	const char *ev = KBUS_MSG_NAME_REPLIER_BIND_EVENT;
	struct kbus_binding *b;
	struct kbus_qentry *qe;
	const u32 *data;

	bus->report_replier_binds = true;
	l->max_msgs = 1;
	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l, ev, strlen(ev), false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(rep, "$.E", 3, true));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(rep, "$.F", 3, true));
	b = find_binding(test, rep, "$.E", true);
	KUNIT_EXPECT_NOT_NULL(test, b->unbind_event);
	KUNIT_EXPECT_EQ(test, 0, kbus_report_bind_locked(b, true));
	/* Full: the unbind event is lost, and said to be, past the limit. */
	KUNIT_EXPECT_EQ(test, 0, kbus_report_bind_locked(b, false));
	KUNIT_EXPECT_NULL(test, b->unbind_event);
	kbus_binding_free_locked(b);
	KUNIT_EXPECT_EQ(test, l->queue_len, 2);
	KUNIT_EXPECT_TRUE(test, l->unbind_lost);
	/* Then nothing more until the marker has been read. */
	b = find_binding(test, rep, "$.F", true);
	KUNIT_EXPECT_EQ(test, 0, kbus_report_bind_locked(b, true));
	KUNIT_EXPECT_EQ(test, l->queue_len, 2);
	KUNIT_EXPECT_EQ(test, l->dropped, 2);
	kbus_bus_unlock_sleepable(bus);

	qe = kbus_test_pop(test, l);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_STREQ(test, kbus_msg_name(qe->msg), ev);
	KUNIT_EXPECT_EQ(test, qe->flags, KBUS_BIT_SYNTHETIC);
	data = (const u32 *)kbus_msg_data(qe->msg);
	KUNIT_EXPECT_EQ(test, data[0], 1);
	KUNIT_EXPECT_EQ(test, data[1], rep->id);
	KUNIT_EXPECT_EQ(test, data[2], 3);
	KUNIT_EXPECT_EQ(test, qe->msg->data_len, 12 + KBUS_PADDED_NAME_LEN(3));
	qe = kbus_test_pop(test, l);
	KUNIT_ASSERT_NOT_NULL(test, qe);
	KUNIT_EXPECT_STREQ(test, kbus_msg_name(qe->msg),
			   KBUS_MSG_NAME_UNBIND_EVENTS_LOST);
	KUNIT_EXPECT_FALSE(test, l->unbind_lost);
	KUNIT_EXPECT_EQ(test, l->queued_bytes, 0);
}

/* Full listeners of one unbind event: one marker, with one id. */
static void unbind_events_lost_is_one_message(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *rep = kbus_test_ksock(test, bus);
	struct kbus_ksock *l1 = kbus_test_ksock(test, bus);
	struct kbus_ksock *l2 = kbus_test_ksock(test, bus);
	const char *ev = KBUS_MSG_NAME_REPLIER_BIND_EVENT;
	struct kbus_qentry *q1, *q2;
	struct kbus_binding *b;

	bus->report_replier_binds = true;
	l1->max_msgs = 1;
	l2->max_msgs = 1;
	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l1, ev, strlen(ev), false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(l2, ev, strlen(ev), false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(rep, "$.E", 3, true));
	b = find_binding(test, rep, "$.E", true);
	/* Fill both queues, then the unbind event finds them full. */
	KUNIT_ASSERT_EQ(test, 0, kbus_report_bind_locked(b, true));
	KUNIT_EXPECT_EQ(test, 0, kbus_report_bind_locked(b, false));
	kbus_binding_free_locked(b);
	kbus_bus_unlock_sleepable(bus);

	KUNIT_ASSERT_NOT_NULL(test, kbus_test_pop(test, l1));
	KUNIT_ASSERT_NOT_NULL(test, kbus_test_pop(test, l2));
	q1 = kbus_test_pop(test, l1);
	q2 = kbus_test_pop(test, l2);
	KUNIT_ASSERT_NOT_NULL(test, q1);
	KUNIT_ASSERT_NOT_NULL(test, q2);
	KUNIT_EXPECT_STREQ(test, kbus_msg_name(q1->msg),
			   KBUS_MSG_NAME_UNBIND_EVENTS_LOST);
	KUNIT_EXPECT_STREQ(test, kbus_msg_name(q2->msg),
			   KBUS_MSG_NAME_UNBIND_EVENTS_LOST);
	KUNIT_EXPECT_NE(test, q1->msg->id.serial_num, 0);
	KUNIT_EXPECT_EQ(test, q1->msg->id.serial_num, q2->msg->id.serial_num);
}

static void name_table_grows_and_shrinks_with_the_names(struct kunit *test)
{
	unsigned int saved = kbus_max_bindings;
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *ks = kbus_test_ksock(test, bus);
	char name[32];
	int i, found = 0, len;

	kbus_max_bindings = 2000;
	kbus_bus_lock_sleepable(bus);
	for (i = 0; i < 1000; i++) {
		len = snprintf(name, sizeof(name), "$.T.N%d", i);
		KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, name, len, false));
	}
	kbus_max_bindings = saved;
	KUNIT_EXPECT_EQ(test, bus->names.count, 1000);
	/* About one name per bucket. */
	KUNIT_EXPECT_GE(test, 1U << bus->names.bits, 1000);
	KUNIT_EXPECT_LE(test, 1U << bus->names.bits, 2048);
	for (i = 0; i < 1000; i++) {
		len = snprintf(name, sizeof(name), "$.T.N%d", i);
		kbus_visit_listeners_locked(bus, name, len, count_listener,
					    &found);
	}
	KUNIT_EXPECT_EQ(test, found, 1000);
	for (i = 0; i < 1000; i++) {
		len = snprintf(name, sizeof(name), "$.T.N%d", i);
		KUNIT_ASSERT_EQ(test, 0,
				kbus_unbind_locked(ks, name, len, false));
	}
	KUNIT_EXPECT_EQ(test, bus->names.count, 0);
	KUNIT_EXPECT_EQ(test, bus->names.bits, KBUS_NAMES_MIN_BITS);
	kbus_bus_unlock_sleepable(bus);
}

static void name_table_counts_the_nodes_of_each_kind(struct kunit *test)
{
	static const char *const names[] = { "$.K.*", "$.K.%", "$.K.A",
					     "$.*" };
	static const u32 kinds[] = { KBUS_NAME_STAR, KBUS_NAME_PERCENT,
				     KBUS_NAME_EXACT, KBUS_NAME_STAR };
	/* Nodes of that kind left once each is unbound, in turn. */
	static const u32 left[] = { 1, 0, 1, 0 };
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *ks = kbus_test_ksock(test, bus);
	u32 *nr = bus->names.nr_kind;
	int i, found;

	kbus_bus_lock_sleepable(bus);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, names[i],
							  strlen(names[i]),
							  false));
	/* A second binding to a name adds no node. */
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, "$.K.A", 5, true));
	KUNIT_EXPECT_EQ(test, nr[KBUS_NAME_STAR], 2);
	KUNIT_EXPECT_EQ(test, nr[KBUS_NAME_PERCENT], 1);
	KUNIT_EXPECT_EQ(test, nr[KBUS_NAME_EXACT], 1);
	/* Each binding is found; then each kind goes as its last node does. */
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		found = 0;
		kbus_visit_listeners_locked(bus, "$.K.A", 5, count_listener,
					    &found);
		KUNIT_EXPECT_EQ(test, found, ARRAY_SIZE(names) - i);
		KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, names[i],
							    strlen(names[i]),
							    false));
		/* The replier keeps the exact node. */
		KUNIT_EXPECT_EQ(test, nr[kinds[i]], left[i]);
	}
	KUNIT_EXPECT_PTR_NE(test, kbus_replier_for_locked(bus, "$.K.A", 5),
			    NULL);
	KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, "$.K.A", 5, true));
	for (i = 0; i < ARRAY_SIZE(bus->names.nr_kind); i++)
		KUNIT_EXPECT_EQ(test, nr[i], 0);
	kbus_bus_unlock_sleepable(bus);
}

static void name_lookup_forgets_a_freed_node(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *ks = kbus_test_ksock(test, bus);
	struct kbus_binding *a, *b;

	kbus_bus_lock_sleepable(bus);
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, "$.L.A", 5, true));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, "$.L.B", 5, true));
	a = kbus_replier_for_locked(bus, "$.L.A", 5);
	KUNIT_ASSERT_PTR_NE(test, a, NULL);
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, a->node);
	/* Found again as the node last found. */
	KUNIT_EXPECT_PTR_EQ(test, kbus_replier_for_locked(bus, "$.L.A", 5), a);
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, a->node);
	/* The node last found matches only its name. */
	b = kbus_replier_for_locked(bus, "$.L.B", 5);
	KUNIT_ASSERT_PTR_NE(test, b, NULL);
	KUNIT_EXPECT_PTR_NE(test, b, a);
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, b->node);
	KUNIT_EXPECT_PTR_EQ(test, kbus_replier_for_locked(bus, "$.L.A", 5), a);
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, a->node);
	/* Freeing that node forgets it. */
	KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, "$.L.A", 5, true));
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, NULL);
	KUNIT_EXPECT_PTR_EQ(test, kbus_replier_for_locked(bus, "$.L.A", 5),
			    NULL);
	KUNIT_EXPECT_PTR_EQ(test, kbus_replier_for_locked(bus, "$.L.B", 5), b);
	KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, "$.L.B", 5, true));
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, NULL);
	kbus_bus_unlock_sleepable(bus);
}

static void name_lookup_tells_kinds_apart(struct kunit *test)
{
	struct kbus_bus *bus = kbus_test_bus(test);
	struct kbus_ksock *ks = kbus_test_ksock(test, bus);
	struct kbus_binding *star;

	kbus_bus_lock_sleepable(bus);
	/* Two nodes with the same key, "$.M": a % listener, a * replier. */
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, "$.M.%", 5, false));
	KUNIT_ASSERT_EQ(test, 0, kbus_bind_locked(ks, "$.M.*", 5, true));
	star = kbus_replier_exact_locked(bus, "$.M.*", 5);
	KUNIT_ASSERT_PTR_NE(test, star, NULL);
	KUNIT_EXPECT_PTR_EQ(test, kbus_replier_exact_locked(bus, "$.M.%", 5),
			    NULL);
	KUNIT_ASSERT_PTR_NE(test, bus->names.last, NULL);
	KUNIT_EXPECT_EQ(test, bus->names.last->kind, KBUS_NAME_PERCENT);
	/*
	 * The % node, last found, has no replier; the * node with its key
	 * must still be found, not taken for the % node.
	 */
	KUNIT_EXPECT_PTR_EQ(test, kbus_replier_for_locked(bus, "$.M.x", 5),
			    star);
	KUNIT_ASSERT_PTR_NE(test, bus->names.last, NULL);
	KUNIT_EXPECT_EQ(test, bus->names.last->kind, KBUS_NAME_STAR);
	KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, "$.M.*", 5, true));
	KUNIT_ASSERT_EQ(test, 0, kbus_unbind_locked(ks, "$.M.%", 5, false));
	KUNIT_EXPECT_PTR_EQ(test, bus->names.last, NULL);
	kbus_bus_unlock_sleepable(bus);
}

static struct kunit_case kbus_queue_cases[] = {
	KUNIT_CASE(queue_pop_returns_fifo_order),
	KUNIT_CASE(queue_pop_empty_returns_null),
	KUNIT_CASE(queue_push_urgent_goes_to_head),
	KUNIT_CASE(queue_full_counts_reserved_reply_slots),
	KUNIT_CASE(queue_remove_updates_length),
	KUNIT_CASE(msg_seal_zeroes_padding_and_sets_guard),
	KUNIT_CASE(msg_alloc_rejects_oversized_name),
	KUNIT_CASE(header_image_carries_copy_flags),
	KUNIT_CASE(first_copy_uses_the_embedded_entry),
	KUNIT_CASE(msg_cost_is_kept_when_it_fits),
	KUNIT_CASE(ksock_lookup_forgets_a_closed_ksock),
	KUNIT_CASE_PARAM(name_validity_follows_grammar, name_case_gen_params),
	KUNIT_CASE(name_length_limit_is_enforced),
	KUNIT_CASE_PARAM(binding_lookup_matches_wildcards,
			 match_case_gen_params),
	KUNIT_CASE(name_lookup_compares_every_byte),
	KUNIT_CASE(replier_precedence_exact_percent_longest_star),
	KUNIT_CASE(send_fans_out_in_the_same_order),
	KUNIT_CASE(send_to_full_listener_is_counted_as_dropped),
	KUNIT_CASE(dropped_counts_a_message_once),
	KUNIT_CASE(only_once_delivers_one_copy),
	KUNIT_CASE(all_or_fail_delivers_to_nobody_if_one_is_full),
	KUNIT_CASE(byte_limits_charge_the_holder),
	KUNIT_CASE(bind_events_to_a_full_listener_are_lost),
	KUNIT_CASE(name_table_grows_and_shrinks_with_the_names),
	KUNIT_CASE(name_table_counts_the_nodes_of_each_kind),
	KUNIT_CASE(name_lookup_forgets_a_freed_node),
	KUNIT_CASE(name_lookup_tells_kinds_apart),
	KUNIT_CASE(unbind_events_lost_is_one_message),
	{}
};

static struct kunit_suite kbus_queue_suite = {
	.name = "kbus_queue",
	.test_cases = kbus_queue_cases,
};

kunit_test_suite(kbus_queue_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests for the KBUS message store and queues");
MODULE_LICENSE("GPL");
