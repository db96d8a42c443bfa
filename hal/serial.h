/* SPDX-License-Identifier: MIT */
/*
 * hal/serial.h - serial ports (RS-232, USB-serial, CDC-ACM) through termios.
 *
 * Opens the port raw (no echo, no line discipline processing, no flow control unless asked),
 * non-blocking and close-on-exec, with the line settings from the board file ("9600 8N1").
 * read() on the fd returns -1/EAGAIN when empty and 0 only after a hang-up (a USB-serial
 * adapter unplugged); a pty whose master closed gives EIO.
 * Returns -errno; never logs.
 */
#ifndef SEALBENCH_HAL_SERIAL_H
#define SEALBENCH_HAL_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hal_serial_cfg {
	unsigned baud;      /* 1200 .. 4000000; must be a rate termios knows */
	unsigned data_bits; /* 5..8 */
	char parity;        /* 'N', 'E', 'O' */
	unsigned stop_bits; /* 1 or 2 */
	bool rtscts;        /* hardware flow control */
};

/** Default: 9600 8N1, no flow control. */
#define HAL_SERIAL_CFG_DEFAULT { 9600, 8, 'N', 1, false }

/**
 * @brief Parse "9600 8N1" / "19200 7E1 rtscts" into @p ret.
 * @return 0; -EINVAL with @p ret untouched.
 */
int hal_serial_parse(const char *s, struct hal_serial_cfg *ret);

/**
 * @brief Open @p path raw and non-blocking with @p cfg.
 * @return the fd (the caller closes it with close()), or -errno (-ENOENT, -EACCES, -ENOTTY
 *         when the path is not a terminal, -EINVAL for an unsupported rate).
 */
int hal_serial_open(const char *path, const struct hal_serial_cfg *cfg);

/** @brief write() that returns -errno; may write less than @p n (non-blocking). */
ssize_t hal_serial_write(int fd, const void *buf, size_t n);

/** Room for hal_serial_format()'s text ("4000000 8N1 rtscts" is 18 bytes, plus the NUL). */
#define HAL_SERIAL_FMT_MAX 24

/**
 * @brief Apply @p cfg (raw mode, line settings) to an already open terminal @p fd, e.g. the
 * slave side of a pty that a replay tool created.
 * @return 0; -EINVAL bad @p cfg; -ENOTTY not a terminal; -errno from tcsetattr().
 */
int hal_serial_apply(int fd, const struct hal_serial_cfg *cfg);

/**
 * @brief Format @p cfg the way hal_serial_parse() reads it ("9600 8N1", "19200 7E1 rtscts").
 * @param buf receives the text; HAL_SERIAL_FMT_MAX bytes are always enough.
 * @return 0; -EINVAL invalid @p cfg; -ENOBUFS @p len too small.
 */
int hal_serial_format(const struct hal_serial_cfg *cfg, char *buf, size_t len);

#endif
