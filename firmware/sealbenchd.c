/* SPDX-License-Identifier: MIT */
/*
 * sealbenchd - the packing-station daemon. The composition root (STYLE 5): parse arguments,
 * load and validate the two config files, open the outbox and the devices in a fixed order,
 * wire them into the station, connect to central, run the loop; on SIGINT/SIGTERM shut down
 * in reverse order. This is the only place that decides to exit.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "hal/clock.h"
#include "src/config.h"
#include "src/ev.h"
#include "src/log.h"
#include "src/mqtt.h"
#include "src/outbox.h"
#include "src/sign.h"
#include "src/station.h"

#ifndef SEALBENCH_VERSION
#define SEALBENCH_VERSION "0.0.0"
#endif
#ifndef SEALBENCH_GIT
#define SEALBENCH_GIT "unknown"
#endif

/** Room for the outbox path: data_dir + "/outbox.db". */
#define OUTBOX_PATH_MAX (CONFIG_PATH_MAX + 16)
/** Room for a client ID: "sealbench-" + site + "-" + station (both at most 32). */
#define CLIENT_ID_MAX 96

static const char usage[] =
	"Usage: sealbenchd [OPTIONS]\n"
	"\n"
	"Run a sealbench packing station: read the scale, scanner, badge reader and camera named\n"
	"in the board file, build one evidence record per package, keep it in the outbox (sqlite)\n"
	"and publish it to central over MQTT 5.\n"
	"\n"
	"Options:\n"
	"  -b, --board FILE     board file: which device backends and paths (boards/<board>/board.conf)\n"
	"  -c, --config FILE    station config: site, station ID, broker, rules, catalogs\n"
	"                       (default /etc/sealbench/station.conf)\n"
	"  -r, --run-dir DIR    resolve relative device paths in the board file against DIR\n"
	"                       (default: the board file's directory)\n"
	"  -d, --data-dir DIR   override [station] data_dir (where outbox.db lives)\n"
	"  -p, --mqtt-port N    override [mqtt] port\n"
	"  -l, --log-level LVL  err, warn, notice, info (default), debug\n"
	"      --check          validate both files, print a summary and exit (0 = valid)\n"
	"  -V, --version        print version and build information\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a configuration or start-up\n"
	"error (the message names the file, line, key and value), 2 on bad arguments.\n"
	"\n"
	"Example (the simulated board, as `make run` does):\n"
	"  sealbenchd --board boards/sim/board.conf --config boards/sim/station.conf --run-dir run/\n";

