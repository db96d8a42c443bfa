/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench.c - the in-process parts of `make bench` (tests/bench/run.py drives it).
 *
 * Why in-process: capture-to-durable is a few milliseconds, and a figure taken through the
 * daemon would mostly measure FIFOs and the scheduler. Here the library is linked and each
 * package runs what the station runs between the accepted weight and the green light
 * (station.c's op_seal = SHA-256 of the photo, record_build, record_sign, outbox_put), after
 * the camera class turned a sim frame into the photo; the station's checks per package
 * (can_seal, the duplicate check) run too, untimed, before the frame: the station asks them
 * at the package's scans, not between the weight and the commit. Each
 * iteration then runs the primitives on a frame of the same kind (the baseline): TurboJPEG
 * encode (YUYV only), SHA-256, Ed25519 sign of the same record bytes, one sqlite WAL commit
 * with synchronous=FULL of the same bytes. Both in the same run, interleaved, so the ratio
 * holds on a noisy machine, and each side's commit comes as long after the last disk sync as
 * the other's (baseline_frame()).
 *
 * The sim camera's own work (drawing the test pattern; for MJPEG, playing the camera's
 * encoder) is the sensor's time, not ours: the bench wraps the backend's on_readable (the ops
 * table is public in camera.h) and starts the clock when the backend hands the frame over.
 *
 * Subcommands (one "key=value ..." result line on stdout each; errors on stderr, exit 1):
 *   seal    --dir D --format yuyv|mjpeg [--width W --height H --runs N --preload N]
 *   fill    --dir D --records N [--photo-kb K] [--site S --station S]
 *   publoop --dir D --port P [--inflight N --chunk BYTES --read]
 *   central --dir D --port P --records N [--site S --station S]
 *   floor   --dir D
 * `fill` writes a backlog into D/outbox.db signed with D/station.key (the daemon's files when
 * D is its data dir); `publoop` is the delivery baseline: a bare libmosquitto QoS 1 publish
 * loop of the same messages (photo chunks, then the record) with the same records in flight;
 * with --read it reads each record out of the outbox (outbox_next_unacked(), as the daemon
 * does) when its turn to be published comes, instead of holding every record in memory
 * before the clock starts: the loop plus the store-and-forward read.
 * `central` is a null central for the station-side delivery figure: it takes every message
 * of the station (QoS 1) and acks each record once its evidence arrives, with no
 * verification and no storage; like sealbench-sink, it sends one ack (up to 64 IDs) per read
 * burst; it prints "ready" once subscribed and its result line once
 * --records distinct records were acked.
 * `floor` is the memory baseline: a process that links what sealbenchd links and uses each
 * library once (OpenSSL SHA-256 and Ed25519, sqlite in WAL mode, libmosquitto, TurboJPEG),
 * then reports its own RSS split (anonymous / file-backed) from /proc/self/status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <turbojpeg.h>

#include "drivers/camera/camera.h"
#include "hal/clock.h"
#include "src/outbox.h"
#include "src/package.h"
#include "src/record.h"
#include "src/sign.h"

/** Room for paths built under --dir. */
#define BENCH_PATH_MAX PATH_MAX
/** Iterations dropped before timing starts (page cache, lazy allocations, sqlite pages). */
#define BENCH_WARMUP 5
/** Outbox quota for the bench: room for the 1080p runs and a 2,000-package backlog. */
#define BENCH_QUOTA_BYTES (4ull << 30)
/** Timeout of one poll() on the camera's fd: the sim delivers at once. */
#define BENCH_CAMERA_POLL_MS 2000
/** JPEG quality, as boards/sim (camera.quality = 85). */
#define BENCH_QUALITY 85
/** Topic room: "sealbench/v1/<site>/<station>/photo/<id>/<n>" (as src/mqtt.c). */
#define BENCH_TOPIC_MAX 192
/** Preloaded records (growth) are committed in batches of this many between progress lines. */
#define BENCH_PRELOAD_REPORT 10000
/** Bulk writers (preload, fill) checkpoint every this many records, as an idle station would. */
#define BENCH_CKPT_EVERY 50
/* WAL pages from which the baseline checkpoints in the idle path: the outbox's
 * OUTBOX_WAL_IDLE_PAGES, so both sides checkpoint as often, and both outside the clock. */
#define BENCH_BASE_WAL_IDLE_PAGES 1024
/** Largest photo chunk the baseline accepts (mosquitto's default packet cap is far above). */
#define BENCH_CHUNK_MAX (1u << 20)
/** Seconds the delivery baseline may take before it gives up. */
#define BENCH_PUBLOOP_TIMEOUT_S 600

