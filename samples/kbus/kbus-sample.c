// SPDX-License-Identifier: GPL-2.0
/*
 * Sample client of KBUS, the kernel message bus
 *
 * One process opens two Ksocks (open files) of the same bus and uses the
 * userspace ABI of <linux/kbus.h> to pass messages between them:
 *
 * - the "replier" Ksock binds as the one replier for $.Sample.Time;
 * - the "listener" Ksock binds as a listener of $.Sample.*, every name
 *   below $.Sample;
 * - the replier sends the announcement $.Sample.Started, which the
 *   listener receives;
 * - the listener sends a request to $.Sample.Time, which the replier
 *   receives and answers with the time of day, and the listener receives
 *   the reply.
 *
 * Each message is sent with one KBUS_IOC_SENDMSG and received with one
 * KBUS_IOC_RECVMSG, and every ioctl argument is a struct that starts with
 * its own size.  As this one process sends every message, each is queued
 * by the time its send returns, so the receives do not wait
 * (KBUS_RECV_NONBLOCK): a missing message is an error, not a hang.
 *
 * Usage: samples/kbus/kbus-sample [-d /dev/kbusN]
 *
 * The bus is /dev/kbus0 unless -d names another (CONFIG_KBUS is needed).
 * Each step is printed; the exit status is 0 on success, or 1 after a
 * message saying which step failed and why.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/kbus.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_REQUEST	"$.Sample.Time"
#define SAMPLE_ANNOUNCE	"$.Sample.Started"
#define SAMPLE_PATTERN	"$.Sample.*"
#define SAMPLE_READY	"ready"

/* Print what failed and, if @err is not 0, its error; then exit with 1. */
static void die(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kbus-sample: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fprintf(stderr, "\n");
	exit(1);
}

