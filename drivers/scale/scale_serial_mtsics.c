/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_serial_mtsics.c - Mettler Toledo scales speaking MT-SICS over a serial
 * line (RS-232 or USB-serial): board.conf scale.backend = serial-mtsics.
 *
 * Polls "SI" (weight now, stable or dynamic) every scale.poll_ms, zeroes with "Z", asks "I2"
 * once for the model. MT-SICS ships at 9600 8N1 with no handshake; scale.serial overrides.
 * Parsing lives in scale_proto.c, the request machinery in scale_serial.c.
 */
#include <stdio.h>

#include "drivers/scale/scale_serial.h"

/** Factory line settings of MT-SICS balances. */
#define MTSICS_SERIAL_DEFAULT "9600 8N1"

static int mtsics_open(struct scale *s)
{
	int r = scale_serial__open(s, SCALE_PROTO_MTSICS, MTSICS_SERIAL_DEFAULT);

	if (r == 0 && !s->model[0])
		snprintf(s->model, sizeof(s->model), "MT-SICS scale");
	return r;
}

const struct scale_ops scale_serial_mtsics_ops = {
	.name = "serial-mtsics",
	.open = mtsics_open,
	.close = scale_serial__close,
	.get_fd = scale_serial__get_fd,
	.on_readable = scale_serial__on_readable,
	.tare = scale_serial__tare,
};
