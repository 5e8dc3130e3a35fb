/*
 * The size limits of [ingest] (max_file, max_line, max_field,
 * max_evidence): every reader asks here, so that a configuration without
 * them (a zeroed struct in a test or a harness) still gets the defaults
 * of include/renraku/limits.h.
 */
#include "private.h"
#include "renraku/csvread.h"

static size_t pick(long long configured, size_t dflt)
{
	return configured > 0 ? (size_t)configured : dflt;
}

size_t ingest_max_file(const struct rk_config *cfg)
{
	return pick(cfg ? cfg->ingest.max_file : 0, RK_MAX_REPORT);
}

size_t ingest_max_line(const struct rk_config *cfg)
{
	return pick(cfg ? cfg->ingest.max_line : 0, RK_MAX_JSON_LINE);
}

size_t ingest_max_field(const struct rk_config *cfg)
{
	return pick(cfg ? cfg->ingest.max_field : 0, RK_MAX_FIELD);
}

size_t ingest_max_evidence(const struct rk_config *cfg)
{
	return pick(cfg ? cfg->ingest.max_evidence : 0, RK_MAX_EVIDENCE);
}

void ingest_csv_limits(const struct rk_config *cfg, struct rk_csv_opts *o)
{
	o->input.max = ingest_max_file(cfg);
	o->input.name = "RK_MAX_REPORT ([ingest] max_file)";
	o->record.max = ingest_max_line(cfg);
	o->record.name = "[ingest] max_line";
	o->cell.max = ingest_max_field(cfg);
	o->cell.name = "RK_MAX_FIELD ([ingest] max_field)";
}
