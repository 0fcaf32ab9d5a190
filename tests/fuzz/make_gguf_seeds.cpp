// Writes the seed corpus of the GGUF fuzzer: small valid files made by our writer (no tensors,
// metadata of every type, tensors of every dtype, a non-default alignment) into DIR/seeds, and an
// empty DIR/work where libFuzzer keeps what it finds (so repeated runs start afresh). Usage: DIR.
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/gguf.h"
#include "quant/matmul_quant.h"

using namespace fvlm;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_gguf_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path root = argv[1], dir = root / "seeds";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(root / "work");
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
