// SPDX-License-Identifier: GPL-2.0
/*
 * kbus - send, receive and inspect KBUS messages from the command line
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * Exit status: 0 success, 1 usage error, 2 KBUS (or system) error,
 * 3 timeout, or a request answered by KBUS instead of its replier.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libkbus.h"
#ifdef HAVE_LIBMOSQUITTO
#include "mqtt.h"
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define EXIT_OK		0
#define EXIT_USAGE	1
#define EXIT_KBUS	2
#define EXIT_TIMEOUT	3

#define DEFAULT_REQUEST_TIMEOUT_MS	10000
#define DEBUGFS_MOUNT			"/sys/kernel/debug"
#define DEBUGFS_SUPER_MAGIC		0x64626720

static const char *bus_spec = "0";
static bool bus_given;
static bool verbose;

static void usage(FILE *f)
{
	fprintf(f,
"usage: kbus [-b BUS] [-v] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  send [-i] NAME [DATA]          send an announcement\n"
"  request [-i] [-t MS] [-s ID] NAME [DATA]\n"
"                                 send a request and print the reply's data;\n"
"                                 -s ID makes it a stateful request to the\n"
"                                 replier with Ksock id ID\n"
"  listen [-d] [-n COUNT] [-t MS] PATTERN...\n"
"                                 print the messages sent to PATTERN, one\n"
"                                 line each (-d: only their data)\n"
"  reply [-n COUNT] NAME [-- CMD [ARGS...]]\n"
"                                 be the replier for NAME: run CMD with each\n"
"                                 request's data on its stdin and reply with\n"
"                                 its stdout (no CMD: echo the data back)\n"
"  monitor [-e]                   print every message on the bus, with a\n"
"                                 timestamp (-e: also replier bind events)\n"
"  replier NAME                   print the Ksock id of NAME's replier\n"
"  limpet -n ID [-p PATTERN] [-1] -l ADDR | -c ADDR\n"
"                                 join this bus to the bus of another Limpet:\n"
"                                 listen on ADDR (-l) or connect to it (-c),\n"
"                                 ADDR being HOST:PORT or a Unix socket path;\n"
"                                 ID is this Limpet's network id, PATTERN the\n"
"                                 names joined (default $.*); relinks when the\n"
"                                 link fails, unless -1\n"
"  mqtt -i ID [-p SUBTREE] [-t PREFIX] [-T MS] [-1] HOST:PORT\n"
"                                 join the names under SUBTREE (default $)\n"
"                                 to the topics under PREFIX (default kbus)\n"
"                                 of the MQTT 5 broker at HOST:PORT; ID is\n"
"                                 the bridge's network id; a request gets\n"
"                                 $.KBUS.Replier.GoneAway after MS ms\n"
"                                 (default 10000) without an answer\n"
"  bindings                       print debugfs's bindings file as it is\n"
"                                 (for people: its format is not an ABI)\n"
"  stats                          print debugfs's stats file as it is\n"
"  add-bus CONTROL                add a bus to the kbus filesystem whose\n"
"                                 kbus-control node is CONTROL; print its\n"
"                                 number, a tab and the path of its node\n"
"  remove-bus CONTROL N           remove bus N of that kbus filesystem\n"
"  version                        show the KBUS ABI version and limits\n"
"  help                           show this text\n"
"\n"
"Options:\n"
"  -b BUS    bus number N (/dev/kbusN) or path with a '/': a device node,\n"
"            or a bus node DIR/kbusN of a kbus filesystem mounted on DIR\n"
"            (mount -t kbus none DIR); default 0, /dev/kbus0\n"
"  -v        more output (message ids, requests served)\n"
"  -i        read DATA from standard input\n"
"  -t MS     give up after MS milliseconds (request: default %d)\n"
"  -n COUNT  stop after COUNT messages (listen) or requests (reply)\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 KBUS error, 3 timeout, or a\n"
"request that got a KBUS message ($.KBUS.Replier.*) instead of a reply.\n",
		DEFAULT_REQUEST_TIMEOUT_MS);
}

static void __attribute__((format(printf, 1, 2))) err_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("kbus: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kbus: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'kbus help' for more information.\n", stderr);
	return EXIT_USAGE;
}

static int parse_uint(const char *s, const char *what, long max, long *val)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || !*s || *end || v < 0 || v > max) {
		usage_error("invalid %s '%s'", what, s);
		return -1;
	}
	*val = v;
	return 0;
}

/*
 * Open the bus named by -b: a bus number ("0") or a path with a '/', of a
 * device node ("/dev/kbus1") or of a bus node of a mounted kbus filesystem
 * ("/mnt/kbus/kbus0").  The Ksock is not passed on to the commands that
 * "kbus reply" runs.  Returns it, or -EINVAL if -b is neither, or -errno.
 */
