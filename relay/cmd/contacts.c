/*
 * renraku contacts [--json] check DIR | import DIR
 *
 * check: read and validate the contacts directory (the CSV files and the
 * key files under keys/); every problem goes to stderr as
 * "DIR/FILE:LINE: reason", a summary to stdout.  Exit 0 when clean, 65
 * when any problem.
 * import: the same checks, then (only when clean) replace the contact set
 * in the store in one transaction and write an audit row, and say what
 * was added, changed and removed compared with what the database held.
 * A directory with problems is never imported in part: exit 65, database
 * unchanged.
 * --json: one JSON document on stdout instead of the summary lines
 * (problems are in it too; stderr still gets them).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/contacts.h"
#include "renraku/mail.h"

static const char contacts_usage[] =
	"contacts import [--json] DIR | contacts check [--json] DIR | "
	"contacts failing [--json] | contacts clear [--as NAME] ADDR...";

static const char contacts_help[] =
	"usage: renraku [--config FILE] [--db FILE] contacts import [--json] DIR\n"
	"       renraku contacts check [--json] DIR\n"
	"       renraku contacts failing [--json]\n"
	"       renraku contacts clear [--as NAME] ADDR...\n"
	"\n"
	"  check DIR   validate constituency.csv, national-csirts.csv,\n"
	"              suppress.csv and the public keys in DIR/keys/ (needs no\n"
	"              configuration or database)\n"
	"  import DIR  the same checks, then replace the contacts in the database\n"
	"              in one transaction (nothing is imported when any problem)\n"
	"              and say what was added, changed and removed; events that\n"
	"              found no contact are looked up again at the next run\n"
	"  failing     the addresses a mail server refused for good (SMTP 5xx):\n"
	"              no notice goes to them (tickets skip to the next level\n"
	"              of their chain) until they are cleared\n"
	"  clear ADDR...  use these addresses again (recorded in the audit log\n"
	"              under --as NAME, else the login name)\n"
	"  --json      one JSON document\n"
	"  --help      this text\n";

static void print_problems(const char *dir, const struct contacts_set *set)
{
	size_t dl = strlen(dir);
	const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";

	for (size_t i = 0; i < set->nproblems; i++) {
		const struct contacts_problem *p = &set->problems[i];

		if (p->line > 0)
			fprintf(stderr, "%s%s%s:%lld: %s\n", dir, sep, p->file,
				p->line, p->reason);
		else
			fprintf(stderr, "%s%s%s: %s\n", dir, sep, p->file, p->reason);
	}
	fflush(stderr);
}

struct contacts_counts {
	size_t constituency, national, rules, keys, problems;
};

static struct contacts_counts count(const struct contacts_set *set)
{
	struct contacts_counts c = {0, 0, set->nsupps, set->nkeys, set->nproblems};

	for (size_t i = 0; i < set->ncontacts; i++) {
		if (set->contacts[i].kind == STORE_CONTACT_NATIONAL)
			c.national++;
		else
			c.constituency++;
	}
	return c;
}

static void print_summary(const struct contacts_counts *c)
{
	printf("constituency.csv: %zu %s, national-csirts.csv: %zu %s, "
	       "suppress.csv: %zu %s, keys/: %zu %s, %zu %s\n",
	       c->constituency, c->constituency == 1 ? "entry" : "entries",
	       c->national, c->national == 1 ? "entry" : "entries", c->rules,
	       c->rules == 1 ? "rule" : "rules", c->keys,
	       c->keys == 1 ? "key" : "keys", c->problems,
	       c->problems == 1 ? "problem" : "problems");
	fflush(stdout);
}

static void print_changes(const struct contacts_changes *ch)
{
	const struct {
		const char *what;
		const struct contacts_count *c;
	} parts[] = {
		{"constituency.csv", &ch->constituency},
		{"national-csirts.csv", &ch->national},
		{"suppress.csv", &ch->suppressions},
		{"keys", &ch->keys},
	};

	printf("imported:");
	for (size_t i = 0; i < RK_ARRAY_LEN(parts); i++)
		printf("%s %s %zu added, %zu changed, %zu removed, %zu unchanged",
		       i ? "," : "", parts[i].what, parts[i].c->added,
		       parts[i].c->changed, parts[i].c->removed,
		       parts[i].c->unchanged);
	printf("\n");
	fflush(stdout);
}

static json_t *count_json(const struct contacts_count *c)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "added", (json_int_t)c->added,
			 "changed", (json_int_t)c->changed, "removed",
			 (json_int_t)c->removed, "unchanged",
			 (json_int_t)c->unchanged);
}

/* The --json document. */
/* The document `contacts --json` prints; fail (RK_OK = none) puts the
 * error that stopped the import beside the counts.  Returns the exit
 * code of the printing (the error's when fail is set). */
