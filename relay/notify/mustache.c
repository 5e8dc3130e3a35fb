/*
 * The Mustache engine: the required modules of the Mustache spec
 * (comments, delimiters, interpolation, inverted, partials, sections),
 * dynamic partial names ({{>*name}}) and parents/blocks ({{<p}}, {{$b}})
 * without block re-indentation.  Lambdas do not exist: data is JSON.
 * A partial that does not exist is an error naming its line and name
 * (a typo must not drop a section of a notice), unless the caller asks
 * for the spec's empty text (opts->missing_partial_empty).
 *
 * How it works.  A template is parsed once, in a single pass, into an
 * array of tokens that point into the template text: no copies and no
 * allocation per tag (the array grows geometrically).  Sections record
 * the index just past their body, so rendering walks the array and never
 * scans text again; a false section is skipped in one step.  Standalone
 * lines are removed while parsing, and a partial's indentation is baked
 * into its tokens when the partial is parsed (at inclusion, with the
 * indentation of its tag), exactly as if it were prepended to every line
 * of the partial's text.
 *
 * Bounds.  Nesting of sections, partials and parents is limited by
 * RK_MAX_MUSTACHE_DEPTH, the work of one render by RK_MAX_MUSTACHE_STEPS
 * (so nested loops over lists that print nothing still end), the output
 * by out->max, a template or partial by RK_MAX_TEMPLATE.  Every limit is
 * RK_ERR_LIMIT with a message; syntax errors are RK_ERR_TEMPLATE with
 * "line N: reason".
 *
 * Truthiness (the spec leaves it to the host language; this follows
 * JavaScript): missing, null, false, "", 0 and [] are false; anything
 * else (a non-empty string, a non-zero number, true, any object) is
 * true.  A list renders the section once per element.
 *
 * Interpolation: strings as they are; integers in decimal; reals in the
 * shortest of %.15g/%.16g/%.17g that reads back as the same double (1.21
 * prints "1.21"); true/false as words; null, objects and lists as nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"

enum tok_type {
	TOK_TEXT,     /* literal text, or a line's indentation */
	TOK_VAR,      /* {{name}} {{{name}}} {{&name}} */
	TOK_SECTION,  /* {{#name}} body {{/name}} */
	TOK_INVERTED, /* {{^name}} body {{/name}} */
	TOK_PARTIAL,  /* {{>name}} {{>*name}} */
	TOK_PARENT,   /* {{<name}} blocks {{/name}} */
	TOK_BLOCK     /* {{$name}} default {{/name}} */
};

struct tok {
	enum tok_type type;
	bool raw;        /* VAR: not escaped */
	bool standalone; /* PARTIAL, PARENT: the tag stood alone on its line */
	const char *s;   /* TEXT: the text; others: the trimmed tag content */
	size_t n;
	const char *ws;  /* PARTIAL, PARENT standalone: the line's indentation */
	size_t wsn;
	size_t end;      /* SECTION, INVERTED, PARENT, BLOCK: index past body */
	size_t pos;      /* offset of the tag in the source (line numbers) */
};

/* One parsed template.  Tokens borrow src and indent. */
struct tmpl {
	const char *src;
	size_t len;
	const char *indent; /* prepended to every line (partials) */
	size_t indent_len;
	struct tok *toks;
	size_t n, cap;
};

struct parser {
	struct tmpl *t;
	const char *otag, *ctag; /* current delimiters, borrowed from src */
	size_t olen, clen;
	bool at_line_start;      /* nothing emitted yet on the current line */
	size_t open[RK_MAX_MUSTACHE_DEPTH]; /* indexes of open sections */
	size_t nopen;
	char *err;
	size_t errlen;
};

/* A parent tag's body: the blocks it overrides. */
struct override {
	const struct tmpl *t;
	size_t from, to;
};

