// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS selftests: many processes and threads at once, and the invariants
 * that must hold however they interleave
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * For KBUS_STRESS_SECS seconds (20 by default), processes work bus 0 all
 * at once, on names under "$.S.":
 *
 * - repliers for "$.S.Svc.<n>", competing for "$.S.Wild.*", that answer
 *   most requests, never answer some, keep some to answer later, unbind
 *   and bind again, and die by SIGKILL (their own or the parent's) while
 *   they hold requests read and unread; the parent starts them again;
 * - requesters, each with two threads sending requests on one Ksock (some
 *   URGENT, ALL_OR_FAIL, ALL_OR_WAIT without waiting, or stateful) and
 *   cancelling some, while the main thread receives the answers;
 * - announcers to "$.S.News.X" and "$.S.News.Y.Z", some URGENT, some
 *   ALL_OR_FAIL or ALL_OR_WAIT (a waiting one is cut short by a timer);
 * - listeners of "$.S.News.X", "$.S.News.*", "$.S.News.%" and "$.S.*",
 *   with small queues, and one bound to "$.S.News.X" twice whose second
 *   thread binds and unbinds "$.S.News.*", toggles KBUS_OPT_ONLY_ONCE and
 *   changes its queue limit;
 * - a process that turns KBUS_OPT_REPORT_REPLIER_BINDS on and off and
 *   reads the bind events through a small queue;
 * - a process that closes a Ksock while another thread sends on it.
 *
 * Then the senders stop, the repliers answer what they still will and
 * close, and every process reads what is left.  The invariants:
 *
 * 1. Every request that SENDMSG accepted got exactly one answer, whose
 *    in_reply_to is its id: a reply from the Ksock that read it as its
 *    replier (with the request's name and the data it sent), or a
 *    synthetic GoneAway, Ignored, Unbound or Request.Cancelled that fits
 *    what the replier and the requester did; Request.Cancelled exactly
 *    when a KBUS_IOC_CANCEL of it returned 0.  No answer came for an id
 *    that was never sent, or twice, and no request is left outstanding.
 * 2. Every Ksock received the non-URGENT messages in increasing id order
 *    (equal ids only for the copies of one message, at most one per
 *    matching binding), and one sender's ids increase.
 * 3. A listener with one binding, never unbound, received or missed
 *    (KSOCK_INFO.dropped) each announcement sent to a name it matches.
 * 4. Once all have exited, /sys/kernel/debug/kbus shows no "$.S." binding
 *    and no Ksock of any of the test's processes.
 *
 * A second test, one_queue_under_contention, makes the senders and the
 * receiver of one queue meet as often as they can: one sender process per
 * CPU (at least two) sends to "$.S.Hot" with KBUS_BIT_ALL_OR_WAIT for a
 * quarter of KBUS_STRESS_SECS (at least 2 s) while one listener receives
 * as fast as it can, blocking in RECVMSG, with a queue limit that cycles
 * through small values (a full queue would keep the senders waiting
 * while the receiver takes from it), so that a send adds to the queue
 * while a receive takes from it, on two CPUs where there are two.  Every
 * message must arrive once, each sender's in the order sent, with ids
 * that increase, and nothing may be dropped or left queued.
 *
 * A third, unbind_while_receiving, has a listener receive large messages
 * while another of its threads unbinds and binds again the name they come
 * through, which drops the copies queued through it, one of them perhaps
 * the one being copied out (the receive buffer's pages are discarded
 * before each receive, so that the copy out faults them in and takes
 * long): every message received must be whole and in order.
 *
 * KBUS_STRESS_SEED repeats a run's random choices (not its timing); it is
 * always printed.  KBUS_STRESS_PROCS (3 by default, 1 to 8) is the number
 * of repliers and of requesters.  A value out of range is ignored.  Every
 * wait is bounded, and the harness's timeout is the longest
 * KBUS_STRESS_SECS plus SLACK_SECS, more than all of them.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

/* Defaults and bounds of the environment variables. */
#define STRESS_SECS		20
#define STRESS_PROCS		3
#define MAX_PROCS		8
#define MAX_SECS		100

/* How long each stage may take, in ms. */
#define READY_MS		30000
#define STOP_MS			30000
#define GRACE_MS		1000
#define DRAIN_MS		60000
/* The harness's timeout, beyond the stress itself: more than the above. */
#define SLACK_SECS		180

/* Sizes of the records kept in shared memory. */
#define MAX_REQS		200000
#define MAX_ANS			(MAX_REQS + 8192)
#define MAX_READS		(MAX_REQS + 50000)
#define MAX_SLOTS		32
#define MAX_PIDS		8192
#define MAX_NAMES		(MAX_PROCS + 3)
/* Problems of one kind that are logged one by one. */
#define MAX_LOGGED		10
/* Requests a replier keeps to answer later. */
#define HELD_MAX		8

#define NEWS_X			"$.S.News.X"
#define NEWS_YZ			"$.S.News.Y.Z"
#define NEWS_ALL		"$.S.News.*"
#define WILD			"$.S.Wild.*"
#define RACE_NAME		"$.S.Race.A"

enum role {
	ROLE_REPLIER,
	ROLE_REQUESTER,
	ROLE_ANNOUNCER,
	ROLE_LISTENER,
	ROLE_TOGGLER,
	ROLE_RACER,
	NROLES
};

#define RM(role)		(1U << (role))
#define ALL_ROLES		(RM(NROLES) - 1)

static const char *const role_name[NROLES] = {
	"replier", "requester", "announcer", "listener", "toggler", "racer",
};

/* What the parent has told everybody to do, in this order. */
enum phase {
	PH_SETUP,	/* set up and wait */
	PH_RUN,		/* work */
	PH_STOP_SEND,	/* stop sending; repliers go on answering */
	PH_STOP_REPLY,	/* repliers close */
	PH_DRAIN,	/* read what is left, report and exit */
};

/* The errnos that a send may be refused with, as the test counts them. */
enum {
	E_ADDRNOTAVAIL,
	E_BUSY,
	E_AGAIN,
	E_NOLCK,
	E_NOBUFS,
	E_PIPE,
	E_INTR,
	E_CONNREFUSED,
	NERRS
};

static const int err_num[NERRS] = {
	EADDRNOTAVAIL, EBUSY, EAGAIN, ENOLCK, ENOBUFS, EPIPE, EINTR,
	ECONNREFUSED,
};

static const char *const err_name[NERRS] = {
	"EADDRNOTAVAIL", "EBUSY", "EAGAIN", "ENOLCK", "ENOBUFS", "EPIPE",
	"EINTR", "ECONNREFUSED",
};

#define EB(e)			(1U << (e))

/* The state of a request record. */
enum { REQ_SENDING, REQ_SENT, REQ_FAILED };

/* What a replier did with a request it read. */
enum {
	RR_READ,	/* nothing yet (or it died before saying) */
	RR_SKIP,	/* never to be answered */
	RR_HELD,	/* kept to answer later */
	RR_REPLIED,	/* SENDMSG of the reply returned 0 */
	RR_REFUSED,	/* ... ECONNREFUSED */
	RR_GONE,	/* ... EADDRNOTAVAIL */
	RR_NOTOWED,	/* read without KBUS_BIT_WANT_YOU_TO_REPLY */
	RR_FAILED,	/* ... another error (recorded as a failure) */
};

/* What an answer is. */
enum {
	ANS_REPLY,
	ANS_GONEAWAY,
	ANS_IGNORED,
	ANS_UNBOUND,
	ANS_CANCELLED,
	ANS_OTHER,
	NANS
};

static const char *const ans_name[NANS] = {
	"reply", "GoneAway", "Ignored", "Unbound", "Request.Cancelled",
	"other",
};

/* A request as its requester sent it. */
struct req_rec {
	__u32 serial;		/* the id SENDMSG gave it */
	__u8 state;		/* REQ_* */
	__u8 name;		/* index in req_names[] */
	__u16 flags;		/* the flags it was sent with */
	__u32 cancel_ok;	/* CANCELs of it that returned 0 */
	/* Filled in by the parent's check. */
	__u16 answers;
	__u16 ans_kind;
};

/* An answer as its requester received it. */
struct ans_rec {
	__u32 in_reply_to;
	__u32 irt_net;
	__u32 serial;
	__u32 from;
	__u32 to;
	__u32 flags;
	__u32 data;		/* the first data word, if any */
	__u32 data_len;
	__u8 kind;		/* ANS_* */
	__u8 name;		/* of a reply: index in req_names[] */
};

/* A request as a replier read it. */
struct read_rec {
	__u32 serial;		/* written last: 0 until the rest is there */
	__u32 replier;		/* Ksock id of the replier */
	__u32 from;		/* Ksock id of the requester */
	__u32 flags;
	__s32 result;		/* RR_* */
	__s32 slot;
};

/* One process of the test, and what it reports. */
struct slot {
	int role;
	int idx;		/* within its role */
	int gen;		/* how many times it was started */
	pid_t pid;		/* of the process now, 0 if none */
	int ready;		/* set up: bound, options set */
	int done;		/* the final numbers are written */
	int senders_done;	/* requester: its sending threads ended */
	__u32 ksock_id;		/* of its Ksock now */
	int failed;		/* a check failed: @msg says which first */
	int nfail;
	char msg[256];
	/* Counters, over all its threads and lives. */
	__u64 sent;		/* SENDMSG that returned 0 */
	__u64 errs[NERRS];	/* and that failed as allowed */
	__u64 received;
	__u64 urgent;		/* received with KBUS_BIT_URGENT */
	__u64 order_errs;
	__u64 dup_errs;
	__u64 dropped;		/* KSOCK_INFO.dropped at the end */
	__u32 left_msgs;	/* KSOCK_INFO.num_msgs at the end */
	__u32 left_outstanding;	/* KSOCK_INFO.num_outstanding at the end */
	__u64 cancels;
	__u64 cancel_ok;
	__u64 replies;
	__u64 skipped;
	__u64 held;
	__u64 self_kills;
	__u64 unbinds;
	__u64 wild;		/* times it got "$.S.Wild.*" */
	__u64 toggles;
	__u64 events;
	__u64 lost;
	__u64 rounds;
	/* Requester: its part of the records. */
	int nreq;
	int req_base;
	int req_cap;
	int full;
	int nans;
	int ans_base;
	int ans_cap;
};

/* Memory shared by the parent and all the children. */
struct shared {
	int phase;
	__u64 sent_x;		/* announcements sent to NEWS_X */
	__u64 sent_yz;		/* and to NEWS_YZ */
	int nreads;
	int reads_overflow;
	struct slot slots[MAX_SLOTS];
	struct read_rec reads[MAX_READS];
	struct req_rec reqs[MAX_REQS];
	struct ans_rec ans[MAX_ANS];
};

/* What names a listener may receive. */
enum { NAMES_X, NAMES_NEWS, NAMES_S };
/* What a listener's received + dropped must be. */
enum { ACC_NONE, ACC_X, ACC_NEWS };

struct listener_cfg {
	const char *binds[3];
	int nbinds;
	__u32 max_msgs;
	bool only_once;
	int max_copies;		/* bindings that may match one message */
	bool binder;		/* a thread binds and unbinds NEWS_ALL */
	int names;		/* NAMES_* */
	int accounted;		/* ACC_* */
};

static const struct listener_cfg listeners[] = {
	{
		.binds = { NEWS_X }, .nbinds = 1, .max_msgs = 4,
		.max_copies = 1, .names = NAMES_X, .accounted = ACC_X,
	}, {
		.binds = { NEWS_ALL }, .nbinds = 1, .max_msgs = 16,
		.max_copies = 1, .names = NAMES_NEWS, .accounted = ACC_NEWS,
	}, {
		.binds = { "$.S.News.%" }, .nbinds = 1, .max_msgs = 2,
		.only_once = true, .max_copies = 1, .names = NAMES_X,
		.accounted = ACC_X,
	}, {
		.binds = { "$.S.News.%", NEWS_X, NEWS_X }, .nbinds = 3,
		.max_msgs = 8, .max_copies = 5, .binder = true,
		.names = NAMES_NEWS,
	}, {
		.binds = { "$.S.*" }, .nbinds = 1, .max_msgs = 64,
		.max_copies = 1, .names = NAMES_S,
	},
};

#define NANNOUNCERS		2
/* The binder thread's own NEWS_ALL bindings, at most. */
#define BINDER_MAX		2

/* Set up by the parent before it forks: the children get copies. */
static struct shared *sh;
static int nrep, nreqp, nslots;
static unsigned int seed;
static pid_t parent_pid;
static int role_first[NROLES], role_count[NROLES];
static char req_names[MAX_NAMES][24];
static int nnames;

/* The parent's own. */
static struct {
	pid_t pids[MAX_PIDS];
	int npids;
	int restarts;
	int kills;
	int bad_exits;
	__u64 rng;
} par;

union msgbuf {
	struct kbus_entire_message m;
	__u64 raw[512];
};

/* ---- Small helpers ---- */

static long env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 0);
	if (*end || n < min || n > max)
		return def;
	return n;
}

