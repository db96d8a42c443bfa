/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scale/scale_proto.h"

/** Most tokens a sim line may carry: grams, motion flag, status. */
#define SIM_TOKENS_MAX 3
/** Longest token kept for comparison ("stable", "motion", "fault" and digits fit). */
#define SIM_TOKEN_MAX 16

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Split @p line into at most SIM_TOKENS_MAX blank-separated tokens. @return count or -EBADMSG. */
static int tokenize(const char *line, char tok[SIM_TOKENS_MAX][SIM_TOKEN_MAX + 1])
{
	const char *p = skip_blanks(line);
	int n = 0;

	while (*p) {
		size_t len = strcspn(p, " \t");

		if (n == SIM_TOKENS_MAX || len > SIM_TOKEN_MAX)
			return -EBADMSG;
		memcpy(tok[n], p, len);
		tok[n][len] = '\0';
		n++;
		p = skip_blanks(p + len);
	}
	return n;
}

int scale_proto_parse_sim(const char *line, struct scale_reading *ret)
{
	char tok[SIM_TOKENS_MAX][SIM_TOKEN_MAX + 1];
	enum scale_status status = SCALE_OK;
	char *end;
	bool stable;
	long grams;
	int n;

	if (!line || !ret)
		return -EINVAL;
	n = tokenize(line, tok);
	if (n < 2)
		return -EBADMSG;

	errno = 0;
	grams = strtol(tok[0], &end, 10);
	if (errno || end == tok[0] || *end || grams < INT32_MIN || grams > INT32_MAX)
		return -EBADMSG;

	if (!strcmp(tok[1], "stable"))
		stable = true;
	else if (!strcmp(tok[1], "motion"))
		stable = false;
	else
		return -EBADMSG;

	if (n == 3) {
		if (!strcmp(tok[2], "over"))
			status = SCALE_OVER_LIMIT;
		else if (!strcmp(tok[2], "under"))
			status = SCALE_UNDER_ZERO;
		else if (!strcmp(tok[2], "fault"))
			status = SCALE_FAULT;
		else
			return -EBADMSG;
	}

	ret->grams = (int32_t)grams;
	ret->stable = stable;
	ret->status = status;
	return 0;
}
