// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - user interface
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Listens to the inputs ($.STB.Input.%: the remote control and the phone)
 * and to everything the other programs announce about their state
 * ($.STB.State.*, at any depth), and turns key presses into requests:
 *
 *   a channel number   $.STB.Player.Play
 *   ff, rew, skip      $.STB.Player.Trick
 *   rec                $.STB.Recorder.Record (the current channel)
 *   where              $.STB.Player.Where, as a stateful request to the
 *                      player that answered before; if the player has
 *                      changed since (EPIPE), it finds the new one and
 *                      asks again
 *
 * Every request gets an answer: the replier's reply or KBUS's message
 * saying why there will be none.  The interface reports which, and gives
 * up on a request after STB_REPLY_TIMEOUT_MS (a "timeout" event).
 *
 * On start it turns the power LED on ("on" to $.STB.Led.Power).
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stb.h"

#define MAX_PENDING	16

struct pending {
	bool used;
	kbus_msg_id_t id;
	char name[64];
	int64_t deadline;
};

static struct pending pending[MAX_PENDING];
static int ks;
static uint32_t my_id, player_id;
static char channel[32] = "1";

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void track(const char *name, const kbus_msg_id_t *id)
{
	int i;

	for (i = 0; i < MAX_PENDING; i++) {
		if (!pending[i].used) {
			pending[i].used = true;
			pending[i].id = *id;
			snprintf(pending[i].name, sizeof(pending[i].name), "%s",
				 name);
			pending[i].deadline = now_ms() + STB_REPLY_TIMEOUT_MS;
			return;
		}
	}
	stb_fail("too many requests outstanding");
}

static struct pending *find_pending(const kbus_msg_id_t *id)
{
	int i;

	for (i = 0; i < MAX_PENDING; i++)
		if (pending[i].used && !kbus_msg_compare_ids(&pending[i].id, id))
			return &pending[i];
	return NULL;
}

/* Send a request (stateful if @to); returns 0 or the negative errno. */
static int ask(const char *name, const char *data, uint32_t to)
{
	kbus_msg_id_t id;
	char how[48] = "";
	int err;

	if (to)
		err = kbus_stateful_request(ks, name, to, data, strlen(data),
					    &id);
	else
		err = kbus_request(ks, name, data, strlen(data), &id);
	if (err == -EADDRNOTAVAIL) {
		stb_event("no-replier", "cannot send %s '%s': no replier", name,
			  data);
		return err;
	}
	if (err == -EPIPE)
		return err;
	if (err)
		stb_fail("cannot send %s '%s': %s", name, data,
			 kbus_strerror(err));
	track(name, &id);
	if (to)
		snprintf(how, sizeof(how), " (stateful, to Ksock %u)", to);
	stb_event("request", "%s request %u:%u '%s' sent%s", name,
		  id.network_id, id.serial_num, data, how);
	return 0;
}

