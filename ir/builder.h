// Builder: creates ops in a region and infers their result types from the op table's rules.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc {

class Builder {
 public:
  explicit Builder(Region& region) : region_(region) {}

  Region& region() { return region_; }
  // Ops are created before this op (at the end when null).
  void setInsertionPoint(Op* before) { before_ = before; }

  Value* addInput(const std::string& name, Type type) { return region_.addArgument(std::move(type), name); }
  void addOutput(Value* v);

  // A Constant op holding `value`.
  Value* constant(Tensor value, const std::string& name = {});

  // Creates an op, validates operand/result counts and attributes against the op table, and infers
  // the result types. On failure nothing is left in the region.
  Expected<Op*> create(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {},
                       int num_results = 1, const std::string& location = {});
  // Same, returning result 0.
  Expected<Value*> create1(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {},
                           const std::string& location = {});

 private:
  Region& region_;
  Op* before_ = nullptr;
};

// Checks an op's operand count, result count and attributes (names, types, required) against the
// op table. Shared by the builder, the importer and the verifier.
Status checkOpSignature(const Op& op);

}  // namespace dlc