struct render {
	const struct mustache_opts *opts;
	struct rk_buf *out;
	char *err;
	size_t errlen;
	bool err_set;
	const json_t *stack[RK_MAX_MUSTACHE_DEPTH + 1]; /* context stack */
	size_t nstack;
	unsigned depth;         /* nested sections, partials, parents, blocks */
	unsigned partial_depth; /* nested partial inclusions */
	unsigned long long steps;
	struct override ovr[RK_MAX_MUSTACHE_DEPTH]; /* outermost first */
	size_t novr;
};

/* ------------------------------------------------------------ errors */

static size_t line_of(const char *src, size_t len, size_t pos)
{
	size_t line = 1;
	const char *p = src, *end = src + (pos < len ? pos : len);

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

static void verrorf(char *err, size_t errlen, const char *src, size_t len,
		    size_t pos, const char *fmt, va_list ap) RK_PRINTF(6, 0);
static void verrorf(char *err, size_t errlen, const char *src, size_t len,
		    size_t pos, const char *fmt, va_list ap)
{
	int n;

	if (!err || !errlen)
		return;
	n = snprintf(err, errlen, "line %zu: ", line_of(src, len, pos));
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

static enum rk_err parse_fail(struct parser *p, enum rk_err code, size_t pos,
			      const char *fmt, ...) RK_PRINTF(4, 5);
static enum rk_err parse_fail(struct parser *p, enum rk_err code, size_t pos,
			      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrorf(p->err, p->errlen, p->t->src, p->t->len, pos, fmt, ap);
	va_end(ap);
	return code;
}

/* The first error wins: inner messages are more precise. */
static enum rk_err render_fail(struct render *r, const struct tmpl *t,
			       size_t pos, enum rk_err code,
			       const char *fmt, ...) RK_PRINTF(5, 6);
static enum rk_err render_fail(struct render *r, const struct tmpl *t,
			       size_t pos, enum rk_err code,
			       const char *fmt, ...)
{
	va_list ap;

	if (!r->err_set) {
		va_start(ap, fmt);
		verrorf(r->err, r->errlen, t->src, t->len, pos, fmt, ap);
		va_end(ap);
		r->err_set = true;
	}
	return code;
}

/* Shown in messages: names are cut, the log escapes control bytes. */
#define NAME_SHOWN 64
#define SHOW(s, n) (int)((n) < NAME_SHOWN ? (n) : NAME_SHOWN), (s)

/* ------------------------------------------------------------ parsing */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static void trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && is_ws(s[*a]))
		(*a)++;
	while (*b > *a && is_ws(s[*b - 1]))
		(*b)--;
}

static enum rk_err add_tok(struct tmpl *t, const struct tok *k)
{
	struct tok *grown;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 32;
		if (cap > SIZE_MAX / sizeof(*grown))
			return RK_ERR_NOMEM;
		grown = realloc(t->toks, cap * sizeof(*grown));
		if (!grown)
			return RK_ERR_NOMEM;
		t->toks = grown;
		t->cap = cap;
	}
	t->toks[t->n++] = *k;
	return RK_OK;
}

static enum rk_err add_text(struct tmpl *t, const char *s, size_t n,
			    size_t pos)
{
	struct tok k = {.type = TOK_TEXT, .s = s, .n = n, .pos = pos};

	return add_tok(t, &k);
}

/* Before anything that belongs to the current line: its indentation. */
static enum rk_err flush_indent(struct parser *p, size_t pos)
{
	struct tmpl *t = p->t;

	if (!p->at_line_start)
		return RK_OK;
	p->at_line_start = false;
	return t->indent_len ? add_text(t, t->indent, t->indent_len, pos)
			     : RK_OK;
}

/* Literal text src[a..b), with the indentation at each line start. */
static enum rk_err emit_text(struct parser *p, size_t a, size_t b)
{
	struct tmpl *t = p->t;
	enum rk_err err = RK_OK;
	const char *nl;
	size_t e;

	if (a >= b)
		return RK_OK;
	if (!t->indent_len) {
		err = add_text(t, t->src + a, b - a, a);
		p->at_line_start = t->src[b - 1] == '\n';
		return err;
	}
	while (a < b && !err) {
		nl = memchr(t->src + a, '\n', b - a);
		e = nl ? (size_t)(nl - t->src) + 1 : b;
		err = flush_indent(p, a);
		if (!err)
			err = add_text(t, t->src + a, e - a, a);
		p->at_line_start = t->src[e - 1] == '\n';
		a = e;
	}
	return err;
}

