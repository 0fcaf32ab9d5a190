// libFuzzer target: GgufFile::parse on arbitrary bytes must either succeed with every tensor
// inside the buffer or throw fvlm::Error. Anything else (crash, ASan/UBSan report, other
// exception) is a bug. Built with clang -fsanitize=fuzzer,address,undefined (tests/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const fvlm::GgufFile f = fvlm::GgufFile::parse(data, size, nullptr, "fuzz");
    uint64_t checksum = 0;
    for (const fvlm::GgufTensorInfo& t : f.tensor_infos()) {
      if (t.offset > size || t.nbytes > size - t.offset) std::abort();  // a tensor escaped the bounds
      const fvlm::Tensor v = f.tensor(t.name);
      if (t.nbytes > 0) {  // touch first and last byte: ASan catches any escape
        const uint8_t* p = static_cast<const uint8_t*>(v.data());
        checksum += p[0] + p[t.nbytes - 1];
      }
    }
    for (const auto& [key, value] : f.metadata()) checksum += key.size() + value.size();
    volatile uint64_t sink = checksum;
    (void)sink;
  } catch (const fvlm::Error&) {
  }
  return 0;
}