static int stress_secs(void)
{
	return env_long("KBUS_STRESS_SECS", STRESS_SECS, 1, MAX_SECS);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void nap_us(unsigned int us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000,
		.tv_nsec = (us % 1000000) * 1000L,
	};

	nanosleep(&ts, NULL);
}

static __u64 mix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A random state for one thread of one life of one process. */
static __u64 rng_init(unsigned int a, unsigned int b, unsigned int c)
{
	__u64 x = mix64(((__u64)seed << 32) ^
			mix64(a * 1000003ULL + b * 1009ULL + c));

	return x ? x : 1;
}

static __u32 rnd(__u64 *s)
{
	__u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x >> 32;
}

static __u32 rnd_below(__u64 *s, __u32 n)
{
	return rnd(s) % n;
}

static int phase(void)
{
	return __atomic_load_n(&sh->phase, __ATOMIC_ACQUIRE);
}

static void set_phase(int p)
{
	__atomic_store_n(&sh->phase, p, __ATOMIC_RELEASE);
}

static void add(__u64 *counter, __u64 n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static int slot_no(const struct slot *s)
{
	return s - sh->slots;
}

/* Record that a check failed in a child; the first message is kept. */
static void __printf(2, 3)
fail(struct slot *s, const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&s->nfail, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&s->failed, 1, __ATOMIC_ACQ_REL))
		return;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
}

/* Count a refused send if its errno is in @allowed (EB() bits). */
static bool note_err(struct slot *s, int ret, unsigned int allowed)
{
	int i;

	for (i = 0; i < NERRS; i++) {
		if (-ret == err_num[i] && (allowed & EB(i))) {
			add(&s->errs[i], 1);
			return true;
		}
	}
	return false;
}

/* Wait for the parent to reach @p, within bounds. */
static bool wait_phase(struct slot *s, int p)
{
	long long end = now_ms() + 4 * READY_MS;

	while (phase() < p) {
		if (now_ms() > end) {
			fail(s, "the parent never reached phase %d", p);
			return false;
		}
		nap_us(2000);
	}
	return true;
}

static int open_ksock(struct slot *s)
{
	struct kbus_ksock_info info;
	int fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fail(s, "open " KBUS_DEV0 ": %s", strerror(errno));
		return -1;
	}
	if (kbus_info(fd, &info) || !info.ksock_id) {
		fail(s, "KSOCK_INFO failed");
		close(fd);
		return -1;
	}
	s->ksock_id = info.ksock_id;
	return fd;
}

static int set_max_msgs(struct slot *s, int fd, __u32 max)
{
	int ret = kbus_set_opt(fd, KBUS_OPT_MAX_MSGS, max);

	if (ret)
		fail(s, "MAX_MSGS %u: %s", max, strerror(-ret));
	return ret;
}

/* Whether an entire message of @len bytes, as received, is well framed. */
static bool frame_ok(const struct kbus_entire_message *m, __u32 len)
{
	const struct kbus_message_header *h = &m->header;

	if (len < KBUS_HDR_LEN + 8 || len > sizeof(union msgbuf))
		return false;
	if (h->start_guard != KBUS_MSG_START_GUARD ||
	    h->end_guard != KBUS_MSG_END_GUARD || h->name || h->data ||
	    h->extra || h->__reserved0 || h->__reserved1)
		return false;
	if (len != KBUS_ENTIRE_MSG_LEN((size_t)h->name_len,
				       (size_t)h->data_len))
		return false;
	if (((const char *)m->rest)[h->name_len])
		return false;
	return m->rest[KBUS_ENTIRE_MSG_END_GUARD_INDEX(h->name_len,
						       h->data_len)] ==
	       KBUS_MSG_END_GUARD;
}

/*
 * Receive the next message without waiting: 1, 0 if there is none, -1
 * after a failure (recorded).
 */
static int recv_next(struct slot *s, int fd, union msgbuf *b)
{
	struct kbus_recv r;
	int ret;

	ret = kbus_recvmsg(fd, b, sizeof(*b), KBUS_RECV_NONBLOCK, &r);
	if (ret == -EAGAIN)
		return 0;
	if (ret) {
		fail(s, "RECVMSG: %s (message of %u bytes)", strerror(-ret),
		     r.msg_len);
		return -1;
	}
	if (!frame_ok(&b->m, r.msg_len)) {
		fail(s, "message %u of %u bytes is not framed right",
		     b->m.header.id.serial_num, r.msg_len);
		return -1;
	}
	add(&s->received, 1);
	return 1;
}

/* The order of the messages one Ksock receives. */
struct order {
	__u32 last;		/* id of the last non-URGENT message */
	int copies;		/* copies of it so far */
	int max_copies;		/* bindings that may match one message */
};

static void order_check(struct slot *s, struct order *o,
			const struct kbus_message_header *h)
{
	__u32 id = h->id.serial_num;

	if (h->flags & KBUS_BIT_URGENT) {
		add(&s->urgent, 1);
		return;
	}
	if (id > o->last) {
		o->last = id;
		o->copies = 1;
	} else if (id < o->last) {
		add(&s->order_errs, 1);
		fail(s, "id %u (%s) received after id %u",
		     id, kbus_msg_name((const void *)h), o->last);
	} else if (++o->copies > o->max_copies) {
		add(&s->dup_errs, 1);
		fail(s, "%d copies of id %u, but at most %d bindings match it",
		     o->copies, id, o->max_copies);
	}
}

/* ---- Repliers ---- */

/* A request read, to be answered. */
struct held {
	char name[32];
	struct kbus_msg_id id;
	__u32 from;
	int rr;			/* its read record, or -1 */
};

static int send_reply(int fd, const struct held *q, bool urgent)
{
	struct kbus_message_header h;
	__u32 serial = q->id.serial_num;

	kbus_msg_init(&h, q->name, &serial, sizeof(serial));
	h.in_reply_to = q->id;
	h.to = q->from;
	if (urgent)
		h.flags = KBUS_BIT_URGENT;
	return kbus_sendmsg(fd, &h, sizeof(h), 0, NULL);
}

static void set_result(int rr, int result)
{
	if (rr >= 0)
		sh->reads[rr].result = result;
}

/* Log a request read; its index in sh->reads, or -1 if they are full. */
static int log_read(struct slot *s, const struct kbus_message_header *h,
		    int result)
{
	int i = __atomic_fetch_add(&sh->nreads, 1, __ATOMIC_RELAXED);
	struct read_rec *rr;

	if (i >= MAX_READS) {
		__atomic_store_n(&sh->reads_overflow, 1, __ATOMIC_RELAXED);
		return -1;
	}
	rr = &sh->reads[i];
	rr->replier = s->ksock_id;
	rr->from = h->from;
	rr->flags = h->flags;
	rr->result = result;
	rr->slot = slot_no(s);
	/* Last: a replier killed meanwhile leaves no half record. */
	__atomic_store_n(&rr->serial, h->id.serial_num, __ATOMIC_RELEASE);
	return i;
}

static void reply_and_log(struct slot *s, int fd, const struct held *q,
			  __u64 *rng)
{
	int ret = send_reply(fd, q, rnd_below(rng, 10) == 0);

	if (!ret) {
		set_result(q->rr, RR_REPLIED);
		add(&s->replies, 1);
		return;
	}
	/* Cancelled by its requester, or the requester closed. */
	if (note_err(s, ret, EB(E_CONNREFUSED) | EB(E_ADDRNOTAVAIL))) {
		set_result(q->rr, ret == -ECONNREFUSED ? RR_REFUSED : RR_GONE);
		return;
	}
	set_result(q->rr, RR_FAILED);
	fail(s, "reply to %u: %s", q->id.serial_num, strerror(-ret));
}

