#include "cli/serve/auth.h"

#include <cctype>
#include <cstddef>

namespace fvlm::cli::serve {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited whatever the contents; the length difference is
  // folded into the same accumulator, so there is no early exit at all.
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = unsigned(a.size() ^ b.size()) | unsigned((a.size() ^ b.size()) >> 32);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= unsigned(x ^ y);
  }
  // volatile: the compiler may not turn the loop back into an early-exit compare.
  volatile unsigned result = diff;
  return result == 0;
}

bool authorized(std::string_view header, std::string_view key) {
  if (key.empty()) return true;
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return constant_time_equal(token, key);
}

}  // namespace fvlm::cli::serve
