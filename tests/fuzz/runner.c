/* Runs a libFuzzer harness over every file of a corpus directory, so the
 * harnesses double as regression tests in ctest (also under ASan+UBSan). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	DIR *dir;
	struct dirent *de;
	long long runs = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	dir = opendir(argv[1]);
	if (!dir) {
		fprintf(stderr, "cannot open corpus '%s'\n", argv[1]);
		return 1;
	}
	while ((de = readdir(dir)) != NULL) {
		struct rk_buf b;
		char *path = NULL;

		if (de->d_name[0] == '.')
			continue;
		rk_buf_init(&b, 64u << 20);
		if (rk_path_join(argv[1], de->d_name, &path) ||
		    rk_buf_read_file(&b, path)) {
			fprintf(stderr, "cannot read '%s'\n", de->d_name);
			free(path);
			closedir(dir);
			return 1;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
		rk_buf_release(&b);
		free(path);
		runs++;
	}
	closedir(dir);
	if (runs == 0) {
		fprintf(stderr, "empty corpus '%s'\n", argv[1]);
		return 1;
	}
	printf("%lld inputs ran without a crash\n", runs);
	return 0;
}
