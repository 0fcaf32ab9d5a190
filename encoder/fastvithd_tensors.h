// The checkpoint tensors of the vision half: FastViTHD (mci.py names under kVisionPrefix) and the
// LLaVA projector (under kProjectorPrefix), each with its shape from the config, its quant policy
// and the field of the weight structs that holds it. One walk per struct is the whole table:
// bind_fastvithd / bind_projector bind through it, and the tables (validation, inspect, convert,
// random weights; models/ composes them with the decoder's) collect it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor_spec.h"
#include "encoder/fastvithd_config.h"
#include "encoder/fastvithd_weights.h"

namespace fvlm::enc {

// Checkpoint name prefixes.
inline constexpr const char* kVisionPrefix = "model.vision_tower.vision_tower.model.";
inline constexpr const char* kProjectorPrefix = "model.mm_projector.";

// The FastViTHD `network` list of mci.py, flattened: which module sits at each index.
enum class NetworkModule { kStage, kPatchEmbed, kRepCpe };
struct NetworkEntry {
  NetworkModule kind;
  int stage;  // the stage this module belongs to (PatchEmbed: the stage it leads into)
};
std::vector<NetworkEntry> fastvithd_network_layout(const FastVitHdConfig& v);

// Where one checkpoint tensor goes: a matrix oneDNN packs (its ConvW: w, or src when deferred), or a
// tensor read as F32 (a bias, a norm, or a BatchNorm statistic / layer scale that binding folds in).
// Both null: a tensor accepted and never used (Presence::kIgnored).
struct VisionField {
  ConvW* matrix = nullptr;
  Tensor* f32 = nullptr;
};
using VisionTensorVisitor = std::function<void(const TensorSpec& spec, const VisionField& field)>;

// visit(spec, field) for every tensor, in checkpoint order. Lays out `w` as it goes (its network
// entries, their kinds, dims and block lists, each ConvW's groups), so a fresh struct may be passed.
void for_each_fastvithd_tensor(const FastVitHdConfig& v, FastVitHdWeights& w,
                               const VisionTensorVisitor& visit);
void for_each_projector_tensor(const ProjectorConfig& c, ProjectorW& w, const VisionTensorVisitor& visit);

std::vector<TensorSpec> fastvithd_tensor_table(const FastVitHdConfig& v);
std::vector<TensorSpec> projector_tensor_table(const ProjectorConfig& c);

// A ConvFFN depthwise conv with the BatchNorm that follows it (mci.py conv_bn): `convert` writes the
// pair folded as conv_weight + folded_bias, and a converted file's folded_bias reads back as an
// identity BatchNorm. Names from the table.
struct BatchNormFold {
  std::string conv_weight, folded_bias;  // folded_bias: conv_weight's ".weight" -> ".bias"
  std::string gamma, beta, mean, var;    // the BatchNorm's weight, bias, running_mean, running_var
};
std::vector<BatchNormFold> fastvithd_batchnorm_folds(const FastVitHdConfig& v);

// BatchNorm as a per-channel affine map: BN(y) = y * scale + shift with scale = gamma / sqrt(var +
// eps), shift = beta - mean * scale. F32 [C] each; binding and `convert` fold with these values.
struct ScaleShift {
  Tensor scale, shift;
};
ScaleShift batchnorm_scale_shift(const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                                 const Tensor& var, float eps);

}  // namespace fvlm::enc
