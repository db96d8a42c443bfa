/* SPDX-License-Identifier: MIT */
/*
 * Transport security: the MQTT link over TLS with a client certificate, against a real
 * mosquitto running the repo's example configuration (firmware/mosquitto/sealbench.conf and
 * sealbench.acl, paths rewritten to a mkdtemp() directory, listener on a free loopback port).
 * The PKI is made per run by tests/tls/mkcerts.sh (openssl CLI); central's side is the
 * mosquitto_pub CLI with central's certificate.
 *
 * A good certificate connects and delivers; no certificate, a CA the station does not trust,
 * a certificate from a CA the broker does not trust, and a broker name that does not match
 * all fail without ever reaching LINK_UP; a station publishing outside its own topics gets
 * PUBACK 0x87, which is an error (reported through on_error and the last error, the record is
 * not marked sent), and it does not receive another station's acks.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/clock.h"
#include "src/config.h"
#include "src/ev.h"
#include "src/log.h"
#include "src/mqtt.h"
#include "src/outbox.h"
#include "tests/harness/broker.h"

#define SITE "wh1"
/** Where the example configuration expects its files; rewritten to the test directory. */
#define CONF_DIR "/etc/mosquitto/sealbench/"
/** The example files are short: a generous cap for the rewritten config. */
#define CONF_MAX 8192
#define LINE_MAX_ 512
/** The test directory and the source directory: short paths, so that names built from them
 * fit PATH_MAX. */
#define DIR_MAX 1024
#define CMD_MAX (6 * DIR_MAX)
/** How long a test waits for something that must happen. */
#define WAIT_MS 5000
/** After a failing connection reported its error, how long it is watched for a late success
 * (several reconnect attempts at backoff 50..200 ms). */
#define FAIL_WATCH_MS 400
#define ERRORS_MAX    32

struct fx {
	char dir[DIR_MAX];
	char srcdir[DIR_MAX];
	struct broker *broker;
	/* per test */
	char obdir[DIR_MAX + 16];
	struct ev *ev;
	struct outbox *ob;
	struct mqtt_link *link;
	unsigned ups, acked;
	char errors[ERRORS_MAX][160];
	unsigned nerrors;
};

static void cb_connection(void *ud, bool up, const char *reason)
{
	struct fx *fx = ud;

	(void)reason;
	if (up)
		fx->ups++;
}

static void cb_acked(void *ud, const char *id)
{
	struct fx *fx = ud;

	(void)id;
	fx->acked++;
}

static void cb_error(void *ud, const char *text)
{
	struct fx *fx = ud;

	if (fx->nerrors < ERRORS_MAX)
		snprintf(fx->errors[fx->nerrors++], sizeof(fx->errors[0]), "%s", text);
}

static const struct mqtt_link_callbacks cbs = {
	.on_connection = cb_connection,
	.on_acked = cb_acked,
	.on_error = cb_error,
};

static bool saw_error(const struct fx *fx, const char *needle)
{
	for (unsigned i = 0; i < fx->nerrors; i++)
		if (strstr(fx->errors[i], needle))
			return true;
	return false;
}

/* Run the loop until @p cond holds or @p ms passed (cond NULL: the whole time). Never sleeps. */
static bool run_until(struct fx *fx, bool (*cond)(struct fx *), int ms)
{
	uint64_t deadline = clock_now_ns() + (uint64_t)ms * NSEC_PER_MSEC;

	while (!cond || !cond(fx)) {
		uint64_t now = clock_now_ns();

		if (now >= deadline)
			return false;
		assert_true(ev_run_once(fx->ev, (int)((deadline - now) / NSEC_PER_MSEC) + 1) >= 0);
	}
	return true;
}

static bool cond_up(struct fx *fx)
{
	return fx->ups > 0;
}

static bool cond_acked(struct fx *fx)
{
	return fx->acked > 0;
}

static bool cond_refused(struct fx *fx)
{
	return saw_error(fx, "PUBACK for record 1");
}

static bool cond_sent(struct fx *fx)
{
	struct outbox_row row = { 0 };
	bool sent;

	if (outbox_next_unacked(fx->ob, 0, &row) < 0)
		return true; /* acked already */
	sent = row.state == OUTBOX_SENT;
	outbox_row_done(&row);
	return sent;
}

static uint64_t unacked(struct fx *fx)
{
	struct outbox_stats st;

	assert_int_equal(outbox_get_stats(fx->ob, &st), 0);
	return st.unacked;
}

