#include "decoder/byte_unicode.h"

#include <array>

namespace fvlm {
namespace {

constexpr bool printable(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // code point (< 0x144) -> byte, -1 if none
};

constexpr ByteTables make_tables() {
  ByteTables t{};
  for (auto& v : t.from_cp) v = -1;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    t.to_cp[b] = printable(b) ? char32_t(b) : char32_t(256 + n++);  // bs.append(b); cs.append(2**8 + n)
    t.from_cp[t.to_cp[b]] = int16_t(b);
  }
  return t;
}

constexpr ByteTables kTables = make_tables();

void append_utf8(char32_t cp, std::string& out) {  // cp < 0x800 here
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::optional<std::string> byte_unicode_to_bytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    const auto c = uint8_t(token[i]);
    char32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < token.size() && (uint8_t(token[i + 1]) & 0xC0) == 0x80) {
      cp = char32_t(c & 0x1F) << 6 | (uint8_t(token[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;  // 3- and 4-byte characters are never in the alphabet
    }
    if (cp >= kTables.from_cp.size() || kTables.from_cp[cp] < 0) return std::nullopt;
    out.push_back(char(kTables.from_cp[cp]));
  }
  return out;
}

std::string bytes_to_byte_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) append_utf8(kTables.to_cp[uint8_t(b)], out);
  return out;
}

}  // namespace fvlm
