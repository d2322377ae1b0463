// IR regions -> GraphProto: value names, initializers (inline or external), nodes with their
// attributes and nested graphs, graph inputs/outputs and value_info.
#include "frontend/onnx/export_internal.h"
#include "ir/constant_value.h"

namespace dlc::onnx_export {
namespace {

// Names from a hostile or hand-written model may be empty or hold control characters; those get
// fresh names instead, so every name in the file is printable.
bool usableName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

// Visits every value of `r` and its nested regions in the textual printer's order: arguments,
// then each op's results followed by the regions of its graph attributes (attribute-name order).
template <typename Fn>
void forEachValue(const Region& r, Fn&& fn) {
  for (int i = 0; i < r.numArguments(); ++i) fn(r.argument(i));
  for (const auto& op : r.ops()) {
    for (int i = 0; i < op->numResults(); ++i) fn(op->result(i));
    for (const auto& [name, a] : op->attrs()) {
      if (a.g) forEachValue(*a.g, fn);
      for (const auto& g : a.graphs)
        if (g) forEachValue(*g, fn);
    }
  }
}

// Enough of a type for value_info: a dtype (shape optional), recursively for sequences/optionals.
bool knownType(const Type& t) {
  if (t.isTensor()) return t.dtype != DType::Undefined;
  return t.element && knownType(*t.element);
}

bool definedIn(const Value* v, const Region& r) {
  return v->argumentOf() == &r || (v->definingOp() && v->definingOp()->parent() == &r);
}

bool isOutputOf(const Value* v, const Region& r) {
  for (const Use& u : v->uses())
    if (!u.user && u.region == &r) return true;
  return false;
}

int64_t alignUp(int64_t n, int64_t a) { return a <= 1 ? n : (n + a - 1) / a * a; }

class GraphWriter;

// The sink lowering rules add helper nodes through: they land in the region being written, just
// before the node being lowered.
class RegionSink : public NodeSink {
 public:
  RegionSink(ExportContext& ctx, onnx::GraphProto* g) : ctx_(ctx), g_(g) {}
  std::string freshName(const std::string& hint) override { return ctx_.names.fresh(hint); }
  onnx::NodeProto* addNode(const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs) override {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op_type);
    if (!outputs.empty()) n->set_name(ctx_.nodeName(outputs[0]));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  Expected<std::string> constant(const Tensor& t, const std::string& hint) override {
    std::string name = freshName(hint);
    onnx::NodeProto* n = addNode("Constant", {}, {name});
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    DLC_RETURN_IF_ERROR(tensorToProto(t, {}, a->mutable_t()));
    return name;
  }

 private:
  ExportContext& ctx_;
  onnx::GraphProto* g_;
};

class GraphWriter {
 public:
  explicit GraphWriter(ExportContext& ctx) : ctx_(ctx) {}

  Status region(const Region& r, bool top, const std::string& name, onnx::GraphProto* g) {
    g->set_name(name);
    for (int i = 0; i < r.numArguments(); ++i) {
      const Value* arg = r.argument(i);
      DLC_RETURN_IF_ERROR(valueInfo(arg, top, "input", g->add_input()));
    }
    for (const auto& op : r.ops()) {
      if (top && op->kind() == OpKind::Constant && !isOutputOf(op->result(), r)) {
        DLC_RETURN_IF_ERROR(initializer(*op, g));
        continue;
      }
      DLC_RETURN_IF_ERROR(node(*op, g));
    }
    std::unordered_set<const Value*> returned;
    for (int i = 0; i < r.numOutputs(); ++i) {
      const Value* v = r.output(i);
      std::string out_name = ctx_.names.of(v);
      // A name may be listed once, and runtimes want a subgraph's outputs produced inside it, so a
      // repeated output or a captured outer value is returned through an Identity.
      if (!returned.insert(v).second || !definedIn(v, r)) {
        DLC_RETURN_IF_ERROR(checkIdentityType(v->type(), out_name));
        std::string copy = ctx_.names.fresh(out_name + "_out");
        RegionSink(ctx_, g).addNode("Identity", {out_name}, {copy});
        out_name = copy;
      }
      onnx::ValueInfoProto* vi = g->add_output();
      DLC_RETURN_IF_ERROR(valueInfo(v, top, "output", vi));
      vi->set_name(out_name);
    }
    // Intermediate types, so a re-import (or another runtime) sees what dlc inferred, symbolic
    // dims included.
    for (const auto& op : r.ops()) {
      if (top && op->kind() == OpKind::Constant) continue;
      for (int i = 0; i < op->numResults(); ++i) {
        const Value* v = op->result(i);
        if (isOutputOf(v, r) || !knownType(v->type()) || !written_.count(v)) continue;
        onnx::ValueInfoProto* vi = g->add_value_info();
        vi->set_name(ctx_.names.of(v));
        DLC_RETURN_IF_ERROR(typeToProto(v->type(), vi->mutable_type()));
      }
    }
    return Status::success();
  }

 private:
  // Graph inputs and outputs of the main graph must have a dtype and (for tensors) a shape in
  // ONNX; subgraph ones may leave the type out.
  Status valueInfo(const Value* v, bool top, const char* what, onnx::ValueInfoProto* vi) {
    vi->set_name(ctx_.names.of(v));
    const Type& t = v->type();
    if (top && (!knownType(t) || (t.isTensor() && !t.shape.ranked)))
      return Status::error(str("graph ", what, " '", ctx_.names.of(v), "' has type ", t.toString(),
                               ": ONNX needs a dtype and a rank for the main graph's inputs and outputs"));
    if (!knownType(t)) return Status::success();
    return typeToProto(t, vi->mutable_type()).withContext(str("graph ", what, " '", ctx_.names.of(v), "'"));
  }

