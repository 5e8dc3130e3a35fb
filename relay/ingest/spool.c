/*
 * The spool directory ([ingest] spool = DIR): report files placed there
 * are ingested by `renraku run` and moved on.
 *
 *   DIR/NAME         a complete report (written elsewhere, renamed in;
 *                    names starting with '.' are taken for files still
 *                    being written and left alone)
 *   DIR/done/NAME    ingested (NAME.rejected beside it lists the records
 *                    that were rejected, if any)
 *   DIR/failed/NAME  not ingested; NAME.error says why
 *
 * A crash between the ingest's commit and the move leaves the file in
 * DIR: the next run ingests it again and its events are dropped as
 * duplicates, so nothing is lost and nothing is stored twice.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

#define SPOOL_MAX_FILES 10000 /* files taken in one pass */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The complete report files in dir, sorted by name (caller frees). */
static enum rk_err list_files(const char *dir, const struct rk_log *log,
			      char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;
	enum rk_err err = RK_OK;

	*out = NULL;
	*n = 0;
	if (!d)
		return rk_fail(log, errno == ENOENT ? RK_ERR_NOTFOUND : RK_ERR_IO,
			       "[ingest] spool '%s': %s", dir, strerror(errno));
	while (!err && (de = readdir(d)) != NULL) {
		struct stat st;
		char *path = NULL;
		void *grown;

		if (de->d_name[0] == '.' || !rk_name_safe(de->d_name))
			continue;
		if ((err = rk_path_join(dir, de->d_name, &path)))
			break;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue; /* done/, failed/, anything else */
		}
		free(path);
		if (count == SPOOL_MAX_FILES)
			break; /* the rest next pass */
		grown = names;
		if ((err = rk_array_room(&grown, count, sizeof(*names))))
			break;
		names = grown;
		if (!(names[count] = rk_strdup(de->d_name))) {
			err = RK_ERR_NOMEM;
			break;
		}
		count++;
	}
	closedir(d);
	if (err) {
		for (size_t i = 0; i < count; i++)
			free(names[i]);
		free(names);
		return err;
	}
	if (count)
		qsort(names, count, sizeof(*names), cmp_names);
	*out = names;
	*n = count;
	return RK_OK;
}

/* Move dir/name to dir/sub/name (or name.1, name.2, ... when taken). */
static enum rk_err move_to(const char *dir, const char *sub, const char *name,
			   const struct rk_log *log, char **moved)
{
	char *from = NULL, *to_dir = NULL;
	struct rk_buf to;
	enum rk_err err;

	*moved = NULL;
	rk_buf_init(&to, 8192);
	if ((err = rk_path_join(dir, name, &from)) ||
	    (err = rk_path_join(dir, sub, &to_dir)) ||
	    (err = rk_mkdir_p(to_dir, 0700)))
		goto cleanup;
	for (int k = 0; k < 1000; k++) {
		struct stat st;

		rk_buf_reset(&to);
		if ((err = k ? rk_buf_addf(&to, "%s/%s.%d", to_dir, name, k)
			     : rk_buf_addf(&to, "%s/%s", to_dir, name)))
			goto cleanup;
		if (lstat(to.data, &st) != 0 && errno == ENOENT)
			break;
	}
	if (rename(from, to.data) != 0) {
		err = rk_fail(log, RK_ERR_IO, "cannot move '%s' to '%s': %s", from,
			      to.data, strerror(errno));
		goto cleanup;
	}
	*moved = rk_buf_detach(&to, NULL);
	if (!*moved)
		err = RK_ERR_NOMEM;
cleanup:
	free(from);
	free(to_dir);
	rk_buf_release(&to);
	return err;
}

/* NAME.error / NAME.rejected beside a moved file: one line per error. */
static enum rk_err write_errors(const char *moved, const char *suffix,
				const char *headline,
				const struct ingest_result *res, size_t first)
{
	struct rk_buf path, text;
	enum rk_err err;

	rk_buf_init(&path, 8192);
	rk_buf_init(&text, 1 << 20);
	err = rk_buf_addf(&path, "%s%s", moved, suffix);
	if (!err && headline)
		err = rk_buf_addf(&text, "%s\n", headline);
	for (size_t i = first; !err && i < res->nerrors; i++) {
		const struct ingest_error *e = &res->errors[i];

		err = e->line > 0 ? rk_buf_addf(&text, "line %lld: %s\n", e->line,
						e->reason)
				  : rk_buf_addf(&text, "%s\n", e->reason);
	}
	if (err == RK_ERR_LIMIT)
		err = RK_OK; /* the file is cut, the first errors say enough */
	if (!err)
		err = rk_write_file_atomic(path.data, text.data, text.len, 0600);
	rk_buf_release(&path);
	rk_buf_release(&text);
	return err;
}

enum rk_err ingest_spool(struct rk_store *store, const struct rk_config *cfg,
			 const struct rk_log *log, int64_t now,
			 struct ingest_spool_stats *stats)
{
	struct ingest_options opts;
	char *dir = NULL, **names = NULL;
	size_t n = 0;
	enum rk_err err;

	if (!cfg->ingest.spool)
		return RK_OK;
	if ((err = rk_config_path(cfg, cfg->ingest.spool, &dir)))
		return err;
	if ((err = list_files(dir, log, &names, &n)))
		goto cleanup;
	memset(&opts, 0, sizeof(opts));
	opts.format = INGEST_FORMAT_AUTO;
	opts.reporter = "spool";
	opts.now = now;
	/* the files in one bulk-insert run, as renraku ingest does */
	if (n > 1 && (err = store_ingest_start(store)))
		goto cleanup;
	for (size_t i = 0; i < n && !err; i++) {
		struct ingest_result res;
		char *path = NULL, *moved = NULL;
		enum rk_err ierr;

		memset(&res, 0, sizeof(res));
		if ((err = rk_path_join(dir, names[i], &path)))
			break;
		ierr = ingest_file(store, cfg, log, &opts, path, &res);
		free(path);
		if (ierr == RK_ERR_NOMEM || ierr == RK_ERR_DB ||
		    ierr == RK_ERR_BUSY || ierr == RK_ERR_INTERNAL ||
		    ierr == RK_ERR_CONFIG) {
			/* ours, not the file's: it stays for the next pass */
			ingest_result_release(&res);
			err = ierr;
			break;
		}
		if (ierr) {
			char headline[256];

			snprintf(headline, sizeof(headline),
				 "not ingested: %s", rk_strerror(ierr));
			if (!(err = move_to(dir, "failed", names[i], log, &moved)))
				err = write_errors(moved, ".error", headline, &res, 0);
			stats->failed++;
			rk_log_error(log, "spool: %s not ingested (%s): see %s.error",
				     names[i], rk_strerror(ierr), moved ? moved : "failed/");
		} else {
			if (!(err = move_to(dir, "done", names[i], log, &moved)) &&
			    res.rejected)
				err = write_errors(moved, ".rejected", NULL, &res, 0);
			stats->files++;
			stats->events += res.events;
			stats->duplicates += res.duplicates;
			stats->rejected += res.rejected;
			rk_log_info(log, "spool: %s: %lld events, %lld duplicates, %lld rejected",
				    names[i], res.events, res.duplicates, res.rejected);
		}
		free(moved);
		ingest_result_release(&res);
	}
	if (n > 1)
		store_ingest_end(store);
cleanup:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return err;
}
