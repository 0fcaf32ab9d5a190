#include "core/memory_info.h"

#include <fstream>
#include <string>

namespace fvlm {

int64_t available_memory_mb() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb / 1024;
  return 0;
}

}  // namespace fvlm
