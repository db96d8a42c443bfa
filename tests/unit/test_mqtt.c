/* SPDX-License-Identifier: MIT */
/*
 * src/mqtt.c against a real mosquitto (tests/harness/broker.c) on a free loopback port, with
 * the real event loop and the real sqlite outbox in a mkdtemp() directory.
 *
 * The test plays central with a second libmosquitto client ("tc") whose socket sits in the
 * same event loop as the link: it records every message under sealbench/v1/site1/# (never its
 * own: no-local), and can ack evidence and answer order requests like central does. Tests
 * drive ev_run_once() until a condition holds or a deadline passes; nothing sleeps.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/evp.h>

#include "hal/clock.h"
#include "src/ev.h"
#include "src/log.h"
#include "src/mqtt.h"
#include "src/outbox.h"
#include "tests/harness/broker.h"

#define SITE	       "site1"
#define STATION	       "st1"
#define T_PREFIX       "sealbench/v1/" SITE "/" STATION "/"
#define T_EVIDENCE     T_PREFIX "evidence"
#define T_PHOTO	       T_PREFIX "photo/"
#define T_ACK	       T_PREFIX "ack"
#define T_STATUS       T_PREFIX "status"
#define T_ORDERS_REQ   "sealbench/v1/" SITE "/orders/request"
#define T_ORDERS_RESP  T_PREFIX "orders/response"
#define STATUS_OFFLINE "{\"online\":false,\"station\":\"" STATION "\"}"
#define STATUS_ONLINE  "{\"online\":true,\"station\":\"" STATION "\"}"

#define CHUNK 1000
/** Messages the test client keeps (the busiest test sees ~200 with duplicates). */
#define MSGS_MAX 4096
/** Records a test may put (the kill test puts 40). */
#define RECS_MAX 64
#define ID_LEN	 64
#define HEX_LEN	 65
/** Ids of on_acked calls kept. */
#define ACKED_MAX      256
#define ORDER_JSON_MAX 256
/** Highest fd scanned when looking for the link's socket. */
#define FD_SCAN_MAX 1024
/** Default time a test waits for a condition. */
#define WAIT_MS 5000

struct msg {
	char *topic;
	uint8_t *payload;
	size_t len;
	bool retain;
	char sha256[HEX_LEN];
	char chunks[16];
	char ctype[32];
};

struct rec {
	char id[ID_LEN];
	char *json;
	size_t json_len;
	uint8_t *photo;
	size_t photo_len;
	char sha256[HEX_LEN];
};

struct fx;

/** A whole MQTT packet of the resume tests fits (chunks of RESUME_CHUNK bytes). */
#define PROXY_BUF 16384
/** Topics whose PUBLISH the proxy drops on the way to the broker, at most. */
#define PROXY_DROP_MAX 8
#define TOPIC_LEN      160
/** MQTT packet ids are 16-bit. */
#define PID_SPACE 65536
/** PUBLISHes the proxy records. */
#define PUBS_MAX 256

/* A message the link published through the proxy, and on which of its connections. */
struct pub {
	unsigned conn;
	char topic[TOPIC_LEN];
};

/*
 * A TCP proxy between the link and the broker, in the test's event loop. It forwards whole
 * MQTT packets, records the link's PUBLISHes per connection, can drop chosen PUBLISHes on the
 * way to the broker (as if the connection died under them: no PUBACK ever comes) and can cut
 * the connection on both sides.
 */
struct proxy {
	struct fx *fx;
	int lfd, cfd, bfd; /* listening, link side, broker side; -1: none */
	unsigned port;
	struct ev_source *lsrc, *csrc, *bsrc;
	uint8_t up[PROXY_BUF], down[PROXY_BUF];
	size_t uplen, downlen;
	char drop[PROXY_DROP_MAX][TOPIC_LEN];
	size_t ndrop;
	bool chunk_pid[PID_SPACE]; /* packet id of a forwarded photo chunk */
	unsigned conns;		   /* connections accepted */
	unsigned dropped;	   /* PUBLISHes dropped */
	unsigned chunk_pubacks;	   /* PUBACKs of photo chunks passed to the link */
	struct pub pubs[PUBS_MAX];
	size_t npubs;
};

/* The test's stand-in for central. */
struct tclient {
	struct fx *fx;
	struct mosquitto *mosq;
	struct ev_source *io;
	bool subscribed;
	bool auto_ack;	    /* ack each evidence as it arrives */
	bool answer_orders; /* answer order requests */
	char order_resp_topic[128];
	char order_req_json[ORDER_JSON_MAX];
};

struct fx {
	char dir[PATH_MAX];
	struct ev *ev;
	struct outbox *ob;
	struct broker *broker;
	struct mqtt_link *link;
	struct mqtt_link_cfg cfg;
	struct tclient tc;
	struct proxy *px; /* the resume tests only */

	struct msg msgs[MSGS_MAX];
	size_t nmsgs;
	struct rec recs[RECS_MAX + 1]; /* by seq */

	/* What the link's callbacks reported. */
	unsigned ups, downs;
	char acked[ACKED_MAX][ID_LEN];
	size_t nacked;
	unsigned orders;
	uint64_t order_corr;
	char order_json[ORDER_JSON_MAX];
};

/* ---- small helpers ---- */

