// Maps ONNX TensorProto.DataType codes (as held in attributes like Cast's `to`) to IR dtypes.
#pragma once

#include <cstdint>
#include <optional>

#include "ir/dtype.h"

namespace dlc {

inline std::optional<DType> dtypeFromOnnxCode(int64_t code) {
  switch (code) {
    case 1: return DType::F32;
    case 2: return DType::U8;
    case 3: return DType::I8;
    case 4: return DType::U16;
    case 5: return DType::I16;
    case 6: return DType::I32;
    case 7: return DType::I64;
    case 8: return DType::String;
    case 9: return DType::Bool;
    case 10: return DType::F16;
    case 11: return DType::F64;
    case 12: return DType::U32;
    case 13: return DType::U64;
    case 16: return DType::BF16;
    case 21: return DType::U4;
    case 22: return DType::I4;
    default: return std::nullopt;
  }
}

inline int64_t dtypeToOnnxCode(DType t) {
  switch (t) {
    case DType::F32: return 1;
    case DType::U8: return 2;
    case DType::I8: return 3;
    case DType::U16: return 4;
    case DType::I16: return 5;
    case DType::I32: return 6;
    case DType::I64: return 7;
    case DType::String: return 8;
    case DType::Bool: return 9;
    case DType::F16: return 10;
    case DType::F64: return 11;
    case DType::U32: return 12;
    case DType::U64: return 13;
    case DType::BF16: return 16;
    case DType::U4: return 21;
    case DType::I4: return 22;
    default: return 0;
  }
}

}  // namespace dlc
