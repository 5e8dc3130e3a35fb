/*
 * Notice templates: finding templates/<template>/<lang>.mustache and
 * rendering one into a subject line and a body.
 *
 * A notice template is "Subject: ..." on its first line, a blank line,
 * then the body.  The subject line is rendered on its own, so a value
 * carrying CR/LF can never reach the body or add a header; whatever
 * control characters it carries become spaces.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "renraku/notify.h"

/* Template folder names: rk_name_safe, and not "_partials" or any other
 * name starting with '_' (those folders are not templates). */
static bool template_name_ok(const char *name)
{
	return rk_name_safe(name) && name[0] != '_';
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

enum rk_err notify_template_for_type(const char *templates_dir,
				     const char *type, char **out)
{
	const char *chosen = "default";
	char *path = NULL;
	enum rk_err err = RK_OK;

	*out = NULL;
	if (type && template_name_ok(type)) {
		if ((err = rk_path_join(templates_dir, type, &path)))
			goto cleanup;
		if (is_dir(path))
			chosen = type;
	}
	*out = rk_strdup(chosen);
	if (!*out)
		err = RK_ERR_NOMEM;
cleanup:
	free(path);
	return err;
}

/* templates_dir/name/lang.mustache when it is a file: RK_OK and *out
 * (caller frees); RK_ERR_NOTFOUND when missing. */
static enum rk_err template_file(const char *templates_dir, const char *name,
				 const char *lang, char **out)
{
	struct rk_buf path;
	enum rk_err err;

	*out = NULL;
	rk_buf_init(&path, 8192);
	err = rk_buf_addf(&path, "%s/%s/%s.mustache", templates_dir, name,
			  lang);
	if (!err && !is_file(path.data))
		err = RK_ERR_NOTFOUND;
	if (!err) {
		*out = rk_buf_detach(&path, NULL);
		if (!*out)
			err = RK_ERR_NOMEM;
	}
	rk_buf_release(&path);
	return err;
}

enum rk_err notify_template_path(const char *templates_dir,
				 const char *template_name, const char *lang,
				 char **path_out, char **lang_used)
{
	enum rk_err err;

	*path_out = NULL;
	*lang_used = NULL;
	if (!lang)
		lang = "en";
	if (!templates_dir || !template_name_ok(template_name) ||
	    !rk_name_safe(lang))
		return RK_ERR_INVAL;
	err = template_file(templates_dir, template_name, lang, path_out);
	if (err == RK_ERR_NOTFOUND && strcmp(lang, "en") != 0) {
		lang = "en";
		err = template_file(templates_dir, template_name, lang,
				    path_out);
	}
	if (err == RK_ERR_NOTFOUND)
		return RK_ERR_TEMPLATE;
	if (err)
		return err;
	*lang_used = rk_strdup(lang);
	if (!*lang_used) {
		free(*path_out);
		*path_out = NULL;
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

void notify_rendered_release(struct notify_rendered *r)
{
	if (!r)
		return;
	free(r->subject);
	free(r->body);
	r->subject = NULL;
	r->body = NULL;
}

/* Control characters to spaces, runs of spaces to one, trimmed, at most
 * RK_MAX_SUBJECT bytes without cutting a UTF-8 sequence. */
static void clean_subject(struct rk_buf *b)
{
	size_t w = 0;
	bool after_space = true; /* drops leading spaces */

	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ') {
			if (after_space)
				continue;
			after_space = true;
		} else {
			after_space = false;
		}
		b->data[w++] = (char)c;
	}
	if (w > RK_MAX_SUBJECT) {
		w = RK_MAX_SUBJECT;
		while (w > 0 && ((unsigned char)b->data[w] & 0xc0) == 0x80)
			w--;
	}
	while (w > 0 && b->data[w - 1] == ' ')
		w--;
	rk_buf_truncate(b, w);
}

/* LF line ends, no trailing blanks on a line, exactly one final
 * newline. */
static enum rk_err clean_body(struct rk_buf *b)
{
	char *d = b->data;
	size_t w = 0, line = 0;

	for (size_t i = 0; i < b->len; i++) {
		char c = d[i];

		if (c == '\r') {
			if (i + 1 < b->len && d[i + 1] == '\n')
				continue;
			c = '\n';
		}
		if (c == '\n') {
			while (w > line && (d[w - 1] == ' ' || d[w - 1] == '\t'))
				w--;
			d[w++] = '\n';
			line = w;
			continue;
		}
		d[w++] = c;
	}
	while (w > line && (d[w - 1] == ' ' || d[w - 1] == '\t'))
		w--;
	while (w > 0 && d[w - 1] == '\n')
		w--;
	rk_buf_truncate(b, w);
	return rk_buf_addc(b, '\n');
}

/* "line N: ..." from the engine is relative to the text it was given;
 * make it a line of the template file. */
static void shift_line(const char *msg, size_t first_line, char *out,
		       size_t outlen)
{
	char *end;
	unsigned long n;

	if (strncmp(msg, "line ", 5) == 0) {
		errno = 0;
		n = strtoul(msg + 5, &end, 10);
		if (!errno && end != msg + 5 && *end == ':') {
			snprintf(out, outlen, "line %lu%s",
				 n + (unsigned long)first_line - 1, end);
			return;
		}
	}
	snprintf(out, outlen, "%s", msg);
}

static bool is_blank_line(const char *s, const char *end)
{
	for (; s < end; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return false;
	return true;
}

/* Log the reason a notice template failed and keep it in out->error. */
static enum rk_err render_fail(struct notify_rendered *out,
			       const struct rk_log *log, enum rk_err err,
			       const char *fmt, ...) RK_PRINTF(4, 5);
static enum rk_err render_fail(struct notify_rendered *out,
			       const struct rk_log *log, enum rk_err err,
			       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return rk_fail(log, err, "notice template: %s", out->error);
}

enum rk_err notify_render_template(const char *text, size_t len,
				   const char *partials_dir,
				   const json_t *data,
				   struct notify_rendered *out,
				   const struct rk_log *log)
{
	struct mustache_opts opts = {
		.escape = MUSTACHE_ESCAPE_NONE,
		.partial = partials_dir ? mustache_partial_from_dir : NULL,
		.partial_ud = (void *)partials_dir,
	};
	const char *end = text + len, *p = text, *nl, *subj, *subj_end;
	const char *line2, *line2_end, *body;
	struct rk_buf subject, rendered;
	char msg[512], where[sizeof(out->error) - 16];
	enum rk_err err;

	out->subject = NULL;
	out->body = NULL;
	out->error[0] = '\0';
	rk_buf_init(&subject, RK_MAX_RENDERED);
	rk_buf_init(&rendered, RK_MAX_RENDERED);
	if (len > RK_MAX_TEMPLATE) {
		err = render_fail(out, log, RK_ERR_LIMIT, "the template is larger than RK_MAX_TEMPLATE (%u bytes)",
				  RK_MAX_TEMPLATE);
		goto cleanup;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* a UTF-8 byte order mark some editors add */

	/* line 1: "Subject: ..." */
	nl = memchr(p, '\n', (size_t)(end - p));
	subj_end = nl ? nl : end;
	if (subj_end > p && subj_end[-1] == '\r')
		subj_end--;
	if (subj_end - p < 8 || strncasecmp(p, "Subject:", 8) != 0) {
		err = render_fail(out, log, RK_ERR_TEMPLATE,
				  "first line must be 'Subject: ...'");
		goto cleanup;
	}
	for (subj = p + 8; subj < subj_end && (*subj == ' ' || *subj == '\t');
	     subj++)
		;
	/* line 2: blank */
	line2 = nl ? nl + 1 : end;
	line2_end = memchr(line2, '\n', (size_t)(end - line2));
	if (!nl || !is_blank_line(line2, line2_end ? line2_end : end)) {
		err = render_fail(out, log, RK_ERR_TEMPLATE,
				  "line 2 must be blank (it separates the subject from the body)");
		goto cleanup;
	}
	body = line2_end ? line2_end + 1 : end;

	err = mustache_render(subj, (size_t)(subj_end - subj), data, &opts,
			      &subject, msg, sizeof(msg));
	if (err) {
		shift_line(msg[0] ? msg : rk_strerror(err), 1, where,
			   sizeof(where));
		render_fail(out, log, err, "subject: %s", where);
		goto cleanup;
	}
	clean_subject(&subject);
	if (!rk_utf8_valid(subject.data, subject.len)) {
		err = render_fail(out, log, RK_ERR_TEMPLATE,
				  "the rendered subject is not valid UTF-8");
		goto cleanup;
	}

	err = mustache_render(body, (size_t)(end - body), data, &opts,
			      &rendered, msg, sizeof(msg));
	if (err) {
		shift_line(msg[0] ? msg : rk_strerror(err), 3, where,
			   sizeof(where));
		render_fail(out, log, err, "body: %s", where);
		goto cleanup;
	}
	if ((err = clean_body(&rendered))) {
		render_fail(out, log, err, "rendered body larger than RK_MAX_RENDERED (%u bytes)",
			    RK_MAX_RENDERED);
		goto cleanup;
	}
	if (memchr(rendered.data, '\0', rendered.len) ||
	    !rk_utf8_valid(rendered.data, rendered.len)) {
		err = render_fail(out, log, RK_ERR_TEMPLATE,
				  "the rendered body is not valid UTF-8 text");
		goto cleanup;
	}
	out->subject = rk_buf_detach(&subject, NULL);
	out->body = rk_buf_detach(&rendered, NULL);
	if (!out->subject || !out->body) {
		notify_rendered_release(out);
		err = RK_ERR_NOMEM;
	}
cleanup:
	rk_buf_release(&subject);
	rk_buf_release(&rendered);
	return err;
}
