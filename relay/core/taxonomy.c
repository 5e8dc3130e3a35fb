/* The IntelMQ classification types renraku knows, with the taxonomy
 * each belongs to (the RSIT mapping IntelMQ uses). */
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

static const struct rk_type_info types[] = {
	{"application-compromise", "intrusions"},
	{"blacklist", "other"},
	{"brute-force", "intrusion-attempts"},
	{"burglary", "intrusions"},
	{"c2-server", "malicious-code"},
	{"copyright", "fraud"},
	{"data-leak", "information-content-security"},
	{"data-loss", "information-content-security"},
	{"ddos", "availability"},
	{"ddos-amplifier", "vulnerable"},
	{"dos", "availability"},
	{"exploit", "intrusion-attempts"},
	{"harmful-speech", "abusive-content"},
	{"ids-alert", "intrusion-attempts"},
	{"infected-system", "malicious-code"},
	{"information-disclosure", "vulnerable"},
	{"malware-configuration", "malicious-code"},
	{"malware-distribution", "malicious-code"},
	{"masquerade", "fraud"},
	{"other", "other"},
	{"outage", "availability"},
	{"phishing", "fraud"},
	{"potentially-unwanted-accessible", "vulnerable"},
	{"privileged-account-compromise", "intrusions"},
	{"sabotage", "availability"},
	{"scanner", "information-gathering"},
	{"sniffing", "information-gathering"},
	{"social-engineering", "information-gathering"},
	{"spam", "abusive-content"},
	{"system-compromise", "intrusions"},
	{"test", "test"},
	{"unauthorised-information-access", "information-content-security"},
	{"unauthorised-information-modification",
	 "information-content-security"},
	{"unauthorized-use-of-resources", "fraud"},
	{"undetermined", "other"},
	{"unknown", "other"},
	{"unprivileged-account-compromise", "intrusions"},
	{"violence", "abusive-content"},
	{"vulnerable-system", "vulnerable"},
	{"weak-crypto", "vulnerable"},
};

static int cmp_type(const void *key, const void *elem)
{
	return strcmp(key, ((const struct rk_type_info *)elem)->type);
}

const struct rk_type_info *rk_type_find(const char *s)
{
	char lower[48];
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= sizeof(lower))
		return NULL;
	memcpy(lower, s, n + 1);
	rk_str_lower(lower);
	return bsearch(lower, types, RK_ARRAY_LEN(types), sizeof(types[0]),
		       cmp_type);
}

const struct rk_type_info *rk_type_at(size_t i)
{
	return i < RK_ARRAY_LEN(types) ? &types[i] : NULL;
}
