// Internal helpers of the ONNX frontend shared by its files: proto <-> IR conversions and parsing.
// Protobuf and ONNX headers stay inside frontend/onnx; this header is never installed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ir/data_value.h"
#include "ir/graph.h"
#include "ir/status.h"
#include "ir/tensor.h"
#include "ir/type.h"

namespace dlc::onnx_import {

// ONNX TensorProto.DataType number -> IR dtype; complex and unknown numbers are errors.
Expected<DType> dtypeFromOnnx(int onnx_type);
// IR dtype -> ONNX TensorProto.DataType number (0 for Undefined).
int dtypeToOnnx(DType t);

// Converts a TensorProto. External data is resolved against `base_dir` (empty: external data is an
// error). Sizes are validated before anything is allocated, so hostile dims cannot exhaust memory.
Expected<Tensor> tensorFromProto(const onnx::TensorProto& proto, const std::string& base_dir);

// Converts a TypeProto (tensor, sequence, optional). A missing elem_type gives DType::Undefined,
// a missing shape an unranked shape.
Expected<Type> typeFromProto(const onnx::TypeProto& proto);

// Parses serialized bytes into a message; false when protobuf rejects them. Never throws.
bool parseProto(const std::string& bytes, google::protobuf::MessageLite* msg);
// Escapes newlines and control characters (names from a hostile file) so an error stays one line.
Status oneLine(const Status& s);
// Reads a whole file; the error names the file.
Expected<std::string> readFileBytes(const std::string& path);

// Builds an IR graph from a parsed model whose ops are all supported. `inferred` (may be null) is
// a copy that ONNX shape inference ran on: its types back up our own inference.
Expected<std::unique_ptr<Graph>> buildGraph(const onnx::ModelProto& model, const std::string& base_dir,
                                            const onnx::ModelProto* inferred);

// Copies opset imports, producer and graph name into the IR graph's metadata fields.
void fillModelMetadata(const onnx::ModelProto& model, Graph& graph);

// Builds the nested region of a GRAPH attribute (`index`: position in a GRAPHS list).
using GraphConverter = std::function<Expected<std::shared_ptr<Region>>(const onnx::GraphProto&, int index)>;
// Converts one attribute; tensors with external data resolve against `base_dir`.
Expected<Attribute> attributeFromProto(const onnx::AttributeProto& a, const std::string& base_dir,
                                       const GraphConverter& graph);

// ---- old-opset normalisation (upgrade.cc) ----

// One ONNX node on its way into the IR: operands resolved, attributes converted, not yet created.
struct PendingNode {
  std::string op_type;
  std::string location;  // node name or "<op_type>_<index>"
  int64_t opset = 0;     // version of the node's domain imported by the model
  OpKind kind = OpKind::Identity;
  int num_outputs = 0;         // outputs the node declares (trailing empty names dropped)
  std::vector<Value*> inputs;  // null for absent optional inputs
  std::map<std::string, Attribute> attrs;
};

// What upgrade rules may create besides the node itself: constants and helper ops.
class UpgradeEmitter {
 public:
  virtual ~UpgradeEmitter() = default;
  virtual Value* constant(Tensor value, const std::string& name) = 0;
  // A helper op; `fallback` is its result type when the IR's inference cannot tell.
  virtual Expected<Value*> helper(OpKind kind, std::vector<Value*> inputs, std::map<std::string, Attribute> attrs,
                                  const std::string& location, const Type& fallback) = 0;
  // An op placed in `region`, a region the rule is building (e.g. a new subgraph body), with one
  // result per entry of `fallbacks`: each its result type for when the IR's inference cannot tell.
  virtual Expected<Op*> opInRegion(Region& region, OpKind kind, std::vector<Value*> inputs,
                                   std::map<std::string, Attribute> attrs, const std::string& location,
                                   const std::vector<Type>& fallbacks) = 0;
};

// ONNX Runtime's QOperator contrib ops imported as QDQ chains (import_contrib.cc): whether
// (domain, op_type) is one, and the chain for a node of one, returning its result.
bool isExpandedContribOp(const std::string& domain, const std::string& op_type);
Expected<Value*> expandContribOp(PendingNode& node, UpgradeEmitter& emit);

// Constant's value_float/value_ints/value_string/... become the one `value` tensor attribute.
Status normalizeConstant(PendingNode& node);

// Rewrites a node of an older ai.onnx opset (1..12) into the op table's form (newest version <= 17).
// Attributes the table does not know for that version are reported as errors naming the node.
Status upgradeNode(PendingNode& node, UpgradeEmitter& emit);
// Removes attribute `name` from the node and returns it, if present.
std::optional<Attribute> takeAttr(PendingNode& n, const std::string& name);
// "node '<loc>' (<op>-<opset>): attribute '<attr>' <what>".
Status attrError(const PendingNode& n, const std::string& attr, const std::string& what);

// True when the importer can take ai.onnx `op_type` of opset `version` (< 7) although its schema
// changed before opset 7: upgradeLegacy rewrites it (legacy broadcasting, consumed_inputs, ...).
bool legacyFormSupported(const std::string& op_type, int64_t version);
// Rewrites pre-opset-7 forms and Scan-8 into the op table's form (upgrade_legacy.cc); the
// opset 7+ rules of upgradeNode then apply to the result.
Status upgradeLegacy(PendingNode& n, UpgradeEmitter& emit);
// Maps axis in [-rank, rank) to [0, rank).
Status normalizeAxisForRank(int64_t axis, int rank, int* out);

}  // namespace dlc::onnx_import