struct tag {
	char sigil;    /* 0 for a plain variable, '{' for a triple mustache */
	size_t cs, ce; /* content (after the sigil), not yet trimmed */
	size_t te;     /* just past the closing delimiter */
};

static const char *find(const char *src, size_t len, size_t from,
			const char *pat, size_t patlen)
{
	const char *p, *end = src + len;

	if (from > len || len - from < patlen)
		return NULL;
	p = src + from;
	/* memchr for the first byte is faster than memmem for the short
	 * delimiters templates use */
	while ((size_t)(end - p) >= patlen &&
	       (p = memchr(p, pat[0], (size_t)(end - p) - patlen + 1)) != NULL) {
		if (memcmp(p, pat, patlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

static enum rk_err scan_tag(struct parser *p, size_t ts, struct tag *tag)
{
	const char *src = p->t->src, *hit;
	size_t len = p->t->len, cs = ts + p->olen, from;

	if (cs < len && src[cs] == '{') {
		/* {{{name}}}: the content ends at '}' + closing delimiter */
		tag->sigil = '{';
		cs++;
		for (from = cs;; from = (size_t)(hit - src) + 1) {
			hit = find(src, len, from, p->ctag, p->clen);
			if (!hit)
				return parse_fail(p, RK_ERR_TEMPLATE, ts,
						  "unclosed tag (no '}%.*s')",
						  (int)p->clen, p->ctag);
			if ((size_t)(hit - src) > cs && hit[-1] == '}')
				break;
		}
		tag->cs = cs;
		tag->ce = (size_t)(hit - src) - 1;
		tag->te = (size_t)(hit - src) + p->clen;
		return RK_OK;
	}
	hit = find(src, len, cs, p->ctag, p->clen);
	if (!hit)
		return parse_fail(p, RK_ERR_TEMPLATE, ts,
				  "unclosed tag (no '%.*s')", (int)p->clen,
				  p->ctag);
	tag->ce = (size_t)(hit - src);
	tag->te = tag->ce + p->clen;
	tag->sigil = 0;
	if (cs < tag->ce && src[cs] && strchr("#^/>!=&<$", src[cs]))
		tag->sigil = src[cs++];
	if (tag->sigil == '=') {
		if (tag->ce <= cs || src[tag->ce - 1] != '=')
			return parse_fail(p, RK_ERR_TEMPLATE, ts,
					  "set-delimiter tag must end with '='");
		tag->ce--;
	}
	tag->cs = cs;
	return RK_OK;
}

/* {{=<% %>=}}: two delimiters without white space or '='. */
static enum rk_err set_delimiters(struct parser *p, size_t ts,
				  const struct tag *tag)
{
	const char *src = p->t->src;
	size_t i = tag->cs, e = tag->ce, a1, b1, a2, b2;

	while (i < e && is_ws(src[i]))
		i++;
	for (a1 = i; i < e && !is_ws(src[i]); i++)
		;
	b1 = i;
	while (i < e && is_ws(src[i]))
		i++;
	for (a2 = i; i < e && !is_ws(src[i]); i++)
		;
	b2 = i;
	while (i < e && is_ws(src[i]))
		i++;
	if (a1 == b1 || a2 == b2 || i != e ||
	    memchr(src + a1, '=', b1 - a1) || memchr(src + a2, '=', b2 - a2))
		return parse_fail(p, RK_ERR_TEMPLATE, ts,
				  "set-delimiter tag needs two delimiters without spaces or '='");
	p->otag = src + a1;
	p->olen = b1 - a1;
	p->ctag = src + a2;
	p->clen = b2 - a2;
	return RK_OK;
}

/* Does src[from..] hold only blanks up to the end of the line?  *next is
 * then past the line end (LF or CRLF) or at the end of the text. */
static bool rest_blank(const char *src, size_t len, size_t from, size_t *next)
{
	while (from < len && (src[from] == ' ' || src[from] == '\t'))
		from++;
	if (from == len) {
		*next = len;
		return true;
	}
	if (src[from] == '\n') {
		*next = from + 1;
		return true;
	}
	if (src[from] == '\r' && from + 1 < len && src[from + 1] == '\n') {
		*next = from + 2;
		return true;
	}
	return false;
}

/* {{<name}}{{/name}} (an empty parent) on its own line is standalone as a
 * pair.  Returns true and the end of the pair's closing tag when the text
 * at `at` is the matching closing tag. */
static bool closes_at(const struct parser *p, size_t at, const char *name,
		      size_t n, size_t *te)
{
	const char *src = p->t->src, *hit;
	size_t len = p->t->len, cs = at + p->olen + 1, ce;

	if (len - at < p->olen + 1 || memcmp(src + at, p->otag, p->olen) != 0 ||
	    src[at + p->olen] != '/')
		return false;
	hit = find(src, len, cs, p->ctag, p->clen);
	if (!hit)
		return false;
	ce = (size_t)(hit - src);
	*te = ce + p->clen;
	trim(src, &cs, &ce);
	return ce - cs == n && memcmp(src + cs, name, n) == 0;
}

static enum rk_err open_section(struct parser *p, const struct tok *k)
{
	enum rk_err err;

	if (p->nopen == RK_ARRAY_LEN(p->open))
		return parse_fail(p, RK_ERR_LIMIT, k->pos,
				  "sections nested deeper than RK_MAX_MUSTACHE_DEPTH (%d)",
				  RK_MAX_MUSTACHE_DEPTH);
	err = add_tok(p->t, k);
	if (!err)
		p->open[p->nopen++] = p->t->n - 1;
	return err;
}

static enum rk_err close_section(struct parser *p, size_t ts, size_t a,
				 size_t b)
{
	struct tok *k;
	size_t n = b - a;

	if (!p->nopen)
		return parse_fail(p, RK_ERR_TEMPLATE, ts,
				  "closing tag '%.*s' without an open section",
				  SHOW(p->t->src + a, n));
	k = &p->t->toks[p->open[p->nopen - 1]];
	if (k->n != n || memcmp(k->s, p->t->src + a, n) != 0)
		return parse_fail(p, RK_ERR_TEMPLATE, ts,
				  "section '%.*s' closed by '%.*s'",
				  SHOW(k->s, k->n), SHOW(p->t->src + a, n));
	k->end = p->t->n;
	p->nopen--;
	return RK_OK;
}

/* One tag at ts; *pos is set past what it consumed. */
static enum rk_err parse_tag(struct parser *p, size_t seg, size_t ts,
			     size_t *pos)
{
	struct tmpl *t = p->t;
	const char *src = t->src;
	struct tag tag = {0};
	struct tok k = {.pos = ts};
	size_t ls, next, a, b, pair_end = 0;
	bool standalone = false, pair = false;
	enum rk_err err;

	if ((err = scan_tag(p, ts, &tag)))
		return err;
	a = tag.cs;
	b = tag.ce;
	if (tag.sigil != '!' && tag.sigil != '=')
		trim(src, &a, &b);
	next = tag.te;
	/* Standalone: only blanks around the tag on its line. */
	for (ls = ts; ls > seg && (src[ls - 1] == ' ' || src[ls - 1] == '\t');
	     ls--)
		;
	if (tag.sigil && tag.sigil != '&' && tag.sigil != '{' &&
	    (ls == 0 || src[ls - 1] == '\n')) {
		if (tag.sigil == '<' && closes_at(p, tag.te, src + a, b - a,
						  &pair_end) &&
		    rest_blank(src, t->len, pair_end, &next))
			standalone = pair = true;
		else
			standalone = rest_blank(src, t->len, tag.te, &next);
		if (!standalone)
			next = tag.te;
	}
	if ((err = emit_text(p, seg, standalone ? ls : ts)))
		return err;
	if (!standalone && (err = flush_indent(p, ts)))
		return err;
	*pos = next;
	if (tag.sigil != '!' && tag.sigil != '=' && a == b)
		return parse_fail(p, RK_ERR_TEMPLATE, ts, "empty tag name");
	k.s = src + a;
	k.n = b - a;
	switch (tag.sigil) {
	case '!':
		return RK_OK;
	case '=':
		return set_delimiters(p, ts, &tag);
	case 0:
	case '&':
	case '{':
		k.type = TOK_VAR;
		k.raw = tag.sigil != 0;
		return add_tok(t, &k);
	case '#':
	case '^':
	case '$':
		k.type = tag.sigil == '#' ? TOK_SECTION
			 : tag.sigil == '^' ? TOK_INVERTED : TOK_BLOCK;
		return open_section(p, &k);
	case '/':
		return close_section(p, ts, a, b);
	case '>':
	case '<':
		k.type = tag.sigil == '>' ? TOK_PARTIAL : TOK_PARENT;
		k.standalone = standalone;
		if (standalone) {
			k.ws = src + ls;
			k.wsn = ts - ls;
		}
		if (k.type == TOK_PARTIAL)
			return add_tok(t, &k);
		if (pair) {
			k.end = t->n + 1;
			return add_tok(t, &k);
		}
		return open_section(p, &k);
	}
	return parse_fail(p, RK_ERR_INTERNAL, ts, "unknown tag");
}

/* Parse t->src into t->toks (caller frees t->toks, also on error). */
static enum rk_err parse(struct tmpl *t, char *err, size_t errlen)
{
	struct parser p = {.t = t, .otag = "{{", .ctag = "}}", .olen = 2,
			   .clen = 2, .at_line_start = true, .err = err,
			   .errlen = errlen};
	const char *hit;
	size_t pos = 0;
	enum rk_err rc;

	if (t->len > RK_MAX_TEMPLATE)
		return parse_fail(&p, RK_ERR_LIMIT, 0,
				  "template larger than RK_MAX_TEMPLATE (%u bytes)",
				  RK_MAX_TEMPLATE);
	for (;;) {
		hit = find(t->src, t->len, pos, p.otag, p.olen);
		if (!hit)
			break;
		if ((rc = parse_tag(&p, pos, (size_t)(hit - t->src), &pos)))
			return rc;
	}
	if ((rc = emit_text(&p, pos, t->len)))
		return rc;
	if (p.nopen) {
		const struct tok *k = &t->toks[p.open[p.nopen - 1]];

		return parse_fail(&p, RK_ERR_TEMPLATE, k->pos,
				  "section '%.*s' is not closed",
				  SHOW(k->s, k->n));
	}
	return RK_OK;
}

/* ------------------------------------------------------------ data */

static const json_t *lookup(const struct render *r, const char *name,
			    size_t n)
{
	const json_t *v = NULL;
	const char *dot;
	size_t part;

	if (n == 1 && name[0] == '.')
		return r->stack[r->nstack - 1];
	dot = memchr(name, '.', n);
	part = dot ? (size_t)(dot - name) : n;
	for (size_t i = r->nstack; i-- > 0 && !v;)
		if (json_is_object(r->stack[i]))
			v = json_object_getn(r->stack[i], name, part);
	while (v && dot) {
		name = dot + 1;
		n -= part + 1;
		dot = memchr(name, '.', n);
		part = dot ? (size_t)(dot - name) : n;
		v = json_is_object(v) ? json_object_getn(v, name, part) : NULL;
	}
	return v;
}

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_TRUE:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_FALSE:
	case JSON_NULL:
		return false;
	}
	return false;
}

static enum rk_err put_html(struct rk_buf *out, const char *s, size_t n)
{
	size_t start = 0;
	const char *rep;
	enum rk_err err;

	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		default: continue;
		}
		if ((err = rk_buf_add(out, s + start, i - start)) ||
		    (err = rk_buf_adds(out, rep)))
			return err;
		start = i + 1;
	}
	return rk_buf_add(out, s + start, n - start);
}

