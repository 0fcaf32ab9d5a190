// Image decoding: file bytes -> 8-bit RGB, the way the reference loads images
// (`Image.open(path).convert("RGB")`, shared/golden/README.md "Pipeline conventions" 1), plus EXIF
// orientation, which the reference ignores but phone photos need.
// This file pair is the only user of OpenCV in fastvlm (cv::imdecode does the codec work).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dispatch.h"

namespace fvlm {

// 8-bit RGB, interleaved, row-major, no row padding: pixel (x, y) channel c is
// rgb[(y * width + x) * 3 + c].
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;

  static Image black(int width, int height) {
    return Image{width, height, std::vector<uint8_t>(size_t(width) * size_t(height) * 3, 0)};
  }
  uint8_t* row(int y) { return rgb.data() + size_t(y) * size_t(width) * 3; }
  const uint8_t* row(int y) const { return rgb.data() + size_t(y) * size_t(width) * 3; }
};

inline constexpr int64_t kDefaultMaxPixels = 100'000'000;  // 100 MP

// Decodes JPEG, PNG, WebP, BMP or TIFF bytes. `name` only labels error messages.
//  - A valid image of another format (GIF, HEIF, AVIF, JPEG XL, JPEG 2000), or samples other than
//    8/16-bit integers (a float TIFF), throws Error{kUnsupported}.
//  - Width and height are read from the container header first; more than `max_pixels`
//    (<= 0: no limit) throws Error{kTooLarge} before any pixel memory is allocated.
//  - Unrecognised, empty, truncated or corrupt data throws Error{kBadImage}.
//  - Colour: gray -> replicated RGB; alpha dropped, not composited (PIL convert("RGB"));
//    16-bit samples -> high byte (v >> 8, truncating): what PIL does for 16-bit RGB/RGBA/LA PNGs.
//    (PIL opens 16-bit *gray* PNGs as mode "I" and convert("RGB") then saturates every value
//    above 255 to white; that quirk is deliberately not reproduced.)
//  - EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF, TIFF IFD0 tag 274) is applied, so the
//    result is upright as a photo viewer shows it.
Image decode_image(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels);

// Puts OpenCV's own SIMD dispatch (its CV_CPU_DISPATCH kernels: colour conversion, flips,
// transposes, drawing) under the FVLM_MAX_ISA ceiling; core/dispatch.cpp calls it with the ceiling
// it reads. OpenCV reads its CPU features (and OPENCV_CPU_DISABLE) once, as libopencv_core loads
// before main, so single features cannot be dropped any more: what is left is all or nothing,
// cv::setUseOptimized(false), which leaves only OpenCV's SSE2 baseline (as oneDNN keeps SSE4.1).
// scalar always turns it off; avx2 turns it off where OpenCV would run AVX-512 code; avx512 and
// none leave it on. Returns what OpenCV now runs, for the log.
std::string cap_opencv_isa(IsaCeiling ceiling);

// Reads the file and decodes it (`-` for stdin is the CLI's business, not handled here).
// Missing file -> Error{kNotFound}; a directory or device -> Error{kBadArgs}. A FIFO, pipe or
// process substitution (/dev/fd/N) is read as a stream, like stdin.
Image load_image(const std::string& path, int64_t max_pixels = kDefaultMaxPixels);

// Reads an open descriptor to its end (stdin, a pipe) and decodes the bytes; more bytes than an
// image of max_pixels could need -> Error{kTooLarge}. `name` labels error messages.
Image read_image_stream(int fd, const std::string& name, int64_t max_pixels = kDefaultMaxPixels);

}  // namespace fvlm
