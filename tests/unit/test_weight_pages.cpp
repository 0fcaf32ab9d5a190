// LLM weights copied into huge pages (decoder/weight_pages.h, core/huge_pages.h) hold the same
// values as the file mapping they came from (the same bytes, or Q8_0/Q4_0 rows interleaved in 16s
// that unpack to the same bytes) and give the same logits up to f32 summation order; file pages are
// dropped only where they are file pages.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/error.h"
#include "core/huge_pages.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "decoder/qwen2.h"
#include "decoder/qwen2_weights.h"
#include "decoder/weight_pages.h"
#include "models/config.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {
struct Golden {
  ModelConfig cfg = load_model_config(test::golden("tiny/model/config.json"));
  TensorMap tensors = read_safetensors_dir(test::golden("tiny/model"));  // mapped
};

std::vector<const Tensor*> matrices(const Qwen2Weights& w) {
  std::vector<const Tensor*> v;
  for (const Qwen2LayerW& l : w.layers)
    for (const Tensor* t :
         {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj})
      v.push_back(t);
  v.push_back(&w.lm_head);
  return v;
}

std::vector<float> logits_of(const Qwen2Weights& w, const Qwen2Config& c) {
  const std::vector<int32_t> ids{11, 250, 3, 97, 1000, 42};
  Qwen2Session s(w, c, {int(ids.size()) + 4, 0});
  std::vector<float> e(ids.size() * size_t(c.hidden_size));
  s.embed(ids, e.data());
  const std::span<const float> p = s.prefill(e.data(), int(ids.size()));
  std::vector<float> out(p.begin(), p.end());
  for (int32_t t : {7, 8, 9}) {
    const std::span<const float> d = s.decode_step(t);
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}
}  // namespace

TEST_CASE(
    "allocate_huge_pages: 2 MB aligned, zeroed, writable, the kernel backs it with huge pages when THP is "
    "on") {
  const size_t bytes = (size_t(6) << 20) + 123;
  const std::shared_ptr<uint8_t> p = allocate_huge_pages(bytes);
  CHECK(reinterpret_cast<uintptr_t>(p.get()) % (uintptr_t(2) << 20) == 0);
  bool zero = true;
  for (size_t i = 0; i < bytes; i += 4093) zero = zero && p.get()[i] == 0;
  CHECK(zero);
  std::memset(p.get(), 0x5a, bytes);
  CHECK(p.get()[bytes - 1] == 0x5a);
  const int64_t backed = huge_page_backed_bytes(p.get());
  CHECK(backed <= int64_t(8) << 20);  // the block is 8 MB: never more than that
  const ThpMode thp = transparent_huge_pages();
  if (thp == ThpMode::kAlways || thp == ThpMode::kMadvise) {
    CHECK(backed >= int64_t(2) << 20);  // at least one huge page for 6 MB touched
  } else {
    MESSAGE("THP is " << thp_mode_name(thp) << " here: huge-page backing not checked");
  }
}

TEST_CASE("drop_resident_range: drops pages of a mapped file (contents come back) and ignores heap memory") {
  const std::string path = test::temp_path("drop_range.bin");
  std::vector<uint8_t> bytes(size_t(64) << 10);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 7 + 3);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const std::shared_ptr<const MappedFile> f = MappedFile::open(path);
  CHECK(std::memcmp(f->data(), bytes.data(), bytes.size()) == 0);
  CHECK(MappedFile::drop_resident_range(f->data() + 100, 40000));
  CHECK(std::memcmp(f->data(), bytes.data(), bytes.size()) == 0);               // re-read from the file
  CHECK_FALSE(MappedFile::drop_resident_range(f->data() + 100, bytes.size()));  // runs past the end
  std::vector<uint8_t> heap(bytes);
  CHECK_FALSE(MappedFile::drop_resident_range(heap.data(), heap.size()));
  CHECK(heap == bytes);
}

