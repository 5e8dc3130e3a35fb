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

/* ------------------------------------------------------------ categories */

/* JPCERT/CC's incident categories, as its quarterly reports count them. */
static const struct {
	const char *name, *en, *ja;
} categories[] = {
	{"phishing-site", "Phishing site", "フィッシングサイト"},
	{"website-defacement", "Website defacement", "Webサイト改ざん"},
	{"malware-site", "Malware site", "マルウエアサイト"},
	{"scan", "Scan", "スキャン"},
	{"dos", "DoS/DDoS", "DoS/DDoS"},
	{"ics", "ICS-related", "制御システム関連"},
	{"targeted-attack", "Targeted attack", "標的型攻撃"},
	{"other", "Other", "その他"},
};

/* The default category of each IntelMQ type (docs/ingest.md has the
 * table); every type not listed is "other". */
static const struct {
	const char *type, *category;
} type_categories[] = {
	{"phishing", "phishing-site"},
	{"masquerade", "phishing-site"},
	{"unauthorised-information-modification", "website-defacement"},
	{"malware-distribution", "malware-site"},
	{"malware-configuration", "malware-site"},
	{"c2-server", "malware-site"},
	{"scanner", "scan"},
	{"sniffing", "scan"},
	{"brute-force", "scan"},
	{"exploit", "scan"},
	{"ids-alert", "scan"},
	{"ddos", "dos"},
	{"dos", "dos"},
	{"outage", "dos"},
	{"sabotage", "dos"},
};

/* Identifiers that mark an industrial control system, whatever the type
 * (Shadowserver's ICS reports and their protocol names). */
static const char *const ics_words[] = {
	"ics", "modbus", "bacnet", "dnp3", "s7", "siemens", "niagara",
	"iec-104", "iec104", "ethernet-ip", "ethernetip", "codesys", "fox",
	"hart", "melsec", "omron", "pcworx", "proconos", "opc-ua", "opcua",
	"scada", "plc",
};

bool rk_category_known(const char *name)
{
	for (size_t i = 0; name && i < RK_ARRAY_LEN(categories); i++)
		if (strcmp(name, categories[i].name) == 0)
			return true;
	return false;
}

const char *rk_category_at(size_t i)
{
	return i < RK_ARRAY_LEN(categories) ? categories[i].name : NULL;
}

const char *rk_category_label(const char *name, const char *lang)
{
	bool ja = lang && strcmp(lang, "ja") == 0;

	for (size_t i = 0; name && i < RK_ARRAY_LEN(categories); i++)
		if (strcmp(name, categories[i].name) == 0)
			return ja ? categories[i].ja : categories[i].en;
	return ja ? "その他" : "Other";
}

/* Whether identifier names an ICS protocol: a word of it (split at
 * '-', '_', '.', ' ') is one of ics_words. */
static bool ics_identifier(const char *id)
{
	char word[32];

	while (id && *id) {
		size_t n = strcspn(id, "-_. /");

		if (n > 0 && n < sizeof(word)) {
			memcpy(word, id, n);
			word[n] = '\0';
			rk_str_lower(word);
			for (size_t i = 0; i < RK_ARRAY_LEN(ics_words); i++)
				if (strcmp(word, ics_words[i]) == 0)
					return true;
		}
		id += n;
		while (*id && strchr("-_. /", *id))
			id++;
	}
	return false;
}

const char *rk_category_default(const char *type, const char *identifier)
{
	if (ics_identifier(identifier))
		return "ics";
	for (size_t i = 0; type && i < RK_ARRAY_LEN(type_categories); i++)
		if (strcmp(type, type_categories[i].type) == 0)
			return type_categories[i].category;
	return "other";
}
