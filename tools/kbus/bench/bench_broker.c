// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS benchmark - a userspace message broker, the baseline that KBUS
 * replaces
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * broker_start() forks a broker process: one thread at the normal
 * priority (SCHED_OTHER, nice 0), as brokers are deployed, waiting in
 * epoll_wait() on a listening AF_UNIX SOCK_SEQPACKET socket with an
 * abstract address and on one connection per client.  Each client gets
 * an id at accept(), never reused.  The broker keeps a hash table of the
 * names bound (exact names, no wildcards), each with its listener
 * bindings and at most one replier, and a hash table of the requests it
 * forwarded that are still owed a reply.
 *
 * It reads each datagram into one buffer (one copy in), writes the
 * sender's id into the header there, and sends that buffer to each
 * recipient (one copy out per recipient), as real brokers do:
 *
 *   BIND, UNBIND  answered with a STATUS: 0, EADDRINUSE (another replier
 *                 has the name) or EINVAL (no such binding).
 *   ANNOUNCE      to each listener binding of the name.
 *   REQUEST       recorded, then to the replier (marked
 *                 BROKER_F_YOU_REPLY) and to each listener binding; if
 *                 the name has no replier, the requester gets a STATUS
 *                 EADDRNOTAVAIL instead.
 *   REPLY         to the requester, if the sender is the replier that the
 *                 request went to (the record goes); otherwise the sender
 *                 gets a STATUS ECONNREFUSED.
 *
 * A message's @id is the sender's (a counter of the sending process), so
 * that broker_send() can return it without a round trip; the broker
 * writes the sender's client id into @from, and knows a request by both,
 * which its REPLY names in @to and @in_reply_to.
 *
 * When a client goes away (end of file, EPOLLHUP), its bindings go, and
 * each request it owed as the replier is answered with a STATUS
 * ECONNRESET to its requester: the "replier gone away" that KBUS
 * guarantees, without which the comparison would not be fair.  The
 * records of the requests it sent go too.
 *
 * Sends to clients block: a recipient whose socket is full holds up the
 * whole broker until it reads, which is simpler than a queue per client
 * and loses nothing.  Only the listeners' copies of an ANNOUNCE or
 * REQUEST without BROKER_F_WAIT skip a full listener instead (it misses
 * the message, as a KBUS listener with a full queue does).  So a client
 * must not block in a send while the broker may be blocked sending to
 * it, or both wait for ever; the benchmark's clients never do.  A client
 * that breaks the protocol is disconnected.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_broker.h"

#define BROKER_HASH	256	/* buckets of each hash table */
#define BROKER_EVENTS	64	/* events per epoll_wait() */
#define BROKER_BUF_LEN							\
	(sizeof(struct broker_hdr) + BROKER_MAX_NAME + BROKER_MAX_DATA)

/* A name bound by a client at least: its replier and its listeners. */
struct bname {
	struct bname *next;	/* in its hash chain */
	__u32 replier;		/* client id of the replier, 0 for none */
	__u32 nr;		/* listener bindings */
	__u32 room;		/* entries allocated at @listeners */
	__u32 *listeners;	/* client id of each listener binding */
	__u32 len;
	char name[];
};

/* A request forwarded to its replier, owed a reply. */
struct breq {
	struct breq *next;	/* in its hash chain */
	__u64 id;		/* the requester's id of it */
	__u32 requester;	/* client ids */
	__u32 replier;
};

struct broker {
	int lfd, epfd;
	int *fds;		/* socket of each client id, -1 once gone */
	__u32 nr_ids;		/* client ids given out, plus 1 (for 0) */
	struct bname *names[BROKER_HASH];
	struct breq *reqs[BROKER_HASH];
	char *buf;		/* the message being routed */
};

/* The address of the broker last started, for broker_connect(). */
static struct sockaddr_un broker_sa;
static socklen_t broker_sa_len;
/* The id of the last message this process sent. */
static __u64 broker_seq;

static void __noreturn __printf(1, 2)
broker_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kbus_bench: broker (pid %d): ", getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

/* ---- The broker process ---- */

static unsigned int name_hash(const char *name, __u32 len)
{
	__u32 h = 2166136261U;	/* FNV-1a */

	while (len--)
		h = (h ^ (unsigned char)*name++) * 16777619U;
	return h % BROKER_HASH;
}

/* Where @name is in its hash chain, or would be added (*ret NULL). */
static struct bname **name_slot(struct broker *b, const char *name,
				__u32 len)
{
	struct bname **p = &b->names[name_hash(name, len)];

	while (*p && ((*p)->len != len || memcmp((*p)->name, name, len)))
		p = &(*p)->next;
	return p;
}

