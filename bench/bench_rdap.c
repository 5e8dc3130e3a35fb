/*
 * bench_rdap: the rdap source against a local RDAP server that answers
 * after a fixed delay, as a registry across the world would.
 *
 * 100,000 distinct IPv4 addresses over 5,000 /24 networks (20 each,
 * shuffled) are resolved through resolve_batch in batches of 1,000 (as
 * the resolve stage hands them), with an empty store: remote questions
 * (counted by the server) must not exceed the networks plus the
 * bootstrap (here read from disk: 0), and the wall time is compared with
 * the same questions asked one by one (the server's delay times the
 * networks: 5,000 x 20 ms = 100 s, and a measured serial round trip).
 * Then a new resolver, loading the cache from the store, looks the same
 * addresses up again: warm lookups/s, next to rk_addr_parse of the same
 * addresses.
 *
 * The server is tests/peers/https_server.py (--synth-prefix 24) with a
 * throwaway CA (tests/peers/mkcert.sh), on 127.0.0.1.
 * Knobs: RK_BENCH_RDAP_NETWORKS (5000), RK_BENCH_RDAP_PER_NET (20),
 * RK_BENCH_RDAP_DELAY_MS (20), RK_BENCH_RDAP_CONCURRENCY (32),
 * RK_BENCH_RDAP_LOOKUPS (2000000).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "renraku/http.h"
#include "renraku/resolve.h"

#define BATCH 1000

static pid_t start_server(const char *dir, int delay_ms, int *port)
{
	char cmd[2048], cert[512], key[512], portfile[512], delay[32];
	const char *src = RK_SOURCE_DATA_DIR;
	char script[1024];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "bash '%s/tests/peers/mkcert.sh' '%s'", src, dir);
	if (system(cmd) != 0)
		bench_die("cannot make the test CA (openssl)");
	snprintf(script, sizeof(script), "%s/tests/peers/https_server.py", src);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	snprintf(delay, sizeof(delay), "%d", delay_ms);
	pid = fork();
	if (pid < 0)
		bench_die("fork failed");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the bench */
		execl("/usr/bin/python3", "/usr/bin/python3", script, "--cert", cert,
		      "--key", key, "--port-file", portfile, "--synth-prefix", "24",
		      "--delay-ms", delay, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");
		char line[32];

		if (f) {
			*port = fgets(line, sizeof(line), f) ? (int)strtol(line, NULL, 10) : 0;
			fclose(f);
			if (*port > 0)
				return pid;
		}
		usleep(50000);
	}
	kill(pid, SIGTERM);
	bench_die("the RDAP server did not start");
}

/* The server's request count (its /__count, not counted itself). */
static long long server_count(struct rk_http *h, const char *base)
{
	char url[256];
	struct rk_http_request req = {.url = url};
	struct rk_http_response r;
	json_t *doc;
	long long n = -1;

	snprintf(url, sizeof(url), "%s/__count", base);
	bench_check(rk_http_fetch(h, &req, 1, &r), "count");
	if (r.err || r.status != 200)
		bench_die("cannot read the server's count: %s", r.error);
	doc = json_loads(r.body, 0, NULL);
	if (json_is_integer(json_object_get(doc, "total")))
		n = json_integer_value(json_object_get(doc, "total"));
	json_decref(doc);
	rk_http_response_release(&r);
	return n;
}

