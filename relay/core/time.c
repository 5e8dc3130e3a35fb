/* Time parsing and formatting, always in UTC internally. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renraku/core.h"

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
 * civil-from-days inverse). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

enum rk_err rk_time_from_civil(int y, int mo, int d, int h, int mi, int sec,
			       int offset_min, int64_t *out)
{
	int64_t t;

	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60 || offset_min < -1439 ||
	    offset_min > 1439)
		return RK_ERR_INVAL;
	if (sec == 60)
		sec = 59;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    (int64_t)offset_min * 60;
	if (t < 0 || t > 253402300799LL)
		return RK_ERR_INVAL;
	*out = t;
	return RK_OK;
}

enum rk_err rk_time_parse(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 1;
	int64_t t;
	size_t len;
	const char *p;

	if (!s)
		return RK_ERR_INVAL;
	len = strlen(s);
	if (len < 10 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
		return RK_ERR_INVAL;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo))
		return RK_ERR_INVAL;
	p = s + 10;
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return RK_ERR_INVAL;
		p++;
		if (strlen(p) < 5 || digits(p, 2, &h) || p[2] != ':' ||
		    digits(p + 3, 2, &mi))
			return RK_ERR_INVAL;
		p += 5;
		if (*p == ':') {
			if (digits(p + 1, 2, &sec))
				return RK_ERR_INVAL;
			p += 3;
			if (*p == '.' || *p == ',') {
				p++;
				if (*p < '0' || *p > '9')
					return RK_ERR_INVAL;
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return RK_ERR_INVAL;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			p++;
			if (digits(p, 2, &oh))
				return RK_ERR_INVAL;
			p += 2;
			if (*p == ':')
				p++;
			if (digits(p, 2, &om))
				return RK_ERR_INVAL;
			p += 2;
			if (oh > 23 || om > 59)
				return RK_ERR_INVAL;
		}
		if (*p)
			return RK_ERR_INVAL;
	}
	if (sec == 60)
		sec = 59;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	/* the offset can carry a time out of the range we print */
	if (t < 0 || t > 253402300799LL)
		return RK_ERR_INVAL;
	*out = t;
	return RK_OK;
}

static void to_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	memset(tm, 0, sizeof(*tm));
	gmtime_r(&tt, tm);
}

void rk_time_format(int64_t t, int offset_min, char out[RK_TIME_TEXT])
{
	struct tm tm;

	to_tm(t + (int64_t)offset_min * 60, &tm);
	strftime(out, RK_TIME_TEXT, "%Y-%m-%d %H:%M:%S", &tm);
}

void rk_time_format_iso(int64_t t, char out[RK_TIME_TEXT])
{
	struct tm tm;

	to_tm(t, &tm);
	strftime(out, RK_TIME_TEXT, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rk_time_format_day(int64_t t, char out[RK_TIME_TEXT])
{
	struct tm tm;

	to_tm(t, &tm);
	strftime(out, RK_TIME_TEXT, "%Y%m%d", &tm);
}

int64_t rk_now(void)
{
	return (int64_t)time(NULL);
}

void rk_duration_text(long long s, char *out, size_t len)
{
	if (s < 0)
		snprintf(out, len, "-");
	else if (s >= 86400)
		snprintf(out, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%lldm %llds", s / 60, s % 60);
}

double rk_seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}
