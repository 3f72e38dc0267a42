# SPDX-License-Identifier: GPL-2.0
#
# Entry points of the KBUS repository.  The kernel work happens under out/
# (see README); the scripts doing it are in devel/.

.PHONY: help test check run shell patches outgoing check-patches kunit selftests smp-test smp-test-kcsan smp-race bench bench-smp prepare clean distclean

help:
	@echo "make test           everything CI runs: patches check, KUnit, kselftests in UML,"
	@echo "                    stress and fuzz tests in an SMP guest"
	@echo "make run            boot the UML kernel with KBUS and run the set-top box demo"
	@echo "make shell          boot the UML kernel with an interactive shell and the kbus tool"
	@echo "make patches        regenerate patches/ from the tree"
	@echo "make outgoing       the series to send, signed by you (git config), in out/outgoing"
	@echo "make check-patches  check that patches/ is up to date and applies"
	@echo "make check          upstream checks: checkpatch, shellcheck, sparse, W=1, coccicheck, docs, =y/=m/=n, modules"
	@echo "make kunit          run the KBUS KUnit suites (kunit.py, UML)"
	@echo "make selftests      run the kbus kselftests in a booted UML kernel"
	@echo "make smp-test       run the stress and fuzz tests in a 2-CPU x86_64 guest"
	@echo "make smp-test-kcsan the same with KCSAN (data races) in place of KASAN"
	@echo "make smp-race       check that the SMP stage fails on a known race"
	@echo "make bench          run kbus_bench in UML, write bench/results-uml.txt"
	@echo "make bench-smp      run kbus_bench in QEMU (emulated x86_64, 2 CPUs)"
	@echo "make prepare        install the host packages, set up out/linux"
	@echo "make clean          remove the build directories, keep out/linux"
	@echo "make distclean      remove out/ entirely"

test:
	@devel/test-all

run:
	@devel/run

shell:
	@devel/shell

patches:
	@devel/prepare-kernel
	@devel/make-series --output patches --am-check patches >/dev/null

outgoing:
	@devel/outgoing

check-patches:
	@devel/check-patches

check:
	@devel/check

kunit:
	@devel/build-tree
	@devel/kunit

selftests:
	@devel/build-tree
	@devel/selftests

smp-test:
	@devel/build-tree
	@devel/smp-test

smp-test-kcsan:
	@devel/build-tree
	@SMP_KCSAN=1 devel/smp-test

smp-race:
	@devel/build-tree
	@SMP_RACE=devel/races/recv-copy-unreferenced.diff devel/smp-test

bench:
	@devel/bench uml

bench-smp:
	@devel/bench smp

prepare:
	@devel/prepare-kernel

# out/linux (the pristine base, slow to recreate) is kept by "clean".
clean:
	rm -rf out/uml out/kselftest out/kselftest-install out/results out/tools-kbus \
		out/uml-bench out/x86-bench out/x86-test out/x86-kcsan out/x86-race out/x86-race-kcsan out/linux-race \
		out/bench-kselftest out/bench-kselftest-install \
		out/tmp out/series out/am-check out/series-head out/series-stack.json out/outgoing out/check-patches.* out/check
	-git -C out/linux worktree prune 2>/dev/null

distclean:
	rm -rf out
