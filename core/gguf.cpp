#include "core/gguf.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <unistd.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/staged_file.h"

namespace fvlm {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxAlignment = 1u << 20;
constexpr int kMaxDims = 4;           // GGML_MAX_DIMS
constexpr size_t kMaxNameBytes = 64;  // GGML_MAX_NAME (incl. NUL in ggml): names < 64
constexpr uint64_t kMaxKeyBytes = 65535;

// Size in bytes of a numeric/bool element; 0 for string/array.
size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

bool valid_type(uint32_t t) { return t <= uint32_t(GgufType::kF64); }

struct GgmlType {
  uint32_t id;
  const char* name;
  bool supported;
  DType dtype;
};
// The ggml types we map to DType; a few others named only for error messages.
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", true, DType::F32},    {1, "F16", true, DType::F16},    {2, "Q4_0", true, DType::Q4_0},
    {3, "Q4_1", false, DType::F32},  {6, "Q5_0", false, DType::F32},  {7, "Q5_1", false, DType::F32},
    {8, "Q8_0", true, DType::Q8_0},  {10, "Q2_K", false, DType::F32}, {11, "Q3_K", false, DType::F32},
    {12, "Q4_K", false, DType::F32}, {13, "Q5_K", false, DType::F32}, {14, "Q6_K", false, DType::F32},
    {24, "I8", false, DType::F32},   {25, "I16", false, DType::F32},  {26, "I32", true, DType::I32},
    {27, "I64", true, DType::I64},   {28, "F64", false, DType::F32},  {30, "BF16", true, DType::BF16},
};

[[noreturn]] void bad(const std::string& what, const std::string& msg) {
  throw Error(Errc::kBadModel, fmt::format("{}: corrupt GGUF: {}", what, msg), {{"file", what}});
}

}  // namespace

uint32_t ggml_type_of(DType t) {
  for (const GgmlType& g : kGgmlTypes)
    if (g.supported && g.dtype == t) return g.id;
  throw Error(Errc::kUnsupported, fmt::format("dtype {} cannot be stored in GGUF", dtype_name(t)));
}

std::string_view gguf_type_name(GgufType t) {
  static constexpr const char* kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                           "bool", "string", "array", "u64", "i64", "f64"};
  return valid_type(uint32_t(t)) ? kNames[uint32_t(t)] : "?";
}

// ---- GgufValue -------------------------------------------------------------------------------

namespace {
template <class T>
void set_raw(std::vector<uint8_t>& raw, T v) {
  raw.resize(sizeof(T));
  std::memcpy(raw.data(), &v, sizeof(T));
}
}  // namespace

#define FVLM_GGUF_SCALAR(fn, T, tag) \
  GgufValue GgufValue::fn(T v) {     \
    GgufValue r;                     \
    r.type_ = GgufType::tag;         \
    r.count_ = 1;                    \
    set_raw(r.raw_, v);              \
    return r;                        \
  }
FVLM_GGUF_SCALAR(u8, uint8_t, kU8)
FVLM_GGUF_SCALAR(i8, int8_t, kI8)
FVLM_GGUF_SCALAR(u16, uint16_t, kU16)
FVLM_GGUF_SCALAR(i16, int16_t, kI16)
FVLM_GGUF_SCALAR(u32, uint32_t, kU32)
FVLM_GGUF_SCALAR(i32, int32_t, kI32)
FVLM_GGUF_SCALAR(u64, uint64_t, kU64)
FVLM_GGUF_SCALAR(i64, int64_t, kI64)
FVLM_GGUF_SCALAR(f32, float, kF32)
FVLM_GGUF_SCALAR(f64, double, kF64)
#undef FVLM_GGUF_SCALAR

GgufValue GgufValue::boolean(bool v) {
  GgufValue r = u8(v ? 1 : 0);
  r.type_ = GgufType::kBool;
  return r;
}

