#!/bin/sh
# The format check of CI: clang-format --dry-run -Werror with the repository's .clang-format on
# every tracked C++ source (git ls-files; a plain find outside a git checkout). Arguments after the
# source directory are path prefixes left out of the check (tests/CMakeLists.txt says why).
# Usage: check_format.sh CLANG_FORMAT SOURCE_DIR [SKIP_PREFIX...]
clang_format="$1"
src="$2"
shift 2
cd "$src" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cpp' '*.h')
else
  files=$(find core quant encoder decoder models cli bench tests -name '*.cpp' -o -name '*.h')
fi
checked=""
n=0
for f in $files; do
  skip=0
  for prefix in "$@"; do
    case "$f" in "$prefix"*) skip=1 ;; esac
  done
  [ "$skip" -eq 1 ] && continue
  checked="$checked $f"
  n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
  echo "FAILED: no sources found under $src"
  exit 1
fi
# shellcheck disable=SC2086
if ! "$clang_format" --dry-run -Werror --style=file $checked; then
  echo "FAILED: run clang-format -i --style=file on the files above"
  exit 1
fi
echo "ok: $n sources formatted as .clang-format says"
