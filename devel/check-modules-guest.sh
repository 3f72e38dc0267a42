#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The "modules" mode of the UML guest (devel/guest-init.sh runs it): load
# and unload kbus.ko and the KUnit module built with KBUS=m, and check
# what they do.  Runs inside the guest only.
#
#   check-modules-guest.sh <modules-root> <results-dir> <kselftest-dir> <timeout>
#
# <modules-root> is the INSTALL_MOD_PATH of "make modules_install";
# <kselftest-dir> holds the installed kselftests (kbus/base_test is run
# with the module loaded), or is empty to skip that step.  Writes one
# "ok N - ..." or "not ok N - ..." line per check to
# <results-dir>/modules.tap; the KUnit results end up in the kernel log,
# which guest-init.sh saves.  The host judges both
# (devel/check-verdict modules).

set +e
modroot=$1
results=$2
ksft=$3
per_test_timeout=${4:-300}

tap=$results/modules.tap
n=0
: > "$tap"

# check <description> <command...>: one TAP line for the command's status.
check() {
	local desc=$1 r
	shift
	n=$((n + 1))
	"$@" >> "$results/modules.log" 2>&1
	r=$?
	if [ "$r" = 0 ]; then
		echo "ok $n - $desc" | tee -a "$tap"
	else
		echo "not ok $n - $desc (status $r)" | tee -a "$tap"
	fi
	return "$r"
}

# shellcheck disable=SC2317 # run by check "$@"
absent() {
	local f
	for f in "$@"; do
		[ ! -e "$f" ] || { echo "$f exists"; return 1; }
	done
}

# shellcheck disable=SC2317 # run by check "$@"
chardevs() {
	local f
	for f in "$@"; do
		[ -c "$f" ] || { echo "$f is not a character device"; return 1; }
	done
}

# finit_module(2) with parameters; succeeds if it fails with <errno>.
# shellcheck disable=SC2317 # run by check "$@"
load_fails_with() {
	python3 - "$@" <<-'EOF'
	import ctypes, errno, os, sys
	path, params, want = sys.argv[1], sys.argv[2], getattr(errno, sys.argv[3])
	libc = ctypes.CDLL(None, use_errno=True)
	fd = os.open(path, os.O_RDONLY)
	# __NR_finit_module: UML runs x86_64 binaries with x86_64 numbers.
	r = libc.syscall(313, fd, params.encode(), 0)
	err = ctypes.get_errno()
	print(f"finit_module({path!r}, {params!r}) = {r}, errno {errno.errorcode.get(err, err)}")
	sys.exit(0 if r == -1 and err == want else 1)
	EOF
}

rel=$(uname -r)
dir=$modroot/lib/modules/$rel/kernel/drivers/ipc/kbus
kbus=$dir/kbus.ko
kunit=$dir/tests/kbus_kunit.ko
trig=$modroot/lib/modules/$rel/kernel/drivers/leds/trigger/ledtrig-kbus.ko
echo "modules: $dir" >> "$results/modules.log"

# Before the series adds its KUnit tests, there is no kbus_kunit.ko.
if [ -f "$kunit" ]; then
	check "kbus.ko and kbus_kunit.ko are installed for $rel" test -f "$kbus" ||
		{ echo "1..$n" >> "$tap"; exit 0; }
else
	kunit=
	check "kbus.ko is installed for $rel (no KUnit module)" \
		test -f "$kbus" -a ! -e "$dir/tests" || { echo "1..$n" >> "$tap"; exit 0; }
fi
check "no /dev/kbus0 and no kbus module before loading" absent /dev/kbus0 /sys/module/kbus

# num_devices must be 1 to 256 (Documentation/ipc/kbus.rst).
check "num_devices=0 is refused with EINVAL" load_fails_with "$kbus" num_devices=0 EINVAL
check "num_devices=257 is refused with EINVAL" load_fails_with "$kbus" num_devices=257 EINVAL
# shellcheck disable=SC2016 # expanded by eval
check "insmod num_devices=0 fails" eval '! insmod "$kbus" num_devices=0'
check "nothing is left of the refused loads" absent /dev/kbus0 /sys/module/kbus

check "insmod kbus.ko num_devices=3" insmod "$kbus" num_devices=3
check "/dev/kbus0, /dev/kbus1 and /dev/kbus2 exist" chardevs /dev/kbus0 /dev/kbus1 /dev/kbus2
check "/dev/kbus3 does not exist" absent /dev/kbus3
check "rmmod kbus" rmmod kbus
check "/dev/kbus0..2 are gone" absent /dev/kbus0 /dev/kbus1 /dev/kbus2 /sys/module/kbus

check "insmod kbus.ko" insmod "$kbus"
check "/dev/kbus0 exists" chardevs /dev/kbus0
check "/dev/kbus1 does not exist" absent /dev/kbus1
check "num_devices is 1" grep -qx 1 /sys/module/kbus/parameters/num_devices
# The suites run when the module is loaded; their results go to the
# kernel log.
if [ -n "$kunit" ]; then
	check "insmod kbus_kunit.ko (runs the KUnit suites)" insmod "$kunit"
	check "rmmod kbus_kunit" rmmod kbus_kunit
fi
if [ -n "$ksft" ]; then
	# shellcheck disable=SC2016 # $1..$3 are the inner sh's arguments
	check "kselftest kbus/base_test passes" \
		sh -c 'cd "$1" && timeout "$2" ./base_test > "$3/base_test.tap" 2>&1' \
		sh "$ksft/kbus" "$per_test_timeout" "$results"
fi
# The LED trigger: loaded on kbus, unloaded with requests in flight.
if [ -f "$trig" ]; then
	check "insmod ledtrig-kbus.ko" insmod "$trig"
	check "the kbus LED trigger is registered" \
		test -d /sys/module/ledtrig_kbus
	check "rmmod kbus fails while ledtrig-kbus uses it" eval '! rmmod kbus'
	if [ -n "$ksft" ] && [ -x "$ksft/kbus/leds_test" ]; then
		# shellcheck disable=SC2016 # $1..$3 are the inner sh's arguments
		check "kselftest kbus/leds_test passes with the trigger a module" \
			sh -c 'cd "$1" && timeout "$2" ./leds_test > "$3/leds_test.tap" 2>&1' \
			sh "$ksft/kbus" "$per_test_timeout" "$results"
		# shellcheck disable=SC2016 # $1..$3 are the inner sh's arguments
		check "unloading ledtrig-kbus with requests in flight answers each once" \
			sh -c 'cd "$1" && KBUS_LEDS_UNLOAD=ledtrig_kbus timeout "$2" ./leds_test -t losing_the_trigger_answers_every_request > "$3/leds_unload.tap" 2>&1' \
			sh "$ksft/kbus" "$per_test_timeout" "$results"
	else
		check "rmmod ledtrig-kbus" rmmod ledtrig_kbus
	fi
	check "the ledtrig_kbus module is gone" absent /sys/module/ledtrig_kbus
fi
check "rmmod kbus" rmmod kbus
check "/dev/kbus0 is gone" absent /dev/kbus0
check "the kbus module is gone" absent /sys/module/kbus
echo "1..$n" >> "$tap"
exit 0
