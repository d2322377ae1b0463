// ONNX GraphProto -> IR regions: initializers, inputs, nodes (with subgraphs and outer-scope
// capture), outputs; result types from our inference, falling back on ONNX's type information.
#include <unordered_map>

#include "frontend/onnx/onnx_internal.h"
#include "ir/builder.h"
#include "ir/infer/infer.h"

namespace dlc::onnx_import {
namespace {

// ONNX names visible at one graph level; subgraphs see their enclosing scopes' names.
struct Scope {
  const Scope* parent = nullptr;
  std::unordered_map<std::string, Value*> values;

  Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->values.find(name);
      if (it != s->values.end()) return it->second;
    }
    return nullptr;
  }
};

bool isKnown(const Type& t) { return !(t.isTensor() && t.dtype == DType::Undefined); }

// Fills what `primary` leaves open (undefined dtype, unranked shape, unknown dims) from `hint`.
// Where both say something, `primary` wins.
Type mergeTypes(const Type& primary, const Type& hint) {
  if (!isKnown(primary) && !primary.shape.ranked) return hint;
  if (primary.kind != hint.kind) return primary;
  if (primary.isSequence() || primary.isOptional()) {
    if (!primary.element || !hint.element) return primary;
    Type elem = mergeTypes(*primary.element, *hint.element);
    return primary.isSequence() ? Type::sequence(std::move(elem)) : Type::optional(std::move(elem));
  }
  Type out = primary;
  if (out.dtype == DType::Undefined) out.dtype = hint.dtype;
  if (!out.shape.ranked) {
    out.shape = hint.shape;
  } else if (hint.shape.ranked && hint.shape.rank() == out.shape.rank()) {
    for (size_t i = 0; i < out.shape.dims.size(); ++i)
      if (!out.shape.dims[i].isStatic() && !out.shape.dims[i].isSymbolic()) out.shape.dims[i] = hint.shape.dims[i];
  }
  return out;
}

// Removes dim `axis` (scan axis) from a tensor type.
Type dropAxis(const Type& t, int64_t axis) {
  if (!t.isTensor() || !t.shape.ranked) return Type::tensor(t.dtype);
  int rank = t.shape.rank();
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return Type::tensor(t.dtype);
  Type out = t;
  out.shape.dims.erase(out.shape.dims.begin() + axis);
  return out;
}

const onnx::AttributeProto* findAttr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

class GraphImporter;

// Lets upgrade rules add constants and helper ops in front of the node being imported.
class RegionEmitter : public UpgradeEmitter {
 public:
  RegionEmitter(GraphImporter& imp, Region& region) : imp_(imp), region_(region) {}
  Value* constant(Tensor value, const std::string& name) override;
  Expected<Value*> helper(OpKind kind, std::vector<Value*> inputs, std::map<std::string, Attribute> attrs,
                          const std::string& location, const Type& fallback) override;
  Expected<Op*> opInRegion(Region& region, OpKind kind, std::vector<Value*> inputs,
                           std::map<std::string, Attribute> attrs, const std::string& location,
                           const std::vector<Type>& fallbacks) override;

 private:
  GraphImporter& imp_;
  Region& region_;
};

class GraphImporter {
 public:
  GraphImporter(const std::map<std::string, int64_t>& opsets, std::string base_dir,
                std::unordered_map<std::string, Type> onnx_types)
      : opsets_(opsets), base_dir_(std::move(base_dir)), onnx_types_(std::move(onnx_types)) {}