struct opts {
	const char *dir;
	enum camera_format format;
	unsigned width, height;
	unsigned runs;
	unsigned long preload;
	unsigned long records;
	unsigned photo_kb;
	const char *site, *station;
	unsigned port;
	unsigned inflight;
	unsigned chunk;
	bool read;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* CPU time of this process, all threads (user + system), ns. */
static uint64_t self_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NSEC_PER_SEC +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void path_in(const struct opts *o, const char *name, char *buf)
{
	if (snprintf(buf, BENCH_PATH_MAX, "%s/%s", o->dir, name) >= BENCH_PATH_MAX)
		die("path too long: %s/%s", o->dir, name);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static uint64_t pct(const uint64_t *sorted, size_t n, unsigned p)
{
	size_t k = (n * p + 99) / 100;

	return sorted[k ? k - 1 : 0];
}

static void hex32(const unsigned char *md, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

/* SHA-256 as station.c computes it (EVP one-shot). */
static void sha256_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		die("EVP_Digest failed");
	hex32(md, hex);
}

static void set_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		die("string too long for its field: %s", s);
	memcpy(dst, s, n + 1);
}

#define SET(field, s) set_str(field, sizeof(field), s)

/* A package as the sim station seals it: order from central, label, box, weight, photo. */
static void fill_package(struct package *p, uint64_t n, uint64_t now_ms)
{
	struct order_ctx *o = &p->order;
	char buf[PKG_ID_MAX];

	package_reset(p);
	SET(p->packer_id, "P-1001");
	snprintf(buf, sizeof(buf), "ORD-%08" PRIu64, n);
	SET(p->order_id, buf);
	SET(o->order_id, buf);
	snprintf(buf, sizeof(buf), "1ZBENCH%011" PRIu64, n);
	SET(p->label.tracking, buf);
	SET(o->tracking, buf);
	SET(p->label.carrier, "UPS");
	SET(p->label.kind, "ups_1z");
	SET(p->label.check, "ok");
	p->order_src = ORDER_SRC_CENTRAL;
	SET(o->carrier, "UPS");
	SET(o->service, "GND");
	o->declared_value_cents = 4599;
	SET(o->currency, "USD");
	o->declared_weight_g = 1250;
	SET(o->skus[0].sku, "MUG-CERAMIC-01");
	o->skus[0].qty = 2;
	o->n_skus = 1;
	SET(o->address.name, "Customer Bench");
	SET(o->address.street, "1 Main St");
	SET(o->address.city, "Springfield");
	SET(o->address.state, "IL");
	SET(o->address.postal_code, "62701");
	SET(o->address.country, "US");
	SET(p->box.code, "BOX-M");
	SET(p->box.type, "carton");
	p->box.length_mm = 400;
	p->box.width_mm = 300;
	p->box.height_mm = 200;
	p->box.tare_g = 320;
	p->has_weight = true;
	p->gross_g = 1580;
	p->measured_g = 1260;
	p->dim_weight_g = 4800;
	p->billable_g = 4800;
	SET(p->dim_rule, "divisor:5000");
	p->photo_required = true;
	SET(p->photo_reasons, "fragile_sku");
	SET(p->rules[0].rule, "photo_required");
	p->rules[0].result = RULE_PASS;
	SET(p->rules[0].detail, "photo taken");
	SET(p->rules[1].rule, "weight_tolerance");
	p->rules[1].result = RULE_PASS;
	SET(p->rules[1].detail, "measured 1260 g vs declared 1250 g");
	p->n_rules = 2;
	p->t.started_ms = now_ms - 9000;
	p->t.order_ms = now_ms - 8000;
	p->t.label_ms = now_ms - 6000;
	p->t.box_ms = now_ms - 4000;
	p->t.weighed_ms = now_ms - 10;
	p->t.photo_ms = now_ms - 5;
	p->t.sealed_ms = now_ms;
	p->clock_synced = true;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const struct record_station bench_station = {
	.site = "wh1",
	.station = "st01",
	.firmware_version = "bench",
	.scale_model = "sim scale",
	.scanner_model = "sim scanner",
	.camera_model = "sealbench sim camera",
	.badge_model = "sim badge",
	.rules_version = "bench.1",
};

/* Where the pipeline's time goes, summed over the timed packages (nanoseconds). */
/* ST_CHECKS: the checks before the frame (pre_seal_checks), not part of capture-to-durable. */
enum stage { ST_CAMERA, ST_CHECKS, ST_SHA, ST_BUILD, ST_SIGN, ST_PUT, _ST_MAX };
static const char *const stage_names[_ST_MAX] = { "camera", "checks_untimed", "sha", "build",
						  "sign", "put" };
static uint64_t stage_ns[_ST_MAX];
static uint64_t stage_t;
/* The last package's outbox_put() and the last baseline commit, for their own p50. */
static uint64_t last_put_ns, last_commit_ns;
/* The baseline's own split, summed the same way: encode (YUYV), SHA-256, sign, commit. */
enum base_stage { BS_ENCODE, BS_SHA, BS_SIGN, BS_COMMIT, _BS_MAX };
static const char *const base_stage_names[_BS_MAX] = { "encode", "sha", "sign", "commit" };
static uint64_t base_stage_ns[_BS_MAX];

static void stage_mark(enum stage s)
{
	uint64_t now = clock_now_ns();

	if (s == ST_PUT)
		last_put_ns = now - stage_t;
	stage_ns[s] += now - stage_t;
	stage_t = now;
}

/*
 * The station's checks per package before the weight: can_seal (outbox quota and statvfs),
 * asked at the package's first scan, and the duplicate check (outbox_has_tracking), asked
 * when the label is scanned (pipeline.c set_label). Neither runs between the accepted weight
 * and the commit, so cmd_seal calls this per package before the frame, untimed.
 */
static int pre_seal_checks(struct outbox *ob, const struct package *p)
{
	bool seen = false;
	int r;

	if (!outbox_has_room(ob, 4ull << 20) || outbox_check_space(ob, 4ull << 20) < 0)
		return -ENOSPC;
	r = outbox_has_tracking(ob, p->label.tracking, &seen);
	if (r < 0)
		return r;
	return seen ? -EEXIST : 0;
}

/*
 * What the station runs between the photo and the commit: station.c's op_seal. @p photo may
 * be NULL. Returns the signed JSON length through @p ret_len. Never inlined: run.py counts
 * its instructions by name.
 */
static __attribute__((noinline)) int seal_package(struct outbox *ob, const struct sign_key *key,
						  const struct record_station *rs,
						  struct package *p, const uint8_t *photo,
						  size_t photo_len, unsigned w, unsigned h,
						  size_t *ret_len)
{
	uint64_t seq = outbox_get_next_seq(ob);
	char id[RECORD_ID_MAX];
	char *json = NULL, *signed_json = NULL;
	size_t len = 0, signed_len = 0;
	int r;

	if (photo) {
		sha256_hex(photo, photo_len, p->photo_sha256);
		p->has_photo = true;
		p->photo_bytes = (uint32_t)photo_len;
		p->photo_width = w;
		p->photo_height = h;
	}
	stage_mark(ST_SHA);
	r = record_format_id(rs->station, seq, id, sizeof(id));
	if (r < 0)
		return r;
	r = record_build(rs, p, seq, outbox_get_last_hash(ob), &json, &len);
	if (r < 0)
		return r;
	stage_mark(ST_BUILD);
	r = record_sign(key, json, len, &signed_json, &signed_len);
	free(json);
	if (r < 0)
		return r;
	stage_mark(ST_SIGN);
	r = outbox_put(ob,
		       &(struct outbox_put_req){
			       .seq = seq,
			       .id = id,
			       .json = signed_json,
			       .json_len = signed_len,
			       .photo = photo,
			       .photo_len = photo_len,
			       .photo_sha256 = photo ? p->photo_sha256 : NULL,
			       .tracking = p->label.tracking,
			       .created_ms = p->t.sealed_ms,
		       },
		       NULL);
	free(signed_json);
	stage_mark(ST_PUT);
	if (r == 0)
		*ret_len = signed_len;
	return r;
}

static struct outbox *open_outbox(const struct opts *o, uint64_t *ret_open_ns)
{
	char path[BENCH_PATH_MAX];
	struct outbox *ob = NULL;
	uint64_t t0;
	int r;

	path_in(o, "outbox.db", path);
	t0 = clock_now_ns();
	r = outbox_open(&(struct outbox_cfg){ .path = path,
					      .quota_bytes = BENCH_QUOTA_BYTES,
					      .photo_retention_ms = 30ull * 86400 * 1000 },
			&ob);
	if (r < 0)
		die("outbox_open %s: %s", path, strerror(-r));
	if (ret_open_ns)
		*ret_open_ns = clock_now_ns() - t0;
	return ob;
}

static struct sign_key *open_key(const struct opts *o)
{
	char path[BENCH_PATH_MAX];
	struct sign_key *key = NULL;
	bool created;
	int r;

	path_in(o, "station.key", path);
	r = sign_key_load_or_create(path, &key, &created);
	if (r < 0)
		die("station key %s: %s", path, strerror(-r));
	return key;
}

/* ---- capture-to-durable ------------------------------------------------------------------ */

/* The sim backend's ops, wrapped so the clock starts when the sensor hands the frame over. */
static const struct camera_ops *sim_ops;
static struct camera_ops timed_ops;
static uint64_t frame_ready_ns;

static int timed_on_readable(struct camera *c, struct camera_frame *ret)
{
	int r = sim_ops->on_readable(c, ret);

	if (r == 0)
		frame_ready_ns = clock_now_ns();
	return r;
}

/* Wait until the camera's fd is readable; a frame that does not come is fatal. */
static void wait_frame(struct camera *cam)
{
	struct pollfd pfd = { .fd = camera_get_fd(cam), .events = POLLIN };

	if (poll(&pfd, 1, BENCH_CAMERA_POLL_MS) <= 0)
		die("camera: no frame within %d ms", BENCH_CAMERA_POLL_MS);
}

static void take_photo(struct camera *cam, struct camera_photo *ph)
{
	int r = camera_capture(cam);

	if (r < 0)
		die("camera_capture: %s", strerror(-r));
	for (;;) {
		wait_frame(cam);
		r = camera_on_readable(cam, ph);
		if (r == 0)
			return;
		if (r != -EAGAIN)
			die("camera_on_readable: %s", strerror(-r));
	}
}

/*
 * The baseline's frame: one of its own, straight from the sim backend (below the camera
 * class and the bench's timing wrapper), taken before its clock starts, as the pipeline's
 * clock starts when its frame is handed over.
 *
 * Why its own: what a commit's fdatasync costs depends on how long ago the last disk sync
 * was. On the 2-core CI VM, p50: ~260 us right after another sync, ~370 us after a 5 ms gap,
 * ~500 us after 25 ms. The pipeline's commit always comes after the frame's ~5 ms: the sim
 * draws and, in MJPEG, plays the camera's encoder; a real camera's frame interval is longer.
 * On the pipeline's frame, the baseline's MJPEG commit (no encode before it) came right
 * after another commit's sync (the put's in even iterations, its own previous one in odd
 * ones): always the faster case, ~100 us ahead of the same commit in the pipeline's place.
 * In YUYV each side's own ~5 ms encode came first anyway.
 *
 * The capture releases the pipeline's photo (camera.h: lent until the next capture), and
 * the sim draws the next frame over it: the pipeline's photo is not used after this.
 */
static struct camera_frame baseline_frame(struct camera *cam)
{
	struct camera_frame f;
	int r = sim_ops->capture(cam);

	if (r < 0)
		die("baseline frame: capture: %s", strerror(-r));
	for (;;) {
		wait_frame(cam);
		r = sim_ops->on_readable(cam, &f);
		if (r == 0)
			return f;
		if (r != -EAGAIN)
			die("baseline frame: %s", strerror(-r));
	}
}

/* The baseline's own primitives: a TurboJPEG handle, an Ed25519 key, a bare sqlite table. */
struct baseline {
	tjhandle tj;
	unsigned char *jpeg;
	unsigned long jpeg_size;
	uint8_t *planes;
	EVP_PKEY *pkey;
	EVP_MD_CTX *sign_tmpl; /* initialised once, copied per signature, as src/sign.c does */
	sqlite3 *db;
	sqlite3_stmt *ins;
	int wal_pages; /* frames in the WAL after the last commit (the WAL hook) */
};

/* Replaces sqlite's auto-checkpoint: the baseline checkpoints in the idle path, as the
 * outbox does (baseline_idle()), so neither side pays a checkpoint inside its clock. */
static int baseline_wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct baseline *b = ud;

	(void)db, (void)name;
	b->wal_pages = pages;
	return SQLITE_OK;
}

static void baseline_open(struct baseline *b, const struct opts *o)
{
	char path[BENCH_PATH_MAX];
	EVP_PKEY_CTX *kctx;

	b->tj = tjInitCompress();
	b->jpeg_size = tjBufSize((int)o->width, (int)o->height, TJSAMP_420);
	b->jpeg = tjAlloc((int)b->jpeg_size);
	b->planes = malloc((size_t)o->width * o->height * 3 / 2);
	if (!b->tj || !b->jpeg || !b->planes)
		die("baseline: out of memory");
	kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!kctx || EVP_PKEY_keygen_init(kctx) <= 0 || EVP_PKEY_keygen(kctx, &b->pkey) <= 0)
		die("baseline: Ed25519 keygen failed");
	EVP_PKEY_CTX_free(kctx);
	b->sign_tmpl = EVP_MD_CTX_new();
	if (!b->sign_tmpl || EVP_DigestSignInit(b->sign_tmpl, NULL, NULL, NULL, b->pkey) <= 0)
		die("baseline: Ed25519 sign init failed");
	path_in(o, "baseline.db", path);
	if (sqlite3_open(path, &b->db) != SQLITE_OK ||
	    sqlite3_exec(b->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, json TEXT, photo BLOB)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b->db, "INSERT INTO t(json, photo) VALUES(?, ?)", -1, &b->ins,
			       NULL) != SQLITE_OK)
		die("baseline sqlite %s: %s", path, sqlite3_errmsg(b->db));
	sqlite3_wal_hook(b->db, baseline_wal_hook, b);
}

