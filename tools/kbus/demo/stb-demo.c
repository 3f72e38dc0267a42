// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS set-top box demo - the director
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Starts the programs of a set-top box on one bus, plays the user (key
 * presses on the remote control and the phone) and the system's watchdog
 * (killing a hung recorder, restarting the crashed player), prints the
 * timeline of what every program reports, and checks that each step had
 * the effect it should.  The last line is "demo: ok", or
 * "demo: FAILED: <reason>"; the exit status matches (0 or 1).
 *
 * The box's LEDs are kernel LEDs driven by the kbus LED trigger, with no
 * LED process: each follows the announcements of its name
 * ($.STB.Led.<LED>) and answers requests to it with its state.  For the
 * demo they are user LEDs (stb::ir, stb::power, ...) made with
 * /dev/uleds, which tells the director each change of brightness: an
 * "led" event on the timeline.  This needs CONFIG_LEDS_USER and
 * CONFIG_LEDS_TRIGGER_KBUS.
 *
 *   stb-demo [-b BUS] [-t MS]
 *
 *   -b BUS   the bus: a number N for /dev/kbus<N> (default 0); the
 *            programs get the same -b BUS.  The LEDs follow a bus of
 *            /dev, so a path (of a bus node of a kbus filesystem) is
 *            refused
 *   -t MS    how long to wait for each expected event (default 5000)
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/uleds.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stb.h"

enum { PLAYER, RECORDER, TRICKPLAY, GUI, PHONE, IR, NR_CHILDREN };

struct child {
	const char *name;	/* as in its events */
	const char *prog;
	pid_t pid;
	int in;			/* its standard input, -1 once closed */
	bool running;
	bool may_die;		/* killed or crashing on purpose */
	int status;
	uint32_t ksock;		/* from its "ready" event */
};

static struct child children[NR_CHILDREN] = {
	[PLAYER]	= { "player", "stb-player" },
	[RECORDER]	= { "recorder", "stb-recorder" },
	[TRICKPLAY]	= { "trickplay", "stb-trickplay" },
	[GUI]		= { "gui", "stb-gui" },
	[PHONE]		= { "phone", "stb-phone" },
	[IR]		= { "ir", "stb-ir" },
};

#define ULEDS		"/dev/uleds"
#define LEDS_DIR	"/sys/class/leds/"
#define LED_MAX		255
#define LED_SHOWN	4	/* changes of an LED shown on the timeline */

enum {
	LED_IR, LED_POWER, LED_PHONE, LED_PLAY, LED_RECORD, LED_TRICK,
	NR_LEDS
};

/*
 * An LED of the box: the user LED stb::<word> (in lower case), with the
 * kbus trigger following STB_LED_PREFIX <word>.
 */
struct led {
	const char *word;
	bool blinks;		/* its sender makes it blink */
	int fd;			/* of /dev/uleds, -1 if not made */
	char name[LED_MAX_NAME_SIZE];
	unsigned int changes;	/* of brightness */
	int brightness;		/* the last */
};

static struct led leds[NR_LEDS] = {
	[LED_IR]	= { .word = "IR", .blinks = true, .fd = -1 },
	[LED_POWER]	= { .word = "Power", .fd = -1 },
	[LED_PHONE]	= { .word = "Phone", .fd = -1 },
	[LED_PLAY]	= { .word = "Play", .fd = -1 },
	[LED_RECORD]	= { .word = "Record", .fd = -1 },
	[LED_TRICK]	= { .word = "Trick", .blinks = true, .fd = -1 },
};

struct event {
	char *proc;
	char *key;
	char *text;
};

static struct event *events;
static size_t nr_events, events_size;

static char prog_dir[PATH_MAX];
static int step_timeout_ms = 5000;
static int events_rd = -1, events_wr = -1, sig_fd = -1;
static struct timespec t0;
static bool shutting_down;
static int step_nr;

