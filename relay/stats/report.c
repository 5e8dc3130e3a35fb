/* The one computation behind every output of renraku stats. */
#include <stdlib.h>
#include <string.h>

#include "renraku/stats.h"

static void civil_of(int64_t t, int *y, int *mo)
{
	char s[RK_TIME_TEXT];

	rk_time_format_iso(t, s); /* YYYY-MM-DDTHH:MM:SSZ */
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	     (s[3] - '0');
	*mo = (s[5] - '0') * 10 + (s[6] - '0');
}

static int64_t month_start(int y, int mo)
{
	int64_t t = 0;

	while (mo > 12) {
		mo -= 12;
		y++;
	}
	while (mo < 1) {
		mo += 12;
		y--;
	}
	if (rk_time_from_civil(y, mo, 1, 0, 0, 0, 0, &t))
		return 0;
	return t;
}

enum rk_err stats_quarter_parse(const char *s, int64_t *since, int64_t *until)
{
	int y = 0;

	if (!s || strlen(s) != 6 || (s[4] != 'Q' && s[4] != 'q') ||
	    s[5] < '1' || s[5] > '4')
		return RK_ERR_INVAL;
	for (int i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RK_ERR_INVAL;
		y = y * 10 + (s[i] - '0');
	}
	if (y < 1970 || y > 9998)
		return RK_ERR_INVAL;
	*since = month_start(y, (s[5] - '1') * 3 + 1);
	*until = month_start(y, (s[5] - '1') * 3 + 4);
	return RK_OK;
}

void stats_quarter_of(int64_t t, int64_t *since, int64_t *until)
{
	int y, mo;

	civil_of(t, &y, &mo);
	mo = (mo - 1) / 3 * 3 + 1;
	*since = month_start(y, mo);
	*until = month_start(y, mo + 3);
}

void stats_previous(int64_t since, int64_t until, int64_t *psince,
		    int64_t *puntil)
{
	int64_t qs, qu;

	stats_quarter_of(since, &qs, &qu);
	if (qs == since && qu == until) {
		stats_quarter_of(since - 1, psince, puntil);
		return;
	}
	*puntil = since;
	*psince = since - (until - since);
}

