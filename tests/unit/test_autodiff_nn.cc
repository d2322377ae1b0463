// Gradient checks (central differences in f64) of the linear ops, pools, normalizations and losses.
#include "tests/unit/gradient_check.h"

namespace dlc::testing {
namespace {

Attribute i(int64_t v) { return Attribute::ofInt(v); }

const RegisterGradCases kLinear{
    {"linear/MatMul2D", [](GradCase& c) { c.out(c.op1(OpKind::MatMul, {c.input({3, 4}), c.input({4, 5})})); }},
    {"linear/MatMulWeight", [](GradCase& c) { c.out(c.op1(OpKind::MatMul, {c.input({2, 3, 4}), c.input({4, 5})})); }},
    {"linear/MatMulBroadcastBatch", [](GradCase& c) {
       c.out(c.op1(OpKind::MatMul, {c.input({2, 1, 3, 4}), c.input({3, 4, 2})}));
     }},
    {"linear/MatMulVectors", [](GradCase& c) {
       c.out(c.op1(OpKind::MatMul, {c.input({4}), c.input({2, 4, 5})}));
       c.out(c.op1(OpKind::MatMul, {c.input({3, 4}), c.input({4})}));
       c.out(c.op1(OpKind::MatMul, {c.input({4}), c.input({4})}));
     }},
    {"linear/Gemm", [](GradCase& c) {
       for (int t = 0; t < 4; ++t) {
         bool ta = t & 1, tb = t & 2;
         Value* a = c.input(ta ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{3, 4});
         Value* b = c.input(tb ? std::vector<int64_t>{5, 4} : std::vector<int64_t>{4, 5});
         Value* bias = t == 0 ? c.input({5}) : t == 1 ? c.input({3, 1}) : t == 2 ? c.input({3, 5}) : nullptr;
         std::vector<Value*> ops{a, b};
         if (bias) ops.push_back(bias);
         c.out(c.op1(OpKind::Gemm, ops,
                     {{"transA", i(ta)}, {"transB", i(tb)}, {"alpha", Attribute::ofFloat(0.5f)}, {"beta", Attribute::ofFloat(2.0f)}}));
       }
     }},
    {"linear/Conv", [](GradCase& c) {
       c.out(c.op1(OpKind::Conv, {c.input({2, 4, 7, 6}), c.input({6, 2, 3, 3}), c.input({6})},
                   {{"strides", ints({2, 1})}, {"pads", ints({1, 0, 1, 2})}, {"dilations", ints({1, 2})}, {"group", i(2)}}));
     }},
    {"linear/ConvSameUpperAndDepthwise", [](GradCase& c) {
       c.out(c.op1(OpKind::Conv, {c.input({1, 3, 6, 5}), c.input({3, 1, 3, 2})},
                   {{"strides", ints({2, 2})}, {"auto_pad", Attribute::ofString("SAME_UPPER")}, {"group", i(3)}}));
     }},
    {"linear/DepthwiseKernelLargerThanInput", [](GradCase& c) {  // mobilenet_v2's last blocks at 32x32
       c.out(c.op1(OpKind::Conv, {c.input({2, 4, 2, 2}), c.input({4, 1, 3, 3})},
                   {{"pads", ints({1, 1, 1, 1})}, {"group", i(4)}}));
       c.out(c.op1(OpKind::Conv, {c.input({1, 3, 3, 3}), c.input({3, 1, 3, 3})},
                   {{"pads", ints({1, 1, 1, 1})}, {"strides", ints({2, 2})}, {"group", i(3)}}));
     }},
    {"linear/Conv1D", [](GradCase& c) {
       c.out(c.op1(OpKind::Conv, {c.input({2, 3, 9}), c.input({2, 3, 4}), c.input({2})}, {{"strides", ints({3})}}));
     }},
    {"linear/ConvTranspose", [](GradCase& c) {
       c.out(c.op1(OpKind::ConvTranspose, {c.input({2, 4, 3, 4}), c.input({4, 3, 3, 2}), c.input({6})},
                   {{"strides", ints({2, 3})}, {"pads", ints({1, 0, 0, 1})}, {"output_padding", ints({1, 2})}, {"group", i(2)}}));
     }},
    {"linear/ConvTransposeOutputShape", [](GradCase& c) {
       c.out(c.op1(OpKind::ConvTranspose, {c.input({1, 2, 3, 3}), c.input({2, 3, 3, 3})},
                   {{"strides", ints({2, 2})}, {"output_shape", ints({6, 7})}, {"dilations", ints({1, 2})}}));
     }},
};

const RegisterGradCases kPool{
    {"pool/MaxPool", [](GradCase& c) {
       c.out(c.op1(OpKind::MaxPool, {c.input({2, 3, 6, 7})}, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}));
       c.out(c.op1(OpKind::MaxPool, {c.input({1, 2, 7, 7})},
                   {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}, {"ceil_mode", i(1)}}));
       c.out(c.op1(OpKind::MaxPool, {c.input({1, 2, 8, 8})},
                   {{"kernel_shape", ints({2, 2})}, {"dilations", ints({2, 2})}, {"strides", ints({1, 1})}}));
     }},
    {"pool/AveragePool", [](GradCase& c) {
       for (int include = 0; include < 2; ++include)
         c.out(c.op1(OpKind::AveragePool, {c.input({2, 2, 7, 6})},
                     {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 0})},
                      {"count_include_pad", i(include)}, {"ceil_mode", i(1 - include)}}));
     }},
    {"pool/Global", [](GradCase& c) {
       c.out(c.op1(OpKind::GlobalAveragePool, {c.input({2, 3, 4, 5})}));
       c.out(c.op1(OpKind::GlobalMaxPool, {c.input({2, 3, 4, 5})}));
     }},
};

