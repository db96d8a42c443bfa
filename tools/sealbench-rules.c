/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-rules.c - a lead's tool for signed rules bundles (docs/bundles.md).
 *
 *   keygen   make a lead's Ed25519 key pair (private PEM 0600, "<lead>.pub" for the stations)
 *   sign     wrap a rules file ([rules], [carrier NAME], [box CODE]) with its [bundle] header
 *            (site, stations, version, issued, expires, lead), check it the way a station will,
 *            sign it, write the envelope
 *   verify   check an envelope against a directory of lead keys (and a site/station)
 *   publish  publish an envelope retained, QoS 1, on the site's or one station's config topic
 *            and wait for the broker's PUBACK (a refusal such as 0x87 is an error)
 *
 * Exit status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hal/clock.h"
#include "src/bundle.h"
#include "src/config.h"
#include "src/sign.h"
#include "tools/common.h"

/** Largest rules file accepted by `sign` (the envelope must stay under BUNDLE_PAYLOAD_MAX). */
#define RULES_FILE_MAX (BUNDLE_PAYLOAD_MAX / 2)
/** Room for the [bundle] header. */
#define HEADER_MAX 4096
/** Room for an MQTT topic: "sealbench/v1/" + site + "/" + station + "/config". */
#define TOPIC_MAX 128
/** How long `publish` waits for the broker (connect and PUBACK). */
#define PUBLISH_TIMEOUT_MS 10000
/** Default validity of a new bundle. */
#define DEFAULT_EXPIRY_DAYS 90

static const char usage[] =
	"Usage: sealbench-rules COMMAND [OPTIONS]\n"
	"\n"
	"Signed rules bundles: a lead signs the rules and catalogs, the stations of a site check\n"
	"the signature with the lead's public key and apply the bundle between two packages.\n"
	"\n"
	"Commands:\n"
	"  keygen --key FILE --pub FILE\n"
	"        Make a lead key pair. FILE is the private key (PEM, mode 0600: keep it with the\n"
	"        lead); the public key file goes to every station's lead_keys_dir, named\n"
	"        <lead>.pub. Neither file is ever replaced.\n"
	"  sign --key FILE --lead ID --site ID --version N [--stations LIST] [--expires WHEN]\n"
	"       [--issued TIME] [--config STATION.CONF] [-o OUT] RULES\n"
	"        RULES holds [rules], [carrier NAME] and [box CODE] sections, as in station.conf.\n"
	"        --stations  '*' (default: every station of the site) or st01,st02\n"
	"        --version   a whole number, higher than the last bundle of the same scope\n"
	"        --expires   a UTC time (2027-03-01T00:00:00Z) or a number of days (default %d)\n"
	"        --config    also check the rules against this station config (its dim-weight\n"
	"                    data, patterns); without it the sections are checked on their own\n"
	"        -o          the envelope (default: stdout)\n"
	"  verify --keys DIR [--site ID --station ID] BUNDLE\n"
	"        Check the signature (DIR/<lead>.pub), the expiry and, given a station, the scope.\n"
	"  publish [--host H] [--port P] [--cafile F --cert F --key F] [--station ID] BUNDLE\n"
	"        Publish retained on sealbench/v1/<site>/config, or with --station on\n"
	"        sealbench/v1/<site>/<station>/config (a bundle for that station alone).\n"
	"\n"
	"  -h, --help     this text      -V, --version  the version\n"
	"\n"
	"Example:\n"
	"  sealbench-rules keygen --key ~/lead.key --pub L-9001.pub\n"
	"  sealbench-rules sign --key ~/lead.key --lead L-9001 --site wh1 --version 8 \\\n"
	"      --expires 30 rules.conf -o rules-8.json\n"
	"  sealbench-rules publish --host broker.wh1 --cafile ca.pem --cert lead.crt \\\n"
	"      --key lead-tls.key rules-8.json\n";

struct opts {
	const char *key, *pub, *lead, *site, *stations, *expires, *issued, *config, *out;
	const char *keys, *station, *host, *cafile, *cert, *tlskey;
	uint64_t version;
	unsigned port;
	const char *file; /* the one positional argument */
};

static void usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s (see --help)\n", get_prog_name(), msg);
	exit(2);
}

/* Read a whole (small) file, NUL-terminated. */
static char *slurp(const char *path, size_t max, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf;
	size_t n;

	if (!f)
		die_perror("%s", path);
	buf = malloc(max + 2);
	if (!buf)
		die("out of memory");
	n = fread(buf, 1, max + 1, f);
	if (ferror(f))
		die_perror("%s: read", path);
	if (f != stdin)
		fclose(f);
	if (n > max)
		die("%s: larger than %zu bytes", path, max);
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		die("%s: a NUL byte (not a text file?)", path);
	*ret_len = n;
	return buf;
}