GgufValue GgufValue::string(std::string v) {
  GgufValue r;
  r.type_ = GgufType::kString;
  r.count_ = 1;
  r.strs_.push_back(std::move(v));
  return r;
}

GgufValue GgufValue::strings(std::vector<std::string> v) {
  GgufValue r;
  r.type_ = GgufType::kArray;
  r.elem_ = GgufType::kString;
  r.count_ = v.size();
  r.strs_ = std::move(v);
  return r;
}

namespace {
// Stores `v` as element type `t` (little-endian host assumed, as everywhere in fastvlm).
void put_number(GgufType t, double f, int64_t i, bool is_float, uint8_t* out) {
  auto put = [out](auto x) { std::memcpy(out, &x, sizeof(x)); };
  switch (t) {
    case GgufType::kU8:
      put(uint8_t(i));
      break;
    case GgufType::kI8:
      put(int8_t(i));
      break;
    case GgufType::kBool:
      put(uint8_t(i != 0));
      break;
    case GgufType::kU16:
      put(uint16_t(i));
      break;
    case GgufType::kI16:
      put(int16_t(i));
      break;
    case GgufType::kU32:
      put(uint32_t(i));
      break;
    case GgufType::kI32:
      put(int32_t(i));
      break;
    case GgufType::kU64:
      put(uint64_t(i));
      break;
    case GgufType::kI64:
      put(int64_t(i));
      break;
    case GgufType::kF32:
      put(is_float ? float(f) : float(i));
      break;
    case GgufType::kF64:
      put(is_float ? f : double(i));
      break;
    default:
      FVLM_CHECK(false, "gguf: not a numeric element type");
  }
}
}  // namespace

GgufValue GgufValue::ints(GgufType elem, const std::vector<int64_t>& v) {
  FVLM_CHECK(scalar_size(elem) > 0, "gguf: ints() needs a numeric element type");
  GgufValue r;
  r.type_ = GgufType::kArray;
  r.elem_ = elem;
  r.count_ = v.size();
  r.raw_.resize(v.size() * scalar_size(elem));
  for (size_t i = 0; i < v.size(); ++i)
    put_number(elem, 0, v[i], false, r.raw_.data() + i * scalar_size(elem));
  return r;
}

GgufValue GgufValue::floats(GgufType elem, const std::vector<double>& v) {
  FVLM_CHECK(elem == GgufType::kF32 || elem == GgufType::kF64, "gguf: floats() needs f32/f64");
  GgufValue r;
  r.type_ = GgufType::kArray;
  r.elem_ = elem;
  r.count_ = v.size();
  r.raw_.resize(v.size() * scalar_size(elem));
  for (size_t i = 0; i < v.size(); ++i)
    put_number(elem, v[i], 0, true, r.raw_.data() + i * scalar_size(elem));
  return r;
}

size_t GgufValue::size() const { return is_array() ? count_ : 1; }

