#include "encoder/vision_precision.h"

#include <utility>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/error.h"

namespace fvlm::enc {
namespace {

struct Named {
  VisionPrecision p;
  std::string_view name;
};
constexpr Named kNames[] = {{VisionPrecision::kAuto, "auto"},
                            {VisionPrecision::kF32, "f32"},
                            {VisionPrecision::kBf16, "bf16"},
                            {VisionPrecision::kInt8, "int8"}};

// Whether oneDNN's effective ISA includes every bit of `isa` (the cpu_isa values are nested bit masks).
bool isa_at_least(dnnl::cpu_isa isa) {
  const auto have = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto want = static_cast<unsigned>(isa);
  return (have & want) == want;
}

}  // namespace

std::string_view vision_precision_name(VisionPrecision p) {
  for (const Named& n : kNames)
    if (n.p == p) return n.name;
  return "?";
}

std::vector<std::string> vision_precision_names() {
  std::vector<std::string> v;
  for (const Named& n : kNames) v.emplace_back(n.name);
  return v;
}

VisionPrecision parse_vision_precision(std::string_view s) {
  for (const Named& n : kNames)
    if (n.name == s) return n.p;
  throw Error(Errc::kBadArgs,
              "vision precision must be auto, f32, bf16 or int8, got '" + std::string(s) + "'");
}

std::string_view onednn_isa_name() {
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
  return isa_at_least(dnnl::cpu_isa::avx512_core_vnni) || isa_at_least(dnnl::cpu_isa::avx2_vnni);
}

std::vector<VisionPrecision> runnable_vision_precisions() {
  std::vector<VisionPrecision> v{VisionPrecision::kF32};
  if (bf16_support() != Bf16Support::kNone) v.push_back(VisionPrecision::kBf16);
  v.push_back(VisionPrecision::kInt8);
  return v;
}

Bf16Support bf16_support() {
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

VisionPrecision resolve_vision_precision(VisionPrecision p) {
  if (p != VisionPrecision::kAuto) return p;
  // bf16 wherever the CPU computes it natively (AMX, or AVX512_BF16 as on Zen 4 and Cooper Lake):
  // its accuracy is proven by the tests (features cosine >= 0.9999 vs FP32, greedy ids identical) and
  // it is faster than FP32 there (bench/README.md). Emulated bf16 (AVX-512 without the instructions)
  // is slower than FP32, so f32 there and below. int8 stays opt-in until shown on a real checkpoint.
  const Bf16Support s = bf16_support();
  return s == Bf16Support::kAmx || s == Bf16Support::kNative ? VisionPrecision::kBf16 : VisionPrecision::kF32;
}

}  // namespace fvlm::enc
