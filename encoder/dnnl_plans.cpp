#include "encoder/dnnl_plans.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "core/error.h"
#include "core/parallel.h"
#include "encoder/int8_linear.h"
#include "encoder/vision_kernels.h"
#include "quant/bf16_rows.h"

namespace fvlm::enc {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Every primitive takes its scratchpad from the Runtime's one shared buffer (scratchpad_mode::user):
// oneDNN's library mode gave each primitive its own, hundreds of MB over a plan.
dnnl::primitive_attr user_scratchpad(dnnl::primitive_attr attr = {}) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::primitive_attr post_op_attr(PostOp post) {
  dnnl::post_ops ops;
  if (post == PostOp::kGelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  if (post == PostOp::kAccumulate) ops.append_sum(1.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return user_scratchpad(attr);
}

memory wrap(Runtime& rt, const memory::desc& md, const void* p) {
  return memory(md, rt.engine(), const_cast<void*>(p));
}

const void* key_of(const ConvW& c) { return c.id ? c.id : c.w.data(); }

memory bias_memory(Runtime& rt, WeightCache& wc, const ConvW& c, const memory::dims& dims) {
  const memory::desc md(dims, dt::f32, dims.size() == 1 ? tag::a : tag::ab);
  return wc.get(rt, key_of(c), WeightCache::Role::kBias, c.b, md, md);
}

void add_scratchpad(Runtime& rt, size_t bytes, std::unordered_map<int, memory>& args) {
  if (bytes) args[DNNL_ARG_SCRATCHPAD] = rt.scratchpad(bytes);
}

}  // namespace

std::shared_ptr<const Int8Weights> WeightCache::int8(const ConvW& c) {
  auto& slot = int8_[key_of(c)];
  if (!slot)
    slot = std::make_shared<const Int8Weights>(quantize_linear_weights(dense_weight(c, staging_), c.b));
  return slot;
}

memory WeightCache::int8_weight(Runtime& rt, const ConvW& c, const memory::desc& want) {
  if (memory m = find(key_of(c), Role::kInt8Weight, want)) return m;
  memory m = pack_int8_weights(rt, *int8(c), want);
  packed_[{key_of(c), Role::kInt8Weight}].push_back(m);
  return m;
}

std::shared_ptr<std::vector<uint16_t>> WeightCache::bf16_source(int64_t elements) {
  if (!bf16_source_) bf16_source_ = std::make_shared<std::vector<uint16_t>>();
  if (int64_t(bf16_source_->size()) < elements) bf16_source_->resize(size_t(elements));
  return bf16_source_;
}

std::shared_ptr<Int8Workspace> WeightCache::int8_workspace() {
  if (!int8_workspace_) int8_workspace_ = std::make_shared<Int8Workspace>();
  return int8_workspace_;
}

memory WeightCache::find(const void* key, Role role, const memory::desc& want) const {
  const auto it = packed_.find({key, role});
  if (it != packed_.end())
    for (const memory& m : it->second)
      if (m.get_desc() == want) return m;
  return memory();
}

memory WeightCache::get(Runtime& rt, const void* key, Role role, const Tensor& w, const memory::desc& user,
                        const memory::desc& want) {
  if (memory m = find(key, role, want)) return m;
  FVLM_CHECK(w.data() != nullptr, "WeightCache: no F32 values to pack");
  memory dst(want, rt.engine());
  memory src = wrap(rt, user, w.data());
  dnnl::reorder(src, dst).execute(rt.stream(), src, dst);
  rt.stream().wait();
  packed_[{key, role}].push_back(dst);
  return dst;
}

memory WeightCache::weight(Runtime& rt, const ConvW& c, const memory::desc& user, const memory::desc& want) {
  if (memory m = find(key_of(c), Role::kWeight, want)) return m;
  return get(rt, key_of(c), Role::kWeight, dense_weight(c, staging_), user, want);
}

int64_t WeightCache::packed_bytes() const {
  int64_t n = 0;
  for (const auto& [key, packs] : packed_)
    for (const memory& m : packs) n += int64_t(m.get_desc().get_size());
  return n;
}

ConvPlan make_conv_plan(Runtime& rt, WeightCache& wc, const ConvW& cw, const ConvGeom& g, PostOp post,
                        ConvIo io) {
  FVLM_CHECK(cw.w.numel() == g.oc * (g.ic / g.groups) * g.k * g.k, "conv weight does not match its geometry");
  const dt act = io.bf16 ? dt::bf16 : dt::f32;
  const memory::desc src({g.batch, g.ic, g.ih, g.iw}, act, tag::nhwc);
  const memory::desc dst({g.batch, g.oc, g.oh(), g.ow()}, io.bf16 && io.dst_bf16 ? dt::bf16 : dt::f32,
                         tag::nhwc);
  const memory::dims wdims = g.groups == 1
                                 ? memory::dims{g.oc, g.ic, g.k, g.k}
                                 : memory::dims{g.groups, g.oc / g.groups, g.ic / g.groups, g.k, g.k};
  const memory::desc w_user(wdims, dt::f32, g.groups == 1 ? tag::oihw : tag::goihw);
  const memory::desc w_any(wdims, act, tag::any);
  const memory::desc b_md({g.oc}, dt::f32, tag::a);
  const dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::convolution_direct, src, w_any, b_md, dst,
                                          {g.stride, g.stride}, {g.pad, g.pad}, {g.pad, g.pad});
  const bool gelu_pass = post == PostOp::kGelu && dst.data_type() == dt::bf16;
  const dnnl::convolution_forward::primitive_desc pd(d, post_op_attr(gelu_pass ? PostOp::kNone : post),
                                                     rt.engine());
  ConvPlan p;
  if (gelu_pass) p.gelu_values = g.batch * g.oc * g.oh() * g.ow();
  p.prim = dnnl::convolution_forward(pd);
  p.src = src;
  p.dst = dst;
  p.w = wc.weight(rt, cw, w_user, pd.weights_desc());
  p.b = bias_memory(rt, wc, cw, {g.oc});
  p.scratchpad_bytes = pd.scratchpad_desc().get_size();
  p.impl = pd.impl_info_str();
  return p;
}

void run_conv(Runtime& rt, const ConvPlan& p, const void* src, void* dst) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(rt, p.src, src)},
                                       {DNNL_ARG_WEIGHTS, p.w},
                                       {DNNL_ARG_BIAS, p.b},
                                       {DNNL_ARG_DST, wrap(rt, p.dst, dst)}};
  add_scratchpad(rt, p.scratchpad_bytes, args);
  p.prim.execute(rt.stream(), args);
  if (p.gelu_values) gelu_erf_bf16_inplace(static_cast<uint16_t*>(dst), p.gelu_values);
}

