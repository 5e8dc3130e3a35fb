#!/usr/bin/env bash
# renraku: one entry point for a fresh Debian 12 machine (run as root).
#   ./run.sh demo   install what is missing, build, run the whole pipeline
#                   on the bundled samples into demo-out/ (offline)
#   ./run.sh test   install what is missing, build (warnings as errors),
#                   run the test suite, then again under ASan+UBSan
#   ./run.sh build  install what is missing and build only
#   ./run.sh fuzz [SECONDS]  build the libFuzzer harnesses with clang and
#                   run each for SECONDS (default 60)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config clang gnupg gpg-agent
	libgpgme-dev libgmime-3.0-dev libjansson-dev libyajl-dev libsqlite3-dev
	libinih-dev libcsv-dev libcmocka-dev libcurl4-openssl-dev
	libesmtp-dev libssl-dev libmicrohttpd-dev libc-ares-dev libidn2-dev
	libxml2-dev bsdutils libcjson-dev
	python3 python3-aiosmtpd sqlite3 openssl gpg-wks-client dovecot-imapd
	dnsmasq-base curl chromium libxml2-utils fonts-noto-cjk)

JOBS=$(nproc 2>/dev/null || echo 2)

install_deps() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "run.sh: installing ${missing[*]}" >&2
		if [ "$(id -u)" -ne 0 ]; then
			echo "run.sh: missing packages and not root: ${missing[*]}" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

build() { # build DIR [cmake args...]
	local dir=$1
	shift
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j "$JOBS"
}

case "${1:-}" in
demo)
	install_deps
	build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRK_WERROR=ON
	shift
	./build/renraku demo --out demo-out "$@"
	;;
test)
	install_deps
	build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRK_WERROR=ON
	echo "== test suite (RelWithDebInfo, -Werror)"
	ctest --test-dir build --output-on-failure -j "$JOBS"
	echo "== test suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	build build-asan -DCMAKE_BUILD_TYPE=Debug -DRK_WERROR=ON -DRK_SANITIZE=ON \
		-DCMAKE_C_COMPILER=clang
	ctest --test-dir build-asan --output-on-failure -j "$JOBS"
	;;
build)
	install_deps
	build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRK_WERROR=ON
	;;
fuzz)
	install_deps
	secs=${2:-60}
	build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRK_FUZZ=ON -DRK_SANITIZE=ON \
		-DCMAKE_C_COMPILER=clang
	for f in build-fuzz/tests/fuzz_*; do
		case "$f" in *_regress) continue ;; esac
		name=$(basename "$f")
		work=$(mktemp -d)
		cp -r "tests/fuzz/corpus/$name/." "$work/"
		echo "== $name for ${secs}s"
		"$f" -max_total_time="$secs" -print_final_stats=1 "$work" 2>&1 | tail -n 12
		rm -rf "$work"
	done
	;;
*)
	echo "usage: ./run.sh demo|test|build|fuzz [SECONDS]" >&2
	exit 2
	;;
esac
