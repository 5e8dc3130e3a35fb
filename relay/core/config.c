/* renraku.conf: defaults, parsing with inih, validation. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/config.h"

static const struct {
	const char *type;
	enum rk_severity sev;
} default_severity[] = {
	{"system-compromise", RK_SEV_CRITICAL},
	{"privileged-account-compromise", RK_SEV_CRITICAL},
	{"application-compromise", RK_SEV_HIGH},
	{"unprivileged-account-compromise", RK_SEV_HIGH},
	{"infected-system", RK_SEV_HIGH},
	{"c2-server", RK_SEV_HIGH},
	{"malware-distribution", RK_SEV_HIGH},
	{"malware-configuration", RK_SEV_HIGH},
	{"phishing", RK_SEV_HIGH},
	{"data-leak", RK_SEV_HIGH},
	{"data-loss", RK_SEV_HIGH},
	{"unauthorised-information-access", RK_SEV_HIGH},
	{"unauthorised-information-modification", RK_SEV_HIGH},
	{"ddos", RK_SEV_HIGH},
	{"dos", RK_SEV_HIGH},
	{"sabotage", RK_SEV_HIGH},
	{"brute-force", RK_SEV_MEDIUM},
	{"exploit", RK_SEV_MEDIUM},
	{"ids-alert", RK_SEV_MEDIUM},
	{"vulnerable-system", RK_SEV_MEDIUM},
	{"ddos-amplifier", RK_SEV_MEDIUM},
	{"information-disclosure", RK_SEV_MEDIUM},
	{"potentially-unwanted-accessible", RK_SEV_MEDIUM},
	{"weak-crypto", RK_SEV_MEDIUM},
	{"masquerade", RK_SEV_MEDIUM},
	{"unauthorized-use-of-resources", RK_SEV_MEDIUM},
	{"spam", RK_SEV_MEDIUM},
	{"outage", RK_SEV_MEDIUM},
	{"scanner", RK_SEV_LOW},
	{"sniffing", RK_SEV_LOW},
	{"social-engineering", RK_SEV_LOW},
	{"copyright", RK_SEV_LOW},
	{"harmful-speech", RK_SEV_LOW},
	{"violence", RK_SEV_LOW},
	{"blacklist", RK_SEV_LOW},
	{"burglary", RK_SEV_LOW},
	{"other", RK_SEV_LOW},
	{"undetermined", RK_SEV_LOW},
	{"unknown", RK_SEV_LOW},
	{"test", RK_SEV_INFO},
};

enum rk_severity rk_severity_default(const char *type)
{
	for (size_t i = 0; type && i < RK_ARRAY_LEN(default_severity); i++)
		if (strcmp(type, default_severity[i].type) == 0)
			return default_severity[i].sev;
	return RK_SEV_MEDIUM;
}

enum rk_severity rk_config_severity(const struct rk_config *cfg,
				    const char *type)
{
	for (size_t i = 0; type && i < cfg->nseverity; i++)
		if (strcmp(cfg->severity[i].type, type) == 0)
			return cfg->severity[i].severity;
	return rk_severity_default(type);
}

const char *rk_config_category(const struct rk_config *cfg, const char *type,
			       const char *identifier)
{
	for (size_t i = 0; type && i < cfg->ncategories; i++)
		if (strcmp(cfg->categories[i].type, type) == 0)
			return cfg->categories[i].category;
	return rk_category_default(type, identifier);
}

void rk_config_release(struct rk_config *cfg)
{
	char **strings[] = {
		&cfg->path, &cfg->base_dir, &cfg->relay.name, &cfg->relay.from,
		&cfg->relay.reply_to, &cfg->relay.ticket_prefix,
		&cfg->relay.public_url, &cfg->relay.templates,
		&cfg->relay.contacts, &cfg->store.path, &cfg->gpg.home,
		&cfg->gpg.signer, &cfg->gpg.wkd_ca_file, &cfg->gpg.wkd_resolve,
		&cfg->transport.url, &cfg->transport.user,
		&cfg->transport.password_file, &cfg->transport.ca_file,
		&cfg->resolve.sources,
		&cfg->resolve.bootstrap_dir, &cfg->resolve.bootstrap_url,
		&cfg->resolve.whois_server, &cfg->resolve.whois_map,
		&cfg->resolve.dns_server, &cfg->resolve.security_txt_url,
		&cfg->resolve.ca_file, &cfg->inbound.imap_url,
		&cfg->ingest.spool,
		&cfg->inbound.user, &cfg->inbound.password_file,
		&cfg->inbound.mailbox, &cfg->inbound.ca_file,
		&cfg->inbound.imap_done, &cfg->inbound.maildir, &cfg->http.listen,
		&cfg->http.tls_cert, &cfg->http.tls_key,
		&cfg->ingest.shadowserver_schema, &cfg->ingest.csv_mappings,
	};

	for (size_t i = 0; i < RK_ARRAY_LEN(strings); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	for (size_t i = 0; i < cfg->ingest.ndedup_ignore; i++)
		free(cfg->ingest.dedup_ignore[i]);
	free(cfg->ingest.dedup_ignore);
	cfg->ingest.dedup_ignore = NULL;
	cfg->ingest.ndedup_ignore = 0;
	for (size_t i = 0; i < cfg->nseverity; i++)
		free(cfg->severity[i].type);
	free(cfg->severity);
	cfg->severity = NULL;
	for (size_t i = 0; i < cfg->ncategories; i++)
		free(cfg->categories[i].type);
	free(cfg->categories);
	cfg->categories = NULL;
	cfg->ncategories = 0;
	cfg->nseverity = 0;
}

/* A field name as [ingest] dedup_ignore takes it: IntelMQ style,
 * letters, digits, '.', '_' and '-'. */