static enum rk_err put_value(struct rk_buf *out, const json_t *v, bool html)
{
	char num[64];
	double d;

	if (!v)
		return RK_OK;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return html ? put_html(out, json_string_value(v),
				       json_string_length(v))
			    : rk_buf_add(out, json_string_value(v),
					 json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return rk_buf_adds(out, num);
	case JSON_REAL:
		d = json_real_value(v);
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof(num), "%.*g", prec, d);
			if (strtod(num, NULL) == d)
				break;
		}
		return rk_buf_adds(out, num);
	case JSON_TRUE:
		return rk_buf_adds(out, "true");
	case JSON_FALSE:
		return rk_buf_adds(out, "false");
	case JSON_NULL:
	case JSON_OBJECT:
	case JSON_ARRAY:
		return RK_OK;
	}
	return RK_OK;
}

/* ------------------------------------------------------------ rendering */

static enum rk_err run(struct render *r, const struct tmpl *t, size_t i,
		       size_t end);

static enum rk_err enter(struct render *r, const struct tmpl *t, size_t pos)
{
	if (r->depth >= RK_MAX_MUSTACHE_DEPTH)
		return render_fail(r, t, pos, RK_ERR_LIMIT,
				   "sections and partials nested deeper than RK_MAX_MUSTACHE_DEPTH (%d)",
				   RK_MAX_MUSTACHE_DEPTH);
	r->depth++;
	return RK_OK;
}

