// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - binding, unbinding, replier, message name and bind event tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <sched.h>

#include "common.h"

FIXTURE(kbus) {
	bool skip;
	int a;
	int b;
	int c;
	__u64 report;
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
	/* Bus-wide, restored by the teardown. */
	ASSERT_EQ(0, kbus_get_opt(self->a, KBUS_OPT_REPORT_REPLIER_BINDS,
				  &self->report));
}

FIXTURE_TEARDOWN(kbus)
{
	__u64 val;

	if (self->skip)
		return;
	if (!kbus_get_opt(self->a, KBUS_OPT_REPORT_REPLIER_BINDS, &val) &&
	    val != self->report)
		kbus_set_opt(self->a, KBUS_OPT_REPORT_REPLIER_BINDS,
			     self->report);
	close(self->c);
	close(self->b);
	close(self->a);
}

/* The Ksock id of the replier a request to @name would reach, or 0. */
static __u32 replier_of(struct __test_metadata *const _metadata, int fd,
			const char *name)
{
	__u32 id = 0xdeadbeef;

	EXPECT_EQ(0, kbus_replier(fd, name, &id))
		TH_LOG("replier query \"%s\"", name);
	return id;
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
	/* Latin-1 letters are letters. */
	{ "$.\xe9t\xe9", true, true },			/* été */
	{ "$.Z\xc0.\xff", true, true },			/* ZÀ.ÿ */
	{ "$.\xdf.\xd8z.\xf8", true, true },		/* ß.Øz.ø */
	{ "$.\xc5ngstr\xf6m.*", true, false },		/* Ångström.* */
	/* Other bytes above 127 are not. */
	{ "$.\xd7", false, false },			/* × */
	{ "$.A\xf7Z", false, false },			/* ÷ */
	{ "$.\xa9", false, false },			/* © */
	{ "$.\xa0", false, false },			/* no-break space */
	{ "$.\xaa", false, false },			/* ª */
	{ "$.\xb5", false, false },			/* µ */
	{ "$.\xbf", false, false },			/* ¿ */
	{ "$.\x80", false, false },
	{ "$.\x9f", false, false },
	{ "$.A\x7f", false, false },
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

/* ---- Names ---- */

TEST_F(kbus, bind_accepts_only_valid_names)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		int want = names[i].bind_ok ? 0 : -EBADMSG;

		EXPECT_EQ(want, kbus_bind(self->a, names[i].name, false))
			TH_LOG("listener \"%s\"", names[i].name);
		EXPECT_EQ(want, kbus_bind(self->a, names[i].name, true))
			TH_LOG("replier \"%s\"", names[i].name);
		if (!names[i].bind_ok)
			continue;
		EXPECT_EQ(kbus_ksock_id(_metadata, self->a),
			  replier_of(_metadata, self->b, names[i].name));
		EXPECT_EQ(0, kbus_unbind(self->a, names[i].name, false))
			TH_LOG("unbind listener \"%s\"", names[i].name);
		EXPECT_EQ(0, kbus_unbind(self->a, names[i].name, true))
			TH_LOG("unbind replier \"%s\"", names[i].name);
	}
}

TEST_F(kbus, unbind_and_replier_query_reject_invalid_names)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].bind_ok)
			continue;
		EXPECT_EQ(-EBADMSG, kbus_unbind(self->a, names[i].name, false))
			TH_LOG("unbind \"%s\"", names[i].name);
		EXPECT_EQ(-EBADMSG, kbus_unbind(self->a, names[i].name, true))
			TH_LOG("unbind replier \"%s\"", names[i].name);
		EXPECT_EQ(-EBADMSG, kbus_replier(self->a, names[i].name, NULL))
			TH_LOG("replier query \"%s\"", names[i].name);
	}
}

TEST_F(kbus, send_accepts_only_valid_names)
{
	struct kbus_message_header h;
	size_t i;

	ASSERT_EQ(0, kbus_bind(self->b, "$.*", false));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		int want = names[i].send_ok ? 0 : -EBADMSG;

		kbus_msg_init(&h, names[i].name, NULL, 0);
		EXPECT_EQ(want, kbus_send_msg(self->a, &h, false, NULL))
			TH_LOG("pointy \"%s\"", names[i].name);
		EXPECT_EQ(want, kbus_send_msg(self->a, &h, true, NULL))
			TH_LOG("entire \"%s\"", names[i].name);
		/* Two copies of a valid one, none of another. */
		EXPECT_EQ(names[i].send_ok ? 2 : 0,
			  kbus_num_msgs(_metadata, self->b))
			TH_LOG("\"%s\"", names[i].name);
		while (kbus_num_msgs(_metadata, self->b)) {
			struct kbus_entire_message *got;

			got = kbus_recv(_metadata, self->b);
			EXPECT_STREQ(names[i].name, kbus_msg_name(got));
			free(got);
		}
	}
}

TEST_F(kbus, latin1_letters_are_name_characters)
{
	static const char name[] = "$.Caf\xe9.\xc5ngstr\xf6m";
	struct kbus_entire_message *got;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Caf\xe9.*", false));
	/* Names are bytes: no case folding of Latin-1 either. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Caf\xc9.*", false));
	ASSERT_EQ(0, kbus_announce(self->a, name, "x", 1, NULL));
	got = kbus_recv(_metadata, self->b);
	kbus_check_msg(_metadata, got, name, "x", 1,
		       kbus_ksock_id(_metadata, self->a));
	free(got);
	kbus_expect_empty(_metadata, self->b);
	kbus_expect_empty(_metadata, self->c);

	ASSERT_EQ(0, kbus_bind(self->c, name, true));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->c),
		  replier_of(_metadata, self->a, name));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Caf\xc9.\xc5ngstr\xf6m"));
}

TEST_F(kbus, name_with_embedded_nul_is_invalid)
{
	struct kbus_message_header h;

	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A\0B", 5, false));
	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A\0", 4, true));
	EXPECT_EQ(-EBADMSG, kbus_replier_len(self->a, "$.A\0B", 5, NULL));
	/* name_len counts the bytes; the name need not be NUL-terminated. */
	EXPECT_EQ(0, kbus_bind_len(self->a, "$.ABCDEF", 4, false));
	EXPECT_EQ(0, kbus_unbind(self->a, "$.AB", false));

	kbus_msg_init(&h, "$.A", NULL, 0);
	h.name_len = 5;
	h.name = (uintptr_t)"$.A\0B";
	EXPECT_EQ(-EBADMSG, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EBADMSG, kbus_send_msg(self->a, &h, true, NULL));
}

TEST_F(kbus, empty_name_fails)
{
	struct kbus_message_header h;

	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A", 0, false));
	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, "$.A", 0, true));
	EXPECT_EQ(-EBADMSG, kbus_unbind_len(self->a, "$.A", 0, false));
	EXPECT_EQ(-EBADMSG, kbus_replier_len(self->a, "$.A", 0, NULL));
	/* Even without a name to read. */
	EXPECT_EQ(-EBADMSG, kbus_bind_len(self->a, NULL, 0, false));
	/* In a message header it is a bad field. */
	kbus_msg_init(&h, "$.A", NULL, 0);
	h.name_len = 0;
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-EINVAL, kbus_send_msg(self->a, &h, true, NULL));
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

	ASSERT_NE(NULL, name);
	ASSERT_EQ(0, kbus_bind(self->b, name, false));
	ASSERT_EQ(0, kbus_bind(self->c, name, true));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->c),
		  replier_of(_metadata, self->a, name));

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

	EXPECT_EQ(0, kbus_unbind(self->b, name, false));
	EXPECT_EQ(0, kbus_unbind(self->c, name, true));
	free(name);
}

