#include "core/image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "core/image_header.h"

namespace fvlm {
namespace {

// EXIF orientation -> the transform that makes the image upright (PIL ImageOps.exif_transpose):
// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
// 8 rotate 90 counter-clockwise.
cv::Mat apply_orientation(const cv::Mat& m, int orientation) {
  cv::Mat t, out;
  switch (orientation) {
    case 2:
      cv::flip(m, out, 1);
      return out;
    case 3:
      cv::flip(m, out, -1);
      return out;
    case 4:
      cv::flip(m, out, 0);
      return out;
    case 5:
      cv::transpose(m, out);
      return out;
    case 6:
      cv::transpose(m, t);
      cv::flip(t, out, 1);
      return out;  // (x, y) -> (H-1-y, x)
    case 7:
      cv::transpose(m, t);
      cv::flip(t, out, -1);
      return out;  // (x, y) -> (H-1-y, W-1-x)
    case 8:
      cv::transpose(m, t);
      cv::flip(t, out, 0);
      return out;  // (x, y) -> (y, W-1-x)
    default:
      return m;
  }
}

// OpenCV's channel layouts after IMREAD_UNCHANGED: 1 gray, 2 gray+alpha, 3 BGR, 4 BGRA.
// Samples are T; `shift` brings them to 8 bits (16-bit: keep the high byte, as PIL's
// "RGB;16B" unpacker does).
template <class T>
void to_rgb8(const cv::Mat& m, int shift, Image& out) {
  const int ch = m.channels();
  for (int y = 0; y < m.rows; ++y) {
    const T* p = m.ptr<T>(y);
    uint8_t* o = out.row(y);
    for (int x = 0; x < m.cols; ++x, p += ch, o += 3) {
      if (ch >= 3) {
        o[0] = uint8_t(p[2] >> shift);  // BGR(A) -> RGB, alpha dropped (no compositing)
        o[1] = uint8_t(p[1] >> shift);
        o[2] = uint8_t(p[0] >> shift);
      } else {
        o[0] = o[1] = o[2] = uint8_t(p[0] >> shift);  // gray (+ alpha) -> replicated
      }
    }
  }
}

std::string_view sample_type_name(int depth) {
  switch (depth) {
    case CV_8U:
      return "8-bit unsigned";
    case CV_8S:
      return "8-bit signed";
    case CV_16U:
      return "16-bit unsigned";
    case CV_16S:
      return "16-bit signed";
    case CV_32S:
      return "32-bit integer";
    case CV_32F:
      return "32-bit float";
    case CV_64F:
      return "64-bit float";
    case CV_16F:
      return "16-bit float";
  }
  return "unknown";
}

// A compressed image is smaller than its pixels: more bytes than this are refused unread.
uintmax_t max_file_bytes(int64_t max_pixels) {
  return max_pixels > 0 ? uintmax_t(max_pixels) * 8 + (16u << 20) : uintmax_t(1) << 32;
}

std::string first_line(const std::string& s) {
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

Image decode_image(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels) {
  if (bytes.empty())
    throw Error(Errc::kBadImage, fmt::format("{}: empty image data", name), {{"image", name}});
  const ImageHeader h = probe_image(bytes);
  const std::string_view fmt_name = image_format_name(h.format);
  if (h.format == ImageFormat::kUnknown)
    throw Error(Errc::kBadImage, fmt::format("{}: not a JPEG, PNG, WebP, BMP or TIFF image", name),
                {{"image", name}});
  if (!image_format_decoded(h.format))  // a valid file of a format we do not read: not corrupt data
    throw Error(
        Errc::kUnsupported,
        fmt::format("{}: {} images are not supported (JPEG, PNG, WebP, BMP or TIFF are); convert it to PNG "
                    "first",
                    name, fmt_name),
        {{"image", name}, {"format", fmt_name}});
  if (h.width == 0)
    throw Error(Errc::kBadImage, fmt::format("{}: unreadable {} header", name, fmt_name), {{"image", name}});
  auto too_large = [&](int64_t w, int64_t hgt) {
    return Error(Errc::kTooLarge,
                 fmt::format("{}: {}x{} pixels exceeds the limit of {} pixels", name, w, hgt, max_pixels),
                 {{"image", name}, {"width", w}, {"height", hgt}, {"max_pixels", max_pixels}});
  };
  if (max_pixels > 0 && h.width * h.height > max_pixels) throw too_large(h.width, h.height);
  if (!h.complete)
    throw Error(Errc::kBadImage, fmt::format("{}: truncated {} data", name, fmt_name), {{"image", name}});

  // Our error says what went wrong; OpenCV's own warnings would only add noise on stderr.
  static std::once_flag quiet;
  std::call_once(quiet, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR); });
  cv::Mat m;
  try {
    const cv::Mat buf(1, int(std::min<size_t>(bytes.size(), INT32_MAX)), CV_8U,
                      const_cast<uint8_t*>(bytes.data()));
    m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);  // no conversion, no orientation: both done here
  } catch (const cv::Exception& e) {
    throw Error(Errc::kBadImage,
                fmt::format("{}: cannot decode {} data: {}", name, fmt_name, first_line(e.what())),
                {{"image", name}});
  } catch (const std::bad_alloc&) {
    throw Error(Errc::kOutOfMemory,
                fmt::format("{}: out of memory decoding {}x{} image", name, h.width, h.height));
  }
  if (m.empty() || m.cols <= 0 || m.rows <= 0)
    throw Error(Errc::kBadImage, fmt::format("{}: corrupt {} data", name, fmt_name), {{"image", name}});
  if (max_pixels > 0 && int64_t(m.cols) * m.rows > max_pixels) throw too_large(m.cols, m.rows);
  if (m.channels() > 4 || (m.depth() != CV_8U && m.depth() != CV_16U))  // e.g. float TIFF: valid, not ours
    throw Error(
        Errc::kUnsupported,
        fmt::format("{}: {} with {} samples ({} channel{}) is not supported: 8- or 16-bit integer samples "
                    "with 1 to 4 channels are; convert it to 8-bit first",
                    name, fmt_name, sample_type_name(m.depth()), m.channels(), m.channels() == 1 ? "" : "s"),
        {{"image", name}, {"format", fmt_name}});

