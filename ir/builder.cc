// Op creation with signature checks and type inference.
#include "ir/builder.h"

#include "ir/infer/infer.h"

namespace dlc {

void Builder::addOutput(Value* v) {
  std::vector<Value*> outs = region_.outputs();
  outs.push_back(v);
  region_.setOutputs(outs);
}

Value* Builder::constant(Tensor value, const std::string& name) {
  Type t = Type::tensor(value.dtype(), Shape::of(value.shape()));
  Op* op = region_.createOp(OpKind::Constant, {}, {t}, before_);
  op->setAttr("value", Attribute::ofTensor(std::move(value)));
  op->result(0)->setName(name);
  op->setLocation(name);
  return op->result(0);
}

Expected<Op*> Builder::create(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs,
                              int num_results, const std::string& location) {
  std::vector<Type> types(static_cast<size_t>(num_results));
  Op* op = region_.createOp(kind, std::move(operands), std::move(types), before_);
  op->setLocation(location);
  for (auto& [name, a] : attrs) op->setAttr(name, std::move(a));
  Status s = checkOpSignature(*op);
  if (s.ok()) s = inferOpTypes(*op);
  if (!s.ok()) {
    op->erase();
    return s;
  }
  return op;
}

Expected<Value*> Builder::create1(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs,
                                  const std::string& location) {
  DLC_ASSIGN_OR_RETURN(Op* op, create(kind, std::move(operands), std::move(attrs), 1, location));
  return op->result(0);
}

Status checkOpSignature(const Op& op) {
  const OpInfo& info = op.info();
  auto where = [&] { return str(op.name(), " '", op.location(), "': "); };
  int n_in = op.numOperands();
  if (n_in < info.min_inputs || (info.max_inputs >= 0 && n_in > info.max_inputs))
    return Status::error(str(where(), "has ", n_in, " inputs, expected ", info.min_inputs,
                             info.max_inputs < 0 ? " or more" : str(" to ", info.max_inputs)));
  int n_out = op.numResults();
  if (n_out < info.min_outputs || (info.max_outputs >= 0 && n_out > info.max_outputs))
    return Status::error(str(where(), "has ", n_out, " outputs, expected ", info.min_outputs,
                             info.max_outputs < 0 ? " or more" : str(" to ", info.max_outputs)));
  for (const auto& [name, a] : op.attrs()) {
    const AttrSpec* spec = info.findAttr(name);
    if (!spec) return Status::error(str(where(), "unknown attribute '", name, "'"));
    if (spec->type != a.type)
      return Status::error(str(where(), "attribute '", name, "' must be of type ", attrTypeName(spec->type),
                               ", got ", attrTypeName(a.type)));
  }
  for (const auto& spec : info.attrs)
    if (spec.required && !op.hasAttr(spec.name))
      return Status::error(str(where(), "required attribute '", spec.name, "' is missing"));
  return Status::success();
}

}  // namespace dlc