namespace {
bool is_int_type(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kI8 || t == GgufType::kU16 || t == GgufType::kI16 ||
         t == GgufType::kU32 || t == GgufType::kI32 || t == GgufType::kU64 || t == GgufType::kI64;
}

// Element i of a numeric payload as int (nullopt-free: caller checked the type); u64 > INT64_MAX
// is reported through `ok`.
int64_t get_int(GgufType t, const uint8_t* p, bool& ok) {
  auto get = [p](auto x) {
    std::memcpy(&x, p, sizeof(x));
    return x;
  };
  switch (t) {
    case GgufType::kU8:
    case GgufType::kBool:
      return get(uint8_t{});
    case GgufType::kI8:
      return get(int8_t{});
    case GgufType::kU16:
      return get(uint16_t{});
    case GgufType::kI16:
      return get(int16_t{});
    case GgufType::kU32:
      return get(uint32_t{});
    case GgufType::kI32:
      return get(int32_t{});
    case GgufType::kI64:
      return get(int64_t{});
    case GgufType::kU64: {
      const uint64_t u = get(uint64_t{});
      if (u > uint64_t(std::numeric_limits<int64_t>::max())) ok = false;
      return int64_t(u);
    }
    default:
      ok = false;
      return 0;
  }
}

double get_float(GgufType t, const uint8_t* p, bool& ok) {
  if (t == GgufType::kF32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (t == GgufType::kF64) {
    double f;
    std::memcpy(&f, p, 8);
    return f;
  }
  if (is_int_type(t)) return double(get_int(t, p, ok));
  ok = false;
  return 0;
}

[[noreturn]] void type_error(std::string_view what, std::string_view want, GgufType got) {
  throw Error(Errc::kBadModel,
              fmt::format("GGUF metadata {}: expected {}, found {}", what, want, gguf_type_name(got)));
}
}  // namespace

int64_t GgufValue::as_int(std::string_view what) const {
  if (!is_int_type(type_)) type_error(what, "an integer", type_);
  bool ok = true;
  const int64_t v = get_int(type_, raw_.data(), ok);
  if (!ok) throw Error(Errc::kBadModel, fmt::format("GGUF metadata {}: value out of range", what));
  return v;
}

double GgufValue::as_float(std::string_view what) const {
  bool ok = type_ != GgufType::kBool && type_ != GgufType::kString && type_ != GgufType::kArray;
  const double v = ok ? get_float(type_, raw_.data(), ok) : 0.0;
  if (!ok) type_error(what, "a number", type_);
  return v;
}

bool GgufValue::as_bool(std::string_view what) const {
  if (type_ != GgufType::kBool) type_error(what, "a bool", type_);
  return raw_[0] != 0;
}

const std::string& GgufValue::as_string(std::string_view what) const {
  if (type_ != GgufType::kString) type_error(what, "a string", type_);
  return strs_[0];
}

std::vector<int64_t> GgufValue::as_ints(std::string_view what) const {
  if (!is_array() || !(is_int_type(elem_) || elem_ == GgufType::kBool))
    type_error(what, "an integer array", type_);
  std::vector<int64_t> out(count_);
  bool ok = true;
  for (size_t i = 0; i < count_; ++i) out[i] = get_int(elem_, raw_.data() + i * scalar_size(elem_), ok);
  if (!ok) throw Error(Errc::kBadModel, fmt::format("GGUF metadata {}: value out of range", what));
  return out;
}

std::vector<double> GgufValue::as_floats(std::string_view what) const {
  if (!is_array() || scalar_size(elem_) == 0 || elem_ == GgufType::kBool)
    type_error(what, "a number array", type_);
  std::vector<double> out(count_);
  bool ok = true;
  for (size_t i = 0; i < count_; ++i) out[i] = get_float(elem_, raw_.data() + i * scalar_size(elem_), ok);
  if (!ok) throw Error(Errc::kBadModel, fmt::format("GGUF metadata {}: value out of range", what));
  return out;
}

const std::vector<std::string>& GgufValue::as_strings(std::string_view what) const {
  if (!is_array() || elem_ != GgufType::kString) type_error(what, "a string array", type_);
  return strs_;
}

// ---- Reader ----------------------------------------------------------------------------------

// Bounds-checked little-endian cursor over the mapped bytes.
class GgufReader {
 public:
  GgufReader(const uint8_t* p, size_t n, const std::string& what) : p_(p), n_(n), what_(what) {}

  GgufFile read(std::shared_ptr<const void> owner);

