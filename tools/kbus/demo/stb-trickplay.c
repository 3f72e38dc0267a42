// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - trick play
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * The replier for $.STB.Player.Trick: "ff", "rew" or "skip".  To do its
 * work it first asks the player where it is ($.STB.Player.Where), from a
 * second Ksock, then announces $.STB.State.Player.Trick, sets the trick
 * LED blinking ("blink 100 100" to $.STB.Led.Trick), and replies.
 */

#include <stdio.h>
#include <string.h>

#include "stb.h"

static int client;

/* Ask the player where it is; returns false with @where saying why not. */
static bool ask_where(char *where, size_t size)
{
	kbus_message_t *reply;
	kbus_msg_id_t id;
	int err;

	err = kbus_request(client, STB_WHERE, NULL, 0, &id);
	if (err) {
		snprintf(where, size, "cannot ask the player: %s",
			 kbus_strerror(err));
		return false;
	}
	err = kbus_wait_reply(client, &id, &reply, STB_REPLY_TIMEOUT_MS,
			      NULL, NULL);
	if (err <= 0) {
		snprintf(where, size, "no answer from the player: %s",
			 err ? kbus_strerror(err) : "timed out");
		return false;
	}
	if (kbus_msg_is_synthetic(reply)) {
		snprintf(where, size, "the player did not answer: %s",
			 stb_name_of(reply));
		kbus_msg_delete(&reply);
		return false;
	}
	stb_data(reply, where, size);
	kbus_msg_delete(&reply);
	return true;
}

static void on_msg(int ks, const kbus_message_t *msg)
{
	char op[16], where[128], text[192];

	if (!kbus_msg_wants_us_to_reply(msg) ||
	    !kbus_msg_name_is(msg, STB_TRICK))
		stb_fail("unexpected message %s", stb_name_of(msg));
	stb_data(msg, op, sizeof(op));
	if (strcmp(op, "ff") && strcmp(op, "rew") && strcmp(op, "skip")) {
		snprintf(text, sizeof(text), "unknown trick '%s'", op);
	} else if (!ask_where(where, sizeof(where))) {
		snprintf(text, sizeof(text), "%s failed: %s", op, where);
	} else {
		snprintf(text, sizeof(text), "%s from %s", op, where);
		stb_announce(ks, STB_STATE_TRICK, text);
		stb_announce(ks, STB_LED_PREFIX "Trick", "blink 100 100");
	}
	stb_reply(ks, msg, text);
	stb_event("trick", "request %u:%u from Ksock %u: %s",
		  msg->id.network_id, msg->id.serial_num, msg->from, text);
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_msg = on_msg, .nks = 1 };
	int ks;

	stb_init("trickplay", argc, argv);
	ks = stb_open();
	client = stb_open();
	stb_bind(ks, STB_TRICK, true);
	stb_event("ready",
		  "trick play is Ksock %u, replier for %s (asks the player from Ksock %u)",
		  stb_ksock_id(ks), STB_TRICK, stb_ksock_id(client));
	loop.ks[0] = ks;
	stb_run(&loop);
	kbus_ksock_close(client);
	kbus_ksock_close(ks);
	return 0;
}
