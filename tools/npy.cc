// .npy parsing: magic, version, a Python-literal header dict (descr, fortran_order, shape), then data.
#include "tools/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace dlc::npy {
namespace {

struct DescrRow {
  const char* descr;
  DType dtype;
};
constexpr DescrRow kDescrs[] = {
    {"f4", DType::F32}, {"f8", DType::F64}, {"f2", DType::F16}, {"i1", DType::I8},  {"u1", DType::U8},
    {"i2", DType::I16}, {"u2", DType::U16}, {"i4", DType::I32}, {"u4", DType::U32}, {"i8", DType::I64},
    {"u8", DType::U64}, {"b1", DType::Bool},
};

// Finds the value text after 'key': in the header dict.
bool headerValue(const std::string& header, const std::string& key, std::string* out) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return false;
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) return false;
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos) return false;
  size_t end;
  if (header[start] == '(') {
    end = header.find(')', start);
    if (end == std::string::npos) return false;
    ++end;
  } else if (header[start] == '\'') {
    end = header.find('\'', start + 1);
    if (end == std::string::npos) return false;
    ++end;
  } else {
    end = header.find_first_of(",}", start);
    if (end == std::string::npos) return false;
  }
  *out = header.substr(start, end - start);
  return true;
}

}  // namespace

Expected<Tensor> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(str("cannot open '", path, "'"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse(bytes, path);
}

Expected<Tensor> parse(const std::string& bytes, const std::string& what_file) {
  // Header text quoted in a message may hold anything: control characters become '?'.
  auto bad = [&](std::string what) {
    for (char& c : what)
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    return Status::error(str(what_file, ": not a valid .npy file: ", what));
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) return bad("missing magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return bad(str("unsupported version ", major));
  }
  if (header_start + header_len > bytes.size()) return bad("truncated header");
  std::string header = bytes.substr(header_start, header_len);
  std::string descr, fortran, shape_text;
  if (!headerValue(header, "descr", &descr) || !headerValue(header, "fortran_order", &fortran) ||
      !headerValue(header, "shape", &shape_text))
    return bad("header lacks descr/fortran_order/shape");
  if (fortran.rfind("True", 0) == 0) return bad("Fortran-ordered arrays are not supported");
  if (descr.size() < 4 || descr.front() != '\'' || descr.back() != '\'') return bad("bad descr " + descr);
  char order = descr[1];
  std::string code = descr.substr(2, descr.size() - 3);
  if (order == '>' && code != "i1" && code != "u1" && code != "b1") return bad("big-endian data is not supported");
  DType dtype = DType::Undefined;
  for (const auto& row : kDescrs)
    if (code == row.descr) dtype = row.dtype;
  if (dtype == DType::Undefined) return bad("unsupported dtype " + descr);
  std::vector<int64_t> shape;
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') return bad("shape is not a tuple");
  {
    std::string inner = shape_text.substr(1, shape_text.size() - 2);
    std::stringstream ss(inner);
    std::string item;
    while (std::getline(ss, item, ',')) {
      size_t p = item.find_first_not_of(' ');
      if (p == std::string::npos) continue;
      char* end = nullptr;
      long long v = std::strtoll(item.c_str() + p, &end, 10);
      if (end == item.c_str() + p || item.find_first_not_of(' ', static_cast<size_t>(end - item.c_str())) != std::string::npos)
        return bad("the shape holds '" + item + "', not a dimension");
      if (v < 0) return bad("negative dimension");
      shape.push_back(v);
    }
  }
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > (int64_t{1} << 40) / d) return bad("shape too large");
    count *= d;
  }
  size_t need = dtypeStorageBytes(dtype, count);
  size_t data_start = header_start + header_len;
  if (bytes.size() - data_start < need)
    return bad(str("data is truncated: shape needs ", need, " bytes, file has ", bytes.size() - data_start));
  return Tensor::fromBytes(dtype, shape, bytes.data() + data_start, need);
}

Status writeFile(const std::string& path, const Tensor& t) {
  DLC_ASSIGN_OR_RETURN(std::string bytes, serialize(t, path));
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::error(str("cannot write '", path, "'"));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return Status::error(str("failed writing '", path, "'"));
  return Status::success();
}

Expected<std::string> serialize(const Tensor& t, const std::string& what_file) {
  Tensor data = t.dtype() == DType::BF16 ? t.castTo(DType::F32) : t;
  std::string descr;
  size_t str_width = 1;
  if (data.dtype() == DType::String) {
    for (const auto& s : data.strings()) str_width = std::max(str_width, s.size());
    descr = str("<U", str_width);
  } else {
    for (const auto& row : kDescrs)
      if (row.dtype == data.dtype()) descr = str(row.dtype == DType::Bool || row.dtype == DType::I8 || row.dtype == DType::U8 ? "|" : "<", row.descr);
    if (descr.empty()) return Status::error(str("cannot write dtype ", dtypeName(t.dtype()), " to .npy (", what_file, ")"));
  }
  // Python tuple syntax: "()", "(3,)", "(2, 3)".
  std::string shape = "(";
  for (size_t i = 0; i < data.shape().size(); ++i) shape += str(i ? ", " : "", data.shape()[i]);
  shape += data.shape().size() == 1 ? ",)" : ")";
  std::string header = str("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  if (data.dtype() == DType::String) {
    // NumPy unicode: UTF-32LE code units, zero padded. Bytes are written as code points (ASCII/Latin-1).
    for (const auto& s : data.strings()) {
      for (size_t i = 0; i < str_width; ++i) {
        uint32_t c = i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
        out.append(reinterpret_cast<const char*>(&c), 4);
      }
    }
  } else {
    out.append(static_cast<const char*>(data.raw()), data.nbytes());
  }
  return out;
}

}  // namespace dlc::npy
