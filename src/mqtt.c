/* SPDX-License-Identifier: MIT */
/*
 * The MQTT 5 link: libmosquitto driven from our epoll loop, draining the outbox (mqtt.h).
 *
 * Loop (STYLE 18, libmosquitto's lib/loop.c recipe): the socket is an io source, EPOLLIN ->
 * mosquitto_loop_read(), EPOLLOUT only while mosquitto_want_write() -> mosquitto_loop_write(),
 * a 1 s timer -> mosquitto_loop_misc() (keepalive). Outside a callback libmosquitto writes a
 * new packet at once; inside one it only queues it, so after every loop call the link re-reads
 * want_write and re-arms EPOLLOUT. The connect is the blocking mosquitto_connect_bind_v5()
 * (connect_async is for the threaded loop): fast on loopback/LAN, and a down broker fails at
 * once with ECONNREFUSED, which schedules a retry with exponential backoff.
 *
 * One libmosquitto handle per connection attempt: libmosquitto keeps unacknowledged QoS 1
 * messages of a lost connection in the handle and resends them after the next CONNACK, under
 * their old message IDs. The station's durability is the outbox, not the client library, so
 * every attempt starts from a fresh handle (clean start) and the link replays the outbox from
 * the oldest unacked row; nothing is sent twice by two layers and the mid map stays exact.
 *
 * Delivery state, per connection: a small table of tracked records (struct track). A record
 * is INFLIGHT from its publish until the broker's PUBACK of its evidence message (at most
 * cfg->inflight of them), then WAITs for central's application ack; a WAITing record is
 * published again once ack_timeout has passed without it. A record whose PUBACK carried an
 * error (or whose publish was refused locally) WAITs for backoff_max and is published again.
 * The table is bounded (MQTT_AWAIT_MAX): when central stops acking, the cursor stops, which
 * bounds both memory and the duplicate traffic. A mid -> track map covers every message of a
 * record (photo chunks and evidence), so a chunk's PUBACK error is charged to its record.
 * The callbacks only queue the outbox's side of a PUBACK (SENT) or an ack (ACKED); after each
 * libmosquitto call settle() records the whole burst in one outbox transaction and then
 * releases the acked tracks (make bench, station-side drain: daemon CPU per record -10 %).
 *
 * Resuming a photo after a drop (struct resume): the link remembers, per record, which photo
 * chunks the broker PUBACKed with reason 0x00 (a QoS 1 PUBACK hands the message to the broker:
 * delivering it to central's persistent session is the broker's job from then on). This
 * memory survives reconnects, unlike the per-connection tracks, so the replay after a
 * reconnect publishes only the chunks without such a PUBACK, then the evidence (always: it is
 * central's trigger to check the photo and ack). 0x10 "no matching subscribers" does not
 * count: nobody got that chunk. The optimisation is never what correctness rests on: when
 * central's ack does not come within ack_timeout, the record's PUBACKed set is forgotten and
 * the whole photo goes again (central or the broker may have lost partial state, for example a
 * broker restarted without persistence). The memory is in RAM only and bounded: one slot per
 * record of the inflight window (cfg->inflight), MQTT_RESUME_CHUNKS_MAX chunks each (later
 * chunks are always re-sent); a new record takes a free slot or the least recently used one
 * of a record not in flight. After a daemon restart every unacked record is sent whole.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include "hal/clock.h"
#include "src/ev.h"
#include "src/log.h"
#include "src/mqtt.h"
#include "src/outbox.h"

#define MOD "mqtt"

/** Site and station IDs: 1..32 of [A-Za-z0-9._-], the same rule record.c applies. */
#define MQTT_NAME_MAX 32
/**
 * Longest topic we build: "sealbench/v1/" (13) + site (32) + "/" + station (32) + "/photo/"
 * (7) + record ID (< 64) + "/" + chunk number (20 digits) = 170, rounded up.
 */
#define MQTT_TOPIC_MAX 192
/** Status JSON built here: {"online":false,"station":"<32>"} is 60 bytes. */
#define MQTT_STATUS_MAX 96
/** Text kept for mqtt_link_get_last_error(): one short line. */
#define MQTT_ERROR_MAX 160
/** Decimal u64 plus NUL, for the "chunks" user property. */
#define MQTT_U64_DIGITS 21
/** Correlation data of an order request: a big-endian u64. */
#define MQTT_CORRELATION_LEN 8
/** libmosquitto message IDs are 16-bit: the mid -> track map has one slot per possible mid. */
#define MQTT_MID_SPACE 65536
/** Largest inflight window accepted (tracks are indexed by uint16_t in the mid map). */
#define MQTT_INFLIGHT_MAX 1024
/** Records PUBACKed in this connection and still waiting for central's ack, at most. */
#define MQTT_AWAIT_MAX 512
/** Delivery state changes (PUBACKs, acked IDs) held for one outbox transaction (settle()). */
#define MQTT_SETTLE_MAX 64
/** Largest photo chunk: MQTT's 256 MiB packet limit minus room for topic and properties. */
#define MQTT_CHUNK_MAX (256u * 1024u * 1024u - 64u * 1024u)
/** How long mqtt_link_free() lets the last packets go out. */
#define MQTT_CLOSE_TIMEOUT_MS 1000
/** mosquitto_loop_misc() period (keepalive, ping timeout). */
#define MQTT_TICK_NS NSEC_PER_SEC
/** PUBACK reason codes at or above this are failures (MQTT 5, 2.4). */
#define MQTT_RC_FAILURE 0x80
/** Shortest keepalive libmosquitto accepts. */
#define MQTT_KEEPALIVE_MIN 5
/** Lowest TLS version offered (libmosquitto: "tlsv1.2" = 1.2 or later). */
#define MQTT_TLS_MIN_VERSION "tlsv1.2"
/** libmosquitto's last error-level log line (OpenSSL's reason for a TLS failure). */
#define MQTT_LIBLOG_MAX 128
/**
 * Photo chunks per record whose PUBACK is remembered for a resume (one bit each); chunks past
 * this are always re-sent. 1024 chunks of 128 KB cover a 128 MB photo.
 */
#define MQTT_RESUME_CHUNKS_MAX 1024
#define MQTT_RESUME_WORDS      (MQTT_RESUME_CHUNKS_MAX / 64)
/** Which chunk a message is: chunk number + 1 in a uint16_t per mid, 0 for the evidence. */
_Static_assert(MQTT_RESUME_CHUNKS_MAX < UINT16_MAX, "mid_chunk holds chunk number + 1");

enum link_state {
	LINK_DOWN,	 /* no socket; the retry timer is armed */
	LINK_CONNECTING, /* TCP up, CONNECT sent, waiting for CONNACK */
	LINK_UP,	 /* CONNACK 0: subscribed, delivering */
	LINK_CLOSING,	 /* inside mqtt_link_free() */
};