static int open_spec(const char *spec)
{
	const int flags = O_RDWR | O_CLOEXEC;
	unsigned long bus;
	char *end;

	if (!*spec)
		return -EINVAL;
	if (strchr(spec, '/'))
		return kbus_ksock_open_by_name(spec, flags);
	errno = 0;
	bus = strtoul(spec, &end, 10);
	if (errno || *end || bus > UINT32_MAX || spec[0] == '-')
		return -EINVAL;
	return kbus_ksock_open(bus, flags);
}

static int open_bus(void)
{
	int ks = open_spec(bus_spec);

	if (ks == -EINVAL) {
		err_msg("invalid bus '%s': give a number or a path (with a '/')",
			bus_spec);
		return ks;
	}
	if (ks < 0) {
		bool is_path = strchr(bus_spec, '/');
		char path[PATH_MAX];

		if (is_path)
			snprintf(path, sizeof(path), "%s", bus_spec);
		else
			snprintf(path, sizeof(path), "/dev/kbus%s", bus_spec);
		if (ks == -ENOENT && is_path)
			err_msg("cannot open %s: no such bus", path);
		else if (ks == -ENOENT)
			err_msg("cannot open %s: no such bus (is the kbus driver loaded?)",
				path);
		else if (ks == -EACCES)
			err_msg("cannot open %s: permission denied (bus nodes are 0600 by default)",
				path);
		else
			err_msg("cannot open %s: %s", path, strerror(-ks));
	}
	return ks;
}

/* Read all of standard input (at most @max bytes). */
static int read_stdin(char **data, size_t *len, size_t max)
{
	size_t size = 4096, n = 0;
	char *buf = malloc(size);
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == size) {
			char *nbuf;

			if (size >= max) {
				free(buf);
				return -EMSGSIZE;
			}
			size *= 2;
			nbuf = realloc(buf, size);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		r = read(STDIN_FILENO, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		if (!r)
			break;
		n += r;
	}
	if (n > max) {
		free(buf);
		return -EMSGSIZE;
	}
	*data = buf;
	*len = n;
	return 0;
}

/* The message data: DATA, standard input (-i) or nothing. */
static int get_data(bool from_stdin, int argc, char **argv, int idx,
		    char **data, size_t *len, bool *allocated)
{
	int err;

	*allocated = false;
	*data = NULL;
	*len = 0;
	if (from_stdin) {
		if (idx < argc)
			return usage_error("give DATA or -i, not both");
		err = read_stdin(data, len, UINT32_MAX);
		if (err) {
			err_msg("cannot read standard input: %s",
				strerror(-err));
			return EXIT_KBUS;
		}
		*allocated = true;
	} else if (idx < argc) {
		*data = argv[idx];
		*len = strlen(argv[idx]);
	}
	if (idx + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[idx + 1]);
	return 0;
}

static void print_id(const char *what, const kbus_msg_id_t *id)
{
	if (verbose)
		fprintf(stderr, "kbus: %s %u:%u\n", what, id->network_id,
			id->serial_num);
}

/* ---- send ---- */

static int cmd_send(int argc, char **argv)
{
	kbus_msg_id_t id;
	bool from_stdin = false, allocated;
	size_t len;
	char *data;
	int opt, ks, err, ret;

	while ((opt = getopt(argc, argv, "i")) != -1) {
		switch (opt) {
		case 'i':
			from_stdin = true;
			break;
		default:
			return usage_error("usage: kbus send [-i] NAME [DATA]");
		}
	}
	if (optind >= argc)
		return usage_error("send: missing NAME");
	ret = get_data(from_stdin, argc, argv, optind + 1, &data, &len,
		       &allocated);
	if (ret)
		return ret;

	ks = open_bus();
	if (ks < 0) {
		ret = EXIT_KBUS;
		goto out;
	}
	err = kbus_announce(ks, argv[optind], data, len, &id);
	if (err == -EPERM) {
		err_msg("cannot send %s: not permitted: only KBUS sends $.KBUS names",
			argv[optind]);
		ret = EXIT_KBUS;
	} else if (err) {
		err_msg("cannot send %s: %s", argv[optind], kbus_strerror(err));
		ret = EXIT_KBUS;
	} else {
		print_id("sent", &id);
	}
	kbus_ksock_close(ks);
out:
	if (allocated)
		free(data);
	return ret;
}

/* ---- request ---- */

/* Print @msg on one line (kbus_msg_format()) on @f. */
static void print_msg(FILE *f, const kbus_message_t *msg)
{
	char line[1024];

	kbus_msg_format(msg, line, sizeof(line), 256);
	fprintf(f, "%s\n", line);
}

/* Print the data of @msg, ending with a newline (none if no data). */
static void print_data(const kbus_message_t *msg, bool empty_line)
{
	const char *d = kbus_msg_data_ptr(msg);
	uint32_t n = msg->data_len;

	if (n) {
		fwrite(d, 1, n, stdout);
		if (d[n - 1] != '\n')
			putchar('\n');
	} else if (empty_line) {
		putchar('\n');
	}
	fflush(stdout);
}