static bool field_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Replace cfg->ingest.dedup_ignore with the comma-separated names in
 * text.  RK_ERR_INVAL (list unchanged) when a name is not a field name. */
static enum rk_err set_field_list(struct rk_config *cfg, const char *text)
{
	const char *p = text, *item;
	char **names = NULL;
	size_t n = 0, len;
	enum rk_err err = RK_OK;

	while (rk_list_next(&p, &item, &len)) {
		if (len == 0 && n == 0 && !p)
			break; /* an empty value: no fields */
		if (!field_name_ok(item, len)) {
			err = RK_ERR_INVAL;
			goto cleanup;
		}
		if ((err = rk_array_room((void **)&names, n, sizeof(*names))))
			goto cleanup;
		if (!(names[n] = rk_strndup(item, len))) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		n++;
	}
	for (size_t i = 0; i < cfg->ingest.ndedup_ignore; i++)
		free(cfg->ingest.dedup_ignore[i]);
	free(cfg->ingest.dedup_ignore);
	cfg->ingest.dedup_ignore = names;
	cfg->ingest.ndedup_ignore = n;
	names = NULL;
	n = 0;
cleanup:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

enum rk_err rk_config_defaults(struct rk_config *cfg)
{
	static const struct rk_escalation_policy esc[RK_SEV_COUNT] = {
		[RK_SEV_INFO] = {0, 0, 0},
		[RK_SEV_LOW] = {0, 0, 0},
		[RK_SEV_MEDIUM] = {3 * 86400, 7 * 86400, 1},
		[RK_SEV_HIGH] = {86400, 3 * 86400, 2},
		[RK_SEV_CRITICAL] = {4 * 3600, 86400, 2},
	};
	char *data_dir = NULL;
	bool ok;

	memset(cfg, 0, sizeof(*cfg));
	/* the built-in templates: under the data directory (rk_data_dir) */
	ok = rk_data_dir(&data_dir) == RK_OK &&
	     rk_path_join(data_dir, "templates", &cfg->relay.templates) == RK_OK &&
	     (cfg->base_dir = rk_strdup(".")) &&
	     (cfg->relay.name = rk_strdup("renraku")) &&
	     (cfg->relay.from = rk_strdup("renraku@localhost")) &&
	     (cfg->relay.ticket_prefix = rk_strdup("RENRAKU")) &&
	     (cfg->store.path = rk_strdup("renraku.db")) &&
	     (cfg->gpg.home = rk_strdup("gnupg")) &&
	     (cfg->transport.url = rk_strdup("maildir:outbox")) &&
	     (cfg->resolve.sources = rk_strdup("local, rdap")) &&
	     (cfg->resolve.bootstrap_url = rk_strdup("https://data.iana.org/rdap/")) &&
	     (cfg->inbound.mailbox = rk_strdup("INBOX")) &&
	     (cfg->http.listen = rk_strdup("127.0.0.1:8080"));
	cfg->relay.default_tlp = RK_TLP_GREEN;
	cfg->relay.retention = 0;
	cfg->store.busy_timeout = 5000;
	cfg->inbound.max_message = 10LL << 20;
	cfg->gpg.mode = RK_SIGN_PGP_MIME;
	cfg->gpg.wkd_port = 443;
	cfg->transport.starttls = RK_STARTTLS_REQUIRED;
	cfg->transport.max_attempts = 24;
	cfg->transport.retry_initial = 300;
	cfg->transport.give_up_after = 5 * 86400;
	cfg->transport.timeout = 60000;
	cfg->resolve.ttl = 7 * 86400;
	cfg->resolve.negative_ttl = 86400;
	cfg->resolve.timeout = 10;
	cfg->resolve.concurrency = 8;
	cfg->resolve.rate = 10;
	cfg->ingest.max_age = 365 * 86400;
	cfg->ingest.max_skew = 86400;
	cfg->ingest.max_file = RK_MAX_REPORT;
	cfg->ingest.max_line = RK_MAX_JSON_LINE;
	cfg->ingest.max_field = RK_MAX_FIELD;
	cfg->ingest.max_evidence = RK_MAX_EVIDENCE;
	ok = ok && set_field_list(cfg, "raw") == RK_OK;
	cfg->aggregate.window = 600;
	cfg->aggregate.max_events = 10000;
	memcpy(cfg->escalation, esc, sizeof(esc));
	cfg->tracking.dispute_suppress = 90 * 86400;
	cfg->tracking.auto_ack_factor = 3;
	cfg->http.max_body = 16 << 20;
	cfg->http.interval = 15;
	cfg->http.max_connections = 256;
	cfg->http.timeout = 30;
	cfg->http.rate = 600;
	cfg->http.threads = 4;
	free(data_dir);
	if (!ok) {
		rk_config_release(cfg);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* ------------------------------------------------------------ parsing */

enum key_kind { K_STR, K_STR_OPT, K_DURATION, K_INT, K_BOOL, K_TLP,
		K_SIGN_MODE, K_ENCRYPT, K_STARTTLS, K_RATE, K_EMAIL, K_PREFIX,
		K_HTTPS_URL, K_HOST_PORT,
		K_PUBLIC_URL, K_TRANSPORT_URL, K_FIELD_LIST, K_SIZE,
		K_STR_APPEND /* repeated (or continued) lines join with ", " */ };

struct key_def {
	const char *section;
	const char *name;
	enum key_kind kind;
	size_t offset;
	long long min, max; /* for K_INT / K_DURATION */
};

#define OFF(field) offsetof(struct rk_config, field)
/* [relay] public_url: scheme http or https, a host name, an IPv4
 * address or a bracketed IPv6 one, then an optional port (1-65535) and
 * path; no userinfo (it would put a password into every notice) and
 * nothing a mail reader would cut a link at. */
static bool public_url_ok(const char *s)
{
	size_t scheme = strncmp(s, "https://", 8) == 0  ? 8
			: strncmp(s, "http://", 7) == 0 ? 7
							: 0;
	const char *host, *end, *p;

	if (!scheme)
		return false;
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c))
			return false;
	}
	host = s + scheme;
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)))
		return false;
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close || close == host + 1)
			return false;
		for (p = host + 1; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return false;
		p = close + 1;
	} else {
		for (p = host; p < end && *p != ':'; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
				return false;
		if (p == host)
			return false;
	}
	if (p < end) {
		long port = 0;
		size_t digits;

		if (*p++ != ':')
			return false;
		digits = (size_t)(end - p);
		if (digits == 0 || digits > 5 || strspn(p, "0123456789") < digits)
			return false;
		for (size_t i = 0; i < digits; i++)
			port = port * 10 + (p[i] - '0');
		if (port < 1 || port > 65535)
			return false;
	}
	return true;
}

