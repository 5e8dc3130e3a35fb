/*
 * renraku resolve [--json] [--explain] [--offline] TARGET...
 *
 * The contact chain for each target (an IP address, an AS number or a
 * domain name).  --json prints one JSON object for one target, an array
 * of them for several; without it a table.  --explain adds how each level
 * was found.  A target without any contact gets an empty chain (exit 0,
 * with a note on stderr); a target that is not an address, AS number or
 * domain name makes the exit code 65.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/resolve.h"

#define RESOLVE_MAX_OUTPUT (64u << 20) /* the whole document printed */

static const char resolve_usage[] =
	"resolve [--json] [--explain] [--offline] IP|ASN|DOMAIN...";

static const char resolve_help[] =
	"usage: renraku [--config FILE] [--db FILE] resolve [--json] [--explain] "
	"[--offline] IP|ASN|DOMAIN...\n"
	"\n"
	"The contact chain for each target, from the sources of [resolve]\n"
	"sources in order (default: the imported constituency, then RDAP;\n"
	"whois, abusix, cymru and security.txt when named there, see\n"
	"docs/configuration.md).\n"
	"\n"
	"  --json     one JSON object (an array for several targets); a failure\n"
	"             prints {\"error\": ...}\n"
	"  --explain  say how each level was found: source, registry or server,\n"
	"             range, country, cache age, security.txt signature\n"
	"  --offline  only local sources and cached answers (no whois, DNS or\n"
	"             HTTPS)\n"
	"  --help     this text\n";

static void pad(struct rk_buf *b, const char *s, size_t width)
{
	size_t w = rk_utf8_width(s);

	rk_buf_adds(b, s);
	while (w++ < width)
		rk_buf_addc(b, ' ');
}

/* How a level was found, from what matched. */
static const char *how_found(const struct resolve_contact *c,
			     const char *target)
{
	const char *m = c->match ? c->match : "";

	if (c->level == 2)
		return "national CSIRT of the country";
	if (c->level == 1)
		return m[0] == 'A' || m[0] == 'a'
			       ? "upstream: the entry of the origin AS"
			       : "upstream: the network hosting the domain's address";
	if ((m[0] == 'A' || m[0] == 'a') && (m[1] == 'S' || m[1] == 's') &&
	    m[2] >= '0' && m[2] <= '9')
		return "the AS entry (no closer match)";
	if (strchr(m, ':') || strspn(m, "0123456789./") == strlen(m))
		return "longest prefix containing the address";
	if (m[0] == '*' && m[1] == '.')
		return "subdomain wildcard";
	if (rk_str_ieq(m, target))
		return "exact domain";
	return "parent domain";
}

/* A level a network source found: where from, what the answer covers,
 * how old it is. */
static void explain_network(struct rk_buf *b, const struct resolve_contact *c,
			    int64_t now)
{
	rk_buf_addf(b, "           found by: source %s, %s %s\n", c->source,
		    strcmp(c->source, "rdap") == 0	  ? "registry"
		    : strcmp(c->source, "whois") == 0 ? "server"
						      : "asked",
		    c->registry ? c->registry : "?");
	rk_buf_addf(b, "           range %s, country %s\n",
		    c->range ? c->range : "-", c->country ? c->country : "-");
	if (c->asn)
		rk_buf_addf(b, "           origin AS%u (asked at level 1)\n", c->asn);
	if (c->irt)
		rk_buf_addf(b, "           passed over: %s (a national registry's IRT; "
			       "the network's own contact is preferred)\n", c->irt);
	if (c->detail) /* security.txt: how its signature was found */
		rk_buf_addf(b, "           detail: %s\n", c->detail);
	if (c->encryption)
		rk_buf_addf(b, "           encryption key: %s\n", c->encryption);
	if (c->cached && c->fetched_at)
		rk_buf_addf(b, "           cache: answered %llds ago, kept by range\n",
			    (long long)(now - c->fetched_at));
	else if (strcmp(c->source, "rdap") == 0)
		rk_buf_adds(b, "           cache: asked now, kept by range\n");
	else
		rk_buf_adds(b, "           cache: none, asked now\n");
}