/* Render body tokens [from, to) of t with ctx pushed (NULL: no push). */
static enum rk_err run_body(struct render *r, const struct tmpl *t,
			    size_t from, size_t to, const json_t *ctx)
{
	enum rk_err err;

	if ((err = enter(r, t, t->toks[from - 1].pos)))
		return err;
	if (ctx)
		r->stack[r->nstack++] = ctx;
	err = run(r, t, from, to);
	if (ctx)
		r->nstack--;
	r->depth--;
	return err;
}

static enum rk_err run_section(struct render *r, const struct tmpl *t,
			       size_t i)
{
	const struct tok *k = &t->toks[i];
	const json_t *v = lookup(r, k->s, k->n), *elem;
	enum rk_err err = RK_OK;

	if (!truthy(v))
		return RK_OK;
	if (!json_is_array(v))
		return run_body(r, t, i + 1, k->end, v);
	for (size_t idx = 0; idx < json_array_size(v) && !err; idx++) {
		elem = json_array_get(v, idx);
		if (++r->steps > RK_MAX_MUSTACHE_STEPS)
			return render_fail(r, t, k->pos, RK_ERR_LIMIT,
					   "rendering takes more than RK_MAX_MUSTACHE_STEPS (%u) steps",
					   RK_MAX_MUSTACHE_STEPS);
		err = run_body(r, t, i + 1, k->end, elem);
	}
	return err;
}

