/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-replay - play a serial capture into a pty, like gpsd's gpsfake: a driver (or
 * sealbenchd with scale.device pointing at the printed path) talks to the pty as if the
 * recorded device were attached.
 *
 *	sealbench-replay [--fast] [--loop] [--link PATH] [--protocol P] [--timeout-ms N] FILE
 *
 * - creates a pty pair, applies the capture's "# Transport: serial <settings>" line settings to
 *   the slave (so programs that do not set termios themselves see the recorded settings) and
 *   prints the slave's path on stdout (and symlinks it at --link PATH);
 * - "r" records are written in frames cut by the driver's own framer
 *   (scale_proto_frame(), protocol from "# Protocol:" or --protocol), one write per frame,
 *   after the recorded delay (no delays with --fast);
 * - a capture with "w" records is request/response: at each "w" record the replayer waits
 *   (at most --timeout-ms) until the client has written that many bytes, checks they match
 *   the recording, and only then plays the answer. Unsolicited client bytes in a stream
 *   capture are read and dropped;
 * - at the end it closes the master, which the client sees as an unplug (-ENODEV), unless
 *   --loop starts over.
 * Exit status: 0 played to the end; 1 a request did not match or did not come in time.
 * Waiting is done with poll() timeouts on the pty, never by sleeping.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/scale/scale_capture.h"
#include "drivers/scale/scale_proto.h"
#include "hal/clock.h"
#include "hal/serial.h"
#include "tools/common.h"

/** Default wait for a recorded request. */
#define REPLAY_TIMEOUT_MS 5000
/** Scratch for client bytes. */
#define RX_CHUNK 256

struct replay {
	int master;
	bool fast;
	unsigned timeout_ms;
	enum scale_proto_id proto;
	uint8_t *pending; /* client bytes not yet matched */
	size_t n_pending, cap_pending;
};

/* Read whatever the client wrote (non-blocking). @return 0, or -errno (EIO: slave closed by all).
 */
