#include "cli/common_options.h"

#include <regex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace fvlm::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("-m,--model", o.model, "Model: HF FastVLM directory, converted directory or GGUF file(s) "
                                         "(default: $FASTVLM_MODEL)");
  cmd->add_option("-t,--threads", o.threads, "Threads (default: all cores)")->check(CLI::NonNegativeNumber);
}

void add_image_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--image-mode", o.image_mode, "pad (default, as trained) | crop | tiles")
      ->check(CLI::IsMember({"pad", "crop", "tiles"}));
  cmd->add_option("--resolution", o.image.resolution, "Encoder input size, a multiple of 64 (default: the model's)");
  cmd->add_option("--grid", o.grid, "Force a tiles grid COLSxROWS (implies --image-mode tiles)");
  cmd->add_option("--max-pixels", o.image.max_pixels, "Refuse images larger than this (default 100e6)");
  cmd->add_option("--vision-precision", o.model.vision_precision,
                  "Encoder Linear/1x1 arithmetic: f32 (default, reference) | int8 (faster, approximate)")
      ->check(CLI::IsMember({"f32", "int8"}));
}

void add_run_options(CLI::App* cmd, RunOptions& o) {
  add_model_options(cmd, o.model);
  add_image_options(cmd, o);
  GenerateOptions& g = o.gen;
  cmd->add_option("--max-tokens", g.max_tokens, "Maximum new tokens (256)")->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", g.temperature, "Sampling temperature, 0 = greedy (default)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-k", g.top_k, "Keep the k most likely tokens (0 = off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", g.top_p, "Nucleus sampling mass (1 = off)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repetition-penalty", g.repetition_penalty, "HF-style repetition penalty (1 = off)")
      ->check(CLI::Range(0.01, 100.0));
  cmd->add_option("--seed", g.seed, "Random seed for sampling (same seed, same output)");
  cmd->add_option("--system", g.system, "System prompt (default: \"You are a helpful assistant.\")");
  cmd->add_flag("--ignore-eos", g.ignore_eos, "Do not stop at <|im_end|>/<|endoftext|>");
  cmd->add_flag("--stream", o.stream, "Write the answer to stderr as it is generated");
  cmd->add_option("--logits-out", o.logits_out, "Write float32 logits at the last prompt position to this .npy");
}

void finish_run_options(RunOptions& o) {
  ImageOptions& im = o.image;
  if (!o.image_mode.empty()) {
    im.mode_from_config = false;
    im.mode = o.image_mode == "crop" ? ImageMode::kCrop : o.image_mode == "tiles" ? ImageMode::kTiles : ImageMode::kPad;
  }
  if (!o.grid.empty()) {
    static const std::regex grid_re(R"(^(\d+)[xX](\d+)$)");
    std::smatch m;
    if (!std::regex_match(o.grid, m, grid_re))
      throw Error(Errc::kBadArgs, fmt::format("--grid must look like 2x2, got '{}'", o.grid));
    im.grid_cols = std::stoi(m[1]);
    im.grid_rows = std::stoi(m[2]);
    if (im.grid_cols < 1 || im.grid_rows < 1 || im.grid_cols * im.grid_rows > 64)
      throw Error(Errc::kBadArgs, fmt::format("--grid {}: between 1 and 64 tiles", o.grid));
    if (!o.image_mode.empty() && im.mode != ImageMode::kTiles)
      throw Error(Errc::kBadArgs, "--grid needs --image-mode tiles");
    im.mode = ImageMode::kTiles;
    im.mode_from_config = false;
  }
  if (im.resolution != 0 && (im.resolution < 64 || im.resolution % 64 != 0 || im.resolution > 4096))
    throw Error(Errc::kBadArgs, fmt::format("--resolution must be a multiple of 64 in [64, 4096], got {}",
                                            im.resolution));
  if (im.max_pixels <= 0) throw Error(Errc::kBadArgs, "--max-pixels must be positive");
}

}  // namespace fvlm::cli
