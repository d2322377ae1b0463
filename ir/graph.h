// The SSA IR: Values, Ops, Regions (ordered op lists with arguments and outputs) and Graphs.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/attribute.h"
#include "ir/memory_plan.h"
#include "ir/op_table.h"
#include "ir/type.h"

namespace dlc {

class Op;
class Region;

// A use of a value: operand `index` of `user`, or output `index` of `region` when user is null.
struct Use {
  Op* user = nullptr;
  Region* region = nullptr;
  int index = 0;
};

class Value {
 public:
  const Type& type() const { return type_; }
  void setType(Type t) { type_ = std::move(t); }
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  Op* definingOp() const { return def_; }          // null for region arguments
  Region* argumentOf() const { return arg_of_; }   // set for region arguments
  int index() const { return index_; }             // result index or argument index

  const std::vector<Use>& uses() const { return uses_; }
  bool hasUses() const { return !uses_.empty(); }
  // Redirects every use (operands and region outputs) to `other`.
  void replaceAllUsesWith(Value* other);

 private:
  friend class Op;
  friend class Region;
  void addUse(const Use& u) { uses_.push_back(u); }
  void removeUse(const Use& u);

  Type type_;
  std::string name_;
  Op* def_ = nullptr;
  Region* arg_of_ = nullptr;
  int index_ = 0;
  std::vector<Use> uses_;
};

class Op {
 public:
  OpKind kind() const { return kind_; }
  const OpInfo& info() const { return opInfo(kind_); }
  const char* name() const { return opName(kind_); }

  // Operands; a null operand is an absent optional input (ONNX's empty name).
  int numOperands() const { return static_cast<int>(operands_.size()); }
  Value* operand(int i) const { return i < numOperands() ? operands_[static_cast<size_t>(i)] : nullptr; }
  const std::vector<Value*>& operands() const { return operands_; }
  void setOperand(int i, Value* v);
  void setOperands(std::vector<Value*> vs);

  int numResults() const { return static_cast<int>(results_.size()); }
  Value* result(int i = 0) const { return results_[static_cast<size_t>(i)].get(); }
  Value* addResult(Type t, std::string name = {});

  // Attributes that were set explicitly; the getters fall back on the op table's defaults.
  const std::map<std::string, Attribute>& attrs() const { return attrs_; }
  bool hasAttr(const std::string& n) const { return attrs_.count(n) != 0; }
  const Attribute* attr(const std::string& n) const;  // explicit or default; null if neither
  void setAttr(const std::string& n, Attribute a);  // adopts graph attributes as child regions
  void removeAttr(const std::string& n) { attrs_.erase(n); }
  int64_t getInt(const std::string& n, int64_t fallback = 0) const;
  float getFloat(const std::string& n, float fallback = 0.0f) const;
  std::string getString(const std::string& n, const std::string& fallback = {}) const;
  std::vector<int64_t> getInts(const std::string& n) const;  // empty when absent
  std::vector<float> getFloats(const std::string& n) const;
  std::vector<std::string> getStrings(const std::string& n) const;

  // Nested regions, in the order of this op's graph attributes in the op table.
  std::vector<Region*> regions() const;

  // Where the op came from: the ONNX node name, or a builder/pass-given label.
  const std::string& location() const { return location_; }
  void setLocation(std::string l) { location_ = std::move(l); }

  Region* parent() const { return parent_; }
  // Drops operand uses; the op must have no remaining uses of its results. Frees the op.
  void erase();

 private:
  friend class Region;
  Op(OpKind kind) : kind_(kind) {}

  OpKind kind_;
  std::vector<Value*> operands_;
  std::vector<std::unique_ptr<Value>> results_;
  std::map<std::string, Attribute> attrs_;
  std::string location_;
  Region* parent_ = nullptr;
  std::list<std::unique_ptr<Op>>::iterator self_;
};

// An ordered list of ops with arguments (graph inputs / subgraph parameters) and outputs.
// Ops may use values of enclosing regions (ONNX subgraphs capture outer values by name).
class Region {
 public:
  using OpList = std::list<std::unique_ptr<Op>>;

  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region();

  Value* addArgument(Type t, std::string name = {});
  int numArguments() const { return static_cast<int>(args_.size()); }
  Value* argument(int i) const { return args_[static_cast<size_t>(i)].get(); }

  // Creates an op with the given operands and result types before `pos` (end when null).
  Op* createOp(OpKind kind, std::vector<Value*> operands, std::vector<Type> result_types,
               Op* before = nullptr);
  const OpList& ops() const { return ops_; }
  // Moves `op` (from this region) to just before `before` (end when null).
  void moveOpBefore(Op* op, Op* before);

  int numOutputs() const { return static_cast<int>(outputs_.size()); }
  Value* output(int i) const { return outputs_[static_cast<size_t>(i)]; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  void setOutputs(std::vector<Value*> vs);
  void setOutput(int i, Value* v);

  Op* parentOp() const { return parent_op_; }
  void setParentOp(Op* op) { parent_op_ = op; }

  // Drops every operand and output use held by this region and all regions nested in it, so the
  // ops can then be freed in any order.
  void dropAllReferences();

 private:
  friend class Op;
  std::vector<std::unique_ptr<Value>> args_;
  OpList ops_;
  std::vector<Value*> outputs_;
  Op* parent_op_ = nullptr;
};

// A whole model: the top-level region plus metadata carried through import and export.
class Graph {
 public:
  std::string name = "main";
  std::map<std::string, int64_t> opset_imports;  // domain -> version, as imported
  std::string producer;
  // Set by the plan-memory pass; any other pass invalidates it (the pass manager clears it).
  std::shared_ptr<const MemoryPlan> memory_plan;

  Region& body() { return body_; }
  const Region& body() const { return body_; }

 private:
  Region body_;
};

// Visits every op of a region and of its nested regions, parents before children.
template <typename Fn>
void walkOps(const Region& r, Fn&& fn) {
  for (const auto& op : r.ops()) {
    fn(op.get());
    for (Region* sub : op->regions()) walkOps(*sub, fn);
  }
}

}  // namespace dlc
