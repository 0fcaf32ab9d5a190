#include "cli/batch_key.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/stable_hash.h"
#include "decoder/llm_precision.h"
#include "encoder/vision_precision.h"
#include "models/model_source.h"

namespace fvlm::cli {
namespace {
namespace fs = std::filesystem;

std::string stat_line(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return p.string() + " ?";
  return fmt::format("{} {} {}.{:09}", p.filename().string(), int64_t(st.st_size), int64_t(st.st_mtim.tv_sec),
                     int64_t(st.st_mtim.tv_nsec));
}

// The model as files: its canonical path and every config, tokenizer and weight file beside it
// (name, size, mtime). A model converted again in place, or another quantisation, is another model.
std::string model_identity(const std::string& model_arg) {
  const std::string path = resolve_model_path(model_arg);
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  if (ec) return "unresolved:" + path;
  const fs::path dir = fs::is_directory(real, ec) ? real : real.parent_path();
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".json" || ext == ".safetensors" || ext == ".gguf" || ext == ".txt" || ext == ".model")
      files.push_back(stat_line(e.path()));
  }
  std::sort(files.begin(), files.end());
  std::string id = real.string();
  for (const std::string& f : files) id += "\n" + f;
  return id;
}

std::string resolved_precision(const std::string& asked) {
  return std::string(
      enc::vision_precision_name(enc::resolve_vision_precision(enc::parse_vision_precision(asked))));
}

}  // namespace

std::string settings_fingerprint(const TaskSpec& t, const RunOptions& o) {
  const GenerateOptions& g = o.gen;
  const ImageOptions& im = o.image;
  const nlohmann::ordered_json j = {
      {"task", task_name(t.task)},
      {"prompt", task_prompt(t)},
      {"model", model_identity(o.model.model)},
      // The precision that will run, not the name asked for: "auto" means bf16 on one machine of a
      // sharded job and f32 on another, and their answers differ.
      {"vision_precision", resolved_precision(o.model.vision_precision)},
      {"llm_precision", std::string(dec::llm_precision_name(
                            dec::resolve_llm_precision(dec::parse_llm_precision(o.model.llm_precision))))},
      {"image_mode", im.mode_from_config ? std::string("config") : std::to_string(int(im.mode))},
      {"resolution", im.resolution},
      {"grid", {im.grid_cols, im.grid_rows}},
      {"max_tokens", g.max_tokens},
      {"temperature", g.temperature},
      {"top_k", g.top_k},
      {"top_p", g.top_p},
      {"repetition_penalty", g.repetition_penalty},
      {"seed", g.seed},
      {"ignore_eos", g.ignore_eos},
      {"system", g.system}};
  return j.dump();
}

std::string result_key(const std::string& fingerprint, const std::string& image_identity) {
  return hex64(fnv1a64(image_identity, fnv1a64(fingerprint + '\0')));
}

}  // namespace fvlm::cli