int main(void)
{
	long long nnet = bench_env_ll("RK_BENCH_RDAP_NETWORKS", 5000);
	long long per = bench_env_ll("RK_BENCH_RDAP_PER_NET", 20);
	long long delay = bench_env_ll("RK_BENCH_RDAP_DELAY_MS", 20);
	long long conc = bench_env_ll("RK_BENCH_RDAP_CONCURRENCY", 32);
	long long lookups = bench_env_ll("RK_BENCH_RDAP_LOOKUPS", 2000000);
	size_t n = (size_t)(nnet * per);
	char *dir = bench_tmpdir(), *bs = bench_join(dir, "bootstrap"), *db;
	char base[128], text[512], *path;
	struct rk_config cfg;
	struct rk_log log;
	struct rk_store *store = NULL;
	struct resolver *r = NULL;
	struct resolve_query *qs = calloc(n, sizeof(*qs));
	struct resolve_chain *chains = calloc(BATCH, sizeof(*chains));
	enum rk_err *errs = calloc(BATCH, sizeof(*errs));
	struct rk_http *h = NULL;
	struct rk_http_options hopt = {0};
	struct bench_rng rng = {42};
	double t0, t_cold, t_serial1 = 1e9, t_warm = 1e9, t_ref = 1e9;
	long long asked, after_cold, found = 0, sink = 0;
	int port = 0;
	pid_t server;

	if (!qs || !chains || !errs || nnet < 1 || nnet > 65536 || per < 1 || per > 250)
		bench_die("bad sizes");
	rk_log_init(&log, bench_env_ll("RK_BENCH_DEBUG", 0) ? RK_LOG_DEBUG : RK_LOG_WARN);
	server = start_server(dir, (int)delay, &port);
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", port);

	/* the bootstrap: all of 10.0.0.0/8 at the local server */
	if (rk_mkdir_p(bs, 0755))
		bench_die("mkdir");
	snprintf(text, sizeof(text),
		 "{\"version\":\"1.0\",\"services\":[[[\"10.0.0.0/8\"],[\"%s/rdap/\"]]]}",
		 base);
	path = bench_join(bs, "ipv4.json");
	bench_write_file(path, text, strlen(text));
	free(path);

	/* the addresses: network k is 10.(k/256).(k%256).0/24 */
	for (size_t i = 0; i < n; i++) {
		size_t k = i / (size_t)per, host = 1 + i % (size_t)per;

		qs[i].has_addr = true;
		qs[i].addr.family = 4;
		qs[i].addr.bytes[0] = 10;
		qs[i].addr.bytes[1] = (uint8_t)(k >> 8);
		qs[i].addr.bytes[2] = (uint8_t)k;
		qs[i].addr.bytes[3] = (uint8_t)host;
	}
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = bench_randn(&rng, (uint32_t)(i + 1));
		struct resolve_query t = qs[i];

		qs[i] = qs[j];
		qs[j] = t;
	}

	bench_check(rk_config_defaults(&cfg), "config");
	free(cfg.resolve.sources);
	cfg.resolve.sources = rk_strdup("local, rdap");
	cfg.resolve.bootstrap_dir = rk_strdup(bs);
	cfg.resolve.ca_file = bench_join(dir, "ca.pem");
	cfg.resolve.concurrency = conc;
	cfg.resolve.rate = 0;
	cfg.resolve.timeout = 30;
	db = bench_join(dir, "bench.db");
	bench_check(store_open(&store, db, 5000, &log), "store");
	store_set_now(store, rk_now());

	/* a serial round trip, for the reference: best of 20 */
	hopt.ca_file = cfg.resolve.ca_file;
	bench_check(rk_http_new(&h, &hopt), "http");
	for (int i = 0; i < 20; i++) {
		char url[256];
		struct rk_http_request req = {.url = url};
		struct rk_http_response resp;
		double t;

		snprintf(url, sizeof(url), "%s/rdap/ip/10.255.%d.1", base, i);
		t0 = bench_now();
		bench_check(rk_http_fetch(h, &req, 1, &resp), "serial");
		t = bench_now() - t0;
		if (resp.err || resp.status != 200)
			bench_die("serial request failed: %s", resp.error);
		rk_http_response_release(&resp);
		if (t < t_serial1)
			t_serial1 = t;
	}
	asked = server_count(h, base);

	/* cold: an empty cache */
	bench_check(resolve_new(&r, store, &cfg, &log, false), "resolver");
	t0 = bench_now();
	for (size_t i = 0; i < n; i += BATCH) {
		size_t m = n - i < BATCH ? n - i : BATCH;

		bench_check(resolve_batch(r, &qs[i], m, chains, errs), "batch");
		for (size_t k = 0; k < m; k++) {
			found += errs[k] == RK_OK && chains[k].count > 0;
			if (!errs[k])
				resolve_chain_release(&chains[k]);
		}
	}
	t_cold = bench_now() - t0;
	after_cold = server_count(h, base);
	asked = after_cold - asked;
	resolve_free(r);
	fprintf(stderr, "rdap: %zu addresses in %lld networks: %lld questions, "
			"%lld resolved, %.2f s\n",
		n, nnet, asked, found, t_cold);
	if (found != (long long)n)
		bench_die("only %lld of %zu addresses resolved", found, n);
	printf("DETAIL|rdap: %lld questions for %zu addresses in %lld networks "
	       "(bound: networks + bootstrap = %lld); %.1f s against %.1f s one "
	       "by one (%lld x %.1f ms measured round trip; %lld x %lld ms "
	       "delay alone = %.0f s)\n",
	       asked, n, nnet, nnet, t_cold, (double)nnet * t_serial1, nnet,
	       t_serial1 * 1e3, nnet, delay, (double)nnet * (double)delay / 1e3);
	snprintf(text, sizeof(text), "%lld questions, %.1f s", asked, t_cold);
	{
		char ref[128], ratio[64];

		snprintf(ref, sizeof(ref), "one by one: %.1f s", (double)nnet * t_serial1);
		snprintf(ratio, sizeof(ratio), "%.1fx faster",
			 (double)nnet * t_serial1 / t_cold);
		bench_row("rdap cold (100k addr, 5k nets, 20 ms)", text, ref, ratio,
			  "questions <= networks", asked <= nnet ? "ok" : "MISS");
	}

	/* warm: a new resolver reads the cache from the store */
	bench_check(resolve_new(&r, store, &cfg, &log, false), "resolver");
	for (int run = 0; run < 3; run++) {
		long long done = 0;
		double t;

		t0 = bench_now();
		for (size_t i = 0; done < lookups; i = (i + BATCH) % n) {
			size_t m = n - i < BATCH ? n - i : BATCH;

			bench_check(resolve_batch(r, &qs[i], m, chains, errs), "warm");
			for (size_t k = 0; k < m; k++) {
				sink += chains[k].count;
				if (!errs[k])
					resolve_chain_release(&chains[k]);
			}
			done += (long long)m;
		}
		t = bench_now() - t0;
		if (t < t_warm)
			t_warm = t;
		t0 = bench_now();
		done = 0;
		for (size_t i = 0; done < lookups; i = (i + 1) % n, done++) {
			char a[RK_ADDR_TEXT];
			struct rk_addr parsed;

			rk_addr_format(&qs[i].addr, a);
			if (rk_addr_parse(a, &parsed) == RK_OK)
				sink += parsed.bytes[3];
		}
		t = bench_now() - t0;
		if (t < t_ref)
			t_ref = t;
	}
	asked = server_count(h, base) - after_cold;
	{
		double rate = (double)lookups / t_warm, ref = (double)lookups / t_ref;

		printf("DETAIL|rdap warm: %.0f ns per lookup (chain of local + rdap "
		       "from the range index), %lld more questions\n",
		       1e9 / rate, asked);
		bench_result("rdap warm cache", rate, "lookups/s", ref,
			     "rk_addr_format+parse only", rate / ref,
			     ">= 1000000 lookups/s", rate >= 1e6 ? "ok" : "MISS");
	}
	resolve_free(r);
	rk_http_free(h);
	store_close(store);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	rk_config_release(&cfg);
	bench_rmtree(dir);
	free(db);
	free(bs);
	free(dir);
	free(qs);
	free(chains);
	free(errs);
	return sink == 0xdeadbeef;
}