const RegisterGradCases kNorm{
    {"norm/BatchNormInference", [](GradCase& c) {
       c.out(c.op1(OpKind::BatchNormalization,
                   {c.input({2, 3, 4, 2}), c.input({3}), c.input({3}), c.input({3}), c.input({3}, 0.5, 2)},
                   {{"epsilon", Attribute::ofFloat(1e-3f)}}));
     }},
    {"norm/BatchNormTraining", [](GradCase& c) {
       std::vector<Value*> r = c.op(OpKind::BatchNormalization,
                                    {c.input({3, 2, 3, 2}), c.input({2}), c.input({2}), c.input({2}), c.input({2}, 0.5, 2)},
                                    {{"training_mode", i(1)}, {"momentum", Attribute::ofFloat(0.8f)}}, 3);
       for (Value* v : r) c.out(v);
     }},
    {"norm/BatchNormTrainingOp", [](GradCase& c) {  // dlc's op, with gradients into its statistics too
       std::vector<Value*> r = c.op(OpKind::BatchNormTraining, {c.input({3, 2, 3, 2}), c.input({2}), c.input({2})},
                                    {{"epsilon", Attribute::ofFloat(1e-3f)}}, 3);
       for (Value* v : r) c.out(v);
       c.out(c.op(OpKind::BatchNormTraining, {c.input({5, 4}), c.input({4}), c.input({4})}, {}, 3)[0]);
     }},
    {"norm/BatchNorm2D", [](GradCase& c) {
       c.out(c.op1(OpKind::BatchNormalization, {c.input({4, 3}), c.input({3}), c.input({3}), c.input({3}), c.input({3}, 0.5, 2)},
                   {{"training_mode", i(1)}}));
     }},
    {"norm/LayerNorm", [](GradCase& c) {
       c.out(c.op1(OpKind::LayerNormalization, {c.input({2, 3, 5}), c.input({5}), c.input({5})}));
       c.out(c.op1(OpKind::LayerNormalization, {c.input({2, 3, 4}), c.input({3, 4})},
                   {{"axis", i(1)}, {"epsilon", Attribute::ofFloat(1e-2f)}}));
     }},
    {"norm/RMSNorm", [](GradCase& c) {
       c.out(c.op1(OpKind::RMSNormalization, {c.input({2, 3, 5}), c.input({5})}));
       c.out(c.op1(OpKind::RMSNormalization, {c.input({2, 3, 4}), c.input({3, 4})}, {{"axis", i(1)}, {"epsilon", Attribute::ofFloat(1e-2f)}}));
     }},
    {"norm/InstanceNorm", [](GradCase& c) {
       c.out(c.op1(OpKind::InstanceNormalization, {c.input({2, 3, 4, 3}), c.input({3}), c.input({3})}));
     }},
    {"norm/Softmax", [](GradCase& c) {
       c.out(c.op1(OpKind::Softmax, {c.input({2, 3, 4}, -2, 2)}, {{"axis", i(1)}}));
       c.out(c.op1(OpKind::LogSoftmax, {c.input({2, 5}, -2, 2)}));
     }},
};