static void sha256_hex(const void *data, size_t len, char out[HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Commit one record to the outbox; @p photo_len 0: none. Returns its seq. */
static uint64_t put_record(struct fx *fx, size_t photo_len)
{
	uint64_t seq = outbox_get_next_seq(fx->ob);
	struct rec *rc;
	struct outbox_put_req req = {0};
	char json[256];
	int n;

	assert_true(seq <= RECS_MAX);
	rc = &fx->recs[seq];
	snprintf(rc->id, sizeof(rc->id), "%s-%010llu", STATION, (unsigned long long)seq);
	n = snprintf(json, sizeof(json),
		     "{\"id\":\"%s\",\"seq\":%llu,\"prev\":\"%s\",\"x\":\"\xc3\xa9\"}", rc->id,
		     (unsigned long long)seq, outbox_get_last_hash(fx->ob));
	assert_true(n > 0 && (size_t)n < sizeof(json));
	rc->json = strdup(json);
	assert_non_null(rc->json);
	rc->json_len = (size_t)n;
	if (photo_len) {
		rc->photo = malloc(photo_len);
		assert_non_null(rc->photo);
		for (size_t i = 0; i < photo_len; i++)
			rc->photo[i] = (uint8_t)(seq * 31 + i * 7);
		rc->photo_len = photo_len;
		sha256_hex(rc->photo, photo_len, rc->sha256);
	}
	req.seq = seq;
	req.id = rc->id;
	req.json = rc->json;
	req.json_len = rc->json_len;
	req.photo = rc->photo;
	req.photo_len = rc->photo_len;
	req.photo_sha256 = photo_len ? rc->sha256 : NULL;
	req.tracking = "";
	req.created_ms = clock_wall_ms();
	assert_int_equal(outbox_put(fx->ob, &req, NULL), 0);
	return seq;
}

/* State of row @p seq: QUEUED/SENT, or ACKED when it is no longer among the unacked. */
static enum outbox_state row_state(struct fx *fx, uint64_t seq)
{
	struct outbox_row row = {0};
	enum outbox_state st;
	int r = outbox_next_unacked(fx->ob, seq - 1, &row);

	assert_true(r == 0 || r == -ENOENT);
	st = (r == 0 && row.seq == seq) ? row.state : OUTBOX_ACKED;
	outbox_row_done(&row);
	return st;
}

static uint64_t unacked(struct fx *fx)
{
	struct outbox_stats st;

	assert_int_equal(outbox_get_stats(fx->ob, &st), 0);
	return st.unacked;
}

typedef bool (*cond_fn)(struct fx *fx, uintptr_t arg);

/* Run the loop until @p cond holds or @p timeout_ms passes. Bounded; never sleeps. */
static bool run_until(struct fx *fx, cond_fn cond, uintptr_t arg, int timeout_ms)
{
	uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	while (!cond || !cond(fx, arg)) {
		uint64_t now = clock_now_ns();
		uint64_t left_ms;

		if (now >= deadline)
			return false;
		left_ms = (deadline - now) / NSEC_PER_MSEC + 1;
		assert_true(ev_run_once(fx->ev, left_ms > 100 ? 100 : (int)left_ms) >= 0);
	}
	return true;
}

static void run_for(struct fx *fx, int ms)
{
	run_until(fx, NULL, 0, ms);
}

static size_t count_topic(struct fx *fx, const char *topic)
{
	size_t n = 0;

	for (size_t i = 0; i < fx->nmsgs; i++)
		n += strcmp(fx->msgs[i].topic, topic) == 0;
	return n;
}

/* Index of the first message on @p topic with payload @p payload (NULL: any) from @p from. */
static ssize_t find_msg(struct fx *fx, size_t from, const char *topic, const char *payload)
{
	for (size_t i = from; i < fx->nmsgs; i++) {
		const struct msg *m = &fx->msgs[i];

		if (strcmp(m->topic, topic) != 0)
			continue;
		if (payload && (m->len != strlen(payload) || memcmp(m->payload, payload, m->len)))
			continue;
		return (ssize_t)i;
	}
	return -1;
}

/* Whether the test client saw evidence for record @p seq at least once. */
static bool seen_evidence(struct fx *fx, uint64_t seq)
{
	const struct rec *rc = &fx->recs[seq];

	return find_msg(fx, 0, T_EVIDENCE, rc->json) >= 0;
}

static bool cond_evidence_at_least(struct fx *fx, uintptr_t n)
{
	return count_topic(fx, T_EVIDENCE) >= n;
}

static bool cond_connected(struct fx *fx, uintptr_t arg)
{
	(void)arg;
	return fx->link && mqtt_link_is_connected(fx->link);
}

static bool cond_ups(struct fx *fx, uintptr_t n)
{
	return fx->ups >= n;
}

static bool cond_downs(struct fx *fx, uintptr_t n)
{
	return fx->downs >= n;
}

static bool cond_all_acked(struct fx *fx, uintptr_t arg)
{
	(void)arg;
	return unacked(fx) == 0;
}

static bool cond_sent(struct fx *fx, uintptr_t seq)
{
	return row_state(fx, seq) == OUTBOX_SENT;
}

static bool cond_nacked(struct fx *fx, uintptr_t n)
{
	return fx->nacked >= n;
}

static bool cond_orders(struct fx *fx, uintptr_t n)
{
	return fx->orders >= n;
}

static bool cond_subscribed(struct fx *fx, uintptr_t arg)
{
	(void)arg;
	return fx->tc.subscribed;
}

/* A status message with this payload arrived after message index @p from. */
struct status_wait {
	size_t from;
	const char *payload;
};

static bool cond_status(struct fx *fx, uintptr_t arg)
{
	const struct status_wait *w = (const struct status_wait *)arg;

	return find_msg(fx, w->from, T_STATUS, w->payload) >= 0;
}

/* ---- the test client ("central") ---- */

static void tc_update(struct tclient *tc)
{
	if (tc->io)
		ev_io_set_events(tc->io, EPOLLIN | (mosquitto_want_write(tc->mosq) ? EPOLLOUT : 0));
}

static void tc_drop(struct tclient *tc)
{
	ev_source_free(tc->io);
	tc->io = NULL;
	tc->subscribed = false;
}

static int tc_io(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tclient *tc = userdata;

	(void)s;
	(void)fd;
	if ((revents & EPOLLIN) && mosquitto_loop_read(tc->mosq, 1)) {
		tc_drop(tc);
		return 0;
	}
	if (tc->io && (revents & EPOLLOUT) && mosquitto_loop_write(tc->mosq, 1)) {
		tc_drop(tc);
		return 0;
	}
	tc_update(tc);
	return 0;
}

static void tc_publish(struct tclient *tc, const char *topic, const void *payload, size_t len,
		       const mosquitto_property *props)
{
	assert_int_equal(
		mosquitto_publish_v5(tc->mosq, NULL, topic, (int)len, payload, 1, false, props),
		MOSQ_ERR_SUCCESS);
	tc_update(tc);
}

static void tc_publish_str(struct tclient *tc, const char *topic, const char *payload)
{
	tc_publish(tc, topic, payload, strlen(payload), NULL);
}

static void tc_ack(struct tclient *tc, const char *id)
{
	char json[128];

	snprintf(json, sizeof(json), "{\"ids\":[\"%s\"]}", id);
	tc_publish_str(tc, T_ACK, json);
}

static void tc_answer_order(struct tclient *tc, const struct mosquitto_message *m,
			    const mosquitto_property *props)
{
	static const char answer[] = "{\"order\":\"A1\",\"declared_value_cents\":12345}";
	mosquitto_property *out = NULL;
	char *resp_topic = NULL;
	void *cd = NULL;
	uint16_t cdlen = 0;

	assert_non_null(mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &resp_topic,
						       false));
	assert_non_null(mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &cd,
						       &cdlen, false));
	snprintf(tc->order_resp_topic, sizeof(tc->order_resp_topic), "%s", resp_topic);
	snprintf(tc->order_req_json, sizeof(tc->order_req_json), "%.*s", m->payloadlen,
		 (const char *)m->payload);
	assert_int_equal(mosquitto_property_add_binary(&out, MQTT_PROP_CORRELATION_DATA, cd, cdlen),
			 MOSQ_ERR_SUCCESS);
	tc_publish(tc, resp_topic, answer, strlen(answer), out);
	mosquitto_property_free_all(&out);
	free(resp_topic);
	free(cd);
}

