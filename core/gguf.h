// GGUF v3 (ggml's model file format): a validating, memory-mapped reader and an atomic writer.
//
// File layout (all little-endian):
//   "GGUF" u32 version=3, u64 n_tensors, u64 n_kv
//   n_kv x { string key, u32 value type, value }          string = u64 length + bytes (no NUL)
//        value: scalar | string | array = { u32 elem type, u64 count, count x elem }
//   n_tensors x { string name, u32 n_dims, n_dims x u64 ne, u32 ggml type, u64 offset }
//   padding to `general.alignment` (u32, default 32), then the tensor data; every offset is
//   relative to the data start and a multiple of the alignment.
//
// Dimension order: ggml lists ne[0] first and ne[0] is the FASTEST varying (contiguous) axis.
// Our Shape is row-major with the slowest axis first, so Shape = reverse(ne): a Qwen2 weight
// [out, in] is stored as ne = {in, out}. The reader and writer do this reversal; callers only
// ever see row-major shapes.
//
// Every size, count, type, offset and bound is checked before use: a truncated or corrupted file
// throws Error{kBadModel} (known ggml tensor types fastvlm does not run: kUnsupported); the
// reader never reads outside the mapped bytes.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace fvlm {

enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string_view gguf_type_name(GgufType t);

// One metadata value: a scalar, a string, or an array of scalars or strings (arrays of arrays are
// rejected). Numbers are kept as their little-endian bytes; accessors convert and check the type.
class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f32(float v);
  static GgufValue f64(double v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue strings(std::vector<std::string> v);
  // An array of numbers/bools given as doubles or int64s, stored as `elem` (e.g. kI32, kF32).
  static GgufValue ints(GgufType elem, const std::vector<int64_t>& v);
  static GgufValue floats(GgufType elem, const std::vector<double>& v);

  GgufType type() const { return type_; }
  GgufType elem_type() const { return elem_; }  // arrays only
  bool is_array() const { return type_ == GgufType::kArray; }
  size_t size() const;  // array length (1 for scalars)

  // Scalar accessors: integer types convert to each other when the value fits, floats to double.
  // Wrong type or out of range -> Error{kBadModel} naming `what` (e.g. the key).
  int64_t as_int(std::string_view what = "value") const;
  double as_float(std::string_view what = "value") const;
  bool as_bool(std::string_view what = "value") const;
  const std::string& as_string(std::string_view what = "value") const;
  // Array accessors (elements of numeric type / of string type).
  std::vector<int64_t> as_ints(std::string_view what = "value") const;
  std::vector<double> as_floats(std::string_view what = "value") const;
  const std::vector<std::string>& as_strings(std::string_view what = "value") const;

 private:
  friend class GgufReader;
  friend class GgufWriter;
  GgufType type_ = GgufType::kU8;
  GgufType elem_ = GgufType::kU8;
  size_t count_ = 0;               // array element count
  std::vector<uint8_t> raw_;       // numeric payload (scalar or array), little-endian
  std::vector<std::string> strs_;  // string payload (scalar: one entry)
};

struct GgufTensorInfo {
  std::string name;
  DType dtype;
  Shape shape;          // row-major (ggml ne reversed)
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t nbytes = 0;
};

// A parsed GGUF file whose tensors are zero-copy views into the mapping (which they keep alive).
class GgufFile {
 public:
  // Maps `path` (Error{kNotFound} if absent) and validates it.
  static GgufFile open(const std::string& path);
  // Validates bytes already in memory; `owner` keeps them alive for the returned tensor views.
  static GgufFile parse(const uint8_t* data, size_t size, std::shared_ptr<const void> owner,
                        const std::string& what = "gguf");

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::string& path() const { return what_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;  // nullptr if absent
  const GgufValue& get(std::string_view key) const;   // Error{kBadModel} if absent

  const std::vector<GgufTensorInfo>& tensor_infos() const { return infos_; }
  bool has_tensor(std::string_view name) const;
  Tensor tensor(std::string_view name) const;     // Error{kBadModel} if absent
  std::map<std::string, Tensor> tensors() const;  // every tensor, by name

 private:
  friend class GgufReader;
  std::string what_;
  uint32_t version_ = 0, alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> infos_;
  const uint8_t* base_ = nullptr;
  std::shared_ptr<const void> owner_;
};

// Collects metadata and tensors, then writes the file in one pass: to `path` atomically (a
// StagedFile: temporary, renamed when complete), or into a StagedFile the caller commits (convert
// replaces its two files only when both are complete). Tensor bytes are produced one tensor (or one
// chunk of rows) at a time while writing, so a writer never holds a whole model.
class StagedFile;
class GgufWriter {
 public:
  // Fills rows [r0, r1) of a tensor as `dtype` bytes into `out`. A tensor's rows are its shape's
  // leading dimensions flattened (numel / last dimension); a row holds the last dimension.
  using RowFill = std::function<void(int64_t r0, int64_t r1, uint8_t* out)>;

  explicit GgufWriter(uint32_t alignment = 32);  // power of two; != 32 adds general.alignment
  void set(std::string key, GgufValue value);    // insertion order kept; duplicates: Error{kBadArgs}
  // A tensor whose bytes exist now (must stay alive until write()).
  void add_tensor(std::string name, const Tensor& t);
  // A tensor produced only while writing (one at a time: converting a 7B model needs no 7B RAM).
  // make() must return a tensor of exactly `dtype` and `shape`.
  void add_tensor(std::string name, DType dtype, Shape shape, std::function<Tensor()> make);
  // A tensor produced in chunks of rows of at most kChunkBytes (at least one row) while writing:
  // neither its source nor its output is ever whole in memory.
  void add_tensor_rows(std::string name, DType dtype, Shape shape, RowFill fill);
  static constexpr int64_t kChunkBytes = 8 << 20;

  void write(const std::string& path) const;  // Error{kIoError} if the file cannot be written
  void write(StagedFile& out) const;          // the same bytes, not committed

 private:
  struct Pending {
    std::string name;
    DType dtype;
    Shape shape;
    std::function<Tensor()> make;  // one of make / fill
    RowFill fill;
  };
  void check_new_tensor(const std::string& name, DType dtype, const Shape& shape) const;
  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Pending> tensors_;
};

// ggml type ids of the dtypes GGUF can hold (F32 0, F16 1, Q4_0 2, Q8_0 8, I32 26, I64 27, BF16 30).
uint32_t ggml_type_of(DType t);

}  // namespace fvlm
