// Stateless functions of the builder API, each one or a few IR ops.
#include <cmath>

#include "frontend/builder/model.h"
#include "ir/dtype_onnx.h"

namespace dlc::builder {
namespace {
Var binary(OpKind kind, Var a, Var b) {
  Model* m = a.model() ? a.model() : b.model();
  return m ? m->op1(kind, {a, b}) : Var();
}
Var unary(OpKind kind, Var x, std::map<std::string, Attribute> attrs = {}) {
  return x.model() ? x.model()->op1(kind, {x}, std::move(attrs)) : Var();
}
Var scalar(Var like, double v) {
  if (!like.model()) return Var();
  DType dt = like.valid() ? like.type().dtype : DType::F32;
  return like.model()->constant(Tensor::scalar(dt, v));
}
std::map<std::string, Attribute> poolAttrs(int64_t kernel, int64_t stride, int64_t pad) {
  return {{"kernel_shape", Attribute::ofInts({kernel, kernel})},
          {"strides", Attribute::ofInts({stride, stride})},
          {"pads", Attribute::ofInts({pad, pad, pad, pad})}};
}
}  // namespace

Var add(Var a, Var b) { return binary(OpKind::Add, a, b); }
Var sub(Var a, Var b) { return binary(OpKind::Sub, a, b); }
Var mul(Var a, Var b) { return binary(OpKind::Mul, a, b); }
Var div(Var a, Var b) { return binary(OpKind::Div, a, b); }
Var add(Var a, double b) { return add(a, scalar(a, b)); }
Var mul(Var a, double b) { return mul(a, scalar(a, b)); }
Var pow(Var a, double b) { return binary(OpKind::Pow, a, scalar(a, b)); }
Var minimum(Var a, Var b) { return binary(OpKind::Min, a, b); }
Var maximum(Var a, Var b) { return binary(OpKind::Max, a, b); }
Var neg(Var x) { return unary(OpKind::Neg, x); }
Var abs(Var x) { return unary(OpKind::Abs, x); }
Var exp(Var x) { return unary(OpKind::Exp, x); }
Var log(Var x) { return unary(OpKind::Log, x); }
Var sqrt(Var x) { return unary(OpKind::Sqrt, x); }
Var softplus(Var x) { return unary(OpKind::Softplus, x); }
Var matmul(Var a, Var b) { return binary(OpKind::MatMul, a, b); }
Var greater(Var a, Var b) { return binary(OpKind::Greater, a, b); }
Var less(Var a, Var b) { return binary(OpKind::Less, a, b); }
Var equal(Var a, Var b) { return binary(OpKind::Equal, a, b); }
Var logicalNot(Var x) { return unary(OpKind::Not, x); }
Var where(Var cond, Var a, Var b) {
  Model* m = cond.model() ? cond.model() : a.model();
  return m ? m->op1(OpKind::Where, {cond, a, b}) : Var();
}
Var cast(Var x, DType to) {
  if (x.valid() && x.type().dtype == to) return x;
  return unary(OpKind::Cast, x, {{"to", Attribute::ofInt(dtypeToOnnxCode(to))}});
}
Var reduceSum(Var x, std::vector<int64_t> axes, bool keepdims) {
  if (!x.model()) return Var();
  std::vector<Var> operands{x};
  if (!axes.empty()) {
    Tensor t = Tensor::fromVector(DType::I64, {static_cast<int64_t>(axes.size())}, axes);
    operands.push_back(x.model()->constant(t));
  }
  return x.model()->op1(OpKind::ReduceSum, operands, {{"keepdims", Attribute::ofInt(keepdims)}});
}
Var reduceMean(Var x, std::vector<int64_t> axes, bool keepdims) {
  std::map<std::string, Attribute> attrs{{"keepdims", Attribute::ofInt(keepdims)}};
  if (!axes.empty()) attrs["axes"] = Attribute::ofInts(axes);
  return unary(OpKind::ReduceMean, x, attrs);
}
Var argmax(Var x, int64_t axis, bool keepdims) {
  return unary(OpKind::ArgMax, x, {{"axis", Attribute::ofInt(axis)}, {"keepdims", Attribute::ofInt(keepdims)}});
}
Var logSoftmax(Var x, int64_t axis) { return unary(OpKind::LogSoftmax, x, {{"axis", Attribute::ofInt(axis)}}); }
Var transpose(Var x, std::vector<int64_t> perm) { return unary(OpKind::Transpose, x, {{"perm", Attribute::ofInts(perm)}}); }
Var reshape(Var x, std::vector<int64_t> shape) {
  if (!x.model()) return Var();
  Tensor t = Tensor::fromVector(DType::I64, {static_cast<int64_t>(shape.size())}, shape);
  return x.model()->op1(OpKind::Reshape, {x, x.model()->constant(t)});
}
Var unsqueeze(Var x, std::vector<int64_t> axes) {
  if (!x.model()) return Var();
  Tensor t = Tensor::fromVector(DType::I64, {static_cast<int64_t>(axes.size())}, axes);
  return x.model()->op1(OpKind::Unsqueeze, {x, x.model()->constant(t)});
}
Var scalarLike(Var like, double v) { return scalar(like, v); }
Var scalarOf(Model& m, DType dtype, double v) { return m.constant(Tensor::scalar(dtype, v)); }
Var relu(Var x) { return unary(OpKind::Relu, x); }
Var sigmoid(Var x) { return unary(OpKind::Sigmoid, x); }
Var tanh(Var x) { return unary(OpKind::Tanh, x); }
Var silu(Var x) { return mul(x, sigmoid(x)); }

Var gelu(Var x) {
  // GELU(x) = x * 0.5 * (1 + erf(x / sqrt(2))), the form PyTorch exports and the passes recognise.
  Var scaled = binary(OpKind::Div, x, scalar(x, std::sqrt(2.0)));
  Var e = unary(OpKind::Erf, scaled);
  Var one_plus = add(e, scalar(x, 1.0f));
  return mul(mul(x, one_plus), scalar(x, 0.5f));
}

Var softmax(Var x, int64_t axis) { return unary(OpKind::Softmax, x, {{"axis", Attribute::ofInt(axis)}}); }
Var flatten(Var x, int64_t axis) { return unary(OpKind::Flatten, x, {{"axis", Attribute::ofInt(axis)}}); }
Var leakyRelu(Var x, double alpha) { return unary(OpKind::LeakyRelu, x, {{"alpha", Attribute::ofFloat(static_cast<float>(alpha))}}); }
Var elu(Var x, double alpha) { return unary(OpKind::Elu, x, {{"alpha", Attribute::ofFloat(static_cast<float>(alpha))}}); }
Var selu(Var x) { return unary(OpKind::Selu, x); }
// torch's hardsigmoid is relu6(x + 3) / 6, ONNX HardSigmoid's alpha 1/6 and beta 1/2.
Var hardSigmoid(Var x) { return unary(OpKind::HardSigmoid, x, {{"alpha", Attribute::ofFloat(1.0f / 6)}, {"beta", Attribute::ofFloat(0.5f)}}); }
Var hardSwish(Var x) { return unary(OpKind::HardSwish, x); }
Var mish(Var x) { return mul(x, tanh(softplus(x))); }
Var erf(Var x) { return unary(OpKind::Erf, x); }
Var sin(Var x) { return unary(OpKind::Sin, x); }
Var cos(Var x) { return unary(OpKind::Cos, x); }
Var stopGradient(Var x) { return unary(OpKind::StopGradient, x); }
Var clip(Var x, double lo, double hi) {
  return x.model() ? x.model()->op1(OpKind::Clip, {x, scalar(x, lo), scalar(x, hi)}) : Var();
}
Var dropout(Var x, double ratio) {
  if (!x.model()) return Var();
  if (!(ratio >= 0 && ratio < 1)) {
    x.model()->fail(Status::error(str("dropout ratio ", ratio, " is outside [0, 1)")));
    return Var();
  }
  return x.model()->op1(OpKind::Dropout, {x, x.model()->constant(Tensor::scalar(DType::F32, ratio))});
}
Var concat(const std::vector<Var>& xs, int64_t axis) {
  Model* m = xs.empty() ? nullptr : xs[0].model();
  return m ? m->op1(OpKind::Concat, xs, {{"axis", Attribute::ofInt(axis)}}) : Var();
}
namespace {
Var ints(Var like, const std::vector<int64_t>& v) {
  return like.model()->constant(Tensor::fromVector(DType::I64, {static_cast<int64_t>(v.size())}, v));
}
}  // namespace
Var slice(Var x, std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes) {
  if (!x.model()) return Var();
  return x.model()->op1(OpKind::Slice, {x, ints(x, starts), ints(x, ends), ints(x, axes)});
}
Var squeeze(Var x, std::vector<int64_t> axes) {
  return x.model() ? x.model()->op1(OpKind::Squeeze, {x, ints(x, axes)}) : Var();
}
Var reduceMax(Var x, std::vector<int64_t> axes, bool keepdims) {
  return unary(OpKind::ReduceMax, x, {{"axes", Attribute::ofInts(axes)}, {"keepdims", Attribute::ofInt(keepdims)}});
}
Var expand(Var x, std::vector<int64_t> shape) {
  return x.model() ? x.model()->op1(OpKind::Expand, {x, ints(x, shape)}) : Var();
}
Var reshapeLike(Var x, Var like) {
  if (!x.model() || !like.valid()) return Var();
  return x.model()->op1(OpKind::Reshape, {x, x.model()->op1(OpKind::Shape, {like})});
}
Var gather(Var x, Var idx, int64_t axis) {
  return x.model() ? x.model()->op1(OpKind::Gather, {x, idx}, {{"axis", Attribute::ofInt(axis)}}) : Var();
}
Var gatherElements(Var x, Var idx, int64_t axis) {
  return x.model() ? x.model()->op1(OpKind::GatherElements, {x, idx}, {{"axis", Attribute::ofInt(axis)}}) : Var();
}
Var scatterAdd(Var data, Var idx, Var upd, int64_t axis) {
  if (!data.model()) return Var();
  return data.model()->op1(OpKind::ScatterElements, {data, idx, upd},
                           {{"axis", Attribute::ofInt(axis)}, {"reduction", Attribute::ofString("add")}});
}
std::pair<Var, Var> topk(Var x, int64_t k, int64_t axis) {
  if (!x.model()) return {};
  auto r = x.model()->op(OpKind::TopK, {x, ints(x, {k})}, {{"axis", Attribute::ofInt(axis)}}, 2);
  if (r.size() != 2) return {};
  return {r[0], r[1]};
}
Var conv2d(Var x, Var weight, Var bias, int64_t stride, int64_t pad, int64_t groups, int64_t dilation) {
  if (!x.model()) return Var();
  std::vector<Var> operands = {x, weight};
  if (bias.valid()) operands.push_back(bias);
  return x.model()->op1(OpKind::Conv, operands,
                        {{"strides", Attribute::ofInts({stride, stride})},
                         {"pads", Attribute::ofInts({pad, pad, pad, pad})},
                         {"dilations", Attribute::ofInts({dilation, dilation})},
                         {"group", Attribute::ofInt(groups)}});
}
Var convTranspose2d(Var x, Var weight, Var bias, int64_t stride, int64_t pad) {
  if (!x.model()) return Var();
  std::vector<Var> operands = {x, weight};
  if (bias.valid()) operands.push_back(bias);
  return x.model()->op1(OpKind::ConvTranspose, operands,
                        {{"strides", Attribute::ofInts({stride, stride})}, {"pads", Attribute::ofInts({pad, pad, pad, pad})}});
}
Var maxPool2d(Var x, int64_t kernel, int64_t stride, int64_t pad) {
  return unary(OpKind::MaxPool, x, poolAttrs(kernel, stride, pad));
}
Var avgPool2d(Var x, int64_t kernel, int64_t stride, int64_t pad) {
  return unary(OpKind::AveragePool, x, poolAttrs(kernel, stride, pad));
}
Var globalAvgPool(Var x) { return unary(OpKind::GlobalAveragePool, x); }

}  // namespace dlc::builder
