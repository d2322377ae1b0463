// Numerics of the unfuse pass: every fused op (each epilogue activation, residuals, Gemm and
// batched paths, fused regions, both Gelu forms, Attention with masks and default scales, 16-bit
// floats) gives the same outputs on the reference interpreter before and after, and -O3 pipelines
// unfused again agree with the unoptimized model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "backends/reference/interpreter.h"
#include "frontend/onnx/importer.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"

namespace dlc {
namespace {

std::unique_ptr<Graph> parse(const std::string& text) {
  auto g = parseGraph(text, "test.dlcir");
  EXPECT_TRUE(g.ok()) << g.status().message() << "\n" << text;
  return g.ok() ? std::move(*g) : nullptr;
}

// Random inputs in [-2, 2) for every graph input (other dims than static ones become 2).
std::vector<ref::RtValue> randomInputs(const Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<ref::RtValue> in;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    const Type& t = g.body().argument(i)->type();
    std::vector<int64_t> shape = t.shape.staticSizes();
    for (int64_t& d : shape)
      if (d < 0) d = 2;
    Tensor f(DType::F32, shape);
    for (int64_t k = 0; k < f.numel(); ++k) f.data<float>()[k] = dist(rng);
    in.push_back(ref::RtValue::ofTensor(t.dtype == DType::F32 ? f : f.castTo(t.dtype)));
  }
  return in;
}

std::vector<Tensor> run(const Graph& g, const std::vector<ref::RtValue>& in) {
  auto outs = ref::Interpreter(g).run(in);
  EXPECT_TRUE(outs.ok()) << outs.status().message();
  std::vector<Tensor> r;
  if (outs.ok())
    for (auto& o : *outs) r.push_back(o.tensor);
  return r;
}

Status runPasses(Graph& g, const std::vector<std::string>& names) {
  passes::PassManager pm;
  DLC_RETURN_IF_ERROR(pm.add(names));
  passes::PassContext ctx;
  ctx.evaluate = [](const Op& op, const std::vector<const Tensor*>& inputs) { return ref::evaluateOp(op, inputs); };
  return pm.run(g, ctx);
}

int countDlcOps(const Graph& g) {
  int n = 0;
  walkOps(g.body(), [&](const Op* op) { n += std::string(op->info().domain) == "dlc"; });
  return n;
}

// Largest |want - got| relative to max |want| over all outputs.
double relativeError(const std::vector<Tensor>& want, const std::vector<Tensor>& got) {
  EXPECT_EQ(want.size(), got.size());
  double worst = 0;
  for (size_t o = 0; o < want.size() && o < got.size(); ++o) {
    EXPECT_EQ(want[o].shape(), got[o].shape()) << "output " << o;
    EXPECT_EQ(want[o].dtype(), got[o].dtype()) << "output " << o;
    if (want[o].shape() != got[o].shape()) return INFINITY;
    double max_abs = 0, max_err = 0;
    for (int64_t i = 0; i < want[o].numel(); ++i) {
      max_abs = std::max(max_abs, std::fabs(want[o].getDouble(i)));
      max_err = std::max(max_err, std::fabs(want[o].getDouble(i) - got[o].getDouble(i)));
    }
    worst = std::max(worst, max_abs > 0 ? max_err / max_abs : max_err);
  }
  return worst;
}

// Runs `text` before and after unfuse (+ dce) on the same random inputs; no dlc op may remain and
// the outputs must agree within `tol` of max|output|.
void checkUnfuse(const std::string& text, double tol, unsigned seed = 1) {
  std::unique_ptr<Graph> fused = parse(text), unfused = parse(text);
  ASSERT_TRUE(fused && unfused);
  ASSERT_GT(countDlcOps(*fused), 0);
  Status s = runPasses(*unfused, {"unfuse", "dce"});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(countDlcOps(*unfused), 0);
  const auto in = randomInputs(*fused, seed);
  const double err = relativeError(run(*fused, in), run(*unfused, in));
  EXPECT_LE(err, tol) << text;
}

struct Act {
  const char* name;
  float alpha, beta;
};
const Act kActivations[] = {{"none", 0, 0},          {"Relu", 0, 0},      {"LeakyRelu", 0.1f, 0},
                            {"Clip", -0.5f, 1.5f},   {"Sigmoid", 0, 0},   {"HardSigmoid", 0.3f, 0.4f},
                            {"HardSwish", 0, 0},     {"Silu", 0, 0},      {"Gelu", 0, 0},
                            {"Tanh", 0, 0}};

std::string actAttrs(const Act& a) {
  std::ostringstream os;
  os << "activation = \"" << a.name << "\", activation_alpha = " << a.alpha << ", activation_beta = " << a.beta;
  return os.str();
}

// Each activation, with and without residual and bias: the expansion is the reference kernel's
// own sequence of f32 operations, so the results are bit-identical.
TEST(UnfuseNumerics, FusedConvEveryActivation) {
  for (const Act& act : kActivations)
    for (int variant = 0; variant < 3; ++variant) {
      const char* operands = variant == 0 ? "%x, %w, %b, %r" : variant == 1 ? "%x, %w, %b" : "%x, %w, _, %r";
      std::string text = str("graph @g opsets {\"\" = 17} (%x: f32[2,3,5,5], %w: f32[4,3,3,3], %b: f32[4], %r: f32[2,4,5,5]) {\n",
                             "  %y = FusedConv(", operands, ") {", actAttrs(act),
                             ", pads = [1, 1, 1, 1], strides = [1, 1]} loc(\"c\") : f32[2,4,5,5]\n  return %y\n}\n");
      SCOPED_TRACE(str(act.name, " variant ", variant));
      checkUnfuse(text, 0.0);
    }
}

// The 2-D form becomes Gemm, whose reference kernel sums in a different order than the batched
// MatMul kernel FusedMatMul uses: agreement to a few f32 ulps of max|y| (K = 4 terms).
TEST(UnfuseNumerics, FusedMatMulAsGemm) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (const char* c : {"f32[5]", "f32[3,5]", "f32[1,5]"})
        for (const Act& act : {kActivations[0], kActivations[2], kActivations[7]}) {
          std::string text =
              str("graph @g opsets {\"\" = 17} (%a: f32[", ta ? "4,3" : "3,4", "], %b: f32[", tb ? "5,4" : "4,5", "], %c: ", c,
                  ", %r: f32[3,5]) {\n  %y = FusedMatMul(%a, %b, %c, %r) {", actAttrs(act), ", alpha = 0.5, transA = ", ta,
                  ", transB = ", tb, "} loc(\"m\") : f32[3,5]\n  return %y\n}\n");
          SCOPED_TRACE(text);
          checkUnfuse(text, 1e-6);
        }
}

