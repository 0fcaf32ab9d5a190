#include "encoder/projector.h"

namespace fvlm::enc {

ProjectorPlan make_projector_plan(Runtime& rt, WeightCache& wc, const ProjectorW& w, int64_t tokens) {
  ProjectorPlan p;
  p.tokens = tokens;
  for (size_t i = 0; i < w.linears.size(); ++i) {
    const bool last = i + 1 == w.linears.size();
    p.linears.push_back(make_linear_plan(rt, wc, w.linears[i], tokens, last ? PostOp::kNone : PostOp::kGelu));
  }
  const int64_t h = w.linears.front().w.dim(0);
  for (Tensor& t : p.hidden) t = Tensor::zeros(DType::F32, {tokens, h});
  return p;
}

void projector_forward(Runtime& rt, ProjectorPlan& p, const float* feats, float* out) {
  const float* x = feats;
  for (size_t i = 0; i < p.linears.size(); ++i) {  // nn.Sequential(Linear, GELU, Linear, ...)
    float* y = i + 1 == p.linears.size() ? out : p.hidden[i % 2].f32();
    run_linear(rt, p.linears[i], x, y);
    x = y;
  }
}

}  // namespace fvlm::enc
