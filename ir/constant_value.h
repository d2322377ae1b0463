// The tensor a Constant op holds, whichever of ONNX's value attributes spells it.
#pragma once

#include <string>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc {

// Converts one of Constant's value attributes (value, value_float(s), value_int(s),
// value_string(s)) to the tensor it denotes: scalars are rank 0, lists rank 1.
Expected<Tensor> constantAttributeTensor(const std::string& name, const Attribute& a);

// The tensor of a Constant op; an error when it has no value attribute or more than one.
Expected<Tensor> constantOpValue(const Op& op);

}  // namespace dlc
