# Shared by the inbound mail tests (sourced after lib.sh, in $WORK): a
# relay whose notices go to a maildir, the demo events notified, and the
# fixtures of tests/fixtures/inbound/ filled in for a ticket.
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
FIX="$RK_SOURCE_DIR/tests/fixtures/inbound"
R() { "$RENRAKU" --config r.conf "$@"; }
q() { sqlite3 renraku.db "$1"; }
state() { q "SELECT state FROM tickets WHERE id = '$1'"; }
# write_conf [INBOUND LINES...]: r.conf with these [inbound] keys
write_conf() {
	cp -r "$RK_SOURCE_DIR/templates" templates
	{
		printf '[relay]\nname = Test CSIRT\nfrom = csirt@test.example\n'
		printf 'ticket_prefix = CSIRT-EXAMPLE\ntemplates = templates\n'
		printf '[gpg]\nhome = gnupg\n[transport]\nurl = maildir:outbox\n'
		printf '[aggregate]\nwindow = 0\n[inbound]\n'
		printf '%s\n' "$@"
	} >r.conf
}
# notify_demo: init, contacts, the demo events, one run: seven tickets
# 20261121-000001..7 notified
notify_demo() {
	check "init --gen-key" R -q init --gen-key
	check "contacts import" R -q contacts import "$RK_SOURCE_DIR/contacts"
	check "ingest the demo events" R -q ingest "$RK_SOURCE_DIR/demo/events.jsonl"
	check "run --once --offline sends the notices" R -q run --once --offline --now 2026-11-21T00:00:00Z
	check "seven notified tickets" test "$(q "SELECT count(*) FROM tickets WHERE state = 'notified'")" -eq 7
}
# fill FIXTURE TICKET RCPT: the fixture with the ticket's first notice
# (Message-ID, ticket id) and the recipient filled in
fill() {
	local mid
	mid=$(q "SELECT message_id FROM messages WHERE ticket_id = '$2' ORDER BY id LIMIT 1")
	sed -e "s/@MID@/$mid/g" -e "s/@TID@/$2/g" -e "s/@RCPT@/$3/g" \
		-e "s/@PREFIX@/CSIRT-EXAMPLE/g" "$FIX/$1.eml"
}