/* --expires: a UTC time as given, or N days from @p now_ms. */
static void expiry_text(const char *arg, uint64_t now_ms, char *buf, size_t len)
{
	uint64_t days;

	if (!arg) {
		days = DEFAULT_EXPIRY_DAYS;
	} else if (strchr(arg, 'T')) {
		snprintf(buf, len, "%s", arg); /* checked with the header */
		return;
	} else {
		days = parse_uint_or_die("--expires", arg, 1, 3650);
	}
	if (clock_format_rfc3339(now_ms + days * 86400000ull, buf, len) < 0)
		die("--expires: cannot format the time");
}

/* A base station config for checking rules without the station's own: the [scan] patterns
 * and the IDs the checks need, nothing else. */
static void minimal_base(const char *site, struct station_cfg *base)
{
	memset(base, 0, sizeof(*base));
	snprintf(base->site, sizeof(base->site), "%s", site);
	snprintf(base->station, sizeof(base->station), "check");
	snprintf(base->order_pattern_src, sizeof(base->order_pattern_src), "^ORD-");
	snprintf(base->box_pattern_src, sizeof(base->box_pattern_src), "^BOX-");
	snprintf(base->trigger_action, sizeof(base->trigger_action), "none");
	snprintf(base->path, sizeof(base->path), "(no station config)");
}

static int cmd_keygen(const struct opts *o)
{
	struct sign_key *key = NULL;
	uint8_t pub[SIGN_PUBKEY_BYTES];
	bool created = false;
	int r;

	if (!o->key || !o->pub)
		usage_error("keygen needs --key FILE and --pub FILE");
	r = sign_key_load_or_create(o->key, &key, &created);
	if (r == -EPERM)
		die("%s: readable by group or others; chmod 600 it", o->key);
	if (r < 0)
		die_errno(r, "%s", o->key);
	r = sign_key_get_pubkey(key, pub);
	if (r == 0)
		r = sign_pubkey_save(o->pub, pub);
	sign_key_free(key);
	if (r == -EEXIST)
		die("%s exists already (never replaced)", o->pub);
	if (r < 0)
		die_errno(r, "%s", o->pub);
	printf("%s: %s lead key; public key in %s (copy it to each station's lead_keys_dir, "
	       "named <lead>.pub)\n", o->key, created ? "new" : "existing", o->pub);
	return 0;
}

static int cmd_sign(const struct opts *o)
{
	static struct station_cfg base, checked;
	char header[HEADER_MAX], issued[40], expires[40], err[CONFIG_ERR_MAX];
	struct sign_key *key = NULL;
	uint64_t now_ms = clock_wall_ms();
	char *rules, *text, *json = NULL;
	size_t rules_len, hlen;
	FILE *out;
	int r;

	if (!o->key || !o->lead || !o->site || !o->version || !o->file)
		usage_error("sign needs --key, --lead, --site, --version and a RULES file");
	rules = slurp(o->file, RULES_FILE_MAX, &rules_len);
	if (o->issued)
		snprintf(issued, sizeof(issued), "%s", o->issued);
	else if (clock_format_rfc3339(now_ms, issued, sizeof(issued)) < 0)
		die("cannot format the time");
	expiry_text(o->expires, now_ms, expires, sizeof(expires));
	hlen = (size_t)snprintf(header, sizeof(header),
				"[bundle]\nschema = %s\nsite = %s\nstations = %s\nversion = %" PRIu64
				"\nissued = %s\nexpires = %s\nlead = %s\n\n",
				BUNDLE_SCHEMA, o->site, o->stations ? o->stations : "*", o->version,
				issued, expires, o->lead);
	if (hlen >= sizeof(header))
		die("--stations: too long");
	/* the checks a station makes on the content, here, before anything is signed (on the
	 * file alone, so that errors carry its own line numbers) */
	if (o->config) {
		r = station_cfg_load(o->config, &base, err, sizeof(err));
		if (r < 0)
			die("%s", err);
	} else {
		minimal_base(o->site, &base);
	}
	r = station_cfg_overlay(&base, o->file, rules, rules_len, &checked, err, sizeof(err));
	if (r < 0)
		die("%s", err);
	station_cfg_done(&checked);
	station_cfg_done(&base);
	if (strstr(rules, "[bundle]"))
		die("%s: has a [bundle] section: sign adds the header itself", o->file);
	text = malloc(hlen + rules_len + 1);
	if (!text)
		die("out of memory");
	memcpy(text, header, hlen);
	memcpy(text + hlen, rules, rules_len + 1);
	free(rules);

	r = sign_key_load(o->key, &key);
	if (r == -EPERM)
		die("%s: readable by group or others; chmod 600 it", o->key);
	if (r < 0)
		die_errno(r, "%s", o->key);
	r = bundle_sign(text, key, &json, err, sizeof(err));
	sign_key_free(key);
	free(text);
	if (r < 0)
		die("%s", err[0] ? err : strerror(-r));
	out = o->out ? fopen(o->out, "we") : stdout;
	if (!out)
		die_perror("%s", o->out);
	if (fputs(json, out) == EOF || fputc('\n', out) == EOF || fflush(out) == EOF)
		die_perror("%s", o->out ? o->out : "stdout");
	if (o->out && fclose(out) == EOF)
		die_perror("%s", o->out);
	free(json);
	fprintf(stderr, "signed: site %s, stations %s, version %" PRIu64 ", expires %s, lead %s\n",
		o->site, o->stations ? o->stations : "*", o->version, expires, o->lead);
	return 0;
}

