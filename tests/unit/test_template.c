/* Unit tests for relay/notify/template.c and the parts of
 * relay/notify/mustache.c the spec does not cover: text mode, limits,
 * errors, partials from a directory. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "renraku/notify.h"
#include "testutil.h"

static void write_file(const char *dir, const char *rel, const char *text)
{
	char *path = NULL;

	assert_int_equal(rk_path_join(dir, rel, &path), RK_OK);
	assert_int_equal(rk_write_file_atomic(path, text, strlen(text), 0644),
			 RK_OK);
	free(path);
}

static void make_dir(const char *dir, const char *rel)
{
	char *path = NULL;

	assert_int_equal(rk_path_join(dir, rel, &path), RK_OK);
	assert_int_equal(rk_mkdir_p(path, 0755), RK_OK);
	free(path);
}

static json_t *json(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s", jerr.text);
	return v;
}

/* Render tmpl with data (JSON text) and opts; returns the error code and
 * leaves the output in *out (caller releases). */
static enum rk_err render(const char *tmpl, const char *data_text,
			  const struct mustache_opts *opts, struct rk_buf *out,
			  char *err, size_t errlen)
{
	json_t *data = json(data_text);
	enum rk_err rc = mustache_render(tmpl, strlen(tmpl), data, opts, out,
					 err, errlen);

	json_decref(data);
	return rc;
}

static void expect_render(const char *tmpl, const char *data_text,
			  enum mustache_escape escape, const char *expected)
{
	struct mustache_opts opts = {.escape = escape};
	struct rk_buf out;
	char err[256];

	rk_buf_init(&out, RK_MAX_RENDERED);
	assert_int_equal(render(tmpl, data_text, &opts, &out, err, sizeof(err)),
			 RK_OK);
	assert_string_equal(out.data, expected);
	rk_buf_release(&out);
}

static void expect_error(const char *tmpl, enum rk_err code,
			 const char *msg_prefix)
{
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE};
	struct rk_buf out;
	char err[256];

	rk_buf_init(&out, RK_MAX_RENDERED);
	assert_int_equal(render(tmpl, "{}", &opts, &out, err, sizeof(err)),
			 code);
	if (strncmp(err, msg_prefix, strlen(msg_prefix)) != 0)
		fail_msg("error '%s' does not start with '%s'", err, msg_prefix);
	assert_int_equal(out.len, 0);
	rk_buf_release(&out);
}

/* ------------------------------------------------------------ mustache */

static void test_text_mode(void **state)
{
	(void)state;
	expect_render("{{x}}|{{{x}}}|{{&x}}", "{\"x\": \"<&>\\\"\"}",
		      MUSTACHE_ESCAPE_NONE, "<&>\"|<&>\"|<&>\"");
	expect_render("{{x}}|{{{x}}}", "{\"x\": \"<&>\\\"\"}",
		      MUSTACHE_ESCAPE_HTML, "&lt;&amp;&gt;&quot;|<&>\"");
}

static void test_values(void **state)
{
	(void)state;
	expect_render("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} [{{g}}] [{{h}}]",
		      "{\"a\": 1.21, \"b\": 85, \"c\": -3, \"d\": 0.30000000000000004,"
		      " \"e\": true, \"f\": 2.5e20, \"g\": {\"x\": 1}, \"h\": null}",
		      MUSTACHE_ESCAPE_NONE,
		      "1.21 85 -3 0.30000000000000004 true 2.5e+20 [] []");
	/* "", 0, null, false, [] are false; {} and "0" are true */
	expect_render("{{#a}}A{{/a}}{{#b}}B{{/b}}{{#c}}C{{/c}}{{#d}}D{{/d}}"
		      "{{#e}}E{{/e}}{{#f}}F{{/f}}{{#g}}G{{/g}}{{^a}}!a{{/a}}",
		      "{\"a\": \"\", \"b\": 0, \"c\": null, \"d\": false,"
		      " \"e\": [], \"f\": {}, \"g\": \"0\"}",
		      MUSTACHE_ESCAPE_NONE, "FG!a");
	/* a notice-like loop with dotted names and the parent context */
	expect_render("{{#events}}{{ip}}:{{port}} {{ticket.id}}\n{{/events}}",
		      "{\"ticket\": {\"id\": \"T1\"}, \"events\": ["
		      "{\"ip\": \"192.0.2.1\", \"port\": \"22\"},"
		      "{\"ip\": \"192.0.2.2\", \"port\": \"23\"}]}",
		      MUSTACHE_ESCAPE_NONE,
		      "192.0.2.1:22 T1\n192.0.2.2:23 T1\n");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("a\n{{x", RK_ERR_TEMPLATE, "line 2: unclosed tag");
	expect_error("a\n\n{{#x}}\nb\n", RK_ERR_TEMPLATE,
		     "line 3: section 'x' is not closed");
	expect_error("{{#x}}\n{{/y}}", RK_ERR_TEMPLATE,
		     "line 2: section 'x' closed by 'y'");
	expect_error("{{/y}}", RK_ERR_TEMPLATE,
		     "line 1: closing tag 'y' without an open section");
	expect_error("{{{x}}", RK_ERR_TEMPLATE, "line 1: unclosed tag");
	expect_error("{{= a =}}", RK_ERR_TEMPLATE, "line 1: set-delimiter");
	expect_error("{{}}", RK_ERR_TEMPLATE, "line 1: empty tag name");
}

