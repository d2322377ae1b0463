// Reference kernels for sequences, optionals and control flow (If, Loop, Scan, SequenceMap), run
// through small graphs built with the IR builder, plus their result-type inference.
#include "tests/unit/op_runner.h"

namespace dlc {
namespace {
using testing::expectTensor;
using testing::f32;
using testing::i64;

Type f32T(std::vector<int64_t> s) { return Type::tensor(DType::F32, Shape::of(s)); }
Type i64T(std::vector<int64_t> s) { return Type::tensor(DType::I64, Shape::of(s)); }
Tensor boolScalar(bool v) { return Tensor::fromVector<uint8_t>(DType::Bool, {}, {static_cast<uint8_t>(v)}); }

Value* must(Expected<Value*> v) {
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? v.value() : nullptr;
}
Op* must(Expected<Op*> v) {
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? v.value() : nullptr;
}

Expected<std::vector<ref::RtValue>> run(const Graph& g, std::vector<Tensor> feeds) {
  std::vector<ref::RtValue> in;
  for (auto& t : feeds) in.push_back(ref::RtValue::ofTensor(t));
  return ref::Interpreter(g).run(in);
}

TEST(ControlKernels, IfChoosesBranch) {
  Graph g;
  Builder b(g.body());
  Value* c = b.addInput("c", Type::tensor(DType::Bool, Shape()));
  Value* x = b.addInput("x", f32T({2}));
  auto then_r = std::make_shared<Region>();
  Builder tb(*then_r);
  tb.addOutput(must(tb.create1(OpKind::Concat, {x, x}, {{"axis", Attribute::ofInt(0)}})));  // outer value
  auto else_r = std::make_shared<Region>();
  Builder eb(*else_r);
  eb.addOutput(must(eb.create1(OpKind::Pad, {x, eb.constant(i64({2}, {1, 1}))})));
  Op* op = must(b.create(OpKind::If, {c}, {{"then_branch", Attribute::ofGraph(then_r)}, {"else_branch", Attribute::ofGraph(else_r)}}));
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->result(0)->type().toString(), "f32[4]");
  b.addOutput(op->result(0));
  auto t = run(g, {boolScalar(true), f32({2}, {1, 2})});
  ASSERT_TRUE(t.ok()) << t.status().message();
  expectTensor(t.value()[0].tensor, {4}, {1, 2, 1, 2});
  auto e = run(g, {boolScalar(false), f32({2}, {1, 2})});
  ASSERT_TRUE(e.ok());
  expectTensor(e.value()[0].tensor, {4}, {0, 1, 2, 0});
}

TEST(ControlKernels, IfBranchShapesMerge) {
  Graph g;
  Builder b(g.body());
  Value* c = b.addInput("c", Type::tensor(DType::Bool, Shape()));
  Value* x = b.addInput("x", f32T({2}));
  auto then_r = std::make_shared<Region>();
  Builder tb(*then_r);
  tb.addOutput(must(tb.create1(OpKind::Concat, {x, x}, {{"axis", Attribute::ofInt(0)}})));
  auto else_r = std::make_shared<Region>();
  Builder eb(*else_r);
  eb.addOutput(x);
  Op* op = must(b.create(OpKind::If, {c}, {{"then_branch", Attribute::ofGraph(then_r)}, {"else_branch", Attribute::ofGraph(else_r)}}));
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->result(0)->type().toString(), "f32[?]");
}

// Loop body: v' = Concat(v, Unsqueeze(iter)), scan output Unsqueeze(iter) (i64[1]); cond passes through.
std::shared_ptr<Region> countingBody() {
  auto body = std::make_shared<Region>();
  Builder bb(*body);
  Value* iter = bb.addInput("iter", i64T({}));
  Value* cond = bb.addInput("cond", Type::tensor(DType::Bool, Shape()));
  Value* v = bb.addInput("v", Type::tensor(DType::I64, Shape({Dim::unknown()})));
  Value* it1 = must(bb.create1(OpKind::Unsqueeze, {iter, bb.constant(i64({1}, {0}))}));
  Value* v2 = must(bb.create1(OpKind::Concat, {v, it1}, {{"axis", Attribute::ofInt(0)}}));
  bb.addOutput(cond);
  bb.addOutput(v2);
  bb.addOutput(it1);
  return body;
}

