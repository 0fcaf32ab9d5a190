// Safetensors reader (8-byte LE header length, JSON header, raw LE data), memory-mapped and
// validated before anything is trusted: header bound, JSON, dtypes, offsets in bounds, no
// overlaps, size == shape x dtype. Anything wrong is Error{kBadModel}, never a crash.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace fvlm {

// Name -> tensor view into mapped files (the files stay mapped while any view is alive).
using TensorMap = std::map<std::string, Tensor>;

// One .safetensors file. Adds its tensors to `out`; a name already in `out` is an error
// (duplicate across shards).
void read_safetensors(const std::string& path, TensorMap& out);

// A Hugging Face checkpoint directory: model.safetensors, or the shards listed by
// model.safetensors.index.json (every shard named there must exist, and every tensor of the
// index must be in the shard it names).
TensorMap read_safetensors_dir(const std::string& dir);

}  // namespace fvlm

namespace fvlm {
// Writes tensors (F32/F16/BF16/I64/I32/U8) as one .safetensors file, atomically (temp + rename).
void write_safetensors(const std::string& path, const TensorMap& tensors);
}  // namespace fvlm
