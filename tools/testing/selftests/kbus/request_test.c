// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - request, reply and synthetic reply tests
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "common.h"

FIXTURE(kbus) {
	bool skip;
	int requester;
	int replier;
	int listener;
	__u32 requester_id;
	__u32 replier_id;
	__u32 listener_id;
	/* A test that turned replier bind reports on, and what they were. */
	bool restore_report;
	__u64 report_was;
};

FIXTURE_SETUP(kbus)
{
	self->requester = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->requester < 0) {
		self->skip = true;
		return;
	}
	self->replier = kbus_open(_metadata);
	self->listener = kbus_open(_metadata);
	self->requester_id = kbus_ksock_id(_metadata, self->requester);
	self->replier_id = kbus_ksock_id(_metadata, self->replier);
	self->listener_id = kbus_ksock_id(_metadata, self->listener);
}

FIXTURE_TEARDOWN(kbus)
{
	if (self->skip)
		return;
	/* The option is bus-wide: leave it as it was for the next test. */
	if (self->restore_report)
		EXPECT_EQ(0, kbus_set_opt(self->requester,
					  KBUS_OPT_REPORT_REPLIER_BINDS,
					  self->report_was));
	close(self->listener);
	close(self->replier);
	close(self->requester);
}

/* Check a synthetic reply to request @req sent by Ksock @to. */
static void check_synthetic(struct __test_metadata *const _metadata,
			    const struct kbus_entire_message *m,
			    const char *name, __u32 to,
			    const struct kbus_msg_id *req)
{
	EXPECT_STREQ(name, kbus_msg_name(m));
	EXPECT_EQ(strlen(name), m->header.name_len);
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags & KBUS_BIT_SYNTHETIC);
	EXPECT_EQ(0, m->header.flags & (KBUS_BIT_WANT_A_REPLY |
					KBUS_BIT_WANT_YOU_TO_REPLY));
	EXPECT_EQ(0, m->header.from);
	EXPECT_EQ(to, m->header.to);
	EXPECT_EQ(req->network_id, m->header.in_reply_to.network_id);
	EXPECT_EQ(req->serial_num, m->header.in_reply_to.serial_num);
	EXPECT_EQ(0, m->header.data_len);
	EXPECT_EQ(0, m->header.id.network_id);
	EXPECT_LT(req->serial_num, m->header.id.serial_num);
}

/* Check a real reply from @from to request @req. */
static void check_reply(struct __test_metadata *const _metadata,
			const struct kbus_entire_message *m, const char *name,
			__u32 from, __u32 to, const struct kbus_msg_id *req)
{
	EXPECT_STREQ(name, kbus_msg_name(m));
	EXPECT_EQ(0, m->header.flags & (KBUS_BIT_SYNTHETIC |
					KBUS_BIT_WANT_A_REPLY |
					KBUS_BIT_WANT_YOU_TO_REPLY));
	EXPECT_EQ(from, m->header.from);
	EXPECT_EQ(to, m->header.to);
	EXPECT_EQ(req->network_id, m->header.in_reply_to.network_id);
	EXPECT_EQ(req->serial_num, m->header.in_reply_to.serial_num);
}

/* Requests @fd has sent and not yet had an answer to. */
static __u32 req_outstanding(struct __test_metadata *const _metadata, int fd)
{
	return kbus_info_of(_metadata, fd).num_outstanding;
}

TEST_F(kbus, request_to_unbound_name_fails_eaddrnotavail)
{
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->requester, "$.Req.None",
					       NULL, 0, 0, NULL));
	/* A listener is not enough, and gets nothing. */
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.None", 0));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.*", 0));
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->requester, "$.Req.None",
					       "?", 1, 0, NULL));
	kbus_expect_empty(_metadata, self->listener);
	/* A replier for another name does not count either. */
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.None.Below", 1));
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.None.*", 1));
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->requester, "$.Req.None",
					       "?", 1, 0, NULL));
	kbus_expect_empty(_metadata, self->listener);
	kbus_expect_empty(_metadata, self->replier);
	/* Nothing waits for an answer. */
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));
}

TEST_F(kbus, request_reaches_replier_and_listeners_with_their_flags)
{
	struct kbus_entire_message *r, *l;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Ask", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Ask", 0));
	kbus_msg_init(&h, "$.Req.Ask", "question", 8);
	h.flags = KBUS_BIT_WANT_A_REPLY | 0x00010000U;
	ASSERT_EQ(0, kbus_send_msg(self->requester, &h, true, &id));

	r = kbus_recv(_metadata, self->replier);
	kbus_check_msg(_metadata, r, "$.Req.Ask", "question", 8,
		       self->requester_id);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY |
		  0x00010000U, r->header.flags);
	EXPECT_EQ(id.serial_num, r->header.id.serial_num);
	EXPECT_EQ(0, r->header.to);
	EXPECT_EQ(0, r->header.in_reply_to.serial_num);

	l = kbus_recv(_metadata, self->listener);
	kbus_check_msg(_metadata, l, "$.Req.Ask", "question", 8,
		       self->requester_id);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | 0x00010000U, l->header.flags);
	EXPECT_EQ(id.serial_num, l->header.id.serial_num);

	/* Only the replier owes a reply. */
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->listener));
	kbus_expect_empty(_metadata, self->requester);
	free(l);
	free(r);
}

TEST_F(kbus, reply_goes_to_requester_and_listeners_not_repliers)
{
	struct kbus_entire_message *req, *got;
	struct kbus_msg_id id, rid;
	int other = kbus_open(_metadata);

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Ans", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Ans", 0));
	ASSERT_EQ(0, kbus_bind(other, "$.Req.*", 1));

	/* The requester itself is bound to nothing. */
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Ans", "q", 1, 0,
				  &id));
	kbus_expect_empty(_metadata, other);
	req = kbus_recv(_metadata, self->replier);
	ASSERT_EQ(0, kbus_reply(self->replier, req, "answer", 6, &rid));
	EXPECT_NE(id.serial_num, rid.serial_num);

	got = kbus_recv(_metadata, self->requester);
	check_reply(_metadata, got, "$.Req.Ans", self->replier_id,
		    self->requester_id, &id);
	kbus_check_msg(_metadata, got, "$.Req.Ans", "answer", 6,
		       self->replier_id);
	EXPECT_EQ(rid.serial_num, got->header.id.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->requester);

	/* The listener saw the request, then the reply. */
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(id.serial_num, got->header.id.serial_num);
	free(got);
	got = kbus_recv(_metadata, self->listener);
	check_reply(_metadata, got, "$.Req.Ans", self->replier_id,
		    self->requester_id, &id);
	EXPECT_EQ(rid.serial_num, got->header.id.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->listener);

	/* Repliers do not get replies. */
	kbus_expect_empty(_metadata, self->replier);
	kbus_expect_empty(_metadata, other);
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	free(req);
	close(other);
}

TEST_F(kbus, unreplied_and_outstanding_count_requests_until_answered)
{
	struct kbus_entire_message *req1, *req2, *got;
	struct kbus_ksock_info info;
	struct kbus_msg_id id1, id2;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Count", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Count", 0));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Count", "1", 1, 0,
				  &id1));
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Count", "2", 1, 0,
				  &id2));
	EXPECT_EQ(2, req_outstanding(_metadata, self->requester));
	/* Queued is not read. */
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	req1 = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	req2 = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(2, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(2, req_outstanding(_metadata, self->requester));

	/* Each counter is its own Ksock's; listeners count nothing. */
	ASSERT_EQ(0, kbus_info(self->requester, &info));
	EXPECT_EQ(KBUS_ABI_VERSION, info.abi_version);
	EXPECT_EQ(0, info.num_unreplied);
	EXPECT_EQ(0, info.num_msgs);
	ASSERT_EQ(0, kbus_info(self->replier, &info));
	EXPECT_EQ(0, info.num_outstanding);
	ASSERT_EQ(0, kbus_info(self->listener, &info));
	EXPECT_EQ(2, info.num_msgs);
	EXPECT_EQ(0, info.num_unreplied);
	EXPECT_EQ(0, info.num_outstanding);

	/* A failed request counts nowhere. */
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->requester, "$.Req.None",
					       NULL, 0, 0, NULL));
	EXPECT_EQ(2, req_outstanding(_metadata, self->requester));

	ASSERT_EQ(0, kbus_reply(self->replier, req2, NULL, 0, NULL));
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));
	ASSERT_EQ(0, kbus_reply(self->replier, req1, NULL, 0, NULL));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));

	got = kbus_recv(_metadata, self->requester);
	EXPECT_EQ(id2.serial_num, got->header.in_reply_to.serial_num);
	free(got);
	got = kbus_recv(_metadata, self->requester);
	EXPECT_EQ(id1.serial_num, got->header.in_reply_to.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	free(req2);
	free(req1);
}

