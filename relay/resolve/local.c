/*
 * The `local` contact source: the imported constituency and national
 * CSIRT tables, loaded from the store once and indexed in memory.
 *
 *   level 0  exact domain > nearest parent domain (*.parent first) >
 *            longest prefix > AS number
 *   level 1  upstream: for a subject matched by its domain, the hosting
 *            network (longest prefix holding the event's address); else,
 *            or when there is none, the constituency's entry for the AS
 *   level 2  the national CSIRT of the country
 */
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define LOCAL_NAME "local"
#define COUNTRY_SLOTS (26 * 26)

struct local_source {
	struct store_contact *rows; /* every contacts row; ids index it */
	size_t nrows;
	struct match_index ix;      /* constituency rows */
	int32_t national[COUNTRY_SLOTS]; /* row of each country, -1 = none */
};

void resolve_contact_release(struct resolve_contact *c)
{
	if (!c)
		return;
	free(c->email);
	free(c->cc);
	free(c->org);
	free(c->lang);
	free(c->format);
	free(c->pgp);
	free(c->source);
	free(c->match);
	free(c->range);
	free(c->country);
	free(c->registry);
	free(c->irt);
	free(c->encryption);
	free(c->detail);
	memset(c, 0, sizeof(*c));
}

enum rk_err resolve_contact_set(struct resolve_contact *out, int level,
				const struct store_contact *row,
				const char *source)
{
	memset(out, 0, sizeof(*out));
	out->level = level;
	out->email = rk_strdup(row->email);
	out->cc = rk_strdup(row->cc);
	out->org = rk_strdup(row->org);
	out->lang = rk_strdup(row->lang);
	out->format = rk_strdup(row->format);
	out->pgp = rk_strdup(row->pgp);
	out->source = rk_strdup(source);
	out->match = rk_strdup(row->match);
	if (!out->email || (row->cc && !out->cc) || (row->org && !out->org) ||
	    (row->lang && !out->lang) || (row->format && !out->format) ||
	    (row->pgp && !out->pgp) || !out->source ||
	    (row->match && !out->match)) {
		resolve_contact_release(out);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* Slot of a two-letter country code (either case), or -1. */
static int country_slot(const char *cc)
{
	int a, b;

	if (!cc || !cc[0] || !cc[1] || cc[2])
		return -1;
	a = (cc[0] | 32) - 'a';
	b = (cc[1] | 32) - 'a';
	if (a < 0 || a >= 26 || b < 0 || b >= 26)
		return -1;
	return a * 26 + b;
}

static enum rk_err local_lookup_one(const struct local_source *ls,
				    const struct resolve_query *q, int level,
				    struct resolve_contact *out)
{
	enum match_how how;
	uint32_t id;
	bool found = false;
	int slot;

	switch (level) {
	case 0:
		if (q->domain)
			found = match_index_domain(&ls->ix, q->domain, &id, &how);
		if (!found && q->has_addr)
			found = match_index_addr(&ls->ix, &q->addr, &id);
		if (!found && q->asn)
			found = match_index_asn(&ls->ix, q->asn, &id);
		break;
	case 1:
		if (q->domain && q->has_addr &&
		    match_index_domain(&ls->ix, q->domain, &id, &how))
			found = match_index_addr(&ls->ix, &q->addr, &id);
		if (!found && q->asn)
			found = match_index_asn(&ls->ix, q->asn, &id);
		break;
	case 2:
		slot = country_slot(q->country);
		if (slot >= 0 && ls->national[slot] >= 0) {
			id = (uint32_t)ls->national[slot];
			found = true;
		}
		break;
	default:
		break;
	}
	if (!found)
		return RK_ERR_NOTFOUND;
	return resolve_contact_set(out, level, &ls->rows[id], LOCAL_NAME);
}

/* In memory: each query answered at once. */
static enum rk_err local_lookup(void *self, const struct resolve_query *qs,
				size_t n, int level,
				struct resolve_contact *outs, enum rk_err *errs)
{
	const struct local_source *ls = self;

	for (size_t i = 0; i < n; i++) {
		errs[i] = local_lookup_one(ls, &qs[i], level, &outs[i]);
		if (errs[i] == RK_ERR_NOMEM)
			return RK_ERR_NOMEM;
	}
	return RK_OK;
}

static void local_free(void *self)
{
	struct local_source *ls = self;

	if (!ls)
		return;
	match_index_release(&ls->ix);
	store_contacts_free(ls->rows, ls->nrows);
	free(ls);
}

/* Index every row; a row the index cannot read (edited by hand in the
 * database, or from an older version) is skipped with a warning. */
static enum rk_err local_index(struct local_source *ls,
			       const struct rk_log *log)
{
	enum rk_err err = RK_OK;
	size_t skipped = 0;

	for (size_t i = 0; i < COUNTRY_SLOTS; i++)
		ls->national[i] = -1;
	for (size_t i = 0; i < ls->nrows && !err; i++) {
		const struct store_contact *c = &ls->rows[i];
		struct match_spec m;
		char why[256];
		int slot;

		if (c->kind == STORE_CONTACT_NATIONAL) {
			slot = country_slot(c->match);
			if (slot < 0 || !c->email)
				skipped++;
			else if (ls->national[slot] < 0)
				ls->national[slot] = (int32_t)i;
			continue;
		}
		err = match_parse(c->match, false, &m, why, sizeof(why));
		if (err == RK_ERR_INVAL || (!err && !c->email)) {
			rk_log_debug(log, "contacts row %lld (%s): %s", (long long)c->id,
				     c->source ? c->source : "?",
				     err ? why : "no e-mail address");
			skipped++;
			err = RK_OK;
		} else if (!err) {
			err = match_index_add(&ls->ix, &m, (uint32_t)i);
		}
		match_release(&m);
	}
	if (skipped)
		rk_log_warn(log, "%zu contacts rows cannot be used (re-import the contacts directory)",
			    skipped);
	return err ? err : match_index_build(&ls->ix);
}

enum rk_err local_source_new(struct rk_store *store, const struct rk_log *log,
			     struct resolve_source *out)
{
	struct local_source *ls = calloc(1, sizeof(*ls));
	enum rk_err err = RK_OK;

	memset(out, 0, sizeof(*out));
	if (!ls)
		return RK_ERR_NOMEM;
	match_index_init(&ls->ix);
	if (store && (err = store_contacts_load(store, &ls->rows, &ls->nrows)))
		goto cleanup;
	if (ls->nrows > INT32_MAX) {
		err = rk_fail(log, RK_ERR_LIMIT, "too many contacts rows (%zu)",
			      ls->nrows);
		goto cleanup;
	}
	if ((err = local_index(ls, log)))
		goto cleanup;
	rk_log_debug(log, "local contacts: %zu rows", ls->nrows);
	out->name = LOCAL_NAME;
	out->network = false;
	out->lookup = local_lookup;
	out->free = local_free;
	out->self = ls;
cleanup:
	if (err)
		local_free(ls);
	return err;
}
