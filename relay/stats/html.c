/* One self-contained HTML page of a report: tables and inline SVG
 * charts, no external resources, a print stylesheet. */
#include <string.h>

#include "renraku/stats.h"

#define L(key) stats_label(key, r->lang)

static enum rk_err h(struct rk_buf *b, const char *s)
{
	return svg_escape(b, s); /* the same escaping serves HTML text */
}

static enum rk_err row2(struct rk_buf *b, const char *name,
			long long v)
{
	enum rk_err err;

	if ((err = rk_buf_adds(b, "<tr><th>")) || (err = h(b, name)) ||
	    (err = rk_buf_adds(b, "</th><td>")) || (err = rk_buf_addf(b, "%lld", v)))
		return err;
	return rk_buf_adds(b, "</td></tr>\n");
}

/* A time for people in the report's language; the seconds kept in
 * data-seconds for scripts (none: "-" and no attribute). */
static enum rk_err duration_cell(struct rk_buf *b, long long secs,
				 const char *lang)
{
	char text[64];

	stats_duration_text(secs, lang, text, sizeof(text));
	if (secs < 0)
		return rk_buf_addf(b, "<td>%s</td>", text);
	return rk_buf_addf(b, "<td data-seconds=\"%lld\">%s</td>", secs, text);
}

static enum rk_err section(struct rk_buf *b, const char *title)
{
	enum rk_err err;

	if ((err = rk_buf_adds(b, "<h2>")) || (err = h(b, title)))
		return err;
	return rk_buf_adds(b, "</h2>\n");
}

static enum rk_err chart_categories(const struct stats_report *r, struct rk_buf *b)
{
	const char *x[STATS_MAX_MONTHS];
	const char *series[STATS_NCAT];
	long long values[STATS_MAX_MONTHS * STATS_NCAT];
	struct svg_chart c = {
		.title = stats_label("by_category", r->lang),
		.x_label = L("month"), .y_label = L("events"),
		.x = x, .n_x = r->n_months, .series = series,
		.n_series = STATS_NCAT, .values = values, .lang = r->lang,
	};

	for (size_t s = 0; s < STATS_NCAT; s++)
		series[s] = rk_category_label(rk_category_at(s), r->lang);
	for (size_t i = 0; i < r->n_months; i++) {
		x[i] = r->months[i].month;
		for (size_t s = 0; s < STATS_NCAT; s++)
			values[i * STATS_NCAT + s] = r->months[i].by_cat[s];
	}
	return svg_bars(b, &c);
}

static enum rk_err chart_states(const struct stats_report *r, struct rk_buf *b)
{
	const char *x[16];
	long long values[16];
	struct svg_chart c = {
		.title = L("states"), .x_label = L("state"), .y_label = L("tickets"),
		.x = x, .n_series = 1, .values = values, .lang = r->lang,
	};

	for (size_t i = 0; i < r->states.n && c.n_x < 16; i++) {
		const char *k = r->states.rows[i].key;
		char key[160];
		const char *lab = k;

		/* every state has a label; one unknown here shows as stored */
		if ((size_t)snprintf(key, sizeof(key), "state_%s", k) < sizeof(key)) {
			lab = L(key);
			if (lab == key)
				lab = k;
		}
		x[c.n_x] = lab;
		values[c.n_x++] = r->states.rows[i].n;
	}
	return svg_bars(b, &c);
}

static enum rk_err chart_delays(const struct stats_report *r, struct rk_buf *b)
{
	static const char *const x[] = {"<1h", "1-4h", "4-24h", "1-3d", "3-7d", ">7d"};
	static const long long upto[] = {3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400};
	long long values[6] = {0};
	struct svg_chart c = {
		.title = L("ack_dist"), .x_label = L("time"), .y_label = L("tickets"),
		.x = x, .n_x = 6, .n_series = 1, .values = values, .lang = r->lang,
	};

	for (size_t i = 0; i < r->n_delays; i++) {
		size_t k = 0;

		while (k < 5 && r->delays[i] >= upto[k])
			k++;
		values[k]++;
	}
	return svg_bars(b, &c);
}

