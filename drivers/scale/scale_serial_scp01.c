/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_serial_scp01.c - NCI / Avery Weigh-Tronix / Brecknell bench scales
 * speaking the NCI protocol (control document SCP-01): board.conf scale.backend =
 * serial-scp01.
 *
 * Polls "W" (weight + status) every scale.poll_ms and zeroes with "Z". NCI scales commonly
 * ship at 9600 7E1; scale.serial overrides. The protocol has no identification command, so
 * the model stays generic. Parsing lives in scale_proto.c, the request machinery in
 * scale_serial.c.
 */
#include <stdio.h>

#include "drivers/scale/scale_serial.h"

/** Common factory line settings of NCI-protocol scales. */
#define SCP01_SERIAL_DEFAULT "9600 7E1"

static int scp01_open(struct scale *s)
{
	int r = scale_serial__open(s, SCALE_PROTO_SCP01, SCP01_SERIAL_DEFAULT);

	if (r == 0)
		snprintf(s->model, sizeof(s->model), "SCP-01 (NCI) scale");
	return r;
}

const struct scale_ops scale_serial_scp01_ops = {
	.name = "serial-scp01",
	.open = scp01_open,
	.close = scale_serial__close,
	.get_fd = scale_serial__get_fd,
	.on_readable = scale_serial__on_readable,
	.tare = scale_serial__tare,
};
