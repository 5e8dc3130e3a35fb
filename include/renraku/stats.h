/*
 * Stats: the quarterly report in the JPCERT/CC style (renraku stats).
 *
 *   report.c  the one computation: periods (quarters in UTC), the
 *             counts of relay/store/stats.c for the period and the one
 *             before, months and categories, medians and the 90th
 *             percentile of the time to the first human answer, and the
 *             networks ranked by responsiveness
 *             (the figures of `contacts stats` over the period,
 *             aggregated here from the period's timeline, read once
 *             by store_stats_facts_get for the answer times too)
 *   output.c  text, JSON, CSV (one file per table) and HTML, all from a
 *             struct stats_report; labels in English or Japanese
 *   svg.c     a small SVG writer: stacked bars and bars
 *
 * Owns: nothing stored.  May call: store, core.  Called by the command
 * line (stats); the service's /metrics calls the store functions
 * directly, so shared counts agree.
 */
#ifndef RENRAKU_STATS_H
#define RENRAKU_STATS_H

#include <stdio.h>

#include "renraku/core.h"
#include "renraku/store.h"

#define STATS_NCAT 8       /* JPCERT/CC categories (rk_category_at) */
#define STATS_MAX_MONTHS 120 /* the longest period a report covers */
#define STATS_TOP 10       /* networks listed each way */

/* ------------------------------------------------------------ periods */

/* "2026Q4" -> [2026-10-01, 2027-01-01) UTC.  RK_ERR_INVAL otherwise. */
enum rk_err stats_quarter_parse(const char *s, int64_t *since, int64_t *until);
/* The quarter holding t (UTC). */
void stats_quarter_of(int64_t t, int64_t *since, int64_t *until);
/* The period before [since, until): the previous quarter when it is one,
 * else the same length just before. */
void stats_previous(int64_t since, int64_t until, int64_t *psince,
		    int64_t *puntil);

/* ------------------------------------------------------------ quantiles */

/* Of v[0..n) sorted ascending: the median (mean of the middle two,
 * rounded down) and the 90th percentile (nearest rank); -1 when n = 0. */
long long stats_median(const long long *v, size_t n);
long long stats_p90(const long long *v, size_t n);

/* ------------------------------------------------------------ report */

struct stats_month {
	char month[8]; /* "YYYY-MM" */
	long long reports, events, tickets, notices;
	long long by_cat[STATS_NCAT];
};

struct stats_network {
	char contact[256]; /* "" for an AS */
	long long asn;     /* 0 for an address */
	long long tickets, notices, answered, bounced;
	long long median;  /* seconds, -1 none */
	double rate;       /* answered / tickets */
};

struct stats_groups {
	struct store_stats_group *rows; /* owned */
	size_t n;
};

struct stats_report {
	int64_t since, until, prev_since, prev_until;
	const char *lang;             /* "en" or "ja", static */
	long long min_notices;
	struct store_stats_counts cur;
	struct store_stats_counts prev; /* store_stats_totals_get's only */
	long long by_cat[STATS_NCAT], prev_by_cat[STATS_NCAT];
	struct stats_month *months;   /* owned, every month of the period */
	size_t n_months;
	struct stats_groups formats, reporters, states, levels;
	long long *delays;            /* owned, sorted seconds */
	size_t n_delays;
	long long median_ack, p90_ack; /* -1 none */
	double ack_rate;              /* acknowledged / notified tickets */
	double first_bounce_share;    /* first_bounced / notified tickets */
	struct stats_network least[2][STATS_TOP], most[2][STATS_TOP];
	size_t n_least[2], n_most[2]; /* [0] addresses, [1] ASes */
};

/* Compute the report for [since, until) (since < until, at most
 * STATS_MAX_MONTHS months) in language lang ("en"/"ja"); a network
 * ranks with at least min_notices notices.  Reads only: no transaction
 * needed beyond SQLite's statement snapshot.  Release with
 * stats_report_release. */
enum rk_err stats_compute(struct rk_store *store, int64_t since,
			  int64_t until, const char *lang,
			  long long min_notices, struct stats_report *out);
void stats_report_release(struct stats_report *r);

/* The responsiveness of every contact address (by_asn false) or origin
 * AS of the tickets in f, the figures store_responsiveness_all computes
 * (and `contacts stats`), from the timeline read once; rows in address
 * or AS order, caller frees *rows. */
enum rk_err stats_networks(const struct store_stats_facts *f, bool by_asn,
			   struct store_responsiveness_row **rows, size_t *n);

/* The index of category name in rk_category_at order (other = last). */
size_t stats_category_index(const char *name);

/* ------------------------------------------------------------ output */

/* A label of the report in its language (key: "reports", "events", ...);
 * the key itself when unknown.  Static. */
const char *stats_label(const char *key, const char *lang);

/* A duration of s seconds for people in lang: rk_duration_text's "2d 3h",
 * "4h 5m", "6m 7s" in English, "2日3時間", "4時間5分", "6分7秒" in
 * Japanese; "-" when s < 0 (none). */
void stats_duration_text(long long s, const char *lang, char *out, size_t len);

enum rk_err stats_write_text(const struct stats_report *r, struct rk_buf *out);
/* One JSON document (caller frees with json_decref) */
struct json_t;
struct json_t *stats_to_json(const struct stats_report *r);
/* One CSV file per table into dir (created when missing). */
enum rk_err stats_write_csv(const struct stats_report *r, const char *dir);
enum rk_err stats_write_html(const struct stats_report *r, struct rk_buf *out);

/* ------------------------------------------------------------ svg */

/* XML-escaped text of s into out. */
enum rk_err svg_escape(struct rk_buf *out, const char *s);

struct svg_chart {
	const char *title;
	const char *x_label, *y_label;
	const char *const *x;      /* n_x labels of the bars */
	size_t n_x;
	const char *const *series; /* n_series legend entries */
	size_t n_series;
	const long long *values;   /* n_x * n_series, row per bar */
	const char *lang;          /* "ja": a CJK font first */
};

/* A stacked bar chart (n_series 1: plain bars) as one <svg> element. */
enum rk_err svg_bars(struct rk_buf *out, const struct svg_chart *c);

#endif /* RENRAKU_STATS_H */
