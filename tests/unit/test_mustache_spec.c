/* The official Mustache spec tests (every JSON file in
 * tests/fixtures/mustache-spec) against relay/notify/mustache.c with HTML
 * escaping, as the spec expects.
 * Files whose name starts with '~' are optional modules: they run and are
 * counted, but only the required files can fail the test. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"
#include "testutil.h"

#define SPEC_DIR "tests/fixtures/mustache-spec"
#define MIN_REQUIRED 130 /* the required modules hold 136 tests */

struct counts {
	int run, passed;
};

/* Partials from the test's "partials" object. */
static enum rk_err spec_partial(void *ud, const char *name,
				struct rk_buf *out)
{
	const json_t *partials = ud;
	const json_t *text = json_object_get(partials, name);

	if (!json_is_string(text))
		return RK_ERR_NOTFOUND;
	return rk_buf_add(out, json_string_value(text),
			  json_string_length(text));
}

static bool run_one(const json_t *test, const char *file, bool required)
{
	const char *name = json_string_value(json_object_get(test, "name"));
	const json_t *tmpl = json_object_get(test, "template");
	const json_t *expected = json_object_get(test, "expected");
	json_t *partials = json_object_get(test, "partials");
	struct mustache_opts opts = {.escape = MUSTACHE_ESCAPE_HTML,
				     .partial = spec_partial,
				     .partial_ud = partials,
				     /* the spec: a missing partial is empty */
				     .missing_partial_empty = true};
	struct rk_buf out;
	char err[256];
	enum rk_err rc;
	bool ok;

	if (!json_is_string(tmpl) || !json_is_string(expected)) {
		printf("  %s: '%s': malformed test\n", file, name ? name : "?");
		return false;
	}
	rk_buf_init(&out, RK_MAX_RENDERED);
	rc = mustache_render(json_string_value(tmpl), json_string_length(tmpl),
			     json_object_get(test, "data"), &opts, &out, err,
			     sizeof(err));
	ok = rc == RK_OK && out.len == json_string_length(expected) &&
	     memcmp(out.data, json_string_value(expected), out.len) == 0;
	if (!ok) {
		printf("  %s %s: '%s'", required ? "FAIL" : "optional fail",
		       file, name ? name : "?");
		if (rc)
			printf(": %s (%s)\n", rk_strerror(rc), err);
		else
			printf(": got \"%s\"\n", out.data);
	}
	rk_buf_release(&out);
	return ok;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_spec(void **state)
{
	char *dir = rk_test_source_path(SPEC_DIR);
	DIR *d = opendir(dir);
	struct dirent *de;
	char **files = NULL;
	size_t nfiles = 0;
	struct counts req = {0}, opt = {0};

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		files = realloc(files, (nfiles + 1) * sizeof(*files));
		assert_non_null(files);
		files[nfiles] = rk_strdup(de->d_name);
		assert_non_null(files[nfiles++]);
	}
	closedir(d);
	qsort(files, nfiles, sizeof(*files), cmp_names);

	for (size_t f = 0; f < nfiles; f++) {
		bool required = files[f][0] != '~';
		struct counts *c = required ? &req : &opt;
		struct counts here = {0};
		char *path = NULL;
		json_error_t jerr;
		json_t *doc, *tests, *test;
		size_t i;

		assert_int_equal(rk_path_join(dir, files[f], &path), RK_OK);
		doc = json_load_file(path, 0, &jerr);
		if (!doc)
			fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
		tests = json_object_get(doc, "tests");
		assert_true(json_is_array(tests));
		json_array_foreach(tests, i, test) {
			here.run++;
			if (run_one(test, files[f], required))
				here.passed++;
		}
		printf("mustache spec: %s: %d of %d passed%s\n", files[f],
		       here.passed, here.run, required ? "" : " (optional)");
		c->run += here.run;
		c->passed += here.passed;
		json_decref(doc);
		free(path);
		free(files[f]);
	}
	free(files);
	free(dir);
	printf("mustache spec: %d of %d required tests passed (optional: %d of %d)\n",
	       req.passed, req.run, opt.passed, opt.run);
	if (req.run < MIN_REQUIRED)
		fail_msg("only %d required spec tests found in %s (expected at least %d): fixtures missing?",
			 req.run, SPEC_DIR, MIN_REQUIRED);
	if (req.passed != req.run)
		fail_msg("%d required spec tests failed", req.run - req.passed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
