/* SPDX-License-Identifier: MIT */
/*
 * src/mqtt.h - the MQTT 5 link to central (libmosquitto inside our epoll loop).
 *
 * Follows libmosquitto's lib/loop.c recipe (STYLE 18): EPOLLIN -> mosquitto_loop_read,
 * EPOLLOUT only while mosquitto_want_write() -> mosquitto_loop_write, a 1 s timer ->
 * mosquitto_loop_misc. After any loop error or disconnect the fd is dropped from the loop and a
 * reconnect is attempted from a timer with exponential backoff; the new socket is registered.
 * Never blocks the loop for longer than the TCP connect to a loopback/LAN broker.
 *
 * Delivery: the link drains the outbox in seq order, QoS 1: for a record with a photo, the
 * photo chunks first (topic .../photo/{id}/{chunk}, at most chunk_size bytes each, user
 * properties "sha256", "chunks", "content-type"), then the record (.../evidence). At most
 * `inflight` records are unacknowledged by the broker at once. PUBACK -> outbox_mark_sent().
 * Central's application ack on .../ack -> outbox_ack(). After a (re)connect every unacked
 * record is published again from the oldest (central de-duplicates by record ID), except the
 * photo chunks the broker already PUBACKed (reason 0x00) before the drop: only the missing
 * chunks and the evidence go again. A record PUBACKed but not acked by central within
 * ack_timeout is published again too, then with its whole photo. What was PUBACKed is kept in
 * memory only (one slot per record of the inflight window): after a restart of the process a
 * record is sent whole.
 *
 * Order context: mqtt_link_request_order() publishes on sealbench/v1/{site}/orders/request
 * with response topic sealbench/v1/{site}/{station}/orders/response and correlation data; the
 * answer arrives through the on_order_response callback.
 *
 * Status: retained on .../status; the last will sets {"online":false}.
 */
#ifndef SEALBENCH_SRC_MQTT_H
#define SEALBENCH_SRC_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev;
struct outbox;
struct mqtt_link;

struct mqtt_link_cfg {
	const char *host;          /* broker host (loopback in tests) */
	unsigned port;             /* 1883 */
	const char *client_id;     /* "sealbench-<site>-<station>" */
	const char *site;
	const char *station;
	unsigned keepalive_s;      /* 30 */
	size_t chunk_size;         /* photo chunk payload bytes, e.g. 131072 - overhead */
	unsigned inflight;         /* records in flight, e.g. 16 */
	uint64_t ack_timeout_ms;   /* re-publish a SENT record without app ack after this */
	uint64_t backoff_min_ms;   /* first reconnect delay, e.g. 250 */
	uint64_t backoff_max_ms;   /* cap, e.g. 10000 */
	/*
	 * TLS (all optional; NULL or "" = plain TCP). tls_ca: PEM file of the CA(s) the broker's
	 * certificate must chain to; the broker's name must match cfg->host (DNS or IP SAN).
	 * tls_cert + tls_key: the station's client certificate and its private key (PEM), both
	 * or neither, only with tls_ca. TLS 1.2 is the minimum. The files are read at every
	 * connection attempt (a renewed certificate is picked up on the next reconnect).
	 */
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
};

/** Photo transfer counters since mqtt_link_new() (mqtt_link_get_stats()). */
struct mqtt_link_stats {
	uint64_t chunks_published; /* photo chunk messages handed to libmosquitto */
	uint64_t chunks_skipped;   /* not published again: the broker had PUBACKed them */
	uint64_t resume_resets;	   /* PUBACKed sets forgotten after ack_timeout: sent whole */
};

struct mqtt_link_callbacks {
	/** Connection came up (true) or went down (false). Optional. */
	void (*on_connection)(void *userdata, bool up, const char *reason);
	/** Central acknowledged record @p id (already marked in the outbox). Optional. */
	void (*on_acked)(void *userdata, const char *id);
	/**
	 * An order-context response. @p json is borrowed for the call, NUL-terminated.
	 * Optional.
	 */
	void (*on_order_response)(void *userdata, uint64_t correlation, const char *json,
				  size_t len);
	/**
	 * The link's last error changed (a refused PUBACK such as 0x87 "not authorised", a
	 * refused subscription, a TLS failure, ...). @p text is borrowed for the call; the same
	 * text as mqtt_link_get_last_error(). Optional.
	 */
	void (*on_error)(void *userdata, const char *text);
	/**
	 * A retained message arrived on sealbench/v1/{site}/config (@p station_scope false) or
	 * sealbench/v1/{site}/{station}/config (true). @p payload is borrowed for the call and
	 * not NUL-terminated. The link does not interpret it (src/bundle.h does). Optional.
	 */
	void (*on_config)(void *userdata, bool station_scope, const void *payload, size_t len);
};

/**
 * @brief Create the link and start connecting (a failed first connect is not an error: it
 *        retries with backoff, the station seals locally meanwhile).
 * @param ev borrowed, must outlive the link. @param ob borrowed, must outlive the link.
 * @return 0 and *ret (free with mqtt_link_free()); -ENOMEM; -EINVAL bad cfg.
 */
int mqtt_link_new(struct ev *ev, const struct mqtt_link_cfg *cfg, struct outbox *ob,
		  const struct mqtt_link_callbacks *cb, void *userdata, struct mqtt_link **ret);

/**
 * @brief Publish the retained offline status, disconnect cleanly, free. Accepts NULL.
 * Bounded: gives the broker at most ~1 s to take the last packets.
 */
void mqtt_link_free(struct mqtt_link *l);

/** @brief New rows are in the outbox: publish what the window allows. @return 0/-errno. */
int mqtt_link_kick(struct mqtt_link *l);

/** @brief Whether the MQTT session is up. */
bool mqtt_link_is_connected(const struct mqtt_link *l);

/**
 * @brief Ask central for order context. @p json is the request body.
 * @return 0 (answer via on_order_response, or never: the caller times out); -ENOTCONN.
 */
int mqtt_link_request_order(struct mqtt_link *l, uint64_t correlation, const char *json);

/**
 * @brief Publish the retained status (JSON object) now, and remember it for reconnects.
 * @return 0, -ENOTCONN (kept and sent on connect), -errno.
 */
int mqtt_link_set_status(struct mqtt_link *l, const char *json);

/**
 * @brief Copy the photo transfer counters into *ret.
 * @return 0.
 */
int mqtt_link_get_stats(const struct mqtt_link *l, struct mqtt_link_stats *ret);

/** @brief The last link error as text ("" when none); borrowed. */
const char *mqtt_link_get_last_error(const struct mqtt_link *l);

#endif