static void table(struct rk_buf *b, const char *target,
		  const struct resolve_chain *chain, bool explain, int64_t now)
{
	size_t we = 0, wo = 0, ws = 0;

	for (size_t i = 0; i < chain->count; i++) {
		const struct resolve_contact *c = &chain->entry[i];
		size_t w;

		if ((w = rk_utf8_width(c->email)) > we)
			we = w;
		if ((w = rk_utf8_width(c->org ? c->org : "")) > wo)
			wo = w;
		if ((w = rk_utf8_width(c->source ? c->source : "")) > ws)
			ws = w;
	}
	rk_buf_addf(b, "%s%s\n", b->len ? "\n" : "", target);
	if (chain->count == 0)
		rk_buf_adds(b, "  no contact found\n");
	for (size_t i = 0; i < chain->count; i++) {
		const struct resolve_contact *c = &chain->entry[i];

		rk_buf_addf(b, "  level %d  ", c->level);
		pad(b, c->email, we + 2);
		pad(b, c->org ? c->org : "", wo + 2);
		pad(b, c->source ? c->source : "", ws + 2);
		rk_buf_adds(b, c->match ? c->match : c->range ? c->range : "");
		while (b->len && b->data[b->len - 1] == ' ')
			rk_buf_truncate(b, b->len - 1);
		rk_buf_addc(b, '\n');
		if (!explain)
			continue;
		if (c->source && strcmp(c->source, "local") != 0)
			explain_network(b, c, now);
		else
			rk_buf_addf(b, "           found by: %s (source %s, matched %s; "
				       "cache: none, read from the imported table)\n",
				    how_found(c, target), c->source ? c->source : "?",
				    c->match ? c->match : "?");
		if (c->cc || c->lang || c->format || c->pgp)
			rk_buf_addf(b, "           cc %s, lang %s, format %s, pgp %s\n",
				    c->cc ? c->cc : "-", c->lang ? c->lang : "-",
				    c->format ? c->format : "csv-attach (default)",
				    c->pgp ? c->pgp : "-");
	}
}

int cmd_resolve(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"explain", no_argument, NULL, 'e'},
		{"offline", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct resolver *r = NULL;
	struct rk_store *store;
	struct rk_buf doc;
	bool json = false, explain = false, offline = false, bad = false;
	size_t printed = 0;
	enum rk_err err = RK_OK;
	int c, rc = RK_EXIT_OK, ntargets;

	while ((c = getopt_long(argc, argv, "jeoh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'e': explain = true; break;
		case 'o': offline = true; break;
		case 'h': return app_help(resolve_help);
		default:
			return app_usage("%s", resolve_usage);
		}
	}
	ntargets = argc - optind;
	if (ntargets < 1)
		return app_usage("%s", resolve_usage);
	rk_buf_init(&doc, RESOLVE_MAX_OUTPUT);
	if ((err = app_store(app, &store)) ||
	    (err = resolve_new(&r, store, &app->cfg, &app->log, offline))) {
		rc = json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
		goto cleanup;
	}
	if (json && ntargets > 1)
		err = rk_buf_addc(&doc, '[');
	for (int i = optind; i < argc && !err; i++) {
		struct resolve_chain chain;

		err = resolve_target(r, argv[i], &chain);
		if (err == RK_ERR_INVAL) {
			bad = true; /* logged by resolve_target */
			err = RK_OK;
			continue;
		}
		if (err)
			break;
		if (chain.count == 0)
			rk_log_info(&app->log, "no contact found for '%s'", argv[i]);
		if (json) {
			if (printed)
				err = rk_buf_addc(&doc, ',');
			if (!err)
				err = resolve_chain_json(argv[i], &chain, &doc);
		} else {
			table(&doc, argv[i], &chain, explain, app->now);
		}
		printed++;
		resolve_chain_release(&chain);
	}
	if (!err && json && ntargets > 1)
		err = rk_buf_addc(&doc, ']');
	if (!err && !json && explain && printed)
		err = rk_buf_adds(&doc, "\nnote: level 1 (the origin AS's contact) and "
					"level 2 (the national CSIRT) come from an "
					"event's AS number and country; a target on "
					"the command line gives neither (for an AS "
					"number, level 1 would repeat level 0)\n");
	if (err) {
		rk_log_error(&app->log, "resolve: %s", rk_strerror(err));
		rc = json ? app_json_error(app, err, NULL)
			  : (int)rk_exit_code(err);
		goto cleanup;
	}
	if (doc.len && doc.data[doc.len - 1] == '\n')
		rk_buf_truncate(&doc, doc.len - 1);
	if (json && bad && ntargets == 1) {
		/* the one target was not one: the document says so */
		rc = app_json_error(app, RK_ERR_INVAL, NULL);
		goto cleanup;
	}
	if ((json && (printed || ntargets > 1)) || (!json && printed))
		rc = app_print(&doc);
	if (rc == RK_EXIT_OK && bad)
		rc = RK_EXIT_DATAERR;
cleanup:
	resolve_free(r);
	rk_buf_release(&doc);
	return rc;
}
