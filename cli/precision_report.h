// What `inspect` and `bench` say about the arithmetic this CPU runs: the ISA tiers (our kernels'
// and oneDNN's) and, per vision precision, the oneDNN kernel of the encoder's widest Linear.
#pragma once
#include <nlohmann/json.hpp>

#include "encoder/fastvithd_config.h"
#include "encoder/vision_precision.h"
#include "models/pipeline.h"

namespace fvlm::cli {

// {"model": "AMD EPYC ...", "cpu": "avx2 fma ...", "max_isa": "none", "kernels": "avx512",
//  "onednn": "avx512_core_vnni", "bf16": "native (avx512_core_bf16)"}
nlohmann::ordered_json isa_report();

// The oneDNN kernel (impl_info_str) of the first ConvFFN fc1 at one precision (kAuto resolved).
std::string vision_kernel(const FastVitHdConfig& cfg, enc::VisionPrecision precision);

// {"f32": kernel, "bf16": kernel, "int8": kernel} over the precisions this CPU runs.
nlohmann::ordered_json vision_kernels_report(const FastVitHdConfig& cfg);

// How a loaded pipeline runs, for the lines of `bench`: {"load_ms", "threads", "vision_precision" (auto
// resolved), "vision_kernel", "isa", "llm_precision", "weight_pages", "packed_matrices", "llm_bf16_packing"
// {on, packed_mb}, "llm_s8_copies" {on, packed_mb, outliers (outlier_report)}}.
nlohmann::ordered_json run_report(const Pipeline& p, const std::string& vision_precision,
                                  const std::string& llm_precision);

// The int8 prefill's outlier columns so far (decoder/int8_outliers.h): {"inputs", "with_outliers",
// "columns_mean" (over the inputs that had any), "columns_max", "cap"}. A checkpoint whose inputs often
// have them is one where --llm-precision int8 leans on its f32 columns.
nlohmann::ordered_json outlier_report(const dec::OutlierCounts& c);

// run_report as the first line of `bench`'s tables: "# <cpu model>, <threads> threads; cpu <features>;
// kernels <tier>, oneDNN <isa>; vision <precision> (<kernel>), llm <precision>, weights <pages>".
// A figure means little without the machine beside it.
std::string machine_line(const nlohmann::ordered_json& run);

}  // namespace fvlm::cli
