#include "cli/batch_shard.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <optional>

#include "cli/stable_hash.h"
#include "core/error.h"

namespace fvlm::cli {
namespace {

std::optional<long> parse_int(std::string_view s) {
  long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

long env_int(const char* name, long fallback, bool required) {
  const auto v = env(name);
  if (!v) {
    if (required)
      throw Error(Errc::kBadArgs, fmt::format("{} is not set (needed to pick this task's shard)", name));
    return fallback;
  }
  const auto n = parse_int(*v);
  if (!n) throw Error(Errc::kBadArgs, fmt::format("{}={} is not an integer", name, *v));
  return *n;
}

Shard checked(long k, long n, std::string source) {
  if (n < 1 || n > 1'000'000)
    throw Error(Errc::kBadArgs, fmt::format("{}: shard count {} must be between 1 and 1000000", source, n));
  if (k < 0 || k >= n)
    throw Error(Errc::kBadArgs, fmt::format("{}: shard index {} must be between 0 and {} (K counts from 0)",
                                            source, k, n - 1));
  return Shard{int(k), int(n), std::move(source)};
}

Shard from_slurm(int shards_arg) {
  const long id = env_int("SLURM_ARRAY_TASK_ID", 0, true);
  const long count = env_int("SLURM_ARRAY_TASK_COUNT", 0, true);
  const long min = env_int("SLURM_ARRAY_TASK_MIN", 0, false);
  const long step = env_int("SLURM_ARRAY_TASK_STEP", 1, false);
  if (shards_arg != 0 && shards_arg != count)
    throw Error(Errc::kBadArgs,
                fmt::format("--shards {} disagrees with SLURM_ARRAY_TASK_COUNT={}", shards_arg, count));
  if (step < 1 || (id - min) % step != 0)
    throw Error(Errc::kBadArgs,
                fmt::format("SLURM_ARRAY_TASK_ID={} is not on the array's step {} from {}", id, step, min));
  return checked((id - min) / step, count, fmt::format("SLURM_ARRAY_TASK_ID={}", id));
}

}  // namespace

Shard choose_shard(const std::string& shard_arg, int shards_arg) {
  if (!shard_arg.empty()) {
    if (shards_arg != 0) throw Error(Errc::kBadArgs, "give --shard K/N or --shards N, not both");
    const size_t slash = shard_arg.find('/');
    const auto k =
        slash == std::string::npos ? std::nullopt : parse_int(std::string_view(shard_arg).substr(0, slash));
    const auto n =
        slash == std::string::npos ? std::nullopt : parse_int(std::string_view(shard_arg).substr(slash + 1));
    if (!k || !n)
      throw Error(Errc::kBadArgs, fmt::format("--shard must look like K/N (0/4), got '{}'", shard_arg));
    return checked(*k, *n, "--shard " + shard_arg);
  }
  if (env("SLURM_ARRAY_TASK_ID")) return from_slurm(shards_arg);
  if (const auto index = env("JOB_COMPLETION_INDEX")) {
    const auto k = parse_int(*index);
    if (!k) throw Error(Errc::kBadArgs, fmt::format("JOB_COMPLETION_INDEX={} is not an integer", *index));
    if (shards_arg == 0)
      throw Error(Errc::kBadArgs,
                  "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but not --shards N: pass "
                  "--shards with the Job's completions, or --shard K/N");
    return checked(*k, shards_arg, fmt::format("JOB_COMPLETION_INDEX={}", *k));
  }
  if (shards_arg != 0)
    throw Error(Errc::kBadArgs,
                "--shards N needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID in the environment; "
                "outside a scheduler use --shard K/N");
  return Shard{};
}

bool in_shard(const Shard& s, const std::string& rel_path) {
  return s.n <= 1 || fnv1a64(rel_path) % uint64_t(s.n) == uint64_t(s.k);
}

std::string shard_name(const Shard& s) { return fmt::format("{}/{}", s.k, s.n); }

std::string expand_shard(const std::string& pattern, const Shard& s) {
  std::string out = pattern;
  const std::string k = std::to_string(s.k);
  for (size_t pos = out.find("{shard}"); pos != std::string::npos; pos = out.find("{shard}", pos + k.size()))
    out.replace(pos, 7, k);
  return out;
}

}  // namespace fvlm::cli
