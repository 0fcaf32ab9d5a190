// core/dispatch.h: FVLM_MAX_ISA parsing, pick() under every ceiling, and the shape of every variant
// table in the engine (reference first, unique names, ISA tiers in order). The kernels themselves
// are checked against their references in the tests of their folders, walking the same tables.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "core/cpu_features.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "core/image.h"
#include "core/resize_pillow_kernels.h"
#include "core/widen.h"
#include "decoder/activations.h"
#include "decoder/attention_kernels.h"
#include "decoder/gemv.h"
#include "encoder/int8_rows.h"
#include "quant/dequantize.h"
#include "quant/matmul_quant.h"
#include "quant/quantize_acts.h"

using namespace fvlm;

namespace {

constexpr IsaCeiling kCeilings[] = {IsaCeiling::kScalar, IsaCeiling::kAvx2, IsaCeiling::kAvx512,
                                    IsaCeiling::kAmx, IsaCeiling::kNone};

// A table's name, and for each variant its name and feature (the shape pick() relies on).
struct TableShape {
  std::string op;
  std::vector<std::pair<std::string, CpuFeature>> variants;
};

template <class Fn>
TableShape shape(std::string op, std::span<const Variant<Fn>> table) {
  TableShape t{std::move(op), {}};
  for (const Variant<Fn>& v : table) t.variants.emplace_back(std::string(v.name), v.feature);
  return t;
}

// Every variant table of the engine. A new op adds its table here.
std::vector<TableShape> all_tables() {
  return {
      shape("matmul_q8_0", quant::matmul_q8_0_variants()),
      shape("matmul_q4_0", quant::matmul_q4_0_variants()),
      shape("dequantize_q8_0", quant::dequantize_q8_0_variants()),
      shape("dequantize_q4_0", quant::dequantize_q4_0_variants()),
      shape("quantize_acts", quant::quantize_acts_variants()),
      shape("gemv_f32", dec::gemv_variants(DType::F32)),
      shape("gemv_bf16", dec::gemv_variants(DType::BF16)),
      shape("gemv_f16", dec::gemv_variants(DType::F16)),
      shape("widen_bf16", widen_variants(DType::BF16)),
      shape("widen_f16", widen_variants(DType::F16)),
      shape("silu_mul", dec::silu_mul_variants()),
      shape("softmax", dec::softmax_variants()),
      shape("attn_scores", dec::attn_scores_variants()),
      shape("attn_weighted_sum", dec::attn_weighted_sum_variants()),
      shape("minmax_f32", enc::minmax_f32_variants()),
      shape("quantize_u8", enc::quantize_u8_variants()),
      shape("resize_horizontal", resize_kernels::horizontal_variants()),
      shape("resize_vertical", resize_kernels::vertical_variants()),
  };
}

void dummy_kernel(int) {}
using DummyFn = void (*)(int);
constexpr Variant<DummyFn> kEveryTier[] = {
    {"ref", CpuFeature::kNone, dummy_kernel},        {"avx2", CpuFeature::kAvx2, dummy_kernel},
    {"avxvnni", CpuFeature::kAvxVnni, dummy_kernel}, {"avx512vnni", CpuFeature::kAvx512Vnni, dummy_kernel},
    {"amx", CpuFeature::kAmxInt8, dummy_kernel},
};

}  // namespace