static void put_record(struct fx *fx, const char *station)
{
	char id[64], json[160];
	struct outbox_put_req req = { 0 };

	snprintf(id, sizeof(id), "%s-%010u", station, 1u);
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"seq\":1}", id);
	req.seq = outbox_get_next_seq(fx->ob);
	assert_int_equal(req.seq, 1);
	req.id = id;
	req.json = json;
	req.json_len = strlen(json);
	req.tracking = "";
	req.created_ms = clock_wall_ms();
	assert_int_equal(outbox_put(fx->ob, &req, NULL), 0);
}

static void path_in(const struct fx *fx, char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", fx->dir, name);

	assert_true(n > 0 && (size_t)n < size);
}

/* Start the link as @p station with the given TLS files (names in the test directory, NULL:
 * none) against host @p host. */
static void start_link(struct fx *fx, const char *host, const char *station, const char *ca,
		       const char *cert, const char *key)
{
	char pca[PATH_MAX], pcert[PATH_MAX], pkey[PATH_MAX], client_id[64];
	struct mqtt_link_cfg cfg = {
		.host = host,
		.port = broker_get_port(fx->broker),
		.client_id = client_id,
		.site = SITE,
		.station = station,
		.keepalive_s = 30,
		.chunk_size = 65536,
		.inflight = 4,
		.ack_timeout_ms = 60000,
		.backoff_min_ms = 50,
		.backoff_max_ms = 200,
	};

	snprintf(client_id, sizeof(client_id), "sealbench-%s-%s", SITE, station);
	if (ca) {
		path_in(fx, pca, sizeof(pca), ca);
		cfg.tls_ca = pca;
	}
	if (cert) {
		path_in(fx, pcert, sizeof(pcert), cert);
		path_in(fx, pkey, sizeof(pkey), key);
		cfg.tls_cert = pcert;
		cfg.tls_key = pkey;
	}
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, &cbs, fx, &fx->link), 0);
}

/* Central (mosquitto_pub with central's certificate) publishes a retained message. */
static int central_publish_retained(const struct fx *fx, const char *topic, const char *payload)
{
	char cmd[CMD_MAX];
	int n = snprintf(cmd, sizeof(cmd),
			 "mosquitto_pub -V mqttv5 -h 127.0.0.1 -p %u --cafile '%s/ca.crt' "
			 "--cert '%s/central.crt' --key '%s/central.key' -q 1 -r -t '%s' -m '%s'",
			 broker_get_port(fx->broker), fx->dir, fx->dir, fx->dir, topic, payload);

	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	return system(cmd);
}

/* ---- fixtures ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* The example config, paths rewritten to @p dir, without its `listener` line (the harness
 * puts the listener on a free loopback port; the lines after it apply to that listener). */
static int load_example_conf(const char *srcdir, const char *dir, char *out, size_t size)
{
	char path[DIR_MAX + 64], line[LINE_MAX_];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/firmware/mosquitto/sealbench.conf", srcdir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, CONF_DIR);
		int n;

		if (line[0] == '#' || line[0] == '\n' || strncmp(line, "listener", 8) == 0)
			continue;
		if (p)
			n = snprintf(out + len, size - len, "%.*s%s/%s", (int)(p - line), line, dir,
				     p + strlen(CONF_DIR));
		else
			n = snprintf(out + len, size - len, "%s", line);
		if (n < 0 || (size_t)n >= size - len) {
			fclose(f);
			return -ENOSPC;
		}
		len += (size_t)n;
	}
	fclose(f);
	return 0;
}

