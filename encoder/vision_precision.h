// Arithmetic of the vision encoder's Linear / 1x1 layers. kF32 is the reference path (golden tests);
// kBf16 runs them and the attention matmuls as oneDNN bf16 x bf16 -> f32 primitives (weights packed
// to bf16 once, activations converted on the way in); kInt8 (opt-in) runs the Linears as oneDNN int8
// matmul primitives, u8 activations x s8 weights (encoder/int8_linear.h). kAuto picks per CPU
// (resolve_vision_precision). Depthwise / dense convs, the norms and the projector stay FP32 in every mode.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace fvlm::enc {

enum class VisionPrecision { kAuto, kF32, kBf16, kInt8 };

std::string_view vision_precision_name(VisionPrecision p);   // "auto", "f32", "bf16", "int8"
std::vector<std::string> vision_precision_names();           // every name parse accepts (CLI checks)
VisionPrecision parse_vision_precision(std::string_view s);  // throws Error{kBadArgs}

// What oneDNN can do with bf16 on this CPU (honours ONEDNN_MAX_CPU_ISA).
enum class Bf16Support {
  kNone,      // no bf16 matmul at all (oneDNN 2.6 below AVX-512)
  kEmulated,  // AVX-512 without AVX512_BF16: converted in software, slower than f32
  kNative,    // AVX512_BF16 dot products
  kAmx,       // AMX-BF16 tiles
};
Bf16Support bf16_support();
std::string_view bf16_support_name(Bf16Support s);

// oneDNN's effective ISA (after ONEDNN_MAX_CPU_ISA / FVLM_MAX_ISA), e.g. "avx512_core_vnni".
std::string_view onednn_isa_name();
// Whether it has int8 dot products (AVX512_VNNI or AVX-VNNI): oneDNN's int8 kernels then sum u8 x s8
// products in int32, not in saturating int16.
bool onednn_has_vnni();

// The precisions this CPU can run: f32, bf16 where oneDNN has a bf16 matmul (kNone excluded), int8.
std::vector<VisionPrecision> runnable_vision_precisions();

// kAuto -> kBf16 where the CPU computes bf16 natively (AMX-BF16 or AVX512_BF16), else kF32 (emulated
// bf16 is slower than f32). Concrete precisions are returned unchanged.
VisionPrecision resolve_vision_precision(VisionPrecision p);

}  // namespace fvlm::enc
