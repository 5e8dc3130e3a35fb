/* libFuzzer harness for the contacts CSV reader (contacts_parse) and the
 * shared CSV reader under it (rk_csv).  The first byte picks the kind
 * (constituency, national-csirts, suppress) and a chunk size; the rest
 * is the file.  Checks what must hold for any input: every accepted row
 * has its required values and a source, every problem a file and a
 * reason, a suppression type is a known one, a format one notify
 * produces; and the shared reader gives the same records, lines and
 * problems whether the input arrives whole or in small chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/contacts.h"
#include "renraku/csvread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum rk_err note_record(void *arg, struct rk_csv *csv,
			       const struct rk_csv_record *rec)
{
	struct rk_buf *b = arg;
	enum rk_err err;

	(void)csv;
	if (rec->skipped)
		return rk_buf_addf(b, "S%lld\n", rec->line);
	if (rec->line < 1)
		abort();
	err = rk_buf_addf(b, "L%lld:%zu", rec->line, rec->nfields);
	for (size_t i = 0; !err && i < rec->nfields; i++) {
		if (rec->len[i] > RK_MAX_CSV_LINE || rec->field[i][rec->len[i]] != '\0')
			abort();
		err = rk_buf_add(b, rec->field[i], rec->len[i]);
		if (!err)
			err = rk_buf_addc(b, '|');
	}
	return err ? err : rk_buf_addc(b, '\n');
}

static enum rk_err note_problem(void *arg, long long line, const char *reason)
{
	return rk_buf_addf(arg, "P%lld:%s\n", line, reason);
}

static void reader_agrees(const char *text, size_t len, size_t chunk)
{
	struct rk_buf whole, parts;
	struct rk_csv_opts o;
	struct rk_csv *csv;
	enum rk_err e1, e2 = RK_OK;

	memset(&o, 0, sizeof(o));
	o.check_text = true;
	o.record.max = 256; /* small, so that the limit is met often */
	o.fields.max = 8;
	o.cell.max = 64;
	o.on_record = note_record;
	o.on_problem = note_problem;
	rk_buf_init(&whole, 1u << 26);
	rk_buf_init(&parts, 1u << 26);
	o.arg = &whole;
	e1 = rk_csv_read(&o, text, len);
	o.arg = &parts;
	if (rk_csv_new(&csv, &o) != RK_OK)
		abort();
	for (size_t at = 0; !e2 && at < len; at += chunk)
		e2 = rk_csv_feed(csv, text + at, len - at < chunk ? len - at : chunk);
	if (!e2)
		e2 = rk_csv_finish(csv);
	rk_csv_free(csv);
	if (e1 != e2 || (e1 == RK_OK && strcmp(whole.data, parts.data) != 0))
		abort();
	rk_buf_release(&whole);
	rk_buf_release(&parts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"constituency", "national-csirts",
					    "suppress"};
	struct contacts_set set;
	const char *kind;

	if (size < 1)
		return 0;
	kind = kinds[data[0] % 3];
	reader_agrees((const char *)data + 1, size - 1, 1 + data[0] / 3 % 13);
	memset(&set, 0, sizeof(set));
	if (contacts_parse(kind, NULL, (const char *)data + 1, size - 1, &set) !=
	    RK_OK) {
		contacts_set_release(&set);
		return 0;
	}
	for (size_t i = 0; i < set.ncontacts; i++) {
		const struct store_contact *c = &set.contacts[i];

		if (!c->org || !*c->org || !c->match || !c->email ||
		    !rk_email_valid(c->email) || !c->source ||
		    rk_str_has_ctl(c->org, false) || rk_str_has_ctl(c->match, false))
			abort();
		if (c->format && strcmp(c->format, "csv-attach") != 0 &&
		    strcmp(c->format, "csv-inline") != 0 &&
		    strcmp(c->format, "json") != 0)
			abort();
	}
	for (size_t i = 0; i < set.nsupps; i++)
		if (!set.supps[i].match || !set.supps[i].source ||
		    (set.supps[i].type && !rk_type_find(set.supps[i].type)))
			abort();
	for (size_t i = 0; i < set.nproblems; i++)
		if (!set.problems[i].file || !set.problems[i].reason ||
		    set.problems[i].line < 0)
			abort();
	contacts_set_release(&set);
	return 0;
}
