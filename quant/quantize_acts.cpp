// The activation quantiser's variant table (quant/quantize_acts.h).
#include "quant/quantize_acts.h"

namespace fvlm::quant {
namespace {

constexpr Variant<QuantizeActsFn> kVariants[] = {
    {"ref", CpuFeature::kNone, quantize_acts_row},
    {"avx2", CpuFeature::kAvx2, quantize_acts_row_avx2},
};

}  // namespace

std::span<const Variant<QuantizeActsFn>> quantize_acts_variants() { return kVariants; }

QuantizeActsFn best_quantize_acts() {
  static const QuantizeActsFn fn = pick("quantize_acts", kVariants).fn;
  return fn;
}

}  // namespace fvlm::quant
