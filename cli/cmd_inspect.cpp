// `fastvlm inspect MODEL`: config summary, tensor count, parameters per component, validation.
#include <map>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/precision_report.h"
#include "core/huge_pages.h"
#include "decoder/llm_precision.h"
#include "encoder/vision_precision.h"
#include "models/model_source.h"
#include "models/model_tokenizer.h"
#include "quant/packed.h"

namespace fvlm::cli {
namespace {

// A model whose config.json (or converted metadata) fails its bounds: nothing derived from the
// config can be built safely, so the report is the checks and the error.
nlohmann::ordered_json failed_config_report(const std::string& path, const Error& e) {
  nlohmann::ordered_json problems = nlohmann::ordered_json::array();
  for (const auto& p : e.detail()["config_problems"])
    problems.push_back({{"key", p["key"]}, {"value", p["value"]}, {"expected", p["expected"]}});
  return {
      {"ok", false},
      {"model", path},
      {"config_checks", {{"ok", false}, {"problems", problems}}},
      {"validation",
       {{"ok", false}, {"skipped", "the tensors are not checked against a config that fails its bounds"}}},
      {"error", {{"code", errc_name(e.code())}, {"message", e.what()}}},
  };
}

nlohmann::ordered_json llm_precisions_report() {
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const dec::LlmPrecision p : dec::runnable_llm_precisions())
    names.push_back(dec::llm_precision_name(p));
  return names;
}

nlohmann::ordered_json inspect(const std::string& path) {
  ModelSource src;
  try {
    src = open_model_source(path, /*validate=*/false);
  } catch (const Error& e) {
    if (e.code() != Errc::kBadModel || !e.detail().contains("config_problems")) throw;
    return failed_config_report(path, e);
  }
  const ModelConfig& c = src.config;
  const int64_t copy_bytes = dec::llm_copy_bytes(c.llm, 2);
  // A Q8_0/Q4_0 file's layers are packed at load (--weight-pages auto); on AMX they need no bf16 copy.
  const auto gate = src.tensors.find(std::string(dec::kQwen2LayerPrefix) + "0.mlp.gate_proj.weight");
  const bool int8_on_amx = gate != src.tensors.end() && quant::packable(gate->second) &&
                           dec::int8_kernels_on_amx(quant::packed_type(gate->second.dtype()));
  const int64_t pack_bytes =
      dec::llm_pack_budget(dec::LlmPack::kAuto, dec::resolve_llm_precision(dec::LlmPrecision::kAuto),
                           copy_bytes, int8_on_amx) > 0
          ? copy_bytes
          : 0;
  const auto table = model_tensor_table(c);
  const auto problems = find_tensor_problems(table, src.tensors);
  std::string tokenizer_problem;  // the chat template's special tokens must be defined
  try {
    check_chat_tokens(src);
  } catch (const Error& e) {
    if (e.code() != Errc::kBadModel) throw;
    tokenizer_problem = e.what();
  }
  const bool valid = problems.empty() && tokenizer_problem.empty();
  std::map<std::string, int64_t> params;
  std::map<std::string, int64_t> dtypes;
  const char* role_names[] = {"vision", "projector", "llm"};
  for (const TensorSpec& s : table) {
    auto it = src.tensors.find(s.name);
    if (it == src.tensors.end() || s.presence == Presence::kIgnored) continue;
    params[role_names[int(s.role)]] += it->second.numel();
  }
  for (const auto& [name, t] : src.tensors) dtypes[std::string(dtype_name(t.dtype()))]++;
  // Storage per LLM tensor kind (layer index dropped), as a mixed q4_0 file needs to be read:
  // {"self_attn.q_proj.weight": {"Q8_0": 24}, "mlp.up_proj.weight": {"Q4_0": 24}, ...}.
  std::map<std::string, std::map<std::string, int64_t>> llm_dtypes;
  for (const TensorSpec& s : table) {
    auto it = src.tensors.find(s.name);
    if (it == src.tensors.end() || s.role != TensorRole::kLlm) continue;
    std::string kind = s.name;
    const std::string_view layers = dec::kQwen2LayerPrefix;
    if (kind.starts_with(layers)) kind = kind.substr(kind.find('.', layers.size()) + 1);
    llm_dtypes[kind][std::string(dtype_name(it->second.dtype()))]++;
  }
  nlohmann::ordered_json problem_list = nlohmann::ordered_json::array();
  for (const auto& p : problems) problem_list.push_back({{"tensor", p.name}, {"problem", p.what}});
  const FastVitHdConfig& v = c.vision;
  return {
      {"ok", valid},
      {"model", src.path},
      {"format", src.format == ModelFormat::kHuggingFace ? "huggingface" : "gguf"},
      {"name", c.name},
      {"file_bytes", src.file_bytes},
      {"vision",
       {{"tower", c.raw.value("mm_vision_tower", "")},
        {"image_size", v.image_size},
        {"image_tokens", v.tokens_for(v.image_size)},
        {"layers", v.layers},
        {"embed_dims", v.embed_dims},
        {"mm_hidden_size", c.mm_hidden_size},
        // what --vision-precision auto runs on this CPU, and how oneDNN would run bf16 here
        {"auto_precision",
         enc::vision_precision_name(enc::resolve_vision_precision(enc::VisionPrecision::kAuto))},
        {"bf16", enc::bf16_support_name(enc::bf16_support())},
        // oneDNN's kernel for the first ConvFFN fc1 at each precision this CPU runs
        {"kernels", vision_kernels_report(v)}}},
      {"projector", {{"type", c.mm_projector_type}, {"depth", c.projector_depth}}},
      {"llm",
       {{"hidden_size", c.llm.hidden_size},
        {"num_hidden_layers", c.llm.num_hidden_layers},
        {"num_attention_heads", c.llm.num_attention_heads},
        {"num_key_value_heads", c.llm.num_key_value_heads},
        {"intermediate_size", c.llm.intermediate_size},
        {"vocab_size", c.llm.vocab_size},
        {"tie_word_embeddings", c.llm.tie_word_embeddings},
        {"lm_head_stored", src.tensors.count(dec::kQwen2LmHead) > 0},
        // what --llm-precision auto runs the prefill in on this CPU
        {"auto_precision", dec::llm_precision_name(dec::resolve_llm_precision(dec::LlmPrecision::kAuto))},
        // bytes of packed bf16 prefill copies auto keeps in a long-lived process (0: none; AMX only)
        {"auto_bf16_packing_bytes", pack_bytes},
        // every --llm-precision this CPU runs, and the s8 copy int8 makes at its first prompt
        {"precisions", llm_precisions_report()},
        {"int8_copy_bytes", dec::llm_copy_bytes(c.llm, 1)}}},
      {"isa", isa_report()},
      // what --weight-pages auto can use: huge pages need THP "always" or "madvise"
      {"transparent_huge_pages", std::string(thp_mode_name(transparent_huge_pages()))},
      {"image_aspect_ratio", c.image_aspect_ratio},
      {"n_tensors", src.tensors.size()},
      {"dtypes", dtypes},
      {"llm_dtypes", llm_dtypes},
      {"parameters",
       {{"vision", params["vision"]},
        {"projector", params["projector"]},
        {"llm", params["llm"]},
        {"total", params["vision"] + params["projector"] + params["llm"]}}},
      {"config_checks",
       {{"ok", true}, {"checked", c.checks_passed}, {"problems", nlohmann::ordered_json::array()}}},
      {"validation",
       {{"ok", valid},
        {"problems", problem_list},
        {"tokenizer", {{"ok", tokenizer_problem.empty()}, {"problem", tokenizer_problem}}}}},
  };
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("inspect", "Describe a model: config, tensors, parameter counts, validation");
  auto path = std::make_shared<std::string>();
  cmd->add_option("model", *path, "Model directory (Hugging Face FastVLM layout)")->required();
  cmd->callback([path, &exit_code] {
    const nlohmann::ordered_json report = inspect(*path);
    emit(report);
    exit_code = report["ok"].get<bool>() ? kExitOk : errc_exit_code(Errc::kBadModel);
  });
}

}  // namespace fvlm::cli
