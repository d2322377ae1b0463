// Deep copies of the IR.
#include "ir/clone.h"

namespace dlc {
namespace {

Value* translate(const Value* v, const std::unordered_map<const Value*, Value*>& map) {
  if (!v) return nullptr;
  auto it = map.find(v);
  return it == map.end() ? const_cast<Value*>(v) : it->second;  // a value outside every copied region
}

std::shared_ptr<Region> cloneSubregion(const Region& src, std::unordered_map<const Value*, Value*>& map) {
  auto r = std::make_shared<Region>();
  cloneRegionInto(src, *r, map);
  return r;
}

}  // namespace

void cloneRegionInto(const Region& src, Region& dst, std::unordered_map<const Value*, Value*>& map) {
  for (int i = 0; i < src.numArguments(); ++i) map[src.argument(i)] = dst.addArgument(src.argument(i)->type(), src.argument(i)->name());
  for (const auto& op : src.ops()) {
    std::vector<Value*> operands;
    for (Value* v : op->operands()) operands.push_back(translate(v, map));
    std::vector<Type> types;
    for (int i = 0; i < op->numResults(); ++i) types.push_back(op->result(i)->type());
    Op* copy = dst.createOp(op->kind(), operands, types);
    copy->setLocation(op->location());
    for (int i = 0; i < op->numResults(); ++i) {
      copy->result(i)->setName(op->result(i)->name());
      map[op->result(i)] = copy->result(i);
    }
    for (const auto& [name, a] : op->attrs()) {
      Attribute c = a;
      if (a.g) c.g = cloneSubregion(*a.g, map);
      for (size_t k = 0; k < a.graphs.size(); ++k)
        if (a.graphs[k]) c.graphs[k] = cloneSubregion(*a.graphs[k], map);
      copy->setAttr(name, std::move(c));
    }
  }
  std::vector<Value*> outs;
  for (Value* v : src.outputs()) outs.push_back(translate(v, map));
  dst.setOutputs(outs);
}

std::unique_ptr<Graph> cloneGraph(const Graph& g) {
  auto out = std::make_unique<Graph>();
  out->name = g.name;
  out->opset_imports = g.opset_imports;
  out->producer = g.producer;
  std::unordered_map<const Value*, Value*> map;
  cloneRegionInto(g.body(), out->body(), map);
  return out;
}

}  // namespace dlc
