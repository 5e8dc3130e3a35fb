/* A progress bar on stderr (the shape of ingest's): "LABEL [####......]
 * 45%  45,000/100,000 events  85,000 events/s  0:02 left", redrawn in
 * place at most every RK_PROGRESS_PERIOD seconds; nothing at all when
 * the bar is off (stderr not a terminal). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "renraku/core.h"

#define RK_PROGRESS_PERIOD 0.25

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

void rk_progress_draw(const char *label, int width, double frac,
		      const char *amount, double rate, const char *unit,
		      double elapsed, bool final)
{
	char bar[21];
	double left;
	int fill;

	if (frac > 1.0)
		frac = 1.0;
	left = frac > 0 ? elapsed * (1.0 - frac) / frac : 0;
	fill = (int)(frac * 20.0);
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	fprintf(stderr, "\r%-*s [%s] %3d%%  %s  %.0f %s/s  %lld:%02lld left ",
		width, label, bar, (int)(frac * 100.0), amount, rate, unit,
		(long long)left / 60, (long long)left % 60);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

void rk_progress_show(struct rk_progress *p, long long done, bool final)
{
	struct timespec now;
	char amount[64];
	double elapsed, frac;

	if (!p || !p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && p->shown &&
	    rk_seconds_between(&p->last, &now) < RK_PROGRESS_PERIOD)
		return;
	p->last = now;
	p->shown = true;
	elapsed = rk_seconds_between(&p->started, &now);
	frac = final ? 1.0
	       : p->total > 0 ? (double)done / (double)p->total
			      : 0.0;
	snprintf(amount, sizeof(amount), "%lld/%lld %s", done,
		 p->total > done ? p->total : done, p->unit);
	rk_progress_draw(p->label, 8, frac, amount,
			 elapsed > 0 ? (double)done / elapsed : 0, p->unit,
			 elapsed, final);
}
