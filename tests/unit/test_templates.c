/* Unit tests for the notice templates in templates/: every template folder
 * and language renders cleanly with every sample context in
 * tests/fixtures/templates/context-*.json (docs/templates.md), and the
 * templates' own text fits a 72-column plain-text window. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "testutil.h"
#include "renraku/notify.h"

#define MAX_COLUMNS 72
#define MAX_NAMES 64

/* The templates every installation needs (docs/templates.md). */
static const char *const required_templates[] = {
	"infected-system", "brute-force", "phishing",
	"vulnerable-system", "c2-server", "default",
};
static const char *const langs[] = { "en", "ja" };

struct names {
	char *name[MAX_NAMES];
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Entries of dir, sorted: directories not starting with '_' or '.' when
 * want_dirs, else files starting with prefix and ending with suffix. */
static void list_dir(const char *dir, bool want_dirs, const char *prefix,
		     const char *suffix, struct names *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	out->n = 0;
	if (!d)
		fail_msg("cannot open '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		char *path = NULL;
		bool match;

		if (e->d_name[0] == '.' || (want_dirs && e->d_name[0] == '_'))
			continue;
		assert_int_equal(rk_path_join(dir, e->d_name, &path), RK_OK);
		if (want_dirs)
			match = is_dir(path);
		else
			match = !is_dir(path) &&
				strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
				has_suffix(e->d_name, suffix);
		free(path);
		if (!match)
			continue;
		assert_true(out->n < MAX_NAMES);
		out->name[out->n++] = rk_strdup(e->d_name);
	}
	closedir(d);
	qsort(out->name, out->n, sizeof(out->name[0]), cmp_str);
}

static void names_release(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->name[i]);
	l->n = 0;
}

/* templates/<name>/<lang>.mustache; caller frees. */
static char *template_file(const char *name, const char *lang)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "templates/%s/%s.mustache", name, lang);
	return rk_test_source_path(rel);
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ------------------------------------------------------------ set */

static void test_required_templates_exist(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(required_templates) /
				sizeof(required_templates[0]); i++)
		for (size_t j = 0; j < sizeof(langs) / sizeof(langs[0]); j++) {
			char *path = template_file(required_templates[i],
						   langs[j]);

			if (!file_exists(path))
				fail_msg("missing template '%s'", path);
			free(path);
		}
}

/* Every {{> name}} in text names a file in partials_dir: a missing
 * partial renders as nothing (the spec), which would silently drop a
 * whole section of a notice. */
static void check_partials_exist(const char *file, const char *text,
				 const char *partials_dir)
{
	const char *p = text;

	while ((p = strstr(p, "{{>")) != NULL) {
		const char *end = strstr(p, "}}");
		char name[128], rel[160], *path = NULL;
		const char *s;
		size_t len;

		assert_non_null(end);
		for (s = p + 3; *s == ' '; s++)
			;
		len = (size_t)(end - s);
		while (len && s[len - 1] == ' ')
			len--;
		assert_true(len > 0 && len < sizeof(name));
		memcpy(name, s, len);
		name[len] = '\0';
		if (!rk_name_safe(name))
			fail_msg("%s: partial name '%s' is not a safe name",
				 file, name);
		snprintf(rel, sizeof(rel), "%s.mustache", name);
		assert_int_equal(rk_path_join(partials_dir, rel, &path), RK_OK);
		if (!file_exists(path))
			fail_msg("%s: partial '%s' not found in %s", file, name,
				 partials_dir);
		free(path);
		p = end;
	}
}

/* Lines of the template's own text (those holding no tag) fit
 * MAX_COLUMNS, with East Asian wide characters counted as two. */
static void check_literal_width(const char *file, char *text)
{
	char *line = text;
	int lineno = 1;

	while (line && *line) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (!strstr(line, "{{") && !strstr(line, "}}") &&
		    rk_utf8_width(line) > MAX_COLUMNS)
			fail_msg("%s:%d: %zu columns (max %d): %s", file,
				 lineno, rk_utf8_width(line), MAX_COLUMNS,
				 line);
		if (nl)
			*nl = '\n';
		line = nl ? nl + 1 : NULL;
		lineno++;
	}
}

