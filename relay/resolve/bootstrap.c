/*
 * The RFC 9224 bootstrap: which registry's RDAP service answers for an
 * address (longest prefix), an AS number (range) or a domain (longest
 * label suffix).  Four IANA files, read from [resolve] bootstrap_dir
 * (the copy under data/rdap/ by default) and refreshed by `renraku
 * bootstrap update`.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rdap.h"
#include "renraku/http.h"
#include "renraku/resolve.h"

const char *const bootstrap_file_names[BOOTSTRAP_FILES] = {
	"ipv4.json", "ipv6.json", "asn.json", "dns.json"};

struct bs_prefix {
	struct rk_addr net;
	int len;
	size_t url;
};

struct bs_asn {
	uint32_t start, end;
	size_t url;
};

struct bs_label {
	char *label; /* lower case, owned */
	size_t url;
};

struct bootstrap {
	char **urls; /* owned, each ends in '/' */
	size_t nurls;
	struct bs_prefix *pfx[2]; /* [0] IPv4, [1] IPv6 */
	size_t npfx[2];
	struct bs_asn *asns;
	size_t nasns;
	struct bs_label *labels;
	size_t nlabels;
};

enum rk_err bootstrap_new(struct bootstrap **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? RK_OK : RK_ERR_NOMEM;
}

static void clear_kind(struct bootstrap *b, enum bootstrap_file which)
{
	switch (which) {
	case BOOTSTRAP_IPV4:
	case BOOTSTRAP_IPV6:
		free(b->pfx[which]);
		b->pfx[which] = NULL;
		b->npfx[which] = 0;
		break;
	case BOOTSTRAP_ASN:
		free(b->asns);
		b->asns = NULL;
		b->nasns = 0;
		break;
	case BOOTSTRAP_DNS:
		for (size_t i = 0; i < b->nlabels; i++)
			free(b->labels[i].label);
		free(b->labels);
		b->labels = NULL;
		b->nlabels = 0;
		break;
	}
}

void bootstrap_free(struct bootstrap *b)
{
	if (!b)
		return;
	for (int k = 0; k < BOOTSTRAP_FILES; k++)
		clear_kind(b, (enum bootstrap_file)k);
	for (size_t i = 0; i < b->nurls; i++)
		free(b->urls[i]);
	free(b->urls);
	free(b);
}

/* The service's URL to use (https first), interned in b->urls. */
static enum rk_err pick_url(struct bootstrap *b, json_t *urls, bool allow_http,
			    size_t *out)
{
	const char *best = NULL;
	json_t *u;
	size_t i, n;
	char *copy;

	json_array_foreach(urls, i, u) {
		const char *s = json_is_string(u) ? json_string_value(u) : NULL;

		if (!s || rk_str_has_ctl(s, false) || strlen(s) > RK_MAX_URL)
			continue;
		if (strncasecmp(s, "https://", 8) == 0) {
			best = s;
			break;
		}
		if (allow_http && !best && strncasecmp(s, "http://", 7) == 0)
			best = s;
	}
	if (!best)
		return RK_ERR_NOTFOUND;
	n = strlen(best);
	for (i = 0; i < b->nurls; i++) {
		size_t l = strlen(b->urls[i]);

		if ((l == n || (l == n + 1 && best[n - 1] != '/')) &&
		    strncmp(b->urls[i], best, n) == 0) {
			*out = i;
			return RK_OK;
		}
	}
	if (rk_array_room((void **)&b->urls, b->nurls, sizeof(*b->urls)))
		return RK_ERR_NOMEM;
	copy = malloc(n + 2);
	if (!copy)
		return RK_ERR_NOMEM;
	memcpy(copy, best, n);
	copy[n] = '\0';
	if (n == 0 || best[n - 1] != '/') {
		copy[n] = '/';
		copy[n + 1] = '\0';
	}
	*out = b->nurls;
	b->urls[b->nurls++] = copy;
	return RK_OK;
}

