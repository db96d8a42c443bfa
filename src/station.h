/* SPDX-License-Identifier: MIT */
/*
 * src/station.h - one packing station: the devices, the state machine, the outbox and the link,
 * wired together on one event loop.
 *
 * Data flows one way (DESIGN.md): device fd readable -> driver decodes -> pipeline -> record ->
 * outbox -> link. This file is that wiring and nothing more: it reads drivers through their
 * class API when their fds poll readable, answers the pipeline's requests (photo, order
 * context, seal), and keeps the retained status up to date.
 */
#ifndef SEALBENCH_SRC_STATION_H
#define SEALBENCH_SRC_STATION_H

#include <stdint.h>

#include "drivers/badge/badge.h"
#include "drivers/camera/camera.h"
#include "drivers/lights/lights.h"
#include "drivers/scale/scale.h"
#include "drivers/scanner/scanner.h"
#include "drivers/trigger/trigger.h"
#include "src/config.h"

struct ev;
struct outbox;
struct sign_key;
struct mqtt_link;
struct station;

/**
 * What the station is built from. ev, cfg, board and outbox are borrowed and must outlive the
 * station. The devices are handed over: once station_new() succeeds the station owns them
 * (it closes a device that fails, re-opens it from the board file, and closes them all in
 * station_free()); if station_new() fails they stay the caller's.
 */
struct station_parts {
	struct ev *ev;
	/* the station replaces its rules and catalogs in place when a lead's signed bundle is
	 * applied (src/bundle.h), between two packages */
	struct station_cfg *cfg;
	const struct board_cfg *board; /* for re-opening a device after it went away */
	const char *firmware_version;
	struct scale *scale;
	struct scanner *scanner;
	struct badge *badge;
	struct camera *camera;
	struct lights *lights;
	struct trigger *trigger; /* optional: a foot pedal or photo-eye; NULL = none */
	struct outbox *outbox;
	const struct sign_key *key; /* the station's Ed25519 key: signs every record */
};

/**
 * @brief Wire the station. Registers the device fds and timers with the loop.
 * @return 0 and *ret (free with station_free()), -ENOMEM, -errno.
 */
int station_new(const struct station_parts *parts, struct station **ret);

/** @brief Unregister, close the devices and free (outbox and link are the caller's). NULL ok. */
void station_free(struct station *st);

/**
 * @brief Attach the MQTT link (created after the station, because its callbacks need it).
 * @p link is borrowed; pass NULL before freeing the link.
 */
void station_set_link(struct station *st, struct mqtt_link *link);

/**
 * @brief The link callbacks the station implements; userdata is the station. With
 *        [station] lead_keys_dir set they include the config topics (signed rules bundles).
 */
const struct mqtt_link_callbacks *station_link_callbacks(const struct station *st);

/** ev_run() returns this when the outbox failed its full integrity check (see station.c). */
#define STATION_EXIT_OUTBOX_DAMAGED 3

/** @brief Put @p text (copied) in the status as the last error, e.g. a start-up problem. */
void station_report_error(struct station *st, const char *text);

/** @brief The pipeline, for tests and status. Borrowed. */
struct pipeline *station_get_pipeline(struct station *st);

#endif
