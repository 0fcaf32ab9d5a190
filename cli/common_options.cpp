#include "cli/common_options.h"

#include <algorithm>
#include <climits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/option_checks.h"
#include "core/error.h"
#include "decoder/llm_precision.h"
#include "decoder/weight_pages.h"
#include "encoder/vision_precision.h"

namespace fvlm::cli {
namespace {

// "COLSxROWS" with each side in 1..kMaxGridSide (core/anyres.cpp's bound) and at most 64 tiles.
constexpr int kMaxGridSide = 16, kMaxGridTiles = 64;

void parse_grid(const std::string& grid, ImageOptions& im) {
  const size_t x = grid.find_first_of("xX");
  const auto cols = x == std::string::npos ? std::nullopt : parse_int64(std::string_view(grid).substr(0, x));
  const auto rows = x == std::string::npos ? std::nullopt : parse_int64(std::string_view(grid).substr(x + 1));
  if (!cols || !rows || grid[0] == '+' || grid[x + 1] == '+')
    throw Error(Errc::kBadArgs, fmt::format("--grid must be COLSxROWS, e.g. 2x2, got '{}'", grid));
  if (*cols < 1 || *rows < 1 || *cols > kMaxGridSide || *rows > kMaxGridSide)
    throw Error(Errc::kBadArgs,
                fmt::format("--grid {}: columns and rows must each be from 1 to {}, got {} column{} "
                            "and {} row{}",
                            grid, kMaxGridSide, *cols, *cols == 1 ? "" : "s", *rows, *rows == 1 ? "" : "s"));
  if (*cols * *rows > kMaxGridTiles)
    throw Error(Errc::kBadArgs, fmt::format("--grid {}: {} tiles, at most {} are allowed", grid,
                                            *cols * *rows, kMaxGridTiles));
  im.grid_cols = int(*cols);
  im.grid_rows = int(*rows);
}

// --encode-ahead / --encoder-threads against --threads as given (before it is capped to the cores):
// the run-ahead encoder shares the generation's threads, it does not add cores.
void check_run_ahead(const EngineOptions& e, int requested_threads) {
  if (e.encode_ahead < -1)
    throw Error(Errc::kBadArgs,
                fmt::format("--encode-ahead must be 0 (off) or more, got {}", e.encode_ahead));
  if (e.encoder_threads < 0)
    throw Error(
        Errc::kBadArgs,
        fmt::format("--encoder-threads must be 0 (as many as --threads) or more, got {}", e.encoder_threads));
  const int limit = requested_threads > 0 ? requested_threads : usable_threads();
  if (e.encoder_threads > limit)
    throw Error(
        Errc::kBadArgs,
        fmt::format("--encoder-threads {} is more than {}: the run-ahead encoder shares the "
                    "generation's threads",
                    e.encoder_threads,
                    requested_threads > 0 ? fmt::format("--threads {}", requested_threads)
                                          : fmt::format("the {} threads of --threads 0 (all cores)", limit)),
        {{"option", "--encoder-threads"}, {"encoder_threads", e.encoder_threads}, {"threads", limit}});
  if (e.encode_ahead == 0 && e.encoder_threads > 0)
    spdlog::warn("--encoder-threads {} has no effect with --encode-ahead 0 (no run-ahead encoder)",
                 e.encoder_threads);
}

}  // namespace

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("-m,--model", o.model,
                  "Model: HF FastVLM directory, converted directory or GGUF file(s) "
                  "(default: $FASTVLM_MODEL)");
  cmd->add_option("-t,--threads", o.threads,
                  "Threads (default 0: all cores; more than the hardware threads are "
                  "capped to them)")
      ->transform(whole_number(0, INT_MAX, "a whole number of threads, 0 for all cores"));
}