LinearPlan make_linear_plan(Runtime& rt, WeightCache& wc, const ConvW& lw, int64_t m, PostOp post,
                            VisionPrecision precision, LinearIo io) {
  FVLM_CHECK(precision != VisionPrecision::kAuto, "make_linear_plan: resolve the vision precision first");
  if (precision == VisionPrecision::kInt8) {
    LinearPlan p;
    const std::shared_ptr<const Int8Weights> w8 = wc.int8(lw);
    const PackInt8Fn pack = [&](const memory::desc& want) { return wc.int8_weight(rt, lw, want); };
    p.int8 = std::make_shared<const Int8LinearPlan>(make_int8_linear_plan(
        rt, w8, wc.int8_workspace(), m, post == PostOp::kGelu, post == PostOp::kAccumulate, pack));
    p.impl = p.int8->impl;
    return p;
  }
  const bool bf16 = precision == VisionPrecision::kBf16;
  const dt act = bf16 ? dt::bf16 : dt::f32;
  const int64_t n = lw.w.dim(0), k = lw.w.numel() / n;
  const memory::desc src({m, k}, act, tag::ab);
  const memory::desc dst({m, n}, bf16 && io.dst_bf16 ? dt::bf16 : dt::f32, tag::ab);
  const memory::desc w_user({k, n}, dt::f32, tag::ba);  // W [N, K] row-major = W^T [K, N] column-major
  const memory::desc w_any({k, n}, act, tag::any);
  const memory::desc b_md({1, n}, dt::f32, tag::ab);
  const dnnl::matmul::desc d =
      lw.b.empty() ? dnnl::matmul::desc(src, w_any, dst) : dnnl::matmul::desc(src, w_any, b_md, dst);
  const dnnl::matmul::primitive_desc pd(d, post_op_attr(post), rt.engine());
  LinearPlan p;
  p.prim = dnnl::matmul(pd);
  p.src = src;
  p.dst = dst;
  p.w = wc.weight(rt, lw, w_user, pd.weights_desc());
  p.b = lw.b.empty() ? memory() : bias_memory(rt, wc, lw, {1, n});
  p.scratchpad_bytes = pd.scratchpad_desc().get_size();
  p.impl = pd.impl_info_str();
  if (bf16 && !io.src_bf16) {  // the F32 activations are converted once per call, into shared scratch
    p.src_values = m * k;
    p.bf16_src = wc.bf16_source(m * k);
  }
  return p;
}

