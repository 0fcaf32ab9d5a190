// models/tensor_table: the table derived from config.json accepts exactly the real checkpoints.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "core/safetensors.h"
#include "decoder/qwen2_weights.h"
#include "encoder/fastvithd_weights.h"
#include "models/random_weights.h"
#include "models/tensor_table.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {
// A TensorMap of zero-byte-backed views with the given shapes (validation looks only at names,
// shapes and dtypes).
TensorMap fake_map(const std::map<std::string, std::pair<Shape, DType>>& shapes) {
  static const std::vector<uint8_t> nothing(1);
  TensorMap m;
  for (const auto& [name, sd] : shapes)
    m.emplace(name, Tensor::view(sd.second, sd.first, nothing.data(), nullptr));
  return m;
}
std::map<std::string, std::pair<Shape, DType>> shapes_of(const std::vector<TensorSpec>& t) {
  std::map<std::string, std::pair<Shape, DType>> m;
  for (const auto& s : t) m[s.name] = {s.shape, DType::BF16};
  return m;
}
}  // namespace

TEST_CASE("tensor table: accepts exactly the tensors of the real FastVLM-0.5B release") {
  std::ifstream f(test::golden("shapes-fastvlm-0.5b.json"));
  const nlohmann::json inv = nlohmann::json::parse(f);
  std::map<std::string, std::pair<Shape, DType>> real;
  for (const auto& t : inv["tensors"])
    real[t["name"]] = {t["shape"].get<Shape>(), t["dtype"] == "int64" ? DType::I64 : DType::BF16};
  const ModelConfig c = released_config(ReleasedModel::k0_5B);
  const auto table = model_tensor_table(c);
  // Every tensor of the inventory (lm_head included, as the release stores it) validates.
  CHECK(find_tensor_problems(table, fake_map(real)).empty());
  // And the table has no tensor the inventory lacks.
  std::set<std::string> table_names;
  for (const auto& s : table) table_names.insert(s.name);
  CHECK(table_names.size() == real.size());
  // lm_head is optional when tied; head.proj and num_batches_tracked are ignored but accepted.
  real.erase("lm_head.weight");
  real.erase("model.vision_tower.vision_tower.model.head.proj");
  CHECK(find_tensor_problems(table, fake_map(real)).empty());
}

TEST_CASE("tensor table: every problem is reported at once") {
  const ModelConfig c = released_config(ReleasedModel::k0_5B);
  const auto table = model_tensor_table(c);
  auto shapes = shapes_of(table);
  shapes.erase("model.layers.3.mlp.up_proj.weight");
  shapes.erase("model.norm.weight");
  shapes["model.layers.0.self_attn.q_proj.weight"].first = {896, 1024};
  shapes["model.extra.weight"] = {{4}, DType::BF16};
  const auto problems = find_tensor_problems(table, fake_map(shapes));
  CHECK(problems.size() == 4);
  try {
    validate_tensors(table, fake_map(shapes));
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kBadModel);
    CHECK(e.detail()["problems"].size() == 4);
    CHECK(std::string(e.what()).find("shape [896, 1024], expected [896, 896]") != std::string::npos);
  }
}

TEST_CASE("tensor table: 1.5B and 7B shapes derive from their configs") {
  const auto t15 = model_tensor_table(released_config(ReleasedModel::k1_5B));
  const auto t7 = model_tensor_table(released_config(ReleasedModel::k7B));
  auto find = [](const std::vector<TensorSpec>& t, const std::string& n) {
    for (const auto& s : t)
      if (s.name == n) return s;
    FAIL("no tensor " << n);
    return TensorSpec{};
  };
  CHECK(find(t15, "model.layers.27.self_attn.k_proj.weight").shape == Shape{256, 1536});
  CHECK(find(t15, "model.layers.27.mlp.down_proj.weight").shape == Shape{1536, 8960});
  CHECK(find(t15, "model.mm_projector.0.weight").shape == Shape{1536, 3072});
  CHECK(find(t7, "model.layers.0.self_attn.k_proj.weight").shape == Shape{512, 3584});
  CHECK(find(t7, "model.embed_tokens.weight").shape == Shape{152064, 3584});
  CHECK(find(t7, "lm_head.weight").presence == Presence::kRequired);  // untied
  CHECK(find(t15, "lm_head.weight").presence == Presence::kOptional);
}

