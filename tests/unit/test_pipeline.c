/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_pipeline.c - the capture state machine, driven call by call.
 *
 * The machine is pure: inputs are function calls with now_ns, outputs go through struct
 * pipeline_ops. The fake ops below record every output (indications with their text, capture
 * requests, order lookups with their tokens, seals with a copy of the package and photo, the
 * armed timer deadline), so each test states exactly what the packer would see and what would
 * be stored. The station config is a real station.conf in a mkdtemp() directory loaded with
 * station_cfg_load(), so the tests exercise the config path too. Wall time comes from
 * clock_set_override(): test time T ms maps to WALL0_MS + T.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hal/clock.h"
#include "src/config.h"
#include "src/log.h"
#include "src/pipeline.h"
#include "src/record.h"

/** Wall clock (UTC ms) at test time 0: 2026-03-01T00:00:00Z. */
#define WALL0_MS 1772323200000ULL
/** Recorded outputs; each test stays far below. */
#define IND_LOG_MAX 256
#define SEALS_MAX   8
#define PHOTO_MAX   4096
/** Longest indicator text the machine builds (pipeline.c TEXT_MAX). */
#define TEXT_MAX 128

#define PACKER	"P-100"
#define PACKER2 "P-200"
#define LEAD	"LEAD-1"
#define TRACK1	"1Z999AA10123456784"
#define TRACK2	"1Z999AA10123456793"
#define ORDER1	"ORD-1001"
#define ORDER2	"ORD-2002"

/* From the config below, in ms. */
#define ORDER_TIMEOUT_MS   1500
#define PHOTO_TIMEOUT_MS   5000
#define PACKAGE_TIMEOUT_MS (300 * 1000ULL)
#define IDLE_MS		   (600 * 1000ULL)
#define SEAL_RETRY_MS	   2000

static const char station_conf[] = "# SPDX-License-Identifier: MIT\n"
				   "[station]\n"
				   "site = wh1\n"
				   "id = st01\n"
				   "session_idle_s = 600\n"
				   "package_timeout_s = 300\n"
				   "order_timeout_ms = 1500\n"
				   "photo_timeout_ms = 5000\n"
				   "weigh_min_g = 20\n"
				   "[rules]\n"
				   "version = r-test-1\n"
				   "signature_threshold_cents = 50000\n"
				   "high_value_cents = 100000\n"
				   "fragile_skus = GLASS-*, VASE-*\n"
				   "repeat_loss_lanes = UPS:9*\n"
				   "lead_badges = LEAD-1, LEAD-2\n"
				   "dim_divisor = 5000\n"
				   "[scan]\n"
				   "void_code = CMD-VOID\n"
				   "badge_out_code = CMD-BADGEOUT\n"
				   "[carrier UPS]\n"
				   "pattern = ^1Z[0-9A-Z]{16}$\n"
				   "signature_services = UPS-SIG\n"
				   "[carrier DHL]\n"
				   "pattern = ^JD[0-9]{18}$\n"
				   "[box BOX-M]\n"
				   "type = carton\n"
				   "dims_mm = 300x200x150\n"
				   "tare_g = 250\n"
				   "[box BOX-S]\n"
				   "type = mailer\n"
				   "dims_mm = 200x150x50\n"
				   "tare_g = 80\n";

struct ind_rec {
	enum indication ind;
	char text[TEXT_MAX];
};

struct fx {
	char dir[PATH_MAX];
	struct station_cfg cfg;
	struct pipeline *pl;

	struct ind_rec inds[IND_LOG_MAX];
	unsigned n_ind;

	unsigned n_capture;
	int capture_ret;

	unsigned n_lookup;
	uint64_t token;
	char lookup_order[PKG_ID_MAX];
	char lookup_tracking[PKG_ID_MAX];
	const struct order_ctx *sync_ctx; /* answer inside order_lookup (a cache hit) */

	unsigned n_tracking_q;
	char tracking_q[PKG_ID_MAX];
	bool tracking_sealed;

	unsigned n_seal_calls;
	unsigned seal_fail; /* fail this many calls with -EIO */
	struct package sealed[SEALS_MAX];
	uint8_t photo[SEALS_MAX][PHOTO_MAX]; /* the first PHOTO_MAX bytes */
	size_t photo_len[SEALS_MAX];
	uint64_t photo_hash[SEALS_MAX]; /* FNV-1a over all of it */
	const uint8_t *photo_ptr[SEALS_MAX]; /* the pointer the seal got */
	bool photo_null[SEALS_MAX];
	char sealed_id[SEALS_MAX][RECORD_ID_MAX];
	unsigned n_sealed;

	bool can_seal;
	uint64_t timer_ns;
	unsigned n_arm;
};

static uint64_t t_now_ns;

static uint64_t fake_now(void)
{
	return t_now_ns;
}

static uint64_t fake_wall(void)
{
	return WALL0_MS + t_now_ns / NSEC_PER_MSEC;
}

static bool fake_synced(void)
{
	return true;
}

/* ---- the recording fake ops ------------------------------------------------------------ */

