/* Text, JSON, CSV and HTML of one struct stats_report: every output
 * prints the same computed numbers. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "renraku/stats.h"

static const struct {
	const char *key, *en, *ja;
} labels[] = {
	{"title", "Incident handling report", "インシデント報告対応レポート"},
	{"period", "Period", "対象期間"},
	{"previous", "Previous period", "前期間"},
	{"reports", "Reports received", "報告件数"},
	{"events", "Events", "イベント件数"},
	{"tickets", "Incidents (tickets)", "インシデント件数"},
	{"notices", "Coordinations (notices sent)", "調整件数（通知送信）"},
	{"change", "Change", "前期比"},
	{"month", "Month", "月"},
	{"category", "Category", "カテゴリ"},
	{"count", "Count", "件数"},
	{"total", "Total", "合計"},
	{"by_month", "By month", "月別"},
	{"by_category", "By category", "カテゴリ別"},
	{"by_format", "Reports by format", "形式別の報告"},
	{"by_reporter", "Reports by reporter", "報告者別の報告"},
	{"format", "Format", "形式"},
	{"reporter", "Reporter", "報告者"},
	{"delivery", "Delivery", "配送"},
	{"sent", "Sent", "送信済み"},
	{"deferred", "Deferred", "保留"},
	{"bounced", "Bounced", "不達"},
	{"first_bounced", "Tickets whose first notice bounced",
	 "最初の通知が不達のチケット"},
	{"response", "Response", "応答"},
	{"acknowledged", "Acknowledged", "確認済み"},
	{"auto_acknowledged", "Auto-acknowledged", "自動応答"},
	{"disputed", "Disputed", "異議"},
	{"expired", "Expired", "期限切れ"},
	{"ack_rate", "Acknowledgement rate", "確認率"},
	{"median_ack", "Median time to first human answer",
	 "最初の人による回答までの時間（中央値）"},
	{"p90_ack", "90th percentile time to first human answer",
	 "最初の人による回答までの時間（90パーセンタイル）"},
	{"escalations", "Escalations by level", "レベル別エスカレーション"},
	{"level", "Level", "レベル"},
	{"least", "Least responsive networks", "応答の少ないネットワーク"},
	{"most", "Most responsive networks", "応答の多いネットワーク"},
	{"network", "Network", "ネットワーク"},
	{"answered", "Answered", "回答"},
	{"answer_rate", "Answer rate", "回答率"},
	{"median", "Median time", "時間（中央値）"},
	{"suppressed", "Suppressed events", "抑止されたイベント"},
	{"withheld", "Withheld events (TLP:RED)", "保留されたイベント（TLP:RED）"},
	{"states", "Tickets by final state", "最終状態別のチケット"},
	{"state", "State", "状態"},
	{"ack_dist", "Time to acknowledge", "確認までの時間"},
	{"time", "Time", "時間"},
	{"min_notices", "Networks ranked with at least this many notices",
	 "ランキング対象の最小通知数"},
	{"none", "none", "なし"},
	{"by_asn", "by origin AS", "発信元AS別"},
	{"by_contact", "by contact address", "連絡先アドレス別"},
	/* ticket states, as the chart of final states names them */
	{"state_open", "Open", "未通知"},
	{"state_held", "Held", "保留中"},
	{"state_notified", "Notified", "通知済み"},
	{"state_acknowledged", "Acknowledged", "確認済み"},
	{"state_auto-acknowledged", "Auto-acknowledged", "自動応答"},
	{"state_resolved", "Resolved", "解決済み"},
	{"state_disputed", "Disputed", "異議"},
	{"state_expired", "Expired", "期限切れ"},
	{"state_failed", "Failed", "失敗"},
	/* short column heads of the text tables */
	{"col_reports", "reports", "報告"},
	{"col_events", "events", "イベント"},
	{"col_tickets", "tickets", "インシデント"},
	{"col_notices", "notices", "通知"},
	{"col_answered", "answered", "回答"},
	{"col_bounced", "bounced", "不達"},
	{"col_median", "median", "中央値"},
	{"share", "share of notified tickets", "通知済みチケットに占める割合"},
};

const char *stats_label(const char *key, const char *lang)
{
	bool ja = lang && strcmp(lang, "ja") == 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(labels); i++)
		if (strcmp(labels[i].key, key) == 0)
			return ja ? labels[i].ja : labels[i].en;
	return key;
}

