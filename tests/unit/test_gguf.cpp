// core/gguf: writer -> reader round trip of every metadata type and tensor dtype, ggml's reversed
// dims, and the reader's validation: truncation at every byte, huge counts, bad alignment,
// overlapping and out-of-bounds tensors, random corruption -> Error, never a crash.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/gguf.h"
#include "core/half.h"
#include "quant/matmul_quant.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {

std::string temp_path(const std::string& name) { return test::temp_path("gguf_" + name); }

std::vector<uint8_t> read_bytes(const std::string& path) {
  const std::string b = test::file_bytes(path);
  return {b.begin(), b.end()};
}

Tensor ramp(DType t, Shape shape) {
  Tensor f = Tensor::zeros(DType::F32, shape);
  for (int64_t i = 0; i < f.numel(); ++i) f.f32()[i] = float(i % 29) * 0.25f - 3.0f;
  return t == DType::F32 ? f : quant::quantize(f, t);
}

// A small file with every metadata type and several tensor dtypes.
std::string write_sample(uint32_t alignment = 32, const std::string& name = "sample.gguf") {
  GgufWriter w(alignment);
  w.set("general.architecture", GgufValue::string("qwen2"));
  w.set("t.u8", GgufValue::u8(200));
  w.set("t.i8", GgufValue::i8(-100));
  w.set("t.u16", GgufValue::u16(60000));
  w.set("t.i16", GgufValue::i16(-30000));
  w.set("t.u32", GgufValue::u32(4000000000u));
  w.set("t.i32", GgufValue::i32(-2000000000));
  w.set("t.u64", GgufValue::u64(1ull << 40));
  w.set("t.i64", GgufValue::i64(-(1ll << 40)));
  w.set("t.f32", GgufValue::f32(1e-6f));
  w.set("t.f64", GgufValue::f64(1e6 + 0.5));
  w.set("t.bool", GgufValue::boolean(true));
  w.set("t.strings", GgufValue::strings({"a", "", "Ġhello", "[PAD151935]"}));
  w.set("t.ints", GgufValue::ints(GgufType::kI32, {1, -2, 3}));
  w.set("t.floats", GgufValue::floats(GgufType::kF32, {0.5, -1.25}));
  w.set("t.bools", GgufValue::ints(GgufType::kBool, {1, 0}));
  w.add_tensor("a.f32", ramp(DType::F32, {3, 5}));
  w.add_tensor("b.q8", ramp(DType::Q8_0, {2, 64}));
  w.add_tensor("c.f16", ramp(DType::F16, {7}));
  w.add_tensor("d.q4", DType::Q4_0, {3, 32}, [] { return ramp(DType::Q4_0, {3, 32}); });
  w.add_tensor("e.bf16", ramp(DType::BF16, {2, 2, 3}));
  const std::string path = temp_path(name);
  w.write(path);
  return path;
}

GgufFile parse_bytes(const std::vector<uint8_t>& b) {
  return GgufFile::parse(b.data(), b.size(), nullptr, "test");
}

Errc parse_error(const std::vector<uint8_t>& b) {
  try {
    parse_bytes(b);
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::kInternal;  // "no error"
}

size_t find(const std::vector<uint8_t>& b, const std::string& s) {
  auto it = std::search(b.begin(), b.end(), s.begin(), s.end());
  REQUIRE(it != b.end());
  return size_t(it - b.begin());
}

template <class T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

// Byte position of a tensor info's fields, found by its name.
struct InfoPos {
  size_t n_dims, dims, type, offset;
};
InfoPos info_pos(const std::vector<uint8_t>& b, const std::string& name, int n_dims) {
  const size_t at = find(b, name) + name.size();
  return {at, at + 4, at + 4 + 8 * size_t(n_dims), at + 8 + 8 * size_t(n_dims)};
}

}  // namespace

