#include "cli/batch_summary.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/output.h"
#include "cli/stop_signals.h"
#include "core/error.h"
#include "core/process_usage.h"

namespace fvlm::cli {

void BatchStats::add(const nlohmann::ordered_json& r) {
  if (!r.value("ok", false)) {
    ++failed;
    ++failed_by_code[r["error"].value("code", "internal")];
    return;
  }
  ++ok;
  const auto& t = r["timing_ms"];
  ttft_ms_sum += t.value("ttft", 0.0);
  tokens += int64_t(r["token_ids"].size());
  const double dms = t.value("decode", 0.0);
  decode_ms += dms;
  decode_tokens += r.value("decode_tokens_per_s", 0.0) * dms / 1000.0;
}

double BatchStats::seconds_since(Clock::time_point t) const {
  if (t == Clock::time_point{}) return 0;
  return std::chrono::duration<double>(Clock::now() - t).count();
}

nlohmann::ordered_json summary_json(const BatchStats& s, int exit_code) {
  const double work_s = s.seconds_since(s.first_image);
  nlohmann::ordered_json j;
  j["summary"] = "batch";
  j["shard"] = s.shard.n > 1 ? nlohmann::ordered_json(shard_name(s.shard)) : nlohmann::ordered_json(nullptr);
  j["output"] = s.output.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.output);
  j["images"] = {{"listed", s.listed}, {"total", s.total},   {"skipped", s.skipped},
                 {"ok", s.ok},         {"failed", s.failed}, {"not_done", s.to_do() - s.done()}};
  j["failed_by_code"] = s.failed_by_code;
  j["wall_s"] = round3(s.seconds_since(s.start));
  j["images_per_s"] = work_s > 0 ? round3(double(s.done()) / work_s) : 0.0;
  j["mean_ttft_ms"] = s.ok > 0 ? round1(s.ttft_ms_sum / double(s.ok)) : 0.0;
  j["decode_tokens_per_s"] = s.decode_ms > 0 ? round1(s.decode_tokens / (s.decode_ms / 1000)) : 0.0;
  j["engine"] = s.engine;
  j["peak_rss_mb"] = round1(peak_rss_mb());
  j["interrupted"] =
      s.stop_signal ? nlohmann::ordered_json(signal_name(s.stop_signal)) : nlohmann::ordered_json(nullptr);
  j["exit_code"] = exit_code;
  return j;
}

void write_summary_file(const std::string& path, const nlohmann::ordered_json& j) {
  const std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw Error(Errc::kIoError, fmt::format("cannot write the summary {}", tmp));
  const std::string text = j.dump(2) + "\n";
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw Error(Errc::kIoError, fmt::format("cannot write the summary {}", path));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(Errc::kIoError, fmt::format("cannot write the summary {}: {}", path, ec.message()));
  }
}

}  // namespace fvlm::cli
