#include "core/bf16_support.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "core/dispatch.h"

namespace fvlm {
namespace {

// Whether oneDNN's effective ISA includes every bit of `isa` (the cpu_isa values are nested bit masks).
bool isa_at_least(dnnl::cpu_isa isa) {
  const auto have = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto want = static_cast<unsigned>(isa);
  return (have & want) == want;
}

}  // namespace

Bf16Support bf16_support() {
  isa_ceiling();  // FVLM_MAX_ISA caps oneDNN before it is asked
  if (isa_at_least(dnnl::cpu_isa::avx512_core_amx)) return Bf16Support::kAmx;
  if (isa_at_least(dnnl::cpu_isa::avx512_core_bf16)) return Bf16Support::kNative;
  if (isa_at_least(dnnl::cpu_isa::avx512_core)) return Bf16Support::kEmulated;
  return Bf16Support::kNone;
}

std::string_view bf16_support_name(Bf16Support s) {
  switch (s) {
    case Bf16Support::kNone:
      return "none";
    case Bf16Support::kEmulated:
      return "emulated (avx512_core)";
    case Bf16Support::kNative:
      return "native (avx512_core_bf16)";
    case Bf16Support::kAmx:
      return "amx (avx512_core_amx)";
  }
  return "?";
}

bool bf16_is_native(Bf16Support s) { return s == Bf16Support::kNative || s == Bf16Support::kAmx; }

}  // namespace fvlm