enum track_state {
	TRACK_FREE = 0,
	TRACK_INFLIGHT, /* published, waiting for the PUBACK of its evidence message */
	TRACK_WAIT,	/* waiting for central's ack (or a retry after an error) until due_ns */
};

struct track {
	uint64_t seq;
	uint64_t due_ns; /* TRACK_WAIT: publish again at this monotonic time */
	enum track_state state;
	int evidence_mid;
	bool failed; /* a message of this record got a failing PUBACK: do not mark it SENT */
	bool acked;  /* central acked it while in flight */
};

/* What the broker took of one record's photo, kept across reconnects (see the top). */
struct resume {
	uint64_t seq;	/* 0: free slot */
	uint64_t used;	/* last use, for the least-recently-used choice */
	size_t nchunks; /* of the photo as published (chunk_size is fixed per link) */
	char sha256[OUTBOX_HASH_HEX];
	uint64_t acked[MQTT_RESUME_WORDS]; /* bit i: chunk i PUBACKed with reason 0x00 */
};

struct mqtt_link {
	struct ev *ev;
	struct outbox *ob;
	struct mqtt_link_cfg cfg; /* string members point at the copies below */
	char *host;
	char *client_id;
	char *tls_ca; /* NULL: plain TCP */
	char *tls_cert;
	char *tls_key;
	char site[MQTT_NAME_MAX + 1];
	char station[MQTT_NAME_MAX + 1];
	struct mqtt_link_callbacks cb;
	void *userdata;

	struct mosquitto *mosq;
	enum link_state state;
	struct ev_source *io;	 /* the broker socket, while there is one */
	struct ev_source *tick;	 /* mosquitto_loop_misc() */
	struct ev_source *retry; /* reconnect after backoff */
	struct ev_source *redo;	 /* the next due re-publish */
	uint64_t backoff_ms;	 /* delay of the next reconnect attempt */
	bool pumping;

	char t_evidence[MQTT_TOPIC_MAX];
	char t_photo[MQTT_TOPIC_MAX]; /* prefix: ".../photo/" */
	char t_ack[MQTT_TOPIC_MAX];
	char t_status[MQTT_TOPIC_MAX];
	char t_orders_req[MQTT_TOPIC_MAX];
	char t_orders_resp[MQTT_TOPIC_MAX];
	char t_config_site[MQTT_TOPIC_MAX];
	char t_config_station[MQTT_TOPIC_MAX];
	char status_online[MQTT_STATUS_MAX];
	char status_offline[MQTT_STATUS_MAX];
	char *status_json; /* set by mqtt_link_set_status(); NULL: status_online */
	char last_error[MQTT_ERROR_MAX];
	char lib_error[MQTT_LIBLOG_MAX]; /* libmosquitto's last MOSQ_LOG_ERR line */

	/* Per connection. */
	uint64_t cursor;      /* last seq published from the outbox in this connection */
	unsigned inflight;    /* tracks in TRACK_INFLIGHT */
	struct track *tracks; /* cfg.inflight + MQTT_AWAIT_MAX */
	size_t ntracks;
	uint16_t *mid_owner; /* mid -> track index + 1; 0: not a record's message */
	uint16_t *mid_chunk; /* mid -> photo chunk number + 1; 0: not a tracked chunk */

	/* The row being published; its buffers are reused for the next (outbox_next_unacked). */
	struct outbox_row row;

	/* The PUBACKs and acks of the current read burst, for one outbox_settle() (settle()). */
	struct outbox_change changes[MQTT_SETTLE_MAX];
	char change_ids[MQTT_SETTLE_MAX][sizeof(((struct outbox_row *)0)->id)];
	size_t nchanges;

	/* Across connections: the PUBACKed chunks of recent records (cfg.inflight slots). */
	struct resume *resumes;
	uint64_t resume_clock;
	struct mqtt_link_stats stats;

	/* mqtt_link_free(): the PUBACK of the offline status. */
	int close_mid;
	bool close_acked;
};

/* libmosquitto's global state, shared by every link in the process (single-threaded). */
static unsigned lib_users;

/* STYLE 13: the one place MOSQ_ERR_* becomes -errno. Read errno before anything else. */
static int map_err(int rc)
{
	int e = errno;

	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return 0;
	case MOSQ_ERR_NO_CONN:
		return -ENOTCONN;
	case MOSQ_ERR_CONN_LOST:
		return -ECONNRESET;
	case MOSQ_ERR_NOMEM:
		return -ENOMEM;
	case MOSQ_ERR_ERRNO:
		return e > 0 ? -e : -EIO;
	default:
		return -EPROTO;
	}
}

/* Text for a libmosquitto result; MOSQ_ERR_ERRNO shows the errno behind it. */
static const char *err_text(int rc, int mapped)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(-mapped) : mosquitto_strerror(rc);
}