/*
 * The baseline's side of the idle path, untimed: what outbox_checkpoint() does. A passive
 * checkpoint once the WAL holds BENCH_BASE_WAL_IDLE_PAGES, then a write that changes nothing,
 * so that the restarted WAL's header sync is paid here and not in the next commit.
 */
static void baseline_idle(struct baseline *b)
{
	int n_log = 0, n_ckpt = 0;

	if (b->wal_pages < BENCH_BASE_WAL_IDLE_PAGES)
		return;
	if (sqlite3_wal_checkpoint_v2(b->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_ckpt) !=
		    SQLITE_OK ||
	    sqlite3_exec(b->db, "PRAGMA user_version = 0", NULL, NULL, NULL) != SQLITE_OK)
		die("baseline checkpoint: %s", sqlite3_errmsg(b->db));
	b->wal_pages = 0;
}

static void baseline_close(struct baseline *b)
{
	sqlite3_finalize(b->ins);
	sqlite3_close(b->db);
	EVP_MD_CTX_free(b->sign_tmpl);
	EVP_PKEY_free(b->pkey);
	free(b->planes);
	tjFree(b->jpeg);
	if (b->tj)
		tjDestroy(b->tj);
}

/*
 * The primitives for one package: returns the nanoseconds they took. Never inlined:
 * tests/bench/run.py counts its instructions by name (callgrind --toggle-collect).
 */