void add_image_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--image-mode", o.image_mode, "pad (default, as trained) | crop | tiles")
      ->check(CLI::IsMember({"pad", "crop", "tiles"}));
  cmd->add_option("--resolution", o.image.resolution,
                  "Encoder input size, a multiple of 64 (default: the model's)")
      ->check(image_side());
  cmd->add_option("--grid", o.grid, "Force a tiles grid COLSxROWS, each 1..16 (implies --image-mode tiles)");
  cmd->add_option("--max-pixels", o.image.max_pixels, "Refuse images larger than this (default 100e6)")
      ->transform(whole_number(1, INT64_MAX, "a whole number of pixels, at least 1"));
  cmd->add_option("--vision-precision", o.model.vision_precision,
                  "Encoder arithmetic (Linears, attention and the convs that feed them): auto (default: bf16 "
                  "where the CPU has native "
                  "bf16 - AMX or AVX512_BF16 - else f32) | "
                  "f32 (reference) | bf16 (oneDNN bf16 matmuls; emulated, slow, without AVX512_BF16) | "
                  "int8 (faster, approximate)")
      ->check(CLI::IsMember(enc::vision_precision_names()));
}

void add_llm_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("--llm-precision", o.llm_precision,
                  "LLM prefill matmuls: auto (default: bf16 where the CPU has native bf16 - AMX or "
                  "AVX512_BF16 - else f32) | f32 (reference) | bf16 (oneDNN bf16 matmuls; emulated, slow, "
                  "without AVX512_BF16) | int8 (oneDNN s8 matmuls on an s8 copy of the weights, from 48 "
                  "prompt tokens; needs VNNI or AMX; approximate). Decode always runs the f32/int8 GEMV "
                  "kernels")
      ->check(CLI::IsMember(dec::llm_precision_names()));
  cmd->add_option("--weight-pages", o.weight_pages,
                  "Where the LLM weights live: auto (default: huge where the kernel has transparent huge "
                  "pages and the copy takes at most half the free memory) | huge (copied at load into 2 MB "
                  "pages: decode ~30% faster, a private copy) | mapped (the file's pages: no copy, shared "
                  "with other processes)")
      ->check(CLI::IsMember(dec::weight_pages_names()));
}

void add_run_options(CLI::App* cmd, RunOptions& o) {
  add_model_options(cmd, o.model);
  add_image_options(cmd, o);
  add_llm_options(cmd, o.model);
  GenerateOptions& g = o.gen;
  cmd->add_option("--max-tokens", g.max_tokens,
                  "Maximum new tokens (256); 0 or -1: generate until the model's context is full")
      ->transform(
          whole_number(-1, INT_MAX, "a whole number of new tokens (0 or -1: until the context is full)"));
  cmd->add_option("--temperature", g.temperature, "Sampling temperature, 0 = greedy (default)")
      ->check(real_number(0.0, 100.0, false, "a number from 0 (greedy) to 100"));
  cmd->add_option("--top-k", g.top_k, "Keep the k most likely tokens (0 = off)")
      ->transform(whole_number(0, INT_MAX, "a whole number, 0 for off"));
  cmd->add_option("--top-p", g.top_p, "Nucleus sampling mass (1 = off)")
      ->check(real_number(0.0, 1.0, true, "a number above 0 and at most 1 (1 = off; 0 would keep no token)"));
  cmd->add_option("--repetition-penalty", g.repetition_penalty, "HF-style repetition penalty (1 = off)")
      ->check(real_number(0.01, 100.0, false, "a number from 0.01 to 100 (1 = off)"));
  cmd->add_option("--seed", g.seed, "Random seed for sampling (same seed, same output)")
      ->check(unsigned_64bit("a whole number from 0 to 18446744073709551615"));
  cmd->add_option("--system", g.system, "System prompt (default: \"You are a helpful assistant.\")");
  cmd->add_flag("--ignore-eos", g.ignore_eos, "Do not stop at <|im_end|>/<|endoftext|>");
  cmd->add_flag("--stream", o.stream, "Write the answer to stderr as it is generated");
  cmd->add_option("--logits-out", o.logits_out,
                  "Write float32 logits at the last prompt position to this .npy");
}