static bool store_error(struct mqtt_link *l, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void set_error(struct mqtt_link *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Remember the last error. @return whether it differs from the previous one. */
static bool store_error(struct mqtt_link *l, const char *fmt, va_list ap)
{
	char buf[MQTT_ERROR_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (strcmp(buf, l->last_error) == 0)
		return false;
	memcpy(l->last_error, buf, sizeof(buf));
	return true;
}

/* Remember the last error and log it when it changed (a state change, not a repeat). */
static void set_error(struct mqtt_link *l, const char *fmt, ...)
{
	va_list ap;
	bool changed;

	va_start(ap, fmt);
	changed = store_error(l, fmt, ap);
	va_end(ap);
	if (changed)
		log_warn(MOD, "%s", l->last_error);
	else
		log_debug(MOD, "%s", l->last_error);
	if (changed && l->cb.on_error && l->state != LINK_CLOSING)
		l->cb.on_error(l->userdata, l->last_error);
}

static void set_error_quiet(struct mqtt_link *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Remember the last error; the caller logs. */
static void set_error_quiet(struct mqtt_link *l, const char *fmt, ...)
{
	va_list ap;
	bool changed;

	va_start(ap, fmt);
	changed = store_error(l, fmt, ap);
	va_end(ap);
	if (changed && l->cb.on_error && l->state != LINK_CLOSING)
		l->cb.on_error(l->userdata, l->last_error);
}

static int lib_ref(void)
{
	if (lib_users == 0) {
		int rc = mosquitto_lib_init();

		if (rc != MOSQ_ERR_SUCCESS)
			return map_err(rc);
	}
	lib_users++;
	return 0;
}

static void lib_unref(void)
{
	assert(lib_users > 0);
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
}

static bool valid_name(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > MQTT_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool is_set(const char *s)
{
	return s && *s;
}

/* A client certificate needs its key (and the reverse), and both need a CA to check the
 * broker against: a client certificate over an unverified connection proves nothing. */
static bool valid_tls(const struct mqtt_link_cfg *cfg)
{
	if (is_set(cfg->tls_cert) != is_set(cfg->tls_key))
		return false;
	return is_set(cfg->tls_ca) || !is_set(cfg->tls_cert);
}

static bool valid_cfg(const struct mqtt_link_cfg *cfg)
{
	return cfg->host && *cfg->host && cfg->port > 0 && cfg->port <= 65535 && cfg->client_id &&
	       *cfg->client_id && valid_name(cfg->site) && valid_name(cfg->station) &&
	       cfg->keepalive_s >= MQTT_KEEPALIVE_MIN && cfg->keepalive_s <= 65535 &&
	       cfg->chunk_size > 0 && cfg->chunk_size <= MQTT_CHUNK_MAX && cfg->inflight > 0 &&
	       cfg->inflight <= MQTT_INFLIGHT_MAX && cfg->ack_timeout_ms > 0 &&
	       cfg->backoff_min_ms > 0 && cfg->backoff_max_ms >= cfg->backoff_min_ms &&
	       valid_tls(cfg);
}

static uint64_t ms_to_ns(uint64_t ms)
{
	return ms > UINT64_MAX / NSEC_PER_MSEC ? UINT64_MAX : ms * NSEC_PER_MSEC;
}

static void update_events(struct mqtt_link *l)
{
	uint32_t want;
	int r;

	if (!l->io)
		return;
	want = EPOLLIN | (mosquitto_want_write(l->mosq) ? EPOLLOUT : 0);
	r = ev_io_set_events(l->io, want);
	if (r < 0)
		log_debug(MOD, "re-arming the socket: %s", strerror(-r));
}

/* Forget the per-connection delivery state. */
static void reset_delivery(struct mqtt_link *l)
{
	memset(l->tracks, 0, l->ntracks * sizeof(*l->tracks));
	memset(l->mid_owner, 0, MQTT_MID_SPACE * sizeof(*l->mid_owner));
	memset(l->mid_chunk, 0, MQTT_MID_SPACE * sizeof(*l->mid_chunk));
	l->cursor = 0;
	l->inflight = 0;
}

static void schedule_reconnect(struct mqtt_link *l)
{
	uint64_t delay = l->backoff_ms;
	int r;

	l->backoff_ms = delay > l->cfg.backoff_max_ms / 2 ? l->cfg.backoff_max_ms : delay * 2;
	l->state = LINK_DOWN;
	r = ev_timer_arm_in(l->retry, ms_to_ns(delay));
	if (r < 0) {
		set_error(l, "cannot arm the reconnect timer: %s", strerror(-r));
		return;
	}
	if (delay == l->cfg.backoff_min_ms)
		log_info(MOD, "reconnecting in %llu ms", (unsigned long long)delay);
	else
		log_debug(MOD, "reconnecting in %llu ms", (unsigned long long)delay);
}

/*
 * The connection is gone (or never came up): drop the socket from the loop, forget the
 * delivery state and schedule a reconnect. Idempotent; safe inside libmosquitto callbacks
 * (it does not touch the handle, which the retry replaces).
 */
static void link_down(struct mqtt_link *l, const char *reason)
{
	bool was_up = l->state == LINK_UP;

	if (l->state == LINK_DOWN || l->state == LINK_CLOSING)
		return;
	ev_source_free(l->io); /* ENOENT/EBADF (socket already closed) are ignored there */
	l->io = NULL;
	ev_timer_disarm(l->tick);
	ev_timer_disarm(l->redo);
	reset_delivery(l);
	if (was_up) {
		log_notice(MOD, "disconnected from %s:%u: %s", l->cfg.host, l->cfg.port, reason);
		set_error_quiet(l, "lost %s:%u: %s", l->cfg.host, l->cfg.port, reason);
	} else {
		set_error(l, "no connection to %s:%u: %s", l->cfg.host, l->cfg.port, reason);
	}
	schedule_reconnect(l);
	if (was_up && l->cb.on_connection)
		l->cb.on_connection(l->userdata, false, reason);
}

/*
 * Why a libmosquitto call failed, in @p buf. "A TLS error occurred." alone does not tell a
 * wrong CA from a refused certificate: libmosquitto logged OpenSSL's reason just before.
 */
static const char *failure_reason(struct mqtt_link *l, int rc, char *buf, size_t size)
{
	if (rc == MOSQ_ERR_TLS && l->lib_error[0]) {
		snprintf(buf, size, "TLS: %s", l->lib_error);
		l->lib_error[0] = '\0';
		return buf;
	}
	return err_text(rc, map_err(rc));
}

static void link_error(struct mqtt_link *l, int rc)
{
	char why[MQTT_ERROR_MAX];

	link_down(l, failure_reason(l, rc, why, sizeof(why)));
}

static int publish_status(struct mqtt_link *l)
{
	const char *json = l->status_json ? l->status_json : l->status_online;
	int rc;

	rc = mosquitto_publish_v5(l->mosq, NULL, l->t_status, (int)strlen(json), json, 1, true,
				  NULL);
	return map_err(rc);
}

/* ---- libmosquitto callbacks (run inside mosquitto_loop_read/write/misc) ---- */

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc, int flags,
			  const mosquitto_property *props)
{
	struct mqtt_link *l = obj;
	char *const subs[] = {l->t_ack, l->t_orders_resp, l->t_config_site, l->t_config_station};
	int nsubs = l->cb.on_config ? 4 : 2;
	int r;

	(void)flags;
	(void)props;
	if (l->state != LINK_CONNECTING)
		return;
	if (rc != 0) {
		link_down(l, mosquitto_reason_string(rc));
		return;
	}
	reset_delivery(l);
	l->state = LINK_UP;
	l->backoff_ms = l->cfg.backoff_min_ms;
	log_info(MOD, "connected to %s:%u", l->cfg.host, l->cfg.port);
	r = map_err(mosquitto_subscribe_multiple(mosq, NULL, nsubs, subs, 1, 0, NULL));
	if (r < 0)
		set_error(l, "subscribe: %s", strerror(-r));
	r = publish_status(l);
	if (r < 0)
		set_error(l, "status: %s", strerror(-r));
	/* The replay from the oldest unacked row starts in pump(), after the read returns. */
	if (l->cb.on_connection)
		l->cb.on_connection(l->userdata, true, "connected");
}

static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc,
			     const mosquitto_property *props)
{
	struct mqtt_link *l = obj;
	char why[MQTT_ERROR_MAX];
	const char *reason;

	(void)mosq;
	(void)props;
	/* Errors from the library are MOSQ_ERR_*; a DISCONNECT from the broker carries an MQTT 5
	 * reason code, and those that end a connection are all >= 0x80. */
	if (rc >= MQTT_RC_FAILURE)
		reason = mosquitto_reason_string(rc);
	else if (rc == MOSQ_ERR_SUCCESS)
		reason = "closed";
	else
		reason = failure_reason(l, rc, why, sizeof(why));
	link_down(l, reason);
}

static void on_subscribe_cb(struct mosquitto *mosq, void *obj, int mid, int count,
			    const int *granted, const mosquitto_property *props)
{
	struct mqtt_link *l = obj;

	(void)mosq;
	(void)mid;
	(void)props;
	/* Without these subscriptions no ack arrives and every record is re-sent forever. */
	for (int i = 0; i < count; i++)
		if (granted[i] >= MQTT_RC_FAILURE)
			set_error(l, "subscription refused: %s",
				  mosquitto_reason_string(granted[i]));
}

/* ---- resume: the PUBACKed chunks of a record, across reconnects ---- */

static struct resume *resume_find(struct mqtt_link *l, uint64_t seq)
{
	for (unsigned i = 0; i < l->cfg.inflight; i++)
		if (l->resumes[i].seq == seq)
			return &l->resumes[i];
	return NULL;
}

/* Forget what the broker took of record @p seq: its photo goes whole next time. */
static void resume_forget(struct mqtt_link *l, uint64_t seq)
{
	struct resume *r = resume_find(l, seq);

	if (r)
		*r = (struct resume){0};
}

static bool seq_in_flight(const struct mqtt_link *l, uint64_t seq)
{
	for (size_t i = 0; i < l->ntracks; i++)
		if (l->tracks[i].state == TRACK_INFLIGHT && l->tracks[i].seq == seq)
			return true;
	return false;
}

/*
 * The resume slot for publishing @p row's photo in @p nchunks chunks: its own when it is the
 * same photo, else a fresh one taken from a free slot or the least recently used slot of a
 * record not in flight. There are cfg.inflight slots and fewer records in flight while the
 * window admits a publish, so a slot is always found; NULL only defends that invariant (the
 * photo is then sent whole).
 */
static struct resume *resume_get(struct mqtt_link *l, const struct outbox_row *row, size_t nchunks)
{
	struct resume *r = resume_find(l, row->seq);

	if (r && (r->nchunks != nchunks || strcmp(r->sha256, row->photo_sha256) != 0)) {
		*r = (struct resume){0};
		r = NULL;
	}
	if (!r) {
		for (unsigned i = 0; i < l->cfg.inflight; i++) {
			struct resume *c = &l->resumes[i];

			if (c->seq == 0) {
				r = c;
				break;
			}
			if ((!r || c->used < r->used) && !seq_in_flight(l, c->seq))
				r = c;
		}
		if (!r)
			return NULL;
		*r = (struct resume){.seq = row->seq, .nchunks = nchunks};
		memcpy(r->sha256, row->photo_sha256, sizeof(r->sha256));
	}
	r->used = ++l->resume_clock;
	return r;
}

static bool resume_has(const struct resume *r, size_t chunk)
{
	return r && chunk < MQTT_RESUME_CHUNKS_MAX && (r->acked[chunk / 64] >> (chunk % 64) & 1);
}

/* The broker took chunk @p chunk of record @p seq (PUBACK 0x00). */
static void resume_mark(struct mqtt_link *l, uint64_t seq, size_t chunk)
{
	struct resume *r = resume_find(l, seq);

	if (r && chunk < r->nchunks && chunk < MQTT_RESUME_CHUNKS_MAX)
		r->acked[chunk / 64] |= UINT64_C(1) << (chunk % 64);
}

static void track_acked(struct mqtt_link *l, const char *id);

/*
 * Record the burst's delivery state changes in the outbox, in one transaction (one WAL append
 * instead of one per PUBACK and per acked ID), then act on the acks: release their tracks and
 * tell the station. Runs after every libmosquitto call (the callbacks only queue) and when the
 * list is full. A failed transaction leaves the tracks as they were: those records are
 * published again after ack_timeout and central acks them again.
 */
static void settle(struct mqtt_link *l)
{
	size_t n = l->nchanges;
	int r;

	if (!n)
		return;
	l->nchanges = 0;
	r = outbox_settle(l->ob, l->changes, n);
	if (r < 0)
		set_error(l, "outbox: recording %zu PUBACKs and acks: %s", n, strerror(-r));
	for (size_t i = 0; i < n; i++) {
		const struct outbox_change *c = &l->changes[i];

		if (!c->acked) {
			if (r == 0 && c->result < 0)
				set_error(l, "outbox: marking record %llu sent: %s",
					  (unsigned long long)c->seq, strerror(-c->result));
			continue;
		}
		if (r < 0 || c->result < 0) {
			log_debug(MOD, "ack of %s: %s", c->id, strerror(-c->result));
			continue;
		}
		track_acked(l, c->id);
		if (l->cb.on_acked && l->state != LINK_CLOSING)
			l->cb.on_acked(l->userdata, c->id);
	}
}

/* Queue a PUBACKed record (@p id NULL) or central's ack of @p id for settle(). */
static void change_add(struct mqtt_link *l, uint64_t seq, const char *id)
{
	size_t i;

	if (id && strlen(id) >= sizeof(l->change_ids[0])) {
		log_debug(MOD, "ack of %.64s...: longer than any record ID, ignored", id);
		return;
	}
	if (l->nchanges == MQTT_SETTLE_MAX)
		settle(l);
	i = l->nchanges++;
	if (!id) {
		l->changes[i] = (struct outbox_change){.seq = seq};
		return;
	}
	memcpy(l->change_ids[i], id, strlen(id) + 1);
	l->changes[i] = (struct outbox_change){.acked = true, .id = l->change_ids[i]};
}

static struct track *track_of_mid(struct mqtt_link *l, int mid)
{
	unsigned idx;

	if (mid <= 0 || mid >= MQTT_MID_SPACE)
		return NULL;
	idx = l->mid_owner[mid];
	l->mid_owner[mid] = 0;
	return idx ? &l->tracks[idx - 1] : NULL;
}

static void on_publish_cb(struct mosquitto *mosq, void *obj, int mid, int reason,
			  const mosquitto_property *props)
{
	struct mqtt_link *l = obj;
	struct track *t = track_of_mid(l, mid);
	unsigned chunk = 0;

	(void)mosq;
	(void)props;
	if (t) {
		chunk = l->mid_chunk[mid]; /* t: mid is in range */
		l->mid_chunk[mid] = 0;
	}
	if (l->state == LINK_CLOSING && mid == l->close_mid)
		l->close_acked = true;
	/* Only 0x00 hands the chunk over: 0x10 "no matching subscribers" means nobody has it. */
	if (t && chunk && reason == MQTT_RC_SUCCESS)
		resume_mark(l, t->seq, chunk - 1);
	if (reason >= MQTT_RC_FAILURE) {
		if (t)
			set_error(l, "PUBACK for record %llu: %s", (unsigned long long)t->seq,
				  mosquitto_reason_string(reason));
		else
			set_error(l, "PUBACK: %s", mosquitto_reason_string(reason));
	}
	if (!t || t->state != TRACK_INFLIGHT)
		return; /* status, order request, or a record no longer in flight */
	if (reason >= MQTT_RC_FAILURE)
		t->failed = true;
	if (mid != t->evidence_mid)
		return; /* a photo chunk: its record waits for the evidence PUBACK */
	l->inflight--;
	if (t->failed) {
		t->state = TRACK_WAIT;
		t->due_ns = clock_now_ns() + ms_to_ns(l->cfg.backoff_max_ms);
		return;
	}
	change_add(l, t->seq, NULL); /* QUEUED -> SENT, with the rest of the burst */
	if (t->acked) {
		*t = (struct track){0};
		return;
	}
	t->state = TRACK_WAIT;
	t->due_ns = clock_now_ns() + ms_to_ns(l->cfg.ack_timeout_ms);
}

/* Record IDs are "<station>-<seq>" (outbox.h): the seq tells which track to release. */
static void track_acked(struct mqtt_link *l, const char *id)
{
	const char *dash = strrchr(id, '-');
	unsigned long long seq;
	char *end;

	if (!dash || !dash[1])
		return;
	errno = 0;
	seq = strtoull(dash + 1, &end, 10);
	if (errno || *end || seq == 0)
		return;
	resume_forget(l, seq);
	for (size_t i = 0; i < l->ntracks; i++) {
		struct track *t = &l->tracks[i];

		if (t->state == TRACK_FREE || t->seq != seq)
			continue;
		if (t->state == TRACK_INFLIGHT)
			t->acked = true;
		else
			*t = (struct track){0};
		return;
	}
}

/* Central's application ack: {"ids":["st01-0000000001", ...]}. Anything else is ignored. */
static void handle_ack(struct mqtt_link *l, const struct mosquitto_message *msg)
{
	const cJSON *ids, *item;
	cJSON *root;

	if (!msg->payload || msg->payloadlen <= 0)
		return;
	root = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
	ids = cJSON_GetObjectItemCaseSensitive(root, "ids");
	if (!cJSON_IsArray(ids)) {
		log_debug(MOD, "ack without an ids array ignored");
		goto out;
	}
	cJSON_ArrayForEach(item, ids)
	{
		const char *id = cJSON_GetStringValue(item);

		/* -> ACKED by settle(), which then releases the track and calls on_acked */
		if (id)
			change_add(l, 0, id);
	}
out:
	cJSON_Delete(root);
}

static void handle_order_response(struct mqtt_link *l, const struct mosquitto_message *msg,
				  const mosquitto_property *props)
{
	const uint8_t *cd;
	void *value = NULL;
	uint16_t len = 0;
	uint64_t corr = 0;
	char *json;
	size_t n;

	if (!l->cb.on_order_response || l->state == LINK_CLOSING)
		return;
	if (!mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &value, &len, false))
		return;
	if (len != MQTT_CORRELATION_LEN) {
		free(value);
		log_debug(MOD, "order response with %u bytes of correlation data ignored", len);
		return;
	}
	cd = value;
	for (size_t i = 0; i < MQTT_CORRELATION_LEN; i++)
		corr = corr << 8 | cd[i];
	free(value);
	/* The callback gets a NUL-terminated copy: the payload is borrowed, unterminated. */
	n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	json = malloc(n + 1);
	if (!json) {
		set_error(l, "order response: %s", strerror(ENOMEM));
		return;
	}
	if (n)
		memcpy(json, msg->payload, n);
	json[n] = '\0';
	l->cb.on_order_response(l->userdata, corr, json, n);
	free(json);
}

static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props)
{
	struct mqtt_link *l = obj;

	(void)mosq;
	if (!msg->topic)
		return;
	if (strcmp(msg->topic, l->t_ack) == 0)
		handle_ack(l, msg);
	else if (strcmp(msg->topic, l->t_orders_resp) == 0)
		handle_order_response(l, msg, props);
	else if (l->cb.on_config && l->state != LINK_CLOSING &&
		 (strcmp(msg->topic, l->t_config_site) == 0 ||
		  strcmp(msg->topic, l->t_config_station) == 0))
		l->cb.on_config(l->userdata, strcmp(msg->topic, l->t_config_station) == 0,
				msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

/* ---- delivery ---- */

/* A publish failure that is the connection's, not the record's. */
static bool is_link_failure(int rc)
{
	return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO;
}

static int photo_props(const struct outbox_row *row, size_t nchunks, mosquitto_property **ret)
{
	char count[MQTT_U64_DIGITS];
	mosquitto_property *props = NULL;
	int rc;

	snprintf(count, sizeof(count), "%zu", nchunks);
	rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "sha256",
						row->photo_sha256);
	if (!rc)
		rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "chunks",
							count);
	if (!rc)
		rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY,
							"content-type", "image/jpeg");
	if (rc) {
		mosquitto_property_free_all(&props);
		return rc;
	}
	*ret = props;
	return MOSQ_ERR_SUCCESS;
}

