#include "models/answer_parse.h"

#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace fvlm {
namespace {

std::vector<std::string> words_of(std::string_view s) {
  std::vector<std::string> words;
  std::string w;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalpha(c)) {
      w.push_back(char(std::tolower(c)));
    } else {
      if (!w.empty()) words.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) words.push_back(w);
  return words;
}

const std::map<std::string, int>& small_numbers() {
  static const std::map<std::string, int> m = {
      {"zero", 0},     {"one", 1},      {"two", 2},        {"three", 3},     {"four", 4},
      {"five", 5},     {"six", 6},      {"seven", 7},      {"eight", 8},     {"nine", 9},
      {"ten", 10},     {"eleven", 11},  {"twelve", 12},    {"thirteen", 13}, {"fourteen", 14},
      {"fifteen", 15}, {"sixteen", 16}, {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
      {"twenty", 20},  {"thirty", 30},  {"forty", 40},     {"fifty", 50},    {"sixty", 60},
      {"seventy", 70}, {"eighty", 80},  {"ninety", 90},    {"dozen", 12},    {"single", 1}};
  return m;
}

bool is_digit_at(std::string_view s, size_t i) {
  return i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]));
}

std::optional<long long> digits_count(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_digit_at(s, i)) continue;
    long long v = 0;
    size_t j = i;
    while (j < s.size() && v < 1'000'000'000'000LL) {
      if (is_digit_at(s, j)) {
        v = v * 10 + (s[j] - '0');
        ++j;
      } else if (s[j] == ',' && is_digit_at(s, j + 1) && is_digit_at(s, j + 2) && is_digit_at(s, j + 3) &&
                 !is_digit_at(s, j + 4)) {
        ++j;  // "1,234": a comma before exactly three digits separates thousands
      } else {
        break;
      }
    }
    return v;
  }
  return std::nullopt;
}

std::optional<long long> words_count(const std::vector<std::string>& words) {
  const auto& small = small_numbers();
  for (size_t i = 0; i < words.size(); ++i) {
    auto it = small.find(words[i]);
    if (it == small.end()) continue;
    // Accumulate "three hundred and five", "twenty one", "a dozen".
    long long total = 0, current = it->second;
    size_t j = i + 1;
    for (; j < words.size(); ++j) {
      const std::string& w = words[j];
      if (w == "hundred")
        current *= 100;
      else if (w == "thousand") {
        total += current * 1000;
        current = 0;
      } else if (w == "and" && j + 1 < words.size() && small.count(words[j + 1]))
        continue;
      else if (auto n = small.find(w);
               n != small.end() && n->second < 10 && current % 10 == 0 && current >= 20)
        current += n->second;
      else if (auto n2 = small.find(w); n2 != small.end() && current % 100 == 0 && current >= 100)
        current += n2->second;
      else
        break;
    }
    return total + current;
  }
  return std::nullopt;
}

}  // namespace

std::optional<long long> parse_count(std::string_view answer) {
  if (auto d = digits_count(answer)) return d;
  const std::vector<std::string> words = words_of(answer);
  if (auto w = words_count(words)) return w;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "none" || words[i] == "nothing") return 0;
    // "there are no apples" (but not a leading "No, ..." which answers a yes/no question).
    if (words[i] == "no" && i > 0) return 0;
  }
  return std::nullopt;
}

}  // namespace fvlm