// Batched, broadcast and 1-D operands take the MatMul path (transposes, alpha as a Mul, bias and
// residual as Adds): the same kernel and order as the fused op, so bit-identical.
TEST(UnfuseNumerics, FusedMatMulBatched) {
  const char* cases[] = {
      "(%a: f32[2,3,4], %b: f32[5,4], %c: f32[5], %r: f32[2,3,5]) {\n"
      "  %y = FusedMatMul(%a, %b, %c, %r) {activation = \"Relu\", alpha = 0.25, transB = 1} : f32[2,3,5]\n",
      "(%a: f32[2,4,3], %b: f32[2,4,5], %c: f32[2,1,5], %r: f32[2,3,5]) {\n"
      "  %y = FusedMatMul(%a, %b, %c, %r) {activation = \"Gelu\", transA = 1} : f32[2,3,5]\n",
      "(%a: f32[4], %b: f32[4,5], %c: f32[5], %r: f32[5]) {\n"
      "  %y = FusedMatMul(%a, %b, %c) {activation = \"Tanh\", alpha = 2.0} : f32[5]\n",
      "(%a: f32[N,3,4], %b: f32[4,5], %c: f32[5], %r: f32[5]) {\n"
      "  %y = FusedMatMul(%a, %b) {activation = \"Silu\"} : f32[N,3,5]\n",
  };
  for (const char* c : cases) {
    std::string text = str("graph @g opsets {\"\" = 17} ", c, "  return %y\n}\n");
    SCOPED_TRACE(text);
    checkUnfuse(text, 0.0);
  }
}

// A fused region with two results, one of them an argument returned as is, and a broadcast.
TEST(UnfuseNumerics, FusedElementwiseInlined) {
  checkUnfuse(
      "graph @g opsets {\"\" = 17} (%x: f32[3,4], %b: f32[4]) {\n"
      "  %e, %f = FusedElementwise(%x, %b) {body = region(%p: f32[3,4], %q: f32[4]) {\n"
      "    %s = Add(%p, %q) : f32[3,4]\n"
      "    %t = Sigmoid(%s) : f32[3,4]\n"
      "    %u = Mul(%t, %p) : f32[3,4]\n"
      "    return %u, %q\n"
      "  }} : f32[3,4], f32[4]\n"
      "  %z = Neg(%e) : f32[3,4]\n"
      "  return %z, %f\n"
      "}\n",
      0.0);
}

