#include "cli/batch_inputs.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace fvlm::cli {
namespace {
namespace fs = std::filesystem;

bool is_image_name(const fs::path& p) {
  static const std::set<std::string> exts = {".jpg",  ".jpeg", ".jpe", ".png",
                                             ".webp", ".bmp",  ".tif", ".tiff"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return exts.count(e) > 0;
}

// Canonical path, size and modification time: the same file under another spelling (./dir vs dir,
// a symlink) has the same identity, and a file rewritten in place has another.
std::string file_identity(const std::string& path) {
  struct stat st {};
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr || ::stat(real, &st) != 0) {
    std::free(real);
    return "unresolved:" + fs::absolute(path).lexically_normal().string();
  }
  std::string id = fmt::format("{}\n{}\n{}.{:09}", real, int64_t(st.st_size), int64_t(st.st_mtim.tv_sec),
                               int64_t(st.st_mtim.tv_nsec));
  std::free(real);
  return id;
}

BatchItem item_for(const fs::path& path, const std::string& rel) {
  BatchItem it;
  it.path = path.string();
  it.rel = rel;
  it.identity = file_identity(it.path);
  return it;
}

BatchItem unreadable_item(const fs::path& path, const fs::path& root, const std::error_code& ec) {
  BatchItem it;
  it.path = path.string();
  it.rel = path.lexically_normal().lexically_relative(root).generic_string();
  it.identity = "unresolved:" + fs::absolute(path).lexically_normal().string();
  it.unreadable = true;
  it.error_code = Errc::kNotFound;
  it.error_message = fmt::format("{}: cannot read: {}", it.path, ec.message());
  return it;
}

// Each directory entry's status is asked with an error_code: one bad entry (a symlink loop gives
// ELOOP, a dangling link ENOENT, a locked folder EACCES) becomes an item with its error.
void walk(const fs::path& dir, const fs::path& root, bool recursive, std::vector<BatchItem>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    out.push_back(unreadable_item(dir, root, ec));
    return;
  }
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    const fs::directory_entry& e = *it;
    std::error_code sec;
    const fs::file_status st = e.status(sec);  // follows symlinks
    if (sec) {
      out.push_back(unreadable_item(e.path(), root, sec));
      continue;
    }
    if (fs::is_directory(st)) {
      if (recursive && !e.is_symlink(sec)) walk(e.path(), root, recursive, out);
      continue;
    }
    if (fs::is_regular_file(st) && is_image_name(e.path()))
      out.push_back(
          item_for(e.path(), e.path().lexically_normal().lexically_relative(root).generic_string()));
  }
  if (ec) out.push_back(unreadable_item(dir, root, ec));  // reading the folder failed midway
}

// A UTF-8 lead byte: how many continuation bytes follow, its payload bits, the smallest code point
// its length may encode (anything less is an overlong form). extra < 0: not a lead byte.
struct Utf8Lead {
  int extra;
  uint32_t bits, min;
};
Utf8Lead utf8_lead(unsigned char c) {
  if ((c & 0xE0) == 0xC0) return {1, c & 0x1Fu, 0x80};
  if ((c & 0xF0) == 0xE0) return {2, c & 0x0Fu, 0x800};
  if ((c & 0xF8) == 0xF0) return {3, c & 0x07u, 0x10000};
  return {-1, 0, 0};
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). Returns the offset of
// the first bad byte, or npos.
size_t first_invalid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    const Utf8Lead lead = utf8_lead(c);
    if (lead.extra < 0 || i + size_t(lead.extra) >= s.size()) return i;  // stray or truncated
    uint32_t cp = lead.bits;
    for (int k = 1; k <= lead.extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + size_t(k)]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < lead.min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += size_t(lead.extra) + 1;
  }
  return std::string::npos;
}

