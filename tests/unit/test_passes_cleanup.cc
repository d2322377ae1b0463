// The cleanup passes (canonicalize, constant-fold, cse, algebraic-simplify, transpose-reshape,
// specialize-shapes) keep numerics: reference-interpreter outputs before and after agree.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/reference/interpreter.h"
#include "frontend/onnx/importer.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"

namespace dlc {
namespace {

const std::vector<std::string> kCleanup = {"canonicalize",       "constant-fold",     "cse",
                                           "algebraic-simplify", "transpose-reshape", "canonicalize",
                                           "constant-fold",      "dce"};

passes::PassContext refContext() {
  passes::PassContext ctx;
  ctx.evaluate = [](const Op& op, const std::vector<const Tensor*>& in) { return ref::evaluateOp(op, in); };
  return ctx;
}

// Deterministic f32 inputs for every graph input, with `dims` for the symbolic/unknown dims.
std::vector<DataValue> makeInputs(const Graph& g, int64_t dynamic_dim) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<DataValue> inputs;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    const Type& t = g.body().argument(i)->type();
    std::vector<int64_t> shape;
    for (const Dim& d : t.shape.dims) shape.push_back(d.isStatic() ? d.value : dynamic_dim);
    Tensor x(DType::F32, shape);
    for (int64_t k = 0; k < x.numel(); ++k) x.data<float>()[k] = dist(rng);
    inputs.push_back(DataValue::ofTensor(x));
  }
  return inputs;
}

void expectClose(const std::vector<DataValue>& before, const std::vector<DataValue>& after) {
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    const Tensor& a = before[i].tensor;
    const Tensor& b = after[i].tensor;
    ASSERT_EQ(a.dtype(), b.dtype()) << "output " << i;
    ASSERT_EQ(a.shape(), b.shape()) << "output " << i;
    double max_abs = 0, max_err = 0;
    for (int64_t k = 0; k < a.numel(); ++k) {
      max_abs = std::max(max_abs, std::abs(a.getDouble(k)));
      max_err = std::max(max_err, std::abs(a.getDouble(k) - b.getDouble(k)));
    }
    EXPECT_LE(max_err, 1e-5 * std::max(1.0, max_abs)) << "output " << i;
  }
}

// Runs `passes` on `g` and checks the outputs on the same inputs are unchanged.
void checkNumericsPreserved(Graph& g, const std::vector<std::string>& passes, const passes::PassContext& ctx,
                            int64_t dynamic_dim = 2) {
  std::vector<DataValue> inputs = makeInputs(g, dynamic_dim);
  auto before = ref::Interpreter(g).run(inputs);
  ASSERT_TRUE(before.ok()) << before.status().message();
  passes::PassManager pm;
  ASSERT_TRUE(pm.add(passes).ok());
  Status s = pm.run(g, ctx);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(verifyGraph(g).ok());
  auto after = ref::Interpreter(g).run(inputs);
  ASSERT_TRUE(after.ok()) << after.status().message() << "\n" << printGraph(g);
  expectClose(*before, *after);
}

int countOps(const Graph& g) {
  int n = 0;
  walkOps(g.body(), [&](const Op*) { ++n; });
  return n;
}