// Both forms in f32 and f64; 16-bit floats run the expansion in f32 between Casts, as the kernel
// computes, so they round once like it.
TEST(UnfuseNumerics, GeluForms) {
  for (const char* dtype : {"f32", "f64", "f16", "bf16"})
    for (const char* mode : {"none", "tanh"}) {
      std::string text = str("graph @g opsets {\"\" = 17} (%x: ", dtype, "[4,6]) {\n  %y = Gelu(%x) {approximate = \"", mode,
                             "\"} : ", dtype, "[4,6]\n  return %y\n}\n");
      SCOPED_TRACE(text);
      checkUnfuse(text, 0.0);
    }
}

// RMSNormalization over the last axis and the last two, each float dtype: the expansion is the
// reference kernel's sequence of operations (16-bit floats in f32 between Casts), bit-identical.
TEST(UnfuseNumerics, RmsNormalization) {
  for (const char* dtype : {"f32", "f64", "f16", "bf16"})
    for (const char* form : {"{axis = -1, epsilon = 1e-06} : %T[2,3,6]", "{axis = 1, epsilon = 0.001} : %T[2,3,6]"}) {
      std::string attrs = form;
      attrs.replace(attrs.find("%T"), 2, dtype);
      const char* scale = std::string(form).find("axis = 1") != std::string::npos ? "[3,6]" : "[6]";
      std::string text = str("graph @g opsets {\"\" = 17} (%x: ", dtype, "[2,3,6], %g: ", dtype, scale, ") {\n  %y = RMSNormalization(%x, %g) ",
                             attrs, "\n  return %y\n}\n");
      SCOPED_TRACE(text);
      checkUnfuse(text, 0.0);
    }
}

// Attention's per-head GEMMs become batched MatMuls (another summation order over D = 4 or 2
// terms and T = 5): agreement to a few f32 ulps of max|y|.
TEST(UnfuseNumerics, Attention) {
  const char* cases[] = {
      "(%q: f32[2,4,8], %k: f32[2,5,8], %v: f32[2,5,6], %m: f32[2,1,1,5]) {\n"
      "  %y = Attention(%q, %k, %v, %m) {num_heads = 2, scale = 0.3} : f32[2,4,6]\n",
      "(%q: f32[2,4,8], %k: f32[2,5,8], %v: f32[2,5,8], %m: f32[1,4,4,5]) {\n"
      "  %y = Attention(%q, %k, %v, %m) {num_heads = 4} : f32[2,4,8]\n",
      "(%q: f32[N,3,8], %k: f32[N,3,8], %v: f32[N,3,4]) {\n"
      "  %y = Attention(%q, %k, %v) {num_heads = 2} : f32[N,3,4]\n",
      "(%q: f16[2,4,8], %k: f16[2,5,8], %v: f16[2,5,8], %m: f32[2,1,1,5]) {\n"
      "  %y = Attention(%q, %k, %v, %m) {num_heads = 2} : f16[2,4,8]\n",
  };
  for (const char* c : cases) {
    std::string text = str("graph @g opsets {\"\" = 17} ", c, "  return %y\n}\n");
    SCOPED_TRACE(text);
    checkUnfuse(text, 1e-6);
  }
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whole -O3 pipelines (BatchNorm folding, epilogue fusion, GELU/attention/LayerNorm recognition,
// elementwise fusion) unfused again: the outputs match the unoptimized model's within the bound
// the fusion tests use (1e-5 of max|y|; folding BatchNorm into weights reorders roundings).
TEST(UnfuseNumerics, OptimizedModelsUnfused) {
  const std::string src = DLC_SOURCE_DIR;
  for (const char* file : {"/examples/models/small_cnn.onnx", "/tests/passes/recognize_attention.dlcir",
                           "/tests/passes/recognize_gelu.dlcir", "/tests/passes/fuse_epilogue.dlcir",
                           "/tests/passes/fuse_elementwise.dlcir"}) {
    SCOPED_TRACE(file);
    const std::string path = src + file;
    auto load = [&]() -> std::unique_ptr<Graph> {
      if (path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0) {
        auto g = onnx_import::importModelFile(path);
        EXPECT_TRUE(g.ok()) << g.status().message();
        return g.ok() ? std::move(*g) : nullptr;
      }
      return parse(readFile(path));
    };
    std::unique_ptr<Graph> original = load(), optimized = load();
    ASSERT_TRUE(original && optimized);
    auto pipeline = passes::defaultPipeline("cpu", 3);
    ASSERT_TRUE(pipeline.ok());
    Status s = runPasses(*optimized, *pipeline);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_GT(countDlcOps(*optimized), 0) << "the pipeline fused nothing";
    s = runPasses(*optimized, {"unfuse", "dce"});
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(countDlcOps(*optimized), 0);
    const auto in = randomInputs(*original, 3);
    EXPECT_LE(relativeError(run(*original, in), run(*optimized, in)), 1e-5);
  }
}

}  // namespace
}  // namespace dlc
