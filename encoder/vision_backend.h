// The seam between the pipeline and whatever computes the image half: pixels -> image features ->
// projected LLM embeddings. CpuVisionBackend runs FastViTHD + projector on oneDNN (FP32); an NPU or
// GPU backend implements the same two calls.
#pragma once
#include <map>
#include <memory>
#include <utility>

#include "core/runtime.h"
#include "core/safetensors.h"
#include "core/tensor.h"
#include "encoder/fastvithd.h"
#include "encoder/projector.h"
#include "models/config.h"

namespace fvlm::enc {

class VisionBackend {
 public:
  virtual ~VisionBackend() = default;
  // pixels [B, 3, R, R] F32 (R any multiple of 64) -> features [B * (R/64)^2, mm_hidden].
  virtual Tensor encode(const Tensor& pixels) = 0;
  // features [n, mm_hidden] -> embeddings [n, hidden].
  virtual Tensor project(const Tensor& feats) = 0;
  // Intermediate activations of later encode() calls go to `tap` (empty: none).
  virtual void set_tap(TapFn tap) = 0;
  // Frees the activation scratch of encode() and oneDNN's scratchpad (reallocated by the next call).
  virtual void release_scratch() {}
};

// Memory: the vision weights live once, packed by oneDNN. Binding (upcast to F32 + folds) happens
// when the first plan is built, and those F32 copies are dropped as soon as the plan has packed
// them; a plan needing a layout not yet packed binds again from the (mmapped) checkpoint.
class CpuVisionBackend : public VisionBackend {
 public:
  // Validates the vision and projector tensors of a checkpoint and binds the projector; keeps
  // views of `tensors` (no copy) for binding the vision weights when a plan needs them.
  // `precision` applies to the encoder's Linear / 1x1 layers (the projector stays FP32).
  CpuVisionBackend(Runtime& rt, const ModelConfig& c, const TensorMap& tensors,
                   VisionPrecision precision = VisionPrecision::kF32);
  Tensor encode(const Tensor& pixels) override;
  Tensor project(const Tensor& feats) override;
  void set_tap(TapFn tap) override { tap_ = std::move(tap); }
  void release_scratch() override {
    scratch_ = {};
    rt_.release_scratchpad();
  }
  // Builds (or finds) the plan of one (resolution, batch) ahead of time.
  FastVitHdPlan& plan(int64_t resolution, int64_t batch);
  // Bytes of weights held packed for oneDNN, and how many times the vision weights were bound.
  int64_t packed_weight_bytes() const { return cache_.packed_bytes(); }
  int binds() const { return binds_; }

 private:
  void bind_vision();

  Runtime& rt_;
  ModelConfig config_;
  TensorMap vision_tensors_;       // views of the checkpoint's vision tensors
  FastVitHdWeights vision_;        // matrices dropped once packed (drop_packed_sources)
  bool vision_bound_ = false;
  int binds_ = 0;
  ProjectorW projector_;
  int64_t mm_hidden_;
  VisionPrecision precision_;
  WeightCache cache_;
  EncoderScratch scratch_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<FastVitHdPlan>> plans_;
  std::map<int64_t, std::unique_ptr<ProjectorPlan>> projector_plans_;
  TapFn tap_;
};

// What `fastvlm embed` writes: features [B*tokens, mm_hidden], or projected [B*tokens, hidden].
Tensor encode_image(VisionBackend& backend, const Tensor& pixels, bool projected);

}  // namespace fvlm::enc
