/*
 * The RDAP answer walker (RFC 9083): from one parsed answer, the contact
 * an abuse handler would write to, the range the answer covers and the
 * country.  A pure function over text: the RDAP source fetches, this
 * reads, so the fuzzer can drive it alone.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rdap.h"

/* An entity met during the walk, breadth first. */
struct walk_entity {
	json_t *obj;            /* borrowed from the document */
	int depth;              /* 1 = in the object's own entities */
	bool under_registrar;   /* its parent has role registrar */
	const char *parent_fn;  /* the parent entity's fn, NULL */
	bool abuse, technical, administrative, registrar, registrant;
	bool has_vcard;
	const char *handle;     /* borrowed, NULL */
	const char *fn;         /* borrowed, NULL */
	const char *emails[RK_MAX_RDAP_EMAILS];
	size_t nemails;
};

/* National Internet registries whose IRT objects APNIC shows as the
 * abuse contact of the space they manage. */
static const char *const nir_tags[] = {"JPNIC", "KRNIC", "TWNIC", "CNNIC",
				       "IDNIC", "VNNIC", "IRINN"};

void rdap_answer_release(struct rdap_answer *a)
{
	if (!a)
		return;
	free(a->email);
	free(a->cc);
	free(a->org);
	free(a->irt);
	free(a->fetch_handle);
	free(a->country);
	free(a->name);
	free(a->ldh_name);
	memset(a, 0, sizeof(*a));
}

static const char *str_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An IPv4 address whose octets may carry leading zeros (ARIN writes
 * "192.000.002.000"), else any address rk_addr_parse takes. */
static enum rk_err parse_addr(const char *s, struct rk_addr *out)
{
	char clean[RK_ADDR_TEXT];
	size_t o = 0;
	const char *p = s;

	if (!s)
		return RK_ERR_INVAL;
	if (!strchr(s, ':') && strlen(s) < 32) {
		for (int octet = 0; octet < 4; octet++) {
			size_t digits = 0;

			while (*p == '0' && p[1] >= '0' && p[1] <= '9')
				p++;
			while (*p >= '0' && *p <= '9' && digits < 4) {
				clean[o++] = *p++;
				digits++;
			}
			if (digits == 0 || digits > 3)
				return RK_ERR_INVAL;
			if (octet < 3) {
				if (*p++ != '.')
					return RK_ERR_INVAL;
				clean[o++] = '.';
			}
		}
		if (*p)
			return RK_ERR_INVAL;
		clean[o] = '\0';
		return rk_addr_parse(clean, out);
	}
	return rk_addr_parse(s, out);
}

static int addr_cmp(const struct rk_addr *a, const struct rk_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16);
}

/* The first and last address of prefix/len. */
static void prefix_bounds(const struct rk_addr *net, int len,
			  struct rk_addr *start, struct rk_addr *end)
{
	int bits = net->family == 4 ? 32 : 128;

