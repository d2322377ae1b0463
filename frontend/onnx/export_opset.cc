// Opset lowering for export: the IR holds each op's opset-17 form; writing opset N (13..16) uses
// ONNX's schema registry to find the ops that changed after N, and one commented rule per op
// writes the older form (or decomposes an op N lacks), the inverse of upgrade.cc. Whatever the
// older form cannot say is an error naming the op and node. Deprecated ops get their successors.
#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include <onnx/defs/data_type_utils.h>
#include <onnx/defs/schema.h>

#include "frontend/onnx/export_internal.h"
#include "frontend/onnx/exporter.h"
#include "ir/constant_value.h"
#include "ir/dtype_onnx.h"

namespace dlc::onnx_export {
namespace {
using onnx::OpSchema;
using onnx::OpSchemaRegistry;

// The version of an op's domain the exporter writes: `opset` for ai.onnx, 1 for the training
// domain (the only version there is).
int domainVersion(const std::string& domain, int64_t opset) { return domain.empty() ? static_cast<int>(opset) : 1; }

const OpSchema* schemaAt(const std::string& op_type, const std::string& domain, int version) {
  return OpSchemaRegistry::Schema(op_type, version, domain);
}

void clearAttrs(onnx::NodeProto& node) { node.clear_attribute(); }

void removeAttr(onnx::NodeProto& node, const std::string& name) {
  auto* attrs = node.mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i)
    if (attrs->Get(i).name() == name) {
      attrs->DeleteSubrange(i, 1);
      return;
    }
}

onnx::AttributeProto* setAttr(onnx::NodeProto& node, const std::string& name, const Attribute& a) {
  removeAttr(node, name);
  onnx::AttributeProto* ap = node.add_attribute();
  Status s = attributeToProto(name, a, ap);
  (void)s;  // scalars and lists only: cannot fail
  return ap;
}

void rewrite(onnx::NodeProto& node, const std::string& op_type, const std::vector<std::string>& inputs) {
  node.set_op_type(op_type);
  node.clear_input();
  for (const auto& i : inputs) node.add_input(i);
}

std::string input(const onnx::NodeProto& node, int i) { return i < node.input_size() ? node.input(i) : std::string(); }

bool sameAttr(const Attribute& a, const Attribute& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case AttrType::Int: return a.i == b.i;
    case AttrType::Float: return a.f == b.f;
    case AttrType::String: return a.s == b.s;
    case AttrType::Ints: return a.ints == b.ints;
    case AttrType::Floats: return a.floats == b.floats;
    case AttrType::Strings: return a.strings == b.strings;
    default: return false;
  }
}

// The constant tensor `v` holds, if a Constant op makes it.
std::optional<Tensor> constantOf(const Value* v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant) return std::nullopt;
  auto t = constantOpValue(*v->definingOp());
  if (!t.ok()) return std::nullopt;
  return t.value();
}

Status needsOpset(const Op& op, int64_t opset, const std::string& what, int64_t needed) {
  return Status::error(str(nodeWhere(op), ": ", what, " needs opset ", needed, " (exporting at opset ", opset, ")"));
}

// The first opset after `opset` whose version of the op exists and has attribute `attr` (any,
// when `attr` is empty).
int64_t firstOpsetWith(const Op& op, int64_t opset, const std::string& attr = {}) {
  for (int64_t v = opset + 1; v <= kMaxExportOpset; ++v) {
    const OpSchema* s = schemaAt(op.name(), op.info().domain, static_cast<int>(v));
    if (s && (attr.empty() || s->attributes().count(attr))) return v;
  }
  return kMaxExportOpset;
}

// ---- ops that opset N lacks, written with older ops ----

// HardSwish-14(x) = x · HardSigmoid(x; α = 1/6, β = 1/2), which is how the reference computes it.
Status hardSwishBefore14(const Op&, int64_t, onnx::NodeProto& node, NodeSink& sink) {
  const std::string x = input(node, 0), y = node.output(0);
  const std::string hs = sink.freshName(y + "_hardsigmoid");
  onnx::NodeProto* h = sink.addNode("HardSigmoid", {x}, {hs});
  setAttr(*h, "alpha", Attribute::ofFloat(1.0f / 6.0f));
  setAttr(*h, "beta", Attribute::ofFloat(0.5f));
  clearAttrs(node);
  rewrite(node, "Mul", {x, hs});
  return Status::success();
}

