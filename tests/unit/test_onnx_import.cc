// ONNX import: test-data models, unsupported-op reporting, malformed files, old-opset upgrades.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <random>

#include "tests/unit/onnx_test_util.h"

namespace dlc {
namespace {
using namespace onnx_test;
using onnx_import::importModelFile;

std::string tempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dlc_onnx_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(OnnxImport, AbsModel) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  auto g = importModelFile(kTestData + "/node/test_abs/model.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Region& body = (*g)->body();
  ASSERT_EQ(body.numArguments(), 1);
  EXPECT_EQ(body.argument(0)->name(), "x");
  EXPECT_EQ(body.argument(0)->type().toString(), "f32[3,4,5]");
  EXPECT_EQ(opNames(body), std::vector<std::string>{"Abs"});
  ASSERT_EQ(body.numOutputs(), 1);
  EXPECT_EQ(body.output(0)->name(), "y");
  EXPECT_EQ(body.output(0)->type().toString(), "f32[3,4,5]");
  EXPECT_EQ((*g)->opset_imports.at(""), 13);
  EXPECT_EQ((*g)->name, "test_abs");
}

TEST(OnnxImport, ConvWithPaddingAndTypes) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  auto g = importModelFile(kTestData + "/node/test_basic_conv_with_padding/model.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Region& body = (*g)->body();
  ASSERT_EQ(body.ops().size(), 1u);
  const Op& conv = *body.ops().front();
  EXPECT_EQ(conv.kind(), OpKind::Conv);
  EXPECT_EQ(conv.getInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(body.output(0)->type().toString(), "f32[1,1,5,5]");
}

TEST(OnnxImport, IfSubgraphsBecomeRegions) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  auto g = importModelFile(kTestData + "/node/test_if/model.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Op& op = *(*g)->body().ops().back();
  ASSERT_EQ(op.kind(), OpKind::If);
  auto regions = op.regions();
  ASSERT_EQ(regions.size(), 2u);
  for (Region* r : regions) {
    EXPECT_EQ(r->numArguments(), 0);
    EXPECT_EQ(r->numOutputs(), 1);
  }
  EXPECT_EQ(op.result(0)->type().dtype, DType::F32);
}

TEST(OnnxImport, LoopAndScanBodies) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  auto loop = importModelFile(kTestData + "/node/test_loop11/model.onnx");
  ASSERT_TRUE(loop.ok()) << loop.status().message();
  const Op* l = nullptr;
  for (const auto& op : (*loop)->body().ops())
    if (op->kind() == OpKind::Loop) l = op.get();
  ASSERT_NE(l, nullptr);
  Region* body = l->regions().at(0);
  EXPECT_EQ(body->numArguments(), 3);
  EXPECT_EQ(body->argument(0)->type().dtype, DType::I64);

  auto scan = importModelFile(kTestData + "/node/test_scan9_sum/model.onnx");
  ASSERT_TRUE(scan.ok()) << scan.status().message();
  EXPECT_EQ((*scan)->body().ops().back()->kind(), OpKind::Scan);
}

// Names a subgraph uses but does not define resolve to the enclosing graph's values.
TEST(OnnxImport, SubgraphsCaptureOuterValues) {
  onnx::ModelProto m = makeModel(13);
  auto* g = m.mutable_graph();
  addInput(g, "cond", onnx::TensorProto::BOOL, {});
  addInput(g, "x", onnx::TensorProto::FLOAT, {2});
  addNode(g, "Neg", {"x"}, {"nx"}, "neg");
  auto* node = addNode(g, "If", {"cond"}, {"y"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = node->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* sub = a->mutable_g();
    sub->set_name(branch);
    std::string out = std::string(branch) + "_out";
    addNode(sub, branch[0] == 't' ? "Relu" : "Abs", {"nx"}, {out});
    addOutput(sub, out, onnx::TensorProto::FLOAT, {2});
  }
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2});
  auto r = importProto(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Region& body = (*r)->body();
  const Op& if_op = *body.ops().back();
  ASSERT_EQ(if_op.kind(), OpKind::If);
  Value* nx = body.ops().front()->result(0);
  for (Region* branch : if_op.regions()) {
    ASSERT_EQ(branch->ops().size(), 1u);
    EXPECT_EQ(branch->ops().front()->operand(0), nx);  // the outer value itself
    EXPECT_EQ(branch->output(0)->type().toString(), "f32[2]");
  }
  EXPECT_EQ(body.output(0)->type().toString(), "f32[2]");
}

TEST(OnnxImport, SequenceAndOptionalTypes) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  auto g = importModelFile(kTestData + "/node/test_sequence_insert_at_back/model.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->body().argument(0)->type().toString(), "seq<i64[*]>");
  auto o = importModelFile(kTestData + "/node/test_optional_get_element_sequence/model.onnx");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE((*o)->body().argument(0)->type().isOptional());
}

// Every node model of a supported opset imports (the conformance suite runs them).
TEST(OnnxImport, AllNodeTestModelsImport) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  std::vector<std::string> failures;
  int imported = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTestData + "/node")) {
    std::string path = entry.path().string() + "/model.onnx";
    if (!std::filesystem::exists(path)) continue;
    auto g = importModelFile(path);
    if (g.ok()) {
      ++imported;
    } else if (g.status().message().find("unsupported op") == std::string::npos) {
      failures.push_back(g.status().message());
    }
  }
  std::cout << "imported " << imported << " node test models\n";
  EXPECT_GT(imported, 800);
  for (const auto& f : failures) ADD_FAILURE() << f;
}