/* An envelope file: the JSON without the one trailing newline `sign` writes. */
static struct bundle *load_envelope(const char *path, enum bundle_scope scope)
{
	char err[BUNDLE_ERR_MAX];
	struct bundle *b;
	size_t len;
	char *data = slurp(path, BUNDLE_PAYLOAD_MAX + 1, &len);
	int r;

	if (len && data[len - 1] == '\n')
		len--;
	r = bundle_parse(data, len, scope, &b, err, sizeof(err));
	free(data);
	if (r < 0)
		die("%s: %s", path, err);
	return b;
}

static int cmd_verify(const struct opts *o)
{
	struct bundle *b;
	char err[BUNDLE_ERR_MAX];
	int r;

	if (!o->keys || !o->file)
		usage_error("verify needs --keys DIR and a BUNDLE file");
	if (!o->station != !o->site)
		usage_error("verify: --site and --station go together");
	b = load_envelope(o->file, BUNDLE_SITE);
	/* without --site/--station: the signature and the expiry, for any station it names */
	r = bundle_verify(b, &(struct bundle_trust){ .keys_dir = o->keys,
						     .site = o->site ? o->site : b->site,
						     .station = o->station ? o->station :
						     b->all_stations ? "any" : b->stations[0] },
			  clock_wall_ms(), true, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: REFUSED: %s\n", o->file, err);
		bundle_free(b);
		return 1;
	}
	printf("%s: ok: version %" PRIu64 ", site %s, stations %s%s, lead %s\n", o->file,
	       b->version, b->site, b->all_stations ? "*" : b->stations[0],
	       b->n_stations > 1 ? ",..." : "", b->lead);
	bundle_free(b);
	return 0;
}

/* ---- publish ------------------------------------------------------------------------- */

struct pub_state {
	bool connack, connected, done;
	int connect_rc, reason;
};

static void on_connect(struct mosquitto *m, void *ud, int rc, int flags,
		       const mosquitto_property *props)
{
	struct pub_state *s = ud;

	(void)m, (void)flags, (void)props;
	s->connect_rc = rc;
	s->connected = rc == 0;
	s->connack = true;
}

static void on_publish(struct mosquitto *m, void *ud, int mid, int reason,
		       const mosquitto_property *props)
{
	struct pub_state *s = ud;

	(void)m, (void)mid, (void)props;
	s->reason = reason;
	s->done = true;
}

/* Run the client until @p cond is set or the deadline passes (waits in poll via
 * mosquitto_loop, never sleeps). */
static bool loop_until(struct mosquitto *m, const bool *cond, uint64_t deadline_ns)
{
	while (!*cond) {
		uint64_t now = clock_now_ns();
		int rc;

		if (now >= deadline_ns)
			return false;
		rc = mosquitto_loop(m, (int)((deadline_ns - now) / 1000000 + 1), 1);
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && !*cond)
			die("broker: %s", mosquitto_strerror(rc));
	}
	return true;
}