static __attribute__((noinline)) uint64_t
baseline_run(struct baseline *b, const struct camera_frame *f, const char *json, size_t json_len)
{
	const unsigned char *planes[3];
	int strides[3];
	const uint8_t *jpeg = f->data;
	unsigned long jpeg_len = f->len;
	unsigned char sig[64];
	size_t sig_len = sizeof(sig);
	char hex[65];
	EVP_MD_CTX *mctx;
	uint64_t t0 = clock_now_ns(), t = t0, now;

	if (f->format == CAMERA_FMT_YUYV) {
		size_t w = f->width, h = f->height, cw = w / 2;
		uint8_t *py = b->planes, *pu = py + w * h, *pv = pu + cw * (h / 2);

		/* plain YUYV -> I420 (chroma from the even rows), then the encoder */
		for (size_t y = 0; y < h; y++) {
			const uint8_t *row = f->data + y * w * 2;

			for (size_t x = 0; x < w; x++)
				py[y * w + x] = row[2 * x];
			if (y % 2 == 0) {
				for (size_t x = 0; x < cw; x++) {
					pu[(y / 2) * cw + x] = row[4 * x + 1];
					pv[(y / 2) * cw + x] = row[4 * x + 3];
				}
			}
		}
		planes[0] = py;
		planes[1] = pu;
		planes[2] = pv;
		strides[0] = (int)w;
		strides[1] = strides[2] = (int)cw;
		jpeg_len = b->jpeg_size;
		if (tjCompressFromYUVPlanes(b->tj, planes, (int)w, strides, (int)h, TJSAMP_420,
					    &b->jpeg, &jpeg_len, BENCH_QUALITY,
					    TJFLAG_NOREALLOC) < 0)
			die("baseline encode: %s", tjGetErrorStr2(b->tj));
		jpeg = b->jpeg;
	}
	now = clock_now_ns();
	base_stage_ns[BS_ENCODE] += now - t;
	t = now;
	sha256_hex(jpeg, jpeg_len, hex);
	now = clock_now_ns();
	base_stage_ns[BS_SHA] += now - t;
	t = now;
	mctx = EVP_MD_CTX_new();
	if (!mctx || EVP_MD_CTX_copy_ex(mctx, b->sign_tmpl) <= 0 ||
	    EVP_DigestSign(mctx, sig, &sig_len, (const unsigned char *)json, json_len) <= 0)
		die("baseline: Ed25519 sign failed");
	EVP_MD_CTX_free(mctx);
	now = clock_now_ns();
	base_stage_ns[BS_SIGN] += now - t;
	t = now;
	sqlite3_bind_text64(b->ins, 1, json, json_len, SQLITE_STATIC, SQLITE_UTF8);
	sqlite3_bind_blob64(b->ins, 2, jpeg, jpeg_len, SQLITE_STATIC);
	if (sqlite3_step(b->ins) != SQLITE_DONE)
		die("baseline insert: %s", sqlite3_errmsg(b->db));
	sqlite3_reset(b->ins);
	now = clock_now_ns();
	base_stage_ns[BS_COMMIT] += now - t;
	last_commit_ns = now - t;
	return now - t0;
}

/* The baseline for one package, on a frame of its own: the nanoseconds baseline_run() took. */
static uint64_t baseline_package(struct baseline *b, struct camera *cam, const char *json,
				 size_t json_len)
{
	struct camera_frame f = baseline_frame(cam);

	return baseline_run(b, &f, json, json_len);
}

/* Records without photos, sealed the station's way, to grow the unacked backlog. */
static void preload(struct outbox *ob, const struct sign_key *key, unsigned long n)
{
	struct package *p = malloc(sizeof(*p));
	size_t len;
	int r;

	if (!p)
		die("out of memory");
	for (unsigned long i = 0; i < n; i++) {
		fill_package(p, outbox_get_next_seq(ob), wall_ms());
		r = pre_seal_checks(ob, p);
		if (r == 0)
			r = seal_package(ob, key, &bench_station, p, NULL, 0, 0, 0, &len);
		if (r < 0)
			die("preload record %lu: %s", i, strerror(-r));
		if ((i + 1) % BENCH_PRELOAD_REPORT == 0)
			fprintf(stderr, "bench: preloaded %lu of %lu\n", i + 1, n);
		if ((i + 1) % BENCH_CKPT_EVERY == 0 && outbox_checkpoint(ob) < 0)
			die("preload: checkpoint failed");
	}
	free(p);
}

static int cmd_seal(const struct opts *o)
{
	struct camera_cfg ccfg = { .backend = "sim", .format = o->format, .width = o->width,
				   .height = o->height, .jpeg_quality = BENCH_QUALITY };
	unsigned total = o->runs + BENCH_WARMUP, n = 0;
	uint64_t *pipe_ns = calloc(o->runs, sizeof(uint64_t));
	uint64_t *base_ns = calloc(o->runs, sizeof(uint64_t));
	uint64_t *put_ns = calloc(o->runs, sizeof(uint64_t));
	uint64_t *commit_ns = calloc(o->runs, sizeof(uint64_t));
	struct package *p = malloc(sizeof(*p));
	struct outbox_stats stats;
	struct baseline b = {0};
	struct camera *cam = NULL;
	struct sign_key *key;
	struct outbox *ob;
	uint64_t open_ns, photo_bytes = 0, ckpt_ns = 0;
	char *json_copy = NULL;
	size_t json_copy_len = 0;
	int r;

	if (!pipe_ns || !base_ns || !put_ns || !commit_ns || !p)
		die("out of memory");
	key = open_key(o);
	ob = open_outbox(o, NULL);
	if (o->preload) {
		preload(ob, key, o->preload);
		outbox_close(ob);
	} else {
		outbox_close(ob);
	}
	/* start-up time: a fresh open of the grown file */
	ob = open_outbox(o, &open_ns);
	r = outbox_get_stats(ob, &stats);
	if (r < 0)
		die("outbox_get_stats: %s", strerror(-r));

	r = camera_open(&ccfg, &cam);
	if (r < 0)
		die("camera_open: %s", strerror(-r));
	sim_ops = cam->ops;
	timed_ops = *sim_ops;
	timed_ops.on_readable = timed_on_readable;
	cam->ops = &timed_ops;
	baseline_open(&b, o);

	for (unsigned i = 0; i < total; i++) {
		struct camera_photo ph;
		size_t json_len = 0;
		uint64_t t1, bns = 0;
		/*
		 * Odd timed iterations run the baseline first (with the previous record's length),
		 * so neither side always runs second after the other's writes.
		 */
		bool base_first = i > BENCH_WARMUP && i % 2;

		if (i == BENCH_WARMUP) {
			memset(stage_ns, 0, sizeof(stage_ns));
			memset(base_stage_ns, 0, sizeof(base_stage_ns));
		}
		if (base_first)
			bns = baseline_package(&b, cam, json_copy, json_copy_len);
		/* The package as the station has it when the weight is accepted (scans, box,
		 * weight) and the checks of its scans: before the frame. */
		fill_package(p, outbox_get_next_seq(ob), wall_ms());
		t1 = clock_now_ns();
		r = pre_seal_checks(ob, p);
		if (r < 0)
			die("checks before the seal: %s", strerror(-r));
		stage_ns[ST_CHECKS] += clock_now_ns() - t1;
		take_photo(cam, &ph);
		stage_t = frame_ready_ns;
		stage_mark(ST_CAMERA);
		r = seal_package(ob, key, &bench_station, p, ph.jpeg, ph.len, ph.width,
				 ph.height, &json_len);
		if (r < 0)
			die("seal: %s", strerror(-r));
		t1 = clock_now_ns();
		/* the baseline signs and stores a record of the same length */
		free(json_copy);
		json_copy = malloc(json_len + 1);
		if (!json_copy)
			die("out of memory");
		memset(json_copy, 'x', json_len);
		json_copy[json_len] = '\0';
		json_copy_len = json_len;
		if (i < BENCH_WARMUP) {
			baseline_package(&b, cam, json_copy, json_len);
			continue;
		}
		pipe_ns[n] = t1 - frame_ready_ns;
		put_ns[n] = last_put_ns;
		photo_bytes += ph.len; /* the photo's last use: the baseline's capture releases it */
		if (!base_first)
			bns = baseline_package(&b, cam, json_copy, json_len);
		base_ns[n] = bns;
		commit_ns[n] = last_commit_ns;
		n++;
		/* the station's idle path between packages (not timed as capture-to-durable) */
		t1 = clock_now_ns();
		r = outbox_checkpoint(ob);
		if (r < 0 && r != -EBUSY)
			die("outbox_checkpoint: %s", strerror(-r));
		ckpt_ns += clock_now_ns() - t1;
		baseline_idle(&b);
	}
	qsort(pipe_ns, n, sizeof(uint64_t), cmp_u64);
	qsort(base_ns, n, sizeof(uint64_t), cmp_u64);
	qsort(put_ns, n, sizeof(uint64_t), cmp_u64);
	qsort(commit_ns, n, sizeof(uint64_t), cmp_u64);
	printf("seal format=%s width=%u height=%u runs=%u unacked_at_start=%" PRIu64
	       " open_us=%" PRIu64 " photo_bytes=%" PRIu64 " pipe_p50_us=%" PRIu64
	       " pipe_p99_us=%" PRIu64 " base_p50_us=%" PRIu64 " base_p99_us=%" PRIu64 "\n",
	       o->format == CAMERA_FMT_MJPEG ? "mjpeg" : "yuyv", o->width, o->height, n,
	       stats.unacked, open_ns / 1000, n ? photo_bytes / n : 0,
	       pct(pipe_ns, n, 50) / 1000, pct(pipe_ns, n, 99) / 1000,
	       pct(base_ns, n, 50) / 1000, pct(base_ns, n, 99) / 1000);
	printf("stages format=%s", o->format == CAMERA_FMT_MJPEG ? "mjpeg" : "yuyv");
	for (unsigned s = 0; s < _ST_MAX; s++)
		printf(" %s_mean_us=%" PRIu64, stage_names[s], n ? stage_ns[s] / n / 1000 : 0);
	for (unsigned s = 0; s < _BS_MAX; s++)
		printf(" base_%s_mean_us=%" PRIu64, base_stage_names[s],
		       n ? base_stage_ns[s] / n / 1000 : 0);
	printf(" idle_checkpoint_mean_us=%" PRIu64 " put_p50_us=%" PRIu64 " put_p99_us=%" PRIu64
	       " base_commit_p50_us=%" PRIu64 " base_commit_p99_us=%" PRIu64 "\n",
	       n ? ckpt_ns / n / 1000 : 0, pct(put_ns, n, 50) / 1000, pct(put_ns, n, 99) / 1000,
	       pct(commit_ns, n, 50) / 1000, pct(commit_ns, n, 99) / 1000);
	free(json_copy);
	baseline_close(&b);
	camera_close(cam);
	outbox_close(ob);
	sign_key_free(key);
	free(p);
	free(commit_ns);
	free(put_ns);
	free(base_ns);
	free(pipe_ns);
	return 0;
}