static uint64_t fnv1a(const uint8_t *d, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= d[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void op_indicate(void *ud, enum indication ind, const char *text)
{
	struct fx *f = ud;

	assert_true(f->n_ind < IND_LOG_MAX);
	f->inds[f->n_ind].ind = ind;
	snprintf(f->inds[f->n_ind].text, TEXT_MAX, "%s", text);
	f->n_ind++;
}

static int op_capture(void *ud)
{
	struct fx *f = ud;

	f->n_capture++;
	return f->capture_ret;
}

static void op_order_lookup(void *ud, uint64_t token, const char *order_id, const char *tracking)
{
	struct fx *f = ud;

	f->n_lookup++;
	f->token = token;
	snprintf(f->lookup_order, sizeof(f->lookup_order), "%s", order_id);
	snprintf(f->lookup_tracking, sizeof(f->lookup_tracking), "%s", tracking);
	if (f->sync_ctx)
		pipeline_on_order(f->pl, token, f->sync_ctx, ORDER_SRC_CACHE, t_now_ns);
}

static bool op_tracking_sealed(void *ud, const char *tracking)
{
	struct fx *f = ud;

	f->n_tracking_q++;
	snprintf(f->tracking_q, sizeof(f->tracking_q), "%s", tracking);
	return f->tracking_sealed;
}

static int op_seal(void *ud, struct package *p, const uint8_t *photo, size_t photo_len,
		   char *ret_id)
{
	struct fx *f = ud;
	unsigned i = f->n_sealed;

	f->n_seal_calls++;
	if (f->seal_fail) {
		f->seal_fail--;
		return -EIO;
	}
	assert_true(i < SEALS_MAX);
	f->sealed[i] = *p;
	f->photo_null[i] = photo == NULL;
	f->photo_ptr[i] = photo;
	if (photo) {
		memcpy(f->photo[i], photo, photo_len < PHOTO_MAX ? photo_len : PHOTO_MAX);
		f->photo_hash[i] = fnv1a(photo, photo_len);
	}
	f->photo_len[i] = photo_len;
	/* IDs as src/record.c makes them: "<station>-<10-digit seq>" */
	snprintf(f->sealed_id[i], RECORD_ID_MAX, "st01-%010u", i + 1);
	memcpy(ret_id, f->sealed_id[i], strlen(f->sealed_id[i]) + 1);
	f->n_sealed++;
	return 0;
}

static bool op_can_seal(void *ud)
{
	struct fx *f = ud;

	return f->can_seal;
}

static void op_arm_timer(void *ud, uint64_t deadline_ns)
{
	struct fx *f = ud;

	f->n_arm++;
	f->timer_ns = deadline_ns;
}

static const struct pipeline_ops fake_ops = {
	.indicate = op_indicate,
	.capture = op_capture,
	.order_lookup = op_order_lookup,
	.tracking_sealed = op_tracking_sealed,
	.seal = op_seal,
	.can_seal = op_can_seal,
	.arm_timer = op_arm_timer,
};

/* ---- fixture --------------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	char path[PATH_MAX + 16], err[CONFIG_ERR_MAX];
	struct fx *f = calloc(1, sizeof(*f));
	FILE *fp;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sealbench-test-pipeline-XXXXXX");
	if (!mkdtemp(f->dir))
		goto err_free;
	snprintf(path, sizeof(path), "%s/station.conf", f->dir);
	fp = fopen(path, "we");
	if (!fp)
		goto err_rm;
	fputs(station_conf, fp);
	if (fclose(fp) != 0)
		goto err_rm;
	if (station_cfg_load(path, &f->cfg, err, sizeof(err)) < 0) {
		print_error("%s\n", err);
		goto err_rm;
	}
	t_now_ns = 0;
	clock_set_override(fake_now, fake_wall, fake_synced);
	log_set_level(LOG_LVL_ERR); /* the machine's info lines would drown the test output */
	f->can_seal = true;
	if (pipeline_new(&f->cfg, &fake_ops, f, &f->pl) < 0)
		goto err_cfg;
	*state = f;
	return 0;
err_cfg:
	station_cfg_done(&f->cfg);
err_rm:
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
err_free:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pipeline_free(f->pl);
	station_cfg_done(&f->cfg);
	clock_set_override(NULL, NULL, NULL);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- inputs at test time @ms ----------------------------------------------------------- */

static uint64_t ns(uint64_t ms)
{
	return ms * NSEC_PER_MSEC;
}

static void badge(struct fx *f, uint64_t ms, const char *id)
{
	t_now_ns = ns(ms);
	pipeline_on_badge(f->pl, id, t_now_ns);
}

static void scan(struct fx *f, uint64_t ms, const char *text)
{
	t_now_ns = ns(ms);
	pipeline_on_scan(f->pl, text, strlen(text), t_now_ns);
}

static void weigh(struct fx *f, uint64_t ms, int32_t g, bool stable)
{
	t_now_ns = ns(ms);
	pipeline_on_weight(f->pl, g, stable, t_now_ns);
}

static void answer(struct fx *f, uint64_t ms, uint64_t token, const struct order_ctx *ctx)
{
	t_now_ns = ns(ms);
	pipeline_on_order(f->pl, token, ctx, ORDER_SRC_CENTRAL, t_now_ns);
}

static void photo(struct fx *f, uint64_t ms, const uint8_t *jpeg, size_t len)
{
	t_now_ns = ns(ms);
	pipeline_on_photo(f->pl, jpeg, len, 640, 480, t_now_ns);
}

static void fire(struct fx *f, uint64_t ms)
{
	t_now_ns = ns(ms);
	pipeline_on_timer(f->pl, t_now_ns);
}

/* ---- checks ---------------------------------------------------------------------------- */

static enum pipeline_state state_of(const struct fx *f)
{
	return pipeline_get_state(f->pl);
}

#define assert_state(f, s)                                                            \
	do {                                                                          \
		enum pipeline_state got_ = state_of(f);                               \
		if (got_ != (s))                                                      \
			fail_msg("state %s, want %s", pipeline_state_to_string(got_), \
				 pipeline_state_to_string(s));                        \
	} while (0)

static void check_ind(const struct fx *f, unsigned i, enum indication ind, const char *text)
{
	assert_true(i < f->n_ind);
	if (f->inds[i].ind != ind || (text && strcmp(f->inds[i].text, text) != 0))
		fail_msg("indication %u: %s \"%s\", want %s \"%s\"", i,
			 indication_to_string(f->inds[i].ind), f->inds[i].text,
			 indication_to_string(ind), text ? text : "*");
}

/* The last indication shown. */
static void last_ind(const struct fx *f, enum indication ind, const char *text)
{
	assert_true(f->n_ind > 0);
	check_ind(f, f->n_ind - 1, ind, text);
}

static uint64_t rejected(const struct fx *f)
{
	uint64_t sealed, rej;

	pipeline_get_counts(f->pl, &sealed, &rej);
	return rej;
}

static uint64_t sealed_count(const struct fx *f)
{
	uint64_t sealed, rej;

	pipeline_get_counts(f->pl, &sealed, &rej);
	return sealed;
}

static const struct rule_eval *rule_of(const struct package *p, const char *name)
{
	static const struct rule_eval none = {.result = _RULE_RESULT_MAX};

	for (unsigned i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].rule, name) == 0)
			return &p->rules[i];
	fail_msg("rule %s not in the package", name);
	return &none; /* not reached */
}

/* A wrong input: rejected with @text, nothing else changes. */
static void check_reject(struct fx *f, void (*input)(struct fx *, uint64_t, const char *),
			 uint64_t ms, const char *what, const char *text)
{
	enum pipeline_state before = state_of(f);
	uint64_t rej = rejected(f);
	unsigned lookups = f->n_lookup, seals = f->n_seal_calls, captures = f->n_capture;
	struct package *copy = malloc(sizeof(*copy));

	assert_non_null(copy);
	*copy = *pipeline_get_package(f->pl);
	input(f, ms, what);
	if (state_of(f) != before)
		fail_msg("'%s' moved %s -> %s", what, pipeline_state_to_string(before),
			 pipeline_state_to_string(state_of(f)));
	assert_int_equal(rejected(f), rej + 1);
	last_ind(f, IND_REJECT, text);
	assert_int_equal(f->n_lookup, lookups);
	assert_int_equal(f->n_seal_calls, seals);
	assert_int_equal(f->n_capture, captures);
	assert_memory_equal(copy, pipeline_get_package(f->pl), sizeof(*copy));
	free(copy);
}

/* ---- order contexts -------------------------------------------------------------------- */

/* An order that passes every rule. */
static void ctx_default(struct order_ctx *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->order_id, sizeof(o->order_id), ORDER1);
	snprintf(o->tracking, sizeof(o->tracking), TRACK1);
	snprintf(o->carrier, sizeof(o->carrier), "UPS");
	snprintf(o->service, sizeof(o->service), "UPS-GROUND");
	o->declared_value_cents = 2500;
	snprintf(o->currency, sizeof(o->currency), "USD");
	o->declared_weight_g = 1000;
	o->n_skus = 1;
	snprintf(o->skus[0].sku, PKG_ID_MAX, "BOOK-1");
	o->skus[0].qty = 1;
	snprintf(o->address.postal_code, PKG_ID_MAX, "20001");
	snprintf(o->address.country, sizeof(o->address.country), "US");
	o->has_upstream_av = true;
	o->upstream_av_pass = true;
}

/* ---- common flows ---------------------------------------------------------------------- */

/* Badge in at 1 s. */
static void start(struct fx *f)
{
	badge(f, 1000, PACKER);
	assert_state(f, PL_READY);
}

/* Order slip at @ms, label at +100, BOX-M at +200: WEIGHING, lookup unanswered. */
static void to_weighing(struct fx *f, uint64_t ms)
{
	scan(f, ms, ORDER1);
	assert_state(f, PL_SCANNING);
	scan(f, ms + 100, TRACK1);
	assert_state(f, PL_PACKAGING);
	scan(f, ms + 200, "BOX-M");
	assert_state(f, PL_WEIGHING);
}

