#include "models/config.h"

#include <climits>
#include <cmath>
#include <fstream>
#include <optional>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "decoder/tokenizer_files.h"

namespace fvlm {
namespace {

using nlohmann::json;

// ---- The bounds --------------------------------------------------------------------------------
// Generous for every released FastVLM (0.5B / 1.5B / 7B: hidden 896..3584, 24..28 layers,
// intermediate 4864..18944, vocab 151936..152064, image 1024) and for reduced test models (hidden
// 64, 2 layers), yet small enough that nothing built from them before the tensors are checked
// (tensor tables, encoder plans at image_size, RoPE tables) can exhaust memory. image_size has the
// same cap as --resolution. One row per config.json key; the relations are in check_relations().
template <class S>
struct IntBound {
  const char* key;
  int S::*field;
  int64_t lo, hi;
  bool required;  // false: absent or null keeps the struct's default
};
template <class S>
struct FloatBound {
  const char* key;
  float S::*field;
  double lo, hi;
};

constexpr int64_t kMaxId = INT32_MAX;
constexpr IntBound<Qwen2Config> kQwen2Bounds[] = {
    {"hidden_size", &Qwen2Config::hidden_size, 1, 16384, true},
    {"num_hidden_layers", &Qwen2Config::num_hidden_layers, 1, 256, true},
    {"num_attention_heads", &Qwen2Config::num_attention_heads, 1, 1024, true},
    {"num_key_value_heads", &Qwen2Config::num_key_value_heads, 1, 1024, false},  // default: heads
    {"intermediate_size", &Qwen2Config::intermediate_size, 1, 262144, true},
    {"vocab_size", &Qwen2Config::vocab_size, 1, kMaxTokenIds, true},
    {"max_position_embeddings", &Qwen2Config::max_position_embeddings, 1, 1 << 22, false},
    {"bos_token_id", &Qwen2Config::bos_token_id, 0, kMaxId, false},
    {"eos_token_id", &Qwen2Config::eos_token_id, 0, kMaxId, false},
};
constexpr FloatBound<Qwen2Config> kQwen2FloatBounds[] = {
    {"rms_norm_eps", &Qwen2Config::rms_norm_eps, 1e-12, 0.1},
    {"rope_theta", &Qwen2Config::rope_theta, 1.0, 1e12},
};
constexpr IntBound<ModelConfig> kModelBounds[] = {
    {"mm_hidden_size", &ModelConfig::mm_hidden_size, 1, 65536, true},
    {"image_token_index", &ModelConfig::image_token_index, 0, kMaxId, false},
    {"tokenizer_model_max_length", &ModelConfig::tokenizer_model_max_length, 1, 1 << 22, false},
};
// Under "fastvithd_config"; absent keys keep the released FastViTHD's values (mci.py fastvithd()).
constexpr IntBound<FastVitHdConfig> kFastVitHdBounds[] = {
    {"image_size", &FastVitHdConfig::image_size, 64, 4096, false},
    {"attention_head_dim", &FastVitHdConfig::attention_head_dim, 1, 1024, false},
    {"repmixer_kernel_size", &FastVitHdConfig::repmixer_kernel_size, 1, 31, false},
    {"down_patch_size", &FastVitHdConfig::down_patch_size, 1, 31, false},
    {"down_stride", &FastVitHdConfig::down_stride, 1, 8, false},
    {"projection_dim", &FastVitHdConfig::projection_dim, 1, 65536, false},
    {"output_stride", &FastVitHdConfig::output_stride, 1, 4096, false},
};
constexpr FloatBound<FastVitHdConfig> kFastVitHdFloatBounds[] = {
    {"cls_ratio", &FastVitHdConfig::cls_ratio, 1.0, 16.0},
    {"batchnorm_eps", &FastVitHdConfig::batchnorm_eps, 1e-12, 0.1},
};
constexpr int64_t kMaxStages = 8, kMaxStageLayers = 64, kMaxEmbedDim = 8192, kMaxPinpointSide = 8192;
constexpr double kMinMlpRatio = 0.25, kMaxMlpRatio = 16.0;
constexpr int kMaxProjectorDepth = 16;
constexpr int kStemStride = 4;      // patch_embed: two 3x3 stride-2 convs
constexpr int kImageMultiple = 64;  // image preprocessing works in multiples of 64 (core/image_prep.h)

// ---- Reading with bounds -----------------------------------------------------------------------

std::string shown(const json& v) {  // a value as written, cut short (a hostile value can be huge)
  std::string s = v.dump();
  return s.size() > 48 ? s.substr(0, 45) + "..." : s;
}

std::optional<int64_t> exact_int(const json& v) {  // integers only: 1e9 or 64.0 are floats in JSON
  if (v.is_number_unsigned()) return v.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

std::string int_range(int64_t lo, int64_t hi) { return fmt::format("an integer in [{}, {}]", lo, hi); }
std::string float_range(double lo, double hi) {
  return fmt::format("a finite number in [{:g}, {:g}]", lo, hi);
}

// Collects problems instead of throwing, so one run names all of them. A failed key keeps its default.
struct Reader {
  std::vector<ConfigProblem> problems;
  std::set<std::string> failed;
  int checks = 0;

  void fail(const std::string& key, std::string value, std::string expected) {
    failed.insert(key);
    problems.push_back({key, std::move(value), std::move(expected)});
  }
  // True when none of `keys` failed: relations are only checked between valid values.
  bool ok(std::initializer_list<std::string> keys) const {
    for (const auto& k : keys)
      if (failed.count(k)) return false;
    return true;
  }
  // Relation check: records `expected` against `key` when !holds.
  void require(bool holds, const std::string& key, const std::string& value, const std::string& expected) {
    ++checks;
    if (!holds) fail(key, value, expected);
  }
  // The value at key, or nullptr when absent/null (then `required` makes it a problem).
  const json* find(const json& j, const std::string& prefix, const char* key, bool required,
                   const std::string& expected) {
    ++checks;
    auto it = j.find(key);
    if (it != j.end() && !it->is_null()) return &*it;
    if (required) fail(prefix + key, "missing", expected);
    return nullptr;
  }
  void read_int(const json& j, const std::string& prefix, const char* key, int64_t lo, int64_t hi,
                bool required, int& out) {
    const std::string expected = int_range(lo, hi);
    const json* v = find(j, prefix, key, required, expected);
    if (!v) return;
    const std::optional<int64_t> x = exact_int(*v);
    if (!x || *x < lo || *x > hi) return fail(prefix + key, shown(*v), expected);
    out = int(*x);
  }
  void read_float(const json& j, const std::string& prefix, const char* key, double lo, double hi,
                  float& out) {
    const std::string expected = float_range(lo, hi);
    const json* v = find(j, prefix, key, false, expected);
    if (!v) return;
    const float x = v->is_number() ? float(v->get<double>()) : NAN;  // stored as float: check what is kept
    if (!(std::isfinite(x) && x >= lo && x <= hi)) return fail(prefix + key, shown(*v), expected);
    out = x;
  }
  void read_bool(const json& j, const std::string& prefix, const char* key, bool& out) {
    const json* v = find(j, prefix, key, false, "true or false");
    if (v && !v->is_boolean()) return fail(prefix + key, shown(*v), "true or false");
    if (v) out = v->get<bool>();
  }
  void read_string(const json& j, const std::string& prefix, const char* key, bool required,
                   std::string& out) {
    const json* v = find(j, prefix, key, required, "a string");
    if (v && !v->is_string()) return fail(prefix + key, shown(*v), "a string");
    if (v) out = v->get<std::string>();
  }
  // A list; each element converted by `elem` (nullopt: the element is out of bounds).
  template <class T, class F>
  void read_list(const json& j, const std::string& prefix, const char* key, bool required,
                 const std::string& elem_expected, F elem, std::vector<T>& out) {
    const json* v = find(j, prefix, key, required, fmt::format("a list of {}", elem_expected));
    if (!v) return;
    if (!v->is_array() || v->empty() || v->size() > size_t(kMaxStages))
      return fail(prefix + key, shown(*v),
                  fmt::format("a list of 1 to {} entries of {}", kMaxStages, elem_expected));
    std::vector<T> xs;
    for (size_t i = 0; i < v->size(); ++i) {
      std::optional<T> x = elem((*v)[i]);
      if (!x) {
        failed.insert(prefix + key);  // relations over the whole list are skipped too
        return fail(fmt::format("{}{}[{}]", prefix, key, i), shown((*v)[i]), elem_expected);
      }
      xs.push_back(*x);
    }
    out = std::move(xs);
  }
  template <class S, size_t N>
  void read_table(const json& j, const std::string& prefix, const IntBound<S> (&table)[N], S& s) {
    for (const auto& b : table) read_int(j, prefix, b.key, b.lo, b.hi, b.required, s.*b.field);
  }
  template <class S, size_t N>
  void read_table(const json& j, const std::string& prefix, const FloatBound<S> (&table)[N], S& s) {
    for (const auto& b : table) read_float(j, prefix, b.key, b.lo, b.hi, s.*b.field);
  }
};

auto int_in(int64_t lo, int64_t hi) {
  return [lo, hi](const json& v) -> std::optional<int> {
    const auto x = exact_int(v);
    return x && *x >= lo && *x <= hi ? std::optional<int>(int(*x)) : std::nullopt;
  };
}

// ---- FastViTHD -----------------------------------------------------------------------------------

constexpr char kFastVitHd[] = "fastvithd_config.";

// mobileclip_<name>_<image_size>: the trailing number is the input size (mobileclip_encoder.py).
int tower_image_size(Reader& r, const std::string& tower) {
  static const std::regex tower_re(R"(^mobileclip_([A-Za-z0-9]+)_(\d+)$)");
  std::smatch m;
  if (!std::regex_match(tower, m, tower_re))
    throw Error(Errc::kUnsupported, fmt::format("config.json: vision tower '{}' is not a FastViTHD "
                                                "(mobileclip_<name>_<size>)",
                                                tower));
  const std::string digits = m[2];
  if (digits.size() > 4 || std::stoi(digits) < 64 || std::stoi(digits) > 4096) {
    r.fail("mm_vision_tower", json(tower).dump(), "mobileclip_<name>_<size> with <size> in [64, 4096]");
    return 1024;
  }
  return std::stoi(digits);
}

void read_fastvithd(Reader& r, const json& j, FastVitHdConfig& v) {
  const auto fit = j.find("fastvithd_config");
  if (fit == j.end() || fit->is_null()) return;  // the released FastViTHD
  if (!fit->is_object()) return r.fail("fastvithd_config", shown(*fit), "an object");
  const json& f = *fit;
  const std::string p = kFastVitHd;
  r.read_table(f, p, kFastVitHdBounds, v);
  r.read_table(f, p, kFastVitHdFloatBounds, v);
  r.read_list(f, p, "layers", true, int_range(1, kMaxStageLayers), int_in(1, kMaxStageLayers), v.layers);
  r.read_list(f, p, "embed_dims", true, int_range(1, kMaxEmbedDim), int_in(1, kMaxEmbedDim), v.embed_dims);
  const size_t n = v.layers.size();  // absent optional lists: the default for every stage
  v.mlp_ratios.assign(n, 4.0f);
  v.downsamples.assign(n, true);
  r.read_list(
      f, p, "mlp_ratios", false, float_range(kMinMlpRatio, kMaxMlpRatio),
      [](const json& x) -> std::optional<float> {
        const float y = x.is_number() ? float(x.get<double>()) : NAN;
        return std::isfinite(y) && y >= kMinMlpRatio && y <= kMaxMlpRatio ? std::optional(y) : std::nullopt;
      },
      v.mlp_ratios);
  r.read_list(
      f, p, "downsamples", false, "true or false",
      [](const json& x) { return x.is_boolean() ? std::optional<bool>(x.get<bool>()) : std::nullopt; },
      v.downsamples);
  if (f.contains("token_mixers"))
    r.read_list(
        f, p, "token_mixers", false, R"("repmixer" or "attention")",
        [](const json& x) -> std::optional<bool> {
          if (x == "attention") return true;
          if (x == "repmixer") return false;
          return std::nullopt;
        },
        v.attention);
  if (f.contains("pos_embs"))  // mci.py: partial(RepCPE, spatial_shape=(7, 7)) or None
    r.read_list(
        f, p, "pos_embs", false, R"(null or "RepCPE7x7")",
        [](const json& x) -> std::optional<bool> {
          if (x.is_null()) return false;
          if (x == "RepCPE7x7") return true;
          return std::nullopt;
        },
        v.rep_cpe);
}

void check_fastvithd(Reader& r, const FastVitHdConfig& v) {
  const std::string p = kFastVitHd;
  const size_t n = v.layers.size();
  bool lists_ok = r.ok({p + "layers"});
  const std::pair<const char*, size_t> lists[] = {{"embed_dims", v.embed_dims.size()},
                                                  {"mlp_ratios", v.mlp_ratios.size()},
                                                  {"downsamples", v.downsamples.size()},
                                                  {"token_mixers", v.attention.size()},
                                                  {"pos_embs", v.rep_cpe.size()}};
  for (const auto& [key, size] : lists) {
    if (!r.ok({p + key}) || !r.ok({p + "layers"})) {
      lists_ok = false;
      continue;
    }
    r.require(size == n, p + key, fmt::format("a list of {} entries", size),
              fmt::format("one entry per stage: {}, as many as 'layers'", n));
    lists_ok = lists_ok && size == n;
  }
  if (lists_ok && r.ok({p + "attention_head_dim"}))
    for (size_t i = 0; i < n; ++i)
      if (v.attention[i])
        r.require(
            v.embed_dims[i] % v.attention_head_dim == 0, fmt::format("{}embed_dims[{}]", p, i),
            std::to_string(v.embed_dims[i]),
            fmt::format("a multiple of attention_head_dim ({}) in an attention stage", v.attention_head_dim));
  if (lists_ok)
    for (size_t i = 0; i < n; ++i)
      r.require(int64_t(v.embed_dims[i] * v.mlp_ratios[i]) >= 1, fmt::format("{}mlp_ratios[{}]", p, i),
                fmt::format("{:g}", v.mlp_ratios[i]),
                fmt::format("a ratio giving embed_dims[{}] * ratio >= 1 ConvFFN channels", i));
  // A PatchEmbed (mci.py: downsamples[i] or a width change) is a grouped conv with groups = its
  // input width: its output width must be a multiple of it. Each one strides by down_stride.
  int patch_embeds = 0;
  if (lists_ok)
    for (size_t i = 0; i + 1 < n; ++i) {
      if (!v.downsamples[i] && v.embed_dims[i] == v.embed_dims[i + 1]) continue;
      ++patch_embeds;
      r.require(v.embed_dims[i + 1] % v.embed_dims[i] == 0, fmt::format("{}embed_dims[{}]", p, i + 1),
                std::to_string(v.embed_dims[i + 1]),
                fmt::format("a multiple of embed_dims[{}] ({}): the patch embedding is a grouped conv", i,
                            v.embed_dims[i]));
    }
  // "Same" padding (k / 2) keeps sizes exact only for odd kernels.
  for (const auto& [key, k] :
       {std::pair{"repmixer_kernel_size", v.repmixer_kernel_size}, {"down_patch_size", v.down_patch_size}})
    if (r.ok({p + key})) r.require(k % 2 == 1, p + key, std::to_string(k), "an odd kernel size");
  if (lists_ok && r.ok({p + "down_stride", p + "output_stride"})) {
    int64_t stride = kStemStride;
    for (int i = 0; i < patch_embeds; ++i) stride *= v.down_stride;
    r.require(stride == v.output_stride, p + "output_stride", std::to_string(v.output_stride),
              fmt::format("{} = {} (stem) x down_stride {} ^ {} patch embeddings", stride, kStemStride,
                          v.down_stride, patch_embeds));
  }
  if (r.ok({p + "image_size", "mm_vision_tower", p + "output_stride"}))
    r.require(v.image_size % v.output_stride == 0 && v.image_size % kImageMultiple == 0, p + "image_size",
              std::to_string(v.image_size),
              fmt::format("a multiple of output_stride ({}) and of {}", v.output_stride, kImageMultiple));
  if (lists_ok && r.ok({p + "cls_ratio"})) {  // conv_exp: groups = last width, SE reduces by 16
    const int64_t last = v.embed_dims.back(), exp = v.conv_exp_dim();
    r.require(exp % last == 0 && exp >= 16, p + "cls_ratio", fmt::format("{:g}", v.cls_ratio),
              fmt::format("a whole number making embed_dims[-1] ({}) x cls_ratio a multiple of it and >= 16",
                          last));
  }
}

// ---- Qwen2 ------------------------------------------------------------------------------------------

void check_qwen2(Reader& r, const Qwen2Config& l) {
  if (r.ok({"hidden_size", "num_attention_heads"})) {
    r.require(l.hidden_size % l.num_attention_heads == 0, "hidden_size", std::to_string(l.hidden_size),
              fmt::format("a multiple of num_attention_heads ({})", l.num_attention_heads));
    if (r.ok({"hidden_size"}))  // RoPE rotates pairs of a head's dimensions
      r.require(
          l.head_dim() % 2 == 0, "hidden_size", std::to_string(l.hidden_size),
          fmt::format("an even head_dim = hidden_size / num_attention_heads ({})", l.num_attention_heads));
  }
  if (r.ok({"num_key_value_heads", "num_attention_heads"}))
    r.require(
        l.num_key_value_heads <= l.num_attention_heads && l.num_attention_heads % l.num_key_value_heads == 0,
        "num_key_value_heads", std::to_string(l.num_key_value_heads),
        fmt::format("a divisor of num_attention_heads ({})", l.num_attention_heads));
  for (const auto& [key, id] : {std::pair{"bos_token_id", l.bos_token_id}, {"eos_token_id", l.eos_token_id}})
    if (r.ok({key, "vocab_size"}))
      r.require(id < l.vocab_size, key, std::to_string(id),
                fmt::format("an id below vocab_size ({})", l.vocab_size));
}

void read_projector(Reader& r, const json& j, ModelConfig& c) {
  c.mm_projector_type = "linear";
  r.read_string(j, "", "mm_projector_type", false, c.mm_projector_type);
  static const std::regex mlp_re(R"(^mlp(\d+)x_gelu$)");
  std::smatch m;
  if (std::regex_match(c.mm_projector_type, m, mlp_re)) {
    const std::string digits = m[1];
    c.projector_depth = digits.size() <= 2 ? std::stoi(digits) : 0;
    if (c.projector_depth < 1 || c.projector_depth > kMaxProjectorDepth) {
      r.fail("mm_projector_type", json(c.mm_projector_type).dump(),
             fmt::format("\"linear\" or \"mlp<N>x_gelu\" with N in [1, {}]", kMaxProjectorDepth));
      c.projector_depth = 1;
    }
  } else if (c.mm_projector_type == "linear") {
    c.projector_depth = 1;
  } else {
    throw Error(Errc::kUnsupported, fmt::format("config.json: mm_projector_type '{}'", c.mm_projector_type));
  }
}

void read_pinpoints(Reader& r, const json& j, ModelConfig& c) {
  const auto it = j.find("image_grid_pinpoints");
  if (it == j.end() || it->is_null()) return;
  const std::string expected = fmt::format("a list of [w, h] pairs of integers in [1, {}]", kMaxPinpointSide);
  if (!it->is_array() || it->size() > 64) return r.fail("image_grid_pinpoints", shown(*it), expected);
  for (const json& p : *it) {
    const auto w = p.is_array() && p.size() == 2 ? int_in(1, kMaxPinpointSide)(p[0]) : std::nullopt;
    const auto h = p.is_array() && p.size() == 2 ? int_in(1, kMaxPinpointSide)(p[1]) : std::nullopt;
    if (!w || !h) return r.fail("image_grid_pinpoints", shown(p), expected);
    c.image_grid_pinpoints.push_back({*w, *h});
  }
}

}  // namespace

std::string to_string(const ConfigProblem& p) {
  return fmt::format("'{}' is {}, expected {}", p.key, p.value, p.expected);
}

void throw_config_problems(const std::string& what, const std::vector<ConfigProblem>& problems) {
  if (problems.empty()) return;
  nlohmann::json detail = nlohmann::json::array();
  std::string first;
  for (size_t i = 0; i < problems.size(); ++i) {
    const ConfigProblem& p = problems[i];
    detail.push_back({{"key", p.key}, {"value", p.value}, {"expected", p.expected}});
    if (i < 3) first += (i ? "; " : "") + to_string(p);
  }
  throw Error(Errc::kBadModel,
              fmt::format("{}: {} problem(s): {}{}", what, problems.size(), first,
                          problems.size() > 3 ? "; ..." : ""),
              nlohmann::json{{"config_problems", detail}});
}

CheckedConfig check_model_config(const json& j) {
  if (!j.is_object()) throw Error(Errc::kBadModel, "config.json is not a JSON object");
  CheckedConfig out;
  ModelConfig& c = out.config;
  Reader r;
  c.raw = j;
  std::string model_type;
  r.read_string(j, "", "model_type", false, model_type);
  if (model_type != "llava_qwen2")
    throw Error(
        Errc::kUnsupported,
        fmt::format("config.json: model_type '{}' is not a FastVLM checkpoint (llava_qwen2)", model_type));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    throw Error(Errc::kUnsupported, "config.json: rope_scaling is not supported");
  // The decoder implements Qwen2 as FastVLM uses it: SiLU MLP, full attention in every layer.
  if (const auto it = j.find("hidden_act"); it != j.end() && !it->is_null() && *it != "silu")
    throw Error(Errc::kUnsupported,
                fmt::format("config.json: hidden_act {} is not supported (silu)", shown(*it)));
  if (const auto it = j.find("use_sliding_window"); it != j.end() && *it == true)
    throw Error(Errc::kUnsupported, "config.json: use_sliding_window true is not supported");
  std::string tower;
  r.read_string(j, "", "mm_vision_tower", true, tower);
  if (r.ok({"mm_vision_tower"})) c.vision.image_size = tower_image_size(r, tower);
  read_projector(r, j, c);
  r.read_string(j, "", "_name_or_path", false, c.name);

  Qwen2Config& l = c.llm;
  l.rope_theta = 10000.0f;  // transformers Qwen2Config default when the key is absent
  r.read_table(j, "", kQwen2Bounds, l);
  r.read_table(j, "", kQwen2FloatBounds, l);
  if (!j.contains("num_key_value_heads") || j["num_key_value_heads"].is_null())
    l.num_key_value_heads = l.num_attention_heads;
  r.read_bool(j, "", "tie_word_embeddings", l.tie_word_embeddings);
  r.read_table(j, "", kModelBounds, c);
  r.read_string(j, "", "image_aspect_ratio", false, c.image_aspect_ratio);
  read_pinpoints(r, j, c);
  read_fastvithd(r, j, c.vision);

  check_qwen2(r, l);
  check_fastvithd(r, c.vision);
  const std::string p = kFastVitHd;
  if (r.ok({"mm_hidden_size", p + "embed_dims", p + "cls_ratio"}) && !c.vision.embed_dims.empty())
    r.require(c.mm_hidden_size == c.vision.conv_exp_dim(), "mm_hidden_size", std::to_string(c.mm_hidden_size),
              fmt::format("{}, the vision tower's output channels (embed_dims[-1] x cls_ratio)",
                          c.vision.conv_exp_dim()));
  out.problems = std::move(r.problems);
  c.checks_passed = r.checks - int(out.problems.size());
  return out;
}

ModelConfig parse_model_config(const json& j) {
  CheckedConfig checked = check_model_config(j);
  throw_config_problems("config.json", checked.problems);
  return std::move(checked.config);
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(Errc::kNotFound, fmt::format("cannot open {}", path));
  nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(Errc::kBadModel, fmt::format("{}: not valid JSON", path));
  return parse_model_config(j);
}

ModelConfig released_config(ReleasedModel which) {
  nlohmann::json j = {{"model_type", "llava_qwen2"},
                      {"mm_vision_tower", "mobileclip_l_1024"},
                      {"mm_hidden_size", 3072},
                      {"mm_projector_type", "mlp2x_gelu"},
                      {"rms_norm_eps", 1e-6},
                      {"rope_theta", 1000000.0},
                      {"image_aspect_ratio", "pad"},
                      {"image_token_index", 151646},
                      {"bos_token_id", 151643},
                      {"eos_token_id", 151645},
                      {"max_position_embeddings", 32768},
                      {"tokenizer_model_max_length", 8192}};
  switch (which) {
    case ReleasedModel::k0_5B:
      j.update({{"_name_or_path", "FastVLM-0.5B"},
                {"hidden_size", 896},
                {"num_hidden_layers", 24},
                {"num_attention_heads", 14},
                {"num_key_value_heads", 2},
                {"intermediate_size", 4864},
                {"vocab_size", 151936},
                {"tie_word_embeddings", true}});
      break;
    case ReleasedModel::k1_5B:
      j.update({{"_name_or_path", "FastVLM-1.5B"},
                {"hidden_size", 1536},
                {"num_hidden_layers", 28},
                {"num_attention_heads", 12},
                {"num_key_value_heads", 2},
                {"intermediate_size", 8960},
                {"vocab_size", 151936},
                {"tie_word_embeddings", true}});
      break;
    case ReleasedModel::k7B:
      j.update({{"_name_or_path", "FastVLM-7B"},
                {"hidden_size", 3584},
                {"num_hidden_layers", 28},
                {"num_attention_heads", 28},
                {"num_key_value_heads", 4},
                {"intermediate_size", 18944},
                {"vocab_size", 152064},
                {"tie_word_embeddings", false}});
      break;
  }
  return parse_model_config(j);
}

VisionConfig vision_config(const ModelConfig& c) {
  return {c.vision, {c.mm_hidden_size, c.llm.hidden_size, c.projector_depth, c.mm_projector_type}};
}

}  // namespace fvlm
