#include "encoder/vision_precision.h"

#include <string>

#include "core/error.h"

namespace fvlm::enc {

std::string_view vision_precision_name(VisionPrecision p) {
  return p == VisionPrecision::kInt8 ? "int8" : "f32";
}

VisionPrecision parse_vision_precision(std::string_view s) {
  if (s == "f32") return VisionPrecision::kF32;
  if (s == "int8") return VisionPrecision::kInt8;
  throw Error(Errc::kBadArgs, "vision precision must be f32 or int8, got '" + std::string(s) + "'");
}

}  // namespace fvlm::enc
