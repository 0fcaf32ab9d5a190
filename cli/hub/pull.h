// `fastvlm pull REPO`: the files a FastVLM directory needs, from the Hub into the Hugging Face cache
// (hub/hub_download.h), checked to be a FastVLM checkpoint before the weights come down, then
// converted into the project's cache (models/model_cache.h) with the existing atomic convert.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/hub/hub_download.h"
#include "models/convert.h"
#include "models/model_cache.h"

namespace fvlm::hub {

struct PullOptions {
  std::string repo;
  std::string revision = "main";
  std::string type = "q8_0";  // q8_0 | q4_0 | bf16 | f16 | f32 | none (the HF directory only)
  bool offline = false;       // --offline; HF_HUB_OFFLINE=1 too
  ProgressFn progress;
};

struct PullResult {
  RepoId repo;
  std::string revision, commit;
  std::string snapshot_dir;  // the HF directory
  std::string model_path;    // what -m REPO now opens: the converted pair, or the snapshot ("none")
  bool offline = false;
  std::vector<FetchedFile> files;
  int64_t downloaded_bytes = 0;
  std::optional<ConvertResult> converted;  // set when converted now
  double download_ms = 0, convert_ms = 0;
};

// Errors: kBadArgs (repo id, type), kNotFound (no such repo/revision, gated without access, not
// cached while offline), kUnsupported (not a FastVLM checkpoint), kIoError (network, disk,
// checksum), and convert's own (kBadModel for a broken checkpoint).
PullResult pull_model(const PullOptions& opt);

// The repository files a FastVLM directory is made of: config and tokenizer JSON/text files and the
// safetensors weights (+ index) at the top level; READMEs, images, *.bin/*.pt copies are skipped.
bool is_model_file(const std::string& name);

}  // namespace fvlm::hub