std::string linear_kernel_name(Runtime& rt, VisionPrecision precision, int64_t m, int64_t k, int64_t n,
                               PostOp post) {
  FVLM_CHECK(precision != VisionPrecision::kAuto, "linear_kernel_name: resolve the vision precision first");
  if (precision == VisionPrecision::kInt8)
    return int8_kernel_name(rt, m, k, n, post == PostOp::kGelu, post == PostOp::kAccumulate);
  const dt act = precision == VisionPrecision::kBf16 ? dt::bf16 : dt::f32;
  const dnnl::matmul::desc d(memory::desc({m, k}, act, tag::ab), memory::desc({k, n}, act, tag::any),
                             memory::desc({1, n}, dt::f32, tag::ab), memory::desc({m, n}, dt::f32, tag::ab));
  return dnnl::matmul::primitive_desc(d, post_op_attr(post), rt.engine()).impl_info_str();
}

int64_t linear_thread_scratchpad_bytes(const LinearPlan& p) {
  return p.int8 ? int8_thread_bytes(*p.int8).scratchpad : int64_t(p.scratchpad_bytes);
}

void run_linear_on_thread(Runtime& rt, dnnl::stream& stream, const LinearPlan& p, const void* src, void* dst,
                          const LinearThreadBuffers& b) {
  FVLM_CHECK(!p.bf16_src, "run_linear_on_thread: a converted source needs run_linear");
  if (p.int8)
    return run_int8_linear_on_thread(rt, stream, *p.int8, static_cast<const float*>(src),
                                     static_cast<float*>(dst), b.int8_q, b.int8_sum, b.scratchpad);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, wrap(rt, p.src, src)}, {DNNL_ARG_WEIGHTS, p.w}, {DNNL_ARG_DST, wrap(rt, p.dst, dst)}};
  if (p.b) args[DNNL_ARG_BIAS] = p.b;
  if (p.scratchpad_bytes)
    args[DNNL_ARG_SCRATCHPAD] =
        wrap(rt, memory::desc({memory::dim(p.scratchpad_bytes)}, dt::u8, tag::a), b.scratchpad);
  p.prim.execute(stream, args);
}

void run_linear(Runtime& rt, const LinearPlan& p, const void* src, void* dst) {
  if (p.int8) return run_int8_linear(rt, *p.int8, static_cast<const float*>(src), static_cast<float*>(dst));
  memory src_mem = wrap(rt, p.src, src);
  if (p.bf16_src) {  // the same rounding as quant::f32_to_bf16 anywhere else (oneDNN's reorder: ~1.2x slower)
    quant::round_to_bf16(static_cast<const float*>(src), p.src_values, p.bf16_src->data());
    src_mem = wrap(rt, p.src, p.bf16_src->data());
  }
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, p.w}, {DNNL_ARG_DST, wrap(rt, p.dst, dst)}};
  if (p.b) args[DNNL_ARG_BIAS] = p.b;
  add_scratchpad(rt, p.scratchpad_bytes, args);
  p.prim.execute(rt.stream(), args);
}

