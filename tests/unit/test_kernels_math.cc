// Math kernels with hand-computed expectations, and shape inference of the math ops.
#include "tests/unit/test_kernels_math_util.h"

namespace dlc::testing {
namespace {

TEST(MathKernels, AddBroadcastsRowAndColumn) {
  auto r = runOp(OpKind::Add, {f32({2, 1}, {10, 20}), f32({3}, {1, 2, 3})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 3}, {11, 12, 13, 21, 22, 23});
}

TEST(MathKernels, AddGeneralBroadcast4D) {
  // [2,1,2] + [1,3,1]: neither operand is a row or a scalar.
  auto r = runOp(OpKind::Add, {f32({2, 1, 2}, {0, 1, 2, 3}), f32({1, 3, 1}, {10, 20, 30})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 3, 2}, {10, 11, 20, 21, 30, 31, 12, 13, 22, 23, 32, 33});
}

TEST(MathKernels, AddRejectsBadBroadcast) {
  auto r = runOp(OpKind::Add, {f32({2}, {1, 2}), f32({3}, {1, 2, 3})});
  EXPECT_FALSE(r.ok());
}

TEST(MathKernels, PowWithIntegerExponent) {
  auto r = runOp(OpKind::Pow, {f32({3}, {2, -3, 0.5f}), i64({1}, {3})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].dtype(), DType::F32);
  expectTensor((*r)[0], {3}, {8, -27, 0.125});
  auto ri = runOp(OpKind::Pow, {i64({3}, {2, -3, 7}), i64({3}, {10, 3, 0})});
  ASSERT_TRUE(ri.ok()) << ri.status().message();
  expectTensor((*ri)[0], {3}, {1024, -27, 1});
}

TEST(MathKernels, ModSignRules) {
  // Python rule (fmod=0): the result takes the divisor's sign; fmod=1: the dividend's.
  auto a = i64({4}, {7, -7, 7, -7});
  auto b = i64({4}, {3, 3, -3, -3});
  auto r = runOp(OpKind::Mod, {a, b});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {4}, {1, 2, -2, -1});
  auto f = runOp(OpKind::Mod, {a, b}, {{"fmod", Attribute::ofInt(1)}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  expectTensor((*f)[0], {4}, {1, -1, 1, -1});
  auto fl = runOp(OpKind::Mod, {f32({2}, {-7.5f, 7.5f}), f32({2}, {2, 2})}, {{"fmod", Attribute::ofInt(1)}});
  ASSERT_TRUE(fl.ok()) << fl.status().message();
  expectTensor((*fl)[0], {2}, {-1.5, 1.5});
}

TEST(MathKernels, CastF32ToF16RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between the f16 neighbours 1 and 1 + 2^-10: ties go to the even (1).
  // 1 + 3*2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties go to 1 + 2^-9. 70000 overflows to inf.
  float h1 = 1.0f + 1.0f / 2048, h2 = 1.0f + 3.0f / 2048;
  auto r = runOp(OpKind::Cast, {f32({3}, {h1, h2, 70000.0f})}, {{"to", Attribute::ofInt(10)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)[0].dtype(), DType::F16);
  auto back = runOp(OpKind::Cast, {(*r)[0]}, {{"to", Attribute::ofInt(1)}});
  ASSERT_TRUE(back.ok()) << back.status().message();
  expectClose((*back)[0], {3}, {1.0, 1.0 + 1.0 / 512, INFINITY}, 0);
}

TEST(MathKernels, CastStringsAndBool) {
  auto r = runOp(OpKind::Cast, {strT({3}, {"1.5", "-INF", "2e3"})}, {{"to", Attribute::ofInt(1)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectClose((*r)[0], {3}, {1.5, -INFINITY, 2000});
  auto s = runOp(OpKind::Cast, {i64({2}, {-42, 7})}, {{"to", Attribute::ofInt(8)}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  expectStrings((*s)[0], {2}, {"-42", "7"});
  auto b = runOp(OpKind::Cast, {f32({3}, {0, -0.5f, 2})}, {{"to", Attribute::ofInt(9)}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  expectTensor((*b)[0], {3}, {0, 1, 1});
}

TEST(MathKernels, SoftmaxAlongAxis1) {
  auto r = runOp(OpKind::Softmax, {f32({2, 2, 1}, {0, std::log(3.0f), 1, 1})}, {{"axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 2, 1}, {0.25, 0.75, 0.5, 0.5});
}

TEST(MathKernels, MatMulBatchedBroadcast) {
  // [2,3,4] @ [4,5]: batch 0 is all ones, batch 1 all twos; B[k][n] = n + 1.
  std::vector<float> a(24), b(20);
  for (int i = 0; i < 24; ++i) a[i] = i < 12 ? 1.0f : 2.0f;
  for (int k = 0; k < 4; ++k)
    for (int n = 0; n < 5; ++n) b[k * 5 + n] = static_cast<float>(n + 1);
  auto r = runOp(OpKind::MatMul, {f32({2, 3, 4}, a), f32({4, 5}, b)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<double> want;
  for (int bi = 0; bi < 2; ++bi)
    for (int m = 0; m < 3; ++m)
      for (int n = 0; n < 5; ++n) want.push_back((bi + 1) * 4.0 * (n + 1));
  expectTensor((*r)[0], {2, 3, 5}, want);
}

TEST(MathKernels, MatMulBroadcastsBatchOfB) {
  // [1,2,2] @ [3,2,2]: A is shared by the three batches of B.
  auto r = runOp(OpKind::MatMul, {f32({1, 2, 2}, {1, 2, 3, 4}),
                                  f32({3, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2, 0, 1, 1, 0})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {3, 2, 2}, {1, 2, 3, 4, 2, 4, 6, 8, 2, 1, 4, 3});
}

TEST(MathKernels, MatMulVectorRules) {
  auto r = runOp(OpKind::MatMul, {f32({2}, {1, 2}), f32({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {3}, {9, 12, 15});
  auto r2 = runOp(OpKind::MatMul, {f32({2, 2}, {1, 2, 3, 4}), f32({2}, {1, 1})});
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  expectTensor((*r2)[0], {2}, {3, 7});
  auto ri = runOp(OpKind::MatMul, {i64({1, 2}, {2, 3}), i64({2, 1}, {4, 5})});
  ASSERT_TRUE(ri.ok()) << ri.status().message();
  expectTensor((*ri)[0], {1, 1}, {23});
}

TEST(MathKernels, GemmTransposesAlphaBetaAndBiasBroadcast) {
  // A^T is [[1,2],[3,4]] (A stored [K,M]); B^T is identity*2 (B stored [N,K]).
  auto a = f32({2, 2}, {1, 3, 2, 4});
  auto b = f32({2, 2}, {2, 0, 0, 2});
  auto c = f32({2}, {10, 20});  // broadcast over rows
  auto r = runOp(OpKind::Gemm, {a, b, c},
                 {{"transA", Attribute::ofInt(1)}, {"transB", Attribute::ofInt(1)},
                  {"alpha", Attribute::ofFloat(0.5f)}, {"beta", Attribute::ofFloat(2.0f)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 2}, {21, 42, 23, 44});
  auto bad = runOp(OpKind::Gemm, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2, 2}, {1, 0, 0, 1})});
  EXPECT_FALSE(bad.ok());
}

TEST(MathKernels, ReduceSumAxesInputKeepdimsAndNoop) {
  auto x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = runOp(OpKind::ReduceSum, {x, i64({1}, {1})}, {{"keepdims", Attribute::ofInt(0)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2}, {6, 15});
  auto all = runOp(OpKind::ReduceSum, {x, i64({0}, {})});
  ASSERT_TRUE(all.ok()) << all.status().message();
  expectTensor((*all)[0], {1, 1}, {21});
  auto noop = runOp(OpKind::ReduceSum, {x, i64({0}, {})}, {{"noop_with_empty_axes", Attribute::ofInt(1)}});
  ASSERT_TRUE(noop.ok()) << noop.status().message();
  expectTensor((*noop)[0], {2, 3}, {1, 2, 3, 4, 5, 6});
  auto bad = runOp(OpKind::ReduceSum, {x, i64({1}, {2})});
  EXPECT_FALSE(bad.ok());
}

TEST(MathKernels, ReduceMeanAndMaxOverSeveralAxes) {
  auto x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto r = runOp(OpKind::ReduceMean, {x}, {{"axes", Attribute::ofInts({0, 2})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 2, 1}, {3.5, 5.5});
  auto m = runOp(OpKind::ReduceMax, {x}, {{"axes", Attribute::ofInts({-1})}, {"keepdims", Attribute::ofInt(0)}});
  ASSERT_TRUE(m.ok()) << m.status().message();
  expectTensor((*m)[0], {2, 2}, {2, 4, 6, 8});
}

TEST(MathKernels, ArgMaxSelectLastIndex) {
  auto x = f32({2, 3}, {5, 1, 5, 2, 2, 0});
  auto first = runOp(OpKind::ArgMax, {x}, {{"axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ((*first)[0].dtype(), DType::I64);
  expectTensor((*first)[0], {2, 1}, {0, 0});
  auto last = runOp(OpKind::ArgMax, {x}, {{"axis", Attribute::ofInt(1)}, {"select_last_index", Attribute::ofInt(1)},
                                          {"keepdims", Attribute::ofInt(0)}});
  ASSERT_TRUE(last.ok()) << last.status().message();
  expectTensor((*last)[0], {2}, {2, 1});
}

TEST(MathKernels, CumSumExclusiveReverse) {
  auto r = runOp(OpKind::CumSum, {f32({4}, {1, 2, 3, 4}), i64({}, {0})},
                 {{"exclusive", Attribute::ofInt(1)}, {"reverse", Attribute::ofInt(1)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {4}, {9, 7, 4, 0});
}

TEST(MathKernels, QuantizeLinearSaturatesAndRoundsHalfToEven) {
  // x / 2: 1.25 -> 1, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0; +zp 10; 1000 and -1000 saturate.
  auto x = f32({6}, {2.5f, 3.0f, 5.0f, -1.0f, 1000.0f, -1000.0f});
  auto r = runOp(OpKind::QuantizeLinear, {x, f32({}, {2.0f}), mk(DType::U8, {}, {10})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].dtype(), DType::U8);
  expectTensor((*r)[0], {6}, {11, 12, 12, 10, 255, 0});
  auto s = runOp(OpKind::QuantizeLinear, {x, f32({}, {2.0f}), mk(DType::I8, {}, {0})});
  ASSERT_TRUE(s.ok()) << s.status().message();
  expectTensor((*s)[0], {6}, {1, 2, 2, 0, 127, -128});
}

TEST(MathKernels, WhereAndPRelu) {
  auto c = mk(DType::Bool, {2, 1}, {1, 0});
  auto r = runOp(OpKind::Where, {c, f32({2}, {1, 2}), f32({}, {-1})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 2}, {1, 2, -1, -1});
  auto p = runOp(OpKind::PRelu, {f32({2, 2}, {-1, 2, -3, 4}), f32({2}, {0.5f, 0.25f})});
  ASSERT_TRUE(p.ok()) << p.status().message();
  expectTensor((*p)[0], {2, 2}, {-0.5, 2, -1.5, 4});
}

TEST(MathKernels, EinsumImplicitOutputAndEllipsis) {
  // "ij,jk" (implicit output "ik") is a matrix product; "...ii->...i" takes batched diagonals.
  auto r = runOp(OpKind::Einsum, {f32({2, 2}, {1, 2, 3, 4}), f32({2, 1}, {1, 1})},
                 {{"equation", Attribute::ofString("ij,jk")}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 1}, {3, 7});
  auto d = runOp(OpKind::Einsum, {f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})},
                 {{"equation", Attribute::ofString("...ii->...i")}});
  ASSERT_TRUE(d.ok()) << d.status().message();
  expectTensor((*d)[0], {2, 2}, {1, 4, 5, 8});
}

TEST(MathKernels, IdentityPassesSequencesThrough) {
  Graph g;
  Builder b(g.body());
  Value* in = b.addInput("s", Type::sequence(Type::tensor(DType::F32, Shape::of({2}))));
  auto id = b.create1(OpKind::Identity, {in});
  ASSERT_TRUE(id.ok()) << id.status().message();
  b.addOutput(*id);
  ref::Interpreter interp(g);
  auto out = interp.run({ref::RtValue::ofSequence({f32({2}, {1, 2}), f32({2}, {3, 4})})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_TRUE((*out)[0].is_sequence);
  ASSERT_EQ((*out)[0].sequence.size(), 2u);
  expectTensor((*out)[0].sequence[1], {2}, {3, 4});
}

// --- shape inference -------------------------------------------------------------------------

Type tt(DType dt, std::vector<Dim> dims) { return Type::tensor(dt, Shape(std::move(dims))); }

TEST(MathInference, MatMulKeepsSymbolicBatch) {
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("x", tt(DType::F32, {Dim::sym("N"), Dim::of(128), Dim::of(768)}));
  Value* w = b.addInput("w", tt(DType::F32, {Dim::of(768), Dim::of(768)}));
  auto y = b.create1(OpKind::MatMul, {x, w});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)->type().toString(), "f32[N,128,768]");
  Value* bad = b.addInput("bad", tt(DType::F32, {Dim::of(512), Dim::of(10)}));
  EXPECT_FALSE(b.create1(OpKind::MatMul, {x, bad}).ok());
  Value* v = b.addInput("v", tt(DType::F32, {Dim::of(768)}));
  auto mv = b.create1(OpKind::MatMul, {x, v});
  ASSERT_TRUE(mv.ok()) << mv.status().message();
  EXPECT_EQ((*mv)->type().toString(), "f32[N,128]");
}

TEST(MathInference, GemmReduceArgMaxCast) {
  Graph g;
  Builder b(g.body());
  Value* a = b.addInput("a", tt(DType::F32, {Dim::of(64), Dim::sym("B")}));
  Value* w = b.addInput("w", tt(DType::F32, {Dim::of(10), Dim::of(64)}));
  Value* c = b.addInput("c", tt(DType::F32, {Dim::of(10)}));
  auto y = b.create1(OpKind::Gemm, {a, w, c}, {{"transA", Attribute::ofInt(1)}, {"transB", Attribute::ofInt(1)}});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)->type().toString(), "f32[B,10]");
  auto r = b.create1(OpKind::ReduceMean, {*y}, {{"axes", Attribute::ofInts({-1})}, {"keepdims", Attribute::ofInt(0)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->type().toString(), "f32[B]");
  Value* axes = b.constant(i64({1}, {0}));
  auto s = b.create1(OpKind::ReduceSum, {*y, axes});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->type().toString(), "f32[1,10]");
  auto am = b.create1(OpKind::ArgMax, {*y}, {{"axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(am.ok()) << am.status().message();
  EXPECT_EQ((*am)->type().toString(), "i64[B,1]");
  auto cast = b.create1(OpKind::Cast, {*y}, {{"to", Attribute::ofInt(10)}});
  ASSERT_TRUE(cast.ok()) << cast.status().message();
  EXPECT_EQ((*cast)->type().toString(), "f16[B,10]");
  EXPECT_FALSE(b.create1(OpKind::ArgMax, {*y}, {{"axis", Attribute::ofInt(2)}}).ok());
}

TEST(MathInference, WhereQuantizeRangeEinsum) {
  Graph g;
  Builder b(g.body());
  Value* c = b.addInput("c", tt(DType::Bool, {Dim::sym("N"), Dim::of(1)}));
  Value* x = b.addInput("x", tt(DType::F32, {Dim::of(4)}));
  auto w = b.create1(OpKind::Where, {c, x, x});
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ((*w)->type().toString(), "f32[N,4]");
  Value* scale = b.constant(f32({}, {0.5f}));
  Value* zp = b.constant(mk(DType::I8, {}, {0}));
  auto q = b.create1(OpKind::QuantizeLinear, {*w, scale, zp});
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ((*q)->type().toString(), "i8[N,4]");
  auto dq = b.create1(OpKind::DequantizeLinear, {*q, scale, zp});
  ASSERT_TRUE(dq.ok()) << dq.status().message();
  EXPECT_EQ((*dq)->type().toString(), "f32[N,4]");
  auto rg = b.create1(OpKind::Range, {b.constant(i64({}, {1})), b.constant(i64({}, {10})), b.constant(i64({}, {3}))});
  ASSERT_TRUE(rg.ok()) << rg.status().message();
  EXPECT_EQ((*rg)->type().toString(), "i64[3]");
  Value* m = b.addInput("m", tt(DType::F32, {Dim::sym("N"), Dim::of(3), Dim::of(5)}));
  auto e = b.create1(OpKind::Einsum, {m, m}, {{"equation", Attribute::ofString("bij,bkj->bik")}});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)->type().toString(), "f32[N,3,3]");
  auto imp = b.create1(OpKind::Einsum, {m}, {{"equation", Attribute::ofString("...ji")}});
  ASSERT_TRUE(imp.ok()) << imp.status().message();
  EXPECT_EQ((*imp)->type().toString(), "f32[N,5,3]");
}

TEST(MathInference, SignalAndDynamicQuantize) {
  Graph g;
  Builder b(g.body());
  auto win = b.create1(OpKind::HannWindow, {b.constant(mk(DType::I32, {}, {16}))});
  ASSERT_TRUE(win.ok()) << win.status().message();
  EXPECT_EQ((*win)->type().toString(), "f32[16]");
  Value* sig = b.addInput("sig", tt(DType::F32, {Dim::of(1), Dim::of(128), Dim::of(1)}));
  auto st = b.create1(OpKind::STFT, {sig, b.constant(i64({}, {8})), *win});
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ((*st)->type().toString(), "f32[1,15,9,2]");
  auto dft = b.create1(OpKind::DFT, {sig}, {{"onesided", Attribute::ofInt(1)}});
  ASSERT_TRUE(dft.ok()) << dft.status().message();
  EXPECT_EQ((*dft)->type().toString(), "f32[1,65,2]");
  auto dq = b.create(OpKind::DynamicQuantizeLinear, {sig}, {}, 3);
  ASSERT_TRUE(dq.ok()) << dq.status().message();
  EXPECT_EQ((*dq)->result(0)->type().toString(), "u8[1,128,1]");
  EXPECT_EQ((*dq)->result(1)->type().toString(), "f32[]");
}

// A string tensor where a kernel reads numbers must be an error naming the op, never a throw
// (Dropout reads its ratio with Tensor::getDouble, which throws on strings).
TEST(MathKernels, StringOperandIsAnErrorNotAnException) {
  Expected<std::vector<Tensor>> r = Status::error("not run");
  ASSERT_NO_THROW(r = runOp(OpKind::Dropout, {f32({2}, {1, 2}), strT({}, {"half"})}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Dropout"), std::string::npos) << r.status().message();
}

// 0 * inf is NaN: the GEMM must not skip zero elements of A (numpy: [[0, 1]] @ [[inf], [1]] = [[nan]]).
TEST(MathKernels, MatMulPropagatesZeroTimesInf) {
  auto r = runOp(OpKind::MatMul, {f32({1, 2}, {0, 1}), f32({2, 1}, {INFINITY, 1})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(std::isnan((*r)[0].getDouble(0)));
}

// Relu(NaN) is NaN, as ONNX's np.maximum(x, 0); Relu(-0) is +0.
TEST(MathKernels, ReluKeepsNaN) {
  auto r = runOp(OpKind::Relu, {f32({3}, {NAN, -0.0f, -2})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(std::isnan((*r)[0].getDouble(0)));
  EXPECT_EQ((*r)[0].getDouble(1), 0.0);
  EXPECT_FALSE(std::signbit((*r)[0].getDouble(1)));
  EXPECT_EQ((*r)[0].getDouble(2), 0.0);
}

// HardSigmoid, HardSwish and Clip pass NaN through (ONNX's reference uses np.clip), and saturate
// at their bounds: HardSigmoid(x; 0.2, 0.5) of -10, 10 is 0, 1; HardSwish of -4, 4 is -0, 4.
TEST(MathKernels, ClampingActivationsKeepNaN) {
  Tensor x = f32({3}, {NAN, -10, 10});
  for (OpKind k : {OpKind::HardSigmoid, OpKind::HardSwish, OpKind::Clip}) {
    std::vector<Tensor> in = {x};
    if (k == OpKind::Clip) in = {x, f32({}, {-1}), f32({}, {1})};
    auto r = runOp(k, in);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(std::isnan((*r)[0].getDouble(0))) << opName(k);
  }
  auto hs = runOp(OpKind::HardSigmoid, {x});
  ASSERT_TRUE(hs.ok());
  EXPECT_EQ((*hs)[0].getDouble(1), 0.0);
  EXPECT_EQ((*hs)[0].getDouble(2), 1.0);
  auto sw = runOp(OpKind::HardSwish, {f32({2}, {-4, 4})});
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ((*sw)[0].getDouble(0), 0.0);
  EXPECT_EQ((*sw)[0].getDouble(1), 4.0);
}

}  // namespace
}  // namespace dlc::testing
