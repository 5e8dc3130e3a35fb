/* Shared benchmark helpers and the synthetic data generator. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* ------------------------------------------------------------ timing */

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_row(const char *name, const char *measured, const char *reference,
	       const char *ratio, const char *target, const char *verdict)
{
	printf("RESULT|%s|%s|%s|%s|%s|%s\n", name, measured,
	       reference ? reference : "-", ratio ? ratio : "-",
	       target ? target : "-", verdict ? verdict : "-");
	fflush(stdout);
}

void bench_result(const char *name, double rate, const char *unit,
		  double ref_rate, const char *ref_what, double ratio,
		  const char *target, const char *verdict)
{
	char measured[96], reference[128], r[32];

	snprintf(measured, sizeof(measured), "%.0f %s", rate, unit);
	snprintf(reference, sizeof(reference), "%.0f %s (%s)", ref_rate, unit,
		 ref_what ? ref_what : "-");
	snprintf(r, sizeof(r), "%.3f", ratio);
	bench_row(name, measured, ref_rate > 0 ? reference : "-", r, target,
		  verdict);
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void bench_check(enum rk_err err, const char *what)
{
	if (err)
		bench_die("%s: %s", what, rk_strerror(err));
}

long long bench_env_ll(const char *name, long long def)
{
	const char *s = getenv(name);
	long long v;

	if (!s || !*s)
		return def;
	if (rk_parse_long(s, 0, (long long)1 << 40, &v))
		bench_die("%s='%s' is not a number", name, s);
	return v;
}

double bench_parse_floor(const char *data, size_t len, long long *lines)
{
	const char *p = data, *end = data + len;
	double t0 = bench_now();

	*lines = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		json_error_t jerr;
		json_t *root = json_loadb(p, n,
					  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
					  &jerr);

		if (!root)
			bench_die("generated line is not JSON: %s", jerr.text);
		json_decref(root);
		(*lines)++;
		p = nl ? nl + 1 : end;
	}
	return bench_now() - t0;
}

/* ------------------------------------------------------------ files */

char *bench_tmpdir(void)
{
	const char *parent = getenv("RK_BENCH_TMP");
	char tmpl[256];

	if (!parent || !*parent)
		parent = "/tmp";
	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/rkb.XXXXXX", parent) >=
	    sizeof(tmpl))
		bench_die("RK_BENCH_TMP is too long");
	if (!mkdtemp(tmpl))
		bench_die("mkdtemp '%s': %s", tmpl, strerror(errno));
	return rk_strdup(tmpl);
}

void bench_rmtree(const char *path)
{
	if (path)
		rk_rmtree(path);
}

char *bench_join(const char *dir, const char *name)
{
	char *out = NULL;

	if (rk_path_join(dir, name, &out))
		bench_die("out of memory");
	return out;
}

void bench_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0)
		bench_die("cannot create '%s': %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die("cannot write '%s': %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0)
		bench_die("cannot write '%s': %s", path, strerror(errno));
}

void bench_kill_agent(const char *home)
{
	char *args[] = {"gpgconf", "--homedir", (char *)home, "--kill", "all",
			NULL};
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "gpgconf", NULL, NULL, args, environ) == 0)
		waitpid(pid, &status, 0);
}

/* ------------------------------------------------------------ random */