static void handle_request(struct slot *s, int fd,
			   const struct kbus_entire_message *m,
			   struct held *held, int *nheld, struct order *o,
			   __u64 *rng)
{
	const struct kbus_message_header *h = &m->header;
	const char *name = kbus_msg_name(m);
	struct held q;
	__u32 p;

	order_check(s, o, h);
	if (!(h->flags & KBUS_BIT_WANT_A_REPLY) ||
	    (h->flags & KBUS_BIT_SYNTHETIC) || !h->from ||
	    h->name_len >= sizeof(q.name) ||
	    (strncmp(name, "$.S.Svc.", 8) && strncmp(name, "$.S.Wild.", 9))) {
		fail(s, "the replier got %s (flags 0x%x, from %u)", name,
		     h->flags, h->from);
		return;
	}
	if (!(h->flags & KBUS_BIT_WANT_YOU_TO_REPLY)) {
		log_read(s, h, RR_NOTOWED);
		return;
	}
	q.rr = log_read(s, h, RR_READ);
	memcpy(q.name, name, h->name_len + 1);
	q.id = h->id;
	q.from = h->from;

	p = rnd_below(rng, 100);
	if (p < 8) {
		set_result(q.rr, RR_SKIP);
		add(&s->skipped, 1);
	} else if (p < 16 && *nheld < HELD_MAX) {
		set_result(q.rr, RR_HELD);
		held[(*nheld)++] = q;
		add(&s->held, 1);
	} else {
		reply_and_log(s, fd, &q, rng);
	}
}

static int bind_replier(struct slot *s, int fd, const char *name)
{
	long long end = now_ms() + 5000;
	int ret;

	/* A killed predecessor's binding is gone once it is reaped. */
	while ((ret = kbus_bind(fd, name, true)) == -EADDRINUSE &&
	       now_ms() < end)
		nap_us(2000);
	if (ret)
		fail(s, "BIND replier %s: %s", name, strerror(-ret));
	return ret;
}

static int replier(struct slot *s)
{
	__u64 rng = rng_init(slot_no(s), s->gen, 0);
	struct order o = { .max_copies = 1 };
	struct held held[HELD_MAX];
	long long next_wild = 0;
	int fd, ret = 0, n, nheld = 0;
	bool wild = false;
	union msgbuf b;
	char svc[24];

	snprintf(svc, sizeof(svc), "$.S.Svc.%d", s->idx);
	fd = open_ksock(s);
	if (fd < 0)
		return 1;
	/* The first has a short queue: requests to it are refused. */
	if (set_max_msgs(s, fd, s->idx ? 200 : 8) || bind_replier(s, fd, svc))
		return 1;
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!wait_phase(s, PH_RUN))
		return 1;

	while (phase() < PH_STOP_REPLY) {
		bool run = phase() == PH_RUN;

		if (!wild && now_ms() >= next_wild) {
			ret = kbus_bind(fd, WILD, true);
			if (!ret) {
				wild = true;
				add(&s->wild, 1);
			} else if (ret != -EADDRINUSE) {
				fail(s, "BIND to answer " WILD ": %s",
				     strerror(-ret));
			}
			next_wild = now_ms() + 100 + rnd_below(&rng, 900);
		}
		kbus_wait_fd(fd, POLLIN, 50);
		for (n = 0; n < 32; n++) {
			ret = recv_next(s, fd, &b);
			if (ret <= 0)
				break;
			handle_request(s, fd, &b.m, held, &nheld, &o, &rng);
		}
		if (ret < 0)
			break;
		/* Now and then, answer one kept for later. */
		if (nheld && rnd_below(&rng, 4) == 0) {
			n = rnd_below(&rng, nheld);
			reply_and_log(s, fd, &held[n], &rng);
			held[n] = held[--nheld];
		}
		if (!run)
			continue;
		if (rnd_below(&rng, 1000) == 0) {
			/* Holding what it holds, read and unread. */
			add(&s->self_kills, 1);
			raise(SIGKILL);
		}
		if (rnd_below(&rng, 200) == 0) {
			/* Its unread requests get Unbound. */
			ret = kbus_unbind(fd, svc, true);
			if (ret)
				fail(s, "UNBIND %s: %s", svc, strerror(-ret));
			else if (!bind_replier(s, fd, svc))
				add(&s->unbinds, 1);
		}
		if (wild && rnd_below(&rng, 200) == 0) {
			ret = kbus_unbind(fd, WILD, true);
			if (ret)
				fail(s, "UNBIND " WILD ": %s", strerror(-ret));
			wild = false;
			next_wild = now_ms() + rnd_below(&rng, 500);
		}
		/* Let requests pile up unread. */
		if (rnd_below(&rng, 10) == 0)
			nap_us(1000 + rnd_below(&rng, 20000));
	}
	/* What it holds now is answered by the close. */
	close(fd);
	return s->failed ? 1 : 0;
}

/* ---- Requesters ---- */

struct sender {
	struct slot *s;
	int fd;
	int tid;
	pthread_t thread;
};

static int req_count(struct slot *s)
{
	int n = __atomic_load_n(&s->nreq, __ATOMIC_ACQUIRE);

	return n < s->req_cap ? n : s->req_cap;
}

/* Give up request record @i of @s, if it was sent. */
static void try_cancel(struct slot *s, int fd, int i)
{
	struct req_rec *rec = &sh->reqs[s->req_base + i];
	struct kbus_msg_id id = { 0, 0 };
	int ret;

	if (i < 0 ||
	    __atomic_load_n(&rec->state, __ATOMIC_ACQUIRE) != REQ_SENT)
		return;
	id.serial_num = rec->serial;
	ret = kbus_cancel_request(fd, &id);
	add(&s->cancels, 1);
	if (!ret) {
		__atomic_add_fetch(&rec->cancel_ok, 1, __ATOMIC_RELAXED);
		add(&s->cancel_ok, 1);
	} else if (ret != -ENOENT) {
		fail(s, "CANCEL of %u: %s", id.serial_num, strerror(-ret));
	}
}

static int pick_name(__u64 *rng)
{
	__u32 p = rnd_below(rng, 100);

	if (p < 5)
		return nrep;		/* "$.S.Svc.None": nobody */
	if (p < 20)
		return nrep + 1;	/* "$.S.Wild.A" */
	if (p < 30)
		return nrep + 2;	/* "$.S.Wild.B.C" */
	return rnd_below(rng, nrep);
}

static void *requester_sender(void *arg)
{
	struct sender *c = arg;
	struct slot *s = c->s;
	__u64 rng = rng_init(slot_no(s), s->gen, c->tid + 1);
	struct kbus_message_header h;
	struct kbus_msg_id id;
	struct req_rec *rec;
	__u32 data[2], sflags, p, to, last = 0;
	unsigned int allowed;
	int i, n, ret;

	while (phase() == PH_RUN) {
		if (rnd_below(&rng, 50) == 0) {
			n = req_count(s);
			if (n)
				try_cancel(s, c->fd, n - 1 -
					   rnd_below(&rng, n < 32 ? n : 32));
		}
		i = __atomic_fetch_add(&s->nreq, 1, __ATOMIC_ACQ_REL);
		if (i >= s->req_cap) {
			s->full = 1;
			break;
		}
		rec = &sh->reqs[s->req_base + i];
		n = pick_name(&rng);
		data[0] = s->idx;
		data[1] = i;
		kbus_msg_init(&h, req_names[n], data, sizeof(data));
		h.flags = KBUS_BIT_WANT_A_REPLY;
		allowed = EB(E_ADDRNOTAVAIL) | EB(E_BUSY) | EB(E_NOLCK) |
			  EB(E_NOBUFS);
		sflags = 0;
		p = rnd_below(&rng, 100);
		if (p < 10) {
			h.flags |= KBUS_BIT_URGENT;
		} else if (p < 20) {
			h.flags |= KBUS_BIT_ALL_OR_FAIL;
		} else if (p < 30) {
			h.flags |= KBUS_BIT_ALL_OR_WAIT;
			sflags = KBUS_SEND_NONBLOCK;
			allowed |= EB(E_AGAIN);
		} else if (p < 33 && !kbus_replier(c->fd, req_names[n], &to)) {
			/* Stateful: to the replier bound a moment ago. */
			h.to = to;
			allowed |= EB(E_PIPE);
		}
		if (p < 30 && rnd_below(&rng, 4) == 0)
			h.flags |= KBUS_BIT_URGENT;
		rec->name = n;
		rec->flags = h.flags;
		ret = kbus_sendmsg(c->fd, &h, sizeof(h), sflags, &id);
		if (!ret) {
			/* One thread's sends get increasing ids. */
			if (id.network_id || id.serial_num <= last)
				fail(s, "SENDMSG gave id %u:%u after %u",
				     id.network_id, id.serial_num, last);
			last = id.serial_num;
			rec->serial = id.serial_num;
			__atomic_store_n(&rec->state, REQ_SENT,
					 __ATOMIC_RELEASE);
			add(&s->sent, 1);
			continue;
		}
		__atomic_store_n(&rec->state, REQ_FAILED, __ATOMIC_RELEASE);
		if (!note_err(s, ret, allowed))
			fail(s, "request to %s (flags 0x%x, to %u): %s",
			     req_names[n], h.flags, h.to, strerror(-ret));
		else if (ret != -EADDRNOTAVAIL && ret != -EPIPE)
			nap_us(200 + rnd_below(&rng, 2000));
	}
	return NULL;
}

static int answer_kind(const char *name, __u8 *idx)
{
	int i;

	*idx = 0xff;
	if (!strcmp(name, KBUS_MSG_NAME_REPLIER_GONEAWAY))
		return ANS_GONEAWAY;
	if (!strcmp(name, KBUS_MSG_NAME_REPLIER_IGNORED))
		return ANS_IGNORED;
	if (!strcmp(name, KBUS_MSG_NAME_REPLIER_UNBOUND))
		return ANS_UNBOUND;
	if (!strcmp(name, KBUS_MSG_NAME_REQUEST_CANCELLED))
		return ANS_CANCELLED;
	for (i = 0; i < nnames; i++) {
		if (!strcmp(name, req_names[i])) {
			*idx = i;
			return ANS_REPLY;
		}
	}
	return ANS_OTHER;
}

static void record_answer(struct slot *s, const struct kbus_entire_message *m,
			  struct order *o)
{
	const struct kbus_message_header *h = &m->header;
	struct ans_rec *a;
	int i = s->nans;

	order_check(s, o, h);
	if (!h->in_reply_to.serial_num ||
	    (h->flags & (KBUS_BIT_WANT_A_REPLY | KBUS_BIT_WANT_YOU_TO_REPLY))) {
		fail(s, "requester got %s (id %u, flags 0x%x), not an answer",
		     kbus_msg_name(m), h->id.serial_num, h->flags);
		return;
	}
	if (i >= s->ans_cap) {
		fail(s, "more than %d answers", s->ans_cap);
		return;
	}
	a = &sh->ans[s->ans_base + i];
	a->in_reply_to = h->in_reply_to.serial_num;
	a->irt_net = h->in_reply_to.network_id;
	a->serial = h->id.serial_num;
	a->from = h->from;
	a->to = h->to;
	a->flags = h->flags;
	a->data_len = h->data_len;
	if (h->data_len >= 4)
		memcpy(&a->data, kbus_msg_data(m), 4);
	a->kind = answer_kind(kbus_msg_name(m), &a->name);
	s->nans = i + 1;
}