static int cmd_request(int argc, char **argv)
{
	long timeout = DEFAULT_REQUEST_TIMEOUT_MS, to = 0;
	bool from_stdin = false, allocated;
	kbus_message_t *reply;
	kbus_msg_id_t id;
	const char *name, *meaning, *rname;
	size_t len;
	char *data;
	int opt, ks, err, ret;

	while ((opt = getopt(argc, argv, "it:s:")) != -1) {
		switch (opt) {
		case 'i':
			from_stdin = true;
			break;
		case 't':
			if (parse_uint(optarg, "timeout", INT_MAX, &timeout))
				return EXIT_USAGE;
			break;
		case 's':
			if (parse_uint(optarg, "Ksock id", UINT32_MAX, &to))
				return EXIT_USAGE;
			if (!to)
				return usage_error("the replier's Ksock id is never 0");
			break;
		default:
			return usage_error("usage: kbus request [-i] [-t MS] [-s ID] NAME [DATA]");
		}
	}
	if (optind >= argc)
		return usage_error("request: missing NAME");
	name = argv[optind];
	ret = get_data(from_stdin, argc, argv, optind + 1, &data, &len,
		       &allocated);
	if (ret)
		return ret;

	ks = open_bus();
	if (ks < 0) {
		ret = EXIT_KBUS;
		goto out;
	}
	if (to)
		err = kbus_stateful_request(ks, name, to, data, len, &id);
	else
		err = kbus_request(ks, name, data, len, &id);
	if (err == -EADDRNOTAVAIL) {
		err_msg("request %s: no replier is bound to %s", name, name);
		ret = EXIT_KBUS;
		goto out_close;
	} else if (err == -EPIPE) {
		err_msg("request %s: Ksock %ld is no longer the replier for %s",
			name, to, name);
		ret = EXIT_KBUS;
		goto out_close;
	} else if (err == -EPERM) {
		err_msg("request %s: not permitted: only KBUS sends $.KBUS names",
			name);
		ret = EXIT_KBUS;
		goto out_close;
	} else if (err) {
		err_msg("request %s: %s", name, kbus_strerror(err));
		ret = EXIT_KBUS;
		goto out_close;
	}
	print_id("sent request", &id);

	err = kbus_wait_reply(ks, &id, &reply, timeout, NULL, NULL);
	if (err < 0) {
		err_msg("request %s: waiting for the reply: %s", name,
			kbus_strerror(err));
		ret = EXIT_KBUS;
	} else if (!err) {
		err_msg("request %s: no reply within %ld ms", name, timeout);
		ret = EXIT_TIMEOUT;
	} else if (kbus_msg_is_synthetic(reply)) {
		rname = kbus_msg_name_ptr(reply);
		meaning = kbus_synthetic_meaning(rname);
		err_msg("request %s (%u:%u) got %s%s%s", name,
			id.network_id, id.serial_num, rname,
			meaning ? ": " : "", meaning ? meaning : "");
		ret = EXIT_TIMEOUT;
		kbus_msg_delete(&reply);
	} else {
		if (verbose)
			print_msg(stdout, reply);
		else
			print_data(reply, false);
		kbus_msg_delete(&reply);
	}
out_close:
	kbus_ksock_close(ks);
out:
	if (allocated)
		free(data);
	return ret;
}

/* ---- listen ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_listen(int argc, char **argv)
{
	long count = 0, timeout = -1, seen = 0;
	bool data_only = false;
	kbus_message_t *msg;
	int64_t deadline = -1;
	int opt, ks, err, i, left;

	while ((opt = getopt(argc, argv, "dn:t:")) != -1) {
		switch (opt) {
		case 'd':
			data_only = true;
			break;
		case 'n':
			if (parse_uint(optarg, "count", LONG_MAX, &count))
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_uint(optarg, "timeout", INT_MAX, &timeout))
				return EXIT_USAGE;
			break;
		default:
			return usage_error("usage: kbus listen [-d] [-n COUNT] [-t MS] PATTERN...");
		}
	}
	if (optind >= argc)
		return usage_error("listen: missing PATTERN");

	ks = open_bus();
	if (ks < 0)
		return EXIT_KBUS;
	for (i = optind; i < argc; i++) {
		err = kbus_ksock_bind(ks, argv[i], 0);
		if (err) {
			err_msg("cannot listen to %s: %s", argv[i],
				kbus_strerror(err));
			kbus_ksock_close(ks);
			return EXIT_KBUS;
		}
	}

	if (timeout >= 0)
		deadline = mono_ms() + timeout;
	while (!count || seen < count) {
		left = -1;
		if (deadline >= 0) {
			int64_t l = deadline - mono_ms();

			left = l < 0 ? 0 : (int)l;
		}
		err = kbus_recv_timeout(ks, &msg, left);
		if (err < 0) {
			err_msg("receiving: %s", kbus_strerror(err));
			kbus_ksock_close(ks);
			return EXIT_KBUS;
		}
		if (!err) {
			kbus_ksock_close(ks);
			if (!count)
				return EXIT_OK;
			err_msg("listen: %ld of %ld messages within %ld ms",
				seen, count, timeout);
			return EXIT_TIMEOUT;
		}
		if (data_only)
			print_data(msg, true);
		else
			print_msg(stdout, msg);
		fflush(stdout);
		kbus_msg_delete(&msg);
		seen++;
	}
	kbus_ksock_close(ks);
	return EXIT_OK;
}

/* ---- reply ---- */