TEST_CASE("gguf: writer -> reader round trip of metadata and tensors") {
  const std::string path = write_sample();
  const GgufFile f = GgufFile::open(path);
  CHECK(f.version() == 3);
  CHECK(f.alignment() == 32);
  CHECK(f.get("general.architecture").as_string() == "qwen2");
  CHECK(f.get("t.u8").as_int() == 200);
  CHECK(f.get("t.i8").as_int() == -100);
  CHECK(f.get("t.u16").as_int() == 60000);
  CHECK(f.get("t.i16").as_int() == -30000);
  CHECK(f.get("t.u32").as_int() == 4000000000ll);
  CHECK(f.get("t.i32").as_int() == -2000000000);
  CHECK(f.get("t.u64").as_int() == (1ll << 40));
  CHECK(f.get("t.i64").as_int() == -(1ll << 40));
  CHECK(f.get("t.f32").as_float() == doctest::Approx(1e-6));
  CHECK(f.get("t.f64").as_float() == 1e6 + 0.5);
  CHECK(f.get("t.bool").as_bool());
  CHECK(f.get("t.strings").as_strings() == std::vector<std::string>{"a", "", "Ġhello", "[PAD151935]"});
  CHECK(f.get("t.ints").as_ints() == std::vector<int64_t>{1, -2, 3});
  CHECK(f.get("t.floats").as_floats() == std::vector<double>{0.5, -1.25});
  CHECK(f.get("t.bools").elem_type() == GgufType::kBool);
  CHECK(f.find("missing") == nullptr);
  CHECK_THROWS_AS(f.get("missing"), Error);
  CHECK_THROWS_AS(f.get("t.u8").as_string(), Error);
  CHECK_THROWS_AS(f.get("t.strings").as_ints(), Error);
  CHECK(f.metadata().front().first == "general.architecture");  // insertion order kept

  REQUIRE(f.tensor_infos().size() == 5);
  for (auto [name, dtype, shape] : {std::tuple{"a.f32", DType::F32, Shape{3, 5}},
                                    {"b.q8", DType::Q8_0, Shape{2, 64}},
                                    {"c.f16", DType::F16, Shape{7}},
                                    {"d.q4", DType::Q4_0, Shape{3, 32}},
                                    {"e.bf16", DType::BF16, Shape{2, 2, 3}}}) {
    CAPTURE(name);
    const Tensor t = f.tensor(name);
    CHECK(t.dtype() == dtype);
    CHECK(t.shape() == shape);
    const Tensor want = ramp(dtype, shape);
    CHECK(std::memcmp(t.data(), want.data(), size_t(want.nbytes())) == 0);
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % 32 == 0);
  }
  CHECK_THROWS_AS(f.tensor("nope"), Error);
  CHECK(f.tensors().size() == 5);
}

TEST_CASE("gguf: dims are stored in ggml order (fastest first) and alignment is honoured") {
  const std::string path = write_sample(64, "sample64.gguf");
  const std::vector<uint8_t> b = read_bytes(path);
  const InfoPos p = info_pos(b, "a.f32", 2);
  uint32_t n_dims;
  uint64_t ne0, ne1;
  std::memcpy(&n_dims, b.data() + p.n_dims, 4);
  std::memcpy(&ne0, b.data() + p.dims, 8);
  std::memcpy(&ne1, b.data() + p.dims + 8, 8);
  CHECK(n_dims == 2);
  CHECK(ne0 == 5);  // our [3, 5] is ggml ne = {5, 3}
  CHECK(ne1 == 3);
  const GgufFile f = parse_bytes(b);
  CHECK(f.alignment() == 64);
  CHECK(f.get("general.alignment").as_int() == 64);
  for (const GgufTensorInfo& t : f.tensor_infos()) CHECK(t.offset % 64 == 0);
}

TEST_CASE("gguf: a file truncated at any byte is a bad_model error") {
  const std::vector<uint8_t> b = read_bytes(write_sample());
  const GgufFile f = parse_bytes(b);
  uint64_t data_end = 0;
  for (const GgufTensorInfo& t : f.tensor_infos()) data_end = std::max(data_end, t.offset + t.nbytes);
  for (size_t n = 0; n < data_end; ++n) {
    const std::vector<uint8_t> cut(b.begin(), b.begin() + long(n));
    CAPTURE(n);
    REQUIRE(parse_error(cut) == Errc::kBadModel);
  }
  // Only the trailing padding after the last tensor may be cut.
  CHECK_NOTHROW(parse_bytes(std::vector<uint8_t>(b.begin(), b.begin() + long(data_end))));
}

TEST_CASE("gguf: bad magic, version, huge counts and lengths are rejected") {
  const std::vector<uint8_t> good = read_bytes(write_sample());
  auto with = [&](auto edit) {
    std::vector<uint8_t> b = good;
    edit(b);
    return parse_error(b);
  };
  CHECK(with([](auto& b) { b[0] = 'X'; }) == Errc::kBadModel);
  CHECK(with([](auto& b) { poke<uint32_t>(b, 4, 2); }) == Errc::kBadModel);
  CHECK(with([](auto& b) { poke<uint64_t>(b, 8, ~0ull); }) == Errc::kBadModel);  // tensor count
  CHECK(with([](auto& b) { poke<uint64_t>(b, 8, 1ull << 40); }) == Errc::kBadModel);
  CHECK(with([](auto& b) { poke<uint64_t>(b, 16, ~0ull >> 1); }) == Errc::kBadModel);  // kv count
  CHECK(with([](auto& b) { poke<uint64_t>(b, 24, ~0ull); }) == Errc::kBadModel);       // first key length
  CHECK(with([&](auto& b) {                                                            // string array length
          poke<uint64_t>(b, find(b, "t.strings") + 9 + 4 + 4, 1ull << 61);
        }) == Errc::kBadModel);
  CHECK(with([&](auto& b) {  // a string inside the array claims more bytes than the file has
          poke<uint64_t>(b, find(b, "t.strings") + 9 + 4 + 4 + 8, 1ull << 33);
        }) == Errc::kBadModel);
  CHECK(with([&](auto& b) { poke<uint32_t>(b, find(b, "t.u8") + 4, 13); }) == Errc::kBadModel);  // value type
  CHECK(with([&](auto& b) { poke<uint32_t>(b, find(b, "t.ints") + 6 + 4, 9); }) ==
        Errc::kBadModel);  // nested array
  CHECK(with([&](auto& b) { b[find(b, "t.bool") + 6 + 4] = 7; }) == Errc::kBadModel);
  CHECK(with([&](auto& b) { b[find(b, "t.i16") + 2] = 'u'; }) == Errc::kBadModel);  // duplicate key t.u16
}