static enum rk_err add_entry(struct bootstrap *b, enum bootstrap_file which,
			     const char *s, size_t url, size_t *count)
{
	if (++*count > RK_MAX_BOOTSTRAP_ENTRIES)
		return RK_ERR_LIMIT;
	if (which == BOOTSTRAP_IPV4 || which == BOOTSTRAP_IPV6) {
		struct bs_prefix p = {.url = url};

		if (rk_cidr_parse(s, &p.net, &p.len) != RK_OK ||
		    p.net.family != (which == BOOTSTRAP_IPV4 ? 4 : 6))
			return RK_ERR_INVAL;
		if (rk_array_room((void **)&b->pfx[which], b->npfx[which],
				  sizeof(p)))
			return RK_ERR_NOMEM;
		b->pfx[which][b->npfx[which]++] = p;
	} else if (which == BOOTSTRAP_ASN) {
		struct bs_asn a = {.url = url};
		const char *dash = strchr(s, '-');
		char first[16];
		long long lo, hi;
		size_t n = dash ? (size_t)(dash - s) : strlen(s);

		if (n == 0 || n >= sizeof(first))
			return RK_ERR_INVAL;
		memcpy(first, s, n);
		first[n] = '\0';
		if (rk_parse_long(first, 0, 4294967295LL, &lo) ||
		    rk_parse_long(dash ? dash + 1 : first, lo, 4294967295LL, &hi))
			return RK_ERR_INVAL;
		a.start = (uint32_t)lo;
		a.end = (uint32_t)hi;
		if (rk_array_room((void **)&b->asns, b->nasns, sizeof(a)))
			return RK_ERR_NOMEM;
		b->asns[b->nasns++] = a;
	} else {
		struct bs_label l = {.url = url};

		if (!*s || strlen(s) > RK_MAX_DOMAIN || rk_str_has_ctl(s, false))
			return RK_ERR_INVAL;
		if (rk_array_room((void **)&b->labels, b->nlabels, sizeof(l)) ||
		    !(l.label = rk_strdup(s)))
			return RK_ERR_NOMEM;
		rk_str_lower(l.label);
		if (l.label[strlen(l.label) - 1] == '.')
			l.label[strlen(l.label) - 1] = '\0';
		b->labels[b->nlabels++] = l;
	}
	return RK_OK;
}

enum rk_err bootstrap_parse(struct bootstrap *b, enum bootstrap_file which,
			    const char *text, size_t len, bool allow_http,
			    char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *services, *svc;
	size_t i, count = 0;
	enum rk_err err = RK_OK;

	clear_kind(b, which);
	if (len > RK_MAX_BOOTSTRAP) {
		snprintf(why, whylen, "larger than RK_MAX_BOOTSTRAP (%u bytes)",
			 RK_MAX_BOOTSTRAP);
		return RK_ERR_LIMIT;
	}
	root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		snprintf(why, whylen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return RK_ERR_PARSE;
	}
	services = json_object_get(root, "services");
	if (!json_is_array(services) || !json_is_string(json_object_get(root, "version"))) {
		snprintf(why, whylen, "not an RFC 9224 bootstrap file (no \"version\" "
				      "and \"services\")");
		err = RK_ERR_PARSE;
		goto cleanup;
	}
	json_array_foreach(services, i, svc) {
		json_t *entries = json_array_get(svc, 0), *e;
		json_t *urls = json_array_get(svc, json_array_size(svc) - 1);
		size_t url, k;

		if (!json_is_array(svc) || json_array_size(svc) < 2 ||
		    !json_is_array(entries) || !json_is_array(urls)) {
			snprintf(why, whylen, "service %zu is not [[entries], [urls]]", i);
			err = RK_ERR_PARSE;
			goto cleanup;
		}
		err = pick_url(b, urls, allow_http, &url);
		if (err == RK_ERR_NOTFOUND) {
			err = RK_OK; /* no URL we may use: the service is left out */
			continue;
		}
		if (err)
			goto cleanup;
		json_array_foreach(entries, k, e) {
			if (!json_is_string(e)) {
				snprintf(why, whylen, "service %zu: entry %zu is not a string",
					 i, k);
				err = RK_ERR_PARSE;
				goto cleanup;
			}
			err = add_entry(b, which, json_string_value(e), url, &count);
			if (err == RK_ERR_INVAL) {
				snprintf(why, whylen, "service %zu: '%.64s' is not a valid %s",
					 i, json_string_value(e),
					 which == BOOTSTRAP_ASN ? "AS range"
					 : which == BOOTSTRAP_DNS ? "label"
								  : "prefix");
				err = RK_ERR_PARSE;
			} else if (err == RK_ERR_LIMIT) {
				snprintf(why, whylen, "more than RK_MAX_BOOTSTRAP_ENTRIES (%d) entries",
					 RK_MAX_BOOTSTRAP_ENTRIES);
			}
			if (err)
				goto cleanup;
		}
	}
cleanup:
	json_decref(root);
	if (err)
		clear_kind(b, which);
	return err;
}

