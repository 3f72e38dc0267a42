// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - binding, unbinding, replier and message name tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include "common.h"

FIXTURE(kbus) {
	bool skip;
	int a;
	int b;
	int c;
};

FIXTURE_SETUP(kbus)
{
	self->a = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->a < 0) {
		self->skip = true;
		return;
	}
	self->b = kbus_open(_metadata);
	self->c = kbus_open(_metadata);
}

FIXTURE_TEARDOWN(kbus)
{
	if (self->skip)
		return;
	close(self->c);
	close(self->b);
	close(self->a);
}

static const struct {
	const char *name;
	bool bind_ok;	/* valid as a binding */
	bool send_ok;	/* valid as a message name */
} names[] = {
	{ "$.A", true, true },
	{ "$.A.B", true, true },
	{ "$.a1.B2", true, true },
	{ "$.1", true, true },
	{ "$.Abc.Def.Ghi.Jkl", true, true },
	{ "$.*", true, false },
	{ "$.%", true, false },
	{ "$.A.*", true, false },
	{ "$.A.%", true, false },
	{ "$.A.B.*", true, false },
	{ "$", false, false },
	{ "$.", false, false },
	{ "$..A", false, false },
	{ "$.A.", false, false },
	{ "$.A..B", false, false },
	{ "A.B", false, false },
	{ ".A", false, false },
	{ "$A", false, false },
	{ "$A.B", false, false },
	{ "#.A", false, false },
	{ "$.A-B", false, false },
	{ "$.A_B", false, false },
	{ "$.A B", false, false },
	{ "$.A/B", false, false },
	{ "$.*.A", false, false },
	{ "$.%.A", false, false },
	{ "$.A*", false, false },
	{ "$.A%", false, false },
	{ "$.*A", false, false },
	{ "$.A.**", false, false },
	{ "$.A.*.*", false, false },
	{ "$.A.*%", false, false },
	{ "$.**", false, false },
	{ "$.$", false, false },
	{ "$.A.$", false, false },
};

TEST_F(kbus, bind_accepts_only_valid_names)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		int want = names[i].bind_ok ? 0 : -EBADMSG;

		EXPECT_EQ(want, kbus_bind(self->a, names[i].name, 0))
			TH_LOG("listener \"%s\"", names[i].name);
		EXPECT_EQ(want, kbus_bind(self->a, names[i].name, 1))
			TH_LOG("replier \"%s\"", names[i].name);
		if (!names[i].bind_ok)
			continue;
		EXPECT_EQ(0, kbus_unbind(self->a, names[i].name, 0))
			TH_LOG("unbind listener \"%s\"", names[i].name);
		EXPECT_EQ(0, kbus_unbind(self->a, names[i].name, 1))
			TH_LOG("unbind replier \"%s\"", names[i].name);
	}
}

TEST_F(kbus, unbind_and_replier_query_reject_invalid_names)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].bind_ok)
			continue;
		EXPECT_EQ(-EBADMSG, kbus_unbind(self->a, names[i].name, 0))
			TH_LOG("unbind \"%s\"", names[i].name);
		EXPECT_EQ(-EBADMSG, kbus_replier(self->a, names[i].name, NULL))
			TH_LOG("replier query \"%s\"", names[i].name);
	}
}

TEST_F(kbus, send_accepts_only_valid_names)
{
	struct kbus_message_header h;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		int want = names[i].send_ok ? 0 : -EBADMSG;

		/* A pointy name is checked at SEND... */
		kbus_msg_init(&h, names[i].name, NULL, 0);
		ASSERT_EQ(0, kbus_write_msg(self->a, &h, false));
		EXPECT_EQ(want, kbus_send(self->a, NULL))
			TH_LOG("pointy \"%s\"", names[i].name);
		kbus_discard(self->a);

		/* ... an inline one as soon as it is written. */
		if (names[i].send_ok) {
			EXPECT_EQ(0, kbus_send_msg(self->a, &h, true, NULL))
				TH_LOG("entire \"%s\"", names[i].name);
		} else {
			EXPECT_EQ(-EBADMSG, kbus_write_msg(self->a, &h, true))
				TH_LOG("entire \"%s\"", names[i].name);
			EXPECT_EQ(-ENOMSG, kbus_send(self->a, NULL));
		}
	}
}

