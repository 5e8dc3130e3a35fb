/* Helpers shared by the unit tests. */
#ifndef RK_TESTUTIL_H
#define RK_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "renraku/config.h"
#include "renraku/core.h"
#include "renraku/store.h"

/* A fresh temporary directory under /tmp (short path, for GnuPG
 * sockets); caller frees and removes it with rk_test_rmtree. */
char *rk_test_tmpdir(void);
void rk_test_rmtree(const char *path);
/* A path under the source tree (RK_SOURCE_DIR); caller frees. */
char *rk_test_source_path(const char *rel);
/* The time a test store records its writes as (2026-11-20T10:15:00Z). */
#define RK_TEST_NOW 1795169700LL

/* A store in a fresh file under dir (dir/test.db), its now set to
 * RK_TEST_NOW. */
struct rk_store *rk_test_store(const char *dir, const struct rk_log *log);
/* Defaults with a quiet log (errors only, to stderr). */
void rk_test_config(struct rk_config *cfg);
/* Read a whole file (caller frees); fails the test when it cannot. */
char *rk_test_read(const char *path, size_t *len);

/* Parse a whole message with GMime (the test fails if it cannot);
 * caller unrefs.  Declared as void * to keep GMime out of this header. */
void *rk_test_parse_mail(const char *data, size_t len);

/* An HTTPS peer (tests/peers/https_server.py) on 127.0.0.1, with a
 * throwaway CA made in dir (tests/peers/mkcert.sh): routes is its routes
 * file (NULL = none), extra more arguments (NULL-ended, NULL = none).
 * Fails the test when it does not come up.  Stop with rk_test_peer_stop. */
struct rk_test_peer {
	int pid;
	int port;
	char ca_file[1024]; /* dir/ca.pem */
};
struct rk_test_peer rk_test_https_peer(const char *dir, const char *routes,
				       const char *const *extra);
void rk_test_peer_stop(struct rk_test_peer *p);

#endif