Tensor labels(std::vector<int64_t> shape, std::vector<int64_t> values) { return Tensor::fromVector(DType::I64, std::move(shape), values); }

const RegisterGradCases kLoss{
    {"loss/NllLoss", [](GradCase& c) {
       for (const char* red : {"mean", "sum", "none"}) {
         Value* t = c.addInput(labels({4}, {2, 0, 2, 1}));
         c.out(c.op1(OpKind::NegativeLogLikelihoodLoss, {c.input({4, 3}), t, c.fixed({3}, 0.5, 2)},
                     {{"reduction", Attribute::ofString(red)}}));
       }
       Value* t = c.addInput(labels({2, 3}, {1, -1, 0, 2, 1, -1}));
       c.out(c.op1(OpKind::NegativeLogLikelihoodLoss, {c.input({2, 3, 3}), t},
                   {{"ignore_index", i(-1)}}));
     }},
    {"loss/SoftmaxCrossEntropy", [](GradCase& c) {
       Value* t = c.addInput(labels({3}, {1, 0, 3}));
       std::vector<Value*> r = c.op(OpKind::SoftmaxCrossEntropyLoss, {c.input({3, 4}, -2, 2), t, c.fixed({4}, 0.5, 2)}, {}, 2);
       c.out(r[0]);
       c.out(r[1]);
     }},
};

// dlc's fused ops are differentiated through their unfused form.
const RegisterGradCases kFused{
    {"fused/FusedConv", [](GradCase& c) {
       c.out(c.op1(OpKind::FusedConv, {c.input({2, 3, 5, 5}), c.input({4, 3, 3, 3}), c.input({4}), c.input({2, 4, 3, 3})},
                   {{"activation", Attribute::ofString("Tanh")}}));
     }},
    {"fused/FusedMatMul", [](GradCase& c) {
       c.out(c.op1(OpKind::FusedMatMul, {c.input({4, 3}), c.input({5, 4}), c.input({5})},
                   {{"transA", i(1)}, {"transB", i(1)}, {"alpha", Attribute::ofFloat(0.5f)},
                    {"activation", Attribute::ofString("Sigmoid")}}));
     }},
    {"fused/FusedElementwise", [](GradCase& c) {
       auto body = std::make_shared<Region>();
       Type t = Type::tensor(DType::F64, Shape::of({2, 3}));
       Value* a = body->addArgument(t, "a");
       Value* b = body->addArgument(Type::tensor(DType::F64, Shape::of({3})), "b");
       Builder rb(*body);
       Value* m = rb.create1(OpKind::Mul, {a, b}).value();
       body->setOutputs({rb.create1(OpKind::Tanh, {m}).value()});
       c.out(c.op1(OpKind::FusedElementwise, {c.input({2, 3}), c.input({3})}, {{"body", Attribute::ofGraph(body)}}));
     }},
    {"fused/Attention", [](GradCase& c) {
       c.out(c.op1(OpKind::Attention, {c.input({2, 3, 4}), c.input({2, 5, 4}), c.input({2, 5, 6}), c.input({1, 1, 3, 5})},
                   {{"num_heads", i(2)}}));
     }},
};

TEST(AutodiffGrad, Linear) { checkGradFamily("linear"); }
TEST(AutodiffGrad, Fused) { checkGradFamily("fused"); }
TEST(AutodiffGrad, Pool) { checkGradFamily("pool"); }
TEST(AutodiffGrad, Norm) { checkGradFamily("norm"); }
TEST(AutodiffGrad, Loss) { checkGradFamily("loss"); }

}  // namespace
}  // namespace dlc::testing