/* Prefix an error from inside partial `name` with the including tag's
 * line, once (at the outermost partial). */
static void wrap_partial_error(struct render *r, const struct tmpl *t,
			       const struct tok *k, const char *name)
{
	char inner[512];

	if (!r->err || !r->errlen || r->partial_depth != 0)
		return;
	snprintf(inner, sizeof(inner), "%s", r->err);
	snprintf(r->err, r->errlen, "line %zu: in partial '%.*s': %s",
		 line_of(t->src, t->len, k->pos), SHOW(name, strlen(name)),
		 inner);
}

/* {{>name}} and {{<name}}: load, parse with the tag's indentation, and
 * render the named template in the current context. */
static enum rk_err include(struct render *r, const struct tmpl *t,
			   const struct tok *k)
{
	struct rk_buf name, text, indent;
	struct tmpl sub = {0};
	const char *nm = k->s;
	size_t nn = k->n;
	const json_t *v;
	bool entered = false;
	enum rk_err err = RK_OK;

	rk_buf_init(&name, RK_MAX_TEMPLATE);
	rk_buf_init(&text, RK_MAX_TEMPLATE);
	rk_buf_init(&indent, RK_MAX_TEMPLATE);
	if (nn && nm[0] == '*') { /* dynamic name: the value of a key */
		size_t a = 1, b = nn;

		trim(nm, &a, &b);
		v = lookup(r, nm + a, b - a);
		if (!json_is_string(v))
			goto cleanup;
		nm = json_string_value(v);
		nn = json_string_length(v);
	}
	if (!nn || memchr(nm, '\0', nn) || !r->opts->partial) {
		/* no such partial */
		if (!r->opts->missing_partial_empty)
			err = render_fail(r, t, k->pos, RK_ERR_TEMPLATE,
					  "partial '%.*s' not found%s",
					  SHOW(nm, nn),
					  r->opts->partial ? ""
							   : " (no partials directory)");
		goto cleanup;
	}
	if ((err = enter(r, t, k->pos)))
		goto cleanup;
	entered = true;
	if ((err = rk_buf_add(&name, nm, nn)))
		goto cleanup;
	err = r->opts->partial(r->opts->partial_ud, name.data, &text);
	if (err == RK_ERR_NOTFOUND) {
		err = r->opts->missing_partial_empty
			      ? RK_OK
			      : render_fail(r, t, k->pos, RK_ERR_TEMPLATE,
					    "partial '%.*s' not found",
					    SHOW(name.data, name.len));
		goto cleanup;
	}
	if (err) {
		err = render_fail(r, t, k->pos, err, "cannot load partial '%.*s': %s",
				  SHOW(name.data, name.len), rk_strerror(err));
		goto cleanup;
	}
	if (k->standalone &&
	    ((err = rk_buf_add(&indent, t->indent, t->indent_len)) ||
	     (err = rk_buf_add(&indent, k->ws, k->wsn)))) {
		err = render_fail(r, t, k->pos, err,
				  "partial indentation larger than RK_MAX_TEMPLATE");
		goto cleanup;
	}
	/* Loading and parsing a partial costs work in proportion to its
	 * size: count one step per 64 bytes, so that a large partial
	 * included many times meets RK_MAX_MUSTACHE_STEPS. */
	r->steps += text.len / 64;
	if (r->steps > RK_MAX_MUSTACHE_STEPS) {
		err = render_fail(r, t, k->pos, RK_ERR_LIMIT,
				  "rendering takes more than RK_MAX_MUSTACHE_STEPS (%u) steps",
				  RK_MAX_MUSTACHE_STEPS);
		goto cleanup;
	}
	sub.src = text.data;
	sub.len = text.len;
	sub.indent = indent.data;
	sub.indent_len = indent.len;
	r->partial_depth++;
	err = parse(&sub, r->err, r->errlen);
	if (err) {
		r->err_set = true;
	} else {
		r->steps += sub.n;
		err = run(r, &sub, 0, sub.n);
	}
	r->partial_depth--;
	if (err)
		wrap_partial_error(r, t, k, name.data);
cleanup:
	if (entered)
		r->depth--;
	free(sub.toks);
	rk_buf_release(&name);
	rk_buf_release(&text);
	rk_buf_release(&indent);
	return err;
}