TEST_F(kbus, name_with_embedded_nul_is_invalid)
{
	struct kbus_message_header h;

	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A\0B", 5, 0));
	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A\0", 4, 0));
	/* name_len counts the bytes; the name need not be NUL-terminated. */
	EXPECT_EQ(0, kbus_bind_len(self->a, "$.ABCDEF", 4, 0));
	EXPECT_EQ(0, kbus_unbind(self->a, "$.AB", 0));

	kbus_msg_init(&h, "$.A", NULL, 0);
	h.name_len = 5;
	h.name = (uintptr_t)"$.A\0B";
	ASSERT_EQ(0, kbus_write_msg(self->a, &h, false));
	EXPECT_EQ(-EBADMSG, kbus_send(self->a, NULL));
}

TEST_F(kbus, empty_name_fails)
{
	struct kbus_message_header h;

	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A", 0, 0));
	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A", 0, 1));
	EXPECT_EQ(-EBADMSG, kbus_unbind_len(self->a, "$.A", 0, 0));
	EXPECT_EQ(-EBADMSG, kbus_replier_len(self->a, "$.A", 0, NULL));
	/* In a message header it is a bad field. */
	kbus_msg_init(&h, "$.A", NULL, 0);
	h.name_len = 0;
	EXPECT_EQ(-EINVAL, kbus_write_msg(self->a, &h, false));
}

/* "$." followed by @len - 2 characters: "$.AAAA...". */
static char *long_name(size_t len, char fill)
{
	char *name = malloc(len + 1);

	if (!name)
		return NULL;
	memset(name, fill, len);
	name[0] = '$';
	name[1] = '.';
	name[len] = '\0';
	return name;
}

TEST_F(kbus, longest_name_is_accepted)
{
	char *name = long_name(KBUS_MAX_NAME_LEN, 'N');
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	__u32 id;

	ASSERT_NE(NULL, name);
	ASSERT_EQ(0, kbus_bind(self->b, name, 0));
	ASSERT_EQ(0, kbus_bind(self->c, name, 1));
	EXPECT_EQ(1, kbus_replier(self->a, name, &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->c), id);

	kbus_msg_init(&h, name, "data", 4);
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, false, NULL));
	ASSERT_EQ(0, kbus_send_msg(self->a, &h, true, NULL));
	got = kbus_recv(_metadata, self->b);
	kbus_check_msg(_metadata, got, name, "data", 4,
		       kbus_ksock_id(_metadata, self->a));
	free(got);
	got = kbus_recv(_metadata, self->b);
	kbus_check_msg(_metadata, got, name, "data", 4,
		       kbus_ksock_id(_metadata, self->a));
	free(got);

	EXPECT_EQ(0, kbus_unbind(self->b, name, 0));
	EXPECT_EQ(0, kbus_unbind(self->c, name, 1));
	free(name);
}

TEST_F(kbus, name_over_max_length_fails_enametoolong)
{
	char *name = long_name(KBUS_MAX_NAME_LEN + 1, 'N');
	char *bad = long_name(KBUS_MAX_NAME_LEN + 1, '-');
	struct kbus_message_header h;

	ASSERT_NE(NULL, name);
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->a, name, 0));
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->a, name, 1));
	EXPECT_EQ(-ENAMETOOLONG, kbus_unbind(self->a, name, 0));
	EXPECT_EQ(-ENAMETOOLONG, kbus_replier(self->a, name, NULL));
	/* The length is checked before the name itself... */
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->a, bad, 0));
	/* ... and before it is even copied. */
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind_len(self->a, NULL, 1001, 0));
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind_len(self->a, NULL, 0xFFFFFFFFU, 0));

	kbus_msg_init(&h, name, NULL, 0);
	EXPECT_EQ(-ENAMETOOLONG, kbus_write_msg(self->a, &h, false));
	EXPECT_EQ(-ENAMETOOLONG, kbus_write_msg(self->a, &h, true));
	free(bad);
	free(name);
}

TEST_F(kbus, is_replier_above_one_fails_einval)
{
	EXPECT_EQ(-EINVAL, kbus_bind(self->a, "$.Bind.Flag", 2));
	EXPECT_EQ(-EINVAL, kbus_bind(self->a, "$.Bind.Flag", 0x80000000U));
	EXPECT_EQ(-EINVAL, kbus_bind(self->a, "$.Bind.Flag", 0xFFFFFFFFU));
	ASSERT_EQ(0, kbus_bind(self->a, "$.Bind.Flag", 1));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Flag", 2));
	EXPECT_EQ(0, kbus_unbind(self->a, "$.Bind.Flag", 1));
}