/* A complete default package from @ms (answered before the weight); returns seal index. */
static unsigned pack_one(struct fx *f, uint64_t ms, const char *order, const char *tracking,
			 int32_t gross)
{
	struct order_ctx o;
	unsigned before = f->n_sealed;

	ctx_default(&o);
	snprintf(o.order_id, sizeof(o.order_id), "%s", order);
	snprintf(o.tracking, sizeof(o.tracking), "%s", tracking);
	scan(f, ms, order);
	answer(f, ms + 50, f->token, &o);
	scan(f, ms + 100, tracking);
	scan(f, ms + 200, "BOX-M");
	weigh(f, ms + 300, 5, true); /* scale cleared */
	weigh(f, ms + 400, gross, true);
	assert_int_equal(f->n_sealed, before + 1);
	assert_state(f, PL_READY);
	return before;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_new_and_badge_in(void **state)
{
	struct fx *f = *state;

	assert_state(f, PL_NO_PACKER);
	assert_int_equal(f->n_ind, 1);
	check_ind(f, 0, IND_IDLE, "Badge in");
	assert_string_equal(pipeline_get_packer(f->pl), "");
	assert_string_equal(pipeline_get_last_sealed(f->pl), "");

	badge(f, 1000, PACKER);
	assert_state(f, PL_READY);
	assert_string_equal(pipeline_get_packer(f->pl), PACKER);
	last_ind(f, IND_READY, PACKER ": scan order or label");
	/* the idle timer */
	assert_int_equal(f->timer_ns, ns(1000) + ns(IDLE_MS));
	assert_int_equal(rejected(f), 0);
}

static void test_scan_before_badge(void **state)
{
	struct fx *f = *state;

	check_reject(f, scan, 500, ORDER1, "Badge in first");
	check_reject(f, scan, 600, TRACK1, "Badge in first");
	check_reject(f, scan, 700, "CMD-VOID", "Badge in first");
	assert_state(f, PL_NO_PACKER);
	assert_int_equal(f->n_lookup, 0);
	/* weights, photos, order answers and timers do nothing without a packer */
	weigh(f, 800, 1000, true);
	photo(f, 900, (const uint8_t *)"x", 1);
	answer(f, 950, 1, NULL);
	fire(f, 1000);
	assert_state(f, PL_NO_PACKER);
	assert_int_equal(f->n_seal_calls, 0);
}

static void test_full_flow_order_first(void **state)
{
	struct fx *f = *state;
	const struct package *p;
	struct order_ctx o;
	uint64_t tok;

	start(f);
	scan(f, 2000, ORDER1);
	assert_state(f, PL_SCANNING);
	assert_int_equal(f->n_lookup, 1);
	assert_string_equal(f->lookup_order, ORDER1);
	assert_string_equal(f->lookup_tracking, "");
	tok = f->token;
	last_ind(f, IND_WAIT, ORDER1 ": scan shipping label");
	assert_int_equal(f->timer_ns, ns(2000) + ns(PACKAGE_TIMEOUT_MS));
	assert_string_equal(pipeline_get_package(f->pl)->order_id, ORDER1);

	/* the answer arrives while the packer works on */
	ctx_default(&o);
	answer(f, 2500, tok, &o);
	assert_state(f, PL_SCANNING);
	assert_int_equal(pipeline_get_package(f->pl)->order_src, ORDER_SRC_CENTRAL);

	scan(f, 3000, TRACK1);
	assert_state(f, PL_PACKAGING);
	last_ind(f, IND_WAIT, ORDER1 ": scan box");
	assert_int_equal(f->n_lookup, 1); /* no second lookup */

	scan(f, 4000, "BOX-M");
	assert_state(f, PL_WEIGHING);
	last_ind(f, IND_WAIT, ORDER1 ": place package on scale");

	weigh(f, 5000, 1250, false); /* in motion */
	assert_state(f, PL_WEIGHING);
	weigh(f, 5500, 1250, true);
	assert_int_equal(f->n_sealed, 1);
	assert_state(f, PL_READY);
	last_ind(f, IND_SEALED, "Sealed st01-0000000001");
	assert_string_equal(pipeline_get_last_sealed(f->pl), "st01-0000000001");
	assert_int_equal(sealed_count(f), 1);
	assert_int_equal(f->timer_ns, ns(5500) + ns(IDLE_MS));
	assert_int_equal(f->n_tracking_q, 1);
	assert_string_equal(f->tracking_q, TRACK1);
	assert_int_equal(f->n_capture, 0);

	p = &f->sealed[0];
	assert_true(f->photo_null[0]);
	assert_int_equal(f->photo_len[0], 0);
	assert_string_equal(p->packer_id, PACKER);
	assert_string_equal(p->order_id, ORDER1);
	assert_string_equal(p->label.tracking, TRACK1);
	assert_string_equal(p->label.carrier, "UPS");
	assert_int_equal(p->order_src, ORDER_SRC_CENTRAL);
	assert_string_equal(p->order.order_id, ORDER1);
	assert_int_equal(p->order.declared_value_cents, 2500);
	assert_string_equal(p->box.code, "BOX-M");
	assert_string_equal(p->box.type, "carton");
	assert_int_equal(p->box.length_mm, 300);
	assert_int_equal(p->box.width_mm, 200);
	assert_int_equal(p->box.height_mm, 150);
	assert_int_equal(p->box.tare_g, 250);
	assert_true(p->has_weight);
	assert_int_equal(p->gross_g, 1250);
	assert_int_equal(p->measured_g, 1000);
	assert_int_equal(p->dim_weight_g, 1800); /* 9,000,000 mm^3 / 5000 */
	assert_int_equal(p->billable_g, 1800);
	assert_false(p->photo_required);
	assert_false(p->has_photo);
	assert_false(p->override.present);
	assert_string_equal(p->voids, "");
	assert_true(p->clock_synced);
	assert_int_equal(p->t.started_ms, WALL0_MS + 2000);
	assert_int_equal(p->t.order_ms, WALL0_MS + 2000);
	assert_int_equal(p->t.label_ms, WALL0_MS + 3000);
	assert_int_equal(p->t.box_ms, WALL0_MS + 4000);
	assert_int_equal(p->t.weighed_ms, WALL0_MS + 5500);
	assert_int_equal(p->t.photo_ms, 0);
	assert_int_equal(p->t.sealed_ms, WALL0_MS + 5500);
	assert_int_equal(p->n_rules, 7);
	for (unsigned i = 0; i < p->n_rules; i++)
		assert_int_not_equal(p->rules[i].result, RULE_BLOCK);
	assert_int_equal(rule_of(p, "weight_tolerance")->result, RULE_PASS);
	assert_int_equal(rule_of(p, "label_order_match")->result, RULE_PASS);
	/* the machine forgot the package */
	assert_string_equal(pipeline_get_package(f->pl)->order_id, "");
}

/* Weighed before the answer: wait (busy) for it, bounded by order_timeout_ms. */
static void test_order_wait_answered_by_token(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;
	uint64_t tok;

	start(f);
	to_weighing(f, 2000);
	tok = f->token;
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_ORDER_WAIT);
	last_ind(f, IND_BUSY, ORDER1 ": fetching order");
	assert_int_equal(f->timer_ns, ns(2000 + ORDER_TIMEOUT_MS));
	assert_int_equal(f->n_seal_calls, 0);

	/* a spurious early timer changes nothing and re-arms the same deadline */
	fire(f, 3000);
	assert_state(f, PL_ORDER_WAIT);
	assert_int_equal(f->timer_ns, ns(2000 + ORDER_TIMEOUT_MS));

	/* an answer with another token is stale */
	ctx_default(&o);
	answer(f, 3100, tok - 1, &o);
	answer(f, 3100, tok + 1, &o);
	assert_state(f, PL_ORDER_WAIT);

	answer(f, 3200, tok, &o);
	assert_state(f, PL_READY);
	assert_int_equal(f->n_sealed, 1);
	assert_int_equal(f->sealed[0].order_src, ORDER_SRC_CENTRAL);
	assert_int_equal(f->sealed[0].t.weighed_ms, WALL0_MS + 2600);
	assert_int_equal(f->sealed[0].t.sealed_ms, WALL0_MS + 3200);
	/* a duplicate answer after the seal is ignored */
	answer(f, 3300, tok, &o);
	assert_int_equal(f->n_sealed, 1);
	assert_state(f, PL_READY);
}

/* A cache that answers inside order_lookup(). */
static void test_order_answered_synchronously(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	ctx_default(&o);
	f->sync_ctx = &o;
	start(f);
	to_weighing(f, 2000);
	assert_int_equal(pipeline_get_package(f->pl)->order_src, ORDER_SRC_CACHE);
	weigh(f, 2300, 1250, true);
	assert_int_equal(f->n_sealed, 1);
	assert_int_equal(f->sealed[0].order_src, ORDER_SRC_CACHE);
	assert_state(f, PL_READY);
}

static void test_label_only_flow(void **state)
{
	struct fx *f = *state;
	const struct package *p;
	struct order_ctx o;

	start(f);
	scan(f, 2000, TRACK1);
	assert_state(f, PL_PACKAGING);
	assert_int_equal(f->n_lookup, 1);
	assert_string_equal(f->lookup_order, "");
	assert_string_equal(f->lookup_tracking, TRACK1);
	last_ind(f, IND_WAIT, TRACK1 ": scan box");
	ctx_default(&o);
	answer(f, 2200, f->token, &o);
	/* named after the order once the context is known */
	scan(f, 3000, "BOX-S");
	last_ind(f, IND_WAIT, ORDER1 ": place package on scale");
	weigh(f, 4000, 1080, true);
	assert_int_equal(f->n_sealed, 1);
	p = &f->sealed[0];
	assert_string_equal(p->order_id, ""); /* no slip scanned */
	assert_string_equal(p->order.order_id, ORDER1);
	assert_string_equal(p->label.tracking, TRACK1);
	assert_string_equal(p->label.carrier, "UPS");
	assert_int_equal(p->t.order_ms, 0);
	assert_int_equal(p->t.started_ms, WALL0_MS + 2000);
	assert_int_equal(p->t.label_ms, WALL0_MS + 2000);
	assert_string_equal(p->box.type, "mailer");
	assert_int_equal(p->measured_g, 1000);
	/* 200 x 150 x 50 / 5000 = 300 g < 1080 g gross: billable is the gross weight */
	assert_int_equal(p->dim_weight_g, 300);
	assert_int_equal(p->billable_g, 1080);
}

