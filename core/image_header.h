// Reading an image container's header without decoding it: format, width, height and EXIF
// orientation. decode_image uses it to refuse oversized images before any pixel memory is
// allocated, and to apply the orientation (cv::imdecode with IMREAD_UNCHANGED ignores it).
// Every read is bounds-checked: the input is untrusted.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace fvlm {

// The decoded formats, then formats recognised by their signature only, to refuse them as
// unsupported (exit 5) rather than as corrupt data (exit 3).
enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kBmp, kTiff, kGif, kHeif, kAvif, kJpegXl, kJpeg2000 };
std::string_view image_format_name(ImageFormat f);  // "JPEG", "PNG", ...
bool image_format_decoded(ImageFormat f);           // JPEG, PNG, WebP, BMP, TIFF

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int64_t width = 0, height = 0;  // 0 when the header could not be read
  int orientation = 1;            // EXIF Orientation 1..8 (1 = upright; also when absent)
  bool complete = true;           // false: data ends early (JPEG: no EOI after the first scan;
                                  // PNG: no IEND; WebP: a chunk runs past the end)
};

// Recognises the format by its signature and reads what it can. format == kUnknown or
// width/height == 0 means the bytes are not a (readable) supported image.
ImageHeader probe_image(std::span<const uint8_t> bytes);

// The Orientation tag (0x0112) of IFD0 in a TIFF structure (a TIFF file, or the payload of an
// EXIF block after "Exif\0\0"). 1 when absent or unreadable.
int tiff_orientation(std::span<const uint8_t> tiff);

}  // namespace fvlm