#define L(key) stats_label(key, r->lang)

void stats_duration_text(long long s, const char *lang, char *out, size_t len)
{
	if (!lang || strcmp(lang, "ja") != 0 || s < 0) {
		rk_duration_text(s, out, len);
		return;
	}
	if (s >= 86400)
		snprintf(out, len, "%lld日%lld時間", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%lld時間%lld分", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%lld分%lld秒", s / 60, s % 60);
}

/* buckets of the time-to-acknowledge distribution */
static const struct {
	long long upto; /* seconds, exclusive; 0 = no bound */
	const char *name;
} buckets[] = {
	{3600, "<1h"},    {4 * 3600, "1-4h"},     {86400, "4-24h"},
	{3 * 86400, "1-3d"}, {7 * 86400, "3-7d"}, {0, ">7d"},
};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static void bucket_counts(const struct stats_report *r, long long out[N_BUCKETS])
{
	memset(out, 0, sizeof(long long) * N_BUCKETS);
	for (size_t i = 0; i < r->n_delays; i++) {
		size_t b = 0;

		while (b + 1 < N_BUCKETS && r->delays[i] >= buckets[b].upto)
			b++;
		out[b]++;
	}
}

static void day_text(int64_t t, char out[RK_TIME_TEXT])
{
	rk_time_format_iso(t, out);
	out[10] = '\0';
}

static void network_name(const struct stats_network *n, char *out, size_t len)
{
	if (n->contact[0])
		snprintf(out, len, "%s", n->contact);
	else
		snprintf(out, len, "AS%lld", n->asn);
}

/* ------------------------------------------------------------ text */

enum rk_err stats_write_text(const struct stats_report *r, struct rk_buf *out)
{
	char a[RK_TIME_TEXT], b[RK_TIME_TEXT], c[RK_TIME_TEXT], d[RK_TIME_TEXT];
	char med[64], p90[64];
	const struct {
		const char *key;
		long long cur, prev;
	} totals[] = {
		{"reports", r->cur.reports, r->prev.reports},
		{"events", r->cur.events, r->prev.events},
		{"tickets", r->cur.tickets, r->prev.tickets},
		{"notices", r->cur.notices, r->prev.notices},
	};
	enum rk_err err;