TEST_F(kbus, second_replier_for_a_name_fails_eaddrinuse)
{
	__u32 id;

	ASSERT_EQ(0, kbus_bind(self->a, "$.Bind.Dup", 1));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->b, "$.Bind.Dup", 1));
	/* Even for the same Ksock. */
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Bind.Dup", 1));
	/* Listeners are not limited. */
	EXPECT_EQ(0, kbus_bind(self->b, "$.Bind.Dup", 0));
	EXPECT_EQ(0, kbus_bind(self->a, "$.Bind.Dup", 0));
	/* Overlapping but different names each have their own replier. */
	EXPECT_EQ(0, kbus_bind(self->b, "$.Bind.*", 1));
	EXPECT_EQ(0, kbus_bind(self->c, "$.Bind.%", 1));
	EXPECT_EQ(0, kbus_bind(self->c, "$.Bind.Dup.*", 1));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Bind.*", 1));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Bind.%", 1));

	/* The replier stayed the first one. */
	EXPECT_EQ(1, kbus_replier(self->c, "$.Bind.Dup", &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->a), id);

	/* Once it unbinds, another Ksock may take the name... */
	ASSERT_EQ(0, kbus_unbind(self->a, "$.Bind.Dup", 1));
	EXPECT_EQ(0, kbus_bind(self->b, "$.Bind.Dup", 1));
	EXPECT_EQ(1, kbus_replier(self->c, "$.Bind.Dup", &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->b), id);
	/* ... and once that one closes, the name is free again. */
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Bind.%", 1));
	close(self->b);
	self->b = kbus_open(_metadata);
	EXPECT_EQ(0, kbus_replier(self->a, "$.Bind.Dup", &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(0, kbus_replier(self->a, "$.Bind.*", &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(0, kbus_bind(self->a, "$.Bind.Dup", 1));
	EXPECT_EQ(0, kbus_bind(self->a, "$.Bind.*", 1));
}

TEST_F(kbus, replier_bind_event_name_cannot_have_replier)
{
	EXPECT_EQ(-EBADMSG, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
				      1));
	EXPECT_EQ(0, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0));
	EXPECT_EQ(0, kbus_unbind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
				 0));
	/* Names under it are ordinary. */
	EXPECT_EQ(0, kbus_bind(self->a, "$.KBUS.ReplierBindEvent.X", 1));
	EXPECT_EQ(0, kbus_bind(self->a, "$.KBUS.*", 1));
}

TEST_F(kbus, unbind_of_missing_binding_fails_einval)
{
	/* Never bound. */
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", 1));

	/* Bound as the other kind. */
	ASSERT_EQ(0, kbus_bind(self->a, "$.Bind.Missing", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", 1));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Other", 1));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->b, "$.Bind.Other", 0));

	/* Bound by another Ksock. */
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.Missing", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.Other", 1));

	/* Only the exact string matches, not what a wildcard covers. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Bind.*", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.X", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.%", 0));
	EXPECT_EQ(0, kbus_unbind(self->c, "$.Bind.*", 0));

	/* Unbound already. */
	EXPECT_EQ(0, kbus_unbind(self->a, "$.Bind.Missing", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", 0));
	EXPECT_EQ(0, kbus_unbind(self->b, "$.Bind.Other", 1));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->b, "$.Bind.Other", 1));
}

