#!/usr/bin/env bash
# Every command takes --help (stdout, exit 0) and lists every long option
# it accepts; the top-level help lists every command and every option; a
# usage error goes to stderr with exit 2.  The options are read from the
# option tables of relay/main.c and relay/cmd/*.c, so a new option that is
# not documented fails here.
source "$(dirname "$0")/lib.sh"
cd "$WORK" # no configuration here: --help needs none

# long options of a source file: {"name", no_argument|required_argument ...
options_of() {
	grep -oE '\{"[a-z][a-z-]*", *(no|required|optional)_argument' "$1" |
		sed -E 's/^\{"([^"]*)".*/\1/' | sort -u
}

rc=0
"$RENRAKU" --help >"$WORK/top.out" 2>"$WORK/top.err" || rc=$?
check "renraku --help exits 0" [ "$rc" -eq 0 ]
check "renraku --help prints on stdout only" [ -s "$WORK/top.out" ] && [ ! -s "$WORK/top.err" ]

# the commands the top-level help lists: "  NAME   ..." under "commands:"
mapfile -t cmds < <(sed -n '/^commands:/,/^$/p' "$WORK/top.out" |
	grep -oE '^  [a-z][a-z-]+' | tr -d ' ')
check "the top-level help lists the commands" [ "${#cmds[@]}" -ge 8 ]
for f in "$RK_SOURCE_DIR"/relay/cmd/*.c; do
	name=$(basename "$f" .c)
	grep -q "^int cmd_$name(" "$f" || continue
	check "top-level help lists '$name'" grep -qE "^  $name " "$WORK/top.out"
done
for opt in $(options_of "$RK_SOURCE_DIR/relay/main.c"); do
	check "top-level help names --$opt" grep -q -- "--$opt" "$WORK/top.out"
done

for cmd in "${cmds[@]}"; do
	rc=0
	"$RENRAKU" "$cmd" --help >"$WORK/$cmd.out" 2>"$WORK/$cmd.err" || rc=$?
	check "renraku $cmd --help exits 0" [ "$rc" -eq 0 ]
	check "renraku $cmd --help: usage on stdout, nothing on stderr" \
		bash -c "grep -q '^usage: renraku' '$WORK/$cmd.out' && [ ! -s '$WORK/$cmd.err' ]"
	src=$RK_SOURCE_DIR/relay/cmd/$cmd.c
	check "relay/cmd/$cmd.c exists" [ -f "$src" ]
	for opt in $(options_of "$src"); do
		check "$cmd --help names --$opt" grep -q -- "--$opt" "$WORK/$cmd.out"
		check "top-level help names $cmd's --$opt" grep -q -- "--$opt" "$WORK/top.out"
	done
	# a usage error: stderr, exit 2, nothing on stdout
	rc=0
	"$RENRAKU" "$cmd" --no-such-option >"$WORK/$cmd.uout" 2>"$WORK/$cmd.uerr" || rc=$?
	check "renraku $cmd --no-such-option exits 2" [ "$rc" -eq 2 ]
	check "renraku $cmd --no-such-option: message on stderr only" \
		bash -c "grep -q 'usage' '$WORK/$cmd.uerr' && [ ! -s '$WORK/$cmd.uout' ]"
done

# --help after a subcommand, and with a configuration that does not exist
for args in "tickets list --help" "tickets show --help" "contacts import --help" \
	"--config $WORK/missing.conf ingest --help"; do
	rc=0
	# shellcheck disable=SC2086
	"$RENRAKU" $args >"$WORK/sub.out" 2>&1 || rc=$?
	check "renraku $args exits 0 with the usage" \
		bash -c "[ $rc -eq 0 ] && grep -q '^usage: renraku' '$WORK/sub.out'"
done

# the top-level usage error
rc=0
"$RENRAKU" --no-such-option >"$WORK/g.out" 2>"$WORK/g.err" || rc=$?
check "renraku --no-such-option exits 2 with the usage on stderr" \
	bash -c "[ $rc -eq 2 ] && grep -q '^usage: renraku' '$WORK/g.err' && [ ! -s '$WORK/g.out' ]"
check "no file was created by --help" bash -c "[ -z \"\$(ls -A '$WORK' | grep -vE '\\.(out|err|uout|uerr)$')\" ]"
finish
