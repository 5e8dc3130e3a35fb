#!/usr/bin/env bash
# fetch-mail against a dovecot of the test's own on 127.0.0.1 (its own
# config, base_dir, passwd-file user and maildir under the work
# directory; a port picked at run time; stopped on exit, also on
# failure): messages delivered into its maildir are fetched, stored and
# applied; a second run fetches nothing; the processed ones are flagged
# \Seen (or moved to [inbound] imap_done); a crash between storing a
# message and recording its UID applies nothing twice; a password file
# others can read is refused.
. "$(dirname "$0")/lib.sh"

DOVECOT=/usr/sbin/dovecot
[ -x "$DOVECOT" ] || { echo "FAIL: $DOVECOT is missing (install dovecot-imapd)" >&2; exit 1; }
[ -e /usr/lib/dovecot/imap ] || { echo "FAIL: dovecot's imap is missing (install dovecot-imapd)" >&2; exit 1; }
. "$(dirname "$0")/inbound_lib.sh"

cd "$WORK"
D="$WORK/dovecot"
mkdir -p "$D/run" "$D/state" "$D/home" "$D/mail/test/new" "$D/mail/test/cur" "$D/mail/test/tmp"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
TLS_PORT=$(free_port)
# a throwaway self-signed certificate for 127.0.0.1 (imaps://)
command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$D/tls.key" \
	-out "$D/tls.pem" 2>/dev/null
if [ "$(id -u)" -eq 0 ]; then
	# root (CI): the mail processes run as nobody, dovecot's own users
	# for the rest
	MUID=$(id -u nobody); MGID=$(id -g nobody)
	INTERNAL=dovecot; LOGIN=dovenull
	chmod 755 "$WORK"
else
	MUID=$(id -u); MGID=$(id -g)
	INTERNAL=$(id -un); LOGIN=$(id -un)
fi
printf 'test:{PLAIN}imap-s3cret:%s:%s::%s::\n' "$MUID" "$MGID" "$D/home" >"$D/passwd"
cat >"$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$D/tls.pem
ssl_key = <$D/tls.key
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $INTERNAL
default_login_user = $LOGIN
first_valid_uid = 1
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $TLS_PORT
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
CONF
chown -R "$MUID:$MGID" "$D/mail" "$D/home"
"$DOVECOT" -F -c "$D/dovecot.conf" 2>>"$D/dovecot.err" &
DPID=$!
stop_dovecot() {
	kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
}
# cleanup_work exits with the status the test ended with
trap 'rc=$?; stop_dovecot; set +e; (exit $rc); cleanup_work' EXIT
up=0
for _ in $(seq 100); do
	if "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$PORT" 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
if [ "$up" -ne 1 ]; then
	cat "$D/dovecot.err" "$D/dovecot.log" >&2 2>/dev/null || true
	echo "FAIL: dovecot did not start" >&2
	exit 1
fi
ok "dovecot listens on 127.0.0.1:$PORT"

printf 'imap-s3cret\n' >imap.pw
chmod 600 imap.pw
write_conf "imap_url = imap://127.0.0.1:$PORT" "user = test" \
	"password_file = imap.pw" "mailbox = INBOX"
n=0
# deliver FIXTURE TICKET RCPT: into dovecot's maildir, as an MDA does
deliver() {
	local f
	n=$((n + 1))
	f="$D/mail/test/new/$(date +%s).M$n.test"
	fill "$@" >"$f"
	chown "$MUID:$MGID" "$f"
}

notify_demo
T1=20261121-000001
T2=20261121-000002
T5=20261121-000005
T6=20261121-000006

deliver autoreply-rt $T2 x
deliver dsn-postfix $T1 noc@isp-a.example
deliver ooo-de $T6 x
rc=0; R fetch-mail --json >f1.json 2>f1.err || rc=$?
check "fetch-mail exits 0 (rc $rc)" test "$rc" -eq 0
check "fetch-mail: three read, three stored, three matched" \
	test "$(json_get f1.json '"%d/%d/%d" % (d["seen"], d["stored"], d["matched"])')" = 3/3/3
