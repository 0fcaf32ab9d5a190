#include "core/runtime.h"

#include <spdlog/spdlog.h>

#include "core/dispatch.h"
#include "core/parallel.h"

namespace fvlm {

Runtime::Runtime(int threads) {
  isa_ceiling();  // FVLM_MAX_ISA: validated, and oneDNN capped, before its first primitive
  if (threads > 0) set_num_threads(threads);
  threads_ = num_threads();
  engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
  stream_ = dnnl::stream(engine_);
  const dnnl_version_t* v = dnnl_version();
  spdlog::debug("oneDNN {}.{}.{} (cpu runtime {}, isa {}), {} threads", v->major, v->minor, v->patch,
                v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", int(dnnl::get_effective_cpu_isa()),
                threads_);
}

dnnl::memory Runtime::scratchpad(size_t bytes) {
  if (scratchpad_.empty() || size_t(scratchpad_.nbytes()) < bytes)
    scratchpad_ = Tensor::zeros(DType::U8, {int64_t(bytes)});
  const dnnl::memory::desc md({int64_t(bytes)}, dnnl::memory::data_type::u8, dnnl::memory::format_tag::a);
  return dnnl::memory(md, engine_, scratchpad_.mutable_data());
}

}  // namespace fvlm
