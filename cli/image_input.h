// Reading the IMAGE argument of a command: a path, or "-" for the image's bytes on stdin.
#pragma once
#include <string>

#include "core/image.h"

namespace fvlm::cli {

Image read_image_arg(const std::string& arg, int64_t max_pixels);

}  // namespace fvlm::cli
