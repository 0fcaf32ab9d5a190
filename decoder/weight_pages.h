// Where the LLM's weight matrices live while generating: in the model file's mapping (4 KB pages,
// shared with the page cache and other processes, nothing copied) or copied once at load into one
// block of anonymous memory backed by 2 MB pages (core/huge_pages.h), which decode streams ~30%
// faster. The copy is also the moment to lay Q8_0/Q4_0 matrices out for the int8 kernels: 16 rows
// interleaved (quant/packed.h), which batched decode and short prefills compute ~2-4x faster.
// `--weight-pages auto|huge|mapped` on the command line.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/qwen2_weights.h"

namespace fvlm::dec {

enum class WeightPages { kAuto, kHuge, kMapped };

std::string_view weight_pages_name(WeightPages p);   // "auto", "huge", "mapped"
std::vector<std::string> weight_pages_names();       // every name parse accepts (CLI checks)
WeightPages parse_weight_pages(std::string_view s);  // throws Error{kBadArgs}

// What place_weights did, for the log line and reports.
struct WeightPlacement {
  WeightPages pages = WeightPages::kMapped;  // kHuge or kMapped: what was done
  int64_t bytes = 0;                         // the matrices decode streams (copied when kHuge)
  int64_t huge_backed_bytes = -1;            // of those, backed by 2 MB pages (-1: unknown / mapped)
  int packed = 0;                            // matrices copied as Q8_0_R16 / Q4_0_R16
  double ms = 0;                             // time the copy took
  std::string reason;                        // why, in words ("kernel THP is never", ...)
};

// kHuge copies every matrix that decode multiplies by (the layers' projections and lm_head; a tied
// embedding moves with lm_head, an untied one stays: decode reads one row of it per token) into one
// huge-page block, Q8_0/Q4_0 ones with rows in 16s packed on the way (quant::packable), re-points
// `w` at the copies, and drops the source's file pages from this process. kAuto does so when the copy
// takes at most half of the available memory and either the kernel gives huge pages (THP "always" or
// "madvise") or some matrix gets packed; else, like kMapped, it leaves `w` as it is. Weights are the same
// values either way; products on packed weights are summed in another order (each block's integer dot
// exactly, then one f32 FMA per block), so logits differ in the last bits.
WeightPlacement place_weights(Qwen2Weights& w, WeightPages asked);

}  // namespace fvlm::dec