TEST_F(kbus, replier_query_without_replier_returns_zero)
{
	__u32 id;

	EXPECT_EQ(0, kbus_replier(self->a, "$.Query.None", &id));
	EXPECT_EQ(0, id);
	/* A listener is not a replier. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Query.None", 0));
	EXPECT_EQ(0, kbus_replier(self->a, "$.Query.None", &id));
	EXPECT_EQ(0, id);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Query.*", 0));
	EXPECT_EQ(0, kbus_replier(self->a, "$.Query.*", &id));
	EXPECT_EQ(0, id);
}

TEST_F(kbus, replier_query_follows_request_precedence)
{
	__u32 exact, percent, star, root, id;
	int d = kbus_open(_metadata);

	exact = kbus_ksock_id(_metadata, self->a);
	percent = kbus_ksock_id(_metadata, self->b);
	star = kbus_ksock_id(_metadata, self->c);
	root = kbus_ksock_id(_metadata, d);

	ASSERT_EQ(0, kbus_bind(self->a, "$.Q.A", 1));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Q.%", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Q.*", 1));
	ASSERT_EQ(0, kbus_bind(d, "$.*", 1));

	/* Exact beats "%", which beats "*". */
	EXPECT_EQ(1, kbus_replier(d, "$.Q.A", &id));
	EXPECT_EQ(exact, id);
	EXPECT_EQ(1, kbus_replier(d, "$.Q.B", &id));
	EXPECT_EQ(percent, id);
	/* "%" is one level only; the longest "*" prefix wins. */
	EXPECT_EQ(1, kbus_replier(d, "$.Q.A.B", &id));
	EXPECT_EQ(star, id);
	EXPECT_EQ(1, kbus_replier(d, "$.Q.B.C.D", &id));
	EXPECT_EQ(star, id);
	/* A wildcard does not cover its own prefix. */
	EXPECT_EQ(1, kbus_replier(d, "$.Q", &id));
	EXPECT_EQ(root, id);
	EXPECT_EQ(1, kbus_replier(d, "$.QQ.A", &id));
	EXPECT_EQ(root, id);
	EXPECT_EQ(1, kbus_replier(d, "$.R", &id));
	EXPECT_EQ(root, id);

	/* A wildcard name is looked up as it is. */
	EXPECT_EQ(1, kbus_replier(self->a, "$.Q.*", &id));
	EXPECT_EQ(star, id);
	EXPECT_EQ(1, kbus_replier(self->a, "$.Q.%", &id));
	EXPECT_EQ(percent, id);
	EXPECT_EQ(1, kbus_replier(self->a, "$.*", &id));
	EXPECT_EQ(root, id);
	EXPECT_EQ(0, kbus_replier(self->a, "$.Q.A.*", &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(0, kbus_replier(self->a, "$.%", &id));
	EXPECT_EQ(0, id);

	/* Precedence follows unbinding. */
	ASSERT_EQ(0, kbus_unbind(self->a, "$.Q.A", 1));
	EXPECT_EQ(1, kbus_replier(d, "$.Q.A", &id));
	EXPECT_EQ(percent, id);
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Q.%", 1));
	EXPECT_EQ(1, kbus_replier(d, "$.Q.A", &id));
	EXPECT_EQ(star, id);
	close(self->c);
	self->c = kbus_open(_metadata);
	EXPECT_EQ(1, kbus_replier(self->a, "$.Q.A", &id));
	EXPECT_EQ(root, id);
	close(d);
	EXPECT_EQ(0, kbus_replier(self->a, "$.Q.A", &id));
	EXPECT_EQ(0, id);
}

TEST_F(kbus, longest_star_prefix_wins_whatever_the_bind_order)
{
	int d = kbus_open(_metadata);
	__u32 id;

	/* Most specific last... */
	ASSERT_EQ(0, kbus_bind(self->a, "$.*", 1));
	ASSERT_EQ(0, kbus_bind(self->b, "$.S.*", 1));
	ASSERT_EQ(0, kbus_bind(self->c, "$.S.T.*", 1));
	EXPECT_EQ(1, kbus_replier(d, "$.S.T.U", &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->c), id);
	EXPECT_EQ(1, kbus_replier(d, "$.S.X.U", &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->b), id);

	/* ... and most specific first. */
	ASSERT_EQ(0, kbus_bind(d, "$.V.W.*", 1));
	ASSERT_EQ(0, kbus_bind(self->a, "$.V.*", 1));
	EXPECT_EQ(1, kbus_replier(self->b, "$.V.W.X.Y", &id));
	EXPECT_EQ(kbus_ksock_id(_metadata, d), id);
	close(d);
}

TEST_F(kbus, listener_bound_twice_gets_two_copies)
{
	struct kbus_entire_message *m1, *m2;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Twice", 0));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Twice", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Twice", "x", 1, &id));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	m1 = kbus_recv(_metadata, self->b);
	m2 = kbus_recv(_metadata, self->b);
	EXPECT_EQ(id.serial_num, m1->header.id.serial_num);
	EXPECT_EQ(id.serial_num, m2->header.id.serial_num);
	free(m1);
	free(m2);
	kbus_expect_empty(_metadata, self->b);

	/* One unbind removes one binding. */
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Twice", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Twice", "x", 1, &id));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Twice", 0));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->b, "$.Bind.Twice", 0));
}

