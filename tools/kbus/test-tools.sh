#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Check the kbus command and the set-top box demo on a running KBUS.
#
#   test-tools.sh BUILD_DIR [BUS]
#
# BUILD_DIR holds the kbus program and demo/ (the output directory of
# "make -C tools/kbus").  Run as root on a system with the kbus driver
# loaded (/dev/kbus0) and debugfs mounted; a kbus filesystem is mounted
# under a temporary directory for the checks of add-bus and remove-bus.
# Prints TAP-like lines
# ("ok N - ..." / "not ok N - ...") and exits with 0 if every check
# passed, 1 otherwise.

build=${1:?usage: test-tools.sh BUILD_DIR [BUS]}
bus=${2:-0}
K="$build/kbus"
DEMO="$build/demo/stb-demo"

tmp=$(mktemp -d /tmp/kbus-tools.XXXXXX) || exit 1
n=0
failed=0
pids=
mnt=

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	# Never remove files through a kbus filesystem still mounted in $tmp.
	if [ -n "$mnt" ]; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null ||
			return
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do
		echo "# $line"
	done
}

# check DESCRIPTION COMMAND...: one test that passes if COMMAND does.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# Show a file as TAP comments.
show() {
	sed 's/^/# /' "$1"
}

# Retry COMMAND... every 50 ms, for up to 5 s.
retry() {
	i=0
	while [ $i -lt 100 ]; do
		"$@" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# bound PID L|R NAME: does process PID have that binding on our bus?
# shellcheck disable=SC2317 # run by retry "$@"
bound() {
	"$K" -b "$bus" bindings 2>/dev/null |
		awk -v b="$bus:" -v pid="$1" -v t="$2" -v name="$3" \
		'$1 == b && $3 == pid && $4 == t && $5 == name { f = 1 }
		 END { exit !f }'
}

# gone PID: has the process exited (it may still be a zombie)?
# shellcheck disable=SC2317 # run by retry "$@"
gone() {
	s=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$s" ] || [ "${s#Z}" != "$s" ]
}

# wait_exit PID: wait for a background process, at most 5 s; its status.
wait_exit() {
	retry gone "$1" || kill -9 "$1" 2>/dev/null
	wait "$1"
}

if [ ! -x "$K" ] || [ ! -x "$DEMO" ]; then
	echo "Bail out! no $K or $DEMO: build tools/kbus first"
	exit 1
fi
if [ ! -e "/dev/kbus$bus" ]; then
	echo "Bail out! /dev/kbus$bus does not exist (is the kbus driver loaded?)"
	exit 1
fi

# --- usage ---
"$K" help > "$tmp/help" 2>&1
check "kbus help prints the usage" grep -q '^usage: kbus' "$tmp/help"
"$K" frobnicate > /dev/null 2>&1
check "an unknown command is a usage error (exit 1)" [ $? = 1 ]
"$K" -b "$bus" version > "$tmp/version" 2>&1
check "kbus version reports KBUS ABI version 2" \
	grep -q '^KBUS ABI version 2 ' "$tmp/version"

# --- listen + send ---
"$K" -b "$bus" listen -n 1 -t 10000 '$.*' > "$tmp/listen" 2>&1 &
lpid=$!
pids="$pids $lpid"
if retry bound "$lpid" L '$.*'; then
	ok "kbus bindings shows the listener of \$.*"
else
	not_ok "kbus bindings shows the listener of \$.*"
fi
"$K" -b "$bus" send '$.Hello' hi
check "kbus send succeeds" [ $? = 0 ]
wait_exit "$lpid"
st=$?
if [ $st = 0 ] && grep -q '\$\.Hello.*"hi"' "$tmp/listen"; then
	ok "kbus listen -n 1 prints the message and exits"
else
	not_ok "kbus listen -n 1 prints the message and exits" \
		"exit status $st, output:" "$(cat "$tmp/listen")"
fi

# --- request / reply round trip ---
"$K" -b "$bus" reply -n 1 '$.Test.Upper' -- tr a-z A-Z > "$tmp/reply" 2>&1 &
rpid=$!
pids="$pids $rpid"
retry bound "$rpid" R '$.Test.Upper'
out=$("$K" -b "$bus" request -t 5000 '$.Test.Upper' 'ping' 2> "$tmp/req")
st=$?
if [ $st = 0 ] && [ "$out" = PING ]; then
	ok "kbus request gets the reply from kbus reply -- CMD"
else
	not_ok "kbus request gets the reply from kbus reply -- CMD" \
		"exit status $st, reply '$out'" "$(cat "$tmp/req" "$tmp/reply")"
fi
wait_exit "$rpid"
check "kbus reply -n 1 exits after one request" [ $? = 0 ]

"$K" -b "$bus" reply -n 1 '$.Test.Cat' -- cat > "$tmp/reply" 2>&1 &
rpid=$!
pids="$pids $rpid"
retry bound "$rpid" R '$.Test.Cat'
out=$(printf 'two\nlines' | "$K" -b "$bus" request -i '$.Test.Cat' 2>&1)
if [ "$out" = "$(printf 'two\nlines')" ]; then
	ok "kbus request -i sends standard input, reply -- cat echoes it"
else
	not_ok "kbus request -i sends standard input, reply -- cat echoes it" \
		"reply '$out'"
fi
wait_exit "$rpid"

# Each reply but the last is sent with the wait for the next request
# (KBUS_IOC_SENDRECV): three requests in turn, each answered.
"$K" -b "$bus" reply -n 3 '$.Test.Three' -- tr a-z A-Z > "$tmp/reply" 2>&1 &
rpid=$!
pids="$pids $rpid"
retry bound "$rpid" R '$.Test.Three'
out=
for word in one two three; do
	out="$out $("$K" -b "$bus" request -t 5000 '$.Test.Three' "$word" 2>&1)"
done
if [ "$out" = " ONE TWO THREE" ]; then
	ok "kbus reply -n 3 answers three requests in turn"
else
	not_ok "kbus reply -n 3 answers three requests in turn" \
		"replies '$out'" "$(cat "$tmp/reply")"
fi
wait_exit "$rpid"
check "kbus reply -n 3 exits after the third request" [ $? = 0 ]

# --- errors ---
"$K" -b "$bus" request '$.Test.Nobody' x > /dev/null 2> "$tmp/err"
st=$?
if [ $st = 2 ] && grep -q 'no replier' "$tmp/err"; then
	ok "a request with no replier fails with exit status 2"
else
	not_ok "a request with no replier fails with exit status 2" \
		"exit status $st: $(cat "$tmp/err")"
fi

"$K" -b "$bus" send '$.Bad..Name' x > /dev/null 2> "$tmp/err"
st=$?
if [ $st = 2 ] && grep -q 'invalid message name' "$tmp/err"; then
	ok "an invalid name fails with exit status 2"
else
	not_ok "an invalid name fails with exit status 2" \
		"exit status $st: $(cat "$tmp/err")"
fi

"$K" -b "$bus" send '$.KBUS.Test' x > /dev/null 2> "$tmp/err"
st=$?
if [ $st = 2 ] && grep -q 'not permitted' "$tmp/err"; then
	ok "sending a \$.KBUS name is refused (EPERM) with exit status 2"
else
	not_ok "sending a \$.KBUS name is refused (EPERM) with exit status 2" \
		"exit status $st: $(cat "$tmp/err")"
fi

# --- a replier that dies holding the request ---
"$K" -b "$bus" reply '$.Test.Dies' -- sleep 30 > /dev/null 2>&1 &
rpid=$!
pids="$pids $rpid"
retry bound "$rpid" R '$.Test.Dies'
"$K" -b "$bus" request -t 10000 '$.Test.Dies' > /dev/null 2> "$tmp/err" &
qpid=$!
pids="$pids $qpid"
# Once the command runs, the replier has read the request.
if retry pgrep -P "$rpid" sleep > /dev/null; then
	spid=$(pgrep -P "$rpid" sleep)
	kill -9 "$rpid"
	kill -9 "$spid" 2>/dev/null
fi
wait_exit "$qpid"
st=$?
desc="a replier killed holding the request: \$.KBUS.Replier.Ignored, exit 3"
if [ $st = 3 ] && grep -q '\$\.KBUS\.Replier\.Ignored' "$tmp/err"; then
	ok "$desc"
else
	not_ok "$desc" "exit status $st: $(cat "$tmp/err")"
fi
wait_exit "$rpid" 2>/dev/null

# --- request timeout ---
"$K" -b "$bus" reply -n 1 '$.Test.Slow' -- sleep 1 > /dev/null 2>&1 &
rpid=$!
pids="$pids $rpid"
retry bound "$rpid" R '$.Test.Slow'
"$K" -b "$bus" request -t 100 '$.Test.Slow' > /dev/null 2> "$tmp/err"
st=$?
if [ $st = 3 ] && grep -q 'no reply within 100 ms' "$tmp/err"; then
	ok "kbus request -t times out with exit status 3"
else
	not_ok "kbus request -t times out with exit status 3" \
		"exit status $st: $(cat "$tmp/err")"
fi
wait_exit "$rpid"

# --- replier query, stateful request ---
"$K" -b "$bus" reply -n 2 '$.Test.State' > /dev/null 2>&1 &
rpid=$!
pids="$pids $rpid"
retry bound "$rpid" R '$.Test.State'
id=$("$K" -b "$bus" replier '$.Test.State' 2> "$tmp/err")
case $id in
''|*[!0-9]*) not_ok "kbus replier prints the replier's Ksock id" \
		"got '$id': $(cat "$tmp/err")" ;;
*) ok "kbus replier prints the replier's Ksock id" ;;
esac
out=$("$K" -b "$bus" request -s "$id" '$.Test.State' 'same' 2> "$tmp/err")
check "a stateful request to the replier's id gets the reply" [ "$out" = same ]
"$K" -b "$bus" request -s $((id + 1000)) '$.Test.State' 'other' \
	> /dev/null 2> "$tmp/err"
