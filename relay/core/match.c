/* Match expressions: CIDR prefixes, AS numbers, domains, *.domains, "*". */
#include <stdlib.h>
#include <string.h>

#include "renraku/match.h"

void match_release(struct match_spec *m)
{
	if (!m)
		return;
	free(m->domain);
	free(m->text);
	m->domain = NULL;
	m->text = NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

bool match_domain_plausible(const char *s)
{
	const char *dot = s ? strrchr(s, '.') : NULL;

	return dot && dot != s && !all_digits(dot + 1, strlen(dot + 1));
}

void rk_quote(const char *s, char out[RK_QUOTE])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = 0, keep = RK_QUOTE - 8; /* room for "\xNN" and "..." */

	for (; *p && n < keep; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			if (n + 4 > keep)
				break;
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		} else {
			out[n++] = (char)*p;
		}
	}
	if (*p) {
		while (n && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--; /* continuation bytes of a cut character */
		if (n && (unsigned char)out[n - 1] >= 0xc0)
			n--; /* its lead byte */
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static enum rk_err invalid(char *why, size_t why_len, const char *fmt, ...)
	RK_PRINTF(3, 4);
static enum rk_err invalid(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return RK_ERR_INVAL;
}

/* The reason a CIDR text failed rk_cidr_parse, as precise as possible. */
static enum rk_err cidr_why(const char *s, char *why, size_t why_len)
{
	char addr_text[RK_ADDR_TEXT], net_text[RK_ADDR_TEXT], q[RK_QUOTE];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct rk_addr a;
	long long len;
	int bits;

	rk_quote(s, q);
	if (n >= sizeof(addr_text) || (memcpy(addr_text, s, n), addr_text[n] = '\0',
				       rk_addr_parse(addr_text, &a)))
		return invalid(why, why_len, "'%s' is not an IP address or CIDR prefix", q);
	bits = a.family == 4 ? 32 : 128;
	if (!slash || rk_parse_long(slash + 1, 0, bits, &len))
		return invalid(why, why_len, "'%s': the prefix length must be 0 to %d",
			       q, bits);
	for (int bit = (int)len; bit < bits; bit++)
		a.bytes[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	rk_addr_format(&a, net_text);
	return invalid(why, why_len, "%s has host bits set (the network is %s/%lld)",
		       q, net_text, len);
}

static enum rk_err parse_prefix(const char *s, struct match_spec *out,
				char *why, size_t why_len)
{
	char text[RK_ADDR_TEXT];
	char full[RK_ADDR_TEXT + 8];

	if (rk_cidr_parse(s, &out->net, &out->prefix))
		return cidr_why(s, why, why_len);
	out->kind = MATCH_PREFIX;
	rk_addr_format(&out->net, text);
	if (strchr(s, '/'))
		snprintf(full, sizeof(full), "%s/%d", text, out->prefix);
	else
		snprintf(full, sizeof(full), "%s", text);
	out->text = rk_strdup(full);
	return out->text ? RK_OK : RK_ERR_NOMEM;
}

static enum rk_err parse_domain(const char *s, bool subdomains,
				struct match_spec *out, char *why,
				size_t why_len)
{
	enum rk_err err = rk_domain_normalize(s, &out->domain);
	char q[RK_QUOTE];
	size_t n;

	if (err == RK_ERR_NOMEM)
		return err;
	if (err || !match_domain_plausible(out->domain)) {
		rk_quote(s, q);
		return invalid(why, why_len,
			       "'%s%s' is not a CIDR prefix, AS number or domain name",
			       subdomains ? "*." : "", q);
	}
	out->kind = subdomains ? MATCH_SUBDOMAINS : MATCH_DOMAIN;
	n = strlen(out->domain);
	out->text = malloc(n + 3);
	if (!out->text)
		return RK_ERR_NOMEM;
	snprintf(out->text, n + 3, "%s%s", subdomains ? "*." : "", out->domain);
	return RK_OK;
}

enum rk_err match_parse(const char *s, bool allow_any, struct match_spec *out,
			char *why, size_t why_len)
{
	char text[16], q[RK_QUOTE];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (why_len)
		why[0] = '\0';
	if (!s || !*s)
		return invalid(why, why_len, "match is empty");
	n = strlen(s);
	rk_quote(s, q);
	if (strcmp(s, "*") == 0) {
		if (!allow_any)
			return invalid(why, why_len,
				       "'*' (everything) is only allowed in suppress.csv");
		out->kind = MATCH_ANY;
		out->text = rk_strdup("*");
		return out->text ? RK_OK : RK_ERR_NOMEM;
	}
	if (n > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') &&
	    all_digits(s + 2, n - 2)) {
		if (rk_asn_parse(s, &out->asn))
			return invalid(why, why_len,
				       "'%s' is not an AS number (AS1 to AS4294967295)", q);
		out->kind = MATCH_ASN;
		snprintf(text, sizeof(text), "AS%lu", (unsigned long)out->asn);
		out->text = rk_strdup(text);
		return out->text ? RK_OK : RK_ERR_NOMEM;
	}
	if (strchr(s, ':') || strchr(s, '/') || strspn(s, "0123456789.") == n)
		return parse_prefix(s, out, why, why_len);
	if (strchr(s[0] == '*' && s[1] == '.' ? s + 2 : s, '*'))
		return invalid(why, why_len,
			       "'%s': a wildcard is only allowed as a leading '*.'", q);
	if (s[0] == '*' && s[1] == '.')
		return parse_domain(s + 2, true, out, why, why_len);
	return parse_domain(s, false, out, why, why_len);
}
