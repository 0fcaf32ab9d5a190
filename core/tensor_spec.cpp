#include "core/tensor_spec.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm {

std::vector<TensorProblem> find_tensor_problems(const std::vector<TensorSpec>& table,
                                                const TensorMap& tensors) {
  std::vector<TensorProblem> problems;
  std::set<std::string> known;
  for (const TensorSpec& s : table) {
    known.insert(s.name);
    auto it = tensors.find(s.name);
    if (it == tensors.end()) {
      if (s.presence == Presence::kRequired) problems.push_back({s.name, "missing"});
      continue;
    }
    const Tensor& t = it->second;
    if (t.shape() != s.shape) {
      problems.push_back(
          {s.name, fmt::format("shape {}, expected {}", shape_str(t.shape()), shape_str(s.shape))});
      continue;
    }
    const bool float_ok = t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16 ||
                          t.dtype() == DType::Q8_0 || t.dtype() == DType::Q4_0;
    if (s.presence != Presence::kIgnored && !float_ok)
      problems.push_back({s.name, fmt::format("dtype {} is not a float type", dtype_name(t.dtype()))});
  }
  for (const auto& [name, t] : tensors)
    if (!known.count(name)) problems.push_back({name, "unexpected"});
  return problems;
}

void validate_tensors(const std::vector<TensorSpec>& table, const TensorMap& tensors) {
  const std::vector<TensorProblem> problems = find_tensor_problems(table, tensors);
  if (problems.empty()) return;
  nlohmann::json detail = nlohmann::json::array();
  std::string first;
  for (size_t i = 0; i < problems.size(); ++i) {
    detail.push_back({{"tensor", problems[i].name}, {"problem", problems[i].what}});
    if (i < 3) first += fmt::format("{}{}: {}", i ? "; " : "", problems[i].name, problems[i].what);
  }
  throw Error(Errc::kBadModel,
              fmt::format("checkpoint does not match config.json: {} problem(s): {}{}", problems.size(),
                          first, problems.size() > 3 ? "; ..." : ""),
              nlohmann::json{{"problems", detail}});
}

}  // namespace fvlm
