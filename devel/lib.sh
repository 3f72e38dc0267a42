# SPDX-License-Identifier: GPL-2.0
# Common settings and helpers for the devel/ build glue.  Sourced by the
# scripts in this directory; not meant to be run on its own.
# shellcheck shell=bash
# shellcheck disable=SC2034 # set here for the scripts that source this file

set -Eeuo pipefail

# Every failure says where it happened: the script, the line and the
# command.  The ERR trap is inherited by functions through -E; it speaks
# once per script (kbus_err_shown: a function's caller fails in turn) and
# not inside a subshell or command substitution, whose failure shows in
# the command that uses it (e.g. "x=$(f)") if it matters there.
kbus_err_shown=
kbus_err_level=$BASH_SUBSHELL
kbus_on_err() {
	local rc=$1 line=$2 cmd=$3 src=$4
	[ -n "$kbus_err_shown" ] && return 0
	[ "$BASH_SUBSHELL" = "$kbus_err_level" ] || return 0
	kbus_err_shown=1
	printf 'error: %s:%s: %s failed (exit %s)\n' "${src#"${REPO:-}"/}" \
		"$line" "$cmd" "$rc" >&2
}
trap 'kbus_on_err $? $LINENO "$BASH_COMMAND" "${BASH_SOURCE[0]}"' ERR

# Repository root (the overlay) and the build output directory.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=$(realpath -m "${KBUS_OUT:-$REPO/out}")
case "$REPO$OUT" in
*[[:space:]]*) echo "error: the repository path must not contain spaces" >&2; exit 1 ;;
esac

# Base kernel: Debian's linux-source package.
KSRC_PKG=linux-source-6.12
KSRC_VERSION=6.12.117-1~deb12u1
KSRC_TARBALL=${KBUS_KSRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

# Layout under out/.
LINUX=$OUT/linux              # git repository (objects), worktree = build tree
SERIES_WT=$OUT/series         # worktree used to generate the series
AMCHECK_WT=$OUT/am-check      # scratch worktree for the "git am" check
UML_BUILD=$OUT/uml            # UML kernel for KUnit, the selftests, "make run"
UML_BENCH_BUILD=$OUT/uml-bench  # UML kernel without debugging aids ("make bench")
# The selftest build and install directories; devel/bench uses its own
# pair (out/bench-kselftest*) so as not to disturb a concurrent test run.
KSFT_OBJ=${KBUS_KSFT_OBJ:-$OUT/kselftest}              # uapi headers + selftest objects
KSFT_INSTALL=${KBUS_KSFT_INSTALL:-$OUT/kselftest-install}
RESULTS=$OUT/results          # logs and per-stage verdicts
UML_TMP=$OUT/tmp              # TMPDIR for UML's memory file
TOOLS_BUILD=$OUT/tools-kbus   # tools/kbus: kbus command, demo, test script

JOBS=${JOBS:-$(nproc)}

# Fixed identity and dates: every commit made under out/ is reproducible
# and independent of the user's git configuration.
KBUS_IDENT_NAME="KBUS Maintainers"
KBUS_IDENT_EMAIL="kbus-devel@lists.kbus.dev"
PRISTINE_DATE="2025-01-01T00:00:00+00:00"
SERIES_DATE="2025-01-02T00:00:00+00:00"

# Nothing inherited from a calling git (e.g. GIT_DIR or GIT_INDEX_FILE set
# for a hook) may leak into the commands run here.
# shellcheck disable=SC2046 # word splitting wanted: one GIT_* name a word, no glob characters
unset $(env | sed -n 's/^\(GIT_[A-Za-z0-9_]*\)=.*/\1/p')
export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="$KBUS_IDENT_NAME" GIT_COMMITTER_NAME="$KBUS_IDENT_NAME"
export GIT_AUTHOR_EMAIL="$KBUS_IDENT_EMAIL" GIT_COMMITTER_EMAIL="$KBUS_IDENT_EMAIL"
export LC_ALL=C TZ=UTC

log()  { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# git on the out/linux repository (or one of its worktrees with -C).
lgit() { git -C "$LINUX" "$@"; }

# Host packages needed by every stage.  The kernel source package is
# handled separately because its version is pinned.
HOST_PACKAGES=(
	build-essential bc bison flex libelf-dev libssl-dev
	python3 perl git rsync xz-utils tar cpio kmod sparse
	coreutils util-linux procps
	# scripts/checkpatch.pl's SPDX check (scripts/spdxcheck.py)
	python3-ply python3-git
	# make check: shellcheck on the scripts of devel/ and tools/
	shellcheck
	# make check: coccicheck (spatch compiles the OCaml rules of some
	# semantic patches) and htmldocs (Documentation/sphinx/requirements.txt)
	coccinelle ocaml python3-sphinx python3-alabaster python3-yaml
	# make test: the SMP guest (devel/smp-test)
	qemu-system-x86 busybox-static
	# tools/kbus: "kbus mqtt" and its tests (the broker)
	libmosquitto-dev mosquitto
	# make check: git send-email --dry-run over the series (it needs
	# Mail::Address, which git-email only recommends); README's b4
	# workflow for sending it
	git-email libmailtools-perl b4
)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root to run: $*"
	fi
}

# The installed version of package $1, or nothing if it is not installed.
# dpkg-query fails for a package it has never heard of: that is an answer
# here, not an error.
pkg_installed_version() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null) ||
		return 0
	awk '$1 == "installed" { print $2 }' <<<"$status"
}