TEST_F(kbus, name_over_max_length_fails_enametoolong)
{
	char *name = long_name(KBUS_MAX_NAME_LEN + 1, 'N');
	char *bad = long_name(KBUS_MAX_NAME_LEN + 1, '-');
	struct kbus_message_header h;

	ASSERT_NE(NULL, name);
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->a, name, false));
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->a, name, true));
	EXPECT_EQ(-ENAMETOOLONG, kbus_unbind(self->a, name, false));
	EXPECT_EQ(-ENAMETOOLONG, kbus_replier(self->a, name, NULL));
	/* The length is checked before the name itself... */
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->a, bad, false));
	/* ... and before it is even copied. */
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind_len(self->a, NULL, 1001, false));
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind_len(self->a, NULL, 0xFFFFFFFFU,
					       true));
	EXPECT_EQ(-ENAMETOOLONG, kbus_unbind_len(self->a, NULL, 1001, false));
	EXPECT_EQ(-ENAMETOOLONG, kbus_replier_len(self->a, NULL, 1001, NULL));
	/* A length that is allowed is read. */
	EXPECT_EQ(-EFAULT, kbus_bind_len(self->a, NULL, 1000, false));

	kbus_msg_init(&h, name, NULL, 0);
	EXPECT_EQ(-ENAMETOOLONG, kbus_send_msg(self->a, &h, false, NULL));
	EXPECT_EQ(-ENAMETOOLONG, kbus_send_msg(self->a, &h, true, NULL));
	free(bad);
	free(name);
}

/* ---- Bindings ---- */

TEST_F(kbus, unknown_bind_flags_fail_einval)
{
	static const char name[] = "$.Bind.Flag";
	const __u32 bad[] = {
		1U << 1, 1U << 31, KBUS_BIND_REPLIER | 1U << 1, 0xFFFFFFFFU,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, kbus_bind_op(self->a, KBUS_IOC_BIND, name,
						strlen(name), bad[i]))
			TH_LOG("flags 0x%x", bad[i]);
	}
	/* Nothing was bound. */
	EXPECT_EQ(0, replier_of(_metadata, self->b, name));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, name, false));

	ASSERT_EQ(0, kbus_bind(self->a, name, true));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, kbus_bind_op(self->a, KBUS_IOC_UNBIND, name,
						strlen(name), bad[i]))
			TH_LOG("flags 0x%x", bad[i]);
	}
	/* Nothing was unbound. */
	EXPECT_EQ(kbus_ksock_id(_metadata, self->a),
		  replier_of(_metadata, self->b, name));
	EXPECT_EQ(0, kbus_unbind(self->a, name, true));
}

TEST_F(kbus, second_replier_for_a_name_fails_eaddrinuse)
{
	ASSERT_EQ(0, kbus_bind(self->a, "$.Bind.Dup", true));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->b, "$.Bind.Dup", true));
	/* Even for the same Ksock. */
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Bind.Dup", true));
	/* Listeners are not limited. */
	EXPECT_EQ(0, kbus_bind(self->b, "$.Bind.Dup", false));
	EXPECT_EQ(0, kbus_bind(self->a, "$.Bind.Dup", false));
	/* Overlapping but different names each have their own replier. */
	EXPECT_EQ(0, kbus_bind(self->b, "$.Bind.*", true));
	EXPECT_EQ(0, kbus_bind(self->c, "$.Bind.%", true));
	EXPECT_EQ(0, kbus_bind(self->c, "$.Bind.Dup.*", true));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Bind.*", true));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Bind.%", true));

	/* The replier stayed the first one. */
	EXPECT_EQ(kbus_ksock_id(_metadata, self->a),
		  replier_of(_metadata, self->c, "$.Bind.Dup"));

	/* Once it unbinds, another Ksock may take the name... */
	ASSERT_EQ(0, kbus_unbind(self->a, "$.Bind.Dup", true));
	EXPECT_EQ(0, kbus_bind(self->b, "$.Bind.Dup", true));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->b),
		  replier_of(_metadata, self->c, "$.Bind.Dup"));
	/* ... and once that one closes, the name is free again. */
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Bind.%", true));
	close(self->b);
	self->b = kbus_open(_metadata);
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Bind.Dup"));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Bind.*"));
	EXPECT_EQ(0, kbus_bind(self->a, "$.Bind.Dup", true));
	EXPECT_EQ(0, kbus_bind(self->a, "$.Bind.*", true));
}

TEST_F(kbus, replier_bind_event_name_cannot_have_replier)
{
	EXPECT_EQ(-EBADMSG, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
				      true));
	EXPECT_EQ(0, replier_of(_metadata, self->b,
				KBUS_MSG_NAME_REPLIER_BIND_EVENT));
	/* Nothing to unbind. */
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a,
				       KBUS_MSG_NAME_REPLIER_BIND_EVENT, true));
	/* Listeners are welcome. */
	EXPECT_EQ(0, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
			       false));
	EXPECT_EQ(0, kbus_unbind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
				 false));
	/* Names under it, and patterns that cover it, are ordinary. */
	EXPECT_EQ(0, kbus_bind(self->a, "$.KBUS.ReplierBindEvent.X", true));
	EXPECT_EQ(0, kbus_bind(self->a, "$.KBUS.*", true));
	EXPECT_EQ(0, kbus_bind(self->b, "$.KBUS.%", true));
}

TEST_F(kbus, unbind_of_missing_binding_fails_einval)
{
	/* Never bound. */
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", true));

	/* Bound as the other kind. */
	ASSERT_EQ(0, kbus_bind(self->a, "$.Bind.Missing", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", true));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Other", true));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->b, "$.Bind.Other", false));

	/* Bound by another Ksock. */
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.Missing", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.Other", true));

	/* Only the exact string matches, not what a wildcard covers. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Bind.*", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.X", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Bind.%", false));
	EXPECT_EQ(0, kbus_unbind(self->c, "$.Bind.*", false));

	/* Unbound already. */
	EXPECT_EQ(0, kbus_unbind(self->a, "$.Bind.Missing", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Bind.Missing", false));
	EXPECT_EQ(0, kbus_unbind(self->b, "$.Bind.Other", true));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->b, "$.Bind.Other", true));
	/* The refused unbinds changed nothing. */
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Bind.Other"));
}

TEST_F(kbus, only_a_read_write_ksock_can_bind)
{
	static const char name[] = "$.Bind.ReadOnly";
	__u32 a_id = kbus_ksock_id(_metadata, self->a);
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	int wo = open(KBUS_DEV0, O_WRONLY | O_CLOEXEC);
	struct kbus_entire_message *got;
	const struct kbus_replier_bind_event_data *d;

	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-EBADF, kbus_bind(ro, name, false));
	EXPECT_EQ(-EBADF, kbus_bind(ro, name, true));
	EXPECT_EQ(-EBADF, kbus_unbind(ro, name, false));
	EXPECT_EQ(-EBADF, kbus_unbind(ro, name, true));
	/* Before the name is read or checked... */
	EXPECT_EQ(-EBADF, kbus_bind(ro, "$.Bind..Bad", false));
	EXPECT_EQ(-EBADF, kbus_bind_len(ro, NULL, 5, false));
	/* ... but after the argument struct. */
	EXPECT_EQ(-EINVAL, kbus_bind_op(ro, KBUS_IOC_BIND, name, strlen(name),
					1U << 1));
	/* Nothing was bound. */
	EXPECT_EQ(0, replier_of(_metadata, self->a, name));
	ASSERT_EQ(0, kbus_announce(self->a, name, NULL, 0, NULL));
	kbus_expect_empty(_metadata, ro);
	errno = 0;
	EXPECT_EQ(-1, write(ro, "x", 1));
	EXPECT_EQ(EBADF, errno);

	/* It may ask who the replier is. */
	ASSERT_EQ(0, kbus_bind(self->a, name, true));
	EXPECT_EQ(a_id, replier_of(_metadata, ro, name));

	/* It receives what KBUS sends it: the catch-up of bind events. */
	ASSERT_EQ(0, kbus_set_opt(ro, KBUS_OPT_REPORT_REPLIER_BINDS, 0));
	ASSERT_EQ(0, kbus_set_opt(ro, KBUS_OPT_REPORT_REPLIER_BINDS, 1));
	got = kbus_recv(_metadata, ro);
	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT, kbus_msg_name(got));
	d = kbus_msg_data(got);
	EXPECT_EQ(1, d->is_bind);
	EXPECT_EQ(a_id, d->binder);
	EXPECT_STREQ(name, (const char *)d->rest);
	free(got);
	kbus_expect_empty(_metadata, ro);

	/* A write-only Ksock could not receive what a binding brings in. */
	EXPECT_EQ(-EBADF, kbus_bind(wo, "$.Bind.WriteOnly", false));
	EXPECT_EQ(-EBADF, kbus_bind(wo, "$.Bind.WriteOnly", true));
	EXPECT_EQ(-EINVAL, kbus_unbind(wo, "$.Bind.WriteOnly", false));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.WriteOnly", NULL, 0, NULL));
	EXPECT_EQ(0, kbus_num_msgs(_metadata, wo));
	close(wo);
	close(ro);
}

