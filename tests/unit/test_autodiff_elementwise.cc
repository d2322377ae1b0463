// Gradient checks (central differences in f64) of the elementwise unary and binary ops.
#include "tests/unit/gradient_check.h"

namespace dlc::testing {
namespace {

template <OpKind K>
void unary(GradCase& c, double lo, double hi, std::map<std::string, Attribute> attrs = {}) {
  c.out(c.op1(K, {c.input({2, 3, 4}, lo, hi)}, std::move(attrs)));
}
#define UNARY(Name, lo, hi, ...) \
  {"unary/" #Name, [](GradCase& c) { unary<OpKind::Name>(c, lo, hi, ##__VA_ARGS__); }}

const RegisterGradCases kUnary{
    UNARY(Abs, -1, 1), UNARY(Acos, -0.9, 0.9), UNARY(Acosh, 1.2, 3), UNARY(Asin, -0.9, 0.9), UNARY(Asinh, -2, 2),
    UNARY(Atan, -2, 2), UNARY(Atanh, -0.9, 0.9), UNARY(Ceil, -3, 3), UNARY(Floor, -3, 3), UNARY(Round, -3, 3),
    UNARY(Sign, -1, 1), UNARY(Celu, -2, 2, {{"alpha", Attribute::ofFloat(1.5f)}}), UNARY(Cos, -3, 3),
    UNARY(Cosh, -2, 2), UNARY(Elu, -2, 2, {{"alpha", Attribute::ofFloat(0.7f)}}), UNARY(Erf, -2, 2), UNARY(Exp, -2, 2),
    UNARY(Gelu, -3, 3), UNARY(Gelu, -3, 3, {{"approximate", Attribute::ofString("tanh")}}),
    UNARY(HardSigmoid, -4, 4, {{"alpha", Attribute::ofFloat(0.3f)}, {"beta", Attribute::ofFloat(0.4f)}}),
    UNARY(HardSwish, -4, 4), UNARY(Identity, -1, 1), UNARY(LeakyRelu, -1, 1, {{"alpha", Attribute::ofFloat(0.2f)}}),
    UNARY(Log, 0.1, 2), UNARY(Neg, -1, 1), UNARY(Reciprocal, 0.5, 2), UNARY(Relu, -1, 1), UNARY(Selu, -2, 2),
    UNARY(Shrink, -1, 1, {{"lambd", Attribute::ofFloat(0.3f)}}), UNARY(Sigmoid, -3, 3), UNARY(Sin, -3, 3),
    UNARY(Sinh, -2, 2), UNARY(Softplus, -3, 3), UNARY(Softsign, -3, 3), UNARY(Sqrt, 0.1, 2), UNARY(Tan, -1, 1),
    UNARY(Tanh, -2, 2), UNARY(ThresholdedRelu, -2, 2, {{"alpha", Attribute::ofFloat(0.5f)}}),
    {"unary/Clip", [](GradCase& c) { c.out(c.op1(OpKind::Clip, {c.input({3, 5}, -2, 2), c.scalar(-0.5), c.scalar(0.7)})); }},
    {"unary/ClipUpperOnly", [](GradCase& c) {
       c.out(c.op1(OpKind::Clip, {c.input({3, 5}, -2, 2), nullptr, c.scalar(0.7)}));
     }},
    // Through f32: its rounding (~6e-8) over a step of 1e-3 bounds the central difference of x²
    // (exact for a quadratic) to ~1e-4.
    {"unary/Cast", [](GradCase& c) {
       Value* f = c.op1(OpKind::Cast, {c.input({3, 4})}, {{"to", Attribute::ofInt(1)}});
       c.out(c.op1(OpKind::Cast, {c.op1(OpKind::Mul, {f, f})}, {{"to", Attribute::ofInt(11)}}));
     }, 1e-4, 1e-3},
    {"unary/DropoutTraining", [](GradCase& c) {
       Value* training = c.builder().constant(Tensor::scalar(DType::Bool, 1));
       c.out(c.op1(OpKind::Dropout, {c.input({4, 6}), c.scalar(0.3), training}, {{"seed", Attribute::ofInt(7)}}));
     }},
    {"unary/DropoutInference", [](GradCase& c) { c.out(c.op1(OpKind::Dropout, {c.input({4, 6}), c.scalar(0.3)})); }},
};

// Broadcasting pairs: [2,3,4] with [3,1], [4] and [2,3,4].
template <OpKind K>
void binary(GradCase& c, double lo, double hi) {
  c.out(c.op1(K, {c.input({2, 3, 4}, lo, hi), c.input({3, 1}, lo, hi)}));
  c.out(c.op1(K, {c.input({4}, lo, hi), c.input({2, 3, 4}, lo, hi)}));
}
#define BINARY(Name, lo, hi) \
  {"binary/" #Name, [](GradCase& c) { binary<OpKind::Name>(c, lo, hi); }}

const RegisterGradCases kBinary{
    BINARY(Add, -1, 1), BINARY(Sub, -1, 1), BINARY(Mul, -1, 1), BINARY(Div, 0.5, 2), BINARY(Pow, 0.5, 2),
    BINARY(Max, -1, 1), BINARY(Min, -1, 1),
    {"binary/MaxOfThree", [](GradCase& c) {
       c.out(c.op1(OpKind::Max, {c.input({2, 3}), c.input({3}), c.input({2, 1})}));
     }},
    {"binary/MinOfOne", [](GradCase& c) { c.out(c.op1(OpKind::Min, {c.input({2, 3})})); }},
    {"binary/Sum", [](GradCase& c) { c.out(c.op1(OpKind::Sum, {c.input({2, 3}), c.input({3}), c.input({2, 1})})); }},
    {"binary/Mean", [](GradCase& c) { c.out(c.op1(OpKind::Mean, {c.input({2, 3}), c.input({1, 3})})); }},
    {"binary/PowNegativeBase", [](GradCase& c) {  // an integer exponent of a negative base
       c.out(c.op1(OpKind::Pow, {c.input({2, 3}, -2, -0.5), c.builder().constant(Tensor::scalar(DType::F64, 3))}));
     }},
    {"binary/Where", [](GradCase& c) {
       Tensor cond(DType::Bool, {2, 3, 4});
       for (int64_t i = 0; i < cond.numel(); ++i) cond.data<bool>()[i] = (i * 7) % 3 == 0;
       c.out(c.op1(OpKind::Where, {c.addInput(cond), c.input({2, 3, 4}), c.input({3, 1})}));
     }},
    {"binary/PRelu", [](GradCase& c) {
       c.out(c.op1(OpKind::PRelu, {c.input({2, 3, 4}), c.input({3, 1})}));
       c.out(c.op1(OpKind::PRelu, {c.input({2, 3}), c.input({1})}));
     }},
};

TEST(AutodiffGrad, Unary) { checkGradFamily("unary"); }
TEST(AutodiffGrad, Binary) { checkGradFamily("binary"); }

}  // namespace
}  // namespace dlc::testing