TEST_CASE("gguf: bad alignment, misaligned, overlapping and out-of-bounds tensors are rejected") {
  const std::vector<uint8_t> good64 = read_bytes(write_sample(64, "sample64b.gguf"));
  const std::vector<uint8_t> good = read_bytes(write_sample());
  auto with = [](std::vector<uint8_t> b, auto edit) {
    edit(b);
    return parse_error(b);
  };
  const size_t align_at = find(good64, "general.alignment") + 17 + 4;
  CHECK(with(good64, [&](auto& b) { poke<uint32_t>(b, align_at, 48); }) == Errc::kBadModel);
  CHECK(with(good64, [&](auto& b) { poke<uint32_t>(b, align_at, 0); }) == Errc::kBadModel);
  CHECK(with(good64, [&](auto& b) { poke<uint32_t>(b, align_at - 4, 5); }) == Errc::kBadModel);  // as i32
  const InfoPos q8 = info_pos(good, "b.q8", 2), f16 = info_pos(good, "c.f16", 1);
  CHECK(with(good, [&](auto& b) { poke<uint64_t>(b, q8.offset, 16); }) == Errc::kBadModel);  // not aligned
  CHECK(with(good, [&](auto& b) { poke<uint64_t>(b, q8.offset, 0); }) == Errc::kBadModel);   // overlaps a.f32
  CHECK(with(good, [&](auto& b) { poke<uint64_t>(b, f16.offset, 1ull << 40); }) == Errc::kBadModel);
  CHECK(with(good, [&](auto& b) { poke<uint64_t>(b, f16.offset, ~0ull - 31); }) == Errc::kBadModel);  // wraps
  CHECK(with(good, [&](auto& b) { poke<uint64_t>(b, q8.dims + 8, 1ull << 62); }) ==
        Errc::kBadModel);                                                                  // huge dim
  CHECK(with(good, [&](auto& b) { poke<uint64_t>(b, q8.dims, 48); }) == Errc::kBadModel);  // not whole blocks
  CHECK(with(good, [&](auto& b) { poke<uint32_t>(b, q8.n_dims, 5); }) == Errc::kBadModel);
  CHECK(with(good, [&](auto& b) { poke<uint32_t>(b, q8.type, 99); }) == Errc::kBadModel);
  CHECK(with(good, [&](auto& b) { poke<uint32_t>(b, q8.type, 12); }) == Errc::kUnsupported);  // Q4_K
  const size_t d_q4 = find(good, "d.q4");
  CHECK(with(good, [&](auto& b) {
          b[d_q4] = 'b';
          b[d_q4 + 2] = 'q';
          b[d_q4 + 3] = '8';
        }) == Errc::kBadModel);  // duplicate tensor name b.q8
}

TEST_CASE("gguf: random corruption never crashes the reader") {
  const std::vector<uint8_t> good = read_bytes(write_sample());
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> b = good;
    const int flips = 1 + int(rng() % 4);
    for (int i = 0; i < flips; ++i) b[rng() % b.size()] = uint8_t(rng());
    try {
      const GgufFile f = parse_bytes(b);
      for (const GgufTensorInfo& t : f.tensor_infos()) REQUIRE(t.offset + t.nbytes <= b.size());
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}

TEST_CASE("gguf: writer rejects what GGUF cannot hold") {
  GgufWriter w;
  w.set("k", GgufValue::u8(1));
  CHECK_THROWS_AS(w.set("k", GgufValue::u8(2)), Error);
  CHECK_THROWS_AS(w.add_tensor(std::string(64, 'x'), Tensor::zeros(DType::F32, {2})), Error);
  CHECK_THROWS_AS(w.add_tensor("u8", Tensor::zeros(DType::U8, {2})), Error);
  w.add_tensor("t", Tensor::zeros(DType::F32, {2}));
  CHECK_THROWS_AS(w.add_tensor("t", Tensor::zeros(DType::F32, {2})), Error);
  CHECK_THROWS_AS(w.write("/nonexistent-dir/x.gguf"), Error);
  CHECK_THROWS_AS(GgufFile::open("/nonexistent-dir/x.gguf"), Error);
}
