/* application/x-www-form-urlencoded: one field of a form body (the
 * acknowledgement pages' POST). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

bool rk_form_field(const char *d, size_t len, const char *name, char *out,
		   size_t size)
{
	size_t nl = strlen(name), i = 0;

	if (size == 0)
		return false;
	while (i < len) {
		size_t end = i;

		while (end < len && d[end] != '&')
			end++;
		if (end - i > nl && strncmp(d + i, name, nl) == 0 && d[i + nl] == '=') {
			size_t o = 0;

			for (size_t k = i + nl + 1; k < end; k++) {
				char c = d[k];

				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					char hex[3];
					char *e = NULL;

					if (k + 2 >= end || !isxdigit((unsigned char)d[k + 1]) ||
					    !isxdigit((unsigned char)d[k + 2]))
						return false;
					hex[0] = d[k + 1];
					hex[1] = d[k + 2];
					hex[2] = '\0';
					c = (char)strtol(hex, &e, 16);
					k += 2;
				}
				if (o + 1 >= size)
					return false;
				out[o++] = c;
			}
			out[o] = '\0';
			return true;
		}
		i = end + 1;
	}
	return false;
}

