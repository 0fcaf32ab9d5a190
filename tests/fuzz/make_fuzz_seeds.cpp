// Writes the seed corpora of the fuzzers (small valid inputs, mostly made by our writers), each
// with an empty work/ beside it where libFuzzer keeps what it finds (so repeated runs start afresh):
//   DIR/gguf/seeds         no tensors, metadata of every type, tensors of every dtype, two alignments
//   DIR/safetensors/seeds  no tensors, one F32 tensor, every dtype the reader takes, an empty tensor
//   DIR/tokenizer/seeds    prompts: the chat template with the image token, several scripts,
//                          ill-formed UTF-8, digit and whitespace runs
//   DIR/tokenizer_tables/seeds  tables in fuzz_tokenizer_tables' line format: merges with and
//                          without spaces, added tokens, ignore_merges, an id too large, an id twice
//   DIR/chat_request/seeds chat completion bodies: an image as a data URI, a conversation with every
//                          option the server reads, a text-only one, a refused file path
//   DIR/image_header       only the work directory (the image fuzzer's seeds are samples/)
// Usage: make_fuzz_seeds DIR.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/gguf.h"
#include "core/safetensors.h"
#include "quant/matmul_quant.h"

using namespace fvlm;

namespace {

void write_safetensors_seeds(const std::filesystem::path& dir) {
  write_safetensors((dir / "empty.safetensors").string(), {});
  Tensor f = Tensor::zeros(DType::F32, {2, 3});
  for (int64_t i = 0; i < f.numel(); ++i) f.f32()[i] = float(i) - 2.5f;
  write_safetensors((dir / "f32.safetensors").string(), {{"model.w", f}});
  TensorMap all{{"a.f32", f}, {"a.empty", Tensor::zeros(DType::F32, {0, 4})}};
  for (DType t : {DType::F16, DType::BF16, DType::I64, DType::I32, DType::U8})
    all.emplace("a." + std::string(dtype_name(t)), Tensor::zeros(t, {3}));
  write_safetensors((dir / "dtypes.safetensors").string(), all);
}

void write_tokenizer_seeds(const std::filesystem::path& dir) {
  const std::string prompts[] = {
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\n"
      "How many bottles are on the shelf?<|im_end|>\n<|im_start|>assistant\n",
      "Total: $1,234.56 (incl. 19% VAT)   \t\n\n  2026-11-27",
      "caf\u00e9 cafe\u0301 \ufb01 \u4f60\u597d\u4e16\u754c \u041f\u0440\u0438\u0432\u0435\u0442 "
      "\u0645\u0631\u062d\u0628\u0627 \U0001f600\U0001f44d\U0001f3fd",
      "ill-formed \xff\xfe \xc3 \xe2\x82 \xed\xa0\x80 end",
      "'s 've 're n't 'LL ... !!! ??? 12345678901234567890",
  };
  int i = 0;
  for (const std::string& p : prompts)
    std::ofstream(dir / ("prompt" + std::to_string(i++) + ".txt"), std::ios::binary) << p;
}

void write_tokenizer_table_seeds(const std::filesystem::path& dir) {
  const std::string tables[] = {
      "vab\nma b\ntabab ab a\n",
      "v\u0120a\nm\u0120 a\nv\u0120ab\nm\u0120a b\nthe said ab ab\n",
      "a<|im_start|>\nn<image>\nt<|im_start|>user\n<image>\nt  hi<image>there  \n",
      "x\nvhello\nv\u0120world\nvhe\nmh e\nthello world hello\n",
      "i2097152 zz\n",
      "i5 dup\n",
  };
  int i = 0;
  for (const std::string& t : tables) std::ofstream(dir / ("tables" + std::to_string(i++) + ".txt")) << t;
}

void write_chat_request_seeds(const std::filesystem::path& dir) {
  // A 1x1 RGB PNG: big enough to decode, small enough to leave the fuzzer room to mutate.
  const std::string png =
      "data:image/png;base64,"
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC";
  const std::string bodies[] = {
      R"({"model":"fastvlm","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
      R"({"type":"image_url","image_url":{"url":")" +
          png + R"("}}]}]})",
      R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"image_url",)"
      R"("image_url":")" +
          png +
          R"("},{"type":"text","text":"Count the cats"}]},{"role":"assistant",)"
          R"("content":"2"},{"role":"user","content":"Sure?"}],"max_tokens":16,"temperature":0.7,"top_p":0.9,)"
          R"("seed":3,"stream":true,"stream_options":{"include_usage":true},"stop":["\n","END"]})",
      R"({"messages":[{"role":"user","content":"no image"}],"max_completion_tokens":5,"n":1,)"
      R"("frequency_penalty":0,"response_format":{"type":"text"}})",
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]})",
  };
  int i = 0;
  for (const std::string& b : bodies) std::ofstream(dir / ("body" + std::to_string(i++) + ".json")) << b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path root = argv[1];
  std::filesystem::remove_all(root);
  for (const char* kind : {"gguf", "safetensors", "tokenizer", "tokenizer_tables", "chat_request"}) {
    std::filesystem::create_directories(root / kind / "seeds");
    std::filesystem::create_directories(root / kind / "work");
  }
  std::filesystem::create_directories(root / "image_header");
  write_safetensors_seeds(root / "safetensors" / "seeds");
  write_tokenizer_seeds(root / "tokenizer" / "seeds");
  write_tokenizer_table_seeds(root / "tokenizer_tables" / "seeds");
  write_chat_request_seeds(root / "chat_request" / "seeds");
  const std::filesystem::path dir = root / "gguf" / "seeds";
  GgufWriter empty;
  empty.write((dir / "empty.gguf").string());

  GgufWriter meta;
  meta.set("general.architecture", GgufValue::string("qwen2"));
  meta.set("qwen2.block_count", GgufValue::u32(2));
  meta.set("qwen2.rope.freq_base", GgufValue::f32(1e6f));
  meta.set("a.i8", GgufValue::i8(-1));
  meta.set("a.u16", GgufValue::u16(7));
  meta.set("a.i16", GgufValue::i16(-7));
  meta.set("a.i32", GgufValue::i32(-9));
  meta.set("a.u64", GgufValue::u64(1ull << 33));
  meta.set("a.i64", GgufValue::i64(-5));
  meta.set("a.f64", GgufValue::f64(0.25));
  meta.set("a.bool", GgufValue::boolean(false));
  meta.set("tokenizer.ggml.tokens", GgufValue::strings({"a", "b", "Ġc", "[PAD3]"}));
  meta.set("tokenizer.ggml.token_type", GgufValue::ints(GgufType::kI32, {1, 1, 1, 5}));
  meta.set("a.floats", GgufValue::floats(GgufType::kF32, {1.5, -2}));
  meta.write((dir / "metadata.gguf").string());

  for (uint32_t alignment : {32u, 64u}) {
    GgufWriter w(alignment);
    w.set("general.architecture", GgufValue::string("fastvlm"));
    Tensor f = Tensor::zeros(DType::F32, {2, 64});
    for (int64_t i = 0; i < f.numel(); ++i) f.f32()[i] = float(i) * 0.1f - 3;
    w.add_tensor("t.f32", f);
    for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0})
      w.add_tensor("t." + std::string(dtype_name(t)), quant::quantize(f, t));
    Tensor i32 = Tensor::zeros(DType::I32, {3});
    w.add_tensor("t.i32", i32);
    w.write((dir / ("tensors_" + std::to_string(alignment) + ".gguf")).string());
  }
  return 0;
}
