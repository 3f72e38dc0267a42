// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS selftests: a seeded fuzzer of every call, in several processes
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Forked children each keep a small pool of Ksocks of bus 0 (read-write,
 * read-only, write-only, non-blocking, duplicated, closed and opened
 * again) and make random calls on them: every ioctl of a Ksock, with
 * valid and hostile arguments, poll(), unknown ioctls and calls on
 * numbers that are not open; now and then a timer signal interrupts a
 * call.  Each result must be success or
 * an errno that the documentation in <linux/kbus.h> gives for that call.
 * A child that sees another, or dies of a signal, fails the test with the
 * seed and its last operations.  Afterwards the bus must still work.
 *
 * KBUS_FUZZ_SEED	the seed (default: from the clock; always printed);
 *			child i uses seed + i
 * KBUS_FUZZ_CALLS	system calls made by all the children (200000)
 * KBUS_FUZZ_PROCS	children (4)
 *
 * With one child, a seed gives the same calls (but for where the timer
 * signals land); with several, what each sees of the others depends on
 * timing.
 *
 * All the names used are under "$.F." (and a few "$.KBUS" ones, which
 * cannot be sent).  Nothing waits: receives are non-blocking, or bounded
 * by a repeating timer, and ALL_OR_WAIT sends are always non-blocking.
 * The bus-wide options the children change are put back afterwards.
 */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

#define FUZZ_DEF_CALLS		200000ULL
#define FUZZ_DEF_PROCS		4
#define FUZZ_MAX_PROCS		64
/* Children stop calling after FUZZ_SOFT_SECS; killed after FUZZ_HARD_SECS. */
#define FUZZ_SOFT_SECS		200
#define FUZZ_HARD_SECS		240
#define FUZZ_TEST_SECS		(FUZZ_HARD_SECS + 30)

#define FUZZ_SLOTS		8	/* file descriptors per child */
#define FUZZ_RING		17	/* the last 16 calls and the current */
#define FUZZ_DESC		224
#define FUZZ_NERRNO		256	/* histogram; [0] counts successes */
#define FUZZ_DATA_AREA		(128U << 10)
#define FUZZ_NREQ		16	/* requests sent, to cancel */
#define FUZZ_NOWED		4	/* requests received, to reply to */
#define FUZZ_NIDS		8	/* Ksock ids seen */

enum fuzz_state { FZ_RUNNING, FZ_DONE, FZ_LATE, FZ_FAILED };

/* A call in the log: empty, being made, or made with result @ret. */
struct fuzz_call {
	int state;			/* 0, 1 or 2 */
	long ret;
	unsigned long num;
	char text[FUZZ_DESC];
};

/* What a child shows its parent, in shared memory. */
struct fuzz_shared {
	unsigned long calls;		/* system calls made */
	unsigned long errnos;		/* of which failed */
	unsigned long hist[FUZZ_NERRNO];
	unsigned int ring_pos;		/* entry of the current call */
	int state;			/* enum fuzz_state */
	struct fuzz_call ring[FUZZ_RING];
};

struct fuzz_slot {
	int fd;			/* -1: empty */
	int acc;		/* O_RDONLY, O_WRONLY or O_RDWR */
	bool nonblock;
	unsigned int gen;	/* which Ksock: dup() shares it */
};

/* Where a call goes: a slot's file, or a number that is not open. */
struct fuzz_target {
	int fd;
	int slot;		/* -1 for a number that is not open */
	int acc;
	bool nonblock;
	unsigned int gen;
};

/* A request this child sent. */
struct fuzz_req {
	bool used;
	unsigned int gen;
	struct kbus_msg_id id;
};

/* A request this child received, to reply to. */
struct fuzz_owed {
	bool used;
	unsigned int gen;
	struct kbus_msg_id id;
	__u32 from;
	__u32 name_len;
	char name[KBUS_MAX_NAME_LEN + 1];
};

struct fuzz {
	struct fuzz_shared *sh;
	int index;
	unsigned long long seed;	/* the run's: this child's is + index */
	uint64_t rng;
	unsigned long quota;
	size_t page;
	/* Each area is followed by a PROT_NONE page. */
	char *args, *args_end;		/* argument structs */
	char *names, *names_end;	/* names */
	char *msg, *msg_end;		/* headers and entire messages */
	char *data, *data_end;		/* message data, random */
	char *rbuf, *rbuf_end;		/* receive buffer */
	char *ro;			/* read-only page of valid arguments */
	char *none;			/* a PROT_NONE page */
	__u64 max_msg_size;		/* as last seen */
	__u64 abs_max;
	__u32 last_len;			/* msg_len of the last EMSGSIZE */
	struct fuzz_slot slot[FUZZ_SLOTS];
	unsigned int next_gen;
	struct fuzz_req sent[FUZZ_NREQ];
	unsigned int nsent;
	struct fuzz_owed owed[FUZZ_NOWED];
	unsigned int nowed;
	__u32 ids[FUZZ_NIDS];
	unsigned int nids;
	char name[KBUS_MAX_NAME_LEN + 64];	/* the name being built */
	__u32 name_len;
	char desc[FUZZ_DESC];		/* the call being made */
	size_t dlen;
};

/* Offsets of the valid arguments kept in the read-only page. */
enum {
	RO_BIND = 0,
	RO_REPLIER = 64,
	RO_SEND = 128,
	RO_RECV = 192,
	RO_HDR = 256,
	RO_INFO = 384,
	RO_OPTION = 448,
	RO_CANCEL = 480,
	RO_NAME = 512,
};

#define FZ_RO_NAME	"$.F.RO"

/* ---- Names ---- */

static const char *const fz_names[] = {
	"$.F.A", "$.F.B", "$.F.C", "$.F.A.B", "$.F.A.C", "$.F.B.C",
	"$.F.Req", "$.F.Req.A", "$.F.Svc", "$.F.Svc.X", "$.F.A.B.C.D",
	"$.F.x1", "$.F.Z9", FZ_RO_NAME,
};

static const char *const fz_patterns[] = {
	"$.F.*", "$.F.%", "$.F.A.*", "$.F.A.%", "$.F.Req.*", "$.F.Svc.%",
	"$.F.B.*",
};

/* Valid, but only KBUS sends them: EPERM to send, fine to listen to. */
static const char *const fz_special[] = {
	KBUS_MSG_NAME_REPLIER_BIND_EVENT, KBUS_MSG_NAME_REPLIER_GONEAWAY,
	KBUS_MSG_NAME_REQUEST_CANCELLED, "$.KBUS.F", "$.KBUS",
};

static const char *const fz_bad_names[] = {
	"", "$", "$.", "$.F.", "$.F..A", "F.A", "$F.A", "$.F.A-B", "$.F.*.A",
	"$.F.A*", "$.F.**", "$.F. A", "$.F.A.", ".$.F", "$.F.A\tB",
	"$.F.\xc3\xa9", "$..F", "$.F.%.*",
};

/* ---- Allowed errnos, from "DOC: KBUS ioctls" in <linux/kbus.h> ---- */

/*
 * EBADF is added where the file lacks the access that the call needs
 * ("DOC: KBUS errno values"), and is the only result allowed on a number
 * that is not open.  EINTR only where a call may wait: SENDMSG, RECVMSG
 * and poll(); the other calls take the bus lock killably only.
 */
static const int fz_ok_bind[] = {
	EBADMSG, ENAMETOOLONG, EADDRINUSE, ENOSPC, EINVAL, E2BIG, EFAULT,
	ENOMEM, 0
};

static const int fz_ok_unbind[] = {
	EBADMSG, ENAMETOOLONG, EINVAL, E2BIG, EFAULT, ENOMEM, 0
};

static const int fz_ok_replier[] = {
	EBADMSG, ENAMETOOLONG, EINVAL, E2BIG, EFAULT, ENOMEM, 0
};

static const int fz_ok_send[] = {
	EINVAL, E2BIG, EBADMSG, ENAMETOOLONG, EMSGSIZE, EPERM, EFAULT,
	ENOMEM, ENOBUFS, ENOLCK, EADDRNOTAVAIL, ECONNREFUSED, EPIPE, EBUSY,
	EAGAIN, ECANCELED, EINTR, 0
};

static const int fz_ok_recv[] = {
	EINVAL, E2BIG, EMSGSIZE, EAGAIN, EFAULT, ENOMEM, EINTR, 0
};

/* SENDRECV: those of SENDMSG, then those of RECVMSG (a subset). */
static const int *const fz_ok_sendrecv = fz_ok_send;

/* KBUS_IOC_CANCEL with no argument always succeeds. */
static const int fz_ok_none[] = { 0 };

static const int fz_ok_cancel[] = { ENOENT, EINVAL, E2BIG, EFAULT, 0 };

static const int fz_ok_info[] = { EINVAL, E2BIG, EFAULT, 0 };

/* EOPNOTSUPP, EPERM and ENOMEM are for setting only. */
static const int fz_ok_get[] = { EINVAL, E2BIG, EFAULT, 0 };

static const int fz_ok_set[] = {
	EINVAL, EOPNOTSUPP, EPERM, E2BIG, EFAULT, ENOMEM, 0
};

static const int fz_ok_unknown[] = { ENOTTY, 0 };

static const int fz_ok_poll[] = { EINTR, ENOMEM, 0 };

/* Opening: the user's byte limit on the bus, and the usual ones. */
static const int fz_ok_open[] = { EMFILE, ENFILE, ENOMEM, 0 };

static const int fz_ok_dup[] = { EMFILE, 0 };