/* ---- The REPLIER query ---- */

TEST_F(kbus, replier_query_without_replier_returns_zero)
{
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Query.None"));
	/* A listener is not a replier. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Query.None", false));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Query.None"));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Query.*", false));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Query.*"));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Query.X"));
	/* Nor is a replier of a name below. */
	ASSERT_EQ(0, kbus_bind(self->b, "$.Query.None.Below", true));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Query.None"));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Query.None.*"));
}

TEST_F(kbus, replier_query_follows_request_precedence)
{
	__u32 exact, percent, star, root;
	int d = kbus_open(_metadata);

	exact = kbus_ksock_id(_metadata, self->a);
	percent = kbus_ksock_id(_metadata, self->b);
	star = kbus_ksock_id(_metadata, self->c);
	root = kbus_ksock_id(_metadata, d);

	ASSERT_EQ(0, kbus_bind(self->a, "$.Q.A", true));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Q.%", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Q.*", true));
	ASSERT_EQ(0, kbus_bind(d, "$.*", true));

	/* Exact beats "%", which beats "*". */
	EXPECT_EQ(exact, replier_of(_metadata, d, "$.Q.A"));
	EXPECT_EQ(percent, replier_of(_metadata, d, "$.Q.B"));
	/* "%" is one level only; the longest "*" prefix wins. */
	EXPECT_EQ(star, replier_of(_metadata, d, "$.Q.A.B"));
	EXPECT_EQ(star, replier_of(_metadata, d, "$.Q.B.C.D"));
	/* A wildcard does not cover its own prefix. */
	EXPECT_EQ(root, replier_of(_metadata, d, "$.Q"));
	EXPECT_EQ(root, replier_of(_metadata, d, "$.QQ.A"));
	EXPECT_EQ(root, replier_of(_metadata, d, "$.R"));

	/* A pattern is looked up as it is, not resolved. */
	EXPECT_EQ(star, replier_of(_metadata, self->a, "$.Q.*"));
	EXPECT_EQ(percent, replier_of(_metadata, self->a, "$.Q.%"));
	EXPECT_EQ(root, replier_of(_metadata, self->a, "$.*"));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Q.A.*"));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Q.A.%"));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.%"));

	/* Precedence follows unbinding. */
	ASSERT_EQ(0, kbus_unbind(self->a, "$.Q.A", true));
	EXPECT_EQ(percent, replier_of(_metadata, d, "$.Q.A"));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Q.%", true));
	EXPECT_EQ(star, replier_of(_metadata, d, "$.Q.A"));
	close(self->c);
	self->c = kbus_open(_metadata);
	EXPECT_EQ(root, replier_of(_metadata, self->a, "$.Q.A"));
	close(d);
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Q.A"));
}

TEST_F(kbus, longest_star_prefix_wins_whatever_the_bind_order)
{
	int d = kbus_open(_metadata);

	/* Most specific last... */
	ASSERT_EQ(0, kbus_bind(self->a, "$.*", true));
	ASSERT_EQ(0, kbus_bind(self->b, "$.S.*", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.S.T.*", true));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->c),
		  replier_of(_metadata, d, "$.S.T.U"));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->b),
		  replier_of(_metadata, d, "$.S.X.U"));

	/* ... and most specific first. */
	ASSERT_EQ(0, kbus_bind(d, "$.V.W.*", true));
	ASSERT_EQ(0, kbus_bind(self->a, "$.V.*", true));
	EXPECT_EQ(kbus_ksock_id(_metadata, d),
		  replier_of(_metadata, self->b, "$.V.W.X.Y"));
	close(d);
}

/* ---- Listeners ---- */

TEST_F(kbus, listener_bound_twice_gets_two_copies)
{
	struct kbus_entire_message *m1, *m2;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Twice", false));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Twice", false));
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
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Twice", false));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Twice", "x", 1, &id));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Twice", false));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->b, "$.Bind.Twice", false));
}

/*
 * A message with more copies than a send plans with the bus lock held as
 * a spinlock (KBUS_SPIN_MAX_COPIES, 64) is sent with the lock held
 * sleepably: every copy arrives, in the bus's one order.
 */
TEST_F(kbus, send_to_more_than_64_copies_reaches_every_one_in_order)
{
	static const char name[] = "$.Bind.Many";
	const int nbind = 70;
	struct kbus_entire_message *m;
	struct kbus_msg_id id[2];
	int i, n;

	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_MAX_MSGS, 2 * nbind));
	for (i = 0; i < nbind; i++)
		ASSERT_EQ(0, kbus_bind(self->b, name, false));
	ASSERT_EQ(0, kbus_bind(self->c, name, false));
	for (n = 0; n < 2; n++)
		ASSERT_EQ(0, kbus_announce(self->a, name, "x", 1, &id[n]));
	EXPECT_EQ(2 * nbind, kbus_num_msgs(_metadata, self->b));
	for (n = 0; n < 2; n++) {
		for (i = 0; i < nbind; i++) {
			m = kbus_recv(_metadata, self->b);
			ASSERT_NE(NULL, m);
			EXPECT_EQ(id[n].serial_num, m->header.id.serial_num);
			free(m);
		}
		m = kbus_recv(_metadata, self->c);
		ASSERT_NE(NULL, m);
		EXPECT_EQ(id[n].serial_num, m->header.id.serial_num);
		free(m);
	}
	kbus_expect_empty(_metadata, self->b);
	kbus_expect_empty(_metadata, self->c);
}

TEST_F(kbus, unbind_drops_unread_copies_of_that_binding)
{
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Drop", false));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Drop", false));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.*", false));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Drop", NULL, 0, NULL));
	ASSERT_EQ(3, kbus_num_msgs(_metadata, self->b));

	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Drop", false));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.*", false));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	ASSERT_EQ(0, kbus_unbind(self->b, "$.Bind.Drop", false));
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, binding_never_affects_queued_messages)
{
	struct kbus_entire_message *got;

	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Late", NULL, 0, NULL));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.Late", false));
	kbus_expect_empty(_metadata, self->b);
	ASSERT_EQ(0, kbus_announce(self->a, "$.Bind.Late", NULL, 0, NULL));
	got = kbus_recv(_metadata, self->b);
	free(got);
	kbus_expect_empty(_metadata, self->b);
}

TEST_F(kbus, names_are_case_sensitive)
{
	struct kbus_entire_message *got;

	ASSERT_EQ(0, kbus_bind(self->b, "$.Case.abc", false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Case.ABC", false));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Case.ABC", NULL, 0, NULL));
	kbus_expect_empty(_metadata, self->b);
	got = kbus_recv(_metadata, self->c);
	EXPECT_STREQ("$.Case.ABC", kbus_msg_name(got));
	free(got);
	ASSERT_EQ(0, kbus_bind(self->a, "$.case.*", true));
	EXPECT_EQ(0, replier_of(_metadata, self->b, "$.Case.X"));
	EXPECT_EQ(kbus_ksock_id(_metadata, self->a),
		  replier_of(_metadata, self->b, "$.case.X"));
}

TEST_F(kbus, only_once_gives_one_copy_per_ksock)
{
	static const char *const patterns[] = {
		"$.Once.A", "$.Once.A", "$.Once.*", "$.Once.%", "$.*",
	};
	struct kbus_entire_message *got;
	struct kbus_msg_id id;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(patterns); i++) {
		ASSERT_EQ(0, kbus_bind(self->b, patterns[i], false));
		ASSERT_EQ(0, kbus_bind(self->c, patterns[i], false));
	}
	EXPECT_EQ(0, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 1));

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
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 0));
	EXPECT_EQ(0, kbus_opt(_metadata, self->b, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_announce(self->a, "$.Once.A", NULL, 0, NULL));
	EXPECT_EQ(ARRAY_SIZE(patterns), kbus_num_msgs(_metadata, self->b));
}

