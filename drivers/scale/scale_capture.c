/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_capture.c - capture files (format in the header).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/scale/scale_capture.h"

int scale_capture_unescape(const char *s, size_t n, uint8_t *out, size_t *ret_len)
{
	size_t i, o = 0;

	if ((!s && n) || !out || !ret_len)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] != '^') {
			out[o++] = (uint8_t)s[i];
			continue;
		}
		if (++i == n)
			return -EBADMSG;
		if (s[i] == '`')
			out[o++] = '^';
		else if (s[i] >= '@' && s[i] <= '_')
			out[o++] = (uint8_t)(s[i] - '@');
		else
			return -EBADMSG;
	}
	*ret_len = o;
	return 0;
}

size_t scale_capture_escape(const uint8_t *d, size_t n, char *out, size_t size)
{
	size_t i, o = 0;
	char e[2];
	int k, w;

	for (i = 0; i < n; i++) {
		if (d[i] < 32) {
			e[0] = '^';
			e[1] = (char)(d[i] + '@');
			w = 2;
		} else if (d[i] == '^') {
			e[0] = '^';
			e[1] = '`';
			w = 2;
		} else {
			e[0] = (char)d[i];
			w = 1;
		}
		for (k = 0; k < w; k++, o++) {
			if (out && o + 1 < size)
				out[o] = e[k];
		}
	}
	if (out && size)
		out[o < size ? o : size - 1] = '\0';
	return o;
}

static void set_hdr(char *dst, const char *v, size_t n)
{
	if (n >= SCALE_CAPTURE_HDR_MAX)
		n = SCALE_CAPTURE_HDR_MAX - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static void header(struct scale_capture *c, const char *p, size_t n)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"Name:", offsetof(struct scale_capture, name)},
		{"Firmware:", offsetof(struct scale_capture, firmware)},
		{"Transport:", offsetof(struct scale_capture, transport)},
		{"Protocol:", offsetof(struct scale_capture, protocol)},
		{"Date:", offsetof(struct scale_capture, date)},
		{"Notes:", offsetof(struct scale_capture, notes)},
	};
	size_t i, k;

	while (n && (*p == '#' || *p == ' ')) /* "# Key: value" */
		p++, n--;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		k = strlen(keys[i].key);
		if (n < k || memcmp(p, keys[i].key, k))
			continue;
		p += k, n -= k;
		while (n && *p == ' ')
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\r'))
			n--;
		set_hdr((char *)c + keys[i].off, p, n);
		return;
	}
}

int scale_capture_parse(const char *text, size_t len, struct scale_capture **ret,
			unsigned *ret_line)
{
	struct scale_capture *c;
	const char *p = text, *end = text + len, *nl, *q;
	size_t n_lines = 1, n, dlen;
	unsigned line = 0;
	unsigned long ms;
	char *e;
	int r = -EBADMSG;

	if (!text || !ret)
		return -EINVAL;
	for (q = text; q < end; q++)
		n_lines += *q == '\n';
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* Upper bounds: one record per line, decoded data never longer than the text. */
	c->recs = calloc(n_lines, sizeof(*c->recs));
	c->data = malloc(len ? len : 1);
	if (!c->recs || !c->data) {
		r = -ENOMEM;
		goto err;
	}
	for (; p < end; p = nl + 1) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		n = (size_t)(nl - p);
		if (n == 0 || (n == 1 && *p == '\r'))
			continue;
		if (*p == '#') {
			header(c, p, n);
			continue;
		}
		if (*p == 'Q')
			break;
		if (*p == 'f')
			continue;
		if ((*p != 'r' && *p != 'w') || n < 3 || p[1] != ' ')
			goto err;
		ms = strtoul(p + 2, &e, 10);
		if (e == p + 2 || e > nl || (e < nl && *e != ' ') || ms > 86400000UL)
			goto err;
		q = e < nl ? e + 1 : nl;
		if (scale_capture_unescape(q, (size_t)(nl - q), c->data + c->data_len, &dlen) < 0)
			goto err;
		c->recs[c->n_recs].op = *p;
		c->recs[c->n_recs].ms = (unsigned)ms;
		c->recs[c->n_recs].off = c->data_len;
		c->recs[c->n_recs].len = dlen;
		c->n_recs++;
		c->data_len += dlen;
		c->has_writes |= *p == 'w';
		if (nl == end)
			break;
	}
	*ret = c;
	return 0;

err:
	if (ret_line)
		*ret_line = line;
	scale_capture_free(c);
	return r;
}

int scale_capture_load(const char *path, struct scale_capture **ret, unsigned *ret_line)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;
	int fd, r;

	if (!path || !ret)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto err_close;
	}
	if (st.st_size > (off_t)SCALE_CAPTURE_FILE_MAX) {
		r = -EFBIG;
		goto err_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto err_close;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = scale_capture_parse(buf, got, ret, ret_line);
	free(buf);
	return r;

err_close:
	close(fd);
	return r;
}

void scale_capture_free(struct scale_capture *c)
{
	if (!c)
		return;
	free(c->recs);
	free(c->data);
	free(c);
}

const char *scale_capture_serial(const struct scale_capture *c)
{
	static const char pfx[] = "serial ";

	if (!c || strncmp(c->transport, pfx, sizeof(pfx) - 1))
		return NULL;
	return c->transport + sizeof(pfx) - 1;
}