check "RT autoreply via IMAP: auto-acknowledged with its remote ticket" \
	test "$(q "SELECT t.state || ' ' || r.remote_ticket FROM tickets t JOIN ticket_remote r ON r.ticket_id = t.id WHERE t.id = '$T2'")" = "auto-acknowledged [isp-b.example #88123]"
check "Postfix DSN via IMAP: noc@isp-a.example failing, the ticket at level 1" \
	test "$(q "SELECT count(*) FROM failing_addresses WHERE address = 'noc@isp-a.example'"):$(q "SELECT state || ':' || level FROM tickets WHERE id = '$T1'")" = 1:open:1
check "German out-of-office via IMAP: auto-acknowledged" test "$(state $T6)" = auto-acknowledged
check "stored with source imap" test "$(q "SELECT count(*) FROM inbound WHERE source = 'imap'")" -eq 3
check "UIDVALIDITY and the last UID remembered" \
	test "$(q "SELECT (uidvalidity > 0) || ':' || last_uid FROM imap_state WHERE mailbox = 'INBOX'")" = 1:3
check "the processed messages are flagged \\Seen" \
	test "$(ls "$D/mail/test/cur" | grep -c ':2,.*S')" -eq 3

rc=0; R fetch-mail --json >f2.json 2>f2.err || rc=$?
[ "$rc" -eq 0 ] || cat f2.err >&2
check "fetch-mail a second time exits 0" test "$rc" -eq 0
check "the second run fetches nothing" test "$(json_get f2.json 'd["seen"]')" -eq 0

# a crash after the message is stored and before its UID is recorded
deliver autoreply-otrs $T5 x
tl=$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T5'")
rc=0; RENRAKU_TEST_IMAP_KILL_AFTER_STORE=1 R fetch-mail >/dev/null 2>&1 || rc=$?
check "the crash hook killed fetch-mail (rc $rc)" test "$rc" -eq 137
check "the message was stored before the crash" test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<otrs-1@isp-e.example>'")" -eq 1
check "its UID was not recorded" test "$(q "SELECT last_uid FROM imap_state")" -eq 3
check "its effect was applied once" test "$(state $T5)" = auto-acknowledged
tl2=$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T5'")
rc=0; R fetch-mail --json >f3.json 2>f3.err || rc=$?
check "fetch-mail after the crash exits 0" test "$rc" -eq 0
check "after the crash: fetched again and recognised, nothing stored" \
	test "$(json_get f3.json '"%d/%d/%d" % (d["seen"], d["stored"], d["duplicates"])')" = 1/0/1
check "after the crash: nothing applied twice" \
	test "$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T5'")" -eq "$tl2" -a "$tl2" -eq $((tl + 1))
check "after the crash: stored once" test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<otrs-1@isp-e.example>'")" -eq 1
check "after the crash: the UID recorded" test "$(q "SELECT last_uid FROM imap_state")" -eq 4

# a new UIDVALIDITY (the mailbox was recreated): read again from the
# start, every message recognised, nothing applied twice
q "UPDATE imap_state SET uidvalidity = 12345"
tl=$(q "SELECT count(*) FROM ticket_timeline")
rc=0; R fetch-mail --json >f9.json 2>f9.err || rc=$?
check "a changed UIDVALIDITY: exit 0" test "$rc" -eq 0
check "a changed UIDVALIDITY: all four read again, none stored" \
	test "$(json_get f9.json '"%d/%d/%d" % (d["seen"], d["stored"], d["duplicates"])')" = 4/0/4
check "a changed UIDVALIDITY: nothing applied twice" test "$(q "SELECT count(*) FROM ticket_timeline")" -eq "$tl"
check "a changed UIDVALIDITY: the server's kept again" \
	test "$(q "SELECT (uidvalidity != 12345) || ':' || last_uid FROM imap_state")" = 1:4
