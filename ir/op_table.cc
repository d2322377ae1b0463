// Builds the OpInfo table from ir/ops.def once, parsing each op's attribute spec string.
#include "ir/op_table.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "ir/infer/infer.h"

namespace dlc {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

// Parses "name:type=default" / "name:type!" / "name:type" into an AttrSpec.
AttrSpec parseAttrSpec(const std::string& spec, const char* op) {
  AttrSpec a;
  size_t colon = spec.find(':');
  if (colon == std::string::npos) throw std::logic_error(str("ops.def: bad attribute '", spec, "' of ", op));
  a.name = spec.substr(0, colon);
  std::string rest = spec.substr(colon + 1);
  std::string type_name = rest, def;
  if (size_t eq = rest.find('='); eq != std::string::npos) {
    type_name = rest.substr(0, eq);
    def = rest.substr(eq + 1);
    a.has_default = true;
  } else if (!rest.empty() && rest.back() == '!') {
    type_name = rest.substr(0, rest.size() - 1);
    a.required = true;
  }
  if (!attrTypeFromName(type_name, &a.type))
    throw std::logic_error(str("ops.def: bad attribute type '", type_name, "' of ", op));
  a.default_value.type = a.type;
  if (a.has_default) {
    switch (a.type) {
      case AttrType::Int: a.default_value.i = std::strtoll(def.c_str(), nullptr, 10); break;
      case AttrType::Float: a.default_value.f = std::strtof(def.c_str(), nullptr); break;
      case AttrType::String: a.default_value.s = def; break;
      case AttrType::Ints:
        for (const auto& x : split(def, ',')) a.default_value.ints.push_back(std::strtoll(x.c_str(), nullptr, 10));
        break;
      case AttrType::Floats:
        for (const auto& x : split(def, ',')) a.default_value.floats.push_back(std::strtof(x.c_str(), nullptr));
        break;
      case AttrType::Strings: a.default_value.strings = split(def, ','); break;
      default: throw std::logic_error(str("ops.def: no default allowed for ", a.name, " of ", op));
    }
  }
  return a;
}

std::vector<OpInfo> buildTable() {
  std::vector<OpInfo> table;
#define DLC_OP(Name, Domain, MinIn, MaxIn, MinOut, MaxOut, Traits, Rule, Attrs)                     \
  {                                                                                                \
    OpInfo info{OpKind::Name, #Name, Domain, MinIn, MaxIn, MinOut, MaxOut, (Traits), ShapeRule::Rule, \
                DLC_INFER_FN_##Rule(Name), {}};                                                    \
    for (const auto& spec : split(Attrs, ';')) info.attrs.push_back(parseAttrSpec(spec, #Name));   \
    table.push_back(std::move(info));                                                              \
  }
#include "ir/ops.def"
#undef DLC_OP
  return table;
}

const std::vector<OpInfo>& table() {
  static const std::vector<OpInfo> t = buildTable();
  return t;
}

}  // namespace

const char* attrTypeName(AttrType t) {
  static const char* names[] = {"i", "f", "s", "t", "g", "ints", "floats", "strings", "tensors", "graphs", "type"};
  return names[static_cast<int>(t)];
}

bool attrTypeFromName(const std::string& name, AttrType* out) {
  for (int i = 0; i <= static_cast<int>(AttrType::TypeProto); ++i) {
    if (name == attrTypeName(static_cast<AttrType>(i))) {
      *out = static_cast<AttrType>(i);
      return true;
    }
  }
  return false;
}

const AttrSpec* OpInfo::findAttr(std::string_view attr_name) const {
  for (const auto& a : attrs)
    if (a.name == attr_name) return &a;
  return nullptr;
}

const OpInfo& opInfo(OpKind kind) { return table()[static_cast<size_t>(kind)]; }
const char* opName(OpKind kind) { return opInfo(kind).name; }

std::optional<OpKind> opKindFromName(std::string_view name, std::string_view domain) {
  if (domain == "ai.onnx") domain = "";
  for (const auto& info : table())
    if (name == info.name && domain == info.domain) return info.kind;
  return std::nullopt;
}

}  // namespace dlc