/* ---- backlog ----------------------------------------------------------------------------- */

/* Deterministic incompressible bytes wrapped as a JPEG-looking blob (the sink only hashes). */
static void fill_photo(uint8_t *buf, size_t len, uint64_t n)
{
	uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	buf[0] = 0xFF;
	buf[1] = 0xD8;
	buf[len - 2] = 0xFF;
	buf[len - 1] = 0xD9;
}

static int cmd_fill(const struct opts *o)
{
	size_t photo_len = (size_t)o->photo_kb * 1024;
	struct record_station rs = bench_station;
	struct package *p = malloc(sizeof(*p));
	uint8_t *photo = photo_len ? malloc(photo_len) : NULL;
	uint64_t bytes = 0, t0 = clock_now_ns();
	struct sign_key *key;
	struct outbox *ob;
	size_t len;
	int r;

	if (!p || (photo_len && !photo))
		die("out of memory");
	rs.site = o->site;
	rs.station = o->station;
	mkdir(o->dir, 0750);
	key = open_key(o);
	ob = open_outbox(o, NULL);
	for (unsigned long i = 0; i < o->records; i++) {
		uint64_t seq = outbox_get_next_seq(ob);

		fill_package(p, seq, wall_ms());
		if (photo)
			fill_photo(photo, photo_len, seq);
		r = seal_package(ob, key, &rs, p, photo, photo_len, 1920, 1080, &len);
		if (r < 0)
			die("fill record %lu: %s", i, strerror(-r));
		bytes += len + photo_len;
		if ((i + 1) % BENCH_CKPT_EVERY == 0 && outbox_checkpoint(ob) < 0)
			die("fill: checkpoint failed");
	}
	printf("fill records=%lu bytes=%" PRIu64 " seconds=%.3f\n", o->records, bytes,
	       (double)(clock_now_ns() - t0) / 1e9);
	outbox_close(ob);
	sign_key_free(key);
	free(photo);
	free(p);
	return 0;
}

/* ---- delivery baseline ------------------------------------------------------------------- */

/*
 * The messages of one record, in memory before the clock starts. With --read, payload is
 * NULL until the record's first message is published: then its row is read (seq) and the
 * payloads point into it (off into the photo; the evidence message is the JSON).
 */
struct msg {
	char topic[BENCH_TOPIC_MAX];
	const void *payload;
	size_t len, off;
	uint64_t seq;
	bool first, last; /* first: of its record; last: the record's evidence message, whose
			     PUBACK completes the record */
};

struct publoop {
	struct msg *msgs;
	size_t n_msgs, next;
	unsigned inflight, window;
	size_t records_done, records;
	bool *last_of_mid; /* indexed by mid: PUBACK of an evidence message */
	bool failed;
	struct outbox *ob;     /* --read: where each record is read from, as it goes out */
	struct outbox_row row; /* --read: the record being published (buffers reused) */
};

/*
 * The subscriber side of the baseline: a consumer that drains every message with QoS 1.
 * first_ns/last_ns: its first and its latest message, the span `bench central` reports for
 * the station (written by the consumer's thread before the release of received).
 */
struct plsub {
	const char *filter;
	size_t received, bytes;
	uint64_t first_ns, last_ns;
	bool subscribed, failed;
};

/* A libmosquitto client as the daemon makes one: MQTT 5, TCP_NODELAY. Dies on failure. */
static struct mosquitto *bench_client(const char *id, void *ud)
{
	struct mosquitto *mosq = mosquitto_new(id, true, ud);

	if (!mosq)
		die("mosquitto_new failed");
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	return mosq;
}

/* Messages the consumer thread has taken (read from the publishing thread). */
static size_t received(struct plsub *ps)
{
	return __atomic_load_n(&ps->received, __ATOMIC_ACQUIRE);
}

static void pls_on_connect(struct mosquitto *mosq, void *ud, int rc)
{
	struct plsub *ps = ud;

	if (rc || mosquitto_subscribe(mosq, NULL, ps->filter, 1) != MOSQ_ERR_SUCCESS)
		ps->failed = true;
}

