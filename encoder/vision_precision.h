// Arithmetic of the vision encoder's Linear / 1x1 layers. kF32 is the reference path (golden tests);
// kInt8 (opt-in, `--vision-precision int8`) runs them as 7-bit-weight x u8 integer GEMMs
// (encoder/int8_linear.h). Depthwise convs, attention and the projector stay FP32 either way.
#pragma once
#include <string_view>

namespace fvlm::enc {

enum class VisionPrecision { kF32, kInt8 };

std::string_view vision_precision_name(VisionPrecision p);   // "f32", "int8"
VisionPrecision parse_vision_precision(std::string_view s);  // throws Error{kBadArgs}

}  // namespace fvlm::enc
