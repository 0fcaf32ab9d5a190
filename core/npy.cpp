#include "core/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "core/error.h"
#include "core/staged_file.h"

namespace fvlm {
namespace {

std::string npy_descr(DType t) {
  switch (t) {
    case DType::F32:
      return "<f4";
    case DType::F16:
      return "<f2";
    case DType::I32:
      return "<i4";
    case DType::I64:
      return "<i8";
    case DType::U8:
      return "|u1";
    default:
      throw Error(Errc::kUnsupported, fmt::format("cannot write {} as .npy", dtype_name(t)));
  }
}

DType dtype_from_descr(const std::string& d, const std::string& path) {
  if (d == "<f4") return DType::F32;
  if (d == "<f2") return DType::F16;
  if (d == "<i4") return DType::I32;
  if (d == "<i8") return DType::I64;
  if (d == "|u1" || d == "|b1" || d == "<u1") return DType::U8;
  throw Error(Errc::kBadArgs, fmt::format("{}: unsupported npy dtype '{}'", path, d));
}

}  // namespace

namespace {
// A Fortran-order (column-major) array read as raw bytes -> the same array in C (row-major) order.
Tensor fortran_to_c_order(const Tensor& raw) {
  const Shape& shape = raw.shape();
  Tensor out = Tensor::zeros(raw.dtype(), shape);
  const int64_t esize = dtype_bytes(raw.dtype(), 1), n = raw.numel(), rank = int64_t(shape.size());
  const auto* src = static_cast<const char*>(raw.data());
  auto* dst = static_cast<char*>(out.mutable_data());
  std::vector<int64_t> idx(rank, 0);  // C-order multi-index of element i
  for (int64_t i = 0; i < n; ++i) {
    int64_t f = 0;  // its Fortran offset: first axis fastest
    for (int64_t a = rank - 1; a >= 0; --a) f = f * shape[a] + idx[a];
    std::memcpy(dst + i * esize, src + f * esize, size_t(esize));
    for (int64_t a = rank - 1; a >= 0 && ++idx[a] == shape[a]; --a) idx[a] = 0;
  }
  return out;
}
}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(Errc::kNotFound, fmt::format("cannot open {}", path));
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error(Errc::kBadArgs, fmt::format("{}: not a .npy file", path));
  const int major = magic[6];
  uint32_t header_len = 0;
  if (major == 1) {
    uint8_t b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    uint8_t b[4];
    f.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  if (!f || header_len > (1u << 20)) throw Error(Errc::kBadArgs, fmt::format("{}: bad npy header", path));
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len))
    throw Error(Errc::kBadArgs, fmt::format("{}: truncated npy header", path));
  std::smatch m;
  static const std::regex descr_re(R"('descr'\s*:\s*'([^']+)')");
  static const std::regex order_re(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
  if (!std::regex_search(header, m, descr_re))
    throw Error(Errc::kBadArgs, path + ": npy header has no descr");
  const DType dt = dtype_from_descr(m[1], path);
  const bool fortran = std::regex_search(header, m, order_re) && m[1] == "True";
  if (!std::regex_search(header, m, shape_re))
    throw Error(Errc::kBadArgs, path + ": npy header has no shape");
  Shape shape;
  const std::string dims = m[1];
  static const std::regex num_re(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num_re); it != std::sregex_iterator(); ++it) {
    if (it->length() > 18)
      throw Error(Errc::kBadArgs, fmt::format("{}: npy dimension {} is too large", path, it->str()));
    shape.push_back(std::stoll(it->str()));
  }
  // The data must be in the file before anything is allocated for it: a header may claim any shape.
  const std::streampos data_begin = f.tellg();
  f.seekg(0, std::ios::end);
  const std::streamoff data_bytes = f.tellg() - data_begin;
  f.seekg(data_begin);
  const std::optional<int64_t> bytes = checked_nbytes(dt, shape);
  if (!bytes || *bytes > data_bytes)
    throw Error(Errc::kBadArgs, fmt::format("{}: npy shape {} needs more than the file's {} data bytes", path,
                                            shape_str(shape), int64_t(data_bytes)));
  Tensor t = Tensor::zeros(dt, shape);
  if (!f.read(static_cast<char*>(t.mutable_data()), t.nbytes()))
    throw Error(Errc::kBadArgs, fmt::format("{}: truncated npy data", path));
  return fortran ? fortran_to_c_order(t) : t;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string shape;
  for (size_t i = 0; i < t.shape().size(); ++i) shape += fmt::format("{}{}", i ? ", " : "", t.shape()[i]);
  if (t.shape().size() == 1) shape += ",";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", npy_descr(t.dtype()), shape);
  // Pad so that the data starts on a 64-byte boundary, header ends with '\n' (format 1.0).
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  StagedFile f(path);
  const uint16_t len = uint16_t(header.size());
  const char magic_len[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, char(len & 0xff), char(len >> 8)};
  f.write(magic_len, sizeof magic_len);
  f.write(header.data(), header.size());
  f.write(t.data(), size_t(t.nbytes()));
  f.commit();
}

}  // namespace fvlm