TEST(CleanupPasses, SmallCnnNumericsUnchanged) {
  auto g = onnx_import::importModelFile(std::string(DLC_SOURCE_DIR) + "/examples/models/small_cnn.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  checkNumericsPreserved(**g, kCleanup, refContext());
}

TEST(CleanupPasses, SmallCnnSpecializedNumericsUnchanged) {
  auto g = onnx_import::importModelFile(std::string(DLC_SOURCE_DIR) + "/examples/models/small_cnn.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  Graph& graph = **g;
  ASSERT_GE(graph.body().numArguments(), 1);
  Value* in = graph.body().argument(0);
  ASSERT_TRUE(in->type().shape.ranked);
  std::vector<int64_t> dims;
  for (const Dim& d : in->type().shape.dims) dims.push_back(d.isStatic() ? d.value : 3);
  passes::PassContext ctx = refContext();
  ctx.input_shapes[in->name()] = dims;
  std::vector<std::string> names = {"specialize-shapes"};
  names.insert(names.end(), kCleanup.begin(), kCleanup.end());
  checkNumericsPreserved(graph, names, ctx, 3);
  EXPECT_EQ(graph.body().argument(0)->type().shape, Shape::of(dims));
  for (Value* out : graph.body().outputs()) EXPECT_TRUE(out->type().shape.isStatic()) << out->type().toString();
}

// Every pattern of the cleanup passes fires on this graph; the reference interpreter must give the
// same outputs before and after.
constexpr const char* kPatterns = R"(graph @main opsets {"" = 17} (%x: f32[2,3,4], %y: f32[3,4]) {
  %i = Identity(%x) : f32[2,3,4]
  %c = Cast(%i) {to = 1} : f32[2,3,4]
  %zero = Constant() {value_float = 0.0} : f32[]
  %one = Constant() {value_floats = [1.0, 1.0, 1.0, 1.0]} : f32[4]
  %two = Constant() {value_float = 2.0} : f32[]
  %a = Add(%c, %zero) : f32[2,3,4]
  %m = Mul(%one, %a) : f32[2,3,4]
  %p = Pow(%m, %two) : f32[2,3,4]
  %n1 = Neg(%p) : f32[2,3,4]
  %n2 = Neg(%n1) : f32[2,3,4]
  %t1 = Transpose(%n2) {perm = [1, 2, 0]} : f32[3,4,2]
  %e = Exp(%t1) : f32[3,4,2]
  %t2 = Transpose(%e) {perm = [2, 0, 1]} : f32[2,3,4]
  %t3 = Transpose(%x) {perm = [0, 2, 1]} : f32[2,4,3]
  %t4 = Transpose(%t3) {perm = [2, 1, 0]} : f32[3,4,2]
  %s12 = Constant() {value_ints = [12]} : i64[1]
  %s34 = Constant() {value_ints = [3, 4]} : i64[2]
  %s314 = Constant() {value_ints = [3, 1, 4]} : i64[3]
  %r1 = Reshape(%y, %s12) : f32[12]
  %r2 = Reshape(%r1, %s34) : f32[3,4]
  %u = Reshape(%r2, %s314) : f32[3,1,4]
  %tu = Transpose(%u) {perm = [1, 0, 2]} : f32[1,3,4]
  %sum1 = Add(%t2, %tu) : f32[2,3,4]
  %sum2 = Add(%tu, %t2) : f32[2,3,4]
  %k1 = Constant() {value_floats = [0.5, 0.25]} : f32[2]
  %k2 = Constant() {value_floats = [0.5, 0.25]} : f32[2]
  %k = Add(%k1, %k2) : f32[2]
  %shp = Shape(%x) : i64[3]
  %zeros = ConstantOfShape(%shp) : f32[2,3,4]
  %z = Add(%sum1, %zeros) : f32[2,3,4]
  %out = Sub(%z, %sum2) : f32[2,3,4]
  return %out, %t4, %k
})";

TEST(CleanupPasses, EveryPatternKeepsNumerics) {
  auto g = parseGraph(kPatterns);
  ASSERT_TRUE(g.ok()) << g.status().message();
  int ops_before = countOps(**g);
  checkNumericsPreserved(**g, kCleanup, refContext());
  std::string text = printGraph(**g);
  EXPECT_LT(countOps(**g), ops_before / 2) << text;
  for (const char* gone : {"Identity", "Cast", "Pow", "Neg", "ConstantOfShape", "Shape("})
    EXPECT_EQ(text.find(gone), std::string::npos) << gone << " survived:\n" << text;
}

TEST(CleanupPasses, ConstantFoldWithoutEvaluatorOnlyFoldsShapes) {
  auto g = parseGraph(R"(graph @main opsets {"" = 17} (%x: f32[2,3]) {
  %a = Constant() {value_float = 1.0} : f32[]
  %b = Add(%a, %a) : f32[]
  %s = Shape(%x) : i64[2]
  return %b, %s
})");
  ASSERT_TRUE(g.ok()) << g.status().message();
  passes::PassManager pm;
  ASSERT_TRUE(pm.add({"constant-fold"}).ok());
  ASSERT_TRUE(pm.run(**g, passes::PassContext{}).ok());
  std::string text = printGraph(**g);
  EXPECT_NE(text.find("Add("), std::string::npos) << text;
  EXPECT_EQ(text.find("Shape("), std::string::npos) << text;
}

TEST(CleanupPasses, SpecializeShapesRejectsUnknownInput) {
  auto g = parseGraph(R"(graph @main opsets {"" = 17} (%x: f32[N,3]) {
  %y = Relu(%x) : f32[N,3]
  return %y
})");
  ASSERT_TRUE(g.ok());
  passes::PassContext ctx;
  ctx.input_shapes["z"] = {2, 3};
  passes::PassManager pm;
  ASSERT_TRUE(pm.add({"specialize-shapes"}).ok());
  Status s = pm.run(**g, ctx);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'z' is not a graph input"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace dlc
