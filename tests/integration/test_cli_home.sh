#!/usr/bin/env bash
# Only init creates a home (issue 16); the database, its WAL and the GnuPG
# home are private whatever the umask (15); errors name the file or key
# (20).  Every other command refuses a missing configuration or database
# with the path and a hint, and creates nothing.
source "$(dirname "$0")/lib.sh"
fx=$RK_FIXTURES/intelmq
out=$WORK/out
err=$WORK/err

# expect RC DESCRIPTION ARGS...: run renraku in the current directory
expect() {
	local want=$1 what=$2 rc=0
	shift 2
	"$RENRAKU" "$@" >"$out" 2>"$err" || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else
		not_ok "$what: exit $rc, wanted $want"; sed 's/^/  stderr: /' "$err" >&2
	fi
}
has() { # has FILE REGEX DESCRIPTION
	if grep -qE -- "$2" "$1"; then ok "$3"; else
		not_ok "$3: no /$2/ in $(cat "$1")"; fi
}
mode() { stat -c %a "$1"; }

# --- no configuration anywhere: refused, nothing created
mkdir "$WORK/empty" && cd "$WORK/empty"
unset RENRAKU_CONFIG
for args in "ingest $fx/sample.jsonl" "resolve 192.0.2.1" "run --once" \
	"tickets list" "contacts import $RK_SOURCE_DIR/contacts" \
	"preview --template generic --lang en --events $fx/sample.jsonl"; do
	# shellcheck disable=SC2086
	expect 1 "no config: renraku $args refused" $args
	has "$err" "no configuration.*renraku init" "no config: $args names the hint"
done
check "no config: nothing was created (no renraku.db, no outbox/)" \
	bash -c "[ -z \"\$(ls -A '$WORK/empty')\" ]"

# what needs no configuration
expect 0 "contacts check runs without a configuration" contacts check "$RK_SOURCE_DIR/contacts"
echo '{"x": "y"}' >"$WORK/data.json"
echo 'x={{x}}' >"$WORK/t.mustache"
expect 0 "preview --data runs without a configuration" preview --template "$WORK/t.mustache" --data "$WORK/data.json"
check "preview --data prints the rendered bytes" [ "$(cat "$out")" = "x=y" ]
check "still nothing created" bash -c "[ -z \"\$(ls -A '$WORK/empty')\" ]"

# --config / $RENRAKU_CONFIG naming a file that does not exist
expect 1 "--config of a missing file refused" --config "$WORK/nope.conf" tickets list
has "$err" "config file '$WORK/nope.conf' \\(from --config\\) does not exist.*init" "the missing --config is named"
RENRAKU_CONFIG=$WORK/env.conf expect 1 "\$RENRAKU_CONFIG of a missing file refused" tickets list
has "$err" "'$WORK/env.conf' \\(from \\\$RENRAKU_CONFIG\\) does not exist" "the missing \$RENRAKU_CONFIG is named"
check "nothing created for a missing --config" bash -c "[ ! -e '$WORK/nope.conf' ] && [ ! -e '$WORK/env.conf' ]"

# --- init under umask 000: everything private anyway
mkdir "$WORK/home" && cd "$WORK/home"
(umask 000 && "$RENRAKU" init --gen-key --from csirt@example.org --name "Home Test" >"$out" 2>"$err") ||
	{ not_ok "init --gen-key under umask 000"; cat "$err" >&2; }
check "umask 000: renraku.db is 0600" [ "$(mode renraku.db)" = 600 ]
check "umask 000: the GnuPG home is 0700" [ "$(mode gnupg)" = 700 ]
check "umask 000: renraku.conf is not world-readable" bash -c "[ \$(( 0$(mode renraku.conf) & 07 )) -eq 0 ]"

# a database missing behind an existing config: refused, not created
expect 1 "a mistyped --db is refused" --db "$WORK/home/typo.db" ingest "$fx/sample.jsonl"
has "$err" "database '$WORK/home/typo.db' \\(--db\\) does not exist.*init" "the mistyped --db is named"
check "the mistyped --db was not created" [ ! -e "$WORK/home/typo.db" ]
mv renraku.db moved.db
expect 1 "a config whose database is gone is refused" tickets list
has "$err" "database 'renraku.db' \\(\\[store\\] path in 'renraku.conf'\\) does not exist" "the [store] path is named"
check "the database was not recreated" [ ! -e renraku.db ]
mv moved.db renraku.db