static void check_template_file(const char *path, const char *partials_dir,
				bool is_notice)
{
	size_t len = 0;
	char *text = rk_test_read(path, &len);

	if (!rk_utf8_valid(text, len))
		fail_msg("%s: not valid UTF-8", path);
	if (is_notice) {
		if (strncmp(text, "Subject: ", 9) != 0)
			fail_msg("%s: first line must be \"Subject: ...\"",
				 path);
		{
			const char *nl = strchr(text, '\n');

			assert_non_null(nl);
			if (!strstr(text, "{{ticket.tag}}") ||
			    strstr(text, "{{ticket.tag}}") > nl)
				fail_msg("%s: the subject must hold "
					 "{{ticket.tag}}", path);
			if (nl[1] != '\n')
				fail_msg("%s: the subject line must be "
					 "followed by a blank line", path);
		}
	}
	check_partials_exist(path, text, partials_dir);
	check_literal_width(path, text);
	free(text);
}

static void test_template_text(void **state)
{
	char *tdir = rk_test_source_path("templates");
	char *pdir = rk_test_source_path("templates/_partials");
	struct names folders, partials;

	(void)state;
	list_dir(tdir, true, "", "", &folders);
	assert_true(folders.n >= 6);
	for (size_t i = 0; i < folders.n; i++) {
		char *dir = NULL;
		struct names files;

		assert_int_equal(rk_path_join(tdir, folders.name[i], &dir),
				 RK_OK);
		list_dir(dir, false, "", ".mustache", &files);
		for (size_t j = 0; j < files.n; j++) {
			char *path = NULL;

			assert_int_equal(rk_path_join(dir, files.name[j],
						      &path), RK_OK);
			check_template_file(path, pdir, true);
			free(path);
		}
		names_release(&files);
		free(dir);
	}
	list_dir(pdir, false, "", ".mustache", &partials);
	assert_true(partials.n > 0);
	for (size_t i = 0; i < partials.n; i++) {
		char *path = NULL;

		if (!rk_name_safe(partials.name[i]))
			fail_msg("partial file name '%s' is not a safe name",
				 partials.name[i]);
		assert_int_equal(rk_path_join(pdir, partials.name[i], &path),
				 RK_OK);
		check_template_file(path, pdir, false);
		free(path);
	}
	names_release(&partials);
	names_release(&folders);
	free(pdir);
	free(tdir);
}

/* ------------------------------------------------------------ rendering */