/* The carrier comes from the [carrier NAME] whose pattern matched the label. */
static void test_label_carrier_from_pattern(void **state)
{
	struct fx *f = *state;

	start(f);
	scan(f, 2000, "JD014600006281230401");
	assert_state(f, PL_PACKAGING);
	assert_string_equal(pipeline_get_package(f->pl)->label.tracking, "JD014600006281230401");
	assert_string_equal(pipeline_get_package(f->pl)->label.carrier, "DHL");
	assert_string_equal(f->lookup_tracking, "JD014600006281230401");
	/* one digit short matches no carrier: not a label */
	check_reject(f, scan, 2100, "JD01460000628123040", "Unknown barcode 'JD01460000628123040'");
}

/* The slip may follow the label; it does not start another lookup. */
static void test_order_slip_after_label(void **state)
{
	struct fx *f = *state;

	start(f);
	scan(f, 2000, TRACK1);
	scan(f, 2100, ORDER1);
	assert_state(f, PL_PACKAGING);
	assert_string_equal(pipeline_get_package(f->pl)->order_id, ORDER1);
	assert_int_equal(pipeline_get_package(f->pl)->t.order_ms, WALL0_MS + 2100);
	assert_int_equal(f->n_lookup, 1);
	last_ind(f, IND_WAIT, ORDER1 ": scan box");
	/* a second slip is a wrong step */
	check_reject(f, scan, 2200, ORDER2, "Scan the box");
}

/* Every wrong step in every state: rejected, nothing changes. */
static void test_wrong_steps(void **state)
{
	struct fx *f = *state;
	static char longcode[2049 + 1]; /* one byte more than a scan may carry */
	struct order_ctx o;

	start(f);
	/* READY */
	check_reject(f, scan, 1100, "BOX-M", "Scan the order slip or the shipping label first");
	check_reject(f, scan, 1200, "HELLO", "Unknown barcode 'HELLO'");
	memset(longcode, 'A', 2049);
	longcode[2049] = '\0';
	check_reject(f, scan, 1300, longcode, "Unreadable or too long barcode (2049 bytes)");
	t_now_ns = ns(1400);
	pipeline_on_scan(f->pl, "", 0, t_now_ns);
	last_ind(f, IND_REJECT, "Unreadable or too long barcode (0 bytes)");
	t_now_ns = ns(1450);
	pipeline_on_scan(f->pl, "ORD-1\0X", 7, t_now_ns); /* embedded NUL */
	last_ind(f, IND_REJECT, "Unreadable or too long barcode (7 bytes)");
	assert_state(f, PL_READY);

	/* SCANNING */
	scan(f, 2000, ORDER1);
	check_reject(f, scan, 2010, "BOX-M", "Scan the shipping label first");
	check_reject(f, scan, 2020, ORDER2,
		     "Order " ORDER1 " already scanned: scan its shipping label");
	check_reject(f, scan, 2030, "HELLO", "Unknown barcode 'HELLO'");
	check_reject(f, scan, 2040, "CMD-BADGEOUT", "Finish or void the package first");
	check_reject(f, badge, 2050, PACKER2, "Finish or void the package first");
	check_reject(f, badge, 2060, PACKER, "Finish or void the package first");
	check_reject(f, badge, 2070, LEAD, "Lead " LEAD ": nothing to override");

	/* PACKAGING */
	scan(f, 2100, TRACK1);
	assert_state(f, PL_PACKAGING);
	check_reject(f, scan, 2110, TRACK2, "Label already scanned for " ORDER1 ": scan the box");
	check_reject(f, scan, 2120, "BOX-XL", "Unknown box BOX-XL: not in the catalog");
	check_reject(f, scan, 2130, ORDER2, "Scan the box");
	check_reject(f, scan, 2140, "HELLO", "Unknown barcode 'HELLO'");

	/* WEIGHING */
	scan(f, 2200, "BOX-M");
	check_reject(f, scan, 2210, TRACK2, "Label already scanned for " ORDER1 ": scan the box");
	check_reject(f, scan, 2220, ORDER2, "Place the package on the scale");
	check_reject(f, scan, 2230, "BOX-XL", "Unknown box BOX-XL: not in the catalog");
	/* another catalog box replaces the first */
	scan(f, 2240, "BOX-S");
	assert_state(f, PL_WEIGHING);
	assert_string_equal(pipeline_get_package(f->pl)->box.code, "BOX-S");
	assert_int_equal(pipeline_get_package(f->pl)->box.tare_g, 80);

	/* ORDER_WAIT (weighed within the order timeout) */
	weigh(f, 2300, 1000, true);
	assert_state(f, PL_ORDER_WAIT);
	check_reject(f, scan, 2310, TRACK2, "Wait: the station is working");
	check_reject(f, scan, 2320, "BOX-M", "Wait: the station is working");
	check_reject(f, badge, 2330, LEAD, "Lead " LEAD ": nothing to override");

	/* PHOTO (a fragile SKU) */
	ctx_default(&o);
	snprintf(o.skus[0].sku, PKG_ID_MAX, "GLASS-1");
	answer(f, 2400, f->token, &o);
	assert_state(f, PL_PHOTO);
	check_reject(f, scan, 2410, TRACK2, "Wait: the station is working");
	check_reject(f, scan, 2420, ORDER2, "Wait: the station is working");

	/* BLOCKED (no photo) */
	photo(f, 2500, NULL, 0);
	assert_state(f, PL_BLOCKED);
	check_reject(f, scan, 2510, "BOX-M",
		     "Blocked: photo required (fragile:GLASS-1) but none taken (relabel, void, or "
		     "lead badge)");
	check_reject(f, scan, 2520, ORDER2,
		     "Blocked: photo required (fragile:GLASS-1) but none taken (relabel, void, or "
		     "lead badge)");
	check_reject(f, scan, 2530, "CMD-BADGEOUT", "Finish or void the package first");
	assert_int_equal(f->n_sealed, 0);
}

/* Weight: in motion ignored, below weigh_min clears, wrong states ignore it. */
static void test_weights(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	weigh(f, 1500, 1250, true); /* READY: ignored */
	scan(f, 2000, ORDER1);
	weigh(f, 2050, 1250, true); /* SCANNING: ignored */
	ctx_default(&o);
	answer(f, 2100, f->token, &o);
	scan(f, 2200, TRACK1);
	scan(f, 2300, "BOX-M");
	for (int i = 0; i < 5; i++)
		weigh(f, 2400 + (uint64_t)i * 10, 1200 + i * 17, false);
	assert_state(f, PL_WEIGHING);
	assert_false(pipeline_get_package(f->pl)->has_weight);
	assert_int_equal(f->n_seal_calls, 0);
	/* under zero and tiny readings are "empty", never a package */
	weigh(f, 2500, -40, true);
	weigh(f, 2510, 19, true);
	assert_state(f, PL_WEIGHING);
	weigh(f, 2600, 1250, true);
	assert_int_equal(f->n_sealed, 1);
	assert_int_equal(f->sealed[0].gross_g, 1250);
}

/* The box of the last seal is still on the scale: no weight until the scale reads empty. */
static void test_scale_must_clear_between_packages(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	pack_one(f, 2000, ORDER1, TRACK1, 1250);
	scan(f, 3000, ORDER2);
	ctx_default(&o);
	snprintf(o.order_id, sizeof(o.order_id), ORDER2);
	snprintf(o.tracking, sizeof(o.tracking), TRACK2);
	answer(f, 3050, f->token, &o);
	scan(f, 3100, TRACK2);
	scan(f, 3200, "BOX-M");
	last_ind(f, IND_WAIT, ORDER2 ": clear the scale, then place package");
	weigh(f, 3300, 1250, true); /* the old box */
	weigh(f, 3400, 1300, true);
	assert_state(f, PL_WEIGHING);
	assert_int_equal(f->n_sealed, 1);
	/* exactly weigh_min is not empty */
	weigh(f, 3500, 20, true);
	assert_state(f, PL_WEIGHING);
	last_ind(f, IND_WAIT, ORDER2 ": clear the scale, then place package");
	weigh(f, 3600, 19, false); /* empty, even in motion */
	last_ind(f, IND_WAIT, ORDER2 ": place package on scale");
	weigh(f, 3700, 1300, true);
	assert_int_equal(f->n_sealed, 2);
	assert_int_equal(f->sealed[1].gross_g, 1300);
	assert_string_equal(f->sealed[1].order.order_id, ORDER2);
}

/* No order context in time: sealed as "pending", with a photo because the contents are
 * unknown; the late answer is ignored. */