  // Imports graph `g` into `region`. `arg_hints[i]` completes a missing type of input i.
  Status importRegion(const onnx::GraphProto& g, Region& region, const Scope* parent,
                      const std::vector<Type>& arg_hints) {
    Scope scope;
    scope.parent = parent;
    std::unordered_map<std::string, bool> is_init;
    for (const auto& init : g.initializer()) {
      DLC_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(init, base_dir_));
      scope.values[init.name()] = Builder(region).constant(std::move(t), init.name());
      is_init[init.name()] = true;
    }
    if (g.sparse_initializer_size() > 0)
      return Status::error(str("sparse initializer '", g.sparse_initializer(0).values().name(), "' is not supported"));
    for (int i = 0; i < g.input_size(); ++i) {
      const auto& in = g.input(i);
      if (is_init.count(in.name())) continue;  // an input with an initializer is a constant
      Type t = Type::tensor(DType::Undefined);
      if (in.has_type()) {
        auto parsed = typeFromProto(in.type());
        if (!parsed.ok()) return parsed.status().withContext(str("graph input '", in.name(), "'"));
        t = parsed.value();
      }
      if (static_cast<size_t>(i) < arg_hints.size()) t = mergeTypes(t, arg_hints[static_cast<size_t>(i)]);
      scope.values[in.name()] = region.addArgument(std::move(t), in.name());
    }
    for (const auto& node : g.node()) DLC_RETURN_IF_ERROR(importNode(node, region, scope));
    std::vector<Value*> outs;
    for (const auto& out : g.output()) {
      Value* v = scope.find(out.name());
      if (!v) return Status::error(str("graph output '", out.name(), "' is not produced by any node or input"));
      outs.push_back(v);
    }
    region.setOutputs(std::move(outs));
    return Status::success();
  }

  // Creates an op, checks it against the op table and types its results: our inference first,
  // completed (or, where it fails, replaced) by ONNX's types `fallbacks[i]`.
  Expected<Op*> createOp(Region& region, OpKind kind, std::vector<Value*> inputs, std::map<std::string, Attribute> attrs,
                         const std::string& location, const std::vector<std::string>& names,
                         const std::vector<std::optional<Type>>& fallbacks) {
    Op* op = region.createOp(kind, std::move(inputs), std::vector<Type>(names.size()));
    op->setLocation(location);
    for (auto& [name, a] : attrs) op->setAttr(name, std::move(a));
    Status s = checkOpSignature(*op);
    if (!s.ok()) {
      op->erase();
      return s;
    }
    Status inferred = Status::success();
    if (kind == OpKind::Constant) {
      const Attribute* v = op->attr("value");
      if (v && v->type == AttrType::Tensor) op->result(0)->setType(Type::tensor(v->t.dtype(), Shape::of(v->t.shape())));
    } else {
      try {
        inferred = inferOpTypes(*op);
      } catch (const std::exception& e) {
        inferred = Status::error(str(op->name(), " '", location, "': inference failed: ", e.what()));
      }
    }
    for (int i = 0; i < op->numResults(); ++i) {
      Value* r = op->result(i);
      const std::optional<Type>& fb = fallbacks[static_cast<size_t>(i)];
      if (inferred.ok()) {
        if (fb) r->setType(mergeTypes(r->type(), *fb));
      } else if (fb && isKnown(*fb)) {
        r->setType(*fb);
      } else if (names[static_cast<size_t>(i)].empty()) {
        r->setType(Type::tensor(DType::Undefined));  // an unused optional output
      } else {
        op->erase();
        return Status::error(str(inferred.message(), " (and the model gives no type for '", names[static_cast<size_t>(i)],
                                 "')"));
      }
      r->setName(names[static_cast<size_t>(i)]);
    }
    return op;
  }

  std::optional<Type> onnxType(const std::string& name) const {
    auto it = onnx_types_.find(name);
    if (it == onnx_types_.end()) return std::nullopt;
    return it->second;
  }

 private:
  int64_t opsetOf(const std::string& domain) const {
    auto it = opsets_.find(domain);
    return it == opsets_.end() ? 0 : it->second;
  }

  // Types a subgraph's inputs must have, from the parent op's operands: missing declarations in
  // the subgraph are filled from these.
  std::vector<Type> subgraphHints(const PendingNode& n, const onnx::NodeProto& node) const {
    std::vector<Type> hints;
    auto typeOf = [&](size_t i) { return i < n.inputs.size() && n.inputs[i] ? n.inputs[i]->type() : Type::tensor(DType::Undefined); };
    if (n.kind == OpKind::Loop) {  // (iteration_num, condition, loop-carried...)
      hints.push_back(Type::tensor(DType::I64, Shape::of({})));
      hints.push_back(Type::tensor(DType::Bool, Shape::of({})));
      for (size_t i = 2; i < n.inputs.size(); ++i) hints.push_back(typeOf(i));
    } else if (n.kind == OpKind::Scan) {  // (state..., one slice of each scan input)
      // Scan-8 has sequence_lens first and a batch axis 0 on every operand, scan axis 1.
      bool scan8 = n.opset < 9;
      size_t first = scan8 ? 1 : 0;
      const auto* nsi = findAttr(node, "num_scan_inputs");
      int64_t num_scan = nsi ? nsi->i() : 0;
      int64_t num_operands = static_cast<int64_t>(n.inputs.size()) - static_cast<int64_t>(first);
      int64_t num_state = num_operands - num_scan;
      const auto* axes = findAttr(node, "scan_input_axes");
      for (int64_t i = 0; i < num_operands; ++i) {
        Type t = typeOf(first + static_cast<size_t>(i));
        if (scan8) t = dropAxis(t, 0);
        if (i < num_state) {
          hints.push_back(t);
        } else {
          int64_t j = i - num_state;
          int64_t axis = !scan8 && axes && j < axes->ints_size() ? axes->ints(static_cast<int>(j)) : 0;
          hints.push_back(dropAxis(t, axis));
        }
      }
    } else if (n.kind == OpKind::SequenceMap) {  // sequences are mapped element by element
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        Type t = typeOf(i);
        hints.push_back(t.isSequence() && t.element ? *t.element : t);
      }
    }
    return hints;
  }

  Status importNode(const onnx::NodeProto& node, Region& region, Scope& scope) {
    PendingNode n;
    n.op_type = node.op_type();
    n.location = node.name().empty() ? str(node.op_type(), "_", node_counter_) : node.name();
    ++node_counter_;
    std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    n.opset = opsetOf(domain);
    std::string where = str("node '", n.location, "' (", n.op_type, ")");
    const bool contrib = isExpandedContribOp(domain, n.op_type);
    auto kind = opKindFromName(n.op_type, domain);
    if (!kind && !contrib) return Status::error(str(where, ": unsupported op"));
    if (kind) n.kind = *kind;
    for (const auto& name : node.input()) {
      if (name.empty()) {
        n.inputs.push_back(nullptr);
        continue;
      }
      Value* v = scope.find(name);
      if (!v) return Status::error(str(where, ": input '", name, "' is not defined before this node"));
      n.inputs.push_back(v);
    }
    while (!n.inputs.empty() && !n.inputs.back()) n.inputs.pop_back();
    std::vector<Type> hints = subgraphHints(n, node);
    GraphConverter graph = [&](const onnx::GraphProto& g, int) -> Expected<std::shared_ptr<Region>> {
      auto r = std::make_shared<Region>();
      DLC_RETURN_IF_ERROR(importRegion(g, *r, &scope, hints));
      return r;
    };
    for (const auto& a : node.attribute()) {
      if (n.attrs.count(a.name())) return Status::error(str(where, ": attribute '", a.name(), "' is given twice"));
      auto conv = attributeFromProto(a, base_dir_, graph);
      if (!conv.ok()) return conv.status().withContext(str(where, ": attribute '", a.name(), "'"));
      n.attrs[a.name()] = std::move(conv).value();
    }
    if (kind && n.kind == OpKind::Constant) DLC_RETURN_IF_ERROR(normalizeConstant(n).withContext(where));
    int num_out = node.output_size();
    while (num_out > 0 && node.output(num_out - 1).empty()) --num_out;
    n.num_outputs = num_out;
    RegionEmitter emit(*this, region);
    if (contrib) {
      if (num_out != 1) return Status::error(str(where, ": must have one output"));
      DLC_ASSIGN_OR_RETURN(Value* out, expandContribOp(n, emit));
      if (!n.attrs.empty()) return Status::error(str(where, ": attribute '", n.attrs.begin()->first, "' is not supported"));
      if (scope.values.count(node.output(0))) return Status::error(str(where, ": output '", node.output(0), "' is already defined"));
      out->setName(node.output(0));
      scope.values[node.output(0)] = out;
      return Status::success();
    }
    DLC_RETURN_IF_ERROR(upgradeNode(n, emit));
    while (!n.inputs.empty() && !n.inputs.back()) n.inputs.pop_back();

    std::vector<std::string> names(node.output().begin(), node.output().begin() + num_out);
    std::vector<std::optional<Type>> fallbacks;
    for (const auto& name : names) fallbacks.push_back(name.empty() ? std::nullopt : onnxType(name));
    DLC_ASSIGN_OR_RETURN(Op* op, createOp(region, n.kind, std::move(n.inputs), std::move(n.attrs), n.location, names,
                                          fallbacks));
    for (int i = 0; i < op->numResults(); ++i) {
      const std::string& name = names[static_cast<size_t>(i)];
      if (name.empty()) continue;
      if (scope.values.count(name)) return Status::error(str(where, ": output '", name, "' is already defined"));
      scope.values[name] = op->result(i);
    }
    return Status::success();
  }

  const std::map<std::string, int64_t>& opsets_;
  std::string base_dir_;
  std::unordered_map<std::string, Type> onnx_types_;
  int node_counter_ = 0;
};

