// Segments whose types are not all static (segment_specialize.h).
#include "backends/specialize/segment_specialize.h"

#include <algorithm>

#include "ir/dtype_onnx.h"
#include "ir/parser.h"
#include "ir/reinfer.h"

namespace dlc::backends {
namespace {

// Integer inputs this small that ops read as shape operands (a Reshape target, Slice bounds): their
// values are read by inference and are part of the run key.
constexpr int64_t kMaxShapeOperand = 16;

bool smallInts(const Type& t) {
  return (t.dtype == DType::I64 || t.dtype == DType::I32) && t.shape.isStatic() && t.shape.numElements() <= kMaxShapeOperand;
}

// Operands whose values the shape rules read (sizes, axes, bounds): only these may change a type,
// so only these are keyed on. Others (an optimizer's step count) change every run and must not
// make every run a new program.
bool readByShapeRule(OpKind kind, int operand) {
  switch (kind) {
    case OpKind::Reshape:
    case OpKind::Expand:
    case OpKind::Tile:
    case OpKind::Squeeze:
    case OpKind::Unsqueeze:
    case OpKind::Split:
    case OpKind::TopK:
    case OpKind::OneHot:
    case OpKind::Upsample:
    case OpKind::ReduceSum: return operand == 1;
    case OpKind::Slice:
    case OpKind::Resize: return operand >= 1;
    case OpKind::Pad: return operand == 1 || operand == 3;
    case OpKind::ConstantOfShape:
    case OpKind::Range: return true;
    default: return false;
  }
}

std::string shapeText(const dlc_tensor& t) {
  std::string s = "[";
  for (int32_t i = 0; i < t.rank; ++i) s += (i ? "," : "") + std::to_string(t.shape[i]);
  return s + "]";
}

bool typeIsStatic(const Type& t) { return t.isTensor() && t.shape.isStatic(); }

}  // namespace

bool segmentIsStatic(const Graph& segment) {
  const Region& body = segment.body();
  for (int i = 0; i < body.numArguments(); ++i)
    if (!typeIsStatic(body.argument(i)->type())) return false;
  for (const auto& op : body.ops())
    for (int r = 0; r < op->numResults(); ++r)
      if (!typeIsStatic(op->result(r)->type())) return false;
  return true;
}

std::vector<bool> shapeOperands(const Graph& segment) {
  const Region& body = segment.body();
  std::vector<bool> shape(static_cast<size_t>(body.numArguments()), false);
  for (int i = 0; i < body.numArguments(); ++i) {
    const Value* arg = body.argument(i);
    if (arg->type().dtype != DType::I64 && arg->type().dtype != DType::I32) continue;
    for (const auto& op : body.ops())
      for (int k = 0; k < op->numOperands(); ++k)
        if (op->operand(k) == arg && readByShapeRule(op->kind(), k)) shape[static_cast<size_t>(i)] = true;
  }
  return shape;
}

std::vector<int64_t> runKey(const Graph& segment, const std::vector<const void*>& constants, const std::vector<bool>& shape_operands,
                            const dlc_tensor* inputs) {
  const Region& body = segment.body();
  std::vector<int64_t> key;
  for (int i = 0; i < body.numArguments(); ++i) {
    if (constants[static_cast<size_t>(i)]) continue;
    const dlc_tensor& t = inputs[i];
    key.push_back(t.rank);
    key.insert(key.end(), t.shape, t.shape + t.rank);
    const Type& type = body.argument(i)->type();
    if (shape_operands[static_cast<size_t>(i)] && t.data) {
      int64_t n = 1;
      for (int32_t d = 0; d < t.rank; ++d) n *= t.shape[d];
      if (n <= kMaxShapeOperand)
        for (int64_t e = 0; e < n; ++e)
          key.push_back(type.dtype == DType::I64 ? static_cast<const int64_t*>(t.data)[e] : static_cast<const int32_t*>(t.data)[e]);
    }
  }
  return key;
}

Expected<std::unique_ptr<Graph>> specializeSegment(std::string_view text, const std::vector<const void*>& constants,
                                                   const std::vector<bool>& shape_operands, const dlc_tensor* inputs) {
  DLC_ASSIGN_OR_RETURN(auto graph, parseGraph(text, "step payload"));
  Region& body = graph->body();
  if (static_cast<size_t>(body.numArguments()) != constants.size())
    return Status::error(str("segment takes ", body.numArguments(), " inputs, ", constants.size(), " given"));
  SymbolSizes sizes;
  KnownValues known;
  for (int i = 0; i < body.numArguments(); ++i) {
    Value* arg = body.argument(i);
    const Type declared = arg->type();
    const void* constant = constants[static_cast<size_t>(i)];
    if (!declared.isTensor() || !declared.shape.ranked)
      return Status::error(str("input '", arg->name(), "' has type ", declared.toString(), ", which oneDNN steps do not take"));
    if (!constant) {
      const dlc_tensor& got = inputs[i];
      bool ok = got.rank == declared.shape.rank();
      std::vector<int64_t> dims(got.shape, got.shape + (ok ? got.rank : 0));
      for (size_t d = 0; ok && d < dims.size(); ++d) {
        const Dim& want = declared.shape.dims[d];
        if (want.isStatic()) ok = dims[d] == want.value;
        if (want.isSymbolic()) ok = sizes.emplace(want.symbol, dims[d]).first->second == dims[d];
      }
      if (!ok)
        return Status::error(str("input '", arg->name(), "' is ", shapeText(got), ", the step takes ", declared.toString(),
                                 " (with the sizes its other inputs give)"));
      arg->setType(Type::tensor(declared.dtype, Shape::of(dims)));
    }
    if (shape_operands[static_cast<size_t>(i)] && smallInts(arg->type()) && (constant || inputs[i].data)) {
      const void* data = constant ? constant : inputs[i].data;
      known.emplace(arg, Tensor::fromBytes(arg->type().dtype, arg->type().shape.staticSizes(), data,
                                           dtypeStorageBytes(arg->type().dtype, arg->type().shape.numElements())));
    }
  }
  auto reinferred = reinferTypes(body, sizes, &known);
  if (!reinferred.ok()) return reinferred.status();
  return graph;
}

}  // namespace dlc::backends