/* Grow *@buf to hold at least @need bytes. */
static int grow(char **buf, size_t *size, size_t need)
{
	size_t nsize = *size ? *size : 4096;
	char *nbuf;

	while (nsize < need)
		nsize *= 2;
	if (nsize == *size)
		return 0;
	nbuf = realloc(*buf, nsize);
	if (!nbuf)
		return -ENOMEM;
	*buf = nbuf;
	*size = nsize;
	return 0;
}

static void set_env_u32(const char *var, uint32_t v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", v);
	setenv(var, s, 1);
}

/*
 * Run @cmd with @in on its stdin; collect its stdout (up to @max bytes,
 * the rest is read and dropped) into *@out.  Returns the wait status, or
 * a negative errno.
 */
static int run_cmd(char **cmd, const kbus_message_t *req, char **out,
		   size_t *out_len, size_t max, bool *truncated)
{
	int inp[2], outp[2], status, err = 0;
	const char *in = kbus_msg_data_ptr(req);
	size_t in_len = req->data_len, in_off = 0, size = 0;
	char drop[4096];
	struct pollfd pfd[2];
	pid_t pid;
	ssize_t n;

	*out = NULL;
	*out_len = 0;
	*truncated = false;
	if (pipe2(inp, O_CLOEXEC))
		return -errno;
	if (pipe2(outp, O_CLOEXEC)) {
		err = -errno;
		close(inp[0]);
		close(inp[1]);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(inp[0]);
		close(inp[1]);
		close(outp[0]);
		close(outp[1]);
		return err;
	}
	if (!pid) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(inp[0], STDIN_FILENO) < 0 ||
		    dup2(outp[1], STDOUT_FILENO) < 0)
			_exit(126);
		setenv("KBUS_NAME", kbus_msg_name_ptr(req), 1);
		set_env_u32("KBUS_FROM", req->from);
		set_env_u32("KBUS_ID", req->id.serial_num);
		execvp(cmd[0], cmd);
		fprintf(stderr, "kbus: cannot run %s: %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	if (!in_len) {
		close(inp[1]);
		inp[1] = -1;
	}

	pfd[0].fd = outp[0];
	pfd[0].events = POLLIN;
	while (pfd[0].fd >= 0) {
		pfd[1].fd = inp[1];
		pfd[1].events = POLLOUT;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (inp[1] >= 0 && pfd[1].revents) {
			n = write(inp[1], in + in_off, in_len - in_off);
			if (n > 0)
				in_off += n;
			if ((n < 0 && errno != EINTR && errno != EAGAIN) ||
			    in_off == in_len) {
				/* Done, or the command does not read it. */
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (pfd[0].revents) {
			if (*out_len < max) {
				size_t want = max - *out_len;

				if (want > 4096)
					want = 4096;
				if (grow(out, &size, *out_len + want)) {
					err = -ENOMEM;
					break;
				}
				n = read(outp[0], *out + *out_len, want);
			} else {
				n = read(outp[0], drop, sizeof(drop));
				if (n > 0)
					*truncated = true;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(outp[0]);
				pfd[0].fd = -1;
			} else if (*out_len < max) {
				*out_len += n;
			}
		}
	}
	if (inp[1] >= 0)
		close(inp[1]);
	if (pfd[0].fd >= 0)
		close(pfd[0].fd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return err ? err : -errno;
	}
	return err ? err : status;
}

/*
 * Reply to @req and, in the same call, wait for the next message, which
 * *@next is then (NULL if the reply could not be sent).  Returns 0, or
 * -errno: with *@id {0, 0} if the reply was not sent.
 */
static int reply_and_recv(int ks, const kbus_message_t *req,
			  const void *data, uint32_t len, kbus_msg_id_t *id,
			  kbus_message_t **next)
{
	kbus_message_t *rep;
	int err;

	*next = NULL;
	*id = (kbus_msg_id_t){ 0, 0 };
	err = kbus_msg_create_reply_to(&rep, req, data, len, 0);
	if (err)
		return err;
	err = kbus_ksock_send_recv(ks, rep, id, next);
	kbus_msg_delete(&rep);
	return err;
}

static int cmd_reply(int argc, char **argv)
{
	long count = 0, served = 0;
	uint32_t max_size = 0;	/* 0: read the bus's maximum */
	kbus_message_t *req, *next;
	kbus_msg_id_t id;
	const char *name;
	char **cmd = NULL;
	size_t out_len, max;
	bool truncated;
	char *out;
	int opt, ks, err, status;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, "count", LONG_MAX, &count))
				return EXIT_USAGE;
			break;
		default:
			return usage_error("usage: kbus reply [-n COUNT] NAME [-- CMD [ARGS...]]");
		}
	}
	if (optind >= argc)
		return usage_error("reply: missing NAME");
	name = argv[optind];
	if (optind + 1 < argc)
		cmd = &argv[optind + 1];

	ks = open_bus();
	if (ks < 0)
		return EXIT_KBUS;
	err = kbus_ksock_bind(ks, name, 1);
	if (err) {
		if (err == -EADDRINUSE)
			err_msg("cannot reply to %s: another Ksock is already its replier",
				name);
		else
			err_msg("cannot reply to %s: %s", name,
				kbus_strerror(err));
		kbus_ksock_close(ks);
		return EXIT_KBUS;
	}
	/* The reply must fit in a message on this bus. */
	if (kbus_ksock_max_message_size(ks, &max_size) || !max_size)
		max_size = 1024;
	max = max_size - KBUS_ENTIRE_MSG_LEN(strlen(name), 0);
	signal(SIGPIPE, SIG_IGN);

	req = NULL;
	while (!count || served < count) {
		if (!req) {
			err = kbus_recv_timeout(ks, &req, -1);
			if (err < 0) {
				err_msg("receiving: %s", kbus_strerror(err));
				kbus_ksock_close(ks);
				return EXIT_KBUS;
			}
			if (!err)
				continue;
		}
		if (!kbus_msg_wants_us_to_reply(req)) {
			kbus_msg_delete(&req);
			continue;
		}
		if (verbose) {
			fputs("kbus: serving ", stderr);
			print_msg(stderr, req);
		}
		if (cmd) {
			status = run_cmd(cmd, req, &out, &out_len, max,
					 &truncated);
			if (status < 0) {
				err_msg("cannot run %s: %s", cmd[0],
					strerror(-status));
				out_len = 0;
			} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
				err_msg("%s exited with status %d", cmd[0],
					WEXITSTATUS(status));
			} else if (WIFSIGNALED(status)) {
				err_msg("%s killed by signal %d", cmd[0],
					WTERMSIG(status));
			}
			if (truncated)
				err_msg("%s: output truncated to %zu bytes",
					cmd[0], max);
		} else {
			out = NULL;
			out_len = req->data_len;
		}
		/*
		 * Unless it is the last request to serve, the reply and the
		 * wait for the next request are one call.
		 */
		next = NULL;
		id = (kbus_msg_id_t){ 0, 0 };
		if (count && served + 1 >= count)
			err = kbus_reply(ks, req,
					 cmd ? out : kbus_msg_data_ptr(req),
					 out_len, &id);
		else
			err = reply_and_recv(ks, req,
					     cmd ? out : kbus_msg_data_ptr(req),
					     out_len, &id, &next);
		if (id.network_id || id.serial_num) {
			print_id("sent reply", &id);
		} else if (err == -EADDRNOTAVAIL) {
			err_msg("cannot reply to %u:%u: the requester has gone away",
				req->id.network_id, req->id.serial_num);
		} else {
			err_msg("cannot reply to %u:%u: %s",
				req->id.network_id, req->id.serial_num,
				kbus_strerror(err));
		}
		/* Sent, and the wait for the next message failed. */
		if ((id.network_id || id.serial_num) && err && err != -EINTR &&
		    err != -EAGAIN) {
			err_msg("receiving: %s", kbus_strerror(err));
			free(out);
			kbus_msg_delete(&req);
			kbus_ksock_close(ks);
			return EXIT_KBUS;
		}
		free(out);
		kbus_msg_delete(&req);
		req = next;
		served++;
	}
	kbus_msg_delete(&req);
	kbus_ksock_close(ks);
	return EXIT_OK;
}