TEST_F(kbus, second_reply_fails_econnrefused)
{
	struct kbus_entire_message *req, *got;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Twice", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Twice", NULL, 0, 0,
				  &id));
	req = kbus_recv(_metadata, self->replier);
	ASSERT_EQ(0, kbus_reply(self->replier, req, "1", 1, NULL));
	EXPECT_EQ(-ECONNREFUSED, kbus_reply(self->replier, req, "2", 1, NULL));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	/* The one answer settled the request. */
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));

	got = kbus_recv(_metadata, self->requester);
	check_reply(_metadata, got, "$.Req.Twice", self->replier_id,
		    self->requester_id, &id);
	EXPECT_EQ('1', *(const char *)kbus_msg_data(got));
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	free(req);
}

TEST_F(kbus, reply_from_non_replier_fails_econnrefused)
{
	struct kbus_entire_message *req, *seen, *got;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Spoof", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Spoof", 0));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Spoof", NULL, 0, 0,
				  &id));
	seen = kbus_recv(_metadata, self->listener);

	/* A listener that saw the request cannot answer it... */
	EXPECT_EQ(-ECONNREFUSED, kbus_reply(self->listener, seen, "x", 1,
					    NULL));
	/* ... nor can the requester itself. */
	EXPECT_EQ(-ECONNREFUSED, kbus_reply(self->requester, seen, "x", 1,
					    NULL));
	kbus_expect_empty(_metadata, self->requester);

	/* The replier still can. */
	req = kbus_recv(_metadata, self->replier);
	ASSERT_EQ(0, kbus_reply(self->replier, req, "ok", 2, NULL));
	got = kbus_recv(_metadata, self->requester);
	check_reply(_metadata, got, "$.Req.Spoof", self->replier_id,
		    self->requester_id, &id);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	free(req);
	free(seen);
}

TEST_F(kbus, reply_to_unknown_request_fails_econnrefused)
{
	struct kbus_entire_message *req;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Unknown", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Unknown", NULL, 0, 0,
				  &id));
	req = kbus_recv(_metadata, self->replier);

	/* An id that was never a request. */
	kbus_msg_init(&h, "$.Req.Unknown", NULL, 0);
	h.in_reply_to.serial_num = id.serial_num + 1000;
	h.to = self->requester_id;
	EXPECT_EQ(-ECONNREFUSED, kbus_send_msg(self->replier, &h, false,
					       NULL));
	/* The right id from another network. */
	h.in_reply_to = id;
	h.in_reply_to.network_id = 3;
	EXPECT_EQ(-ECONNREFUSED, kbus_send_msg(self->replier, &h, false,
					       NULL));
	/* The right id to a Ksock that did not send it. */
	h.in_reply_to = id;
	h.to = self->listener_id;
	EXPECT_EQ(-ECONNREFUSED, kbus_send_msg(self->replier, &h, false,
					       NULL));
	/* A reply with nobody to go to. */
	h.to = 0;
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_send_msg(self->replier, &h, false,
						NULL));
	kbus_expect_empty(_metadata, self->requester);
	kbus_expect_empty(_metadata, self->listener);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	ASSERT_EQ(0, kbus_reply(self->replier, req, NULL, 0, NULL));
	free(req);
}

/*
 * The replier a request went to may answer it with a status name, as a
 * bridge does when the far bus gave one; nobody else may send one.
 */
TEST_F(kbus, replier_may_answer_with_a_status_name_only)
{
	static const char gone[] = "$.KBUS.Replier.GoneAway";
	static const char remote[] = "$.KBUS.RemoteError.EBUSY";
	struct kbus_entire_message *req, *got;
	struct kbus_message_header h;
	struct kbus_msg_id id;
	int i;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Status", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.KBUS.*", 0));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Status", NULL, 0, 0,
				  &id));
	req = kbus_recv(_metadata, self->replier);

	/* Not as an announcement, nor as a request. */
	kbus_msg_init(&h, gone, NULL, 0);
	EXPECT_EQ(-EPERM, kbus_send_msg(self->requester, &h, false, NULL));
	h.flags = KBUS_BIT_WANT_A_REPLY;
	EXPECT_EQ(-EPERM, kbus_send_msg(self->requester, &h, false, NULL));
	/* Not a $.KBUS name that is no status, even as a reply. */
	kbus_msg_init(&h, KBUS_MSG_NAME_REPLIER_BIND_EVENT, NULL, 0);
	h.in_reply_to = id;
	h.to = self->requester_id;
	EXPECT_EQ(-EPERM, kbus_send_msg(self->replier, &h, false, NULL));
	/* Nor a prefix alone, nor a status that is not a replier's. */
	kbus_msg_init(&h, "$.KBUS.RemoteError", NULL, 0);
	h.in_reply_to = id;
	h.to = self->requester_id;
	EXPECT_EQ(-EPERM, kbus_send_msg(self->replier, &h, false, NULL));
	kbus_msg_init(&h, "$.KBUS.Replier.Other", NULL, 0);
	h.in_reply_to = id;
	h.to = self->requester_id;
	EXPECT_EQ(-EPERM, kbus_send_msg(self->replier, &h, false, NULL));
	kbus_msg_init(&h, KBUS_MSG_NAME_REQUEST_CANCELLED, NULL, 0);
	h.in_reply_to = id;
	h.to = self->requester_id;
	EXPECT_EQ(-EPERM, kbus_send_msg(self->replier, &h, false, NULL));
	/* Not from a Ksock that does not owe the reply. */
	kbus_msg_init(&h, gone, NULL, 0);
	h.in_reply_to = id;
	h.to = self->requester_id;
	EXPECT_EQ(-ECONNREFUSED, kbus_send_msg(self->listener, &h, false,
					       NULL));
	EXPECT_EQ(-ECONNREFUSED, kbus_send_msg(self->requester, &h, false,
					       NULL));
	kbus_expect_empty(_metadata, self->requester);
	kbus_expect_empty(_metadata, self->listener);
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));

	/* The replier can, once, and it settles the request. */
	kbus_msg_init(&h, remote, NULL, 0);
	h.in_reply_to = id;
	h.to = self->requester_id;
	ASSERT_EQ(0, kbus_send_msg(self->replier, &h, false, NULL));
	EXPECT_EQ(-ECONNREFUSED, kbus_send_msg(self->replier, &h, false,
					       NULL));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));

	/* The requester alone gets it, as synthetic; listeners do not. */
	got = kbus_recv(_metadata, self->requester);
	EXPECT_STREQ(remote, kbus_msg_name(got));
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, got->header.flags & KBUS_BIT_SYNTHETIC);
	EXPECT_EQ(self->replier_id, got->header.from);
	EXPECT_EQ(self->requester_id, got->header.to);
	EXPECT_EQ(id.serial_num, got->header.in_reply_to.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	kbus_expect_empty(_metadata, self->listener);
	free(req);

	/* Each of KBUS's replier statuses can be passed on. */
	for (i = 0; i < 4; i++) {
		static const char *const names[] = {
			KBUS_MSG_NAME_REPLIER_GONEAWAY,
			KBUS_MSG_NAME_REPLIER_IGNORED,
			KBUS_MSG_NAME_REPLIER_UNBOUND,
			"$.KBUS.Replier.NotSameKsock",
		};

		ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Status",
					  NULL, 0, 0, &id));
		req = kbus_recv(_metadata, self->replier);
		kbus_msg_init(&h, names[i], NULL, 0);
		h.in_reply_to = id;
		h.to = self->requester_id;
		EXPECT_EQ(0, kbus_send_msg(self->replier, &h, false, NULL));
		got = kbus_recv(_metadata, self->requester);
		EXPECT_STREQ(names[i], kbus_msg_name(got));
		free(got);
		free(req);
	}
	kbus_expect_empty(_metadata, self->listener);
}

