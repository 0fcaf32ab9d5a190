// Hostile models: config.json values out of bounds, converted GGUF files whose metadata disagrees
// with their embedded config, tokenizers without the chat template's special tokens. Each must be
// refused before anything is allocated from it: exit 4, one JSON line with error code bad_model and
// a message naming the key (never a SIGABRT, never an allocation until the kernel kills us).
// Every hostile input is built here from the golden tiny model.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/gguf.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

namespace fvlm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A regression must not take the machine down: the CLI runs under a 4 GB address-space limit, so
// an allocation sized from a hostile value fails fast (and then the exit code is wrong).
CliRun run_limited(const std::string& args) {
  CliRun r;
  const std::string cmd = memory_cap_prefix() + quoted_cli() + " " + args + " 2>/dev/null";
  r.exit_code = run_command(cmd, r.stdout_text);
  std::istringstream in(r.stdout_text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) r.lines.push_back(json::parse(line, nullptr, false));
  return r;
}

json read_json(const fs::path& p) { return json::parse(std::ifstream(p)); }
void write_json(const fs::path& p, const json& j) { std::ofstream(p) << j.dump(1); }

// The one error line of a refused model; CHECKs exit 4, bad_model and that the message names `key`.
void check_bad_model(const CliRun& r, const std::string& key) {
  CAPTURE(r.stdout_text);
  CHECK(r.exit_code == 4);  // a SIGABRT or an OOM kill is never 4
  REQUIRE(r.lines.size() == 1);
  const json& e = r.lines[0];
  REQUIRE(e.is_object());
  CHECK(e.value("ok", true) == false);
  REQUIRE(e.contains("error"));
  CHECK(e["error"].value("code", "") == "bad_model");
  CHECK(e["error"].value("message", "").find(key) != std::string::npos);
}

// A problem entry of inspect's config_checks (or of the error detail) for `key`.
bool has_problem(const json& problems, const std::string& key) {
  for (const json& p : problems)
    if (p.value("key", "") == key) return true;
  return false;
}

struct ConfigCase {
  const char* what;
  std::string key;  // the key the message must name
  std::function<void(json&)> edit;
};

