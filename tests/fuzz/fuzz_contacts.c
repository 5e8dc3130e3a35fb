/* libFuzzer harness for the contacts CSV reader (contacts_parse).  The
 * first byte picks the kind (constituency, national-csirts, suppress);
 * the rest is the file.  Checks what must hold for any input: every
 * accepted row has its required values and a source, every problem a
 * file and a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/contacts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"constituency", "national-csirts",
					    "suppress"};
	struct contacts_set set;
	const char *kind;

	if (size < 1)
		return 0;
	kind = kinds[data[0] % 3];
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
	}
	for (size_t i = 0; i < set.nsupps; i++)
		if (!set.supps[i].match || !set.supps[i].source)
			abort();
	for (size_t i = 0; i < set.nproblems; i++)
		if (!set.problems[i].file || !set.problems[i].reason ||
		    set.problems[i].line < 0)
			abort();
	contacts_set_release(&set);
	return 0;
}
