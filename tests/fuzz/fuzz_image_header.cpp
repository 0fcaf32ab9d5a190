// libFuzzer target: probe_image and tiff_orientation on arbitrary bytes (every image a batch or the
// server is given passes through them before any decoder): they must return, with the orientation
// in 1..8 and no negative size. Anything else (crash, ASan/UBSan report, exception) is a bug.
// Built with clang -fsanitize=fuzzer,address,undefined (tests/CMakeLists.txt); seeds: samples/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const fvlm::ImageHeader h = fvlm::probe_image(bytes);
  if (h.orientation < 1 || h.orientation > 8 || h.width < 0 || h.height < 0) std::abort();
  if (h.format == fvlm::ImageFormat::kUnknown && (h.width != 0 || h.height != 0)) std::abort();
  const int o = fvlm::tiff_orientation(bytes);  // also straight on the bytes, as a TIFF or EXIF payload
  if (o < 1 || o > 8) std::abort();
  return 0;
}
