// `preprocess IMAGE -o pixels.npy`: the exact encoder input ([3,R,R], or [views,3,R,R] for tiles).
#include <chrono>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/image_input.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/npy.h"
#include "models/image_views.h"
#include "models/model_source.h"

namespace fvlm::cli {
namespace {

struct PreprocessCommand {
  std::string image, output;
  RunOptions run;
  bool save_u8 = false;
};

}  // namespace

void add_preprocess_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<PreprocessCommand>();
  auto* cmd = app.add_subcommand("preprocess", "Write the encoder input of an image as float32 .npy");
  cmd->add_option("image", c->image, "Image file, or - for image bytes on stdin")->required();
  cmd->add_option("-o,--output", c->output, "Output .npy ([3,R,R], or [views,3,R,R] in tiles mode)")
      ->required();
  cmd->add_option("-m,--model", c->run.model.model,
                  "Model whose resolution and image mode to use "
                  "(default: $FASTVLM_MODEL; or give --resolution)");
  add_image_options(cmd, c->run);
  cmd->callback([c, &exit_code] {
    finish_run_options(c->run);
    check_output_file(c->output, "--output");
    ImageOptions im = c->run.image;
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<ModelConfig> config;
    if (!c->run.model.model.empty() || (std::getenv("FASTVLM_MODEL") && im.resolution == 0))
      config = open_model_source(c->run.model.model, /*validate=*/false).config;
    if (!config && im.resolution == 0) throw Error(Errc::kBadArgs, "give --resolution or a model (-m)");
    const Image img = read_image_arg(c->image, im.max_pixels);
    ImageViews views = make_image_views(img, im, config ? &*config : nullptr);
    if (views.mode != ImageMode::kTiles) {  // one view: [3, R, R], like the golden pixel_values
      const int64_t R = views.resolution;
      views.pixels = views.pixels.reshaped({3, R, R});
    }
    write_npy(c->output, views.pixels);
    nlohmann::ordered_json j = {{"ok", true},
                                {"image", c->image},
                                {"output", c->output},
                                {"width", img.width},
                                {"height", img.height},
                                {"shape", views.pixels.shape()},
                                {"resolution", views.resolution},
                                {"image_mode", std::string(image_mode_name(views.mode))}};
    if (views.grid_cols) j["grid"] = {views.grid_cols, views.grid_rows};
    j["timing_ms"] = {
        {"preprocess",
         round_ms(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count())}};
    emit(j);
    exit_code = 0;
  });
}

}  // namespace fvlm::cli