static double elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timeline(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void timeline(const char *who, const char *fmt, ...)
{
	va_list ap;

	printf("[%7.3f] %-9s ", elapsed(), who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void stop_children(void)
{
	int i, status;

	for (i = 0; i < NR_CHILDREN; i++)
		if (children[i].running)
			kill(children[i].pid, SIGKILL);
	for (i = 0; i < NR_CHILDREN; i++) {
		if (!children[i].running)
			continue;
		while (waitpid(children[i].pid, &status, 0) < 0 &&
		       errno == EINTR)
			;
		children[i].running = false;
	}
}

/*
 * Unregister the LEDs.  Each loses its trigger, which closes its Ksock:
 * KBUS answers the requests it still held.
 */
static void close_leds(void)
{
	int i;

	for (i = 0; i < NR_LEDS; i++) {
		if (leds[i].fd >= 0) {
			close(leds[i].fd);
			leds[i].fd = -1;
		}
	}
}

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	stop_children();
	close_leds();
	fflush(stdout);
	printf("demo: FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

static void step(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void step(const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	timeline("demo", "--- step %d: %s", ++step_nr, text);
}

static const char *describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "status 0x%x", status);
	return buf;
}

/* ---- Events from the programs and the LEDs ---- */

/* Record an event, and show it on the timeline if @show. */
static void record_event(const char *proc, const char *key, const char *text,
			 bool show)
{
	if (nr_events == events_size) {
		events_size = events_size ? 2 * events_size : 64;
		events = realloc(events, events_size * sizeof(*events));
		if (!events)
			fail("out of memory");
	}
	events[nr_events].proc = strdup(proc);
	events[nr_events].key = strdup(key);
	events[nr_events].text = strdup(text);
	if (!events[nr_events].proc || !events[nr_events].key ||
	    !events[nr_events].text)
		fail("out of memory");
	nr_events++;
	if (show)
		timeline(proc, "%s", text);
	if (!strcmp(key, "error") || !strcmp(key, "timeout"))
		fail("%s: %s", proc, text);
}

static void new_event(const char *proc, const char *key, const char *text)
{
	record_event(proc, key, text, true);
}

/* An event line of a program: "<program> TAB <event> TAB <text>". */
static void add_event(char *line)
{
	char *proc = line, *key, *text;

	key = strchr(proc, '\t');
	text = key ? strchr(key + 1, '\t') : NULL;
	if (!key || !text) {
		timeline("?", "%s", line);
		return;
	}
	*key++ = '\0';
	*text++ = '\0';
	new_event(proc, key, text);
}

static void read_events(void)
{
	static char buf[8192];
	static size_t len;
	char *nl;
	ssize_t n;

	n = read(events_rd, buf + len, sizeof(buf) - 1 - len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		fail("lost the programs' event pipe");
	len += n;
	buf[len] = '\0';
	while ((nl = strchr(buf, '\n'))) {
		*nl = '\0';
		add_event(buf);
		len -= nl + 1 - buf;
		memmove(buf, nl + 1, len + 1);
	}
	if (len == sizeof(buf) - 1)
		fail("overlong event line");
}

/* A change of brightness of @led (if any): an "led" event. */
static void read_led(struct led *led)
{
	char text[64];
	int brightness;
	ssize_t n;

	n = read(led->fd, &brightness, sizeof(brightness));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(brightness))
		fail("cannot read the brightness of LED %s: %s", led->name,
		     n < 0 ? strerror(errno) : "short read");
	led->changes++;
	led->brightness = brightness;
	snprintf(text, sizeof(text), "LED %s: brightness %d", led->word,
		 brightness);
	/* A blinking LED changes all the time: show its first changes. */
	record_event("led", "led", text, led->changes <= LED_SHOWN);
	if (led->changes == LED_SHOWN + 1)
		timeline("led", "LED %s: further changes not shown", led->word);
}

static void reap_children(void)
{
	struct signalfd_siginfo si;
	char how[64];
	int i, status;
	pid_t pid;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < NR_CHILDREN; i++)
			if (children[i].running && children[i].pid == pid)
				break;
		if (i == NR_CHILDREN)
			continue;
		children[i].running = false;
		children[i].status = status;
		describe_status(status, how, sizeof(how));
		if (!children[i].may_die && !shutting_down)
			fail("%s (pid %d) %s unexpectedly", children[i].name,
			     pid, how);
		timeline("demo", "%s (pid %d) %s", children[i].name, pid, how);
	}
}

/*
 * Wait up to @timeout_ms for events, changes of the LEDs or children's
 * exits, handle them.
 */
static void pump(int timeout_ms)
{
	struct pollfd pfd[2 + NR_LEDS] = {
		{ .fd = events_rd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	int i, ret;

	/* LEDs not made yet (fd -1) are ignored by poll(). */
	for (i = 0; i < NR_LEDS; i++) {
		pfd[2 + i].fd = leds[i].fd;
		pfd[2 + i].events = POLLIN;
	}
	ret = poll(pfd, ARRAY_SIZE(pfd), timeout_ms);
	if (ret < 0 && errno != EINTR)
		fail("poll: %s", strerror(errno));
	if (ret <= 0)
		return;
	/* Events first: a program's "error" explains its exit. */
	if (pfd[0].revents)
		read_events();
	for (i = 0; i < NR_LEDS; i++)
		if (pfd[2 + i].revents)
			read_led(&leds[i]);
	if (pfd[1].revents)
		reap_children();
}

static bool matches(const struct event *e, const char *proc, const char *key,
		    const char *s1, const char *s2)
{
	return !strcmp(e->proc, proc) && !strcmp(e->key, key) &&
	       (!s1 || strstr(e->text, s1)) && (!s2 || strstr(e->text, s2));
}

/*
 * Wait for @proc to report @key with a text containing @s1 and @s2 (either
 * may be NULL), at or after event number @since.  Returns the event's
 * text; fails the demo on timeout.
 */
static const char *expect(size_t since, const char *proc, const char *key,
			  const char *s1, const char *s2)
{
	int64_t deadline = now_ms() + step_timeout_ms, left;
	size_t i = since;

	for (;;) {
		for (; i < nr_events; i++)
			if (matches(&events[i], proc, key, s1, s2))
				return events[i].text;
		left = deadline - now_ms();
		if (left <= 0)
			fail("no '%s' event from %s%s%s%s%s%s within %d ms",
			     key, proc, s1 || s2 ? " with '" : "",
			     s1 ? s1 : "", s1 && s2 ? "' and '" : "",
			     s2 ? s2 : "", s1 || s2 ? "'" : "",
			     step_timeout_ms);
		pump(left);
	}
}

/* The number after "Ksock " in @text. */
static uint32_t ksock_in(const char *text, const char *after)
{
	const char *p = strstr(text, after);
	unsigned int id;

	if (!p || sscanf(p + strlen(after), "%u", &id) != 1)
		fail("no Ksock id after '%s' in '%s'", after, text);
	return id;
}

/* ---- Children ---- */

static void spawn(struct child *c)
{
	char path[PATH_MAX + 32];
	int in[2];
	sigset_t none;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", prog_dir, c->prog);
	if (pipe2(in, O_CLOEXEC))
		fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], STDIN_FILENO) < 0 ||
		    dup2(events_wr, STDOUT_FILENO) < 0)
			_exit(126);
		execl(path, c->prog, "-b", stb_bus, (char *)NULL);
		fprintf(stderr, "stb-demo: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(127);
	}
	close(in[0]);
	c->in = in[1];
	c->pid = pid;
	c->running = true;
	c->may_die = false;
	c->ksock = 0;
	timeline("demo", "started %s (pid %d)", c->prog, pid);
}