static const char *fz_errname(int e)
{
	static char buf[24];

	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOLCK: return "ENOLCK";
	case EBADMSG: return "EBADMSG";
	case EOVERFLOW: return "EOVERFLOW";
	case EMSGSIZE: return "EMSGSIZE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ENOBUFS: return "ENOBUFS";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECANCELED: return "ECANCELED";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static bool fz_in(const int *set, int e)
{
	for (; *set; set++) {
		if (*set == e)
			return true;
	}
	return false;
}

static __u64 fz_min(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* ---- Random numbers (xorshift64*) ---- */

static uint64_t fz_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint64_t fz_rnd(struct fuzz *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static __u32 fz_below(struct fuzz *f, __u32 n)
{
	return n ? (__u32)((fz_rnd(f) >> 16) % n) : 0;
}

static bool fz_one_in(struct fuzz *f, __u32 n)
{
	return fz_below(f, n) == 0;
}

/* A 32-bit value that is not 0. */
static __u32 fz_nonzero(struct fuzz *f)
{
	return fz_one_in(f, 2) ? 1U << fz_below(f, 32) : (__u32)fz_rnd(f) | 1;
}

/* ---- The log of calls ---- */

static void __printf(2, 3) fz_add(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->dlen >= sizeof(f->desc) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->desc + f->dlen, sizeof(f->desc) - f->dlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		f->dlen = fz_min(f->dlen + n, sizeof(f->desc) - 1);
}

static void fz_begin(struct fuzz *f, const char *what)
{
	f->dlen = 0;
	f->desc[0] = '\0';
	fz_add(f, "%s", what);
}

static void fz_add_target(struct fuzz *f, const struct fuzz_target *t)
{
	if (t->slot < 0) {
		fz_add(f, " fd %d (not open)", t->fd);
		return;
	}
	fz_add(f, " fd %d (%s%s k%u)", t->fd,
	       t->acc == O_RDWR ? "rw" : t->acc == O_RDONLY ? "r" : "w",
	       t->nonblock ? " nb" : "", t->gen);
}

/* The name being built, shortened and printable. */
static void fz_add_name(struct fuzz *f)
{
	char s[28];
	__u32 i, n = fz_min(f->name_len, sizeof(s) - 4);

	for (i = 0; i < n; i++) {
		unsigned char c = f->name[i];

		s[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	if (n < f->name_len) {
		memcpy(s + n, "...", 3);
		n += 3;
	}
	s[n] = '\0';
	fz_add(f, " \"%s\"/%u", s, f->name_len);
}

static const char *fz_ret(long ret)
{
	static char buf[32];

	if (ret < 0)
		return fz_errname(-ret);
	snprintf(buf, sizeof(buf), "%ld", ret);
	return buf;
}

/* Before a call: it is the current entry of the ring. */
static void fz_pre(struct fuzz *f)
{
	struct fuzz_shared *sh = f->sh;
	struct fuzz_call *c = &sh->ring[sh->ring_pos % FUZZ_RING];

	c->num = sh->calls;
	memcpy(c->text, f->desc, sizeof(c->text));
	c->state = 1;
}

/* After a call: its result, counted. */
static void fz_post(struct fuzz *f, long ret)
{
	struct fuzz_shared *sh = f->sh;

	sh->ring[sh->ring_pos % FUZZ_RING].ret = ret;
	sh->ring[sh->ring_pos % FUZZ_RING].state = 2;
	sh->ring_pos++;
	sh->ring[sh->ring_pos % FUZZ_RING].state = 0;
	sh->calls++;
	if (ret < 0) {
		sh->errnos++;
		sh->hist[fz_min(-ret, FUZZ_NERRNO - 1)]++;
	} else {
		sh->hist[0]++;
	}
}

/* The last calls of a child, and the one it is in, if any. */
static void fz_dump_ring(const struct fuzz_shared *sh, int index)
{
	unsigned int i, first;

	first = sh->ring_pos >= FUZZ_RING - 1 ?
		sh->ring_pos - (FUZZ_RING - 1) : 0;
	fprintf(stderr, "# fuzz: the last calls of child %d:\n", index);
	for (i = first; i <= sh->ring_pos; i++) {
		const struct fuzz_call *c = &sh->ring[i % FUZZ_RING];

		if (c->state == 1)
			fprintf(stderr, "# fuzz:   #%lu %.*s ... (in progress)\n",
				c->num, FUZZ_DESC - 1, c->text);
		else if (c->state == 2)
			fprintf(stderr, "# fuzz:   #%lu %.*s = %s\n", c->num,
				FUZZ_DESC - 1, c->text, fz_ret(c->ret));
	}
}

static void __noreturn __printf(2, 3)
fz_fail(struct fuzz *f, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"# fuzz: FAIL: seed %llu, child %d (seed %llu), call %lu: %s\n",
		f->seed, f->index, f->seed + f->index,
		f->sh->calls ? f->sh->calls - 1 : 0, why);
	fprintf(stderr, "# fuzz:   in: %s\n", f->desc);
	fz_dump_ring(f->sh, f->index);
	f->sh->state = FZ_FAILED;
	_exit(1);
}

/*
 * Judge the result of a call on @t named @call: 0, or an errno of @ok;
 * EBADF also if @ebadf (the file lacks the access the call needs).  A
 * number that is not open gives EBADF and nothing else.
 */
static void fz_judge(struct fuzz *f, const struct fuzz_target *t, long ret,
		     const int *ok, bool ebadf, const char *call)
{
	if (t->slot < 0) {
		if (ret != -EBADF)
			fz_fail(f, "%s on fd %d, which is not open: %s, not EBADF",
				call, t->fd, fz_ret(ret));
		return;
	}
	if (!ret)
		return;
	if (ret > 0)
		fz_fail(f, "%s returned %ld", call, ret);
	if (fz_in(ok, -ret) || (ret == -EBADF && ebadf))
		return;
	fz_fail(f, "%s failed with %s, which its documentation does not allow",
		call, fz_errname(-ret));
}

/* ---- System calls, counted and logged ---- */

static long fz_ioctl(struct fuzz *f, int fd, unsigned long cmd, void *arg)
{
	long ret;

	fz_pre(f);
	ret = ioctl(fd, cmd, arg);
	if (ret < 0)
		ret = -errno;
	fz_post(f, ret);
	return ret;
}

/* Arm ITIMER_REAL: once after @usec, or every @usec if @repeat. */
static void fz_timer(struct fuzz *f, long usec, bool repeat)
{
	struct itimerval it = {
		.it_value = { .tv_sec = 0, .tv_usec = usec },
		.it_interval = { .tv_sec = 0, .tv_usec = repeat ? usec : 0 },
	};
	long ret;

	fz_begin(f, "setitimer");
	fz_add(f, " %ld us%s", usec, repeat ? " repeating" : "");
	fz_pre(f);
	ret = setitimer(ITIMER_REAL, &it, NULL) ? -errno : 0;
	fz_post(f, ret);
	if (ret)
		fz_fail(f, "setitimer: %s", fz_ret(ret));
}

static void fz_on_alarm(int sig)
{
}

/* ---- Choosing ---- */

static void fz_use_slot(struct fuzz *f, struct fuzz_target *t, int i)
{
	t->fd = f->slot[i].fd;
	t->slot = i;
	t->acc = f->slot[i].acc;
	t->nonblock = f->slot[i].nonblock;
	t->gen = f->slot[i].gen;
}

/* A number that is not open: the children keep only their slots open. */
static void fz_not_open(struct fuzz *f, struct fuzz_target *t)
{
	int fd = -1, i;

	memset(t, 0, sizeof(*t));
	t->slot = -1;
	switch (fz_below(f, 8)) {
	case 0:
		fd = -1;
		break;
	case 1:
		fd = 1 << 20;
		break;
	default:
		do {
			fd = 3 + fz_below(f, 2 * FUZZ_SLOTS + 2);
			for (i = 0; i < FUZZ_SLOTS; i++) {
				if (f->slot[i].fd == fd)
					break;
			}
		} while (i < FUZZ_SLOTS);
		break;
	}
	t->fd = fd;
}

static int fz_open_slots(struct fuzz *f, int *open)
{
	int i, n = 0;

	for (i = 0; i < FUZZ_SLOTS; i++) {
		if (f->slot[i].fd >= 0)
			open[n++] = i;
	}
	return n;
}

static int fz_free_slot(struct fuzz *f)
{
	int i, start = fz_below(f, FUZZ_SLOTS);

	for (i = 0; i < FUZZ_SLOTS; i++) {
		int j = (start + i) % FUZZ_SLOTS;

		if (f->slot[j].fd < 0)
			return j;
	}
	return -1;
}

/* Mostly an open file of the pool, now and then a number that is not. */
static void fz_pick(struct fuzz *f, struct fuzz_target *t)
{
	int open[FUZZ_SLOTS], n = fz_open_slots(f, open);

	if (!n || fz_one_in(f, 64))
		fz_not_open(f, t);
	else
		fz_use_slot(f, t, open[fz_below(f, n)]);
	fz_add_target(f, t);
}

/* A file of the Ksock @gen if one is still open. */
static void fz_pick_gen(struct fuzz *f, struct fuzz_target *t,
			unsigned int gen)
{
	int i;

	for (i = 0; i < FUZZ_SLOTS; i++) {
		if (f->slot[i].fd >= 0 && f->slot[i].gen == gen &&
		    !fz_one_in(f, 16)) {
			fz_use_slot(f, t, i);
			fz_add_target(f, t);
			return;
		}
	}
	fz_pick(f, t);
}

static uint64_t fz_bad_ptr(struct fuzz *f)
{
	switch (fz_below(f, 7)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return (uintptr_t)f->none;
	case 3:
		return (uintptr_t)f->none + f->page - 4;
	case 4:
		return 0xffff800000000000ULL;	/* not canonical on x86-64 */
	case 5:
		return (uintptr_t)-4096L + fz_below(f, 4096);
	default:
		return ~0ULL - fz_below(f, 64);
	}
}

/* A value for a size field: mostly the struct's own. */
static __u32 fz_size(struct fuzz *f, __u32 len)
{
	if (!fz_one_in(f, 8))
		return len;
	switch (fz_below(f, 12)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return 4;
	case 3:
		return len - 1;
	case 4:
		return len - 8;
	case 5:
		return len + 1;
	case 6:
		return len + 8;
	case 7:
		return f->page - 1;
	case 8:
		return f->page;
	case 9:
		return f->page + 1;
	case 10:
		return 0xFFFFFFFF;
	default:
		return len + fz_below(f, 256);
	}
}

/* A non-zero byte somewhere in [@from, @to) of a struct. */
static void fz_poke(struct fuzz *f, void *st, size_t from, size_t to)
{
	((unsigned char *)st)[from + fz_below(f, to - from)] =
		1 + fz_below(f, 255);
	fz_add(f, " poked");
}

/*
 * Put the argument struct @st of @len bytes where the ioctl will find it:
 * mostly at the start of the argument area, sometimes misaligned, ending
 * at the PROT_NONE page after it, straddling that page, read-only (@ro,
 * a valid one, instead of @st) or at an address that is not valid.  The
 * bytes past @len that its size covers are zero, or have one that is not.
 * *@loc is where it is, if wholly in writable memory (for reading the
 * answer), else NULL.
 */
static void *fz_place(struct fuzz *f, const void *st, size_t len,
		      const void *ro, char **loc)
{
	unsigned int r = fz_below(f, 64);
	size_t avail, fill;
	__u32 size;
	uint64_t bad;
	char *p;

	*loc = NULL;
	memcpy(&size, st, sizeof(size));
	fz_add(f, " size %u", size);
	if (r >= 62 || (r == 61 && !ro)) {
		bad = fz_bad_ptr(f);
		fz_add(f, " @%#llx", (unsigned long long)bad);
		return (void *)(uintptr_t)bad;
	}
	if (r == 61) {
		fz_add(f, " @ro");
		return (void *)ro;
	}
	if (r >= 59) {
		p = f->args_end - len + 1 + fz_below(f, len + 3);
		fz_add(f, " @straddle");
	} else if (r >= 56) {
		p = f->args_end - len;
		fz_add(f, " @edge");
	} else if (r >= 52) {
		p = f->args + 1 + fz_below(f, 7);
		fz_add(f, " @+%d", (int)(p - f->args));
	} else {
		p = f->args;
	}
	avail = p < f->args_end ? (size_t)(f->args_end - p) : 0;
	memcpy(p, st, fz_min(len, avail));
	if (size > len && avail > len) {
		fill = fz_min(fz_min(size, avail), f->page + 8) - len;
		memset(p + len, 0, fill);
		if (fz_one_in(f, 3)) {
			p[len + fz_below(f, fill)] = 1 + fz_below(f, 255);
			fz_add(f, " tail!");
		}
	}
	if (avail >= len)
		*loc = p;
	return p;
}

/* ---- Names, data and messages ---- */

static void fz_set_name(struct fuzz *f, const char *s, size_t len)
{
	memcpy(f->name, s, len);
	f->name_len = len;
	f->name[len] = '\0';
}

static void fz_set_str(struct fuzz *f, const char *s)
{
	fz_set_name(f, s, strlen(s));
}

/* Build a name in f->name: valid, a pattern if @wild, or not valid. */
static void fz_gen_name(struct fuzz *f, bool wild)
{
	static const char junk[] = "ABCxyz019.*%-_ $";
	unsigned int r = fz_below(f, 100), i, n;

	if (r < (wild ? 50U : 70U)) {
		fz_set_str(f, fz_names[fz_below(f, ARRAY_SIZE(fz_names))]);
	} else if (r < (wild ? 72U : 74U)) {
		fz_set_str(f,
			   fz_patterns[fz_below(f, ARRAY_SIZE(fz_patterns))]);
	} else if (r < 78) {
		fz_set_str(f, fz_special[fz_below(f, ARRAY_SIZE(fz_special))]);
	} else if (r < 85) {
		n = fz_below(f, ARRAY_SIZE(fz_bad_names));
		if (fz_one_in(f, 8))
			fz_set_name(f, "$.F.A\0B", 7);
		else
			fz_set_str(f, fz_bad_names[n]);
	} else if (r < 89) {
		/* Around the longest name, sometimes a pattern. */
		n = KBUS_MAX_NAME_LEN - 1 + fz_below(f, 3);
		if (fz_one_in(f, 8))
			n = KBUS_MAX_NAME_LEN + 10;
		memcpy(f->name, "$.F.", 4);
		memset(f->name + 4, 'L', n - 4);
		if (wild && fz_one_in(f, 4))
			memcpy(f->name + n - 2, ".*", 2);
		f->name_len = n;
		f->name[n] = '\0';
	} else if (r < 96) {
		memcpy(f->name, "$.F.", 4);
		n = 4 + 1 + fz_below(f, 12);
		for (i = 4; i < n; i++)
			f->name[i] = junk[fz_below(f, sizeof(junk) - 1)];
		f->name_len = n;
		f->name[n] = '\0';
	} else {
		n = 1 + fz_below(f, 40);
		for (i = 0; i < n; i++)
			f->name[i] = fz_rnd(f);
		if (f->name[0] == '$')
			f->name[0] = '#';
		f->name_len = n;
		f->name[n] = '\0';
	}
}

/* Put f->name where a call will read it; its address. */
static __u64 fz_place_name(struct fuzz *f)
{
	unsigned int r = fz_below(f, 32);
	uint64_t bad;
	char *p;

	if (!r) {
		bad = fz_bad_ptr(f);
		fz_add(f, " name@%#llx", (unsigned long long)bad);
		return bad;
	}
	if (r <= 3) {
		/* Ending at the PROT_NONE page: no NUL after it. */
		p = f->names_end - f->name_len;
		fz_add(f, " name@edge");
	} else if (r <= 6) {
		p = f->names + 1 + fz_below(f, 7);
		fz_add(f, " name@+%d", (int)(p - f->names));
	} else {
		p = f->names;
	}
	memcpy(p, f->name, f->name_len);
	if (p + f->name_len < f->names_end)
		p[f->name_len] = fz_one_in(f, 2) ? 'Z' : '\0';
	return (uintptr_t)p;
}

/* A hostile name length. */
static __u32 fz_mut_len(struct fuzz *f, __u32 len)
{
	switch (fz_below(f, 10)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return len ? len - 1 : 0;
	case 3:
		return len + 1;
	case 4:
		return KBUS_MAX_NAME_LEN;
	case 5:
		return KBUS_MAX_NAME_LEN + 1;
	case 6:
		return 0xFFFFFFFF;
	case 7:
		return 0x80000000;
	case 8:
		return 2;
	default:
		return fz_rnd(f);
	}
}

/* A data length and address for a message with an @name_len name. */
static void fz_gen_data(struct fuzz *f, __u32 name_len, __u32 *len,
			__u64 *ptr)
{
	static const __u32 huge[] = {
		0xFFFFFFFF, 0xFFFFFFFC, 0x7FFFFFFF, 0x80000000,
	};
	unsigned int r = fz_below(f, 64);
	int64_t l;

	if (r < 20) {
		l = 0;
	} else if (r < 44) {
		l = 1 + fz_below(f, 64);
	} else if (r < 54) {
		l = fz_below(f, 4097);
	} else if (r < 57) {
		l = fz_below(f, FUZZ_DATA_AREA + 1);
	} else if (r < 60) {
		/* Around the bus's largest message. */
		l = (int64_t)f->max_msg_size -
		    (int64_t)KBUS_ENTIRE_MSG_LEN((__u64)name_len, 0) +
		    (int64_t)fz_below(f, 9) - 4;
		if (l < 0)
			l = 0;
	} else if (r < 62) {
		l = FUZZ_DATA_AREA + fz_below(f, 2);
	} else {
		l = huge[fz_below(f, ARRAY_SIZE(huge))];
	}
	*len = l;
	if (!l) {
		*ptr = fz_one_in(f, 16) ? (uintptr_t)f->data : 0;
		return;
	}
	r = fz_below(f, 32);
	if (r == 0)
		*ptr = 0;
	else if (r == 1)
		*ptr = fz_bad_ptr(f);
	else if (r <= 5 && (__u64)l <= FUZZ_DATA_AREA)
		*ptr = (uintptr_t)(f->data_end - l);
	else
		*ptr = (uintptr_t)f->data;
}

static __u32 fz_msg_flags(struct fuzz *f, bool request)
{
	__u32 fl = request ? KBUS_BIT_WANT_A_REPLY : 0;

	if (fz_one_in(f, 4))
		fl |= KBUS_BIT_URGENT;
	switch (fz_below(f, 12)) {
	case 0:
		fl |= KBUS_BIT_ALL_OR_FAIL;
		break;
	case 1:
	case 2:
		fl |= KBUS_BIT_ALL_OR_WAIT;
		break;
	case 3:
		fl |= KBUS_BIT_ALL_OR_FAIL | KBUS_BIT_ALL_OR_WAIT;
		break;
	}
	if (fz_one_in(f, 8))
		fl |= (__u32)fz_rnd(f) & KBUS_USER_FLAGS_MASK;
	if (fz_one_in(f, 16))
		fl |= fz_one_in(f, 2) ? KBUS_BIT_SYNTHETIC :
					KBUS_BIT_WANT_YOU_TO_REPLY;
	if (fz_one_in(f, 32))
		fl |= 1U << fz_below(f, 16);
	if (fz_one_in(f, 128))
		fl = fz_rnd(f);
	return fl;
}

static void fz_note_id(struct fuzz *f, __u32 id)
{
	if (id)
		f->ids[f->nids++ % FUZZ_NIDS] = id;
}

/* A Ksock id: mostly one seen, else anything. */
static __u32 fz_some_id(struct fuzz *f)
{
	if (f->nids && !fz_one_in(f, 4))
		return f->ids[fz_below(f, fz_min(f->nids, FUZZ_NIDS))];
	return fz_one_in(f, 2) ? fz_below(f, 64) : (__u32)fz_rnd(f);
}

/* One hostile change to a message header. */
static void fz_mut_hdr(struct fuzz *f, struct kbus_message_header *h,
		       bool entire)
{
	switch (fz_below(f, 12)) {
	case 0:
		h->start_guard ^= 1U << fz_below(f, 32);
		fz_add(f, " !start_guard");
		break;
	case 1:
		h->end_guard ^= 1U << fz_below(f, 32);
		fz_add(f, " !end_guard");
		break;
	case 2:
		h->extra = fz_nonzero(f);
		fz_add(f, " !extra");
		break;
	case 3:
		h->__reserved0 = fz_nonzero(f);
		fz_add(f, " !reserved0");
		break;
	case 4:
		h->__reserved1 = fz_nonzero(f);
		fz_add(f, " !reserved1");
		break;
	case 5:
		h->id.network_id = fz_nonzero(f);
		h->id.serial_num = fz_rnd(f);
		fz_add(f, " id %u:%u", h->id.network_id, h->id.serial_num);
		break;
	case 6:
		h->in_reply_to.network_id = fz_one_in(f, 2) ? 0 : fz_rnd(f);
		h->in_reply_to.serial_num = fz_nonzero(f);
		fz_add(f, " in_reply_to %u:%u", h->in_reply_to.network_id,
		       h->in_reply_to.serial_num);
		break;
	case 7:
		h->name_len = fz_mut_len(f, h->name_len);
		fz_add(f, " !name_len %u", h->name_len);
		break;
	case 8:
		h->data_len = fz_one_in(f, 2) ? fz_nonzero(f) :
			      h->data_len + fz_below(f, 9) - 4;
		fz_add(f, " !data_len %u", h->data_len);
		break;
	case 9:
		h->name = entire ? (uintptr_t)f->names : 0;
		fz_add(f, " !name %#llx", (unsigned long long)h->name);
		break;
	case 10:
		h->data = h->data ? 0 : (uintptr_t)f->data;
		fz_add(f, " !data %#llx", (unsigned long long)h->data);
		break;
	default:
		h->to = fz_some_id(f);
		h->orig_from.network_id = fz_rnd(f);
		h->final_to.local_id = fz_rnd(f);
		fz_add(f, " to %u", h->to);
		break;
	}
}

/* Write @n bytes of @src (zeros if NULL) at @off of the @avail at @p. */
static void fz_put(char *p, size_t avail, __u64 off, const void *src,
		   __u64 n)
{
	if (off >= avail)
		return;
	n = fz_min(n, avail - off);
	if (src)
		memcpy(p + off, src, n);
	else
		memset(p + off, 0, n);
}

static void fz_fill(char *p, size_t avail, __u64 off, int c, __u64 n)
{
	if (off >= avail)
		return;
	memset(p + off, c, fz_min(n, avail - off));
}

/*
 * The entire form of @h at @m, as much as fits in @avail bytes: name (and
 * 'A's if the header says it is longer), NUL and padding, data, padding
 * and end guard; now and then a padding byte or the end guard is wrong.
 */
static void fz_build_entire(struct fuzz *f, char *m, size_t avail,
			    const struct kbus_message_header *h)
{
	__u64 nl = h->name_len, dl = h->data_len, off, pad, n;
	__u32 guard = KBUS_MSG_END_GUARD;

	fz_put(m, avail, 0, h, sizeof(*h));
	off = sizeof(*h);
	n = fz_min(nl, f->name_len);
	fz_put(m, avail, off, f->name, n);
	fz_fill(m, avail, off + n, 'A', nl - n);
	off += nl;
	pad = KBUS_PADDED_NAME_LEN(nl) - nl;
	fz_put(m, avail, off, NULL, pad);
	if (fz_one_in(f, 32)) {
		fz_fill(m, avail, off + fz_below(f, pad), 'P', 1);
		fz_add(f, " !name_pad");
	}
	off += pad;
	n = fz_min(dl, FUZZ_DATA_AREA);
	fz_put(m, avail, off, f->data, n);
	fz_put(m, avail, off + n, NULL, dl - n);
	off += dl;
	pad = KBUS_PADDED_DATA_LEN(dl) - dl;
	fz_put(m, avail, off, NULL, pad);
	off += pad;
	if (fz_one_in(f, 32)) {
		guard ^= 1U << fz_below(f, 32);
		fz_add(f, " !final_guard");
	}
	fz_put(m, avail, off, &guard, sizeof(guard));
}

/* ---- Operations ---- */

static void op_close(struct fuzz *f);

static void op_open(struct fuzz *f)
{
	static const int accs[] = {
		O_RDWR, O_RDWR, O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_WRONLY,
	};
	int i = fz_free_slot(f), acc, nb;
	long ret;

	if (i < 0) {
		op_close(f);
		return;
	}
	acc = accs[fz_below(f, ARRAY_SIZE(accs))];
	nb = fz_one_in(f, 5) ? O_NONBLOCK : 0;
	fz_begin(f, "open");
	fz_add(f, " %s%s",
	       acc == O_RDWR ? "O_RDWR" : acc == O_RDONLY ? "O_RDONLY" :
							    "O_WRONLY",
	       nb ? "|O_NONBLOCK" : "");
	fz_pre(f);
	ret = open(KBUS_DEV0, acc | nb | O_CLOEXEC);
	if (ret < 0)
		ret = -errno;
	fz_post(f, ret);
	if (ret < 0) {
		if (!fz_in(fz_ok_open, -ret))
			fz_fail(f, "open failed with %s", fz_errname(-ret));
		return;
	}
	f->slot[i].fd = ret;
	f->slot[i].acc = acc;
	f->slot[i].nonblock = nb;
	f->slot[i].gen = ++f->next_gen;
}

static void op_close(struct fuzz *f)
{
	int open[FUZZ_SLOTS], n = fz_open_slots(f, open), i;
	long ret;

	if (!n) {
		op_open(f);
		return;
	}
	i = open[fz_below(f, n)];
	fz_begin(f, "close");
	fz_add(f, " fd %d (k%u)", f->slot[i].fd, f->slot[i].gen);
	fz_pre(f);
	ret = close(f->slot[i].fd) ? -errno : 0;
	fz_post(f, ret);
	f->slot[i].fd = -1;
	if (ret)
		fz_fail(f, "close failed with %s", fz_errname(-ret));
}

static void op_dup(struct fuzz *f)
{
	int open[FUZZ_SLOTS], n = fz_open_slots(f, open), i, j;
	long ret;

	if (!n) {
		op_open(f);
		return;
	}
	j = fz_free_slot(f);
	if (j < 0) {
		op_close(f);
		return;
	}
	i = open[fz_below(f, n)];
	fz_begin(f, "dup");
	fz_add(f, " fd %d (k%u)", f->slot[i].fd, f->slot[i].gen);
	fz_pre(f);
	ret = dup(f->slot[i].fd);
	if (ret < 0)
		ret = -errno;
	fz_post(f, ret);
	if (ret < 0) {
		if (!fz_in(fz_ok_dup, -ret))
			fz_fail(f, "dup failed with %s", fz_errname(-ret));
		return;
	}
	f->slot[j] = f->slot[i];
	f->slot[j].fd = ret;
}

/* BIND or UNBIND. */
static void op_bind(struct fuzz *f, bool bind)
{
	struct fuzz_target t;
	struct kbus_bind b;
	char *loc;
	void *arg;
	long ret;

	fz_begin(f, bind ? "BIND" : "UNBIND");
	fz_pick(f, &t);
	fz_gen_name(f, true);
	memset(&b, 0, sizeof(b));
	b.size = fz_size(f, sizeof(b));
	b.flags = fz_one_in(f, 3) ? KBUS_BIND_REPLIER : 0;
	if (fz_one_in(f, 32))
		b.flags = fz_nonzero(f);
	b.name_ptr = fz_place_name(f);
	b.name_len = f->name_len;
	fz_add_name(f);
	if (fz_one_in(f, 16)) {
		b.name_len = fz_mut_len(f, b.name_len);
		fz_add(f, " name_len %u", b.name_len);
	}
	if (fz_one_in(f, 32))
		fz_poke(f, &b, offsetof(struct kbus_bind, __reserved),
			sizeof(b));
	fz_add(f, " flags %#x", b.flags);
	arg = fz_place(f, &b, sizeof(b), f->ro + RO_BIND, &loc);
	ret = fz_ioctl(f, t.fd, bind ? KBUS_IOC_BIND : KBUS_IOC_UNBIND, arg);
	if (bind)
		fz_judge(f, &t, ret, fz_ok_bind, t.acc != O_RDWR, "BIND");
	else
		fz_judge(f, &t, ret, fz_ok_unbind, t.acc == O_RDONLY,
			 "UNBIND");
}

static void op_replier(struct fuzz *f)
{
	struct kbus_replier q;
	struct fuzz_target t;
	char *loc;
	void *arg;
	long ret;

	fz_begin(f, "REPLIER");
	fz_pick(f, &t);
	fz_gen_name(f, true);
	memset(&q, 0, sizeof(q));
	q.size = fz_size(f, sizeof(q));
	if (fz_one_in(f, 32))
		q.flags = fz_nonzero(f);
	q.name_ptr = fz_place_name(f);
	q.name_len = f->name_len;
	fz_add_name(f);
	if (fz_one_in(f, 16)) {
		q.name_len = fz_mut_len(f, q.name_len);
		fz_add(f, " name_len %u", q.name_len);
	}
	if (fz_one_in(f, 32))
		fz_poke(f, &q, offsetof(struct kbus_replier, replier_id),
			sizeof(q));
	arg = fz_place(f, &q, sizeof(q), f->ro + RO_REPLIER, &loc);
	ret = fz_ioctl(f, t.fd, KBUS_IOC_REPLIER, arg);
	fz_judge(f, &t, ret, fz_ok_replier, false, "REPLIER");
	if (!ret && loc) {
		memcpy(&q, loc, sizeof(q));
		fz_note_id(f, q.replier_id);
	}
}

/* Remember a request sent, to cancel it. */
static void fz_sent(struct fuzz *f, unsigned int gen,
		    const struct kbus_msg_id *id)
{
	struct fuzz_req *r = &f->sent[f->nsent++ % FUZZ_NREQ];

	r->used = true;
	r->gen = gen;
	r->id = *id;
}

enum { FZ_ANNOUNCE, FZ_REQUEST, FZ_REPLY, FZ_STRAY };

static void op_send(struct fuzz *f)
{
	static const char *const kinds[] = {
		"announce", "request", "reply", "stray reply",
	};
	unsigned int kind = fz_below(f, 16), r;
	struct kbus_message_header h;
	struct fuzz_owed *ow = NULL;
	bool entire = fz_one_in(f, 3);
	__u32 hflags, hnet, msg_len;
	struct fuzz_target t;
	struct kbus_send s;
	size_t area, avail;
	__u64 total, dptr, msg_ptr;
	char *m, *loc;
	void *arg;
	long ret;

	kind = kind < 8 ? FZ_ANNOUNCE : kind < 12 ? FZ_REQUEST :
	       kind < 15 ? FZ_REPLY : FZ_STRAY;
	if (kind == FZ_REPLY) {
		ow = &f->owed[fz_below(f, FUZZ_NOWED)];
		if (!ow->used) {
			ow = NULL;
			kind = FZ_STRAY;
		}
	}
	fz_begin(f, "SENDMSG");
	fz_add(f, " %s %s", kinds[kind], entire ? "entire" : "pointy");
	if (ow) {
		fz_pick_gen(f, &t, ow->gen);
		fz_set_name(f, ow->name, ow->name_len);
	} else {
		fz_pick(f, &t);
		fz_gen_name(f, false);
	}
	fz_add_name(f);

	memset(&h, 0, sizeof(h));
	h.start_guard = KBUS_MSG_START_GUARD;
	h.end_guard = KBUS_MSG_END_GUARD;
	h.name_len = f->name_len;
	fz_gen_data(f, h.name_len, &h.data_len, &dptr);
	if (!entire) {
		h.name = fz_place_name(f);
		h.data = dptr;
	}
	h.flags = fz_msg_flags(f, kind == FZ_REQUEST);
	if (ow) {
		h.in_reply_to = ow->id;
		h.to = ow->from;
		/* Sometimes kept, to reply twice. */
		if (!fz_one_in(f, 4))
			ow->used = false;
	} else if (kind == FZ_STRAY) {
		h.in_reply_to.network_id = fz_one_in(f, 4) ? fz_rnd(f) : 0;
		h.in_reply_to.serial_num = fz_one_in(f, 2) ?
					   1 + fz_below(f, 1 << 16) :
					   fz_nonzero(f);
		h.to = fz_some_id(f);
	} else if (kind == FZ_REQUEST && fz_one_in(f, 4)) {
		h.to = fz_some_id(f);	/* stateful */
	}
	if (fz_one_in(f, 8)) {
		h.orig_from.network_id = fz_rnd(f);
		h.orig_from.local_id = fz_rnd(f);
		h.final_to.network_id = fz_rnd(f);
		h.final_to.local_id = fz_rnd(f);
	}
	fz_add(f, " data %u flags %#x", h.data_len, h.flags);
	if (h.in_reply_to.serial_num || h.to)
		fz_add(f, " re %u:%u to %u", h.in_reply_to.network_id,
		       h.in_reply_to.serial_num, h.to);
	if (fz_one_in(f, 8))
		fz_mut_hdr(f, &h, entire);

	/* Where the message goes. */
	area = f->msg_end - f->msg;
	total = entire ? KBUS_ENTIRE_MSG_LEN((__u64)h.name_len,
					     (__u64)h.data_len) : sizeof(h);
	msg_len = total;
	if (fz_one_in(f, 16)) {
		static const int delta[] = { -4, -1, 1, 4 };

		switch (fz_below(f, 4)) {
		case 0:
			msg_len = 0;
			break;
		case 1:
			msg_len = sizeof(h) - 1;
			break;
		case 2:
			msg_len = entire ? sizeof(h) : 0xFFFFFFFF;
			break;
		default:
			msg_len += delta[fz_below(f, ARRAY_SIZE(delta))];
			break;
		}
		fz_add(f, " !msg_len");
	}
	hflags = h.flags;
	hnet = h.id.network_id;
	r = fz_below(f, 64);
	if (r >= 62) {
		msg_ptr = fz_bad_ptr(f);
		fz_add(f, " msg@%#llx", (unsigned long long)msg_ptr);
	} else if (r == 61) {
		/* A valid pointy header, read-only. */
		msg_ptr = (uintptr_t)(f->ro + RO_HDR);
		msg_len = sizeof(h);
		hflags = 0;
		hnet = 0;
		fz_add(f, " msg@ro");
	} else {
		if (r >= 58) {
			m = f->msg_end - fz_min(total, area);
			fz_add(f, " msg@edge");
		} else if (r >= 56) {
			m = f->msg_end - fz_min(total, area) + 1 +
			    fz_below(f, fz_min(total, 64));
			fz_add(f, " msg@straddle");
		} else if (r >= 52) {
			m = f->msg + 1 + fz_below(f, 3);
			fz_add(f, " msg@+%d", (int)(m - f->msg));
		} else {
			m = f->msg;
		}
		avail = m < f->msg_end ? (size_t)(f->msg_end - m) : 0;
		if (entire)
			fz_build_entire(f, m, avail, &h);
		else
			fz_put(m, avail, 0, &h, sizeof(h));
		msg_ptr = (uintptr_t)m;
	}

	memset(&s, 0, sizeof(s));
	s.size = fz_size(f, sizeof(s));
	s.msg_ptr = msg_ptr;
	s.flags = fz_one_in(f, 2) ? KBUS_SEND_NONBLOCK : 0;
	if (fz_one_in(f, 32))
		s.flags = fz_nonzero(f);
	s.msg_len = msg_len;
	if (fz_one_in(f, 64))
		fz_poke(f, &s, offsetof(struct kbus_send, __reserved),
			sizeof(s));
	/* Never wait for room. */
	if (!t.nonblock && (hflags & KBUS_BIT_ALL_OR_WAIT))
		s.flags |= KBUS_SEND_NONBLOCK;
	fz_add(f, " msg_len %u sflags %#x", s.msg_len, s.flags);
	arg = fz_place(f, &s, sizeof(s), f->ro + RO_SEND, &loc);
	ret = fz_ioctl(f, t.fd, KBUS_IOC_SENDMSG, arg);
	fz_judge(f, &t, ret, fz_ok_send,
		 t.acc == O_RDONLY ||
		 (t.acc == O_WRONLY && (hflags & KBUS_BIT_WANT_A_REPLY)),
		 "SENDMSG");
	if (ret || !loc)
		return;
	memcpy(&s, loc, sizeof(s));
	if (!hnet && (s.id.network_id || !s.id.serial_num))
		fz_fail(f, "SENDMSG succeeded with id %u:%u",
			s.id.network_id, s.id.serial_num);
	if (hflags & KBUS_BIT_WANT_A_REPLY)
		fz_sent(f, t.gen, &s.id);
}

/* Check a message received into our buffer, and note what it asks. */
static void fz_got_msg(struct fuzz *f, const struct fuzz_target *t,
		       const char *buf, __u32 len)
{
	const char *name = buf + sizeof(struct kbus_message_header);
	struct kbus_message_header h;
	struct fuzz_owed *o;
	__u32 guard;

	if (len < KBUS_ENTIRE_MSG_LEN(3, 0))
		fz_fail(f, "RECVMSG: %u bytes, too short for a message", len);
	memcpy(&h, buf, sizeof(h));
	if (h.start_guard != KBUS_MSG_START_GUARD ||
	    h.end_guard != KBUS_MSG_END_GUARD)
		fz_fail(f, "RECVMSG: header guards %#x %#x", h.start_guard,
			h.end_guard);
	if (h.name || h.data || h.extra || h.__reserved0 || h.__reserved1)
		fz_fail(f, "RECVMSG: a header field that must be 0 is not");
	if (KBUS_ENTIRE_MSG_LEN((__u64)h.name_len, (__u64)h.data_len) != len)
		fz_fail(f, "RECVMSG: %u bytes for a name of %u, data of %u",
			len, h.name_len, h.data_len);
	if (h.name_len < 3 || h.name_len > KBUS_MAX_NAME_LEN ||
	    name[0] != '$' || name[1] != '.' || name[h.name_len])
		fz_fail(f, "RECVMSG: a name of %u bytes that is not valid",
			h.name_len);
	memcpy(&guard, buf + len - sizeof(guard), sizeof(guard));
	if (guard != KBUS_MSG_END_GUARD)
		fz_fail(f, "RECVMSG: final guard %#x", guard);
	if ((h.flags & KBUS_BIT_WANT_YOU_TO_REPLY) &&
	    !(h.flags & KBUS_BIT_WANT_A_REPLY))
		fz_fail(f, "RECVMSG: WANT_YOU_TO_REPLY on what is no request");
	fz_note_id(f, h.from);
	if (!(h.flags & KBUS_BIT_WANT_YOU_TO_REPLY))
		return;
	o = &f->owed[f->nowed++ % FUZZ_NOWED];
	o->used = true;
	o->gen = t->gen;
	o->id = h.id;
	o->from = h.from;
	o->name_len = h.name_len;
	memcpy(o->name, name, h.name_len);
}

/*
 * RECVMSG; @guarded: without NONBLOCK, on whatever file, while a repeating
 * timer interrupts it if it waits.
 */
static void fz_recv(struct fuzz *f, bool guarded)
{
	size_t area = f->rbuf_end - f->rbuf;
	struct fuzz_target t;
	unsigned int r;
	struct kbus_recv rv;
	__u32 blen, rflags;
	char *loc, *buf;
	void *arg;
	long ret;

	fz_begin(f, guarded ? "RECVMSG (timer)" : "RECVMSG");
	fz_pick(f, &t);
	memset(&rv, 0, sizeof(rv));
	rv.size = fz_size(f, sizeof(rv));
	rv.flags = fz_one_in(f, 3) ? KBUS_RECV_CREDS : 0;
	if (fz_one_in(f, 32))
		rv.flags = fz_nonzero(f);
	if (guarded)
		rv.flags &= ~KBUS_RECV_NONBLOCK;
	else if (!t.nonblock || fz_one_in(f, 2))
		rv.flags |= KBUS_RECV_NONBLOCK;
	if (fz_one_in(f, 32))
		fz_poke(f, &rv, offsetof(struct kbus_recv, msg_len),
			sizeof(rv));
	switch (fz_below(f, 12)) {
	case 0:
		blen = 0;
		break;
	case 1:
		blen = fz_below(f, KBUS_HDR_LEN + 8);
		break;
	case 2:
		blen = f->last_len;
		break;
	case 3:
		blen = f->last_len ? f->last_len - 1 : 0;
		break;
	case 4:
		blen = 4096;
		break;
	case 5:
		blen = 0xFFFFFFFF;
		break;
	default:
		blen = area;
		break;
	}
	r = fz_below(f, 32);
	if (r == 0) {
		buf = (char *)(uintptr_t)fz_bad_ptr(f);
		fz_add(f, " buf@%p", buf);
	} else if (r == 1) {
		buf = f->ro;
		fz_add(f, " buf@ro");
	} else if (r <= 3) {
		buf = f->rbuf_end - fz_min(blen, area);
		fz_add(f, " buf@edge");
	} else if (r == 4) {
		buf = f->rbuf_end - 100 - fz_below(f, 64);
		fz_add(f, " buf@straddle");
	} else if (r == 5) {
		buf = f->rbuf + 1 + fz_below(f, 3);
		fz_add(f, " buf@+%d", (int)(buf - f->rbuf));
	} else {
		buf = f->rbuf;
	}
	rv.buf_ptr = (uintptr_t)buf;
	rv.buf_len = blen;
	rflags = rv.flags;
	fz_add(f, " buf_len %u flags %#x", blen, rv.flags);
	arg = fz_place(f, &rv, sizeof(rv), f->ro + RO_RECV, &loc);
	ret = fz_ioctl(f, t.fd, KBUS_IOC_RECVMSG, arg);
	fz_judge(f, &t, ret, fz_ok_recv, t.acc == O_WRONLY, "RECVMSG");
	if (!loc)
		return;
	memcpy(&rv, loc, sizeof(rv));
	if (ret == -EMSGSIZE) {
		if (rv.msg_len <= blen)
			fz_fail(f, "RECVMSG: EMSGSIZE with msg_len %u, buf_len %u",
				rv.msg_len, blen);
		f->last_len = rv.msg_len;
	}
	if (ret)
		return;
	if (rv.msg_len > blen)
		fz_fail(f, "RECVMSG: msg_len %u, buf_len %u", rv.msg_len,
			blen);
	if (!(rflags & KBUS_RECV_CREDS) && (rv.pid || rv.uid || rv.gid))
		fz_fail(f, "RECVMSG: credentials %d %u %u without RECV_CREDS",
			rv.pid, rv.uid, rv.gid);
	if (buf >= f->rbuf && buf < f->rbuf_end &&
	    rv.msg_len <= (size_t)(f->rbuf_end - buf))
		fz_got_msg(f, &t, buf, rv.msg_len);
}

static void op_recv(struct fuzz *f, bool guarded)
{
	if (guarded)
		fz_timer(f, 1000 + fz_below(f, 2000), true);
	fz_recv(f, guarded);
	if (guarded)
		fz_timer(f, 0, false);
}

/* KBUS_IOC_CANCEL of a request: mostly one of ours. */
static void op_cancel(struct fuzz *f)
{
	struct fuzz_req *q = &f->sent[fz_below(f, FUZZ_NREQ)];
	struct fuzz_target t;
	struct kbus_cancel c;
	char *loc;
	void *arg;
	long ret;

	fz_begin(f, "CANCEL");
	memset(&c, 0, sizeof(c));
	c.size = fz_size(f, sizeof(c));
	if (q->used && !fz_one_in(f, 4)) {
		fz_pick_gen(f, &t, q->gen);
		c.id = q->id;
	} else {
		fz_pick(f, &t);
		switch (fz_below(f, 3)) {
		case 0:
			break;
		case 1:
			c.id.serial_num = fz_below(f, 1 << 16);
			break;
		default:
			c.id.network_id = fz_rnd(f);
			c.id.serial_num = fz_rnd(f);
			break;
		}
	}
	if (fz_one_in(f, 32))
		c.flags = fz_nonzero(f);
	fz_add(f, " id %u:%u flags %#x", c.id.network_id, c.id.serial_num,
	       c.flags);
	arg = fz_place(f, &c, sizeof(c), f->ro + RO_CANCEL, &loc);
	ret = fz_ioctl(f, t.fd, KBUS_IOC_CANCEL, arg);
	fz_judge(f, &t, ret, fz_ok_cancel, false, "CANCEL");
}

/* KBUS_IOC_CANCEL with no argument. */
static void op_cancel_all(struct fuzz *f)
{
	struct fuzz_target t;
	long ret;

	fz_begin(f, "CANCEL (no argument)");
	fz_pick(f, &t);
	ret = fz_ioctl(f, t.fd, KBUS_IOC_CANCEL, NULL);
	fz_judge(f, &t, ret, fz_ok_none, false, "CANCEL(0)");
}

static void op_info(struct fuzz *f)
{
	struct kbus_ksock_info in;
	struct fuzz_target t;
	char *loc;
	void *arg;
	long ret;

	fz_begin(f, "KSOCK_INFO");
	fz_pick(f, &t);
	memset(&in, 0, sizeof(in));
	in.size = fz_size(f, sizeof(in));
	if (fz_one_in(f, 16))
		fz_poke(f, &in, offsetof(struct kbus_ksock_info, flags),
			sizeof(in));
	arg = fz_place(f, &in, sizeof(in), f->ro + RO_INFO, &loc);
	ret = fz_ioctl(f, t.fd, KBUS_IOC_KSOCK_INFO, arg);
	fz_judge(f, &t, ret, fz_ok_info, false, "KSOCK_INFO");
	if (ret || !loc)
		return;
	memcpy(&in, loc, sizeof(in));
	if (in.abi_version != KBUS_ABI_VERSION || !in.ksock_id)
		fz_fail(f, "KSOCK_INFO: ABI version %u, Ksock id %u",
			in.abi_version, in.ksock_id);
	fz_note_id(f, in.ksock_id);
}

static __u32 fz_opt_number(struct fuzz *f, bool set)
{
	static const __u32 junk[] = { 0, 7, 8, 0x100, 0xFFFFFFFF };
	unsigned int r = fz_below(f, 100);

	if (!set)
		return r < 85 ? 1 + fz_below(f, 6) :
		       r < 95 ? junk[fz_below(f, ARRAY_SIZE(junk))] :
				(__u32)fz_rnd(f);
	if (r < 30)
		return KBUS_OPT_MAX_MSGS;
	if (r < 50)
		return KBUS_OPT_ONLY_ONCE;
	if (r < 70)
		return KBUS_OPT_MAX_BYTES;
	if (r < 75)
		return KBUS_OPT_REPORT_REPLIER_BINDS;
	if (r < 78)
		return KBUS_OPT_MAX_MSG_SIZE;
	if (r < 83)
		return KBUS_OPT_ABS_MAX_MSG_SIZE;
	return r < 95 ? junk[fz_below(f, ARRAY_SIZE(junk))] : (__u32)fz_rnd(f);
}

static __u64 fz_opt_value(struct fuzz *f, __u32 option)
{
	static const __u64 msgs[] = {
		0, 1, 2, 10, 100, 1000, KBUS_MAX_MAX_MSGS,
		KBUS_MAX_MAX_MSGS + 1,
	};
	static const __u64 bytes[] = {
		0, 1, 4096, 2U << 20, 16U << 20, (16U << 20) + 1, 1ULL << 40,
		~0ULL,
	};

	if (fz_one_in(f, 16))
		return fz_rnd(f);
	switch (option) {
	case KBUS_OPT_MAX_MSGS:
		return msgs[fz_below(f, ARRAY_SIZE(msgs))];
	case KBUS_OPT_ONLY_ONCE:
	case KBUS_OPT_REPORT_REPLIER_BINDS:
		return fz_below(f, 3);
	case KBUS_OPT_MAX_MSG_SIZE:
		switch (fz_below(f, 8)) {
		case 0:
			return KBUS_MIN_MAX_MSG_SIZE - 1;
		case 1:
			return KBUS_MIN_MAX_MSG_SIZE;
		case 2:
			return f->abs_max;
		case 3:
			return f->abs_max + 1;
		default:
			/* Mostly room for the messages of the fuzz. */
			return f->abs_max > 1000 ?
			       1000 + fz_rnd(f) % (f->abs_max - 999) : 1000;
		}
	case KBUS_OPT_MAX_BYTES:
		return bytes[fz_below(f, ARRAY_SIZE(bytes))];
	default:
		return fz_below(f, 4);
	}
}

/* Whether @value is within the documented range of @option. */
static bool fz_opt_ok(struct fuzz *f, __u32 option, __u64 value)
{
	switch (option) {
	case KBUS_OPT_MAX_MSGS:
		return value >= 1 && value <= KBUS_MAX_MAX_MSGS;
	case KBUS_OPT_ONLY_ONCE:
	case KBUS_OPT_REPORT_REPLIER_BINDS:
		return value <= 1;
	case KBUS_OPT_MAX_MSG_SIZE:
		return value >= KBUS_MIN_MAX_MSG_SIZE && value <= f->abs_max;
	case KBUS_OPT_MAX_BYTES:
		return value >= 1;
	default:
		return false;
	}
}

/* GET_OPTION or SET_OPTION. */
static void op_option(struct fuzz *f, bool set)
{
	struct fuzz_target t;
	struct kbus_option o;
	char *loc;
	void *arg;
	long ret;

	fz_begin(f, set ? "SET_OPTION" : "GET_OPTION");
	fz_pick(f, &t);
	memset(&o, 0, sizeof(o));
	o.size = fz_size(f, sizeof(o));
	o.option = fz_opt_number(f, set);
	if (set)
		o.value = fz_opt_value(f, o.option);
	if (fz_one_in(f, 32))
		fz_poke(f, &o, offsetof(struct kbus_option, flags),
			set ? offsetof(struct kbus_option, value) : sizeof(o));
	fz_add(f, " option %u value %llu", o.option,
	       (unsigned long long)o.value);
	arg = fz_place(f, &o, sizeof(o), f->ro + RO_OPTION, &loc);
	ret = fz_ioctl(f, t.fd, set ? KBUS_IOC_SET_OPTION : KBUS_IOC_GET_OPTION,
		       arg);
	fz_judge(f, &t, ret, set ? fz_ok_set : fz_ok_get, false,
		 set ? "SET_OPTION" : "GET_OPTION");
	if (ret || !loc)
		return;
	memcpy(&o, loc, sizeof(o));
	if (!set && o.option == KBUS_OPT_ABS_MAX_MSG_SIZE) {
		if (o.value != f->abs_max)
			fz_fail(f, "GET_OPTION: absolute maximum %llu, was %llu",
				(unsigned long long)o.value,
				(unsigned long long)f->abs_max);
		return;
	}
	if (!fz_opt_ok(f, o.option, o.value))
		fz_fail(f, "%s succeeded: option %u, value %llu",
			set ? "SET_OPTION" : "GET_OPTION", o.option,
			(unsigned long long)o.value);
	if (o.option == KBUS_OPT_MAX_MSG_SIZE)
		f->max_msg_size = o.value;
}

static void op_poll(struct fuzz *f)
{
	static const short evs[] = {
		POLLIN, POLLOUT, POLLIN | POLLOUT, 0,
		POLLIN | POLLOUT | POLLPRI | POLLRDHUP, -1,
	};
	const short ok = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
	struct fuzz_target t[4];
	struct pollfd p[4];
	unsigned int n = 1 + fz_below(f, 4), i, ready = 0;
	long ret;

	fz_begin(f, "poll");
	for (i = 0; i < n; i++) {
		fz_pick(f, &t[i]);
		p[i].fd = t[i].fd;
		p[i].events = evs[fz_below(f, ARRAY_SIZE(evs))];
		p[i].revents = 0;
		fz_add(f, "/%#hx", p[i].events);
	}
	fz_pre(f);
	ret = poll(p, n, 0);
	if (ret < 0)
		ret = -errno;
	fz_post(f, ret);
	if (ret < 0) {
		if (!fz_in(fz_ok_poll, -ret))
			fz_fail(f, "poll failed with %s", fz_errname(-ret));
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i].revents)
			ready++;
		if (t[i].slot >= 0 ? p[i].revents & ~ok :
		    p[i].fd >= 0 ? p[i].revents != POLLNVAL : p[i].revents)
			fz_fail(f, "poll: revents %#hx for fd %d", p[i].revents,
				p[i].fd);
	}
	if ((long)ready != ret)
		fz_fail(f, "poll returned %ld for %u ready", ret, ready);
}

static bool fz_kbus_cmd(unsigned long cmd)
{
	return _IOC_TYPE(cmd) == KBUS_IOC_MAGIC && _IOC_DIR(cmd) == _IOC_NONE &&
	       !_IOC_SIZE(cmd) && _IOC_NR(cmd) >= 1 && _IOC_NR(cmd) <= 12;
}

/*
 * An ioctl number KBUS does not have: 0, 13 to 255, the numbers of KBUS
 * with a direction or size, and other magics (none the VFS handles).
 */
static unsigned long fz_unknown_cmd(struct fuzz *f)
{
	static const unsigned char magics[] = { 0xB8, 0xBA, 'k', 0xFE };
	unsigned long cmd;

	do {
		switch (fz_below(f, 4)) {
		case 0:
			cmd = _IO(KBUS_IOC_MAGIC, 0);
			break;
		case 1:
			cmd = _IO(KBUS_IOC_MAGIC, 13 + fz_below(f, 243));
			break;
		case 2:
			cmd = _IOC(1 + fz_below(f, 3), KBUS_IOC_MAGIC,
				   1 + fz_below(f, 10), fz_below(f, 64));
			break;
		default:
			cmd = _IOC(fz_below(f, 4),
				   magics[fz_below(f, ARRAY_SIZE(magics))],
				   fz_below(f, 256), fz_below(f, 64));
			break;
		}
	} while (fz_kbus_cmd(cmd));
	return cmd;
}

static void *fz_any_arg(struct fuzz *f)
{
	if (fz_one_in(f, 2))
		return (void *)(uintptr_t)fz_bad_ptr(f);
	memset(f->args, 0, 64);
	return f->args;
}

/*
 * SENDRECV: an announcement sent without waiting, then a receive without
 * waiting, each struct and the outer one now and then hostile.
 */
static void op_sendrecv(struct fuzz *f)
{
	static const char name[] = "$.Fuzz.SendRecv";
	struct kbus_message_header h;
	struct kbus_sendrecv sr;
	struct fuzz_target t;
	struct kbus_send sd;
	struct kbus_recv rv;
	void *arg;
	long ret;

	fz_begin(f, "SENDRECV");
	fz_pick(f, &t);
	memset(&h, 0, sizeof(h));
	h.start_guard = KBUS_MSG_START_GUARD;
	h.end_guard = KBUS_MSG_END_GUARD;
	h.name = (uintptr_t)name;
	h.name_len = sizeof(name) - 1;
	memset(&sd, 0, sizeof(sd));
	sd.size = fz_size(f, sizeof(sd));
	sd.flags = KBUS_SEND_NONBLOCK;
	sd.msg_ptr = fz_one_in(f, 16) ? fz_bad_ptr(f) : (uintptr_t)&h;
	sd.msg_len = sizeof(h);
	memset(&rv, 0, sizeof(rv));
	rv.size = fz_size(f, sizeof(rv));
	rv.flags = KBUS_RECV_NONBLOCK | (fz_one_in(f, 3) ? KBUS_RECV_CREDS : 0);
	rv.buf_ptr = fz_one_in(f, 16) ? fz_bad_ptr(f) : (uintptr_t)f->rbuf;
	rv.buf_len = f->rbuf_end - f->rbuf;
	memset(&sr, 0, sizeof(sr));
	sr.size = fz_size(f, sizeof(sr));
	sr.flags = fz_one_in(f, 32) ? fz_nonzero(f) : 0;
	sr.send_ptr = fz_one_in(f, 16) ? fz_bad_ptr(f) : (uintptr_t)&sd;
	sr.recv_ptr = fz_one_in(f, 16) ? fz_bad_ptr(f) : (uintptr_t)&rv;
	arg = fz_one_in(f, 16) ? (void *)(uintptr_t)fz_bad_ptr(f) : &sr;
	fz_add(f, " sizes %u %u %u flags %#x%s", sr.size, sd.size, rv.size,
	       sr.flags, arg == &sr ? "" : " arg@bad");
	ret = fz_ioctl(f, t.fd, KBUS_IOC_SENDRECV, arg);
	fz_judge(f, &t, ret, fz_ok_sendrecv, t.acc != O_RDWR, "SENDRECV");
	if (ret)
		return;
	if (sd.id.network_id || !sd.id.serial_num)
		fz_fail(f, "SENDRECV succeeded with id %u:%u",
			sd.id.network_id, sd.id.serial_num);
	fz_got_msg(f, &t, f->rbuf, rv.msg_len);
}

static void op_unknown(struct fuzz *f)
{
	unsigned long cmd = fz_unknown_cmd(f);
	struct fuzz_target t;
	void *arg;
	long ret;

	fz_begin(f, "ioctl");
	fz_pick(f, &t);
	arg = fz_any_arg(f);
	fz_add(f, " cmd %#lx arg %p", cmd, arg);
	ret = fz_ioctl(f, t.fd, cmd, arg);
	fz_judge(f, &t, ret, fz_ok_unknown, false, "unknown ioctl");
}

/* Any ioctl of a Ksock on a number that is not open. */
static void op_not_open(struct fuzz *f)
{
	static const unsigned long cmds[] = {
		KBUS_IOC_BIND, KBUS_IOC_UNBIND, KBUS_IOC_REPLIER,
		KBUS_IOC_SENDMSG, KBUS_IOC_RECVMSG, KBUS_IOC_CANCEL,
		KBUS_IOC_KSOCK_INFO, KBUS_IOC_GET_OPTION, KBUS_IOC_SET_OPTION,
		KBUS_IOC_SENDRECV,
	};
	unsigned long cmd;
	struct fuzz_target t;
	void *arg;
	long ret;

	cmd = fz_one_in(f, 8) ? fz_unknown_cmd(f) :
				cmds[fz_below(f, ARRAY_SIZE(cmds))];
	fz_begin(f, "ioctl");
	fz_not_open(f, &t);
	fz_add_target(f, &t);
	arg = fz_any_arg(f);
	fz_add(f, " cmd %#lx arg %p", cmd, arg);
	ret = fz_ioctl(f, t.fd, cmd, arg);
	fz_judge(f, &t, ret, fz_ok_unknown, false, "ioctl");
}

static void fz_step(struct fuzz *f)
{
	unsigned int r = fz_below(f, 1000);

	if (r < 240)
		op_send(f);
	else if (r < 250)
		op_sendrecv(f);
	else if (r < 510)
		op_recv(f, false);
	else if (r < 513)
		op_recv(f, true);
	else if (r < 593)
		op_bind(f, true);
	else if (r < 653)
		op_bind(f, false);
	else if (r < 693)
		op_replier(f);
	else if (r < 733)
		op_info(f);
	else if (r < 773)
		op_option(f, false);
	else if (r < 803)
		op_option(f, true);
	else if (r < 833)
		op_cancel(f);
	else if (r < 843)
		op_cancel_all(f);
	else if (r < 893)
		op_poll(f);
	else if (r < 918)
		op_unknown(f);
	else if (r < 938)
		op_not_open(f);
	else if (r < 963)
		op_open(f);
	else if (r < 983)
		op_close(f);
	else if (r < 998)
		op_dup(f);
	else
		/* Now and then a signal, to interrupt whatever runs then. */
		fz_timer(f, 1000 + fz_below(f, 9001), false);
}

/* ---- A child ---- */

/* @len bytes of memory, then a PROT_NONE page; its end in *@end. */
static char *fz_map(size_t len, size_t page, char **end)
{
	char *p = mmap(NULL, len + page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + len, page, PROT_NONE))
		return NULL;
	*end = p + len;
	return p;
}

/* The read-only page: a valid argument of each kind. */
static int fz_build_ro(struct fuzz *f)
{
	struct kbus_message_header h;
	char *p = f->ro;
	struct kbus_bind b = {
		.size = sizeof(b),
		.name_ptr = (uintptr_t)(p + RO_NAME),
		.name_len = strlen(FZ_RO_NAME),
	};
	struct kbus_replier q = {
		.size = sizeof(q),
		.name_ptr = (uintptr_t)(p + RO_NAME),
		.name_len = strlen(FZ_RO_NAME),
	};
	struct kbus_send s = {
		.size = sizeof(s),
		.flags = KBUS_SEND_NONBLOCK,
		.msg_ptr = (uintptr_t)(p + RO_HDR),
		.msg_len = sizeof(h),
	};
	struct kbus_recv r = {
		.size = sizeof(r),
		.flags = KBUS_RECV_NONBLOCK,
		.buf_ptr = (uintptr_t)f->rbuf,
		.buf_len = f->rbuf_end - f->rbuf,
	};
	struct kbus_ksock_info in = { .size = sizeof(in) };
	struct kbus_option o = {
		.size = sizeof(o),
		.option = KBUS_OPT_MAX_MSGS,
	};
	struct kbus_cancel c = { .size = sizeof(c), .id = { 0, 1 } };

	memcpy(p + RO_NAME, FZ_RO_NAME, sizeof(FZ_RO_NAME));
	kbus_msg_init(&h, p + RO_NAME, NULL, 0);
	memcpy(p + RO_BIND, &b, sizeof(b));
	memcpy(p + RO_REPLIER, &q, sizeof(q));
	memcpy(p + RO_SEND, &s, sizeof(s));
	memcpy(p + RO_RECV, &r, sizeof(r));
	memcpy(p + RO_HDR, &h, sizeof(h));
	memcpy(p + RO_INFO, &in, sizeof(in));
	memcpy(p + RO_OPTION, &o, sizeof(o));
	memcpy(p + RO_CANCEL, &c, sizeof(c));
	return mprotect(p, f->page, PROT_READ);
}

static int fz_setup(struct fuzz *f)
{
	size_t page = f->page, big = FUZZ_DATA_AREA + 2 * page;
	char *end;
	size_t i;

	f->args = fz_map(2 * page, page, &f->args_end);
	f->names = fz_map(2 * page, page, &f->names_end);
	f->msg = fz_map(big, page, &f->msg_end);
	f->data = fz_map(FUZZ_DATA_AREA, page, &f->data_end);
	f->rbuf = fz_map(big, page, &f->rbuf_end);
	f->ro = fz_map(page, page, &end);
	f->none = end;
	if (!f->args || !f->names || !f->msg || !f->data || !f->rbuf ||
	    !f->ro)
		return -1;
	for (i = 0; i < FUZZ_DATA_AREA; i += sizeof(uint64_t)) {
		uint64_t x = fz_rnd(f);

		memcpy(f->data + i, &x, sizeof(x));
	}
	for (i = 0; i < FUZZ_SLOTS; i++)
		f->slot[i].fd = -1;
	return fz_build_ro(f);
}

/* Close every file but 0, 1 and 2: the children share no Ksock. */
static void fz_close_rest(void)
{
	int fd;

#ifdef SYS_close_range
	if (!syscall(SYS_close_range, 3U, ~0U, 0U))
		return;
#endif
	for (fd = 3; fd < 1024; fd++)
		close(fd);
}

static struct fuzz fz_self;

static void __noreturn
fz_child(struct fuzz_shared *sh, int index, unsigned long long seed,
	 unsigned long quota, __u64 max_msg_size, __u64 abs_max,
	 time_t deadline, pid_t parent)
{
	struct fuzz *f = &fz_self;
	struct sigaction sa;
	struct timespec now;
	unsigned long n = 0;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	fz_close_rest();
	memset(f, 0, sizeof(*f));
	f->sh = sh;
	f->index = index;
	f->seed = seed;
	f->rng = fz_mix(seed + index) | 1;
	f->quota = quota;
	f->page = sysconf(_SC_PAGESIZE);
	f->max_msg_size = max_msg_size;
	f->abs_max = abs_max;
	if (fz_setup(f)) {
		fprintf(stderr, "# fuzz: child %d cannot set up its memory: %s\n",
			index, strerror(errno));
		sh->state = FZ_FAILED;
		_exit(2);
	}
	/* No SA_RESTART: a call that waits is interrupted. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fz_on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	for (i = 0; i < FUZZ_SLOTS / 2; i++)
		op_open(f);
	while (sh->calls < quota) {
		if (!(++n % 256)) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec >= deadline) {
				sh->state = FZ_LATE;
				_exit(0);
			}
		}
		fz_step(f);
	}
	sh->state = FZ_DONE;
	_exit(0);
}

/* ---- The test ---- */

FIXTURE(fuzz) {
	bool saved;
	__u64 report_was;
	__u64 size_was;
	__u64 abs_max;
};

FIXTURE_SETUP(fuzz)
{
	int fd = kbus_open_path(_metadata, KBUS_DEV0, O_RDWR);

	if (fd < 0)
		return;
	ASSERT_EQ(0, kbus_get_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS,
				  &self->report_was));
	ASSERT_EQ(0, kbus_get_opt(fd, KBUS_OPT_MAX_MSG_SIZE, &self->size_was));
	ASSERT_EQ(0, kbus_get_opt(fd, KBUS_OPT_ABS_MAX_MSG_SIZE,
				  &self->abs_max));
	close(fd);
	self->saved = true;
}

/* Put the bus-wide options back, from a new Ksock. */
static void fz_restore(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fuzz) *self)
{
	int fd = open(KBUS_DEV0, O_RDWR | O_CLOEXEC);
	__u64 val;

	EXPECT_LE(0, fd)
		TH_LOG("cannot open " KBUS_DEV0 ": %s", strerror(errno));
	if (fd < 0)
		return;
	EXPECT_EQ(0, kbus_get_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS, &val));
	if (val != self->report_was)
		EXPECT_EQ(0, kbus_set_opt(fd, KBUS_OPT_REPORT_REPLIER_BINDS,
					  self->report_was));
	EXPECT_EQ(0, kbus_get_opt(fd, KBUS_OPT_MAX_MSG_SIZE, &val));
	if (val != self->size_was)
		EXPECT_EQ(0, kbus_set_opt(fd, KBUS_OPT_MAX_MSG_SIZE,
					  self->size_was));
	EXPECT_EQ(self->report_was,
		  kbus_opt(_metadata, fd, KBUS_OPT_REPORT_REPLIER_BINDS));
	EXPECT_EQ(self->size_was,
		  kbus_opt(_metadata, fd, KBUS_OPT_MAX_MSG_SIZE));
	close(fd);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->saved)
		fz_restore(_metadata, self);
}