TEST_F(kbus, reply_to_closed_requester_fails_eaddrnotavail)
{
	struct kbus_entire_message *req;
	int gone = kbus_open(_metadata);

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Gone", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Gone", 0));

	/* The requester goes after the replier has read the request. */
	ASSERT_EQ(0, kbus_request(gone, "$.Req.Gone", NULL, 0, 0, NULL));
	req = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	close(gone);
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_reply(self->replier, req, "late", 4,
					     NULL));
	/* Nothing is owed any more, and nobody got the reply. */
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));
	free(req);

	/* The requester goes before the replier has read the request. */
	gone = kbus_open(_metadata);
	ASSERT_EQ(0, kbus_request(gone, "$.Req.Gone", NULL, 0, 0, NULL));
	close(gone);
	req = kbus_recv(_metadata, self->replier);
	/* It asks for a reply, but nothing is owed: nobody waits. */
	EXPECT_TRUE(req->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY);
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_reply(self->replier, req, NULL, 0,
					     NULL));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->listener));
	free(req);
}

TEST_F(kbus, reply_before_reading_leaves_nothing_owed)
{
	struct kbus_entire_message *req, *rep;
	struct kbus_message_header h;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Early", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Early", NULL, 0, 0,
				  &id));
	/* The replier knows the id without reading the request. */
	kbus_msg_init(&h, "$.Req.Early", "early", 5);
	h.in_reply_to = id;
	h.to = kbus_ksock_id(_metadata, self->requester);
	ASSERT_EQ(0, kbus_send_msg(self->replier, &h, false, NULL));
	EXPECT_EQ(0, kbus_info_of(_metadata, self->requester).num_outstanding);
	rep = kbus_recv(_metadata, self->requester);
	EXPECT_EQ(id.serial_num, rep->header.in_reply_to.serial_num);
	free(rep);

	/* Reading it afterwards owes nothing: the answer has gone. */
	req = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(id.serial_num, req->header.id.serial_num);
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(-ECONNREFUSED, kbus_reply(self->replier, req, NULL, 0,
					    NULL));
	kbus_expect_empty(_metadata, self->requester);
	free(req);
}

TEST_F(kbus, stateful_request_to_replaced_replier_fails_epipe)
{
	struct kbus_entire_message *got;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.State", 1));
	/* Addressed to the replier that is bound: delivered. */
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.State", NULL, 0,
				  self->replier_id, &id));
	got = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(self->replier_id, got->header.to);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  got->header.flags);
	ASSERT_EQ(0, kbus_reply(self->replier, got, NULL, 0, NULL));
	free(got);
	got = kbus_recv(_metadata, self->requester);
	free(got);

	/* Addressed to another Ksock. */
	EXPECT_EQ(-EPIPE, kbus_request(self->requester, "$.Req.State", NULL,
				       0, self->listener_id, NULL));
	EXPECT_EQ(-EPIPE, kbus_request(self->requester, "$.Req.State", NULL,
				       0, 0x7fffffff, NULL));
	kbus_expect_empty(_metadata, self->replier);

	/* The replier changes. */
	ASSERT_EQ(0, kbus_unbind(self->replier, "$.Req.State", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.State", 1));
	EXPECT_EQ(-EPIPE, kbus_request(self->requester, "$.Req.State", NULL,
				       0, self->replier_id, NULL));
	kbus_expect_empty(_metadata, self->listener);
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.State", NULL, 0,
				  self->listener_id, &id));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));

	/* No replier at all. */
	ASSERT_EQ(0, kbus_unbind(self->listener, "$.Req.State", 1));
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->requester, "$.Req.State",
					       NULL, 0, self->listener_id,
					       NULL));
	/* The request the listener had queued was answered for it. */
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_UNBOUND,
			self->requester_id, &id);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
}

TEST_F(kbus, request_without_room_for_reply_fails_enolck)
{
	struct kbus_entire_message *req, *got;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Room", 1));
	kbus_set_max_msgs(_metadata, self->requester, 2);

	/* Each outstanding request holds a slot of the requester's queue. */
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Room", NULL, 0, 0,
				  NULL));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Room", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Room", NULL, 0,
					0, NULL));
	/* The failed request went nowhere, and holds no slot. */
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->replier));
	EXPECT_EQ(2, req_outstanding(_metadata, self->requester));

	/* A reply uses its slot: still no room until it is read. */
	req = kbus_recv(_metadata, self->replier);
	ASSERT_EQ(0, kbus_reply(self->replier, req, NULL, 0, NULL));
	free(req);
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->requester));
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Room", NULL, 0,
					0, NULL));
	got = kbus_recv(_metadata, self->requester);
	free(got);
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Room", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Room", NULL, 0,
					0, NULL));

	/* Queued messages count too. */
	while (kbus_read_next(self->replier, &req) > 0)
		free(req);
	EXPECT_EQ(2, kbus_unreplied(_metadata, self->replier));
	close(self->replier);
	self->replier = kbus_open(_metadata);
	got = kbus_recv(_metadata, self->requester);
	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_IGNORED, kbus_msg_name(got));
	free(got);
	got = kbus_recv(_metadata, self->requester);
	EXPECT_STREQ(KBUS_MSG_NAME_REPLIER_IGNORED, kbus_msg_name(got));
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Room", 1));
	ASSERT_EQ(0, kbus_bind(self->requester, "$.Req.Fill", 0));
	ASSERT_EQ(0, kbus_announce(self->listener, "$.Req.Fill", NULL, 0,
				   NULL));
	ASSERT_EQ(0, kbus_announce(self->listener, "$.Req.Fill", NULL, 0,
				   NULL));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Room", NULL, 0,
					0, NULL));
	got = kbus_recv(_metadata, self->requester);
	EXPECT_STREQ("$.Req.Fill", kbus_msg_name(got));
	free(got);
	EXPECT_EQ(0, kbus_request(self->requester, "$.Req.Room", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Room", NULL, 0,
					0, NULL));
}

TEST_F(kbus, stateful_request_gets_synthetic_reply_too)
{
	struct kbus_entire_message *got;
	struct kbus_msg_id id1, id2;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.State", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.State", NULL, 0,
				  self->replier_id, &id1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.State", NULL, 0,
				  self->replier_id, &id2));
	ASSERT_EQ(0, kbus_unbind(self->replier, "$.Req.State", 1));
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_UNBOUND,
			self->requester_id, &id1);
	free(got);
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_UNBOUND,
			self->requester_id, &id2);
	free(got);
	kbus_expect_empty(_metadata, self->requester);

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.State", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.State", NULL, 0,
				  self->replier_id, &id1));
	close(self->replier);
	self->replier = kbus_open(_metadata);
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_GONEAWAY,
			self->requester_id, &id1);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
}

/* ---- Requests that wait for room at the replier ---- */

/*
 * Start a thread sending a request for @name (stateful if @to) from @fd,
 * and check that the send waits.  @name must outlive the thread.
 */
