/*
 * rk_bench_gen: write the benchmark data to files, for trying renraku by
 * hand on the same data the benchmarks use.
 *
 *   rk_bench_gen events [--count N] [--addresses M] [--networks K]
 *                       [--dup-every D] [--seed S]
 *                       [--form lines|array|wide|scan] FILE|-
 *   rk_bench_gen contacts [--networks K] [--extra] DIR
 *
 * events: N IntelMQ JSON lines (default 100,000) about M addresses
 * (10,000) spread over the K networks (1,000) of the matching
 * constituency: infected-system, brute-force, scanner and
 * vulnerable-system events, IPv4 and IPv6, with extra.* fields, about
 * 450 bytes a line; every D-th line (100) repeats the one before it.
 * --form array: the same events as one JSON array; wide: ~40-field
 * events of ~2 KB as IntelMQ's Shadowserver parser writes them; scan:
 * Shadowserver scan_http CSV rows (name the file
 * YYYY-MM-DD-scan_http-....csv for --format auto).
 * contacts: DIR/constituency.csv and DIR/national-csirts.csv for K
 * networks (--extra: K is the total row count, with covering /16s, AS
 * rows and domains, as bench_resolve uses).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char usage[] =
	"usage: rk_bench_gen events [--count N] [--addresses M] [--networks K]\n"
	"                           [--dup-every D] [--seed S]\n"
	"                           [--form lines|array|wide|scan] FILE|-\n"
	"       rk_bench_gen contacts [--networks K] [--extra] DIR\n";

static long long number(const char *s)
{
	long long v;

	if (rk_parse_long(s, 0, (long long)1 << 40, &v))
		bench_die("'%s' is not a number", s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"addresses", required_argument, NULL, 'a'},
		{"networks", required_argument, NULL, 'k'},
		{"dup-every", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 's'},
		{"extra", no_argument, NULL, 'x'},
		{"form", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	long long count = 100000, addrs = 10000, nets = 1000, dup = 100;
	long long seed = 42;
	int extra = 0, c;
	enum bench_input form = BENCH_INPUT_LINES;
	const char *what;
	struct bench_constituency k;
	struct rk_buf buf;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	what = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': count = number(optarg); break;
		case 'a': addrs = number(optarg); break;
		case 'k': nets = number(optarg); break;
		case 'd': dup = number(optarg); break;
		case 's': seed = number(optarg); break;
		case 'x': extra = 1; break;
		case 'f':
			if (strcmp(optarg, "lines") == 0)
				form = BENCH_INPUT_LINES;
			else if (strcmp(optarg, "array") == 0)
				form = BENCH_INPUT_ARRAY;
			else if (strcmp(optarg, "wide") == 0)
				form = BENCH_INPUT_WIDE;
			else if (strcmp(optarg, "scan") == 0)
				form = BENCH_INPUT_SCAN;
			else
				bench_die("--form: lines, array, wide or scan");
			break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc - 1 || nets <= 0 || addrs <= 0) {
		fputs(usage, stderr);
		return 2;
	}
	bench_constituency_size(&k, (size_t)nets, extra);
	rk_buf_init(&buf, (size_t)1 << 40);
	if (strcmp(what, "events") == 0) {
		struct bench_events g = {&k, (uint64_t)addrs, (unsigned)dup,
					 (uint64_t)seed};
		FILE *out = strcmp(argv[optind], "-") == 0
				    ? stdout
				    : fopen(argv[optind], "wb");

		if (!out)
			bench_die("cannot create '%s'", argv[optind]);
		bench_check(bench_write_input(form, &g, (uint64_t)count, out),
			    "generate");
		if (out != stdout ? fclose(out) != 0 : fflush(out) != 0)
			bench_die("write failed");
	} else if (strcmp(what, "contacts") == 0) {
		char *path;

		bench_check(rk_mkdir_p(argv[optind], 0755), "mkdir");
		bench_check(bench_constituency_csv(&k, &buf), "constituency");
		path = bench_join(argv[optind], "constituency.csv");
		bench_write_file(path, buf.data, buf.len);
		free(path);
		rk_buf_reset(&buf);
		bench_check(bench_national_csv(&buf), "national");
		path = bench_join(argv[optind], "national-csirts.csv");
		bench_write_file(path, buf.data, buf.len);
		free(path);
	} else {
		fputs(usage, stderr);
		return 2;
	}
	rk_buf_release(&buf);
	return 0;
}
