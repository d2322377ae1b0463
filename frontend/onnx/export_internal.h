// Internal pieces of the ONNX exporter shared by its files: IR -> proto conversions, value naming,
// external data and opset lowering. Protobuf and ONNX headers stay inside frontend/onnx.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ir/graph.h"
#include "ir/status.h"
#include "ir/tensor.h"
#include "ir/type.h"

namespace dlc::onnx_export {

// ---- IR -> proto conversions (export_proto.cc) ----

// A tensor with its data in raw_data (string tensors in string_data). 4-bit types are refused:
// ONNX gained them with IR version 10, past what opsets 13..17 may use.
Status tensorToProto(const Tensor& t, const std::string& name, onnx::TensorProto* out);
// Only name, dtype and dims: the data goes elsewhere (external data).
Status tensorHeaderToProto(const Tensor& t, const std::string& name, onnx::TensorProto* out);
// Static dims become dim_value, symbolic ones dim_param, unknown ones an empty dim; an unranked
// tensor has no shape and an undefined dtype no elem_type.
Status typeToProto(const Type& t, onnx::TypeProto* out);
// Any attribute but graphs, which the graph writer converts itself.
Status attributeToProto(const std::string& name, const Attribute& a, onnx::AttributeProto* out);

// ---- value names (export_graph.cc) ----

// ONNX names of the IR values: unique across the whole model (subgraphs may not shadow outer
// names) and non-empty. Assigned in the textual printer's order with its rule: a value keeps its
// own name the first time that name appears, and is otherwise the printer's fresh number n,
// written `_n` (bumped past any name the model already uses).
class ValueNames {
 public:
  explicit ValueNames(const Region& top);
  const std::string& of(const Value* v) const;
  // A name no value has, for nodes the exporter adds (`hint` plus a suffix when taken).
  std::string fresh(const std::string& hint);

 private:
  std::string unused(const std::string& base);

  std::unordered_map<const Value*, std::string> names_;
  std::unordered_set<std::string> reserved_;  // every valid name the model has, and every name given
  int fresh_ = 0;
};

// ---- external data (export.cc decides, export_graph.cc fills) ----

struct ExternalData {
  bool enabled = false;
  std::string location;  // the side file, relative to the model's folder
  int64_t threshold = 1024;
  int64_t alignment = 4096;
  // Each tensor (a handle sharing the IR's storage) and its offset in the file.
  std::vector<std::pair<Tensor, int64_t>> tensors;
  int64_t size = 0;  // bytes of the file so far
};

struct ExportContext {
  int64_t opset = 17;
  ValueNames names;
  ExternalData external;
  std::unordered_set<std::string> domains;  // non-default domains the nodes use
  std::unordered_set<std::string> node_names;

  // A node name unique in the model (ONNX Runtime refuses repeated ones): `base`, an op's location,
  // or `base_1`, `base_2`, ... when taken (unfused ops share their fused op's location). Empty
  // stays empty.
  std::string nodeName(const std::string& base);
};

// Writes the graph body: top-level Constants as initializers (except those returned directly as
// graph outputs, which stay Constant nodes so every output is a node's), ops as nodes, nested
// regions as GraphProto attributes that capture outer values by name.
Status writeGraph(const Graph& graph, ExportContext& ctx, onnx::GraphProto* out);

// ---- opset lowering (export_opset.cc) ----

// Where a lowering rule puts what it adds in front of the node it rewrites.
class NodeSink {
 public:
  virtual ~NodeSink() = default;
  virtual std::string freshName(const std::string& hint) = 0;
  // A node placed before the one being lowered.
  virtual onnx::NodeProto* addNode(const std::string& op_type, const std::vector<std::string>& inputs,
                                   const std::vector<std::string>& outputs) = 0;
  // A Constant node holding `t`; returns its output's name.
  virtual Expected<std::string> constant(const Tensor& t, const std::string& hint) = 0;
};

// Rewrites `node` (op's opset-17 form, names and attributes filled in) for ai.onnx opset
// `opset`: deprecated ops become their replacements, ops that changed since take their older
// form (or are decomposed into older ops), and anything the older form cannot say is an error
// naming the op and node. Afterwards `node` is the last node to write; helpers went to `sink`.
Status lowerNode(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink& sink);

// True when output `index` of `op` may be left out (written as "") at `opset`.
bool isOptionalOutput(const Op& op, int index, int64_t opset);

// "node 'conv1' (Conv)", for errors.
std::string nodeWhere(const Op& op);

}  // namespace dlc::onnx_export