static void tc_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
			  const mosquitto_property *props)
{
	struct tclient *tc = obj;
	struct fx *fx = tc->fx;
	struct msg *dst;
	const mosquitto_property *p;
	char *k = NULL, *v = NULL;

	(void)mosq;
	assert_true(fx->nmsgs < MSGS_MAX);
	dst = &fx->msgs[fx->nmsgs++];
	dst->topic = strdup(m->topic);
	dst->len = (size_t)m->payloadlen;
	dst->payload = malloc(dst->len + 1);
	assert_non_null(dst->topic);
	assert_non_null(dst->payload);
	memcpy(dst->payload, m->payload, dst->len);
	dst->retain = m->retain;
	for (p = mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &k, &v, false);
	     p; p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &k, &v, true)) {
		if (strcmp(k, "sha256") == 0)
			snprintf(dst->sha256, sizeof(dst->sha256), "%s", v);
		else if (strcmp(k, "chunks") == 0)
			snprintf(dst->chunks, sizeof(dst->chunks), "%s", v);
		else if (strcmp(k, "content-type") == 0)
			snprintf(dst->ctype, sizeof(dst->ctype), "%s", v);
		free(k);
		free(v);
		k = v = NULL;
	}
	if (tc->auto_ack && strcmp(m->topic, T_EVIDENCE) == 0) {
		cJSON *root = cJSON_ParseWithLength(m->payload, (size_t)m->payloadlen);
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(root, "id"));

		assert_non_null(id);
		tc_ack(tc, id);
		cJSON_Delete(root);
	}
	if (tc->answer_orders && strcmp(m->topic, T_ORDERS_REQ) == 0)
		tc_answer_order(tc, m, props);
}

static void tc_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
			  const mosquitto_property *props)
{
	(void)obj;
	(void)flags;
	(void)props;
	assert_int_equal(rc, 0);
	assert_int_equal(mosquitto_subscribe_v5(mosq, NULL, "sealbench/v1/" SITE "/#", 1,
						MQTT_SUB_OPT_NO_LOCAL, NULL),
			 MOSQ_ERR_SUCCESS);
}

static void tc_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			    const int *granted, const mosquitto_property *props)
{
	struct tclient *tc = obj;

	(void)mosq;
	(void)mid;
	(void)props;
	assert_int_equal(qos_count, 1);
	assert_int_equal(granted[0], 1);
	tc->subscribed = true;
}

static void tc_on_disconnect(struct mosquitto *mosq, void *obj, int rc,
			     const mosquitto_property *props)
{
	(void)mosq;
	(void)rc;
	(void)props;
	tc_drop(obj);
}

static void tc_close(struct tclient *tc)
{
	tc_drop(tc);
	mosquitto_destroy(tc->mosq);
	tc->mosq = NULL;
}

/* (Re)connect the test client and wait until its subscription is active. */
static void tc_connect(struct fx *fx)
{
	struct tclient *tc = &fx->tc;

	tc_close(tc);
	tc->fx = fx;
	tc->mosq = mosquitto_new(NULL, true, tc);
	assert_non_null(tc->mosq);
	assert_int_equal(
		mosquitto_int_option(tc->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5),
		MOSQ_ERR_SUCCESS);
	mosquitto_connect_v5_callback_set(tc->mosq, tc_on_connect);
	mosquitto_subscribe_v5_callback_set(tc->mosq, tc_on_subscribe);
	mosquitto_message_v5_callback_set(tc->mosq, tc_on_message);
	mosquitto_disconnect_v5_callback_set(tc->mosq, tc_on_disconnect);
	assert_int_equal(mosquitto_connect_bind_v5(tc->mosq, "127.0.0.1",
						   (int)broker_get_port(fx->broker), 60, NULL,
						   NULL),
			 MOSQ_ERR_SUCCESS);
	assert_int_equal(ev_add_io(fx->ev, mosquitto_socket(tc->mosq), EPOLLIN, tc_io, tc, &tc->io),
			 0);
	tc_update(tc);
	assert_true(run_until(fx, cond_subscribed, 0, WAIT_MS));
}

/* ---- the proxy (resume tests) ---- */