	day_text(r->since, a);
	day_text(r->until, b);
	day_text(r->prev_since, c);
	day_text(r->prev_until, d);
	err = rk_buf_addf(out, "%s\n%s: %s .. %s (%s: %s .. %s)\n\n", L("title"),
			  L("period"), a, b, L("previous"), c, d);
	for (size_t i = 0; !err && i < RK_ARRAY_LEN(totals); i++)
		err = rk_buf_addf(out, "  %-32s %8lld  (%s %+lld)\n",
				  L(totals[i].key), totals[i].cur, L("change"),
				  totals[i].cur - totals[i].prev);
	if (!err)
		err = rk_buf_addf(out, "\n%s\n  %-8s %8s %8s %8s %8s\n", L("by_month"),
				  L("month"), L("col_reports"), L("col_events"),
				  L("col_tickets"), L("col_notices"));
	for (size_t i = 0; !err && i < r->n_months; i++)
		err = rk_buf_addf(out, "  %-8s %8lld %8lld %8lld %8lld\n",
				  r->months[i].month, r->months[i].reports,
				  r->months[i].events, r->months[i].tickets,
				  r->months[i].notices);
	if (!err)
		err = rk_buf_addf(out, "\n%s\n", L("by_category"));
	for (size_t i = 0; !err && i < STATS_NCAT; i++)
		err = rk_buf_addf(out, "  %-24s %-28s %8lld  (%s %+lld)\n",
				  rk_category_at(i),
				  rk_category_label(rk_category_at(i), r->lang),
				  r->by_cat[i], L("change"),
				  r->by_cat[i] - r->prev_by_cat[i]);
	if (!err)
		err = rk_buf_addf(out, "\n%s\n", L("by_format"));
	for (size_t i = 0; !err && i < r->formats.n; i++)
		err = rk_buf_addf(out, "  %-24s %8lld\n", r->formats.rows[i].key,
				  r->formats.rows[i].n);
	if (!err)
		err = rk_buf_addf(out, "\n%s\n", L("by_reporter"));
	for (size_t i = 0; !err && i < r->reporters.n; i++)
		err = rk_buf_addf(out, "  %-24s %8lld\n",
				  r->reporters.rows[i].key[0] ? r->reporters.rows[i].key : "-",
				  r->reporters.rows[i].n);
	stats_duration_text(r->median_ack, r->lang, med, sizeof(med));
	stats_duration_text(r->p90_ack, r->lang, p90, sizeof(p90));
	if (!err)
		err = rk_buf_addf(
			out,
			"\n%s\n  %-32s %8lld\n  %-32s %8lld\n  %-32s %8lld\n"
			"  %-32s %8lld (%.1f%%)\n",
			L("delivery"), L("sent"), r->cur.sent, L("deferred"),
			r->cur.deferred, L("bounced"), r->cur.bounced,
			L("first_bounced"), r->cur.first_bounced,
			100.0 * r->first_bounce_share);
	if (!err)
		err = rk_buf_addf(
			out,
			"\n%s\n  %-32s %8lld\n  %-32s %8lld\n  %-32s %8lld\n"
			"  %-32s %8lld\n  %-32s %7.1f%%\n  %-32s %8s\n  %-32s %8s\n",
			L("response"), L("acknowledged"), r->cur.acknowledged,
			L("auto_acknowledged"), r->cur.auto_acknowledged,
			L("disputed"), r->cur.disputed, L("expired"),
			r->cur.expired, L("ack_rate"), 100.0 * r->ack_rate,
			L("median_ack"), med, L("p90_ack"), p90);
	if (!err)
		err = rk_buf_addf(out, "\n%s\n", L("escalations"));
	for (size_t i = 0; !err && i < r->levels.n; i++)
		err = rk_buf_addf(out, "  %s %-4s %8lld\n", L("level"),
				  r->levels.rows[i].key, r->levels.rows[i].n);
	for (int way = 0; way < 2; way++) {
		for (int kind = 0; kind < 2 && !err; kind++) {
			const struct stats_network *ns = way ? r->most[kind] : r->least[kind];
			size_t n = way ? r->n_most[kind] : r->n_least[kind];

			err = rk_buf_addf(out, "\n%s, %s (%s >= %lld)\n",
					  L(way ? "most" : "least"),
					  L(kind ? "by_asn" : "by_contact"), L("notices"),
					  r->min_notices);
			for (size_t i = 0; !err && i < n; i++) {
				char name[300];

				network_name(&ns[i], name, sizeof(name));
				stats_duration_text(ns[i].median, r->lang, med, sizeof(med));
				err = rk_buf_addf(out,
						  "  %-32s %s %lld, %s %lld (%.0f%%), "
						  "%s %lld, %s %s\n",
						  name, L("col_notices"), ns[i].notices,
						  L("col_answered"), ns[i].answered,
						  100.0 * ns[i].rate, L("col_bounced"),
						  ns[i].bounced, L("col_median"), med);
			}
		}
	}
	if (!err)
		err = rk_buf_addf(out, "\n  %-32s %8lld\n  %-32s %8lld\n",
				  L("suppressed"), r->cur.suppressed, L("withheld"),
				  r->cur.withheld);
	return err;
}

/* ------------------------------------------------------------ JSON */

static json_t *networks_json(const struct stats_network *ns, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:f}", "tickets",
				      (json_int_t)ns[i].tickets, "notices",
				      (json_int_t)ns[i].notices, "answered",
				      (json_int_t)ns[i].answered, "bounced",
				      (json_int_t)ns[i].bounced, "answer_rate",
				      ns[i].rate);

		if (!o)
			continue;
		if (ns[i].contact[0])
			json_object_set_new(o, "contact", json_string(ns[i].contact));
		else
			json_object_set_new(o, "asn", json_integer(ns[i].asn));
		json_object_set_new(o, "median_ack_seconds",
				    ns[i].median < 0 ? json_null()
						     : json_integer(ns[i].median));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *seconds_or_null(long long s)
{
	return s < 0 ? json_null() : json_integer(s);
}

static json_t *groups_json(const struct stats_groups *g)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < g->n; i++)
		json_object_set_new(o, g->rows[i].key, json_integer(g->rows[i].n));
	return o;
}

