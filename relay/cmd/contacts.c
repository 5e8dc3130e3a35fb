/*
 * renraku contacts check DIR | import DIR
 *
 * check: read and validate the contacts directory; every problem goes to
 * stderr as "DIR/FILE:LINE: reason", a summary to stdout.  Exit 0 when
 * clean, 65 when any problem.
 * import: the same checks, then (only when clean) replace the contact set
 * in the store in one transaction and write an audit row.  A directory
 * with problems is never imported in part: exit 65, database unchanged.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/contacts.h"

static const char contacts_usage[] = "contacts import DIR | contacts check DIR";

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
	size_t constituency, national, rules, problems;
};

static struct contacts_counts count(const struct contacts_set *set)
{
	struct contacts_counts c = {0, 0, set->nsupps, set->nproblems};

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
	       "suppress.csv: %zu %s, %zu %s\n",
	       c->constituency, c->constituency == 1 ? "entry" : "entries",
	       c->national, c->national == 1 ? "entry" : "entries", c->rules,
	       c->rules == 1 ? "rule" : "rules", c->problems,
	       c->problems == 1 ? "problem" : "problems");
	fflush(stdout);
}

static int import(struct app *app, const char *dir,
		  const struct contacts_set *set,
		  const struct contacts_counts *counts)
{
	struct rk_store *store;
	char detail[160];
	enum rk_err err;

	if ((err = app_store(app, &store)))
		return rk_exit_code(err);
	if ((err = store_contacts_replace(store, set->contacts, set->ncontacts,
					  set->supps, set->nsupps))) {
		rk_log_error(&app->log, "import of '%s' failed: %s; the database is unchanged",
			     dir, rk_strerror(err));
		return rk_exit_code(err);
	}
	snprintf(detail, sizeof(detail), "%zu contact%s, %zu suppression%s, %zu national CSIRT%s",
		 counts->constituency, counts->constituency == 1 ? "" : "s",
		 counts->rules, counts->rules == 1 ? "" : "s", counts->national,
		 counts->national == 1 ? "" : "s");
	if ((err = store_begin(store)))
		return rk_exit_code(err);
	if ((err = store_audit(store, "cli", "contacts.import", dir, detail)) ||
	    (err = store_commit(store))) {
		store_rollback(store);
		rk_log_error(&app->log, "contacts imported, but the audit log could not be written");
		return rk_exit_code(err);
	}
	return RK_EXIT_OK;
}

int cmd_contacts(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct contacts_set set;
	struct contacts_counts counts;
	const char *sub, *dir;
	bool do_import;
	enum rk_err err;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("usage: renraku %s\n", contacts_usage);
			return RK_EXIT_OK;
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

	if ((err = contacts_read_dir(dir, &app->log, &set)))
		return rk_exit_code(err);
	print_problems(dir, &set);
	counts = count(&set);
	if (set.nproblems) {
		print_summary(&counts);
		if (do_import)
			rk_log_error(&app->log,
				     "not imported: %zu problem%s in '%s'; the database is unchanged",
				     set.nproblems, set.nproblems == 1 ? "" : "s", dir);
		rc = RK_EXIT_DATAERR;
	} else if (do_import) {
		rc = import(app, dir, &set, &counts);
		if (rc == RK_EXIT_OK)
			print_summary(&counts);
	} else {
		print_summary(&counts);
		rc = RK_EXIT_OK;
	}
	contacts_set_release(&set);
	return rc;
}
