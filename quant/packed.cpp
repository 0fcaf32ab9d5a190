#include "quant/packed.h"

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"

namespace fvlm::quant {

bool is_packed(DType t) { return t == DType::Q8_0_R16 || t == DType::Q4_0_R16; }

bool is_block_quantized(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || is_packed(t); }

DType packed_type(DType t) {
  FVLM_CHECK(t == DType::Q8_0 || t == DType::Q4_0, fmt::format("no packed form of {}", dtype_name(t)));
  return t == DType::Q8_0 ? DType::Q8_0_R16 : DType::Q4_0_R16;
}

DType ggml_type(DType t) {
  if (t == DType::Q8_0_R16) return DType::Q8_0;
  if (t == DType::Q4_0_R16) return DType::Q4_0;
  return t;
}

int32_t packed_offset(DType t) { return t == DType::Q8_0_R16 ? 128 : 8; }

int64_t packed_quant_bytes(DType t) { return t == DType::Q8_0_R16 ? 512 : 256; }

int64_t packed_group_bytes(DType t, int64_t k) { return kPackRows * dtype_bytes(t, k); }

bool packable(const Tensor& w) {
  return (w.dtype() == DType::Q8_0 || w.dtype() == DType::Q4_0) && w.rank() == 2 &&
         w.dim(0) % kPackRows == 0 && w.dim(1) % kBlock == 0;
}

namespace {

// Where block b's quants and scales of the group at `group` are (see the layout in packed.h).
struct GroupBlocks {
  uint8_t* group;
  int64_t nb, quant_bytes;
  uint8_t* quants(int64_t b) const { return group + b * quant_bytes; }
  uint8_t* scales(int64_t b) const { return group + nb * quant_bytes + b * 32; }
};

template <class Block>
void pack_group(const Block* rows, int64_t nb, GroupBlocks out) {
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* q = out.quants(b);
    uint8_t* d = out.scales(b);
    for (int64_t r = 0; r < kPackRows; ++r) {
      const Block& blk = rows[r * nb + b];
      std::memcpy(d + 2 * r, &blk.d, 2);
      if constexpr (sizeof(Block) == sizeof(BlockQ8_0)) {
        for (int j = 0; j < 8; ++j) {  // 4 values at a time; int8 + 128 as u8 is the byte ^ 0x80
          uint32_t v;
          std::memcpy(&v, blk.qs + 4 * j, 4);
          v ^= 0x80808080u;
          std::memcpy(q + 64 * j + 4 * r, &v, 4);
        }
      } else {
        for (int j = 0; j < 4; ++j) std::memcpy(q + 64 * j + 4 * r, blk.qs + 4 * j, 4);
      }
    }
  }
}

// Prefill widens every packed weight row through here (rows_to_f32 / rows_to_bf16), so it moves
// 4-byte groups and flips the Q8_0 offset 8 bytes at a time rather than a byte per step.
template <class Block>
void unpack_group_row(GroupBlocks in, int64_t r, Block* out) {
  for (int64_t b = 0; b < in.nb; ++b) {
    const uint8_t* q = in.quants(b);
    std::memcpy(&out[b].d, in.scales(b) + 2 * r, 2);
    if constexpr (sizeof(Block) == sizeof(BlockQ8_0)) {
      uint8_t u[32];
      for (int j = 0; j < 8; ++j) std::memcpy(u + 4 * j, q + 64 * j + 4 * r, 4);
      for (int i = 0; i < 4; ++i) {  // u - 128 as int8 is u ^ 0x80
        uint64_t v;
        std::memcpy(&v, u + 8 * i, 8);
        v ^= 0x8080808080808080ull;
        std::memcpy(out[b].qs + 8 * i, &v, 8);
      }
    } else {
      for (int j = 0; j < 4; ++j) std::memcpy(out[b].qs + 4 * j, q + 64 * j + 4 * r, 4);
    }
  }
}

}  // namespace

void pack_groups(const Tensor& w, int64_t g_begin, int64_t g_end, uint8_t* dst) {
  FVLM_CHECK(packable(w), fmt::format("pack: {} {} is not Q8_0/Q4_0 with rows in 16s", dtype_name(w.dtype()),
                                      shape_str(w.shape())));
  const int64_t nb = w.dim(1) / kBlock, group_bytes = packed_group_bytes(w.dtype(), w.dim(1));
  const int64_t qbytes = packed_quant_bytes(packed_type(w.dtype()));
  for (int64_t g = g_begin; g < g_end; ++g) {
    const auto* src = static_cast<const uint8_t*>(w.data()) + g * group_bytes;
    const GroupBlocks out{dst + g * group_bytes, nb, qbytes};
    if (w.dtype() == DType::Q8_0)
      pack_group(reinterpret_cast<const BlockQ8_0*>(src), nb, out);
    else
      pack_group(reinterpret_cast<const BlockQ4_0*>(src), nb, out);
  }
}

Tensor pack(const Tensor& w) {
  Tensor out = Tensor::zeros(packed_type(w.dtype()), w.shape());
  pack_groups(w, 0, w.dim(0) / kPackRows, static_cast<uint8_t*>(out.mutable_data()));
  return out;
}

void unpack_row(DType packed, const uint8_t* data, int64_t k, int64_t r, void* out) {
  FVLM_CHECK(is_packed(packed), "unpack_row: not a packed type");
  const int64_t nb = k / kBlock;
  const GroupBlocks in{const_cast<uint8_t*>(data) + r / kPackRows * packed_group_bytes(packed, k), nb,
                       packed_quant_bytes(packed)};
  if (packed == DType::Q8_0_R16)
    unpack_group_row(in, r % kPackRows, static_cast<BlockQ8_0*>(out));
  else
    unpack_group_row(in, r % kPackRows, static_cast<BlockQ4_0*>(out));
}

}  // namespace fvlm::quant

namespace fvlm::quant {

const uint8_t* unpacked_row(const Tensor& m, int64_t r) {
  thread_local std::vector<uint8_t> row;
  const int64_t k = m.dim(-1);
  row.resize(size_t(dtype_bytes(m.dtype(), k)));
  unpack_row(m.dtype(), static_cast<const uint8_t*>(m.data()), k, r, row.data());
  return row.data();
}

float packed_value(const Tensor& m, int64_t r, int64_t k) {
  const DType t = m.dtype();
  FVLM_CHECK(is_packed(t), "packed_value: not a packed type");
  const int64_t K = m.dim(-1), nb = K / kBlock, b = k / kBlock, v = k % kBlock, row = r % kPackRows;
  const uint8_t* group = static_cast<const uint8_t*>(m.data()) + r / kPackRows * packed_group_bytes(t, K);
  const int64_t quant_bytes = packed_quant_bytes(t);
  uint16_t d;  // the scales follow the quants of every block: 16 f16 per block
  std::memcpy(&d, group + nb * quant_bytes + b * 2 * kPackRows + 2 * row, sizeof d);
  const uint8_t* quants = group + b * quant_bytes;
  int q;
  if (t == DType::Q8_0_R16) {
    q = int(quants[64 * (v / 4) + 4 * row + v % 4]) - 128;
  } else {  // value v < 16 in the low nibble of ggml's qs[v], v >= 16 in the high one of qs[v - 16]
    const int64_t s = v % 16;
    const uint8_t byte = quants[64 * (s / 4) + 4 * row + s % 4];
    q = int(v < 16 ? byte & 0x0f : byte >> 4) - 8;
  }
  return float(q) * f16_to_f32(d);
}

}  // namespace fvlm::quant
