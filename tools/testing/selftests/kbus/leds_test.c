// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - tests of the kbus LED trigger, through user LEDs (uleds)
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Each test makes an LED with /dev/uleds, gives it the "kbus" trigger and
 * a message name, and checks what the LED does and answers.
 */

#define _GNU_SOURCE
#include <linux/uleds.h>
#include <sys/syscall.h>
#include <time.h>

#include "common.h"

#define ULEDS		"/dev/uleds"
#define LED_NAME	"kbus-test::led"
#define LED_DIR		"/sys/class/leds/" LED_NAME
#define LED_MSG		"$.Test.Led"
#define LED_WAIT_MS	3000

/* Wait until the LED's brightness is @want: 0, or -ETIMEDOUT. */
static int led_wait(int uled, int want)
{
	int ms, brightness = -1;

	for (ms = 0; ms < LED_WAIT_MS; ms += 10) {
		while (read(uled, &brightness, sizeof(brightness)) ==
		       sizeof(brightness))
			if (brightness == want)
				return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Send a request with @cmd to the LED and return its answer in @buf. */
static int led_ask(int fd, const char *cmd, char *buf, size_t size)
{
	struct kbus_entire_message *m;
	struct kbus_msg_id id;
	ssize_t len;
	int ret;

	ret = kbus_request(fd, LED_MSG, cmd, cmd ? strlen(cmd) : 0, 0, &id);
	if (ret)
		return ret;
	if (kbus_wait_fd(fd, POLLIN, LED_WAIT_MS) <= 0)
		return -ETIMEDOUT;
	len = kbus_read_next(fd, &m);
	if (len <= 0)
		return -EIO;
	if (m->header.in_reply_to.serial_num != id.serial_num) {
		free(m);
		return -EPROTO;
	}
	snprintf(buf, size, "%.*s", (int)m->header.data_len,
		 (const char *)kbus_msg_data(m));
	ret = strcmp(kbus_msg_name(m), LED_MSG) ? -EBADMSG : 0;
	free(m);
	return ret;
}

FIXTURE(led) {
	int uled;
	int fd;
};

FIXTURE_SETUP(led)
{
	struct uleds_user_dev dev = { .name = LED_NAME, .max_brightness = 255 };

	self->uled = open(ULEDS, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->uled)
		TH_LOG("cannot open " ULEDS ": %s (CONFIG_LEDS_USER=y needed)",
		       strerror(errno));
	ASSERT_EQ(sizeof(dev), write(self->uled, &dev, sizeof(dev)));
	ASSERT_EQ(0, kbus_write_file(LED_DIR "/trigger", "kbus"))
		TH_LOG("no kbus trigger (CONFIG_LEDS_TRIGGER_KBUS=y needed)");
	self->fd = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(led)
{
	close(self->fd);
	/* Unregisters the LED, which loses the trigger. */
	close(self->uled);
}

TEST_F(led, follows_announcements)
{
	char name[64];
	__u32 replier;

	ASSERT_EQ(0, kbus_write_file(LED_DIR "/message", LED_MSG "\n"));
	ASSERT_EQ(0, kbus_read_file(LED_DIR "/message", name, sizeof(name)));
	EXPECT_STREQ(LED_MSG, name);
	ASSERT_EQ(0, kbus_read_file(LED_DIR "/bus", name, sizeof(name)));
	EXPECT_STREQ("0", name);
	/* The LED is the replier for its name. */
	ASSERT_EQ(0, kbus_replier(self->fd, LED_MSG, &replier));
	EXPECT_NE(0, replier);

	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "on", 2, NULL));
	EXPECT_EQ(0, led_wait(self->uled, 255));
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "off", 3, NULL));
	EXPECT_EQ(0, led_wait(self->uled, 0));
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "100", 3, NULL));
	EXPECT_EQ(0, led_wait(self->uled, 100));
	/* Brighter than it can be: as bright as it can be. */
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "1000\n", 5, NULL));
	EXPECT_EQ(0, led_wait(self->uled, 255));
	/* Something it does not know: nothing changes. */
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "purple", 6, NULL));
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "7", 1, NULL));
	EXPECT_EQ(0, led_wait(self->uled, 7));
	/* Names below it are not its business. */
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG ".Sub", "off", 3, NULL));
	ASSERT_EQ(0, kbus_announce(self->fd, "$.Test.Other", "off", 3, NULL));
	usleep(100000);
	EXPECT_EQ(-ETIMEDOUT, led_wait(self->uled, 0));
}