static void test_output_limit(void **state)
{
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE};
	struct rk_buf out;
	char err[256];

	(void)state;
	rk_buf_init(&out, 10);
	assert_int_equal(rk_buf_adds(&out, "keep"), RK_OK);
	assert_int_equal(render("{{#l}}{{.}}{{/l}}", "{\"l\": [\"abc\", \"def\", \"ghi\"]}",
				&opts, &out, err, sizeof(err)),
			 RK_ERR_LIMIT);
	assert_non_null(strstr(err, "larger than 10 bytes"));
	/* a failed render leaves the buffer as it was */
	assert_string_equal(out.data, "keep");
	rk_buf_release(&out);
}

static enum rk_err self_partial(void *ud, const char *name,
				struct rk_buf *out)
{
	(void)name;
	return rk_buf_adds(out, ud);
}

/* A large partial included again and again (through nested sections
 * that print nothing) must meet the work budget quickly, not run for
 * minutes: partial text counts towards RK_MAX_MUSTACHE_STEPS. */
static void test_partial_budget(void **state)
{
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE,
				     .partial = self_partial};
	struct rk_buf out, partial, data;
	char err[256];

	(void)state;
	rk_buf_init(&out, RK_MAX_RENDERED);
	rk_buf_init(&partial, RK_MAX_TEMPLATE);
	rk_buf_init(&data, 1 << 16);
	assert_int_equal(rk_buf_adds(&partial, "{{#a}}{{>p}}{{>p}}{{/a}}{{!"), RK_OK);
	while (partial.len < 512 * 1024)
		assert_int_equal(rk_buf_adds(&partial, "padding padding "), RK_OK);
	assert_int_equal(rk_buf_adds(&partial, "}}"), RK_OK);
	for (int i = 0; i < 20; i++)
		assert_int_equal(rk_buf_adds(&data, "{\"a\":"), RK_OK);
	assert_int_equal(rk_buf_adds(&data, "false"), RK_OK);
	for (int i = 0; i < 20; i++)
		assert_int_equal(rk_buf_addc(&data, '}'), RK_OK);
	opts.partial_ud = partial.data;
	assert_int_equal(render(partial.data, data.data, &opts, &out, err,
				sizeof(err)),
			 RK_ERR_LIMIT);
	if (!strstr(err, "RK_MAX_MUSTACHE_STEPS"))
		fail_msg("unexpected error: %s", err);
	rk_buf_release(&out);
	rk_buf_release(&partial);
	rk_buf_release(&data);
}