// CastLike-15(x, like) = Cast(x, to = dtype(like)) when like's dtype is known.
Status castLikeBefore15(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink&) {
  const Value* like = op.operand(1);
  DType to = like && like->type().isTensor() ? like->type().dtype : DType::Undefined;
  if (to == DType::Undefined) return needsOpset(op, opset, "CastLike with an input of unknown dtype", 15);
  clearAttrs(node);
  rewrite(node, "Cast", {input(node, 0)});
  setAttr(node, "to", Attribute::ofInt(dtypeToOnnxCode(to)));
  return Status::success();
}

// LayerNormalization-17(X, γ, β) over axes [axis, rank), in the reference kernel's order:
//   μ = ReduceMean(X), D = X − μ, σ⁻¹ = Reciprocal(Sqrt(ReduceMean(D·D) + ε)), Y = D·σ⁻¹·γ + β
// computed in f64 when X or stash_type is f64 and in f32 otherwise (Casts around 16-bit inputs);
// the Mean and InvStdDev outputs are μ and σ⁻¹ cast to the stash type.
Status layerNormBefore17(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink& sink) {
  const Type& xt = op.operand(0)->type();
  if (!xt.isTensor() || !isFloat(xt.dtype))
    return Status::error(str(nodeWhere(op), ": cannot decompose LayerNormalization of ", xt.toString(), " before opset 17"));
  const int64_t axis = op.getInt("axis", -1);
  std::vector<int64_t> axes;
  if (axis < 0) {
    for (int64_t a = axis; a < 0; ++a) axes.push_back(a);  // negative axes need no rank
  } else {
    if (!xt.shape.ranked)
      return Status::error(str(nodeWhere(op), ": cannot decompose LayerNormalization with axis ", axis,
                               " of an unranked input before opset 17"));
    for (int64_t a = axis; a < xt.shape.rank(); ++a) axes.push_back(a);
  }
  std::optional<DType> stash = dtypeFromOnnxCode(op.getInt("stash_type", 1));
  if (!stash || !isFloat(*stash)) stash = DType::F32;
  const DType ct = *stash == DType::F64 || xt.dtype == DType::F64 ? DType::F64 : DType::F32;
  const std::string y = node.output(0);
  auto name = [&](const char* what) { return sink.freshName(str(y, "_", what)); };
  // `v` in dtype `to` (a Cast when `from` differs), named `out` when given.
  auto cast = [&](const std::string& v, DType from, DType to, const char* what, std::string out = {}) {
    if (from == to && out.empty()) return v;
    if (out.empty()) out = name(what);
    onnx::NodeProto* n = sink.addNode(from == to ? "Identity" : "Cast", {v}, {out});
    if (from != to) setAttr(*n, "to", Attribute::ofInt(dtypeToOnnxCode(to)));
    return out;
  };
  auto dtypeOf = [&](int i) { return op.operand(i) ? op.operand(i)->type().dtype : ct; };
  auto reduceMean = [&](const std::string& in, const char* what) {
    std::string out = name(what);
    onnx::NodeProto* n = sink.addNode("ReduceMean", {in}, {out});
    setAttr(*n, "axes", Attribute::ofInts(axes));
    setAttr(*n, "keepdims", Attribute::ofInt(1));
    return out;
  };
  auto apply = [&](const char* op_type, std::vector<std::string> in, const char* what) {
    std::string out = name(what);
    sink.addNode(op_type, in, {out});
    return out;
  };
  const std::string x = cast(input(node, 0), xt.dtype, ct, "x");
  const std::string mean = reduceMean(x, "mean");
  const std::string d = apply("Sub", {x, mean}, "centered");
  const std::string var = reduceMean(apply("Mul", {d, d}, "squared"), "variance");
  DLC_ASSIGN_OR_RETURN(std::string eps, sink.constant(Tensor::scalar(ct, op.getFloat("epsilon", 1e-5f)), y + "_epsilon"));
  const std::string inv = apply("Reciprocal", {apply("Sqrt", {apply("Add", {var, eps}, "var_eps")}, "stddev")}, "inv_stddev");
  const std::string normalized = apply("Mul", {d, inv}, "normalized");
  const std::string scale = cast(input(node, 1), dtypeOf(1), ct, "scale");
  const std::string bias = op.operand(2) ? cast(input(node, 2), dtypeOf(2), ct, "bias") : std::string();
  for (int i = 1; i < 3 && i < node.output_size(); ++i)
    if (!node.output(i).empty()) cast(i == 1 ? mean : inv, ct, *stash, "", node.output(i));
  // The node itself becomes the last step, producing Y: the scale or bias, or the Cast back.
  clearAttrs(node);
  node.mutable_output()->DeleteSubrange(1, node.output_size() - 1);
  if (xt.dtype == ct) {
    if (bias.empty()) rewrite(node, "Mul", {normalized, scale});
    else rewrite(node, "Add", {apply("Mul", {normalized, scale}, "scaled"), bias});
  } else {
    std::string v = apply("Mul", {normalized, scale}, "scaled");
    if (!bias.empty()) v = apply("Add", {v, bias}, "shifted");
    rewrite(node, "Cast", {v});
    setAttr(node, "to", Attribute::ofInt(dtypeToOnnxCode(xt.dtype)));
  }
  return Status::success();
}