json_t *stats_to_json(const struct stats_report *r)
{
	char since[RK_TIME_TEXT], until[RK_TIME_TEXT];
	char psince[RK_TIME_TEXT], puntil[RK_TIME_TEXT];
	json_t *doc, *months, *cats, *prev, *least, *most, *buckets_o, *change;
	long long bc[N_BUCKETS];

	rk_time_format_iso(r->since, since);
	rk_time_format_iso(r->until, until);
	rk_time_format_iso(r->prev_since, psince);
	rk_time_format_iso(r->prev_until, puntil);
	months = json_array();
	for (size_t i = 0; months && i < r->n_months; i++) {
		json_t *m = json_pack("{s:s, s:I, s:I, s:I, s:I}", "month",
				      r->months[i].month, "reports",
				      (json_int_t)r->months[i].reports, "events",
				      (json_int_t)r->months[i].events, "tickets",
				      (json_int_t)r->months[i].tickets, "notices",
				      (json_int_t)r->months[i].notices);
		json_t *mc = json_object();

		for (size_t c = 0; m && mc && c < STATS_NCAT; c++)
			json_object_set_new(mc, rk_category_at(c),
					    json_integer(r->months[i].by_cat[c]));
		if (m) {
			json_object_set_new(m, "by_category", mc);
			json_array_append_new(months, m);
		} else {
			json_decref(mc);
		}
	}
	cats = json_object();
	change = json_object();
	for (size_t c = 0; cats && change && c < STATS_NCAT; c++) {
		json_object_set_new(cats, rk_category_at(c), json_integer(r->by_cat[c]));
		json_object_set_new(change, rk_category_at(c),
				    json_integer(r->by_cat[c] - r->prev_by_cat[c]));
	}
	prev = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "since", psince,
			 "until", puntil, "reports", (json_int_t)r->prev.reports,
			 "events", (json_int_t)r->prev.events, "tickets",
			 (json_int_t)r->prev.tickets, "notices",
			 (json_int_t)r->prev.notices);
	least = json_pack("[o, o]", networks_json(r->least[0], r->n_least[0]),
			  networks_json(r->least[1], r->n_least[1]));
	most = json_pack("[o, o]", networks_json(r->most[0], r->n_most[0]),
			 networks_json(r->most[1], r->n_most[1]));
	bucket_counts(r, bc);
	buckets_o = json_object();
	for (size_t i = 0; buckets_o && i < N_BUCKETS; i++)
		json_object_set_new(buckets_o, buckets[i].name, json_integer(bc[i]));
	if (least && most) {
		/* one list each way: addresses first, then ASes */
		json_array_extend(json_array_get(least, 0), json_array_get(least, 1));
		json_array_extend(json_array_get(most, 0), json_array_get(most, 1));
	}
	doc = json_pack(
		"{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o,"
		" s:{s:I, s:I, s:I, s:I, s:I, s:f},"
		" s:{s:I, s:I, s:I, s:I, s:f, s:o, s:o, s:o, s:o},"
		" s:{s:O, s:O, s:I}, s:I, s:I, s:o, s:o, s:o, s:o}",
		"since", since, "until", until, "lang", r->lang, "reports",
		(json_int_t)r->cur.reports, "events", (json_int_t)r->cur.events,
		"tickets", (json_int_t)r->cur.tickets, "notices",
		(json_int_t)r->cur.notices, "by_month", months, "by_category", cats,
		"previous", prev, "change_by_category", change,
		"delivery", "sent", (json_int_t)r->cur.sent, "deferred",
		(json_int_t)r->cur.deferred, "bounced", (json_int_t)r->cur.bounced,
		"notified_tickets", (json_int_t)r->cur.notified,
		"first_notice_bounced", (json_int_t)r->cur.first_bounced,
		"first_notice_bounced_share", r->first_bounce_share,
		"response", "acknowledged", (json_int_t)r->cur.acknowledged,
		"auto_acknowledged", (json_int_t)r->cur.auto_acknowledged,
		"disputed", (json_int_t)r->cur.disputed, "expired",
		(json_int_t)r->cur.expired, "ack_rate", r->ack_rate,
		"median_ack_seconds", seconds_or_null(r->median_ack),
		"p90_ack_seconds", seconds_or_null(r->p90_ack),
		"answered_tickets", json_integer((json_int_t)r->n_delays),
		"ack_distribution", buckets_o,
		"networks", "least_responsive", least ? json_array_get(least, 0) : NULL,
		"most_responsive", most ? json_array_get(most, 0) : NULL,
		"min_notices", (json_int_t)r->min_notices,
		"suppressed", (json_int_t)r->cur.suppressed, "withheld",
		(json_int_t)r->cur.withheld, "reports_by_format",
		groups_json(&r->formats), "reports_by_reporter",
		groups_json(&r->reporters), "tickets_by_state",
		groups_json(&r->states), "escalations_by_level",
		groups_json(&r->levels));
	json_decref(least);
	json_decref(most);
	return doc;
}

