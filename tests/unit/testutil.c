/* Helpers shared by the unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "testutil.h"

char *rk_test_tmpdir(void)
{
	char tmpl[] = "/tmp/rkt.XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	return rk_strdup(dir);
}

void rk_test_rmtree(const char *path)
{
	if (path)
		rk_rmtree(path);
}

char *rk_test_source_path(const char *rel)
{
	const char *src = getenv("RK_SOURCE_DIR");
	char *out = NULL;

	assert_non_null(src);
	assert_int_equal(rk_path_join(src, rel, &out), RK_OK);
	return out;
}

struct rk_store *rk_test_store(const char *dir, const struct rk_log *log)
{
	struct rk_store *store = NULL;
	char *path = NULL;

	assert_int_equal(rk_path_join(dir, "test.db", &path), RK_OK);
	assert_int_equal(store_open(&store, path, 5000, log), RK_OK);
	free(path);
	store_set_now(store, RK_TEST_NOW);
	return store;
}

void rk_test_config(struct rk_config *cfg)
{
	assert_int_equal(rk_config_defaults(cfg), RK_OK);
	/* tests never reach the internet: only the local tables unless a
	 * test names its (loopback) sources */
	assert_int_equal(rk_str_set(&cfg->resolve.sources, "local"), RK_OK);
}

char *rk_test_read(const char *path, size_t *len)
{
	struct rk_buf b;

	rk_buf_init(&b, 1u << 30);
	assert_int_equal(rk_buf_read_file(&b, path), RK_OK);
	return rk_buf_detach(&b, len);
}

void *rk_test_parse_mail(const char *data, size_t len)
{
	GMimeStream *stream =
		g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	assert_non_null(m);
	return m;
}

struct rk_test_peer rk_test_https_peer(const char *dir, const char *routes,
				       const char *const *extra)
{
	struct rk_test_peer p = {0};
	char *mkcert = rk_test_source_path("tests/peers/mkcert.sh");
	char *script = rk_test_source_path("tests/peers/https_server.py");
	char cmd[4096], cert[1024], key[1024], portfile[1024];
	const char *argv[32];
	size_t argc = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "bash '%s' '%s'", mkcert, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(p.ca_file, sizeof(p.ca_file), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	argv[argc++] = "/usr/bin/python3";
	argv[argc++] = script;
	argv[argc++] = "--cert";
	argv[argc++] = cert;
	argv[argc++] = "--key";
	argv[argc++] = key;
	argv[argc++] = "--port-file";
	argv[argc++] = portfile;
	if (routes) {
		argv[argc++] = "--routes";
		argv[argc++] = routes;
	}
	for (; extra && *extra && argc < RK_ARRAY_LEN(argv) - 1; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	p.pid = fork();
	assert_true(p.pid >= 0);
	if (p.pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if ((f = fopen(portfile, "r"))) {
			char line[32];

			if (fgets(line, sizeof(line), f))
				p.port = (int)strtol(line, NULL, 10);
			fclose(f);
			if (p.port > 0)
				break;
		}
		usleep(50000);
	}
	free(mkcert);
	free(script);
	if (p.port <= 0)
		rk_test_peer_stop(&p);
	assert_true(p.port > 0);
	return p;
}

void rk_test_peer_stop(struct rk_test_peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}
