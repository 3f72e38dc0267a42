# SPDX-License-Identifier: GPL-2.0
# Helpers for the glue steps: small, idempotent line edits of existing
# kernel files.  Every edit anchors on an exact line of the 6.12 file and
# fails loudly if that line is not found exactly once, so a changed base
# kernel is noticed instead of silently producing a wrong tree.
#
# A glue step is run as:  devel/glue/<step> <kernel-tree> <repo-root>
# and edits the one file named on its "# Target:" line.
# shellcheck shell=bash

set -euo pipefail

TREE=${1:?usage: $0 <kernel-tree> <repo-root>}
# shellcheck disable=SC2034 # for the steps that read the repository (maintainers)
REPO=${2:?usage: $0 <kernel-tree> <repo-root>}

die() { printf 'glue %s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# insert_line <file> <before|after> <anchor line> <new line>
#   Insert <new line> right before/after the line that equals <anchor>.
#   No-op if <new line> is already in the file.
insert_line() {
	local file=$TREE/$1 where=$2 anchor=$3 new=$4 n
	[ -f "$file" ] || die "$1: no such file"
	if grep -qxF -- "$new" "$file"; then
		return 0
	fi
	n=$(grep -cxF -- "$anchor" "$file" || true)
	[ "$n" = 1 ] || die "$1: anchor line '$anchor' found $n times, expected once"
	awk -v where="$where" -v anchor="$anchor" -v new="$new" '
		$0 == anchor && where == "before" { print new }
		{ print }
		$0 == anchor && where == "after" { print new }
	' "$file" > "$file.glue-tmp"
	cat "$file.glue-tmp" > "$file"
	rm -f "$file.glue-tmp"
}

# insert_block_before <file> <anchor line> <block file>
#   Insert the contents of <block file> followed by an empty line right
#   before the line that equals <anchor>.  If a block with the same first
#   line is already present (up to the next empty line), it is replaced.
insert_block_before() {
	local file=$TREE/$1 anchor=$2 block=$3 first n
	[ -f "$file" ] || die "$1: no such file"
	[ -s "$block" ] || die "$block: missing or empty"
	first=$(head -n 1 "$block")
	n=$(grep -cxF -- "$anchor" "$file" || true)
	[ "$n" = 1 ] || die "$1: anchor line '$anchor' found $n times, expected once"
	awk -v anchor="$anchor" -v first="$first" -v block="$block" '
		# Drop an existing copy of the block (and its trailing empty line).
		skip && $0 == "" { skip = 0; next }
		skip { next }
		$0 == first { skip = 1; next }
		$0 == anchor {
			while ((getline l < block) > 0) print l
			print ""
		}
		{ print }
	' "$file" > "$file.glue-tmp"
	cat "$file.glue-tmp" > "$file"
	rm -f "$file.glue-tmp"
}
