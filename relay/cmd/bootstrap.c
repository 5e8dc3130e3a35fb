/*
 * renraku bootstrap update
 *
 * Refresh the RFC 9224 RDAP bootstrap ([resolve] bootstrap_dir) from
 * [resolve] bootstrap_url: the four files are fetched, checked, and only
 * then replaced, each atomically.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/resolve.h"

static const char bootstrap_usage[] = "bootstrap update";

static const char bootstrap_help[] =
	"usage: renraku [--config FILE] bootstrap update\n"
	"\n"
	"  update  fetch ipv4.json, ipv6.json, asn.json and dns.json (RFC 9224)\n"
	"          from [resolve] bootstrap_url, check each, then replace the\n"
	"          copies in [resolve] bootstrap_dir (which must be set: the\n"
	"          bundled copy is not rewritten)\n"
	"  --help  this text\n"
	"\n"
	"exit codes: 0 replaced, 1 cannot write or not configured, 2 usage,\n"
	"65 a file is not a bootstrap (nothing replaced), 75 a file could not\n"
	"be fetched (nothing replaced)\n";

int cmd_bootstrap(struct app *app, int argc, char **argv)
{
	struct resolve_bootstrap_result res;
	enum rk_err err;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0))
		return app_help(bootstrap_help);
	if (argc != 2 || strcmp(argv[1], "update") != 0)
		return app_usage("%s", bootstrap_usage);
	if ((err = app_config(app)))
		return (int)rk_exit_code(err);
	err = resolve_bootstrap_update(&app->cfg, &app->log, NULL, &res);
	if (!err)
		printf("bootstrap updated in %s: %zu IPv4 and %zu IPv6 prefixes, "
		       "%zu AS ranges, %zu domain labels\n",
		       res.dir, res.entries[0], res.entries[1], res.entries[2],
		       res.entries[3]);
	free(res.dir);
	if (err == RK_ERR_PARSE)
		return RK_EXIT_DATAERR;
	return (int)rk_exit_code(err);
}