st=$?
if [ $st = 2 ] && grep -q 'no longer the replier' "$tmp/err"; then
	ok "a stateful request to another id fails (EPIPE), exit status 2"
else
	not_ok "a stateful request to another id fails (EPIPE), exit status 2" \
		"exit status $st: $(cat "$tmp/err")"
fi
"$K" -b "$bus" request '$.Test.State' 'last' > /dev/null 2>&1
wait_exit "$rpid"

# --- monitor ---
"$K" -b "$bus" monitor > "$tmp/monitor" 2>&1 &
mpid=$!
pids="$pids $mpid"
retry bound "$mpid" L '$.*'
"$K" -b "$bus" send '$.Test.Monitored' 'seen'
if retry grep -q 'announce from [0-9]* to 0 \$\.Test\.Monitored "seen"' \
	"$tmp/monitor"; then
	ok "kbus monitor prints the messages on the bus"
else
	not_ok "kbus monitor prints the messages on the bus" \
		"$(cat "$tmp/monitor")"
fi
kill "$mpid"
wait_exit "$mpid"
check "kbus monitor exits cleanly on SIGTERM" [ $? = 0 ]

# --- debugfs ---
"$K" bindings > "$tmp/bindings" 2>&1
check "kbus bindings prints the bindings file" \
	grep -q '^# <device> is bound to' "$tmp/bindings"
