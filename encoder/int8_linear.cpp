#include "encoder/int8_linear.h"

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "encoder/int8_rows.h"

namespace fvlm::enc {
namespace {

using dnnl::memory;

// Rows per chunk: an int32 block of ~2 MB, but at least 256 rows so the GEMM stays efficient.
int64_t chunk_rows_for(int64_t m, int64_t n) {
  return std::min(m, std::max<int64_t>(256, (int64_t(512) << 10) / n));
}

memory::desc flat(int64_t elems) {
  return memory::desc({std::max<int64_t>(elems, 1)}, memory::data_type::f32, memory::format_tag::a);
}

dnnl::eltwise_forward gelu_prim(Runtime& rt, const memory::desc& md) {
  const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_gelu_erf,
                                      md, 0.0f, 0.0f);
  return dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, rt.engine()));
}

template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

}  // namespace

Int8Weights quantize_linear_weights(const Tensor& w, const Tensor& b) {
  FVLM_CHECK(w.dtype() == DType::F32, "int8 linear: weights must be bound as F32");
  Int8Weights q;
  q.n = w.dim(0);
  q.k = w.numel() / q.n;
  q.q.resize(size_t(q.n * q.k));
  q.scale.resize(size_t(q.n));
  q.sum.resize(size_t(q.n));
  quantize_weights_s7(w.f32(), q.n, q.k, q.q.data(), q.scale.data(), q.sum.data());
  if (!b.empty()) q.bias.assign(b.f32(), b.f32() + q.n);
  return q;
}

Int8LinearPlan make_int8_linear_plan(Runtime& rt, std::shared_ptr<const Int8Weights> w,
                                     std::shared_ptr<Int8Workspace> ws, int64_t m, bool gelu,
                                     bool accumulate) {
  Int8LinearPlan p;
  p.m = m;
  p.chunk_rows = chunk_rows_for(m, w->n);
  p.gelu = gelu;
  p.accumulate = accumulate;
  if (gelu) {
    p.chunk_md = flat(p.chunk_rows * w->n);
    p.tail_md = flat((m % p.chunk_rows) * w->n);
    p.gelu_chunk = gelu_prim(rt, p.chunk_md);
    p.gelu_tail = gelu_prim(rt, p.tail_md);
  }
  grow(ws->q, p.chunk_rows * w->k);
  grow(ws->acc, p.chunk_rows * w->n);
  grow(ws->row_scale, p.chunk_rows);
  grow(ws->row_zero, p.chunk_rows);
  p.w = std::move(w);
  p.ws = std::move(ws);
  return p;
}

void run_int8_linear(Runtime& rt, const Int8LinearPlan& p, const float* src, float* dst) {
  static const QuantizeRowsU8Fn quantize = pick("quantize_rows_u8", quantize_rows_u8_variants()).fn;
  static const DequantizeRowsS32Fn dequantize =
      pick("dequantize_rows_s32", dequantize_rows_s32_variants()).fn;
  const Int8Weights& w = *p.w;
  Int8Workspace& ws = *p.ws;
  const int64_t n = w.n, k = w.k;
  const DequantArgs args{ws.row_scale.data(),
                         ws.row_zero.data(),
                         w.scale.data(),
                         w.sum.data(),
                         w.bias.empty() ? nullptr : w.bias.data(),
                         p.accumulate};
  const int32_t no_offset = 0;
  for (int64_t r0 = 0; r0 < p.m; r0 += p.chunk_rows) {
    const int64_t rows = std::min(p.chunk_rows, p.m - r0);
    const float* x = src + r0 * k;
    float* y = dst + r0 * n;
    parallel_for(rows, 16, [&](int64_t a, int64_t b) {
      quantize(x + a * k, b - a, k, ws.q.data() + a * k, ws.row_scale.data() + a, ws.row_zero.data() + a);
    });
    const dnnl_status_t st = dnnl_gemm_u8s8s32('N', 'T', 'F', rows, n, k, 1.0f, ws.q.data(), k, 0, w.q.data(),
                                               k, 0, 0.0f, ws.acc.data(), n, &no_offset);
    FVLM_CHECK(st == dnnl_success, "dnnl_gemm_u8s8s32 failed");
    parallel_for(rows, 16, [&](int64_t a, int64_t b) {
      DequantArgs ra = args;
      ra.row_scale += a;
      ra.row_zero += a;
      dequantize(ws.acc.data() + a * n, b - a, n, ra, y + a * n);
    });
    if (p.gelu) {
      const bool full = rows == p.chunk_rows;  // x = self.act(x)
      const memory mem(full ? p.chunk_md : p.tail_md, rt.engine(), y);
      (full ? p.gelu_chunk : p.gelu_tail).execute(rt.stream(), {{DNNL_ARG_SRC, mem}, {DNNL_ARG_DST, mem}});
    }
  }
}

}  // namespace fvlm::enc
