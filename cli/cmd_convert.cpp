// `convert SRC -o OUTDIR --type T`: a Hugging Face FastVLM checkpoint -> the GGUF pair
// (fastvlm-llm.gguf in llama.cpp's qwen2 conventions, fastvlm-vision.gguf).
#include <chrono>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "models/convert.h"

namespace fvlm::cli {
namespace {

struct ConvertCommand {
  std::string src, out, type = "q8_0";
  bool pure = false;
};

nlohmann::ordered_json file_json(const ConvertedFile& f) {
  return {{"path", f.path}, {"bytes", f.bytes}, {"tensors", f.tensors}};
}

}  // namespace

void add_convert_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ConvertCommand>();
  auto* cmd =
      app.add_subcommand("convert", "Convert a Hugging Face FastVLM checkpoint to GGUF (LLM + vision files)");
  cmd->add_option("src", c->src, "Hugging Face FastVLM directory")->required();
  cmd->add_option("-o,--output", c->out, "Output directory (created)")->required();
  cmd->add_option("--type", c->type,
                  "f32 | f16 | bf16 | q8_0 (default) | q4_0: LLM matrices; norms, biases "
                  "and small tensors stay F32, vision convs F16 at most");
  cmd->add_flag("--pure", c->pure,
                "No mixture: at q4_0 also the attention projections, ffn_down and the output "
                "matrix are Q4_0 (smaller and faster, less accurate; default keeps them Q8_0)");
  cmd->callback([c, &exit_code] {
    ConvertOptions o;
    o.src = c->src;
    o.out_dir = c->out;
    o.type = parse_convert_type(c->type);
    o.pure = c->pure;
    check_output_dir(c->out, "--output");
    const auto t0 = std::chrono::steady_clock::now();
    const ConvertResult r = convert_model(o);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    emit({{"ok", true},
          {"task", "convert"},
          {"src", c->src},
          {"output", c->out},
          {"type", c->type},
          {"pure", c->pure},
          {"llm", file_json(r.llm)},
          {"vision", file_json(r.vision)},
          {"timing_ms", {{"convert", round_ms(ms)}}}});
    exit_code = 0;
  });
}

}  // namespace fvlm::cli