/* ---- monitor ---- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_stamped(const kbus_message_t *msg)
{
	char line[1200], stamp[32];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	kbus_msg_format(msg, line, sizeof(line), 256);
	printf("%s.%03ld %s\n", stamp, (long)tv.tv_usec / 1000, line);
	fflush(stdout);
}

static int cmd_monitor(int argc, char **argv)
{
	bool events = false, restore = false;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, wait_mask;
	uint32_t max_msgs = 10000;
	kbus_message_t *msg;
	struct pollfd pfd;
	int opt, ks, err, ret = EXIT_OK;

	while ((opt = getopt(argc, argv, "e")) != -1) {
		switch (opt) {
		case 'e':
			events = true;
			break;
		default:
			return usage_error("usage: kbus monitor [-e]");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	ks = open_bus();
	if (ks < 0)
		return EXIT_KBUS;
	err = kbus_ksock_bind(ks, "$.*", 0);
	if (err) {
		err_msg("cannot listen to $.*: %s", kbus_strerror(err));
		kbus_ksock_close(ks);
		return EXIT_KBUS;
	}
	/* Turning reports on also queues an event per existing replier. */
	if (events) {
		kbus_ksock_max_messages(ks, &max_msgs);
		/* Returns whether they were on before (or -errno). */
		err = kbus_ksock_report_replier_binds(ks, 1);
		if (err < 0) {
			err_msg("cannot turn on replier bind events: %s",
				kbus_strerror(err));
			kbus_ksock_close(ks);
			return EXIT_KBUS;
		}
		restore = !err;
	}
	/* The signals are only let in while waiting: none can be missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	pfd.fd = ks;
	pfd.events = POLLIN;
	while (!stop) {
		err = kbus_ksock_read_next_msg(ks, &msg);
		if (err < 0) {
			err_msg("receiving: %s", kbus_strerror(err));
			ret = EXIT_KBUS;
			break;
		}
		if (msg) {
			print_stamped(msg);
			kbus_msg_delete(&msg);
			continue;
		}
		if (ppoll(&pfd, 1, NULL, &wait_mask) < 0 && errno != EINTR) {
			err_msg("poll: %s", strerror(errno));
			ret = EXIT_KBUS;
			break;
		}
	}
	if (restore)
		kbus_ksock_report_replier_binds(ks, 0);
	kbus_ksock_close(ks);
	return ret;
}

/* ---- limpet ---- */

