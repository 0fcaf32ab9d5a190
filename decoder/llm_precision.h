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

// resolve_llm_precision, and Error{kUnsupported} when bf16 is asked for where oneDNN has no bf16
// matmul (below AVX-512); a warning where it is emulated. Logs the choice at info (-v).
LlmPrecision choose_llm_precision(LlmPrecision asked);

}  // namespace fvlm::dec
