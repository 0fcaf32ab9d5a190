#include "cli/precision_report.h"

#include "core/cpu_features.h"
#include "core/dispatch.h"
#include "core/runtime.h"
#include "encoder/fastvithd.h"

namespace fvlm::cli {

nlohmann::ordered_json isa_report() {
  IsaCeiling best = IsaCeiling::kScalar;  // the highest tier whose features this CPU has, under the cap
  for (CpuFeature f : {CpuFeature::kAvx2, CpuFeature::kAvxVnni, CpuFeature::kAvx512Vnni})
    if (isa_allowed(f) && isa_tier(f) > best) best = isa_tier(f);
  return {{"cpu", cpu_features_summary()},
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

}  // namespace fvlm::cli
