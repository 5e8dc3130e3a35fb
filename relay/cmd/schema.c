/*
 * renraku schema update FILE
 *
 * Replace the Shadowserver schema the Shadowserver ingest format reads
 * ([ingest] shadowserver_schema, else <data dir>/shadowserver/
 * intelmq.json) with FILE, after checking it: JSON, at most
 * RK_MAX_SHADOWSERVER_SCHEMA bytes, every report with file_name,
 * feed_name, constant_fields and its field lists with known conversions.
 * A file that fails the check leaves the schema in place (exit 65); the
 * replacement is atomic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/ingest.h"

static const char schema_usage[] = "schema update FILE";

static const char schema_help[] =
	"usage: renraku [--config FILE] schema update FILE\n"
	"\n"
	"  update FILE  check FILE as Shadowserver's IntelMQ schema\n"
	"               (intelmq.json) and replace the one the shadowserver\n"
	"               ingest format reads ([ingest] shadowserver_schema, else\n"
	"               <data dir>/shadowserver/intelmq.json)\n"
	"  --help       this text\n"
	"\n"
	"exit codes: 0 replaced, 1 cannot read or write, 2 usage, 65 FILE is\n"
	"not a valid schema (nothing replaced)\n";

int cmd_schema(struct app *app, int argc, char **argv)
{
	struct rk_buf data;
	char reason[320], *target = NULL;
	size_t reports = 0;
	FILE *f = NULL;
	enum rk_err err;
	int rc = RK_EXIT_FAILURE;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0))
		return app_help(schema_help);
	if (argc != 3 || strcmp(argv[1], "update") != 0)
		return app_usage("%s", schema_usage);
	rk_buf_init(&data, RK_MAX_SHADOWSERVER_SCHEMA);
	if ((err = app_config(app)))
		goto cleanup;
	f = fopen(argv[2], "rb");
	if (!f) {
		rk_fail(&app->log, RK_ERR_IO, "schema: cannot open '%s': %s",
			argv[2], strerror(errno));
		goto cleanup;
	}
	err = rk_buf_read_stream(&data, f);
	if (err == RK_ERR_LIMIT) {
		rk_fail(&app->log, err,
			"schema: '%s' is larger than "
			"RK_MAX_SHADOWSERVER_SCHEMA (%u bytes)",
			argv[2], RK_MAX_SHADOWSERVER_SCHEMA);
		rc = RK_EXIT_DATAERR;
		goto cleanup;
	}
	if (err) {
		rk_fail(&app->log, err, "schema: cannot read '%s'", argv[2]);
		goto cleanup;
	}
	if (ingest_shadowserver_schema_check(data.data ? data.data : "",
					     data.len, &reports, reason,
					     sizeof(reason))) {
		rk_fail(&app->log, RK_ERR_PARSE, "schema: '%s': %s", argv[2],
			reason);
		rc = RK_EXIT_DATAERR;
		goto cleanup;
	}
	if ((err = ingest_shadowserver_schema_path(&app->cfg, "intelmq.json",
						   &target)))
		goto cleanup;
	if ((err = rk_write_file_atomic(target, data.data, data.len, 0644))) {
		rk_fail(&app->log, err, "schema: cannot write '%s'", target);
		goto cleanup;
	}
	printf("schema: %s replaced: %zu Shadowserver report types\n", target,
	       reports);
	rc = RK_EXIT_OK;
cleanup:
	if (f)
		fclose(f);
	free(target);
	rk_buf_release(&data);
	return rc;
}
