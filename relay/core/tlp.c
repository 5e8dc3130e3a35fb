/* TLP labels and severities. */
#include <string.h>

#include "renraku/core.h"

enum rk_err rk_tlp_parse(const char *s, enum rk_tlp *out)
{
	static const struct {
		const char *name;
		enum rk_tlp tlp;
	} names[] = {
		{"CLEAR", RK_TLP_CLEAR},        {"WHITE", RK_TLP_CLEAR},
		{"GREEN", RK_TLP_GREEN},        {"AMBER", RK_TLP_AMBER},
		{"AMBER+STRICT", RK_TLP_AMBER_STRICT},
		{"AMBER-STRICT", RK_TLP_AMBER_STRICT},
		{"RED", RK_TLP_RED},
	};

	char label[16];
	size_t len;

	if (!s)
		return RK_ERR_INVAL;
	/* Blanks around the label and after the prefix are the writer's
	 * layout, not part of it: "TLP: amber", " green ". */
	while (*s == ' ' || *s == '\t')
		s++;
	/* The prefix is case-insensitive like the label: "tLp:green". */
	if ((s[0] == 'T' || s[0] == 't') && (s[1] == 'L' || s[1] == 'l') &&
	    (s[2] == 'P' || s[2] == 'p') && s[3] == ':')
		s += 4;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(label))
		return RK_ERR_INVAL;
	memcpy(label, s, len);
	label[len] = '\0';
	for (size_t i = 0; i < RK_ARRAY_LEN(names); i++) {
		if (rk_str_ieq(label, names[i].name)) {
			*out = names[i].tlp;
			return RK_OK;
		}
	}
	return RK_ERR_INVAL;
}

const char *rk_tlp_name(enum rk_tlp tlp)
{
	switch (tlp) {
	case RK_TLP_CLEAR: return "CLEAR";
	case RK_TLP_GREEN: return "GREEN";
	case RK_TLP_AMBER: return "AMBER";
	case RK_TLP_AMBER_STRICT: return "AMBER+STRICT";
	case RK_TLP_RED: return "RED";
	}
	return "RED";
}

static const char *const sev_names[RK_SEV_COUNT] = {"info", "low", "medium",
						    "high", "critical"};

enum rk_err rk_severity_parse(const char *s, enum rk_severity *out)
{
	for (int i = 0; i < RK_SEV_COUNT; i++) {
		if (rk_str_ieq(s, sev_names[i])) {
			*out = (enum rk_severity)i;
			return RK_OK;
		}
	}
	return RK_ERR_INVAL;
}

const char *rk_severity_name(enum rk_severity sev)
{
	return (unsigned)sev < RK_SEV_COUNT ? sev_names[sev] : "info";
}
