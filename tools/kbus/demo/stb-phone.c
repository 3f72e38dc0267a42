// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - mobile phone input
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * A phone paired with the box: commands typed on the phone (here: lines on
 * standard input) are announced as $.STB.Input.Phone, and what the player
 * announces ($.STB.State.Player) is shown on the phone.  On pairing it
 * turns the phone LED on ("on" to $.STB.Led.Phone) and reports its
 * battery as $.STB.Led.Phone.Battery: one level deeper, a name that the
 * phone LED does not follow.
 */

#include "stb.h"

static int ks;

static void on_line(char *cmd)
{
	stb_announce(ks, STB_INPUT_PHONE, cmd);
	stb_event("command", "command '%s' from the phone: announced %s", cmd,
		  STB_INPUT_PHONE);
}

static void on_msg(int k, const kbus_message_t *msg)
{
	char data[128];

	(void)k;
	stb_event("now-playing", "phone screen shows: %s",
		  stb_data(msg, data, sizeof(data)));
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_line = on_line, .on_msg = on_msg,
				 .nks = 1 };

	stb_init("phone", argc, argv);
	ks = stb_open();
	stb_bind(ks, STB_STATE_PLAYER, false);
	stb_announce(ks, STB_LED_PREFIX "Phone", "on");
	stb_announce(ks, STB_LED_PREFIX "Phone.Battery", "42");
	stb_event("ready",
		  "phone paired as Ksock %u: announced %sPhone and %sPhone.Battery, listening to %s",
		  stb_ksock_id(ks), STB_LED_PREFIX, STB_LED_PREFIX,
		  STB_STATE_PLAYER);
	loop.ks[0] = ks;
	stb_run(&loop);
	kbus_ksock_close(ks);
	return 0;
}
