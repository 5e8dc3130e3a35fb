#!/usr/bin/env bash
# cmake --install to a temporary prefix gives a binary that finds its
# templates, contacts and demo samples under that prefix's share/renraku
# (not in the build or source tree), and the demo runs from there.
source "$(dirname "$0")/lib.sh"
: "${RK_BUILD_DIR:?set by ctest}"
prefix=$WORK/prefix
cmake --install "$RK_BUILD_DIR" --prefix "$prefix" >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log" >&2; not_ok "cmake --install"; finish; exit 1; }
ok "cmake --install to $prefix"
bin=$prefix/bin/renraku
share=$prefix/share/renraku
check "the binary is installed" test -x "$bin"
for f in templates/_partials contacts/constituency.csv contacts/national-csirts.csv \
	contacts/suppress.csv demo/events.jsonl verify_mail.py; do
	check "share/renraku/$f is installed" test -e "$share/$f"
done
check "docs/operations.md is installed" test -e "$prefix/share/doc/renraku/operations.md"

# Mark every installed template: a notice rendered from the installed
# copy carries the marker, one from the source tree does not.
marker="installed-template-$$"
find "$share/templates" -name '*.mustache' ! -path '*/_partials/*' -print0 |
	while IFS= read -r -d '' t; do printf '\n%s\n' "$marker" >>"$t"; done

# Run from elsewhere, by its full path, as an installed binary is.
cd "$WORK"
rc=0
"$bin" demo --out "$WORK/demo" >"$WORK/demo.txt" 2>"$WORK/demo.err" || rc=$?
check "the installed demo exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$WORK/demo.err" >&2
check "the demo config points at the installed data" \
	grep -q "^templates = $share/templates\$" "$WORK/demo/renraku.conf"
check "the demo imported the installed contacts" grep -q "from $share/contacts" "$WORK/demo.txt"
n=$(find "$WORK/demo/maildir/new" -type f | wc -l)
check "the demo delivered notices ($n)" [ "$n" -gt 0 ]
check "every notice was rendered from the installed templates" \
	bash -c "[ \$(grep -l '$marker' '$WORK'/demo/maildir/new/* | wc -l) -eq $n ]"
check "the verify hint names the installed script" grep -q "$share/verify_mail.py" "$WORK/demo.txt"
check "the installed verify_mail.py verifies the notices" \
	bash -c "'$PY' '$share/verify_mail.py' --key '$WORK/demo/signing-key.asc' '$WORK'/demo/maildir/new/* >/dev/null"

# The default [relay] templates of a fresh home is the installed one too.
mkdir "$WORK/home" && cd "$WORK/home"
"$bin" -q init --from csirt@example.org >/dev/null 2>&1 || not_ok "installed init"
printf '{"classification.type": "infected-system", "source.ip": "192.0.2.1", "time.source": "2026-01-01T00:00:00+00:00", "feed.name": "t"}\n' >ev.jsonl
rc=0
"$bin" preview --template infected-system --lang en --events ev.jsonl >"$WORK/preview.txt" 2>"$WORK/preview.err" || rc=$?
check "installed preview --events exits 0" [ "$rc" -eq 0 ]
check "installed preview renders the installed template" grep -q "$marker" "$WORK/preview.txt"

# A binary moved with its prefix still finds its data.
mv "$prefix" "$WORK/moved"
rc=0
"$WORK/moved/bin/renraku" preview --template infected-system --lang en --events ev.jsonl >"$WORK/preview2.txt" 2>/dev/null || rc=$?
check "a moved prefix still finds its templates" bash -c "[ $rc -eq 0 ] && grep -q '$marker' '$WORK/preview2.txt'"
finish
