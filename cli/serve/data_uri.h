// Where a request's image comes from: a `data:image/...;base64,` URI (the normal case), or a file
// when the server was started with --allow-files DIR. http(s) URLs are refused: the server never
// fetches anything on a client's behalf.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/image.h"

namespace fvlm::cli::serve {

// Strict RFC 4648 base64 (standard alphabet, '=' padding optional; no whitespace, no other
// characters). Throws Error{kBadArgs} naming `param`.
std::vector<uint8_t> base64_decode(std::string_view s, std::string_view param);

// "data:<media type>;base64,<data>" -> its bytes. The media type must be image/*. Throws
// Error{kBadArgs}.
std::vector<uint8_t> data_uri_bytes(std::string_view uri, std::string_view param);

// The folder --allow-files names, opened once: files are opened relative to it with openat2's
// RESOLVE_BENEATH, so the kernel refuses any path (.., an absolute symlink, a link to /proc) that
// would leave it, even when the folder's contents change between a check and the open.
class AllowedFolder {
 public:
  AllowedFolder() = default;                       // none: every file path is refused
  explicit AllowedFolder(const std::string& dir);  // throws Error{kNotFound / kBadArgs}
  ~AllowedFolder();
  AllowedFolder(const AllowedFolder&) = delete;
  AllowedFolder& operator=(const AllowedFolder&) = delete;

  bool enabled() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }  // canonical
  // A path ("file:///abs", "file://rel", "/abs" or "rel"), read whole. Refused (kBadArgs) with no
  // open at all: no folder allowed, a ".." component, an absolute path outside the folder. A file
  // the kernel finds outside: kBadArgs; missing: kNotFound; bigger than max_bytes: kTooLarge.
  std::vector<uint8_t> read(std::string_view path, int64_t max_bytes, std::string_view param) const;

 private:
  int fd_ = -1;
  std::string path_;
};

// An image_url of a request, decoded (decode_image's errors and pixel limit apply).
Image image_from_url(std::string_view url, const AllowedFolder& files, int64_t max_pixels, int64_t max_bytes,
                     std::string_view param);

}  // namespace fvlm::cli::serve