static void test_depth_limit(void **state)
{
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE,
				     .partial = self_partial};
	struct rk_buf out;
	struct rk_buf deep;
	char err[256];

	(void)state;
	rk_buf_init(&out, RK_MAX_RENDERED);
	opts.partial_ud = "x{{>self}}";
	assert_int_equal(render("{{>self}}", "{}", &opts, &out, err, sizeof(err)),
			 RK_ERR_LIMIT);
	assert_non_null(strstr(err, "RK_MAX_MUSTACHE_DEPTH"));
	assert_non_null(strstr(err, "in partial 'self'"));
	/* bounded recursion through data is fine */
	opts.partial_ud = "{{n}}{{#c}}>{{>self}}{{/c}}";
	assert_int_equal(render("{{>self}}",
				"{\"n\": 1, \"c\": {\"n\": 2, \"c\": {\"n\": 3, \"c\": false}}}",
				&opts, &out, err, sizeof(err)),
			 RK_OK);
	assert_string_equal(out.data, "1>2>3");
	rk_buf_release(&out);

	/* sections nested beyond the limit in the text itself */
	rk_buf_init(&deep, RK_MAX_TEMPLATE);
	for (int i = 0; i <= RK_MAX_MUSTACHE_DEPTH; i++)
		assert_int_equal(rk_buf_adds(&deep, "{{#a}}"), RK_OK);
	for (int i = 0; i <= RK_MAX_MUSTACHE_DEPTH; i++)
		assert_int_equal(rk_buf_adds(&deep, "{{/a}}"), RK_OK);
	expect_error(deep.data, RK_ERR_LIMIT, "line 1: sections nested deeper");
	rk_buf_release(&deep);
}

static void test_step_limit(void **state)
{
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE};
	struct rk_buf out, tmpl;
	char err[256];

	(void)state;
	/* 2^40 empty iterations must end with an error, not run forever */
	rk_buf_init(&tmpl, RK_MAX_TEMPLATE);
	rk_buf_init(&out, RK_MAX_RENDERED);
	for (int i = 0; i < 40; i++)
		assert_int_equal(rk_buf_adds(&tmpl, "{{#l}}"), RK_OK);
	for (int i = 0; i < 40; i++)
		assert_int_equal(rk_buf_adds(&tmpl, "{{/l}}"), RK_OK);
	assert_int_equal(render(tmpl.data, "{\"l\": [1, 2]}", &opts, &out, err,
				sizeof(err)),
			 RK_ERR_LIMIT);
	assert_non_null(strstr(err, "RK_MAX_MUSTACHE_STEPS"));
	rk_buf_release(&out);
	rk_buf_release(&tmpl);
}

static void test_partial_from_dir(void **state)
{
	char *dir = rk_test_tmpdir(), *sub = NULL;
	struct rk_buf out;
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_NONE,
				     .partial = mustache_partial_from_dir};
	char err[256];

	(void)state;
	make_dir(dir, "parts");
	make_dir(dir, "parts/sub");
	write_file(dir, "secret.mustache", "SECRET");
	write_file(dir, "parts/sub/p.mustache", "NESTED");
	write_file(dir, "parts/ok.mustache", "ok {{v}}\n");
	assert_int_equal(rk_path_join(dir, "parts", &sub), RK_OK);
	opts.partial_ud = sub;

	rk_buf_init(&out, RK_MAX_TEMPLATE);
	assert_int_equal(mustache_partial_from_dir(sub, "ok", &out), RK_OK);
	assert_string_equal(out.data, "ok {{v}}\n");
	rk_buf_reset(&out);
	assert_false(rk_name_safe("../x"));
	assert_int_equal(mustache_partial_from_dir(sub, "../secret", &out),
			 RK_ERR_NOTFOUND);
	assert_int_equal(mustache_partial_from_dir(sub, "sub/p", &out),
			 RK_ERR_NOTFOUND);
	assert_int_equal(mustache_partial_from_dir(sub, "/etc/passwd", &out),
			 RK_ERR_NOTFOUND);
	assert_int_equal(mustache_partial_from_dir(sub, "missing", &out),
			 RK_ERR_NOTFOUND);
	assert_int_equal(out.len, 0);
	/* through the engine: a refused name is a missing partial, an error
	 * naming line and partial (nothing of the output is left) */
	assert_int_equal(render("x\n[{{>../secret}}]\n", "{}", &opts, &out,
				err, sizeof(err)),
			 RK_ERR_TEMPLATE);
	assert_string_equal(err, "line 2: partial '../secret' not found");
	assert_int_equal(out.len, 0);
	assert_int_equal(render("{{>sub/p}}", "{}", &opts, &out, err,
				sizeof(err)),
			 RK_ERR_TEMPLATE);
	assert_string_equal(err, "line 1: partial 'sub/p' not found");
	/* in the spec's mode they render as nothing; a standalone partial
	 * is indented */
	opts.missing_partial_empty = true;
	assert_int_equal(render("[{{>../secret}}][{{>sub/p}}]\n  {{>ok}}\n",
				"{\"v\": 1}", &opts, &out, err, sizeof(err)),
			 RK_OK);
	assert_string_equal(out.data, "[][]\n  ok 1\n");
	rk_buf_release(&out);
	free(sub);
	rk_test_rmtree(dir);
	free(dir);
}

