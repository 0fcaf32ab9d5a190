#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/half.h"

namespace fvlm {
namespace {
constexpr size_t kMapThresholdBytes = size_t(1) << 20;
// Under AddressSanitizer every tensor is a heap block of exactly its size: a kernel that runs past
// the end then hits ASan's redzone, where in an anonymous mapping or the 64-byte rounding it would
// go unseen.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kExactHeapTensors = true;
#else
constexpr bool kExactHeapTensors = false;
#endif
}  // namespace

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::U8:
      return "U8";
    case DType::Q8_0:
      return "Q8_0";
    case DType::Q4_0:
      return "Q4_0";
    case DType::Q8_0_R16:
      return "Q8_0_R16";
    case DType::Q4_0_R16:
      return "Q4_0_R16";
  }
  return "?";
}

int64_t dtype_block_elems(DType t) {
  return (t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q8_0_R16 || t == DType::Q4_0_R16) ? 32 : 1;
}

int64_t dtype_block_bytes(DType t) {
  switch (t) {
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
      return 2;
    case DType::I64:
      return 8;
    case DType::U8:
      return 1;
    case DType::Q8_0:
    case DType::Q8_0_R16:  // the same bytes, rearranged
      return 2 + 32;
    case DType::Q4_0:
    case DType::Q4_0_R16:
      return 2 + 16;
  }
  return 0;
}

int64_t dtype_bytes(DType t, int64_t n) {
  const int64_t be = dtype_block_elems(t);
  FVLM_CHECK(n % be == 0, fmt::format("{} elements of {} is not whole blocks", n, dtype_name(t)));
  return n / be * dtype_block_bytes(t);
}

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::optional<int64_t> checked_nbytes(DType t, std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  const int64_t be = dtype_block_elems(t);
  int64_t bytes = 0;
  if (n % be != 0 || __builtin_mul_overflow(n / be, dtype_block_bytes(t), &bytes)) return std::nullopt;
  return bytes;
}

Tensor Tensor::zeros(DType t, Shape shape) {
  Tensor r;
  r.dtype_ = t;
  r.shape_ = std::move(shape);
  const size_t bytes = size_t(r.nbytes());
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = nullptr;
  if (kExactHeapTensors) {
    // posix_memalign: ASan's aligned_alloc refuses a size that is not a multiple of the alignment.
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
      throw Error(Errc::kOutOfMemory, fmt::format("cannot allocate {} bytes", bytes));
    std::memset(p, 0, bytes);
    r.owner_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  } else if (rounded >= kMapThresholdBytes) {
    // Large buffers (weights, activations) are their own anonymous mapping: zero pages from the
    // kernel, touched only when used (no memset pass), and given back to the OS when freed rather
    // than left in malloc's heap (whose mmap threshold grows after the first big free).
    p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw Error(Errc::kOutOfMemory, fmt::format("cannot allocate {} bytes", bytes));
    r.owner_ =
        std::shared_ptr<const void>(p, [rounded](const void* q) { munmap(const_cast<void*>(q), rounded); });
  } else {
    p = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!p) throw Error(Errc::kOutOfMemory, fmt::format("cannot allocate {} bytes", bytes));
    std::memset(p, 0, rounded);
    r.owner_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  }
  r.data_ = p;
  r.owned_ = true;
  return r;
}

Tensor Tensor::view(DType t, Shape shape, const void* data, std::shared_ptr<const void> owner) {
  Tensor r;
  r.dtype_ = t;
  r.shape_ = std::move(shape);
  r.data_ = data;
  r.owner_ = std::move(owner);
  return r;
}

void* Tensor::mutable_data() {
  FVLM_CHECK(owned_, "tensor is a read-only view");
  return const_cast<void*>(data_);
}

const float* Tensor::f32() const {
  FVLM_CHECK(dtype_ == DType::F32, std::string(dtype_name(dtype_)));
  return static_cast<const float*>(data_);
}

float* Tensor::f32() {
  FVLM_CHECK(dtype_ == DType::F32, std::string(dtype_name(dtype_)));
  return static_cast<float*>(mutable_data());
}

Tensor Tensor::reshaped(Shape shape) const {
  FVLM_CHECK(shape_numel(shape) == numel(), shape_str(shape) + " vs " + shape_str(shape_));
  Tensor r = *this;
  r.shape_ = std::move(shape);
  return r;
}

Tensor to_f32(const Tensor& t) {
  if (t.dtype() == DType::F32) {
    Tensor r = Tensor::zeros(DType::F32, t.shape());
    std::memcpy(r.mutable_data(), t.data(), size_t(t.nbytes()));
    return r;
  }
  Tensor r = Tensor::zeros(DType::F32, t.shape());
  float* dst = r.f32();
  const auto* src = static_cast<const uint16_t*>(t.data());
  const int64_t n = t.numel();
  if (t.dtype() == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
  } else if (t.dtype() == DType::F16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
  } else {
    FVLM_CHECK(false, fmt::format("to_f32 of {}", dtype_name(t.dtype())));
  }
  return r;
}

}  // namespace fvlm