static void req_sender_start(struct __test_metadata *const _metadata,
			     struct kbus_sender *s, int fd, const char *name,
			     __u32 to)
{
	struct kbus_message_header h;

	kbus_msg_init(&h, name, NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY | KBUS_BIT_ALL_OR_WAIT;
	h.to = to;
	kbus_sender_spawn(_metadata, s, fd, &h);
	kbus_sender_waits(_metadata, s, 0);
}

TEST_F_TIMEOUT(kbus, waiting_request_fails_eaddrnotavail_when_replier_goes,
	       60)
{
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_sender s;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Wait", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Wait", 0));
	kbus_set_max_msgs(_metadata, self->replier, 1);
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Wait", NULL, 0, 0,
				  &id));

	/* The replier is full: a request that may not wait goes nowhere. */
	kbus_msg_init(&h, "$.Req.Wait", NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY | KBUS_BIT_ALL_OR_WAIT;
	EXPECT_EQ(-EAGAIN, kbus_sendmsg(self->requester, &h, sizeof(h),
					KBUS_SEND_NONBLOCK, NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));

	/* One that may wait, waits, and holds nothing meanwhile. */
	req_sender_start(_metadata, &s, self->requester, "$.Req.Wait", 0);
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));

	/* The replier goes: the waiting request learns there is none. */
	close(self->replier);
	self->replier = kbus_open(_metadata);
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_sender_finish(_metadata, &s));

	/* The request it had queued is answered; the other went nowhere. */
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_GONEAWAY,
			self->requester_id, &id);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));
}

TEST_F_TIMEOUT(kbus, waiting_stateful_request_fails_epipe_when_replier_changes,
	       60)
{
	struct kbus_entire_message *req, *got;
	struct kbus_sender s;
	struct kbus_msg_id id;
	__u32 who;

	/* The replier for "$.Req.Wait" is at first a wildcard one. */
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.*", 1));
	kbus_set_max_msgs(_metadata, self->replier, 1);
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Wait", NULL, 0,
				  self->replier_id, &id));

	/* A stateful request to it waits for room. */
	req_sender_start(_metadata, &s, self->requester, "$.Req.Wait",
			 self->replier_id);

	/* Another Ksock becomes the replier, without the first unbinding. */
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Wait", 1));
	ASSERT_EQ(0, kbus_replier(self->requester, "$.Req.Wait", &who));
	EXPECT_EQ(self->listener_id, who);

	/* Room is made: the waiting request can only fail. */
	req = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(id.serial_num, req->header.id.serial_num);
	EXPECT_EQ(-EPIPE, kbus_sender_finish(_metadata, &s));
	kbus_expect_empty(_metadata, self->listener);
	kbus_expect_empty(_metadata, self->replier);
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));

	/* The request that went is still answered by its replier. */
	ASSERT_EQ(0, kbus_reply(self->replier, req, "ok", 2, NULL));
	got = kbus_recv(_metadata, self->requester);
	check_reply(_metadata, got, "$.Req.Wait", self->replier_id,
		    self->requester_id, &id);
	free(got);
	free(req);
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));
}

TEST_F(kbus, request_to_full_replier_fails_ebusy)
{
	struct kbus_entire_message *req, *got;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Busy", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Req.Busy", 0));
	kbus_set_max_msgs(_metadata, self->replier, 1);

	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Busy", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(-EBUSY, kbus_request(self->requester, "$.Req.Busy", NULL, 0,
				       0, NULL));
	EXPECT_EQ(1, req_outstanding(_metadata, self->requester));
	/* Nobody got the failed request. */
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->replier));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));

	req = kbus_recv(_metadata, self->replier);
	ASSERT_EQ(0, kbus_reply(self->replier, req, NULL, 0, NULL));
	free(req);
	got = kbus_recv(_metadata, self->requester);
	free(got);
	kbus_expect_empty(_metadata, self->requester);

	/* The failed request kept no slot of the requester's queue. */
	kbus_set_max_msgs(_metadata, self->requester, 1);
	EXPECT_EQ(0, kbus_request(self->requester, "$.Req.Busy", NULL, 0, 0,
				  NULL));
}

TEST_F(kbus, unbind_keeps_requests_already_read)
{
	struct kbus_entire_message *req1, *got;
	struct kbus_msg_id id1, id2;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Unbind", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Unbind", NULL, 0, 0,
				  &id1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Unbind", NULL, 0, 0,
				  &id2));
	req1 = kbus_recv(_metadata, self->replier);
	ASSERT_EQ(0, kbus_unbind(self->replier, "$.Req.Unbind", 1));

	/* The unread request was dropped and answered. */
	kbus_expect_empty(_metadata, self->replier);
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_UNBOUND,
			self->requester_id, &id2);
	free(got);
	kbus_expect_empty(_metadata, self->requester);

	/* The one already read is still owed, and may be answered. */
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	ASSERT_EQ(0, kbus_reply(self->replier, req1, "late", 4, NULL));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	got = kbus_recv(_metadata, self->requester);
	check_reply(_metadata, got, "$.Req.Unbind", self->replier_id,
		    self->requester_id, &id1);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->requester, "$.Req.Unbind",
					       NULL, 0, 0, NULL));
	free(req1);
}

TEST_F(kbus, unbinding_a_listener_binding_answers_no_request)
{
	struct kbus_entire_message *got;

	/* The replier is also a listener of the name. */
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Both", 1));
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Both", 0));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Both", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(2, kbus_num_msgs(_metadata, self->replier));
	ASSERT_EQ(0, kbus_unbind(self->replier, "$.Req.Both", 0));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->replier));
	kbus_expect_empty(_metadata, self->requester);
	got = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  got->header.flags);
	free(got);
}

TEST_F(kbus, request_goes_to_most_specific_replier)
{
	int star = kbus_open(_metadata), deep = kbus_open(_metadata);
	const struct {
		const char *name;
		int fd;
	} want[] = {
		/* An exact replier beats "%" and "*" ones. */
		{ "$.Spec.A", self->replier },
		/* "%" beats "*". */
		{ "$.Spec.B", self->listener },
		/* "$.Spec.X.*" is for names below "$.Spec.X" only. */
		{ "$.Spec.X", self->listener },
		{ "$.Spec.B.C", star },
		/* Among "*" repliers, the longest prefix wins. */
		{ "$.Spec.X.Y", deep },
		{ "$.Spec.X.Y.Z", deep },
	};
	struct kbus_entire_message *got;
	__u32 who, id;
	size_t i;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Spec.A", 1));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.Spec.%", 1));
	ASSERT_EQ(0, kbus_bind(star, "$.Spec.*", 1));
	ASSERT_EQ(0, kbus_bind(deep, "$.Spec.X.*", 1));

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		/* REPLIER names the Ksock the request then goes to. */
		id = kbus_ksock_id(_metadata, want[i].fd);
		ASSERT_EQ(0, kbus_replier(self->requester, want[i].name, &who));
		EXPECT_EQ(id, who)
			TH_LOG("replier for %s", want[i].name);
		ASSERT_EQ(0, kbus_request(self->requester, want[i].name, NULL,
					  0, 0, NULL));
	}
	/* Each Ksock gets its requests in the order they were sent. */
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		got = kbus_recv(_metadata, want[i].fd);
		EXPECT_STREQ(want[i].name, kbus_msg_name(got));
		EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
			  got->header.flags);
		free(got);
	}
	kbus_expect_empty(_metadata, self->replier);
	kbus_expect_empty(_metadata, self->listener);
	kbus_expect_empty(_metadata, star);
	kbus_expect_empty(_metadata, deep);
	close(deep);
	close(star);
}

