// SPDX-License-Identifier: GPL-2.0
/*
 * LED trigger driven by KBUS messages
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * An LED with this trigger follows the announcements of one KBUS message
 * name, and is the replier for that name: a request gets its state back.
 * The message data is a command:
 *
 *   on, off          full brightness, or off
 *   <n>              brightness n (at most max_brightness)
 *   blink [on off]   blink, on and off for the times in ms (default 500,
 *                    10 to 60000)
 *
 * A request with no data changes nothing; every request is answered with
 * the state after it ("off", "on <brightness>", "blink <on> <off>", or
 * "invalid" for a command the trigger does not know).  Set the name with
 * the trigger's "message" attribute and the bus, /dev/kbus<N>, with "bus".
 * See Documentation/ipc/kbus.rst.
 */

#include <linux/ctype.h>
#include <linux/kbus.h>
#include <linux/kernel.h>
#include <linux/leds.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../leds.h"

#define KBUS_LED_BLINK_MS	500
#define KBUS_LED_BLINK_MIN_MS	10
#define KBUS_LED_BLINK_MAX_MS	60000
#define KBUS_LED_CMD_MAX	32

/**
 * struct kbus_led - The state of one LED that has the trigger.
 * @led_cdev: the LED.
 * @lock: protects @client, @bus and @name; never taken by the client's
 *        callback, which kbus_client_close() waits for.
 * @client: the KBUS client, open while @name is set.
 * @bus: the bus number N of /dev/kbus<N>.
 * @name: the message name followed, or "" for none.
 * @blinking: the last command was a blink (only the client's callback
 *            uses it and the two below).
 * @delay_on: its on time, as the LED core set it.
 * @delay_off: its off time, likewise.
 */
struct kbus_led {
	struct led_classdev *led_cdev;
	struct mutex lock;	/* see @lock above */
	struct kbus_client *client;
	u32 bus;
	char name[KBUS_MAX_NAME_LEN + 1];
	bool blinking;
	unsigned long delay_on;
	unsigned long delay_off;
};

/* A blink time in ms, from the next word of *@cmd. */
static int kbus_led_delay(char **cmd, unsigned long *ms)
{
	char *word = strsep(cmd, " \t");

	if (!word || kstrtoul(word, 10, ms))
		return -EINVAL;
	if (*ms < KBUS_LED_BLINK_MIN_MS || *ms > KBUS_LED_BLINK_MAX_MS)
		return -EINVAL;
	return 0;
}

static int kbus_led_apply(struct kbus_led *kl, const void *data, u32 len)
{
	unsigned long on = KBUS_LED_BLINK_MS, off = KBUS_LED_BLINK_MS;
	struct led_classdev *led = kl->led_cdev;
	char buf[KBUS_LED_CMD_MAX], *cmd;
	unsigned int level;

	if (len >= sizeof(buf) || memchr(data, '\0', len))
		return -EINVAL;
	memcpy(buf, data, len);
	buf[len] = '\0';
	cmd = strim(buf);

	if (!strncmp(cmd, "blink", 5) && (!cmd[5] || isspace(cmd[5]))) {
		cmd = skip_spaces(cmd + 5);
		if (*cmd && (kbus_led_delay(&cmd, &on) ||
			     kbus_led_delay(&cmd, &off) || cmd))
			return -EINVAL;
		led_blink_set(led, &on, &off);
		kl->blinking = true;
		kl->delay_on = on;
		kl->delay_off = off;
		return 0;
	}
	if (!strcmp(cmd, "on"))
		level = led->max_brightness;
	else if (!strcmp(cmd, "off"))
		level = LED_OFF;
	else if (!kstrtouint(cmd, 10, &level))
		level = min(level, led->max_brightness);
	else
		return -EINVAL;
	if (kl->blinking) {
		/* Off first: that stops a blink done by the hardware too. */
		led_stop_software_blink(led);
		led_set_brightness(led, LED_OFF);
		kl->blinking = false;
	}
	led_set_brightness(led, level);
	return 0;
}

static int kbus_led_state(struct kbus_led *kl, char *buf, size_t size)
{
	unsigned int brightness = READ_ONCE(kl->led_cdev->brightness);

	if (kl->blinking)
		return scnprintf(buf, size, "blink %lu %lu", kl->delay_on,
				 kl->delay_off);
	if (!brightness)
		return scnprintf(buf, size, "off");
	return scnprintf(buf, size, "on %u", brightness);
}

