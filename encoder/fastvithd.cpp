#include "encoder/fastvithd.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"
#include "core/parallel.h"
#include "encoder/gelu_bf16.h"
#include "encoder/int8_linear.h"
#include "encoder/vision_kernels.h"
#include "quant/bf16_rows.h"

namespace fvlm::enc {
namespace {

// Shape bookkeeping while plans are built: current map size and the largest buffers needed.
struct Sizer {
  int64_t batch, h, w, c;
  VisionPrecision precision;
  int64_t ffn_chunk_rows = 0;  // 0: conv_ffn_chunk_rows decides
  bool ffn_thread_blocks = true;
  std::string first_ffn_impl = {};
  int64_t max_x = 0, max_t = 0, max_hidden = 0, max_qkv = 0, max_scores = 0;
  int64_t pixels() const { return batch * h * w; }
  bool bf16() const { return precision == VisionPrecision::kBf16; }
  void note_x() { max_x = std::max(max_x, pixels() * c); }
};

ConvGeom geom(const Sizer& s, int64_t oc, int64_t groups, int64_t k, int64_t stride) {
  return {s.batch, s.c, oc, groups, s.h, s.w, k, stride, k / 2};
}

// bf16: the repeated input is bf16 and so is the result (for a bf16 Linear after it).
ExpandConvPlan make_expand_conv_plan(Runtime& rt, WeightCache& wc, const ConvW& w, Sizer& s, int64_t stride,
                                     PostOp post, bool bf16) {
  const int64_t out = w.w.dim(0);
  ExpandConvPlan p{s.pixels(), s.c, out / s.c, bf16, {}};
  FVLM_CHECK(out % s.c == 0 && w.groups == s.c, "expand conv: groups must equal the input channels");
  const ConvGeom g{s.batch, out, out, out, s.h, s.w, w.w.dim(-1), stride, w.w.dim(-1) / 2};
  p.dw = make_conv_plan(rt, wc, w, g, post, {.bf16 = bf16, .dst_bf16 = bf16});
  s.max_hidden = std::max(s.max_hidden, s.pixels() * out);  // the repeated input lives in `hidden`
  return p;
}

// x [rows, in_c] -> repeated into `scratch` -> depthwise conv -> dst.
void run_expand_conv(Runtime& rt, const ExpandConvPlan& p, const float* x, float* scratch, void* dst) {
  if (p.bf16)
    repeat_channels_bf16(x, reinterpret_cast<uint16_t*>(scratch), p.rows, p.in_c, p.multiplier);
  else
    repeat_channels(x, scratch, p.rows, p.in_c, p.multiplier);
  run_conv(rt, p.dw, scratch, dst);
}

// Rows per ConvFFN chunk: a hidden chunk of ~4 MB (it stays in the L3 between fc1 and fc2), but at
// least 1024 rows (GEMM efficiency), in equal chunks (bench/README.md: the chunk sizes measured).
int64_t conv_ffn_chunk_rows(int64_t rows, int64_t hidden) {
  constexpr int64_t kHiddenChunkFloats = int64_t(1) << 20;
  const int64_t target = std::max<int64_t>(1024, kHiddenChunkFloats / hidden);
  const int64_t chunks = (rows + target - 1) / target;
  return (rows + chunks - 1) / chunks;
}

ConvFfnPlan make_conv_ffn_plan(Runtime& rt, WeightCache& wc, const ConvFfnW& f, Sizer& s) {
  const int64_t hidden = f.fc1.w.dim(0);
  ConvFfnPlan p;
  p.bf16 = s.bf16();
  p.rows = s.pixels();
  p.c = s.c;
  p.chunk_rows =
      s.ffn_chunk_rows > 0 ? std::min(s.ffn_chunk_rows, p.rows) : conv_ffn_chunk_rows(p.rows, hidden);
  // int8: one int8 block per chunk (chunked gives what one call gives): its F32 hidden (~1 MB) stays in
  // the L2 through fc1, the GELU pass and fc2's quantisation (with the GELU pass, 0.85-1.01x the time of
  // ~1M-value chunks with oneDNN's erf post-op: bench/README.md session 31).
  if (s.precision == VisionPrecision::kInt8)
    p.chunk_rows = std::min(
        p.rows, s.ffn_chunk_rows > 0 ? (p.chunk_rows + kInt8BlockRows - 1) / kInt8BlockRows * kInt8BlockRows
                                     : kInt8BlockRows);
  p.hidden = hidden;
  // bf16 and int8: thread blocks where every thread gets at least two (1024 px on 2 threads: stages
  // 0-2, and 3 in int8). bf16 in 512 rows: 0.68-0.94x the encode time of the chunks over all threads,
  // one process alternating (256 and 1024 no better); int8 in its 256-row blocks: 0.88-0.90x (0.89-1.0x
  // on the VNNI tier); F32 gained nothing (bench/README.md session 31).
  const bool int8 = s.precision == VisionPrecision::kInt8;
  const int64_t block = int8 ? p.chunk_rows : s.ffn_chunk_rows > 0 ? s.ffn_chunk_rows : 512;
  if ((p.bf16 || int8) && s.ffn_thread_blocks && p.rows >= 2 * num_threads() * block) {
    p.threads = num_threads();
    p.chunk_rows = block;
  }
  // The 7x7 runs F32 under bf16 too: oneDNN's bf16 depthwise kernel (no AMX for depthwise) runs ~1.5x
  // slower than its F32 one, and rounding each chunk of its result for fc1 costs less than the
  // difference (bench/README.md session 31).
  p.dw7x7 = make_conv_plan(rt, wc, f.dw7x7, geom(s, s.c, s.c, f.dw7x7.w.dim(-1), 1), PostOp::kNone);
  // fc1's source: the 7x7's F32 result, rounded to bf16 by run_linear, or per block by the thread
  const LinearIo to_hidden{.src_bf16 = p.threads > 0, .dst_bf16 = true}, from_hidden{.src_bf16 = true};
  // bf16 and int8: oneDNN's erf post-op costs more than a K = 96..192 AMX matmul itself
  // (bench/README.md); a table pass over the hidden costs a fraction of it.
  p.gelu_pass = p.bf16 || int8;
  const PostOp act = p.gelu_pass ? PostOp::kNone : PostOp::kGelu;
  p.fc1 = make_linear_plan(rt, wc, f.fc1, p.chunk_rows, act, s.precision, to_hidden);
  p.fc2 = make_linear_plan(rt, wc, f.fc2, p.chunk_rows, PostOp::kAccumulate, s.precision, from_hidden);
  if (const int64_t tail = p.rows % p.chunk_rows) {
    p.fc1_tail = make_linear_plan(rt, wc, f.fc1, tail, act, s.precision, to_hidden);
    p.fc2_tail = make_linear_plan(rt, wc, f.fc2, tail, PostOp::kAccumulate, s.precision, from_hidden);
  }
  if (p.threads > 0) {
    int64_t q = 0, sum = 0, pad = 0;
    for (const LinearPlan* l : {&p.fc1, &p.fc2, &p.fc1_tail, &p.fc2_tail}) {
      pad = std::max(pad, linear_thread_scratchpad_bytes(*l));
      if (l->int8) {
        const Int8ThreadBytes b = int8_thread_bytes(*l->int8);
        q = std::max(q, b.q);
        sum = std::max(sum, b.sum);
      }
    }
    const int64_t hidden_bytes = p.chunk_rows * hidden * (p.bf16 ? 2 : 4);
    const int64_t source_bytes = p.bf16 ? p.chunk_rows * p.c * 2 : 0;
    const int64_t sizes[5] = {source_bytes, hidden_bytes, q, sum, pad};
    std::copy(std::begin(sizes), std::end(sizes), std::begin(p.thread_bytes));
    s.max_hidden = std::max(s.max_hidden, p.threads * p.thread_scratch_floats());
  }
  if (s.first_ffn_impl.empty()) s.first_ffn_impl = p.fc1.impl;
  s.max_t = std::max(s.max_t, s.pixels() * s.c);
  s.max_hidden = std::max(s.max_hidden, p.chunk_rows * hidden);
  return p;
}

StagePlan make_stage_plan(Runtime& rt, WeightCache& wc, const StageW& sw, const FastVitHdConfig& cfg,
                          Sizer& s) {
  StagePlan p;
  switch (sw.kind) {
    case StageW::Kind::kPatchEmbed: {
      const int64_t out = sw.down.lk.w.dim(0);
      p.down_lk = make_expand_conv_plan(rt, wc, sw.down.lk, s, cfg.down_stride, PostOp::kGelu, s.bf16());
      s.h = (s.h + 2 * (sw.down.lk.w.dim(-1) / 2) - sw.down.lk.w.dim(-1)) / cfg.down_stride + 1;
      s.w = (s.w + 2 * (sw.down.lk.w.dim(-1) / 2) - sw.down.lk.w.dim(-1)) / cfg.down_stride + 1;
      s.c = out;
      p.down_pw =
          make_linear_plan(rt, wc, sw.down.pw, s.pixels(), PostOp::kGelu, s.precision, {.src_bf16 = true});
      break;
    }
    case StageW::Kind::kRepCpe:
      p.cpe = make_conv_plan(rt, wc, sw.cpe, geom(s, s.c, s.c, sw.cpe.w.dim(-1), 1), PostOp::kNone);
      break;
    case StageW::Kind::kRepMixerStage:
      for (const RepMixerBlockW& b : sw.repmixer) {
        RepMixerBlockPlan bp;
        bp.mixer = make_conv_plan(rt, wc, b.mixer, geom(s, s.c, s.c, b.mixer.w.dim(-1), 1), PostOp::kNone);
        bp.ffn = make_conv_ffn_plan(rt, wc, b.ffn, s);
        p.repmixer.push_back(std::move(bp));
      }
      break;
    case StageW::Kind::kAttentionStage:
      for (const AttentionBlockW& b : sw.attention) {
        AttentionBlockPlan bp;
        // bf16: norm -> qkv -> attention -> proj stay bf16 in between (the int8 path keeps F32 attention)
        const bool bf16 = s.bf16();
        bp.bf16 = bf16;
        bp.qkv = make_linear_plan(rt, wc, b.qkv, s.pixels(), PostOp::kNone, s.precision,
                                  {.src_bf16 = true, .dst_bf16 = true});
        bp.mhsa = make_attention_plan(rt, s.h * s.w, s.c, cfg.attention_head_dim, bf16);
        const LinearIo from_attention{.src_bf16 = true};
        bp.proj =
            make_linear_plan(rt, wc, b.proj, s.pixels(), PostOp::kAccumulate, s.precision, from_attention);
        bp.ffn = make_conv_ffn_plan(rt, wc, b.ffn, s);
        s.max_qkv = std::max(s.max_qkv, s.pixels() * 3 * s.c);
        s.max_scores = std::max(s.max_scores, attention_scratch_floats(bp.mhsa));
        p.attention.push_back(std::move(bp));
      }
      break;
  }
  s.note_x();
  p.h = s.h;
  p.w = s.w;
  p.c = s.c;
  return p;
}

Tensor f32_buffer(int64_t n) { return Tensor::zeros(DType::F32, {std::max<int64_t>(n, 1)}); }

}  // namespace

FastVitHdPlan make_fastvithd_plan(Runtime& rt, WeightCache& wc, const FastVitHdWeights& w, int64_t resolution,
                                  int64_t batch, VisionPrecision precision, int64_t ffn_chunk_rows,
                                  bool ffn_thread_blocks) {
  const int64_t stride = w.cfg.output_stride;
  if (resolution <= 0 || resolution % stride != 0)
    throw Error(Errc::kBadArgs,
                fmt::format("resolution {} is not a positive multiple of {}", resolution, stride));
  FastVitHdPlan p;
  p.resolution = resolution;
  p.batch = batch;
  Sizer s{batch,          resolution,       resolution, 3, resolve_vision_precision(precision),
          ffn_chunk_rows, ffn_thread_blocks};
  const int64_t d0 = w.stem[0].w.dim(0);
  p.stem_bf16 = s.bf16();
  const ConvIo stem_io{.bf16 = p.stem_bf16, .dst_bf16 = true};
  const ConvGeom g0 = geom(s, d0, 1, w.stem[0].w.dim(-1), 2);
  p.stem[0] = make_conv_plan(rt, wc, w.stem[0], g0, PostOp::kGelu, stem_io);  // MobileOneBlock 3x3 s2
  s.h = g0.oh(), s.w = g0.ow(), s.c = d0;
  s.note_x();
  const ConvGeom g1 = geom(s, d0, d0, w.stem[1].w.dim(-1), 2);
  p.stem[1] = make_conv_plan(rt, wc, w.stem[1], g1, PostOp::kGelu, stem_io);  // 3x3 s2 depthwise
  s.h = g1.oh(), s.w = g1.ow();
  p.stem_pw = make_linear_plan(rt, wc, w.stem[2], s.pixels(), PostOp::kGelu, s.precision,  // 1x1
                               {.src_bf16 = true});
  s.note_x();
  for (const StageW& sw : w.network) p.network.push_back(make_stage_plan(rt, wc, sw, w.cfg, s));
  const ConvW& ce = w.conv_exp.conv;
  p.conv_exp = make_expand_conv_plan(rt, wc, ce, s, 1, PostOp::kNone, false);
  FVLM_CHECK(s.h == resolution / stride && s.w == s.h, "FastViTHD output stride is not 64");
  p.out_hw = s.h;
  p.out_c = ce.w.dim(0);
  p.scratch = {s.max_x, std::max(s.max_t, s.max_x), s.max_hidden, s.max_qkv, s.max_scores};
  p.precision = s.precision;
  p.ffn_impl = s.first_ffn_impl;
  return p;
}

std::string ffn_kernel_name(Runtime& rt, const FastVitHdConfig& cfg, VisionPrecision precision) {
  const int64_t c = cfg.embed_dims.front(), hidden = int64_t(float(c) * cfg.mlp_ratios.front());
  const int64_t side = cfg.image_size / 4;  // the stem's stride
  const int64_t rows = conv_ffn_chunk_rows(side * side, hidden);
  return linear_kernel_name(rt, resolve_vision_precision(precision), rows, c, hidden, PostOp::kGelu);
}

void EncoderScratch::reserve(const ScratchSizes& s) {
  const auto grow = [](Tensor& t, int64_t n) {
    if (t.empty() || t.numel() < n) t = f32_buffer(n);
  };
  grow(x0, s.x);
  grow(x1, s.x);
  grow(t, s.t);
  grow(hidden, s.hidden);
  grow(qkv, s.qkv);
  grow(scores, s.scores);
}

namespace {

// Scratch buffers of a forward pass and the activation they currently hold.
struct Acts {
  float* x;       // current activation [B*H*W, C]
  float* y;       // the other ping-pong buffer
  float* t;       // one C-wide scratch
  float* hidden;  // ConvFFN hidden (4C wide)
  float* qkv;
  float* scores;
  const OpMarkFn* mark;
  void done(std::string_view op) const {
    if (*mark) (*mark)(op);
  }
};

// conv_ffn's fc1 -> GELU -> fc2 on thread blocks (ConvFfnPlan::threads): no fork and join per matmul
// or pass, and a block's hidden stays in its thread's L2 from fc1 to fc2. bf16: each thread first
// rounds its rows of the 7x7's F32 result to bf16; int8: each quantises its blocks itself.
void conv_ffn_thread_blocks(Runtime& rt, const ConvFfnPlan& p, Acts& a) {
  static const GeluBf16Fn gelu_bf16 = pick("gelu_erf_bf16", gelu_erf_bf16_variants()).fn;
  static const GeluF32Fn gelu_f32 = pick("gelu_erf_f32_via_bf16", gelu_erf_f32_via_bf16_variants()).fn;
  static const quant::F32ToBf16Fn to_bf16 = pick("f32_to_bf16", quant::f32_to_bf16_variants()).fn;
  const int64_t blocks = (p.rows + p.chunk_rows - 1) / p.chunk_rows;
  const int threads = int(std::min<int64_t>({p.threads, num_threads(), blocks}));
  on_each_thread(threads, [&](int th, int nt) {
    dnnl::stream stream(rt.engine());
    const ConvFfnPlan::ThreadScratch mine = p.thread_scratch(a.hidden, th);
    const LinearThreadBuffers buffers{mine.scratchpad, mine.q, mine.sum};
    for (int64_t b = th; b < blocks; b += nt) {
      const int64_t r0 = b * p.chunk_rows, rows = std::min(p.chunk_rows, p.rows - r0);
      const bool full = rows == p.chunk_rows;
      const void* source = a.t + r0 * p.c;
      if (p.bf16) {
        to_bf16(a.t + r0 * p.c, rows * p.c, mine.source);
        source = mine.source;
      }
      run_linear_on_thread(rt, stream, full ? p.fc1 : p.fc1_tail, source, mine.hidden, buffers);
      if (p.bf16)
        gelu_bf16(static_cast<uint16_t*>(mine.hidden), rows * p.hidden);
      else
        gelu_f32(static_cast<float*>(mine.hidden), rows * p.hidden);
      run_linear_on_thread(rt, stream, full ? p.fc2 : p.fc2_tail, mine.hidden, a.x + r0 * p.c, buffers);
    }
  });
  a.done("ffn_fc1_gelu_fc2");
}

// ConvFFN.forward with the residual of its block: x = x + layer_scale * fc2(gelu(fc1(bn(conv(x))))).
void conv_ffn(Runtime& rt, const ConvFfnPlan& p, Acts& a) {
  run_conv(rt, p.dw7x7, a.x, a.t);  // x = self.conv(x)      depthwise 7x7, BatchNorm folded
  a.done("ffn_dw7x7");
  if (p.threads > 0) return conv_ffn_thread_blocks(rt, p, a);
  for (int64_t r0 = 0; r0 < p.rows; r0 += p.chunk_rows) {  // fc1 and fc2 are per token: chunks are exact
    const bool full = p.rows - r0 >= p.chunk_rows;
    run_linear(rt, full ? p.fc1 : p.fc1_tail, a.t + r0 * p.c, a.hidden);  // x = self.act(self.fc1(x))
    const int64_t hidden_values = std::min(p.chunk_rows, p.rows - r0) * p.hidden;
    if (p.bf16)
      gelu_erf_bf16_inplace(reinterpret_cast<uint16_t*>(a.hidden), hidden_values);
    else if (p.gelu_pass)
      gelu_erf_f32_via_bf16_inplace(a.hidden, hidden_values);
    a.done("ffn_fc1");
    run_linear(rt, full ? p.fc2 : p.fc2_tail, a.hidden, a.x + r0 * p.c);  // x = x + layer_scale * self.fc2(x)
    a.done("ffn_fc2");  //   (layer scale folded into fc2, residual as a sum post-op)
  }
}

// RepMixerBlock.forward (inference form).
void repmixer_block(Runtime& rt, const RepMixerBlockPlan& p, Acts& a) {
  run_conv(rt, p.mixer, a.x, a.y);  // x = self.token_mixer(x)   reparam_conv, identity folded
  a.done("repmixer_dw3x3");
  std::swap(a.x, a.y);
  conv_ffn(rt, p.ffn, a);  // x = x + self.layer_scale * self.convffn(x)
}

// AttentionBlock.forward: x = x + ls1 * MHSA(norm(x)); x = x + ls2 * ConvFFN(x).
void attention_block(Runtime& rt, const AttentionBlockW& w, const AttentionBlockPlan& p, int64_t batch,
                     float eps, Acts& a) {
  const int64_t n = p.mhsa.tokens, c = p.mhsa.dim;
  if (p.bf16)  // self.norm(x)
    layer_norm_rows_bf16(a.x, reinterpret_cast<uint16_t*>(a.t), batch * n, c, w.norm_w.f32(), w.norm_b.f32(),
                         eps);
  else
    layer_norm_rows(a.x, a.t, batch * n, c, w.norm_w.f32(), w.norm_b.f32(), eps);
  a.done("attn_norm");
  run_linear(rt, p.qkv, a.t, a.qkv);  // qkv = self.qkv(x)   q rows pre-scaled
  a.done("attn_qkv");
  const int64_t elem = p.mhsa.bf16 ? 2 : 4;  // qkv and the heads' output are bf16 or F32
  const auto* qkv = reinterpret_cast<const char*>(a.qkv);
  auto* heads = reinterpret_cast<char*>(a.t);
  for (int64_t b = 0; b < batch; ++b)  // x = (softmax(q k^T) v).transpose(1, 2).reshape(B, N, C)
    run_attention(rt, p.mhsa, qkv + b * n * 3 * c * elem, heads + b * n * c * elem, a.scores);
  a.done("attn_qk_softmax_av");
  run_linear(rt, p.proj, a.t, a.x);  // x = x + layer_scale_1 * self.proj(x)   (sum post-op)
  a.done("attn_proj");
  conv_ffn(rt, p.ffn, a);  // x = x + layer_scale_2 * self.convffn(x)
}

// One entry of FastViT.network.
void network_entry(Runtime& rt, const StageW& w, const StagePlan& p, int64_t batch, float ln_eps, Acts& a) {
  switch (w.kind) {
    case StageW::Kind::kPatchEmbed:  // PatchEmbed: proj.0 (7x7 s2, x2 channels) -> GELU; proj.1 1x1 -> GELU
      run_expand_conv(rt, p.down_lk, a.x, a.hidden, a.y);
      a.done("patch_embed_dw7x7");
      run_linear(rt, p.down_pw, a.y, a.x);
      a.done("patch_embed_pw");
      break;
    case StageW::Kind::kRepCpe:  // RepCPE: x = reparam_conv(x), identity folded
      run_conv(rt, p.cpe, a.x, a.y);
      a.done("rep_cpe_dw7x7");
      std::swap(a.x, a.y);
      break;
    case StageW::Kind::kRepMixerStage:
      for (const RepMixerBlockPlan& bp : p.repmixer) repmixer_block(rt, bp, a);
      break;
    case StageW::Kind::kAttentionStage:
      for (size_t j = 0; j < p.attention.size(); ++j)
        attention_block(rt, w.attention[j], p.attention[j], batch, ln_eps, a);
      break;
  }
}

// [B, C, HW] -> [B, HW, C] (the input image; a few MB), F32 or rounded to bf16.
template <class T>
void nchw_to_nhwc(const float* src, T* dst, int64_t batch, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < batch; ++b)
    parallel_for(hw, 4096, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t k = 0; k < c; ++k) {
          const float v = src[(b * c + k) * hw + p];
          if constexpr (std::is_same_v<T, float>)
            dst[(b * hw + p) * c + k] = v;
          else
            dst[(b * hw + p) * c + k] = f32_to_bf16(v);
        }
    });
}

