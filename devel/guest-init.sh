#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# init (PID 1) of the UML guest booted by devel/boot-uml.  The guest's root
# is the host's / through hostfs; the mounts below only exist inside the
# guest.  Settings come from the kernel command line (UML passes unknown
# key=value parameters to init's environment):
#
#   KBUS_MODE=test|run|shell|bench|modules
#                        test:  run run_kselftest.sh and tools/kbus's
#                               test-tools.sh; save TAP, dmesg, kmemleak
#                        run:   show /dev/kbus0 and run the set-top box demo
#                        shell: an interactive shell with the kbus command
#                        bench: run kbus_bench, its output in bench.txt
#                        modules: load and unload kbus.ko and its KUnit
#                               module (devel/check-modules-guest.sh)
#   KBUS_RESULTS=<dir>   host directory for the result files
#   KBUS_KSFT=<dir>      kselftest install directory (run_kselftest.sh)
#   KBUS_TOOLS=<dir>     tools/kbus build directory (kbus, demo/)
#   KBUS_MODROOT=<dir>   modules_install directory (modules)
#   KBUS_TIMEOUT=<s>     per-test timeout
#   KBUS_BENCH_ITERS=<n> kbus_bench's iterations (bench; default its own)
#   KBUS_BENCH_SHAPES=<list> kbus_bench's shapes (bench; default all)
#   KBUS_SCRIPT=<file>   shell: run bash <file> instead of a shell
#
# Whatever happens, the guest powers off at the end.

set +e
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LC_ALL=C
umask 022

mode=${KBUS_MODE:-test}
results=${KBUS_RESULTS:-}
ksft=${KBUS_KSFT:-}
tools=${KBUS_TOOLS:-}
per_test_timeout=${KBUS_TIMEOUT:-300}
proc_ok=

say() { echo "guest-init: $*"; }

# shellcheck disable=SC2317 # run by the EXIT trap
power_off() {
	sync
	# reboot(2) goes to the guest kernel: never the host.  sysrq is only
	# a fallback, and only once /proc is known to be the guest's procfs.
	python3 -c 'import ctypes, os; os.sync(); ctypes.CDLL(None).reboot(0x4321fedc)'
	[ -n "$proc_ok" ] && echo o > /proc/sysrq-trigger
	sleep 10
	say "power off failed"
	exit 1
}
trap power_off EXIT

fail() {
	say "FATAL: $*"
	[ -n "$results" ] && [ -d "$results" ] && echo "fatal: $*" >> "$results/guest-status"
	exit 1
}