static void proxy_cut(struct proxy *px)
{
	ev_source_free(px->csrc);
	ev_source_free(px->bsrc);
	px->csrc = px->bsrc = NULL;
	if (px->cfd >= 0)
		close(px->cfd);
	if (px->bfd >= 0)
		close(px->bfd);
	px->cfd = px->bfd = -1;
	px->uplen = px->downlen = 0;
	memset(px->chunk_pid, 0, sizeof(px->chunk_pid));
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* Length of the whole packet at @p buf, or 0 when it is not all there yet. */
static size_t packet_len(const uint8_t *buf, size_t have)
{
	size_t rem = 0, i = 1;
	unsigned shift = 0;

	for (;;) {
		if (i >= have)
			return 0;
		rem |= (size_t)(buf[i] & 0x7f) << shift;
		shift += 7;
		if (!(buf[i++] & 0x80))
			break;
		assert_true(i < 5);
	}
	return have >= i + rem ? i + rem : 0;
}

/* Offset of the variable header of the packet at @p pkt. */
static size_t packet_body(const uint8_t *pkt)
{
	size_t i = 1;

	while (pkt[i] & 0x80)
		i++;
	return i + 1;
}

/* The link sent a packet: record a PUBLISH, drop it if asked, else forward it. */
static void proxy_up_packet(struct proxy *px, const uint8_t *pkt, size_t len)
{
	if ((pkt[0] >> 4) == 3) { /* PUBLISH */
		size_t b = packet_body(pkt);
		unsigned qos = (pkt[0] >> 1) & 3;
		size_t tlen = (size_t)pkt[b] << 8 | pkt[b + 1];
		struct pub *pb;
		unsigned pid = 0;

		assert_true(px->npubs < PUBS_MAX);
		assert_true(tlen < TOPIC_LEN && b + 2 + tlen + 2 <= len);
		pb = &px->pubs[px->npubs++];
		pb->conn = px->conns;
		memcpy(pb->topic, pkt + b + 2, tlen);
		pb->topic[tlen] = '\0';
		if (qos)
			pid = (unsigned)pkt[b + 2 + tlen] << 8 | pkt[b + 3 + tlen];
		for (size_t i = 0; i < px->ndrop; i++) {
			if (strcmp(px->drop[i], pb->topic) == 0) {
				px->dropped++;
				return;
			}
		}
		px->chunk_pid[pid] = strncmp(pb->topic, T_PHOTO, strlen(T_PHOTO)) == 0;
	}
	send_all(px->bfd, pkt, len);
}

/* The broker sent a packet: count the PUBACKs of photo chunks, forward it. */
static void proxy_down_packet(struct proxy *px, const uint8_t *pkt, size_t len)
{
	if ((pkt[0] >> 4) == 4) { /* PUBACK */
		size_t b = packet_body(pkt);
		unsigned pid = (unsigned)pkt[b] << 8 | pkt[b + 1];

		if (px->chunk_pid[pid])
			px->chunk_pubacks++;
		px->chunk_pid[pid] = false;
	}
	send_all(px->cfd, pkt, len);
}

static int proxy_io(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proxy *px = userdata;
	bool up = fd == px->cfd;
	uint8_t *buf = up ? px->up : px->down;
	size_t *have = up ? &px->uplen : &px->downlen;
	ssize_t n;
	size_t len;

	(void)s;
	(void)revents;
	n = recv(fd, buf + *have, PROXY_BUF - *have, 0);
	if (n <= 0) {
		proxy_cut(px);
		return 0;
	}
	*have += (size_t)n;
	while ((len = packet_len(buf, *have)) > 0) {
		if (up)
			proxy_up_packet(px, buf, len);
		else
			proxy_down_packet(px, buf, len);
		memmove(buf, buf + len, *have - len);
		*have -= len;
	}
	assert_true(*have < PROXY_BUF); /* a packet larger than the buffer: test bug */
	return 0;
}

/* The link connects: open the broker side and forward. */
static int proxy_accept(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proxy *px = userdata;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int cfd;

	(void)s;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return 0;
	proxy_cut(px); /* one link at a time */
	px->cfd = cfd;
	px->conns++;
	px->bfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(px->bfd >= 0);
	sa.sin_port = htons((uint16_t)broker_get_port(px->fx->broker));
	assert_int_equal(connect(px->bfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(ev_add_io(px->fx->ev, px->cfd, EPOLLIN, proxy_io, px, &px->csrc), 0);
	assert_int_equal(ev_add_io(px->fx->ev, px->bfd, EPOLLIN, proxy_io, px, &px->bsrc), 0);
	return 0;
}

static void proxy_start(struct fx *fx)
{
	struct proxy *px = calloc(1, sizeof(*px));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	assert_non_null(px);
	px->fx = fx;
	px->cfd = px->bfd = -1;
	px->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(px->lfd >= 0);
	assert_int_equal(bind(px->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(px->lfd, 4), 0);
	assert_int_equal(getsockname(px->lfd, (struct sockaddr *)&sa, &len), 0);
	px->port = ntohs(sa.sin_port);
	assert_int_equal(ev_add_io(fx->ev, px->lfd, EPOLLIN, proxy_accept, px, &px->lsrc), 0);
	fx->px = px;
}

static void proxy_free(struct proxy *px)
{
	if (!px)
		return;
	proxy_cut(px);
	ev_source_free(px->lsrc);
	close(px->lfd);
	free(px);
}

static void proxy_drop_topic(struct proxy *px, const char *topic)
{
	assert_true(px->ndrop < PROXY_DROP_MAX);
	snprintf(px->drop[px->ndrop++], TOPIC_LEN, "%s", topic);
}

/* How often the link published @p topic through the proxy on connection @p conn. */
static size_t proxy_count(const struct proxy *px, unsigned conn, const char *topic)
{
	size_t n = 0;

	for (size_t i = 0; i < px->npubs; i++)
		n += px->pubs[i].conn == conn && strcmp(px->pubs[i].topic, topic) == 0;
	return n;
}

/* ---- the link under test ---- */

static void on_connection(void *userdata, bool up, const char *reason)
{
	struct fx *fx = userdata;

	assert_non_null(reason);
	if (up)
		fx->ups++;
	else
		fx->downs++;
}

static void on_acked(void *userdata, const char *id)
{
	struct fx *fx = userdata;

	assert_true(fx->nacked < ACKED_MAX);
	snprintf(fx->acked[fx->nacked++], ID_LEN, "%s", id);
}

static void on_order_response(void *userdata, uint64_t correlation, const char *json, size_t len)
{
	struct fx *fx = userdata;

	assert_int_equal(strlen(json), len);
	fx->orders++;
	fx->order_corr = correlation;
	snprintf(fx->order_json, sizeof(fx->order_json), "%s", json);
}

static const struct mqtt_link_callbacks link_cb = {
	.on_connection = on_connection,
	.on_acked = on_acked,
	.on_order_response = on_order_response,
};

static void link_start(struct fx *fx)
{
	fx->cfg.port = broker_get_port(fx->broker);
	assert_int_equal(mqtt_link_new(fx->ev, &fx->cfg, fx->ob, &link_cb, fx, &fx->link), 0);
}

/* ---- fixture ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct outbox_cfg ocfg = {.quota_bytes = 64u << 20, .photo_retention_ms = 3600000};
	char db[PATH_MAX + 16];

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_mqtt-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(db, sizeof(db), "%s/outbox.db", fx->dir);
	ocfg.path = db;
	if (outbox_open(&ocfg, &fx->ob) < 0 || ev_new(&fx->ev) < 0 || broker_start(&fx->broker) < 0)
		return -1;
	fx->cfg = (struct mqtt_link_cfg){
		.host = "127.0.0.1",
		.client_id = "sealbench-" SITE "-" STATION,
		.site = SITE,
		.station = STATION,
		.keepalive_s = 30,
		.chunk_size = CHUNK,
		.inflight = 4,
		.ack_timeout_ms = 10000,
		.backoff_min_ms = 50,
		.backoff_max_ms = 200,
	};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	proxy_free(fx->px); /* first: the link's goodbye then ends at once, without a peer */
	mqtt_link_free(fx->link);
	tc_close(&fx->tc);
	ev_free(fx->ev);
	outbox_close(fx->ob);
	broker_free(fx->broker);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < fx->nmsgs; i++) {
		free(fx->msgs[i].topic);
		free(fx->msgs[i].payload);
	}
	for (size_t i = 0; i <= RECS_MAX; i++) {
		free(fx->recs[i].json);
		free(fx->recs[i].photo);
	}
	free(fx);
	return 0;
}

/* ---- tests ---- */

/* Check the chunks of record @p seq: count, sizes, properties, bytes, all before the evidence. */
static void check_photo(struct fx *fx, uint64_t seq, size_t want_chunks)
{
	const struct rec *rc = &fx->recs[seq];
	ssize_t ev_at = find_msg(fx, 0, T_EVIDENCE, rc->json);
	char want_count[16];
	size_t off = 0;

	assert_true(ev_at >= 0);
	snprintf(want_count, sizeof(want_count), "%zu", want_chunks);
	for (size_t i = 0; i < want_chunks; i++) {
		char topic[160];
		ssize_t at;
		const struct msg *m;
		size_t want_len = rc->photo_len - off < CHUNK ? rc->photo_len - off : CHUNK;

		snprintf(topic, sizeof(topic), T_PHOTO "%s/%zu", rc->id, i);
		at = find_msg(fx, 0, topic, NULL);
		assert_true(at >= 0);
		assert_true(at < ev_at); /* chunks first, then the record */
		m = &fx->msgs[at];
		assert_int_equal(m->len, want_len);
		assert_memory_equal(m->payload, rc->photo + off, want_len);
		assert_string_equal(m->sha256, rc->sha256);
		assert_string_equal(m->chunks, want_count);
		assert_string_equal(m->ctype, "image/jpeg");
		assert_false(m->retain);
		off += want_len;
	}
	assert_int_equal(off, rc->photo_len);
}

/* 1. Rows queued before the link exists go out in order, photos chunked, then central acks. */
static void test_delivery_and_ack(void **state)
{
	struct fx *fx = *state;
	ssize_t prev = -1;
	char ack[4 * ID_LEN + 32];

	put_record(fx, 0);
	put_record(fx, 2 * CHUNK + CHUNK / 2);
	put_record(fx, CHUNK);
	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_evidence_at_least, 3, WAIT_MS));
	assert_int_equal(fx->ups, 1);

	for (uint64_t seq = 1; seq <= 3; seq++) {
		ssize_t at = find_msg(fx, 0, T_EVIDENCE, fx->recs[seq].json);

		assert_true(at > prev); /* byte-exact, in seq order */
		assert_false(fx->msgs[at].retain);
		prev = at;
	}
	check_photo(fx, 2, 3);
	check_photo(fx, 3, 1);
	assert_int_equal(count_topic(fx, T_PHOTO "st1-0000000001/0"), 0);
	assert_true(find_msg(fx, 0, T_STATUS, STATUS_ONLINE) >= 0);

	/* PUBACK -> SENT, not ACKED. */
	for (uint64_t seq = 1; seq <= 3; seq++)
		assert_true(run_until(fx, cond_sent, seq, WAIT_MS));

	/* A row committed while connected goes out on kick. */
	put_record(fx, 0);
	assert_int_equal(mqtt_link_kick(fx->link), 0);
	assert_true(run_until(fx, cond_evidence_at_least, 4, WAIT_MS));
	assert_true(seen_evidence(fx, 4));

	/* Central's ack: every row ACKED, on_acked for each id. */
	/* Bounded precision: gcc's -Wformat-truncation cannot see that IDs fit (ASan builds). */
	snprintf(ack, sizeof(ack), "{\"ids\":[\"%.*s\",\"%.*s\",\"%.*s\",\"%.*s\"]}", ID_LEN,
		 fx->recs[1].id, ID_LEN, fx->recs[2].id, ID_LEN, fx->recs[3].id, ID_LEN,
		 fx->recs[4].id);
	tc_publish_str(&fx->tc, T_ACK, ack);
	assert_true(run_until(fx, cond_nacked, 4, WAIT_MS));
	assert_true(run_until(fx, cond_all_acked, 0, WAIT_MS));
	for (int i = 0; i < 4; i++)
		assert_string_equal(fx->acked[i], fx->recs[i + 1].id);
	assert_string_equal(mqtt_link_get_last_error(fx->link), "");
	/* Nothing was published twice (ack_timeout is 10 s). */
	assert_int_equal(count_topic(fx, T_EVIDENCE), 4);
}