static const struct key_def keys[] = {
	{"relay", "name", K_STR, OFF(relay.name), 0, 0},
	{"relay", "from", K_EMAIL, OFF(relay.from), 0, 0},
	{"relay", "reply_to", K_EMAIL, OFF(relay.reply_to), 0, 0},
	{"relay", "ticket_prefix", K_PREFIX, OFF(relay.ticket_prefix), 0, 0},
	{"relay", "public_url", K_PUBLIC_URL, OFF(relay.public_url), 0, 0},
	{"relay", "templates", K_STR, OFF(relay.templates), 0, 0},
	{"relay", "contacts", K_STR_OPT, OFF(relay.contacts), 0, 0},
	{"relay", "default_tlp", K_TLP, OFF(relay.default_tlp), 0, 0},
	{"relay", "review", K_BOOL, OFF(relay.review), 0, 0},
	{"relay", "retention", K_DURATION, OFF(relay.retention), 0, LLONG_MAX},
	{"store", "path", K_STR, OFF(store.path), 0, 0},
	{"store", "busy_timeout", K_INT, OFF(store.busy_timeout), 0, 600000},
	{"gpg", "home", K_STR, OFF(gpg.home), 0, 0},
	{"gpg", "signer", K_STR_OPT, OFF(gpg.signer), 0, 0},
	{"gpg", "mode", K_SIGN_MODE, OFF(gpg.mode), 0, 0},
	{"gpg", "encrypt", K_ENCRYPT, OFF(gpg.encrypt), 0, 0},
	{"gpg", "wkd", K_BOOL, OFF(gpg.wkd), 0, 0},
	{"gpg", "wkd_ca_file", K_STR_OPT, OFF(gpg.wkd_ca_file), 0, 0},
	{"gpg", "wkd_port", K_INT, OFF(gpg.wkd_port), 1, 65535},
	{"gpg", "wkd_resolve", K_STR_OPT, OFF(gpg.wkd_resolve), 0, 0},
	{"gpg", "threads", K_INT, OFF(gpg.threads), 0, 64},
	{"transport", "url", K_TRANSPORT_URL, OFF(transport.url), 0, 0},
	{"transport", "starttls", K_STARTTLS, OFF(transport.starttls), 0, 0},
	{"transport", "user", K_STR_OPT, OFF(transport.user), 0, 0},
	{"transport", "password_file", K_STR_OPT, OFF(transport.password_file), 0, 0},
	{"transport", "ca_file", K_STR_OPT, OFF(transport.ca_file), 0, 0},
	{"transport", "rate", K_RATE, OFF(transport.rate), 0, 0},
	{"transport", "rate_per_domain", K_INT, OFF(transport.rate_per_domain), 0, 1000000},
	{"transport", "rate_total", K_INT, OFF(transport.rate_total), 0, 1000000},
	{"transport", "retry_initial", K_DURATION, OFF(transport.retry_initial), 1, 86400},
	{"transport", "give_up_after", K_DURATION, OFF(transport.give_up_after), 0, 365 * 86400LL},
	{"transport", "timeout", K_INT, OFF(transport.timeout), 1, 3600000},
	{"transport", "max_attempts", K_INT, OFF(transport.max_attempts), 1, 1000},
	{"resolve", "sources", K_STR, OFF(resolve.sources), 0, 0},
	{"resolve", "order", K_STR, OFF(resolve.sources), 0, 0}, /* deprecated */
	{"resolve", "bootstrap_dir", K_STR_OPT, OFF(resolve.bootstrap_dir), 0, 0},
	{"resolve", "bootstrap_url", K_HTTPS_URL, OFF(resolve.bootstrap_url), 0, 0},
	{"resolve", "whois_server", K_HOST_PORT, OFF(resolve.whois_server), 0, 0},
	{"resolve", "whois_map", K_STR_APPEND, OFF(resolve.whois_map), 0, 0},
	{"resolve", "dns_server", K_HOST_PORT, OFF(resolve.dns_server), 0, 0},
	{"resolve", "security_txt_url", K_STR_OPT, OFF(resolve.security_txt_url), 0, 0},
	{"resolve", "ca_file", K_STR_OPT, OFF(resolve.ca_file), 0, 0},
	{"resolve", "ttl", K_DURATION, OFF(resolve.ttl), 0, LLONG_MAX},
	{"resolve", "negative_ttl", K_DURATION, OFF(resolve.negative_ttl), 0, LLONG_MAX},
	{"resolve", "timeout", K_DURATION, OFF(resolve.timeout), 1, 3600},
	{"resolve", "concurrency", K_INT, OFF(resolve.concurrency), 1, 256},
	{"resolve", "rate", K_RATE, OFF(resolve.rate), 0, 0},
	{"ingest", "dedup_ignore", K_FIELD_LIST, OFF(ingest.dedup_ignore), 0, 0},
	{"ingest", "max_age", K_DURATION, OFF(ingest.max_age), 0, LLONG_MAX},
	{"ingest", "max_skew", K_DURATION, OFF(ingest.max_skew), 0, LLONG_MAX},
	{"ingest", "spool", K_STR_OPT, OFF(ingest.spool), 0, 0},
	{"ingest", "shadowserver_schema", K_STR_OPT, OFF(ingest.shadowserver_schema), 0, 0},
	{"ingest", "max_file", K_SIZE, OFF(ingest.max_file), RK_MIN_CFG_LIMIT, RK_MAX_CFG_FILE},
	{"ingest", "max_line", K_SIZE, OFF(ingest.max_line), RK_MIN_CFG_LIMIT, RK_MAX_CFG_LINE},
	{"ingest", "max_field", K_SIZE, OFF(ingest.max_field), RK_MIN_CFG_LIMIT, RK_MAX_CFG_FIELD},
	{"ingest", "max_evidence", K_SIZE, OFF(ingest.max_evidence), RK_MIN_CFG_LIMIT, RK_MAX_CFG_EVIDENCE},
	{"ingest", "csv_mappings", K_STR_OPT, OFF(ingest.csv_mappings), 0, 0},
	{"aggregate", "window", K_DURATION, OFF(aggregate.window), 0, 30 * 86400},
	{"aggregate", "max_events", K_INT, OFF(aggregate.max_events), 1, RK_MAX_TICKET_EVENTS},
	{"tracking", "dispute_suppress", K_DURATION, OFF(tracking.dispute_suppress), 0, LLONG_MAX},
	{"tracking", "auto_ack_factor", K_INT, OFF(tracking.auto_ack_factor), 1, 100},
	{"inbound", "imap_url", K_STR_OPT, OFF(inbound.imap_url), 0, 0},
	{"inbound", "user", K_STR_OPT, OFF(inbound.user), 0, 0},
	{"inbound", "password_file", K_STR_OPT, OFF(inbound.password_file), 0, 0},
	{"inbound", "mailbox", K_STR, OFF(inbound.mailbox), 0, 0},
	{"inbound", "ca_file", K_STR_OPT, OFF(inbound.ca_file), 0, 0},
	{"inbound", "imap_done", K_STR_OPT, OFF(inbound.imap_done), 0, 0},
	{"inbound", "maildir", K_STR_OPT, OFF(inbound.maildir), 0, 0},
	{"inbound", "max_message", K_SIZE, OFF(inbound.max_message), 1024, 1LL << 30},
	{"http", "listen", K_STR, OFF(http.listen), 0, 0},
	{"http", "max_body", K_SIZE, OFF(http.max_body), 1024, 1LL << 32},
	{"http", "interval", K_DURATION, OFF(http.interval), 1, 86400},
	{"http", "max_connections", K_INT, OFF(http.max_connections), 1, 100000},
	{"http", "timeout", K_DURATION, OFF(http.timeout), 1, 3600},
	{"http", "rate", K_INT, OFF(http.rate), 0, 1000000},
	{"http", "threads", K_INT, OFF(http.threads), 1, 64},
	{"http", "tls_cert", K_STR_OPT, OFF(http.tls_cert), 0, 0},
	{"http", "tls_key", K_STR_OPT, OFF(http.tls_key), 0, 0},
};
#undef OFF