/* Free the name at *@p if nothing is bound to it: true if it was. */
static bool name_put(struct bname **p)
{
	struct bname *bn = *p;

	if (bn->nr || bn->replier)
		return false;
	*p = bn->next;
	free(bn->listeners);
	free(bn);
	return true;
}

static unsigned int req_hash(__u32 requester, __u64 id)
{
	return (id ^ requester) % BROKER_HASH;
}

/* Where a request is in its hash chain (*ret NULL if not there). */
static struct breq **req_slot(struct broker *b, __u32 requester, __u64 id)
{
	struct breq **p = &b->reqs[req_hash(requester, id)];

	while (*p && ((*p)->id != id || (*p)->requester != requester))
		p = &(*p)->next;
	return p;
}

static int client_fd(const struct broker *b, __u32 id)
{
	return id < b->nr_ids ? b->fds[id] : -1;
}

/*
 * Send the @len bytes at @msg to client @id, waiting for room unless
 * @nowait (a full client then misses it).  A client that has gone misses
 * it too: its end is handled when epoll reports it.
 */
static void deliver(struct broker *b, __u32 id, const void *msg, size_t len,
		    bool nowait)
{
	int fd = client_fd(b, id);

	if (fd < 0)
		return;
	if (send(fd, msg, len, MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0)) >= 0)
		return;
	if (errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
		broker_fail("send to client %u: %s", id, strerror(errno));
}

/* Tell client @to the outcome @err (0 or an errno) of its message @id. */
static void status(struct broker *b, __u32 to, __u64 id, __u32 err)
{
	struct broker_hdr h = {
		.type = BROKER_STATUS,
		.flags = err,
		.in_reply_to = id,
		.to = to,
	};

	deliver(b, to, &h, sizeof(h), false);
}

/* The message in the buffer, @len bytes, to each listener of @bn. */
static void to_listeners(struct broker *b, const struct bname *bn,
			 size_t len)
{
	const struct broker_hdr *h = (const struct broker_hdr *)b->buf;
	bool nowait = !(h->flags & BROKER_F_WAIT);
	__u32 i;

	for (i = 0; bn && i < bn->nr; i++)
		deliver(b, bn->listeners[i], b->buf, len, nowait);
}

/* Bind @from to a name: 0 or -EADDRINUSE. */
static int do_bind(struct broker *b, __u32 from, const char *name,
		   __u32 len, bool replier)
{
	struct bname **p = name_slot(b, name, len), *bn = *p;
	__u32 *l;

	if (!bn) {
		bn = calloc(1, sizeof(*bn) + len);
		if (!bn)
			broker_fail("out of memory");
		memcpy(bn->name, name, len);
		bn->len = len;
		*p = bn;
	}
	if (replier) {
		if (bn->replier)
			return -EADDRINUSE;
		bn->replier = from;
		return 0;
	}
	if (bn->nr == bn->room) {
		bn->room = bn->room ? 2 * bn->room : 4;
		l = realloc(bn->listeners, bn->room * sizeof(*l));
		if (!l)
			broker_fail("out of memory");
		bn->listeners = l;
	}
	bn->listeners[bn->nr++] = from;
	return 0;
}

/*
 * Remove the replier binding of @from, or its latest listener binding:
 * 0 or -EINVAL.
 */
static int do_unbind(struct broker *b, __u32 from, const char *name,
		     __u32 len, bool replier)
{
	struct bname **p = name_slot(b, name, len), *bn = *p;
	__u32 i;

	if (!bn)
		return -EINVAL;
	if (replier) {
		if (bn->replier != from)
			return -EINVAL;
		bn->replier = 0;
	} else {
		i = bn->nr;
		while (i && bn->listeners[i - 1] != from)
			i--;
		if (!i)
			return -EINVAL;
		memmove(&bn->listeners[i - 1], &bn->listeners[i],
			(bn->nr - i) * sizeof(*bn->listeners));
		bn->nr--;
	}
	name_put(p);
	return 0;
}

static void request(struct broker *b, __u32 from, size_t len)
{
	struct broker_hdr *h = (struct broker_hdr *)b->buf;
	struct bname *bn = *name_slot(b, b->buf + sizeof(*h), h->name_len);
	unsigned int i = req_hash(from, h->id);
	struct breq *r;

	if (!bn || !bn->replier) {
		status(b, from, h->id, EADDRNOTAVAIL);
		return;
	}
	r = malloc(sizeof(*r));
	if (!r)
		broker_fail("out of memory");
	*r = (struct breq){
		.next = b->reqs[i], .id = h->id,
		.requester = from, .replier = bn->replier,
	};
	b->reqs[i] = r;
	h->flags |= BROKER_F_YOU_REPLY;
	deliver(b, bn->replier, b->buf, len, false);
	h->flags &= ~BROKER_F_YOU_REPLY;
	to_listeners(b, bn, len);
}

