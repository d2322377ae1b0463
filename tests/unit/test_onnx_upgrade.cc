// ONNX import of pre-opset-7 forms and Scan-8 (upgrade_legacy.cc), run on the reference backend
// against hand-computed values, and the bf16-as-u16 test-data reading.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "backends/reference/interpreter.h"
#include "tests/unit/onnx_test_util.h"

namespace dlc {
namespace {
using namespace onnx_test;

constexpr int kF32 = onnx::TensorProto::FLOAT;

// Runs an imported model on f32 inputs and returns its outputs as flat f32 vectors.
std::vector<std::vector<float>> runF32(const onnx::ModelProto& m, const std::vector<Tensor>& feeds,
                                       std::vector<std::vector<int64_t>>* shapes = nullptr) {
  auto g = importProto(m);
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  std::vector<ref::RtValue> in;
  for (const auto& t : feeds) in.push_back(ref::RtValue::ofTensor(t));
  auto outs = ref::Interpreter(**g).run(in);
  EXPECT_TRUE(outs.ok()) << outs.status().message();
  if (!outs.ok()) return {};
  std::vector<std::vector<float>> result;
  for (const auto& v : outs.value()) {
    const Tensor& t = v.tensor;
    result.emplace_back(t.data<float>(), t.data<float>() + t.numel());
    if (shapes) shapes->push_back(t.shape());
  }
  return result;
}

Tensor f32(std::vector<int64_t> shape, std::vector<float> v) { return Tensor::fromVector<float>(DType::F32, shape, v); }

// A one-node model `op(a, b) -> y` of opset `opset` with f32 inputs of the given shapes.
onnx::ModelProto binaryModel(int opset, const std::string& op, const std::vector<int64_t>& a,
                             const std::vector<int64_t>& b, const std::vector<int64_t>& y) {
  onnx::ModelProto m = makeModel(opset);
  m.set_ir_version(3);
  auto* g = m.mutable_graph();
  addInput(g, "a", kF32, a);
  addInput(g, "b", kF32, b);
  addOutput(g, "y", kF32, y);
  addNode(g, op, {"a", "b"}, {"y"}, "n");
  return m;
}

TEST(OnnxUpgrade, Add6BroadcastWithAxisAlignsBAtAxis) {
  // A [2,3,2] + B [3] with axis=1: y[i,j,k] = a[i,j,k] + b[j] (numpy alone would align B with k).
  onnx::ModelProto m = binaryModel(6, "Add", {2, 3, 2}, {3}, {2, 3, 2});
  addIntAttr(m.mutable_graph()->mutable_node(0), "broadcast", 1);
  addIntAttr(m.mutable_graph()->mutable_node(0), "axis", 1);
  std::vector<float> a(12, 0.0f);
  for (int i = 0; i < 12; ++i) a[static_cast<size_t>(i)] = static_cast<float>(i);
  auto out = runF32(m, {f32({2, 3, 2}, a), f32({3}, {100, 200, 300})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (std::vector<float>{100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311}));
}

TEST(OnnxUpgrade, Sub6BroadcastWithoutAxisIsSuffixAligned) {
  onnx::ModelProto m = binaryModel(6, "Sub", {2, 2}, {2}, {2, 2});
  addIntAttr(m.mutable_graph()->mutable_node(0), "broadcast", 1);
  auto out = runF32(m, {f32({2, 2}, {10, 20, 30, 40}), f32({2}, {1, 2})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (std::vector<float>{9, 18, 29, 38}));
}

TEST(OnnxUpgrade, Mul1DropsConsumedInputs) {
  onnx::ModelProto m = binaryModel(1, "Mul", {2}, {2}, {2});
  addIntsAttr(m.mutable_graph()->mutable_node(0), "consumed_inputs", {0, 0});
  auto out = runF32(m, {f32({2}, {2, 3}), f32({2}, {4, 5})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (std::vector<float>{8, 15}));
}

TEST(OnnxUpgrade, Add6BadBroadcastsAreErrors) {
  // Without broadcast=1 the shapes must be equal.
  auto g = importProto(binaryModel(6, "Add", {2, 3}, {3}, {2, 3}));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("attribute 'broadcast' is not set"), std::string::npos) << g.status().message();
  // axis=1 leaves no room for a rank-2 B in a rank-2 A.
  onnx::ModelProto m = binaryModel(6, "Add", {2, 3}, {2, 3}, {2, 3});
  addIntAttr(m.mutable_graph()->mutable_node(0), "broadcast", 1);
  addIntAttr(m.mutable_graph()->mutable_node(0), "axis", 1);
  g = importProto(m);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'n' (Add-6): attribute 'axis' = 1 does not fit"), std::string::npos)
      << g.status().message();
}

TEST(OnnxUpgrade, PRelu6SlopeIsPerChannel) {
  // x [1,2,2], slope [2]: channel c (dim 1) uses slope[c], not the last dim's index.
  onnx::ModelProto m = binaryModel(6, "PRelu", {1, 2, 2}, {2}, {1, 2, 2});
  auto out = runF32(m, {f32({1, 2, 2}, {-1, 1, -1, 1}), f32({2}, {0.5f, 0.25f})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (std::vector<float>{-0.5f, 1, -0.25f, 1}));
}

TEST(OnnxUpgrade, Gemm6DropsBroadcast) {
  onnx::ModelProto m = makeModel(6);
  m.set_ir_version(3);
  auto* g = m.mutable_graph();
  addInput(g, "a", kF32, {2, 2});
  addInput(g, "b", kF32, {2, 2});
  addInput(g, "c", kF32, {2});
  addOutput(g, "y", kF32, {2, 2});
  addIntAttr(addNode(g, "Gemm", {"a", "b", "c"}, {"y"}), "broadcast", 1);
  auto out = runF32(m, {f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {1, 0, 0, 1}), f32({2}, {10, 20})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (std::vector<float>{11, 22, 13, 24}));
}

onnx::ModelProto batchNormModel(int64_t is_test) {
  onnx::ModelProto m = makeModel(6);
  m.set_ir_version(3);
  auto* g = m.mutable_graph();
  addInput(g, "x", kF32, {2, 1});
  for (const char* p : {"scale", "bias", "mean", "var"}) addInput(g, p, kF32, {1});
  addOutput(g, "y", kF32, {2, 1});
  auto* n = addNode(g, "BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"});
  addIntAttr(n, "is_test", is_test);
  return m;
}

TEST(OnnxUpgrade, BatchNorm6IsTestSelectsTheStatistics) {
  std::vector<Tensor> feeds{f32({2, 1}, {1, 3}), f32({1}, {1}), f32({1}, {0}), f32({1}, {1}), f32({1}, {4})};
  // is_test=1: running statistics, (x - 1) / sqrt(4 + eps).
  auto out = runF32(batchNormModel(1), feeds);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0][0], 0.0f, 1e-5f);
  EXPECT_NEAR(out[0][1], 1.0f, 1e-5f);
  // is_test=0 is training mode: batch statistics (mean 2, variance 1).
  out = runF32(batchNormModel(0), feeds);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0][0], -1.0f, 1e-4f);
  EXPECT_NEAR(out[0][1], 1.0f, 1e-4f);
}

