// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - stream player
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * The replier for $.STB.Player.Play ("play channel N") and
 * $.STB.Player.Where ("where are you in the stream?").  It announces what
 * it plays as $.STB.State.Player and turns the play LED on ("on" to
 * $.STB.Led.Play).
 *
 * Channel 13 hits a decoder bug: the player calls abort() with the Play
 * request read but not answered.  KBUS then sends the requester
 * $.KBUS.Replier.Ignored in place of the reply.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "stb.h"

#define CRASH_CHANNEL	"13"

static char channel[32];
static struct timespec started;

static double since_start(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - started.tv_sec) +
	       (now.tv_nsec - started.tv_nsec) / 1e9;
}

static void crash(const kbus_message_t *req)
{
	struct rlimit no_core = { 0, 0 };

	stb_event("crash",
		  "decoder fault on channel %s while holding request %u:%u: abort()",
		  CRASH_CHANNEL, req->id.network_id, req->id.serial_num);
	setrlimit(RLIMIT_CORE, &no_core);
	abort();
}

static void play(int ks, const kbus_message_t *req)
{
	char data[32], text[64];

	stb_data(req, data, sizeof(data));
	if (!strcmp(data, CRASH_CHANNEL))
		crash(req);
	snprintf(channel, sizeof(channel), "%s", data);
	clock_gettime(CLOCK_MONOTONIC, &started);
	snprintf(text, sizeof(text), "playing channel %s", channel);
	/* Tell the world before answering: the state is already true. */
	stb_announce(ks, STB_STATE_PLAYER, text);
	stb_announce(ks, STB_LED_PREFIX "Play", "on");
	stb_reply(ks, req, text);
	stb_event("play", "request %u:%u from Ksock %u: %s",
		  req->id.network_id, req->id.serial_num, req->from, text);
}

static void where(int ks, const kbus_message_t *req)
{
	char text[64];

	if (channel[0])
		snprintf(text, sizeof(text), "channel %s at %.1fs", channel,
			 since_start());
	else
		snprintf(text, sizeof(text), "stopped");
	stb_reply(ks, req, text);
	stb_event("where", "%s request %u:%u from Ksock %u: %s",
		  kbus_msg_is_stateful_request(req) ? "stateful" : "plain",
		  req->id.network_id, req->id.serial_num, req->from, text);
}

static void on_msg(int ks, const kbus_message_t *msg)
{
	if (!kbus_msg_wants_us_to_reply(msg))
		stb_fail("unexpected message %s", stb_name_of(msg));
	if (kbus_msg_name_is(msg, STB_PLAY))
		play(ks, msg);
	else if (kbus_msg_name_is(msg, STB_WHERE))
		where(ks, msg);
	else
		stb_fail("unexpected request %s", stb_name_of(msg));
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_msg = on_msg, .nks = 1 };
	int ks;

	stb_init("player", argc, argv);
	ks = stb_open();
	stb_bind(ks, STB_PLAY, true);
	stb_bind(ks, STB_WHERE, true);
	stb_event("ready", "stream player is Ksock %u, replier for %s and %s",
		  stb_ksock_id(ks), STB_PLAY, STB_WHERE);
	loop.ks[0] = ks;
	stb_run(&loop);
	kbus_ksock_close(ks);
	return 0;
}
