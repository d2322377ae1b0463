// Numerics of fold-batchnorm + fuse-epilogue + dce: op counts shrink as expected and reference
// outputs before and after agree to 1e-5 of max|output|, on a built residual block and small_cnn.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include "backends/reference/interpreter.h"
#include "frontend/builder/model.h"
#include "frontend/onnx/importer.h"
#include "passes/pass_manager.h"

namespace dlc {
namespace {

using builder::Model;
using builder::Var;

std::map<std::string, int> opCounts(const Graph& g) {
  std::map<std::string, int> counts;
  walkOps(g.body(), [&](const Op* op) {
    if (op->kind() != OpKind::Constant) ++counts[op->name()];
  });
  return counts;
}

int total(const std::map<std::string, int>& counts) {
  int n = 0;
  for (const auto& [k, v] : counts) n += v;
  return n;
}

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// Inference BN with random statistics (the builder's BatchNorm2d starts at the identity).
Var batchNorm(Model& m, Var x, int64_t c, std::mt19937& rng) {
  return m.op1(OpKind::BatchNormalization,
               {x, m.constant(randomTensor({c}, rng, 0.5f, 1.5f)), m.constant(randomTensor({c}, rng, -0.5f, 0.5f)),
                m.constant(randomTensor({c}, rng, -0.5f, 0.5f)), m.constant(randomTensor({c}, rng, 0.5f, 2.0f))});
}

// A ResNet basic block and a classifier head:
//   relu(bn(conv(relu(bn(conv(x))))) + x) -> global pool -> flatten -> linear -> bn -> sigmoid·x
std::unique_ptr<Graph> residualBlock() {
  std::mt19937 rng(7);
  Model m("block", 3);
  Var x = m.input("x", DType::F32, {Dim::of(2), Dim::of(4), Dim::of(6), Dim::of(6)});
  builder::Conv2d conv1(m, "conv1", 4, 4, 3, 1, 1, 1, 1, /*bias=*/false);
  builder::Conv2d conv2(m, "conv2", 4, 4, 3, 1, 1, 1, 1, /*bias=*/true);
  Var h = builder::relu(batchNorm(m, conv1(x), 4, rng));
  h = builder::relu(builder::add(batchNorm(m, conv2(h), 4, rng), x));
  h = builder::flatten(builder::globalAvgPool(h));
  builder::Linear fc(m, "fc", 4, 3);
  Var z = batchNorm(m, fc(h), 3, rng);
  m.output(builder::mul(z, builder::sigmoid(z)), "y");
  auto g = m.finish();
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(*g) : nullptr;
}

Expected<std::vector<Tensor>> run(const Graph& g, const std::vector<Tensor>& inputs) {
  std::vector<ref::RtValue> feeds;
  for (const Tensor& t : inputs) feeds.push_back(ref::RtValue::ofTensor(t));
  DLC_ASSIGN_OR_RETURN(auto outs, ref::Interpreter(g).run(feeds));
  std::vector<Tensor> r;
  for (auto& o : outs) r.push_back(o.tensor);
  return r;
}

// Random inputs for every graph input; dims that are not static (a batch dim) get size 2.
std::vector<Tensor> randomInputs(const Graph& g) {
  std::mt19937 rng(11);
  std::vector<Tensor> in;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    std::vector<int64_t> shape = g.body().argument(i)->type().shape.staticSizes();
    for (int64_t& d : shape)
      if (d < 0) d = 2;
    in.push_back(randomTensor(shape, rng, -1.0f, 1.0f));
  }
  return in;
}

// Runs the passes on a fresh copy (from `make`) and compares outputs with the untouched graph's.
void checkFusion(const std::function<std::unique_ptr<Graph>()>& make, std::map<std::string, int>* before,
                 std::map<std::string, int>* after) {
  std::unique_ptr<Graph> ref_graph = make(), opt = make();
  ASSERT_TRUE(ref_graph && opt);
  *before = opCounts(*opt);
  passes::PassManager pm;
  ASSERT_TRUE(pm.add({"fold-batchnorm", "fuse-epilogue", "dce"}).ok());
  Status s = pm.run(*opt, passes::PassContext{});
  ASSERT_TRUE(s.ok()) << s.message();
  *after = opCounts(*opt);
  std::vector<Tensor> in = randomInputs(*ref_graph);
  auto want = run(*ref_graph, in);
  auto got = run(*opt, in);
  ASSERT_TRUE(want.ok()) << want.status().message();
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(want->size(), got->size());
  for (size_t o = 0; o < want->size(); ++o) {
    const Tensor &w = (*want)[o], &g = (*got)[o];
    ASSERT_EQ(w.shape(), g.shape());
    double max_abs = 0, max_err = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      max_abs = std::max(max_abs, std::fabs(w.getDouble(i)));
      max_err = std::max(max_err, std::fabs(w.getDouble(i) - g.getDouble(i)));
    }
    EXPECT_LE(max_err, 1e-5 * max_abs) << "output " << o << ": max error " << max_err << ", max |y| " << max_abs;
  }
}

TEST(FusionNumerics, ResidualBlock) {
  std::map<std::string, int> before, after;
  checkFusion(residualBlock, &before, &after);
  EXPECT_EQ(before["BatchNormalization"], 3);
  // 2 Conv, 3 BN, 2 Relu, Add (residual), MatMul + Add (Linear), Sigmoid + Mul, pool, flatten.
  EXPECT_EQ(total(before), 14);
  // conv-bn-relu; conv-bn-add-relu; matmul-add-bn-silu; pool; flatten.
  EXPECT_EQ(after["FusedConv"], 2);
  EXPECT_EQ(after["FusedMatMul"], 1);
  EXPECT_EQ(total(after), 5) << "left: " << [&] {
    std::string s;
    for (const auto& [k, v] : after) s += k + "=" + std::to_string(v) + " ";
    return s;
  }();
}

TEST(FusionNumerics, SmallCnn) {
  const std::string path = std::string(DLC_SOURCE_DIR) + "/examples/models/small_cnn.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  auto make = [&]() -> std::unique_ptr<Graph> {
    auto g = onnx_import::importModelFile(path);
    EXPECT_TRUE(g.ok()) << g.status().message();
    return g.ok() ? std::move(*g) : nullptr;
  };
  std::map<std::string, int> before, after;
  checkFusion(make, &before, &after);
  EXPECT_EQ(after.count("Conv"), 0u);
  EXPECT_EQ(after.count("BatchNormalization"), 0u);
  EXPECT_LT(total(after), total(before));
  EXPECT_EQ(after["FusedConv"], before["Conv"]);
}

}  // namespace
}  // namespace dlc