 private:
  size_t left() const { return n_ - pos_; }
  void need(uint64_t bytes, const char* ctx) {
    if (bytes > left())
      bad(what_, fmt::format("truncated at byte {} reading {} ({} bytes needed, {} left)", pos_, ctx, bytes,
                             left()));
  }
  template <class T>
  T get(const char* ctx) {
    need(sizeof(T), ctx);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string(const char* ctx, uint64_t max_len) {
    const uint64_t len = get<uint64_t>(ctx);
    if (len > max_len) bad(what_, fmt::format("{} length {} exceeds {}", ctx, len, max_len));
    need(len, ctx);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return s;
  }
  GgufValue get_value(const std::string& key);
  void read_tensor_info(GgufFile& f, std::set<std::string>& names);

  const uint8_t* p_;
  size_t n_, pos_ = 0;
  const std::string& what_;
};

GgufValue GgufReader::get_value(const std::string& key) {
  const uint32_t t = get<uint32_t>("value type");
  if (!valid_type(t)) bad(what_, fmt::format("key '{}' has unknown value type {}", key, t));
  GgufValue v;
  v.type_ = GgufType(t);
  if (v.type_ == GgufType::kString) {
    v.count_ = 1;
    v.strs_.push_back(get_string("string value", left()));
    return v;
  }
  if (v.type_ != GgufType::kArray) {
    v.count_ = 1;
    const size_t sz = scalar_size(v.type_);
    need(sz, "scalar value");
    v.raw_.assign(p_ + pos_, p_ + pos_ + sz);
    pos_ += sz;
    if (v.type_ == GgufType::kBool && v.raw_[0] > 1)
      bad(what_, fmt::format("key '{}': bool value {}", key, v.raw_[0]));
    return v;
  }
  const uint32_t et = get<uint32_t>("array type");
  if (!valid_type(et) || GgufType(et) == GgufType::kArray)
    bad(what_, fmt::format("key '{}': unsupported array element type {}", key, et));
  v.elem_ = GgufType(et);
  const uint64_t count = get<uint64_t>("array length");
  // Each element takes at least its scalar size (strings: an 8-byte length), so the count is
  // bounded by the bytes left before anything is allocated.
  const uint64_t min_elem = v.elem_ == GgufType::kString ? 8 : scalar_size(v.elem_);
  if (count > left() / min_elem)
    bad(what_, fmt::format("key '{}': array length {} exceeds the file", key, count));
  v.count_ = size_t(count);
  if (v.elem_ == GgufType::kString) {
    v.strs_.reserve(v.count_);
    for (size_t i = 0; i < v.count_; ++i) v.strs_.push_back(get_string("array string", left()));
  } else {
    const size_t bytes = v.count_ * size_t(min_elem);
    v.raw_.assign(p_ + pos_, p_ + pos_ + bytes);
    pos_ += bytes;
  }
  return v;
}

void GgufReader::read_tensor_info(GgufFile& f, std::set<std::string>& names) {
  GgufTensorInfo ti;
  ti.name = get_string("tensor name", kMaxNameBytes - 1);
  const uint32_t n_dims = get<uint32_t>("tensor n_dims");
  if (n_dims < 1 || n_dims > kMaxDims) bad(what_, fmt::format("tensor '{}' has {} dims", ti.name, n_dims));
  int64_t ne[kMaxDims];
  for (uint32_t i = 0; i < n_dims; ++i) {
    const uint64_t d = get<uint64_t>("tensor dim");
    if (d > uint64_t(std::numeric_limits<int64_t>::max()))
      bad(what_, fmt::format("tensor '{}' dims overflow", ti.name));
    ne[i] = int64_t(d);
  }
  const uint32_t type = get<uint32_t>("tensor type");
  const GgmlType* g = nullptr;
  for (const GgmlType& c : kGgmlTypes)
    if (c.id == type) g = &c;
  if (!g) bad(what_, fmt::format("tensor '{}' has unknown ggml type {}", ti.name, type));
  if (!g->supported)
    throw Error(Errc::kUnsupported, fmt::format("{}: tensor '{}' has type {}, which fastvlm does not run",
                                                what_, ti.name, g->name));
  ti.dtype = g->dtype;
  if (ne[0] % dtype_block_elems(ti.dtype) != 0)
    bad(what_,
        fmt::format("tensor '{}': row of {} elements is not whole {} blocks", ti.name, ne[0], g->name));
  for (int i = int(n_dims) - 1; i >= 0; --i) ti.shape.push_back(ne[i]);  // row-major: reverse ne
  const std::optional<int64_t> nbytes = checked_nbytes(ti.dtype, ti.shape);
  if (!nbytes) bad(what_, fmt::format("tensor '{}' size overflows", ti.name));
  ti.nbytes = uint64_t(*nbytes);
  ti.offset = get<uint64_t>("tensor offset");  // relative for now
  if (!names.insert(ti.name).second) bad(what_, fmt::format("duplicate tensor '{}'", ti.name));
  f.infos_.push_back(std::move(ti));
}

GgufFile GgufReader::read(std::shared_ptr<const void> owner) {
  GgufFile f;
  f.what_ = what_;
  need(24, "header");
  if (std::memcmp(p_, kMagic, 4) != 0) bad(what_, "bad magic (not a GGUF file)");
  pos_ = 4;
  f.version_ = get<uint32_t>("version");
  if (f.version_ != kVersion) bad(what_, fmt::format("version {} (only GGUF v3 is supported)", f.version_));
  const uint64_t n_tensors = get<uint64_t>("tensor count");
  const uint64_t n_kv = get<uint64_t>("kv count");
  // Smallest encodings: kv = 8 (key length) + 4 (type) + 1 (u8 value); tensor info = 8 + 4 + 8 + 4 + 8.
  if (n_kv > left() / 13) bad(what_, fmt::format("kv count {} exceeds the file", n_kv));
  if (n_tensors > left() / 32) bad(what_, fmt::format("tensor count {} exceeds the file", n_tensors));

  std::set<std::string> keys;
  f.kv_.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = get_string("key", kMaxKeyBytes);
    if (!keys.insert(key).second) bad(what_, fmt::format("duplicate key '{}'", key));
    GgufValue v = get_value(key);
    f.kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type() != GgufType::kU32) bad(what_, "general.alignment is not a u32");
    const int64_t al = a->as_int();
    if (al == 0 || (al & (al - 1)) != 0 || al > kMaxAlignment)
      bad(what_, fmt::format("general.alignment {} is not a power of two", al));
    f.alignment_ = uint32_t(al);
  }

