// Reading and writing NumPy .npy files (format versions 1-3) as dlc Tensors.
#pragma once

#include <string>

#include "ir/status.h"
#include "ir/tensor.h"

namespace dlc::npy {

Expected<Tensor> readFile(const std::string& path);
// Writes `t` to `path`. bf16 is written as f32 (NumPy has no bfloat16); strings as fixed-width unicode.
Status writeFile(const std::string& path, const Tensor& t);

}  // namespace dlc::npy