// ---- ops whose older version differs, before the generic attribute and type checks ----

// BatchNormalization-9 has no training_mode: inference is its one-output form. Its training form
// has five outputs (the batch statistics last), which dlc's importer does not take, so a training
// node is refused rather than written in a form dlc could not read back.
Status batchNormBefore14(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink&) {
  if (op.getInt("training_mode", 0) != 0 || node.output_size() > 1)
    return needsOpset(op, opset, "training-mode BatchNormalization", 14);
  removeAttr(node, "training_mode");
  return Status::success();
}

// RoiAlign-10 always maps with output_half_pixel; half_pixel (opset 16's default) is newer.
Status roiAlignBefore16(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink&) {
  if (op.getString("coordinate_transformation_mode", "half_pixel") != "output_half_pixel")
    return needsOpset(op, opset, "RoiAlign with coordinate_transformation_mode half_pixel", 16);
  removeAttr(node, "coordinate_transformation_mode");
  return Status::success();
}

// Reshape-13 reads a 0 in the shape as "copy the input dim"; allowzero=1 means the same when the
// shape is a constant without zeros.
Status reshapeBefore14(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink&) {
  if (op.getInt("allowzero", 0) == 0) return Status::success();
  std::optional<Tensor> shape = constantOf(op.operand(1));
  bool zero = !shape;
  if (shape)
    for (int64_t d : shape->toInt64Vector()) zero |= d == 0;
  if (zero) return needsOpset(op, opset, "Reshape with allowzero=1 and a shape that may hold 0", 14);
  removeAttr(node, "allowzero");
  return Status::success();
}

// Shape-15(x) {start, end} = Slice(Shape-13(x), [start], [end]): both clamp to [0, rank] after
// adding the rank to negative values.
Status shapeBefore15(const Op& op, int64_t, onnx::NodeProto& node, NodeSink& sink) {
  const int64_t start = op.getInt("start", 0);
  if (start == 0 && !op.hasAttr("end")) {
    clearAttrs(node);
    return Status::success();
  }
  const int64_t end = op.hasAttr("end") ? op.getInt("end") : std::numeric_limits<int64_t>::max();
  const std::string y = node.output(0);
  const std::string full = sink.freshName(y + "_full");
  sink.addNode("Shape", {input(node, 0)}, {full});
  auto vec = [](int64_t v) { return Tensor::fromVector<int64_t>(DType::I64, {1}, {v}); };
  DLC_ASSIGN_OR_RETURN(std::string starts, sink.constant(vec(start), y + "_start"));
  DLC_ASSIGN_OR_RETURN(std::string ends, sink.constant(vec(end), y + "_end"));
  clearAttrs(node);
  rewrite(node, "Slice", {full, starts, ends});
  return Status::success();
}

using Rule = Status (*)(const Op&, int64_t opset, onnx::NodeProto&, NodeSink&);

// A rule for exporting `kind` at opsets below `before`.
struct OpsetRule {
  OpKind kind;
  int64_t before;
  Rule rule;
};

// Ops absent below `before`, written with older ops.
const OpsetRule kDecompositions[] = {
    {OpKind::HardSwish, 14, hardSwishBefore14},
    {OpKind::CastLike, 15, castLikeBefore15},
    {OpKind::LayerNormalization, 17, layerNormBefore17},
};

