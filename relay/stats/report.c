/* The one computation behind every output of renraku stats. */
#include <stdint.h>
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

/* ------------------------------------------------------------ the timeline, once */

/* The steps of one ticket at one level, summed. */
struct step_group {
	int64_t ticket;
	int level;
	long long notices, bounces, autos, humans;
	int64_t first_notice, first_human; /* INT64_MAX: none */
};

static enum rk_err group_steps(const struct store_stats_facts *f,
			       struct step_group **out, size_t *n_out)
{
	struct step_group *g = NULL;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (f->n_steps && !(g = calloc(f->n_steps, sizeof(*g))))
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < f->n_steps; i++) {
		const struct store_stats_step *s = &f->steps[i];
		struct step_group *w;

		if (!n || g[n - 1].ticket != s->ticket || g[n - 1].level != s->level) {
			w = &g[n++];
			w->ticket = s->ticket;
			w->level = s->level;
			w->first_notice = w->first_human = INT64_MAX;
		}
		w = &g[n - 1];
		switch (s->cause) {
		case STORE_STATS_CAUSE_NOTICE:
			w->notices++;
			if (s->at < w->first_notice)
				w->first_notice = s->at;
			break;
		case STORE_STATS_CAUSE_BOUNCE: w->bounces++; break;
		case STORE_STATS_CAUSE_AUTO: w->autos++; break;
		case STORE_STATS_CAUSE_HUMAN:
			w->humans++;
			if (s->at < w->first_human)
				w->first_human = s->at;
			break;
		default: break;
		}
	}
	*out = g;
	*n_out = n;
	return RK_OK;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Per ticket, from its first notice to its first human answer (any
 * level), when it came after the notice; sorted. */
static enum rk_err answer_times(const struct step_group *g, size_t ng,
				long long **out, size_t *n_out)
{
	long long *v = NULL;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < ng;) {
		int64_t q = INT64_MAX, h = INT64_MAX, ticket = g[i].ticket;

		for (; i < ng && g[i].ticket == ticket; i++) {
			if (g[i].first_notice < q)
				q = g[i].first_notice;
			if (g[i].first_human < h)
				h = g[i].first_human;
		}
		if (q != INT64_MAX && h != INT64_MAX && h >= q) {
			void *grown = v;

			if (rk_array_room(&grown, n, sizeof(*v))) {
				free(v);
				return RK_ERR_NOMEM;
			}
			v = grown;
			v[n++] = (long long)(h - q);
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_ll);
	*out = v;
	*n_out = n;
	return RK_OK;
}

/* one (network, step group) pair: an address at a ticket's level, or an
 * origin AS of a ticket and each level of that ticket */
struct net_entry {
	const char *email; /* NULL for an AS */
	int64_t asn;
	const struct step_group *g;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct net_entry *x = a, *y = b;
	int c = x->email ? strcmp(x->email, y->email)
			 : (x->asn < y->asn ? -1 : x->asn > y->asn);

	if (c)
		return c;
	if (x->g->ticket != y->g->ticket)
		return x->g->ticket < y->g->ticket ? -1 : 1;
	return x->g->level < y->g->level ? -1 : x->g->level > y->g->level;
}

static const struct store_stats_level *
level_of(const struct store_stats_facts *f, int64_t ticket, int level)
{
	size_t lo = 0, hi = f->n_levels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct store_stats_level *l = &f->levels[mid];
		int c = l->ticket != ticket ? (l->ticket < ticket ? -1 : 1)
					    : (l->level < level ? -1 : l->level > level);

		if (!c)
			return l;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* the first group of ticket in g[0..ng), ng when none */
static size_t groups_of(const struct step_group *g, size_t ng, int64_t ticket)
{
	size_t lo = 0, hi = ng;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g[mid].ticket < ticket)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ng && g[lo].ticket == ticket ? lo : ng;
}

static long long bounces_of(const struct store_stats_facts *f, const char *email)
{
	size_t lo = 0, hi = f->n_bounces;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->bounces[mid].name, email);

		if (!c)
			return f->bounces[mid].count;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

