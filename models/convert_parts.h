// The two halves of `convert` (models/convert.h documents the files they write) and the streaming
// they share: each tensor is converted a chunk of rows at a time straight from the mapped
// checkpoint into the output file, and the source pages read are returned to the kernel, so the
// converter's memory stays ~ one chunk however large the model (not the whole checkpoint mapped in).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/gguf.h"
#include "core/tensor.h"
#include "models/model_source.h"

namespace fvlm {

class StagedFile;

// The read-only private mappings of the checkpoint's .safetensors files (from /proc/self/maps):
// only their pages may be dropped, as MADV_DONTNEED on them reloads the same bytes from the file
// if read again (on anonymous or written memory it would zero or revert data).
class SourcePages {
 public:
  SourcePages();
  // Drops this process's resident pages covering [data, data + n) if they lie in such a mapping
  // (otherwise nothing). The page cache keeps them; RSS no longer counts them.
  void release(const void* data, size_t n) const;

 private:
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges_;  // [begin, end)
};

// Rows of `src` (F32/F16/BF16, the tensor's shape) converted to `dtype` with quant::quantize's
// exact bytes; each chunk's source rows are released once converted.
GgufWriter::RowFill convert_rows(const Tensor& src, DType dtype, const SourcePages& pages);

// Each writes its whole file into `out` (not committed) and returns the number of tensors.
int write_llm_gguf(const ModelSource& src, DType type, bool pure, const SourcePages& pages,
                   StagedFile& out);  // convert_llm.cpp
int write_vision_gguf(const ModelSource& src, DType type, const SourcePages& pages,
                      StagedFile& out);  // convert_vision.cpp

// llama.cpp's llama_ftype of a whole-file type (general.file_type).
uint32_t llama_file_type(DType type);

}  // namespace fvlm