static int print_json(const struct app *app, const char *dir,
		      const char *command, const struct contacts_set *set,
		      const struct contacts_counts *c, bool imported,
		      const struct contacts_changes *ch, enum rk_err fail)
{
	json_t *doc, *problems = json_array(), *keys = json_array();
	struct rk_buf out;
	char *text;
	int rc;

	for (size_t i = 0; problems && i < set->nproblems; i++)
		json_array_append_new(problems,
			json_pack("{s:s,s:I,s:s}", "file", set->problems[i].file,
				  "line", (json_int_t)set->problems[i].line,
				  "reason", set->problems[i].reason));
	for (size_t i = 0; keys && i < set->nkeys; i++) {
		const struct contacts_key *k = &set->keys[i];

		json_array_append_new(keys,
			json_pack("{s:s,s:s?,s:s?,s:b,s:s?,s:I}", "file", k->file,
				  "fingerprint", k->fpr, "uid", k->uid, "usable",
				  k->usable, "reason", k->reason, "expires",
				  (json_int_t)k->expires));
	}
	doc = json_pack("{s:s,s:s,s:b,s:{s:I,s:I,s:I,s:I},s:o,s:o}", "command",
			command, "dir", dir, "imported", imported, "counts",
			"constituency", (json_int_t)c->constituency, "national",
			(json_int_t)c->national, "suppressions",
			(json_int_t)c->rules, "keys", (json_int_t)c->keys,
			"keys", keys ? keys : json_null(), "problems",
			problems ? problems : json_null());
	if (doc && ch)
		json_object_set_new(doc, "changes",
			json_pack("{s:o,s:o,s:o,s:o}", "constituency",
				  count_json(&ch->constituency), "national",
				  count_json(&ch->national), "suppressions",
				  count_json(&ch->suppressions), "keys",
				  count_json(&ch->keys)));
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return RK_EXIT_FAILURE;
	rk_buf_init(&out, strlen(text) + 1);
	rc = rk_buf_adds(&out, text) ? RK_EXIT_FAILURE
	     : fail		    ? app_json_error_doc(app, fail, NULL, &out)
				    : app_print(&out);
	rk_buf_release(&out);
	free(text);
	return rc;
}

/* What the store holds now against set. */
static enum rk_err changes_of(struct rk_store *store,
			      const struct contacts_set *set,
			      struct contacts_changes *ch)
{
	struct store_contact *old = NULL;
	struct store_suppression *old_supps = NULL;
	size_t nold = 0, nold_supps = 0;
	enum rk_err err;

	if (!(err = store_contacts_load(store, &old, &nold)) &&
	    !(err = store_suppressions_load(store, &old_supps, &nold_supps)))
		err = contacts_diff(old, nold, old_supps, nold_supps, set, ch);
	store_contacts_free(old, nold);
	store_suppressions_free(old_supps, nold_supps);
	return err;
}

/* The usable keys of the contacts directory into the relay's GnuPG home
 * ([gpg] home), where notices are encrypted to them.  Keys removed from
 * the directory stay in the home (a key may serve several contacts);
 * the constituency's pgp fingerprints say which key a contact gets. */
