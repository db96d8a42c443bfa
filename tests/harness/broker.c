/* SPDX-License-Identifier: MIT */
/*
 * A private mosquitto for tests: see broker.h.
 *
 * Readiness: mosquitto logs "mosquitto version X running" after every listener is bound and
 * listening, so the harness reads the child's stderr through a pipe (poll() with a deadline,
 * never a sleep) until that line appears. Once it has, the read end is closed: the broker was
 * started with SIGPIPE ignored, so its later stderr lines fail with EPIPE and are dropped
 * while the log file in the broker's directory keeps everything.
 *
 * Free port: bind 127.0.0.1:0, read the port, close, hand it to mosquitto. Another process
 * may take it in between; the broker then fails with "Address already in use" and the
 * harness tries another port.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/broker.h"

#define BROKER_DEFAULT_BIN "/usr/sbin/mosquitto"
/** Directory, config and log paths: a mkdtemp() name under $TMPDIR plus a file name. */
#define BROKER_PATH_MAX PATH_MAX
/** Start-up output kept while waiting for the "running" line (a start logs ~5 short lines). */
#define BROKER_STARTUP_BUF 4096
/** How long a broker may take to come up, and to exit after SIGTERM. */
#define BROKER_START_TIMEOUT_MS 5000
#define BROKER_STOP_TIMEOUT_MS	5000
/** SIGTERM is sent again this often while waiting for the broker to exit. */
#define BROKER_TERM_REPEAT_MS 200
/** Fresh ports tried when another process takes the chosen one first. */
#define BROKER_PORT_ATTEMPTS 5

struct broker {
	pid_t pid; /* 0 when not running */
	unsigned port;
	char *extra_conf;
	char dir[BROKER_PATH_MAX];
	char conf_path[BROKER_PATH_MAX];
	char log_path[BROKER_PATH_MAX];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pick_port(unsigned *ret)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		r = -errno;
	else
		*ret = ntohs(sa.sin_port);
	close(fd);
	return r;
}

static int write_conf(const struct broker *b)
{
	FILE *f;
	int r = 0;

	f = fopen(b->conf_path, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"listener %u 127.0.0.1\n"
		"allow_anonymous true\n"
		"persistence false\n"
		"log_dest stderr\n"
		"log_dest file %s\n"
		"log_type all\n"
		"connection_messages true\n",
		b->port, b->log_path);
	/* As root mosquitto switches to the "mosquitto" user, which cannot write our 0700 dir. */
	if (geteuid() == 0)
		fprintf(f, "user root\n");
	if (b->extra_conf)
		fprintf(f, "%s\n", b->extra_conf);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return status;
}

/*
 * Send SIGTERM to @p pid until it exits, at most @p timeout_ms; 0 when it did, -ETIMEDOUT
 * otherwise. Repeated because mosquitto sets its "run" flag only after it logged "running"
 * with its handlers installed: a SIGTERM that lands in between is forgotten.
 */
static int term_and_wait(pid_t pid, int timeout_ms)
{
	struct pollfd pfd = {.events = POLLIN};
	int64_t deadline = now_ms() + timeout_ms;
	int r = 0;

	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd < 0)
		return -errno;
	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		kill(pid, SIGTERM);
		r = poll(&pfd, 1, left < BROKER_TERM_REPEAT_MS ? (int)left : BROKER_TERM_REPEAT_MS);
		if (r > 0) {
			r = 0;
			break;
		}
	}
	close(pfd.fd);
	return r;
}

static void child_exec(const struct broker *b, int out_fd)
{
	const char *bin = getenv("SEALBENCH_MOSQUITTO");
	sigset_t none;
	int devnull;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN); /* survives exec: stderr is closed under it after start-up */
	devnull = open("/dev/null", O_RDWR);
	if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
	    dup2(out_fd, STDERR_FILENO) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	execl(bin ? bin : BROKER_DEFAULT_BIN, "mosquitto", "-c", b->conf_path, (char *)NULL);
	_exit(127);
}

