// Shared by the encoder block tests: the tiny golden model bound once on a CPU backend, and layout
// helpers (the goldens are CHW, the engine's activations NHWC).
#pragma once
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "core/npy.h"
#include "core/runtime.h"
#include "core/safetensors.h"
#include "encoder/vision_backend.h"
#include "models/config.h"
#include "tests/test_util.h"

namespace fvlm::test {

// The golden images' names (tiny/preprocess/<name>.pixel_values.npy, tiny/encoder/...).
inline const char* const kGoldenImages[] = {"square", "wide", "tall", "tiny", "gray", "rgba"};

struct TinyEncoder {
  ModelConfig cfg;
  TensorMap tensors;
  Runtime rt{2};
  std::unique_ptr<enc::CpuVisionBackend> backend;
  TinyEncoder()
      : cfg(load_model_config(golden("tiny/model/config.json"))),
        tensors(read_safetensors_dir(golden("tiny/model"))),
        backend(std::make_unique<enc::CpuVisionBackend>(rt, vision_config(cfg), tensors)) {}
};

// Image b of a [B, H, W, C] tensor as CHW [C, H, W].
inline Tensor image_chw(const Tensor& bhwc, int64_t b) {
  const int64_t h = bhwc.dim(1), w = bhwc.dim(2), c = bhwc.dim(3);
  Tensor out = Tensor::zeros(DType::F32, {c, h, w});
  const float* src = bhwc.f32() + b * h * w * c;
  for (int64_t p = 0; p < h * w; ++p)
    for (int64_t k = 0; k < c; ++k) out.f32()[k * h * w + p] = src[p * c + k];
  return out;
}

// pixel_values [3, R, R] of a golden image as a batch of one [1, 3, R, R].
inline Tensor golden_pixels(const std::string& image) {
  const Tensor p = read_npy(golden("tiny/preprocess/" + image + ".pixel_values.npy"));
  Shape s = p.shape();
  s.insert(s.begin(), 1);
  return to_f32(p).reshaped(s);
}

// How far a reduced-precision backend is from the FP32 one on one golden image: its image features
// and its projector output (each compared with FP32's), logged as a MESSAGE line.
struct PrecisionDiff {
  Diff features, projected;
};
inline PrecisionDiff diff_from_f32(TinyEncoder& m, enc::CpuVisionBackend& other, const std::string& img) {
  const Tensor pixels = golden_pixels(img);
  const Tensor f32 = m.backend->encode(pixels), o = other.encode(pixels);
  REQUIRE(o.shape() == f32.shape());
  const PrecisionDiff d{compare(o, f32), compare(other.project(o), m.backend->project(f32))};
  MESSAGE(fmt::format("{:6s} features cosine {:.7f} max rel {:.5f} | projected cosine {:.7f} max rel {:.5f}",
                      img, d.features.cosine, d.features.max_abs / d.features.max_ref, d.projected.cosine,
                      d.projected.max_abs / d.projected.max_ref));
  return d;
}

}  // namespace fvlm::test