  std::set<std::string> names;
  f.infos_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(f, names);

  const uint64_t data_start = (uint64_t(pos_) + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (data_start > n_ && n_tensors > 0) bad(what_, "truncated before the tensor data");
  const uint64_t data_size = n_ > data_start ? n_ - data_start : 0;
  std::vector<const GgufTensorInfo*> by_offset;
  for (GgufTensorInfo& ti : f.infos_) {
    if (ti.offset % f.alignment_ != 0)
      bad(what_, fmt::format("tensor '{}' offset {} is not aligned to {}", ti.name, ti.offset, f.alignment_));
    if (ti.offset > data_size || ti.nbytes > data_size - ti.offset)
      bad(what_, fmt::format("tensor '{}' [{}, +{}) lies outside the {} data bytes", ti.name, ti.offset,
                             ti.nbytes, data_size));
    ti.offset += data_start;
    const uint64_t natural =
        std::min<uint64_t>(8, uint64_t(dtype_block_bytes(ti.dtype) & -dtype_block_bytes(ti.dtype)));
    if (ti.offset % natural != 0)
      bad(what_, fmt::format("tensor '{}' is misaligned for {}", ti.name, dtype_name(ti.dtype)));
    by_offset.push_back(&ti);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset)
      bad(what_, fmt::format("tensors '{}' and '{}' overlap", by_offset[i - 1]->name, by_offset[i]->name));
  f.base_ = p_;
  f.owner_ = std::move(owner);
  return f;
}

// ---- GgufFile --------------------------------------------------------------------------------

GgufFile GgufFile::open(const std::string& path) {
  std::shared_ptr<const MappedFile> m = MappedFile::open(path);
  return parse(m->data(), m->size(), m, path);
}

GgufFile GgufFile::parse(const uint8_t* data, size_t size, std::shared_ptr<const void> owner,
                         const std::string& what) {
  if (data == nullptr) size = 0;
  static const uint8_t kEmpty = 0;
  GgufReader r(data ? data : &kEmpty, size, what);
  return r.read(std::move(owner));
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return &v;
  return nullptr;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v)
    throw Error(Errc::kBadModel, fmt::format("{}: GGUF metadata key '{}' is missing", what_, key),
                {{"key", key}});
  return *v;
}