/* Start @c and wait until it is ready; returns its Ksock id. */
static uint32_t start(struct child *c)
{
	size_t mark = nr_events;

	spawn(c);
	c->ksock = ksock_in(expect(mark, c->name, "ready", NULL, NULL),
			    "Ksock ");
	return c->ksock;
}

/* Give @c a line on its standard input. */
static void tell(struct child *c, const char *line)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	if (!c->running || c->in < 0)
		fail("cannot tell %s '%s': it is not running", c->name, line);
	if (write(c->in, buf, n) != n)
		fail("cannot tell %s '%s': %s", c->name, line,
		     strerror(errno));
}

static void wait_exit(struct child *c)
{
	int64_t deadline = now_ms() + step_timeout_ms, left;

	while (c->running) {
		left = deadline - now_ms();
		if (left <= 0)
			fail("%s (pid %d) did not exit within %d ms", c->name,
			     c->pid, step_timeout_ms);
		pump(left);
	}
	if (c->in >= 0) {
		close(c->in);
		c->in = -1;
	}
}

static void expect_signal(struct child *c, int sig)
{
	char how[64];

	wait_exit(c);
	if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != sig)
		fail("%s %s, expected signal %d (%s)", c->name,
		     describe_status(c->status, how, sizeof(how)), sig,
		     strsignal(sig));
}