static enum rk_err import_keys(struct app *app, const char *dir,
			       const struct contacts_set *set)
{
	char *home = NULL, *keys_dir = NULL, *path = NULL, fpr[41];
	struct rk_buf data;
	size_t done = 0;
	enum rk_err err = RK_OK;

	rk_buf_init(&data, RK_MAX_KEY_FILE);
	for (size_t i = 0; i < set->nkeys && !err; i++) {
		const struct contacts_key *k = &set->keys[i];

		if (!k->usable)
			continue;
		if (!home && (err = rk_config_path(&app->cfg, app->cfg.gpg.home,
						   &home)))
			break;
		free(path);
		path = NULL;
		rk_buf_reset(&data);
		if ((!keys_dir && (err = rk_path_join(dir, "keys", &keys_dir))) ||
		    (err = rk_path_join(keys_dir, k->file, &path)))
			break;
		if ((err = rk_buf_read_file(&data, path))) {
			rk_log_error(&app->log, "cannot read '%s'", path);
			break;
		}
		if ((err = mail_import_key(home, data.data, data.len, fpr,
					   &app->log))) {
			rk_log_error(&app->log, "cannot import '%s' into GnuPG home "
				     "'%s'; nothing imported", path, home);
			break;
		}
		done++;
	}
	if (!err && done)
		rk_log_info(&app->log, "%zu key%s imported into GnuPG home '%s'", done,
			    done == 1 ? "" : "s", home);
	free(home);
	free(keys_dir);
	free(path);
	rk_buf_release(&data);
	return err;
}

static enum rk_err import(struct app *app, const char *dir,
			  const struct contacts_set *set,
			  const struct contacts_counts *counts,
			  struct contacts_changes *ch)
{
	struct rk_store *store;
	char detail[512];
	enum rk_err err;

	if ((err = app_store(app, &store)))
		return err;
	if ((err = changes_of(store, set, ch))) {
		rk_log_error(&app->log, "cannot read the contacts the database holds: "
			     "%s; nothing imported", rk_strerror(err));
		return err;
	}
	if ((err = import_keys(app, dir, set)))
		return err;
	if ((err = store_contacts_replace(store, set->contacts, set->ncontacts,
					  set->supps, set->nsupps))) {
		rk_log_error(&app->log, "import of '%s' failed: %s; the database is unchanged",
			     dir, rk_strerror(err));
		return err;
	}
	snprintf(detail, sizeof(detail),
		 "%zu contact%s, %zu suppression%s, %zu national CSIRT%s; "
		 "added/changed/removed: constituency %zu/%zu/%zu, national "
		 "%zu/%zu/%zu, suppressions %zu/%zu/%zu, keys %zu/%zu/%zu",
		 counts->constituency, counts->constituency == 1 ? "" : "s",
		 counts->rules, counts->rules == 1 ? "" : "s", counts->national,
		 counts->national == 1 ? "" : "s", ch->constituency.added,
		 ch->constituency.changed, ch->constituency.removed,
		 ch->national.added, ch->national.changed, ch->national.removed,
		 ch->suppressions.added, ch->suppressions.changed,
		 ch->suppressions.removed, ch->keys.added, ch->keys.changed,
		 ch->keys.removed);
	if ((err = store_begin(store)))
		return err;
	if ((err = store_audit(store, "cli", "contacts.import", dir, detail)) ||
	    (err = store_commit(store))) {
		store_rollback(store);
		rk_log_error(&app->log, "contacts imported, but the audit log could not be written");
		return err;
	}
	return RK_OK;
}

/* contacts failing: every failing address, when and why. */
static int contacts_failing(struct app *app, bool json)
{
	struct store_failing *rows = NULL;
	struct rk_store *store;
	size_t n = 0;
	enum rk_err err;

	if ((err = app_store(app, &store)) ||
	    (err = store_failing_list(store, &rows, &n)))
		return json ? app_json_error(app, err, NULL)
			    : (int)rk_exit_code(err);
	if (json) {
		json_t *arr = json_array(), *doc;
		char *text;

		for (size_t i = 0; arr && i < n; i++) {
			char since[RK_TIME_TEXT];

			rk_time_format_iso(rows[i].since, since);
			json_array_append_new(
				arr, json_pack("{s:s, s:s, s:s?, s:s?}", "address",
					       rows[i].address, "since", since,
					       "reply", rows[i].reply,
					       "message_id", rows[i].message_id));
		}
		doc = json_pack("{s:o}", "failing", arr);
		text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)
			   : NULL;
		if (text)
			puts(text);
		free(text);
		json_decref(doc);
	} else {
		for (size_t i = 0; i < n; i++) {
			char since[RK_TIME_TEXT];

			rk_time_format_iso(rows[i].since, since);
			printf("%s  since %s  %s\n", rows[i].address, since,
			       rows[i].reply ? rows[i].reply : "");
		}
		if (n == 0)
			printf("no failing addresses\n");
	}
	store_failing_free(rows, n);
	return RK_EXIT_OK;
}