static int group_setup(void **state)
{
	static struct fx fx;
	static char conf[CONF_MAX];
	char cmd[CMD_MAX];
	const char *env = getenv("SEALBENCH_SRCDIR");
	const char *tmp = getenv("TMPDIR");

	log_set_level(LOG_LVL_ERR);
	if ((size_t)snprintf(fx.srcdir, sizeof(fx.srcdir), "%s", env && *env ? env : ".") >=
		    sizeof(fx.srcdir) ||
	    (size_t)snprintf(fx.dir, sizeof(fx.dir), "%s/sealbench-tls-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= sizeof(fx.dir))
		return -1;
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/tls/mkcerts.sh' '%s' && cp '%s/firmware/mosquitto/"
		 "sealbench.acl' '%s/'", fx.srcdir, fx.dir, fx.srcdir, fx.dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_tls: making the test PKI failed: %s\n", cmd);
		return -1;
	}
	if (load_example_conf(fx.srcdir, fx.dir, conf, sizeof(conf)) < 0 ||
	    broker_start_with(conf, &fx.broker) < 0) {
		fprintf(stderr, "test_tls: broker with the example config did not start\n");
		return -1;
	}
	*state = &fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *fx = *state;

	broker_free(fx->broker);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int setup(void **state)
{
	struct fx *fx = *state;
	static unsigned n;
	char path[DIR_MAX + 32];

	fx->ups = fx->acked = fx->nerrors = 0;
	snprintf(fx->obdir, sizeof(fx->obdir), "%s/ob%u", fx->dir, ++n);
	snprintf(path, sizeof(path), "%s/outbox.db", fx->obdir);
	if (ev_new(&fx->ev) < 0)
		return -1;
	return outbox_open(&(struct outbox_cfg){ .path = path, .quota_bytes = 1 << 20 }, &fx->ob);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	mqtt_link_free(fx->link);
	fx->link = NULL;
	outbox_close(fx->ob);
	fx->ob = NULL;
	ev_free(fx->ev);
	fx->ev = NULL;
	return 0;
}

/* ---- tests ---- */

/* The station's own certificate: connects, delivers, and reads its own (retained) ack. */
static void test_good_certificate(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(central_publish_retained(fx, "sealbench/v1/" SITE "/st01/ack",
						  "{\"ids\":[\"st01-0000000001\"]}"),
			 0);
	put_record(fx, "st01");
	start_link(fx, "127.0.0.1", "st01", "ca.crt", "st01.crt", "st01.key");
	assert_true(run_until(fx, cond_up, WAIT_MS));
	assert_true(run_until(fx, cond_acked, WAIT_MS));
	assert_int_equal(unacked(fx), 0);
	assert_false(saw_error(fx, "PUBACK"));
	assert_string_equal(mqtt_link_get_last_error(fx->link), "");
	/* the order-context request goes to the site-wide topic its ACL block allows */
	assert_int_equal(mqtt_link_request_order(fx->link, 7, "{\"order_id\":\"ORD-1\"}"), 0);
	run_until(fx, NULL, 200);
	assert_false(saw_error(fx, "PUBACK"));
}

static const char *wanted_error;

static bool cond_wanted_error(struct fx *fx)
{
	return saw_error(fx, wanted_error);
}

static void assert_never_up(struct fx *fx, const char *needle)
{
	put_record(fx, "st01");
	wanted_error = needle;
	assert_true(run_until(fx, cond_wanted_error, WAIT_MS));
	assert_false(run_until(fx, cond_up, FAIL_WATCH_MS));
	assert_false(mqtt_link_is_connected(fx->link));
	assert_int_equal(unacked(fx), 1);
	assert_false(cond_sent(fx));
	assert_true(saw_error(fx, needle));
	assert_non_null(strstr(mqtt_link_get_last_error(fx->link), needle));
}

/* The broker requires a certificate: a TLS client without one never gets a session. */
static void test_no_certificate(void **state)
{
	struct fx *fx = *state;

	start_link(fx, "127.0.0.1", "st01", "ca.crt", NULL, NULL);
	assert_never_up(fx, "127.0.0.1");
}

/* Plain MQTT to the TLS listener: no session either. */
static void test_plain_tcp_refused(void **state)
{
	struct fx *fx = *state;

	start_link(fx, "127.0.0.1", "st01", NULL, NULL, NULL);
	assert_never_up(fx, "127.0.0.1");
}

/* The station trusts another CA: the broker's certificate does not verify. */
static void test_wrong_ca(void **state)
{
	struct fx *fx = *state;

	start_link(fx, "127.0.0.1", "st01", "other-ca.crt", "st01.crt", "st01.key");
	assert_never_up(fx, "certificate verify failed");
}

/* A certificate with the right name from a CA the broker does not trust. */
static void test_rogue_certificate(void **state)
{
	struct fx *fx = *state;

	start_link(fx, "127.0.0.1", "st01", "ca.crt", "rogue.crt", "rogue.key");
	assert_never_up(fx, "127.0.0.1");
}

/* The broker's certificate names 127.0.0.1 only: connecting as "localhost" must fail the
 * hostname check even though the chain is good. */
static void test_hostname_mismatch(void **state)
{
	struct fx *fx = *state;

	start_link(fx, "localhost", "st01", "ca.crt", "st01.crt", "st01.key");
	assert_never_up(fx, "certificate verify failed");
}

/* A missing key file is named in the error. */
static void test_missing_file(void **state)
{
	struct fx *fx = *state;

	start_link(fx, "127.0.0.1", "st01", "ca.crt", "st01.crt", "nonexistent.key");
	assert_never_up(fx, "nonexistent.key");
}

/*
 * st01's certificate configured as station st02: connected, but every publish is outside its
 * topics: PUBACK 0x87 is an error (not a silent success), the record is not marked sent, and
 * st02's retained ack is not delivered to it. The broker handles SUBSCRIBE (and sends the
 * retained messages it may read) before the record's PUBLISH, so once the refusal is seen an
 * ack would have arrived.
 */
static void test_outside_own_topics(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(central_publish_retained(fx, "sealbench/v1/" SITE "/st02/ack",
						  "{\"ids\":[\"st02-0000000001\"]}"),
			 0);
	put_record(fx, "st02");
	start_link(fx, "127.0.0.1", "st02", "ca.crt", "st01.crt", "st01.key");
	assert_true(run_until(fx, cond_up, WAIT_MS));
	assert_true(run_until(fx, cond_refused, WAIT_MS));
	assert_true(saw_error(fx, "Not authorized"));
	assert_non_null(strstr(mqtt_link_get_last_error(fx->link), "Not authorized"));
	assert_false(cond_sent(fx));
	assert_int_equal(fx->acked, 0);
	assert_int_equal(unacked(fx), 1);
}

/* A client certificate without its key (or without a CA) is a configuration error. */
static void test_bad_tls_cfg(void **state)
{
	struct fx *fx = *state;
	struct mqtt_link *l = NULL;
	struct mqtt_link_cfg cfg = {
		.host = "127.0.0.1", .port = 1, .client_id = "x", .site = SITE, .station = "st01",
		.keepalive_s = 30, .chunk_size = 1024, .inflight = 1, .ack_timeout_ms = 1000,
		.backoff_min_ms = 50, .backoff_max_ms = 100,
	};

	cfg.tls_ca = "/x/ca.crt";
	cfg.tls_cert = "/x/c.crt";
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, &cbs, fx, &l), -EINVAL);
	cfg.tls_ca = NULL;
	cfg.tls_key = "/x/c.key";
	assert_int_equal(mqtt_link_new(fx->ev, &cfg, fx->ob, &cbs, fx, &l), -EINVAL);
	assert_null(l);
}