static void test_order_timeout_pending(void **state)
{
	struct fx *f = *state;
	static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9};
	const struct package *p;
	struct order_ctx o;
	uint64_t tok;

	start(f);
	to_weighing(f, 2000);
	tok = f->token;
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_ORDER_WAIT);
	fire(f, 2000 + ORDER_TIMEOUT_MS);
	assert_state(f, PL_PHOTO);
	assert_int_equal(f->n_capture, 1);
	last_ind(f, IND_BUSY, ORDER1 ": photo, hold still");
	assert_int_equal(f->timer_ns, ns(2000 + ORDER_TIMEOUT_MS + PHOTO_TIMEOUT_MS));
	p = pipeline_get_package(f->pl);
	assert_true(p->photo_required);
	assert_string_equal(p->photo_reasons, "order_pending");

	/* the answer for the timed-out lookup arrives late */
	ctx_default(&o);
	answer(f, 3600, tok, &o);
	assert_state(f, PL_PHOTO);
	assert_int_equal(pipeline_get_package(f->pl)->order_src, ORDER_SRC_NONE);

	photo(f, 4000, jpeg, sizeof(jpeg));
	assert_state(f, PL_READY);
	assert_int_equal(f->n_sealed, 1);
	p = &f->sealed[0];
	assert_int_equal(p->order_src, ORDER_SRC_NONE);
	assert_string_equal(order_source_to_string(p->order_src), "pending");
	assert_string_equal(p->order_id, ORDER1);
	assert_true(p->photo_required);
	assert_string_equal(p->photo_reasons, "order_pending");
	assert_true(p->has_photo);
	assert_int_equal(rule_of(p, "signature_threshold")->result, RULE_SKIP);
	assert_int_equal(rule_of(p, "photo_required")->result, RULE_PASS);
	assert_int_equal(f->photo_len[0], sizeof(jpeg));
	assert_memory_equal(f->photo[0], jpeg, sizeof(jpeg));
	/* and after the seal too */
	answer(f, 4100, tok, &o);
	assert_int_equal(f->n_sealed, 1);
}

/* Weighed long after the order scan and still no answer: no wait at all. */
static void test_order_timeout_already_passed(void **state)
{
	struct fx *f = *state;

	start(f);
	to_weighing(f, 2000);
	weigh(f, 9000, 1250, true);
	assert_state(f, PL_PHOTO);
	assert_int_equal(f->n_capture, 1);
}

/* "Not found" from central is the same as no context. */
static void test_order_not_found(void **state)
{
	struct fx *f = *state;

	start(f);
	to_weighing(f, 2000);
	weigh(f, 2600, 1250, true);
	answer(f, 2700, f->token, NULL);
	assert_state(f, PL_PHOTO);
	assert_string_equal(pipeline_get_package(f->pl)->photo_reasons, "order_pending");
}

/* An answer for an earlier package never lands in the next one. */
static void test_stale_token_from_previous_package(void **state)
{
	struct fx *f = *state;
	struct order_ctx o1, o2;
	uint64_t tok1, tok2;

	start(f);
	scan(f, 2000, ORDER1);
	tok1 = f->token;
	scan(f, 2100, "CMD-VOID");
	assert_state(f, PL_READY);
	scan(f, 3000, ORDER2);
	tok2 = f->token;
	assert_int_not_equal(tok1, tok2);
	ctx_default(&o1);
	answer(f, 3100, tok1, &o1);
	assert_int_equal(pipeline_get_package(f->pl)->order_src, ORDER_SRC_NONE);
	assert_string_equal(pipeline_get_package(f->pl)->order.order_id, "");
	ctx_default(&o2);
	snprintf(o2.order_id, sizeof(o2.order_id), ORDER2);
	snprintf(o2.tracking, sizeof(o2.tracking), TRACK2);
	answer(f, 3200, tok2, &o2);
	assert_string_equal(pipeline_get_package(f->pl)->order.order_id, ORDER2);
	scan(f, 3300, TRACK2);
	scan(f, 3400, "BOX-M");
	weigh(f, 3500, 1250, true);
	assert_int_equal(f->n_sealed, 1);
	assert_string_equal(f->sealed[0].order.order_id, ORDER2);
}

static void test_fragile_photo(void **state)
{
	struct fx *f = *state;
	uint8_t jpeg[1000];
	const struct package *p;
	struct order_ctx o;

	for (size_t i = 0; i < sizeof(jpeg); i++)
		jpeg[i] = (uint8_t)(i * 7);
	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	o.n_skus = 2;
	snprintf(o.skus[1].sku, PKG_ID_MAX, "GLASS-42");
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_PHOTO);
	assert_int_equal(f->n_capture, 1);
	last_ind(f, IND_BUSY, ORDER1 ": photo, hold still");
	assert_int_equal(f->timer_ns, ns(2600 + PHOTO_TIMEOUT_MS));

	photo(f, 3000, jpeg, sizeof(jpeg));
	assert_state(f, PL_READY);
	assert_int_equal(f->n_sealed, 1);
	assert_int_equal(f->n_capture, 1);
	p = &f->sealed[0];
	assert_true(p->photo_required);
	assert_string_equal(p->photo_reasons, "fragile:GLASS-42");
	assert_true(p->has_photo);
	assert_int_equal(p->photo_bytes, sizeof(jpeg));
	assert_int_equal(p->photo_width, 640);
	assert_int_equal(p->photo_height, 480);
	assert_int_equal(p->t.photo_ms, WALL0_MS + 3000);
	assert_int_equal(rule_of(p, "photo_required")->result, RULE_PASS);
	assert_false(f->photo_null[0]);
	assert_int_equal(f->photo_len[0], sizeof(jpeg));
	assert_memory_equal(f->photo[0], jpeg, sizeof(jpeg));

	/* a late second photo is ignored */
	photo(f, 3100, jpeg, sizeof(jpeg));
	assert_int_equal(f->n_sealed, 1);
	assert_state(f, PL_READY);
}

/* A photo bigger than the machine's initial buffer (512 KB) is kept whole. */
static void test_large_photo(void **state)
{
	struct fx *f = *state;
	const size_t len = 600u * 1024u;
	uint8_t *jpeg = malloc(len);
	struct order_ctx o;

	assert_non_null(jpeg);
	for (size_t i = 0; i < len; i++)
		jpeg[i] = (uint8_t)(i ^ (i >> 9));
	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	snprintf(o.skus[0].sku, PKG_ID_MAX, "VASE-1");
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_PHOTO);
	t_now_ns = ns(3000);
	pipeline_on_photo(f->pl, jpeg, len, 1920, 1080, t_now_ns);
	assert_int_equal(f->n_sealed, 1);
	assert_int_equal(f->photo_len[0], len);
	assert_int_equal(f->photo_hash[0], fnv1a(jpeg, len));
	assert_int_equal(f->sealed[0].photo_bytes, len);
	assert_int_equal(f->sealed[0].photo_width, 1920);
	assert_int_equal(f->sealed[0].photo_height, 1080);
	assert_string_equal(f->sealed[0].photo_reasons, "fragile:VASE-1");
	free(jpeg);
}

static void test_photo_timeout_then_lead_override(void **state)
{
	struct fx *f = *state;
	const struct package *p;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	snprintf(o.skus[0].sku, PKG_ID_MAX, "GLASS-42");
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_PHOTO);
	fire(f, 2600 + PHOTO_TIMEOUT_MS - 1); /* not yet */
	assert_state(f, PL_PHOTO);
	fire(f, 2600 + PHOTO_TIMEOUT_MS);
	assert_state(f, PL_BLOCKED);
	last_ind(f, IND_BLOCKED,
		 "BLOCKED " ORDER1 ": photo required (fragile:GLASS-42) but none taken");
	assert_int_equal(f->n_seal_calls, 0);
	/* blocked packages still time out */
	assert_int_equal(f->timer_ns, ns(2000) + ns(PACKAGE_TIMEOUT_MS));

	/* a photo after the timeout is too late */
	photo(f, 8000, (const uint8_t *)"late", 4);
	assert_state(f, PL_BLOCKED);
	assert_false(pipeline_get_package(f->pl)->has_photo);

	/* neither another packer nor the packer may override */
	check_reject(f, badge, 9000, PACKER2, "Finish or void the package first");
	check_reject(f, badge, 9100, PACKER, "Finish or void the package first");
	assert_state(f, PL_BLOCKED);

	badge(f, 9500, LEAD);
	assert_state(f, PL_READY);
	assert_int_equal(f->n_sealed, 1);
	assert_string_equal(pipeline_get_packer(f->pl), PACKER); /* the lead did not badge in */
	p = &f->sealed[0];
	assert_string_equal(p->packer_id, PACKER);
	assert_true(p->override.present);
	assert_string_equal(p->override.lead_id, LEAD);
	assert_string_equal(p->override.rules, "photo_required");
	assert_string_equal(p->override.reason, "lead badge override at the station");
	assert_int_equal(p->override.at_ms, WALL0_MS + 9500);
	assert_false(p->has_photo);
	assert_true(f->photo_null[0]);
	assert_int_equal(rule_of(p, "photo_required")->result, RULE_BLOCK);
	last_ind(f, IND_SEALED, "Sealed st01-0000000001");
}

