// mlp2x_gelu projector (llava multimodal_projector/builder.py): Linear(mm_hidden, H) -> GELU(erf)
// -> Linear(H, H) (deeper mlpNx_gelu: more GELU+Linear pairs), applied per token.
#pragma once
#include <vector>

#include "encoder/dnnl_plans.h"

namespace fvlm::enc {

struct ProjectorPlan {
  int64_t tokens = 0;
  std::vector<LinearPlan> linears;  // GELU fused into every one but the last
  Tensor hidden[2];
};
ProjectorPlan make_projector_plan(Runtime& rt, WeightCache& wc, const ProjectorW& w, int64_t tokens);
// feats [tokens, mm_hidden] -> out [tokens, H]
void projector_forward(Runtime& rt, ProjectorPlan& p, const float* feats, float* out);

}  // namespace fvlm::enc