bool GgufFile::has_tensor(std::string_view name) const {
  return std::any_of(infos_.begin(), infos_.end(), [&](const GgufTensorInfo& t) { return t.name == name; });
}

Tensor GgufFile::tensor(std::string_view name) const {
  for (const GgufTensorInfo& t : infos_)
    if (t.name == name) return Tensor::view(t.dtype, t.shape, base_ + t.offset, owner_);
  throw Error(Errc::kBadModel, fmt::format("{}: tensor '{}' is missing", what_, name), {{"tensor", name}});
}

std::map<std::string, Tensor> GgufFile::tensors() const {
  std::map<std::string, Tensor> m;
  for (const GgufTensorInfo& t : infos_)
    m.emplace(t.name, Tensor::view(t.dtype, t.shape, base_ + t.offset, owner_));
  return m;
}

// ---- Writer ----------------------------------------------------------------------------------

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  FVLM_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "gguf: alignment must be a power of two");
  if (alignment != kDefaultAlignment) set("general.alignment", GgufValue::u32(alignment));
}

void GgufWriter::set(std::string key, GgufValue value) {
  for (const auto& kv : kv_)
    if (kv.first == key) throw Error(Errc::kBadArgs, fmt::format("GGUF key '{}' set twice", key));
  kv_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, const Tensor& t) {
  const Tensor copy = t;  // shares bytes (owned or view), keeps them alive
  add_tensor(std::move(name), t.dtype(), t.shape(), [copy] { return copy; });
}

void GgufWriter::check_new_tensor(const std::string& name, DType dtype, const Shape& shape) const {
  if (name.size() >= kMaxNameBytes)
    throw Error(Errc::kBadArgs, fmt::format("GGUF tensor name '{}' is longer than 63 bytes", name));
  if (shape.empty() || shape.size() > size_t(kMaxDims))
    throw Error(Errc::kBadArgs,
                fmt::format("GGUF tensor '{}': rank {} (1..4 supported)", name, shape.size()));
  ggml_type_of(dtype);  // throws for dtypes GGUF cannot hold
  for (const Pending& p : tensors_)
    if (p.name == name) throw Error(Errc::kBadArgs, fmt::format("GGUF tensor '{}' added twice", name));
}

void GgufWriter::add_tensor(std::string name, DType dtype, Shape shape, std::function<Tensor()> make) {
  check_new_tensor(name, dtype, shape);
  tensors_.push_back({std::move(name), dtype, std::move(shape), std::move(make), nullptr});
}

void GgufWriter::add_tensor_rows(std::string name, DType dtype, Shape shape, RowFill fill) {
  check_new_tensor(name, dtype, shape);
  dtype_bytes(dtype, shape.back());  // a row must be whole blocks (FVLM_CHECK)
  tensors_.push_back({std::move(name), dtype, std::move(shape), nullptr, std::move(fill)});
}