namespace {

AttentionRows make_attention_rows(Runtime& rt, int64_t rows, int64_t tokens, int64_t head_dim, bool bf16) {
  AttentionRows r;
  r.rows = rows;
  const int64_t n = tokens, hd = head_dim;
  const dt act = bf16 ? dt::bf16 : dt::f32;
  r.q_md = memory::desc({rows, hd}, act, tag::ab);
  r.kt_md = memory::desc({hd, n}, act, tag::ba);  // k stored [n, hd], read transposed
  r.s_md = memory::desc({rows, n}, dt::f32, tag::ab);
  r.p_md = memory::desc({rows, n}, act, tag::ab);
  r.v_md = memory::desc({n, hd}, act, tag::ab);
  r.o_md = memory::desc({rows, hd}, act, tag::ab);
  const dnnl::matmul::primitive_desc qk(dnnl::matmul::desc(r.q_md, r.kt_md, r.s_md), user_scratchpad(),
                                        rt.engine());
  const dnnl::matmul::primitive_desc av(dnnl::matmul::desc(r.p_md, r.v_md, r.o_md), user_scratchpad(),
                                        rt.engine());
  size_t softmax_pad = 0;
  if (bf16) {  // softmax in F32, its probabilities written as bf16 for attn @ v
    const dnnl::softmax_v2_forward::primitive_desc sm(
        dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                       r.s_md, r.p_md, 1),
        user_scratchpad(), rt.engine());
    r.softmax = dnnl::softmax_v2_forward(sm);
    softmax_pad = sm.scratchpad_desc().get_size();
  } else {
    const dnnl::softmax_forward::primitive_desc sm(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, r.s_md, 1), user_scratchpad(),
        rt.engine());
    r.softmax = dnnl::softmax_forward(sm);
    softmax_pad = sm.scratchpad_desc().get_size();
  }
  r.qk = dnnl::matmul(qk);
  r.av = dnnl::matmul(av);
  r.scratchpad_bytes =
      std::max({qk.scratchpad_desc().get_size(), av.scratchpad_desc().get_size(), softmax_pad});
  return r;
}

constexpr int64_t kAlignFloats = 16;  // 64 bytes
int64_t align_floats(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// Floats of one thread's scratch: F32 scores, (bf16) the probabilities behind them, oneDNN's
// scratchpad for the largest of the three primitives.
int64_t thread_scratch_floats(const AttentionPlan& p) {
  const int64_t scores = p.block.rows * p.tokens;
  const int64_t pad = int64_t(std::max(p.block.scratchpad_bytes, p.tail.scratchpad_bytes) + 3) / 4;
  return align_floats(scores) + (p.bf16 ? align_floats((scores + 1) / 2) : 0) + align_floats(pad);
}

// Floats of the dense q, k, v and output blocks [H, N, head_dim] each.
int64_t head_blocks_floats(const AttentionPlan& p) {
  const int64_t elems = p.heads * p.tokens * p.head_dim;
  return align_floats(p.bf16 ? (elems + 1) / 2 : elems);
}

// Copies the q, k and v sections of qkv [N, 3C] into dense blocks qkv_heads[3][H][N][head_dim].
void gather_heads(const AttentionPlan& p, const char* qkv, char* qkv_heads, int64_t elem) {
  const int64_t n = p.tokens, row_bytes = p.head_dim * elem, parts = 3 * p.heads;
  parallel_for(n, 64, [&](int64_t t0, int64_t t1) {
    for (int64_t part = 0; part < parts; ++part) {  // q heads, k heads, v heads
      const char* src = qkv + part * row_bytes;
      char* dst = qkv_heads + part * n * row_bytes;
      for (int64_t t = t0; t < t1; ++t)
        std::memcpy(dst + t * row_bytes, src + t * 3 * p.dim * elem, size_t(row_bytes));
    }
  });
}

// Copies the dense output blocks [H][N][head_dim] into their columns of out [N, C].
void scatter_heads(const AttentionPlan& p, const char* heads_out, char* out, int64_t elem) {
  const int64_t n = p.tokens, row_bytes = p.head_dim * elem;
  parallel_for(n, 64, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t h = 0; h < p.heads; ++h)
        std::memcpy(out + t * p.dim * elem + h * row_bytes, heads_out + (h * n + t) * row_bytes,
                    size_t(row_bytes));
  });
}

}  // namespace