TEST_CASE("tensor table: the golden tiny checkpoint validates") {
  const ModelConfig c = load_model_config(test::golden("tiny/model/config.json"));
  const TensorMap m = read_safetensors_dir(test::golden("tiny/model"));
  CHECK(find_tensor_problems(model_tensor_table(c), m).empty());
}

TEST_CASE("random weights: deterministic, complete, and a safetensors round trip") {
  const ModelConfig c = load_model_config(test::golden("tiny/model/config.json"));
  const auto table = model_tensor_table(c);
  const TensorMap a = random_weights(table, 7), b = random_weights(table, 7);
  CHECK(find_tensor_problems(table, a).empty());
  const Tensor& qa = a.at("model.layers.1.self_attn.q_proj.weight");
  CHECK(std::memcmp(qa.data(), b.at("model.layers.1.self_attn.q_proj.weight").data(), qa.nbytes()) == 0);
  const std::string path = test::temp_path("random.safetensors");
  write_safetensors(path, a);
  TensorMap r;
  read_safetensors(path, r);
  CHECK(r.size() == a.size());
  CHECK(std::memcmp(r.at("model.norm.weight").data(), a.at("model.norm.weight").data(),
                    a.at("model.norm.weight").nbytes()) == 0);
  std::filesystem::remove(path);
}

namespace {

// The shapes of the FastVLM-0.5B release, by name.
std::map<std::string, Shape> release_shapes() {
  std::ifstream f(test::golden("shapes-fastvlm-0.5b.json"));
  std::map<std::string, Shape> out;
  const nlohmann::json inventory = nlohmann::json::parse(f);
  for (const auto& t : inventory["tensors"]) out[t["name"].get<std::string>()] = t["shape"].get<Shape>();
  return out;
}

// The matrices of bound FastViTHD weights in checkpoint order, read off the structs (not the table).
std::vector<const enc::ConvW*> matrices_in_order(const enc::FastVitHdWeights& w) {
  std::vector<const enc::ConvW*> out{&w.stem[0], &w.stem[1], &w.stem[2]};
  for (const enc::StageW& s : w.network) {
    if (s.kind == enc::StageW::Kind::kRepCpe) out.push_back(&s.cpe);
    if (s.kind == enc::StageW::Kind::kPatchEmbed) out.insert(out.end(), {&s.down.lk, &s.down.pw});
    for (const enc::AttentionBlockW& a : s.attention)
      out.insert(out.end(), {&a.qkv, &a.proj, &a.ffn.dw7x7, &a.ffn.fc1, &a.ffn.fc2});
    for (const enc::RepMixerBlockW& r : s.repmixer)
      out.insert(out.end(), {&r.mixer, &r.ffn.dw7x7, &r.ffn.fc1, &r.ffn.fc2});
  }
  out.insert(out.end(), {&w.conv_exp.conv, &w.conv_exp.se_reduce, &w.conv_exp.se_expand});
  return out;
}

// Binds the vision half of `tensors` (deferred, as the backend does) and checks that each matrix
// the table names is the checkpoint tensor of that name, each with its bias, and that the folds
// consumed the BatchNorm statistics and layer scales.
void check_vision_binding(const ModelConfig& c, const TensorMap& tensors) {
  std::vector<std::string> names;  // the table's matrices, in walk order
  enc::FastVitHdWeights layout;
  enc::for_each_fastvithd_tensor(c.vision, layout, [&](const TensorSpec& s, const enc::VisionField& f) {
    if (f.matrix) names.push_back(s.name);
  });
  const enc::FastVitHdWeights w = enc::bind_fastvithd(c.vision, tensors, enc::Binding::kDeferred);
  const std::vector<const enc::ConvW*> bound = matrices_in_order(w);
  REQUIRE(bound.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    const Tensor& t = tensors.at(names[i]);
    CHECK(bound[i]->id == t.data());
    CHECK(bound[i]->w.shape() == t.shape());
    if (names[i].ends_with("token_mixer.qkv.weight"))
      CHECK(bound[i]->b.empty());  // qkv has no bias
    else
      CHECK(bound[i]->b.numel() == t.dim(0));
  }
  for (const enc::StageW& s : w.network) {
    for (const enc::AttentionBlockW& a : s.attention) {
      CHECK((a.layer_scale_1.empty() && a.layer_scale_2.empty() && a.ffn.bn_gamma.empty()));
    }
    for (const enc::RepMixerBlockW& r : s.repmixer) CHECK((r.layer_scale.empty() && r.ffn.bn_var.empty()));
  }
  const enc::ProjectorW p = enc::bind_projector(vision_config(c).projector, tensors);
  REQUIRE(p.linears.size() == size_t(c.projector_depth));
  for (size_t i = 0; i < p.linears.size(); ++i) {
    const Tensor& t = tensors.at(std::string(enc::kProjectorPrefix) + std::to_string(2 * i) + ".weight");
    CHECK(p.linears[i].id == t.data());
    CHECK(p.linears[i].w.shape() == t.shape());
  }
}

}  // namespace

