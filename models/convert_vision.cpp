// convert, vision half: FastViTHD + projector -> fastvlm-vision.gguf with fastvlm.* metadata and
// each ConvFFN BatchNorm folded into its depthwise conv (mci.py ConvFFN.conv = conv_bn(...)).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/gguf.h"
#include "models/convert.h"
#include "models/convert_parts.h"
#include "quant/matmul_quant.h"

namespace fvlm {
namespace fs = std::filesystem;
namespace {

// The folded pair {w' [O, I/g, kh, kw], b' [O]} in F32: w'[o] = w[o] * scale[o], b' = shift, with the
// BatchNorm's scale and shift as binding computes them (enc::batchnorm_scale_shift).
std::pair<Tensor, Tensor> fold_batchnorm(const TensorMap& t, const enc::BatchNormFold& fold, float eps) {
  const Tensor w = to_f32(t.at(fold.conv_weight));
  const enc::ScaleShift bn = enc::batchnorm_scale_shift(to_f32(t.at(fold.gamma)), to_f32(t.at(fold.beta)),
                                                        to_f32(t.at(fold.mean)), to_f32(t.at(fold.var)), eps);
  const int64_t out = w.dim(0), per_out = w.numel() / out;
  Tensor wf = Tensor::zeros(DType::F32, w.shape());
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < per_out; ++j)
      wf.f32()[o * per_out + j] = w.f32()[o * per_out + j] * bn.scale.f32()[o];
  return {wf, bn.shift};
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void add_vision_metadata(GgufWriter& w, const ModelSource& src, DType type) {
  const ModelConfig& c = src.config;
  const FastVitHdConfig& v = c.vision;
  const bool block = type == DType::Q8_0 || type == DType::Q4_0;
  w.set("general.architecture", GgufValue::string("fastvlm"));
  w.set("general.name", GgufValue::string(c.name.empty() ? fs::path(src.dir).filename().string() : c.name));
  w.set("general.file_type", GgufValue::u32(llama_file_type(block ? DType::F16 : type)));
  auto ints = [](const auto& xs) { return std::vector<int64_t>(xs.begin(), xs.end()); };
  std::vector<std::string> mixers, pos;
  for (int s = 0; s < v.num_stages(); ++s) {
    mixers.push_back(v.attention[size_t(s)] ? "attention" : "repmixer");
    pos.push_back(v.rep_cpe[size_t(s)] ? "RepCPE7x7" : "");
  }
  w.set("fastvlm.vision.image_size", GgufValue::u32(uint32_t(v.image_size)));
  w.set("fastvlm.vision.layers", GgufValue::ints(GgufType::kI32, ints(v.layers)));
  w.set("fastvlm.vision.embed_dims", GgufValue::ints(GgufType::kI32, ints(v.embed_dims)));
  w.set("fastvlm.vision.mlp_ratios",
        GgufValue::floats(GgufType::kF32, {v.mlp_ratios.begin(), v.mlp_ratios.end()}));
  w.set("fastvlm.vision.downsamples", GgufValue::ints(GgufType::kBool, ints(v.downsamples)));
  w.set("fastvlm.vision.token_mixers", GgufValue::strings(mixers));
  w.set("fastvlm.vision.pos_embs", GgufValue::strings(pos));
  w.set("fastvlm.vision.attention_head_dim", GgufValue::u32(uint32_t(v.attention_head_dim)));
  w.set("fastvlm.vision.repmixer_kernel_size", GgufValue::u32(uint32_t(v.repmixer_kernel_size)));
  w.set("fastvlm.vision.down_patch_size", GgufValue::u32(uint32_t(v.down_patch_size)));
  w.set("fastvlm.vision.down_stride", GgufValue::u32(uint32_t(v.down_stride)));
  w.set("fastvlm.vision.cpe_kernel_size", GgufValue::u32(uint32_t(v.cpe_kernel_size)));
  w.set("fastvlm.vision.cls_ratio", GgufValue::f32(v.cls_ratio));
  w.set("fastvlm.vision.layernorm_eps", GgufValue::f32(v.layernorm_eps));
  w.set("fastvlm.vision.batchnorm_eps", GgufValue::f32(v.batchnorm_eps));
  w.set("fastvlm.vision.output_stride", GgufValue::u32(uint32_t(v.output_stride)));
  w.set("fastvlm.vision.batchnorm_folded", GgufValue::boolean(true));
  w.set("fastvlm.projector.type", GgufValue::string(c.mm_projector_type));
  w.set("fastvlm.projector.depth", GgufValue::u32(uint32_t(c.projector_depth)));
  w.set("fastvlm.mm_hidden_size", GgufValue::u32(uint32_t(c.mm_hidden_size)));
  w.set("fastvlm.llm.hidden_size", GgufValue::u32(uint32_t(c.llm.hidden_size)));
  w.set("fastvlm.image_token_index", GgufValue::u32(uint32_t(c.image_token_index)));
  w.set("fastvlm.image_aspect_ratio", GgufValue::string(c.image_aspect_ratio));
  w.set("fastvlm.config_json", GgufValue::string(c.raw.dump()));
  const fs::path pre = fs::path(src.dir) / "preprocessor_config.json";
  if (fs::exists(pre)) w.set("fastvlm.preprocessor_json", GgufValue::string(read_text(pre)));
}

}  // namespace

int write_vision_gguf(const ModelSource& src, DType type, const SourcePages& pages, StagedFile& out) {
  GgufWriter w;
  add_vision_metadata(w, src, type);
  std::vector<TensorSpec> table = vision_tensor_table(src.config);
  for (TensorSpec& s : projector_tensor_table(src.config)) table.push_back(std::move(s));
  const float eps = src.config.vision.batchnorm_eps;
  std::map<std::string, enc::BatchNormFold> fold_of_conv;  // each ConvFFN dw conv -> its BatchNorm
  std::set<std::string> folded_in;                         // the BatchNorm tensors: written inside their conv
  for (enc::BatchNormFold& f : enc::fastvithd_batchnorm_folds(src.config.vision)) {
    folded_in.insert({f.gamma, f.beta, f.mean, f.var});
    fold_of_conv.emplace(f.conv_weight, std::move(f));
  }
  int count = 0;
  for (const TensorSpec& spec : table) {
    auto it = src.tensors.find(spec.name);
    if (spec.presence == Presence::kIgnored || it == src.tensors.end() || folded_in.count(spec.name))
      continue;
    const DType dt = convert_storage_dtype(spec, type, false);
    const std::string name = gguf_vision_tensor_name(spec.name);
    if (auto f = fold_of_conv.find(spec.name); f != fold_of_conv.end()) {
      const TensorMap* tensors = &src.tensors;
      const enc::BatchNormFold fold = f->second;
      w.add_tensor(name, dt, spec.shape,
                   [=] { return quant::quantize(fold_batchnorm(*tensors, fold, eps).first, dt); });
      w.add_tensor(gguf_vision_tensor_name(fold.folded_bias), DType::F32, {spec.shape[0]},
                   [=] { return fold_batchnorm(*tensors, fold, eps).second; });
      count += 2;
      continue;
    }
    w.add_tensor_rows(name, dt, spec.shape, convert_rows(it->second, dt, pages));
    ++count;
  }
  w.write(out);
  return count;
}

}  // namespace fvlm
