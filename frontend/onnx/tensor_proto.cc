// TensorProto/TypeProto -> IR Tensor/Type: every dtype, raw and typed fields, external data files.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "frontend/onnx/onnx_internal.h"
#include "ir/dtype_onnx.h"

namespace dlc::onnx_import {
namespace fs = std::filesystem;
using TP = onnx::TensorProto;

// The code table itself lives in ir/dtype_onnx.h (shared with Cast's `to` and the other dtype
// attributes); TensorProto's enum uses the same numbers.
static_assert(TP::FLOAT == 1 && TP::BOOL == 9 && TP::BFLOAT16 == 16, "ONNX dtype codes");

Expected<DType> dtypeFromOnnx(int t) {
  if (std::optional<DType> d = dtypeFromOnnxCode(t)) return *d;
  if (t == TP::COMPLEX64) return Status::error("complex64 tensors are not supported");
  if (t == TP::COMPLEX128) return Status::error("complex128 tensors are not supported");
  return Status::error(str("unsupported ONNX data type ", t));
}

int dtypeToOnnx(DType t) { return static_cast<int>(dtypeToOnnxCode(t)); }

namespace {

// Element counts beyond this are rejected before allocating (2^40 elements is far past any model).
constexpr int64_t kMaxElements = int64_t{1} << 40;

Expected<int64_t> elementCount(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return Status::error(str("negative dimension ", d));
    if (d != 0 && n > kMaxElements / d) return Status::error("tensor has too many elements");
    n *= d;
  }
  return n;
}

// Copies a repeated numeric field into the tensor, converting each entry to the stored dtype.
template <typename Field, typename Store>
Status copyTyped(const Field& field, int64_t count, const char* field_name, Store store) {
  if (static_cast<int64_t>(field.size()) != count)
    return Status::error(str(field_name, " has ", field.size(), " values, dims need ", count));
  for (int64_t i = 0; i < count; ++i) store(i, field.Get(static_cast<int>(i)));
  return Status::success();
}

// Resolves an external-data location inside `base_dir`, refusing anything that escapes it.
Expected<fs::path> resolveExternal(const std::string& location, const std::string& base_dir) {
  if (location.empty()) return Status::error("external data has no location");
  if (base_dir.empty()) return Status::error(str("external data '", location, "' but the model has no directory"));
  fs::path rel(location);
  if (rel.is_absolute()) return Status::error(str("external data location '", location, "' must be relative"));
  for (const auto& part : rel)
    if (part == "..") return Status::error(str("external data location '", location, "' escapes the model directory"));
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(base_dir), ec);
  if (ec) return Status::error(str("cannot resolve model directory '", base_dir, "'"));
  if (base.filename().empty()) base = base.parent_path();  // "dir/" has an empty last component
  fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec) return Status::error(str("cannot resolve external data '", location, "'"));
  // Symlinks could still point outside: compare the canonical paths component by component.
  auto b = base.begin(), f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *b != *f)
      return Status::error(str("external data location '", location, "' escapes the model directory"));
  return full;
}

// Reads the external data of `proto` (`bytes` of it) into `t`, or with `t` null only checks that
// the file holds them.
Status readExternal(const TP& proto, const std::string& base_dir, size_t bytes, Tensor* t) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (...) {
      return Status::error(str("external data ", kv.key(), " '", kv.value(), "' is not a number"));
    }
  }
  if (offset < 0 || length < -1) return Status::error("external data offset/length is negative");
  DLC_ASSIGN_OR_RETURN(fs::path path, resolveExternal(location, base_dir));
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status::error(str("cannot open external data file '", location, "'"));
  int64_t file_size = static_cast<int64_t>(size);
  if (length < 0) length = file_size - offset;
  if (offset > file_size || length > file_size - offset)
    return Status::error(str("external data range [", offset, ", ", offset + length, ") is beyond the end of '",
                             location, "' (", file_size, " bytes)"));
  if (static_cast<size_t>(length) != bytes)
    return Status::error(str("external data has ", length, " bytes, dims and dtype need ", bytes));
  if (!t) return Status::success();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(str("cannot open external data file '", location, "'"));
  in.seekg(offset);
  in.read(static_cast<char*>(t->raw()), length);
  if (!in) return Status::error(str("cannot read external data file '", location, "'"));
  return Status::success();
}

