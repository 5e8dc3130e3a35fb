/*
 * The DNS contact sources, over c-ares, every query of a batch in flight
 * at once on one channel:
 *
 *   abusix  <reversed address>.abuse-contacts.abusix.zone TXT: the abuse
 *           address of the network (level 0)
 *   cymru   <reversed address>.origin.asn.cymru.com (origin6 for IPv6)
 *           TXT "64500 | 192.0.2.0/24 | JP | apnic | 2010-01-01": no
 *           contact itself, but the origin AS and country an event may
 *           lack, handed to the resolver before level 0 (enrich) so that
 *           level 1 (the AS's contact) and level 2 (the national CSIRT)
 *           can be found
 *
 * NXDOMAIN or no TXT is "nobody" (RK_ERR_NOTFOUND); a timeout, SERVFAIL
 * or refusal is "try later" (RK_ERR_TEMPFAIL).  [resolve] dns_server
 * (host:port) replaces the system's resolvers; [resolve] timeout bounds
 * each query.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define ABUSIX_ZONE "abuse-contacts.abusix.zone"
#define CYMRU_ZONE4 "origin.asn.cymru.com"
#define CYMRU_ZONE6 "origin6.asn.cymru.com"
#define DNS_NAME_MAX 128

struct dns_source {
	const struct rk_log *log;
	bool cymru;            /* else abusix */
	char server[RK_MAX_DOMAIN + 16]; /* "" = system resolvers */
	int timeout_ms;
	struct resolve_source_counts counts; /* TXT queries sent (no cache) */
};

/* One query in flight. */
struct dns_job {
	char name[DNS_NAME_MAX];
	bool asked;
	bool done;
	int status;            /* ARES_* */
	char txt[RK_MAX_DNS_TXT + 1]; /* the first record's strings, joined */
	size_t txtlen;
	char *emails;          /* abusix: the first valid address, owned */
	bool too_long;
};

enum rk_err resolve_reverse_name(const struct rk_addr *addr, const char *zone,
				 char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	int w;

	if (addr->family == 4) {
		w = snprintf(out, outlen, "%u.%u.%u.%u.%s", addr->bytes[3],
			     addr->bytes[2], addr->bytes[1], addr->bytes[0], zone);
		return w < 0 || (size_t)w >= outlen ? RK_ERR_LIMIT : RK_OK;
	}
	if (outlen < 64 + strlen(zone) + 1)
		return RK_ERR_LIMIT;
	for (int i = 15; i >= 0; i--) {
		out[k++] = hex[addr->bytes[i] & 15];
		out[k++] = '.';
		out[k++] = hex[addr->bytes[i] >> 4];
		out[k++] = '.';
	}
	memcpy(out + k, zone, strlen(zone) + 1);
	return RK_OK;
}

enum rk_err resolve_cymru_parse(const char *txt, uint32_t *asn, char *range,
				size_t rangelen, char country[3])
{
	char field[3][64];
	const char *p = txt;
	size_t nf = 0;
	struct rk_addr net;
	int prefix;
	char *sp;

	*asn = 0;
	range[0] = '\0';
	country[0] = '\0';
	/* the first three fields: AS(es) | prefix | country */
	while (nf < 3) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n >= sizeof(field[0]))
			return RK_ERR_PARSE;
		memcpy(field[nf], p, n);
		field[nf][n] = '\0';
		rk_str_trim(field[nf]);
		nf++;
		if (!bar)
			break;
		p = bar + 1;
	}
	if (nf < 2)
		return RK_ERR_PARSE;
	sp = field[0] + strcspn(field[0], " \t");
	*sp = '\0'; /* several origin ASes: the first */
	if (rk_asn_parse(field[0], asn) != RK_OK) {
		*asn = 0;
		return RK_ERR_PARSE;
	}
	if (rk_cidr_parse(field[1], &net, &prefix) == RK_OK &&
	    strlen(field[1]) < rangelen)
		memcpy(range, field[1], strlen(field[1]) + 1);
	if (nf == 3 && strlen(field[2]) == 2 &&
	    (field[2][0] | 32) >= 'a' && (field[2][0] | 32) <= 'z' &&
	    (field[2][1] | 32) >= 'a' && (field[2][1] | 32) <= 'z') {
		country[0] = (char)(field[2][0] & ~32);
		country[1] = (char)(field[2][1] & ~32);
		country[2] = '\0';
	}
	return RK_OK;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	struct dns_job *j = arg;
	struct ares_txt_ext *txt = NULL;

	(void)timeouts;
	j->done = true;
	j->status = status;
	if (status != ARES_SUCCESS)
		return;
	if (ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS) {
		j->status = ARES_ENODATA;
		return;
	}
	/* the first record: its strings joined by spaces (an address or a
	 * Cymru field never needs a string of its own split in two, and
	 * "a@b.example" "c@d.example" must stay two words) */
	for (struct ares_txt_ext *t = txt; t; t = t->next) {
		size_t sep = t == txt ? 0 : 1;

		if (t->record_start && t != txt)
			break;
		if (j->txtlen + sep + t->length > RK_MAX_DNS_TXT) {
			j->too_long = true;
			break;
		}
		if (sep)
			j->txt[j->txtlen++] = ' ';
		memcpy(j->txt + j->txtlen, t->txt, t->length);
		j->txtlen += t->length;
	}
	j->txt[j->txtlen] = '\0';
	if (memchr(j->txt, '\0', j->txtlen))
		j->too_long = true; /* NUL inside: not text */
	ares_free_data(txt);
}

