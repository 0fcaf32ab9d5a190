// Counting a batch as it goes (what the progress line shows) and the summary object written at the
// end or on interruption: on stderr, and with --summary to a file.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/batch_shard.h"

namespace fvlm::cli {

struct BatchStats {
  using Clock = std::chrono::steady_clock;
  Shard shard;
  std::string output;          // the -o file, "" for stdout only
  int64_t listed = 0;          // items INPUT names, every shard
  int64_t total = 0;           // items of this shard
  int64_t skipped = 0;         // already answered (--resume)
  int64_t ok = 0, failed = 0;  // answered in this run
  std::map<std::string, int64_t> failed_by_code;
  double ttft_ms_sum = 0;                                 // over ok results
  int64_t tokens = 0;                                     // generated tokens, all ok results
  double decode_tokens = 0, decode_ms = 0;                // the decode phase (after the first token)
  Clock::time_point start = Clock::now(), first_image{};  // first_image: the model is loaded
  int stop_signal = 0;                                    // SIGINT / SIGTERM that ended the run early
  nlohmann::ordered_json engine;  // its settings and what it did (cli/engine_report.h); null: never ran

  void add(const nlohmann::ordered_json& result);
  int64_t done() const { return ok + failed; }
  int64_t to_do() const { return total - skipped; }
  double seconds_since(Clock::time_point t) const;  // 0 before t is set
};

nlohmann::ordered_json summary_json(const BatchStats& s, int exit_code);
// Writes `j` to `path` through a temporary file and a rename (never half a file). Throws Error{kIoError}.
void write_summary_file(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace fvlm::cli
