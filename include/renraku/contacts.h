/*
 * Contacts: reading and checking the contacts directory
 *
 *   constituency.csv     org, match, email, cc, pgp, lang, format, notes
 *   national-csirts.csv  country, team, email, pgp, lang        (optional)
 *   suppress.csv         match, type, until, reason             (optional)
 *   keys/NAME.asc           public keys named by the pgp columns   (optional)
 *
 * into rows for the store (store_contacts_replace), with every problem
 * listed by file and line.  The resolver reads the imported rows from
 * the store; it does not include this header, and this stage does not
 * include resolve's.
 *
 * Owns: the contacts and suppressions rows (through relay/store/, one
 * transaction per import) and the checking of key files (GPGME, in a
 * throwaway GnuPG home).  May call: store, core (the CSV reader, match
 * expressions, types).  Called by the command line (contacts, demo) and
 * notify (why a held ticket's key is missing or unusable).
 */
#ifndef RENRAKU_CONTACTS_H
#define RENRAKU_CONTACTS_H

#include "renraku/store.h"

/* The formats a contact may ask for (the `format` column); empty means
 * the default, csv-attach. */
#define CONTACTS_FORMATS "csv-attach, csv-inline, json, inline"

/* One problem found in a contacts directory. */
struct contacts_problem {
	char *file;  /* "constituency.csv", "keys/isp-a.asc"; owned */
	long long line; /* 0: the file as a whole */
	char *reason; /* owned */
};

/* What a key file holds, as far as renraku uses it: a public key with a
 * subkey (or primary key) that can encrypt, not revoked and not expired. */
struct contacts_key {
	char *file;      /* name under keys/ ("isp-a.asc"); owned */
	char *fpr;       /* primary key fingerprint (upper-case hex), NULL
			    when no key could be read; owned */
	char *uid;       /* first user id, NULL = none; owned */
	int64_t expires; /* the encryption subkey's expiry, 0 = never */
	bool usable;
	char *reason;    /* why it is unusable, NULL when usable; owned */
};

/* Free what k holds (k itself is the caller's) and zero it; NULL is
 * allowed. */
void contacts_key_release(struct contacts_key *k);

struct contacts_set {
	struct store_contact *contacts; /* pgp holds the fingerprint of the
					   checked key, or the text of the
					   column when keys were not checked */
	size_t ncontacts;
	struct store_suppression *supps;
	size_t nsupps;
	struct contacts_key *keys;      /* keys/NAME.asc, in name order */
	size_t nkeys;
	struct contacts_problem *problems;
	size_t nproblems;
};

/* Free every row, key and problem of set (set itself is the caller's)
 * and zero it; NULL is allowed. */
void contacts_set_release(struct contacts_set *set);

/* Read and check DIR/constituency.csv, DIR/national-csirts.csv,
 * DIR/suppress.csv (the last two optional) and every DIR/keys/NAME.asc.
 * Every bad line and every unusable key file is listed in set->problems;
 * RK_OK is returned even then (the caller decides).  A key file holding
 * a secret key is a problem, logged at error level; it is never imported
 * anywhere (keys are only listed, in a throwaway GnuPG home under /tmp
 * that is removed before returning).  Keys are judged (expiry) at now,
 * the caller's time.  dir and log are borrowed; set is zeroed first and
 * the caller releases it. */
enum rk_err contacts_read_dir(const char *dir, int64_t now,
			      const struct rk_log *log,
			      struct contacts_set *set);

/* Parse one contacts CSV held in memory (data borrowed) (kind: "constituency",
 * "national-csirts" or "suppress"; name: the file name used in problems
 * and sources, NULL = the usual one), appending to set.  Key files are
 * not looked at: a pgp column is kept as written.  For tests and the
 * fuzzer. */
enum rk_err contacts_parse(const char *kind, const char *name,
			   const char *data, size_t len,
			   struct contacts_set *set);

/* Check one key file (path borrowed) at time `now` into *out (zeroed
 * first; caller releases it).  RK_OK also for an unusable key (see
 * out->usable / out->reason); an error only when the check itself could
 * not run (RK_ERR_GPG, RK_ERR_NOMEM, RK_ERR_IO). */
enum rk_err contacts_key_check_file(const char *path, int64_t now,
				    const struct rk_log *log,
				    struct contacts_key *out);

/* For a ticket held as TLP:AMBER: one line naming the key the contact's
 * pgp value (a fingerprint or a key file name; NULL = none) leads to
 * under contacts_dir/keys/ at time `now`, or why there is none or it is
 * unusable, e.g.
 *   "key 0123...CDEF (keys/isp-a.asc, ISP A <abuse@isp-a.example>) is usable for encryption"
 *   "key keys/isp-a.asc is unusable: key 0123...CDEF expired on 2026-11-30"
 *   "no key: the contact has no pgp value"
 * Appended to *out (the caller's buffer); *usable (may be NULL) is set.
 * contacts_dir, pgp and log are borrowed; contacts_dir may be NULL
 * ([relay] contacts unset): then only the pgp value is named.  Each call
 * lists the key files again (a held ticket is rare; nothing is cached).
 * Errors only when the check cannot run. */
enum rk_err contacts_key_explain(const char *contacts_dir, const char *pgp,
				 int64_t now, const struct rk_log *log,
				 struct rk_buf *out, bool *usable);

/* What an import changes, compared with what the store held before:
 * constituency rows are the same row when their match is, national
 * CSIRT rows when their country is, suppressions when match and type
 * are; a row is changed when any other value is (its line number aside).
 * A contact's key is added, changed or removed with its pgp value. */
struct contacts_count {
	size_t added, changed, removed, unchanged;
};

struct contacts_changes {
	struct contacts_count constituency, national, suppressions, keys;
};

/* old rows borrowed (from store_contacts_load / store_suppressions_load),
 * set borrowed.  NOMEM only. */
enum rk_err contacts_diff(const struct store_contact *old, size_t nold,
			  const struct store_suppression *old_supps,
			  size_t nold_supps, const struct contacts_set *set,
			  struct contacts_changes *out);

#endif /* RENRAKU_CONTACTS_H */