/* Wait until process @pid is stopped (state T in /proc/<pid>/stat). */
static void wait_stopped(struct child *c)
{
	int64_t deadline = now_ms() + step_timeout_ms;
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", c->pid);
	while (now_ms() < deadline) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail("cannot read %s: %s", path, strerror(errno));
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't'))
				return;
		}
		pump(5);
	}
	fail("%s (pid %d) did not stop within %d ms", c->name, c->pid,
	     step_timeout_ms);
}

/* ---- LEDs ---- */

/*
 * Wait until every LED has changed brightness, and each that blinks at
 * least twice.
 */
static void wait_leds(void)
{
	int64_t deadline = now_ms() + step_timeout_ms, left;
	int i;

	for (i = 0; i < NR_LEDS; i++) {
		const struct led *led = &leds[i];
		unsigned int want = led->blinks ? 2 : 1;

		while (led->changes < want) {
			left = deadline - now_ms();
			if (left <= 0)
				fail("LED %s changed brightness %u times, expected %u or more",
				     led->name, led->changes, want);
			pump(left);
		}
	}
}

/*
 * Ask @led for its state: a request with no data to its name, which the
 * LED answers itself.  Shows the reply on the timeline and returns its
 * data in @state.
 */
static void ask_led(const struct led *led, char *state, size_t size)
{
	kbus_message_t *reply;
	kbus_msg_id_t id;
	char name[64];
	int ks, err;

	snprintf(name, sizeof(name), STB_LED_PREFIX "%s", led->word);
	ks = stb_bus_open();
	if (ks < 0)
		fail("cannot open %s: %s", stb_bus_path(), kbus_strerror(ks));
	err = kbus_request(ks, name, NULL, 0, &id);
	if (err)
		fail("cannot ask %s: %s", name, kbus_strerror(err));
	err = kbus_wait_reply(ks, &id, &reply, step_timeout_ms, NULL, NULL);
	if (err <= 0)
		fail("no reply to %s request %u:%u: %s", name, id.network_id,
		     id.serial_num, err ? kbus_strerror(err) : "timed out");
	if (kbus_msg_is_synthetic(reply))
		fail("LED %s did not answer %s request %u:%u: %s", led->name,
		     name, id.network_id, id.serial_num, stb_name_of(reply));
	stb_data(reply, state, size);
	timeline("demo",
		 "asked LED %s: %s request %u:%u answered by Ksock %u: %s",
		 led->name, name, id.network_id, id.serial_num, reply->from,
		 state);
	kbus_msg_delete(&reply);
	kbus_ksock_close(ks);
}

/* ---- Setup ---- */