static int drain_client(struct replay *rp, bool keep)
{
	uint8_t buf[RX_CHUNK];
	ssize_t n;

	for (;;) {
		n = read(rp->master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 0;
		if (!keep)
			continue;
		if (rp->n_pending + (size_t)n > rp->cap_pending) {
			size_t cap = (rp->n_pending + (size_t)n) * 2;
			uint8_t *p = realloc(rp->pending, cap);

			if (!p)
				die("out of memory");
			rp->pending = p;
			rp->cap_pending = cap;
		}
		memcpy(rp->pending + rp->n_pending, buf, (size_t)n);
		rp->n_pending += (size_t)n;
	}
}

/* Wait @p ms (the recorded gap), reading and dropping client bytes meanwhile. */
static void pace(struct replay *rp, unsigned ms, bool keep)
{
	uint64_t end = clock_now_ns() + (uint64_t)ms * NSEC_PER_MSEC, now;
	struct pollfd pfd = {.fd = rp->master, .events = POLLIN};

	if (rp->fast)
		return;
	while ((now = clock_now_ns()) < end) {
		int r = poll(&pfd, 1, (int)((end - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));

		if (r > 0 && drain_client(rp, keep) < 0)
			return;
	}
}

static void write_all(struct replay *rp, const uint8_t *d, size_t n)
{
	struct pollfd pfd = {.fd = rp->master, .events = POLLOUT};
	ssize_t w;

	while (n) {
		w = write(rp->master, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (poll(&pfd, 1, (int)rp->timeout_ms) <= 0)
				die("the client does not read (pty full for %u ms)",
				    rp->timeout_ms);
			continue;
		}
		if (w < 0)
			die_perror("write to pty");
		d += w;
		n -= (size_t)w;
	}
}

/* Play one "r" record, one write per frame as the driver's framer cuts it. */
static void play(struct replay *rp, const uint8_t *d, size_t n)
{
	int f;

	while (n) {
		f = scale_proto_frame(rp->proto, d, n);
		if (f <= 0)
			f = (int)(n < SCALE_FRAME_MAX ? n
						      : SCALE_FRAME_MAX); /* partial or overlong */
		write_all(rp, d, (size_t)f);
		d += f;
		n -= (size_t)f;
	}
}

/* Wait for the recorded request. @return 0 matched; 1 mismatch or timeout (reported). */
static int expect(struct replay *rp, const uint8_t *d, size_t n)
{
	uint64_t end = clock_now_ns() + (uint64_t)rp->timeout_ms * NSEC_PER_MSEC, now;
	struct pollfd pfd = {.fd = rp->master, .events = POLLIN};
	char want[2 * RX_CHUNK + 1], got[2 * RX_CHUNK + 1];

	for (;;) {
		if (drain_client(rp, true) < 0 && rp->n_pending < n) {
			fprintf(stderr, "%s: the client went away\n", get_prog_name());
			return 1;
		}
		if (rp->n_pending >= n)
			break;
		now = clock_now_ns();
		if (now >= end) {
			scale_capture_escape(d, n, want, sizeof(want));
			fprintf(stderr, "%s: no request \"%s\" within %u ms\n", get_prog_name(),
				want, rp->timeout_ms);
			return 1;
		}
		(void)poll(&pfd, 1, (int)((end - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));
	}
	if (memcmp(rp->pending, d, n)) {
		scale_capture_escape(d, n, want, sizeof(want));
		scale_capture_escape(rp->pending, n, got, sizeof(got));
		fprintf(stderr, "%s: expected request \"%s\", got \"%s\"\n", get_prog_name(), want,
			got);
		return 1;
	}
	memmove(rp->pending, rp->pending + n, rp->n_pending - n);
	rp->n_pending -= n;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [--fast] [--loop] [--link PATH] [--protocol mtsics|scp01]\n"
		"       [--timeout-ms N] FILE\n"
		"Play a serial capture into a new pty; print the pty's path on stdout.\n",
		get_prog_name());
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"fast", no_argument, NULL, 'f'},
		{"loop", no_argument, NULL, 'l'},
		{"link", required_argument, NULL, 'L'},
		{"protocol", required_argument, NULL, 'p'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct replay rp = {.timeout_ms = REPLAY_TIMEOUT_MS, .proto = _SCALE_PROTO_INVALID};
	struct hal_serial_cfg sc = HAL_SERIAL_CFG_DEFAULT;
	const char *link_path = NULL, *settings;
	struct scale_capture *cap;
	bool loop = false;
	unsigned line = 0;
	char name[128];
	int c, slave, r, status = 0;
	size_t i;
	struct stat st;

	while ((c = getopt_long(argc, argv, "flL:p:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			rp.fast = true;
			break;
		case 'l':
			loop = true;
			break;
		case 'L':
			link_path = optarg;
			break;
		case 'p':
			rp.proto = scale_proto_from_name(optarg);
			if ((int)rp.proto < 0)
				die("unknown protocol '%s' (mtsics, scp01)", optarg);
			break;
		case 't':
			rp.timeout_ms =
				(unsigned)parse_uint_or_die("--timeout-ms", optarg, 1, 3600000);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	r = scale_capture_load(argv[optind], &cap, &line);
	if (r == -EBADMSG)
		die("%s:%u: not a capture line", argv[optind], line);
	if (r < 0)
		die_errno(r, "%s", argv[optind]);
	if ((int)rp.proto < 0)
		rp.proto = scale_proto_from_name(cap->protocol);
	if ((int)rp.proto < 0)
		die("%s: no '# Protocol:' header; give --protocol", argv[optind]);
	settings = scale_capture_serial(cap);
	if (settings && hal_serial_parse(settings, &sc) < 0)
		die("%s: bad line settings \"%s\"", argv[optind], settings);

	if (openpty(&rp.master, &slave, name, NULL, NULL) < 0)
		die_perror("openpty");
	/* The slave stays open here too: the settings persist, and the master does not see EIO
	 * before the client has opened its end. */
	r = hal_serial_apply(slave, &sc);
	if (r < 0)
		die_errno(r, "termios on %s", name);
	if (fcntl(rp.master, F_SETFL, fcntl(rp.master, F_GETFL) | O_NONBLOCK) < 0)
		die_perror("fcntl");
	if (link_path) {
		if (lstat(link_path, &st) == 0 && !S_ISLNK(st.st_mode))
			die("%s exists and is not a symlink; not replacing it", link_path);
		(void)unlink(link_path);
		if (symlink(name, link_path) < 0)
			die_perror("symlink %s", link_path);
	}
	printf("%s\n", name);
	fflush(stdout);

	do {
		for (i = 0; i < cap->n_recs && status == 0; i++) {
			const struct scale_capture_rec *rec = &cap->recs[i];

			if (rec->op == 'w') {
				status = expect(&rp, cap->data + rec->off, rec->len);
				continue;
			}
			pace(&rp, rec->ms, cap->has_writes);
			play(&rp, cap->data + rec->off, rec->len);
		}
	} while (loop && status == 0);

	if (link_path)
		(void)unlink(link_path);
	close(slave);
	close(rp.master);
	free(rp.pending);
	scale_capture_free(cap);
	return status;
}
