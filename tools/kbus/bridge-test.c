// SPDX-License-Identifier: GPL-2.0
/*
 * bridge-test - checks of buses joined by Limpets ("kbus limpet")
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 *   bridge-test KBUS_COMMAND
 *
 * Run as root on a system with KBUS (a test guest, never a machine in
 * use): brings the loopback interface up, mounts a kbus filesystem with
 * three buses in a temporary directory, and joins them with "kbus limpet"
 * processes, bus 0 to bus 1 over TCP on 127.0.0.1 and bus 1 to bus 2 over
 * a Unix socket.  Prints one TAP-like line per check ("ok N - ..." or
 * "not ok N - ...", with "# " lines saying why) and exits with 0 if every
 * check passed.
 */

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libkbus.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define WAIT_MS		5000	/* for what must come */
#define QUIET_MS	300	/* for what must not */
#define NBUS		3

static const char *kbus_cmd;
static char dir[64];
static char bus_path[NBUS][96];
static char tcp_addr[32];
static char unix_addr[96];
static int n_checks, n_failed;

/* A Limpet process and what it has printed. */
struct limpet {
	const char *name;
	int bus;
	const char *netid;
	const char *mode;	/* "-l" or "-c" */
	const char *addr;
	pid_t pid;
	int out;
	char text[8192];
	size_t len;
};

static struct limpet limpets[] = {
	{ .name = "L1", .bus = 0, .netid = "1", .mode = "-l", .addr = tcp_addr },
	{ .name = "L2", .bus = 1, .netid = "2", .mode = "-c", .addr = tcp_addr },
	{ .name = "L3", .bus = 1, .netid = "3", .mode = "-l", .addr = unix_addr },
	{ .name = "L4", .bus = 2, .netid = "4", .mode = "-c", .addr = unix_addr },
};