static void reply(struct broker *b, __u32 from, size_t len)
{
	const struct broker_hdr *h = (const struct broker_hdr *)b->buf;
	struct breq **p = req_slot(b, h->to, h->in_reply_to), *r = *p;

	if (!r || r->replier != from) {
		status(b, from, h->id, ECONNREFUSED);
		return;
	}
	*p = r->next;
	free(r);
	deliver(b, h->to, b->buf, len, false);
}

/* Route the message of @len bytes in the buffer: false if not valid. */
static bool route(struct broker *b, __u32 from, size_t len)
{
	struct broker_hdr *h = (struct broker_hdr *)b->buf;
	const char *name = b->buf + sizeof(*h);
	bool replier;

	if (len > BROKER_BUF_LEN || len < sizeof(*h) || !h->name_len ||
	    h->name_len > BROKER_MAX_NAME ||
	    sizeof(*h) + h->name_len + (size_t)h->data_len != len)
		return false;
	h->from = from;
	replier = h->flags & BROKER_F_REPLIER;
	switch (h->type) {
	case BROKER_BIND:
		status(b, from, h->id,
		       -do_bind(b, from, name, h->name_len, replier));
		return true;
	case BROKER_UNBIND:
		status(b, from, h->id,
		       -do_unbind(b, from, name, h->name_len, replier));
		return true;
	case BROKER_ANNOUNCE:
		to_listeners(b, *name_slot(b, name, h->name_len), len);
		return true;
	case BROKER_REQUEST:
		request(b, from, len);
		return true;
	case BROKER_REPLY:
		reply(b, from, len);
		return true;
	default:
		return false;
	}
}

/* Remove every binding of client @id from @bn. */
static void unbind_all(struct bname *bn, __u32 id)
{
	__u32 i, n = 0;

	if (bn->replier == id)
		bn->replier = 0;
	for (i = 0; i < bn->nr; i++) {
		if (bn->listeners[i] != id)
			bn->listeners[n++] = bn->listeners[i];
	}
	bn->nr = n;
}

/*
 * Client @id has gone: drop its bindings and its requests, and answer
 * those it owed a reply with "replier gone away".
 */
static void drop_client(struct broker *b, __u32 id)
{
	struct bname **pn;
	struct breq **pr, *r;
	unsigned int i;

	close(b->fds[id]);	/* which takes it out of the epoll set */
	b->fds[id] = -1;
	for (i = 0; i < BROKER_HASH; i++) {
		pn = &b->names[i];
		while (*pn) {
			unbind_all(*pn, id);
			if (!name_put(pn))
				pn = &(*pn)->next;
		}
		pr = &b->reqs[i];
		while (*pr) {
			r = *pr;
			if (r->replier != id && r->requester != id) {
				pr = &r->next;
				continue;
			}
			*pr = r->next;
			if (r->replier == id)
				status(b, r->requester, r->id, ECONNRESET);
			free(r);
		}
	}
}

static void accept_client(struct broker *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, *fds;

	fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
			return;
		broker_fail("accept: %s", strerror(errno));
	}
	fds = realloc(b->fds, (b->nr_ids + 1) * sizeof(*fds));
	if (!fds)
		broker_fail("out of memory");
	b->fds = fds;
	ev.data.u32 = b->nr_ids;
	fds[b->nr_ids++] = fd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev))
		broker_fail("epoll_ctl: %s", strerror(errno));
}

/* Client @id is readable, or has gone: one datagram, one copy in. */
static void on_event(struct broker *b, __u32 id, __u32 events)
{
	int fd = client_fd(b, id);
	ssize_t n;

	if (fd < 0)
		return;
	if (!(events & EPOLLIN)) {
		drop_client(b, id);
		return;
	}
	n = recv(fd, b->buf, BROKER_BUF_LEN, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0 || !route(b, id, n))
		drop_client(b, id);
}

static struct broker *broker_init(int lfd)
{
	/* Event data 0 is the listening socket; clients are 1 and up. */
	struct epoll_event ev = { .events = EPOLLIN };
	struct broker *b = calloc(1, sizeof(*b));

	if (!b)
		broker_fail("out of memory");
	b->buf = malloc(BROKER_BUF_LEN);
	b->fds = malloc(sizeof(*b->fds));
	if (!b->buf || !b->fds)
		broker_fail("out of memory");
	b->fds[0] = -1;
	b->nr_ids = 1;
	b->lfd = lfd;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0 || epoll_ctl(b->epfd, EPOLL_CTL_ADD, lfd, &ev))
		broker_fail("epoll: %s", strerror(errno));
	return b;
}

