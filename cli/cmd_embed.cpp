// `embed IMAGE -o feats.npy [--projected]`: FastViTHD features [tokens, mm_hidden] (or projected
// [tokens, hidden]) of an image, as float32 .npy.
#include <chrono>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/image_input.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "core/npy.h"
#include "core/runtime.h"
#include "encoder/vision_backend.h"
#include "models/image_views.h"
#include "models/model_source.h"

namespace fvlm::cli {
namespace {

struct EmbedCommand {
  std::string image, output;
  bool projected = false;
  RunOptions run;
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void add_embed_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<EmbedCommand>();
  auto* cmd =
      app.add_subcommand("embed", "Write an image's FastViTHD features (or projected embeddings) as .npy");
  cmd->add_option("image", c->image, "Image file, or - for image bytes on stdin")->required();
  cmd->add_option("-o,--output", c->output,
                  "Output .npy, float32 [tokens, mm_hidden] ([tokens, hidden] with "
                  "--projected)")
      ->required();
  cmd->add_flag("--projected", c->projected, "Run the projector too (LLM-width embeddings)");
  add_model_options(cmd, c->run.model);
  add_image_options(cmd, c->run);
  cmd->callback([c, &exit_code] {
    finish_run_options(c->run);
    check_output_file(c->output, "--output");
    auto t0 = std::chrono::steady_clock::now();
    ModelSource src = open_model_source(c->run.model.model);
    Runtime rt(c->run.model.threads);
    enc::CpuVisionBackend vision(rt, vision_config(src.config), src.tensors,
                                 enc::parse_vision_precision(c->run.model.vision_precision));
    const double load_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    const Image img = read_image_arg(c->image, c->run.image.max_pixels);
    const ImageViews views = make_image_views(img, c->run.image, &src.config);
    const double prep_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    const Tensor out = enc::encode_image(vision, views.pixels, c->projected);
    const double encode_ms = ms_since(t0);
    write_npy(c->output, out);
    nlohmann::ordered_json j = {{"ok", true},
                                {"image", c->image},
                                {"output", c->output},
                                {"shape", out.shape()},
                                {"projected", c->projected},
                                {"resolution", views.resolution},
                                {"image_mode", std::string(image_mode_name(views.mode))}};
    if (views.grid_cols) j["grid"] = {views.grid_cols, views.grid_rows};
    j["timing_ms"] = {
        {"load", round_ms(load_ms)}, {"preprocess", round_ms(prep_ms)}, {"encode", round_ms(encode_ms)}};
    emit(j);
    exit_code = 0;
  });
}

}  // namespace fvlm::cli
