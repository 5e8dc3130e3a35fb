# SMTP peers for the integration tests (sourced after lib.sh): a
# throwaway CA, and the aiosmtpd sink (smtp_sink.py) started on
# 127.0.0.1 with a port chosen at run time, killed on exit also when the
# test fails.
command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }
"$PY" -c 'import aiosmtpd' 2>/dev/null ||
	{ echo "FAIL: python3-aiosmtpd is missing for $PY" >&2; exit 1; }

SINK_PIDS=()
stop_all_sinks() {
	local p
	for p in "${SINK_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
trap 'rc=$?; stop_all_sinks; exit $rc' EXIT
# lib.sh's cleanup runs after ours: chain it
if [ -z "${RK_KEEP_WORK:-}" ]; then
	trap 'rc=$?; stop_all_sinks; (exit $rc); cleanup_work' EXIT
fi

# make_ca DIR NAME...: DIR/ca.pem and DIR/server.{pem,key} for the names
# (DNS names and IP addresses), signed by the throwaway CA.
make_ca() {
	local dir=$1
	shift
	local san="" n
	for n in "$@"; do
		if [[ $n =~ ^[0-9.]+$ ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
	done
	san=${san%,}
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=renraku test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" \
		-keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$san" >"$dir/ext.cnf"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
}

# start_sink NAME DIR [smtp_sink.py options...]: starts it in the
# background; SINK_PORT gets its port, SINK_PID its pid.  Reuses
# --port when given (a server that comes back).
start_sink() {
	local name=$1 dir=$2
	shift 2
	rm -f "$WORK/$name.port"
	"$PY" "$RK_SOURCE_DIR/tests/integration/smtp_sink.py" --dir "$dir" \
		--port-file "$WORK/$name.port" "$@" 2>>"$WORK/$name.log" &
	SINK_PID=$!
	SINK_PIDS+=("$SINK_PID")
	local i
	for i in $(seq 1 100); do
		[ -s "$WORK/$name.port" ] && break
		kill -0 "$SINK_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$WORK/$name.port" ]; then
		echo "FAIL: the SMTP sink $name did not start:" >&2
		cat "$WORK/$name.log" >&2
		exit 1
	fi
	SINK_PORT=$(cat "$WORK/$name.port")
}

stop_sink() { # stop_sink PID
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# sink_count DIR: messages the sink accepted
sink_count() { find "$1" -name '*.eml' 2>/dev/null | wc -l; }

# plain_conf FILE NAME PORT [more [transport] lines...]: a relay named
# NAME (csirt@NAME.example) delivering to the sink on PORT without TLS,
# its notices due at once
plain_conf() {
	local f=$1 name=$2 port=$3
	shift 3
	{
		printf '[relay]\nname = %s CSIRT\nfrom = csirt@%s.example\n' "$name" "$name"
		printf '[gpg]\nhome = gnupg\n[transport]\nurl = smtp://127.0.0.1:%s\n' "$port"
		printf 'starttls = off\n'
		printf '%s\n' "$@"
		printf '[aggregate]\nwindow = 0\n'
	} >"$f"
}
