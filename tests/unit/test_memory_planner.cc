// Tests for memory planning: reuse by liveness, in-place elementwise ops, and the plan checker.
#include <gtest/gtest.h>

#include <random>

#include "ir/builder.h"
#include "passes/memory_planner.h"

namespace dlc::passes {
namespace {

Type f32(std::vector<int64_t> dims) { return Type::tensor(DType::F32, Shape::of(dims)); }

Value* op1(Builder& b, OpKind k, std::vector<Value*> in, std::map<std::string, Attribute> attrs = {}) {
  auto r = b.create1(k, std::move(in), std::move(attrs));
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

TEST(MemoryPlanner, ElementwiseChainRunsInPlace) {
  // x -> Relu -> Neg -> Sigmoid -> Exp (output): three 4 KiB intermediates, each dying at the next
  // op, so all share one buffer.
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", f32({1024}));
  Value* v = op1(b, OpKind::Relu, {x});
  v = op1(b, OpKind::Neg, {v});
  v = op1(b, OpKind::Sigmoid, {v});
  b.addOutput(op1(b, OpKind::Exp, {v}));
  MemoryPlan plan = planMemory(g);
  EXPECT_EQ(plan.intermediate_bytes, 3 * 4096);
  EXPECT_EQ(plan.arena_bytes, 4096);
  EXPECT_EQ(plan.in_place, 2);
  EXPECT_TRUE(checkMemoryPlan(g, plan).ok());
}

TEST(MemoryPlanner, ValuesLiveTogetherDoNotShareAndDeadOnesAreReused) {
  // a = Relu(x); b = Neg(x); c = Add(a, b) ; d = Relu(c); out = Mul(d, x)
  // a and b are live together (both feed c); c reuses a's buffer in place; d reuses c's.
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", f32({256}));
  Value* a = op1(b, OpKind::Relu, {x});
  Value* n = op1(b, OpKind::Neg, {x});
  Value* c = op1(b, OpKind::Add, {a, n});
  Value* d = op1(b, OpKind::Relu, {c});
  b.addOutput(op1(b, OpKind::Mul, {d, x}));
  MemoryPlan plan = planMemory(g);
  EXPECT_NE(plan.slots.at(a).offset, plan.slots.at(n).offset);
  EXPECT_EQ(plan.arena_bytes, 2 * 1024);
  EXPECT_TRUE(checkMemoryPlan(g, plan).ok());
}

TEST(MemoryPlanner, OutputsConstantsAndDynamicShapesStayOutOfTheArena) {
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", Type::tensor(DType::F32, Shape({Dim::sym("N"), Dim::of(8)})));
  Value* w = b.constant(Tensor(DType::F32, {8}), "w");
  Value* y = op1(b, OpKind::Add, {x, w});  // f32[N,8]: size known only at run time
  b.addOutput(op1(b, OpKind::Relu, {y}));
  MemoryPlan plan = planMemory(g);
  EXPECT_EQ(plan.weights_bytes, 32);
  EXPECT_EQ(plan.arena_bytes, 0);
  ASSERT_EQ(plan.dynamic_values.size(), 1u);
  EXPECT_EQ(plan.dynamic_values[0], y);
}

TEST(MemoryPlanner, CheckerRejectsOverlappingLiveBuffers) {
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", f32({64}));
  Value* a = op1(b, OpKind::Relu, {x});
  Value* n = op1(b, OpKind::Neg, {x});
  b.addOutput(op1(b, OpKind::Add, {a, n}));
  MemoryPlan plan = planMemory(g);
  ASSERT_TRUE(checkMemoryPlan(g, plan).ok());
  plan.slots.at(n).offset = plan.slots.at(a).offset;  // corrupt: both live at the Add
  EXPECT_FALSE(checkMemoryPlan(g, plan).ok());
}

TEST(MemoryPlanner, RandomGraphsGetValidPlansSmallerThanTheirIntermediates) {
  std::mt19937 rng(1234);
  const OpKind unary[] = {OpKind::Relu, OpKind::Neg, OpKind::Sigmoid, OpKind::Tanh};
  const OpKind binary[] = {OpKind::Add, OpKind::Mul, OpKind::Sub};
  for (int trial = 0; trial < 50; ++trial) {
    Graph g;
    Builder b(g.body());
    std::vector<Value*> pool = {b.addInput("x", f32({int64_t{16} << (trial % 4)}))};
    int n_ops = 5 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n_ops; ++i) {
      Value* p = pool[rng() % pool.size()];
      if (rng() % 2)
        pool.push_back(op1(b, unary[rng() % 4], {p}));
      else
        pool.push_back(op1(b, binary[rng() % 3], {p, pool[rng() % pool.size()]}));
    }
    b.addOutput(pool.back());
    MemoryPlan plan = planMemory(g);
    Status s = checkMemoryPlan(g, plan);
    ASSERT_TRUE(s.ok()) << "trial " << trial << ": " << s.message();
    EXPECT_LE(plan.arena_bytes, plan.intermediate_bytes + MemoryPlan::kAlignment * n_ops) << "trial " << trial;
  }
}

}  // namespace
}  // namespace dlc::passes
