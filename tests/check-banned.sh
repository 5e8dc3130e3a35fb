#!/usr/bin/env bash
# Fails when a banned C function appears in the project's sources.
# Banned (as in curl): strcpy, sprintf, strtok, atoi, sscanf, and their
# unbounded relatives.  Use snprintf, strtol/rk_parse_long, pointer
# parsers.
set -u
top=${1:-.}
pattern='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|sscanf|gets)[[:space:]]*\('
hits=$(grep -rnE "$pattern" "$top/relay" "$top/include" "$top/tests/unit" \
	"$top/tests/fuzz" --include='*.c' --include='*.h' | grep -v 'check-banned' || true)
if [ -n "$hits" ]; then
	echo "banned functions used:" >&2
	echo "$hits" >&2
	exit 1
fi
echo "banned functions: none found"
exit 0
