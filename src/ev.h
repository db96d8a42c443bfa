/* SPDX-License-Identifier: MIT */
/*
 * src/ev.h - the event loop: epoll for fds, one timerfd per timer, signalfd for signals.
 *
 * ae-sized, sd-event-shaped (STYLE 17). Single-threaded; callbacks run from ev_run(). A
 * callback returning a negative errno is logged by the loop and otherwise ignored (a station
 * soldiers on); to stop the loop call ev_exit().
 *
 * EPOLLERR and EPOLLHUP are reported as EPOLLIN so a handler finds the error in its own read.
 */
#ifndef SEALBENCH_SRC_EV_H
#define SEALBENCH_SRC_EV_H

#include <stdint.h>
#include <sys/epoll.h>

struct ev;
struct ev_source;

/** I/O callback. @p revents is a mask of EPOLLIN / EPOLLOUT. Return 0 or -errno. */
typedef int (*ev_io_cb)(struct ev_source *s, int fd, uint32_t revents, void *userdata);
/** Timer callback; the timer is disarmed when it runs (one-shot). Return 0 or -errno. */
typedef int (*ev_timer_cb)(struct ev_source *s, uint64_t now_ns, void *userdata);
/** Signal callback (signalfd). Return 0 or -errno. */
typedef int (*ev_signal_cb)(struct ev_source *s, int signo, void *userdata);

/**
 * @brief Create a loop. @return 0 and *ret, or -errno. Free with ev_free().
 */
int ev_new(struct ev **ret);

/** @brief Free the loop and every source still attached. Accepts NULL. Closes no user fd. */
void ev_free(struct ev *ev);

/**
 * @brief Watch @p fd for @p events (EPOLLIN, EPOLLOUT).
 * The fd stays owned by the caller, who must ev_source_free() the source before closing it.
 * @param ret optional: receives the source (owned by the loop; free with ev_source_free()).
 * @return 0, or -errno (-EEXIST when the fd is already watched).
 */
int ev_add_io(struct ev *ev, int fd, uint32_t events, ev_io_cb cb, void *userdata,
	      struct ev_source **ret);

/** @brief Change the events an io source waits for (want_write re-arm). @return 0 or -errno. */
int ev_io_set_events(struct ev_source *s, uint32_t events);

/**
 * @brief Create a disarmed one-shot timer on CLOCK_MONOTONIC. Arm with ev_timer_arm().
 * @return 0 and *ret (owned by the loop; free with ev_source_free()), or -errno.
 */
int ev_add_timer(struct ev *ev, ev_timer_cb cb, void *userdata, struct ev_source **ret);

/** @brief Arm @p s to fire once at absolute monotonic @p deadline_ns (0 disarms). */
int ev_timer_arm(struct ev_source *s, uint64_t deadline_ns);

/** @brief Arm @p s to fire once @p delay_ns from now. */
int ev_timer_arm_in(struct ev_source *s, uint64_t delay_ns);

/** @brief Disarm a timer. Accepts NULL. */
void ev_timer_disarm(struct ev_source *s);

/**
 * @brief Deliver @p signo through signalfd (it is blocked for the whole process).
 * @return 0 and optionally *ret, or -errno.
 */
int ev_add_signal(struct ev *ev, int signo, ev_signal_cb cb, void *userdata,
		  struct ev_source **ret);

/** @brief Detach and free a source. Safe from inside its own callback. Accepts NULL. */
void ev_source_free(struct ev_source *s);

/** @brief Run until ev_exit(). @return the code given to ev_exit(), or -errno on loop failure. */
int ev_run(struct ev *ev);

/** @brief Run one iteration, waiting at most @p timeout_ms (-1 forever). Test helper. */
int ev_run_once(struct ev *ev, int timeout_ms);

/** @brief Make ev_run() return @p code after the current callback. */
void ev_exit(struct ev *ev, int code);

/** @brief Whether ev_exit() was called. */
int ev_is_exiting(const struct ev *ev);

#endif
