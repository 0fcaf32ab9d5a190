#include "models/tensor_table.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm {
namespace {

// Appends specs under a name prefix; keeps the table-building code one line per tensor.
struct TableBuilder {
  std::vector<TensorSpec>& out;
  TensorRole role;
  std::string prefix;
  void add(const std::string& name, Shape shape, QuantPolicy q, Presence p = Presence::kRequired) {
    out.push_back({prefix + name, std::move(shape), role, q, p});
  }
  // A conv or linear with bias: weight (policy q) + bias (F32).
  void conv(const std::string& name, Shape w, QuantPolicy q = QuantPolicy::kFloat16) {
    const int64_t out_ch = w[0];
    add(name + ".weight", std::move(w), q);
    add(name + ".bias", {out_ch}, QuantPolicy::kKeepF32);
  }
};

// ConvFFN(dim, hidden): conv.conv (dw 7x7, no bias), conv.bn, fc1, fc2 (mci.py ConvFFN).
void conv_ffn(TableBuilder& b, const std::string& p, int64_t dim, int64_t hidden) {
  b.add(p + "convffn.conv.conv.weight", {dim, 1, 7, 7}, QuantPolicy::kFloat16);
  for (const char* s : {"weight", "bias", "running_mean", "running_var"})
    b.add(p + "convffn.conv.bn." + s, {dim}, QuantPolicy::kKeepF32);
  b.add(p + "convffn.conv.bn.num_batches_tracked", {}, QuantPolicy::kKeepF32, Presence::kIgnored);
  b.conv(p + "convffn.fc1", {hidden, dim, 1, 1});
  b.conv(p + "convffn.fc2", {dim, hidden, 1, 1});
}

}  // namespace

std::vector<NetworkEntry> fastvithd_network_layout(const FastVitHdConfig& v) {
  std::vector<NetworkEntry> net;
  const int n = v.num_stages();
  for (int i = 0; i < n; ++i) {  // mci.py FastViT.__init__: pos_emb, stage, downsample
    if (v.rep_cpe[i]) net.push_back({NetworkModule::kRepCpe, i});
    net.push_back({NetworkModule::kStage, i});
    if (i == n - 1) break;
    if (v.downsamples[i] || v.embed_dims[i] != v.embed_dims[i + 1])
      net.push_back({NetworkModule::kPatchEmbed, i + 1});
  }
  return net;
}

std::vector<TensorSpec> vision_tensor_table(const ModelConfig& c) {
  const FastVitHdConfig& v = c.vision;
  std::vector<TensorSpec> out;
  TableBuilder b{out, TensorRole::kVision, kVisionPrefix};
  const int64_t d0 = v.embed_dims[0];
  b.conv("patch_embed.0.reparam_conv", {d0, 3, 3, 3});  // stem: 3x3 s2, 3x3 s2 depthwise, 1x1
  b.conv("patch_embed.1.reparam_conv", {d0, 1, 3, 3});
  b.conv("patch_embed.2.reparam_conv", {d0, d0, 1, 1});
  const auto layout = fastvithd_network_layout(v);
  for (size_t idx = 0; idx < layout.size(); ++idx) {
    const int s = layout[idx].stage;
    const int64_t d = v.embed_dims[s];
    const std::string p = fmt::format("network.{}.", idx);
    switch (layout[idx].kind) {
      case NetworkModule::kRepCpe:
        b.conv(p + "reparam_conv", {d, 1, v.cpe_kernel_size, v.cpe_kernel_size});
        break;
      case NetworkModule::kPatchEmbed: {
        const int64_t k = v.down_patch_size;
        b.conv(p + "proj.0.lkb_reparam", {d, 1, k, k});  // groups = in channels, out = d
        b.conv(p + "proj.1.reparam_conv", {d, d, 1, 1});
        break;
      }
      case NetworkModule::kStage: {
        const int64_t hidden = int64_t(d * v.mlp_ratios[s]);
        for (int j = 0; j < v.layers[s]; ++j) {
          const std::string bp = p + fmt::format("{}.", j);
          if (v.attention[s]) {
            b.add(bp + "norm.weight", {d}, QuantPolicy::kKeepF32);
            b.add(bp + "norm.bias", {d}, QuantPolicy::kKeepF32);
            b.add(bp + "token_mixer.qkv.weight", {3 * d, d}, QuantPolicy::kFloat16);
            b.conv(bp + "token_mixer.proj", {d, d});
            conv_ffn(b, bp, d, hidden);
            b.add(bp + "layer_scale_1", {d, 1, 1}, QuantPolicy::kKeepF32);
            b.add(bp + "layer_scale_2", {d, 1, 1}, QuantPolicy::kKeepF32);
          } else {
            const int64_t k = v.repmixer_kernel_size;
            b.conv(bp + "token_mixer.reparam_conv", {d, 1, k, k});
            conv_ffn(b, bp, d, hidden);
            b.add(bp + "layer_scale", {d, 1, 1}, QuantPolicy::kKeepF32);
          }
        }
        break;
      }
    }
  }
  const int64_t last = v.embed_dims.back(), exp = v.conv_exp_dim();
  const int64_t se = int64_t(exp * 0.0625);         // SEBlock rd_ratio = 0.0625
  b.conv("conv_exp.reparam_conv", {exp, 1, 3, 3});  // groups = last: 2 outputs per input channel
  b.conv("conv_exp.se.reduce", {se, exp, 1, 1}, QuantPolicy::kKeepF32);
  b.conv("conv_exp.se.expand", {exp, se, 1, 1}, QuantPolicy::kKeepF32);
  (void)last;
  b.add("head.proj", {exp, v.projection_dim}, QuantPolicy::kFloat16, Presence::kIgnored);
  return out;
}

