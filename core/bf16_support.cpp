#include "core/bf16_support.h"

#include <utility>

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

std::string_view onednn_isa_name() {
  isa_ceiling();
  using dnnl::cpu_isa;
  // Widest first: each value's bits include those of the ISAs below it.
  constexpr std::pair<cpu_isa, std::string_view> kIsas[] = {{cpu_isa::avx512_core_amx, "avx512_core_amx"},
                                                            {cpu_isa::avx512_core_bf16, "avx512_core_bf16"},
                                                            {cpu_isa::avx512_core_vnni, "avx512_core_vnni"},
                                                            {cpu_isa::avx512_core, "avx512_core"},
                                                            {cpu_isa::avx2_vnni, "avx2_vnni"},
                                                            {cpu_isa::avx2, "avx2"},
                                                            {cpu_isa::avx, "avx"},
                                                            {cpu_isa::sse41, "sse41"}};
  for (const auto& [isa, name] : kIsas)
    if (isa_at_least(isa)) return name;
  return "generic";
}

bool onednn_has_vnni() {
  isa_ceiling();
  return isa_at_least(dnnl::cpu_isa::avx512_core_vnni) || isa_at_least(dnnl::cpu_isa::avx2_vnni);
}

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