static enum rk_err run_queries(struct dns_source *ds, struct dns_job *jobs,
			       size_t n)
{
	struct ares_options opt;
	ares_channel ch;
	enum rk_err err = RK_OK;
	int rc;

	memset(&opt, 0, sizeof(opt));
	opt.timeout = ds->timeout_ms;
	opt.tries = 2;
	opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	rc = ares_init_options(&ch, &opt,
			       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc != ARES_SUCCESS)
		return rk_fail(ds->log, rc == ARES_ENOMEM ? RK_ERR_NOMEM : RK_ERR_TEMPFAIL,
			       "dns: cannot start a resolver: %s", ares_strerror(rc));
	if (ds->server[0] && (rc = ares_set_servers_ports_csv(ch, ds->server)) != ARES_SUCCESS) {
		ares_destroy(ch);
		return rk_fail(ds->log, RK_ERR_CONFIG, "[resolve] dns_server '%s': %s",
			       ds->server, ares_strerror(rc));
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].asked) {
			ds->counts.remote_queries++;
			ares_query(ch, jobs[i].name, ns_c_in, ns_t_txt, on_answer, &jobs[i]);
		}
	for (;;) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp;
		int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM), npfd = 0;
		int ms;

		for (int k = 0; k < ARES_GETSOCK_MAXNUM; k++) {
			short ev = 0;

			/* c-ares's own macros shift a signed 1 by up to 31 */
			if (((unsigned)bits >> k) & 1u)
				ev |= POLLIN;
			if (((unsigned)bits >> (k + ARES_GETSOCK_MAXNUM)) & 1u)
				ev |= POLLOUT;
			if (!ev)
				continue;
			pfd[npfd].fd = socks[k];
			pfd[npfd].events = ev;
			pfd[npfd].revents = 0;
			npfd++;
		}
		if (npfd == 0)
			break; /* nothing in flight: every callback ran */
		tvp = ares_timeout(ch, NULL, &tv);
		ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) + 1 : 1000;
		if (poll(pfd, (nfds_t)npfd, ms) < 0) {
			err = RK_ERR_IO;
			break;
		}
		for (int k = 0; k < npfd; k++)
			ares_process_fd(ch,
					pfd[k].revents & (POLLIN | POLLERR | POLLHUP)
						? pfd[k].fd : ARES_SOCKET_BAD,
					pfd[k].revents & POLLOUT ? pfd[k].fd : ARES_SOCKET_BAD);
		/* timeouts are handled when no socket is ready */
		ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	ares_destroy(ch); /* runs the callbacks still pending (ARES_EDESTRUCTION) */
	return err;
}

/* What a finished query means for the resolver. */
static enum rk_err job_outcome(const struct dns_source *ds,
			       const struct dns_job *j)
{
	switch (j->status) {
	case ARES_SUCCESS:
		if (j->too_long) {
			rk_log_warn(ds->log, "dns %s: TXT answer larger than "
				    "RK_MAX_DNS_TXT or not text: ignored", j->name);
			return RK_ERR_NOTFOUND;
		}
		return RK_OK;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		return RK_ERR_NOTFOUND;
	default:
		rk_log_warn(ds->log, "dns %s: %s", j->name, ares_strerror(j->status));
		return RK_ERR_TEMPFAIL;
	}
}

static struct dns_job *jobs_for(struct dns_source *ds,
				const struct resolve_query *qs, size_t n,
				int level, bool enrich)
{
	struct dns_job *jobs = calloc(n ? n : 1, sizeof(*jobs));

	if (!jobs)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct resolve_query *q = &qs[i];
		const char *zone;

		if (!q->has_addr || (enrich ? (q->asn && q->country) : level != 0))
			continue;
		zone = ds->cymru ? (q->addr.family == 4 ? CYMRU_ZONE4 : CYMRU_ZONE6)
				 : ABUSIX_ZONE;
		jobs[i].asked = resolve_reverse_name(&q->addr, zone, jobs[i].name,
						     sizeof(jobs[i].name)) == RK_OK;
	}
	return jobs;
}

/* The first valid address among the TXT text's words ("a@b.example",
 * "a@b.example,c@d.example"). */
static char *first_email(const char *txt)
{
	const char *p = txt;

	while (*p) {
		size_t n;
		char *e;

		p += strspn(p, " ,;\t");
		n = strcspn(p, " ,;\t");
		if (!n)
			break;
		e = rk_strndup(p, n);
		if (!e)
			return NULL;
		if (rk_email_valid(e) && strchr(e, '@'))
			return e;
		free(e);
		p += n;
	}
	return rk_strdup("");
}