# --- umask 022 and 000: the WAL and shared-memory files are 0600 too
for mask in 022 000; do
	d=$WORK/wal$mask
	mkdir "$d"
	cp "$WORK/home/renraku.conf" "$d/"
	sed -i 's/^mode = pgp-mime/mode = none/' "$d/renraku.conf"
	(cd "$d" && umask $mask && "$RENRAKU" -q init >/dev/null 2>&1 &&
		"$RENRAKU" -q ingest "$fx/sample.jsonl" >/dev/null 2>&1)
	check "umask $mask: renraku.db is 0600" [ "$(mode "$d/renraku.db")" = 600 ]
	# a daemon holds the database open: its -wal and -shm exist
	(cd "$d" && umask $mask && exec "$RENRAKU" -q run --offline --interval 1h >/dev/null 2>&1) &
	pid=$!
	for _ in $(seq 100); do [ -e "$d/renraku.db-shm" ] && [ -e "$d/renraku.db-wal" ] && break; sleep 0.05; done
	check "umask $mask: renraku.db-wal is 0600" [ "$(mode "$d/renraku.db-wal" 2>/dev/null)" = 600 ]
	check "umask $mask: renraku.db-shm is 0600" [ "$(mode "$d/renraku.db-shm" 2>/dev/null)" = 600 ]
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
done

# --- errors that name the file or key
cd "$WORK/home"
printf 'garbage, not SQLite, long enough to be read as a header........................................\n' >"$WORK/bad.db"
expect 1 "a file that is not a database is refused" --db "$WORK/bad.db" tickets list
has "$err" "database '$WORK/bad.db'.*not a database" "'not a database' names the file"

cp renraku.conf bad-url.conf
printf '[transport]\nurl = smpt://mail.example.org:25\n' >>bad-url.conf
line=$(grep -c '' bad-url.conf)
expect 1 "a bad [transport] url is refused when the config loads" --config bad-url.conf tickets list
has "$err" "bad-url.conf:$line: \\[transport\\] url: 'smpt://mail.example.org:25' is not maildir:PATH" "the bad url is named with FILE:LINE"
for url in "smtp://mail.example.org:0" "smtp://" "smtps://mail.example.org:99999" "maildir:" "smtp://a b"; do
	sed -i '$d' bad-url.conf
	printf 'url = %s\n' "$url" >>bad-url.conf
	expect 1 "[transport] url '$url' refused" --config bad-url.conf tickets list
	has "$err" "bad-url.conf:$line: \\[transport\\] url" "'$url' named with FILE:LINE"
done
sed -i '$d' bad-url.conf
printf 'url = smtps://127.0.0.1:465\n' >>bad-url.conf
expect 1 "smtps:// is refused: libESMTP has no implicit TLS" --config bad-url.conf tickets list
has "$err" "bad-url.conf:$line: \\[transport\\] url: 'smtps://127.0.0.1:465': smtps:// .implicit TLS. is not supported" "the smtps refusal says why"
for url in "smtp://mail.example.org" "smtp://[::1]:2525" "maildir:/tmp/x"; do
	sed -i '$d' bad-url.conf
	printf 'url = %s\n' "$url" >>bad-url.conf
	expect 0 "[transport] url '$url' accepted" --config bad-url.conf tickets list
done

if [ "$(id -u)" -ne 0 ]; then
	chmod 0400 renraku.db
	expect 1 "a read-only database is refused" ingest "$fx/sample.jsonl"
	has "$err" "database 'renraku.db' is read-only" "read-only names the file"
	chmod 0600 renraku.db
else
	# root writes any file: a read-only mount is what refuses it
	mkdir -p "$WORK/ro"
	cp renraku.db "$WORK/ro/renraku.db"
	if mount --bind -o ro "$WORK/ro" "$WORK/ro"; then
		expect 1 "a read-only database is refused (read-only mount)" \
			--db "$WORK/ro/renraku.db" ingest "$fx/sample.jsonl"
		has "$err" "database '.*ro/renraku.db' is read-only" "read-only names the file"
		umount "$WORK/ro"
	else
		not_ok "cannot mount a read-only directory to try a read-only database"
	fi
fi
finish