TEST_F(kbus, same_ksock_can_request_and_reply)
{
	struct kbus_entire_message *req, *got;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->requester, "$.Req.Self", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Self", "me", 2, 0,
				  &id));
	req = kbus_recv(_metadata, self->requester);
	kbus_check_msg(_metadata, req, "$.Req.Self", "me", 2,
		       self->requester_id);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  req->header.flags);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->requester));
	kbus_expect_empty(_metadata, self->requester);

	ASSERT_EQ(0, kbus_reply(self->requester, req, "you", 3, NULL));
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->requester));
	got = kbus_recv(_metadata, self->requester);
	check_reply(_metadata, got, "$.Req.Self", self->requester_id,
		    self->requester_id, &id);
	kbus_check_msg(_metadata, got, "$.Req.Self", "you", 3,
		       self->requester_id);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	free(req);
}

TEST_F(kbus, same_ksock_unbinding_gets_unbound_for_its_own_request)
{
	struct kbus_entire_message *got;
	struct kbus_msg_id id;

	ASSERT_EQ(0, kbus_bind(self->requester, "$.Req.Self", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Self", NULL, 0, 0,
				  &id));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->requester));
	ASSERT_EQ(0, kbus_unbind(self->requester, "$.Req.Self", 1));
	got = kbus_recv(_metadata, self->requester);
	check_synthetic(_metadata, got, KBUS_MSG_NAME_REPLIER_UNBOUND,
			self->requester_id, &id);
	free(got);
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->requester));
}

TEST_F(kbus, only_once_replier_and_listener_gets_replier_copy)
{
	struct kbus_entire_message *got;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Once", 1));
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Once", 0));
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.*", 0));

	/* Without only-once: the replier's copy first, then one per binding. */
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Once", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(3, kbus_num_msgs(_metadata, self->replier));
	got = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  got->header.flags);
	free(got);
	got = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY, got->header.flags);
	free(got);
	got = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY, got->header.flags);
	free(got);
	kbus_expect_empty(_metadata, self->replier);

	ASSERT_EQ(0, kbus_set_opt(self->replier, KBUS_OPT_ONLY_ONCE, 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Once", NULL, 0, 0,
				  NULL));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->replier));
	got = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY,
		  got->header.flags);
	free(got);
	kbus_expect_empty(_metadata, self->replier);
}

/* ---- Synthetic replies: the replier goes away ---- */

enum replier_end {
	CLOSE_UNREAD,
	CLOSE_AFTER_READ,
	UNBIND_UNREAD,
	KILL_UNREAD,
	KILL_AFTER_READ,
};

#define SYNTH_NAME	"$.Synth.Req"

/*
 * A replier in its own process.  It binds, reports its Ksock id, waits for
 * the parent to send the request, deals with it as @end says, reports,
 * and then closes, or waits to be killed or allowed to close.
 */
static int synth_replier(void *arg, int in, int out)
{
	enum replier_end end = *(const enum replier_end *)arg;
	struct kbus_entire_message *m;
	struct kbus_ksock_info info;
	int fd;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, SYNTH_NAME, 1))
		return 2;
	if (kbus_info(fd, &info) ||
	    kbus_pipe_write(out, &info.ksock_id, sizeof(info.ksock_id)))
		return 3;
	if (kbus_wait(in))
		return 4;
	if (kbus_info(fd, &info) || info.num_msgs != 1 ||
	    info.num_unreplied != 0)
		return 5;

	switch (end) {
	case CLOSE_AFTER_READ:
	case KILL_AFTER_READ:
		if (kbus_read_next(fd, &m) <= 0)
			return 6;
		if (!(m->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY))
			return 7;
		free(m);
		if (kbus_info(fd, &info) || info.num_unreplied != 1)
			return 8;
		break;
	case UNBIND_UNREAD:
		if (kbus_unbind(fd, SYNTH_NAME, 1))
			return 9;
		if (kbus_info(fd, &info) || info.num_msgs != 0 ||
		    info.num_unreplied != 0)
			return 10;
		break;
	default:
		break;
	}

	switch (end) {
	case CLOSE_UNREAD:
	case CLOSE_AFTER_READ:
		close(fd);
		return kbus_post(out) ? 11 : 0;
	case UNBIND_UNREAD:
		if (kbus_post(out) || kbus_wait(in))
			return 12;
		close(fd);
		return 0;
	default:
		/* Wait to be killed. */
		if (kbus_post(out))
			return 13;
		kbus_wait_fd(in, POLLIN, 3 * KBUS_WAIT_MS);
		return 14;
	}
}

FIXTURE(synthetic) {
	bool skip;
	int requester;
	int listener;
	__u32 requester_id;
};

FIXTURE_VARIANT(synthetic) {
	enum replier_end end;
	const char *name;
};

FIXTURE_VARIANT_ADD(synthetic, replier_closes_with_request_unread) {
	.end = CLOSE_UNREAD,
	.name = KBUS_MSG_NAME_REPLIER_GONEAWAY,
};

FIXTURE_VARIANT_ADD(synthetic, replier_closes_after_reading_request) {
	.end = CLOSE_AFTER_READ,
	.name = KBUS_MSG_NAME_REPLIER_IGNORED,
};

FIXTURE_VARIANT_ADD(synthetic, replier_unbinds_with_request_unread) {
	.end = UNBIND_UNREAD,
	.name = KBUS_MSG_NAME_REPLIER_UNBOUND,
};

FIXTURE_VARIANT_ADD(synthetic, replier_killed_with_request_unread) {
	.end = KILL_UNREAD,
	.name = KBUS_MSG_NAME_REPLIER_GONEAWAY,
};

FIXTURE_VARIANT_ADD(synthetic, replier_killed_after_reading_request) {
	.end = KILL_AFTER_READ,
	.name = KBUS_MSG_NAME_REPLIER_IGNORED,
};

FIXTURE_SETUP(synthetic)
{
	self->requester = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->requester < 0) {
		self->skip = true;
		return;
	}
	self->listener = kbus_open(_metadata);
	self->requester_id = kbus_ksock_id(_metadata, self->requester);
}

FIXTURE_TEARDOWN(synthetic)
{
	if (self->skip)
		return;
	close(self->listener);
	close(self->requester);
}

TEST_F_TIMEOUT(synthetic, requester_gets_exactly_one_synthetic_reply, 60)
{
	struct kbus_entire_message *got;
	struct kbus_msg_id req, synth = {}, next;
	struct kbus_child kid;
	__u32 replier_id;

	/* Listeners see requests, but never synthetic replies. */
	ASSERT_EQ(0, kbus_bind(self->listener, "$.*", 0));
	ASSERT_EQ(0, kbus_bind(self->listener, "$.KBUS.*", 0));

	kbus_spawn(_metadata, &kid, synth_replier, (void *)&variant->end);
	replier_id = kbus_child_u32(_metadata, &kid);
	ASSERT_NE(0, replier_id);
	ASSERT_EQ(0, kbus_request(self->requester, SYNTH_NAME, "why?", 4, 0,
				  &req));
	ASSERT_EQ(0, kbus_post(kid.to_child));
	ASSERT_EQ(0, kbus_wait(kid.from_child))
		TH_LOG("the replier did not get that far");

	switch (variant->end) {
	case CLOSE_UNREAD:
	case CLOSE_AFTER_READ:
		kbus_child_done(_metadata, &kid);
		break;
	case UNBIND_UNREAD:
		/* Answered at once, while the replier is still open. */
		got = kbus_recv(_metadata, self->requester);
		check_synthetic(_metadata, got, variant->name,
				self->requester_id, &req);
		synth = got->header.id;
		free(got);
		kbus_expect_empty(_metadata, self->requester);
		ASSERT_EQ(0, kbus_post(kid.to_child));
		kbus_child_done(_metadata, &kid);
		break;
	default:
		kbus_child_kill(_metadata, &kid);
		break;
	}

	if (variant->end != UNBIND_UNREAD) {
		ASSERT_LT(0, kbus_wait_fd(self->requester, POLLIN,
					  KBUS_WAIT_MS));
		got = kbus_recv(_metadata, self->requester);
		check_synthetic(_metadata, got, variant->name,
				self->requester_id, &req);
		synth = got->header.id;
		free(got);
	}
	/* Exactly one answer. */
	kbus_expect_empty(_metadata, self->requester);

	/* The synthetic reply took the next serial. */
	EXPECT_EQ(req.serial_num + 1, synth.serial_num);
	ASSERT_EQ(0, kbus_announce(self->requester, "$.Synth.After", NULL, 0,
				   &next));
	EXPECT_EQ(synth.serial_num + 1, next.serial_num);

	/* The listener saw the request and the announcement only. */
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(req.serial_num, got->header.id.serial_num);
	EXPECT_EQ(KBUS_BIT_WANT_A_REPLY, got->header.flags);
	free(got);
	got = kbus_recv(_metadata, self->listener);
	EXPECT_EQ(next.serial_num, got->header.id.serial_num);
	free(got);
	kbus_expect_empty(_metadata, self->listener);

	/* The reply slot was given back. */
	kbus_set_max_msgs(_metadata, self->requester, 1);
	ASSERT_EQ(0, kbus_bind(self->listener, SYNTH_NAME, 1));
	EXPECT_EQ(0, kbus_request(self->requester, SYNTH_NAME, NULL, 0, 0,
				  NULL));
}

