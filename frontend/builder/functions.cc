// Stateless functions of the builder API, each one or a few IR ops.
#include <cmath>

#include "frontend/builder/model.h"

namespace dlc::builder {
namespace {
Var binary(OpKind kind, Var a, Var b) {
  Model* m = a.model() ? a.model() : b.model();
  return m ? m->op1(kind, {a, b}) : Var();
}
Var unary(OpKind kind, Var x, std::map<std::string, Attribute> attrs = {}) {
  return x.model() ? x.model()->op1(kind, {x}, std::move(attrs)) : Var();
}
Var scalar(Var like, float v) {
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
Var matmul(Var a, Var b) { return binary(OpKind::MatMul, a, b); }
Var relu(Var x) { return unary(OpKind::Relu, x); }
Var sigmoid(Var x) { return unary(OpKind::Sigmoid, x); }
Var tanh(Var x) { return unary(OpKind::Tanh, x); }
Var silu(Var x) { return mul(x, sigmoid(x)); }

Var gelu(Var x) {
  // GELU(x) = x * 0.5 * (1 + erf(x / sqrt(2))), the form PyTorch exports and the passes recognise.
  Var scaled = binary(OpKind::Div, x, scalar(x, static_cast<float>(std::sqrt(2.0))));
  Var e = unary(OpKind::Erf, scaled);
  Var one_plus = add(e, scalar(x, 1.0f));
  return mul(mul(x, one_plus), scalar(x, 0.5f));
}

Var softmax(Var x, int64_t axis) { return unary(OpKind::Softmax, x, {{"axis", Attribute::ofInt(axis)}}); }
Var flatten(Var x, int64_t axis) { return unary(OpKind::Flatten, x, {{"axis", Attribute::ofInt(axis)}}); }
Var maxPool2d(Var x, int64_t kernel, int64_t stride, int64_t pad) {
  return unary(OpKind::MaxPool, x, poolAttrs(kernel, stride, pad));
}
Var avgPool2d(Var x, int64_t kernel, int64_t stride, int64_t pad) {
  return unary(OpKind::AveragePool, x, poolAttrs(kernel, stride, pad));
}
Var globalAvgPool(Var x) { return unary(OpKind::GlobalAveragePool, x); }

}  // namespace dlc::builder
