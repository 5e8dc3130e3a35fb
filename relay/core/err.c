/* Error codes, their text, and their exit codes. */
#include "renraku/core.h"

const char *rk_strerror(enum rk_err err)
{
	switch (err) {
	case RK_OK: return "success";
	case RK_ERR_NOMEM: return "out of memory";
	case RK_ERR_IO: return "input/output error";
	case RK_ERR_USAGE: return "bad usage";
	case RK_ERR_CONFIG: return "bad configuration";
	case RK_ERR_PARSE: return "cannot parse input";
	case RK_ERR_LIMIT: return "size limit exceeded";
	case RK_ERR_INVAL: return "invalid value";
	case RK_ERR_NOTFOUND: return "not found";
	case RK_ERR_EXISTS: return "already exists";
	case RK_ERR_DB: return "database error";
	case RK_ERR_DB_NEWER: return "database is newer than this program";
	case RK_ERR_BUSY: return "database is busy";
	case RK_ERR_TEMPLATE: return "template error";
	case RK_ERR_GPG: return "OpenPGP error";
	case RK_ERR_MIME: return "MIME error";
	case RK_ERR_TRANSPORT: return "delivery failed";
	case RK_ERR_TEMPFAIL: return "temporary failure";
	case RK_ERR_INTERNAL: return "internal error";
	case RK_ERR_UNSUPPORTED: return "not supported";
	case RK_ERR_TRANSITION: return "state change not allowed";
	}
	return "unknown error";
}

enum rk_exit rk_exit_code(enum rk_err err)
{
	switch (err) {
	case RK_OK:
		return RK_EXIT_OK;
	case RK_ERR_USAGE:
		return RK_EXIT_USAGE;
	case RK_ERR_PARSE:
	case RK_ERR_LIMIT:
	case RK_ERR_INVAL:
		return RK_EXIT_DATAERR;
	case RK_ERR_BUSY:
	case RK_ERR_TEMPFAIL:
		return RK_EXIT_TEMPFAIL;
	default:
		return RK_EXIT_FAILURE;
	}
}