/* ---- Giving up a request ---- */

TEST_F(kbus, cancelled_request_gets_its_status_and_frees_both_ends)
{
	struct kbus_entire_message *req, *m;
	struct kbus_msg_id id, other;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Hung", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Hung", NULL, 0, 0,
				  &id));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Hung", NULL, 0, 0,
				  &other));
	req = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));

	ASSERT_EQ(0, kbus_cancel_request(self->requester, &id));
	/* The status stands in for the reply, in its reserved slot. */
	EXPECT_EQ(1, kbus_info_of(_metadata, self->requester).num_outstanding);
	m = kbus_recv(_metadata, self->requester);
	EXPECT_STREQ(KBUS_MSG_NAME_REQUEST_CANCELLED, kbus_msg_name(m));
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags);
	EXPECT_EQ(0, m->header.from);
	EXPECT_EQ(id.serial_num, m->header.in_reply_to.serial_num);
	free(m);
	/* The replier owes nothing, and cannot answer any more. */
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	EXPECT_EQ(-ECONNREFUSED, kbus_reply(self->replier, req, NULL, 0,
					    NULL));
	kbus_expect_empty(_metadata, self->requester);
	/* Only once; the other request is untouched and still answered. */
	EXPECT_EQ(-ENOENT, kbus_cancel_request(self->requester, &id));
	free(req);
	req = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(other.serial_num, req->header.id.serial_num);
	ASSERT_EQ(0, kbus_reply(self->replier, req, "ok", 2, NULL));
	m = kbus_recv(_metadata, self->requester);
	EXPECT_EQ(other.serial_num, m->header.in_reply_to.serial_num);
	EXPECT_EQ(0, m->header.flags & KBUS_BIT_SYNTHETIC);
	free(m);
	free(req);
}

TEST_F(kbus, hung_replier_holds_no_requester_hostage)
{
	struct kbus_entire_message *m;
	struct kbus_msg_id id[2];
	int i;

	/* Room for two: both slots go to requests nobody answers. */
	kbus_set_max_msgs(_metadata, self->requester, 2);
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Hung", 1));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Hung", NULL,
					  0, 0, &id[i]));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Hung", NULL,
					0, 0, NULL));
	/* Giving one up, once the status is read, makes room. */
	ASSERT_EQ(0, kbus_cancel_request(self->requester, &id[0]));
	EXPECT_EQ(-ENOLCK, kbus_request(self->requester, "$.Req.Hung", NULL,
					0, 0, NULL));
	m = kbus_recv(_metadata, self->requester);
	EXPECT_STREQ(KBUS_MSG_NAME_REQUEST_CANCELLED, kbus_msg_name(m));
	free(m);
	EXPECT_EQ(0, kbus_request(self->requester, "$.Req.Hung", NULL, 0, 0,
				  NULL));
	/* The cancelled request, read now, is owed to nobody. */
	m = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(id[0].serial_num, m->header.id.serial_num);
	EXPECT_EQ(0, kbus_unreplied(_metadata, self->replier));
	free(m);
	m = kbus_recv(_metadata, self->replier);
	EXPECT_EQ(1, kbus_unreplied(_metadata, self->replier));
	free(m);
}

TEST_F(kbus, cancel_of_a_request_checks_its_argument)
{
	struct kbus_cancel c = { .size = sizeof(c) };
	struct kbus_msg_id id;
	char big[64] = {};
	void *page;

	ASSERT_EQ(0, kbus_bind(self->replier, "$.Req.Arg", 1));
	ASSERT_EQ(0, kbus_request(self->requester, "$.Req.Arg", NULL, 0, 0,
				  &id));
	c.id = id;
	/* Nothing outstanding with the id: from another Ksock, or none. */
	EXPECT_EQ(-ENOENT, kbus_ioctl(self->listener, KBUS_IOC_CANCEL, &c));
	c.id.serial_num = 0;
	EXPECT_EQ(-ENOENT, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, &c));
	c.id = id;
	c.id.network_id = 1;
	EXPECT_EQ(-ENOENT, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, &c));
	c.id = id;
	c.flags = 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, &c));
	c.flags = 0;
	c.size = sizeof(c) - 1;
	EXPECT_EQ(-EINVAL, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, &c));
	/* A larger struct is fine if its tail is zero, E2BIG if not. */
	c.size = sizeof(big);
	memcpy(big, &c, sizeof(c));
	big[sizeof(big) - 1] = 1;
	EXPECT_EQ(-E2BIG, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, big));
	page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	EXPECT_EQ(-EFAULT, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, page));
	munmap(page, 4096);
	/* Nothing was cancelled by the bad calls. */
	EXPECT_EQ(1, kbus_info_of(_metadata, self->requester).num_outstanding);
	kbus_expect_empty(_metadata, self->requester);
	big[sizeof(big) - 1] = 0;
	EXPECT_EQ(0, kbus_ioctl(self->requester, KBUS_IOC_CANCEL, big));
	EXPECT_EQ(0, kbus_info_of(_metadata, self->requester).num_outstanding);
}

/* ---- Replier bind events when a replier closes ---- */

/* Replier bindings of a closing replier. */
#define LOST_BINDS	200

/*
 * Receive everything a listener of replier bind events of @binder has:
 * bind events, then unbind events (their number into *@unbinds), then
 * $.KBUS.UnbindEventsLost if @lost (its id into *@lost).
 */
static void drain_bind_events(struct __test_metadata *const _metadata,
			      int fd, __u32 binder, __u32 *unbinds,
			      struct kbus_msg_id *lost)
{
	const struct kbus_replier_bind_event_data *ev;
	struct kbus_entire_message *m;
	__u32 n = kbus_num_msgs(_metadata, fd), i;

	*unbinds = 0;
	ASSERT_LE(lost ? 2 : 1, n);
	for (i = 0; i < n - (lost ? 1 : 0); i++) {
		m = kbus_recv(_metadata, fd);
		ASSERT_STREQ(KBUS_MSG_NAME_REPLIER_BIND_EVENT, kbus_msg_name(m))
			TH_LOG("message %u of %u", i, n);
		EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags);
		EXPECT_EQ(0, m->header.from);
		ASSERT_LE(sizeof(*ev), m->header.data_len);
		ev = kbus_msg_data(m);
		EXPECT_EQ(binder, ev->binder);
		/* Binds first, then unbinds only. */
		if (!ev->is_bind)
			(*unbinds)++;
		else
			EXPECT_EQ(0, *unbinds);
		free(m);
	}
	if (!lost)
		return;

	m = kbus_recv(_metadata, fd);
	ASSERT_STREQ(KBUS_MSG_NAME_UNBIND_EVENTS_LOST, kbus_msg_name(m));
	EXPECT_EQ(KBUS_BIT_SYNTHETIC, m->header.flags);
	EXPECT_EQ(0, m->header.from);
	EXPECT_EQ(0, m->header.to);
	EXPECT_EQ(0, m->header.in_reply_to.serial_num);
	EXPECT_EQ(0, m->header.data_len);
	EXPECT_EQ(0, m->header.id.network_id);
	EXPECT_NE(0, m->header.id.serial_num);
	*lost = m->header.id;
	free(m);
	kbus_expect_empty(_metadata, fd);
}