/*
 * The socket address of ADDR: a path with a '/' (a Unix socket) or
 * HOST:PORT (TCP over IPv4, HOST an address or a name).
 */
static int limpet_addr(const char *addr, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct addrinfo hints = {
		.ai_family = AF_INET,
		.ai_socktype = SOCK_STREAM,
	};
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	struct addrinfo *res;
	const char *colon;
	char host[256];
	int err;

	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, '/')) {
		if (strlen(addr) >= sizeof(un->sun_path))
			return -ENAMETOOLONG;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, addr, strlen(addr) + 1);
		*len = sizeof(*un);
		return 0;
	}
	colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] ||
	    (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A socket listening on @ss, or -errno. */
static int limpet_listen(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd, err;

	const char *path = ((const struct sockaddr_un *)ss)->sun_path;
	struct stat st;
	mode_t mask;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ss->ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A stale socket of an earlier Limpet goes; nothing else does. */
	else if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	/* The link is not authenticated: a Unix socket is for root only. */
	mask = umask(077);
	err = bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 1) ?
	      -errno : 0;
	umask(mask);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * A TCP link: no delay for small messages, and a peer that is gone (its
 * machine off, the network cut) is noticed within about 10 s even while
 * the link is idle or has data unacknowledged.
 */
static void limpet_tcp_options(int fd)
{
	int one = 1, idle = 5, intvl = 2, cnt = 3;
	unsigned int user_timeout = 10000;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
		   sizeof(user_timeout));
}

/*
 * The next link: accepted on @lfd, or connected to @ss (retrying every
 * 200 ms while nobody listens).  -EINTR once stop is set.
 */
static int limpet_link(int lfd, const struct sockaddr_storage *ss,
		       socklen_t len)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int fd;

	while (!stop) {
		if (lfd >= 0) {
			if (poll(&pfd, 1, 1000) <= 0)
				continue;
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
		} else {
			fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC,
				    0);
			if (fd < 0)
				return -errno;
			if (connect(fd, (const struct sockaddr *)ss, len)) {
				close(fd);
				usleep(200000);
				continue;
			}
		}
		if (ss->ss_family == AF_INET)
			limpet_tcp_options(fd);
		return fd;
	}
	return -EINTR;
}

