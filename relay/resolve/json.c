/* The contact chain as `renraku resolve --json` prints it. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Set key to a string (skipped when s is NULL).  false when s is not
 * UTF-8 or memory runs out. */
static bool set_str(json_t *obj, const char *key, const char *s)
{
	json_t *v;

	if (!s)
		return true;
	v = json_string(s);
	return v && json_object_set_new(obj, key, v) == 0;
}

static json_t *contact_json(const struct resolve_contact *c)
{
	json_t *obj = json_object();
	bool ok;

	if (!obj)
		return NULL;
	ok = json_object_set_new(obj, "level", json_integer(c->level)) == 0 &&
	     set_str(obj, "email", c->email) &&
	     set_str(obj, "org", c->org ? c->org : "") &&
	     set_str(obj, "source", c->source ? c->source : "") &&
	     set_str(obj, "match", c->match) && set_str(obj, "cc", c->cc) &&
	     set_str(obj, "lang", c->lang) && set_str(obj, "format", c->format) &&
	     set_str(obj, "pgp", c->pgp);
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

enum rk_err resolve_chain_json(const char *target,
			       const struct resolve_chain *chain,
			       struct rk_buf *out)
{
	json_t *root = json_object(), *list = json_array();
	char *text = NULL;
	enum rk_err err = RK_ERR_NOMEM;

	if (!root || !list)
		goto cleanup;
	if (!set_str(root, "target", target ? target : "")) {
		err = RK_ERR_INVAL; /* not UTF-8 */
		goto cleanup;
	}
	for (size_t i = 0; i < chain->count && i < RESOLVE_MAX_LEVELS; i++) {
		json_t *c = contact_json(&chain->entry[i]);

		if (!c || json_array_append_new(list, c) != 0)
			goto cleanup;
	}
	if (json_object_set(root, "chain", list) != 0 ||
	    !set_str(root, "country", chain->country))
		goto cleanup;
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		goto cleanup;
	err = rk_buf_adds(out, text);
cleanup:
	free(text);
	json_decref(list);
	json_decref(root);
	return err;
}