void emit(const TapFn& tap, std::string_view name, const float* x, int64_t b, int64_t h, int64_t w,
          int64_t c) {
  if (tap) tap(name, Tensor::view(DType::F32, {b, h, w, c}, x, nullptr));
}

}  // namespace

void fastvithd_forward(Runtime& rt, const FastVitHdWeights& w, const FastVitHdPlan& p,
                       EncoderScratch& scratch, const float* pixels, float* out, const TapFn& tap,
                       const OpMarkFn& mark) {
  scratch.reserve(p.scratch);
  EncoderScratch& m = scratch;
  Acts a{m.x0.f32(), m.x1.f32(), m.t.f32(), m.hidden.f32(), m.qkv.f32(), m.scores.f32(), &mark};
  const int64_t d0 = w.stem[0].w.dim(0), stem_hw = p.resolution / 4;
  if (p.stem_bf16)
    nchw_to_nhwc(pixels, reinterpret_cast<uint16_t*>(a.x), p.batch, 3, p.resolution * p.resolution);
  else
    nchw_to_nhwc(pixels, a.x, p.batch, 3, p.resolution * p.resolution);
  run_conv(rt, p.stem[0], a.x, a.y);    // x = self.patch_embed(x): 3x3 s2 -> GELU
  run_conv(rt, p.stem[1], a.y, a.x);    //   3x3 s2 depthwise -> GELU
  run_linear(rt, p.stem_pw, a.x, a.y);  //   1x1 -> GELU
  a.done("stem");
  std::swap(a.x, a.y);
  emit(tap, "stem", a.x, p.batch, stem_hw, stem_hw, d0);
  for (size_t i = 0; i < p.network.size(); ++i) {  // for block in self.network: x = block(x)
    const StagePlan& sp = p.network[i];
    network_entry(rt, w.network[i], sp, p.batch, w.cfg.layernorm_eps, a);
    emit(tap, fmt::format("network_{:02d}", i), a.x, p.batch, sp.h, sp.w, sp.c);
  }
  const int64_t hw = p.out_hw * p.out_hw;
  run_expand_conv(rt, p.conv_exp, a.x, a.hidden,
                  out);  // x = self.conv_exp(x): reparam_conv (groups = C, x2 channels)
  const ConvExpW& ce = w.conv_exp;
  for (int64_t b = 0; b < p.batch; ++b)  //   -> self.se(x)   (global average over the whole map)
    squeeze_excite_inplace(out + b * hw * p.out_c, hw, p.out_c, ce.se_reduce.w.f32(), ce.se_reduce.b.f32(),
                           ce.se_reduce.w.dim(0), ce.se_expand.w.f32(), ce.se_expand.b.f32());
  gelu_erf_inplace(out, p.batch * hw * p.out_c);  //   -> self.activation(x)
  a.done("conv_exp_se_gelu");
  emit(tap, "conv_exp", out, p.batch, p.out_hw, p.out_hw, p.out_c);
}

}  // namespace fvlm::enc
