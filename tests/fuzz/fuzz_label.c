/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_label.c - libFuzzer target for the barcode/label parser (src/label.c):
 * label_parse() on any bytes, label_to_json() on its result, label_unescape() on the bytes as
 * text (the decode tool feeds it user input).
 *
 * Besides "no crash, no sanitizer report" it checks what label.h promises: label_parse()
 * returns 0 for every input, every string in the result is terminated inside its buffer,
 * the enums are in range, and the JSON it produces parses back.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_label.c \
 *       src/label.c $(pkg-config --cflags --libs libcjson) -o fuzz_label
 *   ./fuzz_label -max_total_time=60 tests/fuzz/corpus/label
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "src/label.h"

/** Inputs longer than this are cut for label_unescape() (it works on a NUL-terminated copy). */
#define FUZZ_TEXT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		__builtin_trap();
}

static void check_label(const struct label *l)
{
	unsigned i;

	if (!label_kind_to_string(l->kind) || !label_kind_to_string(l->tracking_kind) ||
	    !label_check_to_string(l->check) || !label_sig_to_string(l->signature))
		__builtin_trap();
	check_str(l->symbology, sizeof(l->symbology));
	check_str(l->carrier, sizeof(l->carrier));
	check_str(l->tracking, sizeof(l->tracking));
	check_str(l->number, sizeof(l->number));
	check_str(l->service_code, sizeof(l->service_code));
	check_str(l->service, sizeof(l->service));
	check_str(l->issuer_country, sizeof(l->issuer_country));
	check_str(l->postal_code, sizeof(l->postal_code));
	check_str(l->country_num, sizeof(l->country_num));
	check_str(l->country, sizeof(l->country));
	check_str(l->service_class, sizeof(l->service_class));
	check_str(l->scac, sizeof(l->scac));
	check_str(l->shipper, sizeof(l->shipper));
	check_str(l->shipment_id, sizeof(l->shipment_id));
	check_str(l->weight, sizeof(l->weight));
	check_str(l->street, sizeof(l->street));
	check_str(l->city, sizeof(l->city));
	check_str(l->state, sizeof(l->state));
	check_str(l->format01_version, sizeof(l->format01_version));
	if (l->n_elements > LABEL_ELEMENTS_MAX)
		__builtin_trap();
	for (i = 0; i < l->n_elements; i++) {
		check_str(l->elements[i].id, sizeof(l->elements[i].id));
		check_str(l->elements[i].value, sizeof(l->elements[i].value));
		if (!label_check_to_string(l->elements[i].check))
			__builtin_trap();
	}
	if ((l->tracking[0] != '\0') != ((l->fields & LABEL_F_TRACKING) != 0))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[FUZZ_TEXT_MAX + 1], out[FUZZ_TEXT_MAX];
	struct label l;
	cJSON *parsed;
	char *json;
	size_t n;

	if (label_parse((const char *)data, size, &l) != 0)
		__builtin_trap();
	check_label(&l);
	if (label_to_json(&l, &json) == 0) {
		parsed = cJSON_Parse(json);
		if (!parsed)
			__builtin_trap();
		cJSON_Delete(parsed);
		free(json);
	}

	n = size < FUZZ_TEXT_MAX ? size : FUZZ_TEXT_MAX;
	memcpy(text, data, n);
	text[n] = '\0';
	if (label_unescape(text, out, sizeof(out), &n) == 0 && n > sizeof(out))
		__builtin_trap();
	return 0;
}