/* 2. Broker down at start: the link retries with backoff and delivers once it is up. */
static void test_broker_down_at_start(void **state)
{
	struct fx *fx = *state;
	static const char status[] = "{\"online\":true,\"station\":\"st1\",\"packer\":\"p7\"}";

	assert_int_equal(broker_stop(fx->broker), 0);
	put_record(fx, 0);
	put_record(fx, CHUNK + 1);
	link_start(fx);
	assert_false(mqtt_link_is_connected(fx->link));
	assert_non_null(strstr(mqtt_link_get_last_error(fx->link), "Connection refused"));
	assert_int_equal(mqtt_link_request_order(fx->link, 1, "{}"), -ENOTCONN);
	assert_int_equal(mqtt_link_set_status(fx->link, status), -ENOTCONN);
	assert_int_equal(mqtt_link_kick(fx->link), 0);

	/* Several backoff periods (50, 100, 200 ms ...) pass; it keeps failing quietly. */
	run_for(fx, 400);
	assert_false(mqtt_link_is_connected(fx->link));
	assert_int_equal(fx->ups, 0);
	assert_int_equal(row_state(fx, 1), OUTBOX_QUEUED);

	assert_int_equal(broker_restart(fx->broker), 0);
	tc_connect(fx);
	assert_true(run_until(fx, cond_evidence_at_least, 2, WAIT_MS));
	assert_true(mqtt_link_is_connected(fx->link));
	assert_int_equal(fx->ups, 1);
	assert_true(seen_evidence(fx, 1));
	assert_true(seen_evidence(fx, 2));
	check_photo(fx, 2, 2);
	/* The status set while down was remembered and published on connect. */
	assert_true(find_msg(fx, 0, T_STATUS, status) >= 0);
	assert_true(run_until(fx, cond_sent, 2, WAIT_MS));
}

/* 3. SIGKILL of the broker mid-delivery, restart on the same port: nothing is lost. */
static void test_broker_killed_mid_delivery(void **state)
{
	struct fx *fx = *state;
	const uint64_t n = 40;

	for (uint64_t i = 1; i <= n; i++)
		put_record(fx, i % 3 == 0 ? CHUNK * 2 + 10 : 0);
	fx->cfg.inflight = 2;
	fx->cfg.ack_timeout_ms = 400;
	fx->tc.auto_ack = true;
	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_evidence_at_least, 3, WAIT_MS));
	assert_true(unacked(fx) > 0);

	assert_int_equal(broker_kill(fx->broker), 0);
	assert_true(run_until(fx, cond_downs, 1, WAIT_MS));
	assert_false(mqtt_link_is_connected(fx->link));
	assert_true(unacked(fx) > 0); /* killed mid-delivery */

	assert_int_equal(broker_restart(fx->broker), 0);
	tc_connect(fx);
	/* The link reconnects by itself; whatever was lost in between is published again. */
	assert_true(run_until(fx, cond_all_acked, 0, 15000));
	assert_true(fx->ups >= 2);
	for (uint64_t seq = 1; seq <= n; seq++)
		assert_true(seen_evidence(fx, seq));
	check_photo(fx, 3, 3);
}

/* A record PUBACKed but not acked by central is published again after ack_timeout, on the
 * same connection, until central acks it. */
static void test_ack_timeout_republish(void **state)
{
	struct fx *fx = *state;
	size_t n;

	fx->cfg.ack_timeout_ms = 200;
	put_record(fx, CHUNK + 1);
	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_evidence_at_least, 3, WAIT_MS));
	assert_int_equal(fx->ups, 1); /* no reconnect involved */
	assert_int_equal(row_state(fx, 1), OUTBOX_SENT);
	check_photo(fx, 1, 2); /* every copy comes with its chunks */
	assert_true(count_topic(fx, T_PHOTO "st1-0000000001/1") >= 2);

	tc_ack(&fx->tc, fx->recs[1].id);
	assert_true(run_until(fx, cond_all_acked, 0, WAIT_MS));
	n = count_topic(fx, T_EVIDENCE);
	run_for(fx, 600); /* three ack timeouts: nothing more goes out */
	assert_int_equal(count_topic(fx, T_EVIDENCE), n);
}