long long stats_median(const long long *v, size_t n)
{
	if (!n)
		return -1;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

long long stats_p90(const long long *v, size_t n)
{
	size_t rank;

	if (!n)
		return -1;
	rank = (9 * n + 9) / 10; /* ceil(0.9 n) */
	return v[rank - 1];
}

size_t stats_category_index(const char *name)
{
	for (size_t i = 0; i < STATS_NCAT && rk_category_at(i); i++)
		if (name && strcmp(name, rk_category_at(i)) == 0)
			return i;
	return STATS_NCAT - 1;
}

static enum rk_err build_months(struct stats_report *r)
{
	int y, mo;
	int64_t t;

	civil_of(r->since, &y, &mo);
	for (t = month_start(y, mo); t < r->until; t = month_start(y, ++mo)) {
		struct stats_month *m;
		int yy, mm;
		void *grown = r->months;

		if (r->n_months >= STATS_MAX_MONTHS)
			return RK_ERR_INVAL;
		if (rk_array_room(&grown, r->n_months, sizeof(*r->months)))
			return RK_ERR_NOMEM;
		r->months = grown;
		m = &r->months[r->n_months++];
		memset(m, 0, sizeof(*m));
		civil_of(t, &yy, &mm);
		snprintf(m->month, sizeof(m->month), "%04d-%02d", yy, mm);
	}
	return RK_OK;
}

static struct stats_month *month_find(struct stats_report *r, const char *key)
{
	for (size_t i = 0; i < r->n_months; i++)
		if (strcmp(r->months[i].month, key) == 0)
			return &r->months[i];
	return NULL;
}

static enum rk_err fill_months(struct rk_store *store, struct stats_report *r)
{
	static const enum store_stats_grouping per_month[] = {
		STORE_STATS_REPORTS_BY_MONTH, STORE_STATS_TICKETS_BY_MONTH,
		STORE_STATS_NOTICES_BY_MONTH,
	};
	struct store_stats_group *g;
	size_t n;
	enum rk_err err;

	if ((err = store_stats_groups(store, STORE_STATS_EVENTS_BY_MONTH_CATEGORY,
				      r->since, r->until, &g, &n)))
		return err;
	for (size_t i = 0; i < n; i++) {
		struct stats_month *m = month_find(r, g[i].key);
		size_t c = stats_category_index(g[i].key2);

		r->by_cat[c] += g[i].n;
		if (m) {
			m->by_cat[c] += g[i].n;
			m->events += g[i].n;
		}
	}
	free(g);
	for (size_t k = 0; k < RK_ARRAY_LEN(per_month); k++) {
		if ((err = store_stats_groups(store, per_month[k], r->since,
					      r->until, &g, &n)))
			return err;
		for (size_t i = 0; i < n; i++) {
			struct stats_month *m = month_find(r, g[i].key);

			if (!m)
				continue;
			if (k == 0)
				m->reports = g[i].n;
			else if (k == 1)
				m->tickets = g[i].n;
			else
				m->notices = g[i].n;
		}
		free(g);
	}
	/* the previous period by category */
	if ((err = store_stats_groups(store, STORE_STATS_EVENTS_BY_MONTH_CATEGORY,
				      r->prev_since, r->prev_until, &g, &n)))
		return err;
	for (size_t i = 0; i < n; i++)
		r->prev_by_cat[stats_category_index(g[i].key2)] += g[i].n;
	free(g);
	return RK_OK;
}

/* least responsive first: lower answer rate, more bounces, more notices */
static int cmp_least(const void *a, const void *b)
{
	const struct stats_network *x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate < y->rate ? -1 : 1;
	if (x->bounced != y->bounced)
		return x->bounced > y->bounced ? -1 : 1;
	if (x->notices != y->notices)
		return x->notices > y->notices ? -1 : 1;
	if (x->asn != y->asn)
		return x->asn < y->asn ? -1 : 1;
	return strcmp(x->contact, y->contact);
}

/* most responsive first: higher answer rate, quicker median */
static int cmp_most(const void *a, const void *b)
{
	const struct stats_network *x = a, *y = b;
	long long mx = x->median < 0 ? -1 : x->median;
	long long my = y->median < 0 ? -1 : y->median;

	if (x->rate != y->rate)
		return x->rate > y->rate ? -1 : 1;
	if (mx != my) {
		if (mx < 0 || my < 0)
			return mx < 0 ? 1 : -1;
		return mx < my ? -1 : 1;
	}
	if (x->notices != y->notices)
		return x->notices > y->notices ? -1 : 1;
	if (x->asn != y->asn)
		return x->asn < y->asn ? -1 : 1;
	return strcmp(x->contact, y->contact);
}

static enum rk_err rank(struct rk_store *store, struct stats_report *r)
{
	enum rk_err err = RK_OK;

	for (int kind = 0; kind < 2 && !err; kind++) {
		struct store_responsiveness_row *rows = NULL;
		struct stats_network *all = NULL;
		size_t n = 0, kept = 0;

		if ((err = store_responsiveness_all(store, kind == 1, r->since,
						    r->until, &rows, &n)))
			break;
		all = n ? calloc(n, sizeof(*all)) : NULL;
		if (n && !all) {
			free(rows);
			err = RK_ERR_NOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			const struct store_responsiveness *resp = &rows[i].r;
			struct stats_network *w = &all[kept];

			if (resp->sent < r->min_notices)
				continue;
			w->asn = rows[i].asn;
			memcpy(w->contact, rows[i].address, sizeof(w->contact));
			w->tickets = resp->tickets;
			w->notices = resp->sent;
			w->answered = resp->answered;
			w->bounced = resp->bounced;
			w->median = resp->median_answer;
			w->rate = resp->tickets ? (double)resp->answered /
							  (double)resp->tickets
						: 0.0;
			kept++;
		}
		free(rows);
		if (kept)
			qsort(all, kept, sizeof(*all), cmp_least);
		r->n_least[kind] = kept < STATS_TOP ? kept : STATS_TOP;
		if (kept)
			memcpy(r->least[kind], all, r->n_least[kind] * sizeof(*all));
		if (kept)
			qsort(all, kept, sizeof(*all), cmp_most);
		/* a network that never answered is not among the most
		 * responsive, however few there are */
		while (kept && all[kept - 1].answered == 0)
			kept--;
		r->n_most[kind] = kept < STATS_TOP ? kept : STATS_TOP;
		if (kept)
			memcpy(r->most[kind], all, r->n_most[kind] * sizeof(*all));
		free(all);
	}
	return err;
}

enum rk_err stats_compute(struct rk_store *store, int64_t since,
			  int64_t until, const char *lang,
			  long long min_notices, struct stats_report *out)
{
	struct stats_groups *gs[] = {&out->formats, &out->reporters,
				     &out->states, &out->levels};
	static const enum store_stats_grouping gk[] = {
		STORE_STATS_REPORTS_BY_FORMAT, STORE_STATS_REPORTS_BY_REPORTER,
		STORE_STATS_TICKETS_BY_STATE, STORE_STATS_ESCALATIONS_BY_LEVEL,
	};
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	if (since >= until)
		return RK_ERR_INVAL;
	out->since = since;
	out->until = until;
	out->lang = lang && strcmp(lang, "ja") == 0 ? "ja" : "en";
	out->min_notices = min_notices;
	out->median_ack = out->p90_ack = -1;
	stats_previous(since, until, &out->prev_since, &out->prev_until);
	if ((err = build_months(out)) ||
	    (err = store_stats_counts_get(store, since, until, &out->cur)) ||
	    (err = store_stats_counts_get(store, out->prev_since,
					  out->prev_until, &out->prev)) ||
	    (err = fill_months(store, out)))
		goto fail;
	for (size_t i = 0; i < RK_ARRAY_LEN(gk); i++)
		if ((err = store_stats_groups(store, gk[i], since, until,
					      &gs[i]->rows, &gs[i]->n)))
			goto fail;
	if ((err = store_stats_ack_delays(store, since, until, &out->delays,
					  &out->n_delays)))
		goto fail;
	out->median_ack = stats_median(out->delays, out->n_delays);
	out->p90_ack = stats_p90(out->delays, out->n_delays);
	if (out->cur.notified) {
		out->ack_rate = (double)out->cur.acknowledged /
				(double)out->cur.notified;
		out->first_bounce_share = (double)out->cur.first_bounced /
					  (double)out->cur.notified;
	}
	if ((err = rank(store, out)))
		goto fail;
	return RK_OK;
fail:
	stats_report_release(out);
	return err;
}

void stats_report_release(struct stats_report *r)
{
	free(r->months);
	free(r->formats.rows);
	free(r->reporters.rows);
	free(r->states.rows);
	free(r->levels.rows);
	free(r->delays);
	memset(r, 0, sizeof(*r));
}
