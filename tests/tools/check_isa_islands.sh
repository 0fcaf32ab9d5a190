#!/bin/sh
# ISA files are islands (shared/style.md): an object compiled with -mavx2/-mavx512* may define weak
# symbols (inline functions, template instantiations: the linker keeps one copy program-wide) only
# inside its own ISA namespace, fvlm::<isa>:: or fvlm::<folder>::<isa>::. Anything else, e.g.
# std::vector<float>::_M_default_append compiled with AVX-512, could be the copy the linker keeps
# and crash a pre-AVX-512 CPU in unrelated code.
# Usage: check_isa_islands.sh NM OBJECT...   (objects not named *_<isa>.cpp.o are ignored)
nm="$1"
shift
checked=0
failed=0
for obj in "$@"; do
  case "$obj" in
    *_avx2.cpp.o) isa=avx2 ;;
    *_avx512.cpp.o) isa=avx512 ;;
    *_avxvnni.cpp.o) isa=avxvnni ;;
    *_amx.cpp.o) isa=amx ;;
    *) continue ;;
  esac
  checked=$((checked + 1))
  symbols=$("$nm" -C --defined-only "$obj") || { echo "FAILED: $nm on $obj"; exit 1; }
  # Weak (W/V) and unique (u) definitions; DW.ref.__gxx_personality_v0 is a pointer to the C++
  # exception personality routine (data, no code), emitted by any file with a cleanup.
  offenders=$(printf '%s\n' "$symbols" | awk -v isa="$isa" '
    $2 ~ /^[WVu]$/ {
      name = $0
      sub(/^[0-9a-fA-F]* *[WVu] /, "", name)
      if (name == "DW.ref.__gxx_personality_v0") next
      if (name ~ ("^([A-Za-z_0-9:*& ]+ )?fvlm::([a-z_]+::)?" isa "::")) next
      print "    " name
    }')
  if [ -n "$offenders" ]; then
    echo "$obj: weak symbols outside fvlm::$isa::"
    echo "$offenders"
    failed=1
  fi
done
if [ "$checked" -eq 0 ]; then
  echo "FAILED: no ISA object files among the arguments"
  exit 1
fi
if [ "$failed" -ne 0 ]; then
  echo "FAILED: move these helpers into the file's ISA namespace (or an anonymous one) and stop calling"
  echo "shared inline functions / templates (std::vector, std::min, core/half.h) from ISA files"
  exit 1
fi
echo "ok: $checked ISA object files define no weak symbol outside their ISA namespace"
