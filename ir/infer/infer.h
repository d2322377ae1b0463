// Shape and type inference: the context each op's rule sees, the shared rules, and the per-op
// Custom rules declared from ir/ops.def (defined in ir/infer/*.cc, one file per op family).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"
#include "ir/tensor.h"

namespace dlc {

// Values known to the caller though no Constant op produces them (a step's weights and the shape
// operands of one run, when a segment is re-inferred for the shapes of that run).
using KnownValues = std::unordered_map<const Value*, Tensor>;

class InferContext {
 public:
  explicit InferContext(Op& op) : op_(op) {}
  // Writes inferred result types into `sink` (pre-sized by the caller) instead of the op's results,
  // so the verifier can re-infer without mutating the graph.
  InferContext(Op& op, std::vector<Type>* sink, const KnownValues* known = nullptr) : op_(op), sink_(sink), known_(known) {}

  Op& op() { return op_; }
  int numInputs() const { return op_.numOperands(); }
  bool hasInput(int i) const { return op_.operand(i) != nullptr; }
  // Type of input i, or null when the optional input is absent.
  const Type* inputType(int i) const;
  // The value of input i when it is known at compile time (produced by a Constant op, or among the
  // caller's known values), else null.
  const Tensor* constantInput(int i) const;

  int numOutputs() const { return op_.numResults(); }
  void setOutput(int i, Type t);

  // An error naming the op and where it came from: "Reshape 'node_7': <message>".
  Status error(const std::string& message) const;

 private:
  Op& op_;
  std::vector<Type>* sink_ = nullptr;
  const KnownValues* known_ = nullptr;
};

// Infers and records the result types of one op from its operands and attributes.
Status inferOpTypes(Op& op);
// Same, writing result types into `sink` (pre-sized, normally with the current result types); the
// op is left unchanged as long as the op's rule only uses InferContext::setOutput.
Status inferOpTypes(Op& op, std::vector<Type>* sink);
// Either, with `known` values read as constants.
Status inferOpTypes(Op& op, std::vector<Type>* sink, const KnownValues* known);
// Infers every op of a region (and nested regions) in order.
Status inferRegionTypes(Region& region);

// Helpers shared by the rules.
// Numpy broadcasting of any number of shapes; symbolic dims broadcast when equal or against 1.
Status broadcastShapes(const std::vector<Shape>& shapes, Shape* out);
// Maps a possibly negative axis into [0, rank); fails when out of range.
Status normalizeAxis(int64_t axis, int rank, int* out);

namespace infer {
#define DLC_INFER_DECL_SameAsInput(Name)
#define DLC_INFER_DECL_ElementwiseBool(Name)
#define DLC_INFER_DECL_Broadcast(Name)
#define DLC_INFER_DECL_BroadcastBool(Name)
#define DLC_INFER_DECL_Custom(Name) Status infer##Name(InferContext& ctx);
#define DLC_OP(Name, Domain, MinIn, MaxIn, MinOut, MaxOut, Traits, Rule, Attrs) DLC_INFER_DECL_##Rule(Name)
#include "ir/ops.def"
#undef DLC_OP
}  // namespace infer

}  // namespace dlc

#define DLC_INFER_FN_SameAsInput(Name) nullptr
#define DLC_INFER_FN_ElementwiseBool(Name) nullptr
#define DLC_INFER_FN_Broadcast(Name) nullptr
#define DLC_INFER_FN_BroadcastBool(Name) nullptr
#define DLC_INFER_FN_Custom(Name) &::dlc::infer::infer##Name
