/* libFuzzer harness: the RDAP answer walker (relay/resolve/rdap_walk.c)
 * and the RFC 9224 bootstrap parser, from a buffer. */
#include <stdint.h>
#include <string.h>

#include "../../relay/resolve/rdap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdap_answer a;
	struct bootstrap *bs = NULL;
	char why[256];
	enum rk_err err;

	err = rdap_walk((const char *)data, size, &a, why, sizeof(why));
	if (err == RK_OK) {
		/* what the walker promises of an accepted answer */
		if (a.email && !rk_email_valid(a.email))
			__builtin_trap();
		if (a.email && a.fetch_handle)
			__builtin_trap();
		if (a.org && rk_str_has_ctl(a.org, false))
			__builtin_trap();
		if (a.cc && (rk_str_has_ctl(a.cc, false) ||
			     strlen(a.cc) > RK_MAX_HEADER_VALUE))
			__builtin_trap();
		if (a.country && strlen(a.country) != 2)
			__builtin_trap();
		if (a.has_range && (a.start.family != a.end.family ||
				    memcmp(a.start.bytes, a.end.bytes, 16) > 0))
			__builtin_trap();
		if (a.has_asns && a.asn_start > a.asn_end)
			__builtin_trap();
		if (a.entities > RK_MAX_RDAP_ENTITIES)
			__builtin_trap();
		rdap_answer_release(&a);
	} else if (!why[0]) {
		__builtin_trap(); /* a rejection always says why */
	}
	if (bootstrap_new(&bs) == RK_OK) {
		for (int k = 0; k < BOOTSTRAP_FILES; k++) {
			struct rk_addr addr = {4, {192, 0, 2, 1}};

			if (bootstrap_parse(bs, (enum bootstrap_file)k,
					    (const char *)data, size, false, why,
					    sizeof(why)) != RK_OK)
				continue;
			(void)bootstrap_addr(bs, &addr);
			(void)bootstrap_asn(bs, 64500);
			(void)bootstrap_domain(bs, "www.example.test");
		}
		bootstrap_free(bs);
	}
	return 0;
}
