// The checkpoint tensors of the vision half: FastViTHD (mci.py names under kVisionPrefix) and the
// LLaVA projector (under kProjectorPrefix), each with its shape from the config and its quant
// policy. bind_fastvithd / bind_projector validate against these; models/ composes them with the
// decoder's table for a whole checkpoint.
#pragma once
#include <vector>

#include "core/tensor_spec.h"
#include "encoder/fastvithd_config.h"

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

std::vector<TensorSpec> fastvithd_tensor_table(const FastVitHdConfig& v);
std::vector<TensorSpec> projector_tensor_table(const ProjectorConfig& c);

}  // namespace fvlm::enc