	*start = *net;
	*end = *net;
	for (int bit = len; bit < bits; bit++) {
		start->bytes[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
		end->bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
}

static void read_cidr0(json_t *root, struct rdap_answer *out)
{
	json_t *list = json_object_get(root, "cidr0_cidrs"), *c;
	size_t i;

	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, c) {
		const char *p4 = str_member(c, "v4prefix");
		const char *p6 = str_member(c, "v6prefix");
		json_t *len = json_object_get(c, "length");
		struct rk_addr net, s, e;
		json_int_t l;

		if (i >= 64)
			break;
		if (!json_is_integer(len) || parse_addr(p4 ? p4 : p6, &net))
			continue;
		l = json_integer_value(len);
		if (l < 0 || l > (net.family == 4 ? 32 : 128))
			continue;
		prefix_bounds(&net, (int)l, &s, &e);
		if (!out->has_range) {
			out->start = s;
			out->end = e;
			out->has_range = true;
			continue;
		}
		if (s.family != out->start.family)
			continue;
		if (addr_cmp(&s, &out->start) < 0)
			out->start = s;
		if (addr_cmp(&e, &out->end) > 0)
			out->end = e;
	}
}

static void read_range(json_t *root, struct rdap_answer *out)
{
	struct rk_addr s, e;

	if (parse_addr(str_member(root, "startAddress"), &s) == RK_OK &&
	    parse_addr(str_member(root, "endAddress"), &e) == RK_OK &&
	    s.family == e.family && addr_cmp(&s, &e) <= 0) {
		out->start = s;
		out->end = e;
		out->has_range = true;
		return;
	}
	read_cidr0(root, out);
}

static void read_autnum(json_t *root, struct rdap_answer *out)
{
	json_t *s = json_object_get(root, "startAutnum");
	json_t *e = json_object_get(root, "endAutnum");
	json_int_t a, b;

	if (!json_is_integer(s))
		return;
	a = json_integer_value(s);
	b = json_is_integer(e) ? json_integer_value(e) : a;
	if (a < 1 || b < a || b > 4294967295LL)
		return;
	out->asn_start = (uint32_t)a;
	out->asn_end = (uint32_t)b;
	out->has_asns = true;
}

static bool has_role(json_t *roles, const char *role)
{
	json_t *r;
	size_t i;

	json_array_foreach(roles, i, r)
		if (json_is_string(r) && rk_str_ieq(json_string_value(r), role))
			return true;
	return false;
}

/* Every e-mail address of the jCard, whatever its parameters. */
static void read_vcard(json_t *vcard, struct walk_entity *we)
{
	json_t *props, *prop;
	size_t i;

	if (!json_is_array(vcard) || json_array_size(vcard) < 2)
		return;
	we->has_vcard = true;
	props = json_array_get(vcard, 1);
	if (!json_is_array(props))
		return;
	json_array_foreach(props, i, prop) {
		const char *name, *value;
		bool seen = false;

		if (!json_is_array(prop) || json_array_size(prop) < 4 ||
		    !json_is_string(json_array_get(prop, 0)))
			continue;
		name = json_string_value(json_array_get(prop, 0));
		value = json_is_string(json_array_get(prop, 3))
				? json_string_value(json_array_get(prop, 3))
				: NULL;
		if (!value)
			continue;
		if (rk_str_ieq(name, "fn")) {
			if (!we->fn)
				we->fn = value;
			continue;
		}
		if (!rk_str_ieq(name, "email"))
			continue;
		if (strncmp(value, "mailto:", 7) == 0)
			value += 7;
		if (!rk_email_valid(value))
			continue;
		for (size_t k = 0; k < we->nemails && !seen; k++)
			seen = rk_str_ieq(we->emails[k], value);
		if (!seen && we->nemails < RK_MAX_RDAP_EMAILS)
			we->emails[we->nemails++] = value;
	}
}

static void entity_read(json_t *obj, int depth, bool under_registrar,
			struct walk_entity *we)
{
	json_t *roles = json_object_get(obj, "roles");

	memset(we, 0, sizeof(*we));
	we->obj = obj;
	we->depth = depth;
	we->under_registrar = under_registrar;
	we->handle = str_member(obj, "handle");
	if (json_is_array(roles)) {
		we->abuse = has_role(roles, "abuse");
		we->technical = has_role(roles, "technical");
		we->administrative = has_role(roles, "administrative");
		we->registrar = has_role(roles, "registrar");
		we->registrant = has_role(roles, "registrant");
	}
	read_vcard(json_object_get(obj, "vcardArray"), we);
}

static bool is_national_irt(const struct walk_entity *we)
{
	if (!we->handle || strncasecmp(we->handle, "IRT-", 4) != 0)
		return false;
	for (size_t i = 0; i < RK_ARRAY_LEN(nir_tags); i++)
		if (strcasestr(we->handle, nir_tags[i]))
			return true;
	return false;
}

/* Walk the entities breadth first (so "shallowest" is "first met"). */
static size_t walk_entities(json_t *root, struct walk_entity *ents)
{
	size_t n = 0, head = 0;
	json_t *list = json_object_get(root, "entities"), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		if (n == RK_MAX_RDAP_ENTITIES)
			break;
		if (json_is_object(e))
			entity_read(e, 1, false, &ents[n++]);
	}
	while (head < n) {
		struct walk_entity *parent = &ents[head++];

		if (parent->depth >= RK_MAX_RDAP_DEPTH)
			continue;
		list = json_object_get(parent->obj, "entities");
		json_array_foreach(list, i, e) {
			if (n == RK_MAX_RDAP_ENTITIES)
				return n;
			if (!json_is_object(e))
				continue;
			entity_read(e, parent->depth + 1, parent->registrar,
				    &ents[n]);
			ents[n++].parent_fn = parent->fn;
		}
	}
	return n;
}

