// Tensor: a dtype, a row-major shape and bytes that are either owned (heap) or borrowed from a
// memory-mapped file (kept alive by a shared owner). Shapes are written [rows, cols]: leftmost slowest.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fvlm {

// Block-quantised types use ggml's layouts: Q8_0 = {f16 d; int8 q[32]}, Q4_0 = {f16 d; uint8 q[16]}.
// Q8_0_R16 / Q4_0_R16 hold the same blocks with 16 rows interleaved (quant/packed.h): made in
// memory at load for the int8 kernels, never read from or written to a file.
enum class DType : uint8_t { F32, F16, BF16, I64, I32, U8, Q8_0, Q4_0, Q8_0_R16, Q4_0_R16 };

std::string_view dtype_name(DType t);  // "F32", "BF16", "Q8_0", ...
int64_t dtype_block_elems(DType t);    // 1, or 32 for Q8_0/Q4_0
int64_t dtype_block_bytes(DType t);    // bytes per block (4 for F32, 34 for Q8_0, ...)
// Bytes of `n` elements; n must be a multiple of the block size (FVLM_CHECK).
int64_t dtype_bytes(DType t, int64_t n);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[896, 4864]"
int64_t shape_numel(const Shape& s);
// The bytes of a `t` tensor of `shape` read from an untrusted file: nullopt when a dimension is
// negative, the element or byte count does not fit in int64, or the elements are not whole blocks.
// shape_numel and dtype_bytes assume shapes that fit (the engine's own, or ones checked by this).
std::optional<int64_t> checked_nbytes(DType t, std::span<const int64_t> shape);

class Tensor {
 public:
  Tensor() = default;
  // A new zero-filled tensor owning its memory (64-byte aligned).
  static Tensor zeros(DType t, Shape shape);
  // A view of bytes owned by `owner` (e.g. a mapped file); no copy.
  static Tensor view(DType t, Shape shape, const void* data, std::shared_ptr<const void> owner);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int rank() const { return int(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t nbytes() const { return dtype_bytes(dtype_, numel()); }
  bool empty() const { return data_ == nullptr; }

  const void* data() const { return data_; }
  // Writable only when the tensor owns its bytes (FVLM_CHECK otherwise).
  void* mutable_data();
  const float* f32() const;  // dtype must be F32
  float* f32();
  std::span<const float> f32_span() const { return {f32(), size_t(numel())}; }

  // Same bytes, another shape with the same element count.
  Tensor reshaped(Shape shape) const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  const void* data_ = nullptr;
  bool owned_ = false;
  std::shared_ptr<const void> owner_;
};

// An F32 copy of a F32/F16/BF16 tensor (other dtypes: FVLM_CHECK).
Tensor to_f32(const Tensor& t);

}  // namespace fvlm
