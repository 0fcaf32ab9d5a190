#include "cli/image_input.h"

#include <unistd.h>

namespace fvlm::cli {

Image read_image_arg(const std::string& arg, int64_t max_pixels) {
  if (arg == "-") return read_image_stream(STDIN_FILENO, "stdin", max_pixels);
  return load_image(arg, max_pixels);
}

}  // namespace fvlm::cli
