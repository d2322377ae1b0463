// fuse-qdq against the oracle: the reference interpreter running the unfused QDQ graph (float ops
// between DequantizeLinear and QuantizeLinear) and the fused one (QLinearConv, QLinearMatMul,
// integer data movement) agree within one output quantization step.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/reference/interpreter.h"
#include "ir/builder.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"

namespace dlc {
namespace {

Type tensorType(DType t, std::vector<int64_t> dims) {
  Type ty;
  ty.kind = Type::Kind::Tensor;
  ty.dtype = t;
  ty.shape.ranked = true;
  for (int64_t d : dims) ty.shape.dims.push_back(Dim::of(d));
  return ty;
}

class QdqGraph {
 public:
  QdqGraph() : b_(g_.body()) {}
  Graph& graph() { return g_; }
  Builder& b() { return b_; }

  Value* input(const std::string& name, std::vector<int64_t> dims) { return b_.addInput(name, tensorType(DType::F32, dims)); }

  // DQ(Q(v)) with per-tensor `scale` and zero point `zp` of `qtype`.
  Value* qdq(Value* v, double scale, double zp, DType qtype = DType::U8) {
    Value* s = b_.constant(Tensor::scalar(DType::F32, scale));
    Value* z = b_.constant(Tensor::scalar(qtype, zp));
    Value* q = check(b_.create1(OpKind::QuantizeLinear, {v, s, z}));
    return check(b_.create1(OpKind::DequantizeLinear, {q, s, z}));
  }

  // DQ of random int8 weights of `shape`, scaled per channel along `axis` (-1: per tensor).
  Value* weights(std::vector<int64_t> shape, int axis) {
    Tensor w(DType::I8, shape);
    std::uniform_int_distribution<int> q(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.setDouble(i, q(rng_));
    int64_t n = axis < 0 ? 1 : shape[static_cast<size_t>(axis)];
    Tensor s(DType::F32, axis < 0 ? std::vector<int64_t>{} : std::vector<int64_t>{n});
    std::uniform_real_distribution<float> scale(0.002f, 0.02f);
    for (int64_t c = 0; c < n; ++c) s.setDouble(c, scale(rng_));
    std::map<std::string, Attribute> attrs;
    if (axis >= 0) attrs["axis"] = Attribute::ofInt(axis);
    return check(b_.create1(OpKind::DequantizeLinear, {b_.constant(w), b_.constant(s)}, attrs));
  }
  Value* floats(std::vector<int64_t> shape, float lo, float hi) {
    Tensor t(DType::F32, shape);
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, d(rng_));
    return b_.constant(t);
  }
  Value* op(OpKind k, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {}) {
    return check(b_.create1(k, std::move(operands), std::move(attrs)));
  }
  // Marks `v`, quantized with (scale, zp), as an output; its step is the tolerance.
  void output(Value* v, double scale, double zp, DType qtype = DType::U8) {
    b_.addOutput(qdq(v, scale, zp, qtype));
    steps_.push_back(scale);
  }
  const std::vector<double>& steps() const { return steps_; }

 private:
  Value* check(Expected<Value*> v) {
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? *v : nullptr;
  }
  Graph g_;
  Builder b_;
  std::mt19937 rng_{7};
  std::vector<double> steps_;
};

std::vector<DataValue> randomInputs(const Graph& g, float lo, float hi) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<DataValue> inputs;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    std::vector<int64_t> shape;
    for (const Dim& dim : g.body().argument(i)->type().shape.dims) shape.push_back(dim.value);
    Tensor t(DType::F32, shape);
    for (int64_t k = 0; k < t.numel(); ++k) t.setDouble(k, d(rng));
    inputs.push_back(DataValue::ofTensor(t));
  }
  return inputs;
}

std::map<std::string, int> opCounts(const Graph& g) {
  std::map<std::string, int> n;
  walkOps(g.body(), [&](const Op* op) { ++n[op->name()]; });
  return n;
}

// Runs fuse-qdq + dce, checks that no float Conv/MatMul/Gemm is left, and that every output is
// within one quantization step of the unfused graph's (and mostly equal).
void checkFused(QdqGraph& q, const std::vector<std::string>& expect_ops) {
  Graph& g = q.graph();
  ASSERT_TRUE(verifyGraph(g).ok()) << printGraph(g);
  std::vector<DataValue> inputs = randomInputs(g, -2.0f, 2.0f);
  auto before = ref::Interpreter(g).run(inputs);
  ASSERT_TRUE(before.ok()) << before.status().message();
  passes::PassManager pm;
  ASSERT_TRUE(pm.add({"fuse-qdq", "dce"}).ok());
  ASSERT_TRUE(pm.run(g, passes::PassContext{}).ok());
  ASSERT_TRUE(verifyGraph(g).ok()) << printGraph(g);
  auto counts = opCounts(g);
  for (const char* gone : {"Conv", "MatMul", "Gemm", "Add"}) EXPECT_EQ(counts[gone], 0) << gone << "\n" << printGraph(g);
  walkOps(g.body(), [&](const Op* op) {
    if (op->kind() == OpKind::MaxPool || op->kind() == OpKind::Flatten || op->kind() == OpKind::Clip)
      EXPECT_TRUE(isInteger(op->result()->type().dtype)) << op->name() << " still runs in float\n" << printGraph(g);
  });
  for (const auto& name : expect_ops) EXPECT_GT(counts[name], 0) << name << "\n" << printGraph(g);
  auto after = ref::Interpreter(g).run(inputs);
  ASSERT_TRUE(after.ok()) << after.status().message() << "\n" << printGraph(g);
  ASSERT_EQ(before->size(), after->size());
  for (size_t i = 0; i < before->size(); ++i) {
    const Tensor& a = (*before)[i].tensor;
    const Tensor& b = (*after)[i].tensor;
    ASSERT_EQ(a.shape(), b.shape());
    double max_err = 0;
    int64_t differing = 0;
    for (int64_t k = 0; k < a.numel(); ++k) {
      double e = std::fabs(a.getDouble(k) - b.getDouble(k));
      max_err = std::max(max_err, e);
      differing += e > 0;
    }
    const double step = q.steps()[i];
    EXPECT_LE(max_err, step * 1.0001) << "output " << i;
    EXPECT_LE(differing, a.numel() / 10 + 1) << "output " << i << ": off by one step too often";
  }
}

