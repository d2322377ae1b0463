// Reading and writing NumPy .npy files (format versions 1-3) as dlc Tensors.
#pragma once

#include <string>

#include "ir/status.h"
#include "ir/tensor.h"

namespace dlc::npy {

Expected<Tensor> readFile(const std::string& path);
// Parses the bytes of a .npy file; `what_file` names it in errors.
Expected<Tensor> parse(const std::string& bytes, const std::string& what_file);
// The bytes of `t` as a .npy file (bf16 as f32).
Expected<std::string> serialize(const Tensor& t, const std::string& what_file);
// Writes `t` to `path`. bf16 is written as f32 (NumPy has no bfloat16); strings as fixed-width unicode.
Status writeFile(const std::string& path, const Tensor& t);

}  // namespace dlc::npy
