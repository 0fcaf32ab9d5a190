// The config.json bounds (models/config.cpp) admit every real FastVLM shape and refuse the rest
// with one problem per key; the GGUF metadata check (models/gguf_keys.h) compares typed values.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/gguf.h"
#include "models/config.h"
#include "models/gguf_keys.h"
#include "tests/test_util.h"

namespace fvlm {
namespace {

using nlohmann::json;

// A config.json for a released size with the FastViTHD of the golden 0.5B inventory written out
// explicitly (fastvithd_config), as a converted or re-exported checkpoint would carry it.
json real_config(ReleasedModel m) {
  const json shapes = json::parse(std::ifstream(test::golden("shapes-fastvlm-0.5b.json")))["config"];
  json j = released_config(m).raw;
  const json& f = shapes["fastvithd"];
  j["fastvithd_config"] = {{"image_size", shapes["image_size"]},
                           {"layers", f["layers"]},
                           {"embed_dims", f["embed_dims"]},
                           {"mlp_ratios", f["mlp_ratios"]},
                           {"token_mixers", f["token_mixers"]},
                           {"pos_embs", f["pos_embs"]},
                           {"attention_head_dim", f["attention_head_dim"]},
                           {"cls_ratio", f["cls_ratio"]},
                           {"projection_dim", f["projection_dim"]},
                           {"down_patch_size", 7},
                           {"down_stride", 2},
                           {"repmixer_kernel_size", 3},
                           {"output_stride", 64},
                           {"batchnorm_eps", 1e-5},
                           {"downsamples", {true, true, true, true, true}}};
  j["mm_hidden_size"] = shapes["mm_hidden_size"];
  if (m == ReleasedModel::k0_5B)
    for (const char* k :
         {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
          "num_key_value_heads", "vocab_size", "rope_theta", "rms_norm_eps", "tie_word_embeddings"})
      j[k] = shapes[k];
  return j;
}

std::vector<std::string> problem_keys(const json& j) {
  std::vector<std::string> keys;
  for (const ConfigProblem& p : check_model_config(j).problems) keys.push_back(p.key);
  return keys;
}

}  // namespace

TEST_CASE("config bounds: the real 0.5B, 1.5B and 7B shapes pass, the golden tiny model too") {
  for (ReleasedModel m : {ReleasedModel::k0_5B, ReleasedModel::k1_5B, ReleasedModel::k7B}) {
    CAPTURE(int(m));
    const CheckedConfig c = check_model_config(real_config(m));
    for (const ConfigProblem& p : c.problems) MESSAGE(to_string(p));
    CHECK(c.problems.empty());
    CHECK(c.config.vision.tokens_for(c.config.vision.image_size) == 256);
    CHECK(c.config.mm_hidden_size == 3072);
    CHECK(c.config.checks_passed > 50);
    CHECK_NOTHROW(released_config(m));
  }
  const CheckedConfig c05 = check_model_config(real_config(ReleasedModel::k0_5B));
  CHECK(c05.config.llm.hidden_size == 896);
  CHECK(c05.config.llm.num_hidden_layers == 24);
  CHECK(check_model_config(real_config(ReleasedModel::k7B)).config.llm.hidden_size == 3584);
  CHECK(load_model_config(test::golden("tiny/model/config.json")).checks_passed > 50);
}

TEST_CASE("config bounds: generous at the edges (a 72B-sized LLM, 4096 px), refused one step past them") {
  json j = real_config(ReleasedModel::k7B);
  j.update({{"hidden_size", 8192},
            {"num_hidden_layers", 80},
            {"num_attention_heads", 64},
            {"num_key_value_heads", 8},
            {"intermediate_size", 29568},
            {"max_position_embeddings", 131072}});
  j["fastvithd_config"]["image_size"] = 4096;
  CHECK(problem_keys(j).empty());
  j["fastvithd_config"]["image_size"] = 4096 + 64;
  j["num_hidden_layers"] = 257;
  CHECK(problem_keys(j) == std::vector<std::string>{"num_hidden_layers", "fastvithd_config.image_size"});
}

TEST_CASE("config bounds: all problems at once, relations only between valid values") {
  json j = real_config(ReleasedModel::k0_5B);
  j["hidden_size"] = "896";      // wrong type: the head_dim relation is not checked on a default
  j["num_key_value_heads"] = 5;  // does not divide 14
  j["rope_theta"] = 1e39;        // not a finite float
  j["fastvithd_config"]["layers"] = {2, 12, 24, 4};  // one list shorter than the others
  const std::vector<std::string> keys = problem_keys(j);
  CHECK(keys == std::vector<std::string>{"hidden_size", "rope_theta", "num_key_value_heads",
                                         "fastvithd_config.embed_dims", "fastvithd_config.mlp_ratios",
                                         "fastvithd_config.downsamples", "fastvithd_config.token_mixers",
                                         "fastvithd_config.pos_embs"});
  try {
    parse_model_config(j);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kBadModel);
    const std::string m = e.what();
    CHECK(m.find("8 problem(s)") != std::string::npos);
    CHECK(m.find("'hidden_size' is \"896\", expected an integer in [1, 16384]") != std::string::npos);
    CHECK(e.detail()["config_problems"].size() == 8);
  }
  // Another kind of checkpoint stays `unsupported`, not a bound problem.
  j = real_config(ReleasedModel::k0_5B);
  j["rope_scaling"] = {{"type", "yarn"}};
  CHECK_THROWS_WITH_AS(check_model_config(j), doctest::Contains("rope_scaling"), Error);
}

TEST_CASE("gguf config keys: a file written from the config agrees - typed values are compared") {
  const ModelConfig c = released_config(ReleasedModel::k0_5B);
  const auto keys = gguf_llm_config_keys(c);
  auto write = [&](const std::string& changed, GgufValue v) {
    GgufWriter w;
    for (const GgufConfigKey& k : keys) w.set(k.key, k.key == changed ? v : k.value);
    const std::string path = test::temp_path("keys.gguf");
    w.write(path);
    return check_gguf_config_keys(GgufFile::open(path), keys);
  };
  CHECK(write("", GgufValue()).empty());
  CHECK(write("qwen2.block_count", GgufValue::i32(24)).empty());  // i32 vs u32 storage is the same value
  auto p = write("qwen2.block_count", GgufValue::u32(25));
  REQUIRE(p.size() == 1);
  CHECK(to_string(p[0]) ==
        "'qwen2.block_count' is 25, expected 24 (num_hidden_layers in fastvlm.config_json)");
  p = write("qwen2.rope.freq_base", GgufValue::f32(1e4f));
  REQUIRE(p.size() == 1);
  CHECK(p[0].value == "10000");
  p = write("qwen2.attention.head_count", GgufValue::string("14"));
  REQUIRE(p.size() == 1);
  CHECK(p[0].value == "a value of type string");
  const auto vis = gguf_vision_config_keys(c);
  CHECK(vis.size() > 20);
}

}  // namespace fvlm
