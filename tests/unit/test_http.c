/* Unit tests for relay/core/http.c against a real HTTPS server on
 * loopback (tests/peers/https_server.py) with a throwaway CA. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renraku/http.h"
#include "testutil.h"

struct fixture {
	char *dir;
	struct rk_test_peer peer;
	char base[128];
};

static const char routes_json[] =
	"{\"/ok\": {\"status\": 200, \"body\": \"hello\","
	"   \"headers\": {\"Content-Type\": \"application/rdap+json\"}},\n"
	" \"/r1\": {\"status\": 302, \"headers\": {\"Location\": \"{base}/r2\"}},\n"
	" \"/r2\": {\"status\": 301, \"headers\": {\"Location\": \"{base}/ok\"}},\n"
	" \"/to-http\": {\"status\": 302, \"headers\": {\"Location\":"
	"   \"http://127.0.0.1:1/ok\"}},\n"
	" \"/loop\": {\"status\": 302, \"headers\": {\"Location\": \"{base}/loop\"}},\n"
	" \"/429\": {\"status\": 429, \"headers\": {\"Retry-After\": \"7\"}},\n"
	" \"/429date\": {\"status\": 429, \"headers\": {\"Retry-After\":"
	"   \"{now+30}\"}},\n"
	" \"/404\": {\"status\": 404, \"body\": \"{}\"},\n"
	" \"/big\": {\"status\": 200, \"size\": 2000000},\n"
	" \"/bigchunked\": {\"status\": 200, \"size\": 2000000, \"chunked\": true},\n"
	" \"/hang\": {\"hang\": true},\n"
	" \"/slow*\": {\"status\": 200, \"body\": \"slow\", \"delay\": 0.5}}\n";

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *routes = NULL;
	FILE *f;

	fx->dir = rk_test_tmpdir();
	assert_int_equal(rk_path_join(fx->dir, "routes.json", &routes), RK_OK);
	f = fopen(routes, "w");
	assert_non_null(f);
	fputs(routes_json, f);
	fclose(f);
	fx->peer = rk_test_https_peer(fx->dir, routes, NULL);
	snprintf(fx->base, sizeof(fx->base), "https://127.0.0.1:%d",
		 fx->peer.port);
	free(routes);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	rk_test_peer_stop(&fx->peer);
	rk_test_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static struct rk_http *client(const struct fixture *fx,
			      struct rk_http_options *opt)
{
	struct rk_http *h = NULL;

	opt->ca_file = fx->peer.ca_file;
	if (!opt->timeout_ms)
		opt->timeout_ms = 5000;
	assert_int_equal(rk_http_new(&h, opt), RK_OK);
	return h;
}

/* One GET of base+path. */
static void get1(struct rk_http *h, const struct fixture *fx, const char *path,
		 size_t max_body, struct rk_http_response *r)
{
	char url[256];
	struct rk_http_request req = {.url = url, .accept = "application/rdap+json",
				      .max_body = max_body};

	snprintf(url, sizeof(url), "%s%s", fx->base, path);
	assert_int_equal(rk_http_fetch(h, &req, 1, r), RK_OK);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_get_ok(void **state)
{
	struct fixture *fx = *state;
	struct rk_http_options opt = {0};
	struct rk_http *h = client(fx, &opt);
	struct rk_http_response r;

	get1(h, fx, "/ok", 0, &r);
	assert_int_equal(r.err, RK_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 5);
	assert_string_equal(r.body, "hello");
	assert_string_equal(r.content_type, "application/rdap+json");
	assert_non_null(strstr(r.final_url, "/ok"));
	assert_int_equal(r.retry_after, -1);
	assert_int_equal(r.redirects, 0);
	rk_http_response_release(&r);
	/* 404 is an answer, not an error */
	get1(h, fx, "/404", 0, &r);
	assert_int_equal(r.err, RK_OK);
	assert_int_equal(r.status, 404);
	rk_http_response_release(&r);
	rk_http_free(h);
}

static void test_resolve_option(void **state)
{
	struct fixture *fx = *state;
	char entry[128], url[128];
	const char *resolve[] = {entry, NULL};
	struct rk_http_options opt = {.resolve = resolve};
	struct rk_http *h;
	struct rk_http_request req = {.url = url};
	struct rk_http_response r;

	snprintf(entry, sizeof(entry), "rdap.test:%d:127.0.0.1", fx->peer.port);
	snprintf(url, sizeof(url), "https://rdap.test:%d/ok", fx->peer.port);
	h = client(fx, &opt);
	assert_int_equal(rk_http_fetch(h, &req, 1, &r), RK_OK);
	assert_int_equal(r.err, RK_OK);
	assert_string_equal(r.body, "hello");
	rk_http_response_release(&r);
	rk_http_free(h);
}

static void test_untrusted_ca(void **state)
{
	struct fixture *fx = *state;
	struct rk_http *h = NULL;
	struct rk_http_options opt = {.timeout_ms = 5000};
	struct rk_http_response r;

	/* without the test CA the server's certificate is not trusted */
	assert_int_equal(rk_http_new(&h, &opt), RK_OK);
	get1(h, fx, "/ok", 0, &r);
	assert_int_equal(r.err, RK_ERR_TEMPFAIL);
	assert_null(r.body);
	assert_true(r.error[0] != '\0');
	rk_http_response_release(&r);
	rk_http_free(h);
}

static void test_redirects(void **state)
{
	struct fixture *fx = *state;
	struct rk_http_options opt = {.max_redirects = 5};
	struct rk_http *h = client(fx, &opt);
	struct rk_http_response r;

	get1(h, fx, "/r1", 0, &r);
	assert_int_equal(r.err, RK_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.redirects, 2);
	assert_string_equal(r.body, "hello");
	assert_non_null(strstr(r.final_url, "/ok"));
	rk_http_response_release(&r);
	/* a hop to plain http is refused even though the first URL was https */
	get1(h, fx, "/to-http", 0, &r);
	assert_int_equal(r.err, RK_ERR_INVAL);
	rk_http_response_release(&r);
	get1(h, fx, "/loop", 0, &r);
	assert_int_equal(r.err, RK_ERR_LIMIT);
	rk_http_response_release(&r);
	rk_http_free(h);

	/* max_redirects 0: the 3xx itself is the answer */
	opt.max_redirects = 0;
	h = client(fx, &opt);
	get1(h, fx, "/r1", 0, &r);
	assert_int_equal(r.err, RK_OK);
	assert_int_equal(r.status, 302);
	assert_int_equal(r.redirects, 0);
	rk_http_response_release(&r);
	rk_http_free(h);
}

static void test_scheme_refused(void **state)
{
	struct fixture *fx = *state;
	struct rk_http_options opt = {0};
	struct rk_http *h = client(fx, &opt);
	struct rk_http_request reqs[3] = {{.url = "http://127.0.0.1:1/x"},
					  {.url = "ftp://127.0.0.1/x"},
					  {.url = "not a url"}};
	struct rk_http_response r[3];

	assert_int_equal(rk_http_fetch(h, reqs, 3, r), RK_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].err, RK_ERR_INVAL);
		assert_int_equal(r[i].status, 0);
		rk_http_response_release(&r[i]);
	}
	rk_http_free(h);
}