struct parse_state {
	struct rk_config *cfg;
	const struct rk_log *log;
	const char *path;
	char error[512];
	bool failed;
};

static int set_error(struct parse_state *st, const char *fmt, ...)
	RK_PRINTF(2, 3);
static int set_error(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	if (!st->failed) {
		va_start(ap, fmt);
		vsnprintf(st->error, sizeof(st->error), fmt, ap);
		va_end(ap);
		st->failed = true;
	}
	return 0; /* inih: 0 means error on this line */
}

/* maildir:PATH, smtp://HOST[:PORT] or smtps://HOST[:PORT]; HOST a DNS
 * name or address ([...] for IPv6), PORT 1 to 65535. */
static bool host_port_valid(const char *host)
{
	const char *end;
	long long port;

	if (*host == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") !=
			    (size_t)(end - host - 1))
			return false;
		end++;
	} else {
		end = host + strspn(host, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
		if (end == host || end - host > 253 || *host == '-' ||
		    *host == '.')
			return false;
	}
	if (*end == '\0')
		return true;
	return *end == ':' && rk_parse_long(end + 1, 1, 65535, &port) == RK_OK;
}

/* "65536", "64k", "1M", "1G" (k, M, G: 1024, 1024^2, 1024^3; a
 * trailing "iB" or "B" is allowed) into bytes. */
