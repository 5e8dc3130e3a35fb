/*
 * renraku.conf: INI configuration read with inih.  Every key, its meaning
 * and its default is documented in docs/configuration.md; an unknown
 * section or key, or a bad value, is an error naming file and line.
 *
 * Relative paths in the file are taken relative to the directory of the
 * config file.  All strings are owned by the struct (rk_config_release
 * frees them); they are never NULL after rk_config_defaults, except where
 * noted ("NULL = unset").
 */
#ifndef RENRAKU_CONFIG_H
#define RENRAKU_CONFIG_H

#include "renraku/core.h"

enum rk_sign_mode {
	RK_SIGN_PGP_MIME = 0,
	RK_SIGN_INLINE = 1,
	RK_SIGN_NONE = 2
};

/* [gpg] encrypt: when a notice is encrypted (docs/mail.md). */
enum rk_encrypt {
	RK_ENCRYPT_WHEN_KEY = 0, /* to every recipient with a usable key */
	RK_ENCRYPT_ALWAYS = 1,   /* never in the clear: keyless recipients
				    are left out, a ticket whose To has no
				    key is held */
	RK_ENCRYPT_NEVER = 2     /* signed only (TLP:AMBER is then held) */
};

enum rk_starttls {
	RK_STARTTLS_REQUIRED = 0,
	RK_STARTTLS_OPPORTUNISTIC = 1,
	RK_STARTTLS_DISABLED = 2
};

struct rk_escalation_policy {
	long long remind_after; /* seconds */
	long long escalate_after; /* seconds */
	int levels;             /* how many chain levels to climb */
};

/* classification.type -> severity override from [severity] */
struct rk_severity_override {
	char *type;
	enum rk_severity severity;
};

/* classification.type -> incident category override from [categories] */
struct rk_category_override {
	char *type;           /* owned */
	const char *category; /* static (rk_category_at) */
};

struct rk_config {
	char *path;      /* the file read, NULL when only defaults */
	char *base_dir;  /* directory relative paths are resolved against */

