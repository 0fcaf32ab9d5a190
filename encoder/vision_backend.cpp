#include "encoder/vision_backend.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "models/tensor_table.h"

namespace fvlm::enc {

CpuVisionBackend::CpuVisionBackend(Runtime& rt, const ModelConfig& c, const TensorMap& tensors,
                                   VisionPrecision precision)
    : rt_(rt),
      config_(c),
      projector_(bind_projector(c, tensors)),
      mm_hidden_(c.mm_hidden_size),
      precision_(precision) {
  for (const auto& [name, t] : tensors)
    if (name.starts_with(kVisionPrefix)) vision_tensors_.emplace(name, t);
  validate_tensors(vision_tensor_table(c), vision_tensors_);
  const Tensor& exp = vision_tensors_.at(std::string(kVisionPrefix) + "conv_exp.reparam_conv.weight");
  if (exp.dim(0) != mm_hidden_)
    throw Error(Errc::kBadModel, fmt::format("conv_exp width {} != mm_hidden_size {}", exp.dim(0), mm_hidden_));
}

void CpuVisionBackend::bind_vision() {
  vision_ = bind_fastvithd(config_, vision_tensors_);
  vision_bound_ = true;
  ++binds_;
}

FastVitHdPlan& CpuVisionBackend::plan(int64_t resolution, int64_t batch) {
  auto& slot = plans_[{resolution, batch}];
  if (slot) return *slot;
  const auto t0 = std::chrono::steady_clock::now();
  if (!vision_bound_) bind_vision();
  const auto t_bound = std::chrono::steady_clock::now();
  FastVitHdPlan p = make_fastvithd_plan(rt_, cache_, vision_, resolution, batch, precision_);
  if (cache_.take_missing()) {   // a layout not packed yet, and its F32 source already dropped
    bind_vision();
    p = make_fastvithd_plan(rt_, cache_, vision_, resolution, batch, precision_);
    FVLM_CHECK(!cache_.take_missing(), "packed weight missing right after binding");
  }
  drop_packed_sources(vision_);   // oneDNN holds every matrix packed now
  using ms = std::chrono::duration<double, std::milli>;
  spdlog::debug("encoder plan {} px x {}: bind {:.0f} ms, plan {:.0f} ms, {:.1f} MB of packed weights, {} binds",
                resolution, batch, ms(t_bound - t0).count(), ms(std::chrono::steady_clock::now() - t_bound).count(),
                cache_.packed_bytes() / 1048576.0, binds_);
  slot = std::make_unique<FastVitHdPlan>(std::move(p));
  return *slot;
}

Tensor CpuVisionBackend::encode(const Tensor& pixels) {
  const Shape& s = pixels.shape();
  if (pixels.dtype() != DType::F32 || s.size() != 4 || s[1] != 3 || s[2] != s[3] || s[0] < 1)
    throw Error(Errc::kBadArgs, "encode expects F32 pixels [B, 3, R, R], got " + shape_str(s));
  FastVitHdPlan& p = plan(s[2], s[0]);
  Tensor out = Tensor::zeros(DType::F32, {p.batch * p.out_hw * p.out_hw, p.out_c});
  fastvithd_forward(rt_, vision_, p, scratch_, pixels.f32(), out.f32(), tap_);
  return out;
}

Tensor CpuVisionBackend::project(const Tensor& feats) {
  if (feats.dtype() != DType::F32 || feats.rank() != 2 || feats.dim(1) != mm_hidden_)
    throw Error(Errc::kBadArgs, fmt::format("project expects F32 [n, {}], got {}", mm_hidden_,
                                            shape_str(feats.shape())));
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
