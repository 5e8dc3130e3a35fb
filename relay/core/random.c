/* Random bytes from the kernel. */
#include <errno.h>
#include <sys/random.h>

#include "renraku/core.h"

enum rk_err rk_random(void *out, size_t n)
{
	unsigned char *p = out;

	while (n) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return RK_ERR_IO;
		}
		p += got;
		n -= (size_t)got;
	}
	return RK_OK;
}

enum rk_err rk_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	enum rk_err err;

	if (n > sizeof(raw))
		return RK_ERR_LIMIT;
	err = rk_random(raw, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
	return RK_OK;
}
