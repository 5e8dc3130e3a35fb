/* libFuzzer harness: the security.txt parser (RFC 9116 fields, the
 * cleartext signature frame) and the invariants of what it returns. */
#include <stdint.h>
#include <string.h>

#include "renraku/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sectxt st;
	char why[256];

	if (sectxt_parse((const char *)data, size, &st, why, sizeof(why)) == RK_OK) {
		/* every contact is an address renraku may put in a header */
		for (size_t i = 0; i < st.ncontacts; i++)
			if (!rk_email_valid(st.contacts[i]) ||
			    rk_str_has_ctl(st.contacts[i], false))
				__builtin_trap();
		for (size_t i = 0; i < st.nencryption; i++)
			if (rk_str_has_ctl(st.encryption[i], true))
				__builtin_trap();
		if (st.lang && (strlen(st.lang) > 35 || rk_str_has_ctl(st.lang, false)))
			__builtin_trap();
		if (st.ncontacts > RK_MAX_SECURITY_TXT_FIELDS)
			__builtin_trap();
		(void)sectxt_usable(&st, "https://example.test/.well-known/security.txt",
				    1795169700LL, why, sizeof(why));
		sectxt_release(&st);
	} else if (!why[0]) {
		__builtin_trap(); /* every refusal says why */
	}
	return 0;
}