AttentionPlan make_attention_plan(Runtime& rt, int64_t tokens, int64_t dim, int64_t head_dim, bool bf16) {
  AttentionPlan p;
  p.tokens = tokens;
  p.dim = dim;
  p.head_dim = head_dim;
  p.heads = dim / head_dim;
  p.bf16 = bf16;
  p.threads = num_threads();
  // Query rows per task: F32 scores plus bf16 probabilities within ~512 KB, a multiple of 16 rows
  // (AMX tiles), so that a task's softmax reads and writes L2 even on 512 KB-L2 cores.
  const int64_t fit = (int64_t(512) << 10) / (6 * tokens) / 16 * 16;
  const int64_t rows = std::min(tokens, std::max<int64_t>(16, fit));
  p.block = make_attention_rows(rt, rows, tokens, head_dim, bf16);
  if (const int64_t tail = tokens % rows) p.tail = make_attention_rows(rt, tail, tokens, head_dim, bf16);
  return p;
}

int64_t attention_scratch_floats(const AttentionPlan& p) {
  return 4 * head_blocks_floats(p) + p.threads * thread_scratch_floats(p);
}

void run_attention(Runtime& rt, const AttentionPlan& p, const void* qkv, void* out, float* scratch) {
  const int64_t elem = p.bf16 ? 2 : 4, n = p.tokens, hd = p.head_dim;
  const int64_t head_bytes = n * hd * elem;  // one head's [N, head_dim] block
  auto* blocks = reinterpret_cast<char*>(scratch);
  char* const q_heads = blocks;
  char* const k_heads = blocks + head_blocks_floats(p) * 4;
  char* const v_heads = blocks + 2 * head_blocks_floats(p) * 4;
  char* const o_heads = blocks + 3 * head_blocks_floats(p) * 4;
  float* const per_thread = scratch + 4 * head_blocks_floats(p);
  gather_heads(p, static_cast<const char*>(qkv), q_heads, elem);

  const int64_t row_blocks = (n + p.block.rows - 1) / p.block.rows, tasks = p.heads * row_blocks;
  const int threads = int(std::min<int64_t>({p.threads, num_threads(), tasks}));
  // Each thread runs its (head, row block) tasks with single-threaded primitives: a stream and a
  // scratchpad per thread make that safe (scratchpad_mode::user).
  on_each_thread(threads, [&](int t, int nt) {
    dnnl::stream stream(rt.engine());
    float* const scores = per_thread + t * thread_scratch_floats(p);
    float* const probs_at = scores + align_floats(p.block.rows * n);
    float* const pad_at = probs_at + (p.bf16 ? align_floats((p.block.rows * n + 1) / 2) : 0);
    for (int64_t task = t; task < tasks; task += nt) {
      const int64_t h = task / row_blocks, r0 = (task % row_blocks) * p.block.rows;
      const AttentionRows& r = (p.tail.rows && r0 + p.block.rows > n) ? p.tail : p.block;
      const memory s = wrap(rt, r.s_md, scores);
      const memory probs = p.bf16 ? wrap(rt, r.p_md, probs_at) : s;
      const memory pad =
          r.scratchpad_bytes
              ? wrap(rt, memory::desc({dnnl::memory::dim(r.scratchpad_bytes)}, dt::u8, tag::a), pad_at)
              : memory();
      const auto with_pad = [&](std::unordered_map<int, memory> args) {
        if (pad) args[DNNL_ARG_SCRATCHPAD] = pad;
        return args;
      };
      const int64_t row_offset = h * head_bytes + r0 * hd * elem;
      // attn = q @ k^T  (q pre-scaled)
      r.qk.execute(stream, with_pad({{DNNL_ARG_SRC, wrap(rt, r.q_md, q_heads + row_offset)},
                                     {DNNL_ARG_WEIGHTS, wrap(rt, r.kt_md, k_heads + h * head_bytes)},
                                     {DNNL_ARG_DST, s}}));
      // attn.softmax(dim=-1)
      r.softmax.execute(stream, with_pad({{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, probs}}));
      // x = attn @ v
      r.av.execute(stream, with_pad({{DNNL_ARG_SRC, probs},
                                     {DNNL_ARG_WEIGHTS, wrap(rt, r.v_md, v_heads + h * head_bytes)},
                                     {DNNL_ARG_DST, wrap(rt, r.o_md, o_heads + row_offset)}}));
    }
  });
  scatter_heads(p, o_heads, static_cast<char*>(out), elem);
}

}  // namespace fvlm::enc
