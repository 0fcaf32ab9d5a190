#include "cli/precision_report.h"

#include "cli/output.h"

#include <fmt/format.h>

#include "core/cpu_features.h"
#include "core/dispatch.h"
#include "core/runtime.h"
#include "decoder/llm_precision.h"
#include "decoder/weight_pages.h"
#include "encoder/fastvithd.h"

namespace fvlm::cli {

nlohmann::ordered_json isa_report() {
  IsaCeiling best = IsaCeiling::kScalar;  // the highest tier whose features this CPU has, under the cap
  for (CpuFeature f : {CpuFeature::kAvx2, CpuFeature::kAvxVnni, CpuFeature::kAvx512Vnni})
    if (isa_allowed(f) && isa_tier(f) > best) best = isa_tier(f);
  return {{"model", cpu_model_name()},
          {"cpu", cpu_features_summary()},
          {"max_isa", std::string(isa_ceiling_name(isa_ceiling()))},
          {"kernels", std::string(isa_ceiling_name(best))},
          {"onednn", std::string(enc::onednn_isa_name())},
          {"bf16", std::string(enc::bf16_support_name(enc::bf16_support()))}};
}

std::string vision_kernel(const FastVitHdConfig& cfg, enc::VisionPrecision precision) {
  Runtime rt;
  return enc::ffn_kernel_name(rt, cfg, precision);
}

nlohmann::ordered_json vision_kernels_report(const FastVitHdConfig& cfg) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (enc::VisionPrecision p : enc::runnable_vision_precisions())
    j[std::string(enc::vision_precision_name(p))] = vision_kernel(cfg, p);
  return j;
}

nlohmann::ordered_json outlier_report(const dec::OutlierCounts& c) {
  return {{"inputs", c.inputs},
          {"with_outliers", c.with_outliers},
          {"columns_mean", c.with_outliers ? double(c.columns) / double(c.with_outliers) : 0.0},
          {"columns_max", c.max_columns},
          {"cap", dec::kMaxOutlierColumns}};
}

nlohmann::ordered_json run_report(const Pipeline& p, const std::string& vision_precision,
                                  const std::string& llm_precision) {
  const enc::VisionPrecision vision =
      enc::resolve_vision_precision(enc::parse_vision_precision(vision_precision));
  const dec::WeightPlacement& placed = p.weight_placement();
  const dec::LlmPrecision llm = dec::resolve_llm_precision(dec::parse_llm_precision(llm_precision));
  const bool s8 = llm == dec::LlmPrecision::kInt8;  // its copies are s8, else bf16 ones (AMX)
  return {{"load_ms", round_ms(p.load_ms())},
          {"threads", p.threads()},
          {"vision_precision", std::string(enc::vision_precision_name(vision))},
          {"vision_kernel", vision_kernel(p.config().vision, vision)},
          {"isa", isa_report()},
          {"llm_precision", std::string(dec::llm_precision_name(llm))},
          {"weight_pages", std::string(dec::weight_pages_name(placed.pages))},
          // Matrices interleaved at load: their prefill runs on the int8 kernels, whatever
          // llm_precision says (it applies to the other matrices), unless llm_bf16_packing is on:
          // then from a matrix's second prompt on bf16 copies packed for oneDNN take it (AMX); or
          // under int8, from 48 tokens, the s8 copies of llm_s8_copies (made at the first prompt).
          {"packed_matrices", placed.packed},
          {"llm_bf16_packing", {{"on", !s8 && p.llm_packs()}, {"packed_mb", s8 ? 0 : p.llm_packed_mb()}}},
          {"llm_s8_copies",
           {{"on", s8 && p.llm_packs()},
            {"packed_mb", s8 ? p.llm_packed_mb() : 0},
            {"outliers", outlier_report(p.llm_int8_outliers())}}}};
}

std::string machine_line(const nlohmann::ordered_json& run) {
  const nlohmann::ordered_json& isa = run.at("isa");
  const bool bf16_copies = run.at("llm_bf16_packing").at("on").get<bool>();
  const bool s8_copies = run.at("llm_s8_copies").at("on").get<bool>();
  return fmt::format("# {}, {} threads; cpu {}; kernels {}, oneDNN {}; vision {} ({}), llm {}{}, weights {}",
                     isa.at("model").get<std::string>(), run.at("threads").get<int>(),
                     isa.at("cpu").get<std::string>(), isa.at("kernels").get<std::string>(),
                     isa.at("onednn").get<std::string>(), run.at("vision_precision").get<std::string>(),
                     run.at("vision_kernel").get<std::string>(), run.at("llm_precision").get<std::string>(),
                     bf16_copies ? " (packed bf16 from the 2nd prompt)"
                     : s8_copies ? " (s8 copies from the 1st prompt of 48+ tokens)"
                                 : "",
                     run.at("weight_pages").get<std::string>());
}

}  // namespace fvlm::cli