static enum rk_err parse_size(const char *value, long long *out)
{
	char num[32];
	size_t n = strspn(value, "0123456789");
	const char *unit = value + n;
	long long v, mult = 1;

	if (n == 0 || n >= sizeof(num))
		return RK_ERR_INVAL;
	memcpy(num, value, n);
	num[n] = '\0';
	if (rk_parse_long(num, 0, 1LL << 40, &v))
		return RK_ERR_INVAL;
	if (*unit == 'k' || *unit == 'K')
		mult = 1LL << 10;
	else if (*unit == 'M')
		mult = 1LL << 20;
	else if (*unit == 'G')
		mult = 1LL << 30;
	if (mult > 1)
		unit++;
	if (strcmp(unit, "") != 0 && strcmp(unit, "B") != 0 &&
	    !(mult > 1 && strcmp(unit, "iB") == 0))
		return RK_ERR_INVAL;
	*out = v * mult;
	return RK_OK;
}

static bool transport_url_valid(const char *url)
{
	if (strncmp(url, "maildir:", 8) == 0)
		return url[8] != '\0';
	if (strncmp(url, "smtp://", 7) == 0)
		return host_port_valid(url + 7);
	if (strncmp(url, "smtps://", 8) == 0)
		return host_port_valid(url + 8);
	return false;
}

