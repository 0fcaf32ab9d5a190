#include "encoder/vision_precision.h"

#include "core/enum_names.h"

namespace fvlm::enc {
namespace {

constexpr EnumName<VisionPrecision> kNames[] = {{VisionPrecision::kAuto, "auto"},
                                                {VisionPrecision::kF32, "f32"},
                                                {VisionPrecision::kBf16, "bf16"},
                                                {VisionPrecision::kInt8, "int8"}};

}  // namespace

std::string_view vision_precision_name(VisionPrecision p) { return enum_name<VisionPrecision>(kNames, p); }
std::vector<std::string> vision_precision_names() { return enum_names<VisionPrecision>(kNames); }
VisionPrecision parse_vision_precision(std::string_view s) {
  return parse_enum<VisionPrecision>(kNames, s, "vision precision");
}

std::vector<VisionPrecision> runnable_vision_precisions() {
  std::vector<VisionPrecision> v{VisionPrecision::kF32};
  if (bf16_support() != Bf16Support::kNone) v.push_back(VisionPrecision::kBf16);
  v.push_back(VisionPrecision::kInt8);
  return v;
}

VisionPrecision resolve_vision_precision(VisionPrecision p) {
  if (p != VisionPrecision::kAuto) return p;
  // bf16 wherever the CPU computes it natively (AMX, or AVX512_BF16 as on Zen 4 and Cooper Lake):
  // its accuracy is proven by the tests (features cosine >= 0.9999 vs FP32, greedy ids identical) and
  // it is faster than FP32 there (bench/README.md). Emulated bf16 (AVX-512 without the instructions)
  // is slower than FP32, so f32 there and below. int8 stays opt-in until shown on a real checkpoint.
  const Bf16Support s = bf16_support();
  return bf16_is_native(s) ? VisionPrecision::kBf16 : VisionPrecision::kF32;
}

}  // namespace fvlm::enc
