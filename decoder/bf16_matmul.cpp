#include "decoder/bf16_matmul.h"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace fvlm::dec {
namespace {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Prompt lengths differ per request, so the cache would grow with every new length; past this many
// plans (~100 lengths at 5 shapes each) it starts over rather than grow without bound.
constexpr size_t kMaxPlans = 512;
}  // namespace

Bf16Matmul::Bf16Matmul() : engine_(dnnl::engine::kind::cpu, 0) {}

std::shared_ptr<const Bf16Matmul::Plan> Bf16Matmul::plan(const Key& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  const auto [M, K, N, ldy, has_bias] = key;
  auto p = std::make_shared<Plan>();
  p->src = memory::desc({M, K}, dt::bf16, tag::ab);
  p->wei = memory::desc({K, N}, dt::bf16, tag::ba);  // W [N, K] row-major = W^T [K, N] column-major
  p->bias = memory::desc({1, N}, dt::f32, tag::ab);
  p->dst = memory::desc({M, N}, dt::f32, memory::dims{ldy, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc d = has_bias ? dnnl::matmul::desc(p->src, p->wei, p->bias, p->dst)
                                        : dnnl::matmul::desc(p->src, p->wei, p->dst);
  const dnnl::matmul::primitive_desc pd(d, attr, engine_);
  p->prim = dnnl::matmul(pd);
  p->pad_bytes = pd.scratchpad_desc().get_size();
  spdlog::debug("llm bf16 matmul {}x{}x{}: {}", M, K, N, pd.impl_info_str());
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_.emplace(key, p);
  return p;
}

void Bf16Matmul::run(const uint16_t* x, int64_t M, int64_t K, const uint16_t* w, int64_t N, const float* bias,
                     float* y, int64_t ldy, Bf16Scratch& s) const {
  const std::shared_ptr<const Plan> p = plan({M, K, N, ldy, bias != nullptr});
  if (!s.stream) s.stream = dnnl::stream(engine_);
  const auto wrap = [&](const memory::desc& md, const void* ptr) {
    return memory(md, engine_, const_cast<void*>(ptr));
  };
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, wrap(p->src, x)}, {DNNL_ARG_WEIGHTS, wrap(p->wei, w)}, {DNNL_ARG_DST, wrap(p->dst, y)}};
  if (bias) args[DNNL_ARG_BIAS] = wrap(p->bias, bias);
  if (p->pad_bytes) {
    if (s.pad.empty() || size_t(s.pad.nbytes()) < p->pad_bytes)
      s.pad = Tensor::zeros(DType::U8, {int64_t(p->pad_bytes)});
    args[DNNL_ARG_SCRATCHPAD] = wrap(memory::desc({int64_t(p->pad_bytes)}, dt::u8, tag::a), s.pad.data());
  }
  p->prim.execute(s.stream, args);
  s.stream.wait();
}

int64_t Bf16Matmul::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

}  // namespace fvlm::dec