static int requester(struct slot *s)
{
	__u32 max_msgs = s->idx ? 400 : 16;
	struct order o = { .max_copies = 1 };
	long long next_sweep = 0, drain_end = 0;
	struct kbus_ksock_info info;
	struct sender c[2];
	int fd, i, ret, n, sweep = 0;
	bool joined = false;
	union msgbuf b;

	fd = open_ksock(s);
	if (fd < 0)
		return 1;
	/* The first has room for few answers: ENOLCK. */
	if (set_max_msgs(s, fd, max_msgs))
		return 1;
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!wait_phase(s, PH_RUN))
		return 1;
	for (i = 0; i < 2; i++) {
		c[i].s = s;
		c[i].fd = fd;
		c[i].tid = i;
		if (pthread_create(&c[i].thread, NULL, requester_sender,
				   &c[i])) {
			fail(s, "pthread_create failed");
			return 1;
		}
	}

	for (;;) {
		int ph = phase();

		if (ph >= PH_STOP_SEND && !joined) {
			for (i = 0; i < 2; i++)
				pthread_join(c[i].thread, NULL);
			joined = true;
			__atomic_store_n(&s->senders_done, 1,
					 __ATOMIC_RELEASE);
		}
		kbus_wait_fd(fd, POLLIN, 50);
		while ((ret = recv_next(s, fd, &b)) > 0)
			record_answer(s, &b.m, &o);
		if (ret < 0)
			break;
		if (ph == PH_RUN && now_ms() >= next_sweep) {
			/* Give up what a replier keeps unanswered. */
			if (!kbus_info(fd, &info) &&
			    info.num_outstanding > max_msgs / 2) {
				n = req_count(s) - 8;
				for (; sweep < n; sweep++)
					try_cancel(s, fd, sweep);
			}
			next_sweep = now_ms() + 250;
		}
		if (ph < PH_DRAIN)
			continue;
		if (!drain_end)
			drain_end = now_ms() + DRAIN_MS;
		if (kbus_info(fd, &info)) {
			fail(s, "KSOCK_INFO failed");
			break;
		}
		if (!info.num_outstanding && !info.num_msgs)
			break;
		if (now_ms() > drain_end) {
			fail(s, "%u requests still unanswered after %d s",
			     info.num_outstanding, DRAIN_MS / 1000);
			break;
		}
	}
	if (!kbus_info(fd, &info)) {
		s->left_outstanding = info.num_outstanding;
		s->left_msgs = info.num_msgs;
		__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	}
	/* Threads still running (after a failure) end with the process. */
	return s->failed ? 1 : 0;
}

/* ---- Announcers ---- */

static void on_alarm(int sig)
{
}

static int announcer(struct slot *s)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	__u64 rng = rng_init(slot_no(s), s->gen, 0);
	struct itimerval timer, off;
	struct kbus_message_header h;
	__u32 data[2], sflags, p, last = 0;
	unsigned int allowed;
	struct kbus_msg_id id;
	bool x, timed;
	int fd, ret;

	/* No SA_RESTART: a waiting send is interrupted, EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL)) {
		fail(s, "sigaction: %s", strerror(errno));
		return 1;
	}
	memset(&timer, 0, sizeof(timer));
	memset(&off, 0, sizeof(off));
	timer.it_value.tv_usec = 50000;
	fd = open_ksock(s);
	if (fd < 0)
		return 1;
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!wait_phase(s, PH_RUN))
		return 1;

	data[0] = s->idx;
	data[1] = 0;
	while (phase() == PH_RUN) {
		x = rnd_below(&rng, 2);
		data[1]++;
		kbus_msg_init(&h, x ? NEWS_X : NEWS_YZ, data, sizeof(data));
		sflags = 0;
		allowed = 0;
		timed = false;
		p = rnd_below(&rng, 100);
		if (p < 15) {
			h.flags = KBUS_BIT_URGENT;
		} else if (p < 25) {
			h.flags = KBUS_BIT_ALL_OR_FAIL;
			allowed = EB(E_BUSY);
		} else if (p < 35) {
			h.flags = KBUS_BIT_ALL_OR_WAIT;
			sflags = KBUS_SEND_NONBLOCK;
			allowed = EB(E_AGAIN);
		} else if (p < 40) {
			h.flags = KBUS_BIT_ALL_OR_WAIT;
			allowed = EB(E_INTR);
			timed = true;
		}
		if (p >= 15 && p < 40 && rnd_below(&rng, 4) == 0)
			h.flags |= KBUS_BIT_URGENT;
		if (timed)
			setitimer(ITIMER_REAL, &timer, NULL);
		ret = kbus_sendmsg(fd, &h, sizeof(h), sflags, &id);
		if (timed)
			setitimer(ITIMER_REAL, &off, NULL);
		if (!ret) {
			if (id.network_id || id.serial_num <= last)
				fail(s, "SENDMSG gave id %u:%u after %u",
				     id.network_id, id.serial_num, last);
			last = id.serial_num;
			add(x ? &sh->sent_x : &sh->sent_yz, 1);
			add(&s->sent, 1);
		} else if (!note_err(s, ret, allowed)) {
			fail(s, "announcement to %s (flags 0x%x): %s",
			     x ? NEWS_X : NEWS_YZ, h.flags, strerror(-ret));
		}
		if (rnd_below(&rng, 8) == 0)
			nap_us(500);
	}
	close(fd);
	return s->failed ? 1 : 0;
}

/* ---- Listeners ---- */

struct binder {
	struct slot *s;
	int fd;
	pthread_t thread;
};

/* Bind and unbind NEWS_ALL, toggle only-once, change the queue limit. */
static void *binder_thread(void *arg)
{
	static const __u32 limits[] = { 2, 8, 50 };
	struct binder *c = arg;
	struct slot *s = c->s;
	__u64 rng = rng_init(slot_no(s), s->gen, 1);
	int extra = 0, ret;
	__u64 v;

	while (phase() == PH_RUN) {
		ret = 0;
		switch (rnd_below(&rng, 8)) {
		case 0: case 1: case 2:
			if (extra < BINDER_MAX) {
				ret = kbus_bind(c->fd, NEWS_ALL, false);
				extra += !ret;
			}
			break;
		case 3: case 4: case 5:
			if (extra > 0) {
				ret = kbus_unbind(c->fd, NEWS_ALL, false);
				extra -= !ret;
				add(&s->unbinds, !ret);
			}
			break;
		case 6:
			ret = kbus_get_opt(c->fd, KBUS_OPT_ONLY_ONCE, &v);
			if (!ret)
				ret = kbus_set_opt(c->fd, KBUS_OPT_ONLY_ONCE,
						   !v);
			add(&s->toggles, !ret);
			break;
		default:
			ret = kbus_set_opt(c->fd, KBUS_OPT_MAX_MSGS,
					   limits[rnd_below(&rng, 3)]);
			break;
		}
		if (ret) {
			fail(s, "binder thread: %s", strerror(-ret));
			break;
		}
		nap_us(1000 + rnd_below(&rng, 10000));
	}
	return NULL;
}

static void check_news(struct slot *s, const struct listener_cfg *cfg,
		       const struct kbus_entire_message *m, struct order *o)
{
	const struct kbus_message_header *h = &m->header;
	const char *name = kbus_msg_name(m);
	bool ok;

	switch (cfg->names) {
	case NAMES_X:
		ok = !strcmp(name, NEWS_X);
		break;
	case NAMES_NEWS:
		ok = !strcmp(name, NEWS_X) || !strcmp(name, NEWS_YZ);
		break;
	default:
		ok = !strncmp(name, "$.S.", 4);
		break;
	}
	if (cfg->names != NAMES_S &&
	    (h->flags & KBUS_BIT_WANT_A_REPLY || h->in_reply_to.serial_num))
		ok = false;
	/* A listener's copy is never the replier's. */
	if (h->flags & (KBUS_BIT_WANT_YOU_TO_REPLY | KBUS_BIT_SYNTHETIC) ||
	    !h->from)
		ok = false;
	if (!ok)
		fail(s, "listener got %s (id %u, flags 0x%x, from %u)", name,
		     h->id.serial_num, h->flags, h->from);
	order_check(s, o, h);
}

static int listener(struct slot *s)
{
	const struct listener_cfg *cfg = &listeners[s->idx];
	__u64 rng = rng_init(slot_no(s), s->gen, 0);
	struct order o = { .max_copies = cfg->max_copies };
	struct kbus_ksock_info info;
	struct binder c = { .s = s };
	int fd, i, n, ret = 0;
	union msgbuf b;

	fd = open_ksock(s);
	if (fd < 0)
		return 1;
	if (set_max_msgs(s, fd, cfg->max_msgs))
		return 1;
	if (cfg->only_once && kbus_set_opt(fd, KBUS_OPT_ONLY_ONCE, 1)) {
		fail(s, "ONLY_ONCE failed");
		return 1;
	}
	for (i = 0; i < cfg->nbinds; i++) {
		ret = kbus_bind(fd, cfg->binds[i], false);
		if (ret) {
			fail(s, "BIND %s: %s", cfg->binds[i], strerror(-ret));
			return 1;
		}
	}
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!wait_phase(s, PH_RUN))
		return 1;
	c.fd = fd;
	if (cfg->binder && pthread_create(&c.thread, NULL, binder_thread, &c)) {
		fail(s, "pthread_create failed");
		return 1;
	}

	while (phase() < PH_DRAIN) {
		kbus_wait_fd(fd, POLLIN, 50);
		for (n = 0; n < 64; n++) {
			ret = recv_next(s, fd, &b);
			if (ret <= 0)
				break;
			check_news(s, cfg, &b.m, &o);
		}
		if (ret < 0)
			return 1;
		/* Fall behind now and then: a full queue misses messages. */
		if (rnd_below(&rng, 10) == 0)
			nap_us(1000 + rnd_below(&rng, 8000));
	}
	if (cfg->binder)
		pthread_join(c.thread, NULL);
	/* Nothing is sent to "$.S." any more: read the rest. */
	while ((ret = recv_next(s, fd, &b)) > 0)
		check_news(s, cfg, &b.m, &o);
	if (ret < 0)
		return 1;
	if (kbus_info(fd, &info)) {
		fail(s, "KSOCK_INFO failed");
		return 1;
	}
	s->dropped = info.dropped;
	s->left_msgs = info.num_msgs;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	close(fd);
	return s->failed ? 1 : 0;
}

/* ---- Replier bind events ---- */

static void check_event(struct slot *s, const struct kbus_entire_message *m,
			struct order *o)
{
	const struct kbus_message_header *h = &m->header;
	const char *name = kbus_msg_name(m);
	struct kbus_replier_bind_event_data ev;
	const char *evname;