static int cmd_limpet(int argc, char **argv)
{
	struct kbus_limpet_config cfg = { .log = verbose ? stderr : NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *addr = NULL;
	struct sockaddr_storage ss;
	struct kbus_limpet *lp;
	bool listening = false, once = false;
	int opt, ks, sock, lfd = -1, err, ret = EXIT_OK;
	socklen_t len;
	long v;

	while ((opt = getopt(argc, argv, "n:l:c:p:1")) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, "network id", UINT32_MAX, &v))
				return EXIT_USAGE;
			cfg.network_id = v;
			break;
		case 'l':
		case 'c':
			addr = optarg;
			listening = opt == 'l';
			break;
		case 'p':
			cfg.pattern = optarg;
			break;
		case '1':
			once = true;
			break;
		default:
			return usage_error("usage: kbus limpet -n ID [-p PATTERN] [-1] {-l|-c} ADDR");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg.network_id)
		return usage_error("limpet: -n ID, a network id other than 0, is needed");
	if (!addr)
		return usage_error("limpet: -l ADDR or -c ADDR is needed");
	err = limpet_addr(addr, &ss, &len);
	if (err)
		return usage_error("limpet: '%s' is neither HOST:PORT nor a path",
				   addr);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (listening) {
		lfd = limpet_listen(&ss, len);
		if (lfd < 0) {
			err_msg("limpet: cannot listen on %s: %s", addr,
				strerror(-lfd));
			return EXIT_KBUS;
		}
	}
	while (!stop) {
		sock = limpet_link(lfd, &ss, len);
		if (sock < 0)
			break;
		/* A new Ksock per link: nothing of the last one is left. */
		ks = open_bus();
		if (ks < 0) {
			close(sock);
			ret = EXIT_KBUS;
			break;
		}
		err = kbus_limpet_new(&lp, ks, sock, &cfg);
		if (err) {
			err_msg("limpet: cannot link over %s: %s", addr,
				kbus_strerror(err));
			close(sock);
			kbus_ksock_close(ks);
			if (err == -EPERM || err == -EACCES || err == -EBADF) {
				ret = EXIT_KBUS;
				break;
			}
			if (once)
				break;
			usleep(200000);
			continue;
		}
		printf("limpet: network %u linked to network %u over %s\n",
		       cfg.network_id, kbus_limpet_peer_id(lp), addr);
		fflush(stdout);
		do {
			err = kbus_limpet_step(lp, 1000);
		} while (!err && !stop);
		printf("limpet: network %u unlinked from network %u: %s\n",
		       cfg.network_id, kbus_limpet_peer_id(lp),
		       err ? kbus_strerror(err) : "stopped");
		fflush(stdout);
		kbus_limpet_free(lp);
		kbus_ksock_close(ks);
		if (once)
			break;
	}
	if (lfd >= 0) {
		close(lfd);
		if (ss.ss_family == AF_UNIX)
			unlink(((struct sockaddr_un *)&ss)->sun_path);
	}
	return ret;
}

/* ---- mqtt ---- */

static int cmd_mqtt(int argc, char **argv)
{
#ifdef HAVE_LIBMOSQUITTO
	return kbus_mqtt_main(argc, argv, open_bus, verbose);
#else
	(void)argc;
	(void)argv;
	err_msg("mqtt: this kbus was built without libmosquitto (install libmosquitto-dev and rebuild)");
	return EXIT_KBUS;
#endif
}

/* ---- replier, version ---- */

static int cmd_replier(int argc, char **argv)
{
	uint32_t id;
	int ks, err;

	if (argc != 2)
		return usage_error("usage: kbus replier NAME");
	ks = open_bus();
	if (ks < 0)
		return EXIT_KBUS;
	err = kbus_ksock_find_replier(ks, argv[1], &id);
	kbus_ksock_close(ks);
	if (err < 0) {
		err_msg("replier %s: %s", argv[1], kbus_strerror(err));
		return EXIT_KBUS;
	}
	if (!err) {
		err_msg("no replier is bound to %s", argv[1]);
		return EXIT_KBUS;
	}
	printf("%u\n", id);
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	struct kbus_ksock_info info;
	uint32_t size = 0, abs_size = 1;	/* 0: current, 1: absolute */
	int ks, err;

	(void)argv;
	if (argc != 1)
		return usage_error("usage: kbus version");
	ks = open_bus();
	if (ks < 0)
		return EXIT_KBUS;
	err = kbus_ksock_info(ks, &info);
	if (!err)
		err = kbus_ksock_max_message_size(ks, &size);
	if (!err)
		err = kbus_ksock_max_message_size(ks, &abs_size);
	kbus_ksock_close(ks);
	if (err) {
		err_msg("version: %s", kbus_strerror(err));
		return EXIT_KBUS;
	}
	printf("KBUS ABI version %u (header: %u)\n", info.abi_version,
	       KBUS_ABI_VERSION);
	printf("max message size: %u (absolute maximum %u)\nthis Ksock: %u\n",
	       size, abs_size, info.ksock_id);
	return EXIT_OK;
}

/* ---- add-bus, remove-bus ---- */

/*
 * Explain the error @err that @cmd ("add-bus" or "remove-bus") got from
 * the kbus-control node @control.  The errors that mean something else to
 * each of them (ENOSPC, ENOENT of a bus, EBUSY) are their own business.
 */
static void bus_ctl_error(const char *cmd, const char *control, int err)
{
	if (err == -EPERM)
		err_msg("%s: not permitted: needs CAP_SYS_ADMIN over the user namespace of the kbus filesystem",
			cmd);
	else if (err == -ENOENT)
		err_msg("%s: no such control node %s (is a kbus filesystem mounted there?)",
			cmd, control);
	else if (err == -EACCES)
		err_msg("%s: cannot open %s: permission denied", cmd, control);
	else if (err == -ENOTTY)
		err_msg("%s: %s is not the kbus-control node of a kbus filesystem",
			cmd, control);
	else
		err_msg("%s: %s", cmd, kbus_strerror(err));
}