std::vector<TensorSpec> projector_tensor_table(const ModelConfig& c) {
  std::vector<TensorSpec> out;
  TableBuilder b{out, TensorRole::kProjector, kProjectorPrefix};
  // mlp{N}x_gelu: Linear(mm_hidden, H), then (GELU, Linear(H, H)) x (N-1); Sequential indices 0, 2, 4, ...
  const int64_t h = c.llm.hidden_size;
  b.conv("0", {h, c.mm_hidden_size}, QuantPolicy::kFloat16);
  for (int i = 1; i < c.projector_depth; ++i) b.conv(std::to_string(2 * i), {h, h}, QuantPolicy::kFloat16);
  return out;
}

std::vector<TensorSpec> llm_tensor_table(const ModelConfig& c) {
  const Qwen2Config& l = c.llm;
  std::vector<TensorSpec> out;
  TableBuilder b{out, TensorRole::kLlm, ""};
  const int64_t h = l.hidden_size, kv = l.kv_dim(), ff = l.intermediate_size;
  b.add("model.embed_tokens.weight", {l.vocab_size, h}, QuantPolicy::kUpToInt4);
  // Attention projections and ffn_down keep 8 bits when Q4_0 is asked (models/convert.h has the
  // measurements): the attention ones move the logits most per weight and are only ~12% of a Qwen2
  // layer (GQA: small k, v); with ffn_down too, Q4_0's first token matches FP32 on the goldens.
  for (int i = 0; i < l.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    b.add(p + "input_layernorm.weight", {h}, QuantPolicy::kKeepF32);
    b.add(p + "self_attn.q_proj.weight", {h, h}, QuantPolicy::kUpToInt8);
    b.add(p + "self_attn.q_proj.bias", {h}, QuantPolicy::kKeepF32);
    b.add(p + "self_attn.k_proj.weight", {kv, h}, QuantPolicy::kUpToInt8);
    b.add(p + "self_attn.k_proj.bias", {kv}, QuantPolicy::kKeepF32);
    b.add(p + "self_attn.v_proj.weight", {kv, h}, QuantPolicy::kUpToInt8);
    b.add(p + "self_attn.v_proj.bias", {kv}, QuantPolicy::kKeepF32);
    b.add(p + "self_attn.o_proj.weight", {h, h}, QuantPolicy::kUpToInt8);
    b.add(p + "post_attention_layernorm.weight", {h}, QuantPolicy::kKeepF32);
    b.add(p + "mlp.gate_proj.weight", {ff, h}, QuantPolicy::kUpToInt4);
    b.add(p + "mlp.up_proj.weight", {ff, h}, QuantPolicy::kUpToInt4);
    b.add(p + "mlp.down_proj.weight", {h, ff}, QuantPolicy::kUpToInt8);
  }
  b.add("model.norm.weight", {h}, QuantPolicy::kKeepF32);
  // Tied models may still store lm_head.weight (the 0.5B release does): use it when present.
  b.add("lm_head.weight", {l.vocab_size, h}, QuantPolicy::kUpToInt4,
        l.tie_word_embeddings ? Presence::kOptional : Presence::kRequired);
  return out;
}

std::vector<TensorSpec> model_tensor_table(const ModelConfig& c) {
  std::vector<TensorSpec> all = vision_tensor_table(c);
  for (auto* part : {&projector_tensor_table, &llm_tensor_table}) {
    std::vector<TensorSpec> t = (*part)(c);
    all.insert(all.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  }
  return all;
}

std::vector<TensorProblem> find_tensor_problems(const std::vector<TensorSpec>& table,
                                                const TensorMap& tensors) {
  std::vector<TensorProblem> problems;
  std::set<std::string> known;
  for (const TensorSpec& s : table) {
    known.insert(s.name);
    auto it = tensors.find(s.name);
    if (it == tensors.end()) {
      if (s.presence == Presence::kRequired) problems.push_back({s.name, "missing"});
      continue;
    }
    const Tensor& t = it->second;
    if (t.shape() != s.shape) {
      problems.push_back(
          {s.name, fmt::format("shape {}, expected {}", shape_str(t.shape()), shape_str(s.shape))});
      continue;
    }
    const bool float_ok = t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16 ||
                          t.dtype() == DType::Q8_0 || t.dtype() == DType::Q4_0;
    if (s.presence != Presence::kIgnored && !float_ok)
      problems.push_back({s.name, fmt::format("dtype {} is not a float type", dtype_name(t.dtype()))});
  }
  for (const auto& [name, t] : tensors)
    if (!known.count(name)) problems.push_back({name, "unexpected"});
  return problems;
}

void validate_tensors(const std::vector<TensorSpec>& table, const TensorMap& tensors) {
  const std::vector<TensorProblem> problems = find_tensor_problems(table, tensors);
  if (problems.empty()) return;
  nlohmann::json detail = nlohmann::json::array();
  std::string first;
  for (size_t i = 0; i < problems.size(); ++i) {
    detail.push_back({{"tensor", problems[i].name}, {"problem", problems[i].what}});
    if (i < 3) first += fmt::format("{}{}: {}", i ? "; " : "", problems[i].name, problems[i].what);
  }
  throw Error(Errc::kBadModel,
              fmt::format("checkpoint does not match config.json: {} problem(s): {}{}", problems.size(),
                          first, problems.size() > 3 ? "; ..." : ""),
              nlohmann::json{{"problems", detail}});
}

}  // namespace fvlm
