// Pre-opset-7 forms (legacy broadcasting, consumed_inputs, is_test) and Scan-8's batch axis,
// rewritten into the op table's form. Semantics follow ONNX 1.12's schema history
// (onnx.defs.get_schema(name, version)); each rule names the versions it covers.
#include <set>

#include "frontend/onnx/onnx_internal.h"

namespace dlc::onnx_import {
namespace {

// Binary ops whose versions 1..6 broadcast B onto A only when broadcast=1 (`axis` picks where B's
// dims start in A's; suffix alignment without it) and otherwise require equal shapes.
const std::set<std::string>& legacyBroadcastOps() {
  static const std::set<std::string> ops{"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"};
  return ops;
}

// Ops whose schema changed before opset 7 only by dropping the in-place hint `consumed_inputs`
// (Relu-1 -> Relu-6 and the like); ignoring the hint is exact.
const std::set<std::string>& consumedInputsOnlyOps() {
  static const std::set<std::string> ops{"Abs",  "Ceil", "Clip",    "Elu",     "Exp",   "Floor", "HardSigmoid",
                                         "InstanceNormalization", "LeakyRelu", "Log", "Max", "Mean", "Min",
                                         "Neg",  "Reciprocal", "Relu", "Selu", "Sigmoid", "Sqrt", "Sum", "Tanh"};
  return ops;
}

Tensor int64Vector(const std::vector<int64_t>& v) {
  return Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(v.size())}, v);
}

bool rankedTensor(const Value* v) { return v && v->type().isTensor() && v->type().shape.ranked; }

// Unsqueeze(v, axes) as a helper op, with its result type worked out here as the fallback.
Expected<Value*> unsqueeze(UpgradeEmitter& emit, Value* v, const std::vector<int64_t>& axes, const std::string& loc) {
  Type t = v->type();
  if (t.isTensor() && t.shape.ranked)
    for (int64_t a : axes) t.shape.dims.insert(t.shape.dims.begin() + a, Dim::of(1));
  return emit.helper(OpKind::Unsqueeze, {v, emit.constant(int64Vector(axes), loc + "_axes")}, {}, loc, t);
}

// Add/Sub/Mul/Div/Pow-1..6 and And/Or/Xor/Equal/Greater/Less-1: with broadcast=1 and `axis`, B's
// dims line up with A's starting at `axis`; appending ones to B (Unsqueeze at its end) until it
// reaches A's trailing dim gives numpy broadcasting the same alignment. Without `axis` legacy
// broadcasting is suffix-aligned, which numpy's already is. Without broadcast=1 the shapes must
// be equal, where numpy broadcasting is the identity.
Status upgradeLegacyBroadcast(PendingNode& n, UpgradeEmitter& emit) {
  takeAttr(n, "consumed_inputs");
  auto bcast = takeAttr(n, "broadcast");
  auto axis = takeAttr(n, "axis");
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return Status::success();  // signature check reports it
  Value* a = n.inputs[0];
  Value* b = n.inputs[1];
  bool both_ranked = rankedTensor(a) && rankedTensor(b);
  if (!bcast || bcast->i == 0) {
    if (both_ranked) {
      const Shape& sa = a->type().shape;
      const Shape& sb = b->type().shape;
      bool differ = sa.rank() != sb.rank();
      for (int i = 0; !differ && i < sa.rank(); ++i) {
        const Dim& da = sa.dims[static_cast<size_t>(i)];
        const Dim& db = sb.dims[static_cast<size_t>(i)];
        differ = da.isStatic() && db.isStatic() && da.value != db.value;
      }
      if (differ)
        return attrError(n, "broadcast", str("is not set, so the shapes must be equal (got ", a->type().toString(), " and ",
                                             b->type().toString(), ")"));
    }
    return Status::success();
  }
  if (!axis) return Status::success();
  if (!both_ranked) return attrError(n, "axis", "needs inputs of known rank to align B with A");
  int ra = a->type().shape.rank();
  int rb = b->type().shape.rank();
  int64_t ax = axis->i < 0 ? axis->i + ra : axis->i;
  if (ax < 0 || ax + rb > ra)
    return attrError(n, "axis", str("= ", axis->i, " does not fit B of rank ", rb, " into A of rank ", ra));
  std::vector<int64_t> axes;
  for (int64_t i = rb; i < ra - ax; ++i) axes.push_back(i);
  if (axes.empty()) return Status::success();
  DLC_ASSIGN_OR_RETURN(n.inputs[1], unsqueeze(emit, b, axes, n.location + "_align_b"));
  return Status::success();
}

