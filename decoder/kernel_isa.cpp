#include "decoder/kernel_isa.h"

namespace fvlm::dec {

bool cpu_has_avx2_fma_f16c() {
  // __builtin_cpu_supports reads cpuid and (libgcc >= 8) checks XCR0 for the ymm state.
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }();
  return has;
}

}  // namespace fvlm::dec
