/* String helpers and strict number parsing. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

char *rk_strdup(const char *s)
{
	return s ? rk_strndup(s, strlen(s)) : NULL;
}

char *rk_strndup(const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

enum rk_err rk_str_set(char **p, const char *s)
{
	char *copy = NULL;

	if (s) {
		copy = rk_strdup(s);
		if (!copy)
			return RK_ERR_NOMEM;
	}
	free(*p);
	*p = copy;
	return RK_OK;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool rk_str_ieq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	while (*a && lower((unsigned char)*a) == lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == *b;
}

const char *rk_str_find_ci(const char *hay, size_t len, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m && i + m <= len; i++) {
		size_t k = 0;

		while (k < m && lower((unsigned char)hay[i + k]) ==
					lower((unsigned char)needle[k]))
			k++;
		if (k == m)
			return hay + i;
	}
	return NULL;
}

void rk_str_lower(char *s)
{
	for (; s && *s; s++)
		*s = (char)lower((unsigned char)*s);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

char *rk_str_trim(char *s)
{
	size_t n;
	char *start = s;

	if (!s)
		return s;
	while (is_space(*start))
		start++;
	n = strlen(start);
	while (n && is_space(start[n - 1]))
		n--;
	memmove(s, start, n);
	s[n] = '\0';
	return s;
}

bool rk_str_has_ctl(const char *s, bool allow_tab)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '\t' && allow_tab)
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return true;
	}
	return false;
}

char *rk_str_clean_line(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; p && *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*p = ' ';
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = p[1] = ' '; /* C1, including NEL */
			p++;
		} else if (p[0] == 0xe2 && p[1] && p[2] &&
			   ((p[1] == 0x80 && p[2] >= 0xa8 && p[2] <= 0xae) ||
			    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
			/* U+2028/2029 separators, U+202A-202E and
			 * U+2066-2069 bidirectional controls */
			p[0] = p[1] = p[2] = ' ';
			p += 2;
		}
	}
	return s;
}

/* Decode one UTF-8 sequence; returns its length, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (avail == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool rk_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

static bool is_wide(uint32_t c)
{
	return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
	       (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	       (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
	       (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	       (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	       (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	       (c >= 0x20000 && c <= 0x3fffd);
}

size_t rk_utf8_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, w = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (!n) {
			i++;
			w++;
			continue;
		}
		i += n;
		if (cp >= 0x300 && cp <= 0x36f)
			continue;
		w += is_wide(cp) ? 2 : 1;
	}
	return w;
}

bool rk_list_next(const char **p, const char **item, size_t *len)
{
	const char *s = *p, *comma;
	size_t n;

	if (!s)
		return false;
	comma = strchr(s, ',');
	n = comma ? (size_t)(comma - s) : strlen(s);
	*p = comma ? comma + 1 : NULL;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*item = s;
	*len = n;
	return true;
}

enum rk_err rk_array_room(void **arr, size_t n, size_t size)
{
	size_t want;
	void *grown;

	/* capacity is 16, 32, 64, ...: grow exactly when n reaches it */
	if (n != 0 && (n < 16 || (n & (n - 1)) != 0))
		return RK_OK;
	want = n ? n * 2 : 16;
	if (want > SIZE_MAX / size)
		return RK_ERR_NOMEM;
	grown = realloc(*arr, want * size);
	if (!grown)
		return RK_ERR_NOMEM;
	*arr = grown;
	return RK_OK;
}

enum rk_err rk_parse_long(const char *s, long long min, long long max,
			  long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || is_space(*s))
		return RK_ERR_INVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return RK_ERR_INVAL;
	*out = v;
	return RK_OK;
}

enum rk_err rk_parse_duration(const char *s, long long *seconds)
{
	char *end;
	long long v, mult = 1;

	if (!s || !*s || *s < '0' || *s > '9')
		return RK_ERR_INVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return RK_ERR_INVAL;
	if (*end) {
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return RK_ERR_INVAL;
		}
		if (end[1])
			return RK_ERR_INVAL;
	}
	if (v > LLONG_MAX / mult)
		return RK_ERR_INVAL;
	*seconds = v * mult;
	return RK_OK;
}

enum rk_err rk_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < RK_ARRAY_LEN(yes); i++) {
		if (rk_str_ieq(s, yes[i])) {
			*out = true;
			return RK_OK;
		}
		if (rk_str_ieq(s, no[i])) {
			*out = false;
			return RK_OK;
		}
	}
	return RK_ERR_INVAL;
}

uint64_t rk_hash(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