/*
 * 3b. One ack naming more IDs than the link settles in one outbox transaction (the sink groups
 * up to 64; central may send more): every known record ACKED and reported once, in the ack's
 * order; unknown and over-long IDs ignored; nothing published again.
 */
static void test_ack_burst(void **state)
{
	struct fx *fx = *state;
	enum { NREC = 40 };
	char ack[NREC * 2 * (ID_LEN + 3) + 256], *p = ack;
	char longid[101];

	for (int i = 0; i < NREC; i++)
		put_record(fx, 0);
	tc_connect(fx);
	link_start(fx);
	for (uint64_t seq = 1; seq <= NREC; seq++)
		assert_true(run_until(fx, cond_sent, seq, WAIT_MS));

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	p += sprintf(p, "{\"ids\":[\"%s\"", longid);
	for (int i = 1; i <= NREC; i++)
		p += sprintf(p, ",\"%.*s\",\"" STATION "-%010d\"", ID_LEN, fx->recs[i].id, 900 + i);
	p += sprintf(p, ",\"%.*s\"]}", ID_LEN, fx->recs[1].id); /* a repeat */
	assert_true((size_t)(p - ack) < sizeof(ack));
	tc_publish_str(&fx->tc, T_ACK, ack);
	assert_true(run_until(fx, cond_nacked, NREC, WAIT_MS));
	assert_true(run_until(fx, cond_all_acked, 0, WAIT_MS));
	/* the repeat is acked again (idempotent): it is reported once more, last */
	assert_true(run_until(fx, cond_nacked, NREC + 1, WAIT_MS));
	for (int i = 0; i < NREC; i++)
		assert_string_equal(fx->acked[i], fx->recs[i + 1].id);
	assert_string_equal(fx->acked[NREC], fx->recs[1].id);
	assert_string_equal(mqtt_link_get_last_error(fx->link), "");
	assert_int_equal(fx->nacked, NREC + 1);
	assert_int_equal(count_topic(fx, T_EVIDENCE), NREC);
}

/* 4. Order request/response with correlation data; central answers on the response topic. */
static void test_order_round_trip(void **state)
{
	struct fx *fx = *state;
	const uint64_t corr = 0x0102030405060708ULL;

	fx->tc.answer_orders = true;
	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_connected, 0, WAIT_MS));
	assert_int_equal(mqtt_link_request_order(fx->link, corr, "{\"order\":\"A1\"}"), 0);
	assert_true(run_until(fx, cond_orders, 1, WAIT_MS));
	assert_int_equal(fx->order_corr, corr);
	assert_string_equal(fx->order_json, "{\"order\":\"A1\",\"declared_value_cents\":12345}");
	assert_string_equal(fx->tc.order_resp_topic, T_ORDERS_RESP);
	assert_string_equal(fx->tc.order_req_json, "{\"order\":\"A1\"}");

	/* A response with malformed correlation data is dropped. */
	{
		mosquitto_property *props = NULL;
		static const uint8_t short_cd[3] = {1, 2, 3};
		static const uint8_t cd[8] = {0, 0, 0, 0, 0, 0, 0, 9};

		assert_int_equal(mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
							       short_cd, sizeof(short_cd)),
				 MOSQ_ERR_SUCCESS);
		tc_publish(&fx->tc, T_ORDERS_RESP, "{\"x\":1}", 7, props);
		mosquitto_property_free_all(&props);
		tc_publish(&fx->tc, T_ORDERS_RESP, "{\"x\":2}", 7, NULL);
		assert_int_equal(mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
							       cd, sizeof(cd)),
				 MOSQ_ERR_SUCCESS);
		tc_publish(&fx->tc, T_ORDERS_RESP, "{\"x\":3}", 7, props);
		mosquitto_property_free_all(&props);
	}
	assert_true(run_until(fx, cond_orders, 2, WAIT_MS));
	assert_int_equal(fx->orders, 2);
	assert_int_equal(fx->order_corr, 9);
	assert_string_equal(fx->order_json, "{\"x\":3}");
}

/* 5. Garbage on the ack topic: no crash, nothing acked, the link stays up. */
static void test_ack_garbage(void **state)
{
	struct fx *fx = *state;
	static const char *const garbage[] = {
		"not json",
		"{\"ids\":5}",
		"{\"ids\":[1,null,{},[],true]}",
		"{\"ids\":[\"st1-0000000099\",\"\",\"-\",\"st1-\"]}",
		"[\"st1-0000000001\"]",
		"{\"IDS\":[\"st1-0000000001\"]}",
		"{\"ids\":[\"st1-0000000001\"",
		"\"st1-0000000001\"",
		"null",
	};
	static const uint8_t binary[] = {0xff, 0x00, 0xfe, '{', 0x00};
	static const uint8_t cd[8] = {0, 0, 0, 0, 0, 0, 0, 77};
	mosquitto_property *props = NULL;
	char *deep;

	put_record(fx, 0);
	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_sent, 1, WAIT_MS));

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		tc_publish_str(&fx->tc, T_ACK, garbage[i]);
	tc_publish(&fx->tc, T_ACK, binary, sizeof(binary), NULL);
	tc_publish(&fx->tc, T_ACK, "", 0, NULL);
	deep = malloc(20001);
	assert_non_null(deep);
	memset(deep, '[', 20000); /* nesting far beyond cJSON's limit */
	deep[20000] = '\0';
	tc_publish_str(&fx->tc, T_ACK, deep);
	free(deep);

	/* Sentinel: an order response published after the garbage, seen once it is processed. */
	assert_int_equal(
		mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, cd, sizeof(cd)),
		MOSQ_ERR_SUCCESS);
	tc_publish(&fx->tc, T_ORDERS_RESP, "{}", 2, props);
	mosquitto_property_free_all(&props);
	assert_true(run_until(fx, cond_orders, 1, WAIT_MS));
	assert_int_equal(fx->order_corr, 77);

	assert_int_equal(fx->nacked, 0);
	assert_int_equal(row_state(fx, 1), OUTBOX_SENT);
	assert_true(mqtt_link_is_connected(fx->link));
	assert_int_equal(fx->downs, 0);
}

/* The fd of the link's connection to the broker: a TCP socket whose peer is the broker port
 * and which is not the test client's. */