/* Open a Ksock of the bus at @path and say which Ksock id it was given. */
static int open_ksock(const char *path, const char *role)
{
	struct kbus_ksock_info info = { .size = sizeof(info) };
	int fd;

	/* Binding and sending requests need a file open for both. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(errno, "%s: cannot open %s", role, path);
	if (ioctl(fd, KBUS_IOC_KSOCK_INFO, &info))
		die(errno, "%s: KBUS_IOC_KSOCK_INFO", role);
	printf("%s: opened %s as Ksock %u (KBUS ABI version %u)\n", role,
	       path, info.ksock_id, info.abi_version);
	return fd;
}

/* Bind as a listener (@flags 0) or as the replier (KBUS_BIND_REPLIER). */
static void bind_name(int fd, const char *role, const char *name,
		      __u32 flags)
{
	struct kbus_bind bind = {
		.size = sizeof(bind),
		.flags = flags,
		.name_ptr = (uintptr_t)name,
		.name_len = strlen(name),
	};

	if (ioctl(fd, KBUS_IOC_BIND, &bind))
		die(errno, "%s: KBUS_IOC_BIND %s", role, name);
	printf("%s: bound as the %s for %s\n", role,
	       flags & KBUS_BIND_REPLIER ? "replier" : "listener", name);
}

/*
 * Send a "pointy" message: a header whose name and data fields point at
 * the name and data, which KBUS copies in during the call.  A reply names
 * the @request it answers; @request is NULL for any other message.
 * Returns the id that KBUS gave the message.
 */
static struct kbus_msg_id send_msg(int fd, const char *role, const char *name,
				   __u32 flags, const char *data,
				   const struct kbus_message_header *request)
{
	struct kbus_message_header hdr = {
		.start_guard = KBUS_MSG_START_GUARD,
		.flags = flags,
		.name_len = strlen(name),
		.data_len = data ? strlen(data) : 0,
		.name = (uintptr_t)name,
		.data = (uintptr_t)data,
		.end_guard = KBUS_MSG_END_GUARD,
	};
	struct kbus_send send = {
		.size = sizeof(send),
		.msg_ptr = (uintptr_t)&hdr,
		.msg_len = sizeof(hdr),
	};
	const char *kind = "announcement";

	if (request) {
		hdr.in_reply_to = request->id;
		hdr.to = request->from;
		kind = "reply";
	} else if (flags & KBUS_BIT_WANT_A_REPLY) {
		kind = "request";
	}
	if (ioctl(fd, KBUS_IOC_SENDMSG, &send))
		die(errno, "%s: KBUS_IOC_SENDMSG %s", role, name);
	printf("%s: sent %s %s, id %u:%u\n", role, kind, name,
	       send.id.network_id, send.id.serial_num);
	return send.id;
}

/*
 * Receive the next message queued for @fd, which KBUS always returns as
 * an "entire" message: the header, then the name, a NUL and padding, then
 * the data.  A first call without a buffer fails with EMSGSIZE and gives
 * the message's length, and leaves it queued; a second call receives it,
 * with the sender's process id (KBUS_RECV_CREDS).  The caller frees it.
 */
static struct kbus_entire_message *recv_msg(int fd, const char *role)
{
	struct kbus_recv recv = {
		.size = sizeof(recv),
		.flags = KBUS_RECV_NONBLOCK,
	};
	const struct kbus_message_header *hdr;
	struct kbus_entire_message *msg;
	const char *data;
	__u32 len;
	int ret;

	ret = ioctl(fd, KBUS_IOC_RECVMSG, &recv);
	if (ret && errno == EAGAIN)
		die(0, "%s: no message is queued", role);
	if (!ret || errno != EMSGSIZE)
		die(ret ? errno : EPROTO, "%s: KBUS_IOC_RECVMSG", role);
	len = recv.msg_len;
	msg = malloc(len);
	if (!msg)
		die(ENOMEM, "%s: cannot allocate %u bytes", role, len);

	/* The "out" fields must be 0 again on input. */
	recv = (struct kbus_recv) {
		.size = sizeof(recv),
		.flags = KBUS_RECV_NONBLOCK | KBUS_RECV_CREDS,
		.buf_ptr = (uintptr_t)msg,
		.buf_len = len,
	};
	if (ioctl(fd, KBUS_IOC_RECVMSG, &recv))
		die(errno, "%s: KBUS_IOC_RECVMSG", role);

	hdr = &msg->header;
	data = (const char *)&msg->rest[KBUS_ENTIRE_MSG_DATA_INDEX(hdr->name_len)];
	printf("%s: received %s, id %u:%u, from Ksock %u (pid %d)", role,
	       (const char *)msg->rest, hdr->id.network_id,
	       hdr->id.serial_num, hdr->from, recv.pid);
	if (hdr->flags & KBUS_BIT_WANT_YOU_TO_REPLY)
		printf(", a request to reply to");
	else if (hdr->flags & KBUS_BIT_WANT_A_REPLY)
		printf(", a listener's copy of a request");
	if (hdr->in_reply_to.serial_num)
		printf(", a reply to %u:%u", hdr->in_reply_to.network_id,
		       hdr->in_reply_to.serial_num);
	if (hdr->data_len)
		printf(": \"%.*s\"", (int)hdr->data_len, data);
	printf("\n");
	return msg;
}

static int same_id(struct kbus_msg_id a, struct kbus_msg_id b)
{
	return a.network_id == b.network_id && a.serial_num == b.serial_num;
}

int main(int argc, char *argv[])
{
	const char *path = "/dev/kbus0";
	struct kbus_entire_message *msg;
	struct kbus_msg_id req_id;
	int replier, listener, opt, done;
	char now[32];
	struct tm *tm;
	time_t t;

	while ((opt = getopt(argc, argv, "d:h")) != -1) {
		if (opt != 'd') {
			fprintf(stderr, "usage: %s [-d /dev/kbusN]\n", argv[0]);
			return opt == 'h' ? 0 : 1;
		}
		path = optarg;
	}
	if (optind < argc)
		die(0, "unexpected argument %s", argv[optind]);

	replier = open_ksock(path, "replier");
	listener = open_ksock(path, "listener");
	bind_name(replier, "replier", SAMPLE_REQUEST, KBUS_BIND_REPLIER);
	bind_name(listener, "listener", SAMPLE_PATTERN, 0);

	/* An announcement goes to every listener of its name. */
	send_msg(replier, "replier", SAMPLE_ANNOUNCE, 0, SAMPLE_READY, NULL);
	msg = recv_msg(listener, "listener");
	if (strcmp((const char *)msg->rest, SAMPLE_ANNOUNCE))
		die(0, "listener: expected %s", SAMPLE_ANNOUNCE);
	free(msg);

	/* A request goes to the replier, which is then owed a reply. */
	req_id = send_msg(listener, "listener", SAMPLE_REQUEST,
			  KBUS_BIT_WANT_A_REPLY, NULL, NULL);
	msg = recv_msg(replier, "replier");
	if (!(msg->header.flags & KBUS_BIT_WANT_YOU_TO_REPLY) ||
	    !same_id(msg->header.id, req_id))
		die(0, "replier: expected the request %u:%u",
		    req_id.network_id, req_id.serial_num);

	/* The reply has the request's name and goes back to its sender. */
	t = time(NULL);
	tm = localtime(&t);
	if (!tm || !strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", tm))
		die(0, "replier: cannot format the time of day");
	send_msg(replier, "replier", SAMPLE_REQUEST, 0, now, &msg->header);
	free(msg);

	/*
	 * As a listener of $.Sample.*, the requester also gets a copy of its
	 * own request, before the reply, and a second copy of the reply after
	 * it (KBUS_OPT_ONLY_ONCE would spare it that one); closing the Ksock
	 * drops what it has not read.
	 */
	do {
		msg = recv_msg(listener, "listener");
		done = same_id(msg->header.in_reply_to, req_id);
		free(msg);
	} while (!done);

	close(listener);
	close(replier);
	printf("done\n");
	return 0;
}
