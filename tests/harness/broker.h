/* SPDX-License-Identifier: MIT */
/*
 * tests/harness/broker.h - a private mosquitto broker for tests.
 *
 * Each broker runs /usr/sbin/mosquitto (override with $SEALBENCH_MOSQUITTO) as a child process
 * listening on a free 127.0.0.1 port, with a temporary directory holding its config and log
 * (no persistence, anonymous clients allowed). broker_start() returns only once the broker has
 * logged that it is running (read from its stderr through a pipe, with poll() timeouts), so a
 * client may connect at once. The object outlives the process: broker_stop()/broker_kill()
 * end it and broker_restart() brings a new one up on the same port, which is how tests simulate
 * a broker outage.
 *
 * Dependencies: libc only (it is linked into every unit test). Not thread-safe. The child gets
 * an empty signal mask (the event loop blocks signals for signalfd) and none of the test's file
 * descriptors, so a client socket of the test never outlives its close() in the broker.
 */
#ifndef SEALBENCH_TESTS_HARNESS_BROKER_H
#define SEALBENCH_TESTS_HARNESS_BROKER_H

#include <stdbool.h>

struct broker;

/**
 * @brief Start a private broker on a free loopback port and wait until it accepts connections.
 * @param ret receives the broker; free with broker_free(). Untouched on failure.
 * @return 0; -ENOENT no mosquitto binary; -ETIMEDOUT it did not come up within 5 s;
 *         -EADDRINUSE no free port after several attempts; -ENOMEM; -errno.
 */
int broker_start(struct broker **ret);

/**
 * @brief Like broker_start(), with extra mosquitto.conf lines appended to the generated config
 *        (for example "message_size_limit 2000\n").
 * @param extra_conf borrowed for the call; NULL or "" for none.
 */
int broker_start_with(const char *extra_conf, struct broker **ret);

/** @brief The TCP port on 127.0.0.1 (stays the same across broker_restart()). */
unsigned broker_get_port(const struct broker *b);

/** @brief Whether the broker process is running (it has not been stopped or killed). */
bool broker_is_running(const struct broker *b);

/**
 * @brief Path of the broker's log file (all log types), for diagnostics. Borrowed until
 *        broker_free().
 */
const char *broker_get_log_path(const struct broker *b);

/**
 * @brief Stop the broker gracefully (SIGTERM; SIGKILL after 5 s) and reap it. Clients see
 *        their connections closed. The object and its port stay for broker_restart().
 * @return 0 (also when it was not running); -errno.
 */
int broker_stop(struct broker *b);

/**
 * @brief Kill the broker abruptly (SIGKILL) and reap it: nothing is flushed, no will is sent.
 * @return 0 (also when it was not running); -errno.
 */
int broker_kill(struct broker *b);

/**
 * @brief Start the broker again on the same port (after broker_stop()/broker_kill(); a
 *        running broker is stopped first) and wait until it accepts connections. Retained
 *        messages and sessions are gone (no persistence).
 * @return 0; -ETIMEDOUT; -EADDRINUSE the port was taken meanwhile; -errno.
 */
int broker_restart(struct broker *b);

/** @brief Stop the broker if running, remove its directory, free. Accepts NULL. */
void broker_free(struct broker *b);

#endif