enum rk_err bootstrap_load(struct bootstrap *b, const char *dir,
			   bool allow_http, char *why, size_t whylen)
{
	enum rk_err err = RK_OK;

	for (int k = 0; k < BOOTSTRAP_FILES && !err; k++) {
		char *path = NULL, detail[256];
		struct rk_buf text;

		rk_buf_init(&text, RK_MAX_BOOTSTRAP);
		if ((err = rk_path_join(dir, bootstrap_file_names[k], &path)))
			break;
		err = rk_buf_read_file(&text, path);
		if (err == RK_ERR_NOTFOUND) {
			err = RK_OK; /* missing: that kind stays empty */
		} else if (err) {
			snprintf(why, whylen, "%s: %s", path,
				 err == RK_ERR_LIMIT ? "larger than RK_MAX_BOOTSTRAP"
						     : "cannot be read");
		} else if ((err = bootstrap_parse(b, (enum bootstrap_file)k, text.data,
						  text.len, allow_http, detail,
						  sizeof(detail)))) {
			snprintf(why, whylen, "%s: %s", path, detail);
		}
		free(path);
		rk_buf_release(&text);
	}
	return err;
}

enum rk_err bootstrap_dir(const struct rk_config *cfg, char **out)
{
	char *data = NULL, *alt = NULL;
	enum rk_err err;

	*out = NULL;
	if (cfg && cfg->resolve.bootstrap_dir)
		return rk_config_path(cfg, cfg->resolve.bootstrap_dir, out);
	if ((err = rk_data_dir(&data)))
		return err;
	/* installed: <datadir>/rdap; a source tree keeps it in data/rdap */
	err = rk_path_join(data, "rdap", out);
	if (!err && access(*out, F_OK) != 0 &&
	    !(err = rk_path_join(data, "data/rdap", &alt)) &&
	    access(alt, F_OK) == 0) {
		free(*out);
		*out = alt;
		alt = NULL;
	}
	free(alt);
	free(data);
	return err;
}

const char *bootstrap_addr(const struct bootstrap *b, const struct rk_addr *a)
{
	int fam = a->family == 4 ? 0 : 1, best = -1;
	size_t url = 0;

	for (size_t i = 0; i < b->npfx[fam]; i++) {
		const struct bs_prefix *p = &b->pfx[fam][i];

		if (p->len > best && rk_addr_in_prefix(a, &p->net, p->len)) {
			best = p->len;
			url = p->url;
		}
	}
	return best >= 0 ? b->urls[url] : NULL;
}

const char *bootstrap_asn(const struct bootstrap *b, uint32_t asn)
{
	const struct bs_asn *best = NULL;

	for (size_t i = 0; i < b->nasns; i++) {
		const struct bs_asn *a = &b->asns[i];

		if (asn >= a->start && asn <= a->end &&
		    (!best || a->end - a->start < best->end - best->start))
			best = a;
	}
	return best ? b->urls[best->url] : NULL;
}

const char *bootstrap_domain(const struct bootstrap *b, const char *domain)
{
	/* the longest suffix at a label boundary first */
	for (const char *p = domain; p && *p;) {
		for (size_t i = 0; i < b->nlabels; i++)
			if (rk_str_ieq(b->labels[i].label, p))
				return b->urls[b->labels[i].url];
		p = strchr(p, '.');
		if (p)
			p++;
	}
	return NULL;
}

/* ------------------------------------------------------------ update */

enum rk_err resolve_bootstrap_update(const struct rk_config *cfg,
				     const struct rk_log *log,
				     const char *const *http_resolve,
				     struct resolve_bootstrap_result *res)
{
	struct rk_http_options opt = {0};
	struct rk_http_request reqs[BOOTSTRAP_FILES];
	struct rk_http_response resps[BOOTSTRAP_FILES];
	struct rk_buf urls[BOOTSTRAP_FILES];
	struct rk_http *http = NULL;
	struct bootstrap *check = NULL;
	char why[256];
	enum rk_err err = RK_OK;
	bool fetched = false;