static void find_programs(const char *argv0)
{
	char exe[PATH_MAX];
	ssize_t n;
	int i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	else
		snprintf(exe, sizeof(exe), "%s", argv0);
	snprintf(prog_dir, sizeof(prog_dir), "%s", dirname(exe));
	for (i = 0; i < NR_CHILDREN; i++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", prog_dir,
			 children[i].prog);
		if (access(path, X_OK))
			fail("cannot run %s: %s", path, strerror(errno));
	}
}

/* Open the bus; make sure it is free. */
static void setup_bus(void)
{
	static const char * const names[] = {
		STB_PLAY, STB_WHERE, STB_TRICK, STB_RECORD,
	};
	struct kbus_ksock_info info;
	uint32_t id;
	unsigned int i;
	int ks, err;

	ks = stb_bus_open();
	if (ks < 0)
		fail("cannot open %s: %s", stb_bus_path(), kbus_strerror(ks));
	err = kbus_ksock_info(ks, &info);
	if (err)
		fail("KBUS_IOC_KSOCK_INFO: %s", kbus_strerror(err));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		err = kbus_ksock_find_replier(ks, names[i], &id);
		if (err < 0)
			fail("KBUS_IOC_REPLIER %s: %s", names[i],
			     kbus_strerror(err));
		if (err)
			fail("bus %s is in use: Ksock %u is already the replier for %s",
			     stb_bus_path(), id, names[i]);
	}
	kbus_ksock_close(ks);
	timeline("demo", "set-top box on %s (KBUS ABI %u)", stb_bus_path(),
		 info.abi_version);
}

/* Write @s to the attribute @attr of @led: 0 or -errno. */
static int led_attr_write(const struct led *led, const char *attr,
			  const char *s)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), LEDS_DIR "%s/%s", led->name, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/*
 * Make the LEDs: a user LED each, given the kbus trigger, which makes it
 * follow its message name on /dev/kbus<@bus_nr> (the LED is then also the
 * replier for that name).  Their senders drive them; /dev/uleds tells us
 * each change of brightness.
 */