"$K" stats > "$tmp/stats" 2>&1
check "kbus stats shows bus $bus" grep -q "^dev *$bus:" "$tmp/stats"

# --- a kbus filesystem: add-bus, remove-bus, bus paths ---

# heard_on_fs: send $.Test.Fs on the filesystem's bus 0, and has its
# listener printed it yet?  (Its buses are not in debugfs: no "bound".)
# shellcheck disable=SC2317 # run by retry "$@"
heard_on_fs() {
	"$K" -b "$fs/kbus0" send '$.Test.Fs' on-fs 2>/dev/null &&
		grep -q '\$\.Test\.Fs.*"on-fs"' "$tmp/fs-listen"
}

fs="$tmp/kbusfs"
mkdir "$fs"
if mount -t kbus -o buses=0 none "$fs" 2> "$tmp/err"; then
	mnt=$fs
	if [ -e "$fs/kbus-control" ] && [ ! -e "$fs/kbus0" ]; then
		ok "mount -t kbus -o buses=0: kbus-control and no bus"
	else
		not_ok "mount -t kbus -o buses=0: kbus-control and no bus" \
			"$(ls -la "$fs")"
	fi
else
	not_ok "mount -t kbus -o buses=0 none $fs" "$(cat "$tmp/err")"
fi

if [ -n "$mnt" ]; then
	tab=$(printf '\t')
	out=$("$K" add-bus "$fs/kbus-control" 2> "$tmp/err")
	st=$?
	if [ $st = 0 ] && [ "$out" = "0$tab$fs/kbus0" ] &&
		[ -e "$fs/kbus0" ]; then
		ok "kbus add-bus prints 0 and the path of the new node"
	else
		not_ok "kbus add-bus prints 0 and the path of the new node" \
			"exit status $st, got '$out': $(cat "$tmp/err")"
	fi
	out=$("$K" add-bus "$fs/kbus-control" 2> "$tmp/err")
	st=$?
	if [ $st = 0 ] && [ "$out" = "1$tab$fs/kbus1" ] &&
		[ -e "$fs/kbus1" ]; then
		ok "a second kbus add-bus prints 1"
	else
		not_ok "a second kbus add-bus prints 1" \
			"exit status $st, got '$out': $(cat "$tmp/err")"
	fi

	"$K" -b "$fs/kbus1" version > "$tmp/version" 2>&1
	if grep -q '^KBUS ABI version 2 ' "$tmp/version"; then
		ok "kbus -b PATH version works on a bus node"
	else
		not_ok "kbus -b PATH version works on a bus node" \
			"$(cat "$tmp/version")"
	fi

	# A message on the filesystem's bus 0 stays there: /dev/kbus$bus
	# gets only its own.
	"$K" -b "$fs/kbus0" listen -n 1 -t 10000 '$.Test.Fs' \
		> "$tmp/fs-listen" 2>&1 &
	fpid=$!
	"$K" -b "$bus" listen -n 1 -t 10000 '$.Test.Fs' \
		> "$tmp/dev-listen" 2>&1 &
	dpid=$!
	pids="$pids $fpid $dpid"
	retry bound "$dpid" L '$.Test.Fs'
	retry heard_on_fs
	wait_exit "$fpid"
	st=$?
	if [ $st = 0 ] && grep -q '\$\.Test\.Fs.*"on-fs"' "$tmp/fs-listen"
	then
		ok "a message sent on a bus node reaches its listener"
	else
		not_ok "a message sent on a bus node reaches its listener" \
			"exit status $st, output:" "$(cat "$tmp/fs-listen")"
	fi
	"$K" -b "$bus" send '$.Test.Fs' on-dev
	wait_exit "$dpid"
	st=$?
	if [ $st = 0 ] && grep -q '"on-dev"' "$tmp/dev-listen" &&
		! grep -q '"on-fs"' "$tmp/dev-listen"; then
		ok "a message sent on a bus node does not reach /dev/kbus$bus"
	else
		not_ok "a message sent on a bus node does not reach /dev/kbus$bus" \
			"exit status $st, output:" "$(cat "$tmp/dev-listen")"
	fi

	# Its standard input keeps the bus open while it runs.
	"$K" remove-bus "$fs/kbus-control" 0 < "$fs/kbus0" > /dev/null \
		2> "$tmp/err"
	st=$?
	if [ $st = 2 ] && grep -q 'is open' "$tmp/err" && [ -e "$fs/kbus0" ]
	then
		ok "kbus remove-bus of an open bus fails (EBUSY)"
	else
		not_ok "kbus remove-bus of an open bus fails (EBUSY)" \
			"exit status $st: $(cat "$tmp/err")"
	fi

	"$K" remove-bus "$fs/kbus-control" 1 > /dev/null 2> "$tmp/err"
	st=$?
	if [ $st = 0 ] && [ ! -e "$fs/kbus1" ]; then
		ok "kbus remove-bus removes the bus and its node"
	else
		not_ok "kbus remove-bus removes the bus and its node" \
			"exit status $st: $(cat "$tmp/err")"
	fi

	"$K" remove-bus "$fs/kbus-control" 7 > /dev/null 2> "$tmp/err"
	st=$?
	if [ $st != 0 ] && grep -q 'no such bus' "$tmp/err"; then
		ok "kbus remove-bus of a bus that does not exist fails"
	else
		not_ok "kbus remove-bus of a bus that does not exist fails" \
			"exit status $st: $(cat "$tmp/err")"
	fi

	if umount "$fs" 2> "$tmp/err"; then
		mnt=
		ok "umount of the kbus filesystem"
	else
		not_ok "umount of the kbus filesystem" "$(cat "$tmp/err")"
	fi