static void test_retry_after(void **state)
{
	struct fixture *fx = *state;
	struct rk_http_options opt = {0};
	struct rk_http *h = client(fx, &opt);
	struct rk_http_response r;

	get1(h, fx, "/429", 0, &r);
	assert_int_equal(r.err, RK_OK);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after, 7);
	rk_http_response_release(&r);
	get1(h, fx, "/429date", 0, &r);
	assert_int_equal(r.status, 429);
	/* an HTTP-date 30 s after the answer's Date header */
	assert_true(r.retry_after >= 29 && r.retry_after <= 31);
	rk_http_response_release(&r);
	rk_http_free(h);
}

static void test_body_limit(void **state)
{
	struct fixture *fx = *state;
	struct rk_http_options opt = {0};
	struct rk_http *h = client(fx, &opt);
	struct rk_http_response r;

	get1(h, fx, "/big", 0, &r); /* default limit 1 MiB */
	assert_int_equal(r.err, RK_ERR_LIMIT);
	assert_null(r.body);
	rk_http_response_release(&r);
	get1(h, fx, "/bigchunked", 100000, &r);
	assert_int_equal(r.err, RK_ERR_LIMIT);
	assert_null(r.body);
	assert_non_null(strstr(r.error, "100000"));
	rk_http_response_release(&r);
	get1(h, fx, "/big", 3000000, &r);
	assert_int_equal(r.err, RK_OK);
	assert_int_equal(r.body_len, 2000000);
	rk_http_response_release(&r);
	rk_http_free(h);
}

static void test_timeout_and_refused(void **state)
{
	struct fixture *fx = *state;
	struct rk_http_options opt = {.timeout_ms = 500};
	struct rk_http *h = client(fx, &opt);
	struct rk_http_request req = {.url = "https://127.0.0.1:1/x"};
	struct rk_http_response r;
	double t0 = now_s();

	get1(h, fx, "/hang", 0, &r);
	assert_int_equal(r.err, RK_ERR_TEMPFAIL);
	assert_true(now_s() - t0 < 3.0);
	rk_http_response_release(&r);
	assert_int_equal(rk_http_fetch(h, &req, 1, &r), RK_OK);
	assert_int_equal(r.err, RK_ERR_TEMPFAIL);
	rk_http_response_release(&r);
	rk_http_free(h);
}

/* 8 requests of 0.5 s each: all at once with per_host 8, two by two
 * with per_host 2. */
static double batch_time(const struct fixture *fx, size_t per_host)
{
	struct rk_http_options opt = {.concurrency = 8, .per_host = per_host};
	struct rk_http *h = client(fx, &opt);
	char urls[8][256];
	struct rk_http_request reqs[8];
	struct rk_http_response r[8];
	double t0;

	for (int i = 0; i < 8; i++) {
		snprintf(urls[i], sizeof(urls[i]), "%s/slow%d", fx->base, i);
		reqs[i] = (struct rk_http_request){.url = urls[i]};
	}
	/* a first batch opens the connections (TLS handshakes are slow on a
	 * loaded machine); the second is timed */
	assert_int_equal(rk_http_fetch(h, reqs, 8, r), RK_OK);
	for (int i = 0; i < 8; i++)
		rk_http_response_release(&r[i]);
	t0 = now_s();
	assert_int_equal(rk_http_fetch(h, reqs, 8, r), RK_OK);
	t0 = now_s() - t0;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r[i].err, RK_OK);
		assert_string_equal(r[i].body, "slow");
		rk_http_response_release(&r[i]);
	}
	rk_http_free(h);
	return t0;
}

static void test_concurrency(void **state)
{
	struct fixture *fx = *state;
	double all = batch_time(fx, 8), pairs = batch_time(fx, 2);

	print_message("8 requests of 0.5 s: %.2f s at once, %.2f s two by two\n",
		      all, pairs);
	/* serial would be 4 s; margins for a loaded machine (sanitizers) */
	assert_true(all < 3.0);
	assert_true(all < pairs);
	assert_true(pairs >= 1.9); /* 4 rounds of 0.5 s */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_ok),
		cmocka_unit_test(test_resolve_option),
		cmocka_unit_test(test_untrusted_ca),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_scheme_refused),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_timeout_and_refused),
		cmocka_unit_test(test_concurrency),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