TEST_F_TIMEOUT(kbus, closing_replier_loses_events_only_for_full_listeners, 60)
{
	__u32 unbinds1, unbinds2, unbinds3;
	struct kbus_msg_id lost1, lost2;
	int l2, l3, ret, i;
	char name[32];

	ASSERT_EQ(0, kbus_get_opt(self->requester,
				  KBUS_OPT_REPORT_REPLIER_BINDS,
				  &self->report_was));
	ret = kbus_set_opt(self->requester, KBUS_OPT_REPORT_REPLIER_BINDS, 1);
	if (ret == -EPERM)
		SKIP(return, "reporting replier binds needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	self->restore_report = true;

	/* Many replier bindings, made while nobody listens to the events. */
	for (i = 0; i < LOST_BINDS; i++) {
		snprintf(name, sizeof(name), "$.Lost.N%d", i);
		ASSERT_EQ(0, kbus_bind(self->replier, name, 1))
			TH_LOG("binding %s", name);
	}

	/* Two listeners with room for one message each, one with room. */
	l2 = kbus_open(_metadata);
	l3 = kbus_open(_metadata);
	kbus_set_max_msgs(_metadata, self->listener, 1);
	kbus_set_max_msgs(_metadata, l2, 1);
	kbus_set_max_msgs(_metadata, l3, LOST_BINDS + 10);
	ASSERT_EQ(0, kbus_bind(self->listener,
			       KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0));
	ASSERT_EQ(0, kbus_bind(l2, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0));
	ASSERT_EQ(0, kbus_bind(l3, KBUS_MSG_NAME_REPLIER_BIND_EVENT, 0));

	/* One more binding fills the small ones. */
	ASSERT_EQ(0, kbus_bind(self->replier, "$.Lost.Last", 1));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, self->listener));
	EXPECT_EQ(1, kbus_num_msgs(_metadata, l2));

	/*
	 * A close cannot fail: each full listener gets one UnbindEventsLost
	 * past its limit, and nothing more; the other gets every event.
	 */
	close(self->replier);
	self->replier = kbus_open(_metadata);

	drain_bind_events(_metadata, self->listener, self->replier_id,
			  &unbinds1, &lost1);
	drain_bind_events(_metadata, l2, self->replier_id, &unbinds2, &lost2);
	drain_bind_events(_metadata, l3, self->replier_id, &unbinds3, NULL);
	EXPECT_EQ(0, unbinds1);
	EXPECT_EQ(0, unbinds2);
	EXPECT_EQ(LOST_BINDS + 1, unbinds3);

	/* One message, so one id, however many listeners missed events. */
	EXPECT_EQ(lost1.network_id, lost2.network_id);
	EXPECT_EQ(lost1.serial_num, lost2.serial_num);
	EXPECT_EQ(LOST_BINDS + 1, kbus_dropped(_metadata, self->listener));
	EXPECT_EQ(LOST_BINDS + 1, kbus_dropped(_metadata, l2));
	EXPECT_EQ(0, kbus_dropped(_metadata, l3));
	close(l3);
	close(l2);
}

/* ---- Many requests, and a replier that dies at some point ---- */

#define STRESS_REQUESTS	1000
#define STRESS_NAME	"$.Stress.Req"

static int stress_replier(void *arg, int in, int out)
{
	struct kbus_entire_message *m;
	struct kbus_ksock_info info;
	int fd;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_bind(fd, STRESS_NAME, 1) ||
	    kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, 2 * STRESS_REQUESTS))
		return 2;
	if (kbus_info(fd, &info) ||
	    kbus_pipe_write(out, &info.ksock_id, sizeof(info.ksock_id)))
		return 3;
	/* Start when all the requests are queued. */
	if (kbus_wait_fd(in, POLLIN, 3 * KBUS_WAIT_MS) < 0 || kbus_wait(in))
		return 8;
	/* Answer everything until killed. */
	for (;;) {
		if (kbus_wait_fd(fd, POLLIN, 3 * KBUS_WAIT_MS) < 0)
			return 4;
		if (kbus_read_next(fd, &m) <= 0)
			return 5;
		if (!(m->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY))
			return 6;
		if (kbus_reply(fd, m, &m->header.id.serial_num, 4, NULL))
			return 7;
		free(m);
	}
}

static int find_id(const struct kbus_msg_id *ids, int n, __u32 serial)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (ids[mid].serial_num == serial)
			return mid;
		if (ids[mid].serial_num < serial)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

TEST_F_TIMEOUT(kbus, every_request_is_answered_once_when_replier_dies, 300)
{
	static struct kbus_msg_id ids[STRESS_REQUESTS];
	static bool answered[STRESS_REQUESTS];
	int replies = 0, gone = 0, ignored = 0, answers = 0, i;
	unsigned int seed = time(NULL) ^ getpid();
	struct kbus_entire_message *got;
	bool synthetic_seen = false;
	struct kbus_child kid;
	__u32 replier_id, kill_after;

	srand(seed);
	kill_after = rand() % STRESS_REQUESTS;
	TH_LOG("seed %u: the replier is killed after %u answers", seed,
	       kill_after);

	kbus_set_max_msgs(_metadata, self->requester, 2 * STRESS_REQUESTS);
	kbus_spawn(_metadata, &kid, stress_replier, NULL);
	replier_id = kbus_child_u32(_metadata, &kid);
	ASSERT_NE(0, replier_id);

	for (i = 0; i < STRESS_REQUESTS; i++)
		ASSERT_EQ(0, kbus_request(self->requester, STRESS_NAME, &i,
					  sizeof(i), 0, &ids[i]))
			TH_LOG("request %d", i);
	/* The replier works through them while the answers are read. */
	ASSERT_EQ(0, kbus_post(kid.to_child));

	while (answers < STRESS_REQUESTS) {
		int n;

		if (answers == kill_after)
			kbus_child_kill(_metadata, &kid);
		ASSERT_LT(0, kbus_wait_fd(self->requester, POLLIN,
					  KBUS_WAIT_MS))
			TH_LOG("only %d answers", answers);
		got = kbus_recv(_metadata, self->requester);
		n = find_id(ids, STRESS_REQUESTS,
			    got->header.in_reply_to.serial_num);
		ASSERT_LE(0, n)
			TH_LOG("answer to unknown request %u",
			       got->header.in_reply_to.serial_num);
		ASSERT_FALSE(answered[n])
			TH_LOG("request %d answered twice", n);
		answered[n] = true;
		EXPECT_EQ(0, got->header.in_reply_to.network_id);
		EXPECT_EQ(self->requester_id, got->header.to);

		if (got->header.flags & KBUS_BIT_SYNTHETIC) {
			synthetic_seen = true;
			EXPECT_EQ(0, got->header.from);
			EXPECT_EQ(0, got->header.data_len);
			if (!strcmp(kbus_msg_name(got),
				    KBUS_MSG_NAME_REPLIER_GONEAWAY))
				gone++;
			else if (!strcmp(kbus_msg_name(got),
					 KBUS_MSG_NAME_REPLIER_IGNORED))
				ignored++;
			else
				ASSERT_STREQ(KBUS_MSG_NAME_REPLIER_GONEAWAY,
					     kbus_msg_name(got));
		} else {
			/* Every real reply was queued before the death. */
			EXPECT_FALSE(synthetic_seen);
			EXPECT_STREQ(STRESS_NAME, kbus_msg_name(got));
			EXPECT_EQ(replier_id, got->header.from);
			ASSERT_EQ(4, got->header.data_len);
			EXPECT_EQ(0, memcmp(&ids[n].serial_num,
					    kbus_msg_data(got), 4));
			replies++;
		}
		free(got);
		answers++;
	}
	TH_LOG("%d replies, %d GoneAway, %d Ignored", replies, gone, ignored);
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(STRESS_REQUESTS, replies + gone + ignored);
	EXPECT_LE(kill_after, replies);
	/* The replier reads one request at a time. */
	EXPECT_GE(1, ignored);

	/* No reply slot is left reserved. */
	kbus_set_max_msgs(_metadata, self->requester, 1);
	ASSERT_EQ(0, kbus_bind(self->replier, STRESS_NAME, 1));
	EXPECT_EQ(0, kbus_request(self->requester, STRESS_NAME, NULL, 0, 0,
				  NULL));
}

