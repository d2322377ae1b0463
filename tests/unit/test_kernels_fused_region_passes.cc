// Numerics of the recognition and fusion passes: the pass tests' IR gives the same reference outputs
// before and after recognize-layernorm/gelu/attention and fuse-elementwise.
#include <fstream>
#include <random>
#include <sstream>

#include "backends/reference/interpreter.h"
#include "ir/parser.h"
#include "passes/pass_manager.h"
#include "tests/unit/op_runner.h"

namespace dlc::testing {
namespace {

std::vector<Tensor> runGraph(const Graph& g, const std::vector<ref::RtValue>& feeds) {
  ref::Interpreter interp(g);
  auto outs = interp.run(feeds);
  EXPECT_TRUE(outs.ok()) << outs.status().message();
  std::vector<Tensor> r;
  if (outs.ok())
    for (auto& o : *outs) r.push_back(o.tensor);
  return r;
}

// Parses tests/passes/<file>, runs it on random inputs, applies `passes`, and expects every output
// to agree within 1e-5 of its largest magnitude.
void expectSameNumerics(const std::string& file, const std::string& passes) {
  std::ifstream in(std::string(DLC_SOURCE_DIR) + "/tests/passes/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  auto g = parseGraph(ss.str(), file);
  ASSERT_TRUE(g.ok()) << g.status().message();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<ref::RtValue> feeds;
  const Region& body = (*g)->body();
  for (int i = 0; i < body.numArguments(); ++i) {
    const Type& t = body.argument(i)->type();
    std::vector<int64_t> sizes = t.shape.staticSizes();
    for (int64_t& d : sizes) d = d < 0 ? 2 : d;  // symbolic dims: 2
    Tensor x(t.dtype, sizes);
    for (int64_t j = 0; j < x.numel(); ++j) x.setDouble(j, t.dtype == DType::F32 ? dist(rng) : j % 5);
    feeds.push_back(ref::RtValue::ofTensor(x));
  }
  std::vector<Tensor> before = runGraph(**g, feeds);
  const size_t ops_before = body.ops().size();
  passes::PassManager pm;
  ASSERT_TRUE(pm.add(passes::splitPassList(passes)).ok());
  Status st = pm.run(**g, passes::PassContext{});
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_LT(body.ops().size(), ops_before) << "the passes changed nothing";
  std::vector<Tensor> after = runGraph(**g, feeds);
  ASSERT_EQ(before.size(), after.size());
  for (size_t o = 0; o < before.size(); ++o) {
    ASSERT_EQ(before[o].shape(), after[o].shape()) << "output " << o;
    double mx = 0, err = 0;
    for (int64_t j = 0; j < before[o].numel(); ++j) {
      mx = std::max(mx, std::abs(before[o].getDouble(j)));
      err = std::max(err, std::abs(before[o].getDouble(j) - after[o].getDouble(j)));
    }
    EXPECT_LE(err, 1e-5 * std::max(mx, 1e-30)) << file << " output " << o;
  }
}

TEST(FusedRegionNumerics, RecognizeGelu) { expectSameNumerics("recognize_gelu.dlcir", "recognize-gelu,dce"); }
TEST(FusedRegionNumerics, RecognizeRmsNorm) {
  expectSameNumerics("recognize_rms_norm.dlcir", "recognize-layernorm,dce");
}
TEST(FusedRegionNumerics, RecognizeLayerNorm) {
  expectSameNumerics("recognize_layernorm.dlcir", "recognize-layernorm,dce");
}
TEST(FusedRegionNumerics, RecognizeAttention) {
  expectSameNumerics("recognize_attention.dlcir", "recognize-attention,dce");
}
TEST(FusedRegionNumerics, FuseElementwise) { expectSameNumerics("fuse_elementwise.dlcir", "fuse-elementwise"); }

}  // namespace
}  // namespace dlc::testing