uint64_t bench_rand(struct bench_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t bench_randn(struct bench_rng *r, uint32_t n)
{
	return n ? (uint32_t)((bench_rand(r) >> 32) * n >> 32) : 0;
}

/* ------------------------------------------------------------ constituency */

static const char *const countries[] = {"JP", "DE", "FR", "US",
					"GB", "KR", "NL", "BR"};

void bench_constituency_size(struct bench_constituency *c, size_t rows,
			     int with_extra)
{
	memset(c, 0, sizeof(*c));
	if (!with_extra) {
		c->nnet = rows;
		c->nasn = rows / 20 + 1;
		return;
	}
	/* about 80% prefixes, 4% covering /16s, 5% AS rows, 10% domains */
	c->nnet = rows * 80 / 100;
	c->ncover = rows * 4 / 100;
	c->nasn = rows * 5 / 100 + 1;
	c->ndom = rows - c->nnet - c->ncover - c->nasn;
	if (c->ncover > 256)
		c->ncover = 256;
	if (c->nnet > 16000)
		bench_die("constituency too large for the address plan");
}

static int net_is_v6(size_t k)
{
	return k % 5 == 4;
}

static int net_v4_len(size_t k)
{
	return 22 + (int)(k % 3);
}

uint32_t bench_net_asn(const struct bench_constituency *c, size_t k)
{
	return 4200000000u + (uint32_t)((k / 4) % (c->nasn ? c->nasn : 1));
}

const char *bench_net_cc(size_t k)
{
	return countries[(k / 4) % RK_ARRAY_LEN(countries)];
}

static void net_text(size_t k, char *out, size_t outlen)
{
	if (net_is_v6(k))
		snprintf(out, outlen, "2001:db8:%zx::/48", k / 5);
	else
		snprintf(out, outlen, "10.%zu.%zu.0/%d", (k >> 6) & 255,
			 (k & 63) << 2, net_v4_len(k));
}

void bench_pool_addr(const struct bench_constituency *c, uint64_t a,
		     char out[RK_ADDR_TEXT])
{
	size_t k = (size_t)(a % c->nnet);
	uint64_t h = a / c->nnet;

	if (net_is_v6(k)) {
		snprintf(out, RK_ADDR_TEXT, "2001:db8:%zx::%llx", k / 5,
			 (unsigned long long)h + 1);
	} else {
		int len = net_v4_len(k);
		uint64_t span = len == 24 ? 254 : len == 23 ? 510 : 1022;
		uint64_t off = 1 + h % span;

		snprintf(out, RK_ADDR_TEXT, "10.%zu.%llu.%llu", (k >> 6) & 255,
			 (unsigned long long)(((k & 63) << 2) + off / 256),
			 (unsigned long long)(off % 256));
	}
}

enum rk_err bench_constituency_csv(const struct bench_constituency *c,
				   struct rk_buf *out)
{
	char net[64];
	enum rk_err err = rk_buf_adds(out, "org,match,email,cc,pgp,lang,"
					   "format,notes\n");

	for (size_t k = 0; !err && k < c->nnet; k++) {
		size_t org = k / 4;

		net_text(k, net, sizeof(net));
		err = rk_buf_addf(out, "Org %zu Networks,%s,abuse@org%zu.example,"
				  ",,%s,%s,bench network %zu\n",
				  org, net, org, org % 3 == 0 ? "ja" : "en",
				  org % 5 == 0 ? "csv-inline" : "csv-attach", k);
	}
	for (size_t i = 0; !err && i < c->ncover; i++)
		err = rk_buf_addf(out, "Regional %zu,10.%zu.0.0/16,"
				  "noc@region%zu.example,,,en,,covering block\n",
				  i, i, i);
	for (size_t i = 0; !err && i < c->nasn; i++)
		err = rk_buf_addf(out, "Transit %zu,AS%u,abuse@transit%zu.example,"
				  ",,en,csv-attach,upstream\n",
				  i, 4200000000u + (unsigned)i, i);
	for (size_t i = 0; !err && i < c->ndom; i++)
		err = rk_buf_addf(out, i % 2 ? "Cdn %zu,*.cdn%zu.example,"
					       "abuse@cdn%zu.example,,,en,,\n"
					     : "Site %zu,site%zu.example,"
					       "security@site%zu.example,,,ja,,\n",
				  i, i, i);
	return err;
}

enum rk_err bench_national_csv(struct rk_buf *out)
{
	enum rk_err err = rk_buf_adds(out, "country,team,email,pgp,lang\n");

	for (size_t i = 0; !err && i < RK_ARRAY_LEN(countries); i++)
		err = rk_buf_addf(out, "%s,CSIRT %s,cert@csirt-%c%c.example,,%s\n",
				  countries[i], countries[i],
				  countries[i][0] + 32, countries[i][1] + 32,
				  strcmp(countries[i], "JP") == 0 ? "ja" : "en");
	return err;
}

/* ------------------------------------------------------------ events */

#define BENCH_T_END 1795132800LL /* 2026-11-20T00:00:00Z */

static const char *const malware[] = {"mirai", "emotet", "qakbot",
				      "andromeda", "gafgyt", "necurs",
				      "conficker", "avalanche-andromeda"};
static const char *const vulns[][3] = {
	/* identifier, port, product */
	{"open-memcached", "11211", "memcached"},
	{"open-rdp", "3389", "Microsoft Terminal Services"},
	{"ssl-poodle", "443", "nginx"},
	{"open-elasticsearch", "9200", "Elasticsearch"},
	{"open-smb", "445", "Samba"},
	{"vulnerable-exchange-server", "443", "Microsoft Exchange"},
};
static const char *const services[][3] = {
	/* application, port, usernames seen */
	{"ssh", "22", "root,admin,ubnt,pi"},
	{"telnet", "23", "admin,root,support"},
	{"rdp", "3389", "administrator,user"},
	{"smtp", "25", "info,test,postmaster"},
};

/* The event record i repeats: i itself, or (every dup_every-th) the one
 * before it, an exact repeat. */
static uint64_t source_index(const struct bench_events *g, uint64_t i)
{
	return g->dup_every && i > 0 && i % g->dup_every == 0 ? i - 1 : i;
}

/* Event idx as one JSON line. */
static enum rk_err event_line(const struct bench_events *g, uint64_t idx,
			      struct rk_buf *out)
{
	struct bench_rng r = {g->seed ^ (idx * 0x9e3779b97f4a7c15ull)};
	struct bench_rng ra;
	uint64_t a;
	size_t k;
	char ip[RK_ADDR_TEXT], ts[RK_TIME_TEXT], to[RK_TIME_TEXT];
	int64_t t = BENCH_T_END - (int64_t)idx;
	unsigned type, port;
	const char *cc;
	uint32_t asn;
	const char *tlp;
	enum rk_err err;

	bench_rand(&r);
	a = bench_rand(&r) % g->naddr;
	ra.s = a * 0x2545f4914f6cdd1dull + g->seed;
	bench_rand(&ra);
	k = (size_t)(a % g->c->nnet);
	bench_pool_addr(g->c, a, ip);
	cc = bench_net_cc(k);
	asn = bench_net_asn(g->c, k);
	/* An address is mostly reported for one thing. */
	type = bench_randn(&r, 4) == 0 ? bench_randn(&r, 4)
				       : (unsigned)(bench_rand(&ra) % 4);
	port = 1024 + bench_randn(&r, 64000);
	rk_time_format_iso(t, ts);
	rk_time_format_iso(t + 600 + bench_randn(&r, 3000), to);
	tlp = bench_randn(&r, 50) == 0 ? "CLEAR" : "GREEN";

	switch (type) {
	case 0: { /* infected-system, sinkhole */
		const char *m = malware[bench_rand(&ra) % RK_ARRAY_LEN(malware)];

		err = rk_buf_addf(out,
			"{\"feed.name\":\"Sinkhole-HTTP-Drone\","
			"\"time.source\":\"%s\",\"time.observation\":\"%s\","
			"\"source.ip\":\"%s\",\"source.port\":%u,"
			"\"source.asn\":%u,\"source.geolocation.cc\":\"%s\","
			"\"destination.ip\":\"192.0.2.%u\",\"destination.port\":80,"
			"\"protocol.application\":\"http\","
			"\"classification.type\":\"infected-system\","
			"\"classification.identifier\":\"%s\",\"malware.name\":\"%s\","
			"\"tlp\":\"%s\",\"extra.sinkhole\":%u,"
			"\"extra.user_agent\":\"%s/%u.%u\"}\n",
			ts, to, ip, port, asn, cc, 1 + bench_randn(&r, 200), m, m,
			tlp, bench_randn(&r, 16), m, bench_randn(&r, 9),
			bench_randn(&r, 10));
		break;
	}
	case 1: { /* brute-force, honeypot */
		const char *const *s =
			services[bench_rand(&ra) % RK_ARRAY_LEN(services)];

		err = rk_buf_addf(out,
			"{\"feed.name\":\"Honeypot-Brute-Force\","
			"\"time.source\":\"%s\",\"time.observation\":\"%s\","
			"\"source.ip\":\"%s\",\"source.port\":%u,"
			"\"source.asn\":%u,\"source.geolocation.cc\":\"%s\","
			"\"destination.port\":%s,\"protocol.application\":\"%s\","
			"\"classification.taxonomy\":\"intrusion-attempts\","
			"\"classification.type\":\"brute-force\","
			"\"classification.identifier\":\"%s-brute-force\","
			"\"tlp\":\"%s\",\"extra.attempts\":%u,"
			"\"extra.usernames\":\"%s\",\"extra.honeypot\":%u}\n",
			ts, to, ip, port, asn, cc, s[1], s[0], s[0], tlp,
			10 + bench_randn(&r, 2000), s[2], bench_randn(&r, 40));
		break;
	}
	case 2: /* scanner */
		err = rk_buf_addf(out,
			"{\"feed.name\":\"Darknet-Scanners\","
			"\"time.source\":\"%s\",\"time.observation\":\"%s\","
			"\"source.ip\":\"%s\",\"source.asn\":%u,"
			"\"source.geolocation.cc\":\"%s\","
			"\"destination.port\":%u,\"protocol.transport\":\"tcp\","
			"\"classification.taxonomy\":\"information-gathering\","
			"\"classification.type\":\"scanner\","
			"\"classification.identifier\":\"port-scan\","
			"\"tlp\":\"%s\",\"extra.packets\":%u,"
			"\"extra.ports_scanned\":\"23,2323,80,8080,8443\","
			"\"extra.sensor\":%u}\n",
			ts, to, ip, asn, cc, 1 + bench_randn(&r, 65534), tlp,
			1 + bench_randn(&r, 5000), bench_randn(&r, 32));
		break;
	default: { /* vulnerable-system, scan results */
		const char *const *v =
			vulns[bench_rand(&ra) % RK_ARRAY_LEN(vulns)];

		err = rk_buf_addf(out,
			"{"
			"\"feed.name\":\"Vulnerable-Services\","
			"\"time.source\":\"%s\",\"time.observation\":\"%s\","
			"\"source.ip\":\"%s\",\"source.port\":%s,"
			"\"source.asn\":%u,\"source.geolocation.cc\":\"%s\","
			"\"source.reverse_dns\":\"host-%llu.org%zu.example\","
			"\"protocol.transport\":\"tcp\","
			"\"classification.taxonomy\":\"vulnerable\","
			"\"classification.type\":\"vulnerable-system\","
			"\"classification.identifier\":\"%s\","
			"\"product.product\":\"%s\",\"tlp\":\"%s\","
			"\"extra.version\":\"%u.%u.%u\"}\n",
			ts, to, ip, v[1], asn, cc, (unsigned long long)a, k / 4,
			v[0], v[2], tlp, 1 + bench_randn(&r, 9),
			bench_randn(&r, 20), bench_randn(&r, 30));
		break;
	}
	}
	return err;
}

enum rk_err bench_events_jsonl(const struct bench_events *g, uint64_t first,
			       uint64_t n, struct rk_buf *out)
{
	enum rk_err err = RK_OK;

	for (uint64_t i = first; !err && i < first + n; i++)
		err = event_line(g, source_index(g, i), out);
	return err;
}

/* ------------------------------------------------------------ wide events */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static enum rk_err add_base64(struct rk_buf *out, const char *s, size_t n)
{
	enum rk_err err = RK_OK;

	for (size_t i = 0; !err && i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		err = rk_buf_add(out, q, 4);
	}
	return err;
}

static const char *const servers[] = {
	"Apache/2.4.29 (Ubuntu)", "nginx/1.14.0", "Microsoft-IIS/8.5",
	"lighttpd/1.4.35", "Boa/0.94.14rc21", "mini_httpd/1.19 19dec2003"};

/* The scan_http row of event idx: the values both the CSV and the wide
 * event carry. */
struct scan_row {
	char ts[RK_TIME_TEXT], iso[RK_TIME_TEXT], obs[RK_TIME_TEXT];
	char ip[RK_ADDR_TEXT];
	unsigned port, code, length, naics, lat, lon;
	uint32_t asn;
	const char *cc, *server;
	unsigned long long host;
	size_t org;
};

static void scan_row(const struct bench_events *g, uint64_t idx,
		     struct scan_row *row)
{
	struct bench_rng r = {g->seed ^ (idx * 0x9e3779b97f4a7c15ull)};
	int64_t t = BENCH_T_END - (int64_t)idx;
	uint64_t a;
	size_t k;

	bench_rand(&r);
	a = bench_rand(&r) % g->naddr;
	k = (size_t)(a % g->c->nnet);
	bench_pool_addr(g->c, a, row->ip);
	rk_time_format(t, 0, row->ts); /* "YYYY-MM-DD HH:MM:SS" */
	rk_time_format_iso(t, row->iso);
	rk_time_format_iso(t + 3600 + bench_randn(&r, 3000), row->obs);
	row->cc = bench_net_cc(k);
	row->asn = bench_net_asn(g->c, k);
	row->port = bench_randn(&r, 4) ? 80 : 8080 + bench_randn(&r, 20);
	row->code = bench_randn(&r, 3) ? 200 : 401;
	row->length = 100 + bench_randn(&r, 60000);
	row->naics = 517311 + bench_randn(&r, 3);
	row->lat = bench_randn(&r, 90000);
	row->lon = bench_randn(&r, 180000);
	row->server = servers[bench_randn(&r, RK_ARRAY_LEN(servers))];
	row->host = (unsigned long long)a;
	row->org = k / 4;
}

static const char scan_header[] =
	"\"timestamp\",\"ip\",\"port\",\"protocol\",\"hostname\",\"tag\","
	"\"asn\",\"geo\",\"region\",\"city\",\"naics\",\"sector\",\"http\","
	"\"http_code\",\"http_reason\",\"content_type\",\"connection\","
	"\"www_authenticate\",\"set_cookie\",\"server\",\"content_length\","
	"\"transfer_encoding\",\"http_date\",\"version\",\"severity\"\n";

static enum rk_err scan_csv_line(const struct scan_row *row,
				 struct rk_buf *out)
{
	return rk_buf_addf(out,
		"\"%s\",\"%s\",%u,\"tcp\",\"host-%llu.org%zu.example\","
		"\"http;%s\",%u,\"%s\",\"TOKYO\",\"CHIYODA\",%u,"
		"\"Communications, Service Provider, and Telecommunications\","
		"\"HTTP/1.1\",%u,\"%s\",\"text/html; charset=UTF-8\","
		"\"keep-alive\",\"%s\",\"%s\",\"%s\",%u,\"chunked\","
		"\"%.10s\",\"1.1\",\"%s\"\n",
		row->ts, row->ip, row->port, row->host, row->org,
		row->code == 401 ? "auth" : "open", row->asn, row->cc,
		row->naics, row->code,
		row->code == 401 ? "Unauthorized" : "OK",
		row->code == 401 ? "Basic realm=\"\"router\"\"" : "",
		row->code == 401 ? "" : "PHPSESSID=abcdef0123456789; path=/",
		row->server, row->length, row->ts,
		row->code == 401 ? "medium" : "low");
}

enum rk_err bench_scan_csv(const struct bench_events *g, uint64_t first,
			   uint64_t n, struct rk_buf *out)
{
	enum rk_err err = first == 0 ? rk_buf_adds(out, scan_header) : RK_OK;

	for (uint64_t i = first; !err && i < first + n; i++) {
		struct scan_row row;

		scan_row(g, source_index(g, i), &row);
		err = scan_csv_line(&row, out);
	}
	return err;
}

/* One wide event: what IntelMQ's Shadowserver parser and its experts
 * (cymru, geoip, rdap) write for a scan_http row: about 40 fields with
 * the raw row, about 2 KB. */
static enum rk_err wide_line(const struct scan_row *row, struct rk_buf *raw,
			     struct rk_buf *out)
{
	enum rk_err err;

	rk_buf_reset(raw);
	if ((err = rk_buf_adds(raw, scan_header)) ||
	    (err = scan_csv_line(row, raw)))
		return err;
	err = rk_buf_addf(out,
		"{\"__type\":\"Event\",\"feed.accuracy\":100.0,"
		"\"feed.name\":\"Accessible-HTTP\","
		"\"feed.provider\":\"Shadowserver\","
		"\"feed.url\":\"https://dl.shadowserver.org/reports/scan_http\","
		"\"feed.documentation\":\"https://www.shadowserver.org/what-we-do/"
		"network-reporting/accessible-http-report/\","
		"\"time.observation\":\"%s\",\"time.source\":\"%s\","
		"\"source.ip\":\"%s\",\"source.port\":%u,"
		"\"source.reverse_dns\":\"host-%llu.org%zu.example\","
		"\"source.asn\":%u,\"source.as_name\":\"ORG%zu-AS Example "
		"Networks\",\"source.network\":\"%s/24\","
		"\"source.registry\":\"APNIC\",\"source.allocated\":"
		"\"2001-07-03T00:00:00+00:00\",\"source.geolocation.cc\":\"%s\","
		"\"source.geolocation.region\":\"TOKYO\","
		"\"source.geolocation.city\":\"CHIYODA\","
		"\"source.geolocation.latitude\":%u.%03u,"
		"\"source.geolocation.longitude\":%u.%03u,"
		"\"protocol.transport\":\"tcp\",\"protocol.application\":\"http\","
		"\"classification.taxonomy\":\"vulnerable\","
		"\"classification.type\":\"vulnerable-system\","
		"\"classification.identifier\":\"accessible-http\","
		"\"extra.tag\":\"http;%s\",\"extra.source.naics\":%u,"
		"\"extra.source.sector\":\"Communications, Service Provider, "
		"and Telecommunications\",\"extra.http\":\"HTTP/1.1\","
		"\"extra.http_code\":%u,\"extra.http_reason\":\"%s\","
		"\"extra.content_type\":\"text/html; charset=UTF-8\","
		"\"extra.connection\":\"keep-alive\","
		"\"extra.www_authenticate\":\"%s\",\"extra.set_cookie\":\"%s\","
		"\"extra.server\":\"%s\",\"extra.content_length\":%u,"
		"\"extra.transfer_encoding\":\"chunked\","
		"\"extra.http_date\":\"%s\",\"extra.version\":\"1.1\","
		"\"extra.severity\":\"%s\",\"raw\":\"",
		row->obs, row->iso, row->ip, row->port, row->host, row->org,
		row->asn, row->org, row->ip, row->cc, row->lat / 1000,
		row->lat % 1000, row->lon / 1000, row->lon % 1000,
		row->code == 401 ? "auth" : "open", row->naics, row->code,
		row->code == 401 ? "Unauthorized" : "OK",
		row->code == 401 ? "Basic realm=\\\"router\\\"" : "",
		row->code == 401 ? "" : "PHPSESSID=abcdef0123456789; path=/",
		row->server, row->length, row->iso,
		row->code == 401 ? "medium" : "low");
	if (!err)
		err = add_base64(out, raw->data, raw->len);
	if (!err)
		err = rk_buf_adds(out, "\"}\n");
	return err;
}

enum rk_err bench_events_wide(const struct bench_events *g, uint64_t first,
			      uint64_t n, struct rk_buf *out)
{
	struct rk_buf raw;
	enum rk_err err = RK_OK;

	rk_buf_init(&raw, 1u << 16);
	for (uint64_t i = first; !err && i < first + n; i++) {
		struct scan_row row;

		scan_row(g, source_index(g, i), &row);
		err = wide_line(&row, &raw, out);
	}
	rk_buf_release(&raw);
	return err;
}

enum rk_err bench_write_input(enum bench_input kind,
			      const struct bench_events *g, uint64_t count,
			      FILE *out)
{
	struct rk_buf buf;
	enum rk_err err = RK_OK;

	rk_buf_init(&buf, (size_t)1 << 30);
	if (kind == BENCH_INPUT_ARRAY)
		err = rk_buf_adds(&buf, "[");
	/* in chunks, so memory stays small for any count */
	for (uint64_t i = 0; !err && i < count; i += 10000) {
		uint64_t n = count - i < 10000 ? count - i : 10000;
		size_t from = buf.len;

		switch (kind) {
		case BENCH_INPUT_LINES:
		case BENCH_INPUT_ARRAY:
			err = bench_events_jsonl(g, i, n, &buf);
			break;
		case BENCH_INPUT_WIDE:
			err = bench_events_wide(g, i, n, &buf);
			break;
		case BENCH_INPUT_SCAN:
			err = bench_scan_csv(g, i, n, &buf);
			break;
		}
		if (!err && kind == BENCH_INPUT_ARRAY) {
			/* "[" line ",\n" line ... "]\n": the objects of the
			 * lines, separated by commas */
			for (size_t j = from; j < buf.len; j++)
				if (buf.data[j] == '\n' &&
				    (j + 1 < buf.len || i + n < count))
					buf.data[j] = ',';
			if (i + n >= count)
				err = rk_buf_adds(&buf, "]\n");
		}
		if (!err && fwrite(buf.data, 1, buf.len, out) != buf.len)
			err = RK_ERR_IO;
		rk_buf_reset(&buf);
	}
	rk_buf_release(&buf);
	return err;
}

/* ------------------------------------------------------------ config */

enum rk_err bench_config_text(const char *gpg_home, const char *maildir,
			      const char *db, struct rk_buf *out)
{
	char *data = NULL, *templates = NULL;
	enum rk_err err;

	if ((err = rk_data_dir(&data)) ||
	    (err = rk_path_join(data, "templates", &templates))) {
		free(data);
		return err;
	}
	err = rk_buf_addf(out,
		"# renraku benchmark configuration (bench/)\n"
		"[relay]\n"
		"name = Bench CSIRT\n"
		"from = csirt@bench.example\n"
		"ticket_prefix = BENCH\n"
		"public_url = https://bench.example/renraku\n"
		"templates = %s\n"
		"\n[store]\npath = %s\n"
		"\n[gpg]\nhome = %s\nmode = pgp-mime\n"
		"\n[transport]\nurl = maildir:%s\n"
		"\n[resolve]\nsources = local\n"
		"\n[aggregate]\nwindow = 0\n",
		templates, db, gpg_home, maildir);
	free(templates);
	free(data);
	return err;
}
