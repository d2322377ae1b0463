// Constant folding: ops computable at compile time (constant inputs, static shapes) become Constants.
#include <algorithm>
#include <cstring>
#include <exception>

#include "ir/infer/infer.h"
#include "passes/pass.h"
#include "ir/reinfer.h"
#include "passes/pattern.h"
#include "passes/simplify_util.h"

namespace dlc::passes {
namespace {

// Folded results larger than this stay computed at run time, so folding never blows up memory
// (or the model file) by materialising e.g. a huge ConstantOfShape or Expand.
constexpr int64_t kMaxFoldedElements = int64_t{16} << 20;

// The result types of `op` as precisely as they are known: the recorded type, or the re-inferred
// one where that is static (constant operands may make inference sharper than what was recorded).
std::vector<Type> bestResultTypes(Op& op) {
  std::vector<Type> types;
  for (int i = 0; i < op.numResults(); ++i) types.push_back(op.result(i)->type());
  std::vector<Type> inferred = types;
  if (inferOpTypes(op, &inferred).ok())
    for (size_t i = 0; i < types.size(); ++i)
      if (!types[i].shape.isStatic() && inferred[i].isTensor() && inferred[i].shape.isStatic() &&
          inferred[i].dtype == types[i].dtype)
        types[i] = inferred[i];
  return types;
}

bool fitsLimit(const Type& t) {
  return t.isTensor() && t.shape.isStatic() && t.dtype != DType::Undefined && t.shape.numElements() <= kMaxFoldedElements;
}

// Replaces every result of `op` by a Constant holding `values[i]`, named like the result it
// replaces. Declines when a value disagrees with the result's recorded type.
bool replaceWithConstants(Op& op, std::vector<Tensor> values, Rewriter& rw) {
  if (static_cast<int>(values.size()) != op.numResults()) return false;
  for (int i = 0; i < op.numResults(); ++i) {
    const Type& t = op.result(i)->type();
    const Tensor& v = values[static_cast<size_t>(i)];
    if (!t.isTensor() || !v.defined() || v.dtype() != t.dtype || v.numel() > kMaxFoldedElements) return false;
    Shape vs = Shape::of(v.shape());
    if (t.shape.ranked) {
      if (t.shape.rank() != vs.rank()) return false;
      for (int d = 0; d < vs.rank(); ++d)
        if (t.shape.dims[static_cast<size_t>(d)].isStatic() && t.shape.dims[static_cast<size_t>(d)] != vs.dims[static_cast<size_t>(d)])
          return false;
    }
  }
  std::vector<Op*> operand_constants;  // erased below when this op was their last user
  for (Value* v : op.operands())
    if (v && v->definingOp() && v->definingOp()->kind() == OpKind::Constant &&
        v->definingOp()->parent() == op.parent() &&
        std::find(operand_constants.begin(), operand_constants.end(), v->definingOp()) == operand_constants.end())
      operand_constants.push_back(v->definingOp());
  std::vector<Value*> repl;
  for (int i = 0; i < op.numResults(); ++i) {
    Value* c = rw.constant(std::move(values[static_cast<size_t>(i)]), op.result(i)->name());
    c->definingOp()->setLocation(op.location());
    repl.push_back(c);
  }
  rw.replaceOp(op, repl);
  for (Op* c : operand_constants)
    if (!c->result(0)->hasUses()) rw.eraseOp(*c);
  return true;
}

// Op(c1, ..., cn) ==> Constant(evaluate(Op, c1, ..., cn))   for pure ops without regions whose
// inputs are all constants, evaluated by the reference kernels.
class FoldConstantOperands : public RewritePattern {
 public:
  explicit FoldConstantOperands(const OpEvaluator& evaluate) : evaluate_(evaluate) {}
  const char* name() const override { return "fold-constant-operands"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (!evaluate_ || op.kind() == OpKind::Constant || op.numOperands() == 0) return false;
    if (!isPure(op) || !op.regions().empty()) return false;
    // Quantized weights stay quantized: DQ(int8 constant) folded would store them as f32, 4x larger,
    // and hide them from fuse-qdq, which turns DQ -> Conv/MatMul -> Q into integer ops.
    if (op.kind() == OpKind::DequantizeLinear) return false;
    std::vector<Tensor> held;  // keeps value_* constants alive while evaluating
    held.reserve(static_cast<size_t>(op.numOperands()));
    std::vector<const Tensor*> inputs;
    for (Value* v : op.operands()) {
      if (!v) {
        inputs.push_back(nullptr);
        continue;
      }
      std::optional<Tensor> t = constantTensor(v);
      if (!t) return false;
      held.push_back(std::move(*t));
      inputs.push_back(&held.back());
    }
    // Only evaluate what is known to be small: static results within the limit, or ops whose
    // result is never larger than their (constant, already materialised) input.
    bool shrinking = op.kind() == OpKind::NonZero || op.kind() == OpKind::Unique || op.kind() == OpKind::Compress;
    for (const Type& t : bestResultTypes(op)) {
      if (!t.isTensor()) return false;
      if (!shrinking && !fitsLimit(t)) return false;
    }
    Expected<std::vector<Tensor>> out = Status::error("not evaluated");
    try {
      out = evaluate_(op, inputs);
    } catch (const std::exception&) {
      return false;  // a kernel that throws on these inputs: leave the op to fail at run time
    }
    if (!out.ok()) return false;
    return replaceWithConstants(op, std::move(*out), rw);
  }