fi

# --- bridging: Limpets (bridge-test's own checks, one line each) ---
if [ -x "$build/bridge-test" ]; then
	timeout 300 "$build/bridge-test" "$K" > "$tmp/bridge" 2>&1
	st=$?
	seen=0
	while IFS= read -r line; do
		case $line in
		"ok "*)
			seen=$((seen + 1))
			ok "bridge: ${line#* - }"
			;;
		"not ok "*)
			seen=$((seen + 1))
			not_ok "bridge: ${line#* - }"
			;;
		"#"*)
			echo "$line"
			;;
		esac
	done < "$tmp/bridge"
	if [ $st = 0 ] && [ $seen -gt 0 ]; then
		ok "bridge-test exits with 0 after $seen checks"
	else
		not_ok "bridge-test exits with 0 after $seen checks" \
			"exit status $st" "$(tail -n 5 "$tmp/bridge")"
	fi
else
	not_ok "bridge-test is built" "no $build/bridge-test"
fi

# --- two buses joined by Limpets: the demo of make run ---
if [ -x "$build/limpet-demo.sh" ]; then
	timeout 120 "$build/limpet-demo.sh" "$build" > "$tmp/limpet-demo" 2>&1
	st=$?
	show "$tmp/limpet-demo"
	last=$(tail -n 1 "$tmp/limpet-demo")
	if [ $st = 0 ] && [ "$last" = "limpet demo: ok" ]; then
		ok "the Limpet demo ends with 'limpet demo: ok'"
	else
		not_ok "the Limpet demo ends with 'limpet demo: ok'" \
			"exit status $st, last line '$last'"
	fi
else
	not_ok "limpet-demo.sh is next to the kbus command" "no $build/limpet-demo.sh"
fi

# --- the demo ---
timeout 120 "$DEMO" -b "$bus" > "$tmp/demo" 2>&1
st=$?
show "$tmp/demo"
last=$(tail -n 1 "$tmp/demo")
if [ $st = 0 ] && [ "$last" = "demo: ok" ]; then
	ok "the set-top box demo ends with 'demo: ok'"
else
	not_ok "the set-top box demo ends with 'demo: ok'" \
		"exit status $st, last line '$last'"
fi

echo "1..$n"
if [ $failed = 0 ]; then
	echo "# all $n checks passed"
	exit 0
fi
echo "# $failed of $n checks failed"
exit 1
