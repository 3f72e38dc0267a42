/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS set-top box demo - helpers shared by its programs
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Each program of the demo reports what it does as events, one line each
 * on standard output: "<program>\t<event>\t<text>".  stb-demo reads them
 * to print the timeline and to check the scenario.  Each program also
 * reads commands, one per line, on standard input and exits cleanly when
 * standard input reaches end of file.
 */

#ifndef _STB_H
#define _STB_H

#include <stdbool.h>
#include <stdint.h>

#include "libkbus.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Message names of the set-top box. */
#define STB_INPUT_IR		"$.STB.Input.IR"
#define STB_INPUT_PHONE		"$.STB.Input.Phone"
#define STB_INPUTS		"$.STB.Input.%"
#define STB_STATES		"$.STB.State.*"
#define STB_STATE_PLAYER	"$.STB.State.Player"
#define STB_STATE_TRICK		"$.STB.State.Player.Trick"
#define STB_STATE_RECORDER	"$.STB.State.Recorder"
#define STB_PLAY		"$.STB.Player.Play"
#define STB_WHERE		"$.STB.Player.Where"
#define STB_TRICK		"$.STB.Player.Trick"
#define STB_RECORD		"$.STB.Recorder.Record"

/*
 * The LEDs: STB_LED_PREFIX and IR, Power, Phone, Play, Record or Trick,
 * each followed by an LED with the kbus LED trigger.  The data is a
 * command of the trigger: "on", "off", a brightness, "blink <on> <off>".
 */
#define STB_LED_PREFIX		"$.STB.Led."

/* How long a program waits for an answer from another, in ms. */
#define STB_REPLY_TIMEOUT_MS	3000

/*
 * Name of this program in events, and the bus it uses (-b BUS, as given):
 * a bus number N (/dev/kbus<N>, by default 0) or a path with a '/', of a
 * device node or of a bus node (kbus<N>) of a mounted kbus filesystem.
 */
extern const char *stb_name;
extern const char *stb_bus;

/* Parse the common arguments ([-b BUS]); exits on a usage error. */
void stb_init(const char *name, int argc, char **argv);

/* Use the bus @arg (as -b BUS); false if it is neither a number nor a path. */
bool stb_set_bus(const char *arg);

/* The path of the bus: stb_bus itself, or /dev/kbus<N> for a number. */
const char *stb_bus_path(void);

/* The number N of the bus /dev/kbus<N>; false if the bus is a path. */
bool stb_bus_nr(unsigned int *nr);

/* Open the bus read-write: the Ksock, or -errno. */
int stb_bus_open(void);

/* Report an event. */
void stb_event(const char *event, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Report an "error" event and exit with status 1. */
void stb_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Open the bus, bind, send; any failure is fatal (stb_fail()). */
int stb_open(void);
uint32_t stb_ksock_id(int ks);
void stb_bind(int ks, const char *name, bool replier);
void stb_announce(int ks, const char *name, const char *text);
void stb_reply(int ks, const kbus_message_t *req, const char *text);

/* The message name (NUL-terminated: messages received are entire ones). */
static inline const char *stb_name_of(const kbus_message_t *msg)
{
	return kbus_msg_name_ptr(msg);
}

/* The message data as a string (at most @size - 1 bytes, NUL added). */
const char *stb_data(const kbus_message_t *msg, char *buf, size_t size);

/*
 * The main loop: wait on standard input and on the Ksocks in @ks, call
 * @on_line for each line read (if @on_line is NULL lines are ignored),
 * @on_msg for each message received, and @on_tick (if not NULL) at least
 * every @tick_ms.  Returns when standard input reaches end of file, after
 * handling the messages already queued.
 */
struct stb_loop {
	int ks[4];
	int nks;
	void (*on_line)(char *line);
	void (*on_msg)(int ks, const kbus_message_t *msg);
	void (*on_tick)(void);
	int tick_ms;
};

void stb_run(struct stb_loop *loop);

#endif /* _STB_H */
