// Shape specialization: binds graph inputs to the --input-shape sizes and re-infers every op's types.
#include <exception>
#include <map>

#include "passes/pass.h"
#include "ir/reinfer.h"

namespace dlc::passes {
namespace {


std::string shapeText(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s.empty() ? "(scalar)" : s;
}

// Checks one --input-shape entry against the input's declared type and binds its symbols.
Status bindInput(const Value& input, const std::vector<int64_t>& dims, SymbolSizes& b) {
  const std::string& name = input.name();
  const Type& t = input.type();
  if (!t.isTensor())
    return Status::error(str("--input-shape ", name, ": the input is ", t.toString(), ", not a tensor"));
  if (!t.shape.ranked) return Status::success();
  if (t.shape.rank() != static_cast<int>(dims.size()))
    return Status::error(str("--input-shape ", name, "=", shapeText(dims), ": input '", name, "' has rank ",
                             t.shape.rank(), " (", t.toString(), "), the shape given has ", dims.size(), " dims"));
  for (size_t i = 0; i < dims.size(); ++i) {
    const Dim& d = t.shape.dims[i];
    if (d.isStatic() && d.value != dims[i])
      return Status::error(str("--input-shape ", name, "=", shapeText(dims), ": dim ", i, " of input '", name,
                               "' is ", d.value, " (", t.toString(), "), not ", dims[i]));
    if (!d.isSymbolic()) continue;
    auto [it, inserted] = b.emplace(d.symbol, dims[i]);
    if (!inserted && it->second != dims[i])
      return Status::error(str("--input-shape ", name, "=", shapeText(dims), ": symbol '", d.symbol,
                               "' (dim ", i, " of input '", name, "') is already bound to ", it->second,
                               " by another input, not ", dims[i]));
  }
  return Status::success();
}

class SpecializeShapes : public Pass {
 public:
  Status run(Graph& graph, const PassContext& ctx) override {
    if (ctx.input_shapes.empty()) return Status::success();
    Region& body = graph.body();
    SymbolSizes bindings;
    std::map<Value*, const std::vector<int64_t>*> given;
    for (const auto& [name, dims] : ctx.input_shapes) {
      Value* input = nullptr;
      std::string names;
      for (int i = 0; i < body.numArguments(); ++i) {
        if (body.argument(i)->name() == name) input = body.argument(i);
        names += (i ? ", " : "") + body.argument(i)->name();
      }
      if (!input)
        return Status::error(str("--input-shape ", name, "=", shapeText(dims), ": '", name,
                                 "' is not a graph input (inputs: ", names.empty() ? "none" : names, ")"));
      DLC_RETURN_IF_ERROR(bindInput(*input, dims, bindings));
      given[input] = &dims;
    }
    // Inputs: the given shapes; other inputs get the bound symbols too (a symbol is one size).
    for (int i = 0; i < body.numArguments(); ++i) {
      Value* a = body.argument(i);
      auto it = given.find(a);
      if (it != given.end())
        a->setType(Type::tensor(a->type().dtype, Shape::of(*it->second)));
      else
        a->setType(substituteSymbols(a->type(), bindings));
    }
    Status s = reinferTypes(body, bindings).status();
    return s.withContext("with the given --input-shape");
  }

};

}  // namespace

std::unique_ptr<Pass> createSpecializeShapesPass() { return std::make_unique<SpecializeShapes>(); }

}  // namespace dlc::passes
