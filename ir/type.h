// IR value types: tensors with static, symbolic or unknown dims; sequences and optionals of them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace dlc {

// One dimension: a known size, a named symbol ("N", "seq"), or unknown ("?").
struct Dim {
  int64_t value = -1;  // >= 0 when static
  std::string symbol;  // non-empty when symbolic

  static Dim of(int64_t v) { return Dim{v, {}}; }
  static Dim sym(std::string s) { return Dim{-1, std::move(s)}; }
  static Dim unknown() { return Dim{}; }
  bool isStatic() const { return value >= 0; }
  bool isSymbolic() const { return value < 0 && !symbol.empty(); }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
  bool operator!=(const Dim& o) const { return !(*this == o); }
  std::string toString() const;  // "3", "N", "?"
};

// A tensor shape; `ranked == false` means even the rank is unknown.
struct Shape {
  bool ranked = true;
  std::vector<Dim> dims;

  Shape() = default;
  explicit Shape(std::vector<Dim> d) : dims(std::move(d)) {}
  static Shape unranked() {
    Shape s;
    s.ranked = false;
    return s;
  }
  static Shape of(const std::vector<int64_t>& sizes);

  int rank() const { return static_cast<int>(dims.size()); }
  bool isStatic() const;                    // ranked and every dim static
  std::vector<int64_t> staticSizes() const;  // -1 for non-static dims
  int64_t numElements() const;               // -1 unless static
  bool operator==(const Shape& o) const { return ranked == o.ranked && dims == o.dims; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string toString() const;  // "[N,3,224,224]", "[]", "[*]"
};

struct Type {
  enum class Kind : uint8_t { Tensor, Sequence, Optional };

  Kind kind = Kind::Tensor;
  DType dtype = DType::Undefined;      // Tensor only
  Shape shape;                         // Tensor only
  std::shared_ptr<const Type> element;  // Sequence/Optional: what they hold

  static Type tensor(DType t, Shape s = Shape::unranked()) {
    Type ty;
    ty.dtype = t;
    ty.shape = std::move(s);
    return ty;
  }
  static Type sequence(Type elem);
  static Type optional(Type elem);

  bool isTensor() const { return kind == Kind::Tensor; }
  bool isSequence() const { return kind == Kind::Sequence; }
  bool isOptional() const { return kind == Kind::Optional; }
  bool operator==(const Type& o) const;
  bool operator!=(const Type& o) const { return !(*this == o); }
  // Textual form: "f32[N,3,224,224]", "seq<i64[?]>", "opt<seq<f32[*]>>".
  std::string toString() const;
};

// Sizes bound to symbols (by --input-shape, or by a run's inputs): symbol -> size.
using SymbolSizes = std::map<std::string, int64_t>;

// `t` with its bound symbols replaced by their sizes, in the types it holds too.
Type substituteSymbols(Type t, const SymbolSizes& sizes);

}  // namespace dlc
