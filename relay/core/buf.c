/* Bounded growable buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

/* Shared empty string for buffers that own no memory yet.  It is never
 * written: every write first grows the buffer into its own memory. */
static const char buf_empty[1] = "";

void rk_buf_init(struct rk_buf *b, size_t max)
{
	b->data = (char *)buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void rk_buf_release(struct rk_buf *b)
{
	if (b->alloc)
		free(b->data);
	rk_buf_init(b, b->max);
}

void rk_buf_reset(struct rk_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->data[0] = '\0';
}

enum rk_err rk_buf_grow(struct rk_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return RK_ERR_LIMIT;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return RK_OK;
	cap = b->alloc ? b->alloc : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = b->alloc ? realloc(b->data, cap) : malloc(cap);
	if (!p)
		return RK_ERR_NOMEM;
	if (!b->alloc)
		p[0] = '\0';
	b->data = p;
	b->alloc = cap;
	return RK_OK;
}

enum rk_err rk_buf_add(struct rk_buf *b, const void *p, size_t n)
{
	enum rk_err err = rk_buf_grow(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return RK_OK;
}

enum rk_err rk_buf_adds(struct rk_buf *b, const char *s)
{
	return rk_buf_add(b, s, strlen(s));
}

enum rk_err rk_buf_addc(struct rk_buf *b, char c)
{
	return rk_buf_add(b, &c, 1);
}

enum rk_err rk_buf_vaddf(struct rk_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	enum rk_err err;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return RK_ERR_INVAL;
	err = rk_buf_grow(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return RK_OK;
}

enum rk_err rk_buf_addf(struct rk_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum rk_err err;

	va_start(ap, fmt);
	err = rk_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return err;
}

void rk_buf_truncate(struct rk_buf *b, size_t n)
{
	if (n >= b->len)
		return;
	b->len = n;
	b->data[n] = '\0';
}

char *rk_buf_detach(struct rk_buf *b, size_t *len_out)
{
	char *p;

	if (len_out)
		*len_out = b->len;
	if (!b->alloc) {
		p = malloc(1);
		if (p)
			p[0] = '\0';
	} else {
		p = b->data;
	}
	rk_buf_init(b, b->max);
	return p;
}

enum rk_err rk_buf_read_stream(struct rk_buf *b, FILE *f)
{
	char chunk[65536];
	size_t n;
	enum rk_err err;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		err = rk_buf_add(b, chunk, n);
		if (err)
			return err;
	}
	return ferror(f) ? RK_ERR_IO : RK_OK;
}

enum rk_err rk_buf_read_file(struct rk_buf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	enum rk_err err;

	if (!f)
		return errno == ENOENT ? RK_ERR_NOTFOUND : RK_ERR_IO;
	err = rk_buf_read_stream(b, f);
	fclose(f);
	return err;
}
