// Common-subexpression elimination: merges pure ops that compute the same thing from the same operands.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/simplify_util.h"

namespace dlc::passes {
namespace {

// FNV-1a, fed piece by piece.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <typename T>
  void pod(const T& v) { bytes(&v, sizeof(v)); }
  void string(const std::string& s) {
    pod(s.size());
    bytes(s.data(), s.size());
  }
  void tensor(const Tensor& t) {
    pod(t.dtype());
    for (int64_t d : t.shape()) pod(d);
    if (!t.defined()) return;
    if (t.dtype() == DType::String) {
      for (const std::string& s : t.strings()) string(s);
    } else {
      bytes(t.raw(), t.nbytes());
    }
  }
};

bool sameTensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (!a.defined()) return true;
  if (a.dtype() == DType::String) return a.strings() == b.strings();
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Floats compare by bits: two constants are the same only when they are bit-identical.
bool sameFloats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool sameAttr(const Attribute& a, const Attribute& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case AttrType::Int: return a.i == b.i;
    case AttrType::Float: return std::memcmp(&a.f, &b.f, sizeof(float)) == 0;
    case AttrType::String: return a.s == b.s;
    case AttrType::Tensor: return sameTensor(a.t, b.t);
    case AttrType::Ints: return a.ints == b.ints;
    case AttrType::Floats: return sameFloats(a.floats, b.floats);
    case AttrType::Strings: return a.strings == b.strings;
    case AttrType::Tensors:
      if (a.tensors.size() != b.tensors.size()) return false;
      for (size_t i = 0; i < a.tensors.size(); ++i)
        if (!sameTensor(a.tensors[i], b.tensors[i])) return false;
      return true;
    case AttrType::TypeProto: return a.type_value == b.type_value;
    case AttrType::Graph:
    case AttrType::Graphs: return false;  // ops with regions are never merged
  }
  return false;
}

// Attributes are equal when every name either op sets reads the same on both (an explicit default
// equals an absent attribute).
bool sameAttrs(const Op& a, const Op& b) {
  auto check = [&](const Op& x, const Op& y) {
    for (const auto& [name, attr] : x.attrs()) {
      const Attribute* other = y.attr(name);
      if (!other || !sameAttr(attr, *other)) return false;
    }
    return true;
  };
  return check(a, b) && check(b, a);
}

std::vector<Value*> operandKey(const Op& op) {
  std::vector<Value*> ops = op.operands();
  // Commutative: the operands form a multiset. Sorting by address is fine for equality tests.
  if (op.info().has(kCommutative)) std::sort(ops.begin(), ops.end());
  return ops;
}

bool equivalent(const Op& a, const Op& b) {
  if (a.kind() != b.kind() || a.numResults() != b.numResults()) return false;
  if (operandKey(a) != operandKey(b)) return false;
  for (int i = 0; i < a.numResults(); ++i)
    if (a.result(i)->type() != b.result(i)->type()) return false;
  return sameAttrs(a, b);
}

uint64_t hashOp(const Op& op) {
  Hasher h;
  h.pod(op.kind());
  h.pod(op.numResults());
  for (Value* v : operandKey(op)) h.pod(v);
  // Constants have no operands, so their data must go into the hash; other ops' attributes only
  // refine buckets that are small already.
  if (op.kind() == OpKind::Constant)
    for (const auto& [name, a] : op.attrs()) {
      h.string(name);
      h.pod(a.type);
      if (a.type == AttrType::Tensor) h.tensor(a.t);
      h.pod(a.i);
      h.pod(a.f);
      h.string(a.s);
      for (int64_t i : a.ints) h.pod(i);
      for (float f : a.floats) h.pod(f);
      for (const std::string& s : a.strings) h.string(s);
    }
  return h.h;
}

bool eligible(const Op& op) {
  if (!isPure(op) || op.info().has(kControlFlow) || op.numResults() == 0) return false;
  for (const auto& [name, a] : op.attrs())
    if (a.type == AttrType::Graph || a.type == AttrType::Graphs) return false;
  return true;
}

class CommonSubexpressionElimination : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    std::vector<Scope> scopes;
    runRegion(graph.body(), scopes);
    return Status::success();
  }

 private:
  using Scope = std::unordered_map<uint64_t, std::vector<Op*>>;

  // Ops of a nested region may reuse an equivalent op of an enclosing region (it dominates them),
  // never the other way round: each region gets its own scope on top of its parents'.
  void runRegion(Region& region, std::vector<Scope>& scopes) {
    scopes.emplace_back();
    std::vector<Op*> ops;
    for (const auto& op : region.ops()) ops.push_back(op.get());
    for (Op* op : ops) {
      for (Region* sub : op->regions()) runRegion(*sub, scopes);
      if (!eligible(*op)) continue;
      uint64_t key = hashOp(*op);
      Op* leader = find(scopes, key, *op);
      if (leader && replaceWith(*op, *leader)) continue;
      scopes.back()[key].push_back(op);
    }
    scopes.pop_back();
  }

  static Op* find(const std::vector<Scope>& scopes, uint64_t key, const Op& op) {
    for (const Scope& s : scopes) {
      auto it = s.find(key);
      if (it == s.end()) continue;
      for (Op* cand : it->second)
        if (equivalent(*cand, op)) return cand;
    }
    return nullptr;
  }

  // dup(...) ==> leader(...)   when both compute the same values (checked by `equivalent`)
  static bool replaceWith(Op& dup, Op& leader) {
    std::vector<Value*> repl;
    for (int i = 0; i < dup.numResults(); ++i) {
      if (dup.result(i)->hasUses() && !canReplaceValue(dup.result(i), leader.result(i))) return false;
      repl.push_back(leader.result(i));
    }
    Rewriter rw(dup);
    rw.replaceOp(dup, repl);
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> createCsePass() { return std::make_unique<CommonSubexpressionElimination>(); }

}  // namespace dlc::passes
