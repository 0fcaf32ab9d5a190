// libFuzzer target: read_safetensors on arbitrary bytes (a checkpoint is a file from the internet)
// must either give tensors whose every byte lies in the file or throw fvlm::Error. Anything else
// (crash, ASan/UBSan report, other exception) is a bug. The reader takes a path, so each input is
// written to one in-memory file (memfd) first. Built like fuzz_gguf (tests/CMakeLists.txt).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("fuzz.safetensors", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size)) std::abort();
  try {
    fvlm::TensorMap tensors;
    fvlm::read_safetensors(path, tensors);
    uint64_t checksum = 0;
    for (const auto& [name, t] : tensors) {
      const int64_t n = t.nbytes();
      if (n < 0 || uint64_t(n) > size) std::abort();  // a tensor larger than the file
      if (n > 0) {                                    // touch first and last byte: ASan catches any escape
        const uint8_t* p = static_cast<const uint8_t*>(t.data());
        checksum += p[0] + p[n - 1];
      }
    }
    volatile uint64_t sink = checksum;
    (void)sink;
  } catch (const fvlm::Error&) {
  }
  return 0;
}