	order_check(s, o, h);
	if (h->flags != KBUS_BIT_SYNTHETIC || h->from) {
		fail(s, "%s with flags 0x%x from %u", name, h->flags,
		     h->from);
		return;
	}
	if (!strcmp(name, KBUS_MSG_NAME_UNBIND_EVENTS_LOST)) {
		add(&s->lost, 1);
		if (h->data_len)
			fail(s, "%s with %u bytes of data", name, h->data_len);
		return;
	}
	if (strcmp(name, KBUS_MSG_NAME_REPLIER_BIND_EVENT)) {
		fail(s, "bind event listener got %s", name);
		return;
	}
	add(&s->events, 1);
	if (h->data_len < sizeof(ev)) {
		fail(s, "bind event of %u bytes", h->data_len);
		return;
	}
	memcpy(&ev, kbus_msg_data(m), sizeof(ev));
	evname = (const char *)kbus_msg_data(m) + sizeof(ev);
	if (ev.is_bind > 1 || !ev.binder || !ev.name_len ||
	    ev.name_len > KBUS_MAX_NAME_LEN ||
	    h->data_len != sizeof(ev) + KBUS_PADDED_NAME_LEN(ev.name_len) ||
	    evname[ev.name_len] || strlen(evname) != ev.name_len)
		fail(s, "bad bind event: is_bind %u binder %u name_len %u, %u bytes",
		     ev.is_bind, ev.binder, ev.name_len, h->data_len);
}

#define REPORT		KBUS_OPT_REPORT_REPLIER_BINDS

static int toggler(struct slot *s)
{
	__u64 rng = rng_init(slot_no(s), s->gen, 0);
	struct order o = { .max_copies = 1 };
	long long next = 0;
	int fd, ret;
	union msgbuf b;
	__u64 v;

	fd = open_ksock(s);
	if (fd < 0)
		return 1;
	/* A small queue: events are lost, and a marker says so. */
	if (set_max_msgs(s, fd, 4))
		return 1;
	ret = kbus_bind(fd, KBUS_MSG_NAME_REPLIER_BIND_EVENT, false);
	if (ret) {
		fail(s, "BIND %s: %s", KBUS_MSG_NAME_REPLIER_BIND_EVENT,
		     strerror(-ret));
		return 1;
	}
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!wait_phase(s, PH_RUN))
		return 1;

	while (phase() == PH_RUN) {
		if (now_ms() >= next) {
			ret = kbus_get_opt(fd, REPORT, &v);
			if (!ret)
				ret = kbus_set_opt(fd, REPORT, !v);
			/* Turning it on may find no room for the catch-up. */
			if (ret && !(ret == -EBUSY && !v))
				fail(s, "REPORT_REPLIER_BINDS: %s",
				     strerror(-ret));
			add(&s->toggles, !ret);
			next = now_ms() + 50 + rnd_below(&rng, 400);
		}
		nap_us(rnd_below(&rng, 20000));
		while ((ret = recv_next(s, fd, &b)) > 0)
			check_event(s, &b.m, &o);
		if (ret < 0)
			return 1;
	}
	/* The parent puts the option back as it was. */
	close(fd);
	return s->failed ? 1 : 0;
}

/* ---- Close racing with send ---- */

struct racer_ctx {
	struct slot *s;
	int fd;
	__u64 rng;
	__u64 ops;
	int err;		/* the error that ended the sender */
	int done;
};

static void *racer_sender(void *arg)
{
	unsigned int allowed = EB(E_ADDRNOTAVAIL) | EB(E_BUSY) | EB(E_AGAIN) |
			       EB(E_NOLCK) | EB(E_NOBUFS);
	struct racer_ctx *c = arg;
	union msgbuf b;
	int ret;

	for (;;) {
		switch (rnd_below(&c->rng, 4)) {
		case 0: case 1:
			ret = kbus_announce(c->fd, RACE_NAME, &c->ops,
					    sizeof(c->ops), NULL);
			break;
		case 2:
			ret = kbus_request(c->fd,
					   req_names[rnd_below(&c->rng,
							       nnames)],
					   NULL, 0, 0, NULL);
			break;
		default:
			ret = kbus_recvmsg(c->fd, &b, sizeof(b),
					   KBUS_RECV_NONBLOCK, NULL);
			break;
		}
		c->ops++;
		if (ret && (ret == -EBADF || !note_err(c->s, ret, allowed)))
			break;
	}
	c->err = ret;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int racer(struct slot *s)
{
	struct racer_ctx c = { .s = s };
	__u64 rng = rng_init(slot_no(s), s->gen, 0);
	pthread_t thread;
	long long end;

	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!wait_phase(s, PH_RUN))
		return 1;
	while (phase() == PH_RUN && s->rounds < 500) {
		c.fd = open_ksock(s);
		if (c.fd < 0)
			return 1;
		c.rng = rng_init(slot_no(s), s->gen, s->rounds + 1);
		c.done = 0;
		c.err = 0;
		if (pthread_create(&thread, NULL, racer_sender, &c)) {
			fail(s, "pthread_create failed");
			return 1;
		}
		nap_us(rnd_below(&rng, 3000));
		if (close(c.fd))
			fail(s, "close: %s", strerror(errno));
		end = now_ms() + 10000;
		while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) &&
		       now_ms() < end)
			nap_us(1000);
		if (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE)) {
			fail(s, "a send still runs 10 s after the close");
			return 1;
		}
		pthread_join(thread, NULL);
		if (c.err != -EBADF) {
			fail(s, "sending on a closed Ksock: %s, not EBADF",
			     strerror(-c.err));
			return 1;
		}
		s->rounds++;
		nap_us(10000 + rnd_below(&rng, 40000));
	}
	return s->failed ? 1 : 0;
}

/* ---- The parent ---- */

static int run_role(struct slot *s)
{
	switch (s->role) {
	case ROLE_REPLIER:
		return replier(s);
	case ROLE_REQUESTER:
		return requester(s);
	case ROLE_ANNOUNCER:
		return announcer(s);
	case ROLE_LISTENER:
		return listener(s);
	case ROLE_TOGGLER:
		return toggler(s);
	default:
		return racer(s);
	}
}

static void setup_slots(void)
{
	struct slot *s;
	int r, j, k = 0;

	role_count[ROLE_REPLIER] = nrep;
	role_count[ROLE_REQUESTER] = nreqp;
	role_count[ROLE_ANNOUNCER] = NANNOUNCERS;
	role_count[ROLE_LISTENER] = ARRAY_SIZE(listeners);
	role_count[ROLE_TOGGLER] = 1;
	role_count[ROLE_RACER] = 1;
	for (r = 0; r < NROLES; r++) {
		role_first[r] = k;
		for (j = 0; j < role_count[r]; j++) {
			s = &sh->slots[k++];
			s->role = r;
			s->idx = j;
			if (r != ROLE_REQUESTER)
				continue;
			s->req_cap = MAX_REQS / nreqp;
			s->req_base = j * s->req_cap;
			s->ans_cap = MAX_ANS / nreqp;
			s->ans_base = j * s->ans_cap;
		}
	}
	nslots = k;

	for (j = 0; j < nrep; j++)
		snprintf(req_names[j], sizeof(req_names[j]), "$.S.Svc.%d", j);
	snprintf(req_names[nrep], sizeof(req_names[0]), "%s", "$.S.Svc.None");
	snprintf(req_names[nrep + 1], sizeof(req_names[0]), "%s", "$.S.Wild.A");
	snprintf(req_names[nrep + 2], sizeof(req_names[0]), "%s", "$.S.Wild.B.C");
	nnames = nrep + 3;
}

static void close_inherited(void)
{
	int fd;

#ifdef __NR_close_range
	if (!syscall(__NR_close_range, 3, ~0U, 0))
		return;
#endif
	for (fd = 3; fd < 1024; fd++)
		close(fd);
}

static void spawn_slot(struct __test_metadata *_metadata, int i)
{
	struct slot *s = &sh->slots[i];
	pid_t pid;

	s->gen++;
	__atomic_store_n(&s->ready, 0, __ATOMIC_RELEASE);
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid)
		TH_LOG("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent_pid)
			_exit(2);
		/* Keep none of the parent's Ksocks alive. */
		close_inherited();
		_exit(run_role(s));
	}
	s->pid = pid;
	if (par.npids < MAX_PIDS)
		par.pids[par.npids++] = pid;
}

static void spawn_roles(struct __test_metadata *_metadata, unsigned int mask)
{
	int i;

	for (i = 0; i < nslots; i++) {
		if (mask & RM(sh->slots[i].role))
			spawn_slot(_metadata, i);
	}
}

static int slot_of(pid_t pid)
{
	int i;

	for (i = 0; i < nslots; i++) {
		if (sh->slots[i].pid == pid)
			return i;
	}
	return -1;
}

static bool alive(unsigned int mask)
{
	int i;

	for (i = 0; i < nslots; i++) {
		if ((mask & RM(sh->slots[i].role)) && sh->slots[i].pid)
			return true;
	}
	return false;
}

/*
 * Reap the children that have ended.  A replier killed by SIGKILL (its
 * own or the parent's) is started again until the repliers are told to
 * stop; any other end but exit(0) at its time is a failure, and is not
 * started again.
 */
static void reap(struct __test_metadata *_metadata)
{
	struct slot *s;
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		i = slot_of(pid);
		if (i < 0)
			continue;
		s = &sh->slots[i];
		s->pid = 0;
		if (s->role == ROLE_REPLIER &&
		    WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
			if (phase() < PH_STOP_REPLY) {
				par.restarts++;
				spawn_slot(_metadata, i);
			}
			continue;
		}
		if (s->role == ROLE_REPLIER) {
			if (WIFEXITED(status) && !WEXITSTATUS(status) &&
			    phase() >= PH_STOP_REPLY)
				continue;
		} else if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			continue;
		}
		par.bad_exits++;
		TH_LOG("%s %d (pid %d) ended with status 0x%x: %s",
		       role_name[s->role], s->idx, pid, status,
		       s->failed ? s->msg : "no failure recorded");
	}
}

/* Reap until no child of the roles in @mask is left; kill them after @ms. */
static bool wait_gone(struct __test_metadata *_metadata, unsigned int mask,
		      int ms)
{
	long long end = now_ms() + ms;
	struct slot *s;
	int i;

	for (;;) {
		reap(_metadata);
		if (!alive(mask))
			return true;
		if (now_ms() > end)
			break;
		nap_us(10000);
	}
	for (i = 0; i < nslots; i++) {
		s = &sh->slots[i];
		if (!(mask & RM(s->role)) || !s->pid)
			continue;
		par.bad_exits++;
		TH_LOG("%s %d (pid %d) did not end within %d s: killed",
		       role_name[s->role], s->idx, s->pid, ms / 1000);
		kill(s->pid, SIGKILL);
	}
	end = now_ms() + 10000;
	while (alive(mask) && now_ms() < end) {
		reap(_metadata);
		nap_us(10000);
	}
	return false;
}

