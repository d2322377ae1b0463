// Gradient checks (central differences in f64) of the reductions and CumSum.
#include "tests/unit/gradient_check.h"

namespace dlc::testing {
namespace {

// Each reduction over axes [1] keeping dims, over [0, 2] dropping them, and over everything.
template <OpKind K>
void reduce(GradCase& c, double lo, double hi) {
  auto axes = [&](std::vector<int64_t> a, int keep) -> std::pair<std::vector<Value*>, std::map<std::string, Attribute>> {
    Value* x = c.input({2, 3, 4}, lo, hi);
    std::map<std::string, Attribute> attrs{{"keepdims", Attribute::ofInt(keep)}};
    if (K == OpKind::ReduceSum) return {{x, a.empty() ? nullptr : c.ints(a)}, attrs};
    if (!a.empty()) attrs["axes"] = Attribute::ofInts(a);
    return {{x}, attrs};
  };
  for (auto [a, keep] : {std::pair<std::vector<int64_t>, int>{{1}, 1}, {{0, -1}, 0}, {{}, 0}}) {
    auto [operands, attrs] = axes(a, keep);
    c.out(c.op1(K, operands, attrs));
  }
}
#define REDUCE(Name, lo, hi) \
  {"reduce/" #Name, [](GradCase& c) { reduce<OpKind::Name>(c, lo, hi); }}

const RegisterGradCases kReduce{
    REDUCE(ReduceSum, -1, 1), REDUCE(ReduceMean, -1, 1), REDUCE(ReduceMax, -1, 1), REDUCE(ReduceMin, -1, 1),
    REDUCE(ReduceSumSquare, -1, 1), REDUCE(ReduceL1, -1, 1), REDUCE(ReduceL2, -1, 1), REDUCE(ReduceLogSum, 0.5, 2),
    REDUCE(ReduceLogSumExp, -2, 2), REDUCE(ReduceProd, 0.5, 1.5),
    {"reduce/ReduceMaxTies", [](GradCase& c) {
       // Two equal maxima share the gradient; the sum of two copies of x keeps the values tied.
       Value* x = c.input({2, 3});
       Value* twice = c.op1(OpKind::Concat, {x, x}, {{"axis", Attribute::ofInt(1)}});
       c.out(c.op1(OpKind::ReduceMax, {twice}, {{"axes", ints({1})}}));
     }},
    {"reduce/CumSum", [](GradCase& c) {
       for (int flags = 0; flags < 4; ++flags)
         c.out(c.op1(OpKind::CumSum, {c.input({3, 4}), c.builder().constant(Tensor::scalar(DType::I64, 1))},
                     {{"exclusive", Attribute::ofInt(flags & 1)}, {"reverse", Attribute::ofInt(flags >> 1)}}));
     }},
};

TEST(AutodiffGrad, Reduce) { checkGradFamily("reduce"); }

}  // namespace
}  // namespace dlc::testing
