// Arithmetic of the vision encoder's Linear / 1x1 layers. kF32 is the reference path (golden tests);
// kBf16 runs them, the attention matmuls and the convs that feed a Linear (stem, PatchEmbed, ConvFFN
// 7x7) as oneDNN bf16 x bf16 -> f32-accumulating primitives (weights packed to bf16 once, bf16 handed
// from op to op where the reader is bf16); kInt8 (opt-in) runs the Linears as oneDNN int8 matmul
// primitives, u8 activations x s8 weights (encoder/int8_linear.h). kAuto picks per CPU
// (resolve_vision_precision). The residual stream and the convs that carry it (RepMixer, RepCPE,
// conv_exp), the norms and the projector stay FP32 in every mode.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/bf16_support.h"

namespace fvlm::enc {

enum class VisionPrecision { kAuto, kF32, kBf16, kInt8 };

std::string_view vision_precision_name(VisionPrecision p);   // "auto", "f32", "bf16", "int8"
std::vector<std::string> vision_precision_names();           // every name parse accepts (CLI checks)
VisionPrecision parse_vision_precision(std::string_view s);  // throws Error{kBadArgs}

// What oneDNN can do with bf16 on this CPU (core/bf16_support.h; the decoder asks it too).
using ::fvlm::bf16_support;
using ::fvlm::bf16_support_name;
using ::fvlm::Bf16Support;
using ::fvlm::onednn_has_vnni;
using ::fvlm::onednn_isa_name;

// The precisions this CPU can run: f32, bf16 where oneDNN has a bf16 matmul (kNone excluded), int8.
std::vector<VisionPrecision> runnable_vision_precisions();

// kAuto -> kBf16 where the CPU computes bf16 natively (AMX-BF16 or AVX512_BF16), else kF32 (emulated
// bf16 is slower than f32). Concrete precisions are returned unchanged.
VisionPrecision resolve_vision_precision(VisionPrecision p);

}  // namespace fvlm::enc