std::vector<ConfigCase> config_cases() {
  auto top = [](const char* k, json v) { return [k, v](json& c) { c[k] = v; }; };
  auto vit = [](const char* k, json v) { return [k, v](json& c) { c["fastvithd_config"][k] = v; }; };
  const std::string f = "fastvithd_config.";
  return {
      {"image_size 0 (aborted before)", f + "image_size", vit("image_size", 0)},
      {"image_size 1e7 (allocated 23 GB before)", f + "image_size", vit("image_size", 10000000)},
      {"image_size not a multiple of 64", f + "image_size", vit("image_size", 96)},
      {"image_size as a float", f + "image_size", vit("image_size", 256.0)},
      {"num_hidden_layers 1e9 as a float", "num_hidden_layers", top("num_hidden_layers", 1e9)},
      {"num_hidden_layers 1e9 as an integer", "num_hidden_layers", top("num_hidden_layers", 1000000000)},
      {"hidden_size as a string", "hidden_size", top("hidden_size", "64")},
      {"hidden_size as a bool", "hidden_size", top("hidden_size", true)},
      {"hidden_size missing", "hidden_size", [](json& c) { c.erase("hidden_size"); }},
      {"hidden_size not a multiple of the heads", "hidden_size", top("num_attention_heads", 3)},
      {"odd head_dim", "hidden_size", top("num_attention_heads", 64)},
      {"kv heads do not divide heads", "num_key_value_heads", top("num_key_value_heads", 3)},
      {"more kv heads than heads", "num_key_value_heads", top("num_key_value_heads", 8)},
      {"negative intermediate_size", "intermediate_size", top("intermediate_size", -1)},
      {"vocab_size 0", "vocab_size", top("vocab_size", 0)},
      {"vocab_size 2^40", "vocab_size", top("vocab_size", int64_t(1) << 40)},
      {"vocab_size beyond uint64", "vocab_size", top("vocab_size", json::parse("1e30"))},
      {"max_position_embeddings 0", "max_position_embeddings", top("max_position_embeddings", 0)},
      {"rms_norm_eps 0", "rms_norm_eps", top("rms_norm_eps", 0.0)},
      {"rms_norm_eps negative", "rms_norm_eps", top("rms_norm_eps", -1e-6)},
      {"rms_norm_eps below float range", "rms_norm_eps", top("rms_norm_eps", 1e-50)},
      {"rope_theta overflows float", "rope_theta", top("rope_theta", 1e300)},
      {"rope_theta as a string", "rope_theta", top("rope_theta", "1e6")},
      {"eos_token_id beyond vocab_size", "eos_token_id", top("eos_token_id", 999999)},
      {"tie_word_embeddings as a string", "tie_word_embeddings", top("tie_word_embeddings", "yes")},
      {"tokenizer_model_max_length 0", "tokenizer_model_max_length", top("tokenizer_model_max_length", 0)},
      {"mm_hidden_size vs the tower", "mm_hidden_size", top("mm_hidden_size", 1000)},
      {"projector depth out of range", "mm_projector_type", top("mm_projector_type", "mlp99999999999x_gelu")},
      {"tower size overflows int", "mm_vision_tower", top("mm_vision_tower", "mobileclip_l_99999999999")},
      {"huge pinpoint", "image_grid_pinpoints",
       top("image_grid_pinpoints", json::parse("[[1000000000, 64]]"))},
      {"pinpoint of strings", "image_grid_pinpoints",
       top("image_grid_pinpoints", json::parse(R"([["a", "b"]])"))},
      {"fastvithd_config not an object", "fastvithd_config", top("fastvithd_config", 5)},
      {"a stage list shorter than layers", f + "embed_dims", vit("embed_dims", {12, 24, 48, 96})},
      {"a stage of 1e6 blocks", f + "layers[2]", vit("layers", {2, 1, 1000000, 2, 1})},
      {"stage count 100", f + "layers", vit("layers", std::vector<int>(100, 1))},
      {"embed dim not a multiple of the previous", f + "embed_dims[2]",
       vit("embed_dims", {12, 24, 50, 96, 192})},
      {"embed dim 0", f + "embed_dims[0]", vit("embed_dims", {0, 24, 48, 96, 192})},
      {"attention_head_dim not dividing", f + "embed_dims[3]", vit("attention_head_dim", 7)},
      {"mlp ratio a string", f + "mlp_ratios[2]", vit("mlp_ratios", json::parse(R"([4, 4, "x", 4, 4])"))},
      {"mlp ratio 1e300", f + "mlp_ratios[0]", vit("mlp_ratios", json::parse("[1e300, 4, 4, 4, 4]"))},
      {"downsamples of ints", f + "downsamples[0]", vit("downsamples", {1, 1, 1, 1, 1})},
      {"unknown token mixer", f + "token_mixers[4]",
       vit("token_mixers", {"repmixer", "repmixer", "repmixer", "attention", "conv"})},
      {"unknown pos emb", f + "pos_embs[3]",
       vit("pos_embs", json::parse(R"([null, null, null, "RepCPE3x3", null])"))},
      {"even down_patch_size", f + "down_patch_size", vit("down_patch_size", 8)},
      {"even repmixer kernel", f + "repmixer_kernel_size", vit("repmixer_kernel_size", 4)},
      {"down_stride 3 breaks the output stride", f + "output_stride", vit("down_stride", 3)},
      {"output_stride 32 (aborted before)", f + "output_stride", vit("output_stride", 32)},
      {"down_stride 0", f + "down_stride", vit("down_stride", 0)},
      {"cls_ratio 2.5", f + "cls_ratio", vit("cls_ratio", 2.5)},
      {"batchnorm_eps 0", f + "batchnorm_eps", vit("batchnorm_eps", 0.0)},
  };
}

}  // namespace

TEST_CASE("hostile config.json: a Qwen2 variant the decoder does not implement is unsupported") {
  const std::string dir = tiny_model_copy("unsup");
  const json golden = read_json(fs::path(tiny_model()) / "config.json");
  for (const auto& [key, value] : {std::pair{"hidden_act", json("gelu")},
                                   {"use_sliding_window", json(true)},
                                   {"rope_scaling", json::parse(R"({"type": "yarn", "factor": 4})")}}) {
    CAPTURE(key);
    json cfg = golden;
    cfg[key] = value;
    write_json(fs::path(dir) / "config.json", cfg);
    const CliRun r = run_limited("inspect " + q(dir));
    CHECK(r.exit_code == 5);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0]["error"]["code"] == "unsupported");
    CHECK(r.lines[0]["error"]["message"].get<std::string>().find(key) != std::string::npos);
  }
}