TEST_F(led, answers_requests_with_its_state)
{
	char state[64];
	int i, flips = 0, last = -1, b;

	ASSERT_EQ(0, kbus_write_file(LED_DIR "/message", LED_MSG));
	ASSERT_EQ(0, led_ask(self->fd, NULL, state, sizeof(state)));
	EXPECT_STREQ("off", state);
	ASSERT_EQ(0, led_ask(self->fd, "42", state, sizeof(state)));
	EXPECT_STREQ("on 42", state);
	EXPECT_EQ(0, led_wait(self->uled, 42));
	ASSERT_EQ(0, led_ask(self->fd, "bogus", state, sizeof(state)));
	EXPECT_STREQ("invalid", state);
	/* Blink times from 10 ms to 60 s, two of them or none. */
	ASSERT_EQ(0, led_ask(self->fd, "blink 1 1", state, sizeof(state)));
	EXPECT_STREQ("invalid", state);
	ASSERT_EQ(0, led_ask(self->fd, "blink 20 30 40", state, sizeof(state)));
	EXPECT_STREQ("invalid", state);
	ASSERT_EQ(0, led_ask(self->fd, "blink 20", state, sizeof(state)));
	EXPECT_STREQ("invalid", state);
	ASSERT_EQ(0, led_ask(self->fd, "blink 20 70000", state,
			     sizeof(state)));
	EXPECT_STREQ("invalid", state);
	ASSERT_EQ(0, led_ask(self->fd, "", state, sizeof(state)));
	EXPECT_STREQ("on 42", state);
	ASSERT_EQ(0, led_ask(self->fd, "blink 20 30", state, sizeof(state)));
	EXPECT_STREQ("blink 20 30", state);
	/* It blinks. */
	for (i = 0; i < 200 && flips < 4; i++) {
		usleep(10000);
		while (read(self->uled, &b, sizeof(b)) == sizeof(b)) {
			flips += last >= 0 && b != last;
			last = b;
		}
	}
	EXPECT_LE(4, flips);
	/* A brightness stops it (one it never blinks at, to be seen). */
	ASSERT_EQ(0, led_ask(self->fd, "200", state, sizeof(state)));
	EXPECT_STREQ("on 200", state);
	EXPECT_EQ(0, led_wait(self->uled, 200));
	ASSERT_EQ(0, led_ask(self->fd, "off", state, sizeof(state)));
	EXPECT_STREQ("off", state);
	EXPECT_EQ(0, led_wait(self->uled, 0));
}