TEST(FuseQdq, ConvReluPoolFlattenGemm) {
  QdqGraph q;
  Value* x = q.qdq(q.input("x", {2, 3, 8, 8}), 0.016, 128);
  Value* c = q.op(OpKind::Conv, {x, q.weights({4, 3, 3, 3}, 0), q.floats({4}, -0.5f, 0.5f)},
                  {{"pads", Attribute::ofInts({1, 1, 1, 1})}, {"strides", Attribute::ofInts({1, 1})}});
  Value* r = q.qdq(q.op(OpKind::Relu, {c}), 0.01, 0);
  Value* p = q.qdq(q.op(OpKind::MaxPool, {r}, {{"kernel_shape", Attribute::ofInts({2, 2})}, {"strides", Attribute::ofInts({2, 2})}}), 0.01, 0);
  Value* f = q.qdq(q.op(OpKind::Flatten, {p}), 0.01, 0);
  Value* y = q.op(OpKind::Gemm, {f, q.weights({5, 64}, 0), q.floats({5}, -0.3f, 0.3f)}, {{"transB", Attribute::ofInt(1)}});
  q.output(y, 0.02, 128);
  checkFused(q, {"QLinearConv", "MaxPool", "Flatten"});
}

TEST(FuseQdq, SignedActivationsClipAndGroups) {
  // s8 activations with zero point 0: Relu6 becomes an integer Clip; depthwise convolution.
  QdqGraph q;
  Value* x = q.qdq(q.input("x", {1, 4, 6, 6}), 0.02, 0, DType::I8);
  Value* c = q.op(OpKind::Conv, {x, q.weights({4, 1, 3, 3}, 0)}, {{"group", Attribute::ofInt(4)}});
  Value* clip = q.op(OpKind::Clip, {c, q.b().constant(Tensor::scalar(DType::F32, 0)), q.b().constant(Tensor::scalar(DType::F32, 0.6))});
  q.output(clip, 0.008, 0, DType::I8);
  checkFused(q, {"QLinearConv", "Clip"});
}

TEST(FuseQdq, MatMulPerColumnAndLinear) {
  QdqGraph q;
  Value* a = q.qdq(q.input("a", {2, 3, 16}), 0.016, 128);
  q.output(q.op(OpKind::MatMul, {a, q.weights({16, 8}, 1)}), 0.05, 128);
  Value* lin = q.op(OpKind::Add, {q.op(OpKind::MatMul, {a, q.weights({16, 6}, 1)}), q.floats({6}, -1.0f, 1.0f)});
  q.output(q.op(OpKind::Relu, {lin}), 0.04, 0);
  Value* g = q.op(OpKind::Gemm, {q.qdq(q.input("m", {5, 16}), 0.016, 128), q.weights({16, 7}, 1), q.floats({1, 7}, -1.0f, 1.0f)});
  q.output(g, 0.05, 128);
  checkFused(q, {"QLinearMatMul", "QLinearConv"});
}

TEST(FuseQdq, DeclinesWhatItCannotFuse) {
  // A per-channel activation scale, a Conv result with a second use, a MaxPool requantized to
  // another scale, Q(DQ) with different scales, and a Gemm with alpha != 1 all stay as they are.
  QdqGraph q;
  Value* x = q.qdq(q.input("x", {1, 2, 4, 4}), 0.016, 128);
  Value* c = q.op(OpKind::Conv, {x, q.weights({2, 2, 1, 1}, 0)});
  q.b().addOutput(c);
  q.b().addOutput(q.qdq(c, 0.01, 128));
  Value* p = q.op(OpKind::MaxPool, {x}, {{"kernel_shape", Attribute::ofInts({2, 2})}});
  q.b().addOutput(q.qdq(p, 0.02, 128));
  q.b().addOutput(q.qdq(x, 0.02, 128));
  Value* m = q.qdq(q.input("m", {3, 4}), 0.016, 128);
  q.b().addOutput(q.qdq(q.op(OpKind::Gemm, {m, q.weights({4, 2}, -1)}, {{"alpha", Attribute::ofFloat(0.5f)}}), 0.01, 128));
  std::string before = printGraph(q.graph());
  passes::PassManager pm;
  ASSERT_TRUE(pm.add({"fuse-qdq"}).ok());
  ASSERT_TRUE(pm.run(q.graph(), passes::PassContext{}).ok());
  EXPECT_EQ(printGraph(q.graph()), before);
}

}  // namespace
}  // namespace dlc