// A list of paths, one per line ('#' comments, blank lines and trailing spaces/CR ignored).
std::vector<BatchItem> parse_list(std::string text, const std::string& name) {
  if (const size_t nul = text.find('\0'); nul != std::string::npos)
    throw Error(Errc::kBadArgs,
                fmt::format("{} is not a list of paths: NUL byte at offset {} (a binary file? "
                            "give a folder, an image, or a text file with one path per line)",
                            name, nul));
  if (const size_t bad = first_invalid_utf8(text); bad != std::string::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(bad), '\n');
    throw Error(Errc::kBadArgs, fmt::format("{} is not a list of paths: invalid UTF-8 at byte {} (line {})",
                                            name, bad, line));
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // a BOM from Windows editors
  std::vector<BatchItem> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(item_for(line, fs::path(line).lexically_normal().generic_string()));
  }
  return out;
}

std::string read_all(std::istream& in) { return {std::istreambuf_iterator<char>(in), {}}; }

// stdin, read until EOF or until `stopped()`. poll(2) is interrupted by a signal whatever
// SA_RESTART says (signal(7)), and its timeout covers a signal landing just before the call: one
// Ctrl-C ends the list while it is still being typed or piped (a blocking read would restart and
// wait for EOF). A line cut off by the stop is dropped.
std::string read_stdin(const std::function<bool()>& stopped) {
  std::string text;
  char buf[1 << 16];
  for (;;) {
    if (stopped && stopped()) {
      text.erase(text.rfind('\n') + 1);  // npos + 1 == 0: no whole line yet
      spdlog::info("batch input -: stopped while reading stdin, {} bytes of paths read", text.size());
      return text;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, /*timeout_ms=*/200) <= 0) continue;  // timeout or EINTR: check the stop again
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) return text;
    if (n > 0)
      text.append(buf, size_t(n));
    else if (errno != EINTR && errno != EAGAIN)
      throw Error(Errc::kBadArgs, fmt::format("batch input -: cannot read stdin: {}", std::strerror(errno)));
  }
}

}  // namespace

bool has_image_signature(const std::string& h) {
  auto at = [&](size_t off, std::string_view magic) { return h.compare(off, magic.size(), magic) == 0; };
  if (h.size() < 12) return at(0, "\xFF\xD8\xFF");
  return at(0, "\xFF\xD8\xFF") || at(0, "\x89PNG\r\n\x1A\n") || at(0, "GIF8") ||
         (at(0, "RIFF") && at(8, "WEBP")) || at(0, std::string_view("II*\0", 4)) ||
         at(0, std::string_view("MM\0*", 4)) ||
         (at(0, "BM") && at(6, std::string_view("\0\0\0\0", 4))) ||  // BMP: reserved bytes are zero
         (h[0] == '\0' && at(4, "ftyp"));                            // HEIF / AVIF box
}

std::vector<BatchItem> list_batch_inputs(const std::string& input, bool recursive,
                                         const std::function<bool()>& stopped) {
  if (input == "-") return parse_list(read_stdin(stopped), "stdin");
  std::error_code ec;
  const fs::file_status st = fs::status(input, ec);
  if (ec || !fs::exists(st))
    throw Error(Errc::kNotFound, fmt::format("batch input {}: {}", input, ec ? ec.message() : "not found"));
  if (fs::is_directory(st)) {
    std::vector<BatchItem> out;
    // The shard hash sees paths relative to INPUT, normalised: "dir", "./dir/" give the same shards.
    walk(input, fs::path(input).lexically_normal(), recursive, out);
    std::sort(out.begin(), out.end(), [](const BatchItem& a, const BatchItem& b) { return a.path < b.path; });
    return out;
  }
  std::ifstream f(input, std::ios::binary);
  if (!f)
    throw Error(Errc::kNotFound, fmt::format("batch input {}: cannot open: {}", input, std::strerror(errno)));
  const std::string text = read_all(f);  // a FIFO (<(ls *.jpg)) can be read only once
  if (has_image_signature(text.substr(0, 16)) || is_image_name(input)) {
    spdlog::info("batch input {} is an image: a batch of one", input);
    return {item_for(input, fs::path(input).filename().generic_string())};
  }
  return parse_list(text, input);
}

}  // namespace fvlm::cli