TEST_F(kbus, only_once_accepts_only_0_and_1)
{
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_ONLY_ONCE, 2));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_ONLY_ONCE,
					0x80000000U));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_ONLY_ONCE,
					(1ULL << 32) | 1));
	EXPECT_EQ(0, kbus_opt(_metadata, self->a, KBUS_OPT_ONLY_ONCE));
	ASSERT_EQ(0, kbus_set_opt(self->a, KBUS_OPT_ONLY_ONCE, 1));
	EXPECT_EQ(1, kbus_opt(_metadata, self->a, KBUS_OPT_ONLY_ONCE));
	EXPECT_EQ(-EINVAL, kbus_set_opt(self->a, KBUS_OPT_ONLY_ONCE, 3));
	EXPECT_EQ(1, kbus_opt(_metadata, self->a, KBUS_OPT_ONLY_ONCE));
	/* Setting what it is already is fine. */
	ASSERT_EQ(0, kbus_set_opt(self->a, KBUS_OPT_ONLY_ONCE, 1));
	EXPECT_EQ(1, kbus_opt(_metadata, self->a, KBUS_OPT_ONLY_ONCE));
}

/* ---- Replier bind events ---- */

struct bind_event {
	__u32 is_bind;
	__u32 binder;
	const char *name;
};

/* Whether @m is the bind event @ev, in every detail. */
static bool is_bind_event(const struct kbus_entire_message *m,
			  const struct bind_event *ev)
{
	const struct kbus_replier_bind_event_data *d = kbus_msg_data(m);
	size_t n = strlen(ev->name), i;
	const char *rest = (const char *)d->rest;

	if (strcmp(kbus_msg_name(m), KBUS_MSG_NAME_REPLIER_BIND_EVENT))
		return false;
	if (m->header.data_len != sizeof(*d) + KBUS_PADDED_NAME_LEN(n))
		return false;
	if (d->is_bind != ev->is_bind || d->binder != ev->binder ||
	    d->name_len != n || memcmp(rest, ev->name, n))
		return false;
	/* NUL-terminated and zero-padded. */
	for (i = n; i < KBUS_PADDED_NAME_LEN(n); i++) {
		if (rest[i])
			return false;
	}
	return true;
}

/* Receive a bind event on @fd and check its header. */
static struct kbus_entire_message *
recv_bind_event(struct __test_metadata *const _metadata, int fd)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);

	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT, kbus_msg_name(m));
	/* From KBUS itself. */
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags);
	EXPECT_EQ(0, m->header.from);
	EXPECT_EQ(0, m->header.to);
	EXPECT_EQ(0, m->header.in_reply_to.serial_num);
	EXPECT_EQ(0, m->header.id.network_id);
	EXPECT_NE(0, m->header.id.serial_num);
	return m;
}

/* The next message of @fd must be this bind event. */
static void expect_bind_event(struct __test_metadata *const _metadata, int fd,
			      __u32 is_bind, __u32 binder, const char *name)
{
	const struct bind_event ev = { is_bind, binder, name };
	struct kbus_entire_message *m = recv_bind_event(_metadata, fd);

	EXPECT_TRUE(is_bind_event(m, &ev))
		TH_LOG("expected %s of \"%s\" by %u", is_bind ? "bind" : "unbind",
		       name, binder);
	free(m);
}

/*
 * The next @n messages of @fd must be @n distinct events of @evs (of
 * @nevs), in any order.
 */
static void expect_bind_events(struct __test_metadata *const _metadata,
			       int fd, const struct bind_event *evs,
			       size_t nevs, size_t n)
{
	bool seen[8] = {};
	struct kbus_entire_message *m;
	size_t i, j;

	ASSERT_GE(ARRAY_SIZE(seen), nevs);
	for (i = 0; i < n; i++) {
		m = recv_bind_event(_metadata, fd);
		for (j = 0; j < nevs; j++) {
			if (!seen[j] && is_bind_event(m, &evs[j]))
				break;
		}
		EXPECT_GT(nevs, j)
			TH_LOG("unexpected event %zu: \"%s\"", i,
			       (const char *)((const struct kbus_replier_bind_event_data *)
					      kbus_msg_data(m))->rest);
		if (j < nevs)
			seen[j] = true;
		free(m);
	}
}

static void set_report(struct __test_metadata *const _metadata, int fd,
		       __u64 on)
{
	ASSERT_EQ(0, kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, on));
	ASSERT_EQ(on, kbus_opt(_metadata, fd, KBUS_OPT_REPORT_REPLIER_BINDS));
}

TEST_F(kbus, no_bind_events_while_reporting_is_off)
{
	set_report(_metadata, self->a, 0);
	kbus_expect_empty(_metadata, self->a);
	ASSERT_EQ(0, kbus_bind(self->b, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
			       false));
	ASSERT_EQ(0, kbus_bind(self->b, "$.KBUS.*", false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.Off", true));
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Ev.Off", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.Off.*", true));
	close(self->c);
	self->c = kbus_open(_metadata);
	kbus_expect_empty(_metadata, self->b);
	kbus_expect_empty(_metadata, self->a);
}

TEST_F(kbus, bind_events_report_binds_unbinds_and_closes)
{
	__u32 rid = kbus_ksock_id(_metadata, self->c);
	const struct bind_event closing[] = {
		{ 0, rid, "$.Ev.*" },
		{ 0, rid, "$.Ev.%" },
	};

	set_report(_metadata, self->a, 1);
	/* Catch-up: no replier is bound yet. */
	kbus_expect_empty(_metadata, self->a);
	ASSERT_EQ(0, kbus_bind(self->b, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
			       false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.A", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.*", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.%", true));
	/* Listeners are not reported. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.C", false));
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Ev.C", false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.C", false));
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Ev.A", true));
	EXPECT_EQ(4, kbus_num_msgs(_metadata, self->b));

	/* In the order they happened. */
	expect_bind_event(_metadata, self->b, 1, rid, "$.Ev.A");
	expect_bind_event(_metadata, self->b, 1, rid, "$.Ev.*");
	expect_bind_event(_metadata, self->b, 1, rid, "$.Ev.%");
	expect_bind_event(_metadata, self->b, 0, rid, "$.Ev.A");
	kbus_expect_empty(_metadata, self->b);

	/* A replier that closes unbinds from each of its names. */
	close(self->c);
	self->c = kbus_open(_metadata);
	expect_bind_events(_metadata, self->b, closing, ARRAY_SIZE(closing),
			   ARRAY_SIZE(closing));
	kbus_expect_empty(_metadata, self->b);
	/* Only listeners get them. */
	kbus_expect_empty(_metadata, self->a);
}

TEST_F(kbus, bind_event_is_sent_only_for_a_binding_made)
{
	__u32 rid = kbus_ksock_id(_metadata, self->c);
	char *toolong = malloc(KBUS_MAX_NAME_LEN + 2);
	int ro = open(KBUS_DEV0, O_RDONLY | O_CLOEXEC);
	struct kbus_entire_message *m;
	const struct bind_event ev = { 1, rid, "$.Ev.Once" };

	ASSERT_LE(0, ro);
	ASSERT_NE(NULL, toolong);
	memset(toolong, 'L', KBUS_MAX_NAME_LEN + 1);
	memcpy(toolong, "$.", 2);
	toolong[KBUS_MAX_NAME_LEN + 1] = '\0';
	set_report(_metadata, self->a, 1);
	ASSERT_EQ(0, kbus_bind(self->b, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
			       false));

	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.Once", true));
	/* When the event is read, the binding is there. */
	m = recv_bind_event(_metadata, self->b);
	EXPECT_TRUE(is_bind_event(m, &ev));
	free(m);
	EXPECT_EQ(rid, replier_of(_metadata, self->b, "$.Ev.Once"));

	/* Binds and unbinds that fail announce nothing. */
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->a, "$.Ev.Once", true));
	EXPECT_EQ(-EADDRINUSE, kbus_bind(self->c, "$.Ev.Once", true));
	EXPECT_EQ(-EBADMSG, kbus_bind(self->c, "$.Ev..Bad", true));
	EXPECT_EQ(-EBADMSG, kbus_bind(self->c,
				      KBUS_MSG_NAME_REPLIER_BIND_EVENT, true));
	EXPECT_EQ(-ENAMETOOLONG, kbus_bind(self->c, toolong, true));
	EXPECT_EQ(-EINVAL, kbus_bind_op(self->c, KBUS_IOC_BIND, "$.Ev.Flags",
					10, KBUS_BIND_REPLIER | 1U << 1));
	EXPECT_EQ(-EBADF, kbus_bind(ro, "$.Ev.ReadOnly", true));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Ev.Missing", true));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->a, "$.Ev.Once", true));
	EXPECT_EQ(-EINVAL, kbus_unbind(self->c, "$.Ev.Once", false));
	EXPECT_EQ(-EBADF, kbus_unbind(ro, "$.Ev.Once", true));
	/* Nor do listeners. */
	EXPECT_EQ(0, kbus_bind(self->c, "$.Ev.Listen", false));
	EXPECT_EQ(0, kbus_unbind(self->c, "$.Ev.Listen", false));
	kbus_expect_empty(_metadata, self->b);
	EXPECT_EQ(rid, replier_of(_metadata, self->b, "$.Ev.Once"));

	/* After an unbind has returned, the binding has gone. */
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Ev.Once", true));
	EXPECT_EQ(0, replier_of(_metadata, self->b, "$.Ev.Once"));
	expect_bind_event(_metadata, self->b, 0, rid, "$.Ev.Once");
	kbus_expect_empty(_metadata, self->b);
	close(ro);
	free(toolong);
}