static int set_key(struct parse_state *st, const struct key_def *k,
		   const char *value)
{
	char *base = (char *)st->cfg + k->offset;
	long long v;
	bool b;
	enum rk_tlp tlp;

	switch (k->kind) {
	case K_PUBLIC_URL:
		if (*value && !public_url_ok(value))
			return set_error(st, "[%s] %s: '%s' is not an http:// or "
					 "https:// URL with a host, an optional "
					 "port and no user name or password (it "
					 "goes into every notice as the link "
					 "to the acknowledgement page)",
					 k->section, k->name, value);
		/* fall through */
	case K_STR_APPEND:
		if (k->kind == K_STR_APPEND && *(char **)base && *value) {
			struct rk_buf joined;
			int ok;

			if (rk_str_has_ctl(value, false) ||
			    !rk_utf8_valid(value, strlen(value)))
				return set_error(st, "[%s] %s: control character or "
						 "not UTF-8", k->section, k->name);
			rk_buf_init(&joined, 64 * RK_MAX_CONFIG_VALUE);
			ok = rk_buf_addf(&joined, "%s, %s", *(char **)base, value) == RK_OK;
			if (ok) {
				free(*(char **)base);
				*(char **)base = rk_buf_detach(&joined, NULL);
				ok = *(char **)base != NULL;
			}
			rk_buf_release(&joined);
			return ok ? 1 : set_error(st, "[%s] %s: too long", k->section,
						  k->name);
		}
		/* fall through */
	case K_STR_OPT:
		if (!*value) {
			free(*(char **)base);
			*(char **)base = NULL;
			return 1;
		}
		/* fall through */
	case K_STR:
		if (!*value)
			return set_error(st, "[%s] %s: empty value", k->section,
					 k->name);
		if (rk_str_has_ctl(value, false))
			return set_error(st, "[%s] %s: control character in value",
					 k->section, k->name);
		if (!rk_utf8_valid(value, strlen(value)))
			return set_error(st, "[%s] %s: value is not UTF-8",
					 k->section, k->name);
		return rk_str_set((char **)base, value) ? set_error(st, "out of memory") : 1;
	case K_EMAIL: {
		/* Kept with its domain as an A-label: it goes into headers
		 * and Message-IDs, which are ASCII. */
		const char *at = strrchr(value, '@');
		char *domain = NULL;
		int ok;

		if (!rk_email_valid(value) || !at ||
		    rk_domain_normalize(at + 1, &domain))
			return set_error(st, "[%s] %s: '%s' is not an e-mail address",
					 k->section, k->name, value);
		free(*(char **)base);
		*(char **)base = malloc((size_t)(at - value) + 2 + strlen(domain));
		ok = *(char **)base != NULL;
		if (ok)
			snprintf(*(char **)base, (size_t)(at - value) + 2 + strlen(domain),
				 "%.*s@%s", (int)(at - value), value, domain);
		free(domain);
		return ok ? 1 : set_error(st, "out of memory");
	}
	case K_TRANSPORT_URL:
		if (rk_str_has_ctl(value, false) || !transport_url_valid(value))
			return set_error(st, "[%s] %s: '%s' is not maildir:PATH "
					 "or smtp://HOST[:PORT]",
					 k->section, k->name, value);
		if (strncmp(value, "smtps://", 8) == 0)
			return set_error(st, "[%s] %s: '%s': smtps:// (implicit "
					 "TLS) is not supported by libESMTP; use "
					 "smtp://HOST:587 with starttls = required",
					 k->section, k->name, value);
		return rk_str_set((char **)base, value) ? set_error(st, "out of memory") : 1;
	case K_PREFIX:
		if (!*value || strlen(value) > 32)
			return set_error(st, "[%s] %s: must be 1 to 32 characters",
					 k->section, k->name);
		for (const char *p = value; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			      *p == '.' || *p == '/'))
				return set_error(st, "[%s] %s: only letters, digits and -_./ allowed",
						 k->section, k->name);
		return rk_str_set((char **)base, value) ? set_error(st, "out of memory") : 1;
	case K_DURATION:
		if (rk_parse_duration(value, &v) || v < k->min || v > k->max)
			return set_error(st, "[%s] %s: '%s' is not a duration (like 90s, 10m, 2h, 7d)",
					 k->section, k->name, value);
		*(long long *)base = v;
		return 1;
	case K_INT:
		if (rk_parse_long(value, k->min, k->max, &v))
			return set_error(st, "[%s] %s: '%s' is not a whole number from %lld to %lld",
					 k->section, k->name, value, k->min, k->max);
		*(long long *)base = v;
		return 1;
	case K_SIZE:
		if (parse_size(value, &v) || v < k->min || v > k->max)
			return set_error(st, "[%s] %s: '%s' is not a size from "
					 "%lld to %lld bytes (a number of "
					 "bytes, or with k, M or G)",
					 k->section, k->name, value, k->min,
					 k->max);
		*(long long *)base = v;
		return 1;
	case K_BOOL:
		if (rk_parse_bool(value, &b))
			return set_error(st, "[%s] %s: '%s' is not yes or no",
					 k->section, k->name, value);
		*(bool *)base = b;
		return 1;
	case K_TLP:
		if (rk_tlp_parse(value, &tlp))
			return set_error(st, "[%s] %s: '%s' is not a TLP label",
					 k->section, k->name, value);
		*(enum rk_tlp *)base = tlp;
		return 1;
	case K_SIGN_MODE:
		if (strcmp(value, "pgp-mime") == 0)
			*(enum rk_sign_mode *)base = RK_SIGN_PGP_MIME;
		else if (strcmp(value, "inline") == 0)
			*(enum rk_sign_mode *)base = RK_SIGN_INLINE;
		else if (strcmp(value, "none") == 0)
			*(enum rk_sign_mode *)base = RK_SIGN_NONE;
		else
			return set_error(st, "[%s] %s: '%s' is not pgp-mime, inline or none",
					 k->section, k->name, value);
		return 1;
	case K_ENCRYPT:
		if (strcmp(value, "when-key") == 0)
			*(enum rk_encrypt *)base = RK_ENCRYPT_WHEN_KEY;
		else if (strcmp(value, "always") == 0)
			*(enum rk_encrypt *)base = RK_ENCRYPT_ALWAYS;
		else if (strcmp(value, "never") == 0)
			*(enum rk_encrypt *)base = RK_ENCRYPT_NEVER;
		else if (rk_parse_bool(value, &b) == RK_OK)
			/* the reserved yes/no of earlier versions */
			*(enum rk_encrypt *)base = b ? RK_ENCRYPT_WHEN_KEY
						     : RK_ENCRYPT_NEVER;
		else
			return set_error(st, "[%s] %s: '%s' is not when-key, always or never",
					 k->section, k->name, value);
		return 1;
	case K_STARTTLS:
		if (strcmp(value, "required") == 0)
			*(enum rk_starttls *)base = RK_STARTTLS_REQUIRED;
		else if (strcmp(value, "opportunistic") == 0)
			*(enum rk_starttls *)base = RK_STARTTLS_OPPORTUNISTIC;
		else if (strcmp(value, "off") == 0 ||
			 strcmp(value, "disabled") == 0)
			*(enum rk_starttls *)base = RK_STARTTLS_DISABLED;
		else
			return set_error(st, "[%s] %s: '%s' is not required, opportunistic or off",
					 k->section, k->name, value);
		return 1;
	case K_FIELD_LIST: {
		enum rk_err err = set_field_list(st->cfg, value);

		if (err == RK_ERR_INVAL)
			return set_error(st, "[%s] %s: '%s' is not a comma-separated list of field names",
					 k->section, k->name, value);
		return err ? set_error(st, "out of memory") : 1;
	}
	case K_HTTPS_URL:
		if (strncmp(value, "https://", 8) != 0 || !value[8] ||
		    rk_str_has_ctl(value, false) || strchr(value, ' '))
			return set_error(st, "[%s] %s: '%s' is not an https:// URL",
					 k->section, k->name, value);
		return rk_str_set((char **)base, value) ? set_error(st, "out of memory") : 1;
	case K_HOST_PORT:
		if (!*value) {
			free(*(char **)base);
			*(char **)base = NULL;
			return 1;
		}
		if (!host_port_valid(value))
			return set_error(st, "[%s] %s: '%s' is not HOST[:PORT] (a name, "
					 "an IPv4 address or [IPv6], port 1 to 65535)",
					 k->section, k->name, value);
		return rk_str_set((char **)base, value) ? set_error(st, "out of memory") : 1;
	case K_RATE: {
		char *end;
		double d;

		errno = 0;
		d = strtod(value, &end);
		if (errno || *end || end == value || d < 0 || d > 1e6)
			return set_error(st, "[%s] %s: '%s' is not a rate (%s per second)",
					 k->section, k->name, value,
					 strcmp(k->section, "resolve") == 0 ? "requests"
									    : "messages");
		*(double *)base = d;
		return 1;
	}
	}
	return set_error(st, "internal: unknown key kind");
}

static int set_escalation(struct parse_state *st, const char *section,
			  const char *name, const char *value)
{
	enum rk_severity sev;
	struct rk_escalation_policy *pol;
	long long v;

	if (rk_severity_parse(section + strlen("escalation."), &sev))
		return set_error(st, "unknown section [%s] (severities: info, low, medium, high, critical)",
				 section);
	pol = &st->cfg->escalation[sev];
	if (strcmp(name, "remind_after") == 0 || strcmp(name, "escalate_after") == 0) {
		if (rk_parse_duration(value, &v))
			return set_error(st, "[%s] %s: '%s' is not a duration",
					 section, name, value);
		if (name[0] == 'r')
			pol->remind_after = v;
		else
			pol->escalate_after = v;
		return 1;
	}
	if (strcmp(name, "levels") == 0) {
		if (rk_parse_long(value, 0, 2, &v))
			return set_error(st, "[%s] levels: '%s' is not 0, 1 or 2",
					 section, value);
		pol->levels = (int)v;
		return 1;
	}
	return set_error(st, "unknown key '%s' in [%s]", name, section);
}

