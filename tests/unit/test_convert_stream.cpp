// Streaming convert: the files written chunk by chunk from the mapped checkpoint are byte-identical
// to what the in-memory path writes (GgufWriter given whole tensors, each quantised at once by
// quant::quantize), at every --type; row chunks give whole-tensor bytes; releasing source pages
// never changes data.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/gguf.h"
#include "core/safetensors.h"
#include "models/convert.h"
#include "models/convert_parts.h"
#include "models/model_source.h"
#include "quant/matmul_quant.h"
#include "tests/test_util.h"

using namespace fvlm;
namespace fs = std::filesystem;

namespace {

// GGUF name -> the checkpoint tensor it is made of (every table entry, LLM and vision).
std::map<std::string, std::string> checkpoint_names(const ModelSource& src) {
  std::map<std::string, std::string> m;
  for (const TensorSpec& s : llm_tensor_table(src.config)) m[s.gguf_name] = s.name;
  std::vector<TensorSpec> vision = vision_tensor_table(src.config);
  for (TensorSpec& s : projector_tensor_table(src.config)) vision.push_back(std::move(s));
  for (const TensorSpec& s : vision) m[gguf_vision_tensor_name(s.name)] = s.name;
  return m;
}

// The in-memory path: the same metadata (the reader's view of the streamed file) and every tensor
// made whole from the checkpoint, BatchNorm folded here by its formula (mci.py conv_bn).
void write_in_memory(const GgufFile& streamed, const ModelSource& src, const std::string& path) {
  GgufWriter w;
  for (const auto& [key, value] : streamed.metadata()) w.set(key, value);
  const std::map<std::string, std::string> names = checkpoint_names(src);
  const float eps = src.config.vision.batchnorm_eps;
  for (const GgufTensorInfo& info : streamed.tensor_infos()) {
    CAPTURE(info.name);
    const bool folded_bias = info.name.find("convffn.conv.conv.bias") != std::string::npos;
    const std::string weight_name =
        folded_bias ? info.name.substr(0, info.name.size() - 4) + "weight" : info.name;
    REQUIRE(names.count(weight_name));
    const std::string ck = names.at(weight_name);
    if (ck.find("convffn.conv.conv.weight") == std::string::npos) {
      w.add_tensor(info.name, quant::quantize(src.tensors.at(ck), info.dtype));
      continue;
    }
    const std::string bn = ck.substr(0, ck.size() - std::string("conv.weight").size()) + "bn.";
    const Tensor cw = to_f32(src.tensors.at(ck)), gamma = to_f32(src.tensors.at(bn + "weight"));
    const Tensor beta = to_f32(src.tensors.at(bn + "bias")),
                 mean = to_f32(src.tensors.at(bn + "running_mean"));
    const Tensor var = to_f32(src.tensors.at(bn + "running_var"));
    Tensor fw = Tensor::zeros(DType::F32, cw.shape()), fb = Tensor::zeros(DType::F32, {cw.dim(0)});
    const int64_t per = cw.numel() / cw.dim(0);
    for (int64_t o = 0; o < cw.dim(0); ++o) {
      const float s = gamma.f32()[o] / std::sqrt(var.f32()[o] + eps);
      for (int64_t j = 0; j < per; ++j) fw.f32()[o * per + j] = cw.f32()[o * per + j] * s;
      fb.f32()[o] = beta.f32()[o] - mean.f32()[o] * s;
    }
    w.add_tensor(info.name, folded_bias ? fb : quant::quantize(fw, info.dtype));
  }
  w.write(path);
}

// Resident kB of the mapping holding `p` (/proc/self/smaps), -1 if none holds it.
long mapping_rss_kb(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  while (std::getline(smaps, line)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &lo, &hi) == 2)  // a mapping's header line
      inside = addr >= lo && addr < hi;
    else if (inside && line.rfind("Rss:", 0) == 0)
      return std::stol(line.substr(4));
  }
  return -1;
}

}  // namespace

TEST_CASE("convert streams byte-identical files to the in-memory writer at every --type") {
  const ModelSource src = open_model_source(test::golden("tiny/model"));
  for (const auto& [type, pure] : {std::pair{"f32", false},
                                   {"f16", false},
                                   {"bf16", false},
                                   {"q8_0", false},
                                   {"q4_0", false},
                                   {"q4_0", true}}) {
    CAPTURE(type);
    CAPTURE(pure);
    const std::string out = test::temp_path(fmt::format("stream_{}{}", type, pure ? "_pure" : ""));
    fs::remove_all(out);
    ConvertOptions o{test::golden("tiny/model"), out, parse_convert_type(type)};
    o.pure = pure;
    const ConvertResult r = convert_model(o);
    for (const ConvertedFile& f : {r.llm, r.vision}) {
      CAPTURE(f.path);
      const std::string streamed = test::file_bytes(f.path);
      CHECK(int64_t(streamed.size()) == f.bytes);
      const std::string want = out + "/in_memory.gguf";
      write_in_memory(GgufFile::open(f.path), src, want);
      const std::string expected = test::file_bytes(want);
      CHECK(streamed.size() == expected.size());
      CHECK(streamed == expected);
    }
    int entries = 0;
    for (const auto& e : fs::directory_iterator(out)) entries += e.path().filename() != "in_memory.gguf";
    CHECK(entries == 2);  // the pair, no temporaries
    fs::remove_all(out);
  }
}