TEST_F(led, bad_message_name_or_bus_is_refused)
{
	char buf[64];
	int other;

	EXPECT_EQ(-EBADMSG, kbus_write_file(LED_DIR "/message", "nope"));
	EXPECT_EQ(-EBADMSG, kbus_write_file(LED_DIR "/message", "$.A.*.B"));
	/* A name with a replier already: the LED follows what it did. */
	ASSERT_EQ(0, kbus_write_file(LED_DIR "/message", "  " LED_MSG "\n"));
	other = kbus_open(_metadata);
	ASSERT_EQ(0, kbus_bind(other, LED_MSG ".Taken", true));
	EXPECT_EQ(-EADDRINUSE,
		  kbus_write_file(LED_DIR "/message", LED_MSG ".Taken"));
	ASSERT_EQ(0, kbus_read_file(LED_DIR "/message", buf, sizeof(buf)));
	EXPECT_STREQ(LED_MSG, buf);
	ASSERT_EQ(0, kbus_announce(self->fd, LED_MSG, "9", 1, NULL));
	EXPECT_EQ(0, led_wait(self->uled, 9));
	/* A bus that does not exist: likewise. */
	EXPECT_EQ(-ENODEV, kbus_write_file(LED_DIR "/bus", "200"));
	ASSERT_EQ(0, kbus_read_file(LED_DIR "/bus", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	ASSERT_EQ(0, kbus_write_file(LED_DIR "/message", "\n"));
	ASSERT_EQ(0, kbus_read_file(LED_DIR "/message", buf, sizeof(buf)));
	EXPECT_STREQ("", buf);
	close(other);

	EXPECT_EQ(-EINVAL, kbus_write_file(LED_DIR "/bus", "x"));
	EXPECT_EQ(-ERANGE, kbus_write_file(LED_DIR "/bus", "99999999999"));
	/* No such bus: found out when there is a name to follow. */
	ASSERT_EQ(0, kbus_write_file(LED_DIR "/bus", "200"));
	EXPECT_EQ(-ENODEV, kbus_write_file(LED_DIR "/message", LED_MSG));
	ASSERT_EQ(0, kbus_write_file(LED_DIR "/bus", "0"));
	EXPECT_EQ(0, kbus_write_file(LED_DIR "/message", LED_MSG));
	/* An empty name: following nothing, bound to nothing. */
	EXPECT_EQ(0, kbus_write_file(LED_DIR "/message", "\n"));
	EXPECT_EQ(-EADDRNOTAVAIL, kbus_request(self->fd, LED_MSG, NULL, 0, 0,
					       NULL));
}

/*
 * Requests in flight when the LED loses the trigger (or the trigger's
 * module goes) are each answered once: by the LED, or by KBUS for it.
 */
TEST_F(led, losing_the_trigger_answers_every_request)
{
	enum { N = 50 };
	const char *unload = getenv("KBUS_LEDS_UNLOAD");
	struct kbus_entire_message *m;
	struct kbus_msg_id ids[N];
	bool answered[N] = {};
	int i, j, n = 0, synthetic = 0;

	kbus_set_max_msgs(_metadata, self->fd, 2 * N);
	ASSERT_EQ(0, kbus_write_file(LED_DIR "/message", LED_MSG));
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, kbus_request(self->fd, LED_MSG, i % 2 ? "on" :
					  "off", i % 2 ? 2 : 3, 0, &ids[i]));
	/*
	 * With KBUS_LEDS_UNLOAD set to the trigger's module (make check's
	 * modular kernel), the module goes instead of the trigger.
	 */
	if (unload) {
		ASSERT_EQ(0, syscall(SYS_delete_module, unload, O_NONBLOCK))
			TH_LOG("cannot unload %s: %s", unload, strerror(errno));
	} else {
		ASSERT_EQ(0, kbus_write_file(LED_DIR "/trigger", "none"));
	}

	while (n < N && kbus_wait_fd(self->fd, POLLIN, LED_WAIT_MS) > 0 &&
	       kbus_read_next(self->fd, &m) > 0) {
		for (j = 0; j < N; j++)
			if (ids[j].serial_num ==
			    m->header.in_reply_to.serial_num)
				break;
		ASSERT_GT(N, j) TH_LOG("an answer to no request");
		EXPECT_FALSE(answered[j]) TH_LOG("request %d answered twice", j);
		answered[j] = true;
		synthetic += !!(m->header.flags & KBUS_BIT_SYNTHETIC);
		n++;
		free(m);
	}
	EXPECT_EQ(N, n);
	kbus_expect_empty(_metadata, self->fd);
	TH_LOG("%d of %d answered by KBUS for the LED", synthetic, N);
}

TEST_HARNESS_MAIN
