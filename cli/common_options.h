// Options shared by the commands that run the model (ask, describe, count, ocr, batch, bench,
// embed), and turning them into pipeline settings.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "models/engine.h"
#include "models/pipeline.h"

namespace fvlm::cli {

struct ModelOptions {
  std::string model;  // -m/--model, else $FASTVLM_MODEL
  int threads = 0;
  std::string vision_precision = "auto";  // --vision-precision auto|f32|bf16|int8 (commands that encode)
  std::string llm_precision = "auto";     // --llm-precision auto|f32|bf16 (commands that run the LLM)
  std::string weight_pages = "auto";      // --weight-pages auto|huge|mapped (commands that run the LLM)
};

struct RunOptions {
  ModelOptions model;
  GenerateOptions gen;
  ImageOptions image;
  std::string image_mode;  // "" = from the model's config
  std::string grid;        // "CxR"
  std::string logits_out;
  bool stream = false;
  // --parallel (0 = from the machine), --kv-budget (0 = from free memory), --encode-ahead (-1 =
  // automatic), --encoder-threads (0 = automatic)
  EngineOptions engine{0, 0};
  bool unordered = false;  // write each result as it finishes, not in input order
};

void add_model_options(CLI::App* cmd, ModelOptions& o);
// --llm-precision and --weight-pages: how the LLM runs (commands that run it).
void add_llm_options(CLI::App* cmd, ModelOptions& o);
void add_image_options(CLI::App* cmd, RunOptions& o);
void add_run_options(CLI::App* cmd, RunOptions& o);  // model + image + generation options
// --parallel, --kv-budget, --unordered and the run-ahead options: the commands that answer many
// images (batch, describe, ocr).
void add_engine_options(CLI::App* cmd, RunOptions& o);
// --encode-ahead, --encoder-threads (every command that runs an Engine; `what`: "images" or
// "requests", for the help text).
void add_run_ahead_options(CLI::App* cmd, EngineOptions& e, const std::string& what);
// Checks what the parse-time validators cannot (cross-option rules, output paths) and folds the
// string options (image mode, grid) into o.image; caps --threads. Call before the model loads.
// Throws Error{kBadArgs}.
void finish_run_options(RunOptions& o);
void finish_model_options(ModelOptions& o);  // --threads only (commands without run options)

}  // namespace fvlm::cli
