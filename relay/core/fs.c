/* File system helpers. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renraku/core.h"

#ifndef RK_SOURCE_DATA_DIR
#define RK_SOURCE_DATA_DIR "."
#endif
#ifndef RK_INSTALL_DATADIR
#define RK_INSTALL_DATADIR "/usr/local/share/renraku"
#endif
#ifndef RK_INSTALL_DATADIR_REL
#define RK_INSTALL_DATADIR_REL "share/renraku"
#endif

enum rk_err rk_mkdir_p(const char *path, unsigned mode)
{
	char *copy;
	enum rk_err err = RK_OK;

	if (!path || !*path)
		return RK_ERR_INVAL;
	if (!(copy = rk_strdup(path)))
		return RK_ERR_NOMEM;
	for (char *p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
				err = RK_ERR_IO;
				break;
			}
			*p = saved;
			if (!saved)
				break;
		}
	}
	free(copy);
	return err;
}

static enum rk_err fsync_dir_of(const char *path)
{
	char *copy = rk_strdup(path), *slash;
	int fd;

	if (!copy)
		return RK_ERR_NOMEM;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else {
		free(copy);
		copy = rk_strdup(".");
		if (!copy)
			return RK_ERR_NOMEM;
	}
	fd = open(copy, O_RDONLY | O_DIRECTORY);
	free(copy);
	if (fd < 0)
		return RK_ERR_IO;
	fsync(fd);
	close(fd);
	return RK_OK;
}

enum rk_err rk_write_file_atomic(const char *path, const void *data,
				 size_t len, unsigned mode)
{
	struct rk_buf tmp;
	const char *p = data;
	char rnd[17];
	enum rk_err err;
	int fd;

	rk_buf_init(&tmp, 8192);
	if ((err = rk_random_hex(rnd, 8)) ||
	    (err = rk_buf_addf(&tmp, "%s.tmp.%s", path, rnd)))
		goto cleanup;
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  (mode_t)mode);
	if (fd < 0) {
		err = RK_ERR_IO;
		goto cleanup;
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp.data);
		err = RK_ERR_IO;
		goto cleanup;
	}
	close(fd);
	if (rename(tmp.data, path) != 0) {
		unlink(tmp.data);
		err = RK_ERR_IO;
		goto cleanup;
	}
	err = fsync_dir_of(path);
cleanup:
	rk_buf_release(&tmp);
	return err;
}

bool rk_name_safe(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > 128 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

enum rk_err rk_rmtree(const char *path)
{
	if (!path || !*path)
		return RK_ERR_INVAL;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT)
		return RK_ERR_IO;
	return RK_OK;
}

enum rk_err rk_path_join(const char *dir, const char *name, char **out)
{
	struct rk_buf b;
	enum rk_err err;
	size_t dl = strlen(dir);

	rk_buf_init(&b, 8192);
	err = rk_buf_adds(&b, dir);
	if (!err && dl && dir[dl - 1] != '/')
		err = rk_buf_addc(&b, '/');
	if (!err)
		err = rk_buf_adds(&b, name);
	if (err) {
		rk_buf_release(&b);
		*out = NULL;
		return err;
	}
	*out = rk_buf_detach(&b, NULL);
	return *out ? RK_OK : RK_ERR_NOMEM;
}

static bool has_templates(const char *dir)
{
	char *t = NULL;
	struct stat st;
	bool ok;

	if (rk_path_join(dir, "templates", &t))
		return false;
	ok = stat(t, &st) == 0 && S_ISDIR(st.st_mode);
	free(t);
	return ok;
}

enum rk_err rk_data_dir(char **out)
{
	char *exe = realpath("/proc/self/exe", NULL), *slash;
	struct rk_buf installed;
	enum rk_err err = RK_OK;

	*out = NULL;
	rk_buf_init(&installed, 8192);
	if (exe && (slash = strrchr(exe, '/')) != NULL) {
		*slash = '\0';
		if (!rk_buf_addf(&installed, "%s/../%s", *exe ? exe : "",
				 RK_INSTALL_DATADIR_REL) &&
		    has_templates(installed.data)) {
			/* without the "bin/.." for the messages */
			char *canon = realpath(installed.data, NULL);

			*out = canon ? canon : rk_strdup(installed.data);
		}
	}
	if (!*out)
		*out = rk_strdup(has_templates(RK_SOURCE_DATA_DIR) ? RK_SOURCE_DATA_DIR
								   : RK_INSTALL_DATADIR);
	if (!*out)
		err = RK_ERR_NOMEM;
	free(exe);
	rk_buf_release(&installed);
	return err;
}
