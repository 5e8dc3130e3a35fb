/*
 * The events attachment a contact's format asks for, and the JSON one:
 * the events as an array of their flat IntelMQ objects, each exactly as
 * stored in events.data (one per line, so that a reader can also take it
 * line by line).  TLP:RED never leaves the relay: such events are never
 * in tickets, and should one come this far it is left out here as well.
 */
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"

enum notify_attach notify_attach_for(const char *format)
{
	if (!format || !*format || strcmp(format, "csv-attach") == 0)
		return NOTIFY_ATTACH_CSV;
	if (strcmp(format, "csv-inline") == 0 || strcmp(format, "inline") == 0)
		return NOTIFY_ATTACH_CSV_INLINE;
	if (strcmp(format, "json") == 0)
		return NOTIFY_ATTACH_JSON;
	return NOTIFY_ATTACH_UNKNOWN;
}

/* Is this event's data TLP:RED (the column, or its own "tlp" key)? */
static bool is_red(const struct store_event *ev, const json_t *data)
{
	const json_t *tlp = json_object_get(data, "tlp");
	enum rk_tlp level;

	if (ev->tlp == RK_TLP_RED)
		return true;
	return json_is_string(tlp) &&
	       rk_tlp_parse(json_string_value(tlp), &level) == RK_OK &&
	       level == RK_TLP_RED;
}

enum rk_err notify_events_json(const struct store_event *events, size_t n,
			       struct rk_buf *out)
{
	struct rk_buf json;
	size_t written = 0;
	enum rk_err err;

	rk_buf_init(&json, RK_MAX_ATTACHMENT);
	err = rk_buf_addc(&json, '[');
	for (size_t i = 0; i < n && !err; i++) {
		const char *text = events[i].data;
		json_t *data;
		bool object, red;

		if (!text)
			continue; /* nothing stored: nothing to show */
		/* stored by ingest as a JSON object; checked all the same, so
		 * that a damaged row cannot break the recipient's parser */
		data = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		object = json_is_object(data);
		red = object && is_red(&events[i], data);
		json_decref(data);
		if (!object) {
			err = RK_ERR_INVAL;
			break;
		}
		if (red)
			continue;
		if ((written && (err = rk_buf_addc(&json, ','))) ||
		    (err = rk_buf_addc(&json, '\n')) ||
		    (err = rk_buf_adds(&json, text)))
			break;
		written++;
	}
	if (!err)
		err = rk_buf_adds(&json, written ? "\n]\n" : "]\n");
	if (!err)
		err = rk_buf_add(out, json.data, json.len);
	rk_buf_release(&json);
	return err;
}
