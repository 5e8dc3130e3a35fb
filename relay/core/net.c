/* Addresses, prefixes, AS numbers, domain names and e-mail syntax. */
#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

enum rk_err rk_addr_parse(const char *s, struct rk_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || strlen(s) >= RK_ADDR_TEXT)
		return RK_ERR_INVAL;
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = 4;
		return RK_OK;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
						   0, 0, 0, 0, 0xff, 0xff};

		out->family = 6;
		/* An IPv4-mapped address (::ffff:198.51.100.7) is the IPv4
		 * address: it must match IPv4 prefixes. */
		if (memcmp(out->bytes, mapped, sizeof(mapped)) == 0) {
			memmove(out->bytes, out->bytes + 12, 4);
			memset(out->bytes + 4, 0, 12);
			out->family = 4;
		}
		return RK_OK;
	}
	return RK_ERR_INVAL;
}

void rk_addr_format(const struct rk_addr *a, char out[RK_ADDR_TEXT])
{
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, out,
		       RK_ADDR_TEXT))
		out[0] = '\0';
}

static bool host_bits_zero(const struct rk_addr *a, int prefix)
{
	int nbytes = a->family == 4 ? 4 : 16;

	for (int bit = prefix; bit < nbytes * 8; bit++)
		if (a->bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

enum rk_err rk_cidr_parse(const char *s, struct rk_addr *net, int *prefix)
{
	char addr[RK_ADDR_TEXT];
	const char *slash;
	long long len;
	size_t n;

	if (!s)
		return RK_ERR_INVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(addr))
		return RK_ERR_INVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (rk_addr_parse(addr, net))
		return RK_ERR_INVAL;
	if (!slash) {
		*prefix = net->family == 4 ? 32 : 128;
		return RK_OK;
	}
	if (net->family == 4 && strchr(addr, ':')) {
		/* ::ffff:198.51.100.0/120 is 198.51.100.0/24 */
		if (rk_parse_long(slash + 1, 96, 128, &len))
			return RK_ERR_INVAL;
		len -= 96;
	} else if (rk_parse_long(slash + 1, 0, net->family == 4 ? 32 : 128,
				 &len)) {
		return RK_ERR_INVAL;
	}
	if (!host_bits_zero(net, (int)len))
		return RK_ERR_INVAL;
	*prefix = (int)len;
	return RK_OK;
}

bool rk_addr_in_prefix(const struct rk_addr *a, const struct rk_addr *net,
		       int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (a->family != net->family)
		return false;
	if (memcmp(a->bytes, net->bytes, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((a->bytes[full] & mask) != (net->bytes[full] & mask))
			return false;
	}
	return true;
}

enum rk_err rk_asn_parse(const char *s, uint32_t *out)
{
	long long v;

	if (!s)
		return RK_ERR_INVAL;
	if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		s += 2;
	if (*s < '0' || *s > '9')
		return RK_ERR_INVAL;
	if (rk_parse_long(s, 1, 4294967295LL, &v))
		return RK_ERR_INVAL;
	*out = (uint32_t)v;
	return RK_OK;
}

static bool label_ok(const char *l, size_t n)
{
	if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = l[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

enum rk_err rk_domain_normalize(const char *s, char **out)
{
	char *ascii = NULL, *copy;
	size_t n;
	bool has_non_ascii = false;
	const char *p, *label;

	*out = NULL;
	if (!s || !*s || strlen(s) > RK_MAX_DOMAIN + 1)
		return RK_ERR_INVAL;
	for (p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			has_non_ascii = true;
	if (has_non_ascii) {
		if (!rk_utf8_valid(s, strlen(s)))
			return RK_ERR_INVAL;
		if (idn2_to_ascii_8z(s, &ascii,
				     IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
		    IDN2_OK)
			return RK_ERR_INVAL;
		copy = rk_strdup(ascii);
		idn2_free(ascii);
	} else {
		copy = rk_strdup(s);
	}
	if (!copy)
		return RK_ERR_NOMEM;
	rk_str_lower(copy);
	n = strlen(copy);
	if (n && copy[n - 1] == '.')
		copy[--n] = '\0';
	if (n == 0 || n > RK_MAX_DOMAIN)
		goto bad;
	for (label = copy;;) {
		const char *dot = strchr(label, '.');
		size_t ln = dot ? (size_t)(dot - label) : strlen(label);

		if (!label_ok(label, ln))
			goto bad;
		if (!dot)
			break;
		label = dot + 1;
	}
	*out = copy;
	return RK_OK;
bad:
	free(copy);
	return RK_ERR_INVAL;
}

bool rk_email_valid(const char *s)
{
	const char *at;
	size_t n;
	char *domain = NULL;
	bool ok;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 3 || n > RK_MAX_EMAIL)
		return false;
	at = strrchr(s, '@');
	if (!at || at == s || at[1] == '\0')
		return false;
	for (const char *p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>@[\\]", c))
			return false;
	}
	if (at - s > 64 || s[0] == '.' || at[-1] == '.' || strstr(s, ".."))
		return false;
	ok = rk_domain_normalize(at + 1, &domain) == RK_OK &&
	     strchr(domain, '.') != NULL && strchr(domain, '_') == NULL;
	free(domain);
	return ok;
}