TEST_CASE("dispatch: FVLM_MAX_ISA values, and a clear bad_args error for anything else") {
  CHECK(parse_isa_ceiling("") == IsaCeiling::kNone);
  CHECK(parse_isa_ceiling("scalar") == IsaCeiling::kScalar);
  CHECK(parse_isa_ceiling("avx2") == IsaCeiling::kAvx2);
  CHECK(parse_isa_ceiling("avx512") == IsaCeiling::kAvx512);
  CHECK(parse_isa_ceiling("amx") == IsaCeiling::kAmx);
  for (const char* bad : {"AVX2", "sse4", "avx-512", "avx512vnni", " avx2", "none"}) {
    CAPTURE(bad);
    try {
      parse_isa_ceiling(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::kBadArgs);
      const std::string msg = e.what();
      CHECK(msg.find("FVLM_MAX_ISA") != std::string::npos);
      CHECK(msg.find(bad) != std::string::npos);
      CHECK(msg.find("scalar, avx2, avx512 or amx") != std::string::npos);
    }
  }
  for (IsaCeiling c : kCeilings)
    CHECK(parse_isa_ceiling(isa_ceiling_name(c) == "none" ? "" : isa_ceiling_name(c)) == c);
  // This process's own ceiling is what its environment says.
  const char* env = std::getenv("FVLM_MAX_ISA");
  CHECK(isa_ceiling() == parse_isa_ceiling(env ? env : ""));
}

TEST_CASE("dispatch: feature tiers") {
  CHECK(isa_tier(CpuFeature::kNone) == IsaCeiling::kScalar);
  CHECK(isa_tier(CpuFeature::kAvx2) == IsaCeiling::kAvx2);
  CHECK(isa_tier(CpuFeature::kAvxVnni) == IsaCeiling::kAvx2);  // VEX-encoded, ymm only
  CHECK(isa_tier(CpuFeature::kAvx512Vnni) == IsaCeiling::kAvx512);
  CHECK(isa_tier(CpuFeature::kAmxInt8) == IsaCeiling::kAmx);  // a register file of its own
  CHECK_FALSE(isa_allowed(CpuFeature::kAmxInt8, IsaCeiling::kAvx512));
  // AMX without AVX-512 VNNI is no CPU we dispatch to (the AMX kernels hand rows to the AVX-512 ones).
  if (cpu_has(CpuFeature::kAmxInt8)) CHECK(cpu_has(CpuFeature::kAvx512Vnni));
  CHECK(isa_allowed(CpuFeature::kNone, IsaCeiling::kScalar));
  CHECK_FALSE(isa_allowed(CpuFeature::kAvx2, IsaCeiling::kScalar));
  CHECK_FALSE(isa_allowed(CpuFeature::kAvx512Vnni, IsaCeiling::kAvx2));
  CHECK(isa_allowed(CpuFeature::kAvx2, IsaCeiling::kNone) == cpu_has(CpuFeature::kAvx2));
}

namespace {

// The first "model name" value and the first "flags" line of /proc/cpuinfo ("" when absent): the
// kernel read both from cpuid. (Under qemu-user they are the host's, not the emulated CPU's.)
std::pair<std::string, std::string> proc_cpuinfo() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(f, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_first_of(" \t:"));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (key == "model" && line.rfind("model name", 0) == 0 && model.empty()) model = value;
    if (key == "flags" && flags.empty()) flags = " " + value + " ";
  }
  return {model, flags};
}

}  // namespace

TEST_CASE("cpu: the brand string and the bf16/AMX features are the ones the kernel reports") {
  const std::string name = cpu_model_name();
  CAPTURE(name);
  REQUIRE(!name.empty());
  CHECK(name.front() != ' ');
  CHECK(name.back() != ' ');
  CHECK(name.find("  ") == std::string::npos);
  for (char c : name) CHECK((c >= 0x20 && c < 0x7f));
  CHECK(cpu_summary() == name + " (" + cpu_features_summary() + ")");
  const auto [model, flags] = proc_cpuinfo();
  if (model.empty() || flags.empty()) {
    MESSAGE("no /proc/cpuinfo model name or flags here: brand string not cross-checked");
    return;
  }
  std::string collapsed;  // the kernel prints the brand string as cpuid has it, padding included
  for (char c : model)
    if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' ')) collapsed += c;
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  CHECK(name == collapsed);
  std::string summary = " ";
  summary.append(cpu_features_summary()).append(" ");
  for (const char* f : {"avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni", "avx512f"}) {
    CAPTURE(f);
    std::string word = " ";  // appended, not '+': GCC 12's -Wrestrict misfires on " " + s + " "
    word.append(f).append(" ");
    CHECK((summary.find(word) != std::string::npos) == (flags.find(word) != std::string::npos));
  }
}