TEST_F(kbus, unbind_drops_unread_copies_of_that_binding)
{
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Drop", 0));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Drop", 0));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.*", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Drop", NULL, 0, NULL));
	ASSERT_EQ(3, kbus_num_msgs(_metadata, self->b));

	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Drop", 0));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.*", 0));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Drop", 0));
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, binding_never_affects_queued_messages)
{
	struct kbus_entire_message *got;

	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Late", NULL, 0, NULL));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Late", 0));
	kbus_expect_empty(_metadata, self->b);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Late", NULL, 0, NULL));
	got = kbus_recv(_metadata, self->b);
	free(got);
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, names_are_case_sensitive)
{
	struct kbus_entire_message *got;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Case.abc", 0));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Case.ABC", 0));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Case.ABC", NULL, 0, NULL));
	kbus_expect_empty(_metadata, self->b);
	got = kbus_recv(_metadata, self->c);
	EXPECT_STREQ("$.Case.ABC", kbus_msg_name(got));
	free(got);
	ASSERT_EQ(0, kbus_bind(self->a, "$.case.*", 1));
	EXPECT_EQ(0, kbus_replier(self->b, "$.Case.X", NULL));
}

TEST_F(kbus, msgonlyonce_gives_one_copy_per_ksock)
{
	static const char *const patterns[] = {
		"$.Once.A", "$.Once.A", "$.Once.*", "$.Once.%", "$.*",
	};
	struct kbus_entire_message *got;
	struct kbus_msg_id id;
	__u32 old;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(patterns); i++) {
		ASSERT_EQ(0, kbus_bind(self->b, patterns[i], 0));
		ASSERT_EQ(0, kbus_bind(self->c, patterns[i], 0));
	}
	ASSERT_EQ(0, kbus_set_u32(self->b, KBUS_IOC_MSGONLYONCE, 1, &old));
	EXPECT_EQ(0, old);

	ASSERT_EQ(0, kbus_announce(self->a, "$.Once.A", "1", 1, &id));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(ARRAY_SIZE(patterns), kbus_num_msgs(_metadata, self->c));
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->b);

	/* Each message once: two messages, two copies. */
	ASSERT_EQ(0, kbus_announce(self->a, "$.Once.A", "2", 1, NULL));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Once.B", "3", 1, NULL));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ('2', *(const char *)kbus_msg_data(got));
	free(got);
	got = kbus_recv(_metadata, self->b);
	EXPECT_EQ('3', *(const char *)kbus_msg_data(got));
	free(got);

	/* Turned off again: one copy per binding. */
	ASSERT_EQ(0, kbus_set_u32(self->b, KBUS_IOC_MSGONLYONCE, 0, &old));
	EXPECT_EQ(1, old);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Once.A", NULL, 0, NULL));
	EXPECT_EQ(ARRAY_SIZE(patterns), kbus_num_msgs(_metadata, self->b));
}

TEST_F(kbus, msgonlyonce_rejects_values_other_than_0_1_query)
{
	__u32 val;

	EXPECT_EQ(-EINVAL, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE, 2,
					NULL));
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE,
					0x80000000U, NULL));
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE, KBUS_QUERY,
				  &val));
	EXPECT_EQ(0, val);
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE, 1, &val));
	EXPECT_EQ(0, val);
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE, KBUS_QUERY,
				  &val));
	EXPECT_EQ(1, val);
	EXPECT_EQ(-EINVAL, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE, 3,
					NULL));
	ASSERT_EQ(0, kbus_set_u32(self->a, KBUS_IOC_MSGONLYONCE, KBUS_QUERY,
				  &val));
	EXPECT_EQ(1, val);
}

TEST_F(kbus, read_only_ksock_can_bind_and_receive)
{
	struct kbus_entire_message *got;
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, ro);
	ASSERT_EQ(0, kbus_bind(ro, "$.Bind.ReadOnly", 0));
	ASSERT_EQ(0, kbus_bind(ro, "$.Bind.ReadOnly", 1));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.ReadOnly", "ro", 2,
				   NULL));
	got = kbus_recv(_metadata, ro);
	kbus_check_msg(_metadata, got, "$.Bind.ReadOnly", "ro", 2,
		       kbus_ksock_id(_metadata, self->a));
	free(got);
	errno = 0;
	EXPECT_EQ(-1, write(ro, "x", 1));
	EXPECT_EQ(EBADF, errno);
	close(ro);
}

TEST_HARNESS_MAIN
