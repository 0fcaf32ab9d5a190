// Table 3-7 of the Unicode standard ("Well-Formed UTF-8 Byte Sequences") drives everything here:
// the lead byte fixes the length and the allowed range of the SECOND byte; later bytes are 80..BF.
#include "decoder/utf8.h"

#include <cstdint>
#include <cstring>

namespace fvlm::utf8 {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct LeadInfo {
  int length;        // total bytes, 0 = not a lead byte (C0, C1, F5..FF, or a continuation)
  uint8_t lo2, hi2;  // range of the second byte
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // no overlong forms
  if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // no overlong forms
  if (b == 0xF4) return {4, 0x80, 0x8F};  // <= U+10FFFF
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  return {0, 0, 0};
}

bool in(uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; }

}  // namespace

int sequence_length(std::string_view s, size_t i, int* maximal_subpart) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const LeadInfo li = lead_info(p[i]);
  if (li.length == 1) return 1;
  if (li.length == 0) {
    *maximal_subpart = 1;
    return 0;
  }
  // Count how many bytes are a valid prefix; a broken sequence is replaced as one unit.
  int valid = 1;
  for (int k = 1; k < li.length; ++k) {
    if (i + k >= s.size()) break;
    const uint8_t b = p[i + k];
    const bool ok = k == 1 ? in(b, li.lo2, li.hi2) : in(b, 0x80, 0xBF);
    if (!ok) break;
    ++valid;
  }
  if (valid == li.length) return li.length;
  *maximal_subpart = valid;
  return 0;
}

bool is_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path, 8 bytes at a time.
    if (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    int bad = 0;
    const int n = sequence_length(s, i, &bad);
    if (n == 0) return false;
    i += size_t(n);
  }
  return true;
}

void append_lossy(std::string_view bytes, std::string& out) {
  size_t i = 0, run = 0;  // [run, i) is well-formed and not yet copied
  while (i < bytes.size()) {
    if (uint8_t(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    int bad = 0;
    const int n = sequence_length(bytes, i, &bad);
    if (n > 0) {
      i += size_t(n);
      continue;
    }
    out.append(bytes.substr(run, i - run));
    out.append(kReplacement);
    i += size_t(bad);
    run = i;
  }
  out.append(bytes.substr(run));
}

std::string decode_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_lossy(bytes, out);
  return out;
}

int incomplete_tail(std::string_view s) {
  // A tail is a lead byte in the last 3 bytes whose valid prefix runs to the end but is short.
  for (int back = 1; back <= 3 && size_t(back) <= s.size(); ++back) {
    const size_t start = s.size() - size_t(back);
    const uint8_t b = uint8_t(s[start]);
    if (b >= 0x80 && b < 0xC0) continue;  // a continuation byte: keep looking for the lead
    const LeadInfo li = lead_info(b);
    if (li.length <= back) return 0;  // ASCII, invalid lead, or a sequence that is complete
    int bad = 0;
    if (sequence_length(s, start, &bad) != 0) return 0;
    return bad == back ? back : 0;  // the whole tail is a valid prefix
  }
  return 0;
}

}  // namespace fvlm::utf8
