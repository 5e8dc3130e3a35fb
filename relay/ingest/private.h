/*
 * Inside ingest: the format interface, the normalizer shared by every
 * format, and the text helpers readers share.  Only files under
 * relay/ingest/ include this.
 *
 * How a report is read (ingest.c drives it):
 *
 *   format->detect  which format a file is (for --format auto)
 *   format->open    start a reader over the content (borrowed)
 *   format->next    one record: a JSON object of IntelMQ-named fields
 *                   (nested or flat), with the line it starts on, or a
 *                   record the reader itself rejects, or the end
 *   format->close
 *
 * and every record goes through ingest_normalize, the one place where
 * fields are validated and normalized into a struct store_event.  A new
 * format (Shadowserver CSV, generic CSV, ARF/X-ARF, IODEF) is one file
 * defining a const struct ingest_format_ops, listed in ingest.c.
 */
#ifndef RENRAKU_INGEST_PRIVATE_H
#define RENRAKU_INGEST_PRIVATE_H

#include <jansson.h>
#include <openssl/evp.h>

#include "renraku/ingest.h"

/* Size of a rejection reason, NUL included. */
#define INGEST_REASON 320

/* ------------------------------------------------------------ records */

enum ingest_record_kind {
	INGEST_RECORD_END = 0, /* no more records */
	INGEST_RECORD_VALUE,   /* value holds the record */
	INGEST_RECORD_BAD,     /* the reader rejects it: reason says why */
	INGEST_RECORD_FIELDS   /* the reader handed the record's fields to
				  norm (ingest_norm_start, ingest_norm_field):
				  the driver calls ingest_norm_finish */
};

struct ingest_norm;

/* One record as a reader yields it. */
struct ingest_record {
	enum ingest_record_kind kind;
	long long line;   /* 1-based line where the record starts */
	json_t *value;    /* RECORD_VALUE: owned by the caller; the driver
			     rejects anything but a JSON object */
	const char *what; /* what a record is called in reasons ("line",
			     "element"); static */
	char reason[INGEST_REASON]; /* RECORD_BAD */
	int severity;     /* RECORD_VALUE: the event's enum rk_severity, set
			     by the reader; -1 (the driver's default) = the
			     normalizer's choice */
	size_t offset;    /* bytes of the input read so far, for the
			     progress bar; 0 (the driver's default) =
			     unknown */
	struct ingest_norm *norm; /* set by the driver (borrowed; NULL:
				     none): a reader may fill it instead of
				     building value (RECORD_FIELDS) */
};

/* What a reader is opened on; every pointer borrowed until close. */
struct ingest_source {
	const char *name;       /* file name as given, "-" = stdin */
	const char *data;
	size_t len;
	const struct rk_config *cfg;
	const char *format_arg; /* "TYPE" of --format NAME:TYPE, or NULL */
	bool mapped;            /* data is a read-only mapping of a file:
				   pages passed may be given back (they are
				   read again from the file if needed) */
};

/* One input format.  Instances are const and static: one file each. */
struct ingest_format_ops {
	const char *name;      /* as --format takes it: "intelmq" */
	enum ingest_format id;
	const char *label;     /* in reasons: "not IntelMQ JSON: ..." */
	/* How surely data, from a file called name ("-" = stdin), is in
	 * this format: 0 not at all, 1 the content looks like it, 2 the
	 * content and the file name agree. */
	int (*detect)(const char *name, const char *data, size_t len);
	/* Start reading data (borrowed until close).  RK_ERR_PARSE with
	 * the reason when the content cannot be this format at all,
	 * RK_ERR_NOMEM.  *reader is the format's, freed by close. */
	enum rk_err (*open)(const struct ingest_source *src, void **reader,
			    char *reason, size_t reason_len);
	/* The next record into *rec (kind, line, value or reason).  RK_OK,
	 * or RK_ERR_NOMEM. */
	enum rk_err (*next)(void *reader, struct ingest_record *rec);
	void (*close)(void *reader); /* NULL-safe */
};

extern const struct ingest_format_ops ingest_format_intelmq;
extern const struct ingest_format_ops ingest_format_arf;
extern const struct ingest_format_ops ingest_format_shadowserver;
extern const struct ingest_format_ops ingest_format_csvmap;
extern const struct ingest_format_ops ingest_format_iodef;

/* ------------------------------------------------------------ limits */

/* [ingest] max_file, max_line, max_field, max_evidence of cfg in bytes
 * (limits.c); the limits.h defaults when cfg is NULL or leaves one 0.
 * Messages name them RK_MAX_REPORT, RK_MAX_JSON_LINE (a CSV row:
 * "[ingest] max_line"), RK_MAX_FIELD and RK_MAX_EVIDENCE. */