/* ---- A replier that closes holding many requests ---- */

/*
 * Requests a replier holds when it closes.  Each is answered by the close
 * itself, under the bus lock, which once cost time quadratic in their
 * number (URGENT ones the worst); each must still be answered exactly
 * once, with the right message.
 */
#define MANY_REQUESTS	1000
#define MANY_NAME	"$.Many.Req"

FIXTURE(many_requests) {
	bool skip;
	int requester;
	int replier;
	__u32 requester_id;
};

FIXTURE_VARIANT(many_requests) {
	/* Send the requests with KBUS_BIT_URGENT (queued head first). */
	bool urgent;
	/* The replier receives this many before closing (Ignored ones). */
	int received;
};

FIXTURE_VARIANT_ADD(many_requests, in_order_unread) {
	.urgent = false,
	.received = 0,
};

FIXTURE_VARIANT_ADD(many_requests, urgent_unread) {
	.urgent = true,
	.received = 0,
};

FIXTURE_VARIANT_ADD(many_requests, in_order_half_received) {
	.urgent = false,
	.received = MANY_REQUESTS / 2,
};

FIXTURE_VARIANT_ADD(many_requests, urgent_half_received) {
	.urgent = true,
	.received = MANY_REQUESTS / 2,
};

FIXTURE_SETUP(many_requests)
{
	self->replier = -1;
	self->requester = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->requester < 0) {
		self->skip = true;
		return;
	}
	self->replier = kbus_open(_metadata);
	self->requester_id = kbus_ksock_id(_metadata, self->requester);
}

FIXTURE_TEARDOWN(many_requests)
{
	if (self->skip)
		return;
	if (self->replier >= 0)
		close(self->replier);
	close(self->requester);
}

TEST_F_TIMEOUT(many_requests,
	       replier_closed_holding_many_requests_answers_each_once, 180)
{
	static struct kbus_msg_id ids[MANY_REQUESTS];
	static bool received[MANY_REQUESTS], answered[MANY_REQUESTS];
	int i, n, gone = 0, ignored = 0, want;
	struct kbus_entire_message *got;
	struct kbus_message_header h;
	struct kbus_ksock_info info;
	struct timespec t0, t1;
	const char *name;

	/* Room for every request at the replier, and for every answer. */
	kbus_set_max_msgs(_metadata, self->requester, MANY_REQUESTS + 10);
	kbus_set_max_msgs(_metadata, self->replier, MANY_REQUESTS + 10);
	ASSERT_EQ(0, kbus_bind(self->replier, MANY_NAME, 1));

	kbus_msg_init(&h, MANY_NAME, NULL, 0);
	h.flags = KBUS_BIT_WANT_A_REPLY;
	if (variant->urgent)
		h.flags |= KBUS_BIT_URGENT;
	for (i = 0; i < MANY_REQUESTS; i++) {
		ASSERT_EQ(0, kbus_send_msg(self->requester, &h, false,
					   &ids[i]))
			TH_LOG("request %d", i);
		/* find_id() needs them in increasing order, as sent. */
		if (i)
			ASSERT_LT(ids[i - 1].serial_num, ids[i].serial_num);
	}
	ASSERT_EQ(0, kbus_info(self->requester, &info));
	EXPECT_EQ(MANY_REQUESTS, info.num_outstanding);
	EXPECT_EQ(0, info.num_msgs);
	ASSERT_EQ(0, kbus_info(self->replier, &info));
	EXPECT_EQ(MANY_REQUESTS, info.num_msgs);
	EXPECT_EQ(0, info.num_unreplied);

	/*
	 * The replier reads some of them, in queue order: as sent, or for
	 * URGENT requests, the most recent first.
	 */
	for (i = 0; i < variant->received; i++) {
		got = kbus_recv(_metadata, self->replier);
		want = variant->urgent ? MANY_REQUESTS - 1 - i : i;
		ASSERT_EQ(ids[want].serial_num, got->header.id.serial_num)
			TH_LOG("read %d", i);
		/* The request's flags, URGENT included, and ours to answer. */
		EXPECT_EQ(h.flags | KBUS_BIT_WANT_YOU_TO_REPLY,
			  got->header.flags);
		received[want] = true;
		free(got);
	}
	ASSERT_EQ(0, kbus_info(self->replier, &info));
	EXPECT_EQ(MANY_REQUESTS - variant->received, info.num_msgs);
	EXPECT_EQ(variant->received, info.num_unreplied);
	/* Nothing is answered before the close. */
	kbus_expect_empty(_metadata, self->requester);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(self->replier);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	self->replier = -1;
	TH_LOG("%s: close of a replier holding %d requests (%d read): %.1f ms",
	       variant->urgent ? "URGENT" : "in order", MANY_REQUESTS,
	       variant->received,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);

	/* Every answer was queued by the close, and no request is left. */
	ASSERT_EQ(0, kbus_info(self->requester, &info));
	EXPECT_EQ(MANY_REQUESTS, info.num_msgs);
	EXPECT_EQ(0, info.num_outstanding);

	for (i = 0; i < MANY_REQUESTS; i++) {
		got = kbus_recv(_metadata, self->requester);
		n = find_id(ids, MANY_REQUESTS,
			    got->header.in_reply_to.serial_num);
		ASSERT_LE(0, n)
			TH_LOG("answer %d is to unknown request %u:%u (%s)", i,
			       got->header.in_reply_to.network_id,
			       got->header.in_reply_to.serial_num,
			       kbus_msg_name(got));
		ASSERT_FALSE(answered[n])
			TH_LOG("request %d answered twice", n);
		answered[n] = true;
		/* Read and unanswered: Ignored; never read: GoneAway. */
		name = received[n] ? KBUS_MSG_NAME_REPLIER_IGNORED :
				     KBUS_MSG_NAME_REPLIER_GONEAWAY;
		ASSERT_STREQ(name, kbus_msg_name(got))
			TH_LOG("answer %d, to request %d", i, n);
		check_synthetic(_metadata, got, name, self->requester_id,
				&ids[n]);
		if (received[n])
			ignored++;
		else
			gone++;
		free(got);
	}
	/* Exactly one answer each, and nothing else. */
	kbus_expect_empty(_metadata, self->requester);
	EXPECT_EQ(MANY_REQUESTS - variant->received, gone);
	EXPECT_EQ(variant->received, ignored);
	for (i = 0; i < MANY_REQUESTS; i++)
		ASSERT_TRUE(answered[i])
			TH_LOG("request %d was not answered", i);
	EXPECT_EQ(0, req_outstanding(_metadata, self->requester));

	/* No reply slot is left reserved. */
	kbus_set_max_msgs(_metadata, self->requester, 1);
	self->replier = kbus_open(_metadata);
	ASSERT_EQ(0, kbus_bind(self->replier, MANY_NAME, 1));
	EXPECT_EQ(0, kbus_request(self->requester, MANY_NAME, NULL, 0, 0,
				  NULL));
}

TEST_HARNESS_MAIN