/* Publish the photo chunks of @p row (if any), then its evidence JSON. MOSQ_ERR_* result. */
static int publish_messages(struct mqtt_link *l, struct track *t, const struct outbox_row *row)
{
	uint16_t owner = (uint16_t)(t - l->tracks + 1);
	int mid = 0, rc;

	if (row->photo && row->photo_len) {
		size_t chunk = l->cfg.chunk_size;
		size_t nchunks = (row->photo_len + chunk - 1) / chunk;
		const struct resume *res = resume_get(l, row, nchunks);
		mosquitto_property *props = NULL;
		size_t skipped = 0;

		rc = photo_props(row, nchunks, &props);
		if (rc)
			return rc;
		for (size_t i = 0; i < nchunks && !rc; i++) {
			char topic[MQTT_TOPIC_MAX];
			size_t off = i * chunk;
			size_t len = row->photo_len - off < chunk ? row->photo_len - off : chunk;

			if (resume_has(res, i)) {
				skipped++; /* the broker took it before the drop */
				continue;
			}
			if ((size_t)snprintf(topic, sizeof(topic), "%s%s/%zu", l->t_photo, row->id,
					     i) >= sizeof(topic)) {
				rc = MOSQ_ERR_INVAL;
				break;
			}
			rc = mosquitto_publish_v5(l->mosq, &mid, topic, (int)len, row->photo + off,
						  1, false, props);
			if (!rc) {
				l->mid_owner[mid] = owner;
				l->mid_chunk[mid] =
					i < MQTT_RESUME_CHUNKS_MAX ? (uint16_t)(i + 1) : 0;
				l->stats.chunks_published++;
			}
		}
		mosquitto_property_free_all(&props);
		if (rc)
			return rc;
		if (skipped) {
			l->stats.chunks_skipped += skipped;
			log_info(MOD,
				 "record %llu: resuming its photo, %zu of %zu chunks already sent",
				 (unsigned long long)row->seq, skipped, nchunks);
		}
	}
	if (row->json_len > INT_MAX)
		return MOSQ_ERR_PAYLOAD_SIZE;
	rc = mosquitto_publish_v5(l->mosq, &mid, l->t_evidence, (int)row->json_len, row->json, 1,
				  false, NULL);
	if (rc)
		return rc;
	l->mid_owner[mid] = owner;
	l->mid_chunk[mid] = 0;
	t->evidence_mid = mid;
	return MOSQ_ERR_SUCCESS;
}