Status fillTensor(const TP& proto, const std::string& base_dir, int64_t count, Tensor& t) {
  DType dt = t.dtype();
  if (proto.data_location() == TP::EXTERNAL) {
    if (dt == DType::String) return Status::error("string tensors cannot use external data");
    return readExternal(proto, base_dir, t.nbytes(), &t);
  }
  if (proto.has_raw_data()) {
    if (dt == DType::String) return Status::error("string tensors cannot use raw_data");
    const std::string& raw = proto.raw_data();
    if (raw.size() != t.nbytes())
      return Status::error(str("raw_data has ", raw.size(), " bytes, dims and dtype need ", t.nbytes()));
    if (!raw.empty()) std::memcpy(t.raw(), raw.data(), raw.size());
    return Status::success();
  }
  switch (dt) {
    case DType::F32:
      return copyTyped(proto.float_data(), count, "float_data", [&](int64_t i, float v) { t.data<float>()[i] = v; });
    case DType::F64:
      return copyTyped(proto.double_data(), count, "double_data", [&](int64_t i, double v) { t.data<double>()[i] = v; });
    case DType::I64:
      return copyTyped(proto.int64_data(), count, "int64_data", [&](int64_t i, int64_t v) { t.data<int64_t>()[i] = v; });
    case DType::U32:
      return copyTyped(proto.uint64_data(), count, "uint64_data",
                       [&](int64_t i, uint64_t v) { t.data<uint32_t>()[i] = static_cast<uint32_t>(v); });
    case DType::U64:
      return copyTyped(proto.uint64_data(), count, "uint64_data", [&](int64_t i, uint64_t v) { t.data<uint64_t>()[i] = v; });
    case DType::I32:
      return copyTyped(proto.int32_data(), count, "int32_data", [&](int64_t i, int32_t v) { t.data<int32_t>()[i] = v; });
    case DType::I16:
      return copyTyped(proto.int32_data(), count, "int32_data",
                       [&](int64_t i, int32_t v) { t.data<int16_t>()[i] = static_cast<int16_t>(v); });
    case DType::U16:
    case DType::F16:
    case DType::BF16:  // 16-bit floats travel as their bit patterns in int32_data
      return copyTyped(proto.int32_data(), count, "int32_data",
                       [&](int64_t i, int32_t v) { t.data<uint16_t>()[i] = static_cast<uint16_t>(v); });
    case DType::I8:
      return copyTyped(proto.int32_data(), count, "int32_data",
                       [&](int64_t i, int32_t v) { t.data<int8_t>()[i] = static_cast<int8_t>(v); });
    case DType::U8:
      return copyTyped(proto.int32_data(), count, "int32_data",
                       [&](int64_t i, int32_t v) { t.data<uint8_t>()[i] = static_cast<uint8_t>(v); });
    case DType::Bool:
      return copyTyped(proto.int32_data(), count, "int32_data", [&](int64_t i, int32_t v) { t.data<bool>()[i] = v != 0; });
    case DType::I4:
    case DType::U4: {  // packed: each int32_data entry holds one byte (two elements)
      int64_t bytes = static_cast<int64_t>(t.nbytes());
      return copyTyped(proto.int32_data(), bytes, "int32_data",
                       [&](int64_t i, int32_t v) { t.data<uint8_t>()[i] = static_cast<uint8_t>(v); });
    }
    case DType::String:
      return copyTyped(proto.string_data(), count, "string_data",
                       [&](int64_t i, const std::string& v) { t.strings()[static_cast<size_t>(i)] = v; });
    case DType::Undefined:
      break;
  }
  return Status::error("tensor has no data type");
}

}  // namespace

Expected<Tensor> tensorFromProto(const TP& proto, const std::string& base_dir) {
  std::string where = proto.name().empty() ? std::string("tensor") : str("tensor '", proto.name(), "'");
  if (proto.has_segment()) return Status::error(str(where, ": segmented tensors are not supported"));
  if (!proto.has_data_type() || proto.data_type() == TP::UNDEFINED)
    return Status::error(str(where, ": data type is missing"));
  auto dt = dtypeFromOnnx(proto.data_type());
  if (!dt.ok()) return dt.status().withContext(where);
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  auto count = elementCount(dims);
  if (!count.ok()) return count.status().withContext(where);
  // Data in the message takes at least half a byte per element (packed 4-bit raw data); checked
  // before allocating, so that a few bytes claiming huge dims are an error, not an allocation.
  // External data: the file must hold it, also checked first.
  if (proto.data_location() != TP::EXTERNAL && *count > 2 * static_cast<int64_t>(proto.ByteSizeLong()))
    return Status::error(str(where, ": its dims hold ", *count, " elements but the message has only ", proto.ByteSizeLong(), " bytes"));
  if (proto.data_location() == TP::EXTERNAL) {
    if (*dt == DType::String) return Status::error(str(where, ": string tensors cannot use external data"));
    Status there = readExternal(proto, base_dir, dtypeStorageBytes(*dt, *count), nullptr);
    if (!there.ok()) return there.withContext(where);
  }
  Tensor t;
  try {
    t = Tensor(*dt, dims);
  } catch (const std::exception&) {
    return Status::error(str(where, ": out of memory allocating ", *count, " elements"));
  }
  Status s = fillTensor(proto, base_dir, *count, t);
  if (!s.ok()) return s.withContext(where);
  return t;
}

Expected<Type> typeFromProto(const onnx::TypeProto& proto) {
  switch (proto.value_case()) {
    case onnx::TypeProto::kTensorType: {
      const auto& tt = proto.tensor_type();
      DType dt = DType::Undefined;
      if (tt.elem_type() != 0) {
        DLC_ASSIGN_OR_RETURN(dt, dtypeFromOnnx(tt.elem_type()));
      }
      if (!tt.has_shape()) return Type::tensor(dt);
      Shape shape;
      for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() >= 0)
          shape.dims.push_back(Dim::of(d.dim_value()));
        else if (d.has_dim_param() && !d.dim_param().empty())
          shape.dims.push_back(Dim::sym(d.dim_param()));
        else
          shape.dims.push_back(Dim::unknown());
      }
      return Type::tensor(dt, std::move(shape));
    }
    case onnx::TypeProto::kSequenceType: {
      if (!proto.sequence_type().has_elem_type()) return Type::sequence(Type::tensor(DType::Undefined));
      DLC_ASSIGN_OR_RETURN(Type elem, typeFromProto(proto.sequence_type().elem_type()));
      return Type::sequence(std::move(elem));
    }
    case onnx::TypeProto::kOptionalType: {
      if (!proto.optional_type().has_elem_type()) return Type::optional(Type::tensor(DType::Undefined));
      DLC_ASSIGN_OR_RETURN(Type elem, typeFromProto(proto.optional_type().elem_type()));
      return Type::optional(std::move(elem));
    }
    case onnx::TypeProto::kSparseTensorType:
      return Status::error("sparse tensor types are not supported");
    case onnx::TypeProto::kMapType:
      return Status::error("map types are not supported");
    default:
      return Type::tensor(DType::Undefined);
  }
}

}  // namespace dlc::onnx_import
