// Op attributes: the ONNX attribute kinds, with nested graphs held as IR regions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/tensor.h"
#include "ir/type.h"

namespace dlc {

class Region;

enum class AttrType : uint8_t {
  Int, Float, String, Tensor, Graph, Ints, Floats, Strings, Tensors, Graphs, TypeProto,
};

// Name used in ops.def attribute specs: i f s t g ints floats strings tensors graphs type.
const char* attrTypeName(AttrType t);
bool attrTypeFromName(const std::string& name, AttrType* out);

// A plain struct rather than a variant: only the member matching `type` is meaningful.
struct Attribute {
  AttrType type = AttrType::Int;
  int64_t i = 0;
  float f = 0.0f;
  std::string s;
  Tensor t;
  std::shared_ptr<Region> g;  // owned nested region (If/Loop/Scan bodies)
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Region>> graphs;
  Type type_value;  // TypeProto attributes (Optional's `type`)

  static Attribute ofInt(int64_t v) { Attribute a; a.type = AttrType::Int; a.i = v; return a; }
  static Attribute ofFloat(float v) { Attribute a; a.type = AttrType::Float; a.f = v; return a; }
  static Attribute ofString(std::string v) { Attribute a; a.type = AttrType::String; a.s = std::move(v); return a; }
  static Attribute ofTensor(Tensor v) { Attribute a; a.type = AttrType::Tensor; a.t = std::move(v); return a; }
  static Attribute ofInts(std::vector<int64_t> v) { Attribute a; a.type = AttrType::Ints; a.ints = std::move(v); return a; }
  static Attribute ofFloats(std::vector<float> v) { Attribute a; a.type = AttrType::Floats; a.floats = std::move(v); return a; }
  static Attribute ofStrings(std::vector<std::string> v) { Attribute a; a.type = AttrType::Strings; a.strings = std::move(v); return a; }
  static Attribute ofGraph(std::shared_ptr<Region> r) { Attribute a; a.type = AttrType::Graph; a.g = std::move(r); return a; }
  static Attribute ofType(Type t) { Attribute a; a.type = AttrType::TypeProto; a.type_value = std::move(t); return a; }
};

}  // namespace dlc