TEST_CASE("gguf writer: a tensor filled in row chunks equals the tensor written whole") {
  // 3 chunks of rows (kChunkBytes = 8 MB) with a short last one.
  const int64_t cols = 1024, rows = 2 * GgufWriter::kChunkBytes / (cols * 4) + 37;
  Tensor t = Tensor::zeros(DType::F32, {rows, cols});
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = std::sin(0.001f * float(i)) * float(i % 97);
  std::vector<std::pair<int64_t, int64_t>> calls;
  GgufWriter chunked, whole;
  for (GgufWriter* w : {&chunked, &whole}) w->set("k", GgufValue::u32(7));
  chunked.add_tensor_rows("t", DType::F32, t.shape(), [&](int64_t r0, int64_t r1, uint8_t* out) {
    calls.emplace_back(r0, r1);
    std::memcpy(out, t.f32() + r0 * cols, size_t((r1 - r0) * cols * 4));
  });
  whole.add_tensor("t", t);
  const std::string a = test::temp_path("rows_chunked.gguf"), b = test::temp_path("rows_whole.gguf");
  chunked.write(a);
  whole.write(b);
  CHECK(test::file_bytes(a) == test::file_bytes(b));
  REQUIRE(calls.size() == 3);
  CHECK(calls.front().first == 0);
  for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first == calls[i - 1].second);
  CHECK(calls.back().second == rows);
  CHECK((calls[0].second - calls[0].first) * cols * 4 <= GgufWriter::kChunkBytes);
  fs::remove(a);
  fs::remove(b);
}

TEST_CASE(
    "convert_rows: chunks of a mapped BF16 matrix give quantize()'s bytes - released pages read back the "
    "same") {
  const int64_t rows = 3000, cols = 1536;  // Q4_0 output 2.6 MB, Q8_0 4.9 MB, F32 18 MB: 1..3 chunks
  Tensor w = Tensor::zeros(DType::F32, {rows, cols});
  for (int64_t i = 0; i < w.numel(); ++i)
    w.f32()[i] = 0.02f * std::sin(0.37f * float(i)) + 1e-4f * float(i % 13);
  const std::string path = test::temp_path("convert_rows.safetensors");
  write_safetensors(path, {{"w", quant::quantize(w, DType::BF16)}});
  TensorMap mapped;
  read_safetensors(path, mapped);
  const Tensor src = mapped.at("w");
  const std::string before(static_cast<const char*>(src.data()), size_t(src.nbytes()));
  const SourcePages pages;  // finds the mapping just made
  for (DType dt : {DType::Q4_0, DType::Q8_0, DType::F16, DType::F32}) {
    CAPTURE(dtype_name(dt));
    const Tensor want = quant::quantize(src, dt);
    const int64_t row_bytes = dtype_bytes(dt, cols);
    const int64_t step = std::max<int64_t>(1, GgufWriter::kChunkBytes / row_bytes);
    std::vector<uint8_t> got(size_t(want.nbytes()));
    const GgufWriter::RowFill fill = convert_rows(src, dt, pages);
    for (int64_t r0 = 0; r0 < rows; r0 += step)
      fill(r0, std::min(rows, r0 + step), got.data() + r0 * row_bytes);
    CHECK(std::memcmp(got.data(), want.data(), got.size()) == 0);
    // quantize(src) above read every page; the fill released them all but the header's.
    const long rss = mapping_rss_kb(src.data());
    CHECK(rss >= 0);
    CHECK(rss <= 16);
    // The chunks' pages were dropped from this process: reading them again gives the file's bytes.
    CHECK(std::memcmp(src.data(), before.data(), before.size()) == 0);
  }
  // Memory that is not a checkpoint mapping is never released (MADV_DONTNEED would zero it).
  const std::vector<float> heap_before(w.f32(), w.f32() + w.numel());
  pages.release(w.data(), size_t(w.nbytes()));
  CHECK(std::memcmp(w.data(), heap_before.data(), heap_before.size() * 4) == 0);
  fs::remove(path);
}
