#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Two buses joined by a pair of Limpets: a request on one bus answered by
# a replier on the other, and the status the requester gets when that
# replier is killed while it holds the request.
#
#   limpet-demo.sh BUILD_DIR
#
# BUILD_DIR holds the kbus program.  Run as root on a system with KBUS: a
# kbus filesystem with two buses is mounted in a temporary directory and
# the Limpets talk over a Unix socket there (TCP works the same way, see
# tools/kbus/README).  Ends with "limpet demo: ok" if every step did what
# it should, and exits with 0.

K="${1:?usage: limpet-demo.sh BUILD_DIR}/kbus"
tmp=$(mktemp -d /tmp/kbus-limpet-demo.XXXXXX) || exit 1
pids=
mounted=

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -z "$mounted" ] || umount -l "$tmp/fs"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() {
	echo "limpet demo: $*"
}

fail() {
	say "FAILED: $*"
	exit 1
}

# Retry COMMAND... every 50 ms, for up to 10 s.
retry() {
	i=0
	while [ $i -lt 200 ]; do
		"$@" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

mkdir "$tmp/fs" || exit 1
mount -t kbus -o buses=2 none "$tmp/fs" || fail "cannot mount a kbus filesystem"
mounted=1
bus0=$tmp/fs/kbus0
bus1=$tmp/fs/kbus1
say "bus 0 is $bus0, bus 1 is $bus1"

"$K" -b "$bus0" limpet -n 1 -l "$tmp/link" > "$tmp/limpet0" 2>&1 &
pids="$pids $!"
"$K" -b "$bus1" limpet -n 2 -c "$tmp/link" > "$tmp/limpet1" 2>&1 &
pids="$pids $!"
if ! retry grep -q linked "$tmp/limpet0" ||
   ! retry grep -q linked "$tmp/limpet1"; then
	fail "the Limpets did not link: $(cat "$tmp/limpet0" "$tmp/limpet1")"
fi
sed 's/^/    /' "$tmp/limpet0" "$tmp/limpet1"

say "a replier for \$.Demo.Time on bus 1, answering with the date"
"$K" -b "$bus1" reply '$.Demo.Time' -- date '+%H:%M:%S' &
pids="$pids $!"
retry "$K" -b "$bus0" replier '$.Demo.Time' > "$tmp/proxy" 2> /dev/null ||
	fail "no replier by proxy for \$.Demo.Time on bus 0"
say "on bus 0, Ksock $(cat "$tmp/proxy") (the Limpet) replies for it by proxy"
answer=$("$K" -b "$bus0" request '$.Demo.Time' 2>&1) ||
	fail "the request was not answered: $answer"
say "a request on bus 0 is answered from bus 1: $answer"

say "a replier for \$.Demo.Slow on bus 1 that takes 60 s, then killed"
"$K" -b "$bus1" reply '$.Demo.Slow' -- sleep 60 &
slow=$!
pids="$pids $slow"
retry "$K" -b "$bus0" replier '$.Demo.Slow' > /dev/null 2>&1 ||
	fail "no replier by proxy for \$.Demo.Slow on bus 0"
"$K" -b "$bus0" request -t 30000 '$.Demo.Slow' > "$tmp/slow" 2>&1 &
req=$!
# Kill it once it has the request: its command, a child, is running.
retry pgrep -P "$slow" -x sleep > "$tmp/child" ||
	fail "the slow replier never got the request"
kill -9 "$slow"
say "killed the replier (pid $slow) holding the request"
wait "$req"
st=$?
say "the requester on bus 0 got: $(cat "$tmp/slow")"
if [ "$st" != 3 ] || ! grep -q '\$\.KBUS\.Replier\.' "$tmp/slow"; then
	fail "no KBUS status for the request (exit status $st)"
fi
kill "$(cat "$tmp/child")" 2>/dev/null
say "ok"
