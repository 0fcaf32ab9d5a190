#include "core/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit is 100 MB

bool parse_dtype(const std::string& s, DType& out) {
  if (s == "F32")
    out = DType::F32;
  else if (s == "F16")
    out = DType::F16;
  else if (s == "BF16")
    out = DType::BF16;
  else if (s == "I64")
    out = DType::I64;
  else if (s == "I32")
    out = DType::I32;
  else if (s == "U8" || s == "BOOL")
    out = DType::U8;
  else
    return false;
  return true;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(Errc::kBadModel, fmt::format("{}: corrupt safetensors file: {}", path, what));
}

}  // namespace

void read_safetensors(const std::string& path, TensorMap& out) {
  std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  const size_t size = file->size();
  if (size < 8) bad(path, fmt::format("{} bytes is too short for a header", size));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file->data()[i];
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    bad(path, fmt::format("header length {} exceeds the file ({} bytes)", header_len, size));
  const char* hp = reinterpret_cast<const char*>(file->data() + 8);
  nlohmann::json header = nlohmann::json::parse(hp, hp + header_len, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) bad(path, "header is not a JSON object");

  const uint8_t* data = file->data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets") || !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
      bad(path, fmt::format("tensor '{}' has a malformed entry", name));
    DType dt;
    if (!parse_dtype(info["dtype"].get<std::string>(), dt))
      throw Error(Errc::kBadModel, fmt::format("{}: tensor '{}' has unsupported dtype {}", path, name,
                                               info["dtype"].get<std::string>()));
    Shape shape;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned()) bad(path, fmt::format("tensor '{}' has a bad shape", name));
      shape.push_back(d.get<int64_t>());
      if (shape.back() > (int64_t(1) << 40)) bad(path, fmt::format("tensor '{}' dimension too large", name));
    }
    const auto& off = info["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad(path, fmt::format("tensor '{}' has bad offsets", name));
    const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e || e > data_size)
      bad(path, fmt::format("tensor '{}' bytes [{}, {}) lie outside the {} data bytes (truncated file?)",
                            name, b, e, data_size));
    const std::optional<int64_t> bytes = checked_nbytes(dt, shape);
    if (!bytes) bad(path, fmt::format("tensor '{}' shape {} overflows", name, shape_str(shape)));
    if (uint64_t(*bytes) != e - b)
      bad(path, fmt::format("tensor '{}' {} {} needs {} bytes, has {}", name,
                            info["dtype"].get<std::string>(), shape_str(shape), *bytes, e - b));
    if (out.count(name)) bad(path, fmt::format("tensor '{}' appears twice", name));
    spans.push_back({b, e, name});
    // The format does not align tensor data (HF's writer does; a hand-made file need not), and the
    // kernels read typed pointers (a misaligned uint16_t/float load is UB): such a tensor is copied
    // to an aligned buffer instead of being used in place.
    if (reinterpret_cast<uintptr_t>(data + b) % uintptr_t(dtype_bytes(dt, 1)) != 0) {
      Tensor copy = Tensor::zeros(dt, shape);
      if (e > b) std::memcpy(copy.mutable_data(), data + b, e - b);
      out.emplace(name, std::move(copy));
      continue;
    }
    out.emplace(name, Tensor::view(dt, shape, data + b, file));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      bad(path, fmt::format("tensors '{}' and '{}' overlap", spans[i - 1].name, spans[i].name));
}

TensorMap read_safetensors_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  TensorMap out;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) {
    read_safetensors(single.string(), out);
    return out;
  }
  if (!fs::exists(index))
    throw Error(Errc::kBadModel,
                fmt::format("{}: no model.safetensors or model.safetensors.index.json", dir));
  std::ifstream f(index);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(Errc::kBadModel, fmt::format("{}: malformed index (no weight_map)", index.string()));
  std::map<std::string, std::vector<std::string>> by_shard;
  for (auto& [name, shard] : j["weight_map"].items()) {
    if (!shard.is_string())
      throw Error(Errc::kBadModel, fmt::format("{}: bad shard for {}", index.string(), name));
    const std::string s = shard.get<std::string>();
    if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
      throw Error(Errc::kBadModel,
                  fmt::format("{}: shard name '{}' escapes the directory", index.string(), s));
    by_shard[s].push_back(name);
  }
  for (const auto& [shard, names] : by_shard) {
    TensorMap part;
    const fs::path p = fs::path(dir) / shard;
    if (!fs::exists(p)) throw Error(Errc::kBadModel, fmt::format("missing shard {}", p.string()));
    read_safetensors(p.string(), part);
    for (const auto& n : names)
      if (!part.count(n))
        throw Error(Errc::kBadModel, fmt::format("index says {} holds '{}', it does not", shard, n));
    for (auto& [n, t] : part) {
      if (out.count(n)) throw Error(Errc::kBadModel, fmt::format("tensor '{}' appears in two shards", n));
      out.emplace(n, std::move(t));
    }
  }
  return out;
}

}  // namespace fvlm

namespace fvlm {

void write_safetensors(const std::string& path, const TensorMap& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (t.dtype() == DType::Q8_0 || t.dtype() == DType::Q4_0)
      throw Error(Errc::kUnsupported,
                  fmt::format("safetensors cannot hold {} tensor {}", dtype_name(t.dtype()), name));
    header[name] = {{"dtype", std::string(dtype_name(t.dtype()))},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + uint64_t(t.nbytes())}}};
    offset += uint64_t(t.nbytes());
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align data to 8 bytes, as the reference writer does
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(Errc::kBadArgs, fmt::format("cannot write {}", path));
    const uint64_t n = h.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = char((n >> (8 * i)) & 0xff);
    f.write(len, 8);
    f.write(h.data(), std::streamsize(h.size()));
    for (const auto& [name, t] : tensors) f.write(static_cast<const char*>(t.data()), t.nbytes());
    if (!f) throw Error(Errc::kBadArgs, fmt::format("cannot write {} (disk full?)", path));
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace fvlm