/* ------------------------------------------------------------ CSV */

/* A CSV field: quoted when it holds a comma, quote or line break. */
static enum rk_err csv_field(struct rk_buf *b, const char *s, bool last)
{
	enum rk_err err = RK_OK;

	if (strpbrk(s, ",\"\r\n")) {
		err = rk_buf_addc(b, '"');
		for (; !err && *s; s++)
			err = *s == '"' ? rk_buf_adds(b, "\"\"") : rk_buf_addc(b, *s);
		if (!err)
			err = rk_buf_addc(b, '"');
	} else {
		err = rk_buf_adds(b, s);
	}
	return err ? err : rk_buf_adds(b, last ? "\r\n" : ",");
}

static enum rk_err write_file(const char *dir, const char *name,
			      const struct rk_buf *b)
{
	char path[4096];
	FILE *f;
	bool ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return RK_ERR_INVAL;
	if (!(f = fopen(path, "w")))
		return RK_ERR_IO;
	ok = fwrite(b->data, 1, b->len, f) == b->len;
	ok = fclose(f) == 0 && ok;
	return ok ? RK_OK : RK_ERR_IO;
}

static enum rk_err csv_groups(const char *dir, const char *name,
			      const char *head, const struct stats_groups *g)
{
	struct rk_buf b;
	enum rk_err err;

	rk_buf_init(&b, 64u << 20);
	err = rk_buf_addf(&b, "%s,count\r\n", head);
	for (size_t i = 0; !err && i < g->n; i++)
		if (!(err = csv_field(&b, g->rows[i].key, false)))
			err = rk_buf_addf(&b, "%lld\r\n", g->rows[i].n);
	if (!err)
		err = write_file(dir, name, &b);
	rk_buf_release(&b);
	return err;
}

/* seconds as a CSV field: empty when none (nobody answered) */
static const char *seconds_field(long long s, char out[32])
{
	if (s < 0)
		out[0] = '\0';
	else
		snprintf(out, 32, "%lld", s);
	return out;
}

