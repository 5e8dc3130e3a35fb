/*
 * resolve, warm: resolve_event lookups/s on a constituency of about
 * 10,000 rows (RK_BENCH_RESOLVE_ROWS): IPv4 /22-/24 and IPv6 /48
 * prefixes, covering IPv4 /16s, AS numbers, domains and *.domains,
 * plus the national CSIRT table, imported through contacts_parse and
 * store_contacts_replace.
 *
 * The events (4096, cycled) are a mix: 70% IPv4 and 15% IPv6 inside a
 * prefix (with AS and country: three levels), 5% a domain, 5% an address
 * outside every prefix found by its AS, 5% no match but a country.
 *
 * Reference: rk_addr_parse of the same events' addresses, the same number
 * of times.  resolve_event has to turn the event's text address into
 * bytes before it can look anything up, so this is the per-lookup floor
 * that no index can remove; the ratio says what the lookup itself (index
 * search plus the chain's copies) costs on top of reading the input.
 * Best of 3 runs, interleaved.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "renraku/contacts.h"
#include "renraku/resolve.h"

#define RUNS 3
#define NEVENTS 4096

struct fixture {
	struct store_event ev[NEVENTS];
	char ip[NEVENTS][RK_ADDR_TEXT];
	char fqdn[NEVENTS][64];
};

static void make_events(struct fixture *f, const struct bench_constituency *c)
{
	struct bench_rng r = {7};

	memset(f->ev, 0, sizeof(f->ev));
	for (size_t i = 0; i < NEVENTS; i++) {
		struct store_event *ev = &f->ev[i];
		uint32_t roll = bench_randn(&r, 100);
		size_t k;

		ev->id = (int64_t)i + 1;
		ev->type = "infected-system";
		if (roll < 85) { /* inside a prefix: v4 or v6 by network */
			uint64_t a;

			do /* 70% IPv4, 15% IPv6 */
				a = bench_rand(&r) % (c->nnet * 16);
			while ((roll < 70) == (a % c->nnet % 5 == 4));
			k = (size_t)(a % c->nnet);
			bench_pool_addr(c, a, f->ip[i]);
			ev->source_ip = f->ip[i];
			ev->source_asn = bench_net_asn(c, k);
			ev->source_cc = (char *)bench_net_cc(k);
		} else if (roll < 90 && c->ndom) { /* a domain */
			size_t d = bench_randn(&r, (uint32_t)c->ndom);

			snprintf(f->fqdn[i], sizeof(f->fqdn[i]),
				 d % 2 ? "img.cdn%zu.example" : "www.site%zu.example",
				 d);
			ev->source_fqdn = f->fqdn[i];
			ev->source_cc = "JP";
		} else if (roll < 95) { /* outside every prefix, by AS */
			snprintf(f->ip[i], sizeof(f->ip[i]), "172.16.%u.%u",
				 bench_randn(&r, 256), 1 + bench_randn(&r, 254));
			ev->source_ip = f->ip[i];
			ev->source_asn = 4200000000u +
					 bench_randn(&r, (uint32_t)c->nasn);
			ev->source_cc = "DE";
		} else { /* nothing matches: the national CSIRT only */
			snprintf(f->ip[i], sizeof(f->ip[i]), "2001:db8:ffff::%x",
				 1 + bench_randn(&r, 60000));
			ev->source_ip = f->ip[i];
			ev->source_cc = (char *)bench_net_cc(bench_randn(&r, 64));
		}
	}
}

