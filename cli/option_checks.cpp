#include "cli/option_checks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"

namespace fvlm::cli {
namespace {
namespace fs = std::filesystem;

std::string got(const std::string& expect, const std::string& value) {
  return fmt::format("must be {}, got '{}'", expect, value);
}

// A regular file or folder's stat, or nullopt when nothing is there. Follows symlinks, as the
// writer's open() will.
std::optional<struct stat> stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

// Whether `dir` takes a new file: creates a uniquely named empty file there and removes it again.
// access(W_OK) is not enough: it says yes to root in /proc or on a read-only bind mount.
std::string probe_new_file(const std::string& dir) {
  static std::atomic<int> counter{0};
  const std::string probe =
      (fs::path(dir) / fmt::format(".fastvlm-write-probe-{}-{}", ::getpid(), counter++)).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

std::string folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

std::optional<int64_t> parse_int64(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_uint64(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);  // no sign: "-1" fails
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

CLI::Validator whole_number(int64_t lo, int64_t hi, std::string expect) {
  return CLI::Validator(
      [lo, hi, expect](std::string& s) {
        auto v = parse_int64(s);
        if (!v) {  // "100e6" (as --help writes it): a whole number in exponent form, rewritten for CLI11
          double d = 0;
          const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
          if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(d) && d == std::floor(d) &&
              std::fabs(d) < 0x1p62)
            v = int64_t(d);
        }
        if (!v || *v < lo || *v > hi) return got(expect, s);
        s = std::to_string(*v);
        return std::string();
      },
      "");
}

CLI::Validator unsigned_64bit(std::string expect) {
  return CLI::Validator([expect](std::string& s) { return parse_uint64(s) ? std::string() : got(expect, s); },
                        "");
}

CLI::Validator real_number(double lo, double hi, bool lo_open, std::string expect) {
  return CLI::Validator(
      [lo, hi, lo_open, expect](std::string& s) {
        double d = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        // Checked as the float the option is stored in: --top-p 1e-50 is 0 there.
        const float v = float(d);
        const bool ok = !s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) &&
                        (lo_open ? v > lo : v >= lo) && v <= hi;
        return ok ? std::string() : got(expect, s);
      },
      "");
}

CLI::Validator image_side() {
  return CLI::Validator(
      [](std::string& s) {
        const auto v = parse_int64(s);
        const bool ok = v && *v >= 64 && *v <= kMaxResolution && *v % 64 == 0;
        return ok ? std::string()
                  : got(fmt::format("a multiple of 64 from 64 to {} pixels (e.g. 512, 1024)", kMaxResolution),
                        s);
      },
      "");
}

void check_output_file(const std::string& path, std::string_view option) {
  auto fail = [&](const std::string& why) {
    return Error(Errc::kBadArgs, fmt::format("{} {}: {}", option, path, why),
                 {{"option", option}, {"path", path}});
  };
  if (path.empty()) throw fail("an empty path");
  if (const auto st = stat_of(path)) {
    if (S_ISDIR(st->st_mode)) throw fail("is a directory; give a file name inside it");
    if (!S_ISREG(st->st_mode)) throw fail("exists and is not a regular file");
    // Opened without O_TRUNC and closed at once: the file's contents are not touched.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) throw fail(fmt::format("cannot be written ({})", std::strerror(errno)));
    ::close(fd);
  }
  const std::string dir = folder_of(path);
  const auto dst = stat_of(dir);
  if (!dst) throw fail(fmt::format("folder {} does not exist", dir));
  if (!S_ISDIR(dst->st_mode)) throw fail(fmt::format("{} is not a folder", dir));
  if (const std::string err = probe_new_file(dir); !err.empty())
    throw fail(fmt::format("cannot create files in {} ({})", dir, err));
}

void check_output_dir(const std::string& path, std::string_view option) {
  auto fail = [&](const std::string& why) {
    return Error(Errc::kBadArgs, fmt::format("{} {}: {}", option, path, why),
                 {{"option", option}, {"path", path}});
  };
  if (path.empty()) throw fail("an empty path");
  // The nearest part of the path that exists must be a folder that takes new entries; the writer
  // creates the rest.
  fs::path p = fs::path(path);
  while (!stat_of(p.string()) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  const std::string existing = p.empty() ? "." : p.string();
  const auto st = stat_of(existing);
  if (!st) throw fail(fmt::format("{} does not exist", existing));
  if (!S_ISDIR(st->st_mode))
    throw fail(existing == path ? "exists and is not a folder" : fmt::format("{} is not a folder", existing));
  if (const std::string err = probe_new_file(existing); !err.empty())
    throw fail(fmt::format("cannot create files in {} ({})", existing, err));
}

namespace {

// CPUs a cgroup CPU quota allows (rounded up), or 0 when there is none. v2: "<quota> <period>"
// in cpu.max ("max ..." = none); v1: cpu.cfs_quota_us (-1 = none) over cpu.cfs_period_us. The
// group's own folder is tried first, then the mount root (inside a container the root is the group).
int cgroup_cpu_limit() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line, v2_group, v1_group;
  while (std::getline(cg, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers == ",,")
      v2_group = line.substr(b + 1);
    else if (controllers.find(",cpu,") != std::string::npos)
      v1_group = line.substr(b + 1);
  }
  auto cpus = [](int64_t quota, int64_t period) {
    return quota > 0 && period > 0 ? int(std::max<int64_t>(1, (quota + period - 1) / period)) : 0;
  };
  for (const std::string& dir : {"/sys/fs/cgroup" + v2_group, std::string("/sys/fs/cgroup")}) {
    std::ifstream f(dir + "/cpu.max");
    std::string quota;
    int64_t period = 0;
    if (f >> quota >> period) return quota == "max" ? 0 : cpus(parse_int64(quota).value_or(0), period);
  }
  for (const std::string root : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"})
    for (const std::string& dir : {root + v1_group, root}) {
      std::ifstream q(dir + "/cpu.cfs_quota_us"), p(dir + "/cpu.cfs_period_us");
      int64_t quota = 0, period = 0;
      if (q >> quota && p >> period) return cpus(quota, period);
    }
  return 0;
}

}  // namespace

int usable_threads() {
  int n = int(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    n = n > 0 ? std::min(n, CPU_COUNT(&set)) : CPU_COUNT(&set);
  if (const int quota = cgroup_cpu_limit(); quota > 0) n = n > 0 ? std::min(n, quota) : quota;
  return std::max(1, n);
}

int cap_threads(int requested) {
  if (requested <= 0) return 0;
  const int usable = usable_threads();
  if (requested <= usable) return requested;
  spdlog::warn("--threads {}: this process can run {} hardware thread{} at once; using {}", requested, usable,
               usable == 1 ? "" : "s", usable);
  return usable;
}

}  // namespace fvlm::cli
