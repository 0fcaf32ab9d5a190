// What oneDNN can do with bf16 on this CPU: the fact both the encoder's --vision-precision and the
// decoder's --llm-precision resolve `auto` from. Honours ONEDNN_MAX_CPU_ISA and FVLM_MAX_ISA (which
// caps oneDNN: core/dispatch.h), so FVLM_MAX_ISA=avx2 reports kNone.
#pragma once
#include <string_view>

namespace fvlm {

enum class Bf16Support {
  kNone,      // no bf16 matmul at all (oneDNN 2.6 below AVX-512)
  kEmulated,  // AVX-512 without AVX512_BF16: converted in software, slower than f32
  kNative,    // AVX512_BF16 dot products
  kAmx,       // AMX-BF16 tiles
};
Bf16Support bf16_support();
std::string_view bf16_support_name(Bf16Support s);
// kNative or kAmx: bf16 matmuls run on bf16 hardware (auto precisions pick bf16 only there).
bool bf16_is_native(Bf16Support s);

// oneDNN's effective ISA (after ONEDNN_MAX_CPU_ISA / FVLM_MAX_ISA), e.g. "avx512_core_vnni".
std::string_view onednn_isa_name();
// Whether it has int8 dot products (AVX512_VNNI or AVX-VNNI): oneDNN's int8 kernels then sum u8 x s8
// products in int32, not in saturating int16.
bool onednn_has_vnni();

}  // namespace fvlm
