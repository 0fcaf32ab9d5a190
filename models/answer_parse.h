// Turning a model's free-text answer into the structured fields of `count`.
#pragma once
#include <optional>
#include <string_view>

namespace fvlm {

// The count stated in an answer: the first number written in digits ("12", "1,234"), else the first
// number in English words ("twenty-one", "three hundred and five"), else 0 for "none"/"no <noun>"/
// "zero", else nothing. Negative or fractional numbers are not counts: "-3" reads as 3, "2.5" as 2.
std::optional<long long> parse_count(std::string_view answer);

}  // namespace fvlm