namespace {
// Serialises into a 1 MB buffer and hands it to the file in large write(2) calls.
class Out {
 public:
  explicit Out(StagedFile& f) : f_(f) { buf_.reserve(kBuffer); }
  template <class T>
  void put(T v) {
    bytes(&v, sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void bytes(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    if (buf_.size() + n > kBuffer) flush();
    if (n >= kBuffer)
      f_.write(c, n);  // tensor data: straight from the caller's buffer
    else
      buf_.insert(buf_.end(), c, c + n);
    pos_ += n;
  }
  void pad_to(uint64_t alignment) {
    static const char kZeros[64] = {};
    while (pos_ % alignment) bytes(kZeros, std::min<uint64_t>(64, alignment - pos_ % alignment));
  }
  void flush() {
    if (!buf_.empty()) f_.write(buf_.data(), buf_.size());
    buf_.clear();
  }
  uint64_t pos() const { return pos_; }

 private:
  static constexpr size_t kBuffer = 1 << 20;
  StagedFile& f_;
  std::vector<uint8_t> buf_;
  uint64_t pos_ = 0;
};

void put_value(Out& o, GgufType type, GgufType elem, size_t count, const std::vector<uint8_t>& raw,
               const std::vector<std::string>& strs) {
  o.put<uint32_t>(uint32_t(type));
  if (type == GgufType::kString) return o.str(strs[0]);
  if (type != GgufType::kArray) return o.bytes(raw.data(), raw.size());
  o.put<uint32_t>(uint32_t(elem));
  o.put<uint64_t>(count);
  if (elem == GgufType::kString)
    for (const std::string& s : strs) o.str(s);
  else
    o.bytes(raw.data(), raw.size());
}
}  // namespace

void GgufWriter::write(const std::string& path) const {
  StagedFile f(path);
  write(f);
  f.commit();
}

void GgufWriter::write(StagedFile& f) const {
  Out o(f);
  o.bytes(kMagic, 4);
  o.put<uint32_t>(kVersion);
  o.put<uint64_t>(tensors_.size());
  o.put<uint64_t>(kv_.size());
  for (const auto& [key, v] : kv_) {
    o.str(key);
    put_value(o, v.type_, v.elem_, v.count_, v.raw_, v.strs_);
  }
  // Every offset follows from the declared dtypes and shapes: the header is complete before any
  // tensor is produced.
  uint64_t offset = 0;
  for (const Pending& t : tensors_) {
    o.str(t.name);
    o.put<uint32_t>(uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it)
      o.put<uint64_t>(uint64_t(*it));  // ne = reversed
    o.put<uint32_t>(ggml_type_of(t.dtype));
    o.put<uint64_t>(offset);
    offset +=
        (uint64_t(dtype_bytes(t.dtype, shape_numel(t.shape))) + alignment_ - 1) / alignment_ * alignment_;
  }
  o.pad_to(alignment_);
  std::vector<uint8_t> chunk;  // reused by every row-filled tensor
  for (const Pending& t : tensors_) {
    if (t.make) {
      const Tensor data = t.make();
      FVLM_CHECK(data.dtype() == t.dtype && data.shape() == t.shape,
                 fmt::format("gguf writer: tensor '{}' produced {} {}, declared {} {}", t.name,
                             dtype_name(data.dtype()), shape_str(data.shape()), dtype_name(t.dtype),
                             shape_str(t.shape)));
      o.bytes(data.data(), size_t(data.nbytes()));
    } else {
      const int64_t cols = t.shape.back(), rows = cols == 0 ? 0 : shape_numel(t.shape) / cols;
      const int64_t row_bytes = dtype_bytes(t.dtype, cols);
      const int64_t step = std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, row_bytes));
      chunk.resize(size_t(std::min(rows, step) * row_bytes));
      for (int64_t r0 = 0; r0 < rows; r0 += step) {
        const int64_t r1 = std::min(rows, r0 + step);
        t.fill(r0, r1, chunk.data());
        o.bytes(chunk.data(), size_t((r1 - r0) * row_bytes));
      }
    }
    o.pad_to(alignment_);
  }
  o.flush();
}

}  // namespace fvlm