TEST_F(kbus, turning_reporting_on_catches_up_on_existing_repliers)
{
	__u32 bid = kbus_ksock_id(_metadata, self->b);
	__u32 cid = kbus_ksock_id(_metadata, self->c);
	const struct bind_event bound[] = {
		{ 1, bid, "$.Catch.One" },
		{ 1, cid, "$.Catch.*" },
		{ 1, bid, "$.Catch.Two.%" },
	};

	set_report(_metadata, self->a, 0);
	ASSERT_EQ(0, kbus_bind(self->b, "$.Catch.One", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.*", true));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Catch.Two.%", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.Listen", false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.Gone", true));
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Catch.Gone", true));
	ASSERT_EQ(0, kbus_bind(self->b, KBUS_MSG_NAME_REPLIER_BIND_EVENT,
			       false));

	/* One event per replier, to the Ksock that turned reporting on. */
	set_report(_metadata, self->a, 1);
	EXPECT_EQ(ARRAY_SIZE(bound), kbus_num_msgs(_metadata, self->a));
	expect_bind_events(_metadata, self->a, bound, ARRAY_SIZE(bound),
			   ARRAY_SIZE(bound));
	kbus_expect_empty(_metadata, self->a);
	/* Not to those that listen for the events. */
	kbus_expect_empty(_metadata, self->b);

	/* From now on, to those that listen only. */
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.New", true));
	expect_bind_event(_metadata, self->b, 1, cid, "$.Catch.New");
	kbus_expect_empty(_metadata, self->a);

	/* Turning it off again catches up on nothing. */
	set_report(_metadata, self->a, 0);
	kbus_expect_empty(_metadata, self->a);
	kbus_expect_empty(_metadata, self->b);
}

/* The next message of @fd must be the marker of lost bind events. */
static void expect_events_lost(struct __test_metadata *const _metadata,
			       int fd)
{
	struct kbus_entire_message *m = kbus_recv(_metadata, fd);

	EXPECT_STREQ(KBUS_MSG_NAME_UNBIND_EVENTS_LOST, kbus_msg_name(m));
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags);
	EXPECT_EQ(0, m->header.from);
	EXPECT_EQ(0, m->header.data_len);
	free(m);
}

TEST_F(kbus, catch_up_into_a_full_queue_loses_events_and_says_so)
{
	__u32 cid = kbus_ksock_id(_metadata, self->c);
	const struct bind_event bound[] = {
		{ 1, cid, "$.Catch.One" },
		{ 1, cid, "$.Catch.Two" },
	};

	set_report(_metadata, self->a, 0);
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.One", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Catch.Two", true));
	kbus_set_max_msgs(_metadata, self->a, 1);
	set_report(_metadata, self->a, 1);
	/* What fitted, then the marker past the limit. */
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->a));
	EXPECT_EQ(1, kbus_dropped(_metadata, self->a));
	expect_bind_events(_metadata, self->a, bound, ARRAY_SIZE(bound), 1);
	expect_events_lost(_metadata, self->a);
	kbus_expect_empty(_metadata, self->a);
}