TEST_CASE("hostile config.json: every out-of-bounds value is bad_model naming the key, from inspect too") {
  const std::string dir = tiny_model_copy("cfg");
  const json golden = read_json(fs::path(tiny_model()) / "config.json");
  for (const ConfigCase& c : config_cases()) {
    CAPTURE(c.what);
    json cfg = golden;
    c.edit(cfg);
    write_json(fs::path(dir) / "config.json", cfg);
    const CliRun r = run_limited("inspect " + q(dir));
    check_bad_model(r, "'" + c.key + "'");
    if (r.lines.size() != 1 || !r.lines[0].is_object()) continue;
    const json& report = r.lines[0];  // inspect: the checks, and not valid
    REQUIRE(report.contains("config_checks"));
    CHECK(report["config_checks"]["ok"] == false);
    CHECK(has_problem(report["config_checks"]["problems"], c.key));
    CHECK(report["validation"]["ok"] == false);
  }
}

TEST_CASE("hostile config.json: the crashing cases are refused by the commands that ran them") {
  const std::string dir = tiny_model_copy("run");
  const json golden = read_json(fs::path(tiny_model()) / "config.json");
  const std::string image = q(golden_image("square.jpg"));
  for (const auto& [key, value] :
       {std::pair{"image_size", json(0)}, {"image_size", json(10000000)}, {"output_stride", json(32)}}) {
    CAPTURE(key);
    CAPTURE(value.dump());
    json cfg = golden;
    cfg["fastvithd_config"][key] = value;
    write_json(fs::path(dir) / "config.json", cfg);
    check_bad_model(run_limited("describe " + image + " -m " + q(dir)),
                    std::string("fastvithd_config.") + key);
    check_bad_model(run_limited("embed " + image + " -m " + q(dir) + " -o " + q(temp_path("e.npy"))),
                    std::string("fastvithd_config.") + key);
  }
  json cfg = golden;
  cfg["num_hidden_layers"] = 1e9;
  write_json(fs::path(dir) / "config.json", cfg);
  check_bad_model(run_limited("ask " + image + " hi -m " + q(dir)), "num_hidden_layers");
}

TEST_CASE("hostile config.json: every problem is reported at once, in the error detail") {
  const std::string dir = tiny_model_copy("many");
  json cfg = read_json(fs::path(tiny_model()) / "config.json");
  cfg["num_hidden_layers"] = 0;
  cfg["rope_theta"] = -5;
  cfg["fastvithd_config"]["image_size"] = 0;
  cfg["fastvithd_config"]["down_patch_size"] = 6;
  write_json(fs::path(dir) / "config.json", cfg);
  const CliRun r = run_limited("describe " + q(golden_image("square.jpg")) + " -m " + q(dir));
  check_bad_model(r, "num_hidden_layers");
  REQUIRE(r.lines.size() == 1);
  const json problems = r.lines[0]["error"]["detail"]["config_problems"];
  CHECK(problems.size() == 4);
  for (const char* key :
       {"num_hidden_layers", "rope_theta", "fastvithd_config.image_size", "fastvithd_config.down_patch_size"})
    CHECK(has_problem(problems, key));
  CHECK(r.lines[0]["error"]["message"].get<std::string>().find("4 problem(s)") != std::string::npos);
}

// ---- Converted GGUF files whose metadata disagrees with the embedded config ----------------------

namespace {

// The tiny model converted once per process (q8_0 keeps the files small).
const std::string& converted_tiny() {
  static const std::string dir = [] {
    const std::string out = temp_path("gguf_src");
    fs::remove_all(out);
    const CliRun c = run_cli("convert " + q(tiny_model()) + " -o " + q(out) + " --type q8_0");
    REQUIRE(c.exit_code == 0);
    return out;
  }();
  return dir;
}

// A copy of the converted model with `file`'s metadata edited: nullopt deletes the key.
std::string patched_gguf(const std::string& file, const std::string& key, std::optional<GgufValue> value) {
  const fs::path out = temp_path("gguf_patched");
  fs::remove_all(out);
  fs::create_directories(out);
  for (const char* name : {"fastvlm-llm.gguf", "fastvlm-vision.gguf"}) {
    const fs::path src = fs::path(converted_tiny()) / name;
    if (std::string(name) != file) {
      fs::create_symlink(src, out / name);
      continue;
    }
    const GgufFile f = GgufFile::open(src.string());
    GgufWriter w(f.alignment());
    bool found = false;
    for (const auto& [k, v] : f.metadata()) {
      if (k == "general.alignment") continue;  // the writer adds it
      if (k != key) {
        w.set(k, v);
        continue;
      }
      found = true;
      if (value) w.set(k, *value);
    }
    REQUIRE(found);
    const auto tensors = f.tensors();
    for (const GgufTensorInfo& t : f.tensor_infos()) w.add_tensor(t.name, tensors.at(t.name));
    w.write((out / name).string());
  }
  return out.string();
}

struct GgufCase {
  const char* file;
  std::string key;
  std::optional<GgufValue> value;
};

}  // namespace