	struct {
		char *name;          /* "renraku" : name signing the notices */
		char *from;          /* "renraku@localhost" */
		char *reply_to;      /* NULL = same as from */
		char *ticket_prefix; /* "RENRAKU" */
		char *public_url;    /* NULL = no acknowledgement links */
		char *templates;     /* built-in templates directory */
		char *contacts;      /* contacts directory, NULL = unset */
		enum rk_tlp default_tlp; /* GREEN: for events without tlp */
		bool review;         /* off: on holds every new ticket until
					'renraku tickets approve' */
		long long retention; /* reserved: seconds events are kept */
	} relay;
	struct {
		char *path;           /* "renraku.db" */
		long long busy_timeout; /* milliseconds, 5000 */
	} store;
	struct {
		char *home;           /* GnuPG home, "gnupg" */
		char *signer;         /* fingerprint/uid, NULL = only key */
		enum rk_sign_mode mode;
		enum rk_encrypt encrypt; /* when-key */
		bool wkd;             /* off: look keys up by WKD */
		char *wkd_ca_file;    /* NULL = system CAs */
		long long wkd_port;   /* 443 (tests: the loopback server's) */
		char *wkd_resolve;    /* tests: "HOST:ADDRESS,...", NULL */
		long long threads;    /* notices built and signed at once;
					 0 = the number of online cores,
					 1 = one after the other */
	} gpg;
	struct {
		char *url;            /* "maildir:outbox" */
		enum rk_starttls starttls;
		char *user;           /* NULL */
		char *password_file;  /* NULL */
		char *ca_file;        /* CA bundle for the server's certificate,
					 NULL = the system CAs */
		double rate;          /* reserved (superseded by rate_per_domain) */
		long long rate_per_domain; /* messages per minute per recipient
					      domain, 0 = unlimited */
		long long rate_total; /* messages per minute in all, 0 = unlimited */
		long long retry_initial; /* seconds before the first retry, 5m */
		long long give_up_after; /* seconds after queueing a message is
					    given up, 5d; 0 = never */
		long long timeout;    /* SMTP timeouts, milliseconds, 60000 */
		long long max_attempts; /* delivery attempts before a message
					   fails, 24 (crashed attempts count) */
	} transport;
	struct {
		char *sources;        /* "local, rdap": contact sources in order */
		char *bootstrap_dir;  /* NULL = <data dir>/rdap (bundled) */
		char *bootstrap_url;  /* "https://data.iana.org/rdap/" */
		char *whois_server;   /* host[:port], NULL = whois.iana.org:43 */
		char *whois_map;      /* "name[:port]=host:port, ...": where to
					 reach servers named in referrals, NULL */
		char *dns_server;     /* host[:port] for abusix/cymru, NULL =
					 the system's resolvers */
		char *security_txt_url; /* where a domain's security.txt is
					   read, "{host}" = the domain; NULL =
					   https://{host}/.well-known/security.txt */
		char *ca_file;        /* extra CA for HTTPS, NULL = system's */
		long long ttl;        /* seconds, 7d */
		long long negative_ttl; /* seconds, 1d */
		long long timeout;    /* seconds, 10 */
		long long concurrency; /* requests in flight per registry, 8 */
		double rate;          /* requests/s per registry, 10; 0 = unlimited */
	} resolve;
	struct {
		/* Fields left out of the dedup key besides time.observation:
		 * dedup_ignore[0..ndedup_ignore), each an owned field name;
		 * default {"raw"}.  "dedup_ignore =" (empty) means none. */
		char **dedup_ignore;
		size_t ndedup_ignore;
		long long max_age;    /* seconds, 365d; time.source older is
				         rejected; 0 = no limit */
		long long max_skew;   /* seconds, 1d; time.source further in
				         the future is rejected */
		char *spool;          /* directory `run` ingests from, NULL */
		char *shadowserver_schema; /* NULL = <data dir>/shadowserver/
					      intelmq.json */
		/* Size limits on reports, bytes (docs/ingest.md, Limits):
		 * defaults RK_MAX_REPORT, RK_MAX_JSON_LINE, RK_MAX_FIELD,
		 * RK_MAX_EVIDENCE; at most the RK_MAX_CFG_* bounds. */
		long long max_file;     /* one report file */
		long long max_line;     /* one record: a JSON line or array
					   element, a CSV row */
		long long max_field;    /* one field value */
		long long max_evidence; /* evidence kept with an event */
		char *csv_mappings;     /* directory of NAME.map files for
					   generic CSV, NULL = none */
	} ingest;
	struct {
		long long window;     /* seconds, 10m */
		long long max_events; /* events per notice, 10000 */
	} aggregate;
	struct rk_escalation_policy escalation[RK_SEV_COUNT];
	struct {
		long long dispute_suppress; /* seconds a disputed subject
					       and type are not notified
					       again, 90d; 0 = forever */
		long long auto_ack_factor;  /* an auto-acknowledged ticket's
					       clock runs this many times
					       slower, 3 */
	} tracking;
	struct {
		char *imap_url;       /* NULL */
		char *user;
		char *password_file;
		char *mailbox;        /* "INBOX" */
		char *ca_file;        /* CA bundle for imaps://, NULL = system */
		char *imap_done;      /* folder processed mail moves to, NULL =
					 flagged \\Seen where it is */
		char *maildir;        /* maildir `run` takes new mail from */
		long long max_message; /* bytes kept of one message, 10 MiB */
	} inbound;
	struct {
		char *listen;         /* "127.0.0.1:8080" */
		long long max_body;   /* bytes, 16 MiB */
		long long interval;   /* seconds between passes of serve, 15 */
		long long max_connections; /* 256 */
		long long timeout;    /* seconds a connection may idle, 30 */
		long long rate;       /* requests per minute per token, 600;
					 0 = no limit */
		long long threads;    /* HTTP thread pool, 4 */
		char *tls_cert;       /* PEM certificate (chain): serve speaks
					 HTTPS itself; NULL = plain HTTP */
		char *tls_key;        /* its PEM private key */
	} http;

	struct rk_severity_override *severity;
	size_t nseverity;
	struct rk_category_override *categories;
	size_t ncategories;
};

/* Fill cfg with defaults.  On error cfg is released. */
enum rk_err rk_config_defaults(struct rk_config *cfg);
/* Read path on top of the current values.  Errors are logged as
 * "FILE:LINE: message" and returned as RK_ERR_CONFIG (or RK_ERR_IO /
 * RK_ERR_NOTFOUND when the file cannot be read). */
enum rk_err rk_config_load(struct rk_config *cfg, const char *path,
			   const struct rk_log *log);
/* The same for a config held in memory; name is used in messages and
 * as the file whose directory relative paths are resolved against. */
enum rk_err rk_config_load_buffer(struct rk_config *cfg, const char *name,
				  const char *text, size_t len,
				  const struct rk_log *log);
void rk_config_release(struct rk_config *cfg);

/* Resolve a path from the config against cfg->base_dir (absolute paths
 * are returned as they are).  Caller frees *out. */
enum rk_err rk_config_path(const struct rk_config *cfg, const char *value,
			   char **out);

/* The incident category an event gets: the [categories] override of its
 * type if any, else rk_category_default (static string). */
const char *rk_config_category(const struct rk_config *cfg, const char *type,
			       const char *identifier);

/* The severity a classification.type gets: the [severity] override if
 * any, else the built-in table, else medium. */
enum rk_severity rk_config_severity(const struct rk_config *cfg,
				    const char *type);
/* The built-in default severity for a type (without overrides). */
enum rk_severity rk_severity_default(const char *type);

/* Domain part of relay.from ("example.org"), for Message-IDs.  Borrowed
 * from cfg. */
const char *rk_config_mail_domain(const struct rk_config *cfg);

/* Write a commented config file with every key at its default. */
enum rk_err rk_config_write_template(const char *path, const char *name,
				     const char *from);

#endif /* RENRAKU_CONFIG_H */
