// Which instruction set the decoder kernels may use, decided once from the running CPU.
// TODO(lead): switch to core/cpu_features.h (cpu_has(CpuFeature::kAvx2)) once the quant branch lands.
#pragma once

namespace fvlm::dec {

// AVX2 + FMA + F16C, supported by the CPU and enabled by the OS. Detected once, cached.
bool cpu_has_avx2_fma_f16c();

}  // namespace fvlm::dec
