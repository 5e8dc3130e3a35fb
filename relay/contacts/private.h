/* Inside the contacts stage: the key checks the CSV reader calls.  Only
 * files under relay/contacts/ include this. */
#ifndef RENRAKU_CONTACTS_PRIVATE_H
#define RENRAKU_CONTACTS_PRIVATE_H

#include "renraku/contacts.h"
#include "renraku/csvread.h"
#include "renraku/match.h"

#define CONTACTS_FILE_CONSTITUENCY "constituency.csv"
#define CONTACTS_FILE_NATIONAL "national-csirts.csv"
#define CONTACTS_FILE_SUPPRESS "suppress.csv"
#define CONTACTS_KEYS_DIR "keys"

/* Check every keys/NAME.asc of keys_dir (borrowed; a missing directory is
 * no key) into set->keys, in name order; each unusable one is also a
 * problem of set.  Errors only when the checks cannot run. */
enum rk_err contacts_keys_read(const char *keys_dir, int64_t now,
			       const struct rk_log *log,
			       struct contacts_set *set);

/* The checked key named by file or whose primary fingerprint is fpr
 * (either may be NULL); borrowed from set, NULL when none. */
const struct contacts_key *contacts_key_find(const struct contacts_set *set,
					     const char *file, const char *fpr);

/* Append a problem (strings copied). */
enum rk_err contacts_push_problem(struct contacts_set *set, const char *file,
				  long long line, const char *reason);

#endif
