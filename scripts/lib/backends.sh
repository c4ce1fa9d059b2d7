# SPDX-License-Identifier: GPL-2.0-only
# scripts/lib/backends.sh - the backend list for builds that do not go
# through CMake (oss-fuzz/build.sh, fuzz/afl.sh), by the rule of
# cmake/backends.cmake: the ZPOOL_BACKEND(name) lines of
# backends/backends.def, then each folder of ZPOOL_EXTRA_BACKENDS (';'
# between folders; relative ones from the source tree), named by the lines
# of its backend.def or, without one, by the folder.
#
#   . scripts/lib/backends.sh
#   zpool_backends ROOT GENDIR || exit 1
#
# sets ZPOOL_BACKEND_NAMES and ZPOOL_BACKEND_SOURCES (arrays) and writes
# GENDIR/backends.def, the registry zpool.c includes: put -IGENDIR before
# -I ROOT/backends. Returns 1 with a message on stderr for a folder that
# holds no backend.

zpool_backends() {
	local root=$1 gen=$2 dir b names extra=()
	ZPOOL_BACKEND_NAMES=()
	ZPOOL_BACKEND_SOURCES=()
	for b in $(sed -n 's/^ZPOOL_BACKEND(\([a-z0-9_]*\)).*/\1/p' "$root/backends/backends.def"); do
		ls "$root/backends/$b/"*.c >/dev/null 2>&1 ||
			{ echo "backends.def registers $b but backends/$b has no .c file" >&2; return 1; }
		ZPOOL_BACKEND_NAMES+=("$b")
		ZPOOL_BACKEND_SOURCES+=("$root/backends/$b/"*.c)
	done
	[ ${#ZPOOL_BACKEND_NAMES[@]} -gt 0 ] || { echo "no ZPOOL_BACKEND lines in backends.def" >&2; return 1; }
	IFS=';' read -r -a extra <<<"${ZPOOL_EXTRA_BACKENDS:-}"
	for dir in "${extra[@]}"; do
		[ -n "$dir" ] || continue
		case $dir in /*) ;; *) dir=$root/$dir ;; esac
		ls "$dir/"*.c >/dev/null 2>&1 || { echo "ZPOOL_EXTRA_BACKENDS: $dir has no .c file" >&2; return 1; }
		if [ -f "$dir/backend.def" ]; then
			names=$(sed -n 's/^ZPOOL_BACKEND(\([a-z0-9_]*\)).*/\1/p' "$dir/backend.def")
		else
			names=$(basename "$dir")
		fi
		[ -n "$names" ] || { echo "ZPOOL_EXTRA_BACKENDS: $dir/backend.def names no backend" >&2; return 1; }
		for b in $names; do ZPOOL_BACKEND_NAMES+=("$b"); done
		ZPOOL_BACKEND_SOURCES+=("$dir/"*.c)
	done
	mkdir -p "$gen"
	for b in "${ZPOOL_BACKEND_NAMES[@]}"; do echo "ZPOOL_BACKEND($b)"; done >"$gen/backends.def"
}
