// IR Tensor/Type/Attribute -> TensorProto/TypeProto/AttributeProto, the inverse of tensor_proto.cc
// and attributes.cc.
#include "frontend/onnx/export_internal.h"
#include "ir/dtype_onnx.h"

namespace dlc::onnx_export {
namespace {
using AP = onnx::AttributeProto;

Status checkDType(DType t) {
  if (t == DType::I4 || t == DType::U4)
    return Status::error(str(dtypeName(t), " tensors have no ONNX form at opsets 13 to 17 (4-bit types need IR version 10)"));
  if (t == DType::Undefined) return Status::error("tensor has no dtype");
  return Status::success();
}

}  // namespace

Status tensorHeaderToProto(const Tensor& t, const std::string& name, onnx::TensorProto* out) {
  DLC_RETURN_IF_ERROR(checkDType(t.dtype()));
  out->set_name(name);
  out->set_data_type(static_cast<int32_t>(dtypeToOnnxCode(t.dtype())));
  for (int64_t d : t.shape()) out->add_dims(d);
  return Status::success();
}

Status tensorToProto(const Tensor& t, const std::string& name, onnx::TensorProto* out) {
  DLC_RETURN_IF_ERROR(tensorHeaderToProto(t, name, out));
  if (t.dtype() == DType::String) {
    for (const std::string& s : t.strings()) out->add_string_data(s);
    return Status::success();
  }
  // The IR stores elements little-endian in ONNX's raw layout (bool as one byte, f16/bf16 as
  // their bits), so the bytes go over unchanged.
  if (t.nbytes() > 0) out->set_raw_data(static_cast<const char*>(t.raw()), t.nbytes());
  else out->set_raw_data(std::string());
  return Status::success();
}

Status typeToProto(const Type& t, onnx::TypeProto* out) {
  if (t.isSequence() || t.isOptional()) {
    onnx::TypeProto* elem = t.isSequence() ? out->mutable_sequence_type()->mutable_elem_type()
                                           : out->mutable_optional_type()->mutable_elem_type();
    if (t.element) return typeToProto(*t.element, elem);
    return Status::success();
  }
  auto* tt = out->mutable_tensor_type();
  if (t.dtype != DType::Undefined) {
    DLC_RETURN_IF_ERROR(checkDType(t.dtype));
    tt->set_elem_type(static_cast<int32_t>(dtypeToOnnxCode(t.dtype)));
  }
  if (!t.shape.ranked) return Status::success();
  auto* shape = tt->mutable_shape();
  for (const Dim& d : t.shape.dims) {
    auto* dim = shape->add_dim();
    if (d.isStatic()) dim->set_dim_value(d.value);
    else if (d.isSymbolic()) dim->set_dim_param(d.symbol);
  }
  return Status::success();
}

Status attributeToProto(const std::string& name, const Attribute& a, AP* out) {
  out->set_name(name);
  switch (a.type) {
    case AttrType::Int: out->set_type(AP::INT); out->set_i(a.i); break;
    case AttrType::Float: out->set_type(AP::FLOAT); out->set_f(a.f); break;
    case AttrType::String: out->set_type(AP::STRING); out->set_s(a.s); break;
    case AttrType::Ints:
      out->set_type(AP::INTS);
      for (int64_t v : a.ints) out->add_ints(v);
      break;
    case AttrType::Floats:
      out->set_type(AP::FLOATS);
      for (float v : a.floats) out->add_floats(v);
      break;
    case AttrType::Strings:
      out->set_type(AP::STRINGS);
      for (const auto& v : a.strings) out->add_strings(v);
      break;
    case AttrType::Tensor:
      out->set_type(AP::TENSOR);
      return tensorToProto(a.t, {}, out->mutable_t());
    case AttrType::Tensors:
      out->set_type(AP::TENSORS);
      for (const Tensor& t : a.tensors) DLC_RETURN_IF_ERROR(tensorToProto(t, {}, out->add_tensors()));
      break;
    case AttrType::TypeProto:
      out->set_type(AP::TYPE_PROTO);
      return typeToProto(a.type_value, out->mutable_tp());
    case AttrType::Graph:
    case AttrType::Graphs:
      return Status::error(str("attribute '", name, "': graphs are written by the graph writer"));
  }
  return Status::success();
}

}  // namespace dlc::onnx_export