static int find_link_socket(struct fx *fx)
{
	int tc_fd = mosquitto_socket(fx->tc.mosq);
	int found = -1;

	for (int fd = 3; fd < FD_SCAN_MAX; fd++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		if (fd == tc_fd || getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
			continue;
		if (peer.sin_family != AF_INET ||
		    ntohs(peer.sin_port) != broker_get_port(fx->broker))
			continue;
		assert_int_equal(found, -1); /* exactly one */
		found = fd;
	}
	return found;
}

/* 6. Retained status, the last will on an abrupt disconnect, the offline status on free. */
static void test_status_and_will(void **state)
{
	struct fx *fx = *state;
	static const char status[] = "{\"online\":true,\"station\":\"st1\",\"packer\":\"p7\"}";
	struct status_wait w;
	ssize_t at;
	int fd;

	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_connected, 0, WAIT_MS));
	assert_int_equal(mqtt_link_set_status(fx->link, status), 0);
	w = (struct status_wait){.from = 0, .payload = status};
	assert_true(run_until(fx, cond_status, (uintptr_t)&w, WAIT_MS)); /* live: broker has it */

	/* A client subscribing afterwards gets the status as a retained message. */
	w.from = fx->nmsgs;
	tc_connect(fx);
	assert_true(run_until(fx, cond_status, (uintptr_t)&w, WAIT_MS));
	at = find_msg(fx, w.from, T_STATUS, status);
	assert_true(fx->msgs[at].retain);

	/* Abrupt end of the TCP connection without DISCONNECT: the broker publishes the will. */
	fd = find_link_socket(fx);
	assert_true(fd >= 0);
	w.from = fx->nmsgs;
	assert_int_equal(shutdown(fd, SHUT_RDWR), 0);
	w.payload = STATUS_OFFLINE;
	assert_true(run_until(fx, cond_status, (uintptr_t)&w, WAIT_MS));

	/* The link notices, reconnects by itself and publishes the remembered status again. */
	assert_true(run_until(fx, cond_ups, 2, WAIT_MS));
	assert_int_equal(fx->downs, 1);
	w.payload = status;
	assert_true(run_until(fx, cond_status, (uintptr_t)&w, WAIT_MS));

	/* mqtt_link_free(): the offline status is retained before the link goes. */
	w.from = fx->nmsgs;
	mqtt_link_free(fx->link);
	fx->link = NULL;
	w.payload = STATUS_OFFLINE;
	assert_true(run_until(fx, cond_status, (uintptr_t)&w, WAIT_MS));
	/* ... and it is what a newcomer sees, retained. */
	w.from = fx->nmsgs;
	tc_connect(fx);
	assert_true(run_until(fx, cond_status, (uintptr_t)&w, WAIT_MS));
	at = find_msg(fx, w.from, T_STATUS, STATUS_OFFLINE);
	assert_true(fx->msgs[at].retain);
}

/* 7. A PUBACK with a failure reason: last_error says so, the record is not SENT and is
 *    published again later; the next record is unaffected. */
static void test_puback_error(void **state)
{
	struct fx *fx = *state;

	broker_free(fx->broker);
	fx->broker = NULL;
	assert_int_equal(broker_start_with("message_size_limit 1500", &fx->broker), 0);
	fx->cfg.chunk_size = 2000;
	put_record(fx, 2001); /* chunk 0 (2000 bytes) is over the limit, chunk 1 is not */
	put_record(fx, 0);
	tc_connect(fx);
	link_start(fx);
	assert_true(run_until(fx, cond_sent, 2, WAIT_MS));
	assert_true(run_until(fx, cond_evidence_at_least, 3, WAIT_MS)); /* record 1 re-published */
	assert_int_equal(row_state(fx, 1), OUTBOX_QUEUED);
	assert_non_null(strstr(mqtt_link_get_last_error(fx->link), "PUBACK"));
	assert_true(mqtt_link_is_connected(fx->link));
}

/* ---- resuming a photo after a drop ---- */

/** Chunk size of the resume tests, and a photo of RESUME_CHUNKS chunks (the last one short). */
#define RESUME_CHUNK  100
#define RESUME_CHUNKS 5
#define RESUME_PHOTO  (RESUME_CHUNK * (RESUME_CHUNKS - 1) + RESUME_CHUNK / 2)

static void chunk_topic(struct fx *fx, uint64_t seq, size_t i, char topic[TOPIC_LEN])
{
	snprintf(topic, TOPIC_LEN, T_PHOTO "%s/%zu", fx->recs[seq].id, i);
}

/* The only socket of this process whose peer is 127.0.0.1:@p port (the link's, via the proxy). */
static int find_socket_to(unsigned port)
{
	int found = -1;

	for (int fd = 3; fd < FD_SCAN_MAX; fd++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0 ||
		    peer.sin_family != AF_INET || ntohs(peer.sin_port) != port)
			continue;
		assert_int_equal(found, -1);
		found = fd;
	}
	return found;
}

/*
 * The drop point: the proxy dropped every PUBLISH it was told to, passed @p pubacks PUBACKs of
 * photo chunks to the link, and the link has read them all (nothing unread on its socket).
 */
static bool cond_drop_point(struct fx *fx, uintptr_t pubacks)
{
	struct proxy *px = fx->px;
	int fd, unread = -1;

	if (px->dropped < px->ndrop || px->chunk_pubacks < pubacks)
		return false;
	fd = find_socket_to(px->port);
	return fd >= 0 && ioctl(fd, FIONREAD, &unread) == 0 && unread == 0;
}

/*
 * One record with a RESUME_CHUNKS-chunk photo, published through the proxy, which loses
 * chunks 2 and 4 and the evidence on the way to the broker (the broker PUBACKs chunks 0, 1
 * and 3, and delivers them to "central"); then the connection is cut. Returns the seq.
 */
static uint64_t drop_mid_photo(struct fx *fx)
{
	char topic[TOPIC_LEN];
	uint64_t seq;

	fx->cfg.chunk_size = RESUME_CHUNK;
	seq = put_record(fx, RESUME_PHOTO);
	tc_connect(fx);
	proxy_start(fx);
	chunk_topic(fx, seq, 2, topic);
	proxy_drop_topic(fx->px, topic);
	chunk_topic(fx, seq, 4, topic);
	proxy_drop_topic(fx->px, topic);
	proxy_drop_topic(fx->px, T_EVIDENCE);
	fx->cfg.port = fx->px->port;
	assert_int_equal(mqtt_link_new(fx->ev, &fx->cfg, fx->ob, &link_cb, fx, &fx->link), 0);
	assert_true(run_until(fx, cond_drop_point, 3, WAIT_MS));
	assert_int_equal(fx->px->conns, 1);
	assert_int_equal(fx->px->chunk_pubacks, 3);
	for (size_t i = 0; i < RESUME_CHUNKS; i++) {
		chunk_topic(fx, seq, i, topic);
		assert_int_equal(proxy_count(fx->px, 1, topic), 1);
	}
	assert_int_equal(proxy_count(fx->px, 1, T_EVIDENCE), 1);
	assert_int_equal(row_state(fx, seq), OUTBOX_QUEUED);

	fx->px->ndrop = 0; /* the next connection loses nothing */
	proxy_cut(fx->px);
	return seq;
}