/* A string at a dotted path of ctx, or NULL. */
static const char *ctx_str(const json_t *ctx, const char *a, const char *b)
{
	json_t *v = json_object_get(ctx, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool ctx_true(const json_t *ctx, const char *a, const char *b)
{
	json_t *v = json_object_get(ctx, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_true(v);
}

static void check_body_has(const char *what, const char *body,
			   const char *needle)
{
	if (needle && !strstr(body, needle))
		fail_msg("%s: body lacks \"%s\":\n%s", what, needle, body);
}

static void check_rendered(const char *what, const char *lang,
			   const json_t *ctx,
			   const struct notify_rendered *r)
{
	const char *tag = ctx_str(ctx, "ticket", "tag");
	const char *body = r->body;
	const char *line;
	int lineno = 1;

	assert_non_null(tag);
	assert_non_null(r->subject);
	assert_non_null(body);
	if (!r->subject[0])
		fail_msg("%s: empty subject", what);
	if (!strstr(r->subject, tag))
		fail_msg("%s: subject \"%s\" lacks the tag %s", what,
			 r->subject, tag);
	if (strstr(r->subject, "{{") || strstr(body, "{{"))
		fail_msg("%s: a tag is left in the output:\n%s\n\n%s", what,
			 r->subject, body);
	if (!rk_utf8_valid(body, strlen(body)))
		fail_msg("%s: body is not valid UTF-8", what);
	if (body[0] == '\n' || body[0] == '\0')
		fail_msg("%s: body starts with a blank line", what);
	if (strcmp(lang, "ja") == 0)
		check_body_has(what, body, "ご担当者様");
	check_body_has(what, body, tag);
	check_body_has(what, body, ctx_str(ctx, "relay", "name"));
	check_body_has(what, body, ctx_str(ctx, "tlp", "label"));
	check_body_has(what, body, ctx_str(ctx, "ticket", "ack_url"));
	check_body_has(what, body, ctx_str(ctx, "signing", "fingerprint"));
	if (ctx_true(ctx, "csv", "attached"))
		check_body_has(what, body, ctx_str(ctx, "csv", "filename"));
	if (!ctx_str(ctx, "signing", "fingerprint") &&
	    strstr(body, "OpenPGP"))
		fail_msg("%s: claims an OpenPGP signature without a "
			 "signing key:\n%s", what, body);

	for (line = body; *line; lineno++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
			    line[len - 1] == '\r'))
			fail_msg("%s: body line %d ends with white space:\n%s",
				 what, lineno, body);
		if (len == 0 && nl && nl[1] == '\n')
			fail_msg("%s: two blank lines at body line %d:\n%s",
				 what, lineno, body);
		if (!nl)
			break;
		line = nl + 1;
	}
}

static void render_one(const char *tname, const char *lang,
		       const char *ctx_name, const char *ctx_path,
		       const char *partials_dir, const struct rk_log *log)
{
	char *path = template_file(tname, lang);
	char what[256];
	size_t len = 0;
	char *text = rk_test_read(path, &len);
	json_error_t jerr;
	json_t *ctx = json_load_file(ctx_path, 0, &jerr);
	struct notify_rendered r;
	enum rk_err err;

	snprintf(what, sizeof(what), "%s/%s.mustache with %s", tname, lang,
		 ctx_name);
	if (!ctx)
		fail_msg("%s: line %d: %s", ctx_path, jerr.line, jerr.text);
	memset(&r, 0, sizeof(r));
	err = notify_render_template(text, len, partials_dir, ctx, &r, log);
	if (err != RK_OK)
		fail_msg("%s: %s", what, rk_strerror(err));
	check_rendered(what, lang, ctx, &r);
	notify_rendered_release(&r);
	json_decref(ctx);
	free(text);
	free(path);
}

static void test_render_every_template(void **state)
{
	char *tdir = rk_test_source_path("templates");
	char *pdir = rk_test_source_path("templates/_partials");
	char *fdir = rk_test_source_path("tests/fixtures/templates");
	struct names folders, contexts;
	struct rk_log log;
	size_t rendered = 0;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	list_dir(tdir, true, "", "", &folders);
	list_dir(fdir, false, "context-", ".json", &contexts);
	assert_true(contexts.n >= 4);
	for (size_t i = 0; i < folders.n; i++)
		for (size_t j = 0; j < sizeof(langs) / sizeof(langs[0]); j++) {
			char *path = template_file(folders.name[i], langs[j]);
			bool present = file_exists(path);

			free(path);
			if (!present)
				continue;
			for (size_t k = 0; k < contexts.n; k++) {
				char *cpath = NULL;

				assert_int_equal(rk_path_join(fdir,
							      contexts.name[k],
							      &cpath), RK_OK);
				render_one(folders.name[i], langs[j],
					   contexts.name[k], cpath, pdir, &log);
				free(cpath);
				rendered++;
			}
		}
	assert_true(rendered >= 6 * 2 * contexts.n);
	names_release(&contexts);
	names_release(&folders);
	free(fdir);
	free(pdir);
	free(tdir);
}

/* The escalation paragraph appears exactly for upstream and national
 * recipients, and the addressee line only in Japanese. */
static void test_escalation_by_level(void **state)
{
	char *pdir = rk_test_source_path("templates/_partials");
	char *fpath = rk_test_source_path(
		"tests/fixtures/templates/context-infected-ja.json");
	struct rk_log log;
	static const char *const marker_en[] = { NULL, "upstream network",
						 "national CSIRT" };
	static const char *const marker_ja[] = { NULL, "上位の",
						 "ナショナル CSIRT" };

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	for (int level = 0; level <= 2; level++)
		for (size_t j = 0; j < sizeof(langs) / sizeof(langs[0]); j++) {
			bool ja = strcmp(langs[j], "ja") == 0;
			const char *const *marker = ja ? marker_ja : marker_en;
			char *path = template_file("infected-system", langs[j]);
			size_t len = 0;
			char *text = rk_test_read(path, &len);
			json_t *ctx = json_load_file(fpath, 0, NULL);
			struct notify_rendered r;

			assert_non_null(ctx);
			json_object_set_new(ctx, "level", json_integer(level));
			json_object_set_new(ctx, "direct",
					    json_boolean(level == 0));
			json_object_set_new(ctx, "upstream",
					    json_boolean(level == 1));
			json_object_set_new(ctx, "national",
					    json_boolean(level == 2));
			memset(&r, 0, sizeof(r));
			assert_int_equal(notify_render_template(text, len, pdir,
								ctx, &r, &log),
					 RK_OK);
			check_rendered(path, langs[j], ctx, &r);
			for (int other = 1; other <= 2; other++) {
				bool want = other == level;
				bool has = strstr(r.body, marker[other]) != NULL;

				if (want != has)
					fail_msg("%s level %d: \"%s\" %s:\n%s",
						 path, level, marker[other],
						 want ? "missing" : "present",
						 r.body);
			}
			if (!ja && strstr(r.body, "ご担当者様"))
				fail_msg("%s: Japanese in English", path);
			notify_rendered_release(&r);
			json_decref(ctx);
			free(text);
			free(path);
		}
	free(fpath);
	free(pdir);
}

/* ------------------------------------------------------------ shapes */

/* Events of shapes a template may receive, built through the real
 * context (notify_ticket_context), so that every sentence is checked
 * against what the events carry: a notice must not speak of an IP
 * address, a URL, a port or a protocol the events do not have, and must
 * show the data they do have. */
struct shape {
	const char *name;
	const char *ip, *fqdn, *url;
	uint32_t asn;
	const char *extra;      /* more JSON members for the data, or "" */
	const char *type;       /* NULL: the template's own type */
	const char *const *must;     /* in the body */
	const char *const *must_not; /* never in the body (both languages) */
};

static const char *const no_ip[] = {"IP address", "IP アドレスにおいて",
				    "IP アドレスから", "IP アドレスを利用",
				    "  IP アドレス  ", NULL};
static const char *const no_url[] = {"URL:", "exact URL", "URLs listed",
				     "「URL:」", NULL};
static const char *const no_ports[] = {"Dst port", "宛先ポート", "Src port",
				       "送信元ポート", "Protocol", "プロトコル",
				       "port it attacked", NULL};

static const char *const m_asn[] = {"AS64500", NULL};
static const char *const m_domain[] = {"only.example", NULL};
static const char *const m_url[] = {"http://only.example/login.php",
				    "URL:", NULL};
static const char *const m_bf_port[] = {"198.51.100.77", "22", "ssh",
					NULL};
static const char *const m_ip[] = {"198.51.100.77", NULL};
static const char *const nn_bf_port[] = {"51234", NULL};
static const char *const nn_scan[] = {"51234", "Src port", "送信元ポート",
				      "Dst port", "宛先ポート", "URL:", NULL};

static const struct shape shapes[] = {
	{"asn-only", NULL, NULL, NULL, 64500, "", NULL, m_asn, no_ip},
	{"domain-only", NULL, "only.example", NULL, 0, "", NULL, m_domain,
	 no_ip},
	{"url-without-ip", NULL, "only.example",
	 "http://only.example/login.php", 0, "", "phishing", m_url, no_ip},
	{"brute-force-dst-port", "198.51.100.77", NULL, NULL, 64501,
	 ", \"source.port\": 51234, \"destination.port\": 22, "
	 "\"protocol.application\": \"ssh\"",
	 "brute-force", m_bf_port, nn_bf_port},
	{"brute-force-no-dst-port", "198.51.100.77", NULL, NULL, 64501, "",
	 "brute-force", m_ip, no_ports},
	{"scanner-src-port-only", "198.51.100.77", NULL, NULL, 64501,
	 ", \"source.port\": 51234", "scanner", m_ip, nn_scan},
};

static void check_absent(const char *what, const char *body,
			 const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strstr(body, list[i]))
			fail_msg("%s: claims \"%s\", which the events do not "
				 "have:\n%s", what, list[i], body);
}

