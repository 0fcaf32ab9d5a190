// Anonymous memory backed by transparent huge pages (2 MB on x86-64), for data streamed in full
// again and again: the LLM's weights, read once per generated token.
//
// Why: from a file mapping (4 KB pages), one decode step of the 0.5B at Q8_0 walks ~128k pages;
// the TLB misses and the prefetchers stopping at every 4 KB boundary left ~30% of the memory
// bandwidth unused (bench/README.md "Weights in huge pages": Q8_0 decode 38 -> 50 tokens/s).
// Linux gives anonymous memory huge pages when /sys/kernel/mm/transparent_hugepage/enabled is
// "always", or "madvise" and the range is advised MADV_HUGEPAGE (both done here). File mappings of
// ordinary filesystems get none.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace fvlm {

enum class ThpMode { kAlways, kMadvise, kNever, kUnknown };

// What the kernel offers (the bracketed word of .../transparent_hugepage/enabled); kUnknown when
// the file is missing (not Linux, or a kernel without THP).
ThpMode transparent_huge_pages();
std::string_view thp_mode_name(ThpMode m);  // "always", "madvise", "never", "unknown"

// `bytes` of zero-filled anonymous memory, 2 MB aligned, advised MADV_HUGEPAGE; unmapped when the
// last owner goes. Pages are faulted in as written (the kernel picks huge pages then).
// Throws Error{kOutOfMemory} when the mapping fails.
std::shared_ptr<uint8_t> allocate_huge_pages(size_t bytes);

// Bytes of the mapping holding `p` that are backed by huge pages now (AnonHugePages in
// /proc/self/smaps), -1 when it cannot be told. For logs and tests: the kernel may grant fewer
// than asked (fragmented memory) and nothing breaks then, it is only slower.
int64_t huge_page_backed_bytes(const void* p);

}  // namespace fvlm
