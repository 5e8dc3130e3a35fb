/*
 * Shared by the benchmarks: clocks, result lines, scratch directories,
 * GnuPG helpers and the synthetic data generator (IntelMQ events and a
 * constituency).  Everything is deterministic for a given seed, so two
 * runs measure the same bytes.
 */
#ifndef RK_BENCH_H
#define RK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "renraku/core.h"

/* ------------------------------------------------------------ timing */

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* One line on stdout that bench/run.sh turns into a table row:
 *   RESULT|name|measured|reference|ratio|target|verdict
 * verdict is "ok", "MISS" or "-" (no target). */
void bench_row(const char *name, const char *measured, const char *reference,
	       const char *ratio, const char *target, const char *verdict);
/* The same for a rate and a reference rate, both per second. */
void bench_result(const char *name, double rate, const char *unit,
		  double ref_rate, const char *ref_what, double ratio,
		  const char *target, const char *verdict);

/* Fail loudly: message to stderr, exit 1. */
RK_NORETURN void bench_die(const char *fmt, ...) RK_PRINTF(1, 2);
/* bench_die unless err is RK_OK. */
void bench_check(enum rk_err err, const char *what);

/* A long integer from the environment, or def when unset. */
long long bench_env_ll(const char *name, long long def);

/* json_loadb (with the flags ingest uses) and json_decref of every line
 * of data: seconds taken; *lines counts them.  The parse floor. */
double bench_parse_floor(const char *data, size_t len, long long *lines);

/* ------------------------------------------------------------ files */

/* A fresh directory $RK_BENCH_TMP/rkb.XXXXXX ($RK_BENCH_TMP defaults to
 * /tmp; keep it short: GnuPG socket paths).  Caller frees. */
char *bench_tmpdir(void);
/* rm -rf path (no symlinks followed). */
void bench_rmtree(const char *path);
/* "dir/name" (caller frees); dies when out of memory. */
char *bench_join(const char *dir, const char *name);
/* Write a whole file; dies on error. */
void bench_write_file(const char *path, const void *data, size_t len);
/* Stop the gpg-agent (and other daemons) of a GnuPG home. */
void bench_kill_agent(const char *home);

/* ------------------------------------------------------------ random */

/* splitmix64: small, fast, reproducible. */
struct bench_rng {
	uint64_t s;
};
uint64_t bench_rand(struct bench_rng *r);
/* Uniform in [0, n). */
uint32_t bench_randn(struct bench_rng *r, uint32_t n);

/* ------------------------------------------------------------ data */

/* The synthetic constituency.  Networks are numbered 0..nnet-1:
 *   network k, k % 5 != 4: IPv4 10.B.C.0/L in its own /22 block
 *                          (k -> block k; L is 22, 23 or 24)
 *   network k, k % 5 == 4: IPv6 2001:db8:K::/48
 * Every fourth network shares an organization (abuse@orgN.example).
 * Extra rows (when with_extra): covering IPv4 /16s, AS numbers and
 * domains (orgN.example, *.cdnN.example). */
struct bench_constituency {
	size_t nnet;      /* prefix rows */
	size_t ncover;    /* covering /16 rows */
	size_t nasn;      /* AS rows, AS4200000000 + i */
	size_t ndom;      /* domain rows */
};

/* A constituency sized for about `rows` rows (with_extra) or exactly
 * `rows` networks and a few AS rows (!with_extra). */
void bench_constituency_size(struct bench_constituency *c, size_t rows,
			     int with_extra);
/* constituency.csv text into out. */
enum rk_err bench_constituency_csv(const struct bench_constituency *c,
				   struct rk_buf *out);
/* national-csirts.csv text into out. */
enum rk_err bench_national_csv(struct rk_buf *out);
/* The AS number network k is announced from. */
uint32_t bench_net_asn(const struct bench_constituency *c, size_t k);
/* Country of network k ("JP", "DE", ...). */
const char *bench_net_cc(size_t k);

/* Address `a` of an address pool spread over the networks: host
 * a / nnet of network a % nnet, as text.  out holds RK_ADDR_TEXT. */
void bench_pool_addr(const struct bench_constituency *c, uint64_t a,
		     char out[RK_ADDR_TEXT]);

/* IntelMQ events, JSON Lines.  Event i concerns address
 * perm(i) % naddr of the pool; its type follows the address (75%) or is
 * one of the others; times are distinct per event, so only the
 * deliberate duplicates (every dup_every-th line repeats the line before
 * it, 0 = none) are duplicates. */
struct bench_events {
	const struct bench_constituency *c;
	uint64_t naddr;
	unsigned dup_every;
	uint64_t seed;
};

/* Append events [first, first + n) (one line each, "\n"-terminated). */
enum rk_err bench_events_jsonl(const struct bench_events *g, uint64_t first,
			       uint64_t n, struct rk_buf *out);

/* The same events' addresses as Shadowserver scan_http rows: CSV with
 * its header line (written when first is 0), ~300 bytes a row. */
enum rk_err bench_scan_csv(const struct bench_events *g, uint64_t first,
			   uint64_t n, struct rk_buf *out);
/* Wide events, as IntelMQ's Shadowserver parser and its experts write
 * scan_http rows: ~40 fields with the raw row in base64, ~2 KB a line. */
enum rk_err bench_events_wide(const struct bench_events *g, uint64_t first,
			      uint64_t n, struct rk_buf *out);

enum bench_input {
	BENCH_INPUT_LINES, /* IntelMQ JSON lines, ~480 bytes */
	BENCH_INPUT_ARRAY, /* the same events as one JSON array */
	BENCH_INPUT_WIDE,  /* wide events, JSON lines */
	BENCH_INPUT_SCAN   /* Shadowserver scan_http CSV */
};

/* count inputs of kind into out, generated in chunks (memory stays
 * small for any count).  RK_ERR_IO when a write fails. */
enum rk_err bench_write_input(enum bench_input kind,
			      const struct bench_events *g, uint64_t count,
			      FILE *out);

/* The relay config text for a scratch home (window 0, maildir, no
 * network sources).  gpg_home, maildir, db: absolute paths. */
enum rk_err bench_config_text(const char *gpg_home, const char *maildir,
			      const char *db, struct rk_buf *out);

/* ------------------------------------------------------------ raw GPGME */

/* Most recipients bench_rawsign_rate takes. */
#define RK_BENCH_RAWSIGN_MAX_RCPT 8

/* The raw GPGME floor (bench/rawsign.c): `count` operations on the len
 * bytes at msg, split over `threads` threads, each with its own
 * gpgme_ctx_t (the settings of relay/mail/sign.c) on GnuPG home
 * gnupghome, all using the same gpg-agent.  !encrypt: gpgme_op_sign
 * detached + armored with key fpr; encrypt: gpgme_op_encrypt_sign
 * (always-trust) to the nrecipients fingerprints in recipients plus
 * fpr's own key, signed by fpr.  Contexts and keys are set up before the
 * clock starts.  Returns operations per second; dies (bench_die) on any
 * GnuPG error.  mail_init (gpgme_check_version) must have run before. */
double bench_rawsign_rate(const char *gnupghome, const char *fpr,
			  const void *msg, size_t len, int threads, int count,
			  bool encrypt, const char *const *recipients,
			  size_t nrecipients);

/* bench/floor.c: seconds a bare loop takes to re-insert the events of
 * the store at src_path into a fresh store at dst_path (created; the
 * count in *events): the store's floor, as bench_ingest measures it. */
double bench_insert_floor(const char *src_path, const char *dst_path,
			  long long *events);
/* Removes a database file and its -wal and -shm. */
void bench_remove_db(const char *db);

#endif
