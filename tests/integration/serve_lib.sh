# Shared by the tests of `renraku serve` (sourced after lib.sh): start the
# service on 127.0.0.1 with a port it picks itself (read from its log),
# killed on exit also when the test fails.
command -v curl >/dev/null || { echo "FAIL: curl is missing (install curl)" >&2; exit 1; }

SERVE_PID=
stop_serve() {
	if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	SERVE_PID=
}
if [ -n "${RK_KEEP_WORK:-}" ]; then
	trap 'stop_serve' EXIT
else
	trap 'rc=$?; stop_serve; (exit $rc); cleanup_work' EXIT
fi

# start_serve CONF [ARGS...]: serve in the background; PORT, BASE and
# SERVE_PID set, the log in $WORK/serve.log (appended).
start_serve() {
	local conf=$1 i
	shift
	: >"$WORK/serve.log.new"
	"$RENRAKU" --config "$conf" serve --listen 127.0.0.1:0 "$@" \
		2>"$WORK/serve.log.new" &
	SERVE_PID=$!
	PORT=
	for i in $(seq 1 100); do
		PORT=$(sed -n 's/.*serve: listening on .* (port \([0-9]*\)[,)].*/\1/p' "$WORK/serve.log.new" | head -1)
		[ -n "$PORT" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$PORT" ]; then
		cat "$WORK/serve.log.new" >&2
		echo "FAIL: renraku serve did not start" >&2
		exit 1
	fi
	BASE="http://127.0.0.1:$PORT"
}

# status METHOD PATH [CURL ARGS...]: the HTTP status; the body in $WORK/body
status() {
	local method=$1 path=$2
	shift 2
	curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" "$@" "$BASE$path"
}
