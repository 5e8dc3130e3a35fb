/* Logging to stderr: one line per message, control characters escaped. */
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

static const char *const level_names[] = {"error", "warning", "info",
					  "debug"};

void rk_log_init(struct rk_log *log, enum rk_log_level level)
{
	log->level = level;
	log->stream = NULL;
}

void rk_vlogf(const struct rk_log *log, enum rk_log_level level,
	      const char *fmt, va_list ap)
{
	enum rk_log_level max = log ? log->level : RK_LOG_WARN;
	FILE *out = (log && log->stream) ? log->stream : stderr;
	char text[2048];
	char line[2048 * 4 + 64];
	size_t n = 0;

	if (level > max)
		return;
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		return;
	for (const unsigned char *p = (const unsigned char *)text;
	     *p && n + 5 < sizeof(line); p++) {
		if (*p < 0x20 || *p == 0x7f) {
			static const char hex[] = "0123456789abcdef";
			line[n++] = '\\';
			line[n++] = 'x';
			line[n++] = hex[*p >> 4];
			line[n++] = hex[*p & 15];
		} else {
			line[n++] = (char)*p;
		}
	}
	line[n] = '\0';
	fprintf(out, "renraku: %s: %s\n",
		level_names[level <= RK_LOG_DEBUG ? level : RK_LOG_DEBUG],
		line);
	fflush(out);
}

void rk_logf(const struct rk_log *log, enum rk_log_level level,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rk_vlogf(log, level, fmt, ap);
	va_end(ap);
}

enum rk_err rk_fail(const struct rk_log *log, enum rk_err err,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rk_vlogf(log, RK_LOG_ERROR, fmt, ap);
	va_end(ap);
	return err;
}

void rk_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "renraku: BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
