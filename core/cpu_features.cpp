#include "core/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace fvlm {
namespace {

struct Detected {
  bool avx2 = false, fma = false, f16c = false, avx_vnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  bool avx512bf16 = false, amx_tile = false, amx_bf16 = false, amx_int8 = false;  // named, not dispatched on
  bool os_ymm = false, os_zmm = false, os_amx = false;
  bool amx_granted = false;  // Linux lets this process use the tile data (arch_prctl)
};

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

Detected detect() {
  Detected d;
  unsigned a = 0, b = 0, c = 0, e = 0;
  if (!__get_cpuid(1, &a, &b, &c, &e)) return d;
  const bool osxsave = c & (1u << 27);
  d.fma = c & (1u << 12);
  d.f16c = c & (1u << 29);
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    d.os_ymm = (xcr0 & 0x6) == 0x6;          // SSE + AVX state
    d.os_zmm = (xcr0 & 0xe6) == 0xe6;        // + opmask, ZMM_Hi256, Hi16_ZMM
    d.os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
  }
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, e);
    d.avx2 = b & (1u << 5);
    d.avx512f = b & (1u << 16);
    d.avx512dq = b & (1u << 17);
    d.avx512bw = b & (1u << 30);
    d.avx512vl = b & (1u << 31);
    d.avx512vnni = c & (1u << 11);
    d.amx_bf16 = e & (1u << 22);
    d.amx_tile = e & (1u << 24);
    d.amx_int8 = e & (1u << 25);
    __cpuid_count(7, 1, a, b, c, e);
    d.avx_vnni = a & (1u << 4);
    d.avx512bf16 = a & (1u << 5);
  }
  // Linux enables the 8 KB of tile data per process on request (ARCH_REQ_XCOMP_PERM for
  // XFEATURE_XTILEDATA); a tile instruction before it faults. oneDNN asks the same for its kernels.
  if (d.os_amx && d.amx_tile) {
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    d.amx_granted = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }
  return d;
}

const Detected& detected() {
  static const Detected d = detect();  // immutable after first use
  return d;
}

}  // namespace

std::string_view cpu_feature_name(CpuFeature f) {
  switch (f) {
    case CpuFeature::kNone:
      return "none";
    case CpuFeature::kAvx2:
      return "avx2";
    case CpuFeature::kAvxVnni:
      return "avx_vnni";
    case CpuFeature::kAvx512Vnni:
      return "avx512_vnni";
    case CpuFeature::kAmxInt8:
      return "amx_int8";
  }
  return "?";
}

bool cpu_has(CpuFeature f) {
  const Detected& d = detected();
  const bool avx2 = d.os_ymm && d.avx2 && d.fma && d.f16c;
  const bool avx512 = avx2 && d.os_zmm && d.avx512f && d.avx512bw && d.avx512vl && d.avx512dq && d.avx512vnni;
  switch (f) {
    case CpuFeature::kNone:
      return true;
    case CpuFeature::kAvx2:
      return avx2;
    case CpuFeature::kAvxVnni:
      return avx2 && d.avx_vnni;
    case CpuFeature::kAvx512Vnni:
      return avx512;
    case CpuFeature::kAmxInt8:
      return avx512 && d.os_amx && d.amx_tile && d.amx_int8 && d.amx_granted;
  }
  return false;
}

std::string cpu_features_summary() {
  const Detected& d = detected();
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(d.avx2 && d.os_ymm, "avx2");
  add(d.fma, "fma");
  add(d.f16c, "f16c");
  add(d.avx_vnni, "avx_vnni");
  add(d.avx512f && d.os_zmm, "avx512f");
  add(d.avx512bw, "avx512bw");
  add(d.avx512vl, "avx512vl");
  add(d.avx512vnni, "avx512_vnni");
  add(d.avx512bf16 && d.os_zmm, "avx512_bf16");
  add(d.os_amx && d.amx_tile && d.amx_bf16, "amx_bf16");
  add(d.os_amx && d.amx_tile && d.amx_int8, "amx_int8");
  return s.empty() ? "none" : s;
}

std::string cpu_model_name() {
  unsigned regs[12] = {};
  if (__get_cpuid_max(0x80000000, nullptr) < 0x80000004) return "unknown";
  for (unsigned i = 0; i < 3; ++i)
    __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  const auto* raw = reinterpret_cast<const char*>(regs);
  std::string name;
  for (size_t i = 0; i < sizeof(regs) && raw[i] != '\0'; ++i) {
    const bool space = raw[i] == ' ';
    if (space && (name.empty() || name.back() == ' ')) continue;  // vendors pad with spaces
    name += raw[i];
  }
  while (!name.empty() && name.back() == ' ') name.pop_back();
  return name.empty() ? "unknown" : name;
}

std::string cpu_summary() { return cpu_model_name() + " (" + cpu_features_summary() + ")"; }

}  // namespace fvlm