/* An unsigned number from the environment, or @def. */
static bool fz_env(const char *name, unsigned long long def,
		   unsigned long long *val, bool *given)
{
	const char *s = getenv(name);
	char *end;

	*val = def;
	*given = false;
	if (!s || !*s)
		return true;
	errno = 0;
	*val = strtoull(s, &end, 0);
	*given = true;
	return !errno && !*end && *s != '-';
}

/* After the fuzz: nothing is left bound, and messages still go round. */
static void fz_health(struct __test_metadata *_metadata)
{
	struct kbus_entire_message *m;
	struct kbus_msg_id id;
	int l, rp, rq;
	__u32 rid;
	size_t i;

	l = kbus_open(_metadata);
	rp = kbus_open(_metadata);
	rq = kbus_open(_metadata);
	for (i = 0; i < ARRAY_SIZE(fz_names) + ARRAY_SIZE(fz_patterns); i++) {
		const char *name = i < ARRAY_SIZE(fz_names) ? fz_names[i] :
				   fz_patterns[i - ARRAY_SIZE(fz_names)];

		EXPECT_EQ(0, kbus_replier(l, name, &rid));
		EXPECT_EQ(0U, rid)
			TH_LOG("%s still has replier %u", name, rid);
	}

	ASSERT_EQ(0, kbus_bind(l, "$.F.Health", false));
	ASSERT_EQ(0, kbus_bind(rp, "$.F.Health.Svc", true));
	ASSERT_EQ(0, kbus_announce(rq, "$.F.Health", "ok", 2, &id));
	m = kbus_recv(_metadata, l);
	kbus_check_msg(_metadata, m, "$.F.Health", "ok", 2,
		       kbus_ksock_id(_metadata, rq));
	EXPECT_EQ(id.serial_num, m->header.id.serial_num);
	free(m);

	ASSERT_EQ(0, kbus_request(rq, "$.F.Health.Svc", "q", 1, 0, &id));
	m = kbus_recv(_metadata, rp);
	EXPECT_NE(0U, m->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY);
	ASSERT_EQ(0, kbus_reply(rp, m, "a", 1, NULL));
	free(m);
	m = kbus_recv(_metadata, rq);
	kbus_check_msg(_metadata, m, "$.F.Health.Svc", "a", 1,
		       kbus_ksock_id(_metadata, rp));
	EXPECT_EQ(id.serial_num, m->header.in_reply_to.serial_num);
	free(m);

	kbus_expect_empty(_metadata, l);
	kbus_expect_empty(_metadata, rp);
	kbus_expect_empty(_metadata, rq);
	close(l);
	close(rp);
	close(rq);
}

