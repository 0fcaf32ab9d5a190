// Arithmetic of the LLM prefill matmuls (where the f32 path runs a GEMM: linear.h's row thresholds;
// decode keeps its GEMV kernels in every mode). kF32 is the reference path (golden tests): weights widened or
// dequantised to f32 panels and oneDNN's sgemm. kBf16 runs them as oneDNN bf16 x bf16 -> f32 matmul
// primitives (decoder/prefill_matmul.h): activations rounded to bf16, BF16 weights used in place, other
// weight types converted to a reused bf16 panel just before their matmul. kInt8 runs them as oneDNN
// s8 x s8 matmuls (VNNI / AMX int8) on copies of the weights requantised per row and packed once
// (1 byte a weight), the activations quantised per token at each call; opt-in, never picked by kAuto:
// its error on a real checkpoint (outlier channels) is unmeasured here (bench --compare-precision).
// kAuto picks bf16 or f32 per CPU.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "decoder/qwen2_config.h"

namespace fvlm::dec {

enum class LlmPrecision { kAuto, kF32, kBf16, kInt8 };

std::string_view llm_precision_name(LlmPrecision p);   // "auto", "f32", "bf16", "int8"
std::vector<std::string> llm_precision_names();        // every name parse accepts (CLI checks)
LlmPrecision parse_llm_precision(std::string_view s);  // throws Error{kBadArgs}

// The precisions this CPU can run: f32, bf16 where oneDNN has a bf16 matmul (emulated included),
// int8 where it has int8 dot products (VNNI: AVX512_VNNI, AVX-VNNI, AMX).
std::vector<LlmPrecision> runnable_llm_precisions();

// kAuto -> kBf16 where oneDNN runs bf16 on bf16 hardware (AVX512_BF16 or AMX; core/bf16_support.h),
// else kF32 (so FVLM_MAX_ISA=avx2 gives kF32). Concrete precisions are returned unchanged.
LlmPrecision resolve_llm_precision(LlmPrecision p);

// Whether the bf16 prefill packs the layer matrices once into oneDNN's layout (a bf16 copy beside
// the weights decode reads: 2 bytes per weight, ~720 MB at 0.5B) instead of converting each before
// its matmul (decoder/prefill_matmul.h). kAuto: where bf16 runs on AMX tiles, whose matmuls are fast
// enough that the conversion would dominate, and the copy takes at most a quarter of the available
// memory. The environment variable FVLM_LLM_PACK=auto|on|off overrides kAuto (benchmarks).
enum class LlmPack { kAuto, kOn, kOff };
LlmPack parse_llm_pack(std::string_view s);  // throws Error{kBadArgs}
// The packing budget in bytes (0: no packing) for copies of `copy_bytes` (resolved precision p). int8
// always packs (it has no other way to run) unless FVLM_LLM_PACK=off or the copy would pass half
// the available memory; then its prefill runs the bf16 / f32 path, with a warning.
// bf16 with `int8_on_amx` (the layer weights are packed Q8_0/Q4_0 that the AMX int8 kernels run:
// as fast as oneDNN's bf16 matmul on a packed copy, bench/README.md "Session 30") packs nothing
// unless FVLM_LLM_PACK=on.
int64_t llm_pack_budget(LlmPack pack, LlmPrecision p, int64_t copy_bytes, bool int8_on_amx = false);
// Whether prompts run layer weights of type t on the AMX int8 kernels: packed Q8_0/Q4_0 (what
// --weight-pages auto makes of a Q8_0/Q4_0 file) on a CPU and FVLM_MAX_ISA that allow them.
bool int8_kernels_on_amx(DType t);
// The bytes of a copy of the matrices prefill multiplies by (each layer's seven projections;
// lm_head only ever sees one row) at `bytes_per_weight`: ~716 MB at 0.5B in bf16, ~358 MB in s8.
int64_t llm_copy_bytes(const Qwen2Config& c, int bytes_per_weight);

// resolve_llm_precision, and Error{kUnsupported} when bf16 is asked for where oneDNN has no bf16
// matmul (below AVX-512), or int8 where it has no VNNI; a warning where bf16 is emulated. Logs the
// choice at info (-v).
LlmPrecision choose_llm_precision(LlmPrecision asked);

}  // namespace fvlm::dec
