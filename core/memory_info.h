// What the kernel says about memory, for defaults that adapt to the machine (KV budget, whether
// the weights get a copy in huge pages).
#pragma once
#include <cstdint>

namespace fvlm {

// MemAvailable from /proc/meminfo in MB (free memory plus what the kernel can reclaim without
// swapping), 0 when unknown.
int64_t available_memory_mb();

}  // namespace fvlm
