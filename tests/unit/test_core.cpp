// core/: tensors, half conversions, npy round trip, safetensors validation, config parsing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/half.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "models/config.h"
#include "tests/test_util.h"

using namespace fvlm;

TEST_CASE("half: bf16 and f16 round trips and rounding") {
  CHECK(bf16_to_f32(f32_to_bf16(1.0f)) == 1.0f);
  CHECK(bf16_to_f32(f32_to_bf16(-2.5f)) == -2.5f);
  // 1 + 2^-8 is halfway between two bf16 values: ties to even -> 1.0
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)) == 1.0f);
  for (float v : {0.0f, 1.0f, -1.0f, 0.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f, 3.140625f})
    CHECK(f16_to_f32(f32_to_f16(v)) == v);
  CHECK(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
  CHECK(f32_to_f16(1.0f) == 0x3c00);
  CHECK(f32_to_f16(-2.0f) == 0xc000);
  CHECK(f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);  // tie -> even
  CHECK(f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);  // tie -> even (up)
  CHECK(f32_to_f16(1e-7f) == 0x0002);               // subnormal 2^-24 * 1.68 -> 2
}

TEST_CASE("npy: write then read preserves shape, dtype and bytes") {
  Tensor t = Tensor::zeros(DType::F32, {3, 5});
  for (int i = 0; i < 15; ++i) t.f32()[i] = float(i) * 0.25f - 1.0f;
  const std::string path = test::temp_path("roundtrip.npy");
  write_npy(path, t);
  Tensor r = read_npy(path);
  CHECK(r.dtype() == DType::F32);
  CHECK(r.shape() == Shape{3, 5});
  CHECK(std::memcmp(r.data(), t.data(), 60) == 0);
  std::filesystem::remove(path);
}

TEST_CASE("npy: a write replaces the file whole and leaves no temporary, an unwritable path is io_error") {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_path("npy_staged");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "out.npy").string();
  std::ofstream(path) << "an older file";
  Tensor t = Tensor::zeros(DType::I32, {4});
  for (int i = 0; i < 4; ++i) static_cast<int32_t*>(t.mutable_data())[i] = 7 * i;
  write_npy(path, t);
  CHECK(std::memcmp(read_npy(path).data(), t.data(), 16) == 0);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) entries += e.path().filename() == "out.npy" ? 1 : 100;
  CHECK(entries == 1);  // the old file replaced, no "out.npy.tmp*" beside it
  try {
    write_npy((dir / "missing" / "x.npy").string(), t);
    FAIL("wrote into a directory that does not exist");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kIoError);
  }
  CHECK(fs::is_regular_file(path));
  fs::remove_all(dir);
}

TEST_CASE("npy: reads golden files") {
  Tensor ids = read_npy(test::golden("tiny/llm/text0.input_ids.npy"));
  CHECK(ids.dtype() == DType::I32);
  CHECK(ids.rank() == 1);
  Tensor u8 = read_npy(test::golden("tiny/preprocess/wide.resized_u8.npy"));
  CHECK(u8.dtype() == DType::U8);
  CHECK(u8.rank() == 3);
  CHECK(u8.dim(2) == 3);
}

namespace {
std::string write_file(const std::string& name, const std::string& bytes) {
  const std::string p = test::temp_path(name);
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return p;
}
std::string safetensors_bytes(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xff);
  return s + header + std::string(data_bytes, '\x01');
}
Errc load_error(const std::string& bytes) {
  const std::string p = write_file("fvlm_test_bad.safetensors", bytes);
  TensorMap m;
  try {
    read_safetensors(p, m);
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::kInternal;  // "no error" is reported as this sentinel
}
}  // namespace

TEST_CASE("safetensors: a well-formed file loads as views") {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                        R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}})";
  const std::string p = write_file("fvlm_test_ok.safetensors", safetensors_bytes(h, 22));
  TensorMap m;
  read_safetensors(p, m);
  REQUIRE(m.size() == 2);
  CHECK(m["a"].shape() == Shape{2, 2});
  CHECK(m["b"].dtype() == DType::BF16);
}