/* [categories] TYPE = CATEGORY */
static int set_category(struct parse_state *st, const char *name,
			const char *value)
{
	struct rk_config *cfg = st->cfg;
	struct rk_category_override *grown;
	const char *cat = NULL;

	for (size_t i = 0; rk_category_at(i); i++)
		if (rk_str_ieq(value, rk_category_at(i)))
			cat = rk_category_at(i);
	if (!cat)
		return set_error(st, "[categories] %s: '%s' is not a category (phishing-site, "
				 "website-defacement, malware-site, scan, dos, ics, "
				 "targeted-attack, other)",
				 name, value);
	if (!rk_name_safe(name) || !rk_type_find(name))
		return set_error(st, "[categories] '%s' is not an IntelMQ classification "
				 "type (like vulnerable-system)", name);
	name = rk_type_find(name)->type;
	for (size_t i = 0; i < cfg->ncategories; i++) {
		if (strcmp(cfg->categories[i].type, name) == 0) {
			cfg->categories[i].category = cat;
			return 1;
		}
	}
	grown = realloc(cfg->categories, (cfg->ncategories + 1) * sizeof(*grown));
	if (!grown)
		return set_error(st, "out of memory");
	cfg->categories = grown;
	grown[cfg->ncategories].type = rk_strdup(name);
	grown[cfg->ncategories].category = cat;
	if (!grown[cfg->ncategories].type)
		return set_error(st, "out of memory");
	cfg->ncategories++;
	return 1;
}

static int set_severity(struct parse_state *st, const char *name,
			const char *value)
{
	struct rk_config *cfg = st->cfg;
	struct rk_severity_override *grown;
	enum rk_severity sev;

	if (rk_severity_parse(value, &sev))
		return set_error(st, "[severity] %s: '%s' is not info, low, medium, high or critical",
				 name, value);
	if (!rk_name_safe(name) || !rk_type_find(name))
		return set_error(st, "[severity] '%s' is not an IntelMQ classification "
				 "type (like vulnerable-system)", name);
	name = rk_type_find(name)->type; /* its canonical spelling */
	for (size_t i = 0; i < cfg->nseverity; i++) {
		if (strcmp(cfg->severity[i].type, name) == 0) {
			cfg->severity[i].severity = sev;
			return 1;
		}
	}
	grown = realloc(cfg->severity, (cfg->nseverity + 1) * sizeof(*grown));
	if (!grown)
		return set_error(st, "out of memory");
	cfg->severity = grown;
	grown[cfg->nseverity].type = rk_strdup(name);
	grown[cfg->nseverity].severity = sev;
	if (!grown[cfg->nseverity].type)
		return set_error(st, "out of memory");
	cfg->nseverity++;
	return 1;
}

/* [resolve] sources: every name a contact source renraku knows (the
 * resolver says, at run time, which are not built into this version). */