APT_UPDATED=
APT_LISTS=${KBUS_APT_LISTS:-/var/lib/apt/lists}
apt_update_once() {
	[ -n "$APT_UPDATED" ] && return 0
	APT_UPDATED=1
	# Package lists refreshed within the hour (e.g. by .ci/run) will do.
	if find "$APT_LISTS" -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | grep -q .; then
		return 0
	fi
	log "apt-get update"
	as_root apt-get update -q
}

# Install whatever is missing: host tools, then the pinned kernel source.
# Nothing is downloaded when everything is already there.
ensure_packages() {
	local missing=() p
	for p in "${HOST_PACKAGES[@]}"; do
		[ -n "$(pkg_installed_version "$p")" ] || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		apt_update_once
		log "installing: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi

	local have
	have=$(pkg_installed_version "$KSRC_PKG")
	if [ "$have" != "$KSRC_VERSION" ] || [ ! -f "$KSRC_TARBALL" ]; then
		apt_update_once
		if apt-cache madison "$KSRC_PKG" | awk -F' *[|] *' '{ print $2 }' |
		   grep -qxF -- "$KSRC_VERSION"; then
			log "installing $KSRC_PKG=$KSRC_VERSION"
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends --allow-downgrades \
				"$KSRC_PKG=$KSRC_VERSION"
		else
			echo "NOTE: $KSRC_PKG $KSRC_VERSION is not available from apt;" \
			     "falling back to the candidate version." >&2
			echo "NOTE: the generated patches' base-commit will then differ" \
			     "from the committed patches/." >&2
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends "$KSRC_PKG"
		fi
	fi
	[ -f "$KSRC_TARBALL" ] || die "$KSRC_TARBALL is missing after installing $KSRC_PKG"
}

# Configure the kernel build directory $1 for "make ARCH=$2" from the
# fragment $4.new with "make $3", if the fragment changed since the last
# time (kept as $4), and check that every line of the fragment ends up in
# the .config.
configure_kernel() {
	local build=$1 arch=$2 base=$3 frag=$4 line opt bad=0
	local cfg=$build/.config

	if [ ! -f "$cfg" ] || ! cmp -s "$frag.new" "$frag"; then
		log "$arch: configuring $build"
		rm -f "$frag"
		make -s -C "$LINUX" O="$build" ARCH="$arch" SUBARCH=x86_64 \
			KCONFIG_ALLCONFIG="$frag.new" "$base"
		mv "$frag.new" "$frag"
	else
		rm -f "$frag.new"
	fi
	make -s -C "$LINUX" O="$build" ARCH="$arch" SUBARCH=x86_64 olddefconfig

	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$cfg" || {
				echo "$build: requested '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo "<absent>")'" >&2
				bad=1
			} ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -qE "^$opt=" "$cfg"; then
				echo "$build: requested '$line', got '$(grep -E "^$opt=" "$cfg")'" >&2
				bad=1
			fi ;;
		esac
	done < "$frag"
	[ "$bad" = 0 ] || die "$build does not have the requested options (see above)"
}

# Install those of the Debian packages $@ that are missing.
need_packages() {
	local p missing=()

	for p in "$@"; do
		[ -n "$(pkg_installed_version "$p")" ] || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	apt_update_once
	log "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}