/* What central put together from all it received: every chunk, the photo's bytes and hash. */
static void check_reassembly(struct fx *fx, uint64_t seq)
{
	const struct rec *rc = &fx->recs[seq];
	uint8_t photo[RESUME_PHOTO];
	size_t off = 0;
	char topic[TOPIC_LEN], sha[HEX_LEN];

	assert_int_equal(rc->photo_len, RESUME_PHOTO);
	for (size_t i = 0; i < RESUME_CHUNKS; i++) {
		ssize_t at;
		const struct msg *m;

		chunk_topic(fx, seq, i, topic);
		at = find_msg(fx, 0, topic, NULL);
		assert_true(at >= 0);
		m = &fx->msgs[at];
		assert_true(off + m->len <= sizeof(photo));
		memcpy(photo + off, m->payload, m->len);
		off += m->len;
		assert_string_equal(m->sha256, rc->sha256);
		assert_string_equal(m->chunks, "5");
	}
	assert_int_equal(off, RESUME_PHOTO);
	sha256_hex(photo, off, sha);
	assert_string_equal(sha, rc->sha256);
}

/* 8. After a drop only the chunks the broker had not PUBACKed go again, then the evidence. */
static void test_resume_after_drop(void **state)
{
	struct fx *fx = *state;
	struct mqtt_link_stats st;
	char topic[TOPIC_LEN];
	uint64_t seq = drop_mid_photo(fx);

	/* The link notices, reconnects through the proxy, replays the record. */
	assert_true(run_until(fx, cond_evidence_at_least, 1, WAIT_MS));
	assert_true(run_until(fx, cond_sent, seq, WAIT_MS));
	assert_int_equal(fx->px->conns, 2);
	assert_int_equal(fx->ups, 2);
	assert_int_equal(fx->downs, 1);

	/* Second connection: chunks 2 and 4 and the evidence, nothing else of the record. */
	for (size_t i = 0; i < RESUME_CHUNKS; i++) {
		chunk_topic(fx, seq, i, topic);
		assert_int_equal(proxy_count(fx->px, 2, topic), i == 2 || i == 4);
		assert_int_equal(count_topic(fx, topic), 1); /* central got each chunk once */
	}
	assert_int_equal(proxy_count(fx->px, 2, T_EVIDENCE), 1);
	check_reassembly(fx, seq);
	assert_int_equal(mqtt_link_get_stats(fx->link, &st), 0);
	assert_int_equal(st.chunks_published, RESUME_CHUNKS + 2);
	assert_int_equal(st.chunks_skipped, 3);
	assert_int_equal(st.resume_resets, 0);

	tc_ack(&fx->tc, fx->recs[seq].id);
	assert_true(run_until(fx, cond_all_acked, 0, WAIT_MS));
	assert_null(strstr(mqtt_link_get_last_error(fx->link), "PUBACK"));
}

/* 9. The resumed record is not acked within ack_timeout: the whole photo goes again. */
static void test_resume_reset_after_ack_timeout(void **state)
{
	struct fx *fx = *state;
	struct mqtt_link_stats st;
	char topic[TOPIC_LEN];
	uint64_t seq;

	fx->cfg.ack_timeout_ms = 400;
	seq = drop_mid_photo(fx);
	assert_true(run_until(fx, cond_evidence_at_least, 1, WAIT_MS));
	chunk_topic(fx, seq, 0, topic);
	assert_int_equal(proxy_count(fx->px, 2, topic), 0); /* the resume skipped it */

	/* No ack: after ack_timeout the record goes again with every chunk. */
	assert_true(run_until(fx, cond_evidence_at_least, 2, WAIT_MS));
	assert_int_equal(fx->px->conns, 2);
	for (size_t i = 0; i < RESUME_CHUNKS; i++) {
		chunk_topic(fx, seq, i, topic);
		assert_int_equal(proxy_count(fx->px, 2, topic), i == 2 || i == 4 ? 2 : 1);
	}
	assert_int_equal(proxy_count(fx->px, 2, T_EVIDENCE), 2);
	check_reassembly(fx, seq);
	assert_int_equal(mqtt_link_get_stats(fx->link, &st), 0);
	assert_int_equal(st.chunks_published, 2 * RESUME_CHUNKS + 2);
	assert_int_equal(st.chunks_skipped, 3);
	assert_int_equal(st.resume_resets, 1);

	tc_ack(&fx->tc, fx->recs[seq].id);
	assert_true(run_until(fx, cond_all_acked, 0, WAIT_MS));
}

/* 10. The PUBACKed set lives in memory: a new link (a daemon restart) sends the photo whole. */
static void test_restart_sends_whole(void **state)
{
	struct fx *fx = *state;
	char topic[TOPIC_LEN];
	uint64_t seq = drop_mid_photo(fx);

	assert_true(run_until(fx, cond_downs, 1, WAIT_MS));
	mqtt_link_free(fx->link); /* down: no goodbye to wait for */
	fx->link = NULL;
	assert_int_equal(mqtt_link_new(fx->ev, &fx->cfg, fx->ob, &link_cb, fx, &fx->link), 0);
	assert_true(run_until(fx, cond_evidence_at_least, 1, WAIT_MS));
	assert_true(run_until(fx, cond_sent, seq, WAIT_MS));
	for (size_t i = 0; i < RESUME_CHUNKS; i++) {
		chunk_topic(fx, seq, i, topic);
		assert_int_equal(proxy_count(fx->px, 2, topic), 1);
	}
	check_reassembly(fx, seq);
}

/* Bad configurations are refused; NULL is fine for free. */
static void test_bad_cfg(void **state)
{
	struct fx *fx = *state;
	struct mqtt_link *l = NULL;
	struct mqtt_link_cfg cfg;

	mqtt_link_free(NULL);
	cfg = fx->cfg;
	cfg.port = broker_get_port(fx->broker);
	cfg.station = "st/1";
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, NULL, NULL, &l), -EINVAL);
	cfg = fx->cfg;
	cfg.chunk_size = 0;
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, NULL, NULL, &l), -EINVAL);
	cfg = fx->cfg;
	cfg.inflight = 0;
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, NULL, NULL, &l), -EINVAL);
	cfg = fx->cfg;
	cfg.backoff_max_ms = 1;
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, NULL, NULL, &l), -EINVAL);
	assert_null(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivery_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_down_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_killed_mid_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_timeout_republish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_will, setup, teardown),
		cmocka_unit_test_setup_teardown(test_puback_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_reset_after_ack_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_sends_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_cfg, setup, teardown),
	};
	int r;

	mosquitto_lib_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	mosquitto_lib_cleanup();
	return r;
}