static enum rk_err run_parent(struct render *r, const struct tmpl *t,
			      size_t i)
{
	const struct tok *k = &t->toks[i];
	enum rk_err err;

	if (r->novr == RK_ARRAY_LEN(r->ovr))
		return render_fail(r, t, k->pos, RK_ERR_LIMIT,
				   "parents nested deeper than RK_MAX_MUSTACHE_DEPTH (%d)",
				   RK_MAX_MUSTACHE_DEPTH);
	r->ovr[r->novr].t = t;
	r->ovr[r->novr].from = i + 1;
	r->ovr[r->novr].to = k->end;
	r->novr++;
	err = include(r, t, k);
	r->novr--;
	return err;
}

/* {{$name}}: the outermost override of the block, else its default. */
static enum rk_err run_block(struct render *r, const struct tmpl *t,
			     size_t i)
{
	const struct tok *k = &t->toks[i], *b;

	for (size_t f = 0; f < r->novr; f++) {
		const struct override *o = &r->ovr[f];

		for (size_t j = o->from; j < o->to;) {
			b = &o->t->toks[j];
			if (b->type == TOK_BLOCK && b->n == k->n &&
			    memcmp(b->s, k->s, k->n) == 0)
				return run_body(r, o->t, j + 1, b->end, NULL);
			j = (b->type == TOK_SECTION || b->type == TOK_INVERTED ||
			     b->type == TOK_BLOCK || b->type == TOK_PARENT)
				    ? b->end
				    : j + 1;
		}
	}
	return run_body(r, t, i + 1, k->end, NULL);
}

