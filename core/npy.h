// NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order): the exchange format of the golden
// data and of `embed`/`preprocess`/`--logits-out` outputs.
#pragma once
#include <string>

#include "core/tensor.h"

namespace fvlm {

// Reads '<f4', '<f2', '<i4', '<i8', '|u1' arrays (and '|b1' as U8). Throws Error{kNotFound/kBadArgs}.
Tensor read_npy(const std::string& path);
// Writes F32, I32, I64 or U8 tensors through a StagedFile (core/staged_file.h): an existing file is
// replaced whole or not at all, and no temporary is left behind. Throws Error{kIoError} if the file
// cannot be written (design.md: io_error, exit 74).
void write_npy(const std::string& path, const Tensor& t);

}  // namespace fvlm