grep -q "UIDVALIDITY changed" f9.err && ok "a changed UIDVALIDITY is said on stderr" ||
	not_ok "a changed UIDVALIDITY is said on stderr"

# [inbound] imap_done: processed mail moves to that folder
mkdir -p "$D/mail/test/.Done/new" "$D/mail/test/.Done/cur" "$D/mail/test/.Done/tmp"
touch "$D/mail/test/.Done/maildirfolder"
chown -R "$MUID:$MGID" "$D/mail/test/.Done"
printf 'imap_done = Done\n' >>r.conf
deliver reply-unknown $T6 x
rc=0; R fetch-mail --json >f4.json 2>f4.err || rc=$?
check "fetch-mail with imap_done exits 0" test "$rc" -eq 0
check "imap_done: the message left INBOX" test "$(ls "$D/mail/test/new" "$D/mail/test/cur" | grep -c '\.test')" -eq 4
check "imap_done: the message is in Done" test "$(find "$D/mail/test/.Done/cur" "$D/mail/test/.Done/new" -type f | wc -l)" -eq 1
check "imap_done: stored, unmatched" test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<unknown-1@isp-g.example>' AND ticket_id IS NULL")" -eq 1

# a password file others can read is refused
chmod 644 imap.pw
rc=0; R fetch-mail >/dev/null 2>f5.err || rc=$?
check "a password file readable by others: exit 1" test "$rc" -eq 1
check "the error names the file and says why" grep -q "password_file .*imap.pw.* readable by others" f5.err
chmod 600 imap.pw

# a wrong password: a temporary failure (75), nothing recorded
printf 'wrong\n' >imap.pw
rc=0; R fetch-mail >/dev/null 2>f6.err || rc=$?
check "a refused login: exit 75" test "$rc" -eq 75
printf 'imap-s3cret\n' >imap.pw

# imaps:// with the server's certificate as ca_file; refused without it
cp "$D/tls.pem" tls-ca.pem
sed -e "s|^imap_url = .*|imap_url = imaps://127.0.0.1:$TLS_PORT|" r.conf >tls.conf
printf 'ca_file = tls-ca.pem\n' >>tls.conf
deliver ooo-de $T6 x
sed -i 's/ooo-de-1@/ooo-de-tls@/' "$(ls -t "$D"/mail/test/new/* | head -1)"
rc=0; "$RENRAKU" --config tls.conf fetch-mail --json >f7.json 2>f7.err || rc=$?
check "imaps:// with ca_file: exit 0 (rc $rc)" test "$rc" -eq 0
check "imaps://: the message fetched and stored" \
	test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<ooo-de-tls@isp-d.example>'")" -eq 1
sed -i '/^ca_file = /d' tls.conf
deliver reply-unknown $T6 x
sed -i 's/unknown-1@/unknown-tls@/' "$(ls -t "$D"/mail/test/new/* | head -1)"
rc=0; "$RENRAKU" --config tls.conf fetch-mail >/dev/null 2>f8.err || rc=$?
check "imaps:// with a certificate nobody vouches for: exit 75" test "$rc" -eq 75
check "the error says it is the certificate" grep -qi "certificate\|SSL" f8.err
check "nothing stored through an untrusted connection" \
	test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<unknown-tls@isp-g.example>'")" -eq 0

# renraku run takes the mailbox too (not with --offline)
deliver ooo-ja $T6 x
check "run --once --offline leaves the mailbox alone" R -q run --once --offline --now 2026-11-21T01:00:00Z
check "nothing fetched offline" test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<ooo-ja-1@isp-c.example>'")" -eq 0
check "run --once fetches it" R -q run --once --now 2026-11-21T01:00:00Z
check "run stored it" test "$(q "SELECT count(*) FROM inbound WHERE message_id = '<ooo-ja-1@isp-c.example>'")" -eq 1
finish