static void kbus_led_recv(struct kbus_client *client,
			  const struct kbus_client_msg *msg)
{
	struct kbus_led *kl = kbus_client_priv(client);
	char state[48];
	int err = 0, len;

	if (msg->data_len)
		err = kbus_led_apply(kl, msg->data, msg->data_len);
	if (!(msg->flags & KBUS_BIT_WANT_YOU_TO_REPLY))
		return;
	if (err)
		len = scnprintf(state, sizeof(state), "invalid");
	else
		len = kbus_led_state(kl, state, sizeof(state));
	/* If the reply cannot go, KBUS answers for the LED when this returns. */
	if (kbus_client_reply(client, msg, state, len))
		dev_dbg(kl->led_cdev->dev, "no reply to a request of %s\n",
			kl->name);
}

static const struct kbus_client_ops kbus_led_ops = {
	.recv = kbus_led_recv,
};

/* Close the client: requests it holds are answered by KBUS. */
static void kbus_led_stop(struct kbus_led *kl)
{
	lockdep_assert_held(&kl->lock);
	kbus_client_close(kl->client);
	kl->client = NULL;
	kl->name[0] = '\0';
}

/*
 * Follow @name on @bus: a new client, bound as a listener and as the
 * replier, in place of the old one.  On failure nothing changes.
 */
static int kbus_led_start(struct kbus_led *kl, u32 bus, const char *name)
{
	struct kbus_client *client;
	int err;

	lockdep_assert_held(&kl->lock);
	client = kbus_client_open(bus, &kbus_led_ops, kl);
	if (IS_ERR(client))
		return PTR_ERR(client);
	err = kbus_client_bind(client, name, false);
	if (!err)
		err = kbus_client_bind(client, name, true);
	if (err) {
		kbus_client_close(client);
		return err;
	}
	kbus_led_stop(kl);
	kl->client = client;
	strscpy(kl->name, name, sizeof(kl->name));
	return 0;
}

static ssize_t message_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct kbus_led *kl = led_trigger_get_drvdata(dev);
	ssize_t len;

	mutex_lock(&kl->lock);
	len = sysfs_emit(buf, "%s\n", kl->name);
	mutex_unlock(&kl->lock);
	return len;
}

static ssize_t message_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t size)
{
	struct kbus_led *kl = led_trigger_get_drvdata(dev);
	char *copy, *name;
	int err = 0;

	copy = kstrndup(buf, size, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	name = strim(copy);
	if (strlen(name) > KBUS_MAX_NAME_LEN) {
		kfree(copy);
		return -ENAMETOOLONG;
	}
	mutex_lock(&kl->lock);
	if (!name[0])
		kbus_led_stop(kl);
	else
		err = kbus_led_start(kl, kl->bus, name);
	mutex_unlock(&kl->lock);
	kfree(copy);
	return err ? err : size;
}
static DEVICE_ATTR_RW(message);

static ssize_t bus_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct kbus_led *kl = led_trigger_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(kl->bus));
}

static ssize_t bus_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t size)
{
	struct kbus_led *kl = led_trigger_get_drvdata(dev);
	char *name = NULL;
	u32 bus;
	int err;

	err = kstrtou32(buf, 0, &bus);
	if (err)
		return err;
	mutex_lock(&kl->lock);
	/* Follow the same name on the new bus. */
	if (kl->client && bus != kl->bus) {
		name = kstrdup(kl->name, GFP_KERNEL);
		err = name ? kbus_led_start(kl, bus, name) : -ENOMEM;
	}
	if (!err)
		WRITE_ONCE(kl->bus, bus);
	mutex_unlock(&kl->lock);
	kfree(name);
	return err ? err : size;
}
static DEVICE_ATTR_RW(bus);

static struct attribute *kbus_led_attrs[] = {
	&dev_attr_message.attr,
	&dev_attr_bus.attr,
	NULL
};
ATTRIBUTE_GROUPS(kbus_led);

static int kbus_led_activate(struct led_classdev *led_cdev)
{
	struct kbus_led *kl;

	kl = kzalloc(sizeof(*kl), GFP_KERNEL);
	if (!kl)
		return -ENOMEM;
	kl->led_cdev = led_cdev;
	mutex_init(&kl->lock);
	led_set_trigger_data(led_cdev, kl);
	return 0;
}

static void kbus_led_deactivate(struct led_classdev *led_cdev)
{
	struct kbus_led *kl = led_get_trigger_data(led_cdev);

	mutex_lock(&kl->lock);
	kbus_led_stop(kl);
	mutex_unlock(&kl->lock);
	mutex_destroy(&kl->lock);
	kfree(kl);
}

static struct led_trigger kbus_led_trigger = {
	.name = "kbus",
	.activate = kbus_led_activate,
	.deactivate = kbus_led_deactivate,
	.groups = kbus_led_groups,
};
module_led_trigger(kbus_led_trigger);

MODULE_DESCRIPTION("LED trigger driven by KBUS messages");
MODULE_LICENSE("GPL");
