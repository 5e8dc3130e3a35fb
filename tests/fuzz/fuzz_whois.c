/* libFuzzer harness: the whois answer parser (any registry's shape,
 * ISO-2022-JP decoding) and the invariants of what it returns. */
#include <stdint.h>
#include <string.h>

#include "renraku/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s)
{
	/* nothing from the answer may break a header line or a log line */
	if (s && rk_str_has_ctl(s, false))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct whois_answer a;
	char q[RK_MAX_DOMAIN + 16];

	if (whois_parse((const char *)data, size, &a) == RK_OK) {
		check_line(a.email);
		check_line(a.referral);
		check_line(a.range);
		check_line(a.org);
		check_line(a.handle);
		if (a.email && !rk_email_valid(a.email))
			__builtin_trap();
		if (a.country && (strlen(a.country) != 2 || a.country[0] < 'A' ||
				  a.country[0] > 'Z'))
			__builtin_trap();
		if (a.org && !rk_utf8_valid(a.org, strlen(a.org)))
			__builtin_trap();
		if (a.email_rank < 0 || a.email_rank > 3)
			__builtin_trap();
		if (a.handle && whois_query_line("whois.nic.ad.jp", a.handle, q,
						 sizeof(q)) == RK_ERR_INVAL)
			__builtin_trap();
	}
	whois_answer_release(&a);
	return 0;
}
