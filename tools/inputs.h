// Graph inputs for `dlc run` and `dlc bench`: matching --input specs, reading files, random data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/data_value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::cli {

// Assigns each `--input` spec (FILE or NAME=FILE) to a graph input: NAME=FILE by name, the rest in
// order. Returns one path per graph input, empty where none was given.
Expected<std::vector<std::string>> matchInputFiles(const Region& body, const std::vector<std::string>& specs);

// Reads a .npy file, or an ONNX .pb file (TensorProto, SequenceProto, OptionalProto) as `type`.
Expected<DataValue> readInput(const std::string& path, const Type& type);

// Deterministic random data of the input's type (same `seed`, same tensor): floats uniform in
// [-1, 1), integers in [0, 10) (safe as indices and token ids), bools half true. Symbolic dims
// become 1; an unknown dim or rank, or a sequence/optional/string input, is an error.
Expected<DataValue> randomInput(const Value& input, uint64_t seed);

}  // namespace dlc::cli
