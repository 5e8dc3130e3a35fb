/* renraku contacts stats ADDR|ASN [--json]: how a contact address or an
 * origin AS answers our notices. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

int contacts_stats(struct app *app, int argc, char **argv)
{
	struct store_responsiveness r;
	struct rk_store *store = NULL;
	const char *what = NULL;
	const char *address = NULL;
	long long asn = 0;
	bool json = false;
	enum rk_err err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (!what)
			what = argv[i];
		else
			return app_usage("contacts stats ADDR|ASN [--json]");
	}
	if (!what)
		return app_usage("contacts stats ADDR|ASN [--json]");
	if ((what[0] == 'A' || what[0] == 'a') && (what[1] == 'S' || what[1] == 's'))
		what += 2;
	if (strchr(what, '@')) {
		if (!rk_email_valid(what))
			return app_usage("contacts stats: '%s' is not an e-mail address", what);
		address = what;
	} else if (rk_parse_long(what, 0, 4294967295LL, &asn)) {
		return app_usage("contacts stats: '%s' is neither an e-mail address nor an AS number",
				 what);
	}
	if ((err = app_store(app, &store)) ||
	    (err = store_responsiveness_get(store, address, asn, &r)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (json) {
		json_t *doc = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I}", "tickets",
			(json_int_t)r.tickets, "sent", (json_int_t)r.sent,
			"bounced", (json_int_t)r.bounced, "auto_acknowledged",
			(json_int_t)r.auto_acknowledged, "acknowledged",
			(json_int_t)r.acknowledged, "answered",
			(json_int_t)r.answered);

		if (!doc)
			return RK_EXIT_FAILURE;
		if (address)
			json_object_set_new(doc, "address", json_string(address));
		else
			json_object_set_new(doc, "asn", json_integer(asn));
		json_object_set_new(doc, "median_answer_seconds",
				    r.median_answer < 0 ? json_null()
							: json_integer(r.median_answer));
		return app_print_json(doc);
	}
	{
		char med[64];

		rk_duration_text(r.median_answer, med, sizeof(med));
		if (address)
			printf("%s\n", address);
		else
			printf("AS%lld\n", asn);
		printf("  tickets            %lld\n"
		       "  notices sent       %lld\n"
		       "  bounced            %lld\n"
		       "  auto-acknowledged  %lld\n"
		       "  acknowledged       %lld\n"
		       "  median first human answer  %s (%lld answered)\n",
		       r.tickets, r.sent, r.bounced, r.auto_acknowledged,
		       r.acknowledged, med, r.answered);
	}
	return RK_EXIT_OK;
}