static void setup_leds(unsigned int bus_nr)
{
	struct uleds_user_dev dev = { .max_brightness = LED_MAX };
	char bus[16], msg[64], path[128], *p;
	int i, err;

	snprintf(bus, sizeof(bus), "%u", bus_nr);
	for (i = 0; i < NR_LEDS; i++) {
		struct led *led = &leds[i];

		snprintf(led->name, sizeof(led->name), "stb::%s", led->word);
		for (p = led->name; *p; p++)
			*p = tolower((unsigned char)*p);
		/* Another LED of that name would make ours stb::<word>_1. */
		snprintf(path, sizeof(path), LEDS_DIR "%s", led->name);
		if (!access(path, F_OK))
			fail("there is an LED %s already: is another stb-demo running?",
			     led->name);
		led->fd = open(ULEDS, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (led->fd < 0)
			fail("cannot open %s: %s%s", ULEDS, strerror(errno),
			     errno == ENOENT || errno == ENODEV ?
			     " (the LEDs need CONFIG_LEDS_USER)" : "");
		memcpy(dev.name, led->name, sizeof(dev.name));
		if (write(led->fd, &dev, sizeof(dev)) != (ssize_t)sizeof(dev))
			fail("cannot make LED %s: %s", led->name,
			     strerror(errno));
		err = led_attr_write(led, "trigger", "kbus");
		if (err)
			fail("cannot give LED %s the kbus trigger: %s%s",
			     led->name, strerror(-err), err == -EINVAL ?
			     " (the LEDs need CONFIG_LEDS_TRIGGER_KBUS)" : "");
		snprintf(msg, sizeof(msg), STB_LED_PREFIX "%s", led->word);
		err = led_attr_write(led, "bus", bus);
		if (!err)
			err = led_attr_write(led, "message", msg);
		if (err)
			fail("LED %s cannot follow %s on %s: %s", led->name,
			     msg, stb_bus_path(), kbus_strerror(err));
		timeline("demo", "LED %s follows %s (kbus trigger)",
			 led->name, msg);
	}
}

static void setup_process(void)
{
	int p[2];
	sigset_t chld;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		fail("signalfd: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC))
		fail("pipe: %s", strerror(errno));
	events_rd = p[0];
	events_wr = p[1];
}

static void usage(void)
{
	fprintf(stderr, "usage: stb-demo [-b BUS] [-t MS]\n");
	exit(1);
}

/* ---- The scenario ---- */

int main(int argc, char **argv)
{
	struct child *player = &children[PLAYER];
	struct child *recorder = &children[RECORDER];
	struct child *gui = &children[GUI];
	uint32_t old_player, new_player;
	unsigned int bus_nr, changes = 0;
	const char *text;
	char want[128], state[64];
	char *end;
	size_t mark;
	int i, opt;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "b:t:h")) != -1) {
		switch (opt) {
		case 'b':
			if (!stb_set_bus(optarg))
				usage();
			break;
		case 't':
			step_timeout_ms = strtol(optarg, &end, 10);
			if (*end || step_timeout_ms <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind < argc)
		usage();
	/* The LEDs' trigger takes the number N of /dev/kbus<N>. */
	if (!stb_bus_nr(&bus_nr))
		fail("the LEDs follow a bus of /dev: give -b with a number");

	setup_process();
	find_programs(argv[0]);
	setup_bus();
	setup_leds(bus_nr);

	step("power on: start the programs");
	old_player = start(player);
	start(recorder);
	start(&children[TRICKPLAY]);
	start(gui);
	start(&children[PHONE]);
	start(&children[IR]);

	step("the user presses 4 on the remote");
	mark = nr_events;
	tell(&children[IR], "4");
	text = expect(mark, "gui", "reply", STB_PLAY, "playing channel 4");
	if (ksock_in(text, "answered by Ksock ") != old_player)
		fail("the Play reply did not come from the player");
	expect(mark, "gui", "state", STB_STATE_PLAYER ":", "channel 4");
	expect(mark, "phone", "now-playing", "playing channel 4", NULL);
	expect(mark, "led", "led", "LED Play: brightness 255", NULL);

	step("the user types rec on the phone");
	mark = nr_events;
	tell(&children[PHONE], "rec");
	expect(mark, "gui", "reply", STB_RECORD, "recording channel 4");
	expect(mark, "gui", "state", STB_STATE_RECORDER ":", "channel 4");

	step("fast forward: trick play asks the player where it is");
	mark = nr_events;
	tell(&children[IR], "ff");
	expect(mark, "player", "where", "plain", NULL);
	expect(mark, "gui", "reply", STB_TRICK, "ff from channel 4");
	/* Two levels below $.STB.State: only the "*" binding sees it. */
	expect(mark, "gui", "state", STB_STATE_TRICK ":", "ff");

	step("where are we? (a stateful request to the player that answered)");
	mark = nr_events;
	tell(&children[IR], "where");
	snprintf(want, sizeof(want), "(stateful, to Ksock %u)", old_player);
	expect(mark, "gui", "request", STB_WHERE, want);
	expect(mark, "player", "where", "stateful", NULL);
	snprintf(want, sizeof(want), "answered by Ksock %u:", old_player);
	expect(mark, "gui", "reply", STB_WHERE, want);

	step("the recorder hangs with a Record request queued; the watchdog kills it");
	mark = nr_events;
	recorder->may_die = true;
	kill(recorder->pid, SIGSTOP);
	wait_stopped(recorder);
	timeline("demo", "recorder (pid %d) stopped: it hangs", recorder->pid);
	tell(&children[PHONE], "rec");
	expect(mark, "gui", "request", STB_RECORD, NULL);
	timeline("demo", "watchdog: SIGKILL recorder (pid %d)", recorder->pid);
	kill(recorder->pid, SIGKILL);
	text = expect(mark, "gui", "synthetic", NULL, NULL);
	snprintf(want, sizeof(want), "%s for %s request ",
		 KBUS_MSG_NAME_REPLIER_GONEAWAY, STB_RECORD);
	if (strncmp(text, want, strlen(want)))
		fail("expected %s for the Record request, the interface got: %s",
		     KBUS_MSG_NAME_REPLIER_GONEAWAY, text);
	expect_signal(recorder, SIGKILL);

	step("the user picks channel 13: the player crashes holding the request");
	mark = nr_events;
	player->may_die = true;
	tell(&children[IR], "13");
	expect(mark, "player", "crash", NULL, NULL);
	text = expect(mark, "gui", "synthetic", NULL, NULL);
	snprintf(want, sizeof(want), "%s for %s request ",
		 KBUS_MSG_NAME_REPLIER_IGNORED, STB_PLAY);
	if (strncmp(text, want, strlen(want)))
		fail("expected %s for the Play request, the interface got: %s",
		     KBUS_MSG_NAME_REPLIER_IGNORED, text);
	expect_signal(player, SIGABRT);

	step("the watchdog restarts the player");
	new_player = start(player);
	if (new_player == old_player)
		fail("the restarted player has the old Ksock id %u",
		     new_player);

	step("where are we? the stateful request names the old player");
	mark = nr_events;
	tell(&children[IR], "where");
	snprintf(want, sizeof(want), "to Ksock %u refused with EPIPE",
		 old_player);
	expect(mark, "gui", "epipe", want, NULL);
	snprintf(want, sizeof(want), "served by Ksock %u ", new_player);
	expect(mark, "gui", "replier", STB_WHERE, want);
	expect(mark, "player", "where", "plain", NULL);
	snprintf(want, sizeof(want), "answered by Ksock %u:", new_player);
	expect(mark, "gui", "reply", STB_WHERE, want);

	step("the user presses 5: the new player plays it");
	mark = nr_events;
	tell(&children[IR], "5");
	snprintf(want, sizeof(want), "answered by Ksock %u: playing channel 5",
		 new_player);
	expect(mark, "gui", "reply", STB_PLAY, want);
	/* The play LED was on already: no change to see, ask it instead. */
	ask_led(&leds[LED_PLAY], state, sizeof(state));
	snprintf(want, sizeof(want), "on %d", LED_MAX);
	if (strcmp(state, want))
		fail("LED %s answered '%s', expected '%s'",
		     leds[LED_PLAY].name, state, want);

	step("power off: close every program's input");
	shutting_down = true;
	for (i = NR_CHILDREN - 1; i >= 0; i--) {
		if (children[i].in >= 0) {
			close(children[i].in);
			children[i].in = -1;
		}
	}
	for (i = 0; i < NR_CHILDREN; i++) {
		char how[64];

		if (i == RECORDER)
			continue;
		wait_exit(&children[i]);
		if (!WIFEXITED(children[i].status) ||
		    WEXITSTATUS(children[i].status))
			fail("%s %s", children[i].name,
			     describe_status(children[i].status, how,
					     sizeof(how)));
	}

	/*
	 * Every LED has changed, those that blink more than once.  The phone
	 * LED is still on: $.STB.Led.Phone.Battery, one level deeper, is not
	 * its name.
	 */
	wait_leds();
	if (leds[LED_PHONE].brightness != LED_MAX)
		fail("LED %s is at brightness %d, not %d: %sPhone.Battery reached it?",
		     leds[LED_PHONE].name, leds[LED_PHONE].brightness,
		     LED_MAX, STB_LED_PREFIX);
	for (i = 0; i < NR_LEDS; i++)
		changes += leds[i].changes;
	close_leds();
	timeline("demo",
		 "all steps checked (LEDs: %u brightness changes on %d LEDs)",
		 changes, NR_LEDS);
	printf("demo: ok\n");
	return 0;
}
