// ONNX import: ModelProto (file or bytes, external data included) -> IR graph.
#pragma once

#include <memory>
#include <string>

#include "ir/data_value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::onnx_import {

// Imports an ONNX model file. Every unsupported op is listed in one error; malformed files give a
// one-line error naming the file. Older ai.onnx opsets (7..12) are normalised to the op table's form.
Expected<std::unique_ptr<Graph>> importModelFile(const std::string& path);
// Imports serialized ModelProto bytes; `base_dir` resolves external-data locations (empty: the
// model may not use external data). `source_name` names the model in errors.
Expected<std::unique_ptr<Graph>> importModelBytes(const std::string& bytes, const std::string& source_name,
                                                  const std::string& base_dir);

// Reads only the model's metadata (opset imports, producer, graph name) into `graph`'s fields,
// without importing any node.
Status readModelMetadata(const std::string& path, Graph* graph);

// Reads a serialized TensorProto, SequenceProto or OptionalProto file (ONNX test-data `.pb`).
// `expected` (the model input's type) picks the message kind; without it the kind is guessed, and
// a one-tensor sequence cannot be told from an optional tensor.
Expected<DataValue> readValueFile(const std::string& path, const Type* expected = nullptr);
// The same from the file's bytes; `source_name` names it in errors.
Expected<DataValue> readValueBytes(const std::string& bytes, const std::string& source_name, const Type* expected = nullptr);

}  // namespace dlc::onnx_import