static void __attribute__((format(printf, 2, 3)))
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	n_checks++;
	if (!ok)
		n_failed++;
	printf("%sok %d - ", ok ? "" : "not ", n_checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ==== Processes ==== */

static void limpet_start(struct limpet *l)
{
	int fds[2];

	l->len = 0;
	l->text[0] = '\0';
	if (pipe2(fds, O_CLOEXEC)) {
		l->pid = -1;
		return;
	}
	l->pid = fork();
	if (l->pid == 0) {
		/* Its log too, shown should a check fail. */
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execl(kbus_cmd, kbus_cmd, "-v", "-b", bus_path[l->bus],
		      "limpet", "-n", l->netid, l->mode, l->addr, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	l->out = fds[0];
}

/* Read what @l has printed, for up to @ms; is @what in it yet? */
static bool limpet_said(struct limpet *l, const char *what, int ms)
{
	int64_t end = now_ms() + ms;
	struct pollfd pfd = { .fd = l->out, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (strstr(l->text, what))
			return true;
		ms = end - now_ms();
		if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
			return false;
		n = read(l->out, l->text + l->len, sizeof(l->text) - 1 - l->len);
		if (n <= 0)
			return false;
		l->len += n;
		l->text[l->len] = '\0';
	}
}

static void limpet_kill(struct limpet *l)
{
	if (l->pid <= 0)
		return;
	kill(l->pid, SIGKILL);
	waitpid(l->pid, NULL, 0);
	close(l->out);
	l->pid = 0;
}

/* Wait until @l (started) is linked; a check. */
static bool limpet_linked(struct limpet *l, const char *why)
{
	bool ok;

	ok = l->pid > 0 && limpet_said(l, "linked to network", 2 * WAIT_MS);
	check(ok, "%s: limpet %s (network %s, bus %d) links", why, l->name,
	      l->netid, l->bus);
	if (!ok)
		note("%s printed: %s", l->name, l->text);
	return ok;
}

/* Start @l, whose peer runs, and wait until it is linked; a check. */
static bool limpet_up(struct limpet *l, const char *why)
{
	limpet_start(l);
	return limpet_linked(l, why);
}

/* Start the pair @a (listening) and @b, and wait until both are linked. */
static bool limpet_pair_up(struct limpet *a, struct limpet *b,
			   const char *why)
{
	bool ok;

	limpet_start(a);
	limpet_start(b);
	ok = limpet_linked(a, why);
	return limpet_linked(b, why) && ok;
}

/* ==== Buses ==== */

static int bus_open(int bus)
{
	int ks = kbus_ksock_open_by_name(bus_path[bus], O_RDWR);

	if (ks < 0)
		note("cannot open %s: %s", bus_path[bus], kbus_strerror(ks));
	return ks;
}

static uint32_t ksock_id(int ks)
{
	uint32_t id = 0;

	kbus_ksock_id(ks, &id);
	return id;
}

/* Wait until @name's replier as seen from @ks is there (or gone). */
static uint32_t wait_replier(int ks, const char *name, bool present)
{
	int64_t end = now_ms() + WAIT_MS;
	uint32_t id;

	do {
		if (kbus_ksock_find_replier(ks, name, &id) >= 0 &&
		    !!id == present)
			return present ? id : 1;
		usleep(20000);
	} while (now_ms() < end);
	return 0;
}

/* The next message for @ks within @ms, or NULL. */
static kbus_message_t *recv_within(int ks, int ms)
{
	kbus_message_t *msg = NULL;

	if (kbus_recv_timeout(ks, &msg, ms) <= 0)
		return NULL;
	return msg;
}

static bool data_is(const kbus_message_t *m, const char *s)
{
	return m->data_len == strlen(s) &&
	       !memcmp(kbus_msg_data_ptr(m), s, m->data_len);
}

static void show(const char *what, const kbus_message_t *m)
{
	char line[512];

	if (!m) {
		note("%s: nothing", what);
		return;
	}
	kbus_msg_format(m, line, sizeof(line), 64);
	note("%s: %s (orig_from %u:%u, final_to %u:%u)", what, line,
	     m->orig_from.network_id, m->orig_from.local_id,
	     m->final_to.network_id, m->final_to.local_id);
}

/* Is @m the answer to request @id named @name, synthetic or not? */
static bool answers(const kbus_message_t *m, const kbus_msg_id_t *id,
		    const char *name, bool synthetic)
{
	return m && kbus_msg_name_is(m, name) &&
	       !kbus_msg_compare_ids(&m->in_reply_to, id) &&
	       !!kbus_msg_is_synthetic(m) == synthetic;
}

static bool quiet(int ks, const char *who)
{
	kbus_message_t *m = recv_within(ks, QUIET_MS);

	if (!m)
		return true;
	show(who, m);
	kbus_msg_delete(&m);
	return false;
}

/* ==== Setup ==== */

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

static void cleanup(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(limpets); i++)
		limpet_kill(&limpets[i]);
	if (dir[0]) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
}

/* ==== One bridge: bus 0 - L1 - TCP - L2 - bus 1 ==== */

static void test_pair(void)
{
	kbus_message_t *m = NULL, *req = NULL, *reply = NULL, *sreq = NULL;
	kbus_msg_id_t id, sid;
	uint32_t proxy, rid, qid, sender_id;
	int sender, heard0, heard1, q, r, r2;

	/* Announcements, to a wildcard listener on the far bus. */
	sender = bus_open(0);
	heard0 = bus_open(0);
	heard1 = bus_open(1);
	if (sender < 0 || heard0 < 0 || heard1 < 0)
		return;
	sender_id = ksock_id(sender);
	kbus_ksock_bind(heard0, "$.Bridge.*", 0);
	kbus_ksock_bind(heard1, "$.Bridge.*", 0);
	kbus_announce(sender, "$.Bridge.News", "hello", 5, &id);
	m = recv_within(heard1, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Bridge.News") && data_is(m, "hello") &&
	      m->id.network_id == 1 && m->id.serial_num == id.serial_num &&
	      m->orig_from.network_id == 1 &&
	      m->orig_from.local_id == sender_id && m->from != 0,
	      "pair: an announcement reaches a wildcard listener on the far bus, with its id and original sender");
	show("far listener got", m);
	kbus_msg_delete(&m);
	check(quiet(heard1, "far listener also got"),
	      "pair: the far listener gets it once");
	m = recv_within(heard0, WAIT_MS);
	check(m && kbus_msg_name_is(m, "$.Bridge.News") && m->from == sender_id,
	      "pair: a listener on the sender's bus gets it");
	kbus_msg_delete(&m);
	check(quiet(heard0, "near listener also got"),
	      "pair: ... once: nothing comes back over the bridge");
	kbus_ksock_close(sender);

	/* Request and reply. */
	q = bus_open(0);
	r = bus_open(1);
	if (q < 0 || r < 0)
		return;
	qid = ksock_id(q);
	rid = ksock_id(r);
	kbus_ksock_bind(r, "$.Bridge.Echo", 1);
	proxy = wait_replier(q, "$.Bridge.Echo", true);
	check(proxy != 0,
	      "pair: a replier on the far bus makes the Limpet its replier by proxy here");
	kbus_request(q, "$.Bridge.Echo", "ping", 4, &id);
	req = recv_within(r, WAIT_MS);
	check(req && kbus_msg_wants_us_to_reply(req) && data_is(req, "ping") &&
	      req->orig_from.network_id == 1 && req->orig_from.local_id == qid,
	      "pair: the request reaches the far replier, to be answered, with its original sender");
	show("far replier got", req);
	if (req)
		kbus_reply(r, req, "pong", 4, NULL);
	reply = recv_within(q, WAIT_MS);
	check(answers(reply, &id, "$.Bridge.Echo", false) &&
	      data_is(reply, "pong") && reply->from == proxy &&
	      reply->orig_from.network_id == 2 &&
	      reply->orig_from.local_id == rid,
	      "pair: the requester gets the far replier's reply, from the proxy, original sender the replier");
	show("requester got", reply);
	kbus_msg_delete(&req);
	/* The listeners saw the request and the reply go by. */
	while ((m = recv_within(heard1, QUIET_MS)))
		kbus_msg_delete(&m);
	while ((m = recv_within(heard0, QUIET_MS)))
		kbus_msg_delete(&m);

	/* A stateful request to the replier that answered. */
	if (reply &&
	    !kbus_msg_create_stateful_request(&sreq, reply, "$.Bridge.Echo",
					      13, "again", 5, 0)) {
		kbus_ksock_send_msg(q, sreq, &sid);
		req = recv_within(r, WAIT_MS);
		check(req && kbus_msg_wants_us_to_reply(req) &&
		      data_is(req, "again") &&
		      req->final_to.network_id == 2 &&
		      req->final_to.local_id == rid,
		      "pair: a stateful request reaches the replier it names on the far bus");
		show("far replier got", req);
		if (req)
			kbus_reply(r, req, "yes", 3, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &sid, "$.Bridge.Echo", false) &&
		      data_is(m, "yes"),
		      "pair: ... and its reply comes back");
		kbus_msg_delete(&m);
	} else {
		check(false, "pair: a stateful request can be built from the reply");
	}

	/* The far replier replaced: the stateful request is refused. */
	kbus_ksock_close(r);
	wait_replier(q, "$.Bridge.Echo", false);
	r2 = bus_open(1);
	kbus_ksock_bind(r2, "$.Bridge.Echo", 1);
	check(wait_replier(q, "$.Bridge.Echo", true) == proxy,
	      "pair: a new far replier is proxied by the same Limpet");
	if (sreq) {
		kbus_ksock_send_msg(q, sreq, &sid);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &sid, "$.KBUS.Replier.NotSameKsock", true),
		      "pair: a stateful request to a replaced far replier gets $.KBUS.Replier.NotSameKsock");
		show("requester got", m);
		kbus_msg_delete(&m);
		check(quiet(r2, "the new replier got"),
		      "pair: ... and the new replier never sees it");
	}
	kbus_msg_delete(&sreq);
	kbus_msg_delete(&reply);

	/* The far replier goes away: with the request read, and unread. */
	kbus_request(q, "$.Bridge.Echo", "x", 1, &id);
	req = recv_within(r2, WAIT_MS);
	kbus_msg_delete(&req);
	kbus_ksock_close(r2);
	m = recv_within(q, WAIT_MS);
	check(answers(m, &id, "$.KBUS.Replier.Ignored", true) &&
	      m->from == proxy,
	      "pair: a far replier that closes with the request read: $.KBUS.Replier.Ignored");
	show("requester got", m);
	kbus_msg_delete(&m);
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Echo", 1);
	wait_replier(q, "$.Bridge.Echo", true);
	kbus_request(q, "$.Bridge.Echo", "y", 1, &id);
	/* Let it be queued on the far side, then close unread. */
	for (int i = 0; i < 100; i++) {
		uint32_t n = 0;

		kbus_ksock_num_messages(r, &n);
		if (n)
			break;
		usleep(20000);
	}
	kbus_ksock_close(r);
	m = recv_within(q, WAIT_MS);
	check(answers(m, &id, "$.KBUS.Replier.GoneAway", true),
	      "pair: a far replier that closes with the request unread: $.KBUS.Replier.GoneAway");
	show("requester got", m);
	kbus_msg_delete(&m);

	/* A far replier with no room: $.KBUS.RemoteError.EBUSY. */
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Full", 1);
	kbus_ksock_bind(r, "$.Bridge.Filler", 0);
	{
		uint32_t one = 1;

		kbus_ksock_max_messages(r, &one);
	}
	kbus_announce(heard1, "$.Bridge.Filler", NULL, 0, NULL);
	wait_replier(q, "$.Bridge.Full", true);
	kbus_request(q, "$.Bridge.Full", NULL, 0, &id);
	m = recv_within(q, WAIT_MS);
	check(answers(m, &id, "$.KBUS.RemoteError.EBUSY", true),
	      "pair: a request the far bus refuses gets $.KBUS.RemoteError.EBUSY");
	show("requester got", m);
	kbus_msg_delete(&m);
	kbus_ksock_close(r);

	/* The far Limpet killed with a request in flight. */
	r = bus_open(1);
	kbus_ksock_bind(r, "$.Bridge.Slow", 1);
	proxy = wait_replier(q, "$.Bridge.Slow", true);
	kbus_request(q, "$.Bridge.Slow", NULL, 0, &id);
	req = recv_within(r, WAIT_MS);
	check(req, "pair: the far replier holds a request");
	kbus_msg_delete(&req);
	limpet_kill(&limpets[1]);
	m = recv_within(q, WAIT_MS);
	check(answers(m, &id, "$.KBUS.Replier.GoneAway", true) &&
	      m->from == proxy,
	      "pair: the far Limpet killed mid-request: the requester gets $.KBUS.Replier.GoneAway");
	show("requester got", m);
	kbus_msg_delete(&m);
	check(wait_replier(q, "$.Bridge.Slow", false),
	      "pair: ... and the proxy goes with the link");
	if (limpet_up(&limpets[1], "pair: relink after the kill")) {
		proxy = wait_replier(q, "$.Bridge.Slow", true);
		check(proxy != 0,
		      "pair: the relinked pair proxies the replier again");
		kbus_request(q, "$.Bridge.Slow", "2", 1, &id);
		req = recv_within(r, WAIT_MS);
		if (req)
			kbus_reply(r, req, "ok", 2, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &id, "$.Bridge.Slow", false) && data_is(m, "ok"),
		      "pair: a request is answered across the relinked pair");
		kbus_msg_delete(&m);
	}

	/* The near Limpet (the proxy) killed with a request in flight. */
	kbus_request(q, "$.Bridge.Slow", "3", 1, &id);
	req = recv_within(r, WAIT_MS);
	kbus_msg_delete(&req);
	limpet_kill(&limpets[0]);
	m = recv_within(q, WAIT_MS);
	check(m && kbus_msg_is_synthetic(m) && m->from == 0 &&
	      !kbus_msg_compare_ids(&m->in_reply_to, &id) &&
	      !strncmp(kbus_msg_name_ptr(m), "$.KBUS.Replier.", 15),
	      "pair: the near Limpet killed mid-request: KBUS answers the requester");
	show("requester got", m);
	kbus_msg_delete(&m);
	limpet_up(&limpets[0], "pair: relink after the near kill");
	check(limpet_said(&limpets[1], "unlinked", WAIT_MS) &&
	      wait_replier(q, "$.Bridge.Slow", true),
	      "pair: the other end relinks by itself");
	kbus_ksock_close(r);
	kbus_ksock_close(q);
	kbus_ksock_close(heard0);
	kbus_ksock_close(heard1);
}

