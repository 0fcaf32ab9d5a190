// convert: the per-tensor storage policy, GGUF tensor names, and the driver writing both files.
#include "models/convert.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/staged_file.h"
#include "models/convert_parts.h"
#include "models/model_source.h"

namespace fvlm {
namespace fs = std::filesystem;

DType parse_convert_type(std::string_view name) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (s == "f32") return DType::F32;
  if (s == "f16") return DType::F16;
  if (s == "bf16") return DType::BF16;
  if (s == "q8_0") return DType::Q8_0;
  if (s == "q4_0") return DType::Q4_0;
  throw Error(Errc::kBadArgs, fmt::format("--type {}: expected f32, f16, bf16, q8_0 or q4_0", name));
}

DType convert_storage_dtype(const TensorSpec& spec, DType requested, bool is_output_matrix, bool pure) {
  const bool block_type = requested == DType::Q8_0 || requested == DType::Q4_0;
  switch (spec.quant) {
    case QuantPolicy::kKeepF32:
      return DType::F32;
    case QuantPolicy::kFloat16:
      return block_type ? DType::F16 : requested;
    case QuantPolicy::kUpToInt8:
    case QuantPolicy::kUpToInt4:
      if (!block_type) return requested;
      if (spec.shape.empty() || spec.shape.back() % 32 != 0) return DType::F16;
      if (!pure && requested == DType::Q4_0 && (is_output_matrix || spec.quant == QuantPolicy::kUpToInt8))
        return DType::Q8_0;
      return requested;
  }
  return DType::F32;
}

std::string gguf_vision_tensor_name(const std::string& name) {
  for (const auto& [prefix, short_prefix] :
       {std::pair{kVisionPrefix, kGgufVisionPrefix}, {kProjectorPrefix, kGgufProjectorPrefix}}) {
    const std::string p = prefix;
    if (name.rfind(p, 0) == 0) return short_prefix + name.substr(p.size());
  }
  throw Error(Errc::kInternal, fmt::format("convert: '{}' is not a vision or projector tensor", name));
}

ConvertResult convert_model(const ConvertOptions& opt) {
  const ModelSource src = open_model_source(opt.src, /*validate=*/true);
  if (src.format != ModelFormat::kHuggingFace)
    throw Error(Errc::kBadArgs, fmt::format("convert: {} is not a Hugging Face FastVLM directory", opt.src));
  std::error_code ec;
  fs::create_directories(opt.out_dir, ec);
  if (!fs::is_directory(opt.out_dir))
    throw Error(Errc::kBadArgs, fmt::format("convert: cannot create output directory {}", opt.out_dir));
  ConvertResult r;
  r.llm.path = (fs::path(opt.out_dir) / kGgufLlmFile).string();
  r.vision.path = (fs::path(opt.out_dir) / kGgufVisionFile).string();
  for (const std::string& p :
       {r.llm.path, r.vision.path})  // else the second rename could fail after the first
    if (fs::exists(p, ec) && !fs::is_regular_file(p, ec))
      throw Error(Errc::kIoError, fmt::format("convert: cannot replace {}: not a regular file", p));
  // Both files are written in full before either replaces an earlier pair; a failure on the way
  // discards both temporaries and leaves the earlier files as they were.
  const SourcePages pages;  // after open_model_source: the checkpoint is mapped now
  StagedFile llm(r.llm.path), vision(r.vision.path);
  r.llm.tensors = write_llm_gguf(src, opt.type, opt.pure, pages, llm);
  r.vision.tensors = write_vision_gguf(src, opt.type, pages, vision);
  r.llm.bytes = int64_t(llm.size());
  r.vision.bytes = int64_t(vision.size());
  llm.finish();  // everything that can fail (flush to disk) happens before the first rename
  vision.finish();
  vision.commit();
  llm.commit();
  spdlog::info("convert: wrote {} ({} tensors, {:.1f} MB) and {} ({} tensors, {:.1f} MB)", r.llm.path,
               r.llm.tensors, double(r.llm.bytes) / 1e6, r.vision.path, r.vision.tensors,
               double(r.vision.bytes) / 1e6);
  return r;
}

}  // namespace fvlm