static enum rk_err networks_table(const struct stats_report *r, struct rk_buf *b,
				  int way)
{
	enum rk_err err = RK_OK;

	if ((err = section(b, L(way ? "most" : "least"))) ||
	    (err = rk_buf_addf(b, "<p>%s: %lld</p>\n<table><tr><th>", L("min_notices"),
			       r->min_notices)) ||
	    (err = rk_buf_addf(b, "%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
				  "<th>%s</th></tr>\n",
			       L("network"), L("notices"), L("answered"),
			       L("answer_rate"), L("bounced"), L("median"))))
		return err;
	for (int kind = 0; kind < 2 && !err; kind++) {
		const struct stats_network *ns = way ? r->most[kind] : r->least[kind];
		size_t n = way ? r->n_most[kind] : r->n_least[kind];

		for (size_t i = 0; i < n && !err; i++) {
			err = rk_buf_adds(b, "<tr><td>");
			if (!err && ns[i].contact[0])
				err = h(b, ns[i].contact);
			else if (!err)
				err = rk_buf_addf(b, "AS%lld", ns[i].asn);
			if (!err)
				err = rk_buf_addf(b, "</td><td>%lld</td><td>%lld</td>"
						     "<td>%.1f%%</td><td>%lld</td>",
						  ns[i].notices, ns[i].answered,
						  100.0 * ns[i].rate, ns[i].bounced);
			if (!err)
				err = duration_cell(b, ns[i].median, r->lang);
			if (!err)
				err = rk_buf_adds(b, "</tr>\n");
		}
	}
	return err ? err : rk_buf_adds(b, "</table>\n");
}

enum rk_err stats_write_html(const struct stats_report *r, struct rk_buf *b)
{
	char since[RK_TIME_TEXT], until[RK_TIME_TEXT];
	enum rk_err err;