TEST_F(kbus, full_event_listener_loses_events_and_binds_go_on)
{
	__u32 aid = kbus_ksock_id(_metadata, self->a);
	__u32 cid = kbus_ksock_id(_metadata, self->c);

	set_report(_metadata, self->a, 1);
	kbus_expect_empty(_metadata, self->a);
	/* A listener of all KBUS's own messages, with room for one. */
	kbus_set_max_msgs(_metadata, self->b, 1);
	ASSERT_EQ(0, kbus_bind(self->b, "$.KBUS.*", false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Full.A", true));
	ASSERT_EQ(1, kbus_num_msgs(_metadata, self->b));

	/* Neither a bind nor an unbind waits for the listener. */
	EXPECT_EQ(0, kbus_bind(self->c, "$.Full.B", true));
	EXPECT_EQ(cid, replier_of(_metadata, self->a, "$.Full.B"));
	EXPECT_EQ(0, kbus_unbind(self->c, "$.Full.A", true));
	EXPECT_EQ(0, replier_of(_metadata, self->a, "$.Full.A"));
	EXPECT_EQ(0, kbus_bind(self->a, "$.Full.A", true));
	EXPECT_EQ(aid, replier_of(_metadata, self->c, "$.Full.A"));
	/* One marker says events were lost; the rest went unrecorded. */
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(3, kbus_dropped(_metadata, self->b));
	expect_bind_event(_metadata, self->b, 1, cid, "$.Full.A");
	expect_events_lost(_metadata, self->b);
	kbus_expect_empty(_metadata, self->b);

	/* Once the marker is read, events come again. */
	EXPECT_EQ(0, kbus_unbind(self->c, "$.Full.B", true));
	expect_bind_event(_metadata, self->b, 0, cid, "$.Full.B");
	kbus_expect_empty(_metadata, self->b);
	/* A request still finds the replier bound after the lost events. */
	ASSERT_EQ(0, kbus_request(self->c, "$.Full.A", NULL, 0, 0, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));
}

TEST_F(kbus, kbus_names_can_be_listened_to)
{
	static const char *const patterns[] = {
		"$.KBUS.*", "$.KBUS.%", KBUS_MSG_NAME_REPLIER_BIND_EVENT, "$.*",
	};
	__u32 cid = kbus_ksock_id(_metadata, self->c);
	size_t i;

	set_report(_metadata, self->a, 1);
	kbus_expect_empty(_metadata, self->a);
	for (i = 0; i < ARRAY_SIZE(patterns); i++)
		ASSERT_EQ(0, kbus_bind(self->b, patterns[i], false));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Ev.Any", true));
	/* A copy per binding. */
	EXPECT_EQ(ARRAY_SIZE(patterns), kbus_num_msgs(_metadata, self->b));
	for (i = 0; i < ARRAY_SIZE(patterns); i++)
		expect_bind_event(_metadata, self->b, 1, cid, "$.Ev.Any");
	kbus_expect_empty(_metadata, self->b);

	/* With one copy per Ksock if it asks so. */
	ASSERT_EQ(0, kbus_set_opt(self->b, KBUS_OPT_ONLY_ONCE, 1));
	ASSERT_EQ(0, kbus_unbind(self->c, "$.Ev.Any", true));
	expect_bind_event(_metadata, self->b, 0, cid, "$.Ev.Any");
	kbus_expect_empty(_metadata, self->b);
}

/*
 * The pid that /sys/kernel/debug/kbus/bindings shows for the binding of
 * @name, read by the calling process: the pid, -ENOENT if there is no such
 * line, or -errno.
 */
static long debugfs_pid_of(const char *name)
{
	char line[1200], found[1024];
	unsigned int bus, ksock;
	unsigned long pid;
	long ret = -ENOENT;
	char kind;
	FILE *f;

	f = fopen("/sys/kernel/debug/kbus/bindings", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%u: %u %lu %c %1023s", &bus, &ksock, &pid,
			   &kind, found) == 5 && !strcmp(found, name)) {
			ret = pid;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* In a new pid namespace: what the bindings file says of @name's pid. */
static int debugfs_pid_in_new_ns(void *arg, int in, int out)
{
	const char *name = arg;
	pid_t inner;
	long pid;
	int status;

	if (unshare(CLONE_NEWPID))
		return 10;
	inner = fork();
	if (inner < 0)
		return 11;
	if (inner == 0) {
		pid = debugfs_pid_of(name);
		if (kbus_pipe_write(out, &pid, sizeof(pid)))
			_exit(12);
		_exit(0);
	}
	if (waitpid(inner, &status, 0) != inner || !WIFEXITED(status))
		return 13;
	return WEXITSTATUS(status);
}

TEST_F(kbus, debugfs_shows_pids_as_the_reader_sees_them)
{
	static const char name[] = "$.Debugfs.Pid";
	struct kbus_child c;
	long pid;

	ASSERT_EQ(0, kbus_bind(self->a, name, false));
	pid = debugfs_pid_of(name);
	ASSERT_NE(-ENOENT, pid)
		TH_LOG("no line for %s in the debugfs bindings file", name);
	ASSERT_LE(0, pid)
		TH_LOG("cannot read the debugfs bindings file: %s",
		       strerror(-pid));
	EXPECT_EQ(getpid(), pid);

	/* From a pid namespace where the binder is not visible: 0. */
	kbus_spawn(_metadata, &c, debugfs_pid_in_new_ns, (void *)name);
	pid = -1;
	EXPECT_EQ(0, kbus_pipe_read(c.from_child, &pid, sizeof(pid)))
		TH_LOG("no answer: unshare(CLONE_NEWPID) refused (CONFIG_PID_NS)?");
	EXPECT_EQ(0, pid);
	kbus_child_done(_metadata, &c);
}

/* ---- Allocation failures (fault injection) ---- */

struct bind_op {
	int fd;
	const char *name;
};

/* Receive and drop whatever is queued. */
static void drain(int fd)
{
	struct kbus_entire_message *m;

	while (kbus_read_next(fd, &m) > 0)
		free(m);
}

static int do_replier_bind(void *arg)
{
	struct bind_op *op = arg;

	return kbus_bind(op->fd, op->name, true);
}

static int do_replier_unbind(void *arg)
{
	struct bind_op *op = arg;

	return kbus_unbind(op->fd, op->name, true);
}

/*
 * Every allocation of a replier's BIND and UNBIND made to fail in turn:
 * each such call fails with ENOMEM and changes nothing, and no bind event
 * announces what did not happen.
 */
TEST_F(kbus, replier_bind_and_unbind_fail_cleanly_at_each_allocation)
{
	static const char name[] = "$.Bind.Fault";
	struct bind_op op = { .fd = self->b, .name = name };
	struct failslab_saved saved;
	int failnth, nth, ret, injected = 0;
	__u32 b_id = kbus_ksock_id(_metadata, self->b);

	failnth = failnth_open(_metadata, &saved, "failslab and the bus option");
	if (failnth < 0)
		return;

	ASSERT_EQ(0, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT, false));
	ASSERT_EQ(0, kbus_set_opt(self->a, KBUS_OPT_REPORT_REPLIER_BINDS, 1));
	/* The catch-up of whatever repliers were bound before. */
	drain(self->a);

	/*
	 * Allocation n fails, for n = 1, 2, ... until BIND makes fewer than
	 * n allocations.  An allocation with a fallback (kvzalloc()) may
	 * fail without the call failing: then it must have fully succeeded.
	 */
	for (nth = 1; nth < 200; nth++) {
		if (!with_nth_failure(_metadata, failnth, nth, do_replier_bind,
				      &op, &ret))
			break;
		injected++;
		if (ret == 0) {
			EXPECT_EQ(b_id, replier_of(_metadata, self->c, name));
			EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));
			ASSERT_EQ(0, kbus_unbind(self->b, name, true));
			drain(self->a);
			continue;
		}
		EXPECT_EQ(-ENOMEM, ret)
			TH_LOG("BIND with allocation %d failing", nth);
		EXPECT_EQ(0, replier_of(_metadata, self->c, name));
		EXPECT_EQ(0, kbus_num_msgs(_metadata, self->a))
			TH_LOG("a bind event for a BIND that failed (%d)", nth);
		drain(self->a);
	}
	EXPECT_LT(1, injected);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(b_id, replier_of(_metadata, self->c, name));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));
	drain(self->a);

	/* The same for UNBIND. */
	injected = 0;
	for (nth = 1; nth < 200; nth++) {
		if (!with_nth_failure(_metadata, failnth, nth, do_replier_unbind,
				      &op, &ret))
			break;
		injected++;
		if (ret == 0) {
			EXPECT_EQ(0, replier_of(_metadata, self->c, name));
			EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));
			ASSERT_EQ(0, kbus_bind(self->b, name, true));
			drain(self->a);
			continue;
		}
		EXPECT_EQ(-ENOMEM, ret)
			TH_LOG("UNBIND with allocation %d failing", nth);
		EXPECT_EQ(b_id, replier_of(_metadata, self->c, name));
		EXPECT_EQ(0, kbus_num_msgs(_metadata, self->a))
			TH_LOG("an unbind event for an UNBIND that failed (%d)",
			       nth);
		drain(self->a);
	}
	EXPECT_LT(0, injected);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, replier_of(_metadata, self->c, name));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->a));

	failslab_undo(&saved);
	close(failnth);
}

struct replier_query_op {
	int fd;
	const char *name;
	__u32 id;
};

static int do_replier_query(void *arg)
{
	struct replier_query_op *op = arg;

	return kbus_replier(op->fd, op->name, &op->id);
}

/*
 * A replier query with each of its allocations failing in turn fails with
 * ENOMEM, and the same query answers once memory is there.
 */
TEST_F(kbus, replier_query_without_memory_fails_enomem)
{
	static const char name[] = "$.Bind.QueryFault";
	struct replier_query_op op = { .fd = self->c, .name = name };
	struct failslab_saved saved;
	int failnth, nth, ret, enomem = 0;
	__u32 b_id = kbus_ksock_id(_metadata, self->b);

	failnth = failnth_open(_metadata, &saved, "failslab");
	if (failnth < 0)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, name, true));
	for (nth = 1; nth < 20; nth++) {
		op.id = 0;
		if (!with_nth_failure(_metadata, failnth, nth, do_replier_query,
				      &op, &ret))
			break;
		if (ret) {
			EXPECT_EQ(-ENOMEM, ret)
				TH_LOG("REPLIER with allocation %d failing", nth);
			enomem++;
		} else {
			EXPECT_EQ(b_id, op.id);
		}
	}
	EXPECT_LT(0, enomem);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(b_id, op.id);

	failslab_undo(&saved);
	close(failnth);
}

static int do_report_binds_on(void *arg)
{
	return kbus_set_opt(*(int *)arg, KBUS_OPT_REPORT_REPLIER_BINDS, 1);
}

/*
 * Turning replier bind events on with each allocation of the catch-up
 * failing in turn: SET_OPTION fails with ENOMEM, the option stays off and
 * no event is queued; once memory is there, every existing replier is
 * reported.
 */
