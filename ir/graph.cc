// Use-list maintenance, op creation and erasure for the SSA IR.
#include "ir/graph.h"

#include <algorithm>
#include <cassert>

namespace dlc {

void Value::removeUse(const Use& u) {
  auto it = std::find_if(uses_.begin(), uses_.end(), [&](const Use& x) {
    return x.user == u.user && x.region == u.region && x.index == u.index;
  });
  if (it != uses_.end()) uses_.erase(it);
}

void Value::replaceAllUsesWith(Value* other) {
  if (other == this) return;
  std::vector<Use> uses = uses_;
  for (const Use& u : uses) {
    if (u.user)
      u.user->setOperand(u.index, other);
    else
      u.region->setOutput(u.index, other);
  }
}

void Op::setOperand(int i, Value* v) {
  if (i >= numOperands()) operands_.resize(static_cast<size_t>(i) + 1, nullptr);
  Value*& slot = operands_[static_cast<size_t>(i)];
  if (slot) slot->removeUse(Use{this, nullptr, i});
  slot = v;
  if (v) v->addUse(Use{this, nullptr, i});
}

void Op::setOperands(std::vector<Value*> vs) {
  for (int i = 0; i < numOperands(); ++i)
    if (operands_[static_cast<size_t>(i)]) operands_[static_cast<size_t>(i)]->removeUse(Use{this, nullptr, i});
  operands_.clear();
  for (size_t i = 0; i < vs.size(); ++i) setOperand(static_cast<int>(i), vs[i]);
}

Value* Op::addResult(Type t, std::string name) {
  auto v = std::make_unique<Value>();
  v->type_ = std::move(t);
  v->name_ = std::move(name);
  v->def_ = this;
  v->index_ = numResults();
  results_.push_back(std::move(v));
  return results_.back().get();
}

void Op::setAttr(const std::string& n, Attribute a) {
  if (a.g) a.g->setParentOp(this);
  for (auto& g : a.graphs)
    if (g) g->setParentOp(this);
  attrs_[n] = std::move(a);
}

const Attribute* Op::attr(const std::string& n) const {
  auto it = attrs_.find(n);
  if (it != attrs_.end()) return &it->second;
  const AttrSpec* spec = info().findAttr(n);
  if (spec && spec->has_default) return &spec->default_value;
  return nullptr;
}

int64_t Op::getInt(const std::string& n, int64_t fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Int ? a->i : fallback;
}
float Op::getFloat(const std::string& n, float fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Float ? a->f : fallback;
}
std::string Op::getString(const std::string& n, const std::string& fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::String ? a->s : fallback;
}
std::vector<int64_t> Op::getInts(const std::string& n) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Ints ? a->ints : std::vector<int64_t>{};
}
std::vector<float> Op::getFloats(const std::string& n) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Floats ? a->floats : std::vector<float>{};
}
std::vector<std::string> Op::getStrings(const std::string& n) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Strings ? a->strings : std::vector<std::string>{};
}

std::vector<Region*> Op::regions() const {
  std::vector<Region*> out;
  for (const auto& spec : info().attrs) {
    auto it = attrs_.find(spec.name);
    if (it == attrs_.end()) continue;
    if (it->second.g) out.push_back(it->second.g.get());
    for (const auto& g : it->second.graphs) out.push_back(g.get());
  }
  return out;
}

void Op::erase() {
  for (const auto& r : results_) {
    (void)r;
    assert(!r->hasUses() && "erasing an op whose results are still used");
  }
  for (Region* r : regions()) r->dropAllReferences();
  setOperands({});
  Region* parent = parent_;
  parent->ops_.erase(self_);  // frees this
}

Region::~Region() {
  dropAllReferences();
  ops_.clear();
}

void Region::dropAllReferences() {
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (outputs_[i]) outputs_[i]->removeUse(Use{nullptr, this, static_cast<int>(i)});
  outputs_.clear();
  for (auto& op : ops_) {
    for (Region* r : op->regions()) r->dropAllReferences();
    op->setOperands({});
  }
}

Value* Region::addArgument(Type t, std::string name) {
  auto v = std::make_unique<Value>();
  v->type_ = std::move(t);
  v->name_ = std::move(name);
  v->arg_of_ = this;
  v->index_ = numArguments();
  args_.push_back(std::move(v));
  return args_.back().get();
}

Op* Region::createOp(OpKind kind, std::vector<Value*> operands, std::vector<Type> result_types, Op* before) {
  std::unique_ptr<Op> op(new Op(kind));
  Op* raw = op.get();
  raw->parent_ = this;
  raw->setOperands(std::move(operands));
  for (auto& t : result_types) raw->addResult(std::move(t));
  auto pos = before ? before->self_ : ops_.end();
  raw->self_ = ops_.insert(pos, std::move(op));
  return raw;
}

void Region::moveOpBefore(Op* op, Op* before) {
  auto pos = before ? before->self_ : ops_.end();
  ops_.splice(pos, ops_, op->self_);
}

void Region::setOutputs(std::vector<Value*> vs) {
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (outputs_[i]) outputs_[i]->removeUse(Use{nullptr, this, static_cast<int>(i)});
  outputs_.clear();
  outputs_.resize(vs.size(), nullptr);
  for (size_t i = 0; i < vs.size(); ++i) setOutput(static_cast<int>(i), vs[i]);
}

void Region::setOutput(int i, Value* v) {
  if (i >= numOutputs()) outputs_.resize(static_cast<size_t>(i) + 1, nullptr);
  Value*& slot = outputs_[static_cast<size_t>(i)];
  if (slot) slot->removeUse(Use{nullptr, this, i});
  slot = v;
  if (v) v->addUse(Use{nullptr, this, i});
}

}  // namespace dlc