TEST_CASE("safetensors: tensors at misaligned offsets are copied to aligned memory, values intact") {
  // F32 at data offset 1 and BF16 at 13: legal in the format, UB to read in place (UBSan finding).
  std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[1,13]},)"
                  R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[13,17]}})";
  h.append((8 - h.size() % 8) % 8, ' ');  // the data itself starts 8-aligned in the file
  std::string bytes = safetensors_bytes(h, 1);
  const float a[3] = {1.5f, -2.0f, 3.25f};
  const uint16_t b[2] = {f32_to_bf16(0.5f), f32_to_bf16(-4.0f)};
  bytes.append(reinterpret_cast<const char*>(a), sizeof a).append(reinterpret_cast<const char*>(b), sizeof b);
  TensorMap m;
  read_safetensors(write_file("fvlm_test_misaligned.safetensors", bytes), m);
  REQUIRE(m.size() == 2);
  CHECK(reinterpret_cast<uintptr_t>(m["a"].data()) % alignof(float) == 0);
  CHECK(reinterpret_cast<uintptr_t>(m["b"].data()) % alignof(uint16_t) == 0);
  const Tensor fa = to_f32(m["a"]), fb = to_f32(m["b"]);
  CHECK(fa.f32()[0] == 1.5f);
  CHECK(fa.f32()[1] == -2.0f);
  CHECK(fa.f32()[2] == 3.25f);
  CHECK(fb.f32()[0] == 0.5f);
  CHECK(fb.f32()[1] == -4.0f);
}

TEST_CASE("safetensors: corrupt files are bad_model, never a crash") {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  CHECK(load_error(safetensors_bytes(ok, 16).substr(0, 5)) == Errc::kBadModel);  // shorter than 8 bytes
  CHECK(load_error(safetensors_bytes(ok, 10)) == Errc::kBadModel);               // truncated data
  CHECK(load_error(safetensors_bytes("{not json", 0)) == Errc::kBadModel);
  CHECK(load_error(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}") ==
        Errc::kBadModel);  // huge header
  CHECK(load_error(safetensors_bytes(R"({"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}})", 1)) ==
        Errc::kBadModel);
  CHECK(load_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)) ==
        Errc::kBadModel);  // size != shape x dtype
  CHECK(load_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                     12)) == Errc::kBadModel);  // overlap
  CHECK(load_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)) ==
        Errc::kBadModel);  // reversed offsets
  CHECK(load_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)) ==
        Errc::kBadModel);
  CHECK(load_error(safetensors_bytes(R"([1,2,3])", 0)) == Errc::kBadModel);
}

TEST_CASE("safetensors: dimensions whose product overflows are bad_model, not a wrapped size") {
  // 2^32 x 2^32 wraps to 0 elements in 64 bits: the old check took it for an empty tensor and
  // loaded it; 2^40 x 2^40 x 16 is signed overflow (UBSan reports it in the safetensors fuzzer).
  CHECK(load_error(safetensors_bytes(
            R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0)) ==
        Errc::kBadModel);
  CHECK(load_error(safetensors_bytes(
            R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776,16],"data_offsets":[0,4]}})", 4)) ==
        Errc::kBadModel);
  // 2^61 elements fit in int64, their 2^63 bytes do not.
  CHECK(load_error(safetensors_bytes(
            R"({"a":{"dtype":"F32","shape":[1099511627776,2097152],"data_offsets":[0,4]}})", 4)) ==
        Errc::kBadModel);
}

TEST_CASE("checked_nbytes: sizes of untrusted shapes, nullopt where they do not fit") {
  CHECK(checked_nbytes(DType::F32, Shape{2, 3}) == 24);
  CHECK(checked_nbytes(DType::F32, Shape{}) == 4);  // a scalar
  CHECK(checked_nbytes(DType::BF16, Shape{0, int64_t(1) << 62}) == 0);
  CHECK(checked_nbytes(DType::Q8_0, Shape{3, 64}) == 3 * 2 * 34);
  CHECK_FALSE(checked_nbytes(DType::Q8_0, Shape{3, 48}));  // not whole 32-blocks
  CHECK_FALSE(checked_nbytes(DType::F32, Shape{4, -1}));
  CHECK_FALSE(checked_nbytes(DType::U8, Shape{int64_t(1) << 32, int64_t(1) << 32}));
  CHECK(checked_nbytes(DType::U8, Shape{int64_t(1) << 31, int64_t(1) << 31}) == int64_t(1) << 62);
  CHECK_FALSE(checked_nbytes(DType::F32, Shape{int64_t(1) << 31, int64_t(1) << 31}));  // 2^64 bytes
}