 private:
  const OpEvaluator& evaluate_;
};

// Shape(x : [..static dims in start:end..]) ==> Constant(dims[start:end])
// Size(x : static shape) ==> Constant(numel)
class FoldShapeOf : public RewritePattern {
 public:
  const char* name() const override { return "fold-shape-of"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if ((op.kind() != OpKind::Shape && op.kind() != OpKind::Size) || !op.operand(0)) return false;
    const Type& xt = op.operand(0)->type();
    if (!xt.isTensor() || !xt.shape.ranked) return false;
    if (op.kind() == OpKind::Size) {
      if (!xt.shape.isStatic()) return false;
      return replaceWithConstants(op, {Tensor::fromVector<int64_t>(DType::I64, {}, {xt.shape.numElements()})}, rw);
    }
    // The start/end clamping of ONNX Shape (as in its shape rule).
    int64_t r = xt.shape.rank();
    int64_t start = op.getInt("start", 0);
    int64_t end = op.hasAttr("end") ? op.getInt("end") : r;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = std::clamp<int64_t>(start, 0, r);
    end = std::clamp<int64_t>(end, 0, r);
    std::vector<int64_t> dims;
    for (int64_t i = start; i < end; ++i) {
      const Dim& d = xt.shape.dims[static_cast<size_t>(i)];
      if (!d.isStatic()) return false;
      dims.push_back(d.value);
    }
    int64_t n = static_cast<int64_t>(dims.size());
    return replaceWithConstants(op, {Tensor::fromVector<int64_t>(DType::I64, {n}, dims)}, rw);
  }
};

// Gather(Shape(x), k) ==> Constant(dims[k])   when the gathered dims of x are static though others
// are not (torch writes x.shape[k] of a static feature dim this way beside a symbolic batch).
class FoldStaticDimOfShape : public RewritePattern {
 public:
  const char* name() const override { return "fold-static-dim-of-shape"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Gather || op.getInt("axis", 0) != 0 || !op.operand(0) || !op.operand(1)) return false;
    const Op* shape = op.operand(0)->definingOp();
    const Tensor* index = constantValue(op.operand(1));
    if (!shape || shape->kind() != OpKind::Shape || !index || !shape->operand(0)) return false;
    const Type& xt = shape->operand(0)->type();
    if (!xt.isTensor() || !xt.shape.ranked) return false;
    int64_t r = xt.shape.rank();
    int64_t start = shape->getInt("start", 0);
    int64_t end = shape->hasAttr("end") ? shape->getInt("end") : r;
    start = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
    end = std::clamp<int64_t>(end < 0 ? end + r : end, 0, r);
    const int64_t n = std::max<int64_t>(0, end - start);
    std::vector<int64_t> dims;
    for (int64_t i = 0; i < index->numel(); ++i) {
      int64_t k = index->getInt(i);
      if (k < 0) k += n;
      if (k < 0 || k >= n) return false;
      const Dim& d = xt.shape.dims[static_cast<size_t>(start + k)];
      if (!d.isStatic()) return false;
      dims.push_back(d.value);
    }
    return replaceWithConstants(op, {Tensor::fromVector<int64_t>(DType::I64, index->shape(), dims)}, rw);
  }
};

// ConstantOfShape(s) : T[static dims] ==> Constant(splat of its value, or 0.0f)   (cheap to
// materialise once its shape is static, even when `s` is computed)
class FoldStaticConstantOfShape : public RewritePattern {
 public:
  const char* name() const override { return "fold-static-constant-of-shape"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::ConstantOfShape) return false;
    Type t = bestResultTypes(op)[0];
    if (!fitsLimit(t)) return false;
    Tensor out(t.dtype, t.shape.staticSizes());
    if (const Attribute* v = op.attr("value"); v && v->type == AttrType::Tensor && v->t.defined()) {
      const Tensor& fill = v->t;
      if (fill.numel() != 1 || fill.dtype() != t.dtype) return false;
      if (fill.dtype() == DType::String) {
        for (auto& s : out.strings()) s = fill.strings()[0];
      } else if (fill.dtype() == DType::I4 || fill.dtype() == DType::U4) {
        return false;
      } else {
        size_t esz = dtypeSize(fill.dtype());
        auto* dst = static_cast<unsigned char*>(out.raw());
        for (int64_t i = 0; i < out.numel(); ++i)
          std::memcpy(dst + static_cast<size_t>(i) * esz, fill.raw(), esz);
      }
    } else if (t.dtype != DType::F32) {
      return false;
    }
    return replaceWithConstants(op, {std::move(out)}, rw);
  }
};

class ConstantFold : public Pass {
 public:
  Status run(Graph& graph, const PassContext& ctx) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<FoldShapeOf>());
    patterns.push_back(std::make_unique<FoldStaticDimOfShape>());
    patterns.push_back(std::make_unique<FoldStaticConstantOfShape>());
    patterns.push_back(std::make_unique<FoldConstantOperands>(ctx.evaluate));
    // Folding shape arithmetic makes later types static (Reshape(x, Concat(Shape(y)...)) gets
    // its dims), which lets the next Shape fold: alternate folding and re-inference until neither
    // changes anything (a transformer's layers chain through each other's shapes this way).
    for (int round = 0; round < 64; ++round) {
      auto n = applyPatternsGreedily(graph.body(), patterns);
      if (!n.ok()) return n.status();
      if (*n == 0 && round > 0) break;
      DLC_ASSIGN_OR_RETURN(bool changed, reinferTypes(graph.body()));
      if (!changed) break;
    }
    // Operands of folded ops (constants, Shape's input, ...) may now be dead; dce removes them.
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createConstantFoldPass() { return std::make_unique<ConstantFold>(); }

}  // namespace dlc::passes