/* The camera answers NULL (capture failed): blocked at once. A capture that cannot start
 * blocks too, without waiting. */
static void test_photo_null_and_capture_error(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	snprintf(o.skus[0].sku, PKG_ID_MAX, "GLASS-42");
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	photo(f, 2700, NULL, 0);
	assert_state(f, PL_BLOCKED);
	assert_int_equal(rule_of(pipeline_get_package(f->pl), "photo_required")->result,
			 RULE_BLOCK);
	scan(f, 2800, "CMD-VOID");
	assert_state(f, PL_READY);

	f->capture_ret = -ENODEV;
	weigh(f, 2900, 0, true); /* the voided box taken off */
	scan(f, 3000, ORDER1);
	answer(f, 3050, f->token, &o);
	scan(f, 3100, TRACK1);
	scan(f, 3200, "BOX-M");
	weigh(f, 3300, 1250, true);
	assert_int_equal(f->n_capture, 2);
	assert_state(f, PL_BLOCKED);
	last_ind(f, IND_BLOCKED,
		 "BLOCKED " ORDER1 ": photo required (fragile:GLASS-42) but none taken");
	assert_int_equal(f->n_seal_calls, 0);
}

/* High value without a signature service: blocked until the box is relabelled. */
static void test_signature_block_then_relabel(void **state)
{
	struct fx *f = *state;
	const struct package *p;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	o.declared_value_cents = 60000;
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_BLOCKED);
	last_ind(f, IND_BLOCKED,
		 "BLOCKED " ORDER1 ": declared 60000 >= 50000 but service UPS-GROUND has no "
		 "signature: relabel");
	assert_int_equal(f->n_seal_calls, 0);
	assert_int_equal(rule_of(pipeline_get_package(f->pl), "signature_threshold")->result,
			 RULE_BLOCK);

	/* the new label: asked again by order and new tracking, judged again */
	scan(f, 4000, TRACK2);
	assert_int_equal(f->n_lookup, 2);
	assert_string_equal(f->lookup_order, ORDER1);
	assert_string_equal(f->lookup_tracking, TRACK2);
	assert_state(f, PL_ORDER_WAIT);
	last_ind(f, IND_BUSY, ORDER1 ": fetching order");
	assert_int_equal(f->timer_ns, ns(4000 + ORDER_TIMEOUT_MS));
	assert_string_equal(pipeline_get_package(f->pl)->label.tracking, TRACK2);

	snprintf(o.tracking, sizeof(o.tracking), TRACK2);
	snprintf(o.service, sizeof(o.service), "UPS-SIG");
	o.signature = true;
	answer(f, 4300, f->token, &o);
	assert_state(f, PL_READY);
	assert_int_equal(f->n_sealed, 1);
	p = &f->sealed[0];
	assert_false(p->override.present);
	assert_string_equal(p->label.tracking, TRACK2);
	assert_int_equal(p->t.label_ms, WALL0_MS + 4000);
	assert_int_equal(rule_of(p, "signature_threshold")->result, RULE_PASS);
	assert_int_equal(rule_of(p, "label_order_match")->result, RULE_PASS);
	assert_string_equal(f->tracking_q, TRACK2);
	/* the weight of the first judgement is kept */
	assert_int_equal(p->gross_g, 1250);
}

static void test_void_mid_package(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;
	uint64_t tok;

	start(f);
	scan(f, 2000, ORDER1);
	tok = f->token;
	scan(f, 2100, TRACK1);
	scan(f, 2200, "CMD-VOID");
	assert_state(f, PL_READY);
	assert_int_equal(f->n_seal_calls, 0);
	assert_string_equal(pipeline_get_package(f->pl)->order_id, "");
	assert_string_equal(pipeline_get_package(f->pl)->label.tracking, "");
	assert_int_equal(f->timer_ns, ns(2200) + ns(IDLE_MS));
	/* the old lookup is stale now */
	ctx_default(&o);
	answer(f, 2300, tok, &o);
	assert_int_equal(pipeline_get_package(f->pl)->order_src, ORDER_SRC_NONE);

	/* void in every other package state as well */
	to_weighing(f, 3000);
	scan(f, 3300, "CMD-VOID");
	assert_state(f, PL_READY);
	to_weighing(f, 4000);
	weigh(f, 4300, 1250, true);
	assert_state(f, PL_ORDER_WAIT);
	scan(f, 4400, "CMD-VOID");
	assert_state(f, PL_READY);
	assert_int_equal(f->n_seal_calls, 0);
	assert_int_equal(sealed_count(f), 0);
	/* nothing was sealed, so there is nothing to void either */
	assert_string_equal(pipeline_get_last_sealed(f->pl), "");
}

static void test_void_last_sealed(void **state)
{
	struct fx *f = *state;
	const struct package *v;

	start(f);
	pack_one(f, 2000, ORDER1, TRACK1, 1250);
	assert_string_equal(pipeline_get_last_sealed(f->pl), "st01-0000000001");
	scan(f, 5000, "CMD-VOID");
	assert_state(f, PL_READY);
	assert_int_equal(f->n_sealed, 2);
	assert_int_equal(sealed_count(f), 2);
	v = &f->sealed[1];
	assert_string_equal(v->voids, "st01-0000000001");
	assert_string_equal(v->packer_id, PACKER);
	assert_string_equal(v->order_id, "");
	assert_string_equal(v->label.tracking, "");
	assert_false(v->has_weight);
	assert_int_equal(v->t.started_ms, WALL0_MS + 5000);
	assert_int_equal(v->t.sealed_ms, WALL0_MS + 5000);
	assert_true(f->photo_null[1]);
	last_ind(f, IND_SEALED, "Voided st01-0000000001");
	/* a void is not itself voidable */
	assert_string_equal(pipeline_get_last_sealed(f->pl), "");
	check_reject(f, scan, 5100, "CMD-VOID", "Nothing to void");
	assert_int_equal(f->n_sealed, 2);
}

static void test_void_nothing_sealed(void **state)
{
	struct fx *f = *state;

	start(f);
	check_reject(f, scan, 2000, "CMD-VOID", "Nothing to void");
	assert_int_equal(f->n_seal_calls, 0);
}

static void test_badge_out(void **state)
{
	struct fx *f = *state;

	/* the badge-out code */
	start(f);
	scan(f, 2000, "CMD-BADGEOUT");
	assert_state(f, PL_NO_PACKER);
	last_ind(f, IND_IDLE, "Badge in");
	assert_string_equal(pipeline_get_packer(f->pl), "");
	assert_int_equal(f->timer_ns, 0);

	/* the same badge again */
	badge(f, 3000, PACKER);
	assert_state(f, PL_READY);
	badge(f, 4000, PACKER);
	assert_state(f, PL_NO_PACKER);
	assert_int_equal(f->timer_ns, 0);

	/* a different badge in READY switches the packer */
	badge(f, 5000, PACKER);
	badge(f, 6000, PACKER2);
	assert_state(f, PL_READY);
	assert_string_equal(pipeline_get_packer(f->pl), PACKER2);
	last_ind(f, IND_READY, PACKER2 ": scan order or label");
	assert_int_equal(f->timer_ns, ns(6000) + ns(IDLE_MS));
	pack_one(f, 7000, ORDER1, TRACK1, 1250);
	assert_string_equal(f->sealed[0].packer_id, PACKER2);
}

static void test_idle_timeout(void **state)
{
	struct fx *f = *state;

	start(f);
	/* any input is activity, a rejected one too */
	scan(f, 100000, "HELLO");
	assert_int_equal(f->timer_ns, ns(100000) + ns(IDLE_MS));
	fire(f, 1000 + IDLE_MS); /* the old deadline: not idle any more */
	assert_state(f, PL_READY);
	assert_int_equal(f->timer_ns, ns(100000) + ns(IDLE_MS));
	fire(f, 100000 + IDLE_MS);
	assert_state(f, PL_NO_PACKER);
	last_ind(f, IND_IDLE, "Badge in");
	assert_string_equal(pipeline_get_packer(f->pl), "");
	assert_int_equal(f->timer_ns, 0);
}