/* Publish one record into track @p t. <0 only when the connection failed. */
static int publish_record(struct mqtt_link *l, struct track *t, const struct outbox_row *row)
{
	int rc, r;

	t->seq = row->seq;
	t->failed = false;
	t->acked = false;
	t->evidence_mid = 0;
	rc = publish_messages(l, t, row);
	if (rc == MOSQ_ERR_SUCCESS) {
		t->state = TRACK_INFLIGHT;
		l->inflight++;
		return 0;
	}
	r = map_err(rc);
	if (is_link_failure(rc))
		return r;
	/* The record's own problem (too large for the broker, ...): try again much later. */
	set_error(l, "publish of record %llu: %s", (unsigned long long)row->seq, err_text(rc, r));
	t->state = TRACK_WAIT;
	t->due_ns = clock_now_ns() + ms_to_ns(l->cfg.backoff_max_ms);
	return 0;
}

static struct track *due_track(struct mqtt_link *l, uint64_t now)
{
	struct track *best = NULL;

	for (size_t i = 0; i < l->ntracks; i++) {
		struct track *t = &l->tracks[i];

		if (t->state == TRACK_WAIT && t->due_ns <= now && (!best || t->seq < best->seq))
			best = t;
	}
	return best;
}

static struct track *free_track(struct mqtt_link *l)
{
	for (size_t i = 0; i < l->ntracks; i++)
		if (l->tracks[i].state == TRACK_FREE)
			return &l->tracks[i];
	return NULL;
}