static void pls_on_subscribe(struct mosquitto *mosq, void *ud, int mid, int n, const int *qos)
{
	struct plsub *ps = ud;

	(void)mosq;
	(void)mid;
	ps->subscribed = n == 1 && qos[0] == 1;
	ps->failed |= !ps->subscribed;
}

static void pls_on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *m)
{
	struct plsub *ps = ud;

	(void)mosq;
	ps->last_ns = clock_now_ns();
	if (!ps->first_ns)
		ps->first_ns = ps->last_ns;
	ps->bytes += (size_t)m->payloadlen;
	__atomic_add_fetch(&ps->received, 1, __ATOMIC_RELEASE);
}

/*
 * --read: the row of the record that @p m starts, read out of the outbox the way the daemon
 * reads it; the payloads of its messages point into the row until the next record is read
 * (libmosquitto has its own copy once mosquitto_publish_v5() returns).
 */
static int pl_read_record(struct publoop *pl, struct msg *m)
{
	int r = outbox_next_unacked(pl->ob, m->seq - 1, &pl->row);

	if (r < 0 || pl->row.seq != m->seq) {
		fprintf(stderr, "bench: publoop --read: record %" PRIu64 ": %s\n", m->seq,
			r < 0 ? strerror(-r) : "not the next unacked row");
		return -EIO;
	}
	for (struct msg *x = m; x < pl->msgs + pl->n_msgs; x++) {
		if (x->last ? x->len != pl->row.json_len : x->off + x->len > pl->row.photo_len) {
			fprintf(stderr,
				"bench: publoop --read: record %" PRIu64 " changed since the "
				"loop was planned (json %zu, photo %zu bytes)\n",
				m->seq, pl->row.json_len, pl->row.photo_len);
			return -EIO;
		}
		x->payload = x->last ? (const void *)pl->row.json : pl->row.photo + x->off;
		if (x->last)
			break;
	}
	return 0;
}

static void pl_publish_record(struct mosquitto *mosq, struct publoop *pl)
{
	while (pl->next < pl->n_msgs) {
		struct msg *m = &pl->msgs[pl->next++];
		int mid = 0, rc;

		if (pl->ob && m->first && pl_read_record(pl, m) < 0) {
			pl->failed = true;
			return;
		}
		rc = mosquitto_publish_v5(mosq, &mid, m->topic, (int)m->len, m->payload, 1, false,
					  NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "bench: publish: %s\n", mosquitto_strerror(rc));
			pl->failed = true;
			return;
		}
		pl->last_of_mid[mid] = m->last;
		if (m->last)
			break;
	}
	pl->inflight++;
}

static void pl_on_publish(struct mosquitto *mosq, void *ud, int mid)
{
	struct publoop *pl = ud;

	if (!pl->last_of_mid[mid])
		return;
	pl->last_of_mid[mid] = false;
	pl->inflight--;
	pl->records_done++;
	while (pl->inflight < pl->window && pl->next < pl->n_msgs && !pl->failed)
		pl_publish_record(mosq, pl);
}

static void pl_on_connect(struct mosquitto *mosq, void *ud, int rc)
{
	struct publoop *pl = ud;

	if (rc) {
		pl->failed = true;
		return;
	}
	while (pl->inflight < pl->window && pl->next < pl->n_msgs && !pl->failed)
		pl_publish_record(mosq, pl);
}