/* Write a station config with the given [mqtt] lines into the test directory; load it. */
static int load_cfg(struct fx *fx, const char *mqtt_lines, struct station_cfg *cfg, char *err,
		    size_t errlen)
{
	char path[DIR_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/station.conf", fx->dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "[station]\nsite = wh1\nid = st01\n[mqtt]\n%s[rules]\nversion = r1\n",
		mqtt_lines);
	assert_int_equal(fclose(f), 0);
	return station_cfg_load(path, cfg, err, errlen);
}

/* [mqtt] tls_*: relative paths resolve against the config's directory; a certificate without
 * its key, or without a CA, is a file:line error. */
static void test_config_keys(void **state)
{
	struct fx *fx = *state;
	static struct station_cfg cfg;
	char err[CONFIG_ERR_MAX], want[DIR_MAX + 32];

	assert_int_equal(load_cfg(fx, "", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.mqtt_tls_ca, "");
	assert_string_equal(cfg.mqtt_tls_cert, "");
	station_cfg_done(&cfg);

	assert_int_equal(load_cfg(fx, "tls_ca = ca.crt\ntls_cert = /abs/st01.crt\n"
				      "tls_key = keys/st01.key\n", &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/ca.crt", fx->dir);
	assert_string_equal(cfg.mqtt_tls_ca, want);
	assert_string_equal(cfg.mqtt_tls_cert, "/abs/st01.crt");
	snprintf(want, sizeof(want), "%s/keys/st01.key", fx->dir);
	assert_string_equal(cfg.mqtt_tls_key, want);
	station_cfg_done(&cfg);

	assert_int_equal(load_cfg(fx, "tls_ca = ca.crt\ntls_cert = st01.crt\n", &cfg, err,
				  sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "station.conf:6: tls_cert is set but tls_key is not"));
	assert_int_equal(load_cfg(fx, "tls_key = st01.key\n", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "station.conf:5: tls_key is set but tls_cert is not"));
	assert_int_equal(load_cfg(fx, "tls_cert = st01.crt\ntls_key = st01.key\n", &cfg, err,
				  sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "station.conf:5: tls_cert needs tls_ca"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_tcp_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rogue_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostname_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_own_topics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tls_cfg, setup, teardown),
		cmocka_unit_test(test_config_keys),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
