// Argument checks that run before any model loads, with messages a person can act on: numbers in
// range (no NaN, no overflow, no silent wrap), output paths that can be written, a thread count
// the machine can run. CLI11's own range checks print "Value 0 not in range 0.000000 to 1797693…".
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fvlm::cli {

// CLI11 validators (they see the raw string before it is converted, so they catch overflow and
// NaN). On failure CLI11 reports "--option: must be <expect>, got '<value>'" as bad_args.
// whole_number rewrites "100e6" to "100000000", so attach it with ->transform(), not ->check()
// (CLI11 hands check() validators a copy).
CLI::Validator whole_number(int64_t lo, int64_t hi, std::string expect);
CLI::Validator unsigned_64bit(std::string expect);  // 0 .. 2^64-1
// A finite float in [lo, hi]; lo_open excludes lo itself (top-p 0 keeps no token).
CLI::Validator real_number(double lo, double hi, bool lo_open, std::string expect);
// An image side: a multiple of 64 in [64, 4096].
CLI::Validator image_side();
inline constexpr int kMaxResolution = 4096;

// Whole-string parses: nullopt for anything that is not exactly a number of that type in range.
std::optional<int64_t> parse_int64(std::string_view s);
std::optional<uint64_t> parse_uint64(std::string_view s);

// `path` can be written as an output file, checked without creating, truncating or touching what
// is there: its folder exists, is a folder and takes a new file; the path itself, when present, is
// a regular file that opens for writing. Throws Error{kBadArgs} naming `option`.
void check_output_file(const std::string& path, std::string_view option);
// `path` is or can become a writable output folder (created with its parents by the writer).
void check_output_dir(const std::string& path, std::string_view option);

// Hardware threads this process may run on: the CPUs of its affinity mask (which a cgroup cpuset
// narrows), further capped by a cgroup CPU quota when there is one.
int usable_threads();
// --threads N: 0 stays 0 (the OpenMP default, which follows the affinity mask); more than
// usable_threads() is capped with a warning on stderr, since extra threads only contend.
int cap_threads(int requested);

}  // namespace fvlm::cli