/* The first entity (in walk order) passing pred with an address. */
static const struct walk_entity *
first_with(const struct walk_entity *ents, size_t n,
	   bool (*pred)(const struct walk_entity *))
{
	for (size_t i = 0; i < n; i++)
		if (ents[i].nemails && pred(&ents[i]))
			return &ents[i];
	return NULL;
}

static bool pred_registrar_abuse(const struct walk_entity *e)
{
	return e->abuse && e->under_registrar;
}
static bool pred_abuse(const struct walk_entity *e)
{
	return e->abuse;
}
static bool pred_own_abuse(const struct walk_entity *e)
{
	return e->abuse && !is_national_irt(e);
}
static bool pred_technical(const struct walk_entity *e)
{
	return e->technical && !is_national_irt(e);
}
static bool pred_administrative(const struct walk_entity *e)
{
	return e->administrative && !is_national_irt(e);
}

static enum rk_err set_contact(struct rdap_answer *out,
			       const struct walk_entity *we, const char *role)
{
	struct rk_buf cc;
	enum rk_err err = RK_OK;

	out->role = role;
	if (!(out->email = rk_strdup(we->emails[0])))
		return RK_ERR_NOMEM;
	if (we->fn && !(out->org = rk_strdup(we->fn)))
		return RK_ERR_NOMEM;
	if (we->nemails < 2)
		return RK_OK;
	rk_buf_init(&cc, RK_MAX_HEADER_VALUE);
	for (size_t i = 1; i < we->nemails && !err; i++)
		err = rk_buf_addf(&cc, "%s%s", i > 1 ? ", " : "", we->emails[i]);
	if (err == RK_ERR_LIMIT)
		err = RK_OK; /* keep the addresses that fit */
	if (!err && cc.len && !(out->cc = rk_buf_detach(&cc, NULL)))
		err = RK_ERR_NOMEM;
	rk_buf_release(&cc);
	return err;
}

static enum rk_err choose_contact(const struct walk_entity *ents, size_t n,
				  struct rdap_answer *out)
{
	const struct walk_entity *c = NULL, *irt = NULL;
	const char *role = "abuse";
	enum rk_err err;

	if (out->kind == RDAP_DOMAIN)
		c = first_with(ents, n, pred_registrar_abuse);
	if (!c)
		c = first_with(ents, n, pred_abuse);
	if (c && is_national_irt(c)) {
		/* prefer the network's own contact below the IRT */
		const struct walk_entity *own = first_with(ents, n, pred_own_abuse);

		role = "abuse";
		if (!own && (own = first_with(ents, n, pred_technical)))
			role = "technical";
		if (!own && (own = first_with(ents, n, pred_administrative)))
			role = "administrative";
		if (own) {
			irt = c;
			c = own;
		}
	}
	if (!c) {
		/* an abuse entity without a vCard: its own object has it */
		for (size_t i = 0; i < n; i++) {
			if (ents[i].abuse && !ents[i].has_vcard && ents[i].handle &&
			    *ents[i].handle) {
				out->fetch_handle = rk_strdup(ents[i].handle);
				return out->fetch_handle ? RK_OK : RK_ERR_NOMEM;
			}
		}
	}
	if (!c && (c = first_with(ents, n, pred_technical)))
		role = "technical";
	if (!c && (c = first_with(ents, n, pred_administrative)))
		role = "administrative";
	if (!c)
		return RK_OK;
	if ((err = set_contact(out, c, role)))
		return err;
	if (!out->org && c->parent_fn && !(out->org = rk_strdup(c->parent_fn)))
		return RK_ERR_NOMEM;
	if (irt && !(out->irt = rk_strdup(irt->emails[0])))
		return RK_ERR_NOMEM;
	if (!out->org) {
		for (size_t i = 0; i < n; i++)
			if (ents[i].registrant && ents[i].fn)
				return (out->org = rk_strdup(ents[i].fn))
					       ? RK_OK
					       : RK_ERR_NOMEM;
	}
	return RK_OK;
}

