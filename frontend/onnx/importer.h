// ONNX import: ModelProto (file or bytes, external data included) -> IR graph.
#pragma once

#include <memory>
#include <string>

#include "ir/data_value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::onnx_import {

// Imports an ONNX model file. Every unsupported op is listed in one error; malformed files give a
// one-line error naming the file.
Expected<std::unique_ptr<Graph>> importModelFile(const std::string& path);
// Imports serialized ModelProto bytes; `base_dir` resolves external-data locations.
Expected<std::unique_ptr<Graph>> importModelBytes(const std::string& bytes, const std::string& source_name,
                                                  const std::string& base_dir);

// Reads a serialized TensorProto, SequenceProto or OptionalProto file (ONNX test-data `.pb`).
Expected<DataValue> readValueFile(const std::string& path);

}  // namespace dlc::onnx_import