/* Publish a WAITing record again, unless central acked it meanwhile. <0: connection failed. */
static int republish(struct mqtt_link *l, struct track *t)
{
	int r;

	r = outbox_next_unacked(l->ob, t->seq - 1, &l->row);
	if (r == -ENOENT || (r == 0 && l->row.seq != t->seq)) {
		resume_forget(l, t->seq);
		*t = (struct track){0}; /* acked */
		return 0;
	}
	if (r < 0) {
		set_error(l, "outbox: reading record %llu: %s", (unsigned long long)t->seq,
			  strerror(-r));
		t->due_ns = clock_now_ns() + ms_to_ns(l->cfg.backoff_max_ms);
		return 0;
	}
	/*
	 * Central did not ack within ack_timeout (or the publish was refused locally): whatever
	 * partial state the broker or central held may be gone, so the whole photo goes again.
	 * After a failing PUBACK only the refused chunks (and the evidence) go again.
	 */
	if (!t->failed && resume_find(l, t->seq)) {
		resume_forget(l, t->seq);
		l->stats.resume_resets++;
	}
	return publish_record(l, t, &l->row);
}

/*
 * Publish the next row after the cursor. -ENOENT: none; -ENOBUFS: no free track; -EAGAIN: the
 * outbox failed (logged); other <0: the connection failed.
 */
static int publish_next(struct mqtt_link *l)
{
	struct track *t = free_track(l);
	int r;

	if (!t)
		return -ENOBUFS;
	r = outbox_next_unacked(l->ob, l->cursor, &l->row);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		set_error(l, "outbox: reading after %llu: %s", (unsigned long long)l->cursor,
			  strerror(-r));
		return -EAGAIN;
	}
	l->cursor = l->row.seq;
	return publish_record(l, t, &l->row); /* libmosquitto copies every payload */
}

static void arm_redo(struct mqtt_link *l, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < l->ntracks; i++)
		if (l->tracks[i].state == TRACK_WAIT && l->tracks[i].due_ns < next)
			next = l->tracks[i].due_ns;
	if (next == UINT64_MAX)
		ev_timer_disarm(l->redo);
	else
		ev_timer_arm_in(l->redo, next > now ? next - now : 1);
}

/*
 * Publish what the window allows: first records whose re-publish is due (oldest first), then
 * new rows after the cursor. Runs outside libmosquitto callbacks (after each loop call, from
 * timers and from mqtt_link_kick()), so the packets are written at once.
 */
static int pump(struct mqtt_link *l)
{
	uint64_t now = clock_now_ns();
	int r = 0;

	if (l->state != LINK_UP || l->pumping)
		return 0;
	l->pumping = true;
	while (l->state == LINK_UP && l->inflight < l->cfg.inflight) {
		struct track *t = due_track(l, now);

		r = t ? republish(l, t) : publish_next(l);
		if (r == -ENOENT || r == -ENOBUFS || r == -EAGAIN) {
			r = 0; /* nothing more now; the outbox case is retried by the tick */
			break;
		}
		if (r < 0) {
			link_down(l, strerror(-r)); /* the socket failed under the publish */
			break;
		}
	}
	if (l->state == LINK_UP)
		arm_redo(l, now);
	l->pumping = false;
	update_events(l);
	return r;
}

/* ---- loop glue ---- */

static int on_io(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mqtt_link *l = userdata;
	int rc;

	(void)s;
	(void)fd;
	if (revents & EPOLLIN) {
		rc = mosquitto_loop_read(l->mosq, 1);
		if (rc)
			link_error(l, rc); /* usually on_disconnect already did it */
	}
	if (l->io && (revents & EPOLLOUT)) {
		rc = mosquitto_loop_write(l->mosq, 1);
		if (rc)
			link_error(l, rc);
	}
	settle(l); /* before pump: acked records free their tracks */
	pump(l);
	update_events(l);
	return 0;
}

static int on_tick(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct mqtt_link *l = userdata;
	int rc;

	(void)now_ns;
	if (l->state != LINK_CONNECTING && l->state != LINK_UP)
		return 0;
	rc = mosquitto_loop_misc(l->mosq);
	settle(l);
	if (rc) {
		link_error(l, rc);
		return 0;
	}
	pump(l); /* also retries after an outbox read error */
	update_events(l);
	return ev_timer_arm_in(s, MQTT_TICK_NS);
}

