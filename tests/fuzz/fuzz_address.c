/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the station's address checks (src/address.c). Addresses come from
 * central and labels from a scanner: any bytes must be judged without a crash, leak or
 * sanitizer report, and the result must be well-formed.
 *
 * Input: the first byte picks the charset (low 2 bits) and whether a label is given (bit 2);
 * the rest is split at '\n' into name, street, city, state, postal code, country, carrier,
 * service, label postal code, label country (missing fields are empty, long ones cut to
 * their buffers).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "src/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_FIELDS 10
/** Largest field buffer below (the address lines). */
#define FIELD_MAX PKG_NAME_MAX

static const char *const codes[] = {
	ADDR_UNPRINTABLE,     ADDR_INVALID_UTF8,	  ADDR_MISSING_NAME,	ADDR_MISSING_STREET,
	ADDR_MISSING_CITY,    ADDR_MISSING_POSTAL,	  ADDR_MISSING_COUNTRY, ADDR_MISSING_STATE,
	ADDR_COUNTRY_INVALID, ADDR_POSTAL_FORMAT,	  ADDR_STATE_INVALID,	ADDR_ZIP_STATE,
	ADDR_POSTAL_STATE,    ADDR_MILITARY_INCONSISTENT, ADDR_PO_BOX_REFUSED,	ADDR_APO_REFUSED,
	ADDR_LABEL_POSTAL,    ADDR_LABEL_COUNTRY,
};

static bool known(const char *code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i], code) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char f[N_FIELDS][FIELD_MAX];
	const size_t cap[N_FIELDS] = {
		PKG_NAME_MAX, PKG_NAME_MAX, PKG_NAME_MAX, PKG_ID_MAX, PKG_ID_MAX, 4,
		PKG_ID_MAX,   PKG_ID_MAX,   PKG_ID_MAX,	  PKG_ID_MAX};
	struct pkg_address a;
	struct addr_label_info li;
	struct addr_opts o = {0};
	struct addr_result r;
	size_t pos = 1;
	int ret;

	if (size < 1)
		return 0;
	memset(f, 0, sizeof(f));
	for (int i = 0; i < N_FIELDS && pos <= size; i++) {
		size_t n = 0;

		while (pos < size && data[pos] != '\n') {
			if (n + 1 < cap[i])
				f[i][n++] = (char)data[pos];
			pos++;
		}
		pos++;
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.name, f[0], sizeof(a.name));
	memcpy(a.street, f[1], sizeof(a.street));
	memcpy(a.city, f[2], sizeof(a.city));
	memcpy(a.state, f[3], sizeof(a.state));
	memcpy(a.postal_code, f[4], sizeof(a.postal_code));
	memcpy(a.country, f[5], sizeof(a.country));
	memset(&li, 0, sizeof(li));
	memcpy(li.postal_code, f[8], sizeof(li.postal_code));
	memcpy(li.country, f[9], sizeof(li.country));
	o.charset = (enum addr_charset)(data[0] & 3);

	ret = address_check_opts(&a, f[6], f[7], (data[0] & 4) ? &li : NULL, &o, &r);
	if (o.charset >= _ADDR_CHARSET_MAX) {
		assert(ret == -EINVAL);
		return 0;
	}
	assert(ret == 0);
	assert(r.n_failed <= ADDR_CHECKS_MAX);
	assert(r.pass == (r.n_failed == 0));
	assert(memchr(r.detail, '\0', sizeof(r.detail)));
	for (unsigned i = 0; i < r.n_failed; i++) {
		assert(known(r.failed[i]));
		for (unsigned j = 0; j < i; j++)
			assert(strcmp(r.failed[i], r.failed[j]) != 0);
	}
	/* the helpers on raw fields, too */
	(void)address_is_po_box(f[1]);
	(void)address_postal_format_ok(f[5], f[4]);
	(void)address_zip_state_ok(f[4], f[3]);
	(void)address_printable(f[0], o.charset, NULL, NULL);
	return 0;
}