static void __noreturn broker_loop(struct broker *b)
{
	struct epoll_event ev[BROKER_EVENTS];
	int i, n;

	for (;;) {
		n = epoll_wait(b->epfd, ev, BROKER_EVENTS, -1);
		if (n < 0 && errno != EINTR)
			broker_fail("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (ev[i].data.u32)
				on_event(b, ev[i].data.u32, ev[i].events);
			else
				accept_client(b);
		}
	}
}

/*
 * In the new broker process: die with @parent, keep only @lfd (and the
 * standard streams), and run at the normal priority whatever the parent's.
 */
static void broker_detach(int lfd, pid_t parent)
{
	struct sched_param sp = { .sched_priority = 0 };
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	for (fd = 3; fd < 1024; fd++) {
		if (fd != lfd)
			close(fd);
	}
	if (sched_setscheduler(0, SCHED_OTHER, &sp) ||
	    setpriority(PRIO_PROCESS, 0, 0))
		broker_fail("SCHED_OTHER, nice 0: %s", strerror(errno));
}

/* ---- The benchmark's side ---- */

/*
 * Start a broker process listening on an address of its own, which
 * broker_connect() then uses: its pid, or -errno.  It dies with the
 * calling process, or with broker_stop().
 */
pid_t broker_start(void)
{
	static unsigned int nr_started;
	pid_t parent = getpid(), pid;
	int lfd, len, ret;

	memset(&broker_sa, 0, sizeof(broker_sa));
	broker_sa.sun_family = AF_UNIX;
	/* An abstract address: sun_path[0] is 0. */
	len = snprintf(broker_sa.sun_path + 1, sizeof(broker_sa.sun_path) - 1,
		       "kbus-bench-broker-%d-%u", parent, nr_started++);
	broker_sa_len = offsetof(struct sockaddr_un, sun_path) + 1 + len;
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&broker_sa, broker_sa_len) ||
	    listen(lfd, SOMAXCONN)) {
		ret = -errno;
		close(lfd);
		return ret;
	}
	fflush(NULL);
	pid = fork();
	if (!pid) {
		broker_detach(lfd, parent);
		broker_loop(broker_init(lfd));
	}
	ret = pid < 0 ? -errno : pid;
	close(lfd);
	return ret;
}

/* Kill and reap the broker: 0, or -EIO if it had died on its own. */
int broker_stop(pid_t pid)
{
	int status;

	if (kill(pid, SIGKILL) || waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -EIO;
}

/* A connection to the broker last started: the socket, or -errno. */
int broker_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&broker_sa, broker_sa_len)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Send one message with one sendmsg(): @type, @flags, @name, @len bytes
 * of @data, and for a REPLY the request @req it answers (else NULL).  The
 * message's id, or -errno.
 */
__s64 broker_send(int fd, __u32 type, __u32 flags, const char *name,
		  const void *data, __u32 len, const struct broker_hdr *req)
{
	struct broker_hdr h = {
		.type = type,
		.flags = flags,
		.name_len = strlen(name),
		.data_len = len,
		.id = ++broker_seq,
		.in_reply_to = req ? req->id : 0,
		.to = req ? req->from : 0,
	};
	struct iovec iov[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)name, .iov_len = h.name_len },
		{ .iov_base = (void *)data, .iov_len = len },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 3 : 2 };
	ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return n == sizeof(h) + h.name_len + len ? (__s64)h.id : -EIO;
}

/*
 * Receive one message into @buf, @len bytes, with one blocking recv():
 * its length, or -errno (-EMSGSIZE if it was longer, and is lost;
 * -EPIPE if the broker has gone; -EPROTO if it is malformed).
 */
ssize_t broker_recv(int fd, void *buf, size_t len)
{
	const struct broker_hdr *h = buf;
	ssize_t n = recv(fd, buf, len, MSG_TRUNC);

	if (n < 0)
		return -errno;
	if (!n)
		return -EPIPE;
	if ((size_t)n > len)
		return -EMSGSIZE;
	if ((size_t)n < sizeof(*h) ||
	    sizeof(*h) + h->name_len + (size_t)h->data_len != (size_t)n)
		return -EPROTO;
	return n;
}

/*
 * Bind to @name as a listener, or as its replier, and wait for the
 * broker's answer, so that what is sent next finds the binding.  Call it
 * before messages come: the answer must be the next message.  0 or
 * -errno (-EADDRINUSE: the name has a replier).
 */
int broker_bind(int fd, const char *name, bool replier)
{
	struct broker_hdr h;
	__s64 id = broker_send(fd, BROKER_BIND, replier ? BROKER_F_REPLIER : 0,
			       name, NULL, 0, NULL);
	ssize_t n;

	if (id < 0)
		return id;
	n = broker_recv(fd, &h, sizeof(h));
	if (n < 0)
		return n;
	if (h.type != BROKER_STATUS || h.in_reply_to != (__u64)id)
		return -EPROTO;
	return -(int)h.flags;
}
