#include "cli/serve/data_uri.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm::cli::serve {
namespace {

constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[uint8_t(alphabet[i])] = int8_t(i);
  return t;
}();

[[noreturn]] void refuse(std::string_view param, const std::string& message, Errc code = Errc::kBadArgs) {
  throw Error(code, message, {{"param", std::string(param)}});
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(uint8_t(s[i])) != prefix[i]) return false;
  return true;
}

// "%2F" escapes of a file:// URI.
std::string percent_decode(std::string_view s, std::string_view param) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    const auto hex = [](char c) {
      return std::isxdigit(uint8_t(c)) ? std::stoi(std::string(1, c), nullptr, 16) : -1;
    };
    if (i + 2 >= s.size()) refuse(param, "a bad %-escape in the file URI");
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) refuse(param, "a bad %-escape in the file URI");
    out += char(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::vector<uint8_t> base64_decode(std::string_view s, std::string_view param) {
  // Up to two '=' of padding, and then the whole must be a multiple of 4; a '=' anywhere else is an
  // invalid character below.
  const size_t padded = s.size();
  for (int i = 0; i < 2 && !s.empty() && s.back() == '='; ++i) s.remove_suffix(1);
  if (s.size() % 4 == 1 || (padded != s.size() && padded % 4 != 0))
    refuse(param, "the base64 data has a bad length");
  std::vector<uint8_t> out;
  out.reserve(s.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const int8_t v = kBase64Values[uint8_t(s[i])];
    if (v < 0) refuse(param, fmt::format("the base64 data has an invalid character at offset {}", i));
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  return out;
}

std::vector<uint8_t> data_uri_bytes(std::string_view uri, std::string_view param) {
  if (!starts_with_nocase(uri, "data:")) refuse(param, "not a data: URI");
  const size_t comma = uri.find(',');
  if (comma == std::string_view::npos) refuse(param, "the data: URI has no ',' before its data");
  const std::string_view meta = uri.substr(5, comma - 5);
  if (!starts_with_nocase(meta, "image/"))
    refuse(param, fmt::format("the data: URI must carry an image (data:image/png;base64,...), not '{}'",
                              meta.substr(0, 64)));
  if (meta.size() < 7 || meta.substr(meta.size() - 7) != ";base64")
    refuse(param, "the data: URI must be base64-encoded (data:image/...;base64,...)");
  return base64_decode(uri.substr(comma + 1), param);
}

AllowedFolder::AllowedFolder(const std::string& dir) {
  std::error_code ec;
  path_ = std::filesystem::canonical(dir, ec).string();
  if (ec) throw Error(Errc::kNotFound, fmt::format("--allow-files {}: {}", dir, ec.message()));
  fd_ = ::open(path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0)
    throw Error(Errc::kBadArgs, fmt::format("--allow-files {}: not a folder that can be opened", dir));
}

AllowedFolder::~AllowedFolder() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<uint8_t> AllowedFolder::read(std::string_view path, int64_t max_bytes,
                                         std::string_view param) const {
  if (!enabled())
    refuse(param,
           "file paths are refused: the server reads only data: URIs (start it with --allow-files DIR "
           "to allow a folder)");
  std::string p =
      starts_with_nocase(path, "file://") ? percent_decode(path.substr(7), param) : std::string(path);
  if (p.empty() || p.find('\0') != std::string::npos) refuse(param, "an empty or malformed file path");
  for (const auto& part : std::filesystem::path(p))
    if (part == "..") refuse(param, "a file path may not contain '..'");
  std::string rel = p;
  if (p[0] == '/') {
    const std::string prefix = path_ == "/" ? "/" : path_ + "/";
    if (p.compare(0, prefix.size(), prefix) != 0)
      refuse(param, fmt::format("the file is outside the allowed folder {}", path_));
    rel = p.substr(prefix.size());
    if (rel.empty()) refuse(param, "the path names the allowed folder itself, not a file");
  }
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const int fd = int(::syscall(SYS_openat2, fd_, rel.c_str(), &how, sizeof how));
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT)
      refuse(param, fmt::format("no such file in the allowed folder: {}", rel), Errc::kNotFound);
    if (err == EXDEV || err == ELOOP)
      refuse(param, fmt::format("the file resolves outside the allowed folder {}", path_));
    refuse(param, fmt::format("cannot open {}: {}", rel, std::strerror(err)));
  }
  struct stat st {};
  std::vector<uint8_t> bytes;
  try {
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      refuse(param, fmt::format("{} is not a regular file", rel));
    if (st.st_size > max_bytes)
      refuse(param, fmt::format("{} is {} bytes, more than the {} allowed", rel, st.st_size, max_bytes),
             Errc::kTooLarge);
    bytes.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += size_t(n);
    }
    bytes.resize(got);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return bytes;
}

Image image_from_url(std::string_view url, const AllowedFolder& files, int64_t max_pixels, int64_t max_bytes,
                     std::string_view param) {
  if (starts_with_nocase(url, "http://") || starts_with_nocase(url, "https://"))
    refuse(param, "image URLs are not fetched: send the image inline as a data:image/...;base64, URI");
  std::vector<uint8_t> bytes;
  std::string name = "image_url";
  if (starts_with_nocase(url, "data:")) {
    bytes = data_uri_bytes(url, param);
  } else {
    const size_t colon = url.find(':'), slash = url.find('/');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash) &&
        !starts_with_nocase(url, "file:"))
      refuse(param, fmt::format("unsupported URL scheme '{}': send a data:image/...;base64, URI",
                                url.substr(0, std::min<size_t>(colon, 32))));
    bytes = files.read(url, max_bytes, param);
    name = std::string(url.substr(0, 256));
  }
  return decode_image(bytes, name, max_pixels);
}

}  // namespace fvlm::cli::serve
