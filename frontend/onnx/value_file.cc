// ONNX test-data `.pb` files (TensorProto, SequenceProto, OptionalProto) -> DataValue.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>

#include "frontend/onnx/importer.h"
#include <onnx/onnx-data_pb.h>

#include "frontend/onnx/onnx_internal.h"

namespace dlc::onnx_import {

bool parseProto(const std::string& bytes, google::protobuf::MessageLite* msg) {
  try {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX)));
    in.SetTotalBytesLimit(INT32_MAX);  // models with weights inline exceed the 64 MiB default
    return msg->ParseFromCodedStream(&in) && in.ConsumedEntireMessage() && bytes.size() <= INT32_MAX;
  } catch (...) {
    return false;
  }
}

Expected<std::string> readFileBytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::error(str(path, ": file not found"));
  if (std::filesystem::is_directory(path, ec)) return Status::error(str(path, ": is a directory, not a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(str(path, ": cannot open file"));
  try {
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Status::error(str(path, ": read error"));
    return ss.str();
  } catch (const std::exception&) {
    return Status::error(str(path, ": cannot read file (out of memory?)"));
  }
}

namespace {

Expected<DataValue> fromTensorProto(const onnx::TensorProto& p, const Type* expected) {
  DLC_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(p, ""));
  // ONNX 1.12's backend-test generator wrote bfloat16 tensors as data_type UINT16 holding the
  // bf16 bit patterns (numpy has no bfloat16). Where bf16 is expected, such a file is read as
  // those bits; every other dtype mismatch stays an error.
  if (expected && expected->isTensor() && expected->dtype == DType::BF16 && t.dtype() == DType::U16)
    t = Tensor::fromBytes(DType::BF16, t.shape(), t.raw(), t.nbytes());
  if (expected && expected->isTensor() && expected->dtype != DType::Undefined && expected->dtype != t.dtype())
    return Status::error(str("holds ", dtypeName(t.dtype()), " data, expected ", dtypeName(expected->dtype)));
  return DataValue::ofTensor(std::move(t));
}

Expected<DataValue> fromSequenceProto(const onnx::SequenceProto& p) {
  if (p.elem_type() != onnx::SequenceProto::TENSOR && p.elem_type() != onnx::SequenceProto::UNDEFINED)
    return Status::error(str("sequences of element type ", p.elem_type(), " are not supported (tensors only)"));
  if (p.elem_type() == onnx::SequenceProto::UNDEFINED && p.tensor_values_size() > 0)
    return Status::error("sequence has tensors but no element type");
  std::vector<Tensor> items;
  for (const auto& tp : p.tensor_values()) {
    DLC_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(tp, ""));
    items.push_back(std::move(t));
  }
  return DataValue::ofSequence(std::move(items));
}

Expected<DataValue> fromOptionalProto(const onnx::OptionalProto& p) {
  switch (p.elem_type()) {
    case onnx::OptionalProto::UNDEFINED:
      return DataValue::none();
    case onnx::OptionalProto::TENSOR:
      if (!p.has_tensor_value()) return DataValue::none();
      return fromTensorProto(p.tensor_value(), nullptr);
    case onnx::OptionalProto::SEQUENCE:
      if (!p.has_sequence_value()) return DataValue::none();
      return fromSequenceProto(p.sequence_value());
    default:
      return Status::error(str("optionals of element type ", p.elem_type(), " are not supported"));
  }
}

Expected<DataValue> parseValue(const std::string& bytes, const Type* expected) {
  if (expected && expected->isSequence()) {
    onnx::SequenceProto p;
    if (!parseProto(bytes, &p)) return Status::error("not a valid SequenceProto");
    return fromSequenceProto(p);
  }
  if (expected && expected->isOptional()) {
    onnx::OptionalProto p;
    auto v = parseProto(bytes, &p) ? fromOptionalProto(p) : Expected<DataValue>(Status::error("not a valid OptionalProto"));
    // A present optional may be stored as its bare element (a Loop-16 carried opt<seq> whose
    // model declares the result as seq, e.g. node/test_loop16_seq_none): when the bytes are no
    // valid OptionalProto, read them as the element type.
    if (!v.ok() && expected->element) {
      auto elem = parseValue(bytes, expected->element.get());
      if (elem.ok()) return elem;
    }
    return v;
  }
  if (expected) {
    onnx::TensorProto p;
    if (!parseProto(bytes, &p)) return Status::error("not a valid TensorProto");
    return fromTensorProto(p, expected);
  }
  // No expected type: the three messages share field numbers, so take the first whose content
  // also validates. A one-tensor sequence and an optional tensor are indistinguishable on the
  // wire; it reads as a sequence (pass the input's type to decide).
  onnx::TensorProto tp;
  Status tensor_error = Status::error("not a valid TensorProto");
  if (parseProto(bytes, &tp) && tp.data_type() != 0) {
    auto v = fromTensorProto(tp, nullptr);
    if (v.ok()) return v;
    tensor_error = v.status();
  }
  onnx::SequenceProto sp;
  if (parseProto(bytes, &sp) && sp.elem_type() == onnx::SequenceProto::TENSOR) {
    auto v = fromSequenceProto(sp);
    if (v.ok()) return v;
  }
  onnx::OptionalProto op;
  if (parseProto(bytes, &op) && op.elem_type() != onnx::OptionalProto::TENSOR &&
      op.elem_type() != onnx::OptionalProto::SEQUENCE && !bytes.empty()) {
    auto v = fromOptionalProto(op);
    if (v.ok()) return v;
  }
  return tensor_error;
}

}  // namespace

Expected<DataValue> readValueFile(const std::string& path, const Type* expected) {
  DLC_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(path));
  return readValueBytes(bytes, path, expected);
}

Expected<DataValue> readValueBytes(const std::string& bytes, const std::string& path, const Type* expected) {
  try {
    auto v = parseValue(bytes, expected);
    if (!v.ok()) return oneLine(v.status().withContext(path));
    return v;
  } catch (const std::exception& e) {
    return Status::error(str(path, ": ", e.what()));
  }
}

}  // namespace dlc::onnx_import