static int on_redo(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	(void)s;
	(void)now_ns;
	return pump(userdata);
}

/* libmosquitto's own log: debug here, and its errors (OpenSSL's reasons) kept for link_error. */
static void on_log_cb(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	struct mqtt_link *l = obj;

	(void)mosq;
	if (!str)
		return;
	log_debug(MOD, "libmosquitto: %s", str);
	if (level == MOSQ_LOG_ERR)
		snprintf(l->lib_error, sizeof(l->lib_error), "%s", str);
}

/*
 * TLS on a fresh handle: verify the broker's chain against tls_ca and its name against the
 * host (libmosquitto does both unless tls_insecure is set, which we never do), TLS 1.2 or
 * later, and present the client certificate. mosquitto_tls_set() opens the files to check them,
 * so a missing or unreadable file is reported here, with its name.
 */
static int tls_setup(struct mqtt_link *l, struct mosquitto *mosq)
{
	const char *files[] = {l->tls_ca, l->tls_cert, l->tls_key};
	int rc;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		if (!files[i])
			continue;
		f = fopen(files[i], "re");
		if (!f) {
			int e = errno;

			snprintf(l->lib_error, sizeof(l->lib_error), "TLS: %s: %s", files[i],
				 strerror(e));
			return -e;
		}
		fclose(f);
	}
	rc = mosquitto_tls_set(mosq, l->tls_ca, NULL, l->tls_cert, l->tls_key, NULL);
	if (!rc)
		rc = mosquitto_tls_opts_set(mosq, SSL_VERIFY_PEER, MQTT_TLS_MIN_VERSION, NULL);
	if (!rc)
		rc = mosquitto_tls_insecure_set(mosq, false);
	if (rc) {
		snprintf(l->lib_error, sizeof(l->lib_error), "TLS setup: %s",
			 mosquitto_strerror(rc));
		return map_err(rc);
	}
	return 0;
}

static int session_new(struct mqtt_link *l)
{
	struct mosquitto *mosq;
	int rc, r;

	mosq = mosquitto_new(l->client_id, true, l);
	if (!mosq)
		return errno == EINVAL ? -EINVAL : -ENOMEM;
	rc = mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	if (!rc)
		rc = mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (!rc)
		rc = mosquitto_will_set_v5(mosq, l->t_status, (int)strlen(l->status_offline),
					   l->status_offline, 1, true, NULL);
	if (rc) {
		mosquitto_destroy(mosq);
		return map_err(rc);
	}
	mosquitto_log_callback_set(mosq, on_log_cb);
	if (l->tls_ca) {
		r = tls_setup(l, mosq);
		if (r < 0) {
			mosquitto_destroy(mosq);
			return r;
		}
	}
	mosquitto_connect_v5_callback_set(mosq, on_connect_cb);
	mosquitto_disconnect_v5_callback_set(mosq, on_disconnect_cb);
	mosquitto_subscribe_v5_callback_set(mosq, on_subscribe_cb);
	mosquitto_publish_v5_callback_set(mosq, on_publish_cb);
	mosquitto_message_v5_callback_set(mosq, on_message_cb);
	l->mosq = mosq;
	return 0;
}

/* One connection attempt on a fresh handle; on failure the retry timer is armed. */
static void connect_attempt(struct mqtt_link *l)
{
	int rc, r;

	if (l->mosq) {
		mosquitto_destroy(l->mosq); /* closes a lost connection's socket, drops its queue */
		l->mosq = NULL;
	}
	reset_delivery(l);
	l->state = LINK_CONNECTING; /* link_down() below needs a state to leave */
	l->lib_error[0] = '\0';
	r = session_new(l);
	if (r < 0) {
		/* tls_setup() left the file name and reason in lib_error */
		link_down(l, l->lib_error[0] ? l->lib_error : strerror(-r));
		return;
	}
	rc = mosquitto_connect_bind_v5(l->mosq, l->cfg.host, (int)l->cfg.port,
				       (int)l->cfg.keepalive_s, NULL, NULL);
	if (rc) {
		link_error(l, rc);
		return;
	}
	r = ev_add_io(l->ev, mosquitto_socket(l->mosq), EPOLLIN, on_io, l, &l->io);
	if (r < 0) {
		link_down(l, strerror(-r));
		return;
	}
	update_events(l);
	r = ev_timer_arm_in(l->tick, MQTT_TICK_NS);
	if (r < 0)
		link_down(l, strerror(-r));
}

static int on_retry(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	(void)s;
	(void)now_ns;
	connect_attempt(userdata);
	return 0;
}

static void build_topics(struct mqtt_link *l)
{
	const char *si = l->site, *st = l->station;
	size_t max = MQTT_TOPIC_MAX;

	/* Names are validated (<= 32 chars each), so none of these can truncate. */
	snprintf(l->t_evidence, max, "sealbench/v1/%s/%s/evidence", si, st);
	snprintf(l->t_photo, max, "sealbench/v1/%s/%s/photo/", si, st);
	snprintf(l->t_ack, max, "sealbench/v1/%s/%s/ack", si, st);
	snprintf(l->t_status, max, "sealbench/v1/%s/%s/status", si, st);
	snprintf(l->t_orders_req, max, "sealbench/v1/%s/orders/request", si);
	snprintf(l->t_orders_resp, max, "sealbench/v1/%s/%s/orders/response", si, st);
	snprintf(l->t_config_site, max, "sealbench/v1/%s/config", si);
	snprintf(l->t_config_station, max, "sealbench/v1/%s/%s/config", si, st);
	snprintf(l->status_online, sizeof(l->status_online), "{\"online\":true,\"station\":\"%s\"}",
		 st);
	snprintf(l->status_offline, sizeof(l->status_offline),
		 "{\"online\":false,\"station\":\"%s\"}", st);
}

