/*
 * What an import changes: the rows the store holds against the rows read,
 * matched by identity (kind and match for contacts, match and type for
 * suppressions) after sorting both sides, so the cost is n log n.
 */
#include <stdlib.h>
#include <string.h>

#include "private.h"

static int str_cmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static bool str_eq0(const char *a, const char *b)
{
	return str_cmp0(a, b) == 0;
}

static int contact_cmp(const void *pa, const void *pb)
{
	const struct store_contact *a = *(const struct store_contact *const *)pa;
	const struct store_contact *b = *(const struct store_contact *const *)pb;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return str_cmp0(a->match, b->match);
}

static bool contact_same(const struct store_contact *a,
			 const struct store_contact *b)
{
	return str_eq0(a->org, b->org) && str_eq0(a->email, b->email) &&
	       str_eq0(a->cc, b->cc) && str_eq0(a->pgp, b->pgp) &&
	       str_eq0(a->lang, b->lang) && str_eq0(a->format, b->format) &&
	       str_eq0(a->notes, b->notes);
}

static const char *type_key(const char *type)
{
	return type && *type ? type : "*";
}

static int supp_cmp(const void *pa, const void *pb)
{
	const struct store_suppression *a =
		*(const struct store_suppression *const *)pa;
	const struct store_suppression *b =
		*(const struct store_suppression *const *)pb;
	int c = str_cmp0(a->match, b->match);

	return c ? c : strcmp(type_key(a->type), type_key(b->type));
}

static bool supp_same(const struct store_suppression *a,
		      const struct store_suppression *b)
{
	return a->until == b->until && str_eq0(a->reason, b->reason);
}

static void count_key(struct contacts_count *keys, const char *old_pgp,
		      const char *new_pgp)
{
	bool had = old_pgp && *old_pgp, has = new_pgp && *new_pgp;

	if (had && has)
		(str_eq0(old_pgp, new_pgp) ? &keys->unchanged : &keys->changed)[0]++;
	else if (has)
		keys->added++;
	else if (had)
		keys->removed++;
}

static enum rk_err sorted(const void *rows, size_t n, size_t size,
			  int (*cmp)(const void *, const void *),
			  const void ***out)
{
	*out = NULL;
	if (!n)
		return RK_OK;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		(*out)[i] = (const char *)rows + i * size;
	qsort(*out, n, sizeof(**out), cmp);
	return RK_OK;
}

static struct contacts_count *kind_count(struct contacts_changes *c,
					 enum store_contact_kind kind)
{
	return kind == STORE_CONTACT_NATIONAL ? &c->national : &c->constituency;
}

static void diff_contacts(const struct store_contact *const *a, size_t na,
			  const struct store_contact *const *b, size_t nb,
			  struct contacts_changes *out)
{
	size_t i = 0, j = 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : contact_cmp(&a[i], &b[j]);

		if (c < 0) {
			kind_count(out, a[i]->kind)->removed++;
			count_key(&out->keys, a[i]->pgp, NULL);
			i++;
		} else if (c > 0) {
			kind_count(out, b[j]->kind)->added++;
			count_key(&out->keys, NULL, b[j]->pgp);
			j++;
		} else {
			struct contacts_count *k = kind_count(out, b[j]->kind);

			(contact_same(a[i], b[j]) ? &k->unchanged : &k->changed)[0]++;
			count_key(&out->keys, a[i]->pgp, b[j]->pgp);
			i++;
			j++;
		}
	}
}

static void diff_supps(const struct store_suppression *const *a, size_t na,
		       const struct store_suppression *const *b, size_t nb,
		       struct contacts_count *out)
{
	size_t i = 0, j = 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : supp_cmp(&a[i], &b[j]);

		if (c < 0) {
			out->removed++;
			i++;
		} else if (c > 0) {
			out->added++;
			j++;
		} else {
			(supp_same(a[i], b[j]) ? &out->unchanged : &out->changed)[0]++;
			i++;
			j++;
		}
	}
}

enum rk_err contacts_diff(const struct store_contact *old, size_t nold,
			  const struct store_suppression *old_supps,
			  size_t nold_supps, const struct contacts_set *set,
			  struct contacts_changes *out)
{
	const void **a = NULL, **b = NULL, **sa = NULL, **sb = NULL;
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	if ((err = sorted(old, nold, sizeof(*old), contact_cmp, &a)) ||
	    (err = sorted(set->contacts, set->ncontacts, sizeof(*set->contacts),
			  contact_cmp, &b)) ||
	    (err = sorted(old_supps, nold_supps, sizeof(*old_supps), supp_cmp,
			  &sa)) ||
	    (err = sorted(set->supps, set->nsupps, sizeof(*set->supps), supp_cmp,
			  &sb)))
		goto cleanup;
	diff_contacts((const struct store_contact *const *)a, nold,
		      (const struct store_contact *const *)b, set->ncontacts, out);
	diff_supps((const struct store_suppression *const *)sa, nold_supps,
		   (const struct store_suppression *const *)sb, set->nsupps,
		   &out->suppressions);
cleanup:
	free(a);
	free(b);
	free(sa);
	free(sb);
	return err;
}