# Everything below writes to files only after the corresponding guest
# filesystem is mounted, so a failed mount never touches the host's.
mount -t proc proc /proc || fail "mount /proc"
proc_ok=1
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
# devtmpfs has no /dev/fd and /dev/std* (udev makes them); the kselftest
# runner writes to /dev/stdout.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm || fail "mount /dev/shm"
# Scratch space in the guest's memory rather than on the host, except
# where the repository or its out/ directory lives.
for d in /tmp /run; do
	case "$results/ $ksft/ $0" in
	"$d"/*|*" $d"/*) say "not mounting a tmpfs on $d (used by this run)" ;;
	*) mount -t tmpfs tmpfs "$d" || fail "mount $d" ;;
	esac
done
mount -t debugfs debugfs /sys/kernel/debug || fail "mount debugfs"
[ -d /sys/kernel/tracing ] && mount -t tracefs tracefs /sys/kernel/tracing

{ [ -n "$results" ] && [ -d "$results" ]; } || fail "no result directory '$results'"
if [ "$mode" = test ]; then
	{ [ -n "$ksft" ] && [ -x "$ksft/run_kselftest.sh" ]; } || fail "no run_kselftest.sh in '$ksft'"
fi
[ "$mode" = bench ] || [ "$mode" = modules ] ||
	{ [ -n "$tools" ] && [ -x "$tools/kbus" ]; } || fail "no kbus command in '$tools'"
echo started > "$results/guest-status"

say "kernel $(uname -r), mode $mode"
ls -l /dev/kbus* > "$results/devices.txt" 2>&1
cat "$results/devices.txt"

case "$mode" in
test)
	# TAP output of every kbus selftest.  Appending: the runner reopens
	# /dev/stdout for the tests' own output, which must not be
	# overwritten by its later writes.
	: > "$results/kselftest.tap"
	(cd "$ksft" && ./run_kselftest.sh -c kbus -o "$per_test_timeout") \
		>> "$results/kselftest.tap" 2>&1
	echo "run_kselftest.sh exit status $?" >> "$results/guest-status"
	# The kbus command and the demo, on the same kernel.
	timeout "$per_test_timeout" "$tools/test-tools.sh" "$tools" \
		> "$results/tools.tap" 2>&1
	echo "test-tools.sh exit status $?" >> "$results/guest-status"
	;;
run)
	echo
	say "===== the set-top box demo (tools/kbus/demo) ====="
	timeout "$per_test_timeout" "$tools/demo/stb-demo" 2>&1 |
		tee "$results/demo.log"
	r=${PIPESTATUS[0]}
	say "===== demo exit status $r ====="
	echo "demo $r" >> "$results/run-status"
	echo
	say "===== two buses joined by Limpets (tools/kbus/limpet-demo.sh) ====="
	timeout "$per_test_timeout" "$tools/limpet-demo.sh" "$tools" 2>&1 |
		tee "$results/limpet-demo.log"
	r=${PIPESTATUS[0]}
	say "===== Limpet demo exit status $r ====="
	echo "limpet-demo $r" >> "$results/run-status"
	echo
	say "===== bindings left behind (should be none) ====="
	"$tools/kbus" bindings
	;;
bench)
	# Output to bench.txt, progress on the console.  No time limit of
	# its own: boot-uml's BOOT_TIMEOUT bounds the whole boot.
	# The shape "bridge" is tools/kbus's bridge-test -B, run after
	# kbus_bench (UML only: it needs the kbus command and mosquitto).
	shapes=${KBUS_BENCH_SHAPES:-}
	kshapes=$(tr ',' '\n' <<< "$shapes" | grep -vx bridge | paste -sd, -)
	: > "$results/bench.txt"
	if [ -z "$shapes" ] || [ -n "$kshapes" ]; then
		"$tools/bench/kbus_bench" ${KBUS_BENCH_ITERS:+-n "$KBUS_BENCH_ITERS"} \
			${kshapes:+-t "$kshapes"} >> "$results/bench.txt"
		echo "kbus_bench exit status $?" >> "$results/guest-status"
	fi
	if [ -z "$shapes" ] || [ "$kshapes" != "$shapes" ]; then
		if [ -n "$tools" ] && [ -x "$tools/bridge-test" ]; then
			echo >> "$results/bench.txt"
			"$tools/bridge-test" -B "${KBUS_BENCH_BRIDGE:-2000}" \
				"$tools/kbus" >> "$results/bench.txt" 2>&1
			echo "bridge-test exit status $?" >> "$results/guest-status"
		else
			echo "bridge-test exit status 127 (no $tools/bridge-test)" >> "$results/guest-status"
		fi
	fi
	;;
modules)
	"$(dirname "$0")/check-modules-guest.sh" "${KBUS_MODROOT:-}" "$results" \
		"$ksft" "$per_test_timeout"
	echo "check-modules-guest.sh exit status $?" >> "$results/guest-status"
	;;
shell)
	export PATH="$tools:$tools/demo:$PATH"
	if [ -n "${KBUS_SCRIPT:-}" ]; then
		bash "$KBUS_SCRIPT"
		echo "script exit status $?" >> "$results/guest-status"
	else
		cat <<-EOT

		KBUS shell: /dev/kbus0 is the bus; the kbus command and the demo
		(stb-demo) are on PATH.  Try:
		    kbus listen '\$.*' &
		    kbus send '\$.Hello' hi
		Leave with "exit" (or Ctrl-D); the guest then powers off.

		EOT
		cd /root 2>/dev/null || cd /
		setsid -c bash -i
		echo "shell exit status $?" >> "$results/guest-status"
	fi
	;;
*)
	fail "unknown KBUS_MODE '$mode'"
	;;
esac

# Memory leaks: two scans a few seconds apart (objects must be seen as
# unreferenced twice), see Documentation/dev-tools/kmemleak.rst.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	sleep 5
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$results/kmemleak.txt"
else
	echo "kmemleak not available" >> "$results/guest-status"
fi

dmesg > "$results/dmesg.txt" 2>&1
echo "done" >> "$results/guest-status"
say "done"
exit 0
