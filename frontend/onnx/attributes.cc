// AttributeProto -> IR Attribute (every ONNX kind; nested graphs through a callback), and the
// normalisation of Constant's value_* attributes to one `value` tensor.
#include "frontend/onnx/onnx_internal.h"
#include "ir/constant_value.h"

namespace dlc::onnx_import {
namespace {
using AP = onnx::AttributeProto;

// IR versions before 2 did not write AttributeProto.type; the kind is whichever field is set.
AP::AttributeType guessType(const AP& a) {
  if (a.has_f()) return AP::FLOAT;
  if (a.has_i()) return AP::INT;
  if (a.has_s()) return AP::STRING;
  if (a.has_t()) return AP::TENSOR;
  if (a.has_g()) return AP::GRAPH;
  if (a.has_tp()) return AP::TYPE_PROTO;
  if (a.floats_size()) return AP::FLOATS;
  if (a.strings_size()) return AP::STRINGS;
  if (a.tensors_size()) return AP::TENSORS;
  if (a.graphs_size()) return AP::GRAPHS;
  return AP::INTS;  // also an empty list of unknown kind
}
}  // namespace

Expected<Attribute> attributeFromProto(const AP& a, const std::string& base_dir, const GraphConverter& graph) {
  if (!a.ref_attr_name().empty())
    return Status::error(str("refers to function attribute '", a.ref_attr_name(), "' outside a function"));
  AP::AttributeType type = a.type() == AP::UNDEFINED ? guessType(a) : a.type();
  Attribute out;
  switch (type) {
    case AP::INT: return Attribute::ofInt(a.i());
    case AP::FLOAT: return Attribute::ofFloat(a.f());
    case AP::STRING: return Attribute::ofString(a.s());
    case AP::INTS: return Attribute::ofInts({a.ints().begin(), a.ints().end()});
    case AP::FLOATS: return Attribute::ofFloats({a.floats().begin(), a.floats().end()});
    case AP::STRINGS: return Attribute::ofStrings({a.strings().begin(), a.strings().end()});
    case AP::TENSOR: {
      DLC_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(a.t(), base_dir));
      return Attribute::ofTensor(std::move(t));
    }
    case AP::TENSORS:
      out.type = AttrType::Tensors;
      for (const auto& tp : a.tensors()) {
        DLC_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(tp, base_dir));
        out.tensors.push_back(std::move(t));
      }
      return out;
    case AP::GRAPH: {
      DLC_ASSIGN_OR_RETURN(std::shared_ptr<Region> r, graph(a.g(), 0));
      return Attribute::ofGraph(std::move(r));
    }
    case AP::GRAPHS:
      out.type = AttrType::Graphs;
      for (int i = 0; i < a.graphs_size(); ++i) {
        DLC_ASSIGN_OR_RETURN(std::shared_ptr<Region> r, graph(a.graphs(i), i));
        out.graphs.push_back(std::move(r));
      }
      return out;
    case AP::TYPE_PROTO: {
      DLC_ASSIGN_OR_RETURN(Type t, typeFromProto(a.tp()));
      return Attribute::ofType(std::move(t));
    }
    case AP::SPARSE_TENSOR:
    case AP::SPARSE_TENSORS:
      return Status::error("sparse tensor attributes are not supported");
    case AP::TYPE_PROTOS:
      return Status::error("lists of type attributes are not supported");
    default:
      return Status::error(str("unknown attribute type ", static_cast<int>(type)));
  }
}

Status normalizeConstant(PendingNode& n) {
  if (n.attrs.size() != 1)
    return Status::error(str("Constant needs exactly one value attribute, got ", n.attrs.size()));
  auto [name, a] = *n.attrs.begin();
  DLC_ASSIGN_OR_RETURN(Tensor t, constantAttributeTensor(name, a));
  n.attrs.clear();
  n.attrs["value"] = Attribute::ofTensor(std::move(t));
  return Status::success();
}

}  // namespace dlc::onnx_import