static void where(void)
{
	uint32_t now;
	int err;

	if (!player_id) {
		ask(STB_WHERE, "", 0);
		return;
	}
	err = ask(STB_WHERE, "", player_id);
	if (err != -EPIPE)
		return;
	stb_event("epipe",
		  "stateful %s request to Ksock %u refused with EPIPE: the player has changed",
		  STB_WHERE, player_id);
	err = kbus_ksock_find_replier(ks, STB_WHERE, &now);
	if (err < 0)
		stb_fail("cannot query the replier for %s: %s", STB_WHERE,
			 kbus_strerror(err));
	if (err == 0) {
		stb_event("no-replier", "nobody serves %s now", STB_WHERE);
		return;
	}
	stb_event("replier", "%s is now served by Ksock %u (was %u)",
		  STB_WHERE, now, player_id);
	player_id = 0;
	ask(STB_WHERE, "", 0);
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void on_input(const kbus_message_t *msg)
{
	const char *from = kbus_msg_name_is(msg, STB_INPUT_IR) ?
			   "the remote" : "the phone";
	char key[32];

	stb_data(msg, key, sizeof(key));
	stb_event("input", "'%s' from %s", key, from);
	if (is_number(key)) {
		snprintf(channel, sizeof(channel), "%s", key);
		ask(STB_PLAY, key, 0);
	} else if (!strcmp(key, "ff") || !strcmp(key, "rew") ||
		   !strcmp(key, "skip")) {
		ask(STB_TRICK, key, 0);
	} else if (!strcmp(key, "rec")) {
		ask(STB_RECORD, channel, 0);
	} else if (!strcmp(key, "where")) {
		where();
	} else {
		stb_event("ignored", "no action for '%s'", key);
	}
}

static void on_reply(const kbus_message_t *msg)
{
	const kbus_msg_id_t *re = &msg->in_reply_to;
	struct pending *p = find_pending(re);
	const char *name = stb_name_of(msg);
	const char *meaning;
	char data[128];

	if (!p)
		stb_fail("reply %s to unknown request %u:%u", name,
			 re->network_id, re->serial_num);
	p->used = false;
	if (msg->to != my_id)
		stb_fail("reply to %u:%u is addressed to Ksock %u, not us (%u)",
			 re->network_id, re->serial_num, msg->to, my_id);

	if (kbus_msg_is_synthetic(msg)) {
		if (msg->from != 0)
			stb_fail("KBUS message %s claims to be from Ksock %u",
				 name, msg->from);
		meaning = kbus_synthetic_meaning(name);
		stb_event("synthetic", "%s for %s request %u:%u: %s", name,
			  p->name, re->network_id, re->serial_num,
			  meaning ? meaning : "?");
		return;
	}
	if (strcmp(name, p->name))
		stb_fail("reply named %s to %s request %u:%u", name,
			 p->name, re->network_id, re->serial_num);
	stb_event("reply", "%s request %u:%u answered by Ksock %u: %s",
		  p->name, re->network_id, re->serial_num, msg->from,
		  stb_data(msg, data, sizeof(data)));
	if ((!strcmp(p->name, STB_PLAY) || !strcmp(p->name, STB_WHERE)) &&
	    player_id != msg->from) {
		player_id = msg->from;
		stb_event("player", "the player is Ksock %u", player_id);
	}
}

static void on_msg(int k, const kbus_message_t *msg)
{
	const char *name = stb_name_of(msg);
	char data[128];

	(void)k;
	if (kbus_msg_is_reply(msg))
		on_reply(msg);
	else if (kbus_msg_name_is(msg, STB_INPUT_IR) ||
		 kbus_msg_name_is(msg, STB_INPUT_PHONE))
		on_input(msg);
	else if (!strncmp(name, "$.STB.State.", 12))
		stb_event("state", "%s: %s", name,
			  stb_data(msg, data, sizeof(data)));
	else
		stb_fail("unexpected message %s", name);
}

static void on_tick(void)
{
	int64_t now = now_ms();
	int i;

	for (i = 0; i < MAX_PENDING; i++) {
		if (pending[i].used && pending[i].deadline <= now) {
			stb_event("timeout",
				  "no answer to %s request %u:%u within %d ms",
				  pending[i].name, pending[i].id.network_id,
				  pending[i].id.serial_num,
				  STB_REPLY_TIMEOUT_MS);
			pending[i].used = false;
		}
	}
}

int main(int argc, char **argv)
{
	struct stb_loop loop = { .on_msg = on_msg, .on_tick = on_tick,
				 .tick_ms = 100, .nks = 1 };

	stb_init("gui", argc, argv);
	ks = stb_open();
	my_id = stb_ksock_id(ks);
	stb_bind(ks, STB_INPUTS, false);
	stb_bind(ks, STB_STATES, false);
	stb_announce(ks, STB_LED_PREFIX "Power", "on");
	stb_event("ready", "user interface is Ksock %u, listening to %s and %s",
		  my_id, STB_INPUTS, STB_STATES);
	loop.ks[0] = ks;
	stb_run(&loop);
	kbus_ksock_close(ks);
	return 0;
}