void add_engine_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--parallel", o.engine.parallel,
                  fmt::format("Images generated together, one forward pass per token for all (0 = from the "
                              "cores: {} here; 1 = one at a time). Answers do not change with it",
                              default_parallel()))
      ->transform(whole_number(0, 256, "a whole number of sequences from 0 (automatic) to 256"));
  cmd->add_option("--kv-budget", o.engine.kv_budget_mb,
                  "KV cache memory for the images in flight, MB (0 = a quarter of the free memory); an "
                  "image that does not fit waits")
      ->transform(whole_number(0, int64_t(1) << 40, "a whole number of MB, 0 for automatic"));
  add_run_ahead_options(cmd, o.engine, "images");
  cmd->add_flag("--unordered", o.unordered, "Write each result as it finishes, not in input order");
}

void add_run_ahead_options(CLI::App* cmd, EngineOptions& e, const std::string& what) {
  // The trade, measured in bench/README.md ("OpenMP teams": 2 cores, 16 images).
  cmd->add_option("--encode-ahead", e.encode_ahead,
                  fmt::format("Encoder run-ahead: how many {0} a second thread encodes ahead, while the "
                              "others generate, to wait for a slot (default: --parallel's value while it is "
                              "under --threads, else 0; 0 = off: each is encoded when it joins, pausing "
                              "the others). It pays only while the batch leaves the cores idle (2 cores: "
                              "+2 to +8% images/s at --parallel 1, none from 2) and delays the first token "
                              "of the {0} already generating. Answers do not change with it",
                              what))
      ->transform(whole_number(0, 256, "a whole number from 0 (off) to 256"));
  cmd->add_option("--encoder-threads", e.encoder_threads,
                  "Threads of the run-ahead encoder, beside the generation's (0 = as many as --threads, "
                  "the default; at most --threads). Answers do not change with it")
      ->transform(whole_number(0, INT_MAX, "a whole number of threads, 0 for as many as --threads"));
}

void finish_model_options(ModelOptions& o) { o.threads = cap_threads(o.threads); }

void finish_run_options(RunOptions& o) {
  check_run_ahead(o.engine, o.model.threads);
  finish_model_options(o.model);
  // --threads was capped to the cores (with a warning): the encoder's share follows it.
  if (o.model.threads > 0) o.engine.encoder_threads = std::min(o.engine.encoder_threads, o.model.threads);
  ImageOptions& im = o.image;
  if (!o.image_mode.empty()) {
    im.mode_from_config = false;
    im.mode = o.image_mode == "crop"    ? ImageMode::kCrop
              : o.image_mode == "tiles" ? ImageMode::kTiles
                                        : ImageMode::kPad;
  }
  if (!o.grid.empty()) {
    parse_grid(o.grid, im);
    if (!o.image_mode.empty() && im.mode != ImageMode::kTiles)
      throw Error(Errc::kBadArgs, fmt::format("--grid needs --image-mode tiles, not {}", o.image_mode));
    im.mode = ImageMode::kTiles;
    im.mode_from_config = false;
  }
  // The validators above cover the command line; these guard values set by code.
  if (im.resolution != 0 && (im.resolution < 64 || im.resolution % 64 != 0 || im.resolution > kMaxResolution))
    throw Error(Errc::kBadArgs, fmt::format("--resolution must be a multiple of 64 from 64 to {}, got {}",
                                            kMaxResolution, im.resolution));
  if (im.max_pixels <= 0) throw Error(Errc::kBadArgs, "--max-pixels must be positive");
  if (!o.logits_out.empty()) check_output_file(o.logits_out, "--logits-out");
  if (o.stream) o.engine.parallel = 1;  // streamed answers of several images would interleave on stderr
}

}  // namespace fvlm::cli