/* ------------------------------------------------------------ templates */

static void test_template_path(void **state)
{
	char *dir = rk_test_tmpdir(), *path = NULL, *lang = NULL, *name = NULL;
	char *want = NULL;

	(void)state;
	make_dir(dir, "phishing");
	make_dir(dir, "default");
	make_dir(dir, "_partials");
	write_file(dir, "phishing/en.mustache", "Subject: x\n\ny\n");
	write_file(dir, "phishing/ja.mustache", "Subject: x\n\ny\n");
	write_file(dir, "default/en.mustache", "Subject: x\n\ny\n");

	assert_int_equal(notify_template_path(dir, "phishing", "ja", &path, &lang),
			 RK_OK);
	assert_int_equal(rk_path_join(dir, "phishing/ja.mustache", &want), RK_OK);
	assert_string_equal(path, want);
	assert_string_equal(lang, "ja");
	free(path);
	free(lang);
	free(want);

	/* no German template: English */
	assert_int_equal(notify_template_path(dir, "phishing", "de", &path, &lang),
			 RK_OK);
	assert_int_equal(rk_path_join(dir, "phishing/en.mustache", &want), RK_OK);
	assert_string_equal(path, want);
	assert_string_equal(lang, "en");
	free(path);
	free(lang);
	free(want);

	assert_int_equal(notify_template_path(dir, "spam", "en", &path, &lang),
			 RK_ERR_TEMPLATE);
	assert_null(path);
	assert_null(lang);
	assert_int_equal(notify_template_path(dir, "../phishing", "en", &path, &lang),
			 RK_ERR_INVAL);
	assert_int_equal(notify_template_path(dir, "phishing", "../en", &path, &lang),
			 RK_ERR_INVAL);
	assert_int_equal(notify_template_path(dir, "_partials", "en", &path, &lang),
			 RK_ERR_INVAL);

	assert_int_equal(notify_template_for_type(dir, "phishing", &name), RK_OK);
	assert_string_equal(name, "phishing");
	free(name);
	assert_int_equal(notify_template_for_type(dir, "scanner", &name), RK_OK);
	assert_string_equal(name, "default");
	free(name);
	assert_int_equal(notify_template_for_type(dir, "../phishing", &name), RK_OK);
	assert_string_equal(name, "default");
	free(name);
	assert_int_equal(notify_template_for_type(dir, "_partials", &name), RK_OK);
	assert_string_equal(name, "default");
	free(name);
	assert_int_equal(notify_template_for_type(dir, NULL, &name), RK_OK);
	assert_string_equal(name, "default");
	free(name);
	rk_test_rmtree(dir);
	free(dir);
}

struct log_capture {
	struct rk_log log;
	FILE *stream;
};

static void capture_open(struct log_capture *c)
{
	rk_log_init(&c->log, RK_LOG_DEBUG);
	c->stream = tmpfile();
	assert_non_null(c->stream);
	c->log.stream = c->stream;
}

/* The captured text (caller frees); closes the stream. */
static char *capture_close(struct log_capture *c)
{
	struct rk_buf b;

	rk_buf_init(&b, 1 << 20);
	rewind(c->stream);
	assert_int_equal(rk_buf_read_stream(&b, c->stream), RK_OK);
	fclose(c->stream);
	return rk_buf_detach(&b, NULL);
}

static enum rk_err render_notice(const char *text, const char *data_text,
				 const char *partials_dir,
				 struct notify_rendered *r, char **log_text)
{
	struct log_capture cap;
	json_t *data = json(data_text);
	enum rk_err rc;

	capture_open(&cap);
	rc = notify_render_template(text, strlen(text), partials_dir, data, r,
				    &cap.log);
	json_decref(data);
	*log_text = capture_close(&cap);
	return rc;
}