static void test_package_timeout(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;
	uint64_t tok;

	start(f);
	scan(f, 2000, ORDER1);
	tok = f->token;
	scan(f, 3000, TRACK1);
	assert_int_equal(f->timer_ns, ns(2000) + ns(PACKAGE_TIMEOUT_MS));
	fire(f, 2000 + PACKAGE_TIMEOUT_MS - 1);
	assert_state(f, PL_PACKAGING);
	fire(f, 2000 + PACKAGE_TIMEOUT_MS);
	assert_state(f, PL_READY);
	assert_int_equal(f->n_seal_calls, 0);
	assert_string_equal(pipeline_get_package(f->pl)->order_id, "");
	assert_string_equal(pipeline_get_packer(f->pl), PACKER);
	/* a REJECT "Package timed out" was shown */
	{
		bool seen = false;

		for (unsigned i = 0; i < f->n_ind; i++)
			seen |= f->inds[i].ind == IND_REJECT &&
				strcmp(f->inds[i].text, "Package timed out: start again") == 0;
		assert_true(seen);
	}
	assert_int_equal(f->timer_ns, ns(2000 + PACKAGE_TIMEOUT_MS) + ns(IDLE_MS));
	ctx_default(&o);
	answer(f, 2000 + PACKAGE_TIMEOUT_MS + 10, tok, &o);
	assert_int_equal(pipeline_get_package(f->pl)->order_src, ORDER_SRC_NONE);
}

static void test_seal_failure_retry(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	answer(f, 2300, f->token, &o);
	f->seal_fail = 1;
	weigh(f, 2600, 1250, true);
	assert_int_equal(f->n_seal_calls, 1);
	assert_int_equal(f->n_sealed, 0);
	assert_state(f, PL_BLOCKED);
	last_ind(f, IND_FAULT, ORDER1 ": NOT sealed, storage error; retrying");
	assert_int_equal(f->timer_ns, ns(2600 + SEAL_RETRY_MS));
	assert_int_equal(sealed_count(f), 0);
	assert_string_equal(pipeline_get_last_sealed(f->pl), "");

	/* no override and no relabel while the store is failing */
	check_reject(f, badge, 3000, LEAD, "Finish or void the package first");
	check_reject(f, scan, 3100, TRACK2, NULL);
	assert_int_equal(f->n_seal_calls, 1);

	fire(f, 2600 + SEAL_RETRY_MS - 1);
	assert_int_equal(f->n_seal_calls, 1);
	fire(f, 2600 + SEAL_RETRY_MS);
	assert_int_equal(f->n_seal_calls, 2);
	assert_int_equal(f->n_sealed, 1);
	assert_state(f, PL_READY);
	last_ind(f, IND_SEALED, "Sealed st01-0000000001");
	assert_string_equal(f->sealed[0].order.order_id, ORDER1);
	assert_int_equal(f->sealed[0].t.sealed_ms, WALL0_MS + 2600 + SEAL_RETRY_MS);
	assert_int_equal(sealed_count(f), 1);
}

/* Two failures in a row: each retry re-arms. */
static void test_seal_failure_twice(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	answer(f, 2300, f->token, &o);
	f->seal_fail = 2;
	weigh(f, 2600, 1250, true);
	fire(f, 2600 + SEAL_RETRY_MS);
	assert_state(f, PL_BLOCKED);
	assert_int_equal(f->timer_ns, ns(2600 + 2 * SEAL_RETRY_MS));
	last_ind(f, IND_FAULT, ORDER1 ": NOT sealed, storage error; retrying");
	fire(f, 2600 + 2 * SEAL_RETRY_MS);
	assert_int_equal(f->n_seal_calls, 3);
	assert_int_equal(f->n_sealed, 1);
	assert_state(f, PL_READY);
}

static void test_cannot_seal(void **state)
{
	struct fx *f = *state;

	f->can_seal = false;
	badge(f, 1000, PACKER);
	assert_state(f, PL_READY);
	last_ind(f, IND_FAULT, "Storage full: cannot seal, call a lead");
	check_reject(f, scan, 2000, ORDER1, "Storage full: cannot seal, call a lead");
	check_reject(f, scan, 2100, TRACK1, "Storage full: cannot seal, call a lead");
	assert_int_equal(f->n_lookup, 0);
	/* the void and badge-out codes still work */
	check_reject(f, scan, 2200, "CMD-VOID", "Nothing to void");
	scan(f, 2300, "CMD-BADGEOUT");
	assert_state(f, PL_NO_PACKER);
	badge(f, 2400, PACKER);
	last_ind(f, IND_FAULT, "Storage full: cannot seal, call a lead");
	/* storage back: the station says so when told */
	f->can_seal = true;
	pipeline_refresh(f->pl);
	last_ind(f, IND_READY, PACKER ": scan order or label");
	scan(f, 3000, ORDER1);
	assert_state(f, PL_SCANNING);
}

/*
 * The photo is borrowed for pipeline_on_photo(): sealed in that call, the seal gets the
 * caller's bytes (no copy); blocked, the package keeps its own copy, so the caller may reuse
 * its buffer (the camera's next frame) and the override seals the photo that was taken.
 */
static void test_photo_borrowed_then_kept(void **state)
{
	struct fx *f = *state;
	static uint8_t jpeg[200000];
	uint64_t want;
	struct order_ctx o;

	for (size_t i = 0; i < sizeof(jpeg); i++)
		jpeg[i] = (uint8_t)(i * 13 + 1);
	want = fnv1a(jpeg, sizeof(jpeg));
	start(f);

	/* sealed inside the call: the caller's buffer itself */
	to_weighing(f, 2000);
	ctx_default(&o);
	o.n_skus = 2;
	snprintf(o.skus[1].sku, PKG_ID_MAX, "GLASS-42");
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_PHOTO);
	photo(f, 3000, jpeg, sizeof(jpeg));
	assert_int_equal(f->n_sealed, 1);
	assert_ptr_equal(f->photo_ptr[0], jpeg);
	assert_true(f->photo_hash[0] == want);

	/* blocked (tracking sealed before): kept, then the caller's buffer changes */
	weigh(f, 3500, 0, true); /* the scale clears */
	f->tracking_sealed = true;
	to_weighing(f, 4000);
	answer(f, 4300, f->token, &o);
	weigh(f, 4600, 1250, true);
	assert_state(f, PL_PHOTO);
	photo(f, 5000, jpeg, sizeof(jpeg));
	assert_state(f, PL_BLOCKED);
	assert_int_equal(f->n_sealed, 1);
	memset(jpeg, 0xAB, sizeof(jpeg));
	badge(f, 5500, "LEAD-2");
	assert_int_equal(f->n_sealed, 2);
	assert_ptr_not_equal(f->photo_ptr[1], jpeg);
	assert_int_equal(f->photo_len[1], sizeof(jpeg));
	assert_true(f->photo_hash[1] == want);
	assert_string_equal(f->sealed[1].override.rules, "duplicate_tracking");
}

/* The duplicate check is asked when the label is scanned, once, not at the seal. */
static void test_duplicate_check_at_label_scan(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;
	unsigned q;

	start(f);
	scan(f, 2000, ORDER1);
	assert_int_equal(f->n_tracking_q, 0);
	scan(f, 2100, TRACK1);
	assert_int_equal(f->n_tracking_q, 1);
	assert_string_equal(f->tracking_q, TRACK1);
	q = f->n_tracking_q;
	scan(f, 2200, "BOX-M");
	ctx_default(&o);
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_int_equal(f->n_sealed, 1);
	assert_int_equal(f->n_tracking_q, q);
	assert_false(rule_of(&f->sealed[0], "duplicate_tracking")->result == RULE_BLOCK);

	/* the next package with the same number asks again (the seal changed the answer) */
	weigh(f, 3000, 0, true);
	f->tracking_sealed = true;
	to_weighing(f, 3500);
	assert_int_equal(f->n_tracking_q, q + 1);
	answer(f, 3800, f->token, &o);
	weigh(f, 4000, 1250, true);
	assert_state(f, PL_BLOCKED);
	assert_int_equal(f->n_tracking_q, q + 1);
}