	memset(res, 0, sizeof(*res));
	for (int k = 0; k < BOOTSTRAP_FILES; k++)
		rk_buf_init(&urls[k], RK_MAX_URL);
	if (!cfg->resolve.bootstrap_dir) {
		err = rk_fail(log, RK_ERR_CONFIG,
			      "bootstrap update: set [resolve] bootstrap_dir (the "
			      "bundled copy belongs to the installation and is "
			      "not rewritten)");
		goto cleanup;
	}
	if ((err = rk_config_path(cfg, cfg->resolve.bootstrap_dir, &res->dir)) ||
	    (err = rk_mkdir_p(res->dir, 0755)) || (err = bootstrap_new(&check)))
		goto cleanup;
	opt.ca_file = cfg->resolve.ca_file;
	opt.timeout_ms = cfg->resolve.timeout * 1000;
	opt.max_redirects = 3;
	opt.resolve = http_resolve;
	if ((err = rk_http_new(&http, &opt)))
		goto cleanup;
	for (int k = 0; k < BOOTSTRAP_FILES; k++) {
		const char *base = cfg->resolve.bootstrap_url;
		size_t n = strlen(base);

		if ((err = rk_buf_addf(&urls[k], "%s%s%s", base,
				       n && base[n - 1] == '/' ? "" : "/",
				       bootstrap_file_names[k])))
			goto cleanup;
		reqs[k] = (struct rk_http_request){.url = urls[k].data,
						   .accept = "application/json",
						   .max_body = RK_MAX_BOOTSTRAP};
	}
	if ((err = rk_http_fetch(http, reqs, BOOTSTRAP_FILES, resps)))
		goto cleanup;
	fetched = true;
	/* every file checked before any is replaced */
	for (int k = 0; k < BOOTSTRAP_FILES && !err; k++) {
		const struct rk_http_response *r = &resps[k];

		if (r->err || r->status != 200) {
			err = rk_fail(log, r->err == RK_ERR_LIMIT ? RK_ERR_LIMIT
								 : RK_ERR_TEMPFAIL,
				      "bootstrap update: %s: %s", urls[k].data,
				      r->err ? r->error : "HTTP status is not 200");
			if (r->status >= 400 && r->status < 500 && r->status != 429)
				err = RK_ERR_PARSE;
			break;
		}
		if (bootstrap_parse(check, (enum bootstrap_file)k, r->body,
				    r->body_len, false, why, sizeof(why))) {
			err = rk_fail(log, RK_ERR_PARSE, "bootstrap update: %s: %s",
				      urls[k].data, why);
			break;
		}
	}
	if (!err) {
		res->entries[BOOTSTRAP_IPV4] = check->npfx[0];
		res->entries[BOOTSTRAP_IPV6] = check->npfx[1];
		res->entries[BOOTSTRAP_ASN] = check->nasns;
		res->entries[BOOTSTRAP_DNS] = check->nlabels;
		if (check->npfx[0] == 0 || check->npfx[1] == 0 || check->nasns == 0)
			err = rk_fail(log, RK_ERR_PARSE,
				      "bootstrap update: a file names no https "
				      "service for addresses or AS numbers: kept "
				      "the files in place");
	}
	for (int k = 0; k < BOOTSTRAP_FILES && !err; k++) {
		char *path = NULL;

		if (!(err = rk_path_join(res->dir, bootstrap_file_names[k], &path)))
			err = rk_write_file_atomic(path, resps[k].body,
						   resps[k].body_len, 0644);
		if (err)
			rk_fail(log, err, "bootstrap update: cannot write '%s'",
				path ? path : res->dir);
		free(path);
	}
cleanup:
	for (int k = 0; fetched && k < BOOTSTRAP_FILES; k++)
		rk_http_response_release(&resps[k]);
	for (int k = 0; k < BOOTSTRAP_FILES; k++)
		rk_buf_release(&urls[k]);
	bootstrap_free(check);
	rk_http_free(http);
	return err;
}
