// models/tensor_table: the table derived from config.json accepts exactly the real checkpoints.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "core/safetensors.h"
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