static bool wait_ready(struct __test_metadata *_metadata, unsigned int mask)
{
	long long end = now_ms() + READY_MS;
	bool all, dead = false;
	struct slot *s;
	int i;

	for (;;) {
		reap(_metadata);
		all = true;
		for (i = 0; i < nslots; i++) {
			s = &sh->slots[i];
			if (!(mask & RM(s->role)) ||
			    __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
				continue;
			all = false;
			dead |= !s->pid;
		}
		if (all)
			return true;
		if (dead || now_ms() > end)
			break;
		nap_us(5000);
	}
	for (i = 0; i < nslots; i++) {
		s = &sh->slots[i];
		if ((mask & RM(s->role)) && !s->ready)
			TH_LOG("%s %d is not ready: %s", role_name[s->role],
			       s->idx, s->failed ? s->msg : "no failure");
	}
	return false;
}

static bool wait_senders(struct __test_metadata *_metadata)
{
	struct slot *rq = &sh->slots[role_first[ROLE_REQUESTER]];
	long long end = now_ms() + STOP_MS;
	bool all;
	int i;

	do {
		reap(_metadata);
		all = true;
		for (i = 0; i < nreqp; i++) {
			if (!__atomic_load_n(&rq[i].senders_done,
					     __ATOMIC_ACQUIRE))
				all = false;
		}
		if (all)
			return true;
		nap_us(10000);
	} while (now_ms() < end);
	return false;
}

static void kill_replier(void)
{
	struct slot *s;

	s = &sh->slots[role_first[ROLE_REPLIER] + rnd_below(&par.rng, nrep)];
	if (s->pid && __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) &&
	    !kill(s->pid, SIGKILL))
		par.kills++;
}

/* Kill and reap whatever is left (after a failure). */
static void kill_all(void)
{
	long long end = now_ms() + 10000;
	pid_t pid;
	int i;

	set_phase(PH_DRAIN);
	for (i = 0; i < nslots; i++) {
		if (sh->slots[i].pid > 0)
			kill(sh->slots[i].pid, SIGKILL);
	}
	while (now_ms() < end) {
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0)
			break;
		if (pid == 0) {
			nap_us(10000);
			continue;
		}
		i = slot_of(pid);
		if (i >= 0)
			sh->slots[i].pid = 0;
	}
}

/* ---- Checks ---- */

/* A request or a read record, by id. */
struct ref {
	__u32 serial;
	int slot;
	int rec;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static struct ref *find_ref(struct ref *refs, int n, __u32 serial)
{
	struct ref key = { .serial = serial };

	return bsearch(&key, refs, n, sizeof(*refs), cmp_ref);
}

/* What is wrong with answer @a to @rec, read as @rr (or NULL). */
static const char *answer_problem(const struct req_rec *rec,
				  const struct ans_rec *a,
				  const struct read_rec *rr, bool reads_known,
				  __u32 requester_id)
{
	bool cancelled = rec->cancel_ok;

	if (a->to != requester_id)
		return "answer for another Ksock";
	if (rec->cancel_ok > 1)
		return "two CANCELs of it returned 0";
	if (rr && rr->from != requester_id)
		return "its replier read it as from another Ksock";
	if (rr && (rr->flags ^ rec->flags) &
		  (KBUS_BIT_WANT_A_REPLY | KBUS_BIT_URGENT))
		return "its replier read it with other flags";
	if (rr && rr->result == RR_GONE)
		return "its reply failed with EADDRNOTAVAIL, requester open";
	if (rr && rr->result == RR_REFUSED && !cancelled)
		return "its reply was refused, yet it was not cancelled";
	if (a->kind == ANS_REPLY) {
		if (a->flags & (KBUS_BIT_SYNTHETIC | KBUS_BIT_WANT_A_REPLY |
				KBUS_BIT_WANT_YOU_TO_REPLY))
			return "a reply with wrong flags";
		if (a->name != rec->name)
			return "a reply with another name";
		if (a->data_len != 4 || a->data != rec->serial)
			return "a reply with other data";
		if (cancelled)
			return "a reply after a CANCEL of it returned 0";
		if (!rr)
			return reads_known ? "a reply, but no replier read it" :
					     NULL;
		if (a->from != rr->replier)
			return "a reply from another Ksock than its replier";
		if (rr->result != RR_READ && rr->result != RR_HELD &&
		    rr->result != RR_REPLIED)
			return "a reply its replier did not send";
		return NULL;
	}
	if (a->kind == ANS_OTHER)
		return "an answer with an unknown name";
	if (a->flags != KBUS_BIT_SYNTHETIC || a->from || a->data_len)
		return "a synthetic answer with wrong flags, sender or data";
	if (a->serial <= rec->serial)
		return "a synthetic answer older than the request";
	if (rr && rr->result == RR_REPLIED)
		return "a synthetic answer, though its reply was accepted";
	if (a->kind == ANS_CANCELLED)
		return cancelled ? NULL :
		       "Request.Cancelled, but no CANCEL of it returned 0";
	if (cancelled)
		return "not Request.Cancelled, though a CANCEL returned 0";
	if (rr && (a->kind == ANS_GONEAWAY || a->kind == ANS_UNBOUND))
		return "GoneAway or Unbound, though its replier read it";
	return NULL;
}

/* Invariant 1: every request sent got exactly one answer that fits. */
static void check_requests(struct __test_metadata *_metadata)
{
	int nreads = sh->nreads < MAX_READS ? sh->nreads : MAX_READS;
	int nrefs = 0, nrr = 0, i, j, n;
	int dup_ids = 0, unknown = 0, twice = 0, unanswered = 0;
	int wrong = 0, read_twice = 0, left = 0;
	bool reads_known = !sh->reads_overflow;
	__u64 kinds[NANS] = { 0 }, sent = 0;
	const struct read_rec *rr;
	const struct ans_rec *a;
	struct ref *refs, *reads, *r;
	const char *problem;
	struct req_rec *rec;
	struct slot *s;

	refs = calloc(MAX_REQS, sizeof(*refs));
	reads = calloc(nreads + 1, sizeof(*reads));
	ASSERT_TRUE(refs && reads);

	for (j = 0; j < nreqp; j++) {
		s = &sh->slots[role_first[ROLE_REQUESTER] + j];
		n = s->nreq < s->req_cap ? s->nreq : s->req_cap;
		for (i = 0; i < n; i++) {
			rec = &sh->reqs[s->req_base + i];
			if (rec->state != REQ_SENT)
				continue;
			refs[nrefs].serial = rec->serial;
			refs[nrefs].slot = role_first[ROLE_REQUESTER] + j;
			refs[nrefs++].rec = s->req_base + i;
		}
		sent += s->sent;
		if (!s->done || s->left_outstanding || s->left_msgs) {
			left++;
			TH_LOG("requester %d: %s, %u requests outstanding, %u messages queued",
			       j, s->done ? "done" : "not done",
			       s->left_outstanding, s->left_msgs);
		}
		if (s->full)
			TH_LOG("requester %d stopped sending at %d requests",
			       j, s->req_cap);
	}
	qsort(refs, nrefs, sizeof(*refs), cmp_ref);
	for (i = 1; i < nrefs; i++) {
		if (refs[i].serial == refs[i - 1].serial &&
		    dup_ids++ < MAX_LOGGED)
			TH_LOG("SENDMSG gave id %u to two requests",
			       refs[i].serial);
	}
	for (i = 0; i < nreads; i++) {
		if (!sh->reads[i].serial)
			continue;
		reads[nrr].serial = sh->reads[i].serial;
		reads[nrr++].rec = i;
	}
	qsort(reads, nrr, sizeof(*reads), cmp_ref);
	for (i = 1; i < nrr; i++) {
		if (reads[i].serial == reads[i - 1].serial &&
		    read_twice++ < MAX_LOGGED)
			TH_LOG("request %u was read by a replier twice",
			       reads[i].serial);
	}
	if (!reads_known)
		TH_LOG("more than %d requests read: not all are checked",
		       MAX_READS);

	for (j = 0; j < nreqp; j++) {
		s = &sh->slots[role_first[ROLE_REQUESTER] + j];
		for (i = 0; i < s->nans; i++) {
			a = &sh->ans[s->ans_base + i];
			r = find_ref(refs, nrefs, a->in_reply_to);
			if (!r || a->irt_net ||
			    r->slot != role_first[ROLE_REQUESTER] + j) {
				if (unknown++ < MAX_LOGGED)
					TH_LOG("requester %d: %s %u to id %u:%u, which it never sent",
					       j, ans_name[a->kind], a->serial,
					       a->irt_net, a->in_reply_to);
				continue;
			}
			rec = &sh->reqs[r->rec];
			if (rec->answers++) {
				if (twice++ < MAX_LOGGED)
					TH_LOG("requester %d: request %u answered again, by %s %u after %s",
					       j, rec->serial,
					       ans_name[a->kind], a->serial,
					       ans_name[rec->ans_kind]);
				continue;
			}
			rec->ans_kind = a->kind;
			kinds[a->kind]++;
			r = find_ref(reads, nrr, rec->serial);
			rr = r ? &sh->reads[r->rec] : NULL;
			problem = answer_problem(rec, a, rr, reads_known,
						 s->ksock_id);
			if (problem && wrong++ < MAX_LOGGED)
				TH_LOG("requester %d: request %u to %s (flags 0x%x, %u cancelled): %s %u from %u: %s (replier %u, result %d)",
				       j, rec->serial, req_names[rec->name],
				       rec->flags, rec->cancel_ok,
				       ans_name[a->kind], a->serial, a->from,
				       problem, rr ? rr->replier : 0,
				       rr ? rr->result : -1);
		}
	}
	for (i = 0; i < nrefs; i++) {
		rec = &sh->reqs[refs[i].rec];
		if (!rec->answers && unanswered++ < MAX_LOGGED)
			TH_LOG("requester %d: request %u to %s (flags 0x%x) got no answer",
			       sh->slots[refs[i].slot].idx, rec->serial,
			       req_names[rec->name], rec->flags);
	}

	TH_LOG("%llu requests sent; answers: %llu replies, %llu GoneAway, %llu Ignored, %llu Unbound, %llu Request.Cancelled, %llu other",
	       sent, kinds[ANS_REPLY], kinds[ANS_GONEAWAY], kinds[ANS_IGNORED],
	       kinds[ANS_UNBOUND], kinds[ANS_CANCELLED], kinds[ANS_OTHER]);
	EXPECT_LT(0, nrefs)
		TH_LOG("no request was sent at all");
	EXPECT_EQ(0, dup_ids);
	EXPECT_EQ(0, read_twice);
	EXPECT_EQ(0, unknown)
		TH_LOG("answers to ids never sent");
	EXPECT_EQ(0, twice)
		TH_LOG("requests answered more than once");
	EXPECT_EQ(0, unanswered)
		TH_LOG("requests never answered");
	EXPECT_EQ(0, wrong)
		TH_LOG("answers that do not fit their request");
	EXPECT_EQ(0, left)
		TH_LOG("requesters left with requests or answers");
	free(refs);
	free(reads);
}

/* Invariants 2 and 3, and what each child found itself. */
static void check_children(struct __test_metadata *_metadata)
{
	__u64 order = 0, dups = 0, errs[NERRS] = { 0 }, want;
	const struct listener_cfg *cfg;
	int failed = 0, i, e;
	struct slot *s;

	for (i = 0; i < nslots; i++) {
		s = &sh->slots[i];
		order += s->order_errs;
		dups += s->dup_errs;
		for (e = 0; e < NERRS; e++)
			errs[e] += s->errs[e];
		if (s->failed) {
			failed++;
			TH_LOG("%s %d: %s (%d failures)", role_name[s->role],
			       s->idx, s->msg, s->nfail);
		}
	}
	for (e = 0; e < NERRS; e++) {
		if (errs[e])
			TH_LOG("%llu sends or replies refused with %s",
			       errs[e], err_name[e]);
	}
	EXPECT_EQ(0, failed)
		TH_LOG("children found failures");
	EXPECT_EQ(0, par.bad_exits)
		TH_LOG("children ended badly");
	EXPECT_EQ(0ULL, order)
		TH_LOG("non-URGENT messages received out of id order");
	EXPECT_EQ(0ULL, dups)
		TH_LOG("more copies of a message than matching bindings");

	for (i = 0; i < nrep; i++) {
		s = &sh->slots[role_first[ROLE_REPLIER] + i];
		TH_LOG("replier %d: %d lives, %llu received, %llu replies, %llu never answered, %llu kept, %llu self-kills, %llu rebinds, %llu times %s",
		       i, s->gen, s->received, s->replies, s->skipped, s->held,
		       s->self_kills, s->unbinds, s->wild, WILD);
	}
	TH_LOG("repliers: %d killed by the parent, %d restarts", par.kills,
	       par.restarts);
	for (i = 0; i < nreqp; i++) {
		s = &sh->slots[role_first[ROLE_REQUESTER] + i];
		TH_LOG("requester %d: %llu sent, %llu answers, %llu URGENT, %llu cancels (%llu took)",
		       i, s->sent, s->received, s->urgent, s->cancels,
		       s->cancel_ok);
	}
	TH_LOG("announcements sent: %llu to %s, %llu to %s",
	       sh->sent_x, NEWS_X, sh->sent_yz, NEWS_YZ);
	EXPECT_LT(0ULL, sh->sent_x + sh->sent_yz)
		TH_LOG("no announcement was sent at all");

	for (i = 0; i < (int)ARRAY_SIZE(listeners); i++) {
		s = &sh->slots[role_first[ROLE_LISTENER] + i];
		cfg = &listeners[i];
		TH_LOG("listener %d (%s%s): %llu received (%llu URGENT), %llu dropped",
		       i, cfg->binds[0], cfg->nbinds > 1 ? ", ..." : "",
		       s->received, s->urgent, s->dropped);
		EXPECT_TRUE(s->done)
			TH_LOG("listener %d did not finish", i);
		EXPECT_EQ(0U, s->left_msgs);
		if (cfg->accounted == ACC_NONE || !s->done)
			continue;
		want = sh->sent_x;
		if (cfg->accounted == ACC_NEWS)
			want += sh->sent_yz;
		EXPECT_EQ(want, s->received + s->dropped)
			TH_LOG("listener %d (%s): %llu received + %llu dropped, but %llu sent to names it matches",
			       i, cfg->binds[0], s->received, s->dropped, want);
	}

	s = &sh->slots[role_first[ROLE_TOGGLER]];
	TH_LOG("bind events: %llu toggles, %llu events, %llu lost markers",
	       s->toggles, s->events, s->lost);
	s = &sh->slots[role_first[ROLE_RACER]];
	TH_LOG("close racing with send: %llu rounds", s->rounds);
	EXPECT_LT(0ULL, s->rounds);
}

static bool is_child(long pid)
{
	int i;

	for (i = 0; i < par.npids; i++) {
		if (par.pids[i] == pid)
			return true;
	}
	return false;
}

/* Invariant 4: nothing of the test's processes is left on any bus. */
static void check_debugfs(struct __test_metadata *_metadata)
{
	static const char bindings[] = "/sys/kernel/debug/kbus/bindings";
	static const char stats[] = "/sys/kernel/debug/kbus/stats";
	int bound = 0, stale = 0, own = 0;
	char line[1200], name[1024], kind;
	unsigned int bus, id;
	bool mounted = false;
	unsigned long lpid;
	FILE *f;
	int pid;

	if (access(bindings, R_OK) &&
	    !mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL))
		mounted = true;
	f = fopen(bindings, "re");
	if (!f) {
		TH_LOG("not checking what is left: %s: %s", bindings,
		       strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%u: %u %lu %c %1023s", &bus, &id, &lpid,
			   &kind, name) != 5)
			continue;
		if (!strncmp(name, "$.S.", 4) || is_child(lpid)) {
			if (bound++ < MAX_LOGGED)
				TH_LOG("still bound: %s", line);
		}
	}
	fclose(f);
	f = fopen(stats, "re");
	if (!f) {
		TH_LOG("not checking Ksocks left: %s: %s", stats,
		       strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, " ksock %u pid %d", &id, &pid) != 2)
			continue;
		if (pid == getpid())
			own++;
		else if (is_child(pid) && stale++ < MAX_LOGGED)
			TH_LOG("Ksock of a child still open: %s", line);
	}
	fclose(f);
	if (par.npids >= MAX_PIDS)
		TH_LOG("only the first %d children's pids are checked",
		       MAX_PIDS);
	EXPECT_EQ(0, bound)
		TH_LOG("bindings of the test left in %s", bindings);
	EXPECT_EQ(0, stale)
		TH_LOG("Ksocks of the test's children left in %s", stats);
	/* The parent's own: the fixture's. */
	EXPECT_EQ(1, own)
		TH_LOG("the parent has %d Ksocks in %s", own, stats);