static bool sources_ok(struct parse_state *st, const char *name,
		       const char *value)
{
	static const char *const sources[] = {"local", "rdap", "whois", "abusix",
					      "cymru", "security.txt"};
	const char *p = value, *item;
	size_t n;

	while (rk_list_next(&p, &item, &n)) {
		bool known = false;

		for (size_t i = 0; !known && i < RK_ARRAY_LEN(sources); i++)
			known = strlen(sources[i]) == n &&
				memcmp(sources[i], item, n) == 0;
		if (!known) {
			set_error(st, "[resolve] %s: unknown contact source '%.*s' "
				      "(known: local, rdap, whois, abusix, cymru, "
				      "security.txt)",
				  name, (int)(n > 64 ? 64 : n), item);
			return false;
		}
	}
	return true;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_state *st = user;

	if (st->failed)
		return 1; /* report only the first error */
	if (!name) /* a section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (strlen(value) > RK_MAX_CONFIG_VALUE)
		return set_error(st, "[%s] %s: value longer than RK_MAX_CONFIG_VALUE",
				 section, name);
	if (strncmp(section, "escalation.", 11) == 0)
		return set_escalation(st, section, name, value);
	if (strcmp(section, "severity") == 0)
		return set_severity(st, name, value);
	if (strcmp(section, "categories") == 0)
		return set_category(st, name, value);
	if (strcmp(section, "resolve") == 0 &&
	    (strcmp(name, "sources") == 0 || strcmp(name, "order") == 0) &&
	    !sources_ok(st, name, value))
		return 0;
	if (strcmp(section, "resolve") == 0 && strcmp(name, "order") == 0)
		rk_log_warn(st->log, "%s: [resolve] order is deprecated: it is read "
				     "as [resolve] sources", st->path);
	for (size_t i = 0; i < RK_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return set_key(st, &keys[i], value);
	for (size_t i = 0; i < RK_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].section, section) == 0)
			return set_error(st, "unknown key '%s' in [%s]", name,
					 section);
	if (!*section)
		return set_error(st, "key '%s' outside any section", name);
	return set_error(st, "unknown section [%s]", section);
}

enum rk_err rk_config_load(struct rk_config *cfg, const char *path,
			   const struct rk_log *log)
{
	struct rk_buf text;
	enum rk_err err;

	rk_buf_init(&text, RK_MAX_CONFIG);
	err = rk_buf_read_file(&text, path);
	if (err == RK_ERR_LIMIT)
		err = rk_fail(log, RK_ERR_CONFIG, "%s: larger than RK_MAX_CONFIG (%u bytes)",
			      path, RK_MAX_CONFIG);
	else if (err)
		err = rk_fail(log, err, "cannot read config '%s': %s", path,
			      strerror(errno));
	if (!err)
		err = rk_config_load_buffer(cfg, path, text.data, text.len, log);
	rk_buf_release(&text);
	return err;
}

enum rk_err rk_config_load_buffer(struct rk_config *cfg, const char *path,
				  const char *data, size_t len,
				  const struct rk_log *log)
{
	struct parse_state st = {.cfg = cfg, .log = log, .path = path};
	struct rk_buf text;
	const char *slash;
	enum rk_err err = RK_OK;
	int line;

	rk_buf_init(&text, RK_MAX_CONFIG);
	if (len > RK_MAX_CONFIG) {
		err = rk_fail(log, RK_ERR_CONFIG, "%s: larger than RK_MAX_CONFIG (%u bytes)",
			      path, RK_MAX_CONFIG);
		goto cleanup;
	}
	if (memchr(data, '\0', len)) {
		err = rk_fail(log, RK_ERR_CONFIG, "%s: not a text file", path);
		goto cleanup;
	}
	if ((err = rk_buf_add(&text, data, len)))
		goto cleanup;
	/* inih reads a line into INI_MAX_LINE bytes and would silently
	 * split a longer one, parsing its tail as another line. */
	{
		const char *p = text.data, *end = text.data + text.len;

		for (line = 1; p < end; line++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (n + 2 >= INI_MAX_LINE) {
				err = rk_fail(log, RK_ERR_CONFIG,
					      "%s:%d: line longer than %d bytes",
					      path, line, INI_MAX_LINE - 3);
				goto cleanup;
			}
			p += n + 1;
		}
	}
	if ((err = rk_str_set(&cfg->path, path)))
		goto cleanup;
	slash = strrchr(path, '/');
	free(cfg->base_dir);
	cfg->base_dir = slash ? rk_strndup(path, slash == path ? 1 : (size_t)(slash - path))
			      : rk_strdup(".");
	if (!cfg->base_dir) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	line = ini_parse_string(text.data, on_key, &st);
	if (line < 0) {
		err = rk_fail(log, RK_ERR_IO, "cannot read config '%s'", path);
	} else if (line > 0 || st.failed) {
		err = rk_fail(log, RK_ERR_CONFIG, "%s:%d: %s", path, line,
			      st.failed ? st.error : "syntax error (expected [section] or key = value)");
	}
cleanup:
	rk_buf_release(&text);
	return err;
}

enum rk_err rk_config_path(const struct rk_config *cfg, const char *value,
			   char **out)
{
	if (!value) {
		*out = NULL;
		return RK_ERR_INVAL;
	}
	if (value[0] == '/' || !cfg->base_dir || strcmp(cfg->base_dir, ".") == 0) {
		*out = rk_strdup(value);
		return *out ? RK_OK : RK_ERR_NOMEM;
	}
	return rk_path_join(cfg->base_dir, value, out);
}

const char *rk_config_mail_domain(const struct rk_config *cfg)
{
	const char *at = cfg->relay.from ? strrchr(cfg->relay.from, '@') : NULL;

	return at ? at + 1 : "localhost";
}

enum rk_err rk_config_write_template(const char *path, const char *name,
				     const char *from)
{
	struct rk_buf b;
	enum rk_err err;

	if (rk_str_has_ctl(name, false) || !rk_email_valid(from))
		return RK_ERR_INVAL;
	rk_buf_init(&b, 65536);
	err = rk_buf_addf(&b,
		"# renraku configuration.  Every key is described in docs/configuration.md.\n"
		"# Relative paths are relative to this file's directory.\n\n"
		"[relay]\n"
		"name = %s\n"
		"from = %s\n"
		"# reply_to = %s\n"
		"ticket_prefix = RENRAKU\n"
		"# public_url = https://renraku.example.org\n"
		"# contacts = contacts\n"
		"default_tlp = GREEN\n"
		"# review = off\n\n"
		"[store]\n"
		"path = renraku.db\n"
		"busy_timeout = 5000\n\n"
		"[gpg]\n"
		"home = gnupg\n"
		"# signer = FINGERPRINT\n"
		"mode = pgp-mime\n"
		"encrypt = when-key\n"
		"# threads = 0\n\n"
		"[transport]\n"
		"url = maildir:outbox\n"
		"# url = smtp://mail.example.org:587\n"
		"# starttls = required\n"
		"# user = renraku\n"
		"# password_file = smtp.pw\n"
		"# rate_per_domain = 60\n\n"
		"[ingest]\n"
		"# dedup_ignore = raw\n"
		"# max_age = 365d\n"
		"# max_skew = 1d\n"
		"# max_file = 256M\n"
		"# max_line = 1M\n"
		"# max_field = 64k\n"
		"# max_evidence = 16k\n"
		"# csv_mappings = csv-mappings\n\n"
		"[aggregate]\n"
		"window = 10m\n"
		"max_events = 10000\n",
		name, from, from);
	if (!err)
		err = rk_write_file_atomic(path, b.data, b.len, 0640);
	rk_buf_release(&b);
	return err;
}
