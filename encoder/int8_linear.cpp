#include "encoder/int8_linear.h"

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "encoder/int8_rows.h"
#include "encoder/vision_precision.h"
#include "quant/s8_rows.h"

namespace fvlm::enc {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

bool is_reference(const char* impl) { return std::string_view(impl).starts_with("ref"); }

template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

dnnl::matmul::primitive_desc int8_pd(Runtime& rt, const Int8Weights& w, int64_t rows, bool has_bias,
                                     bool gelu, bool sum) {
  const memory::desc src({rows, w.k}, dt::u8, tag::ab), dst({rows, w.n}, dt::f32, tag::ab);
  const memory::desc w_any({w.k, w.n}, dt::s8, tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_output_scales(1 << 1, w.scale);                        // sw[n]
  attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});  // za
  dnnl::post_ops ops;
  ops.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, 1}, dt::f32, tag::ab));  // x sa
  if (has_bias) ops.append_binary(dnnl::algorithm::binary_add, memory::desc({1, w.n}, dt::f32, tag::ab));
  if (gelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  if (sum) ops.append_sum(1.0f);
  attr.set_post_ops(ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, w_any, dst), attr, rt.engine());
}

Int8Matmul make_block(const dnnl::matmul::primitive_desc& pd, const PackInt8Fn& pack) {
  return {dnnl::matmul(pd), pd.src_desc(), pd.dst_desc(), pack(pd.weights_desc()),
          pd.scratchpad_desc().get_size()};
}

// The block's range over all threads: each takes a slice of the values, then the slices are merged.
U8Params block_range(const float* x, int64_t n, int levels) {
  static const MinMaxFn minmax = pick("minmax_f32", minmax_f32_variants()).fn;
  constexpr int kMaxParts = 64;
  const int parts = std::clamp(int(n / 16384), 1, std::min(kMaxParts, num_threads()));
  float lo[kMaxParts] = {}, hi[kMaxParts] = {};
  parallel_for(parts, 1, [&](int64_t a, int64_t b) {
    for (int64_t t = a; t < b; ++t)
      minmax(x + n * t / parts, n * (t + 1) / parts - n * t / parts, &lo[t], &hi[t]);
  });
  float l = 0.0f, h = 0.0f;
  for (int t = 0; t < parts; ++t) l = std::min(l, lo[t]), h = std::max(h, hi[t]);
  return u8_params(l, h, levels);
}

}  // namespace

int int8_activation_levels() { return onednn_has_vnni() ? 255 : 127; }

Int8Weights quantize_linear_weights(const Tensor& w, const Tensor& b) {
  FVLM_CHECK(w.dtype() == DType::F32, "int8 linear: weights must be bound as F32");
  Int8Weights q;
  q.n = w.dim(0);
  q.k = w.numel() / q.n;
  q.q.resize(size_t(q.n * q.k));
  q.scale.resize(size_t(q.n));
  quant::quantize_rows_s8(w.f32(), q.n, q.k, q.q.data(), q.scale.data());
  if (!b.empty()) q.bias.assign(b.f32(), b.f32() + q.n);
  return q;
}

std::string int8_kernel_name(Runtime& rt, int64_t m, int64_t k, int64_t n, bool gelu, bool accumulate) {
  m = std::min(m, kInt8BlockRows);  // the block a plan's primitive runs
  Int8Weights w;
  w.n = n;
  w.k = k;
  w.scale.assign(size_t(n), 1.0f);
  w.bias.assign(size_t(n), 0.0f);
  const dnnl::matmul::primitive_desc pd = int8_pd(rt, w, m, true, gelu, accumulate);
  if (accumulate && is_reference(pd.impl_info_str()))
    return int8_pd(rt, w, m, true, gelu, false).impl_info_str();
  return pd.impl_info_str();
}

dnnl::memory pack_int8_weights(Runtime& rt, const Int8Weights& w, const memory::desc& want) {
  const memory::desc plain({w.k, w.n}, dt::s8, tag::ba);  // W [N, K] row-major = W^T [K, N] column-major
  memory src(plain, rt.engine(), const_cast<int8_t*>(w.q.data()));
  memory dst(want, rt.engine());
  dnnl::reorder(src, dst).execute(rt.stream(), src, dst);
  rt.stream().wait();
  return dst;
}

