// A hash that is the same on every machine, compiler and run (unlike std::hash): FNV-1a 64 over
// the bytes. Shards pick their images with it and resume keys are written with it, so both must
// stay stable across releases too.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace fvlm::cli {

inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

inline std::string hex64(uint64_t h) { return fmt::format("{:016x}", h); }

}  // namespace fvlm::cli
