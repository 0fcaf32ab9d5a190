// Arithmetic of the LLM prefill matmuls (where the f32 path runs a GEMM: linear.h's row thresholds;
// decode keeps its GEMV kernels in every mode). kF32 is the reference path (golden tests): weights widened or
// dequantised to f32 panels and oneDNN's sgemm. kBf16 runs them as oneDNN bf16 x bf16 -> f32 matmul
// primitives (decoder/bf16_matmul.h): activations rounded to bf16, BF16 weights used in place, other
// weight types converted to a reused bf16 panel just before their matmul. kAuto picks per CPU.
// (int8 prefill is not offered: not built yet, see bench/README.md.)
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "decoder/qwen2_config.h"

namespace fvlm::dec {

enum class LlmPrecision { kAuto, kF32, kBf16 };

std::string_view llm_precision_name(LlmPrecision p);   // "auto", "f32", "bf16"
std::vector<std::string> llm_precision_names();        // every name parse accepts (CLI checks)
LlmPrecision parse_llm_precision(std::string_view s);  // throws Error{kBadArgs}

// The precisions this CPU can run: f32, and bf16 where oneDNN has a bf16 matmul (emulated included).
std::vector<LlmPrecision> runnable_llm_precisions();

// kAuto -> kBf16 where oneDNN runs bf16 on bf16 hardware (AVX512_BF16 or AMX; core/bf16_support.h),
// else kF32 (so FVLM_MAX_ISA=avx2 gives kF32). Concrete precisions are returned unchanged.
LlmPrecision resolve_llm_precision(LlmPrecision p);

// Whether the bf16 prefill packs the layer matrices once into oneDNN's layout (a bf16 copy beside
// the weights decode reads: 2 bytes per weight, ~720 MB at 0.5B) instead of converting each before
// its matmul (decoder/bf16_matmul.h). kAuto: where bf16 runs on AMX tiles, whose matmuls are fast
// enough that the conversion would dominate, and the copy takes at most a quarter of the available
// memory. The environment variable FVLM_LLM_PACK=auto|on|off overrides kAuto (benchmarks).
enum class LlmPack { kAuto, kOn, kOff };
LlmPack parse_llm_pack(std::string_view s);  // throws Error{kBadArgs}
// The packing budget in bytes (0: no packing) for bf16 weights of `copy_bytes` (resolved precision p).
int64_t llm_pack_budget(LlmPack pack, LlmPrecision p, int64_t copy_bytes);
// The bytes of a bf16 copy of the matrices prefill multiplies by (each layer's seven projections;
// lm_head only ever sees one row): ~716 MB at 0.5B.
int64_t llm_bf16_copy_bytes(const Qwen2Config& c);

// resolve_llm_precision, and Error{kUnsupported} when bf16 is asked for where oneDNN has no bf16
// matmul (below AVX-512); a warning where it is emulated. Logs the choice at info (-v).
LlmPrecision choose_llm_precision(LlmPrecision asked);

}  // namespace fvlm::dec