Int8LinearPlan make_int8_linear_plan(Runtime& rt, std::shared_ptr<const Int8Weights> w,
                                     std::shared_ptr<Int8Workspace> ws, int64_t m, bool gelu, bool accumulate,
                                     const PackInt8Fn& pack, int64_t chunk_rows) {
  Int8LinearPlan p;
  p.m = m;
  p.chunk_rows = std::min(m, chunk_rows > 0 ? chunk_rows : kInt8BlockRows);
  p.levels = int8_activation_levels();
  p.accumulate = accumulate;
  const bool has_bias = !w->bias.empty();
  dnnl::matmul::primitive_desc pd = int8_pd(rt, *w, p.chunk_rows, has_bias, gelu, accumulate);
  if (accumulate && is_reference(pd.impl_info_str())) {  // no fused residual sum on this ISA
    p.sum_by_hand = true;
    pd = int8_pd(rt, *w, p.chunk_rows, has_bias, gelu, false);
  }
  p.impl = pd.impl_info_str();
  p.chunk = make_block(pd, pack);
  if (const int64_t tail = m % p.chunk_rows)
    p.tail = make_block(int8_pd(rt, *w, tail, has_bias, gelu, accumulate && !p.sum_by_hand), pack);
  if (has_bias)
    p.bias =
        memory(memory::desc({1, w->n}, dt::f32, tag::ab), rt.engine(), const_cast<float*>(w->bias.data()));
  grow(ws->q, p.chunk_rows * w->k);
  if (p.sum_by_hand) grow(ws->sum, p.chunk_rows * w->n);
  p.w = std::move(w);
  p.ws = std::move(ws);
  return p;
}

namespace {

// The blocks of one call on `stream`, with the block's u8 source in q, its result in sum when the
// residual is added by hand, and the primitive's scratchpad from scratchpad(bytes).
template <class Scratchpad>
void run_blocks(Runtime& rt, dnnl::stream& stream, const Int8LinearPlan& p, const float* src, float* dst,
                uint8_t* qbuf, float* sum, Scratchpad&& scratchpad) {
  static const QuantizeU8Fn quantize = pick("quantize_u8", quantize_u8_variants()).fn;
  const int64_t n = p.w->n, k = p.w->k;
  const memory::desc scalar_f32({1, 1}, dt::f32, tag::ab), scalar_s32({1}, dt::s32, tag::a);
  for (int64_t r0 = 0; r0 < p.m; r0 += p.chunk_rows) {
    const int64_t rows = std::min(p.chunk_rows, p.m - r0);
    const Int8Matmul& mm = rows == p.chunk_rows ? p.chunk : p.tail;
    const float* x = src + r0 * k;
    float* y = dst + r0 * n;
    U8Params q = block_range(x, rows * k, p.levels);
    parallel_for(rows, 16, [&](int64_t a, int64_t b) {  // (one thread inside a parallel region)
      quantize(x + a * k, (b - a) * k, q.inv, q.zero, qbuf + a * k);
    });
    float* out = p.sum_by_hand ? sum : y;
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(mm.src, rt.engine(), qbuf)},
        {DNNL_ARG_WEIGHTS, mm.w},
        {DNNL_ARG_DST, memory(mm.dst, rt.engine(), out)},
        {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(scalar_s32, rt.engine(), &q.zero)},
        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, memory(scalar_f32, rt.engine(), &q.scale)}};
    if (p.bias) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1] = p.bias;
    if (mm.scratchpad_bytes) args[DNNL_ARG_SCRATCHPAD] = scratchpad(mm.scratchpad_bytes);
    mm.prim.execute(stream, args);
    if (p.sum_by_hand) {
      stream.wait();
      parallel_for(rows * n, 16384, [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) y[i] += out[i];  // x = x + fc2(x)   (residual)
      });
    }
  }
}

}  // namespace

void run_int8_linear(Runtime& rt, const Int8LinearPlan& p, const float* src, float* dst) {
  run_blocks(rt, rt.stream(), p, src, dst, p.ws->q.data(), p.ws->sum.data(),
             [&](size_t bytes) { return rt.scratchpad(bytes); });
}

Int8ThreadBytes int8_thread_bytes(const Int8LinearPlan& p) {
  size_t pad = std::max(p.chunk.scratchpad_bytes, p.tail.scratchpad_bytes);
  return {p.chunk_rows * p.w->k, p.sum_by_hand ? p.chunk_rows * p.w->n * 4 : 0, int64_t(pad)};
}

void run_int8_linear_on_thread(Runtime& rt, dnnl::stream& stream, const Int8LinearPlan& p, const float* src,
                               float* dst, uint8_t* q, float* sum, void* scratchpad) {
  run_blocks(rt, stream, p, src, dst, q, sum, [&](size_t bytes) {
    return memory(memory::desc({memory::dim(bytes)}, dt::u8, tag::a), rt.engine(), scratchpad);
  });
}

}  // namespace fvlm::enc