/* The path of bus @bus's node: kbus<N> next to the node @control. */
static int bus_node_path(const char *control, uint32_t bus, char *path,
			 size_t size)
{
	char *copy = strdup(control);
	const char *dir;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	snprintf(path, size, "%s%s" KBUS_FS_BUS_FMT, dir,
		 dir[strlen(dir) - 1] == '/' ? "" : "/", bus);
	free(copy);
	return 0;
}

static int cmd_add_bus(int argc, char **argv)
{
	char path[PATH_MAX];
	uint32_t bus;
	int err;

	if (argc != 2)
		return usage_error("usage: kbus add-bus CONTROL");
	err = kbus_bus_add(argv[1], &bus);
	if (err == -ENOSPC) {
		err_msg("add-bus: no bus numbers left: every bus number of the kbus filesystem is in use");
		return EXIT_KBUS;
	}
	if (err) {
		bus_ctl_error("add-bus", argv[1], err);
		return EXIT_KBUS;
	}
	err = bus_node_path(argv[1], bus, path, sizeof(path));
	if (err) {
		err_msg("add-bus: added bus %u: %s", bus, strerror(-err));
		return EXIT_KBUS;
	}
	printf("%u\t%s\n", bus, path);
	return EXIT_OK;
}

static int cmd_remove_bus(int argc, char **argv)
{
	long bus;
	int err;

	if (argc != 3)
		return usage_error("usage: kbus remove-bus CONTROL N");
	if (parse_uint(argv[2], "bus number", UINT32_MAX, &bus))
		return EXIT_USAGE;
	err = kbus_bus_remove(argv[1], bus);
	/* -ENOENT: no control node, or no such bus on it. */
	if (err == -ENOENT && !access(argv[1], F_OK)) {
		err_msg("remove-bus: no such bus %ld on %s", bus, argv[1]);
		return EXIT_KBUS;
	}
	if (err == -EBUSY) {
		err_msg("remove-bus: bus %ld is open (every Ksock on it must be closed first)",
			bus);
		return EXIT_KBUS;
	}
	if (err) {
		bus_ctl_error("remove-bus", argv[1], err);
		return EXIT_KBUS;
	}
	return EXIT_OK;
}

/* ---- bindings, stats ---- */

static void explain_debugfs(const char *path, int err)
{
	struct statfs sfs;
	struct stat st;

	if (err == EACCES) {
		err_msg("cannot read %s: permission denied (debugfs needs root)",
			path);
	} else if (statfs(DEBUGFS_MOUNT, &sfs) ||
		   sfs.f_type != DEBUGFS_SUPER_MAGIC) {
		err_msg("cannot read %s: debugfs is not mounted on %s (mount -t debugfs none %s)",
			path, DEBUGFS_MOUNT, DEBUGFS_MOUNT);
	} else if (stat(KBUS_DEBUGFS_DIR, &st)) {
		err_msg("cannot read %s: no %s in debugfs (is the kbus driver loaded?)",
			path, KBUS_DEBUGFS_DIR);
	} else {
		err_msg("cannot read %s: %s", path, strerror(err));
	}
}

/*
 * Copy a debugfs file to stdout, unparsed: the files are for people and
 * their format may change, so nothing here depends on it.  Programs use
 * the uAPI (KBUS_IOC_REPLIER, KBUS_IOC_KSOCK_INFO: "kbus replier",
 * "kbus version").
 */
static int show_debugfs(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		explain_debugfs(path, errno);
		return EXIT_KBUS;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	if (ferror(f)) {
		err_msg("error reading %s", path);
		fclose(f);
		return EXIT_KBUS;
	}
	fclose(f);
	return EXIT_OK;
}

static int cmd_bindings(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_error("usage: kbus bindings");
	return show_debugfs(KBUS_DEBUGFS_BINDINGS);
}

static int cmd_stats(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_error("usage: kbus stats");
	return show_debugfs(KBUS_DEBUGFS_STATS);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "send", cmd_send },
	{ "request", cmd_request },
	{ "listen", cmd_listen },
	{ "reply", cmd_reply },
	{ "monitor", cmd_monitor },
	{ "replier", cmd_replier },
	{ "limpet", cmd_limpet },
	{ "mqtt", cmd_mqtt },
	{ "bindings", cmd_bindings },
	{ "stats", cmd_stats },
	{ "add-bus", cmd_add_bus },
	{ "remove-bus", cmd_remove_bus },
	{ "version", cmd_version },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	unsigned int i;
	int opt;

	while ((opt = getopt(argc, argv, "+b:vh")) != -1) {
		switch (opt) {
		case 'b':
			bus_spec = optarg;
			bus_given = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[0], commands[i].name)) {
			optind = 0;	/* restart getopt for the command */
			return commands[i].fn(argc, argv);
		}
	}
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
		return cmd_help(argc, argv);
	return usage_error("unknown command '%s'", argv[0]);
}
