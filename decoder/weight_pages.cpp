#include "decoder/weight_pages.h"

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/huge_pages.h"
#include "core/mapped_file.h"
#include "core/memory_info.h"
#include "core/parallel.h"
#include "quant/packed.h"

namespace fvlm::dec {
namespace {

constexpr EnumName<WeightPages> kWeightPagesNames[] = {
    {WeightPages::kAuto, "auto"}, {WeightPages::kHuge, "huge"}, {WeightPages::kMapped, "mapped"}};

// Each copy starts on a cache line, as the kernels' loads assume nothing coarser.
constexpr int64_t kCopyAlign = 64;
int64_t copy_bytes(int64_t n) { return (n + kCopyAlign - 1) / kCopyAlign * kCopyAlign; }

// The matrices decode streams every token, each once (a tied lm_head is the embedding tensor).
std::vector<Tensor*> streamed_matrices(Qwen2Weights& w) {
  std::vector<Tensor*> v;
  for (Qwen2LayerW& l : w.layers)
    for (Tensor* t : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj})
      v.push_back(t);
  v.push_back(&w.lm_head);
  return v;
}

// Why kAuto keeps the mapping, or "" when it copies.
// Without transparent huge pages a copy still pays when it packs matrices (the int8 kernels' layout
// is most of the gain: prefill and batched steps), not otherwise.
std::string reason_to_stay_mapped(int64_t bytes, bool packs_any) {
  const ThpMode thp = transparent_huge_pages();
  if (thp != ThpMode::kAlways && thp != ThpMode::kMadvise && !packs_any)
    return fmt::format("the kernel gives no transparent huge pages (THP {}) and no matrix is Q8_0/Q4_0",
                       thp_mode_name(thp));
  const int64_t avail_mb = available_memory_mb();
  if (avail_mb > 0 && (bytes >> 20) > avail_mb / 2)
    return fmt::format("a copy of {} MB would take over half of the {} MB available", bytes >> 20, avail_mb);
  return "";
}

}  // namespace

std::string_view weight_pages_name(WeightPages p) { return enum_name<WeightPages>(kWeightPagesNames, p); }
std::vector<std::string> weight_pages_names() { return enum_names<WeightPages>(kWeightPagesNames); }
WeightPages parse_weight_pages(std::string_view s) {
  return parse_enum<WeightPages>(kWeightPagesNames, s, "weight pages");
}

WeightPlacement place_weights(Qwen2Weights& w, WeightPages asked) {
  const std::vector<Tensor*> mats = streamed_matrices(w);
  WeightPlacement r;
  for (const Tensor* t : mats) r.bytes += copy_bytes(t->nbytes());
  if (asked == WeightPages::kMapped) {
    r.reason = "--weight-pages mapped";
    return r;
  }
  if (asked == WeightPages::kAuto) {
    bool packs_any = false;
    for (const Tensor* t : mats) packs_any = packs_any || quant::packable(*t);
    r.reason = reason_to_stay_mapped(r.bytes, packs_any);
    if (!r.reason.empty()) return r;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<uint8_t> block;
  try {
    block = allocate_huge_pages(size_t(r.bytes));
  } catch (const Error& e) {
    if (asked == WeightPages::kHuge) throw;
    r.reason = e.what();  // auto: the mapping still works, only slower
    return r;
  }
  const bool tied = w.embed_tokens.data() == w.lm_head.data();
  // Copy in ~2 MB pieces over the threads: faulting in the huge pages is most of the work. A
  // packable matrix goes in whole 16-row groups, interleaved on the way.
  struct Piece {
    const Tensor* t;
    int64_t from, bytes;  // byte range of t (for a packed matrix: whole groups)
    uint8_t* to;          // the start of t's copy
    int64_t group_bytes;  // a packed matrix's 16-row group; 0: copied as it is
  };
  std::vector<Piece> pieces;
  int64_t offset = 0;
  for (Tensor* t : mats) {
    const int64_t group = quant::packable(*t) ? quant::packed_group_bytes(t->dtype(), t->dim(1)) : 0;
    const int64_t unit = group > 0 ? group : 1;
    const int64_t step = std::max<int64_t>(1, (int64_t(2) << 20) / unit) * unit;
    for (int64_t o = 0; o < t->nbytes(); o += step)
      pieces.push_back({t, o, std::min<int64_t>(step, t->nbytes() - o), block.get() + offset, group});
    offset += copy_bytes(t->nbytes());
  }
  // Each piece's file pages go as soon as it is copied: the peak stays near one copy of the weights.
  parallel_for(int64_t(pieces.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Piece& pc = pieces[size_t(i)];
      const auto* src = static_cast<const uint8_t*>(pc.t->data());
      if (pc.group_bytes > 0)
        quant::pack_groups(*pc.t, pc.from / pc.group_bytes, (pc.from + pc.bytes) / pc.group_bytes, pc.to);
      else
        std::memcpy(pc.to + pc.from, src + pc.from, size_t(pc.bytes));
      MappedFile::drop_resident_range(src + pc.from, size_t(pc.bytes));  // no-op for heap tensors
    }
  });
  offset = 0;
  for (Tensor* t : mats) {
    const DType type = quant::packable(*t) ? quant::packed_type(t->dtype()) : t->dtype();
    r.packed += quant::is_packed(type);
    *t = Tensor::view(type, t->shape(), block.get() + offset, block);
    offset += copy_bytes(t->nbytes());
  }
  if (tied) w.embed_tokens = w.lm_head;
  r.pages = WeightPages::kHuge;
  r.huge_backed_bytes = huge_page_backed_bytes(block.get());
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (r.reason.empty())
    r.reason = asked == WeightPages::kHuge ? "--weight-pages huge"
                                           : fmt::format("THP {}", thp_mode_name(transparent_huge_pages()));
  return r;
}

}  // namespace fvlm::dec
