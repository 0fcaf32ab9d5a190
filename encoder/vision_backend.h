// The seam between the pipeline and whatever computes the image half: pixels -> image features ->
// projected LLM embeddings. CpuVisionBackend runs FastViTHD + projector on oneDNN (F32, or INT8
// Linear layers with --vision-precision int8: encoder/vision_precision.h); an NPU or
// GPU backend implements the same two calls.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "core/runtime.h"
#include "core/safetensors.h"
#include "core/tensor.h"
#include "encoder/fastvithd.h"
#include "encoder/fastvithd_config.h"
#include "encoder/projector.h"

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
  // Builds what encode() of [batch, 3, resolution, resolution] needs (plans, packed weights) now,
  // so that the caller may drop the checkpoint's pages before the activations come in.
  virtual void prepare(int64_t resolution, int64_t batch) { (void)resolution, (void)batch; }
  // Frees the activation scratch of encode() and oneDNN's scratchpad (reallocated by the next call).
  virtual void release_scratch() {}
  // Frees the encoder's plans and packed weights (a one-image process is done with them once its
  // image is encoded); the next encode() builds and packs them again from the checkpoint.
  virtual void release_weights() {}

  // pixels [B, 3, R, R] -> projected embeddings [B * (R/64)^2, hidden], the way a request runs it:
  // prepare (pack the weights), then `weights_packed` (may be empty: the caller may drop the
  // checkpoint's pages there, before the activations come in), encode + project. Unless
  // `keep_weights`, scratch and weights are released afterwards and their heap pages handed back
  // (a one-image process is done with the encoder; ~300 MB for the 0.5B).
  Tensor encode_and_project(const Tensor& pixels, bool keep_weights,
                            const std::function<void()>& weights_packed = {});
};

// Memory: the vision weights live once, packed by oneDNN. They are bound deferred (views of the
// mmapped checkpoint + pending folds) and made F32 one at a time as a plan packs them.
class CpuVisionBackend : public VisionBackend {
 public:
  // Validates the vision and projector tensors of a checkpoint and binds them (the vision matrices
  // deferred: views of `tensors`, which must stay mapped while the backend lives).
  // `precision` applies to the encoder's Linear / 1x1 layers and attention (the projector stays FP32);
  // kAuto is resolved and logged here, bf16 without AVX-512 throws Error{kUnsupported}.
  CpuVisionBackend(Runtime& rt, const VisionConfig& c, const TensorMap& tensors,
                   VisionPrecision precision = VisionPrecision::kF32);
  Tensor encode(const Tensor& pixels) override;
  Tensor project(const Tensor& feats) override;
  void set_tap(TapFn tap) override { tap_ = std::move(tap); }
  // Per-op marks of later encode() calls (fastvithd.h OpMarkFn; empty: none).
  void set_op_mark(OpMarkFn mark) { mark_ = std::move(mark); }
  void release_scratch() override {
    scratch_ = {};
    rt_.release_scratchpad();
  }
  void prepare(int64_t resolution, int64_t batch) override { plan(resolution, batch); }
  void release_weights() override {
    plans_.clear();
    cache_ = WeightCache();
  }
  // Builds (or finds) the plan of one (resolution, batch) ahead of time.
  FastVitHdPlan& plan(int64_t resolution, int64_t batch);
  // The precision the encoder runs in (kAuto resolved).
  VisionPrecision precision() const { return precision_; }
  // Bytes of weights held packed for oneDNN.
  int64_t packed_weight_bytes() const { return cache_.packed_bytes(); }

 private:
  Runtime& rt_;
  FastVitHdWeights vision_;  // deferred: the matrices are made F32 only while being packed
  ProjectorW projector_;
  int64_t mm_hidden_;
  VisionPrecision precision_;
  WeightCache cache_;
  EncoderScratch scratch_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<FastVitHdPlan>> plans_;
  std::map<int64_t, std::unique_ptr<ProjectorPlan>> projector_plans_;
  TapFn tap_;
  OpMarkFn mark_;
};

// What `fastvlm embed` writes: features [B*tokens, mm_hidden], or projected [B*tokens, hidden].
Tensor encode_image(VisionBackend& backend, const Tensor& pixels, bool projected);

}  // namespace fvlm::enc
