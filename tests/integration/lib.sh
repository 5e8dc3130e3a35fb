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