TEST(OnnxImport, AllUnsupportedOpsInOneError) {
  onnx::ModelProto m = makeModel(13);
  auto* custom = m.add_opset_import();
  custom->set_domain("com.x");
  custom->set_version(1);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2});
  addNode(g, "FooOp", {"x"}, {"a"}, "n1")->set_domain("com.x");
  addNode(g, "Relu", {"a"}, {"b"}, "ok");
  addNode(g, "BarOp", {"b"}, {"y"});
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2});
  auto r = importProto(m);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("test.onnx: 2 unsupported ops: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("FooOp (domain com.x, opset 1, node 'n1')"), std::string::npos) << msg;
  EXPECT_NE(msg.find("BarOp (domain ai.onnx, opset 13, node 'BarOp_2')"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(OnnxImport, OpsetOutOfRangeIsUnsupported) {
  onnx::ModelProto m = makeModel(18);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2});
  addNode(g, "Relu", {"x"}, {"y"}, "r");
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2});
  auto r = importProto(m);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1 unsupported op: Relu (domain ai.onnx, opset 18, node 'r')"),
            std::string::npos)
      << r.status().message();
}

TEST(OnnxImport, MalformedFilesGiveOneLineErrors) {
  std::string dir = tempDir("bad");
  auto expectOneLine = [](const std::string& path, const std::string& what) {
    auto r = importModelFile(path);
    ASSERT_FALSE(r.ok()) << path;
    const std::string& msg = r.status().message();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  };
  expectOneLine(dir + "/missing.onnx", "not found");
  writeFile(dir + "/empty.onnx", "");
  expectOneLine(dir + "/empty.onnx", "empty");
  writeFile(dir + "/garbage.onnx", std::string("\xff\xfe\x13garbage\x00\x01", 12));
  expectOneLine(dir + "/garbage.onnx", "not a valid ONNX model");
  if (haveTestData()) {
    std::string good = readAll(kTestData + "/node/test_basic_conv_with_padding/model.onnx");
    writeFile(dir + "/trunc.onnx", good.substr(0, good.size() / 2));
    expectOneLine(dir + "/trunc.onnx", "not a valid ONNX model");
  }
  std::filesystem::remove_all(dir);
}

// Random byte strings and mutated models must give errors or graphs, never crash.
TEST(OnnxImport, NeverCrashesOnMutatedBytes) {
  std::string base;
  if (haveTestData()) base = readAll(kTestData + "/node/test_if/model.onnx");
  if (base.empty()) base = makeModel(13).SerializeAsString();
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    std::string bytes = base;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (i % 3 == 0) bytes.resize(rng() % bytes.size());
    auto r = onnx_import::importModelBytes(bytes, "fuzz.onnx", "");
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
    }
  }
}

TEST(OnnxImport, MissingInputIsAnError) {
  onnx::ModelProto m = makeModel(13);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2});
  addNode(g, "Relu", {"nope"}, {"y"}, "r");
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2});
  auto r = importProto(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("test.onnx: ", 0), 0u) << r.status().message();
}

TEST(OnnxImport, InitializerInputsAreConstants) {
  onnx::ModelProto m = makeModel(13);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2});
  addInput(g, "w", onnx::TensorProto::FLOAT, {2});  // IR < 4 style: initializers listed as inputs
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_float_data(1.5f);
  w->add_float_data(-2.0f);
  addNode(g, "Add", {"x", "w"}, {"y"});
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2});
  auto r = importProto(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Region& body = (*r)->body();
  EXPECT_EQ(body.numArguments(), 1);
  EXPECT_EQ(opNames(body), (std::vector<std::string>{"Constant", "Add"}));
  const Op& c = *body.ops().front();
  EXPECT_EQ(c.result(0)->name(), "w");
  EXPECT_FLOAT_EQ(c.attr("value")->t.data<float>()[1], -2.0f);
  EXPECT_EQ(body.ops().back()->location(), "Add_0");
}