enum rk_err stats_write_csv(const struct stats_report *r, const char *dir)
{
	char med[32], p90[32];
	struct rk_buf b;
	enum rk_err err;
	long long bc[N_BUCKETS];
	char since[RK_TIME_TEXT], until[RK_TIME_TEXT];

	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return RK_ERR_IO;
	rk_buf_init(&b, 64u << 20);
	rk_time_format_iso(r->since, since);
	rk_time_format_iso(r->until, until);
	/* summary: one metric a line, the previous period beside it */
	err = rk_buf_addf(
		&b,
		"metric,value,previous\r\nsince,%s,\r\nuntil,%s,\r\n"
		"reports,%lld,%lld\r\nevents,%lld,%lld\r\ntickets,%lld,%lld\r\n"
		"notices,%lld,%lld\r\nsuppressed,%lld,%lld\r\nwithheld,%lld,%lld\r\n",
		since, until, r->cur.reports, r->prev.reports, r->cur.events,
		r->prev.events, r->cur.tickets, r->prev.tickets, r->cur.notices,
		r->prev.notices, r->cur.suppressed, r->prev.suppressed,
		r->cur.withheld, r->prev.withheld);
	if (!err)
		err = write_file(dir, "summary.csv", &b);
	rk_buf_reset(&b);
	if (!err)
		err = rk_buf_adds(&b, "month,reports,events,tickets,notices");
	for (size_t c = 0; !err && c < STATS_NCAT; c++)
		err = rk_buf_addf(&b, ",%s", rk_category_at(c));
	if (!err)
		err = rk_buf_adds(&b, "\r\n");
	for (size_t i = 0; !err && i < r->n_months; i++) {
		err = rk_buf_addf(&b, "%s,%lld,%lld,%lld,%lld", r->months[i].month,
				  r->months[i].reports, r->months[i].events,
				  r->months[i].tickets, r->months[i].notices);
		for (size_t c = 0; !err && c < STATS_NCAT; c++)
			err = rk_buf_addf(&b, ",%lld", r->months[i].by_cat[c]);
		if (!err)
			err = rk_buf_adds(&b, "\r\n");
	}
	if (!err)
		err = write_file(dir, "by_month.csv", &b);
	rk_buf_reset(&b);
	if (!err)
		err = rk_buf_adds(&b, "category,label,count,previous\r\n");
	for (size_t c = 0; !err && c < STATS_NCAT; c++)
		err = rk_buf_addf(&b, "%s,%s,%lld,%lld\r\n", rk_category_at(c),
				  rk_category_label(rk_category_at(c), r->lang),
				  r->by_cat[c], r->prev_by_cat[c]);
	if (!err)
		err = write_file(dir, "by_category.csv", &b);
	rk_buf_reset(&b);
	if (!err)
		err = rk_buf_addf(&b,
				  "metric,value\r\nsent,%lld\r\ndeferred,%lld\r\n"
				  "bounced,%lld\r\nnotified_tickets,%lld\r\n"
				  "first_notice_bounced,%lld\r\n"
				  "first_notice_bounced_share,%.4f\r\n",
				  r->cur.sent, r->cur.deferred, r->cur.bounced,
				  r->cur.notified, r->cur.first_bounced,
				  r->first_bounce_share);
	if (!err)
		err = write_file(dir, "delivery.csv", &b);
	rk_buf_reset(&b);
	bucket_counts(r, bc);
	if (!err)
		err = rk_buf_addf(&b,
				  "metric,value\r\nacknowledged,%lld\r\n"
				  "auto_acknowledged,%lld\r\ndisputed,%lld\r\n"
				  "expired,%lld\r\nack_rate,%.4f\r\n"
				  "median_ack_seconds,%s\r\np90_ack_seconds,%s\r\n"
				  "answered_tickets,%zu\r\n",
				  r->cur.acknowledged, r->cur.auto_acknowledged,
				  r->cur.disputed, r->cur.expired, r->ack_rate,
				  seconds_field(r->median_ack, med),
				  seconds_field(r->p90_ack, p90), r->n_delays);
	for (size_t i = 0; !err && i < N_BUCKETS; i++)
		err = rk_buf_addf(&b, "ack_within_%s,%lld\r\n", buckets[i].name, bc[i]);
	if (!err)
		err = write_file(dir, "response.csv", &b);
	rk_buf_reset(&b);
	if (!err)
		err = rk_buf_adds(&b, "ranking,contact,asn,tickets,notices,answered,"
				      "answer_rate,bounced,median_ack_seconds\r\n");
	for (int way = 0; way < 2; way++)
		for (int kind = 0; kind < 2; kind++) {
			const struct stats_network *ns = way ? r->most[kind] : r->least[kind];
			size_t n = way ? r->n_most[kind] : r->n_least[kind];

			for (size_t i = 0; !err && i < n; i++) {
				err = rk_buf_adds(&b, way ? "most," : "least,");
				if (!err)
					err = csv_field(&b, ns[i].contact, false);
				if (!err && ns[i].asn)
					err = rk_buf_addf(&b, "%lld", ns[i].asn);
				if (!err)
					err = rk_buf_addf(&b, ",%lld,%lld,%lld,%.4f,%lld,%s\r\n",
							  ns[i].tickets, ns[i].notices,
							  ns[i].answered, ns[i].rate,
							  ns[i].bounced,
							  seconds_field(ns[i].median, med));
			}
		}
	if (!err)
		err = write_file(dir, "networks.csv", &b);
	rk_buf_release(&b);
	if (!err)
		err = csv_groups(dir, "reports_by_format.csv", "format", &r->formats);
	if (!err)
		err = csv_groups(dir, "reports_by_reporter.csv", "reporter", &r->reporters);
	if (!err)
		err = csv_groups(dir, "tickets_by_state.csv", "state", &r->states);
	if (!err)
		err = csv_groups(dir, "escalations_by_level.csv", "level", &r->levels);
	return err;
}
