# Shared by the integration tests (sourced).  Every test gets a fresh
# work directory under /tmp, removed on exit whatever happens.
set -euo pipefail

: "${RENRAKU:?RENRAKU must point at the renraku binary (ctest sets it)}"
: "${RK_SOURCE_DIR:?RK_SOURCE_DIR must be set (ctest sets it)}"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "FAIL: $PY is missing (install python3)" >&2; exit 1; }
command -v gpg >/dev/null || { echo "FAIL: gpg is missing" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rki.XXXXXX)
PEER_PIDS=()
cleanup_work() {
	local rc=$?
	stop_peers
	# a test may have mounted something read-only under $WORK
	awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts |
		while read -r m; do umount "$m" 2>/dev/null || true; done
	for h in "$WORK"/gnupg*; do
		[ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1 || true
	done
	rm -rf "$WORK"
	exit $rc
}
[ -n "${RK_KEEP_WORK:-}" ] || trap cleanup_work EXIT

# start_peer CMD...: run a test peer (a server on 127.0.0.1) in the
# background; it is killed when the test ends, also on failure.
start_peer() {
	"$@" &
	PEER_PIDS+=($!)
}
stop_peers() {
	local p
	for p in "${PEER_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PEER_PIDS=()
}
# wait_for_file FILE WHAT [ERRFILE]: until the last peer started wrote
# FILE (10 s); exits the test as failed, showing ERRFILE, if it dies or
# never does.
wait_for_file() {
	local pid=${PEER_PIDS[${#PEER_PIDS[@]}-1]}
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: $2 did not start${3:+: $(cat "$3" 2>/dev/null)}" >&2
	exit 1
}

PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*" >&2; }
check() { # check "description" command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
# json_get FILE PYTHON-EXPR: evaluate EXPR with d = the parsed JSON file
json_get() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# --- relays with recipients' keys (test_encrypt, test_review, test_wkd)

# gpgq HOME ARGS...: gpg on a throwaway home: batch, no passphrase
gpgq() {
	local home=$1
	shift
	gpg --homedir "$home" --batch --quiet --pinentry-mode loopback \
		--passphrase '' "$@"
}
# key_fpr HOME USERID: the fingerprint of the first key matching USERID
key_fpr() {
	gpg --homedir "$1" --with-colons --list-keys "$2" 2>/dev/null |
		awk -F: '$1 == "fpr" {print $10; exit}'
}
# contacts_with DIR ROW...: DIR/constituency.csv holding the ROWs (org,
# match, email, cc, pgp, lang, format, notes), no national CSIRTs or
# suppressions
contacts_with() {
	local dir=$1
	shift
	mkdir -p "$dir"
	printf '%s\n' 'org,match,email,cc,pgp,lang,format,notes' "$@" >"$dir/constituency.csv"
	echo 'country,team,email,pgp,lang' >"$dir/national-csirts.csv"
	echo 'match,type,until,reason' >"$dir/suppress.csv"
}
# relay_conf FILE [LINE...]: a relay that notifies at once (window 0) from
# local contacts only into the maildir outbox/, signing with gnupg/; the
# LINEs follow (more sections; a section given again overrides keys)
relay_conf() {
	local file=$1
	shift
	printf '%s\n' '[relay]' 'name = Test CSIRT' 'from = csirt@test.example' \
		'ticket_prefix = TEST' "templates = $RK_SOURCE_DIR/templates" \
		'[gpg]' 'home = gnupg' '[transport]' 'url = maildir:outbox' \
		'[aggregate]' 'window = 0' '[resolve]' 'sources = local' "$@" >"$file"
}
# event_line IP TLP [TYPE]: one IntelMQ event of 2026-11-30
event_line() {
	printf '{"time.source":"2026-11-30T09:00:00Z","source.ip":"%s","classification.type":"%s","tlp":"%s"}\n' \
		"$1" "${3:-infected-system}" "$2"
}
# ticket_of DB IP: the ticket holding the event of source.ip IP
ticket_of() {
	sqlite3 "$1" "SELECT t.id FROM tickets t JOIN ticket_events te ON te.ticket_id = t.id JOIN events e ON e.id = te.event_id WHERE e.source_ip = '$2'"
}