static void test_render_notice(void **state)
{
	struct notify_rendered r = {0};
	char *log = NULL;

	(void)state;
	assert_int_equal(render_notice("Subject: {{tag}} Infected host {{ip}}\n"
				       "\n"
				       "Dear {{org}},\n"
				       "{{#events}}\n"
				       "  {{ip}}  <{{url}}>\n"
				       "{{/events}}\n",
				       "{\"tag\": \"[X #1]\", \"ip\": \"192.0.2.1\","
				       " \"org\": \"A&B <Ltd>\", \"events\": ["
				       "{\"ip\": \"192.0.2.1\", \"url\": \"http://x/?a=1&b=2\"}]}",
				       NULL, &r, &log),
			 RK_OK);
	assert_string_equal(r.subject, "[X #1] Infected host 192.0.2.1");
	assert_string_equal(r.body, "Dear A&B <Ltd>,\n"
				    "  192.0.2.1  <http://x/?a=1&b=2>\n");
	notify_rendered_release(&r);
	assert_null(r.subject);
	free(log);
}

static void test_subject_injection(void **state)
{
	struct notify_rendered r = {0};
	char *log = NULL;

	(void)state;
	assert_int_equal(render_notice("Subject: Notice for {{org}}  {{#x}}\t{{/x}} end\n"
				       "\n"
				       "Body {{org}}\n",
				       "{\"org\": \"Evil\\r\\nBcc: x@example.org\\r\\n\\r\\nbody\","
				       " \"x\": true}",
				       NULL, &r, &log),
			 RK_OK);
	assert_string_equal(r.subject,
			    "Notice for Evil Bcc: x@example.org body end");
	assert_null(strchr(r.subject, '\r'));
	assert_null(strchr(r.subject, '\n'));
	/* the body is plain text: the value appears there as it is, CR/LF
	 * normalized to LF */
	assert_string_equal(r.body, "Body Evil\nBcc: x@example.org\n\nbody\n");
	notify_rendered_release(&r);
	free(log);

	/* a tag left open in the subject cannot swallow the body */
	assert_int_equal(render_notice("Subject: {{#a}}x\n\nbody{{/a}}\n",
				       "{\"a\": true}", NULL, &r, &log),
			 RK_ERR_TEMPLATE);
	assert_non_null(strstr(log, "subject: line 1: section 'a' is not closed"));
	free(log);
}

static void test_subject_cap(void **state)
{
	struct notify_rendered r = {0};
	struct rk_buf data;
	char *log = NULL;
	size_t n;

	(void)state;
	rk_buf_init(&data, 1 << 20);
	assert_int_equal(rk_buf_adds(&data, "{\"v\": \"a"), RK_OK);
	for (int i = 0; i < 1000; i++) /* 3000 bytes of U+3042 */
		assert_int_equal(rk_buf_adds(&data, "\xe3\x81\x82"), RK_OK);
	assert_int_equal(rk_buf_adds(&data, "\"}"), RK_OK);
	assert_int_equal(render_notice("Subject: {{v}}\n\nb\n", data.data, NULL,
				       &r, &log),
			 RK_OK);
	n = strlen(r.subject);
	assert_true(n <= RK_MAX_SUBJECT);
	assert_true(n > RK_MAX_SUBJECT - 3);
	assert_true(rk_utf8_valid(r.subject, n));
	notify_rendered_release(&r);
	rk_buf_release(&data);
	free(log);
}

static void test_template_errors(void **state)
{
	struct notify_rendered r = {0};
	char *log = NULL;

	(void)state;
	assert_int_equal(render_notice("Hello\n\nbody\n", "{}", NULL, &r, &log),
			 RK_ERR_TEMPLATE);
	assert_non_null(strstr(log, "first line must be 'Subject: ...'"));
	assert_null(r.subject);
	assert_null(r.body);
	free(log);

	assert_int_equal(render_notice("", "{}", NULL, &r, &log),
			 RK_ERR_TEMPLATE);
	free(log);

	assert_int_equal(render_notice("Subject: x\nbody\n", "{}", NULL, &r, &log),
			 RK_ERR_TEMPLATE);
	assert_non_null(strstr(log, "line 2 must be blank"));
	free(log);

	/* line numbers of body errors are lines of the file */
	assert_int_equal(render_notice("Subject: x\n\nok\n{{#a}}\n", "{}", NULL,
				       &r, &log),
			 RK_ERR_TEMPLATE);
	assert_non_null(strstr(log, "body: line 4: section 'a' is not closed"));
	free(log);

	/* the rendered body must be UTF-8 */
	assert_int_equal(render_notice("Subject: x\n\n\xff\n", "{}", NULL, &r,
				       &log),
			 RK_ERR_TEMPLATE);
	assert_non_null(strstr(log, "not valid UTF-8"));
	free(log);
}