  // Identity takes sequences from opset 14 and optionals from opset 16.
  Status checkIdentityType(const Type& t, const std::string& name) const {
    if ((t.isSequence() && ctx_.opset < 14) || (t.isOptional() && ctx_.opset < 16))
      return Status::error(str("output '", name, "' (", t.toString(), ") must be returned through an Identity, which opset ",
                               ctx_.opset, " does not define for that type"));
    return Status::success();
  }

  Status initializer(const Op& op, onnx::GraphProto* g) {
    DLC_ASSIGN_OR_RETURN(Tensor t, constantOpValue(op));
    const std::string& name = ctx_.names.of(op.result());
    onnx::TensorProto* proto = g->add_initializer();
    ExternalData& ext = ctx_.external;
    const int64_t bytes = static_cast<int64_t>(t.nbytes());
    if (!ext.enabled || t.dtype() == DType::String || bytes < ext.threshold || bytes == 0)
      return tensorToProto(t, name, proto).withContext(str("initializer '", name, "'"));
    DLC_RETURN_IF_ERROR(tensorHeaderToProto(t, name, proto).withContext(str("initializer '", name, "'")));
    const int64_t offset = alignUp(ext.size, ext.alignment);
    proto->set_data_location(onnx::TensorProto::EXTERNAL);
    for (auto [key, value] : {std::pair<const char*, std::string>{"location", ext.location},
                              {"offset", std::to_string(offset)}, {"length", std::to_string(bytes)}}) {
      auto* kv = proto->add_external_data();
      kv->set_key(key);
      kv->set_value(value);
    }
    ext.tensors.emplace_back(std::move(t), offset);
    ext.size = offset + bytes;
    return Status::success();
  }

  Status node(const Op& op, onnx::GraphProto* g) {
    onnx::NodeProto node;
    node.set_op_type(op.name());
    const std::string domain = op.info().domain;
    if (!domain.empty()) {
      node.set_domain(domain);
      ctx_.domains.insert(domain);
    }
    if (!op.location().empty()) node.set_name(ctx_.nodeName(op.location()));
    for (const Value* v : op.operands()) node.add_input(v ? ctx_.names.of(v) : std::string());
    for (int i = 0; i < op.numResults(); ++i) {
      const Value* v = op.result(i);
      // An unused, unnamed optional result is ONNX's absent output (""), as it was on import.
      bool absent = !v->hasUses() && v->name().empty() && isOptionalOutput(op, i, ctx_.opset);
      node.add_output(absent ? std::string() : ctx_.names.of(v));
      if (!absent) written_.insert(v);
    }
    while (node.output_size() > 0 && node.output(node.output_size() - 1).empty()) node.mutable_output()->RemoveLast();
    const std::string base = op.location().empty() ? std::string(op.name()) : op.location();
    for (const auto& [name, a] : op.attrs()) {
      onnx::AttributeProto* ap = node.add_attribute();
      if (a.type == AttrType::Graph || a.type == AttrType::Graphs) {
        ap->set_name(name);
        ap->set_type(a.type == AttrType::Graph ? onnx::AttributeProto::GRAPH : onnx::AttributeProto::GRAPHS);
        if (a.type == AttrType::Graph) {
          if (!a.g) return Status::error(str(nodeWhere(op), ": attribute '", name, "' has no region"));
          DLC_RETURN_IF_ERROR(region(*a.g, false, str(base, "_", name), ap->mutable_g()));
        }
        for (size_t k = 0; k < a.graphs.size(); ++k) {
          if (!a.graphs[k]) return Status::error(str(nodeWhere(op), ": attribute '", name, "' has no region"));
          DLC_RETURN_IF_ERROR(region(*a.graphs[k], false, str(base, "_", name, "_", k), ap->add_graphs()));
        }
        continue;
      }
      DLC_RETURN_IF_ERROR(attributeToProto(name, a, ap).withContext(nodeWhere(op)));
    }
    RegionSink sink(ctx_, g);
    DLC_RETURN_IF_ERROR(lowerNode(op, ctx_.opset, node, sink));
    *g->add_node() = std::move(node);
    return Status::success();
  }

  ExportContext& ctx_;
  std::unordered_set<const Value*> written_;  // results written under their name (not as "")
};

}  // namespace

ValueNames::ValueNames(const Region& top) {
  // Every name the model uses is reserved first, so a fresh `_n` never takes a name that a later
  // value carries.
  forEachValue(top, [&](const Value* v) {
    if (usableName(v->name())) reserved_.insert(v->name());
  });
  std::unordered_set<std::string> given;
  forEachValue(top, [&](const Value* v) {
    const std::string& n = v->name();
    if (usableName(n) && given.insert(n).second) names_[v] = n;
    else names_[v] = unused(str("_", fresh_++));
  });
}

const std::string& ValueNames::of(const Value* v) const {
  static const std::string kNone;
  auto it = names_.find(v);
  return it == names_.end() ? kNone : it->second;
}

std::string ValueNames::unused(const std::string& base) {
  std::string name = base;
  for (int k = 1; reserved_.count(name); ++k) name = str(base, "_", k);
  reserved_.insert(name);
  return name;
}

std::string ExportContext::nodeName(const std::string& base) {
  if (base.empty()) return base;
  std::string name = base;
  for (int k = 1; !node_names.insert(name).second; ++k) name = str(base, "_", k);
  return name;
}

std::string ValueNames::fresh(const std::string& hint) { return unused(usableName(hint) ? hint : std::string("_")); }

Status writeGraph(const Graph& graph, ExportContext& ctx, onnx::GraphProto* out) {
  GraphWriter w(ctx);
  return w.region(graph.body(), true, graph.name.empty() ? std::string("main") : graph.name, out);
}

}  // namespace dlc::onnx_export