TEST(ControlKernels, LoopWithScanOutput) {
  Graph g;
  Builder b(g.body());
  Value* m = b.addInput("m", i64T({}));
  Value* v0 = b.addInput("v0", i64T({0}));
  Op* loop = must(b.create(OpKind::Loop, {m, nullptr, v0}, {{"body", Attribute::ofGraph(countingBody())}}, 2));
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->result(0)->type().toString(), "i64[?]");
  EXPECT_EQ(loop->result(1)->type().toString(), "i64[?,1]");
  b.addOutput(loop->result(0));
  b.addOutput(loop->result(1));
  auto r = run(g, {i64({}, {3}), i64({0}, {})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0].tensor, {3}, {0, 1, 2});
  expectTensor(r.value()[1].tensor, {3, 1}, {0, 1, 2});
  // Zero trips: the initial value, and an empty scan output shaped from the static dims.
  auto z = run(g, {i64({}, {0}), i64({0}, {})});
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z.value()[0].tensor.shape(), (std::vector<int64_t>{0}));
  EXPECT_EQ(z.value()[1].tensor.shape(), (std::vector<int64_t>{0, 1}));
}

TEST(ControlKernels, LoopStopsOnCondition) {
  Graph g;
  Builder b(g.body());
  Value* cond = b.addInput("cond", Type::tensor(DType::Bool, Shape()));
  Value* v0 = b.addInput("v0", i64T({0}));
  Op* loop = must(b.create(OpKind::Loop, {nullptr, cond, v0}, {{"body", Attribute::ofGraph(countingBody())}}, 2));
  ASSERT_NE(loop, nullptr);
  b.addOutput(loop->result(0));
  b.addOutput(loop->result(1));
  auto r = run(g, {boolScalar(false), i64({0}, {})});  // M absent, cond false: no iteration
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value()[0].tensor.numel(), 0);
}

TEST(ControlKernels, ScanAxesAndDirections) {
  Graph g;
  Builder b(g.body());
  Value* s0 = b.addInput("s0", f32T({2}));
  Value* x = b.addInput("x", Type::tensor(DType::F32, Shape({Dim::of(2), Dim::sym("T")})));
  auto body = std::make_shared<Region>();
  Builder bb(*body);
  bb.addInput("s", f32T({2}));
  Value* col = bb.addInput("col", f32T({2}));
  bb.addOutput(col);  // the state becomes the last slice seen
  bb.addOutput(must(bb.create1(OpKind::Concat, {col, col}, {{"axis", Attribute::ofInt(0)}})));
  Op* scan = must(b.create(OpKind::Scan, {s0, x},
                           {{"body", Attribute::ofGraph(body)},
                            {"num_scan_inputs", Attribute::ofInt(1)},
                            {"scan_input_axes", Attribute::ofInts({1})},
                            {"scan_input_directions", Attribute::ofInts({1})},
                            {"scan_output_axes", Attribute::ofInts({1})}},
                           2));
  ASSERT_NE(scan, nullptr);
  EXPECT_EQ(scan->result(0)->type().toString(), "f32[2]");
  EXPECT_EQ(scan->result(1)->type().toString(), "f32[4,T]");
  b.addOutput(scan->result(0));
  b.addOutput(scan->result(1));
  auto r = run(g, {f32({2}, {0, 0}), f32({2, 3}, {0, 1, 2, 3, 4, 5})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0].tensor, {2}, {0, 3});  // columns visited 2, 1, 0
  expectTensor(r.value()[1].tensor, {4, 3}, {2, 1, 0, 5, 4, 3, 2, 1, 0, 5, 4, 3});
}

TEST(ControlKernels, SequenceOps) {
  Graph g;
  Builder b(g.body());
  Value* a = b.addInput("a", f32T({2}));
  Value* c = b.addInput("c", f32T({3}));
  Value* seq = must(b.create1(OpKind::SequenceConstruct, {a, c}));
  EXPECT_EQ(seq->type().toString(), "seq<f32[?]>");
  Value* ins = must(b.create1(OpKind::SequenceInsert, {seq, a, b.constant(i64({}, {0}))}));
  Value* len = must(b.create1(OpKind::SequenceLength, {ins}));
  Value* at = must(b.create1(OpKind::SequenceAt, {ins, b.constant(i64({}, {-1}))}));
  Value* erased = must(b.create1(OpKind::SequenceErase, {ins, b.constant(i64({}, {1}))}));
  Value* cat = must(b.create1(OpKind::ConcatFromSequence, {erased}, {{"axis", Attribute::ofInt(0)}}));
  Value* stacked = must(b.create1(OpKind::ConcatFromSequence, {must(b.create1(OpKind::SequenceConstruct, {a, a}))},
                                  {{"axis", Attribute::ofInt(-1)}, {"new_axis", Attribute::ofInt(1)}}));
  EXPECT_EQ(stacked->type().toString(), "f32[2,?]");
  Value* split = must(b.create1(OpKind::SplitToSequence, {c, b.constant(i64({}, {2}))}));
  Value* split_at = must(b.create1(OpKind::SequenceAt, {split, b.constant(i64({}, {1}))}));
  for (Value* v : {len, at, cat, stacked, split_at}) b.addOutput(v);
  auto r = run(g, {f32({2}, {1, 2}), f32({3}, {3, 4, 5})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0].tensor, {}, {3});
  expectTensor(r.value()[1].tensor, {3}, {3, 4, 5});
  expectTensor(r.value()[2].tensor, {5}, {1, 2, 3, 4, 5});
  expectTensor(r.value()[3].tensor, {2, 2}, {1, 1, 2, 2});
  expectTensor(r.value()[4].tensor, {1}, {5});
}