TEST_F(kbus, report_binds_catch_up_fails_cleanly_at_each_allocation)
{
	struct failslab_saved saved;
	int failnth, nth, ret, enomem = 0;

	failnth = failnth_open(_metadata, &saved, "failslab and the bus option");
	if (failnth < 0)
		return;
	ASSERT_EQ(0, kbus_opt(_metadata, self->a,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
	ASSERT_EQ(0, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT, false));
	ASSERT_EQ(0, kbus_bind(self->b, "$.Bind.CatchUp.One", true));
	ASSERT_EQ(0, kbus_bind(self->c, "$.Bind.CatchUp.Two", true));
	kbus_expect_empty(_metadata, self->a);

	for (nth = 1; nth < 200; nth++) {
		if (!with_nth_failure(_metadata, failnth, nth,
				      do_report_binds_on, &self->a, &ret))
			break;
		if (ret == 0) {
			/* An allocation with a fallback: it all happened. */
			EXPECT_LE(2, kbus_num_msgs(_metadata, self->a));
			ASSERT_EQ(0, kbus_set_opt(self->a,
						  KBUS_OPT_REPORT_REPLIER_BINDS,
						  0));
			drain(self->a);
			continue;
		}
		EXPECT_EQ(-ENOMEM, ret)
			TH_LOG("SET_OPTION with allocation %d failing", nth);
		enomem++;
		EXPECT_EQ(0, kbus_opt(_metadata, self->a,
				      KBUS_OPT_REPORT_REPLIER_BINDS));
		EXPECT_EQ(0, kbus_num_msgs(_metadata, self->a))
			TH_LOG("events queued by a catch-up that failed (%d)",
			       nth);
		drain(self->a);
	}
	EXPECT_LT(1, enomem);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(1, kbus_opt(_metadata, self->a,
			      KBUS_OPT_REPORT_REPLIER_BINDS));
	EXPECT_LE(2, kbus_num_msgs(_metadata, self->a));

	failslab_undo(&saved);
	close(failnth);
}

struct announce_op {
	int fd;
	const char *name;
	__u32 flags;
};

static int do_announce(void *arg)
{
	struct announce_op *op = arg;
	struct kbus_message_header h;

	kbus_msg_init(&h, op->name, "x", 1);
	h.flags = op->flags;
	return kbus_send_msg(op->fd, &h, false, NULL);
}

/* failslab's knobs for failing the allocations of one thread. */
struct failslab_times {
	char task_filter[8];
	char times[16];
	char interval[16];
	char probability[16];
};

/*
 * In the order they are set in: the task filter first, so that no other
 * task's allocation fails meanwhile; restored in the reverse order.
 */
static const char *const failslab_times_files[] = {
	FAILSLAB "task-filter", FAILSLAB "times", FAILSLAB "interval",
	FAILSLAB "probability",
};

/*
 * Run @op with every slab allocation of the calling thread failing, or
 * with @nowait only those that cannot sleep (failslab's task filter and
 * the thread's make-it-fail, turned off through the file it was turned on
 * with: opening a file allocates).  Returns 0, or -errno if failslab
 * cannot be set so.
 */
static int with_failing_allocations(struct __test_metadata *const _metadata,
				    bool nowait, int (*op)(void *), void *arg,
				    int *ret)
{
	static const char *const on[] = { "Y", "-1", "1", "100" };
	struct failslab_times saved;
	char *const old[] = { saved.task_filter, saved.times, saved.interval,
			      saved.probability };
	const size_t size[] = { sizeof(saved.task_filter),
				sizeof(saved.times), sizeof(saved.interval),
				sizeof(saved.probability) };
	int i, fd, err = 0;

	fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < 4; i++)
		if (failslab_read(failslab_times_files[i], old[i], size[i])) {
			close(fd);
			return -ENOENT;
		}
	for (i = 0; i < 4 && !err; i++)
		err = write_str(failslab_times_files[i], on[i]);
	if (!err)
		err = write_str(FAILSLAB "ignore-gfp-wait", nowait ? "Y" : "N");
	if (!err && pwrite(fd, "1", 1, 0) != 1)
		err = -errno;
	if (!err) {
		*ret = op(arg);
		EXPECT_EQ(1, pwrite(fd, "0", 1, 0));
	}
	close(fd);
	for (i = 3; i >= 0; i--)
		write_str(failslab_times_files[i], old[i]);
	/* As failnth_open() left it. */
	write_str(FAILSLAB "ignore-gfp-wait", "N");
	return err;
}

struct big_announce_op {
	int fd;
	const char *name;
	__u32 flags;
};

/*
 * Two pages of data: the message is then larger than any slab object
 * (kmalloc() takes it from the page allocator), its copies are not.  The
 * caller writes the data first, so that no page fault needs to allocate.
 */
static char *big_data;
static size_t big_len;

static int do_big_announce(void *arg)
{
	struct big_announce_op *op = arg;
	struct kbus_message_header h;

	kbus_msg_init(&h, op->name, big_data, big_len);
	h.flags = op->flags;
	return kbus_send_msg(op->fd, &h, false, NULL);
}

/*
 * A send whose allocations fail one at a time: the message itself failing
 * fails the send, with nothing delivered; a listener's queue entry (the
 * first copy's entry is part of the message, so the second listener's)
 * failing under the bus lock held as a spinlock is allocated again with
 * the lock held sleepably, and the send goes to both.  If that fails too,
 * the listener misses the message, counted as dropped, and the send goes
 * to the others, unless it must reach every listener.
 */
TEST_F(kbus, listener_without_memory_for_its_copy_misses_it_alone)
{
	static const char name[] = "$.Bind.NoMemory";
	struct announce_op op = { .fd = self->a, .name = name };
	struct kbus_entire_message *m;
	struct failslab_saved saved;
	struct bind_op bop;
	struct big_announce_op big = { .fd = self->a, .name = name };
	int failnth, nth, ret, fd, now, missed = 0, injected = 0;
	int retried = 0;
	__u64 dropped[2];
	int lis[2];

	failnth = failnth_open(_metadata, &saved, "failslab");
	if (failnth < 0)
		return;
	lis[0] = self->b;
	lis[1] = self->c;
	for (fd = 0; fd < 2; fd++)
		ASSERT_EQ(0, kbus_bind(lis[fd], name, false));

	for (nth = 1; nth < 50; nth++) {
		for (fd = 0; fd < 2; fd++)
			dropped[fd] = kbus_dropped(_metadata, lis[fd]);
		if (!with_nth_failure(_metadata, failnth, nth, do_announce,
				      &op, &ret))
			break;
		injected++;
		if (ret) {
			EXPECT_EQ(-ENOMEM, ret);
			for (fd = 0; fd < 2; fd++) {
				EXPECT_EQ(0, kbus_num_msgs(_metadata, lis[fd]));
				EXPECT_EQ(dropped[fd],
					  kbus_dropped(_metadata, lis[fd]));
			}
			continue;
		}
		/* The entry was allocated again, sleepably: both have it. */
		for (fd = 0; fd < 2; fd++) {
			EXPECT_EQ(1, kbus_num_msgs(_metadata, lis[fd]));
			EXPECT_EQ(dropped[fd], kbus_dropped(_metadata, lis[fd]));
			drain(lis[fd]);
		}
		retried++;
	}
	/* Past the last allocation, the send went to both. */
	EXPECT_EQ(0, ret);
	for (fd = 0; fd < 2; fd++) {
		EXPECT_EQ(1, kbus_num_msgs(_metadata, lis[fd]));
		drain(lis[fd]);
	}
	EXPECT_LT(1, injected);
	EXPECT_LT(0, retried)
		TH_LOG("no queue entry allocation was made to fail");

	/*
	 * Only what cannot sleep failing: the entry is allocated again,
	 * sleepably, and both listeners have the message.
	 */
	big_len = 2 * sysconf(_SC_PAGESIZE);
	big_data = malloc(big_len);
	ASSERT_NE(NULL, big_data);
	memset(big_data, 'b', big_len);
	for (fd = 0; fd < 2; fd++)
		dropped[fd] = kbus_dropped(_metadata, lis[fd]);
	ASSERT_EQ(0, with_failing_allocations(_metadata, true, do_big_announce,
					      &big, &ret));
	EXPECT_EQ(0, ret);
	for (fd = 0; fd < 2; fd++) {
		EXPECT_EQ(1, kbus_num_msgs(_metadata, lis[fd]));
		EXPECT_EQ(dropped[fd], kbus_dropped(_metadata, lis[fd]));
		drain(lis[fd]);
	}

	/*
	 * The entry failing both ways: one listener, and one only, misses
	 * the message; a send that must reach every listener fails.
	 */
	ASSERT_EQ(0, with_failing_allocations(_metadata, false,
					      do_big_announce, &big, &ret));
	EXPECT_EQ(0, ret);
	now = 0;
	for (fd = 0; fd < 2; fd++) {
		if (kbus_num_msgs(_metadata, lis[fd])) {
			EXPECT_EQ(dropped[fd], kbus_dropped(_metadata, lis[fd]));
			drain(lis[fd]);
		} else {
			EXPECT_EQ(dropped[fd] + 1,
				  kbus_dropped(_metadata, lis[fd]));
			now++;
		}
	}
	EXPECT_EQ(1, now)
		TH_LOG("not one listener missed the message for want of memory");
	big.flags = KBUS_BIT_ALL_OR_FAIL;
	for (fd = 0; fd < 2; fd++)
		dropped[fd] = kbus_dropped(_metadata, lis[fd]);
	ASSERT_EQ(0, with_failing_allocations(_metadata, false,
					      do_big_announce, &big, &ret));
	EXPECT_EQ(-ENOMEM, ret);
	for (fd = 0; fd < 2; fd++) {
		EXPECT_EQ(0, kbus_num_msgs(_metadata, lis[fd]));
		EXPECT_EQ(dropped[fd], kbus_dropped(_metadata, lis[fd]));
	}
	free(big_data);

	/* A send that must reach every listener fails instead. */
	op.flags = KBUS_BIT_ALL_OR_FAIL;
	for (fd = 0; fd < 2; fd++)
		dropped[fd] = kbus_dropped(_metadata, lis[fd]);
	for (nth = 1; nth < 50; nth++) {
		if (!with_nth_failure(_metadata, failnth, nth, do_announce,
				      &op, &ret))
			break;
		EXPECT_TRUE(ret == 0 || ret == -ENOMEM);
		for (fd = 0; fd < 2; fd++) {
			EXPECT_EQ(ret ? 0 : 1, kbus_num_msgs(_metadata, lis[fd]));
			EXPECT_EQ(dropped[fd], kbus_dropped(_metadata, lis[fd]));
			drain(lis[fd]);
		}
	}
	EXPECT_EQ(0, ret);
	for (fd = 0; fd < 2; fd++) {
		EXPECT_EQ(1, kbus_num_msgs(_metadata, lis[fd]));
		drain(lis[fd]);
	}

	/*
	 * A listener of replier bind events gets the marker of lost events
	 * in place of the event it has no memory for, and the BIND that
	 * the event reports goes through.
	 */
	for (fd = 0; fd < 2; fd++) {
		ASSERT_EQ(0, kbus_bind(lis[fd], KBUS_MSG_NAME_REPLIER_BIND_EVENT,
				       false));
		ASSERT_EQ(0, kbus_set_opt(lis[fd], KBUS_OPT_REPORT_REPLIER_BINDS,
					  1));
		drain(lis[fd]);
	}
	bop.fd = self->a;
	bop.name = "$.Bind.NoMemory.Replier";
	missed = 0;
	for (nth = 1; nth < 50; nth++) {
		for (fd = 0; fd < 2; fd++)
			dropped[fd] = kbus_dropped(_metadata, lis[fd]);
		if (!with_nth_failure(_metadata, failnth, nth, do_replier_bind,
				      &bop, &ret))
			break;
		if (ret) {
			EXPECT_EQ(-ENOMEM, ret);
			for (fd = 0; fd < 2; fd++)
				EXPECT_EQ(0, kbus_num_msgs(_metadata, lis[fd]));
			continue;
		}
		for (fd = 0; fd < 2; fd++) {
			m = kbus_recv(_metadata, lis[fd]);
			if (!strcmp(kbus_msg_name(m),
				    KBUS_MSG_NAME_UNBIND_EVENTS_LOST)) {
				EXPECT_EQ(dropped[fd] + 1,
					  kbus_dropped(_metadata, lis[fd]));
				missed++;
			} else {
				EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT,
					     kbus_msg_name(m));
				EXPECT_EQ(dropped[fd],
					  kbus_dropped(_metadata, lis[fd]));
			}
			free(m);
			/* Nothing after the marker or the event. */
			EXPECT_EQ(0, kbus_num_msgs(_metadata, lis[fd]));
		}
		ASSERT_EQ(0, kbus_unbind(self->a, bop.name, true));
		for (fd = 0; fd < 2; fd++)
			drain(lis[fd]);
	}
	EXPECT_EQ(0, ret);
	EXPECT_LT(0, missed)
		TH_LOG("no bind event listener got the marker for want of memory");
	failslab_undo(&saved);
	close(failnth);
}

