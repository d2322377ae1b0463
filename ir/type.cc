// Printing and comparison of IR types.
#include "ir/type.h"

#include <cstdint>

namespace dlc {

std::string Dim::toString() const {
  if (isStatic()) return std::to_string(value);
  if (isSymbolic()) return symbol;
  return "?";
}

Shape Shape::of(const std::vector<int64_t>& sizes) {
  Shape s;
  for (int64_t v : sizes) s.dims.push_back(v >= 0 ? Dim::of(v) : Dim::unknown());
  return s;
}

bool Shape::isStatic() const {
  if (!ranked) return false;
  for (const auto& d : dims)
    if (!d.isStatic()) return false;
  return true;
}

std::vector<int64_t> Shape::staticSizes() const {
  std::vector<int64_t> out;
  for (const auto& d : dims) out.push_back(d.isStatic() ? d.value : -1);
  return out;
}

int64_t Shape::numElements() const {
  if (!isStatic()) return -1;
  int64_t n = 1;
  for (const auto& d : dims)
    if (__builtin_mul_overflow(n, d.value, &n)) return INT64_MAX;  // saturated: fails every size limit
  return n;
}

std::string Shape::toString() const {
  if (!ranked) return "[*]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i].toString();
  }
  return s + "]";
}

Type Type::sequence(Type elem) {
  Type t;
  t.kind = Kind::Sequence;
  t.element = std::make_shared<const Type>(std::move(elem));
  return t;
}

Type Type::optional(Type elem) {
  Type t;
  t.kind = Kind::Optional;
  t.element = std::make_shared<const Type>(std::move(elem));
  return t;
}

bool Type::operator==(const Type& o) const {
  if (kind != o.kind) return false;
  if (kind == Kind::Tensor) return dtype == o.dtype && shape == o.shape;
  if (!element || !o.element) return element == o.element;
  return *element == *o.element;
}

std::string Type::toString() const {
  switch (kind) {
    case Kind::Tensor:
      return std::string(dtypeName(dtype)) + shape.toString();
    case Kind::Sequence:
      return "seq<" + (element ? element->toString() : std::string("?")) + ">";
    case Kind::Optional:
      return "opt<" + (element ? element->toString() : std::string("?")) + ">";
  }
  return "?";
}

Type substituteSymbols(Type t, const SymbolSizes& sizes) {
  if (t.element) t.element = std::make_shared<const Type>(substituteSymbols(*t.element, sizes));
  for (Dim& d : t.shape.dims)
    if (d.isSymbolic())
      if (auto it = sizes.find(d.symbol); it != sizes.end()) d = Dim::of(it->second);
  return t;
}

}  // namespace dlc