// Scan-8 summing a [batch, seq, 2] input over seq, per batch item, with a running-sum scan output.
onnx::ModelProto scan8Model(bool with_sequence_lens) {
  onnx::ModelProto m = makeModel(8);
  m.set_ir_version(3);
  auto* g = m.mutable_graph();
  addInput(g, "init", kF32, {2, 2});
  addInput(g, "x", kF32, {2, 3, 2});
  if (with_sequence_lens) addInput(g, "lens", onnx::TensorProto::INT32, {2});
  addOutput(g, "sum", kF32, {2, 2});
  addOutput(g, "partial", kF32, {2, 3, 2});
  auto* n = addNode(g, "Scan", {with_sequence_lens ? "lens" : "", "init", "x"}, {"sum", "partial"}, "scan");
  addIntAttr(n, "num_scan_inputs", 1);
  addIntsAttr(n, "directions", {1});  // reverse: partial sums from the end
  auto* body_attr = n->add_attribute();
  body_attr->set_name("body");
  body_attr->set_type(onnx::AttributeProto::GRAPH);
  auto* body = body_attr->mutable_g();
  body->set_name("body");
  addInput(body, "s_in", kF32, {2});
  addInput(body, "x_t", kF32, {2});
  addOutput(body, "s_out", kF32, {2});
  addOutput(body, "p", kF32, {2});
  addNode(body, "Add", {"s_in", "x_t"}, {"s_out"});
  addNode(body, "Identity", {"s_out"}, {"p"});
  return m;
}

TEST(OnnxUpgrade, Scan8RunsEachBatchItem) {
  std::vector<std::vector<int64_t>> shapes;
  auto out = runF32(scan8Model(false),
                    {f32({2, 2}, {0, 0, 100, 100}), f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60})},
                    &shapes);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (std::vector<float>{9, 12, 190, 220}));
  EXPECT_EQ(shapes[1], (std::vector<int64_t>{2, 3, 2}));
  // Reverse direction: iteration order is t = 2, 1, 0 and the scan output follows it.
  EXPECT_EQ(out[1], (std::vector<float>{5, 6, 8, 10, 9, 12, 150, 160, 180, 200, 190, 220}));
}

TEST(OnnxUpgrade, Scan8SequenceLensIsAClearError) {
  auto g = importProto(scan8Model(true));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'scan' (Scan-8): input 'sequence_lens' is not supported"),
            std::string::npos)
      << g.status().message();
}

TEST(OnnxUpgrade, Bf16TestDataStoredAsU16IsReinterpreted) {
  // ONNX 1.12 wrote bf16 test tensors as UINT16 bit patterns; 0x3FC0 is bf16 1.5.
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::UINT16);
  t.add_dims(2);
  t.add_int32_data(0x3FC0);
  t.add_int32_data(0xC000);
  std::string path = (std::filesystem::temp_directory_path() / ("dlc_bf16_" + std::to_string(::getpid()) + ".pb")).string();
  {
    std::ofstream out(path, std::ios::binary);
    out << t.SerializeAsString();
  }
  Type bf16 = Type::tensor(DType::BF16, Shape::of({2}));
  auto v = onnx_import::readValueFile(path, &bf16);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->tensor.dtype(), DType::BF16);
  EXPECT_EQ(v->tensor.getDouble(0), 1.5);
  EXPECT_EQ(v->tensor.getDouble(1), -2.0);
  // Any other mismatch is still an error.
  Type f32t = Type::tensor(DType::F32, Shape::of({2}));
  auto bad = onnx_import::readValueFile(path, &f32t);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("holds u16 data, expected f32"), std::string::npos) << bad.status().message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace dlc