/* ==== A chain: bus 0 - L1 - L2 - bus 1 - L3 - L4 - bus 2 ==== */

static void test_chain(void)
{
	kbus_message_t *m, *req, *reply = NULL, *sreq = NULL;
	int heard[NBUS], sender, q, r, i;
	kbus_msg_id_t id;
	uint32_t rid;

	if (!limpet_pair_up(&limpets[2], &limpets[3], "chain"))
		return;
	for (i = 0; i < NBUS; i++) {
		heard[i] = bus_open(i);
		if (heard[i] < 0)
			return;
		kbus_ksock_bind(heard[i], "$.Chain.%", 0);
	}
	sender = bus_open(0);
	kbus_announce(sender, "$.Chain.News", "far", 3, &id);
	for (i = 0; i < NBUS; i++) {
		m = recv_within(heard[i], WAIT_MS);
		check(m && kbus_msg_name_is(m, "$.Chain.News") &&
		      data_is(m, "far") &&
		      m->id.network_id == (i ? 1 : 0) &&
		      m->id.serial_num == id.serial_num,
		      "chain: an announcement from bus 0 reaches bus %d with its id", i);
		show("listener got", m);
		kbus_msg_delete(&m);
		check(quiet(heard[i], "listener also got"),
		      "chain: ... once on bus %d", i);
	}
	kbus_ksock_close(sender);

	/* A request from bus 2 to a replier on bus 0, two hops away. */
	r = bus_open(0);
	q = bus_open(2);
	rid = ksock_id(r);
	kbus_ksock_bind(r, "$.Chain.Ask", 1);
	check(wait_replier(q, "$.Chain.Ask", true) != 0,
	      "chain: a replier on bus 0 is proxied on bus 2");
	kbus_request(q, "$.Chain.Ask", "?", 1, &id);
	req = recv_within(r, WAIT_MS);
	check(req && kbus_msg_wants_us_to_reply(req) &&
	      req->orig_from.network_id == 4,
	      "chain: a request from bus 2 reaches the replier on bus 0");
	show("replier got", req);
	if (req)
		kbus_reply(r, req, "!", 1, NULL);
	kbus_msg_delete(&req);
	reply = recv_within(q, WAIT_MS);
	check(answers(reply, &id, "$.Chain.Ask", false) && data_is(reply, "!") &&
	      reply->orig_from.network_id == 1 &&
	      reply->orig_from.local_id == rid,
	      "chain: ... and its reply comes back two hops");
	show("requester got", reply);

	if (reply &&
	    !kbus_msg_create_stateful_request(&sreq, reply, "$.Chain.Ask", 11,
					      "!?", 2, 0)) {
		kbus_ksock_send_msg(q, sreq, &id);
		req = recv_within(r, WAIT_MS);
		check(req && req->final_to.network_id == 1 &&
		      req->final_to.local_id == rid,
		      "chain: a stateful request reaches its replier two hops away");
		if (req)
			kbus_reply(r, req, "!!", 2, NULL);
		kbus_msg_delete(&req);
		m = recv_within(q, WAIT_MS);
		check(answers(m, &id, "$.Chain.Ask", false) && data_is(m, "!!"),
		      "chain: ... and is answered");
		kbus_msg_delete(&m);
	}
	kbus_msg_delete(&sreq);
	kbus_msg_delete(&reply);

	/* The replier on bus 0 goes with the request unread. */
	kbus_request(q, "$.Chain.Ask", NULL, 0, &id);
	for (i = 0; i < 100; i++) {
		uint32_t n = 0;

		kbus_ksock_num_messages(r, &n);
		if (n)
			break;
		usleep(20000);
	}
	kbus_ksock_close(r);
	m = recv_within(q, WAIT_MS);
	check(answers(m, &id, "$.KBUS.Replier.GoneAway", true),
	      "chain: a replier gone two hops away: $.KBUS.Replier.GoneAway");
	show("requester got", m);
	kbus_msg_delete(&m);
	check(wait_replier(q, "$.Chain.Ask", false),
	      "chain: ... and its proxies go too");
	kbus_ksock_close(q);
	for (i = 0; i < NBUS; i++)
		kbus_ksock_close(heard[i]);
}

int main(int argc, char **argv)
{
	char opts[32];
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: bridge-test KBUS_COMMAND\n");
		return 2;
	}
	kbus_cmd = argv[1];
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	check(lo_up() == 0, "the loopback interface is up");
	snprintf(dir, sizeof(dir), "/tmp/kbus-bridge.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		check(false, "a temporary directory");
		goto out;
	}
	snprintf(opts, sizeof(opts), "buses=%d", NBUS);
	if (mount("none", dir, "kbus", 0, opts)) {
		check(false, "mount a kbus filesystem with %d buses: %s", NBUS,
		      strerror(errno));
		rmdir(dir);
		dir[0] = '\0';
		goto out;
	}
	for (i = 0; i < NBUS; i++)
		snprintf(bus_path[i], sizeof(bus_path[i]), "%s/kbus%d", dir, i);
	snprintf(tcp_addr, sizeof(tcp_addr), "127.0.0.1:%d",
		 20000 + getpid() % 20000);
	snprintf(unix_addr, sizeof(unix_addr), "%s.sock", dir);

	if (limpet_pair_up(&limpets[0], &limpets[1], "pair"))
		test_pair();
	test_chain();
out:
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