static void render_shape(const char *tname, const char *lang,
			 const struct shape *sh, const struct rk_log *log)
{
	char *tdir = rk_test_source_path("templates");
	char *pdir = rk_test_source_path("templates/_partials");
	char *path = template_file(tname, lang);
	const char *type = sh->type ? sh->type
		: strcmp(tname, "default") == 0 ? "spam" : tname;
	struct rk_config cfg;
	struct store_event ev;
	struct store_chain_entry who;
	struct store_ticket t;
	struct notify_rendered r;
	struct rk_buf data;
	json_t *ctx = NULL;
	char what[256];
	size_t len = 0;
	char *text = rk_test_read(path, &len);

	snprintf(what, sizeof(what), "%s/%s.mustache with %s (%s)", tname,
		 lang, sh->name, type);
	rk_test_config(&cfg);
	rk_buf_init(&data, 4096);
	assert_int_equal(rk_buf_addf(&data,
				     "{\"classification.type\": \"%s\", "
				     "\"time.source\": \"2026-11-20T09:00:00+00:00\"",
				     type), RK_OK);
	if (sh->ip)
		assert_int_equal(rk_buf_addf(&data, ", \"source.ip\": \"%s\"",
					     sh->ip), RK_OK);
	if (sh->fqdn)
		assert_int_equal(rk_buf_addf(&data, ", \"source.fqdn\": \"%s\"",
					     sh->fqdn), RK_OK);
	if (sh->url)
		assert_int_equal(rk_buf_addf(&data, ", \"source.url\": \"%s\"",
					     sh->url), RK_OK);
	if (sh->asn)
		assert_int_equal(rk_buf_addf(&data, ", \"source.asn\": %u",
					     (unsigned)sh->asn), RK_OK);
	assert_int_equal(rk_buf_addf(&data, "%s}", sh->extra), RK_OK);
	memset(&ev, 0, sizeof(ev));
	ev.id = 1;
	ev.time_source = 1795165200; /* 2026-11-20 09:00:00 UTC */
	ev.type = (char *)type;
	ev.source_ip = (char *)sh->ip;
	ev.source_fqdn = (char *)sh->fqdn;
	ev.source_url = (char *)sh->url;
	ev.source_asn = sh->asn;
	ev.tlp = RK_TLP_GREEN;
	ev.data = data.data;
	memset(&who, 0, sizeof(who));
	who.email = "abuse@recipient.example";
	who.org = "Recipient";
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "20261120-000001");
	t.contact = who.email;
	t.template_name = (char *)tname;
	t.lang = (char *)lang;
	t.tlp = RK_TLP_GREEN;
	t.chain = &who;
	t.nchain = 1;
	assert_int_equal(notify_ticket_context(&cfg, &t, &ev, 1, "FPR", RK_TEST_NOW, &ctx),
			 RK_OK);
	memset(&r, 0, sizeof(r));
	if (notify_render_template(text, len, pdir, ctx, &r, log) != RK_OK)
		fail_msg("%s: %s", what, r.error);
	check_rendered(what, lang, ctx, &r);
	for (size_t i = 0; sh->must[i]; i++)
		check_body_has(what, r.body, sh->must[i]);
	check_absent(what, r.body, sh->must_not);
	if (!sh->url)
		check_absent(what, r.body, no_url);
	notify_rendered_release(&r);
	json_decref(ctx);
	rk_config_release(&cfg);
	rk_buf_release(&data);
	free(text);
	free(path);
	free(pdir);
	free(tdir);
}

static void test_every_sentence_true(void **state)
{
	struct rk_log log;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	for (size_t i = 0; i < RK_ARRAY_LEN(required_templates); i++)
		for (size_t j = 0; j < RK_ARRAY_LEN(langs); j++)
			for (size_t k = 0; k < RK_ARRAY_LEN(shapes); k++)
				render_shape(required_templates[i], langs[j],
					     &shapes[k], &log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_required_templates_exist),
		cmocka_unit_test(test_template_text),
		cmocka_unit_test(test_render_every_template),
		cmocka_unit_test(test_escalation_by_level),
		cmocka_unit_test(test_every_sentence_true),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