// PRelu-1/6: the slope is per channel (dim 1, as in Caffe2 where the op came from) or one value;
// opset 7 broadcasts it numpy-style against X's trailing dims instead. A 1-D slope therefore gets
// trailing ones so that its dim lines up with dim 1 (a 1-element slope is unaffected).
Status upgradeLegacyPRelu(PendingNode& n, UpgradeEmitter& emit) {
  takeAttr(n, "consumed_inputs");
  if (n.inputs.size() < 2 || !rankedTensor(n.inputs[0]) || !rankedTensor(n.inputs[1])) return Status::success();
  int rx = n.inputs[0]->type().shape.rank();
  if (n.inputs[1]->type().shape.rank() != 1 || rx < 3) return Status::success();
  std::vector<int64_t> axes;
  for (int64_t i = 1; i <= rx - 2; ++i) axes.push_back(i);
  DLC_ASSIGN_OR_RETURN(n.inputs[1], unsqueeze(emit, n.inputs[1], axes, n.location + "_slope_per_channel"));
  return Status::success();
}

// BatchNormalization-1/6: is_test=1 is inference; is_test=0 (the default) is training mode, whose
// Y uses the batch statistics and whose outputs 1 and 2 are the updated running mean and variance
// (BN-15's training_mode=1). Outputs 3 and 4 (saved mean and inverse std) have no BN-15 form.
Status upgradeLegacyBatchNorm(PendingNode& n) {
  takeAttr(n, "consumed_inputs");
  auto is_test = takeAttr(n, "is_test");
  auto spatial = takeAttr(n, "spatial");
  if (spatial && spatial->i != 1) return attrError(n, "spatial", "= 0 (per-activation statistics) is not supported");
  if (is_test && is_test->i != 0) return Status::success();
  if (n.num_outputs > 3)
    return attrError(n, "is_test", "= 0 (training mode) with saved_mean/saved_var outputs is not supported");
  n.attrs["training_mode"] = Attribute::ofInt(1);
  return Status::success();
}

Type dropLeadingDim(const Type& t) {
  if (!t.isTensor() || !t.shape.ranked || t.shape.rank() == 0) return Type::tensor(t.dtype);
  Type out = t;
  out.shape.dims.erase(out.shape.dims.begin());
  return out;
}