size_t ingest_max_file(const struct rk_config *cfg);
size_t ingest_max_line(const struct rk_config *cfg);
size_t ingest_max_field(const struct rk_config *cfg);
size_t ingest_max_evidence(const struct rk_config *cfg);
struct rk_csv_opts;
/* The input, record and cell limits of a CSV report reader from cfg. */
void ingest_csv_limits(const struct rk_config *cfg, struct rk_csv_opts *o);

/* ------------------------------------------------------------ queue */

struct rk_csv;
struct ingest_item;

/* A field of a flat record as a reader found it (for a reader that
 * yields flat IntelMQ names): name (NUL-terminated, len bytes) borrowed
 * from the reader until close, value owned. */
struct ingest_flat_field {
	const char *name;
	size_t len;
	json_t *value;
};

/* Records found ahead of format->next (queue.c).  Zero it to start; for
 * a CSV reader set csv (owned: freed by release) and p..end, the input
 * left to feed it, whose callbacks push.  line_offset is added to every
 * line handed out (lines skipped before the CSV reader's input). */
struct ingest_queue {
	struct ingest_item *items; /* owned */
	size_t head, len, cap;
	struct rk_csv *csv;
	const char *p, *end;       /* borrowed */
	const char *data;          /* where the input starts (borrowed;
				      NULL: no offsets for progress) */
	bool finished;
	long long line_offset;
	const struct rk_config *cfg; /* borrowed: for records pushed as
					fields (ingest_norm_start) */
};

/* Queue a record: value (taken, also on failure) with its severity (-1:
 * the normalizer's), or NULL and the reason of a bad one.  RK_OK or
 * RK_ERR_NOMEM. */
enum rk_err ingest_queue_push(struct ingest_queue *q, long long line,
			      json_t *value, int severity, const char *reason);
/* Queue a record as its fields, in the order a JSON object of them
 * would hold them, names distinct: fields (malloc'ed, n of them) and
 * their values taken, also on failure.  ingest_queue_next hands them to
 * the record's normalizer (RECORD_FIELDS) when it has one and every
 * field passes as ingest_normalize would take it, else as that JSON
 * object (RECORD_VALUE): the same outcome either way.  RK_OK or
 * RK_ERR_NOMEM. */
enum rk_err ingest_queue_push_fields(struct ingest_queue *q, long long line,
				     struct ingest_flat_field *fields,
				     size_t n, int severity);
/* Queue a bad record with a formatted reason. */
enum rk_err ingest_queue_reject(struct ingest_queue *q, long long line,
				const char *fmt, ...) RK_PRINTF(3, 4);
/* The next record into rec (feeding the CSV reader while the queue is
 * empty), or RECORD_END; format->next's contract. */
enum rk_err ingest_queue_next(struct ingest_queue *q, struct ingest_record *rec);
void ingest_queue_release(struct ingest_queue *q);

/* ------------------------------------------------------------ csv */

/* The NAME.map file of [ingest] csv_mappings whose `match` pattern
 * matches the base name of file, into *path (caller frees); RK_OK with
 * *path NULL when none does or csv_mappings is unset; RK_ERR_CONFIG when
 * the directory cannot be read (reason says why). */
enum rk_err ingest_csvmap_find(const struct rk_config *cfg, const char *file,
			       char **path, char *reason, size_t reason_len);

/* ------------------------------------------------------------ text */

/* data without a leading UTF-8 byte order mark (len adjusted). */
const char *ingest_skip_bom(const char *data, size_t *len);
/* No NUL byte and valid UTF-8; else false with the reason (naming the
 * line). */
bool ingest_text_check(const char *data, size_t len, char *reason,
		       size_t reason_len);
/* The same for data of src (data and len within src's, after a byte
 * order mark, say); pages checked are given back as the check goes when
 * src->mapped, so that the check does not hold the whole file. */
bool ingest_text_check_input(const struct ingest_source *src,
			     const char *data, size_t len, char *reason,
			     size_t reason_len);
/* The 1-based line at of text that starts at start. */
long long ingest_line_of(const char *start, const char *at);

/* ------------------------------------------------------------ normalizer */

/* A field of ingest_norm.fields, borrowed from it. */
struct ingest_field_ref {
	const char *name;
	size_t name_len;
	json_t *value;
};

/* Slots of ingest_norm.known: a power of two, over twice the
 * harmonization fields. */
#define INGEST_KNOWN_SLOTS 256
/* Entries of ingest_norm.categories: a power of two. */
#define INGEST_CATEGORY_MEMO 64

/* A category the normalizer looked up: rk_config_category(cfg, type,
 * identifier) = category.  Pointers borrowed (type static, category
 * static or cfg's). */
