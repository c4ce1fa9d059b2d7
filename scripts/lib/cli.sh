# SPDX-License-Identifier: GPL-2.0-only
# scripts/lib/cli.sh - what every shell tool of the harness shares, sourced
# before the tool changes directory:
#
#   . "$(dirname "$0")/../scripts/lib/cli.sh"   # (path from the tool's folder)
#   cli_init fuzz/run.sh                         # name used in every message
#
# - exit codes, one scheme everywhere (docs/exit-codes.md):
#   0 nothing found, 1 a finding, 2 usage, 3 harness failure, 130 interrupted;
# - cli_help / cli_version: --help prints the tool's header comment to
#   stdout and exits 0; --version prints the project version and commit;
# - cli_uint: numbers are decimal ("010" is 10; "0x10", "-1", "1e3" refused);
# - cli_path: a relative path is taken from where the user stands (the
#   directory the tool was started in), never from the repository root;
# - cli_own_dir: a tool deletes only what it made. A folder it creates gets
#   a marker file; a non-empty folder without the marker is refused (exit 2).
# - cli_deps: scripts/deps.sh, after the flags are parsed, unless
#   ZPOOL_NO_DEPS=1.

CLI_EXIT_OK=0
CLI_EXIT_FINDING=1
CLI_EXIT_USAGE=2
CLI_EXIT_HARNESS=3
CLI_EXIT_INTERRUPTED=130
CLI_MARKER=.zpool-harness-owned
CLI_CWD=$PWD
CLI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLI_NAME=${0##*/}
CLI_SELF=$0

# cli_init NAME: the name messages start with; Ctrl-C exits 130.
cli_init() {
	CLI_NAME=$1
	trap 'echo "$CLI_NAME: interrupted" >&2; exit $CLI_EXIT_INTERRUPTED' INT
}

# cli_usage_error MESSAGE...: one line on stderr, exit 2.
cli_usage_error() {
	echo "$CLI_NAME: $* (see $CLI_NAME --help)" >&2
	exit $CLI_EXIT_USAGE
}

# cli_fail MESSAGE...: the harness itself failed (a build, a missing tool,
# an environment problem): one line on stderr, exit 3.
cli_fail() {
	echo "$CLI_NAME: $*" >&2
	exit $CLI_EXIT_HARNESS
}

# cli_help: print the tool's header comment (from the line after the
# SPDX tag to the first line that is not a comment) to stdout, exit 0.
cli_help() {
	awk 'NR == 1 && /^#!/ { next }
		/SPDX-License-Identifier/ { next }
		/^#/ { sub(/^# ?/, ""); if (started || $0 != "") print; started = 1; next }
		{ exit }' "$CLI_SELF"
	exit $CLI_EXIT_OK
}

# cli_version_string: "VERSION, commit HASH" of the checkout the tool is in.
cli_version_string() {
	local version commit
	version=$(sed -n 's/^project(zpool-harness VERSION \([0-9.]*\).*/\1/p' "$CLI_ROOT/CMakeLists.txt")
	commit=$(git -C "$CLI_ROOT" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
	if [ "$commit" != unknown ] &&
		[ -n "$(git -C "$CLI_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		commit+=-dirty
	fi
	echo "${version:-unknown}, commit $commit"
}

# cli_version: print "NAME (zpool-harness) VERSION, commit HASH", exit 0.
cli_version() {
	echo "$CLI_NAME (zpool-harness) $(cli_version_string)"
	exit $CLI_EXIT_OK
}

# cli_common_flag FLAG: handles --help/-h and --version; returns 1 for any
# other flag. Use first in a tool's option loop: cli_common_flag "$1" || case ...
cli_common_flag() {
	case "$1" in
	-h | --help) cli_help ;;
	--version) cli_version ;;
	*) return 1 ;;
	esac
}

# cli_need_value FLAG COUNT: a flag that takes a value must have one.
cli_need_value() {
	[ "$2" -ge 2 ] || cli_usage_error "$1 needs a value"
}

# cli_uint VAR FLAG VALUE [MIN [MAX]]: VALUE must be a decimal number in
# [MIN, MAX] (default 0 and 2^62); VAR gets it with leading zeros removed.
cli_uint() {
	local _flag=$2 _value=$3 _min=${4:-0} _max=${5:-4611686018427387904} _n
	[[ "$_value" =~ ^[0-9]+$ ]] || cli_usage_error "$_flag: '$_value' is not a decimal number"
	_n=${_value#"${_value%%[1-9]*}"} # leading zeros mean nothing
	[ ${#_n} -le 18 ] || cli_usage_error "$_flag: '$_value' is out of range $_min..$_max"
	_n=$((10#${_n:-0}))
	{ [ "$_n" -ge "$_min" ] && [ "$_n" -le "$_max" ]; } ||
		cli_usage_error "$_flag: '$_value' is out of range $_min..$_max"
	printf -v "$1" '%s' "$_n"
}

# cli_path PATH: PATH made absolute from the directory the tool was
# started in (the caller's working directory), without following links.
cli_path() {
	case "$1" in
	/*) realpath -m -- "$1" ;;
	*) realpath -m -- "$CLI_CWD/$1" ;;
	esac
}

# cli_own_dir DIR: make DIR the tool's own: create it with the marker, or
# accept it if it is empty or carries the marker already. A non-empty
# folder without the marker is refused with exit 2: it may be anything.
cli_own_dir() {
	local dir=$1
	if [ -e "$dir" ] && [ ! -d "$dir" ]; then
		cli_usage_error "'$dir' exists and is not a folder"
	fi
	# The checkout's build/ (git-ignored) belongs to the tools: folders in it
	# made before markers existed are taken as theirs.
	if [ -d "$dir" ] && [ ! -e "$dir/$CLI_MARKER" ] && [ -n "$(ls -A "$dir")" ] &&
		[[ "$(realpath -m -- "$dir")/" != "$CLI_ROOT/build/"?* ]]; then
		cli_usage_error "'$dir' is not empty and was not made by a zpool-harness tool" \
			"(no $CLI_MARKER in it); give a new or empty folder"
	fi
	case "$(realpath -m -- "$dir")/" in
	"$CLI_ROOT/" | "$CLI_ROOT/corpus/"* | "$HOME/" | /)
		cli_usage_error "'$dir' is the checkout, corpus/ or the home folder: give a folder of its own"
		;;
	esac
	mkdir -p "$dir" || cli_fail "cannot create '$dir'"
	[ -e "$dir/$CLI_MARKER" ] ||
		echo "made by $CLI_NAME on $(date -u '+%Y-%m-%d %H:%M:%S') UTC; zpool-harness tools may empty this folder" \
			>"$dir/$CLI_MARKER"
}

# cli_clean_dir DIR: cli_own_dir, then delete what is in it (the marker stays).
cli_clean_dir() {
	cli_own_dir "$1"
	find "$1" -mindepth 1 -maxdepth 1 ! -name '.zpool-harness*' -exec rm -rf -- {} +
}

# cli_deps: install the Debian packages that are missing (scripts/deps.sh),
# unless ZPOOL_NO_DEPS=1. Call it after the flags are parsed.
cli_deps() {
	[ "${ZPOOL_NO_DEPS:-0}" = 1 ] && return 0
	"$CLI_ROOT/scripts/deps.sh" || cli_fail "installing the dependencies failed" \
		"(set ZPOOL_NO_DEPS=1 to manage packages yourself)"
}