// One walk per weights struct is the whole table: each name comes once, each with a field of its own
// (a name spelled twice, or two names for one field, would show here), and at 0.5B shapes the walks
// give exactly the release's names and shapes.
TEST_CASE("tensor tables: one field per entry, and the release's names and shapes at 0.5B") {
  const ModelConfig c = released_config(ReleasedModel::k0_5B);
  std::map<std::string, Shape> walked;
  std::set<const void*> fields;
  auto record = [&](const TensorSpec& s, const void* field) {
    CAPTURE(s.name);
    CHECK(walked.emplace(s.name, s.shape).second);
    if (s.presence == Presence::kIgnored) {
      CHECK(field == nullptr);
      return;
    }
    REQUIRE(field != nullptr);
    CHECK(fields.insert(field).second);
  };
  auto vision = [&](const TensorSpec& s, const enc::VisionField& f) {
    record(s, f.matrix ? static_cast<const void*>(f.matrix) : f.f32);
  };
  enc::FastVitHdWeights fw;
  enc::ProjectorW pw;
  dec::Qwen2Weights qw;
  enc::for_each_fastvithd_tensor(c.vision, fw, vision);
  enc::for_each_projector_tensor(vision_config(c).projector, pw, vision);
  dec::for_each_qwen2_tensor(c.llm, &qw, [&](const TensorSpec& s, Tensor* f) { record(s, f); });
  const std::map<std::string, Shape> release = release_shapes();
  for (const auto& [name, shape] : walked) {
    CAPTURE(name);
    CHECK((release.count(name) && release.at(name) == shape));
  }
  CHECK(walked.size() == release.size());
  CHECK(walked.size() == model_tensor_table(c).size());
}

TEST_CASE("tensor tables: every vision entry binds to its field on the golden tiny checkpoint") {
  const ModelConfig c = load_model_config(test::golden("tiny/model/config.json"));
  check_vision_binding(c, read_safetensors_dir(test::golden("tiny/model")));
  const dec::Qwen2Weights q = dec::bind_qwen2(c.llm, read_safetensors_dir(test::golden("tiny/model")));
  CHECK(q.layers.size() == size_t(c.llm.num_hidden_layers));
}

// make_random_model's generator at the release's shapes (the vision half: ~125M weights in BF16).
TEST_CASE("tensor tables: every vision entry binds to its field on random weights at 0.5B shapes") {
  const ModelConfig c = released_config(ReleasedModel::k0_5B);
  std::vector<TensorSpec> table = vision_tensor_table(c);
  for (TensorSpec& s : projector_tensor_table(c)) table.push_back(std::move(s));
  const TensorMap m = random_weights(table, 5);
  const std::map<std::string, Shape> release = release_shapes();
  for (const TensorSpec& s : table)
    if (s.presence != Presence::kIgnored) {
      CAPTURE(s.name);
      REQUIRE(m.count(s.name));
      CHECK(release.at(s.name) == m.at(s.name).shape());
    }
  check_vision_binding(c, m);
}
