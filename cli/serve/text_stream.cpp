#include "cli/serve/text_stream.h"

#include <algorithm>
#include <string_view>

namespace fvlm::cli::serve {
namespace {

constexpr std::string_view kSpace = " \t\n\r\f\v";  // the pipeline's strip() set

size_t without_trailing_space(std::string_view s, size_t end) {
  while (end > 0 && kSpace.find(s[end - 1]) != std::string_view::npos) --end;
  return end;
}

}  // namespace

std::string TextStream::emit(std::string s) {
  sent_ += s;
  return s;
}

std::string TextStream::push(const std::string& piece) {
  if (stopped_) return {};
  std::string_view p = piece;
  if (!started_) {
    const size_t b = p.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    p.remove_prefix(b);
    started_ = true;
  }
  held_ += p;
  // Every earlier occurrence would have been caught by an earlier push: anything that could start
  // a stop string stayed in held_.
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, without_trailing_space(held_, first));
    held_.clear();
    return emit(std::move(out));
  }
  // Hold back the longest tail that is a proper prefix of some stop string...
  size_t hold = 0;
  for (const std::string& s : stops_)
    for (size_t k = std::min(s.size() - 1, held_.size()); k > hold; --k)
      if (std::string_view(held_).substr(held_.size() - k) == std::string_view(s).substr(0, k)) {
        hold = k;
        break;
      }
  // ...and the whitespace before it, which strip() drops if nothing follows.
  const size_t end = without_trailing_space(held_, held_.size() - hold);
  std::string out = held_.substr(0, end);
  held_.erase(0, end);
  return emit(std::move(out));
}

std::string TextStream::finish() {
  if (stopped_) return {};
  std::string out = held_.substr(0, without_trailing_space(held_, held_.size()));
  held_.clear();
  return emit(std::move(out));
}

}  // namespace fvlm::cli::serve