int mqtt_link_new(struct ev *ev, const struct mqtt_link_cfg *cfg, struct outbox *ob,
		  const struct mqtt_link_callbacks *cb, void *userdata, struct mqtt_link **ret)
{
	struct mqtt_link *l;
	int r;

	assert(ev && ob && ret);
	if (!cfg || !valid_cfg(cfg))
		return -EINVAL;
	r = lib_ref();
	if (r < 0)
		return r;
	l = calloc(1, sizeof(*l));
	if (!l) {
		r = -ENOMEM;
		goto err_unref;
	}
	l->ev = ev;
	l->ob = ob;
	l->cfg = *cfg;
	if (cb)
		l->cb = *cb;
	l->userdata = userdata;
	l->host = strdup(cfg->host);
	l->client_id = strdup(cfg->client_id);
	if (is_set(cfg->tls_ca) &&
	    (!(l->tls_ca = strdup(cfg->tls_ca)) ||
	     (is_set(cfg->tls_cert) && !(l->tls_cert = strdup(cfg->tls_cert))) ||
	     (is_set(cfg->tls_key) && !(l->tls_key = strdup(cfg->tls_key))))) {
		r = -ENOMEM;
		goto err_free;
	}
	l->ntracks = cfg->inflight + MQTT_AWAIT_MAX;
	l->tracks = calloc(l->ntracks, sizeof(*l->tracks));
	l->mid_owner = calloc(MQTT_MID_SPACE, sizeof(*l->mid_owner));
	l->mid_chunk = calloc(MQTT_MID_SPACE, sizeof(*l->mid_chunk));
	l->resumes = calloc(cfg->inflight, sizeof(*l->resumes));
	if (!l->host || !l->client_id || !l->tracks || !l->mid_owner || !l->mid_chunk ||
	    !l->resumes) {
		r = -ENOMEM;
		goto err_free;
	}
	memcpy(l->site, cfg->site, strlen(cfg->site) + 1);
	memcpy(l->station, cfg->station, strlen(cfg->station) + 1);
	l->cfg.host = l->host;
	l->cfg.client_id = l->client_id;
	l->cfg.tls_ca = l->tls_ca;
	l->cfg.tls_cert = l->tls_cert;
	l->cfg.tls_key = l->tls_key;
	l->cfg.site = l->site;
	l->cfg.station = l->station;
	l->backoff_ms = cfg->backoff_min_ms;
	build_topics(l);
	r = ev_add_timer(ev, on_tick, l, &l->tick);
	if (r < 0)
		goto err_free;
	r = ev_add_timer(ev, on_retry, l, &l->retry);
	if (r < 0)
		goto err_free;
	r = ev_add_timer(ev, on_redo, l, &l->redo);
	if (r < 0)
		goto err_free;
	l->state = LINK_DOWN;
	connect_attempt(l); /* a failure here only schedules a retry */
	*ret = l;
	return 0;

err_free:
	ev_source_free(l->redo);
	ev_source_free(l->retry);
	ev_source_free(l->tick);
	free(l->resumes);
	free(l->mid_chunk);
	free(l->mid_owner);
	free(l->tracks);
	free(l->tls_key);
	free(l->tls_cert);
	free(l->tls_ca);
	free(l->client_id);
	free(l->host);
	free(l);
err_unref:
	lib_unref();
	return r;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run the socket by hand (the loop may be gone) until @p done is set, libmosquitto closed the
 * socket, or @p deadline_ms passed.
 */
static void drain(struct mqtt_link *l, const bool *done, int64_t deadline_ms)
{
	while (!*done) {
		struct pollfd pfd = {.fd = mosquitto_socket(l->mosq), .events = POLLIN};
		int64_t left = deadline_ms - mono_ms();
		int n, rc;

		if (pfd.fd < 0 || left <= 0)
			return;
		if (mosquitto_want_write(l->mosq))
			pfd.events |= POLLOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if ((pfd.revents & POLLOUT) && mosquitto_loop_write(l->mosq, 1))
			return;
		rc = 0;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			rc = mosquitto_loop_read(l->mosq, 1);
		settle(l); /* the acks that come in while closing are recorded too */
		if (rc)
			return;
	}
}

/*
 * Say goodbye: the retained offline status, and once the broker has PUBACKed it (so it is
 * stored whatever happens to the TCP connection next) a DISCONNECT, which libmosquitto follows
 * by closing the socket. Bounded by MQTT_CLOSE_TIMEOUT_MS.
 */
static void say_goodbye(struct mqtt_link *l)
{
	int64_t deadline = mono_ms() + MQTT_CLOSE_TIMEOUT_MS;
	bool never = false;
	int rc;

	l->state = LINK_CLOSING;
	l->close_mid = 0;
	l->close_acked = false;
	rc = mosquitto_publish_v5(l->mosq, &l->close_mid, l->t_status,
				  (int)strlen(l->status_offline), l->status_offline, 1, true, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		drain(l, &l->close_acked, deadline);
	if (mosquitto_disconnect_v5(l->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL) ==
	    MOSQ_ERR_SUCCESS)
		drain(l, &never, deadline);
	log_info(MOD, "closed");
}

void mqtt_link_free(struct mqtt_link *l)
{
	if (!l)
		return;
	ev_source_free(l->io);
	ev_source_free(l->redo);
	ev_source_free(l->retry);
	ev_source_free(l->tick);
	l->io = l->redo = l->retry = l->tick = NULL;
	if (l->mosq && l->state == LINK_UP)
		say_goodbye(l);
	l->state = LINK_CLOSING;
	mosquitto_destroy(l->mosq);
	outbox_row_done(&l->row);
	free(l->status_json);
	free(l->resumes);
	free(l->mid_chunk);
	free(l->mid_owner);
	free(l->tracks);
	free(l->tls_key);
	free(l->tls_cert);
	free(l->tls_ca);
	free(l->client_id);
	free(l->host);
	free(l);
	lib_unref();
}

int mqtt_link_kick(struct mqtt_link *l)
{
	assert(l);
	return pump(l);
}

bool mqtt_link_is_connected(const struct mqtt_link *l)
{
	assert(l);
	return l->state == LINK_UP;
}

int mqtt_link_request_order(struct mqtt_link *l, uint64_t correlation, const char *json)
{
	uint8_t cd[MQTT_CORRELATION_LEN];
	mosquitto_property *props = NULL;
	int rc;

	assert(l);
	if (!json)
		return -EINVAL;
	if (l->state != LINK_UP)
		return -ENOTCONN;
	for (size_t i = 0; i < MQTT_CORRELATION_LEN; i++)
		cd[i] = (uint8_t)(correlation >> (8 * (MQTT_CORRELATION_LEN - 1 - i)));
	rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, l->t_orders_resp);
	if (!rc)
		rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, cd,
						   sizeof(cd));
	if (!rc)
		rc = mosquitto_publish_v5(l->mosq, NULL, l->t_orders_req, (int)strlen(json), json,
					  1, false, props);
	mosquitto_property_free_all(&props);
	update_events(l);
	return map_err(rc);
}

int mqtt_link_set_status(struct mqtt_link *l, const char *json)
{
	char *copy;
	int r;

	assert(l);
	if (!json)
		return -EINVAL;
	copy = strdup(json);
	if (!copy)
		return -ENOMEM;
	free(l->status_json);
	l->status_json = copy;
	if (l->state != LINK_UP)
		return -ENOTCONN;
	r = publish_status(l);
	update_events(l);
	return r;
}

int mqtt_link_get_stats(const struct mqtt_link *l, struct mqtt_link_stats *ret)
{
	assert(l && ret);
	*ret = l->stats;
	return 0;
}

const char *mqtt_link_get_last_error(const struct mqtt_link *l)
{
	assert(l);
	return l->last_error;
}
