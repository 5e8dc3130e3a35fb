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

/* Every event of the file, read by the same reader and normalizer as
 * `renraku ingest` (bad records are warned about and skipped), in the
 * order a ticket shows them. */
static enum rk_err load_events(struct app *app, const char *path,
			       struct store_event **out, size_t *n)
{
	struct ingest_options opts = {INGEST_FORMAT_AUTO, NULL, false,
				      app->now};
	struct ingest_result res;
	enum rk_err err;

	memset(&res, 0, sizeof(res));
	err = ingest_file_events(&app->cfg, &app->log, &opts, path, out, n,
				 &res);
	ingest_result_release(&res);
	if (err)
		return err; /* the reason is logged already */
	if (*n == 0) {
		store_events_free(*out, *n);
		*out = NULL;
		return rk_fail(&app->log, RK_ERR_PARSE, "%s: no valid event",
			       path);
	}
	qsort(*out, *n, sizeof(**out), by_time);
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
	rk_time_format_day(app->now, day);
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
					 app->now, &ctx)) ||
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