int main(void)
{
	long long rows = bench_env_ll("RK_BENCH_RESOLVE_ROWS", 10000);
	long long lookups = bench_env_ll("RK_BENCH_RESOLVE_LOOKUPS", 2000000);
	struct bench_constituency c;
	struct contacts_set set;
	struct rk_buf csv, national;
	struct rk_config cfg;
	struct rk_log log;
	struct rk_store *store = NULL;
	struct resolver *r = NULL;
	struct fixture *f = calloc(1, sizeof(*f));
	char *dir = bench_tmpdir(), *db = bench_join(dir, "resolve.db");
	double best = 1e30, best_ref = 1e30, rate, ref;
	size_t levels[RESOLVE_MAX_LEVELS + 1] = {0}, chains = 0;
	volatile unsigned sink = 0;

	if (!f)
		bench_die("out of memory");
	rk_log_init(&log, RK_LOG_ERROR);
	bench_check(rk_config_defaults(&cfg), "config");
	bench_constituency_size(&c, (size_t)rows, 1);
	rk_buf_init(&csv, 64u << 20);
	rk_buf_init(&national, 1u << 20);
	bench_check(bench_constituency_csv(&c, &csv), "constituency");
	bench_check(bench_national_csv(&national), "national");
	memset(&set, 0, sizeof(set));
	bench_check(contacts_parse("constituency", NULL, csv.data, csv.len, &set),
		    "contacts_parse");
	bench_check(contacts_parse("national-csirts", NULL, national.data,
				   national.len, &set),
		    "contacts_parse");
	if (set.nproblems)
		bench_die("constituency: %s line %lld: %s", set.problems[0].file,
			  set.problems[0].line, set.problems[0].reason);
	bench_check(store_open(&store, db, 5000, &log), "store_open");
	bench_check(store_contacts_replace(store, set.contacts, set.ncontacts,
					   set.supps, set.nsupps),
		    "store_contacts_replace");
	fprintf(stderr, "resolve: %zu contact rows (%zu prefixes, %zu /16s, "
			"%zu AS, %zu domains, national CSIRTs)\n",
		set.ncontacts, c.nnet, c.ncover, c.nasn, c.ndom);
	contacts_set_release(&set);
	bench_check(resolve_new(&r, store, &cfg, &log, true), "resolve_new");
	make_events(f, &c);

	/* warm up, and check the answers look right */
	for (size_t i = 0; i < NEVENTS; i++) {
		struct resolve_chain chain;

		bench_check(resolve_event(r, &f->ev[i], &chain), "resolve_event");
		levels[chain.count]++;
		chains += chain.count > 0;
		resolve_chain_release(&chain);
	}
	fprintf(stderr, "resolve: chain lengths over the event mix: 0:%zu 1:%zu "
			"2:%zu 3:%zu\n",
		levels[0], levels[1], levels[2], levels[3]);
	if (chains < NEVENTS * 9 / 10)
		bench_die("only %zu of %d events resolved", chains, NEVENTS);

	for (int run = 0; run < RUNS; run++) {
		double t0 = bench_now(), t;

		for (long long i = 0; i < lookups; i++) {
			const struct store_event *ev = &f->ev[i & (NEVENTS - 1)];
			struct rk_addr a;

			if (ev->source_ip && rk_addr_parse(ev->source_ip, &a) == RK_OK)
				sink += a.bytes[3];
		}
		t = bench_now() - t0;
		if (t < best_ref)
			best_ref = t;
		t0 = bench_now();
		for (long long i = 0; i < lookups; i++) {
			struct resolve_chain chain;

			if (resolve_event(r, &f->ev[i & (NEVENTS - 1)], &chain))
				bench_die("resolve_event failed");
			sink += (unsigned)chain.count;
			resolve_chain_release(&chain);
		}
		t = bench_now() - t0;
		if (t < best)
			best = t;
		fprintf(stderr, "resolve: run %d: %.3f s (%.0f lookups/s)\n",
			run + 1, t, (double)lookups / t);
	}
	rate = (double)lookups / best;
	ref = (double)lookups / best_ref;
	printf("DETAIL|resolve: %.0f ns per lookup, of which %.0f ns parsing "
	       "the address\n",
	       1e9 / rate, 1e9 / ref);
	bench_result("resolve warm (10k rows)", rate, "lookups/s", ref,
		     "rk_addr_parse only", rate / ref, ">= 1000000 lookups/s",
		     rate >= 1e6 ? "ok" : "MISS");
	resolve_free(r);
	store_close(store);
	rk_buf_release(&csv);
	rk_buf_release(&national);
	rk_config_release(&cfg);
	bench_rmtree(dir);
	free(db);
	free(dir);
	free(f);
	return sink == 0xdeadbeef;
}