TEST_CASE("npy: a header that claims more data than the file holds is bad_args before any allocation") {
  const auto npy = [](const std::string& shape) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
    header.append(63 - (10 + header.size()) % 64, ' ').push_back('\n');
    std::string bytes =
        std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xff) + char(header.size() >> 8);
    return write_file("claims.npy", bytes + header + std::string(16, '\0'));
  };
  CHECK(read_npy(npy("2, 2")).numel() == 4);  // the 16 data bytes are there
  for (const std::string shape :
       {"2, 3", "100000, 100000, 100000", "4294967296, 4294967296", "123456789012345678901234567890"}) {
    CAPTURE(shape);
    try {
      read_npy(npy(shape));
      FAIL("read a tensor the file does not hold");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::kBadArgs);
    }
  }
}

TEST_CASE("config: the golden tiny config parses with its fastvithd_config") {
  ModelConfig c = load_model_config(test::golden("tiny/model/config.json"));
  CHECK(c.llm.hidden_size == 64);
  CHECK(c.vision.image_size == 256);
  CHECK(c.vision.embed_dims.back() * 2 == c.mm_hidden_size);
  CHECK(c.projector_depth == 2);
}

TEST_CASE("config: a zero attention_head_dim or output_stride is bad_model, not a division by zero") {
  std::ifstream in(test::golden("tiny/model/config.json"));
  const nlohmann::json tiny = nlohmann::json::parse(in);
  for (const char* key : {"attention_head_dim", "output_stride"}) {
    CAPTURE(key);
    nlohmann::json j = tiny;
    j["fastvithd_config"][key] = 0;
    Errc code = Errc::kInternal;
    try {
      parse_model_config(j);
    } catch (const Error& e) {
      code = e.code();
    }
    CHECK(code == Errc::kBadModel);
  }
}

TEST_CASE("config: released configs and bad configs") {
  ModelConfig c = released_config(ReleasedModel::k0_5B);
  CHECK(c.vision.image_size == 1024);
  CHECK(c.vision.tokens_for(1024) == 256);
  CHECK(c.llm.head_dim() == 64);
  CHECK(released_config(ReleasedModel::k7B).llm.kv_dim() == 512);
  nlohmann::json j = c.raw;
  j.erase("hidden_size");
  CHECK_THROWS_AS(parse_model_config(j), Error);
  j = c.raw;
  j["model_type"] = "llama";
  CHECK_THROWS_AS(parse_model_config(j), Error);
  j = c.raw;
  j["mm_hidden_size"] = 1000;
  CHECK_THROWS_AS(parse_model_config(j), Error);
}

TEST_CASE("enum names: one table gives name, names and parse, a bad name is bad_args naming the choices") {
  enum class Fruit { kApple, kPear, kPlum };
  constexpr EnumName<Fruit> table[] = {
      {Fruit::kApple, "apple"}, {Fruit::kPear, "pear"}, {Fruit::kPlum, "plum"}};
  CHECK(enum_name<Fruit>(table, Fruit::kPear) == "pear");
  CHECK(enum_names<Fruit>(table) == std::vector<std::string>{"apple", "pear", "plum"});
  CHECK(parse_enum<Fruit>(table, "plum", "fruit") == Fruit::kPlum);
  try {
    parse_enum<Fruit>(table, "Plum", "fruit");  // names are exact
    FAIL("no error for an unknown name");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kBadArgs);
    CHECK(std::string(e.what()) == "fruit must be apple, pear or plum, got 'Plum'");
  }
}
