#include "decoder/embedding.h"

#include <fmt/format.h>

#include "core/error.h"
#include "quant/dequantize.h"
#include "quant/packed.h"

namespace fvlm::dec {

void embed_rows(const Tensor& table, std::span<const int32_t> ids, float* out) {
  const int64_t V = table.dim(0), H = table.dim(1);
  const DType t = table.dtype();
  if (t != DType::F32 && t != DType::BF16 && t != DType::F16 && !quant::is_block_quantized(t))
    throw Error(Errc::kUnsupported, fmt::format("embedding lookup in a {} table", dtype_name(t)));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= V)
      throw Error(Errc::kBadArgs, fmt::format("token id {} outside the embedding table [0, {})", ids[i], V));
    float* dst = out + int64_t(i) * H;
    quant::rows_to_f32(table, ids[i], ids[i] + 1, dst);
  }
}

}  // namespace fvlm::dec
