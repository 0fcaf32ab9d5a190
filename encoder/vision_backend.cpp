#include "encoder/vision_backend.h"

#include <malloc.h>

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace fvlm::enc {

Tensor VisionBackend::encode_and_project(const Tensor& pixels, bool keep_weights,
                                         const std::function<void()>& weights_packed) {
  prepare(pixels.dim(2), pixels.dim(0));
  if (weights_packed) weights_packed();
  Tensor projected = project(encode(pixels));
  if (!keep_weights) {
    release_scratch();
    release_weights();
#ifdef __GLIBC__
    malloc_trim(0);  // oneDNN's packed weights were heap blocks: hand their pages back now
#endif
  }
  return projected;
}

CpuVisionBackend::CpuVisionBackend(Runtime& rt, const VisionConfig& c, const TensorMap& tensors,
                                   VisionPrecision precision)
    : rt_(rt),
      projector_(bind_projector(c.projector, tensors)),
      mm_hidden_(c.projector.mm_hidden_size),
      precision_(resolve_vision_precision(precision)) {
  const Bf16Support bf16 = bf16_support();
  if (precision == VisionPrecision::kAuto)
    spdlog::info("vision precision auto -> {} (bf16 in oneDNN: {}; auto picks bf16 where it is native)",
                 vision_precision_name(precision_), bf16_support_name(bf16));
  if (precision_ == VisionPrecision::kBf16 && bf16 == Bf16Support::kNone)
    throw Error(Errc::kUnsupported,
                "--vision-precision bf16 needs AVX-512 (oneDNN 2.6 has no bf16 matmul below it)");
  if (precision_ == VisionPrecision::kBf16 && bf16 == Bf16Support::kEmulated)
    spdlog::warn("vision precision bf16: no AVX512_BF16/AMX here, oneDNN emulates bf16 (slower than f32)");
  vision_ = bind_fastvithd(c.fastvithd, tensors, Binding::kDeferred);  // validates the vision tensors
  const int64_t exp = vision_.conv_exp.conv.w.dim(0);
  if (exp != mm_hidden_)
    throw Error(Errc::kBadModel, fmt::format("conv_exp width {} != mm_hidden_size {}", exp, mm_hidden_));
}

FastVitHdPlan& CpuVisionBackend::plan(int64_t resolution, int64_t batch) {
  auto& slot = plans_[{resolution, batch}];
  if (slot) return *slot;
  const auto t0 = std::chrono::steady_clock::now();
  FastVitHdPlan p = make_fastvithd_plan(rt_, cache_, vision_, resolution, batch, precision_);
  cache_.release_staging();
  spdlog::debug("encoder plan {} px x {}: {:.0f} ms (widen + pack + primitives), {:.1f} MB of packed weights",
                resolution, batch,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
                cache_.packed_bytes() / 1048576.0);
  spdlog::info("encoder plan {} px: vision precision {}, ConvFFN fc1 kernel {}", resolution,
               vision_precision_name(p.precision), p.ffn_impl);
  slot = std::make_unique<FastVitHdPlan>(std::move(p));
  return *slot;
}

Tensor CpuVisionBackend::encode(const Tensor& pixels) {
  const Shape& s = pixels.shape();
  if (pixels.dtype() != DType::F32 || s.size() != 4 || s[1] != 3 || s[2] != s[3] || s[0] < 1)
    throw Error(Errc::kBadArgs, "encode expects F32 pixels [B, 3, R, R], got " + shape_str(s));
  FastVitHdPlan& p = plan(s[2], s[0]);
  Tensor out = Tensor::zeros(DType::F32, {p.batch * p.out_hw * p.out_hw, p.out_c});
  fastvithd_forward(rt_, vision_, p, scratch_, pixels.f32(), out.f32(), tap_, mark_);
  return out;
}

Tensor CpuVisionBackend::project(const Tensor& feats) {
  if (feats.dtype() != DType::F32 || feats.rank() != 2 || feats.dim(1) != mm_hidden_)
    throw Error(Errc::kBadArgs,
                fmt::format("project expects F32 [n, {}], got {}", mm_hidden_, shape_str(feats.shape())));
  const int64_t n = feats.dim(0);
  auto& slot = projector_plans_[n];
  if (!slot) slot = std::make_unique<ProjectorPlan>(make_projector_plan(rt_, cache_, projector_, n));
  Tensor out = Tensor::zeros(DType::F32, {n, projector_.linears.back().w.dim(0)});
  projector_forward(rt_, *slot, feats.f32(), out.f32());
  return out;
}

Tensor encode_image(VisionBackend& backend, const Tensor& pixels, bool projected) {
  Tensor feats = backend.encode(pixels);
  return projected ? backend.project(feats) : feats;
}

}  // namespace fvlm::enc
