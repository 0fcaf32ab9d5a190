#include "cli/image_input.h"

#include <cstdio>
#include <vector>

#include "core/error.h"

namespace fvlm::cli {

Image read_image_arg(const std::string& arg, int64_t max_pixels) {
  if (arg != "-") return load_image(arg, max_pixels);
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  if (bytes.empty()) throw Error(Errc::kBadImage, "stdin: no image bytes");
  return decode_image(bytes, "stdin", max_pixels);
}

}  // namespace fvlm::cli