TEST_CASE(
    "place_weights huge: same values, same logits as the file mapping, tied embedding follows lm_head") {
  const Golden g;
  for (DType t : {DType::F32, DType::Q8_0, DType::Q4_0}) {
    CAPTURE(dtype_name(t));
    TensorMap tensors = g.tensors;
    if (t != DType::F32)
      for (auto& [name, tensor] : tensors)
        if (tensor.rank() == 2 && tensor.dim(1) % 32 == 0 && name.find("model.layers.") == 0)
          tensor = quant::quantize(tensor, t);
    const Qwen2Weights mapped = bind_qwen2(g.cfg.llm, tensors);
    Qwen2Weights huge = mapped;
    const WeightPlacement p = place_weights(huge, WeightPages::kHuge);
    CHECK(p.pages == WeightPages::kHuge);
    int64_t sum = 0;
    int packed = 0;
    const std::vector<const Tensor*> a = matrices(mapped), b = matrices(huge);
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i]->data() != b[i]->data());
      CHECK(a[i]->shape() == b[i]->shape());
      CHECK(b[i]->nbytes() == a[i]->nbytes());
      if (quant::packable(*a[i])) {  // every tiny-model matrix has rows in 16s
        ++packed;
        CHECK(b[i]->dtype() == quant::packed_type(a[i]->dtype()));
        const int64_t k = a[i]->dim(1), row_bytes = dtype_bytes(a[i]->dtype(), k);
        std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
        bool same = true;
        for (int64_t r = 0; r < a[i]->dim(0); ++r) {
          quant::unpack_row(b[i]->dtype(), static_cast<const uint8_t*>(b[i]->data()), k, r, row.data());
          same = same && std::memcmp(row.data(), static_cast<const uint8_t*>(a[i]->data()) + r * row_bytes,
                                     size_t(row_bytes)) == 0;
        }
        CHECK(same);
      } else {
        CHECK(a[i]->dtype() == b[i]->dtype());
        CHECK(std::memcmp(a[i]->data(), b[i]->data(), size_t(a[i]->nbytes())) == 0);
      }
      sum += a[i]->nbytes();
    }
    CHECK(p.packed == packed);
    CHECK(packed == (t == DType::F32 ? 0 : int(a.size()) - 1));  // lm_head is the F32 embedding here
    CHECK(p.bytes >= sum);
    CHECK(p.bytes < sum + 64 * int64_t(a.size()));
    CHECK(mapped.embed_tokens.data() == mapped.lm_head.data());  // the golden model ties them
    CHECK(huge.embed_tokens.data() == huge.lm_head.data());
    const std::vector<float> want = logits_of(mapped, g.cfg.llm), got = logits_of(huge, g.cfg.llm);
    if (t == DType::F32) {
      CHECK(got == want);  // bit for bit: the same kernels on the same bytes
    } else {  // the int8 kernels on packed rows sum each block exactly, then in another f32 order
      REQUIRE(got.size() == want.size());
      float scale = 0, worst = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        scale = std::max(scale, std::fabs(want[i]));
        worst = std::max(worst, std::fabs(got[i] - want[i]));
      }
      CHECK(worst <= 1e-4f * scale);
      CHECK(worst > 0);  // the packed kernels did run
    }
  }
}

TEST_CASE("place_weights mapped leaves the weights where they are, names parse, others are refused") {
  const Golden g;
  Qwen2Weights w = bind_qwen2(g.cfg.llm, g.tensors);
  const void* q = w.layers[0].q_proj.data();
  const WeightPlacement p = place_weights(w, WeightPages::kMapped);
  CHECK(p.pages == WeightPages::kMapped);
  CHECK(w.layers[0].q_proj.data() == q);
  CHECK(p.bytes > 0);
  for (const std::string& n : weight_pages_names()) CHECK(weight_pages_name(parse_weight_pages(n)) == n);
  CHECK_THROWS_AS(parse_weight_pages("hugepages"), Error);
}
