#include "decoder/normalize.h"

#include <cstdlib>
#include <memory>

#include <utf8proc.h>

#include "core/error.h"

namespace fvlm {
namespace {

void append_nfc(std::string_view s, std::string& out) {
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()), &result,
                   utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  FVLM_CHECK(n >= 0, "utf8proc NFC of valid UTF-8");  // callers pass valid UTF-8 only
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(result, &std::free);
  out.append(reinterpret_cast<const char*>(result), size_t(n));
}

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

size_t find_non_ascii(std::string_view s, size_t from) {
  for (size_t i = from; i < s.size(); ++i)
    if (!is_ascii(s[i])) return i;
  return std::string_view::npos;
}

}  // namespace

std::string_view nfc(std::string_view s, std::string& buf) {
  size_t i = find_non_ascii(s, 0);
  if (i == std::string_view::npos) return s;
  buf.clear();
  buf.reserve(s.size() + 16);
  size_t done = 0;  // s[0, done) is in buf
  while (i != std::string_view::npos) {
    const size_t start = i > done ? i - 1 : i;  // the ASCII base before a combining mark
    size_t end = i;
    while (end < s.size() && !is_ascii(s[end])) ++end;
    buf.append(s.substr(done, start - done));
    append_nfc(s.substr(start, end - start), buf);
    done = end;
    i = find_non_ascii(s, end);
  }
  buf.append(s.substr(done));
  return buf;
}

std::string nfc_ref(std::string_view s) {
  std::string out;
  append_nfc(s, out);
  return out;
}

}  // namespace fvlm