enum rk_err stats_networks(const struct store_stats_facts *f, bool by_asn,
			   struct store_responsiveness_row **rows_out,
			   size_t *n_out)
{
	struct step_group *g = NULL;
	struct net_entry *e = NULL;
	struct store_responsiveness_row *rows = NULL;
	long long *v = NULL;
	size_t ng = 0, ne = 0, n = 0, cap_e = 0;
	enum rk_err err;

	*rows_out = NULL;
	*n_out = 0;
	if ((err = group_steps(f, &g, &ng)))
		return err;
	/* the pairs: an address per level, an AS per level of its tickets */
	cap_e = ng;
	if (by_asn) {
		cap_e = 0;
		for (size_t i = 0; i < f->n_origins; i++)
			for (size_t k = groups_of(g, ng, f->origins[i].ticket);
			     k < ng && g[k].ticket == f->origins[i].ticket; k++)
				cap_e++;
	}
	if (cap_e && !(e = calloc(cap_e, sizeof(*e)))) {
		err = RK_ERR_NOMEM;
		goto done;
	}
	if (!by_asn) {
		for (size_t i = 0; i < ng; i++) {
			const struct store_stats_level *l =
				level_of(f, g[i].ticket, g[i].level);

			/* an address too long to name is not ranked */
			if (l && l->email && strlen(l->email) < sizeof(rows->address))
				e[ne++] = (struct net_entry){l->email, 0, &g[i]};
		}
	} else {
		for (size_t i = 0; i < f->n_origins; i++) {
			size_t k = groups_of(g, ng, f->origins[i].ticket);

			for (; k < ng && g[k].ticket == f->origins[i].ticket; k++)
				e[ne++] = (struct net_entry){NULL, f->origins[i].asn, &g[k]};
		}
	}
	if (ne)
		qsort(e, ne, sizeof(*e), cmp_entry);
	if (ne && !(v = malloc(ne * sizeof(*v)))) {
		err = RK_ERR_NOMEM;
		goto done;
	}
	/* one row per network, in its order */
	for (size_t i = 0; i < ne;) {
		struct store_responsiveness_row *w;
		size_t j = i, nv = 0;
		int64_t last = 0;
		bool any = false;
		void *grown = rows;

		if ((err = rk_array_room(&grown, n, sizeof(*rows))))
			goto done;
		rows = grown;
		w = &rows[n++];
		memset(w, 0, sizeof(*w));
		if (by_asn)
			w->asn = e[i].asn;
		else
			memcpy(w->address, e[i].email, strlen(e[i].email) + 1);
		for (; j < ne && (by_asn ? e[j].asn == e[i].asn
					 : strcmp(e[j].email, e[i].email) == 0);
		     j++) {
			const struct step_group *s = e[j].g;

			if (!any || s->ticket != last)
				w->r.tickets++;
			any = true;
			last = s->ticket;
			w->r.sent += s->notices;
			w->r.bounced += s->bounces;
			w->r.auto_acknowledged += s->autos;
			w->r.acknowledged += s->humans;
			if (s->first_notice != INT64_MAX && s->first_human != INT64_MAX)
				v[nv++] = (long long)(s->first_human - s->first_notice);
		}
		/* an address's refusals are its bounced deliveries (a bounce
		 * row records the level the ticket moved to) */
		if (!by_asn)
			w->r.bounced = bounces_of(f, w->address);
		if (nv)
			qsort(v, nv, sizeof(*v), cmp_ll);
		w->r.answered = (long long)nv;
		w->r.median_answer = stats_median(v, nv);
		i = j;
	}
done:
	free(v);
	free(e);
	free(g);
	if (err) {
		free(rows);
		return err;
	}
	*rows_out = rows;
	*n_out = n;
	return RK_OK;
}

static enum rk_err rank(const struct store_stats_facts *f, struct stats_report *r)
{
	enum rk_err err = RK_OK;

	for (int kind = 0; kind < 2 && !err; kind++) {
		struct store_responsiveness_row *rows = NULL;
		struct stats_network *all = NULL;
		size_t n = 0, kept = 0;

		if ((err = stats_networks(f, kind == 1, &rows, &n)))
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
	struct store_stats_facts facts = {0};
	struct step_group *groups = NULL;
	size_t n_groups = 0;
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
	    (err = store_stats_totals_get(store, out->prev_since,
					  out->prev_until, &out->prev)) ||
	    (err = fill_months(store, out)))
		goto fail;
	for (size_t i = 0; i < RK_ARRAY_LEN(gk); i++)
		if ((err = store_stats_groups(store, gk[i], since, until,
					      &gs[i]->rows, &gs[i]->n)))
			goto fail;
	/* the timeline of the period's tickets, read once: the answer
	 * times and the networks ranked */
	if ((err = store_stats_facts_get(store, since, until, &facts)))
		goto fail;
	if (!(err = group_steps(&facts, &groups, &n_groups)))
		err = answer_times(groups, n_groups, &out->delays, &out->n_delays);
	free(groups);
	if (err)
		goto fail;
	out->median_ack = stats_median(out->delays, out->n_delays);
	out->p90_ack = stats_p90(out->delays, out->n_delays);
	if (out->cur.notified) {
		out->ack_rate = (double)out->cur.acknowledged /
				(double)out->cur.notified;
		out->first_bounce_share = (double)out->cur.first_bounced /
					  (double)out->cur.notified;
	}
	if ((err = rank(&facts, out)))
		goto fail;
	store_stats_facts_release(&facts);
	return RK_OK;
fail:
	store_stats_facts_release(&facts);
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
