// The ceiling of kernel selection (FVLM_MAX_ISA) and what it means for oneDNN.
#include "core/dispatch.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "core/error.h"
#include "core/image.h"

namespace fvlm {
namespace {

constexpr const char* kEnv = "FVLM_MAX_ISA";

// oneDNN's highest ISA inside each of our tiers. oneDNN has no plain-C++ level: its floor is
// SSE4.1, the x86-64 baseline it JITs for. avx2 includes AVX2-VNNI, as our avx2 tier does;
// avx512 stops before AMX (a different register file, not an AVX-512 tier), which amx adds.
dnnl::cpu_isa onednn_isa(IsaCeiling c) {
  switch (c) {
    case IsaCeiling::kScalar:
      return dnnl::cpu_isa::sse41;
    case IsaCeiling::kAvx2:
      return dnnl::cpu_isa::avx2_vnni;
    case IsaCeiling::kAvx512:
      return dnnl::cpu_isa::avx512_core_bf16;
    case IsaCeiling::kAmx:
      return dnnl::cpu_isa::avx512_core_amx;
    case IsaCeiling::kNone:
      break;
  }
  return dnnl::cpu_isa::all;
}

struct CeilingFromEnv {
  IsaCeiling ceiling = IsaCeiling::kNone;
  std::string error;  // non-empty: FVLM_MAX_ISA holds an unknown value
};

CeilingFromEnv read_env_once() {
  CeilingFromEnv r;
  const char* v = std::getenv(kEnv);
  try {
    r.ceiling = parse_isa_ceiling(v ? v : "");
  } catch (const Error& e) {
    r.error = e.what();
    return r;
  }
  if (r.ceiling == IsaCeiling::kNone) return r;
  // Before the first primitive, so that the whole engine honours the ceiling.
  const std::string opencv = cap_opencv_isa(r.ceiling);
  const dnnl::status st = dnnl::set_max_cpu_isa(onednn_isa(r.ceiling));
  if (st != dnnl::status::success)
    spdlog::warn("{}={}: oneDNN was already in use, its ISA is not capped ({})", kEnv,
                 isa_ceiling_name(r.ceiling), opencv);
  else
    spdlog::debug("{}={}: kernels, oneDNN and OpenCV capped ({})", kEnv, isa_ceiling_name(r.ceiling), opencv);
  return r;
}

}  // namespace

IsaCeiling parse_isa_ceiling(std::string_view value) {
  if (value.empty()) return IsaCeiling::kNone;
  if (value == "scalar") return IsaCeiling::kScalar;
  if (value == "avx2") return IsaCeiling::kAvx2;
  if (value == "avx512") return IsaCeiling::kAvx512;
  if (value == "amx") return IsaCeiling::kAmx;
  throw Error(Errc::kBadArgs,
              fmt::format("{}='{}' is not an ISA level: use scalar, avx2, avx512 or amx", kEnv, value));
}

std::string_view isa_ceiling_name(IsaCeiling c) {
  switch (c) {
    case IsaCeiling::kScalar:
      return "scalar";
    case IsaCeiling::kAvx2:
      return "avx2";
    case IsaCeiling::kAvx512:
      return "avx512";
    case IsaCeiling::kAmx:
      return "amx";
    case IsaCeiling::kNone:
      return "none";
  }
  return "?";
}

IsaCeiling isa_tier(CpuFeature f) {
  switch (f) {
    case CpuFeature::kNone:
      return IsaCeiling::kScalar;
    case CpuFeature::kAvx2:
    case CpuFeature::kAvxVnni:
      return IsaCeiling::kAvx2;
    case CpuFeature::kAvx512Vnni:
      return IsaCeiling::kAvx512;
    case CpuFeature::kAmxInt8:
      return IsaCeiling::kAmx;
  }
  return IsaCeiling::kNone;
}

IsaCeiling isa_ceiling() {
  static const CeilingFromEnv env = read_env_once();  // immutable after the first call
  if (!env.error.empty()) throw Error(Errc::kBadArgs, env.error);
  return env.ceiling;
}

bool isa_allowed(CpuFeature f, IsaCeiling ceiling) {
  return cpu_has(f) && (ceiling == IsaCeiling::kNone || int(isa_tier(f)) <= int(ceiling));
}

bool isa_allowed(CpuFeature f) { return isa_allowed(f, isa_ceiling()); }

namespace detail {

void log_pick(std::string_view op, std::string_view variant, CpuFeature f) {
  spdlog::debug("{}: variant '{}' (needs {}; cpu: {}; ceiling: {})", op, variant, cpu_feature_name(f),
                cpu_features_summary(), isa_ceiling_name(isa_ceiling()));
}

void check_table(std::string_view op, std::size_t size, CpuFeature first) {
  FVLM_CHECK(size > 0 && first == CpuFeature::kNone,
             fmt::format("{}: a variant table starts with the reference (needs nothing)", op));
}

}  // namespace detail
}  // namespace fvlm