static int cmd_publish(const struct opts *o)
{
	struct pub_state s = { .connect_rc = -1 };
	char topic[TOPIC_MAX];
	struct mosquitto *m;
	struct bundle *b;
	uint64_t deadline;
	bool ours = false;
	int rc;

	if (!o->file)
		usage_error("publish needs a BUNDLE file");
	b = load_envelope(o->file, o->station ? BUNDLE_STATION : BUNDLE_SITE);
	if (o->station) {
		ours = b->all_stations;
		for (unsigned i = 0; i < b->n_stations; i++)
			ours = ours || strcmp(b->stations[i], o->station) == 0;
		if (!ours)
			die("%s: the bundle does not name station %s: it would refuse it", o->file,
			    o->station);
		snprintf(topic, sizeof(topic), "sealbench/v1/%s/%s/config", b->site, o->station);
	} else {
		snprintf(topic, sizeof(topic), "sealbench/v1/%s/config", b->site);
	}
	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, &s);
	if (!m)
		die("out of memory");
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_publish_v5_callback_set(m, on_publish);
	if (o->cafile) {
		rc = mosquitto_tls_set(m, o->cafile, NULL, o->cert, o->tlskey, NULL);
		if (rc)
			die("TLS (--cafile/--cert/--key): %s", mosquitto_strerror(rc));
	}
	deadline = clock_now_ns() + PUBLISH_TIMEOUT_MS * 1000000ull;
	rc = mosquitto_connect_bind_v5(m, o->host, (int)o->port, 30, NULL, NULL);
	if (rc)
		die("%s:%u: %s", o->host, o->port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	if (!loop_until(m, &s.connack, deadline))
		die("%s:%u: no CONNACK within %d ms", o->host, o->port, PUBLISH_TIMEOUT_MS);
	if (!s.connected)
		die("%s:%u: connection refused: %s", o->host, o->port,
		    mosquitto_reason_string(s.connect_rc));
	rc = mosquitto_publish_v5(m, NULL, topic, (int)b->payload_len, b->payload, 1, true, NULL);
	if (rc)
		die("publish: %s", mosquitto_strerror(rc));
	if (!loop_until(m, &s.done, deadline))
		die("%s: no PUBACK within %d ms", topic, PUBLISH_TIMEOUT_MS);
	if (s.reason >= 0x80)
		die("%s: the broker refused it: %s (0x%02x)", topic, mosquitto_reason_string(s.reason),
		    (unsigned)s.reason);
	mosquitto_disconnect_v5(m, 0, NULL);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	printf("published %s retained on %s\n", b->name, topic);
	bundle_free(b);
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_KEY = 256, O_PUB, O_LEAD, O_SITE, O_STATIONS, O_VERSION, O_EXPIRES, O_ISSUED,
	       O_CONFIG, O_KEYS, O_STATION, O_HOST, O_PORT, O_CAFILE, O_CERT };
	static const struct option lo[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "pub", required_argument, NULL, O_PUB },
		{ "lead", required_argument, NULL, O_LEAD },
		{ "site", required_argument, NULL, O_SITE },
		{ "stations", required_argument, NULL, O_STATIONS },
		{ "version", required_argument, NULL, O_VERSION },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "issued", required_argument, NULL, O_ISSUED },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "station", required_argument, NULL, O_STATION },
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "cafile", required_argument, NULL, O_CAFILE },
		{ "cert", required_argument, NULL, O_CERT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .host = "127.0.0.1", .port = 1883 };
	const char *cmd;
	int c;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf(usage, DEFAULT_EXPIRY_DAYS);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "-V")) {
		print_version();
		return 0;
	}
	if (argc < 2)
		usage_error("a command is needed: keygen, sign, verify or publish");
	cmd = argv[1];
	argv++, argc--;
	while ((c = getopt_long(argc, argv, "o:hV", lo, NULL)) != -1) {
		switch (c) {
		case O_KEY:
			/* keygen/sign: the lead key; publish: the TLS client key */
			if (!strcmp(cmd, "publish"))
				o.tlskey = optarg;
			else
				o.key = optarg;
			break;
		case O_PUB: o.pub = optarg; break;
		case O_LEAD: o.lead = optarg; break;
		case O_SITE: o.site = optarg; break;
		case O_STATIONS: o.stations = optarg; break;
		case O_VERSION:
			o.version = parse_uint_or_die("--version", optarg, 1, UINT64_MAX);
			break;
		case O_EXPIRES: o.expires = optarg; break;
		case O_ISSUED: o.issued = optarg; break;
		case O_CONFIG: o.config = optarg; break;
		case O_KEYS: o.keys = optarg; break;
		case O_STATION: o.station = optarg; break;
		case O_HOST: o.host = optarg; break;
		case O_PORT: o.port = (unsigned)parse_uint_or_die("--port", optarg, 1, 65535); break;
		case O_CAFILE: o.cafile = optarg; break;
		case O_CERT: o.cert = optarg; break;
		case 'o': o.out = optarg; break;
		case 'h':
			printf(usage, DEFAULT_EXPIRY_DAYS);
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc)
		o.file = argv[optind++];
	if (optind < argc)
		usage_error("one file argument only");
	if (!strcmp(cmd, "keygen"))
		return cmd_keygen(&o);
	if (!strcmp(cmd, "sign"))
		return cmd_sign(&o);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(&o);
	if (!strcmp(cmd, "publish"))
		return cmd_publish(&o);
	fprintf(stderr, "%s: unknown command '%s' (keygen, sign, verify, publish; see --help)\n",
		get_prog_name(), cmd);
	return 2;
}
