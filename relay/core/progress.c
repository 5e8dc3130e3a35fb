/* A progress bar on stderr (the shape of ingest's): "LABEL [####......]
 * 45%  45,000/100,000 events  85,000 events/s  0:02 left", redrawn in
 * place at most every RK_PROGRESS_PERIOD seconds; nothing at all when
 * the bar is off (stderr not a terminal). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "renraku/core.h"

#define RK_PROGRESS_PERIOD 0.25

static double seconds_between(const struct timespec *a,
			      const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void rk_progress_start(struct rk_progress *p, bool on, const char *label,
		       const char *unit, long long total)
{
	memset(p, 0, sizeof(*p));
	p->on = on;
	p->label = label;
	p->unit = unit;
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	p->last = p->started;
}

void rk_progress_show(struct rk_progress *p, long long done, bool final)
{
	struct timespec now;
	char bar[21];
	double elapsed, rate, left, frac;
	int fill;

	if (!p || !p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && p->shown &&
	    seconds_between(&p->last, &now) < RK_PROGRESS_PERIOD)
		return;
	p->last = now;
	p->shown = true;
	elapsed = seconds_between(&p->started, &now);
	frac = final ? 1.0
	       : p->total > 0 ? (double)done / (double)p->total
			      : 0.0;
	if (frac > 1.0)
		frac = 1.0;
	rate = elapsed > 0 ? (double)done / elapsed : 0;
	left = frac > 0 ? elapsed * (1.0 - frac) / frac : 0;
	fill = (int)(frac * 20.0);
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	fprintf(stderr, "\r%-8s [%s] %3d%%  %lld/%lld %s  %.0f %s/s  "
			"%lld:%02lld left ",
		p->label, bar, (int)(frac * 100.0), done,
		p->total > done ? p->total : done, p->unit, rate, p->unit,
		(long long)left / 60, (long long)left % 60);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}