/* Read the child's stderr until "running", EOF (it exited) or the deadline. */
static int wait_ready(struct broker *b, int fd)
{
	char buf[BROKER_STARTUP_BUF];
	size_t used = 0;
	int64_t deadline = now_ms() + BROKER_START_TIMEOUT_MS;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (used == sizeof(buf) - 1) {
			/* Keep the tail: the line we look for is the last one of start-up. */
			memmove(buf, buf + used / 2, used - used / 2);
			used -= used / 2;
		}
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf[used + (size_t)n] = '\0';
		if (n == 0) {
			int status = reap(b->pid);

			b->pid = 0;
			if (strstr(buf, "Address already in use"))
				return -EADDRINUSE;
			if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
				return -ENOENT;
			return -EIO;
		}
		used += (size_t)n;
		if (strstr(buf, " running"))
			return 0;
	}
}

static int spawn(struct broker *b)
{
	int p[2], r;
	pid_t pid;

	r = write_conf(b);
	if (r < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0)
		child_exec(b, p[1]);
	close(p[1]);
	b->pid = pid;
	r = wait_ready(b, p[0]);
	close(p[0]);
	if (r < 0 && b->pid) {
		kill(b->pid, SIGKILL);
		reap(b->pid);
		b->pid = 0;
	}
	return r;
}

int broker_start_with(const char *extra_conf, struct broker **ret)
{
	struct broker *b;
	const char *tmp = getenv("TMPDIR");
	int r = -EADDRINUSE;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (extra_conf && *extra_conf) {
		b->extra_conf = strdup(extra_conf);
		if (!b->extra_conf) {
			r = -ENOMEM;
			goto err_free;
		}
	}
	if ((size_t)snprintf(b->dir, sizeof(b->dir), "%s/sealbench-broker-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= sizeof(b->dir)) {
		r = -ENAMETOOLONG;
		goto err_free;
	}
	if (!mkdtemp(b->dir)) {
		r = -errno;
		goto err_free;
	}
	if ((size_t)snprintf(b->conf_path, sizeof(b->conf_path), "%s/mosquitto.conf", b->dir) >=
		    sizeof(b->conf_path) ||
	    (size_t)snprintf(b->log_path, sizeof(b->log_path), "%s/mosquitto.log", b->dir) >=
		    sizeof(b->log_path)) {
		r = -ENAMETOOLONG;
		goto err_rmdir;
	}
	for (int i = 0; i < BROKER_PORT_ATTEMPTS && r == -EADDRINUSE; i++) {
		r = pick_port(&b->port);
		if (r < 0)
			goto err_rmdir;
		r = spawn(b);
	}
	if (r < 0)
		goto err_rmdir;
	*ret = b;
	return 0;

err_rmdir:
	unlink(b->conf_path);
	unlink(b->log_path);
	rmdir(b->dir);
err_free:
	free(b->extra_conf);
	free(b);
	return r;
}

int broker_start(struct broker **ret)
{
	return broker_start_with(NULL, ret);
}

unsigned broker_get_port(const struct broker *b)
{
	return b->port;
}

bool broker_is_running(const struct broker *b)
{
	return b->pid != 0;
}

const char *broker_get_log_path(const struct broker *b)
{
	return b->log_path;
}

int broker_stop(struct broker *b)
{
	int r;

	if (!b->pid)
		return 0;
	r = term_and_wait(b->pid, BROKER_STOP_TIMEOUT_MS);
	if (r < 0)
		kill(b->pid, SIGKILL); /* too slow, or no pidfd: make the reap below bounded */
	r = reap(b->pid);
	b->pid = 0;
	return r < 0 ? r : 0;
}

int broker_kill(struct broker *b)
{
	int r;

	if (!b->pid)
		return 0;
	if (kill(b->pid, SIGKILL) < 0)
		return -errno;
	r = reap(b->pid);
	b->pid = 0;
	return r < 0 ? r : 0;
}

int broker_restart(struct broker *b)
{
	int r = broker_stop(b);

	if (r < 0)
		return r;
	return spawn(b);
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	broker_stop(b);
	unlink(b->conf_path);
	unlink(b->log_path);
	rmdir(b->dir);
	free(b->extra_conf);
	free(b);
}