  m = apply_orientation(m, h.orientation);
  Image out = Image::black(m.cols, m.rows);
  if (m.depth() == CV_8U)
    to_rgb8<uint8_t>(m, 0, out);
  else
    to_rgb8<uint16_t>(m, 8, out);
  return out;
}

Image read_image_stream(int fd, const std::string& name, int64_t max_pixels) {
  const uintmax_t cap = max_file_bytes(max_pixels);
  std::vector<uint8_t> bytes;
  bool probed = false;
  for (;;) {
    const size_t old = bytes.size();
    bytes.resize(old + (1 << 16));
    const ssize_t n = ::read(fd, bytes.data() + old, 1 << 16);
    if (n < 0 && errno == EINTR) {
      bytes.resize(old);
      continue;
    }
    if (n < 0)
      throw Error(Errc::kBadImage, fmt::format("{}: read error: {}", name, std::strerror(errno)),
                  {{"image", name}});
    bytes.resize(old + size_t(n));
    if (n == 0) break;
    if (bytes.size() > cap)
      throw Error(Errc::kTooLarge, fmt::format("{}: more than {} bytes, too large for an image", name, cap),
                  {{"image", name}});
    // The first block tells whether this is an image at all: an endless stream of something else
    // (/dev/zero, a log) is refused at once rather than read up to the cap.
    if (!probed && bytes.size() >= 4096) {
      probed = true;
      if (!image_format_decoded(probe_image(bytes).format)) break;  // decode_image says why
    }
  }
  return decode_image(bytes, name, max_pixels);
}

Image load_image(const std::string& path, int64_t max_pixels) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    throw Error(Errc::kNotFound, fmt::format("{}: no such file", path), {{"image", path}});
  if (fs::is_directory(st))
    throw Error(Errc::kBadArgs, fmt::format("{}: is a directory, not an image file", path),
                {{"image", path}});
  const bool stream = fs::is_fifo(st) || fs::is_character_file(st) || fs::is_socket(st);
  if (!fs::is_regular_file(st) && !stream)
    throw Error(Errc::kBadArgs, fmt::format("{}: not a regular file", path), {{"image", path}});
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(Errc::kNotFound, fmt::format("{}: cannot open: {}", path, std::strerror(errno)),
                {{"image", path}});
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // A pipe, FIFO or process substitution (<(cat img), /dev/fd/N) has no size: read it as a stream.
  if (stream) return read_image_stream(fd, path, max_pixels);
  struct stat fst {};
  if (::fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) return read_image_stream(fd, path, max_pixels);
  const uintmax_t size = uintmax_t(fst.st_size);
  if (size > max_file_bytes(max_pixels))
    throw Error(Errc::kTooLarge, fmt::format("{}: file of {} bytes is too large for an image", path, size),
                {{"image", path}});
  std::vector<uint8_t> bytes(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(Errc::kBadImage, fmt::format("{}: read error: {}", path, std::strerror(errno)),
                  {{"image", path}});
    if (n == 0) break;  // shrank while we read: decode what is there (a truncated image says so)
    done += size_t(n);
  }
  bytes.resize(done);
  return decode_image(bytes, path, max_pixels);
}

std::string cap_opencv_isa(IsaCeiling ceiling) {
  const bool avx512 =
      cv::checkHardwareSupport(CV_CPU_AVX_512F) || cv::checkHardwareSupport(CV_CPU_AVX512_SKX);
  if (ceiling == IsaCeiling::kScalar || (ceiling == IsaCeiling::kAvx2 && avx512)) cv::setUseOptimized(false);
  if (!cv::useOptimized()) return "OpenCV dispatch off (SSE2 baseline)";
  return cv::checkHardwareSupport(CV_CPU_AVX_512F) ? "OpenCV dispatch up to AVX-512"
                                                   : "OpenCV dispatch up to AVX2";
}

}  // namespace fvlm
