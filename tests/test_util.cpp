#include "tests/test_util.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/npy.h"

#include <sys/wait.h>
#include <unistd.h>

namespace fvlm::test {

Tensor uniform_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t = Tensor::zeros(DType::F32, {rows, cols});
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(g);
  return t;
}

std::string golden_dir() {
  if (const char* e = std::getenv("FASTVLM_GOLDEN")) return e;
  return FVLM_GOLDEN_DIR;
}

std::string golden(const std::string& rel) {
  const std::string p = golden_dir() + "/" + rel;
  if (!std::filesystem::exists(p)) throw std::runtime_error("golden file missing: " + p);
  return p;
}

nlohmann::json golden_json(const std::string& rel) {
  std::ifstream f(golden(rel));
  return nlohmann::json::parse(f);
}

nlohmann::json golden_e2e_cases() {
  nlohmann::json cases = golden_json("tiny/e2e/cases.json")["cases"];
  if (!cases.is_array() || cases.empty()) throw std::runtime_error("tiny/e2e/cases.json has no cases");
  return cases;
}

std::string source_dir() { return FVLM_SOURCE_DIR; }
std::string cli_path() { return FVLM_CLI_PATH; }

Diff compare(const float* a, const float* b, long n) {
  Diff d;
  double dot = 0, na = 0, nb = 0;
  for (long i = 0; i < n; ++i) {
    const double diff = std::fabs(double(a[i]) - double(b[i]));
    if (!(diff <= d.max_abs)) {  // also catches NaN
      d.max_abs = std::isnan(diff) ? INFINITY : diff;
      d.worst_index = i;
    }
    d.max_ref = std::max(d.max_ref, std::fabs(double(b[i])));
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  d.cosine = (na > 0 && nb > 0) ? dot / std::sqrt(na * nb) : (na == nb ? 1.0 : 0.0);
  return d;
}

Diff compare(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel())
    throw std::runtime_error("compare: " + shape_str(a.shape()) + " vs " + shape_str(b.shape()));
  return compare(a.f32(), b.f32(), long(a.numel()));
}

bool within_vision_tol(const Diff& d) { return d.max_abs <= 1e-4 * std::max(1.0, d.max_ref); }

std::string describe(const Diff& d) {
  return fmt::format("max_abs {:.3g} max_ref {:.3g} rel {:.3g} cosine {:.9f}", d.max_abs, d.max_ref,
                     d.max_abs / std::max(1.0, d.max_ref), d.cosine);
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return {};
  std::string bytes(size_t(f.tellg()), '\0');
  f.seekg(0);
  f.read(bytes.data(), std::streamsize(bytes.size()));
  bytes.resize(size_t(f.gcount()));
  return bytes;
}

std::vector<int32_t> read_ids(const std::string& path) {
  const Tensor t = read_npy(path);
  if (t.dtype() != DType::I32) throw std::runtime_error("not an I32 .npy of token ids: " + path);
  const auto* p = static_cast<const int32_t*>(t.data());
  return {p, p + t.numel()};
}

ProcessTempDir::ProcessTempDir(const std::string& name)
    : owner_(::getpid()),
      dir_(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(owner_))) {
  std::filesystem::create_directories(dir_);
}

ProcessTempDir::~ProcessTempDir() {
  std::error_code ignored;
  if (::getpid() == owner_) std::filesystem::remove_all(dir_, ignored);
}

std::string temp_path(const std::string& name) {
  static const ProcessTempDir temp("fvlm");
  return (temp.dir() / name).string();
}

int run_command(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int process_threads() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

int process_threads_settled(int expected) {
  int n = process_threads();
  for (int i = 0; i < 2000 && n != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    n = process_threads();
  }
  return n;
}

std::string memory_cap_prefix() {
#if defined(__SANITIZE_ADDRESS__)
  return "export ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:hard_rss_limit_mb=4000\"; ";
#else
  return "ulimit -v 4000000; ";
#endif
}

std::string traced_prefix() {
#if defined(__SANITIZE_ADDRESS__)
  return "export ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\"; ";
#else
  return "";
#endif
}

}  // namespace fvlm::test