TEST_CASE("dispatch: pick() is the best variant the CPU runs under each ceiling") {
  const std::span<const Variant<DummyFn>> table = kEveryTier;
  CHECK(pick("dummy", table, IsaCeiling::kScalar).name == "ref");
  for (IsaCeiling c : kCeilings) {
    CAPTURE(isa_ceiling_name(c));
    const Variant<DummyFn>& got = pick("dummy", table, c);
    CHECK(isa_allowed(got.feature, c));      // runs here and within the ceiling
    for (const Variant<DummyFn>& v : table)  // and nothing later in the table would
      if (&v > &got) CHECK_FALSE(isa_allowed(v.feature, c));
  }
  MESSAGE("cpu: ", cpu_features_summary(), "; best: ", pick("dummy", table, IsaCeiling::kNone).name);
}

TEST_CASE("dispatch: every variant table starts with the reference, names unique, tiers in order") {
  const std::vector<TableShape> tables = all_tables();
  std::set<std::string> ops;
  for (const TableShape& t : tables) {
    CAPTURE(t.op);
    CHECK(ops.insert(t.op).second);
    REQUIRE(!t.variants.empty());
    CHECK(t.variants[0].first == "ref");
    CHECK(t.variants[0].second == CpuFeature::kNone);
    std::set<std::string> names;
    for (size_t i = 0; i < t.variants.size(); ++i) {
      CAPTURE(t.variants[i].first);
      CHECK(names.insert(t.variants[i].first).second);
      if (i > 0) CHECK(int(isa_tier(t.variants[i - 1].second)) <= int(isa_tier(t.variants[i].second)));
    }
  }
}

// OpenCV dispatches its own SIMD kernels (CV_CPU_DISPATCH); the ceiling must reach them too.
TEST_CASE("dispatch: the ceiling caps OpenCV's own SIMD dispatch") {
  const bool was_optimized = cv::useOptimized();
  cv::setUseOptimized(true);  // what OpenCV found on this CPU
  const bool opencv_avx512 =
      cv::checkHardwareSupport(CV_CPU_AVX_512F) || cv::checkHardwareSupport(CV_CPU_AVX512_SKX);
  for (IsaCeiling c : kCeilings) {
    CAPTURE(isa_ceiling_name(c));
    cv::setUseOptimized(true);
    const bool had_avx2 = cv::checkHardwareSupport(CV_CPU_AVX2);
    const std::string said = cap_opencv_isa(c);
    switch (c) {
      case IsaCeiling::kScalar:  // nothing above the baseline dispatched any more
        CHECK_FALSE(cv::useOptimized());
        for (int f :
             {CV_CPU_SSE4_1, CV_CPU_AVX, CV_CPU_AVX2, CV_CPU_FMA3, CV_CPU_AVX_512F, CV_CPU_AVX512_SKX})
          CHECK_FALSE(cv::checkHardwareSupport(f));
        CHECK(said.find("off") != std::string::npos);
        break;
      case IsaCeiling::kAvx2:  // no AVX-512 code; AVX2 kept where AVX-512 was not there to drop
        CHECK_FALSE(cv::checkHardwareSupport(CV_CPU_AVX_512F));
        CHECK_FALSE(cv::checkHardwareSupport(CV_CPU_AVX512_SKX));
        CHECK(cv::useOptimized() == !opencv_avx512);
        if (!opencv_avx512) CHECK(cv::checkHardwareSupport(CV_CPU_AVX2) == had_avx2);
        break;
      case IsaCeiling::kAvx512:
      case IsaCeiling::kAmx:
      case IsaCeiling::kNone:  // nothing above these tiers: OpenCV keeps all it found
        CHECK(cv::useOptimized());
        CHECK(cv::checkHardwareSupport(CV_CPU_AVX2) == had_avx2);
        CHECK(cv::checkHardwareSupport(CV_CPU_AVX_512F) == opencv_avx512);
        break;
    }
  }
  cv::setUseOptimized(was_optimized);
}