TEST(ControlKernels, SequenceAtOutOfRangeIsAnError) {
  Graph g;
  Builder b(g.body());
  Value* a = b.addInput("a", f32T({2}));
  Value* seq = must(b.create1(OpKind::SequenceConstruct, {a}));
  b.addOutput(must(b.create1(OpKind::SequenceAt, {seq, b.constant(i64({}, {1}))})));
  auto r = run(g, {f32({2}, {1, 2})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("out of range"), std::string::npos);
}

TEST(ControlKernels, SplitToSequenceWithoutSplit) {
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", f32T({2, 3}));
  Value* seq = must(b.create1(OpKind::SplitToSequence, {x}, {{"axis", Attribute::ofInt(1)}, {"keepdims", Attribute::ofInt(0)}}));
  EXPECT_EQ(seq->type().toString(), "seq<f32[2]>");
  b.addOutput(seq);
  auto r = run(g, {f32({2, 3}, {0, 1, 2, 3, 4, 5})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r.value()[0].is_sequence);
  ASSERT_EQ(r.value()[0].sequence.size(), 3u);
  expectTensor(r.value()[0].sequence[2], {2}, {2, 5});
}

TEST(ControlKernels, SequenceMapAppliesBody) {
  Graph g;
  Builder b(g.body());
  Value* a = b.addInput("a", f32T({1}));
  Value* c = b.addInput("c", f32T({2}));
  Value* seq = must(b.create1(OpKind::SequenceConstruct, {a, c}));
  auto body = std::make_shared<Region>();
  Builder bb(*body);
  Value* e = bb.addInput("e", Type::tensor(DType::F32, Shape({Dim::unknown()})));
  bb.addOutput(must(bb.create1(OpKind::Concat, {e, e}, {{"axis", Attribute::ofInt(0)}})));
  Value* mapped = must(b.create1(OpKind::SequenceMap, {seq}, {{"body", Attribute::ofGraph(body)}}));
  EXPECT_EQ(mapped->type().toString(), "seq<f32[?]>");
  b.addOutput(mapped);
  auto r = run(g, {f32({1}, {7}), f32({2}, {1, 2})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r.value()[0].sequence.size(), 2u);
  expectTensor(r.value()[0].sequence[0], {2}, {7, 7});
  expectTensor(r.value()[0].sequence[1], {4}, {1, 2, 1, 2});
}

TEST(ControlKernels, Optionals) {
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", f32T({2}));
  Value* some = must(b.create1(OpKind::Optional, {x}));
  EXPECT_EQ(some->type().toString(), "opt<f32[2]>");
  Value* none = must(b.create1(OpKind::Optional, {}, {{"type", Attribute::ofType(f32T({2}))}}));
  b.addOutput(must(b.create1(OpKind::OptionalHasElement, {some})));
  b.addOutput(must(b.create1(OpKind::OptionalHasElement, {none})));
  b.addOutput(must(b.create1(OpKind::OptionalGetElement, {some})));
  auto r = run(g, {f32({2}, {4, 5})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0].tensor, {}, {1});
  expectTensor(r.value()[1].tensor, {}, {0});
  expectTensor(r.value()[2].tensor, {2}, {4, 5});

  Graph g2;
  Builder b2(g2.body());
  Value* n2 = must(b2.create1(OpKind::Optional, {}, {{"type", Attribute::ofType(f32T({2}))}}));
  b2.addOutput(must(b2.create1(OpKind::OptionalGetElement, {n2})));
  EXPECT_FALSE(run(g2, {}).ok());
}

}  // namespace
}  // namespace dlc
