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
};

std::string_view cpu_feature_name(CpuFeature f);  // "none", "avx2", "avx_vnni", "avx512_vnni"
bool cpu_has(CpuFeature f);                       // detected once, cached
std::string cpu_features_summary();               // e.g. "avx2 fma f16c" for logs

}  // namespace fvlm
