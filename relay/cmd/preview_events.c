/* preview --template T --lang L --events FILE: the notice a ticket with
 * these events would get, rendered exactly as `run` renders it (without
 * a database, signing or sending). */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/ingest.h"
#include "renraku/notify.h"

static int by_time(const void *a, const void *b)
{
	const struct store_event *x = a, *y = b;

	if (x->time_source != y->time_source)
		return x->time_source < y->time_source ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Parse every event of an IntelMQ file (JSON lines or an array); bad
 * records are reported and skipped. */
static enum rk_err load_events(struct app *app, const char *path,
			       struct store_event **out, size_t *n)
{
	struct rk_buf text;
	struct store_event *list = NULL;
	size_t count = 0, cap = 0;
	char reason[256];
	enum rk_err err;
	json_t *arr = NULL;
	const char *p, *end;
	long long line = 0;

	rk_buf_init(&text, RK_MAX_REPORT);
	if ((err = rk_buf_read_file(&text, path))) {
		rk_log_error(&app->log, "cannot read '%s': %s", path,
			     rk_strerror(err));
		goto cleanup;
	}
	p = text.data;
	end = text.data + text.len;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p < end && *p == '[') {
		json_error_t jerr;

		arr = json_loadb(text.data, text.len, 0, &jerr);
		if (!json_is_array(arr)) {
			err = rk_fail(&app->log, RK_ERR_PARSE, "%s:%d: %s", path,
				      jerr.line, jerr.text);
			goto cleanup;
		}
	}
	for (size_t i = 0;; i++) {
		const char *rec;
		size_t len;
		char *dumped = NULL;
		struct store_event ev;

		if (arr) {
			if (i >= json_array_size(arr))
				break;
			dumped = json_dumps(json_array_get(arr, i), JSON_COMPACT);
			if (!dumped) {
				err = RK_ERR_NOMEM;
				goto cleanup;
			}
			rec = dumped;
			len = strlen(dumped);
			line = (long long)i + 1;
		} else {
			const char *nl;

			if (p >= end)
				break;
			nl = memchr(p, '\n', (size_t)(end - p));
			rec = p;
			len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			p = nl ? nl + 1 : end;
			line++;
			while (len && (rec[len - 1] == '\r' || rec[len - 1] == ' '))
				len--;
			if (len == 0)
				continue;
		}
		memset(&ev, 0, sizeof(ev));
		err = ingest_intelmq_event(&app->cfg, rec, len, &ev, reason,
					   sizeof(reason));
		free(dumped);
		if (err == RK_ERR_INVAL) {
			rk_log_warn(&app->log, "%s:%lld: %s", path, line, reason);
			err = RK_OK;
			continue;
		}
		if (err)
			goto cleanup;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct store_event *grown = realloc(list, ncap * sizeof(*grown));

			if (!grown) {
				store_event_release(&ev);
				err = RK_ERR_NOMEM;
				goto cleanup;
			}
			list = grown;
			cap = ncap;
		}
		ev.id = (int64_t)count + 1;
		list[count++] = ev;
	}
	if (count == 0)
		err = rk_fail(&app->log, RK_ERR_PARSE, "%s: no valid event", path);
	else /* the order a ticket shows them in */
		qsort(list, count, sizeof(*list), by_time);
cleanup:
	json_decref(arr);
	rk_buf_release(&text);
	if (err) {
		store_events_free(list, count);
		return err;
	}
	*out = list;
	*n = count;
	return RK_OK;
}

int preview_events(struct app *app, const char *template_name,
		   const char *lang, const char *events_path)
{
	struct store_event *events = NULL;
	size_t n = 0;
	struct store_chain_entry who;
	struct store_ticket t;
	struct notify_rendered r = {NULL, NULL};
	struct rk_buf tmpl;
	json_t *ctx = NULL;
	char *dir = NULL, *partials = NULL, *path = NULL, *lang_used = NULL;
	char day[RK_TIME_TEXT];
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	memset(&who, 0, sizeof(who));
	rk_buf_init(&tmpl, RK_MAX_TEMPLATE);
	if (!rk_name_safe(template_name) || !rk_name_safe(lang)) {
		rk_log_error(&app->log, "template and language names are letters, digits, '-' and '_'");
		return RK_EXIT_USAGE;
	}
	if ((err = load_events(app, events_path, &events, &n)))
		goto cleanup;
	if ((err = rk_config_path(&app->cfg, app->cfg.relay.templates, &dir)) ||
	    (err = rk_path_join(dir, "_partials", &partials)))
		goto cleanup;
	if ((err = notify_template_path(dir, template_name, lang, &path,
					&lang_used))) {
		rk_log_error(&app->log, "no template '%s' in '%s'", template_name, dir);
		goto cleanup;
	}
	rk_time_format_day(rk_now(), day);
	snprintf(t.id, sizeof(t.id), "%.8s-000000", day);
	who.level = 0;
	who.email = "abuse@recipient.example";
	who.org = "Recipient Organization";
	t.chain = &who;
	t.nchain = 1;
	t.contact = who.email;
	t.template_name = (char *)template_name;
	t.lang = lang_used;
	for (size_t i = 0; i < n; i++) {
		if (events[i].tlp > t.tlp)
			t.tlp = events[i].tlp;
		if (events[i].severity > t.severity)
			t.severity = events[i].severity;
	}
	if ((err = notify_ticket_context(&app->cfg, &t, events, n,
					 "(fingerprint of the signing key)",
					 &ctx)) ||
	    (err = rk_buf_read_file(&tmpl, path)) ||
	    (err = notify_render_template(tmpl.data, tmpl.len, partials, ctx,
					  &r, &app->log))) {
		if (r.error[0]) /* name the template file with the line */
			rk_log_error(&app->log, "%s: %s", path, r.error);
		goto cleanup;
	}
	printf("Subject: %s\n\n%s", r.subject, r.body);
cleanup:
	if (err)
		rk_log_error(&app->log, "preview: %s", rk_strerror(err));
	json_decref(ctx);
	notify_rendered_release(&r);
	store_events_free(events, n);
	rk_buf_release(&tmpl);
	free(dir);
	free(partials);
	free(path);
	free(lang_used);
	/* a template that does not render is bad input, as with --data */
	return err == RK_ERR_TEMPLATE ? RK_EXIT_DATAERR : rk_exit_code(err);
}