/* contacts clear ADDR...: use them again. */
static int contacts_clear(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"as", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	const char *as = NULL, *actor;
	struct rk_store *store;
	int c, rc = RK_EXIT_OK;
	enum rk_err err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			as = optarg;
		else
			return app_usage("contacts clear [--as NAME] ADDR...");
	}
	if (optind >= argc)
		return app_usage("contacts clear [--as NAME] ADDR...");
	if (!(actor = operator_name(as)))
		return app_usage("contacts clear: --as NAME: no usable operator name");
	if ((err = app_store(app, &store)))
		return (int)rk_exit_code(err);
	for (int i = optind; i < argc; i++) {
		bool cleared = false;

		if (!rk_email_valid(argv[i])) {
			fprintf(stderr, "renraku: error: contacts clear: '%s' is "
					"not an e-mail address\n", argv[i]);
			rc = RK_EXIT_USAGE;
			continue;
		}
		if ((err = store_address_clear(store, argv[i], actor, &cleared)))
			return (int)rk_exit_code(err);
		if (cleared)
			printf("cleared %s: it is used again\n", argv[i]);
		else
			printf("%s was not failing\n", argv[i]);
	}
	return rc;
}

int cmd_contacts(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct contacts_set set;
	struct contacts_counts counts;
	struct contacts_changes changes;
	const char *sub, *dir;
	bool do_import, json = false, imported = false;
	enum rk_err err, fail = RK_OK;
	int c, rc;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return app_help(contacts_help);
	if (argc >= 2 && strcmp(argv[1], "clear") == 0)
		return contacts_clear(app, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "failing") == 0) {
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json") != 0))
			return app_usage("contacts failing [--json]");
		return contacts_failing(app, argc == 3);
	}
	/* options anywhere: `contacts import --json DIR` as well as
	 * `contacts --json import DIR` */
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return app_help(contacts_help);
		case 'j':
			json = true;
			break;
		default:
			return app_usage("%s", contacts_usage);
		}
	}
	if (argc - optind != 2)
		return app_usage("%s", contacts_usage);
	sub = argv[optind];
	dir = argv[optind + 1];
	if (strcmp(sub, "import") == 0)
		do_import = true;
	else if (strcmp(sub, "check") == 0)
		do_import = false;
	else
		return app_usage("unknown 'contacts' command '%s' (%s)", sub,
				 contacts_usage);

	if ((err = contacts_read_dir(dir, app->now, &app->log, &set)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	print_problems(dir, &set);
	counts = count(&set);
	memset(&changes, 0, sizeof(changes));
	if (set.nproblems) {
		if (do_import)
			rk_log_error(&app->log,
				     "not imported: %zu problem%s in '%s'; the database is unchanged",
				     set.nproblems, set.nproblems == 1 ? "" : "s", dir);
		rc = RK_EXIT_DATAERR;
	} else if (do_import) {
		fail = import(app, dir, &set, &counts, &changes);
		imported = fail == RK_OK;
		rc = (int)rk_exit_code(fail);
	} else {
		rc = RK_EXIT_OK;
	}
	if (json) {
		int prc = print_json(app, dir, sub, &set, &counts, imported,
				     imported ? &changes : NULL, fail);

		if (rc == RK_EXIT_OK)
			rc = prc;
	} else if (!do_import || imported || set.nproblems) {
		print_summary(&counts);
		if (imported)
			print_changes(&changes);
	}
	contacts_set_release(&set);
	return rc;
}