TEST_F_TIMEOUT(fuzz, every_call, FUZZ_TEST_SECS)
{
	unsigned long long seed, calls, procs, total = 0, errnos = 0;
	bool seed_given, given, done[FUZZ_MAX_PROCS] = { false };
	int status[FUZZ_MAX_PROCS], i, left, e;
	pid_t pid[FUZZ_MAX_PROCS], parent = getpid();
	struct fuzz_shared *sh;
	struct timespec now;
	time_t soft, hard;
	unsigned long long hist[FUZZ_NERRNO] = { 0 };
	bool timed_out = false;

	ASSERT_TRUE(fz_env("KBUS_FUZZ_CALLS", FUZZ_DEF_CALLS, &calls, &given))
		TH_LOG("KBUS_FUZZ_CALLS is not a number");
	ASSERT_TRUE(fz_env("KBUS_FUZZ_PROCS", FUZZ_DEF_PROCS, &procs, &given))
		TH_LOG("KBUS_FUZZ_PROCS is not a number");
	ASSERT_TRUE(procs >= 1 && procs <= FUZZ_MAX_PROCS)
		TH_LOG("KBUS_FUZZ_PROCS must be 1 to %d", FUZZ_MAX_PROCS);
	ASSERT_TRUE(fz_env("KBUS_FUZZ_SEED", 0, &seed, &seed_given))
		TH_LOG("KBUS_FUZZ_SEED is not a number");
	ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &now));
	if (!seed_given)
		seed = (unsigned long long)now.tv_sec * 1000 +
		       now.tv_nsec / 1000000;
	ksft_print_msg("fuzz: seed %llu%s, %llu processes, %llu system calls\n",
		       seed, seed_given ? "" : " (from the clock)", procs,
		       calls);
	ksft_print_msg("fuzz: to repeat: KBUS_FUZZ_SEED=%llu ", seed);
	printf("KBUS_FUZZ_PROCS=%llu KBUS_FUZZ_CALLS=%llu\n", procs, calls);

	sh = mmap(NULL, procs * sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, procs * sizeof(*sh));

	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &now));
	soft = now.tv_sec + FUZZ_SOFT_SECS;
	hard = now.tv_sec + FUZZ_HARD_SECS;
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < (int)procs; i++) {
		unsigned long quota = calls / procs +
				      ((__u64)i < calls % procs);

		pid[i] = fork();
		if (!pid[i])
			fz_child(&sh[i], i, seed, quota, self->size_was,
				 self->abs_max, soft, parent);
		if (pid[i] < 0) {
			done[i] = true;
			status[i] = 0;
			EXPECT_LE(0, pid[i])
				TH_LOG("fork: %s", strerror(errno));
		}
	}

	/* Wait for the children, killing them at the deadline. */
	for (;;) {
		left = 0;
		for (i = 0; i < (int)procs; i++) {
			if (done[i])
				continue;
			if (waitpid(pid[i], &status[i], WNOHANG) == pid[i])
				done[i] = true;
			else
				left++;
		}
		if (!left)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= hard) {
			timed_out = true;
			for (i = 0; i < (int)procs; i++) {
				if (done[i])
					continue;
				kill(pid[i], SIGKILL);
				waitpid(pid[i], &status[i], 0);
				TH_LOG("child %d did not finish in %d s: killed",
				       i, FUZZ_HARD_SECS);
				fz_dump_ring(&sh[i], i);
				status[i] = -1;
				done[i] = true;
			}
			break;
		}
		poll(NULL, 0, 20);
	}
	EXPECT_FALSE(timed_out)
		TH_LOG("seed %llu: a child hung", seed);

	for (i = 0; i < (int)procs; i++) {
		if (pid[i] < 0 || status[i] == -1)
			continue;
		if (WIFSIGNALED(status[i])) {
			EXPECT_FALSE(WIFSIGNALED(status[i]))
				TH_LOG("seed %llu: child %d killed by signal %d (%s)",
				       seed, i, WTERMSIG(status[i]),
				       strsignal(WTERMSIG(status[i])));
			fz_dump_ring(&sh[i], i);
		} else if (WEXITSTATUS(status[i])) {
			EXPECT_EQ(0, WEXITSTATUS(status[i]))
				TH_LOG("seed %llu: child %d failed", seed, i);
		} else if (sh[i].state == FZ_LATE) {
			TH_LOG("child %d ran out of time after %lu calls",
			       i, sh[i].calls);
		}
	}

	for (i = 0; i < (int)procs; i++) {
		total += sh[i].calls;
		errnos += sh[i].errnos;
		for (e = 0; e < FUZZ_NERRNO; e++)
			hist[e] += sh[i].hist[e];
	}
	ksft_print_msg("fuzz: seed %llu, %llu processes, %llu system calls, %llu errnos seen\n",
		       seed, procs, total, errnos);
	ksft_print_msg("fuzz:   %-14s %llu\n", "success", hist[0]);
	for (e = 1; e < FUZZ_NERRNO; e++) {
		if (hist[e])
			ksft_print_msg("fuzz:   %-14s %llu\n",
				       e == FUZZ_NERRNO - 1 ? "other" :
				       fz_errname(e), hist[e]);
	}
	EXPECT_LE(calls, total)
		TH_LOG("seed %llu: only %llu of %llu calls made", seed, total,
		       calls);
	munmap(sh, procs * sizeof(*sh));

	/* Every Ksock of the children is closed; the bus must work. */
	fz_restore(_metadata, self);
	fz_health(_metadata);
}

TEST_HARNESS_MAIN