// Scan-8: inputs (sequence_lens?, state..., scan...) all carry a batch axis 0, scan inputs scan
// along axis 1, and every output gets the batch axis back. That is a Scan-9 over the batch (every
// operand a scan input along axis 0, no state) whose body runs a Scan-9 of one batch item with
// the original body: inner scan axis 0 is the original axis 1, and the outer scan stacks each
// item's final states and scan outputs along a new axis 0, as Scan-8 does.
Status upgradeScan8(PendingNode& n, UpgradeEmitter& emit) {
  auto body_attr = takeAttr(n, "body");
  auto nsi = takeAttr(n, "num_scan_inputs");
  auto directions = takeAttr(n, "directions");
  if (!body_attr || body_attr->type != AttrType::Graph || !body_attr->g) return attrError(n, "body", "is required (a graph)");
  if (!nsi || nsi->type != AttrType::Int) return attrError(n, "num_scan_inputs", "is required (an int)");
  if (!n.inputs.empty() && n.inputs[0])
    return Status::error(str("node '", n.location, "' (Scan-8): input 'sequence_lens' is not supported (only full-length "
                             "sequences; leave the input empty)"));
  std::vector<Value*> operands;
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    if (!n.inputs[i]) return Status::error(str("node '", n.location, "' (Scan-8): input ", i, " is missing"));
    operands.push_back(n.inputs[i]);
  }
  int64_t num_scan = nsi->i;
  int64_t num_state = static_cast<int64_t>(operands.size()) - num_scan;
  if (num_scan < 1 || num_state < 0)
    return attrError(n, "num_scan_inputs", str("= ", num_scan, " does not fit ", operands.size(), " operands"));
  std::shared_ptr<Region> body = body_attr->g;
  int64_t num_body_out = body->numOutputs();
  if (num_body_out < num_state)
    return Status::error(str("node '", n.location, "' (Scan-8): body has ", num_body_out, " outputs, fewer than its ",
                             num_state, " state variables"));
  auto item = std::make_shared<Region>();
  std::vector<Value*> item_args;
  for (size_t i = 0; i < operands.size(); ++i)
    item_args.push_back(item->addArgument(dropLeadingDim(operands[i]->type()), str(n.location, "_item", i)));
  std::map<std::string, Attribute> inner_attrs{{"body", Attribute::ofGraph(body)},
                                               {"num_scan_inputs", Attribute::ofInt(num_scan)}};
  if (directions) {
    if (directions->type != AttrType::Ints) return attrError(n, "directions", "must be a list of ints");
    inner_attrs["scan_input_directions"] = Attribute::ofInts(directions->ints);
  }
  // Fallback result types: final states as the body gives them, scan outputs with a leading
  // dim of unknown length.
  std::vector<Type> fallbacks;
  for (int64_t i = 0; i < num_body_out; ++i) {
    Type t = body->output(static_cast<int>(i))->type();
    if (i >= num_state && t.isTensor() && t.shape.ranked) t.shape.dims.insert(t.shape.dims.begin(), Dim::unknown());
    fallbacks.push_back(t);
  }
  DLC_ASSIGN_OR_RETURN(Op * inner, emit.opInRegion(*item, OpKind::Scan, item_args, std::move(inner_attrs),
                                                   n.location + "_per_item", fallbacks));
  std::vector<Value*> item_outs;
  for (int i = 0; i < inner->numResults(); ++i) item_outs.push_back(inner->result(i));
  item->setOutputs(std::move(item_outs));
  n.inputs = std::move(operands);
  n.attrs["body"] = Attribute::ofGraph(item);
  n.attrs["num_scan_inputs"] = Attribute::ofInt(static_cast<int64_t>(n.inputs.size()));
  return Status::success();
}

}  // namespace

bool legacyFormSupported(const std::string& op_type, int64_t version) {
  if (version >= 7) return true;
  if (legacyBroadcastOps().count(op_type) || consumedInputsOnlyOps().count(op_type)) return true;
  // Gemm-1/6 (broadcast), PRelu-1/6, BatchNormalization-1/6, AveragePool-1 (no count_include_pad,
  // which is count_include_pad=0, the later default).
  return op_type == "Gemm" || op_type == "PRelu" || op_type == "BatchNormalization" || op_type == "AveragePool";
}

Status upgradeLegacy(PendingNode& n, UpgradeEmitter& emit) {
  const std::string& op = n.op_type;
  if (op == "Scan" && n.opset < 9) return upgradeScan8(n, emit);
  if (n.opset >= 7) return Status::success();
  if (legacyBroadcastOps().count(op)) return upgradeLegacyBroadcast(n, emit);
  if (consumedInputsOnlyOps().count(op)) {
    takeAttr(n, "consumed_inputs");
    return Status::success();
  }
  // Gemm-1/6: broadcast=1 let C broadcast to (M, N); without it C had to be (M, N). Opset 7's
  // unidirectional broadcasting of C covers both.
  if (op == "Gemm") {
    takeAttr(n, "broadcast");
    return Status::success();
  }
  if (op == "PRelu") return upgradeLegacyPRelu(n, emit);
  if (op == "BatchNormalization") return upgradeLegacyBatchNorm(n);
  return Status::success();
}

}  // namespace dlc::onnx_import
