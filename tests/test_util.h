// Helpers shared by the test suites: where the golden data lives, and tensor comparisons that
// report max abs error, the tolerance-relevant scale, and cosine.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/tensor.h"

namespace fvlm::test {

// ../shared/golden (FVLM_GOLDEN_DIR at configure time; FASTVLM_GOLDEN overrides). A missing
// golden directory fails the test that needs it: nothing is skipped silently.
std::string golden_dir();
std::string golden(const std::string& rel);  // golden_dir() + "/" + rel, CHECKed to exist
// A golden JSON file, parsed; golden_e2e_cases() is tiny/e2e/cases.json's "cases" array (the CLI
// cases the official implementation ran: tag, image, question, prompt, greedy_ids), never empty.
nlohmann::json golden_json(const std::string& rel);
nlohmann::json golden_e2e_cases();
std::string source_dir();  // the repository root
std::string cli_path();    // the built fastvlm binary

// An F32 [rows, cols] matrix of values uniform in [-1, 1), the same for the same seed.
Tensor uniform_matrix(int64_t rows, int64_t cols, uint32_t seed);

struct Diff {
  double max_abs = 0;  // max |a - b|
  double max_ref = 0;  // max |b|
  double cosine = 0;   // cos(a, b) over all elements
  long worst_index = -1;
};
Diff compare(const float* a, const float* b, long n);
Diff compare(const Tensor& a, const Tensor& b);  // F32 tensors of equal numel

// The golden tolerance for fp32 vision outputs: max|diff| <= 1e-4 * max(1, max|ref|).
bool within_vision_tol(const Diff& d);
// One line for a test's MESSAGE: max_abs, max_ref, their ratio and the cosine.
std::string describe(const Diff& d);

// A whole file's bytes ("" when it cannot be opened), in one read: test code builds at -O0 under
// the sanitizers, where istreambuf_iterator's byte-at-a-time loop took ~25 of the 38 s the
// convert byte-identity test spent reading its converted files there.
std::string file_bytes(const std::string& path);

// Token ids from an I32 .npy file (the goldens' input_ids and greedy_ids); another dtype throws.
std::vector<int32_t> read_ids(const std::string& path);

// A directory "<name>_<pid>" in the temp directory, removed with everything in it when the object is
// destroyed (for the static one behind temp_path: when the process exits normally). ctest runs
// hundreds of test processes per suite, and what each left behind (converted models, logits, logs:
// tens of MB per case) filled /tmp run after run. A forked child that exits through the normal path
// must not remove its parent's files: only the process that made the directory removes it.
class ProcessTempDir {
 public:
  explicit ProcessTempDir(const std::string& name);
  ~ProcessTempDir();
  ProcessTempDir(const ProcessTempDir&) = delete;
  ProcessTempDir& operator=(const ProcessTempDir&) = delete;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  pid_t owner_;
  std::filesystem::path dir_;
};

// A path in a directory of the temp directory that no other test process uses, "fvlm_<pid>/<name>"
// (ctest runs test cases as parallel processes, so fixed names race); the directory and all in it
// are removed when the process exits.
std::string temp_path(const std::string& name);

// A shell prefix capping the memory of the command after it at ~4 GB, so that a regression sizing
// an allocation from a hostile value fails fast instead of taking the machine down. ASan reserves
// terabytes of shadow address space, which `ulimit -v` forbids: under ASan the cap is its own RSS
// limit instead.
std::string memory_cap_prefix();
// A shell prefix for a command run under strace or gdb: LeakSanitizer cannot work under ptrace
// (it stops the world with ptrace itself), so under ASan its leak check is turned off there.
std::string traced_prefix();

// Runs a shell command, returns its exit status; stdout captured into `out`.
int run_command(const std::string& cmd, std::string& out);

// Threads of this process, as the kernel lists them (/proc/self/task).
int process_threads();
// The same once it reaches `expected` (a thread told to exit may still be exiting), or whatever it
// is after 2 s.
int process_threads_settled(int expected);

}  // namespace fvlm::test
