// One way to pick a kernel. Every op keeps a constexpr table of variants {name, feature, fn} next
// to it, the scalar reference first (the spec), then faster variants in increasing ISA order.
// pick() walks the table once and returns the last variant this CPU runs under the ceiling
// FVLM_MAX_ISA=scalar|avx2|avx512|amx (read once; for tests, and for users on CPUs that misreport a
// feature), and logs the choice at debug level. Tests walk the same tables against the reference.
// XNNPACK's src/configs/ and gemma's HWY_DYNAMIC_DISPATCH are the models.
#pragma once
#include <cstddef>
#include <span>
#include <string_view>

#include "core/cpu_features.h"

namespace fvlm {

template <class Fn>
struct Variant {
  std::string_view name;
  CpuFeature feature;  // what the CPU (and OS) must support to run fn
  Fn fn;
};

// The forced ceiling. Tiers: scalar (plain C++), avx2 (AVX2/FMA/F16C and AVX-VNNI on ymm),
// avx512 (AVX-512 with VNNI), amx (+ the AMX tiles: everything we have). kNone: no ceiling, the
// CPU's features decide alone.
enum class IsaCeiling { kScalar, kAvx2, kAvx512, kAmx, kNone };

// "scalar" | "avx2" | "avx512" | "amx" -> the ceiling; "" -> kNone; anything else: Error{kBadArgs}.
IsaCeiling parse_isa_ceiling(std::string_view value);
std::string_view isa_ceiling_name(IsaCeiling c);  // "scalar", "avx2", "avx512", "amx", "none"
// The tier a feature belongs to (kNone -> kScalar, kAvx2/kAvxVnni -> kAvx2, kAvx512Vnni -> kAvx512,
// kAmxInt8 -> kAmx).
IsaCeiling isa_tier(CpuFeature f);

// FVLM_MAX_ISA, read once. The first call also caps oneDNN at the same tier
// (dnnl::set_max_cpu_isa), so it must happen before the first primitive: Runtime's constructor
// and the CLI call it first; and OpenCV's own dispatch (core/image.h cap_opencv_isa). Throws Error{kBadArgs}
// (on every call) for an unknown value.
IsaCeiling isa_ceiling();

// cpu_has(f) and f's tier is at or under `ceiling`.
bool isa_allowed(CpuFeature f, IsaCeiling ceiling);
bool isa_allowed(CpuFeature f);  // under isa_ceiling()

namespace detail {
void log_pick(std::string_view op, std::string_view variant, CpuFeature f);
void check_table(std::string_view op, std::size_t size, CpuFeature first);
}  // namespace detail

// The last variant of `table` allowed under `ceiling`; table[0] must need nothing (the reference).
// Call once per op and keep the result (a function-local static): the CPU does not change.
template <class Fn>
const Variant<Fn>& pick(std::string_view op, std::span<const Variant<Fn>> table, IsaCeiling ceiling) {
  detail::check_table(op, table.size(), table.empty() ? CpuFeature::kNone : table[0].feature);
  const Variant<Fn>* best = &table[0];
  for (const Variant<Fn>& v : table)
    if (isa_allowed(v.feature, ceiling)) best = &v;
  return *best;
}

template <class Fn>
const Variant<Fn>& pick(std::string_view op, std::span<const Variant<Fn>> table) {
  const Variant<Fn>& v = pick(op, table, isa_ceiling());
  detail::log_pick(op, v.name, v.feature);
  return v;
}

template <class Fn, std::size_t N>
const Variant<Fn>& pick(std::string_view op, const Variant<Fn> (&table)[N]) {
  return pick(op, std::span<const Variant<Fn>>(table));
}

}  // namespace fvlm
