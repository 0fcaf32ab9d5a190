#include "decoder/llm_precision.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "core/bf16_support.h"
#include "core/enum_names.h"
#include "core/error.h"
#include "core/memory_info.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

namespace fvlm::dec {
namespace {

constexpr EnumName<LlmPrecision> kNames[] = {{LlmPrecision::kAuto, "auto"},
                                             {LlmPrecision::kF32, "f32"},
                                             {LlmPrecision::kBf16, "bf16"},
                                             {LlmPrecision::kInt8, "int8"}};
constexpr EnumName<LlmPack> kPackNames[] = {
    {LlmPack::kAuto, "auto"}, {LlmPack::kOn, "on"}, {LlmPack::kOff, "off"}};

}  // namespace

std::string_view llm_precision_name(LlmPrecision p) { return enum_name<LlmPrecision>(kNames, p); }
std::vector<std::string> llm_precision_names() { return enum_names<LlmPrecision>(kNames); }
LlmPrecision parse_llm_precision(std::string_view s) {
  return parse_enum<LlmPrecision>(kNames, s, "llm precision");
}

std::vector<LlmPrecision> runnable_llm_precisions() {
  std::vector<LlmPrecision> v{LlmPrecision::kF32};
  if (bf16_support() != Bf16Support::kNone) v.push_back(LlmPrecision::kBf16);
  if (onednn_has_vnni()) v.push_back(LlmPrecision::kInt8);
  return v;
}

LlmPrecision resolve_llm_precision(LlmPrecision p) {
  if (p != LlmPrecision::kAuto) return p;
  // bf16 where the CPU computes it natively: its accuracy is shown by
  // tests/blocks/test_llm_prefill_precision.cpp (last-position logits cosine >= 0.9995 vs FP32, first token
  // identical, every weight type) and it cut prefill CPU time on Zen 4 (bench/README.md). Emulated bf16 is
  // slower than f32.
  return bf16_is_native(bf16_support()) ? LlmPrecision::kBf16 : LlmPrecision::kF32;
}

LlmPack parse_llm_pack(std::string_view s) { return parse_enum<LlmPack>(kPackNames, s, "FVLM_LLM_PACK"); }

int64_t llm_pack_budget(LlmPack pack, LlmPrecision p, int64_t copy_bytes, bool int8_on_amx) {
  if (p != LlmPrecision::kBf16 && p != LlmPrecision::kInt8) return 0;
  if (pack == LlmPack::kAuto)
    if (const char* env = std::getenv("FVLM_LLM_PACK"); env && *env) pack = parse_llm_pack(env);
  // oneDNN's blocked layouts pad N and K up to their tile sizes: a few per cent at most.
  const int64_t budget = copy_bytes + copy_bytes / 16;
  const int64_t avail = available_memory_mb() << 20;
  if (p == LlmPrecision::kInt8) {
    if (pack == LlmPack::kOn) return budget;
    if (pack != LlmPack::kOff && !(avail > 0 && budget > avail / 2)) return budget;
    spdlog::warn("llm int8 prefill: no s8 copy of the weights ({}; {} MB), prefill runs as without int8",
                 pack == LlmPack::kOff ? "FVLM_LLM_PACK=off" : "it would pass half the available memory",
                 budget >> 20);
    return 0;
  }
  if (pack == LlmPack::kOn) return budget;
  if (pack == LlmPack::kOff || bf16_support() != Bf16Support::kAmx) return 0;
  if (int8_on_amx) {
    spdlog::info(
        "llm bf16 prefill: no packed copy (the AMX int8 kernels run the packed Q8_0/Q4_0 weights as fast)");
    return 0;
  }
  if (avail > 0 && budget > avail / 4) {
    spdlog::info("llm bf16 prefill: no packed copy ({} MB would pass a quarter of the {} MB available)",
                 budget >> 20, avail >> 20);
    return 0;
  }
  return budget;
}

bool int8_kernels_on_amx(DType t) {
  return quant::is_packed(t) && quant::best_matmul(t).feature == CpuFeature::kAmxInt8;
}

int64_t llm_copy_bytes(const Qwen2Config& c, int bytes_per_weight) {
  const int64_t H = c.hidden_size, KV = c.kv_dim(), FF = c.intermediate_size;
  return int64_t(c.num_hidden_layers) * (2 * H * H + 2 * KV * H + 3 * FF * H) *
         bytes_per_weight;  // q o, k v, gate up down
}

LlmPrecision choose_llm_precision(LlmPrecision asked) {
  const LlmPrecision p = resolve_llm_precision(asked);
  const Bf16Support bf16 = bf16_support();
  if (p == LlmPrecision::kBf16 && bf16 == Bf16Support::kNone)
    throw Error(Errc::kUnsupported,
                "--llm-precision bf16 needs AVX-512 (oneDNN 2.6 has no bf16 matmul below it)");
  if (p == LlmPrecision::kBf16 && bf16 == Bf16Support::kEmulated)
    spdlog::warn("llm precision bf16: no AVX512_BF16/AMX here, oneDNN emulates bf16 (slower than f32)");
  // Below VNNI oneDNN sums pairs of u8 x s8 products in saturating int16 (its s8 source shifted to
  // u8): full-range s8 operands overflow there (tests/unit/test_int8_prefill.cpp), and it would be
  // no faster than f32 anyway (issue 12's table: 123 vs 109 GOP/s on AVX2).
  if (p == LlmPrecision::kInt8 && !onednn_has_vnni())
    throw Error(Errc::kUnsupported,
                fmt::format("--llm-precision int8 needs int8 dot products (AVX512_VNNI, AVX-VNNI or AMX); "
                            "oneDNN runs {} here",
                            onednn_isa_name()));
  spdlog::info("llm precision {} -> {} for prefill (bf16 in oneDNN: {}; auto picks bf16 where it is native)",
               llm_precision_name(asked), llm_precision_name(p), bf16_support_name(bf16));
  return p;
}

}  // namespace fvlm::dec
