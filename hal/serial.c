/* SPDX-License-Identifier: MIT */
/*
 * hal/serial.c - serial ports through termios (hal/serial.h).
 *
 * The port is put in raw mode (cfmakeraw: no echo, no canonical processing, no CR/NL
 * translation, 8-bit clean), with CLOCAL (ignore modem control lines: USB-serial adapters and
 * three-wire RS-232 cables do not drive DCD) and CREAD. Non-blocking: the caller polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hal/serial.h"

/* Rates termios knows, in ascending order (the Bnnn constants are not the numbers). */
static const struct {
	unsigned baud;
	speed_t speed;
} rates[] = {
	{1200, B1200},	     {1800, B1800},	  {2400, B2400},       {4800, B4800},
	{9600, B9600},	     {19200, B19200},	  {38400, B38400},     {57600, B57600},
	{115200, B115200},   {230400, B230400},	  {460800, B460800},   {500000, B500000},
	{576000, B576000},   {921600, B921600},	  {1000000, B1000000}, {1152000, B1152000},
	{1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
	{3500000, B3500000}, {4000000, B4000000},
};

static int speed_of(unsigned baud, speed_t *ret)
{
	size_t i;

	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		if (rates[i].baud == baud) {
			*ret = rates[i].speed;
			return 0;
		}
	}
	return -EINVAL;
}

static bool cfg_valid(const struct hal_serial_cfg *cfg)
{
	speed_t sp;

	return speed_of(cfg->baud, &sp) == 0 && cfg->data_bits >= 5 && cfg->data_bits <= 8 &&
	       (cfg->parity == 'N' || cfg->parity == 'E' || cfg->parity == 'O') &&
	       (cfg->stop_bits == 1 || cfg->stop_bits == 2);
}

int hal_serial_parse(const char *s, struct hal_serial_cfg *ret)
{
	struct hal_serial_cfg c = HAL_SERIAL_CFG_DEFAULT;
	char frame[4], flow[8], extra[2];
	unsigned long baud;
	char *end;
	int n;

	if (!s || !ret)
		return -EINVAL;
	errno = 0;
	baud = strtoul(s, &end, 10);
	if (errno || end == s || baud > 4000000 || (*end != ' ' && *end != '\t'))
		return -EINVAL;
	/* "8N1" then an optional flow-control word; nothing else. */
	n = sscanf(end, " %3s %7s %1s", frame, flow, extra);
	if (n < 1 || n > 2 || strlen(frame) != 3)
		return -EINVAL;
	if (frame[0] < '5' || frame[0] > '8' || (frame[2] != '1' && frame[2] != '2'))
		return -EINVAL;
	c.baud = (unsigned)baud;
	c.data_bits = (unsigned)(frame[0] - '0');
	c.parity = frame[1] == 'n' ? 'N' : frame[1] == 'e' ? 'E' : frame[1] == 'o' ? 'O' : frame[1];
	c.stop_bits = (unsigned)(frame[2] - '0');
	if (n == 2) {
		if (strcmp(flow, "rtscts"))
			return -EINVAL;
		c.rtscts = true;
	}
	if (!cfg_valid(&c))
		return -EINVAL;
	*ret = c;
	return 0;
}

int hal_serial_format(const struct hal_serial_cfg *cfg, char *buf, size_t len)
{
	int n;

	if (!cfg || !buf || !cfg_valid(cfg))
		return -EINVAL;
	n = snprintf(buf, len, "%u %u%c%u%s", cfg->baud, cfg->data_bits, cfg->parity,
		     cfg->stop_bits, cfg->rtscts ? " rtscts" : "");
	if (n < 0 || (size_t)n >= len)
		return -ENOBUFS;
	return 0;
}

int hal_serial_apply(int fd, const struct hal_serial_cfg *cfg)
{
	static const tcflag_t sizes[] = {CS5, CS6, CS7, CS8};
	struct termios t;
	speed_t sp = B9600;

	if (fd < 0 || !cfg || !cfg_valid(cfg) || speed_of(cfg->baud, &sp) < 0)
		return -EINVAL;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	t.c_cflag |= sizes[cfg->data_bits - 5] | CLOCAL | CREAD;
	if (cfg->parity != 'N')
		t.c_cflag |= PARENB | (cfg->parity == 'O' ? PARODD : 0);
	if (cfg->stop_bits == 2)
		t.c_cflag |= CSTOPB;
	if (cfg->rtscts)
		t.c_cflag |= CRTSCTS;
	/* Parity errors: drop the byte rather than pass a wrong one (no INPCK marking). */
	if (cfg->parity != 'N')
		t.c_iflag |= INPCK | IGNPAR;
	/* VMIN 1, not 0: with VMIN = VTIME = 0 an empty non-blocking read returns 0 instead of
	 * EAGAIN, and 0 must stay the hang-up (unplug) signal. */
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0)
		return -errno;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

int hal_serial_open(const char *path, const struct hal_serial_cfg *cfg)
{
	int fd, r;

	if (!path || !cfg)
		return -EINVAL;
	if (!cfg_valid(cfg))
		return -EINVAL;
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!isatty(fd)) {
		r = -ENOTTY;
		goto err_close;
	}
	r = hal_serial_apply(fd, cfg);
	if (r < 0)
		goto err_close;
	/* Whatever sat in the buffers belongs to nobody: start clean. */
	(void)tcflush(fd, TCIOFLUSH);
	return fd;

err_close:
	close(fd);
	return r;
}

ssize_t hal_serial_write(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do {
		r = write(fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}