	rk_time_format_iso(r->since, since);
	rk_time_format_iso(r->until, until);
	since[10] = until[10] = '\0';
	err = rk_buf_addf(
		b,
		"<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n"
		"<title>%s %s .. %s</title>\n<style>\n"
		"body{font-family:%s;margin:2em;color:#222}\n"
		"table{border-collapse:collapse;margin:0.5em 0 1.5em}\n"
		"th,td{border:1px solid #bbb;padding:0.2em 0.6em;text-align:right}\n"
		"th:first-child,td:first-child{text-align:left}\n"
		"figure{margin:1em 0;page-break-inside:avoid}\n"
		"@media print{body{margin:0.5cm;font-size:10pt}h2{page-break-after:avoid}"
		"table,svg{page-break-inside:avoid}}\n"
		"</style></head><body>\n<h1>",
		r->lang, L("title"), since, until,
		strcmp(r->lang, "ja") == 0
			? "'Noto Sans CJK JP','Noto Sans JP',sans-serif"
			: "'Noto Sans','DejaVu Sans',sans-serif");
	if (!err && !(err = h(b, L("title"))))
		err = rk_buf_addf(b, "</h1>\n<p>%s: %s .. %s</p>\n<table>\n",
				  L("period"), since, until);
	if (!err) {
		const struct {
			const char *key;
			long long cur, prev;
		} t[] = {
			{"reports", r->cur.reports, r->prev.reports},
			{"events", r->cur.events, r->prev.events},
			{"tickets", r->cur.tickets, r->prev.tickets},
			{"notices", r->cur.notices, r->prev.notices},
		};

		err = rk_buf_addf(b, "<tr><th></th><th>%s</th><th>%s</th></tr>\n",
				  L("count"), L("change"));
		for (size_t i = 0; !err && i < RK_ARRAY_LEN(t); i++)
			err = rk_buf_addf(b, "<tr><th>%s</th><td>%lld</td><td>%+lld</td></tr>\n",
					  L(t[i].key), t[i].cur, t[i].cur - t[i].prev);
		if (!err)
			err = rk_buf_adds(b, "</table>\n");
	}
	if (!err && !(err = section(b, L("by_month"))))
		err = rk_buf_addf(b, "<table><tr><th>%s</th><th>%s</th><th>%s</th>"
				     "<th>%s</th><th>%s</th></tr>\n",
				  L("month"), L("reports"), L("events"),
				  L("tickets"), L("notices"));
	for (size_t i = 0; !err && i < r->n_months; i++)
		err = rk_buf_addf(b, "<tr><td>%s</td><td>%lld</td><td>%lld</td>"
				     "<td>%lld</td><td>%lld</td></tr>\n",
				  r->months[i].month, r->months[i].reports,
				  r->months[i].events, r->months[i].tickets,
				  r->months[i].notices);
	if (!err && !(err = rk_buf_adds(b, "</table>\n")) &&
	    !(err = section(b, L("by_category"))))
		err = rk_buf_addf(b, "<table><tr><th>%s</th><th>%s</th><th>%s</th></tr>\n",
				  L("category"), L("count"), L("change"));
	for (size_t c = 0; !err && c < STATS_NCAT; c++)
		err = rk_buf_addf(b, "<tr><td>%s</td><td>%lld</td><td>%+lld</td></tr>\n",
				  rk_category_label(rk_category_at(c), r->lang),
				  r->by_cat[c], r->by_cat[c] - r->prev_by_cat[c]);
	if (!err && !(err = rk_buf_adds(b, "</table>\n<figure>\n")) &&
	    !(err = chart_categories(r, b)))
		err = rk_buf_adds(b, "</figure>\n");
	if (!err && !(err = section(b, L("delivery"))) &&
	    !(err = rk_buf_adds(b, "<table>\n")) &&
	    !(err = row2(b, L("sent"), r->cur.sent)) &&
	    !(err = row2(b, L("deferred"), r->cur.deferred)) &&
	    !(err = row2(b, L("bounced"), r->cur.bounced)) &&
	    !(err = row2(b, L("first_bounced"), r->cur.first_bounced)))
		err = rk_buf_addf(b, "<tr><th>%s</th><td>%.1f%%</td></tr>\n</table>\n",
				  L("share"), 100.0 * r->first_bounce_share);
	if (!err && !(err = section(b, L("response"))) &&
	    !(err = rk_buf_adds(b, "<table>\n")) &&
	    !(err = row2(b, L("acknowledged"), r->cur.acknowledged)) &&
	    !(err = row2(b, L("auto_acknowledged"), r->cur.auto_acknowledged)) &&
	    !(err = row2(b, L("disputed"), r->cur.disputed)) &&
	    !(err = row2(b, L("expired"), r->cur.expired)))
		err = rk_buf_addf(b, "<tr><th>%s</th><td>%.1f%%</td></tr>\n"
				     "<tr><th>%s</th>",
				  L("ack_rate"), 100.0 * r->ack_rate, L("median_ack"));
	if (!err && !(err = duration_cell(b, r->median_ack, r->lang)) &&
	    !(err = rk_buf_addf(b, "</tr>\n<tr><th>%s</th>", L("p90_ack"))) &&
	    !(err = duration_cell(b, r->p90_ack, r->lang)))
		err = rk_buf_adds(b, "</tr>\n</table>\n");
	if (!err && !(err = rk_buf_adds(b, "<figure>\n")) && !(err = chart_states(r, b)) &&
	    !(err = rk_buf_adds(b, "</figure>\n<figure>\n")) &&
	    !(err = chart_delays(r, b)))
		err = rk_buf_adds(b, "</figure>\n");
	if (!err && !(err = section(b, L("escalations"))))
		err = rk_buf_addf(b, "<table><tr><th>%s</th><th>%s</th></tr>\n",
				  L("level"), L("count"));
	for (size_t i = 0; !err && i < r->levels.n; i++) {
		if (!(err = rk_buf_adds(b, "<tr><td>")) &&
		    !(err = h(b, r->levels.rows[i].key)))
			err = rk_buf_addf(b, "</td><td>%lld</td></tr>\n",
					  r->levels.rows[i].n);
	}
	if (!err && !(err = rk_buf_adds(b, "</table>\n")) &&
	    !(err = networks_table(r, b, 0)) && !(err = networks_table(r, b, 1)) &&
	    !(err = rk_buf_adds(b, "<table>\n")) &&
	    !(err = row2(b, L("suppressed"), r->cur.suppressed)) &&
	    !(err = row2(b, L("withheld"), r->cur.withheld)))
		err = rk_buf_adds(b, "</table>\n</body></html>\n");
	return err;
}