// Ops whose version below `before` differs in more than its types and new attributes' defaults.
const OpsetRule kOlderForms[] = {
    {OpKind::BatchNormalization, 14, batchNormBefore14},
    {OpKind::RoiAlign, 16, roiAlignBefore16},
    {OpKind::Reshape, 14, reshapeBefore14},
    {OpKind::Shape, 15, shapeBefore15},
};

Rule findRule(const OpsetRule* begin, const OpsetRule* end, OpKind kind, int64_t opset) {
  for (const OpsetRule* r = begin; r != end; ++r)
    if (r->kind == kind && opset < r->before) return r->rule;
  return nullptr;
}

// Attributes an older version lacks may be left out when set to opset 17's default (an explicit
// layout=0 on LSTM-7, say); any other value has no older spelling.
Status dropNewAttributes(const Op& op, const OpSchema& older, int64_t opset, onnx::NodeProto& node) {
  std::vector<std::string> names;
  for (const auto& a : node.attribute()) names.push_back(a.name());
  for (const std::string& name : names) {
    if (older.attributes().count(name)) continue;
    const AttrSpec* spec = op.info().findAttr(name);
    const Attribute* value = op.attr(name);
    if (spec && spec->has_default && value && sameAttr(*value, spec->default_value)) {
      removeAttr(node, name);
      continue;
    }
    return needsOpset(op, opset, str("attribute '", name, "'"), firstOpsetWith(op, opset, name));
  }
  return Status::success();
}

// The older version's type constraints, checked on the values' types: e.g. Add-13 takes no int8,
// Identity-13 no sequences. A type parameter must bind to one type across a node.
Status checkTypes(const Op& op, const OpSchema& older, int64_t opset, const onnx::NodeProto& node) {
  std::map<std::string, onnx::DataType> bound;
  auto check = [&](const std::vector<OpSchema::FormalParameter>& formals, size_t index, const Value* v,
                   const char* what) -> Status {
    if (!v || formals.empty()) return Status::success();
    const Type& t = v->type();
    if (t.isTensor() ? t.dtype == DType::Undefined : !t.element) return Status::success();
    const bool variadic = formals.back().GetOption() == OpSchema::Variadic;
    if (index >= formals.size() && !variadic) return Status::success();  // the verifier reports arity
    const auto& formal = formals[std::min(index, formals.size() - 1)];
    onnx::TypeProto tp;
    DLC_RETURN_IF_ERROR(typeToProto(t, &tp));
    onnx::DataType dt = nullptr;
    try {
      dt = onnx::Utils::DataTypeUtils::ToType(tp);
    } catch (const std::exception&) {
      return Status::success();  // a type ONNX has no name for: the checker will say
    }
    if (!formal.GetTypes().count(dt))
      return Status::error(str(nodeWhere(op), ": ", what, " ", index, " is ", *dt, ", which ", op.name(), "-",
                               older.since_version(), " does not take (exporting at opset ", opset, ")"));
    if (formal.GetIsHomogeneous()) {
      auto [it, inserted] = bound.emplace(formal.GetTypeStr(), dt);
      if (!inserted && it->second != dt)
        return Status::error(str(nodeWhere(op), ": ", op.name(), "-", older.since_version(), " needs one type for ",
                                 formal.GetTypeStr(), ", got ", *it->second, " and ", *dt, " (exporting at opset ", opset, ")"));
    }
    return Status::success();
  };
  for (int i = 0; i < op.numOperands(); ++i) DLC_RETURN_IF_ERROR(check(older.inputs(), static_cast<size_t>(i), op.operand(i), "input"));
  for (int i = 0; i < op.numResults() && i < node.output_size(); ++i)
    if (!node.output(i).empty()) DLC_RETURN_IF_ERROR(check(older.outputs(), static_cast<size_t>(i), op.result(i), "output"));
  return Status::success();
}

