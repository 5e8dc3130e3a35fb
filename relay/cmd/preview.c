/*
 * renraku preview: render a template to stdout.
 *
 *   preview --template FILE --data DATA.json [--partials DIR]
 *           [--escape html|none]
 *       any Mustache template against any JSON data; stdout gets exactly
 *       the rendered bytes and nothing else
 *   preview --template T --lang L --events FILE
 *       the notice the run would send for the events in FILE
 *       (preview_events.c)
 *
 * Exit codes: 0 ok, 1 unreadable files, 2 usage, 65 template syntax error,
 * bad JSON or input over a size limit.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cmd.h"
#include "renraku/notify.h"

static const char preview_help[] =
	"usage: renraku [--config FILE] preview --template T --lang L --events FILE\n"
	"       renraku preview --template FILE --data DATA.json [--partials DIR]\n"
	"               [--escape html|none]\n"
	"\n"
	"Render a template to stdout.  With --events: the notice the run would\n"
	"send for the IntelMQ events in FILE (needs the configuration, not the\n"
	"database).  With --data: any Mustache template against any JSON data,\n"
	"exactly the rendered bytes (needs neither).\n"
	"\n"
	"  --template T     a template name (with --events) or a file (with --data)\n"
	"  --lang L         the language of the notice (with --events)\n"
	"  --events FILE    IntelMQ events (JSON lines or an array)\n"
	"  --data FILE      JSON data to render against ('-' = standard input)\n"
	"  --partials DIR   where {{> name}} finds name.mustache (with --data)\n"
	"  --escape MODE    html or none (default none, with --data)\n"
	"  --help           this text\n";

struct preview_args {
	const char *template_arg;
	const char *lang;
	const char *events;
	const char *data;
	const char *partials;
	const char *escape;
};

/* Read a file ("-" = stdin) into b: an exit code. */
static int read_input(struct app *app, const char *what, const char *path,
		      struct rk_buf *b, const char *limit_name)
{
	enum rk_err err;

	errno = 0;
	if (strcmp(path, "-") == 0)
		err = rk_buf_read_stream(b, stdin);
	else
		err = rk_buf_read_file(b, path);
	if (err == RK_ERR_LIMIT) {
		rk_log_error(&app->log, "%s '%s' is larger than %s (%zu bytes)",
			     what, path, limit_name, b->max);
		return RK_EXIT_DATAERR;
	}
	if (err) {
		rk_log_error(&app->log, "cannot read %s '%s': %s", what, path,
			     errno ? strerror(errno) : rk_strerror(err));
		return RK_EXIT_FAILURE;
	}
	return RK_EXIT_OK;
}

static int preview_data(struct app *app, const struct preview_args *a)
{
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE};
	struct rk_buf tmpl, data_text, out;
	json_t *data = NULL;
	json_error_t jerr;
	char msg[512];
	enum rk_err err;
	int rc;

	rk_buf_init(&tmpl, RK_MAX_TEMPLATE);
	rk_buf_init(&data_text, RK_MAX_TEMPLATE_DATA);
	rk_buf_init(&out, RK_MAX_RENDERED);
	if (a->escape && strcmp(a->escape, "html") == 0) {
		opts.escape = MUSTACHE_ESCAPE_HTML;
	} else if (a->escape && strcmp(a->escape, "none") != 0) {
		rc = app_usage("preview: --escape takes 'html' or 'none', not '%s'",
			       a->escape);
		goto cleanup;
	}
	if (a->partials) {
		opts.partial = mustache_partial_from_dir;
		opts.partial_ud = (void *)a->partials;
	}
	if ((rc = read_input(app, "template", a->template_arg, &tmpl,
			     "RK_MAX_TEMPLATE")) ||
	    (rc = read_input(app, "data", a->data, &data_text,
			     "RK_MAX_TEMPLATE_DATA")))
		goto cleanup;
	data = json_loadb(data_text.data, data_text.len,
			  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!data) {
		rk_log_error(&app->log, "%s:%d:%d: %s", a->data, jerr.line,
			     jerr.column, jerr.text);
		rc = RK_EXIT_DATAERR;
		goto cleanup;
	}
	err = mustache_render(tmpl.data, tmpl.len, data, &opts, &out, msg,
			      sizeof(msg));
	if (err) {
		rk_log_error(&app->log, "%s: %s", a->template_arg,
			     msg[0] ? msg : rk_strerror(err));
		rc = err == RK_ERR_TEMPLATE ? RK_EXIT_DATAERR
					    : rk_exit_code(err);
		goto cleanup;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		rk_log_error(&app->log, "cannot write to stdout: %s",
			     strerror(errno));
		rc = RK_EXIT_FAILURE;
		goto cleanup;
	}
	rc = RK_EXIT_OK;
cleanup:
	json_decref(data);
	rk_buf_release(&tmpl);
	rk_buf_release(&data_text);
	rk_buf_release(&out);
	return rc;
}

int cmd_preview(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"template", required_argument, NULL, 't'},
		{"lang", required_argument, NULL, 'l'},
		{"events", required_argument, NULL, 'e'},
		{"data", required_argument, NULL, 'd'},
		{"partials", required_argument, NULL, 'p'},
		{"escape", required_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"preview --template T --lang L --events FILE\n"
		"       preview --template FILE --data DATA.json [--partials DIR] [--escape html|none]";
	struct preview_args a = {0};
	int c;

	while ((c = getopt_long(argc, argv, "t:l:e:d:p:x:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return app_help(preview_help);
		case 't': a.template_arg = optarg; break;
		case 'l': a.lang = optarg; break;
		case 'e': a.events = optarg; break;
		case 'd': a.data = optarg; break;
		case 'p': a.partials = optarg; break;
		case 'x': a.escape = optarg; break;
		default: return app_usage("%s", usage);
		}
	}
	if (optind < argc)
		return app_usage("preview: unexpected argument '%s'\n%s",
				 argv[optind], usage);
	if (!a.template_arg)
		return app_usage("preview: --template is required\n%s", usage);
	if (!a.data == !a.events)
		return app_usage("preview: give either --data or --events\n%s",
				 usage);
	if (a.events) {
		if (a.partials || a.escape)
			return app_usage("preview: --partials and --escape go with --data\n%s",
					 usage);
		if (!a.lang)
			return app_usage("preview: --events needs --lang\n%s",
					 usage);
		/* the notice takes the relay's name, address and templates */
		if (app_config(app))
			return RK_EXIT_FAILURE;
		return preview_events(app, a.template_arg, a.lang, a.events);
	}
	if (a.lang)
		return app_usage("preview: --lang goes with --events\n%s", usage);
	return preview_data(app, &a);
}
