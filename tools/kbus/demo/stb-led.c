// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - LED controller
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Listens to $.STB.Led.% - every name exactly one level below $.STB.Led,
 * whoever sends it - and "lights" the LED named by the last word.  Names
 * deeper down ($.STB.Led.Phone.Battery) are not its business and do not
 * reach it.  At the end (standard input closed) it reports how many
 * messages it got, from how many senders, for which LEDs.
 */

#include <stdio.h>
#include <string.h>

#include "stb.h"

#define MAX_SENDERS	32
#define MAX_LEDS	32

static uint32_t senders[MAX_SENDERS];
static unsigned int nsenders;
static char leds[MAX_LEDS][64];
static unsigned int nleds, nmsgs;

static void note_sender(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < nsenders; i++)
		if (senders[i] == id)
			return;
	if (nsenders < MAX_SENDERS)
		senders[nsenders++] = id;
}

static void note_led(const char *led)
{
	unsigned int i;

	for (i = 0; i < nleds; i++)
		if (!strcmp(leds[i], led))
			return;
	if (nleds < MAX_LEDS)
		snprintf(leds[nleds++], sizeof(leds[0]), "%s", led);
}

static void on_msg(int ks, const kbus_message_t *msg)
{
	const char *name = stb_name_of(msg);
	const char *led;
	char data[128];

	(void)ks;
	if (strncmp(name, STB_LED_PREFIX, strlen(STB_LED_PREFIX)))
		stb_fail("unexpected message %s", name);
	led = name + strlen(STB_LED_PREFIX);
	nmsgs++;
	note_sender(msg->from);
	note_led(led);
	stb_event("led", "LED %s: %s (from Ksock %u)", led,
		  stb_data(msg, data, sizeof(data)), msg->from);
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_msg = on_msg, .nks = 1 };
	char list[MAX_LEDS * 64] = "";
	unsigned int i;
	int ks;

	stb_init("led", argc, argv);
	ks = stb_open();
	stb_bind(ks, STB_LEDS, false);
	stb_event("ready", "LED controller is Ksock %u, listening to %s",
		  stb_ksock_id(ks), STB_LEDS);

	loop.ks[0] = ks;
	stb_run(&loop);

	for (i = 0; i < nleds; i++) {
		if (i)
			strcat(list, ",");
		strcat(list, leds[i]);
	}
	stb_event("summary", "saw %u messages from %u senders, for LEDs %s",
		  nmsgs, nsenders, list);
	kbus_ksock_close(ks);
	return 0;
}