// Opset-independent renames of ops ONNX deprecated before opset 13.
//   Upsample-9(X, scales) {mode}  ==>  Resize(X, "", scales) {mode, asymmetric, floor}
//     (Resize-10 was Upsample; the importer maps it back the same way)
//   Scatter-9  ==>  ScatterElements (same inputs and axis)
bool replaceDeprecated(const Op& op, onnx::NodeProto& node) {
  if (op.kind() == OpKind::Scatter) {
    node.set_op_type("ScatterElements");
    return true;
  }
  if (op.kind() != OpKind::Upsample) return false;
  std::string mode = op.getString("mode", "nearest");
  if (mode == "bilinear" || mode == "trilinear") mode = "linear";
  rewrite(node, "Resize", {input(node, 0), "", input(node, 1)});
  clearAttrs(node);
  setAttr(node, "mode", Attribute::ofString(mode));
  setAttr(node, "coordinate_transformation_mode", Attribute::ofString("asymmetric"));
  if (mode == "nearest") setAttr(node, "nearest_mode", Attribute::ofString("floor"));
  return true;
}

// ONNX's own signature check of the finished node (arity, attribute names and types).
Status verifyNode(const Op& op, int64_t opset, const onnx::NodeProto& node) {
  const int version = domainVersion(node.domain(), opset);
  const OpSchema* s = schemaAt(node.op_type(), node.domain(), version);
  if (!s) return Status::error(str(nodeWhere(op), ": ", node.op_type(), " has no schema at opset ", opset));
  try {
    s->Verify(node);
  } catch (const std::exception& e) {
    std::string what = e.what();
    return Status::error(str(nodeWhere(op), ": not a valid ", node.op_type(), "-", s->since_version(), " node: ",
                             what.substr(0, what.find('\n'))));
  }
  return Status::success();
}

}  // namespace

std::string nodeWhere(const Op& op) {
  std::string loc = op.location();
  if (loc.empty() && op.numResults() > 0 && !op.result(0)->name().empty()) loc = "producing " + op.result(0)->name();
  return loc.empty() ? str("an unnamed ", op.name(), " node") : str("node '", loc, "' (", op.name(), ")");
}

bool isOptionalOutput(const Op& op, int index, int64_t opset) {
  const std::string domain = op.info().domain;
  if (domain == "dlc") return false;
  const OpSchema* s = schemaAt(op.name(), domain, domainVersion(domain, opset));
  if (!s) s = schemaAt(op.name(), domain, domainVersion(domain, kMaxExportOpset));
  if (!s || index >= static_cast<int>(s->outputs().size())) return false;
  return s->outputs()[static_cast<size_t>(index)].GetOption() == OpSchema::Optional;
}

Status lowerNode(const Op& op, int64_t opset, onnx::NodeProto& node, NodeSink& sink) {
  const std::string domain = op.info().domain;
  if (domain == "dlc") return Status::error(str(nodeWhere(op), ": dlc ops have no ONNX form (run the unfuse pass)"));
  // ONNX Runtime's contrib ops (MatMulNBits) have no ONNX schema and the same form at every ai.onnx
  // opset: the op table's signature, checked when the op was built, is the whole check.
  if (domain == "com.microsoft") return Status::success();
  if (replaceDeprecated(op, node)) return verifyNode(op, opset, node);
  const int version = domainVersion(domain, opset);
  const OpSchema* latest = schemaAt(op.name(), domain, domainVersion(domain, kMaxExportOpset));
  const OpSchema* older = schemaAt(op.name(), domain, version);
  if (!latest) return Status::error(str(nodeWhere(op), ": ONNX 1.12 has no schema for ", op.name()));
  if (!older) {
    Rule rule = findRule(std::begin(kDecompositions), std::end(kDecompositions), op.kind(), opset);
    if (!rule) return needsOpset(op, opset, op.name(), firstOpsetWith(op, opset));
    DLC_RETURN_IF_ERROR(rule(op, opset, node, sink));
    return verifyNode(op, opset, node);
  }
  if (older->since_version() != latest->since_version()) {
    if (Rule rule = findRule(std::begin(kOlderForms), std::end(kOlderForms), op.kind(), opset))
      DLC_RETURN_IF_ERROR(rule(op, opset, node, sink));
    if (node.op_type() == op.name()) {
      DLC_RETURN_IF_ERROR(dropNewAttributes(op, *older, opset, node));
      DLC_RETURN_IF_ERROR(checkTypes(op, *older, opset, node));
    }
  }
  return verifyNode(op, opset, node);
}

}  // namespace dlc::onnx_export