TEST_CASE("hostile GGUF: metadata that disagrees with fastvlm.config_json is bad_model naming the key") {
  const char* llm = "fastvlm-llm.gguf";
  const char* vis = "fastvlm-vision.gguf";
  // The tiny config: 2 layers, hidden 64, 4 heads, 2 kv heads, ffn 128, context 32768, theta 1e6.
  const std::vector<GgufCase> cases = {
      {llm, "qwen2.block_count", GgufValue::u32(3)},
      {llm, "qwen2.block_count", std::nullopt},
      {llm, "qwen2.block_count", GgufValue::string("2")},
      {llm, "qwen2.embedding_length", GgufValue::u32(128)},
      {llm, "qwen2.feed_forward_length", GgufValue::u32(64)},
      {llm, "qwen2.context_length", GgufValue::u32(4096)},
      {llm, "qwen2.attention.head_count", GgufValue::u32(8)},
      {llm, "qwen2.attention.head_count_kv", GgufValue::u32(4)},
      {llm, "qwen2.rope.freq_base", GgufValue::f32(10000.0f)},
      {llm, "qwen2.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f)},
      {llm, "general.architecture", GgufValue::string("llama")},
      {vis, "fastvlm.vision.image_size", GgufValue::u32(512)},
      {vis, "fastvlm.vision.layers", GgufValue::ints(GgufType::kI32, {2, 1, 2, 2, 2})},
      {vis, "fastvlm.vision.embed_dims", GgufValue::ints(GgufType::kI32, {12, 24, 48, 96})},
      {vis, "fastvlm.vision.mlp_ratios", GgufValue::floats(GgufType::kF32, {4, 4, 4, 4, 3})},
      {vis, "fastvlm.vision.downsamples", GgufValue::ints(GgufType::kBool, {1, 1, 1, 1, 0})},
      {vis, "fastvlm.vision.token_mixers",
       GgufValue::strings({"repmixer", "repmixer", "repmixer", "repmixer", "attention"})},
      {vis, "fastvlm.vision.pos_embs", GgufValue::strings({"", "", "", "", "RepCPE7x7"})},
      {vis, "fastvlm.vision.attention_head_dim", GgufValue::u32(64)},
      {vis, "fastvlm.vision.output_stride", GgufValue::u32(32)},
      {vis, "fastvlm.vision.cls_ratio", GgufValue::f32(1.0f)},
      {vis, "fastvlm.vision.batchnorm_folded", GgufValue::boolean(false)},
      {vis, "fastvlm.mm_hidden_size", GgufValue::u32(192)},
      {vis, "fastvlm.llm.hidden_size", GgufValue::u32(896)},
      {vis, "fastvlm.projector.depth", GgufValue::u32(1)},
  };
  const CliRun good = run_limited("inspect " + q(converted_tiny()));
  REQUIRE(good.lines.size() == 1);
  CHECK(good.exit_code == 0);
  CHECK(good.lines[0]["config_checks"]["ok"] == true);
  for (const GgufCase& c : cases) {
    CAPTURE(std::string(c.file));
    CAPTURE(c.key);
    const std::string dir = patched_gguf(c.file, c.key, c.value);
    const CliRun r = run_limited("inspect " + q(dir));
    check_bad_model(r, "'" + c.key + "'");
    if (r.lines.size() == 1 && r.lines[0].contains("config_checks")) {
      CHECK(r.lines[0]["config_checks"]["ok"] == false);
      CHECK(has_problem(r.lines[0]["config_checks"]["problems"], c.key));
    }
    if (c.key == "qwen2.block_count" && c.value && c.value->type() == GgufType::kU32) {
      // Both values named: the file's 3 and the config's 2.
      const std::string m = r.lines.empty() ? "" : r.lines[0]["error"].value("message", "");
      CHECK(m.find("is 3, expected 2 (num_hidden_layers") != std::string::npos);
      check_bad_model(run_limited("describe " + q(golden_image("square.jpg")) + " -m " + q(dir)),
                      "qwen2.block_count");
    }
  }
}

// ---- Tokenizers without the chat template's special tokens -----------------------------------------

TEST_CASE(
    "hostile tokenizer: no definition of <|im_start|>/<|im_end|>/<|endoftext|> is bad_model naming the "
    "files") {
  const std::string dir = tiny_model_copy("tok_none");
  fs::remove(fs::path(dir) / "added_tokens.json");
  fs::remove(fs::path(dir) / "tokenizer_config.json");
  const std::string image = q(golden_image("square.jpg"));
  for (const std::string& cmd : {"tokenize hi -m " + q(dir), "describe " + image + " -m " + q(dir)}) {
    CAPTURE(cmd);
    const CliRun r = run_limited(cmd);
    check_bad_model(r, "added_tokens.json");
    check_bad_model(r, "tokenizer_config.json");
    check_bad_model(r, "<|im_start|>");
  }
  // inspect says why the model is not valid; convert refuses to write a GGUF without them.
  const CliRun inspect = run_limited("inspect " + q(dir));
  CHECK(inspect.exit_code == 4);
  REQUIRE(inspect.lines.size() == 1);
  CHECK(inspect.lines[0]["ok"] == false);
  CHECK(inspect.lines[0]["validation"]["tokenizer"]["ok"] == false);
  CHECK(inspect.lines[0]["validation"]["tokenizer"]["problem"].get<std::string>().find("added_tokens.json") !=
        std::string::npos);
  const std::string out = temp_path("gguf_no_chat_tokens");
  check_bad_model(run_limited("convert " + q(dir) + " -o " + q(out) + " --type q8_0"), "<|im_start|>");
  CHECK(!fs::exists(fs::path(out) / "fastvlm-llm.gguf"));
  // A tokenizer.json whose added_tokens lack <|im_start|> does not count either.
  const json partial =
      json::parse(R"({"added_tokens": [{"id": 151643, "content": "<|endoftext|>", "special": true},
                                                        {"id": 151645, "content": "<|im_end|>", "special": true}]})");
  write_json(fs::path(dir) / "tokenizer.json", partial);
  const CliRun r = run_limited("tokenize hi -m " + q(dir));
  check_bad_model(r, "<|im_start|>");
  if (!r.lines.empty())
    CHECK(r.lines[0]["error"]["message"].get<std::string>().find("<|im_end|>") == std::string::npos);
}