out:
	if (mounted)
		umount("/sys/kernel/debug");
}

/* ---- The test ---- */

FIXTURE(stress) {
	bool skip;
	int admin;		/* the parent's Ksock, for the bus option */
	bool have_report;
	__u64 report_was;
};

FIXTURE_SETUP(stress)
{
	self->admin = -1;
	if (geteuid()) {
		self->skip = true;
		SKIP(return, "needs root: a bus-wide option and debugfs");
	}
	self->admin = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);
	if (self->admin < 0) {
		self->skip = true;
		return;
	}
	ASSERT_EQ(0, kbus_get_opt(self->admin, KBUS_OPT_REPORT_REPLIER_BINDS,
				  &self->report_was));
	self->have_report = true;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
}

FIXTURE_TEARDOWN(stress)
{
	__u64 v;

	if (self->skip)
		return;
	if (sh && sh != MAP_FAILED) {
		kill_all();
		munmap(sh, sizeof(*sh));
		sh = NULL;
	}
	/* The option is bus-wide: leave it as it was found. */
	if (self->have_report) {
		EXPECT_EQ(0, kbus_set_opt(self->admin,
					  KBUS_OPT_REPORT_REPLIER_BINDS,
					  self->report_was));
		EXPECT_EQ(0, kbus_get_opt(self->admin,
					  KBUS_OPT_REPORT_REPLIER_BINDS, &v));
		EXPECT_EQ(self->report_was, v);
	}
	close(self->admin);
	if (_metadata->exit_code == KSFT_FAIL)
		TH_LOG("FAILED: repeat with KBUS_STRESS_SEED=%u", seed);
}

TEST_F_TIMEOUT(stress, invariants_hold_under_load, MAX_SECS + SLACK_SECS)
{
	int secs = stress_secs();
	long long end, next_kill;
	const char *env;

	if (self->skip)
		return;
	nrep = env_long("KBUS_STRESS_PROCS", STRESS_PROCS, 1, MAX_PROCS);
	nreqp = nrep;
	env = getenv("KBUS_STRESS_SEED");
	if (env && *env)
		seed = strtoul(env, NULL, 0);
	else
		seed = time(NULL) ^ ((unsigned int)getpid() << 16);
	TH_LOG("seed %u (KBUS_STRESS_SEED=%u repeats its choices): %d s, %d repliers, %d requesters",
	       seed, seed, secs, nrep, nreqp);
	parent_pid = getpid();
	par.rng = rng_init(~0U, 0, 0);
	setup_slots();

	/* Listeners first: they must hear every announcement. */
	set_phase(PH_SETUP);
	spawn_roles(_metadata, RM(ROLE_LISTENER));
	ASSERT_TRUE(wait_ready(_metadata, RM(ROLE_LISTENER)));
	spawn_roles(_metadata, RM(ROLE_REPLIER));
	ASSERT_TRUE(wait_ready(_metadata, RM(ROLE_REPLIER)));
	spawn_roles(_metadata, RM(ROLE_REQUESTER) | RM(ROLE_ANNOUNCER) |
			       RM(ROLE_TOGGLER) | RM(ROLE_RACER));
	ASSERT_TRUE(wait_ready(_metadata, ALL_ROLES));

	set_phase(PH_RUN);
	end = now_ms() + secs * 1000LL;
	next_kill = now_ms() + 500 + rnd_below(&par.rng, 1500);
	while (now_ms() < end) {
		nap_us(20000);
		reap(_metadata);
		if (now_ms() >= next_kill) {
			kill_replier();
			next_kill = now_ms() + 200 + rnd_below(&par.rng, 1500);
		}
	}

	/*
	 * Stop in an order that answers every request: no more sending;
	 * the repliers answer what they will; they close, which answers the
	 * rest; the requesters read every answer.
	 */
	set_phase(PH_STOP_SEND);
	EXPECT_TRUE(wait_gone(_metadata, RM(ROLE_ANNOUNCER) |
				RM(ROLE_TOGGLER) | RM(ROLE_RACER), STOP_MS));
	EXPECT_TRUE(wait_senders(_metadata))
		TH_LOG("requesters did not stop sending");
	end = now_ms() + GRACE_MS;
	while (now_ms() < end) {
		reap(_metadata);
		nap_us(10000);
	}
	set_phase(PH_STOP_REPLY);
	EXPECT_TRUE(wait_gone(_metadata, RM(ROLE_REPLIER), STOP_MS));
	set_phase(PH_DRAIN);
	EXPECT_TRUE(wait_gone(_metadata, RM(ROLE_REQUESTER) |
				RM(ROLE_LISTENER), DRAIN_MS + 15000));
	ASSERT_FALSE(alive(ALL_ROLES))
		TH_LOG("children are left");

	check_children(_metadata);
	check_requests(_metadata);
	check_debugfs(_metadata);
}

