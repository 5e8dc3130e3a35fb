/* renraku events list [--state S] [--limit N] [--json]
 *                retry [--state unresolved|failed] [--since DATE] */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char *const event_states[] = {
	STORE_EVENT_NEW,        STORE_EVENT_RESOLVED,   STORE_EVENT_TICKETED,
	STORE_EVENT_SUPPRESSED, STORE_EVENT_WITHHELD,   STORE_EVENT_UNRESOLVED,
	STORE_EVENT_FAILED,
};

static bool state_known(const char *s)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(event_states); i++)
		if (strcmp(s, event_states[i]) == 0)
			return true;
	return false;
}

static const char *subject(const struct store_event *ev, char buf[32])
{
	if (ev->source_ip)
		return ev->source_ip;
	if (ev->source_fqdn)
		return ev->source_fqdn;
	if (ev->source_asn) {
		snprintf(buf, 32, "AS%lu", (unsigned long)ev->source_asn);
		return buf;
	}
	return "-";
}

/* One stored event as a flat IntelMQ object (its data, as normalized at
 * ingest) with what renraku knows of it beside: id, report, state (and
 * reason), severity, tlp, category. */
static json_t *event_flat(const struct store_event *ev)
{
	json_t *o = ev->data ? json_loads(ev->data, 0, NULL) : NULL;

	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer((json_int_t)ev->id));
	json_object_set_new(o, "report", json_integer((json_int_t)ev->report_id));
	json_object_set_new(o, "state", json_string(ev->state ? ev->state : ""));
	if (ev->state_reason)
		json_object_set_new(o, "state_reason", json_string(ev->state_reason));
	json_object_set_new(o, "severity", json_string(rk_severity_name(ev->severity)));
	json_object_set_new(o, "tlp", json_string(rk_tlp_name(ev->tlp)));
	json_object_set_new(o, "category",
			    ev->category ? json_string(ev->category) : json_null());
	return o;
}

static int events_list(const struct app *app, struct rk_store *store,
		       const char *state, int64_t report, long long limit,
		       bool json)
{
	struct store_event *rows = NULL;
	size_t n = 0;
	enum rk_err err = store_events_list(store, state, report, (size_t)limit,
					    &rows, &n);
	char at[RK_TIME_TEXT], asn[32];
	int rc = RK_EXIT_OK;

	if (err)
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (json) {
		json_t *arr = json_array();
		char *text;

		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, event_flat(&rows[i]));
		text = arr ? json_dumps(arr, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (text)
			puts(text);
		else
			rc = RK_EXIT_FAILURE;
		free(text);
		json_decref(arr);
	} else {
		if (n)
			printf("%-8s  %-20s  %-18s  %-24s  %-10s  %s\n", "EVENT",
			       "TIME", "TYPE", "SUBJECT", "STATE", "REASON");
		for (size_t i = 0; i < n; i++) {
			rk_time_format_iso(rows[i].time_source, at);
			printf("%-8lld  %-20s  %-18s  %-24s  %-10s  %s\n",
			       (long long)rows[i].id, at, rows[i].type,
			       subject(&rows[i], asn), rows[i].state,
			       rows[i].state_reason ? rows[i].state_reason : "");
		}
	}
	store_events_free(rows, n);
	return rc;
}

static int events_retry(struct rk_store *store, const char *state,
			int64_t since)
{
	long long count = 0;
	enum rk_err err = store_events_retry(store, state, since, &count);

	if (err)
		return rk_exit_code(err);
	printf("%lld %s event%s put back; the next 'renraku run' looks %s up again\n",
	       count, state, count == 1 ? "" : "s", count == 1 ? "it" : "them");
	return RK_EXIT_OK;
}

static const char events_help[] =
	"usage: renraku [--config FILE] [--db FILE] events COMMAND\n"
	"\n"
	"  events list [--state S] [--report ID] [--limit N] [--json]\n"
	"        the newest events (default 100) with their state and reason;\n"
	"        --json: each as a flat IntelMQ object (\"source.ip\",\n"
	"        \"time.source\" in UTC, ...) with id, report, state, severity,\n"
	"        tlp and category\n"
	"  events retry [--state unresolved|failed] [--since DATE]\n"
	"        put events set aside back to new (default: unresolved); the\n"
	"        next 'renraku run' looks them up again\n"
	"\n"
	"  --state S     new, resolved, ticketed, suppressed, withheld,\n"
	"                unresolved or failed\n"
	"  --limit N     at most N events (1 to 1000000)\n"
	"  --report ID   only the events of that report\n"
	"  --since DATE  only events ingested at or after DATE (2026-12-01)\n"
	"  --json        one JSON document\n"
	"  --help        this text\n";

int cmd_events(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"since", required_argument, NULL, 'S'},
		{"limit", required_argument, NULL, 'l'},
		{"report", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"events list [--state S] [--report ID] [--limit N] [--json] | "
		"retry [--state unresolved|failed] [--since DATE]";
	const char *state = NULL, *sub;
	long long limit = 100, report = 0;
	int64_t since = 0;
	bool json = false;
	struct rk_store *store;
	enum rk_err err;
	int c;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0)
			return app_help(events_help);
	if (argc < 2)
		return app_usage("%s", usage);
	sub = argv[1];
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'j': json = true; break;
		case 'S':
			if (rk_time_parse(optarg, &since) != RK_OK)
				return app_usage("events retry: --since takes a date like 2026-12-01");
			break;
		case 'l':
			if (rk_parse_long(optarg, 1, 1000000, &limit) != RK_OK)
				return app_usage("events list: --limit takes 1 to 1000000");
			break;
		case 'r':
			if (rk_parse_long(optarg, 1, INT64_MAX, &report) != RK_OK)
				return app_usage("events list: --report takes a report id (the \"report\" of events list --json)");
			break;
		default: return app_usage("%s", usage);
		}
	}
	if (optind != argc)
		return app_usage("%s", usage);
	if (state && !state_known(state)) {
		app_usage("events: --state '%s' is not an event state (new, resolved, "
			  "ticketed, suppressed, withheld, unresolved, failed)",
			  state);
		return json ? app_json_usage("--state is not an event state")
			    : RK_EXIT_USAGE;
	}
	if (strcmp(sub, "retry") == 0) {
		if (!state)
			state = STORE_EVENT_UNRESOLVED;
		if (strcmp(state, STORE_EVENT_UNRESOLVED) != 0 &&
		    strcmp(state, STORE_EVENT_FAILED) != 0)
			return app_usage("events retry: --state is unresolved or failed");
		if (json)
			return app_usage("events retry takes no --json");
	} else if (strcmp(sub, "list") != 0 || since) {
		return app_usage("%s", usage);
	}
	if (report && strcmp(sub, "list") != 0) {
		return app_usage("%s", usage);
	}
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (strcmp(sub, "retry") == 0)
		return events_retry(store, state, since);
	return events_list(app, store, state, report, limit, json);
}
