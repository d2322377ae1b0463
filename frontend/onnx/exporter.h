// ONNX export: IR graph -> ModelProto (bytes or a file, with external data for large weights).
#pragma once

#include <cstdint>
#include <string>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::onnx_export {

// ai.onnx opsets the exporter writes. The IR has opset 17's semantics; older opsets get the older
// form of each op that changed since, or an error naming the op and node.
constexpr int64_t kMinExportOpset = 13;
constexpr int64_t kMaxExportOpset = 17;

struct ExportOptions {
  int64_t opset = 17;

  // External data: initializers of at least `external_data_threshold` bytes go to a side file in
  // the model's folder, each at an offset that is a multiple of `external_data_alignment` (the
  // page size, so runtimes can map them). Used when asked, or automatically when the
  // initializers' total exceeds `inline_limit_bytes` (protobuf cannot hold 2 GB messages).
  bool external_data = false;
  std::string external_data_file;  // a file name in the model's folder; empty: "<model file>.data"
  int64_t external_data_threshold = 1024;
  int64_t external_data_alignment = 4096;
  int64_t inline_limit_bytes = (int64_t{1} << 31) - (int64_t{64} << 20);  // 2 GiB less room for the graph
};

// Serializes `graph` as an ONNX ModelProto. Ops of domain "dlc" (fused ops) have no ONNX form:
// they are all listed in one error that says to run the unfuse pass first. A model whose weights
// need external data cannot be returned as bytes (the error says so; use exportModelFile).
Expected<std::string> exportModelBytes(const Graph& graph, const ExportOptions& options = {});

// Writes `graph` to `path` (and its external-data file, when used). Files are written under
// temporary names and renamed once complete, so a failed export leaves no partial output.
Status exportModelFile(const Graph& graph, const std::string& path, const ExportOptions& options = {});

}  // namespace dlc::onnx_export