static enum rk_err abusix_contact(const struct dns_job *j,
				  const struct resolve_query *q,
				  struct resolve_contact *c)
{
	char addr[RK_ADDR_TEXT], *email = first_email(j->txt);

	if (!email)
		return RK_ERR_NOMEM;
	if (!*email) {
		free(email);
		return RK_ERR_NOTFOUND;
	}
	rk_addr_format(&q->addr, addr);
	memset(c, 0, sizeof(*c));
	c->email = email;
	c->source = rk_strdup("abusix");
	c->registry = rk_strdup(j->name);
	c->match = rk_strdup(addr);
	if (!c->source || !c->registry || !c->match) {
		resolve_contact_release(c);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

static enum rk_err dns_lookup(void *self, const struct resolve_query *qs,
			      size_t n, int level, struct resolve_contact *outs,
			      enum rk_err *errs)
{
	struct dns_source *ds = self;
	struct dns_job *jobs;
	enum rk_err err;

	for (size_t i = 0; i < n; i++)
		errs[i] = RK_ERR_NOTFOUND;
	if (ds->cymru || level != 0)
		return RK_OK; /* cymru names no contact: it enriches */
	if (!(jobs = jobs_for(ds, qs, n, level, false)))
		return RK_ERR_NOMEM;
	err = run_queries(ds, jobs, n);
	for (size_t i = 0; !err && i < n; i++) {
		if (!jobs[i].asked)
			continue;
		errs[i] = job_outcome(ds, &jobs[i]);
		if (errs[i] == RK_OK)
			errs[i] = abusix_contact(&jobs[i], &qs[i], &outs[i]);
		if (errs[i] == RK_ERR_NOMEM)
			err = RK_ERR_NOMEM;
	}
	free(jobs);
	return err;
}

static enum rk_err cymru_enrich(void *self, const struct resolve_query *qs,
				size_t n, struct resolve_hint *hints)
{
	struct dns_source *ds = self;
	struct dns_job *jobs = jobs_for(ds, qs, n, 0, true);
	enum rk_err err;

	if (!jobs)
		return RK_ERR_NOMEM;
	err = run_queries(ds, jobs, n);
	for (size_t i = 0; !err && i < n; i++) {
		if (!jobs[i].asked || job_outcome(ds, &jobs[i]) != RK_OK)
			continue;
		if (resolve_cymru_parse(jobs[i].txt, &hints[i].asn, hints[i].range,
					sizeof(hints[i].range), hints[i].country))
			rk_log_debug(ds->log, "dns %s: not a Team Cymru origin answer",
				     jobs[i].name);
		else
			rk_log_debug(ds->log, "dns %s: AS%u %s %s", jobs[i].name,
				     (unsigned)hints[i].asn, hints[i].range,
				     hints[i].country);
	}
	free(jobs);
	/* the hints only help: a failure here costs nothing but them */
	return err == RK_ERR_NOMEM ? err : RK_OK;
}

static void dns_free(void *self)
{
	free(self);
	ares_library_cleanup();
}

static enum rk_err dns_source_new(const struct rk_config *cfg,
				  const struct rk_log *log, bool cymru,
				  struct resolve_source *out)
{
	struct dns_source *ds;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		return rk_fail(log, RK_ERR_INTERNAL, "c-ares: %s", ares_strerror(rc));
	ds = calloc(1, sizeof(*ds));
	if (!ds) {
		ares_library_cleanup();
		return RK_ERR_NOMEM;
	}
	ds->log = log;
	ds->cymru = cymru;
	ds->timeout_ms = (int)((cfg ? cfg->resolve.timeout : 10) * 1000);
	if (cfg && cfg->resolve.dns_server) {
		const char *s = cfg->resolve.dns_server;

		if (strlen(s) >= sizeof(ds->server) || strchr(s, ',') ||
		    strspn(s, "[]:.0123456789abcdefABCDEF") != strlen(s)) {
			dns_free(ds);
			return rk_fail(log, RK_ERR_CONFIG,
				       "[resolve] dns_server: '%s' is not ADDRESS:PORT "
				       "(an IP address, [v6]:port for IPv6)", s);
		}
		memcpy(ds->server, s, strlen(s) + 1);
	}
	out->name = cymru ? "cymru" : "abusix";
	out->network = true;
	out->lookup = dns_lookup;
	out->counts = &ds->counts;
	out->enrich = cymru ? cymru_enrich : NULL;
	out->free = dns_free;
	out->self = ds;
	return RK_OK;
}

enum rk_err abusix_source_new(struct rk_store *store, const struct rk_config *cfg,
			      const struct rk_log *log, bool offline,
			      struct resolve_source *out)
{
	(void)store;
	(void)offline; /* no cache: never made offline */
	return dns_source_new(cfg, log, false, out);
}

enum rk_err cymru_source_new(struct rk_store *store, const struct rk_config *cfg,
			     const struct rk_log *log, bool offline,
			     struct resolve_source *out)
{
	(void)store;
	(void)offline; /* no cache: never made offline */
	return dns_source_new(cfg, log, true, out);
}