/* ---- One queue under contention ---- */

#define HOT_NAME		"$.S.Hot"
#define HOT_MAX_SENDERS		16
/* The listener's queue limits, each for HOT_CYCLE messages. */
static const __u32 hot_max_msgs[] = { 2, 1, 3, 2, 5, 64 };
#define HOT_CYCLE		256
#define HOT_END			0xffffffffU	/* seq of a sender's last */

struct hot_data {
	__u32 sender;
	__u32 seq;	/* HOT_END: the last, @count is how many came before */
	__u32 count;
};

/*
 * A sender (number *@arg): once open, waits for the time to stop at
 * (CLOCK_MONOTONIC ms) and sends until then, then its last.
 */
static int hot_sender(void *arg, int in, int out)
{
	struct hot_data d = { .sender = *(const __u32 *)arg };
	struct kbus_message_header h;
	long long end;
	int fd, ret;

	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (kbus_post(out) || kbus_pipe_read(in, &end, sizeof(end)))
		return 2;
	kbus_msg_init(&h, HOT_NAME, &d, sizeof(d));
	h.flags = KBUS_BIT_ALL_OR_WAIT;
	for (;;) {
		if (now_ms() >= end) {
			d.count = d.seq;
			d.seq = HOT_END;
		}
		ret = kbus_sendmsg(fd, &h, sizeof(h), 0, NULL);
		if (ret) {
			fprintf(stderr, "hot sender %u: message %u: %s\n",
				d.sender, d.seq, strerror(-ret));
			return 3;
		}
		if (d.seq == HOT_END)
			break;
		d.seq++;
	}
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(stress, one_queue_under_contention, MAX_SECS + SLACK_SECS)
{
	struct kbus_child kids[HOT_MAX_SENDERS];
	struct sigaction sa = { .sa_handler = on_alarm };	/* no restart */
	__u32 nums[HOT_MAX_SENDERS];
	__u32 next[HOT_MAX_SENDERS] = { 0 };
	struct kbus_ksock_info info;
	const struct hot_data *d;
	int nsend, ended = 0, fd, i, ret, secs;
	__u64 received = 0, last_serial = 0;
	long long end;
	union msgbuf b;

	if (self->skip)
		return;
	secs = stress_secs() / 4;
	if (secs < 2)
		secs = 2;
	nsend = sysconf(_SC_NPROCESSORS_ONLN);
	if (nsend < 2)
		nsend = 2;
	if (nsend > HOT_MAX_SENDERS)
		nsend = HOT_MAX_SENDERS;

	fd = kbus_open(_metadata);
	kbus_set_max_msgs(_metadata, fd, hot_max_msgs[0]);
	ASSERT_EQ(0, kbus_bind(fd, HOT_NAME, false));
	for (i = 0; i < nsend; i++) {
		nums[i] = i;
		kbus_spawn(_metadata, &kids[i], hot_sender, &nums[i]);
		ASSERT_EQ(0, kbus_wait(kids[i].from_child))
			TH_LOG("hot sender %d did not start", i);
	}
	/* Start them together; they stop at the same time. */
	end = now_ms() + secs * 1000LL;
	for (i = 0; i < nsend; i++)
		ASSERT_EQ(0, kbus_pipe_write(kids[i].to_child, &end,
					     sizeof(end)));

	/* A lost message would leave the receive blocked: the alarm ends it. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(secs + DRAIN_MS / 1000);
	while (ended < nsend) {
		if (received % HOT_CYCLE == 0)
			kbus_set_max_msgs(_metadata, fd,
					  hot_max_msgs[received / HOT_CYCLE %
						       ARRAY_SIZE(hot_max_msgs)]);
		ret = kbus_recvmsg(fd, &b, sizeof(b), 0, NULL);
		ASSERT_EQ(0, ret)
			TH_LOG("receive %llu: %s (%d of %d senders ended)",
			       (unsigned long long)received, strerror(-ret),
			       ended, nsend);
		ASSERT_EQ(sizeof(*d), b.m.header.data_len);
		d = kbus_msg_data(&b.m);
		ASSERT_LT(d->sender, (__u32)nsend);
		/* One order for the bus: ids only increase. */
		ASSERT_LT(last_serial, b.m.header.id.serial_num)
			TH_LOG("message %llu: id %u after %llu",
			       (unsigned long long)received,
			       b.m.header.id.serial_num,
			       (unsigned long long)last_serial);
		last_serial = b.m.header.id.serial_num;
		if (d->seq == HOT_END) {
			ASSERT_EQ(next[d->sender], d->count)
				TH_LOG("sender %u sent %u, %u arrived",
				       d->sender, d->count, next[d->sender]);
			ended++;
			continue;
		}
		ASSERT_EQ(next[d->sender], d->seq)
			TH_LOG("sender %u: message %u arrived where %u was due",
			       d->sender, d->seq, next[d->sender]);
		next[d->sender]++;
		received++;
	}
	alarm(0);
	for (i = 0; i < nsend; i++)
		kbus_child_done(_metadata, &kids[i]);
	ASSERT_EQ(0, kbus_info(fd, &info));
	EXPECT_EQ(0, info.num_msgs);
	EXPECT_EQ(0, info.dropped);
	EXPECT_EQ(0, info.queued_bytes);
	TH_LOG("%d senders, %d s: %llu messages through one queue",
	       nsend, secs, (unsigned long long)received);
	close(fd);
}

/* ---- Unbinding while receiving ---- */

#define FLAP_NAME		"$.S.Flap"
/*
 * Long copies out, of messages small enough for the slab allocator, so
 * that a freed message stays poisoned (KASAN's quarantine) while a
 * receiver that has lost it may still be reading it.
 */
#define FLAP_DATA		(6 * 1024)
#define FLAP_MAX_MSGS		8

/* A sender: sends FLAP_DATA-byte announcements until the pipe closes. */
static int flap_sender(void *arg, int in, int out)
{
	struct kbus_message_header h;
	__u32 *data, seq = 0;
	int fd, ret;
	char c;

	data = malloc(FLAP_DATA);
	fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	if (!data || fd < 0)
		return 1;
	fcntl(in, F_SETFL, O_NONBLOCK);
	if (kbus_post(out))
		return 2;
	kbus_msg_init(&h, FLAP_NAME, data, FLAP_DATA);
	/* Until the parent closes its end: read() returns 0. */
	while (read(in, &c, 1) < 0 && errno == EAGAIN) {
		data[0] = seq;
		memset(&data[1], seq & 0xff, FLAP_DATA - sizeof(*data));
		ret = kbus_sendmsg(fd, &h, sizeof(h), 0, NULL);
		if (ret) {
			fprintf(stderr, "flap sender: message %u: %s\n", seq,
				strerror(-ret));
			return 3;
		}
		seq++;
	}
	close(fd);
	return 0;
}

struct flapper {
	int fd;
	bool stop;		/* __atomic */
	unsigned long flaps;
	int err;		/* the first failure, -errno */
};

static void *flapper_thread(void *arg)
{
	struct flapper *f = arg;
	__u64 rng = rng_init(seed, 0xf1a9, 0);
	int i, ret;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		ret = kbus_unbind(f->fd, FLAP_NAME, false);
		/* No sleep (a tick with the test kernels' highres=off). */
		for (i = rnd_below(&rng, 64); !ret && i; i--)
			sched_yield();
		if (!ret)
			ret = kbus_bind(f->fd, FLAP_NAME, false);
		if (ret) {
			f->err = ret;
			break;
		}
		f->flaps++;
		for (i = rnd_below(&rng, 64); i; i--)
			sched_yield();
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, unbind_while_receiving, MAX_SECS + SLACK_SECS)
{
	size_t len = KBUS_ENTIRE_MSG_LEN(strlen(FLAP_NAME), FLAP_DATA);
	struct flapper f = { .fd = -1 };
	struct kbus_entire_message *m;
	unsigned long received = 0;
	struct kbus_child kid;
	const __u8 *data;
	__u32 seq, next = 0;
	pthread_t thread;
	long long end;
	int ret, secs;
	size_t i;

	if (self->skip)
		return;
	secs = stress_secs() / 4;
	if (secs < 2)
		secs = 2;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	f.fd = kbus_open(_metadata);
	kbus_set_max_msgs(_metadata, f.fd, FLAP_MAX_MSGS);
	ASSERT_EQ(0, kbus_bind(f.fd, FLAP_NAME, false));
	kbus_spawn(_metadata, &kid, flap_sender, NULL);
	ASSERT_EQ(0, kbus_wait(kid.from_child));
	ASSERT_EQ(0, pthread_create(&thread, NULL, flapper_thread, &f));

	end = now_ms() + secs * 1000LL;
	while (now_ms() < end) {
		if (kbus_wait_fd(f.fd, POLLIN, 100) != 1)
			continue;
		ASSERT_EQ(0, madvise(m, len, MADV_DONTNEED));
		ret = kbus_recvmsg(f.fd, m, len, KBUS_RECV_NONBLOCK, NULL);
		if (ret == -EAGAIN)	/* dropped by an unbind meanwhile */
			continue;
		ASSERT_EQ(0, ret)
			TH_LOG("receive %lu: %s", received, strerror(-ret));
		ASSERT_EQ(FLAP_DATA, m->header.data_len);
		data = kbus_msg_data(m);
		memcpy(&seq, data, sizeof(seq));
		/* Unbinding drops messages, and a full queue misses some. */
		ASSERT_LE(next, seq)
			TH_LOG("message %u after %u", seq, next);
		for (i = sizeof(seq); i < FLAP_DATA; i++) {
			if (data[i] != (seq & 0xff))
				break;
		}
		ASSERT_EQ(FLAP_DATA, i)
			TH_LOG("message %u: byte %zu is 0x%02x", seq, i, data[i]);
		next = seq + 1;
		received++;
	}
	__atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, f.err)
		TH_LOG("the flapper failed: %s", strerror(-f.err));
	kbus_child_done(_metadata, &kid);
	EXPECT_LT(0, received);
	EXPECT_LT(0, f.flaps);
	TH_LOG("%d s: %lu messages of %d bytes received, %lu unbinds",
	       secs, received, FLAP_DATA, f.flaps);
	close(f.fd);
	munmap(m, len);
}

TEST_HARNESS_MAIN
