// One mapping from Constant's value attributes to tensors, shared by importer, inference, kernels
// and passes.
#include "ir/constant_value.h"

namespace dlc {

Expected<Tensor> constantAttributeTensor(const std::string& name, const Attribute& a) {
  auto len = [](size_t n) { return std::vector<int64_t>{static_cast<int64_t>(n)}; };
  if (name == "value" && a.type == AttrType::Tensor && a.t.defined()) return a.t;
  if (name == "value_float" && a.type == AttrType::Float) return Tensor::fromVector<float>(DType::F32, {}, {a.f});
  if (name == "value_floats" && a.type == AttrType::Floats)
    return Tensor::fromVector<float>(DType::F32, len(a.floats.size()), a.floats);
  if (name == "value_int" && a.type == AttrType::Int) return Tensor::fromVector<int64_t>(DType::I64, {}, {a.i});
  if (name == "value_ints" && a.type == AttrType::Ints)
    return Tensor::fromVector<int64_t>(DType::I64, len(a.ints.size()), a.ints);
  if (name == "value_string" && a.type == AttrType::String) {
    Tensor t(DType::String, {});
    t.strings()[0] = a.s;
    return t;
  }
  if (name == "value_strings" && a.type == AttrType::Strings) {
    Tensor t(DType::String, len(a.strings.size()));
    t.strings() = a.strings;
    return t;
  }
  return Status::error(str("Constant attribute '", name, "' of type ", attrTypeName(a.type), " is not supported"));
}

Expected<Tensor> constantOpValue(const Op& op) {
  if (op.attrs().size() != 1)
    return Status::error(str("Constant '", op.location(), "' needs exactly one value attribute, has ", op.attrs().size()));
  const auto& [name, a] = *op.attrs().begin();
  return constantAttributeTensor(name, a);
}

}  // namespace dlc