TEST_CASE("hostile tokenizer: every layout that defines the special tokens is accepted") {
  const std::string text = q("<|im_start|>user<|im_end|><|endoftext|>");
  auto ids_of = [&](const std::string& dir) {
    const CliRun r = run_limited("tokenize " + text + " -m " + q(dir));
    CAPTURE(r.stdout_text);
    CHECK(r.exit_code == 0);
    return r.lines.size() == 1 ? r.lines[0].value("ids", json::array()) : json::array();
  };
  const json expected = json::parse("[151644, 872, 151645, 151643]");  // "user" is one BPE token
  CHECK(ids_of(tiny_model()) == expected);
  {  // tokenizer_config.json's added_tokens_decoder alone (the Qwen2 releases: no added_tokens.json)
    const std::string dir = tiny_model_copy("tok_cfg");
    fs::remove(fs::path(dir) / "added_tokens.json");
    CHECK(ids_of(dir) == expected);
  }
  {  // added_tokens.json alone
    const std::string dir = tiny_model_copy("tok_added");
    fs::remove(fs::path(dir) / "tokenizer_config.json");
    CHECK(ids_of(dir) == expected);
  }
  {  // vocab.json + merges.txt beside a tokenizer.json that holds the added tokens
    const std::string dir = tiny_model_copy("tok_json");
    fs::remove(fs::path(dir) / "added_tokens.json");
    fs::remove(fs::path(dir) / "tokenizer_config.json");
    json added = json::array();
    const json defined = read_json(fs::path(tiny_model()) / "added_tokens.json");
    for (const auto& [content, id] : defined.items())
      added.push_back({{"id", id}, {"content", content}, {"special", true}});
    write_json(fs::path(dir) / "tokenizer.json", {{"added_tokens", added}});
    CHECK(ids_of(dir) == expected);
  }
}

}  // namespace fvlm::test
