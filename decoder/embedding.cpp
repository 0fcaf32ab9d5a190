#include "decoder/embedding.h"

#include <fmt/format.h>

#include "core/error.h"
#include "decoder/widen.h"

namespace fvlm::dec {

void embed_rows(const Tensor& table, std::span<const int32_t> ids, float* out) {
  const int64_t V = table.dim(0), H = table.dim(1);
  if (table.dtype() != DType::F32 && table.dtype() != DType::BF16 && table.dtype() != DType::F16)
    throw Error(Errc::kUnsupported, fmt::format("embedding lookup in a {} table", dtype_name(table.dtype())));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= V)
      throw Error(Errc::kBadArgs, fmt::format("token id {} outside the embedding table [0, {})", ids[i], V));
    widen_rows(table, ids[i], ids[i] + 1, out + int64_t(i) * H);
  }
}

}  // namespace fvlm::dec
