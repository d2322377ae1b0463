// Typed view of ir/ops.def: the OpKind enum and per-op info (arity, traits, attributes, shape rule).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "ir/status.h"

namespace dlc {

enum class OpKind : uint16_t {
#define DLC_OP(Name, ...) Name,
#include "ir/ops.def"
#undef DLC_OP
};

constexpr int kNumOpKinds = 0
#define DLC_OP(Name, ...) +1
#include "ir/ops.def"
#undef DLC_OP
    ;

// Op traits: properties that passes and backends query instead of switching on op kinds.
enum Trait : uint32_t {
  kElementwise = 1u << 0,   // each output element depends only on the same-index input elements
  kBroadcast = 1u << 1,     // inputs broadcast numpy-style
  kCommutative = 1u << 2,   // operand order does not matter
  kSideEffects = 1u << 3,   // not pure (random numbers): never folded, CSE'd or removed
  kControlFlow = 1u << 4,   // holds regions that run conditionally or repeatedly
};

enum class ShapeRule : uint8_t { SameAsInput, ElementwiseBool, Broadcast, BroadcastBool, Custom };

struct AttrSpec {
  std::string name;
  AttrType type;
  bool required = false;
  bool has_default = false;
  Attribute default_value;
};

class InferContext;
using InferFn = Status (*)(InferContext&);

struct OpInfo {
  OpKind kind;
  const char* name;
  const char* domain;
  int min_inputs, max_inputs;    // max -1: variadic
  int min_outputs, max_outputs;  // max -1: variadic
  uint32_t traits;
  ShapeRule shape_rule;
  InferFn infer;  // set when shape_rule is Custom
  std::vector<AttrSpec> attrs;

  bool has(Trait t) const { return (traits & t) != 0; }
  const AttrSpec* findAttr(std::string_view attr_name) const;
};

const OpInfo& opInfo(OpKind kind);
const char* opName(OpKind kind);
// Looks an op up by its ONNX (domain, name); domain "" and "ai.onnx" are the same.
std::optional<OpKind> opKindFromName(std::string_view name, std::string_view domain = "");

}  // namespace dlc