static enum rk_err run(struct render *r, const struct tmpl *t, size_t i,
		       size_t end)
{
	const struct tok *k;
	bool html = r->opts->escape == MUSTACHE_ESCAPE_HTML;
	enum rk_err err = RK_OK;
	size_t next;

	while (i < end) {
		k = &t->toks[i];
		next = i + 1;
		if (++r->steps > RK_MAX_MUSTACHE_STEPS)
			return render_fail(r, t, k->pos, RK_ERR_LIMIT,
					   "rendering takes more than RK_MAX_MUSTACHE_STEPS (%u) steps",
					   RK_MAX_MUSTACHE_STEPS);
		switch (k->type) {
		case TOK_TEXT:
			err = rk_buf_add(r->out, k->s, k->n);
			break;
		case TOK_VAR:
			err = put_value(r->out, lookup(r, k->s, k->n),
					html && !k->raw);
			break;
		case TOK_SECTION:
			err = run_section(r, t, i);
			next = k->end;
			break;
		case TOK_INVERTED:
			if (!truthy(lookup(r, k->s, k->n)))
				err = run_body(r, t, i + 1, k->end, NULL);
			next = k->end;
			break;
		case TOK_PARTIAL:
			err = include(r, t, k);
			break;
		case TOK_PARENT:
			err = run_parent(r, t, i);
			next = k->end;
			break;
		case TOK_BLOCK:
			err = run_block(r, t, i);
			next = k->end;
			break;
		}
		if (err) {
			if (err == RK_ERR_LIMIT)
				return render_fail(r, t, k->pos, err,
						   "rendered text larger than %zu bytes",
						   r->out->max);
			return render_fail(r, t, k->pos, err, "%s",
					   rk_strerror(err));
		}
		i = next;
	}
	return RK_OK;
}

enum rk_err mustache_render(const char *tmpl, size_t len, const json_t *data,
			    const struct mustache_opts *opts,
			    struct rk_buf *out, char *err, size_t errlen)
{
	static const struct mustache_opts defaults = {
		.escape = MUSTACHE_ESCAPE_NONE};
	struct render *r;
	struct tmpl t = {.src = tmpl, .len = len, .indent = ""};
	size_t start = out->len;
	enum rk_err rc;

	if (err && errlen)
		err[0] = '\0';
	/* The render state holds two arrays of RK_MAX_MUSTACHE_DEPTH
	 * entries: on the heap, to keep deep call chains light. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return RK_ERR_NOMEM;
	}
	r->opts = opts ? opts : &defaults;
	r->out = out;
	r->err = err;
	r->errlen = errlen;
	r->stack[0] = data;
	r->nstack = 1;
	rc = parse(&t, err, errlen);
	if (!rc) {
		r->steps = t.n;
		rc = run(r, &t, 0, t.n);
	}
	if (rc)
		rk_buf_truncate(out, start);
	free(t.toks);
	free(r);
	return rc;
}

enum rk_err mustache_partial_from_dir(void *ud, const char *name,
				      struct rk_buf *out)
{
	const char *dir = ud;
	struct rk_buf path, text;
	enum rk_err err;

	if (!dir || !rk_name_safe(name))
		return RK_ERR_NOTFOUND;
	rk_buf_init(&path, 8192);
	rk_buf_init(&text, RK_MAX_TEMPLATE);
	err = rk_buf_addf(&path, "%s/%s.mustache", dir, name);
	if (!err)
		err = rk_buf_read_file(&text, path.data);
	if (!err)
		err = rk_buf_add(out, text.data, text.len);
	rk_buf_release(&path);
	rk_buf_release(&text);
	return err;
}
