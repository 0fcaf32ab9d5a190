// Splitting one batch over N processes or machines: shard K of N takes the items whose stable hash
// of their path relative to INPUT is K mod N (not their position, so adding files moves few).
// K/N come from --shard, else from the scheduler's environment (Slurm job array, Kubernetes
// Indexed Job), so the same command line serves every task of the array.
#pragma once
#include <string>

namespace fvlm::cli {

struct Shard {
  int k = 0, n = 1;    // n == 1: the whole input
  std::string source;  // where K/N came from ("--shard K/N", "SLURM_ARRAY_TASK_ID", ...), "" if unsharded
};

// --shard "K/N" (empty when absent) and --shards N (0 when absent), then the environment:
// SLURM_ARRAY_TASK_ID/_COUNT/_MIN (/_STEP), or JOB_COMPLETION_INDEX together with --shards N.
// Throws Error{kBadArgs} for a malformed or inconsistent choice.
Shard choose_shard(const std::string& shard_arg, int shards_arg);

bool in_shard(const Shard& s, const std::string& rel_path);
std::string shard_name(const Shard& s);  // "K/N"
// Replaces every "{shard}" in `pattern` with K (results-{shard}.jsonl -> results-3.jsonl).
std::string expand_shard(const std::string& pattern, const Shard& s);

}  // namespace fvlm::cli
