// A concrete value of any IR type: a tensor, a sequence of tensors, or an empty optional.
// Used for model inputs/outputs at the tool boundary and by the reference interpreter.
#pragma once

#include <vector>

#include "ir/tensor.h"

namespace dlc {

// An optional that holds a value is represented by that value; only the empty optional is marked.
struct DataValue {
  bool is_none = false;      // empty optional
  bool is_sequence = false;  // otherwise a tensor
  Tensor tensor;
  std::vector<Tensor> sequence;

  static DataValue ofTensor(Tensor t) {
    DataValue v;
    v.tensor = std::move(t);
    return v;
  }
  static DataValue ofSequence(std::vector<Tensor> s) {
    DataValue v;
    v.is_sequence = true;
    v.sequence = std::move(s);
    return v;
  }
  static DataValue none() {
    DataValue v;
    v.is_none = true;
    return v;
  }
};

}  // namespace dlc