static enum rdap_kind kind_of(const char *cls)
{
	if (!cls)
		return RDAP_OTHER;
	if (rk_str_ieq(cls, "ip network"))
		return RDAP_IP;
	if (rk_str_ieq(cls, "autnum"))
		return RDAP_AUTNUM;
	if (rk_str_ieq(cls, "domain"))
		return RDAP_DOMAIN;
	if (rk_str_ieq(cls, "entity"))
		return RDAP_ENTITY;
	return RDAP_OTHER;
}

static enum rk_err copy_country(json_t *root, struct rdap_answer *out)
{
	const char *cc = str_member(root, "country");

	if (!cc || strlen(cc) != 2 || !((cc[0] | 32) >= 'a' && (cc[0] | 32) <= 'z') ||
	    !((cc[1] | 32) >= 'a' && (cc[1] | 32) <= 'z'))
		return RK_OK;
	if (!(out->country = rk_strdup(cc)))
		return RK_ERR_NOMEM;
	out->country[0] = (char)(out->country[0] & ~32);
	out->country[1] = (char)(out->country[1] & ~32);
	return RK_OK;
}

/* A short single-line copy of an outside string, NULL when absent. */
static enum rk_err copy_line(const char *s, size_t max, char **out)
{
	if (!s)
		return RK_OK;
	if (!(*out = rk_strndup(s, strnlen(s, max))))
		return RK_ERR_NOMEM;
	rk_str_clean_line(*out);
	return RK_OK;
}

enum rk_err rdap_walk(const char *text, size_t len, struct rdap_answer *out,
		      char *why, size_t whylen)
{
	struct walk_entity *ents = NULL;
	json_error_t jerr;
	json_t *root;
	enum rk_err err = RK_OK;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = '\0';
	if (len > RK_MAX_RDAP_JSON) {
		snprintf(why, whylen, "answer larger than RK_MAX_RDAP_JSON (%u bytes)",
			 RK_MAX_RDAP_JSON);
		return RK_ERR_LIMIT;
	}
	root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		snprintf(why, whylen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return RK_ERR_PARSE;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "not a JSON object");
		err = RK_ERR_PARSE;
		goto cleanup;
	}
	out->kind = kind_of(str_member(root, "objectClassName"));
	if (out->kind == RDAP_OTHER && json_object_get(root, "errorCode")) {
		json_t *code = json_object_get(root, "errorCode");

		snprintf(why, whylen, "RDAP error %lld",
			 json_is_integer(code) ? (long long)json_integer_value(code)
					       : 0LL);
		err = RK_ERR_PARSE;
		goto cleanup;
	}
	if ((err = copy_country(root, out)) ||
	    (err = copy_line(str_member(root, "name"), 256, &out->name)) ||
	    (err = copy_line(str_member(root, "ldhName"), RK_MAX_DOMAIN,
			     &out->ldh_name)))
		goto cleanup;
	if (out->ldh_name)
		rk_str_lower(out->ldh_name);
	if (out->kind == RDAP_IP) {
		json_t *origins = json_object_get(root, "arin_originas0_originautnums");
		json_t *first = json_array_get(origins, 0);

		read_range(root, out);
		if (json_is_integer(first) && json_integer_value(first) > 0 &&
		    json_integer_value(first) <= 4294967295LL)
			out->origin_asn = (uint32_t)json_integer_value(first);
	}
	if (out->kind == RDAP_AUTNUM)
		read_autnum(root, out);
	ents = calloc(RK_MAX_RDAP_ENTITIES + 1, sizeof(*ents));
	if (!ents) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (out->kind == RDAP_ENTITY) {
		/* an /entity/HANDLE answer: the object itself is the contact */
		entity_read(root, 0, false, &ents[0]);
		if (ents[0].nemails)
			err = set_contact(out, &ents[0], "abuse");
		out->entities = 1;
		goto cleanup;
	}
	n = walk_entities(root, ents);
	out->entities = n;
	err = choose_contact(ents, n, out);
	if (!err && out->org)
		rk_str_clean_line(out->org);
cleanup:
	free(ents);
	json_decref(root);
	if (err)
		rdap_answer_release(out);
	return err;
}
