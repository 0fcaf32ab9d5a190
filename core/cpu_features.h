// CPU features of the running machine (cpuid + xgetbv), read once. Kernel variant tables name
// the feature a variant needs; the dispatcher picks the best variant the CPU (and OS) supports.
#pragma once
#include <string>
#include <string_view>

namespace fvlm {

// What a kernel variant requires. Each level implies the OS saves the needed register state.
enum class CpuFeature {
  kNone,        // plain C++: runs everywhere
  kAvx2,        // AVX2 + FMA + F16C (ymm state enabled by the OS)
  kAvxVnni,     // kAvx2 + AVX-VNNI (VEX-encoded vpdpbusd on ymm; Alder Lake, Zen 5)
  kAvx512Vnni,  // AVX-512 F/BW/VL/DQ + AVX512_VNNI (zmm/opmask state enabled by the OS)
  kAmxInt8,     // kAvx512Vnni + AMX-TILE/INT8, tile state granted to the process (Sapphire Rapids+)
};

std::string_view cpu_feature_name(CpuFeature f);  // "none", "avx2", "avx_vnni", "avx512_vnni", "amx_int8"
bool cpu_has(CpuFeature f);                       // detected once, cached
std::string cpu_features_summary();               // e.g. "avx2 fma f16c" for logs; also names
                                                  // avx512_bf16 and amx_* (oneDNN's tiers)
// The processor's brand string (cpuid 0x80000002-4, spaces collapsed), e.g. "AMD EPYC 9R14 96-Core
// Processor"; "unknown" when the CPU has none. Speed figures are only read beside it.
std::string cpu_model_name();
// Both, for the header line of every benchmark: "AMD EPYC (avx2 fma f16c avx512f ...)".
std::string cpu_summary();

}  // namespace fvlm