struct args {
	const char *board;
	const char *config;
	const char *run_dir;
	const char *data_dir;
	unsigned mqtt_port;
	int log_level;
	bool check;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "board", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "mqtt-port", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*a = (struct args){ .config = "/etc/sealbench/station.conf", .log_level = LOG_LVL_INFO };
	while ((c = getopt_long(argc, argv, "b:c:r:d:p:l:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			a->board = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'r':
			a->run_dir = optarg;
			break;
		case 'd':
			a->data_dir = optarg;
			break;
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !v || v > 65535) {
				fprintf(stderr, "sealbenchd: --mqtt-port: '%s' is not a port (1..65535)\n",
					optarg);
				return -EINVAL;
			}
			a->mqtt_port = (unsigned)v;
			break;
		}
		case 'l':
			a->log_level = log_level_from_string(optarg);
			if (a->log_level < 0) {
				fprintf(stderr,
					"sealbenchd: --log-level: '%s' is not one of err, warn, notice, "
					"info, debug\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'C':
			a->check = true;
			break;
		case 'V':
			printf("sealbenchd %s (git %s, built %s)\n", SEALBENCH_VERSION, SEALBENCH_GIT,
			       __DATE__);
			exit(0);
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs("Try 'sealbenchd --help'.\n", stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sealbenchd: unexpected argument '%s'\nTry 'sealbenchd --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!a->board) {
		fputs("sealbenchd: --board FILE is required\nTry 'sealbenchd --help'.\n", stderr);
		return -EINVAL;
	}
	return 0;
}

struct devices {
	struct scale *scale;
	struct scanner *scanner;
	struct badge *badge;
	struct camera *camera;
	struct lights *lights;
	struct trigger *trigger;
};

static void devices_close(struct devices *d)
{
	/* reverse order of opening */
	trigger_close(d->trigger);
	lights_close(d->lights);
	camera_close(d->camera);
	badge_close(d->badge);
	scanner_close(d->scanner);
	scale_close(d->scale);
}

static int open_error(const struct board_cfg *b, unsigned line, const char *cls,
		      const char *backend, const char *device, int r)
{
	log_err("sealbenchd", "%s:%u: %s (backend %s) at '%s': %s", b->path, line, cls, backend,
		device, strerror(-r));
	return r;
}

static int devices_open(const struct board_cfg *b, struct devices *d)
{
	int r;

	r = scale_open(&b->scale, &d->scale);
	if (r < 0)
		return open_error(b, b->scale_line, "scale", b->scale.backend, b->scale.device, r);
	r = scanner_open(&b->scanner, &d->scanner);
	if (r < 0)
		return open_error(b, b->scanner_line, "scanner", b->scanner.backend,
				  b->scanner.device, r);
	r = badge_open(&b->badge, &d->badge);
	if (r < 0)
		return open_error(b, b->badge_line, "badge", b->badge.backend, b->badge.device, r);
	r = camera_open(&b->camera, &d->camera);
	if (r < 0)
		return open_error(b, b->camera_line, "camera", b->camera.backend, b->camera.device,
				  r);
	r = lights_open(&b->lights, &d->lights);
	if (r < 0)
		return open_error(b, b->lights_line, "lights", b->lights.backend, b->lights.device,
				  r);
	if (!b->trigger.backend[0])
		return 0; /* no pedal or photo-eye on this board */
	r = trigger_open(&b->trigger, &d->trigger);
	if (r < 0)
		return open_error(b, b->trigger_line, "trigger", b->trigger.backend,
				  b->trigger.device[0] ? b->trigger.device : b->trigger.chip, r);
	return 0;
}

/*
 * systemd (Type=notify, WatchdogSec=): READY=1 once the station runs, WATCHDOG=1 from a loop
 * timer at half the interval systemd asked for (so a stuck loop stops the pings and systemd
 * restarts us), STOPPING=1 at shutdown. Without $NOTIFY_SOCKET (not under systemd) or without
 * libsystemd (WITH_SYSTEMD unset) every call is a no-op.
 */
#ifdef WITH_SYSTEMD
static void notify(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_warn("sealbenchd", "sd_notify(%s): %s", state, strerror(-r));
}

static int on_watchdog(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	const uint64_t *interval_ns = userdata;

	(void)now_ns;
	notify("WATCHDOG=1");
	return ev_timer_arm_in(s, *interval_ns);
}

/* Arm the watchdog pings when systemd asked for them. */
static int watchdog_start(struct ev *ev, struct ev_source **ret)
{
	static uint64_t interval_ns;
	uint64_t usec = 0;
	int r;

	r = sd_watchdog_enabled(0, &usec);
	if (r <= 0)
		return r; /* not enabled (0), or a malformed $WATCHDOG_USEC (<0) */
	interval_ns = usec * 1000ull / 2; /* usec -> ns, halved */
	r = ev_add_timer(ev, on_watchdog, &interval_ns, ret);
	if (r < 0)
		return r;
	log_info("sealbenchd", "systemd watchdog: %llu ms, pinging every %llu ms",
		 (unsigned long long)(usec / 1000), (unsigned long long)(interval_ns / NSEC_PER_MSEC));
	return ev_timer_arm_in(*ret, interval_ns);
}
#else
static void notify(const char *state)
{
	(void)state;
}

static int watchdog_start(struct ev *ev, struct ev_source **ret)
{
	(void)ev;
	(void)ret;
	return 0;
}
#endif

static int on_signal(struct ev_source *s, int signo, void *userdata)
{
	struct ev *ev = userdata;

	(void)s;
	log_notice("sealbenchd", "%s: shutting down", strsignal(signo));
	ev_exit(ev, 0);
	return 0;
}

int main(int argc, char **argv)
{
	static struct station_cfg cfg; /* large: keep it off the stack */
	static struct board_cfg board;
	struct devices dev = { 0 };
	struct outbox *ob = NULL;
	struct sign_key *key = NULL;
	char key_path[CONFIG_PATH_MAX + 16];
	bool key_created = false;
	struct station *st = NULL;
	struct mqtt_link *link = NULL;
	struct ev_source *watchdog = NULL;
	struct ev *ev = NULL;
	char err[CONFIG_ERR_MAX];
	char ob_path[OUTBOX_PATH_MAX];
	char client_id[CLIENT_ID_MAX];
	char aside[OUTBOX_PATH_MAX + 64];
	char quarantine_msg[4 * OUTBOX_PATH_MAX] = "";
	struct args a;
	int r, rc = 1;

	if (parse_args(argc, argv, &a) < 0)
		return 2;
	log_set_level((enum log_level)a.log_level);
	/* 1080p photos and MQTT buffers are ~300 KB: keep them out of mmap/munmap churn
	 * (each large free would otherwise unmap and the next use page-fault again). */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);

	if (station_cfg_load(a.config, &cfg, err, sizeof(err)) < 0) {
		log_err("sealbenchd", "%s", err);
		return 1;
	}
	if (board_cfg_load(a.board, a.run_dir, &board, err, sizeof(err)) < 0) {
		log_err("sealbenchd", "%s", err);
		goto out;
	}
	if (a.data_dir)
		snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", a.data_dir);
	if (a.mqtt_port)
		cfg.mqtt_port = a.mqtt_port;
	if (a.check) {
		printf("%s: ok (site %s, station %s, rules %s, %u carriers, %u boxes)\n", a.config,
		       cfg.site, cfg.station, cfg.rules.version, cfg.n_carriers, cfg.n_boxes);
		printf("%s: ok (scale %s, scanner %s, badge %s, camera %s, lights %s)\n", a.board,
		       board.scale.backend, board.scanner.backend, board.badge.backend,
		       board.camera.backend, board.lights.backend);
		rc = 0;
		goto out;
	}
	log_notice("sealbenchd", "sealbenchd %s starting: site %s station %s, board %s",
		   SEALBENCH_VERSION, cfg.site, cfg.station, a.board);

	r = ev_new(&ev);
	if (r < 0) {
		log_err("sealbenchd", "event loop: %s", strerror(-r));
		goto out;
	}
	if (ev_add_signal(ev, SIGINT, on_signal, ev, NULL) < 0 ||
	    ev_add_signal(ev, SIGTERM, on_signal, ev, NULL) < 0) {
		log_err("sealbenchd", "signalfd: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	snprintf(ob_path, sizeof(ob_path), "%s/outbox.db", cfg.data_dir);
	/* A damaged outbox is moved aside (never deleted) and a fresh one started: the station
	 * keeps sealing, and says so loudly, in the log and in its status. */
	r = outbox_open_or_quarantine(
		&(struct outbox_cfg){ .path = ob_path,
				      .quota_bytes = cfg.outbox_quota_mb * 1024 * 1024,
				      .photo_retention_ms =
					      (uint64_t)cfg.photo_retention_days * 86400000ull },
		&ob, aside, sizeof(aside));
	if (r == OUTBOX_QUARANTINED) {
		snprintf(quarantine_msg, sizeof(quarantine_msg),
			 "OUTBOX DAMAGED: moved aside to %s, started a fresh outbox; its unacked "
			 "records are not being sent: recover them with sealbench-salvage %s",
			 aside, aside);
		log_err("sealbenchd", "%s", quarantine_msg);
	} else if (r < 0) {
		log_err("sealbenchd", "%s: cannot open the outbox ([station] data_dir = %s): %s",
			ob_path, cfg.data_dir, strerror(-r));
		goto out;
	}
	/* the station's signing key: made on the first start (mode 0600), never replaced */
	if (cfg.key_path[0])
		snprintf(key_path, sizeof(key_path), "%s", cfg.key_path);
	else
		snprintf(key_path, sizeof(key_path), "%s/station.key", cfg.data_dir);
	r = sign_key_load_or_create(key_path, &key, &key_created);
	if (r == -EPERM) {
		log_err("sealbenchd", "%s: the station key is accessible by group or others; "
			"refusing to use it (chmod 600 %s, and consider the key compromised)",
			key_path, key_path);
		goto out;
	}
	if (r < 0) {
		log_err("sealbenchd", "%s: cannot load or create the station key ([station] "
			"key_path): %s", key_path, strerror(-r));
		goto out;
	}
	if (key_created)
		log_notice("sealbenchd", "%s: new station key generated; register its public key "
			   "at central (it is in the status, \"pubkey\")", key_path);
	if (devices_open(&board, &dev) < 0)
		goto out;

	r = station_new(&(struct station_parts){ .ev = ev,
						 .cfg = &cfg,
						 .board = &board,
						 .firmware_version = SEALBENCH_VERSION,
						 .scale = dev.scale,
						 .scanner = dev.scanner,
						 .badge = dev.badge,
						 .camera = dev.camera,
						 .lights = dev.lights,
						 .trigger = dev.trigger,
						 .outbox = ob,
						 .key = key },
			&st);
	if (r < 0) {
		log_err("sealbenchd", "station: %s", strerror(-r));
		goto out;
	}
	dev = (struct devices){ 0 }; /* the station owns them now */
	if (quarantine_msg[0])
		station_report_error(st, quarantine_msg);
	snprintf(client_id, sizeof(client_id), "sealbench-%s-%s", cfg.site, cfg.station);
	r = mqtt_link_new(ev,
			  &(struct mqtt_link_cfg){ .host = cfg.mqtt_host,
						   .port = cfg.mqtt_port,
						   .client_id = client_id,
						   .site = cfg.site,
						   .station = cfg.station,
						   .keepalive_s = cfg.mqtt_keepalive_s,
						   .chunk_size = cfg.mqtt_chunk_size,
						   .inflight = cfg.mqtt_inflight,
						   .ack_timeout_ms = cfg.mqtt_ack_timeout_s * 1000ull,
						   .backoff_min_ms = 250,
						   .backoff_max_ms = 10000,
						   .tls_ca = cfg.mqtt_tls_ca,
						   .tls_cert = cfg.mqtt_tls_cert,
						   .tls_key = cfg.mqtt_tls_key },
			  ob, station_link_callbacks(st), st, &link);
	if (r < 0) {
		log_err("sealbenchd", "mqtt link to %s:%u: %s", cfg.mqtt_host, cfg.mqtt_port,
			strerror(-r));
		goto out;
	}
	station_set_link(st, link);
	log_notice("sealbenchd", "ready: outbox %s, broker %s:%u%s", ob_path, cfg.mqtt_host,
		   cfg.mqtt_port, cfg.mqtt_tls_ca[0] ? " (TLS)" : "");
	r = watchdog_start(ev, &watchdog);
	if (r < 0) {
		log_err("sealbenchd", "systemd watchdog: %s", strerror(-r));
		goto out;
	}
	notify("READY=1");

	r = ev_run(ev);
	rc = r == 0 ? 0 : 1; /* STATION_EXIT_OUTBOX_DAMAGED: systemd restarts us, start moves it */
	if (r < 0)
		log_err("sealbenchd", "event loop failed: %s", strerror(-r));
	notify("STOPPING=1");
out:
	ev_source_free(watchdog);
	/* reverse order of setup */
	if (st)
		station_set_link(st, NULL);
	mqtt_link_free(link);
	station_free(st);
	devices_close(&dev);
	sign_key_free(key);
	outbox_close(ob);
	ev_free(ev);
	station_cfg_done(&cfg);
	return rc;
}
