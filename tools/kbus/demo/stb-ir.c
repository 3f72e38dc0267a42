// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - infrared remote control reader
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Reads key presses (here: one key name per line on standard input) and
 * announces each as $.STB.Input.IR, first setting the IR LED blinking
 * ("blink 50 50" to $.STB.Led.IR).  It does not know or care who listens.
 */

#include <string.h>

#include "stb.h"

static int ks;

static void on_line(char *key)
{
	stb_announce(ks, STB_LED_PREFIX "IR", "blink 50 50");
	stb_announce(ks, STB_INPUT_IR, key);
	stb_event("key", "key '%s' pressed: announced %s", key, STB_INPUT_IR);
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_line = on_line };

	stb_init("ir", argc, argv);
	ks = stb_open();
	stb_event("ready", "remote control reader is Ksock %u",
		  stb_ksock_id(ks));
	stb_run(&loop);
	kbus_ksock_close(ks);
	return 0;
}
