/* The command-line edge's library pieces: [transport] url checked when the
 * configuration loads (FILE:LINE), the database created 0600 whatever the
 * umask, and the data directory found at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static enum rk_err load(const char *text, const char *logpath)
{
	struct rk_config cfg;
	struct rk_log log;
	FILE *f = fopen(logpath, "w");
	enum rk_err err;

	assert_non_null(f);
	rk_log_init(&log, RK_LOG_ERROR);
	log.stream = f;
	rk_test_config(&cfg);
	err = rk_config_load_buffer(&cfg, "/etc/renraku/test.conf", text,
				    strlen(text), &log);
	rk_config_release(&cfg);
	fclose(f);
	return err;
}

static void transport_url(void **state)
{
	static const char *const good[] = {
		"maildir:outbox",      "maildir:/var/spool/renraku",
		"smtp://mail.example.org", "smtp://mail.example.org:25",
		"smtp://127.0.0.1:465",    "smtp://[::1]:2525",
		"smtp://[2001:db8::1]",
	};
	static const char *const bad[] = {
		"maildir:",           "smtp://",          "smtp://:25",
		"smtp://host:",       "smtp://host:0",    "smtp://host:65536",
		"smtp://host:25/",    "smtp://user@host", "smtp://-host",
		"smtp://[::1",        "smtp://[]:25",     "http://host",
		"smpt://host:25",     "/var/mail",        "smtp://host:2x5",
		"smtps://127.0.0.1:465", /* libESMTP has no implicit TLS */
	};
	char *dir = rk_test_tmpdir(), *logpath = NULL;
	char text[512];

	(void)state;
	assert_int_equal(rk_path_join(dir, "log", &logpath), RK_OK);
	for (size_t i = 0; i < RK_ARRAY_LEN(good); i++) {
		snprintf(text, sizeof(text), "[relay]\nname = x\n[transport]\nurl = %s\n",
			 good[i]);
		assert_int_equal(load(text, logpath), RK_OK);
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(bad); i++) {
		size_t len;
		char *msg;

		snprintf(text, sizeof(text), "[relay]\nname = x\n[transport]\nurl = %s\n",
			 bad[i]);
		assert_int_equal(load(text, logpath), RK_ERR_CONFIG);
		msg = rk_test_read(logpath, &len);
		/* the file, the line of the key, the key */
		if (!strstr(msg, "/etc/renraku/test.conf:4: [transport] url: '")) {
			print_error("url '%s': %s\n", bad[i], msg);
			fail();
		}
		free(msg);
	}
	free(logpath);
	rk_test_rmtree(dir);
	free(dir);
}

static void database_mode(void **state)
{
	static const mode_t masks[] = {022, 000, 0277};
	char *dir = rk_test_tmpdir();
	struct rk_log log;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	for (size_t i = 0; i < RK_ARRAY_LEN(masks); i++) {
		char name[32], *path = NULL, *wal = NULL;
		struct rk_store *store = NULL;
		struct stat st;
		mode_t old;

		snprintf(name, sizeof(name), "db%zu.db", i);
		assert_int_equal(rk_path_join(dir, name, &path), RK_OK);
		old = umask(masks[i]);
		assert_int_equal(store_open(&store, path, 5000, &log), RK_OK);
		umask(old);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		/* open in WAL mode: the -wal file has the database's mode */
		wal = malloc(strlen(path) + 5);
		assert_non_null(wal);
		snprintf(wal, strlen(path) + 5, "%s-wal", path);
		if (stat(wal, &st) == 0)
			assert_int_equal(st.st_mode & 0777, 0600);
		store_close(store);
		free(wal);
		free(path);
	}
	rk_test_rmtree(dir);
	free(dir);
}

static void data_dir(void **state)
{
	char *dir = NULL, *t = NULL;
	struct stat st;

	(void)state;
	/* a test binary is not installed: the source tree */
	assert_int_equal(rk_data_dir(&dir), RK_OK);
	assert_int_equal(rk_path_join(dir, "templates", &t), RK_OK);
	assert_int_equal(stat(t, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_string_equal(dir, getenv("RK_SOURCE_DIR"));
	free(t);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(transport_url),
		cmocka_unit_test(database_mode),
		cmocka_unit_test(data_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