struct recv_op {
	int fd;
	__u64 buf[32];
};

static int do_recv(void *arg)
{
	struct recv_op *op = arg;

	return kbus_recvmsg(op->fd, op->buf, sizeof(op->buf),
			    KBUS_RECV_NONBLOCK, NULL);
}

/*
 * RECVMSG allocates only for a request to reply to (the record of what
 * is owed), and when that allocation fails it gives ENOMEM and leaves the
 * request queued, to be received and answered once memory is back.
 */
TEST_F(kbus, recvmsg_allocates_only_for_a_request_and_loses_nothing)
{
	static const char ann[] = "$.Bind.Recv.Announcement";
	static const char req[] = "$.Bind.Recv.Request";
	struct kbus_entire_message *got;
	struct recv_op op = { .fd = self->b };
	struct failslab_saved saved;
	struct kbus_msg_id id;
	int failnth, ret;

	failnth = failnth_open(_metadata, &saved, "failslab");
	if (failnth < 0)
		return;
	ASSERT_EQ(0, kbus_bind(self->b, ann, false));
	ASSERT_EQ(0, kbus_bind(self->b, req, true));

	/* An announcement: no allocation to fail. */
	ASSERT_EQ(0, kbus_announce(self->a, ann, "x", 1, NULL));
	EXPECT_FALSE(with_nth_failure(_metadata, failnth, 1, do_recv, &op,
				      &ret))
		TH_LOG("RECVMSG of an announcement allocated");
	EXPECT_EQ(0, ret);
	EXPECT_STREQ(ann, kbus_msg_name((struct kbus_entire_message *)op.buf));

	/* A request: its record fails, and the request stays queued. */
	ASSERT_EQ(0, kbus_request(self->a, req, "y", 1, 0, &id));
	EXPECT_TRUE(with_nth_failure(_metadata, failnth, 1, do_recv, &op,
				     &ret));
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->b));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->b));

	got = NULL;
	ASSERT_LT(0, kbus_read_next(self->b, &got));
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->b));
	EXPECT_EQ(0, kbus_reply(self->b, got, "z", 1, NULL));
	free(got);
	got = NULL;
	ASSERT_LT(0, kbus_read_next(self->a, &got));
	EXPECT_EQ(id.serial_num, got->header.in_reply_to.serial_num);
	EXPECT_EQ(0, got->header.flags & KBUS_BIT_SYNTHETIC);
	free(got);

	failslab_undo(&saved);
	close(failnth);
}

static int do_close(void *arg)
{
	return close(*(int *)arg) ? -errno : 0;
}

/*
 * A replier that closes while allocations fail: its unbind event reaches
 * the listeners all the same (a close cannot fail, nor its events).
 */
TEST_F(kbus, closing_replier_unbind_event_survives_allocation_failures)
{
	static const char name[] = "$.Bind.Closing";
	const struct kbus_replier_bind_event_data *d;
	struct kbus_entire_message *got;
	struct failslab_saved saved;
	int failnth, nth, ret, r;
	__u32 r_id;

	failnth = failnth_open(_metadata, &saved, "failslab and the bus option");
	if (failnth < 0)
		return;
	ASSERT_EQ(0, kbus_bind(self->a, KBUS_MSG_NAME_REPLIER_BIND_EVENT, false));
	ASSERT_EQ(0, kbus_set_opt(self->a, KBUS_OPT_REPORT_REPLIER_BINDS, 1));

	for (nth = 1; nth < 100; nth++) {
		r = kbus_open(_metadata);
		r_id = kbus_ksock_id(_metadata, r);
		ASSERT_EQ(0, kbus_bind(r, name, true));
		drain(self->a);
		if (!with_nth_failure(_metadata, failnth, nth, do_close, &r,
				      &ret))
			nth = 100;	/* the last round: nothing failed */
		EXPECT_EQ(0, ret);
		got = NULL;
		EXPECT_LT(0, kbus_read_next(self->a, &got))
			TH_LOG("no unbind event with allocation %d failing", nth);
		if (got) {
			EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT,
				     kbus_msg_name(got));
			d = kbus_msg_data(got);
			EXPECT_EQ(0, d->is_bind);
			EXPECT_EQ(r_id, d->binder);
			EXPECT_STREQ(name, (const char *)d->rest);
			free(got);
		}
		EXPECT_EQ(0, kbus_num_msgs(_metadata, self->a));
	}
	failslab_undo(&saved);
	close(failnth);
}

TEST_HARNESS_MAIN
