// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - recorder
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * The replier for $.STB.Recorder.Record ("record channel N").  It announces
 * what it records as $.STB.State.Recorder and turns the record LED on
 * ("on" to $.STB.Led.Record).
 */

#include <stdio.h>

#include "stb.h"

static void on_msg(int ks, const kbus_message_t *msg)
{
	char data[32], text[64];

	if (!kbus_msg_wants_us_to_reply(msg) ||
	    !kbus_msg_name_is(msg, STB_RECORD))
		stb_fail("unexpected message %s", stb_name_of(msg));
	snprintf(text, sizeof(text), "recording channel %s",
		 stb_data(msg, data, sizeof(data)));
	stb_announce(ks, STB_STATE_RECORDER, text);
	stb_announce(ks, STB_LED_PREFIX "Record", "on");
	stb_reply(ks, msg, text);
	stb_event("record", "request %u:%u from Ksock %u: %s",
		  msg->id.network_id, msg->id.serial_num, msg->from, text);
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_msg = on_msg, .nks = 1 };
	int ks;

	stb_init("recorder", argc, argv);
	ks = stb_open();
	stb_bind(ks, STB_RECORD, true);
	stb_event("ready", "recorder is Ksock %u, replier for %s",
		  stb_ksock_id(ks), STB_RECORD);
	loop.ks[0] = ks;
	stb_run(&loop);
	kbus_ksock_close(ks);
	return 0;
}