Value* RegionEmitter::constant(Tensor value, const std::string& name) {
  return Builder(region_).constant(std::move(value), name);
}

Expected<Value*> RegionEmitter::helper(OpKind kind, std::vector<Value*> inputs, std::map<std::string, Attribute> attrs,
                                       const std::string& location, const Type& fallback) {
  DLC_ASSIGN_OR_RETURN(Op* op, imp_.createOp(region_, kind, std::move(inputs), std::move(attrs), location, {location},
                                             {std::optional<Type>(fallback)}));
  return op->result(0);
}

Expected<Op*> RegionEmitter::opInRegion(Region& region, OpKind kind, std::vector<Value*> inputs,
                                        std::map<std::string, Attribute> attrs, const std::string& location,
                                        const std::vector<Type>& fallbacks) {
  std::vector<std::string> names;
  std::vector<std::optional<Type>> fbs;
  for (size_t i = 0; i < fallbacks.size(); ++i) {
    names.push_back(str(location, "_", i));
    fbs.emplace_back(fallbacks[i]);
  }
  return imp_.createOp(region, kind, std::move(inputs), std::move(attrs), location, names, fbs);
}

// Records the declared and ONNX-inferred type of every named value, subgraphs included (ONNX
// names are unique across a model, so one map serves all scopes).
void collectTypes(const onnx::GraphProto& g, std::unordered_map<std::string, Type>& out) {
  auto add = [&](const onnx::ValueInfoProto& vi) {
    if (!vi.has_type() || out.count(vi.name())) return;
    auto t = typeFromProto(vi.type());
    if (t.ok() && isKnown(t.value())) out.emplace(vi.name(), t.value());
  };
  for (const auto& vi : g.output()) add(vi);
  for (const auto& vi : g.value_info()) add(vi);
  for (const auto& vi : g.input()) add(vi);
  for (const auto& node : g.node())
    for (const auto& a : node.attribute()) {
      if (a.has_g()) collectTypes(a.g(), out);
      for (const auto& sub : a.graphs()) collectTypes(sub, out);
    }
}

}  // namespace

Expected<std::unique_ptr<Graph>> buildGraph(const onnx::ModelProto& model, const std::string& base_dir,
                                            const onnx::ModelProto* inferred) {
  std::unordered_map<std::string, Type> types;
  // ONNX's inference merges the declarations with what it derived, so it goes first.
  if (inferred) collectTypes(inferred->graph(), types);
  collectTypes(model.graph(), types);
  auto graph = std::make_unique<Graph>();
  fillModelMetadata(model, *graph);
  GraphImporter imp(graph->opset_imports, base_dir, std::move(types));
  DLC_RETURN_IF_ERROR(imp.importRegion(model.graph(), graph->body(), nullptr, {}));
  return graph;
}

void fillModelMetadata(const onnx::ModelProto& model, Graph& graph) {
  graph.opset_imports.clear();
  for (const auto& o : model.opset_import()) graph.opset_imports[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
  graph.producer = model.producer_name();
  if (!model.producer_version().empty()) graph.producer += " " + model.producer_version();
  if (model.has_graph() && !model.graph().name().empty()) graph.name = model.graph().name();
}

}  // namespace dlc::onnx_import