static int cmd_publoop(const struct opts *o)
{
	struct publoop pl = { .window = o->inflight };
	char filter[BENCH_TOPIC_MAX];
	struct plsub ps = { .filter = filter };
	struct mosquitto *sub;
	struct outbox_row *rows = NULL;
	size_t n_rows = 0, cap_msgs = 0;
	uint64_t bytes = 0, t0, secs, cpu0;
	struct mosquitto *mosq;
	struct outbox *ob;
	uint64_t after = 0;
	int r, rc;

	ob = open_outbox(o, NULL);
	for (;;) {
		struct outbox_row row = {0};
		struct outbox_row *nr;

		r = outbox_next_unacked(ob, after, &row);
		if (r == -ENOENT)
			break;
		if (r < 0)
			die("outbox_next_unacked: %s", strerror(-r));
		nr = realloc(rows, (n_rows + 1) * sizeof(*rows));
		if (!nr)
			die("out of memory");
		rows = nr;
		rows[n_rows++] = row;
		after = row.seq;
		cap_msgs += 1 + (row.photo_len + o->chunk - 1) / o->chunk;
	}
	pl.msgs = calloc(cap_msgs ? cap_msgs : 1, sizeof(*pl.msgs));
	pl.last_of_mid = calloc(UINT16_MAX + 1, sizeof(bool));
	if (!pl.msgs || !pl.last_of_mid)
		die("out of memory");
	for (size_t i = 0; i < n_rows; i++) {
		struct outbox_row *row = &rows[i];
		size_t chunks = (row->photo_len + o->chunk - 1) / o->chunk;

		pl.msgs[pl.n_msgs].first = true;
		for (size_t c = 0; c < chunks; c++) {
			struct msg *m = &pl.msgs[pl.n_msgs++];
			size_t off = c * o->chunk;

			snprintf(m->topic, sizeof(m->topic), "sealbench/v1/%s/%s/photo/%s/%zu",
				 o->site, o->station, row->id, c);
			m->payload = o->read ? NULL : row->photo + off;
			m->off = off;
			m->seq = row->seq;
			m->len = row->photo_len - off < o->chunk ? row->photo_len - off : o->chunk;
			bytes += m->len;
		}
		snprintf(pl.msgs[pl.n_msgs].topic, BENCH_TOPIC_MAX, "sealbench/v1/%s/%s/bench",
			 o->site, o->station);
		pl.msgs[pl.n_msgs].payload = o->read ? NULL : row->json;
		pl.msgs[pl.n_msgs].len = row->json_len;
		pl.msgs[pl.n_msgs].seq = row->seq;
		pl.msgs[pl.n_msgs].last = true;
		pl.n_msgs++;
		bytes += row->json_len;
	}
	pl.records = n_rows;
	if (o->read) {
		/* nothing of the records stays in memory: each is read again when it goes out */
		for (size_t i = 0; i < n_rows; i++)
			outbox_row_done(&rows[i]);
		free(rows);
		rows = NULL;
		n_rows = 0;
		pl.ob = ob;
	}

	mosquitto_lib_init();
	/*
	 * The consumer first (the sink's part: subscribed with QoS 1, drains every message),
	 * on its own connection and libmosquitto thread, so the broker fans every message out
	 * as it does to the sink in the pipeline run.
	 */
	snprintf(filter, sizeof(filter), "sealbench/v1/%s/#", o->site);
	sub = bench_client("sealbench-bench-publoop-sub", &ps);
	mosquitto_connect_callback_set(sub, pls_on_connect);
	mosquitto_subscribe_callback_set(sub, pls_on_subscribe);
	mosquitto_message_callback_set(sub, pls_on_message);
	rc = mosquitto_connect(sub, "127.0.0.1", (int)o->port, 30);
	if (rc != MOSQ_ERR_SUCCESS)
		die("subscriber connect to 127.0.0.1:%u: %s", o->port, mosquitto_strerror(rc));
	t0 = clock_now_ns();
	while (!ps.subscribed && !ps.failed) {
		rc = mosquitto_loop(sub, 1000, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			die("subscriber loop: %s", mosquitto_strerror(rc));
		if ((clock_now_ns() - t0) / NSEC_PER_SEC > BENCH_PUBLOOP_TIMEOUT_S)
			die("subscriber: no SUBACK in %d s", BENCH_PUBLOOP_TIMEOUT_S);
	}
	if (ps.failed)
		die("subscriber: subscribe to %s failed", filter);
	rc = mosquitto_loop_start(sub);
	if (rc != MOSQ_ERR_SUCCESS)
		die("subscriber thread: %s", mosquitto_strerror(rc));

	mosq = bench_client("sealbench-bench-publoop", &pl);
	mosquitto_connect_callback_set(mosq, pl_on_connect);
	mosquitto_publish_callback_set(mosq, pl_on_publish);
	t0 = clock_now_ns();
	cpu0 = self_cpu_ns();
	rc = mosquitto_connect(mosq, "127.0.0.1", (int)o->port, 30);
	if (rc != MOSQ_ERR_SUCCESS)
		die("connect to 127.0.0.1:%u: %s", o->port, mosquitto_strerror(rc));
	/* done when every record is PUBACKed and the consumer has every message */
	while ((pl.records_done < pl.records || received(&ps) < pl.n_msgs) && !pl.failed) {
		rc = mosquitto_loop(mosq, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			die("mosquitto_loop: %s", mosquitto_strerror(rc));
		if ((clock_now_ns() - t0) / NSEC_PER_SEC > BENCH_PUBLOOP_TIMEOUT_S)
			die("publish loop: not done in %d s (%zu of %zu messages received)",
			    BENCH_PUBLOOP_TIMEOUT_S, received(&ps), pl.n_msgs);
	}
	secs = clock_now_ns() - t0;
	cpu0 = self_cpu_ns() - cpu0;
	if (pl.failed)
		die("publish loop failed");
	/*
	 * cpu: both clients (publisher and the consumer's thread) over the timed part; span: the
	 * consumer's first message to its last (all received: the acquire in received() orders
	 * the reads after the consumer's last writes).
	 */
	printf("publoop records=%zu messages=%zu bytes=%" PRIu64 " seconds=%.3f span=%.3f "
	       "received=%zu cpu=%.3f read=%d\n",
	       pl.records, pl.n_msgs, bytes, (double)secs / 1e9,
	       (double)(ps.last_ns - ps.first_ns) / 1e9, received(&ps), (double)cpu0 / 1e9,
	       o->read);
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	for (size_t i = 0; i < n_rows; i++)
		outbox_row_done(&rows[i]);
	free(rows);
	outbox_row_done(&pl.row);
	free(pl.msgs);
	free(pl.last_of_mid);
	outbox_close(ob);
	return 0;
}

/* ---- main -------------------------------------------------------------------------------- */

static unsigned long parse_ul(const char *name, const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max)
		die("%s: not a number up to %lu: %s", name, max, s);
	return v;
}

/*
 * IDs per ack message, as sealbench-sink groups them (its BATCH_MAX): the acks of the records
 * that arrived in one read burst go out as one message.
 */
#define CENTRAL_ACK_IDS 64
/* {"ids":[ ... ]} around CENTRAL_ACK_IDS quoted IDs (under 64 bytes each) and their commas */
#define CENTRAL_ACK_MAX (16 + CENTRAL_ACK_IDS * 67)

/* The null central's state (one libmosquitto loop, in the main thread). */
struct central {
	char filter[BENCH_TOPIC_MAX], ack_topic[BENCH_TOPIC_MAX];
	uint8_t *seen; /* bit per seq: acked */
	unsigned long max_seq, acked;
	uint64_t bytes, first_ns, last_ns;
	bool subscribed, failed;
	char ack[CENTRAL_ACK_MAX]; /* the ack being grouped */
	size_t ack_len;
	unsigned ack_ids;
};

/* Publish the grouped ack, if it holds any ID. */
static void central_ack_flush(struct mosquitto *mosq, struct central *c)
{
	if (!c->ack_ids)
		return;
	c->ack[c->ack_len++] = ']';
	c->ack[c->ack_len++] = '}';
	if (mosquitto_publish_v5(mosq, NULL, c->ack_topic, (int)c->ack_len, c->ack, 1, false,
				 NULL)) {
		fprintf(stderr, "bench: central: cannot publish an ack\n");
		c->failed = true;
	}
	c->ack_len = 0;
	c->ack_ids = 0;
}

/* Add @id to the grouped ack; a full group goes out at once. */
static int central_ack_add(struct mosquitto *mosq, struct central *c, const char *id)
{
	int n;

	if (!c->ack_ids)
		c->ack_len = (size_t)snprintf(c->ack, sizeof(c->ack), "{\"ids\":[");
	n = snprintf(c->ack + c->ack_len, sizeof(c->ack) - c->ack_len, "%s\"%s\"",
		     c->ack_ids ? "," : "", id);
	if (n < 0 || strlen(id) >= 64 || (size_t)n + 2 >= sizeof(c->ack) - c->ack_len)
		return -1;
	c->ack_len += (size_t)n;
	if (++c->ack_ids == CENTRAL_ACK_IDS)
		central_ack_flush(mosq, c);
	return 0;
}

static void central_on_connect(struct mosquitto *mosq, void *ud, int rc)
{
	struct central *c = ud;

	if (rc || mosquitto_subscribe(mosq, NULL, c->filter, 1) != MOSQ_ERR_SUCCESS)
		c->failed = true;
}

static void central_on_subscribe(struct mosquitto *mosq, void *ud, int mid, int n, const int *qos)
{
	struct central *c = ud;

	(void)mosq;
	(void)mid;
	c->subscribed = n == 1 && qos[0] == 1;
	c->failed |= !c->subscribed;
}

/*
 * Every message counts its bytes; an evidence message's "id" joins the ack of this read
 * burst (cmd_central() sends it when the socket has nothing more to read).
 */
static void central_on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *m)
{
	static const char suffix[] = "/evidence";
	struct central *c = ud;
	size_t tlen = strlen(m->topic);
	const char *id, *dash;
	unsigned long seq;
	cJSON *root;

	if (!c->first_ns)
		c->first_ns = clock_now_ns();
	c->bytes += (size_t)m->payloadlen;
	if (tlen < sizeof(suffix) || strcmp(m->topic + tlen - (sizeof(suffix) - 1), suffix) != 0)
		return;
	root = cJSON_ParseWithLength(m->payload, (size_t)m->payloadlen);
	id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id"));
	dash = id ? strrchr(id, '-') : NULL;
	seq = dash ? strtoul(dash + 1, NULL, 10) : 0;
	if (!seq || seq > c->max_seq || central_ack_add(mosq, c, id) < 0) {
		fprintf(stderr, "bench: central: cannot ack evidence on %s\n", m->topic);
		c->failed = true;
	} else if (!(c->seen[seq / 8] & (1u << (seq % 8)))) {
		c->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		c->acked++;
		c->last_ns = clock_now_ns();
	}
	cJSON_Delete(root);
}