static void test_duplicate_tracking(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	f->tracking_sealed = true;
	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_BLOCKED);
	last_ind(f, IND_BLOCKED, "BLOCKED " ORDER1 ": tracking " TRACK1 " was already sealed");
	assert_int_equal(rule_of(pipeline_get_package(f->pl), "duplicate_tracking")->result,
			 RULE_BLOCK);
	badge(f, 3000, "LEAD-2");
	assert_int_equal(f->n_sealed, 1);
	assert_string_equal(f->sealed[0].override.rules, "duplicate_tracking");
	assert_string_equal(f->sealed[0].override.lead_id, "LEAD-2");
}

static void test_label_order_mismatch(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	snprintf(o.tracking, sizeof(o.tracking), TRACK2);
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_BLOCKED);
	last_ind(f, IND_BLOCKED,
		 "BLOCKED " ORDER1 ": label " TRACK1 " but order " ORDER1 " ships as " TRACK2);
	assert_int_equal(rule_of(pipeline_get_package(f->pl), "label_order_match")->result,
			 RULE_BLOCK);
	assert_int_equal(f->n_seal_calls, 0);
	/* relabel with the order's own label resolves it */
	scan(f, 3000, TRACK2);
	answer(f, 3100, f->token, &o);
	assert_int_equal(f->n_sealed, 1);
	assert_string_equal(f->sealed[0].label.tracking, TRACK2);
	assert_false(f->sealed[0].override.present);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pipeline_state_to_string(PL_NO_PACKER), "no_packer");
	assert_string_equal(pipeline_state_to_string(PL_ORDER_WAIT), "order_wait");
	assert_string_equal(pipeline_state_to_string(PL_BLOCKED), "blocked");
	assert_string_equal(pipeline_state_to_string(_PL_STATE_MAX), "invalid");
	assert_string_equal(indication_to_string(IND_BUSY), "busy");
	assert_string_equal(indication_to_string(IND_FAULT), "fault");
	assert_string_equal(indication_to_string(_IND_MAX), "invalid");
	pipeline_free(NULL);
}

/* ---- known bugs (see the report): these fail until src/pipeline.c is fixed -------------- */

/*
 * A void or a package timeout shows IND_REJECT and then the steady READY. The indicator
 * replaces a transient by any later indication at once, so the red flash and the error beep
 * are cut after 0 ms and the packer gets no feedback. The steady step must be shown first,
 * then the transient (which returns to it by itself).
 */
static void test_bug_cancel_flash_is_last(void **state)
{
	struct fx *f = *state;
	unsigned n0;

	start(f);
	scan(f, 2000, ORDER1);
	n0 = f->n_ind;
	scan(f, 2100, "CMD-VOID");
	assert_true(f->n_ind >= n0 + 2);
	check_ind(f, f->n_ind - 2, IND_READY, PACKER ": scan order or label");
	last_ind(f, IND_REJECT, "Package cancelled");

	scan(f, 3000, ORDER1);
	n0 = f->n_ind;
	fire(f, 3000 + PACKAGE_TIMEOUT_MS);
	assert_true(f->n_ind >= n0 + 2);
	check_ind(f, f->n_ind - 2, IND_READY, PACKER ": scan order or label");
	last_ind(f, IND_REJECT, "Package timed out: start again");
}

/*
 * While a seal retry is pending, rearm() still includes the package deadline, which the
 * package-timeout branch of pipeline_on_timer() skips (seal_failed). Once that deadline has
 * passed, every timer event re-arms it in the past: the loop spins at 100 % CPU until the
 * retry. A void of an old record hits it at once (void_last() keeps the previous package's
 * pkg_start_ns).
 */
static void test_bug_seal_retry_timer_in_past(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	/* a package weighed 1 s before its package deadline, whose seal fails */
	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	answer(f, 2300, f->token, &o);
	f->seal_fail = 1;
	weigh(f, 2000 + PACKAGE_TIMEOUT_MS - 1000, 1250, true);
	assert_state(f, PL_BLOCKED);
	fire(f, 2000 + PACKAGE_TIMEOUT_MS); /* the package deadline fires during the retry wait */
	assert_state(f, PL_BLOCKED);
	if (f->timer_ns <= t_now_ns)
		fail_msg("timer re-armed in the past: %" PRIu64 " <= now %" PRIu64, f->timer_ns,
			 t_now_ns);
	assert_int_equal(f->timer_ns, ns(2000 + PACKAGE_TIMEOUT_MS - 1000 + SEAL_RETRY_MS));
	fire(f, 2000 + PACKAGE_TIMEOUT_MS - 1000 + SEAL_RETRY_MS);
	assert_int_equal(f->n_sealed, 1);

	/* a void, long after that package started, whose seal fails */
	f->seal_fail = 1;
	scan(f, 400000, "CMD-VOID");
	assert_state(f, PL_BLOCKED);
	if (f->timer_ns <= t_now_ns)
		fail_msg("void retry armed in the past: %" PRIu64 " <= now %" PRIu64, f->timer_ns,
			 t_now_ns);
	assert_int_equal(f->timer_ns, ns(400000 + SEAL_RETRY_MS));
}

/* A void whose seal needed a retry becomes voidable itself (void_last() clears last_sealed
 * only when the first attempt succeeds), and the packer never sees "Voided ...". */
static void test_bug_void_retry_not_voidable(void **state)
{
	struct fx *f = *state;

	start(f);
	pack_one(f, 2000, ORDER1, TRACK1, 1250);
	f->seal_fail = 1;
	scan(f, 5000, "CMD-VOID");
	assert_state(f, PL_BLOCKED);
	fire(f, 5000 + SEAL_RETRY_MS);
	assert_int_equal(f->n_sealed, 2);
	assert_string_equal(f->sealed[1].voids, "st01-0000000001");
	last_ind(f, IND_SEALED, "Voided st01-0000000001");
	assert_string_equal(pipeline_get_last_sealed(f->pl), "");
	check_reject(f, scan, 6000, "CMD-VOID", "Nothing to void");
}

/*
 * do_seal() sets scale_cleared = false ("the box is still on the scale"), discarding an
 * empty-scale reading seen after the weight was accepted (the box lifted while the photo
 * was taken or the order fetched). on_weight() already clears the flag when it accepts a
 * weight; the reset in do_seal() makes the next package wait for an empty reading the scale
 * may never send again (it reads 0 already), and a void does the same.
 */
static void test_bug_scale_cleared_before_seal(void **state)
{
	struct fx *f = *state;
	struct order_ctx o;

	start(f);
	to_weighing(f, 2000);
	ctx_default(&o);
	snprintf(o.skus[0].sku, PKG_ID_MAX, "GLASS-1");
	answer(f, 2300, f->token, &o);
	weigh(f, 2600, 1250, true);
	assert_state(f, PL_PHOTO);
	weigh(f, 2700, 0, true); /* the box is taken off during the photo */
	photo(f, 2800, (const uint8_t *)"jpeg", 4);
	assert_int_equal(f->n_sealed, 1);

	scan(f, 3000, ORDER2);
	scan(f, 3100, TRACK2);
	scan(f, 3200, "BOX-M");
	last_ind(f, IND_WAIT, ORDER2 ": place package on scale");
	weigh(f, 3300, 1300, true);
	assert_int_not_equal(state_of(f), PL_WEIGHING);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_new_and_badge_in),
		T(test_scan_before_badge),
		T(test_full_flow_order_first),
		T(test_order_wait_answered_by_token),
		T(test_order_answered_synchronously),
		T(test_label_only_flow),
		T(test_label_carrier_from_pattern),
		T(test_order_slip_after_label),
		T(test_wrong_steps),
		T(test_weights),
		T(test_scale_must_clear_between_packages),
		T(test_order_timeout_pending),
		T(test_order_timeout_already_passed),
		T(test_order_not_found),
		T(test_stale_token_from_previous_package),
		T(test_fragile_photo),
		T(test_large_photo),
		T(test_photo_timeout_then_lead_override),
		T(test_photo_null_and_capture_error),
		T(test_signature_block_then_relabel),
		T(test_void_mid_package),
		T(test_void_last_sealed),
		T(test_void_nothing_sealed),
		T(test_badge_out),
		T(test_idle_timeout),
		T(test_package_timeout),
		T(test_seal_failure_retry),
		T(test_seal_failure_twice),
		T(test_cannot_seal),
		T(test_duplicate_tracking),
	T(test_photo_borrowed_then_kept),
	T(test_duplicate_check_at_label_scan),
		T(test_label_order_mismatch),
		T(test_names),
		T(test_bug_cancel_flash_is_last),
		T(test_bug_seal_retry_timer_in_past),
		T(test_bug_void_retry_not_voidable),
		T(test_bug_scale_cleared_before_seal),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