static void test_body_normalized(void **state)
{
	struct notify_rendered r = {0};
	char *log = NULL;

	(void)state;
	/* CRLF template, trailing blanks, no final newline */
	assert_int_equal(render_notice("Subject: s\r\n\r\nline 1   \r\n"
				       "{{v}}\t \r\nlast",
				       "{\"v\": \"two\\rthree\"}", NULL, &r, &log),
			 RK_OK);
	assert_string_equal(r.subject, "s");
	assert_string_equal(r.body, "line 1\ntwo\nthree\nlast\n");
	notify_rendered_release(&r);
	free(log);

	/* trailing blank lines collapse into one final newline */
	assert_int_equal(render_notice("Subject: s\n\nbody\n\n  \n\n", "{}", NULL,
				       &r, &log),
			 RK_OK);
	assert_string_equal(r.body, "body\n");
	notify_rendered_release(&r);
	free(log);
}

static void test_notice_partials(void **state)
{
	char *dir = rk_test_tmpdir();
	struct notify_rendered r = {0};
	char *log = NULL;

	(void)state;
	write_file(dir, "footer.mustache", "-- \n{{team}}\n");
	write_file(dir, "loop.mustache", "{{>loop}}");
	assert_int_equal(render_notice("Subject: s\n\nHi\n{{>footer}}\n",
				       "{\"team\": \"CSIRT\"}", dir, &r, &log),
			 RK_OK);
	assert_string_equal(r.body, "Hi\n--\nCSIRT\n");
	assert_string_equal(r.error, "");
	notify_rendered_release(&r);
	free(log);

	/* A typo in a partial name is an error naming the line of the
	 * template file and the partial, never a notice without that
	 * section. */
	assert_int_equal(render_notice("Subject: s\n\nHi\n{{>footer}}\n{{> tlp-enn}}\n",
				       "{\"team\": \"CSIRT\"}", dir, &r, &log),
			 RK_ERR_TEMPLATE);
	assert_null(r.body);
	assert_string_equal(r.error, "body: line 5: partial 'tlp-enn' not found");
	assert_non_null(strstr(log, "line 5: partial 'tlp-enn' not found"));
	free(log);
	/* inside a partial: both lines and both names */
	write_file(dir, "outer.mustache", "a\n{{>inner-typo}}\n");
	assert_int_equal(render_notice("Subject: s\n\n{{>outer}}\n", "{}", dir,
				       &r, &log),
			 RK_ERR_TEMPLATE);
	assert_string_equal(r.error, "body: line 3: in partial 'outer': line 2: partial 'inner-typo' not found");
	free(log);
	/* in the subject too */
	assert_int_equal(render_notice("Subject: {{>nope}}\n\nx\n", "{}", dir,
				       &r, &log),
			 RK_ERR_TEMPLATE);
	assert_string_equal(r.error, "subject: line 1: partial 'nope' not found");
	free(log);
	/* without a partials directory */
	assert_int_equal(render_notice("Subject: s\n\n{{>footer}}\n", "{}", NULL,
				       &r, &log),
			 RK_ERR_TEMPLATE);
	assert_non_null(strstr(r.error, "partial 'footer' not found"));
	free(log);

	assert_int_equal(render_notice("Subject: s\n\n{{>loop}}\n", "{}", dir,
				       &r, &log),
			 RK_ERR_LIMIT);
	assert_non_null(strstr(log, "RK_MAX_MUSTACHE_DEPTH"));
	free(log);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_mode),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_step_limit),
		cmocka_unit_test(test_partial_from_dir),
		cmocka_unit_test(test_template_path),
		cmocka_unit_test(test_render_notice),
		cmocka_unit_test(test_subject_injection),
		cmocka_unit_test(test_subject_cap),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_body_normalized),
		cmocka_unit_test(test_notice_partials),
		cmocka_unit_test(test_partial_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