static int cmd_central(const struct opts *o)
{
	struct central c = { .max_seq = o->records * 2 + 1024 };
	struct mosquitto *mosq;
	uint64_t t0;
	int rc;

	snprintf(c.filter, sizeof(c.filter), "sealbench/v1/%s/%s/#", o->site, o->station);
	snprintf(c.ack_topic, sizeof(c.ack_topic), "sealbench/v1/%s/%s/ack", o->site, o->station);
	c.seen = calloc(c.max_seq / 8 + 1, 1);
	if (!c.seen)
		die("out of memory");
	mosquitto_lib_init();
	mosq = bench_client("sealbench-bench-central", &c);
	mosquitto_connect_callback_set(mosq, central_on_connect);
	mosquitto_subscribe_callback_set(mosq, central_on_subscribe);
	mosquitto_message_callback_set(mosq, central_on_message);
	rc = mosquitto_connect(mosq, "127.0.0.1", (int)o->port, 30);
	if (rc != MOSQ_ERR_SUCCESS)
		die("central: connect to 127.0.0.1:%u: %s", o->port, mosquitto_strerror(rc));
	t0 = clock_now_ns();
	while (c.acked < o->records && !c.failed) {
		struct pollfd pfd = {.fd = mosquitto_socket(mosq), .events = POLLIN};

		rc = mosquitto_loop(mosq, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			die("central: mosquitto_loop: %s", mosquitto_strerror(rc));
		/* the burst is over when nothing more is readable now: its ack goes out */
		if (c.ack_ids && poll(&pfd, 1, 0) == 0)
			central_ack_flush(mosq, &c);
		if (c.subscribed) {
			printf("ready\n");
			fflush(stdout);
			c.subscribed = false; /* said once */
		}
		if ((clock_now_ns() - t0) / NSEC_PER_SEC > BENCH_PUBLOOP_TIMEOUT_S)
			die("central: %lu of %lu records in %d s", c.acked, o->records,
			    BENCH_PUBLOOP_TIMEOUT_S);
	}
	if (c.failed)
		die("central failed");
	/* the last acks out before the disconnect */
	central_ack_flush(mosq, &c);
	for (int i = 0; i < 10 && mosquitto_want_write(mosq); i++)
		mosquitto_loop(mosq, 10, 1);
	printf("central records=%lu bytes=%" PRIu64 " seconds=%.3f\n", c.acked, c.bytes,
	       (double)(c.last_ns - c.first_ns) / 1e9);
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	free(c.seen);
	return 0;
}

/* One "Key:   N kB" value of /proc/self/status, in kB; 0 when absent. */
static unsigned long self_status_kb(const char *key)
{
	char line[256];
	unsigned long v = 0;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		die("/proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtoul(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

static int cmd_floor(const struct opts *o)
{
	static const char msg[] = "sealbench";
	unsigned char md[EVP_MAX_MD_SIZE], sig[64];
	struct baseline b = { 0 };
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct mosquitto *mosq;

	/* the same primitives the capture baseline uses, each once, at a small size */
	baseline_open(&b, &(struct opts){ .dir = o->dir, .width = 64, .height = 64 });
	if (!ctx || !EVP_Digest(msg, sizeof(msg), md, NULL, EVP_sha256(), NULL) ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, b.pkey) <= 0 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, sizeof(msg)) <= 0)
		die("floor: OpenSSL failed");
	if (sqlite3_bind_text(b.ins, 1, msg, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(b.ins) != SQLITE_DONE)
		die("floor: sqlite insert failed");
	sqlite3_reset(b.ins);
	mosquitto_lib_init();
	mosq = mosquitto_new("sealbench-bench-floor", true, NULL);
	if (!mosq)
		die("floor: mosquitto_new failed");
	printf("floor rss_kb=%lu anon_kb=%lu file_kb=%lu\n", self_status_kb("VmRSS"),
	       self_status_kb("RssAnon"), self_status_kb("RssFile"));
	/* OpenSSL objects first: mosquitto_lib_cleanup() may clean up OpenSSL itself */
	EVP_MD_CTX_free(ctx);
	baseline_close(&b);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "width", required_argument, NULL, 'W' },
		{ "height", required_argument, NULL, 'H' },
		{ "runs", required_argument, NULL, 'n' },
		{ "preload", required_argument, NULL, 'L' },
		{ "records", required_argument, NULL, 'r' },
		{ "photo-kb", required_argument, NULL, 'k' },
		{ "site", required_argument, NULL, 's' },
		{ "station", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "read", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .format = CAMERA_FMT_YUYV, .width = 1920, .height = 1080, .runs = 200,
			  .photo_kb = 300, .site = "wh1", .station = "st01", .inflight = 16,
			  .chunk = 65536 };
	const char *cmd;
	int c;

	if (argc < 2)
		die("usage: bench seal|fill|publoop|central|floor --dir D [options] (see the "
		    "header comment)");
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'f':
			o.format = camera_format_from_string(optarg);
			if (o.format != CAMERA_FMT_YUYV && o.format != CAMERA_FMT_MJPEG)
				die("--format: yuyv or mjpeg");
			break;
		case 'W':
			o.width = (unsigned)parse_ul("--width", optarg, 8192);
			break;
		case 'H':
			o.height = (unsigned)parse_ul("--height", optarg, 8192);
			break;
		case 'n':
			o.runs = (unsigned)parse_ul("--runs", optarg, 1000000);
			break;
		case 'L':
			o.preload = parse_ul("--preload", optarg, 10000000);
			break;
		case 'r':
			o.records = parse_ul("--records", optarg, 10000000);
			break;
		case 'k':
			o.photo_kb = (unsigned)parse_ul("--photo-kb", optarg, 16384);
			break;
		case 's':
			o.site = optarg;
			break;
		case 't':
			o.station = optarg;
			break;
		case 'p':
			o.port = (unsigned)parse_ul("--port", optarg, 65535);
			break;
		case 'i':
			o.inflight = (unsigned)parse_ul("--inflight", optarg, 1024);
			break;
		case 'c':
			o.chunk = (unsigned)parse_ul("--chunk", optarg, BENCH_CHUNK_MAX);
			break;
		case 'R':
			o.read = true;
			break;
		default:
			die("unknown option");
		}
	}
	if (!o.dir)
		die("--dir is required");
	if (!o.runs || !o.inflight || !o.chunk)
		die("--runs, --inflight and --chunk must be above 0");
	if (!strcmp(cmd, "seal"))
		return cmd_seal(&o);
	if (!strcmp(cmd, "fill"))
		return cmd_fill(&o);
	if (!strcmp(cmd, "publoop")) {
		if (!o.port)
			die("publoop needs --port");
		return cmd_publoop(&o);
	}
	if (!strcmp(cmd, "floor"))
		return cmd_floor(&o);
	if (!strcmp(cmd, "central")) {
		if (!o.port || !o.records)
			die("central needs --port and --records");
		return cmd_central(&o);
	}
	die("unknown subcommand %s", cmd);
}
