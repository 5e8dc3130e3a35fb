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

/* Set key to a string, or to null when s is NULL. */
static bool set_str_null(json_t *obj, const char *key, const char *s)
{
	if (!s)
		return json_object_set_new(obj, key, json_null()) == 0;
	return set_str(obj, key, s);
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
	     set_str(obj, "pgp", c->pgp) && set_str_null(obj, "range", c->range) &&
	     set_str_null(obj, "country", c->country) &&
	     set_str(obj, "registry", c->registry) && set_str(obj, "irt", c->irt) &&
	     set_str(obj, "encryption", c->encryption) &&
	     set_str(obj, "detail", c->detail) &&
	     json_object_set_new(obj, "cached", json_boolean(c->cached)) == 0 &&
	     (!c->asn || json_object_set_new(obj, "asn", json_integer(c->asn)) == 0) &&
	     (!c->fetched_at ||
	      json_object_set_new(obj, "fetched_at", json_integer(c->fetched_at)) == 0);
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* The chain as one JSON object: {"target":..} for the command line
 * (target not NULL), {"v":1} for the store (target NULL), then "chain"
 * and "country". */
static enum rk_err chain_write(const char *target,
			       const struct resolve_chain *chain,
			       struct rk_buf *out)
{
	json_t *root = json_object(), *list = json_array();
	char *text = NULL;
	enum rk_err err = RK_ERR_NOMEM;

	if (!root || !list)
		goto cleanup;
	if (target ? !set_str(root, "target", target)
		   : json_object_set_new(root, "v", json_integer(1)) != 0) {
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

enum rk_err resolve_chain_json(const char *target,
			       const struct resolve_chain *chain,
			       struct rk_buf *out)
{
	return chain_write(target ? target : "", chain, out);
}

/* ------------------------------------------------------------ stored */

enum rk_err resolve_chain_encode(const struct resolve_chain *chain,
				 struct rk_buf *out)
{
	return chain_write(NULL, chain, out);
}

/* Copy the string member key of obj into *dst (NULL when absent). */
static bool get_str(json_t *obj, const char *key, char **dst)
{
	json_t *v = json_object_get(obj, key);

	*dst = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	*dst = rk_strndup(json_string_value(v), json_string_length(v));
	return *dst != NULL;
}

enum rk_err resolve_chain_decode(const char *text, struct resolve_chain *out)
{
	json_t *root, *list;
	enum rk_err err = RK_OK;
	size_t i;

	memset(out, 0, sizeof(*out));
	root = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	list = json_object_get(root, "chain");
	if (!json_is_object(root) || !json_is_array(list) ||
	    json_array_size(list) > RESOLVE_MAX_LEVELS) {
		json_decref(root);
		return RK_ERR_PARSE;
	}
	for (i = 0; i < json_array_size(list) && !err; i++) {
		json_t *c = json_array_get(list, i);
		json_t *level = json_object_get(c, "level");
		struct resolve_contact *e = &out->entry[out->count];

		if (!json_is_object(c) || !json_is_integer(level) ||
		    json_integer_value(level) < 0 ||
		    json_integer_value(level) >= RESOLVE_MAX_LEVELS) {
			err = RK_ERR_PARSE;
			break;
		}
		out->count++;
		e->level = (int)json_integer_value(level);
		if (!get_str(c, "email", &e->email) || !e->email ||
		    !get_str(c, "cc", &e->cc) || !get_str(c, "org", &e->org) ||
		    !get_str(c, "lang", &e->lang) ||
		    !get_str(c, "format", &e->format) ||
		    !get_str(c, "pgp", &e->pgp) ||
		    !get_str(c, "source", &e->source) ||
		    !get_str(c, "match", &e->match) ||
		    !get_str(c, "range", &e->range) ||
		    !get_str(c, "country", &e->country) ||
		    !get_str(c, "registry", &e->registry) ||
		    !get_str(c, "irt", &e->irt) ||
		    !get_str(c, "encryption", &e->encryption) ||
		    !get_str(c, "detail", &e->detail))
			err = RK_ERR_PARSE;
		e->cached = json_is_true(json_object_get(c, "cached"));
		if (json_is_integer(json_object_get(c, "asn")) &&
		    json_integer_value(json_object_get(c, "asn")) > 0 &&
		    json_integer_value(json_object_get(c, "asn")) <= 4294967295LL)
			e->asn = (uint32_t)json_integer_value(json_object_get(c, "asn"));
		if (json_is_integer(json_object_get(c, "fetched_at")))
			e->fetched_at = json_integer_value(json_object_get(c, "fetched_at"));
	}
	if (!err && !get_str(root, "country", &out->country))
		err = RK_ERR_PARSE;
	json_decref(root);
	if (err)
		resolve_chain_release(out);
	return err;
}