TEST(OnnxImport, UnknownAttributeNamesNodeAndAttr) {
  onnx::ModelProto m = makeModel(13);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2});
  addIntAttr(addNode(g, "Relu", {"x"}, {"y"}, "relu1"), "bogus", 1);
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2});
  // The ONNX checker already rejects this; either way the message names the node and attribute.
  auto r = importProto(m);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bogus"), std::string::npos) << r.status().message();
}

TEST(OnnxImport, Squeeze11AxesAttributeBecomesInput) {
  onnx::ModelProto m = makeModel(11);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {1, 3, 1, 5});
  addIntsAttr(addNode(g, "Squeeze", {"x"}, {"y"}, "sq"), "axes", {0, 2});
  addOutput(g, "y", onnx::TensorProto::FLOAT, {3, 5});
  auto r = importProto(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Region& body = (*r)->body();
  EXPECT_EQ(opNames(body), (std::vector<std::string>{"Constant", "Squeeze"}));
  const Op& sq = *body.ops().back();
  ASSERT_EQ(sq.numOperands(), 2);
  EXPECT_TRUE(sq.attrs().empty());
  const Op* axes = sq.operand(1)->definingOp();
  ASSERT_NE(axes, nullptr);
  EXPECT_EQ(axes->attr("value")->t.toInt64Vector(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(sq.result(0)->type().toString(), "f32[3,5]");
  EXPECT_EQ(sq.result(0)->name(), "y");
}

TEST(OnnxImport, Softmax11Rank3IsLoweredThrough2D) {
  onnx::ModelProto m = makeModel(11);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2, 3, 4});
  addIntAttr(addNode(g, "Softmax", {"x"}, {"y"}, "sm"), "axis", 1);
  addOutput(g, "y", onnx::TensorProto::FLOAT, {2, 3, 4});
  auto r = importProto(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Region& body = (*r)->body();
  EXPECT_EQ(opNames(body), (std::vector<std::string>{"Shape", "Flatten", "Softmax", "Reshape"}));
  auto it = body.ops().begin();
  ++it;
  EXPECT_EQ((*it)->getInt("axis"), 1);  // Flatten at the old axis
  ++it;
  EXPECT_EQ((*it)->getInt("axis"), 1);  // Softmax over the flattened tail
  EXPECT_EQ(body.output(0)->name(), "y");
  EXPECT_EQ(body.output(0)->type().toString(), "f32[2,3,4]");

  // Axis on the last dim needs no lowering.
  onnx::ModelProto m2 = makeModel(11);
  auto* g2 = m2.mutable_graph();
  addInput(g2, "x", onnx::TensorProto::FLOAT, {2, 3, 4});
  addIntAttr(addNode(g2, "Softmax", {"x"}, {"y"}, "sm"), "axis", 2);
  addOutput(g2, "y", onnx::TensorProto::FLOAT, {2, 3, 4});
  auto r2 = importProto(m2);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_EQ(opNames((*r2)->body()), std::vector<std::string>{"Softmax"});
}

TEST(OnnxImport, OldOpsetAttributeUpgrades) {
  // Clip-6 min/max attributes, Pad-2 pads, TopK-1 k, in one opset-9 model... Clip-6 and Pad-2 are
  // the versions opset 9 resolves to.
  onnx::ModelProto m = makeModel(9);
  auto* g = m.mutable_graph();
  addInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  auto* clip = addNode(g, "Clip", {"x"}, {"c"}, "clip");
  auto* mx = clip->add_attribute();
  mx->set_name("max");
  mx->set_type(onnx::AttributeProto::FLOAT);
  mx->set_f(6.0f);
  addIntsAttr(addNode(g, "Pad", {"c"}, {"p"}, "pad"), "pads", {0, 1, 0, 1});
  addIntAttr(addNode(g, "TopK", {"p"}, {"v", "i"}, "topk"), "k", 2);
  addOutput(g, "v", onnx::TensorProto::FLOAT, {2, 2});
  addOutput(g, "i", onnx::TensorProto::INT64, {2, 2});
  auto r = importProto(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Op* clip_op = nullptr;
  for (const auto& op : (*r)->body().ops())
    if (op->kind() == OpKind::Clip) clip_op = op.get();
  ASSERT_NE(clip_op, nullptr);
  ASSERT_EQ(clip_op->numOperands(), 3);
  EXPECT_EQ(clip_op->operand(1), nullptr);  // no min
  EXPECT_FLOAT_EQ(clip_op->operand(2)->definingOp()->attr("value")->t.data<float>()[0], 6.0f);
}

}  // namespace
}  // namespace dlc
