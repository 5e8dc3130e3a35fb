/*
 * Every size limit on outside input, named in one place.
 * A parser that meets a larger input rejects it with RK_ERR_LIMIT and says
 * which limit (by name) in its message.
 */
#ifndef RENRAKU_LIMITS_H
#define RENRAKU_LIMITS_H

/* Input reports */
#define RK_MAX_REPORT (256u << 20)      /* one report file, bytes */
#define RK_MAX_SHADOWSERVER_SCHEMA (8u << 20) /* the Shadowserver schema, bytes */
#define RK_MAX_SHADOWSERVER_COLUMNS 512 /* columns of a Shadowserver report */
#define RK_MAX_JSON_LINE (1u << 20)     /* one IntelMQ JSON line/object */
#define RK_MAX_TLS_PEM (1u << 20)       /* [http] tls_cert / tls_key, bytes */
#define RK_MAX_JSON_DEPTH 32            /* nesting inside one event */
#define RK_MAX_EVENT_FIELDS 512         /* keys in one event */
#define RK_MAX_FIELD (64u << 10)        /* one field value, bytes */
#define RK_MAX_URL 8192                 /* one URL in an event, bytes */
#define RK_MAX_ERRORS_LISTED 1000       /* rejected records listed per run */
#define RK_MAX_ARF_MESSAGE (16u << 20) /* one abuse mail (ARF, X-ARF), bytes */
#define RK_MAX_ARF_PARTS 64            /* MIME parts read in one abuse mail */
#define RK_MAX_ARF_HEADERS 1024        /* Content-Type lines in one abuse mail */
#define RK_MAX_ARF_DEPTH 8             /* nested multiparts walked */
#define RK_MAX_EVIDENCE (16u << 10)    /* evidence kept with an event, bytes */
/* The highest values [ingest] max_file, max_line, max_field and
 * max_evidence take (the defaults are the four limits above). */
#define RK_MAX_CFG_FILE (4ull << 30)     /* 4 GiB: a regular file is mapped, not held (stdin is read whole) */
#define RK_MAX_CFG_LINE (64ull << 20)
#define RK_MAX_CFG_FIELD (16ull << 20)
#define RK_MAX_CFG_EVIDENCE (1ull << 20)
#define RK_MIN_CFG_LIMIT 1024            /* the lowest of the four */
/* Generic CSV (relay/ingest/csvmap.c) */
#define RK_MAX_CSVMAP_FILE (64u << 10)   /* one mapping file, bytes */
#define RK_MAX_CSVMAP_FILES 1000         /* NAME.map files in csv_mappings */
#define RK_MAX_CSVMAP_COLUMNS 512        /* columns of one generic CSV row */
/* IODEF (relay/ingest/iodef.c) */
#define RK_MAX_XML_DEPTH 64              /* nested elements in an IODEF document */
#define RK_MAX_XML_ELEMENTS (1u << 20)   /* elements in one IODEF document */

/* Contacts */
#define RK_MAX_CONTACTS_FILE (64u << 20) /* one contacts CSV file */
#define RK_MAX_CSV_LINE (64u << 10)      /* one CSV record */
#define RK_MAX_CSV_FIELDS 64             /* fields in one CSV record */
#define RK_MAX_EMAIL 254                 /* RFC 5321 path limit */
#define RK_MAX_DOMAIN 253
#define RK_MAX_KEY_FILE (1u << 20)       /* one contacts/keys/NAME.asc file */
#define RK_MAX_KEY_FILES 10000           /* files in contacts/keys/ */

/* Configuration */
#define RK_MAX_CONFIG (1u << 20)         /* config file, bytes */
#define RK_MAX_CONFIG_VALUE 4096         /* one config value */

/* Templates and rendering */
#define RK_MAX_TEMPLATE (1u << 20)       /* one template or partial */
#define RK_MAX_TEMPLATE_DATA (16u << 20) /* JSON data for preview */
#define RK_MAX_RENDERED (8u << 20)       /* rendered text */
#define RK_MAX_MUSTACHE_DEPTH 64         /* nested sections/partials */
#define RK_MAX_MUSTACHE_STEPS (1u << 22) /* tags+iterations in one render */
#define RK_MAX_SUBJECT 900               /* rendered subject, bytes */
#define RK_MAX_NOTICE_ROWS 20            /* evidence rows in a body */

/* Mail */
#define RK_MAX_MESSAGE (64u << 20)       /* one built message */
#define RK_MAX_ATTACHMENT (32u << 20)    /* one CSV attachment */
#define RK_MAX_NOTICE_FIELDS (256u << 20) /* the data fields a notice reads, bytes */
#define RK_MAX_CSV_CELL 8192             /* one CSV cell; longer is cut */
#define RK_MAX_CC 100                    /* Cc addresses of one contact */
#define RK_MAX_ORG 256                   /* organization name, bytes */
#define RK_MAX_HEADER_VALUE 998          /* one header value, bytes */

/* Tickets */
#define RK_MAX_TICKET_EVENTS 100000      /* events carried by one notice */

/* Registries (RDAP) */
#define RK_MAX_RDAP_JSON (1u << 20)      /* one RDAP answer, bytes */
#define RK_MAX_RDAP_DEPTH 8              /* entities nested in entities */
#define RK_MAX_RDAP_ENTITIES 128         /* entities walked in one answer */
#define RK_MAX_RDAP_EMAILS 16            /* addresses kept from one entity */
#define RK_MAX_BOOTSTRAP (4u << 20)      /* one RFC 9224 bootstrap file */
#define RK_MAX_BOOTSTRAP_ENTRIES 100000  /* prefixes, ranges or labels in one */

/* Registries (whois, DNS, security.txt) */
#define RK_MAX_WHOIS_REPLY (256u << 10)  /* one port-43 answer, bytes */
#define RK_MAX_WHOIS_LINE 4096           /* one line of a whois answer */
#define RK_MAX_WHOIS_REFERRALS 6         /* servers asked for one subject */
#define RK_MAX_WHOIS_PER_HOST 4          /* connections at once to one server */
#define RK_MAX_DNS_TXT 4096              /* one TXT answer, all strings, bytes */
#define RK_MAX_SECURITY_TXT (32u << 10)  /* one security.txt file, bytes */
#define RK_MAX_SECURITY_TXT_LINE 2048    /* one line of it */
#define RK_MAX_SECURITY_TXT_FIELDS 64    /* Contact/Encryption/... values kept */

/* Files listed one by one in an ingest result (`ingest --json` "files"). */
#define RK_MAX_FILES_LISTED 10000

#endif /* RENRAKU_LIMITS_H */