struct ingest_category_memo {
	const struct rk_config *cfg; /* NULL: empty */
	const char *type;
	bool has_identifier;
	char identifier[64];
	const char *category;
};

/* State reused from one event to the next, so that the hot path allocates
 * little beyond what jansson needs.  Initialise with ingest_norm_init,
 * free with ingest_norm_release. */
struct ingest_norm {
	/* The flat normalized event: nfields fields in fields[] (room for
	 * RK_MAX_EVENT_FIELDS + the derived ones), in input order until the
	 * event is complete, then sorted by name.  Values are borrowed from
	 * the record or, once replaced by a normalized value, owned (in
	 * owned[]); names live in names (name_off[] into it while it may
	 * still grow) or are static. */
	struct ingest_field_ref *fields;
	size_t nstored;        /* fields in fields[] */
	size_t *name_off;      /* SIZE_MAX: fields[i].name is static */
	uint16_t *index;       /* open-addressing hash of the names */
	json_t **owned;        /* values to release at the next event */
	size_t nowned;
	struct rk_buf names;   /* the names of this event's fields */
	/* The event as store_event_add wants it.  A view: every string is
	 * borrowed from fields or the buffers below and stays valid until
	 * the next ingest_normalize or ingest_norm_release.  report_id is
	 * the caller's to set. */
	struct store_event ev;
	struct rk_buf key;     /* flattened field name being built */
	struct rk_buf name;    /* the stored name ("extra.<key>") */
	struct rk_buf data;    /* ev.data: fields as compact JSON */
	struct rk_buf canon;   /* the fields the dedup key hashes */
	char dedup_hex[2 * 32 + 1]; /* ev.dedup_key: SHA-256, hex */
	EVP_MD *sha256;        /* fetched once, owned */
	EVP_MD_CTX *md;        /* owned */
	json_t *tlp_names[RK_TLP_RED + 1]; /* shared "CLEAR", "GREEN", ... */
	uint8_t known[INGEST_KNOWN_SLOTS]; /* the harmonization fields hashed:
					      1 + their index, 0 empty */
	struct ingest_category_memo categories[INGEST_CATEGORY_MEMO];
	size_t nfields;
	size_t max_field;      /* [ingest] max_field of the last call */
	char reason[INGEST_REASON]; /* why the last event was rejected */
};

enum rk_err ingest_norm_init(struct ingest_norm *n);
void ingest_norm_release(struct ingest_norm *n);

/* Normalize one record into n->ev.  root must be a JSON object of
 * IntelMQ fields, nested ({"source": {"ip": ...}}) or flat
 * ("source.ip"); it is borrowed (values are shared with n->fields, so
 * root may be released right after).  now is the reference time for
 * [ingest] max_age and max_skew (Unix seconds), taken by the caller.
 * Returns RK_OK with n->ev filled, RK_ERR_INVAL with the reason in
 * n->reason for a bad record, or RK_ERR_NOMEM. */
enum rk_err ingest_normalize(struct ingest_norm *n,
			     const struct rk_config *cfg, int64_t now,
			     json_t *root);

/* The same in steps, for a reader that hands the record's fields over
 * itself instead of as a JSON object (the IntelMQ reader's fast path):
 * ingest_norm_start, then ingest_norm_field for each leaf in input order,
 * then ingest_norm_finish.  ingest_normalize(root) is exactly start,
 * every leaf of root as flattening finds it, finish.
 *
 * ingest_norm_field: value (a new reference, taken over even on failure)
 * under name[0..len), the leaf's flattened name ("source.ip" for
 * {"source": {"ip": ...}}: names joined by '.', each already checked not
 * empty and without control characters), depth the nesting of the object
 * holding it (1: the record itself).  RK_OK, RK_ERR_INVAL with n->reason
 * where ingest_normalize would reject the record at that leaf (the field
 * limits, a duplicate name), RK_ERR_NOMEM, RK_ERR_INTERNAL.  A reader
 * that meets anything ingest_normalize's input could differ on
 * (duplicate keys, a key that would be rejected) should fall back to the
 * JSON object: only then are the reasons the same.
 * ingest_norm_finish: what ingest_normalize returns. */
void ingest_norm_start(struct ingest_norm *n, const struct rk_config *cfg);
enum rk_err ingest_norm_field(struct ingest_norm *n, const char *name,
			      size_t len, json_t *value, int depth);
enum rk_err ingest_norm_finish(struct ingest_norm *n,
			       const struct rk_config *cfg, int64_t now);

/* A copy of the view ev that owns its strings (state "new"); *out is
 * released with store_event_release. */
enum rk_err ingest_event_copy(const struct store_event *ev,
			      struct store_event *out);

/* Flags every JSON reader parses one record with. */
#define INGEST_JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

#endif
