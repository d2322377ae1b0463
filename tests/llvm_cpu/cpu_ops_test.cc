// The LLVM CPU target against the reference kernels, op by op over randomized shapes (odd sizes,
// strides, padding, dilation, groups, broadcasting, fused epilogues, both vector ISAs) and on
// multi-op segments whose intermediates live in the planned workspace. Every case must run as
// compiled code: a silent fallback to the reference kernels would pass and test nothing.
#include "dlc_kernels_cpu.h"
#include "dlc_kernels_reference.h"
#include "passes/pass_manager.h"
#include "tests/common/backend_case.h"

namespace dlc::testing {

void registerTestLibraries() {
  runtime::check(dlc_kernels_reference_register());
  runtime::check(dlc_kernels_cpu_register());
}

namespace {

struct Case : BackendCase {
  explicit Case(uint32_t seed, std::string cpu = "") : BackendCase("cpu", seed) { setCpu(std::move(cpu)); }
};

const CaseSizes kSizes{19, 23, 40, 70, 90, 75, true};

// The AVX2 kernels run on any machine with AVX2 (the AVX-512 ones are what `native` picks here).
const char* cpuFor(uint32_t seed) { return seed % 3 == 0 ? "x86-64-v3" : ""; }

TEST(CpuOps, Convolutions) {
  for (uint32_t seed = 1; seed <= 24; ++seed) {
    Case c(seed, cpuFor(seed));
    std::string what = randomConvolution(c, kSizes);
    c.check(str("conv seed ", seed, ": ", what, " cpu ", cpuFor(seed)));
  }
}

TEST(CpuOps, LargerAndOneDimensionalConvolutions) {
  struct Shape {
    int64_t ch, hw, oc, k, stride, group;
  };
  const Shape shapes[] = {{64, 14, 64, 3, 1, 1}, {32, 28, 96, 1, 1, 1}, {96, 15, 96, 3, 2, 96}, {3, 32, 16, 7, 2, 1},
                          {128, 7, 256, 1, 2, 1}, {48, 9, 48, 5, 1, 48}, {40, 10, 80, 3, 1, 4}};
  uint32_t seed = 100;
  for (const Shape& s : shapes) {
    for (const char* cpu : {"", "x86-64-v3"}) {
      Case c(seed++, cpu);
      Value* x = c.input({1, s.ch, s.hw, s.hw});
      int64_t p = s.k / 2;
      c.output(c.op1(OpKind::FusedConv, {x, c.weight({s.oc, s.ch / s.group, s.k, s.k}, -0.2f, 0.2f), c.weight({s.oc})},
                     {{"strides", Attribute::ofInts({s.stride, s.stride})}, {"pads", Attribute::ofInts({p, p, p, p})},
                      {"group", Attribute::ofInt(s.group)}, {"activation", Attribute::ofString("Relu")}}));
      c.check(str("conv ", s.ch, "->", s.oc, " k", s.k, " s", s.stride, " g", s.group, " on ", s.hw, " cpu ", cpu));
    }
  }
  Case c(150);  // 1-D: [N, C, W]
  c.output(c.op1(OpKind::Conv, {c.input({2, 5, 31}), c.weight({7, 5, 3}), c.weight({7})},
                 {{"pads", Attribute::ofInts({1, 2})}, {"strides", Attribute::ofInts({2})}}));
  c.check("1-D convolution");
}

TEST(CpuOps, MatMuls) {
  for (uint32_t seed = 1; seed <= 24; ++seed) {
    Case c(seed, cpuFor(seed));
    std::string what = randomMatMul(c, kSizes);
    c.check(str("matmul seed ", seed, ": ", what, " cpu ", cpuFor(seed)));
  }
  Case plain(99);  // batched x batched, broadcasting the batch
  plain.output(plain.op1(OpKind::MatMul, {plain.input({2, 3, 5, 7}), plain.input({1, 3, 7, 4})}));
  plain.check("batched matmul");
  Case bert(98);  // BERT-base's shapes, packed weights, Gelu epilogue
  bert.output(bert.op1(OpKind::FusedMatMul, {bert.input({1, 128, 768}), bert.weight({768, 3072}, -0.05f, 0.05f), bert.weight({3072})},
                       {{"activation", Attribute::ofString("Gelu")}}));
  bert.check("BERT intermediate projection");
}

// Block-quantized weights decoded slab by slab inside the GEMM: 4 and 8 bits, each zero-point form,
// K a multiple of the block and not (the last block padded), one row (token generation) to many.
TEST(CpuOps, MatMulNBits) {
  struct Shape {
    std::vector<int64_t> a;
    int64_t n, block, bits;
    int zp;  // 0 none, 1 packed u8, 2 f32
    bool bias;
  };
  const Shape shapes[] = {{{1, 256}, 96, 32, 4, 1, true},   {{5, 200}, 50, 64, 4, 0, false},  {{2, 37, 130}, 77, 16, 4, 2, true},
                          {{3, 96}, 48, 32, 8, 1, false},   {{1, 1, 512}, 130, 128, 8, 0, true}, {{64, 768}, 200, 128, 4, 1, true},
                          {{9, 64}, 17, 128, 4, 1, false}};
  uint32_t seed = 300;
  for (const Shape& s : shapes) {
    for (const char* cpu : {"", "x86-64-v3"}) {
      Case c(seed++, cpu);
      const int64_t k = s.a.back(), blocks = (k + s.block - 1) / s.block;
      std::vector<Value*> operands{c.input(s.a), c.weight({s.n, blocks, s.block * s.bits / 8}, 0, 255, DType::U8),
                                   c.weight({s.n * blocks}, 0.01f, 0.1f)};
      if (s.zp == 1) operands.push_back(c.weight({s.n * ((blocks * s.bits + 7) / 8)}, 0, 255, DType::U8));
      if (s.zp == 2) operands.push_back(c.weight({s.n * blocks}, 0, float((1 << s.bits) - 1)));
      if (s.bias) {
        operands.resize(5, nullptr);
        operands.push_back(c.weight({s.n}));
      }
      c.output(c.op1(OpKind::MatMulNBits, operands,
                     {{"K", Attribute::ofInt(k)}, {"N", Attribute::ofInt(s.n)}, {"bits", Attribute::ofInt(s.bits)},
                      {"block_size", Attribute::ofInt(s.block)}}));
      c.check(str("MatMulNBits ", s.a.size(), "-D A K=", k, " N=", s.n, " block ", s.block, " bits ", s.bits, " zp ", s.zp,
                  s.bias ? " bias" : "", " cpu ", cpu));
    }
  }
}

// Pruned weights take the sparse kernel (sparse_choice.cc's sparseMaxDensity: 64 rows and 25% nonzero, or
// 16 rows and 11%), in MatMuls and pointwise convolutions: row tiles with a tail, the batch folded into rows, transB, every epilogue (bias,
// activation, residual), columns without a nonzero, both vector ISAs. DLC_CPU_EXPLAIN says which
// MatMuls took it, so the test knows the sparse code ran.
TEST(CpuOps, SparseWeightMatMul) {
  struct Shape {
    std::vector<int64_t> a;
    int64_t n;
    double density;
    bool trans_b;
    const char* activation;  // null: plain MatMul
    bool residual;
  };
  const Shape shapes[] = {{{40, 96}, 70, 0.05, false, nullptr, false},     {{2, 33, 64}, 130, 0.2, false, "Relu", false},
                          {{17, 50}, 33, 0.05, true, "Gelu", true},         {{128, 768}, 3072, 0.2, false, "Gelu", false},
                          {{64, 200}, 48, 0.01, false, "none", true},       {{16, 8}, 5, 0.05, true, "Sigmoid", false}};
  setenv("DLC_CPU_EXPLAIN", "1", 1);
  uint32_t seed = 400;
  for (const Shape& s : shapes) {
    for (const char* cpu : {"", "x86-64-v3"}) {
      Case c(seed++, cpu);
      const int64_t k = s.a.back();
      Value* a = c.input(s.a);
      Value* w = c.sparseWeight(s.trans_b ? std::vector<int64_t>{s.n, k} : std::vector<int64_t>{k, s.n}, s.density);
      std::vector<int64_t> y = s.a;
      y.back() = s.n;
      if (!s.activation) {
        c.output(c.op1(OpKind::MatMul, {a, w}));
      } else {
        std::vector<Value*> operands{a, w, c.weight({s.n})};
        if (s.residual) operands.push_back(c.input(y));
        c.output(c.op1(OpKind::FusedMatMul, operands,
                       {{"activation", Attribute::ofString(s.activation)}, {"transB", Attribute::ofInt(s.trans_b ? 1 : 0)}}));
      }
      const std::string what = str("sparse MatMul ", s.a.size(), "-D A K=", k, " N=", s.n, " density ", s.density,
                                   s.trans_b ? " transB" : "", " ", s.activation ? s.activation : "plain", s.residual ? " residual" : "",
                                   " cpu ", cpu);
      ::testing::internal::CaptureStderr();
      c.check(what);
      const std::string err = ::testing::internal::GetCapturedStderr();
      EXPECT_NE(err.find("sparse kernel"), std::string::npos) << what << ": the sparse kernel was not chosen: " << err;
    }
  }
  // Pointwise convolutions: the same kernel per image, X and Y in NCHW (bias per channel, ReLU,
  // the residual of a bottleneck block), and one with too few positions per image to take it.
  struct ConvShape {
    std::vector<int64_t> x;
    int64_t oc;
    double density;
    bool residual;
    bool sparse;
  };
  const ConvShape convs[] = {{{2, 64, 9, 9}, 48, 0.2, false, true}, {{1, 40, 14, 14}, 96, 0.05, true, true},
                             {{3, 16, 5, 7}, 24, 0.05, false, true}, {{1, 32, 3, 3}, 8, 0.05, false, false}};
  for (const ConvShape& s : convs) {
    for (const char* cpu : {"", "x86-64-v3"}) {
      Case c(seed++, cpu);
      std::vector<Value*> operands{c.input(s.x), c.sparseWeight({s.oc, s.x[1], 1, 1}, s.density), c.weight({s.oc})};
      if (s.residual) operands.push_back(c.input({s.x[0], s.oc, s.x[2], s.x[3]}));
      c.output(c.op1(OpKind::FusedConv, operands, {{"activation", Attribute::ofString("Relu")}}));
      const std::string what = str("sparse 1x1 conv ", s.x[1], "->", s.oc, " on ", s.x[0], "x", s.x[2], "x", s.x[3], " density ", s.density,
                                   s.residual ? " residual" : "", " cpu ", cpu);
      ::testing::internal::CaptureStderr();
      c.check(what);
      const std::string err = ::testing::internal::GetCapturedStderr();
      EXPECT_EQ(err.find("sparse kernel") != std::string::npos, s.sparse) << what << ": " << err;
    }
  }
  unsetenv("DLC_CPU_EXPLAIN");
}

// Every other convolution of one group takes the sparse convolution kernel (conv_sparse.cc; at most
// 20% nonzero, 12% for strided windows: sparseConvMaxDensity): 3x3
// with padding (grid columns dropped at each row's end), strided ones (2 and 4 stride phases of 4,
// and 1 of 4 for a 1x1 stride-2 shortcut), dilated, asymmetric strides and pads, one row (as 1-D ones run), bands
// of rows with a short last band (large inputs), the batch, and the epilogues.
TEST(CpuOps, SparseWeightConv) {
  struct ConvShape {
    std::vector<int64_t> x;
    int64_t oc, kh, kw;
    std::vector<int64_t> strides, dilations, pads;
    double density;
    const char* activation;  // null: plain Conv without bias
    bool residual;
  };
  const ConvShape convs[] = {
      {{1, 16, 12, 12}, 24, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 0.15, "Relu", false},
      {{2, 24, 17, 13}, 20, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0.08, "Relu", true},
      {{1, 32, 14, 14}, 48, 1, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, 0.05, nullptr, false},
      {{1, 8, 20, 19}, 12, 5, 5, {1, 1}, {2, 2}, {4, 4, 4, 4}, 0.15, "Sigmoid", false},
      {{1, 12, 15, 21}, 16, 3, 2, {1, 2}, {1, 1}, {0, 1, 2, 0}, 0.08, "none", true},
      {{1, 6, 9, 31}, 10, 7, 7, {4, 3}, {1, 1}, {3, 3, 3, 3}, 0.08, "Gelu", false},
      {{1, 64, 56, 56}, 64, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 0.1, "Relu", true},
      {{1, 3, 40, 40}, 16, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, 0.08, nullptr, false},
      {{2, 10, 1, 90}, 14, 1, 3, {1, 1}, {1, 1}, {0, 1, 0, 1}, 0.1, "Relu", false},
  };
  setenv("DLC_CPU_EXPLAIN", "1", 1);
  uint32_t seed = 500;
  for (const ConvShape& s : convs) {
    for (const char* cpu : {"", "x86-64-v3"}) {
      Case c(seed++, cpu);
      const int64_t oh = (s.x[2] + s.pads[0] + s.pads[2] - (s.kh - 1) * s.dilations[0] - 1) / s.strides[0] + 1;
      const int64_t ow = (s.x[3] + s.pads[1] + s.pads[3] - (s.kw - 1) * s.dilations[1] - 1) / s.strides[1] + 1;
      std::map<std::string, Attribute> attrs{{"strides", Attribute::ofInts(s.strides)},
                                             {"dilations", Attribute::ofInts(s.dilations)},
                                             {"pads", Attribute::ofInts(s.pads)}};
      std::vector<Value*> operands{c.input(s.x), c.sparseWeight({s.oc, s.x[1], s.kh, s.kw}, s.density)};
      if (s.activation) {
        operands.push_back(c.weight({s.oc}));
        if (s.residual) operands.push_back(c.input({s.x[0], s.oc, oh, ow}));
        attrs["activation"] = Attribute::ofString(s.activation);
      }
      c.output(c.op1(s.activation ? OpKind::FusedConv : OpKind::Conv, operands, attrs));
      const std::string what = str("sparse ", s.kh, "x", s.kw, " conv ", s.x[1], "->", s.oc, " on ", s.x[0], "x", s.x[2], "x", s.x[3],
                                   " stride ", s.strides[0], ",", s.strides[1], " dilation ", s.dilations[0], " density ", s.density,
                                   s.activation ? s.activation : " plain", s.residual ? " residual" : "", " cpu ", cpu);
      ::testing::internal::CaptureStderr();
      c.check(what);
      const std::string err = ::testing::internal::GetCapturedStderr();
      EXPECT_NE(err.find("sparse kernel"), std::string::npos) << what << ": the sparse kernel was not chosen: " << err;
    }
  }
  unsetenv("DLC_CPU_EXPLAIN");
}

TEST(CpuOps, Pooling) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Case c(seed, cpuFor(seed));
    std::string what = randomPooling(c, 35);
    c.check(str("pool seed ", seed, " ", what));
  }
  Case c(7);
  c.output(c.op1(OpKind::GlobalAveragePool, {c.input({2, 13, 7, 5})}));
  c.check("GlobalAveragePool");
}

TEST(CpuOps, Elementwise) {
  const std::pair<OpKind, float> kinds[] = {
      {OpKind::Relu, -1},     {OpKind::LeakyRelu, -1}, {OpKind::Elu, -1},   {OpKind::Selu, -1},      {OpKind::Celu, -1},
      {OpKind::Sigmoid, -1},  {OpKind::Tanh, -1},      {OpKind::Exp, -1},   {OpKind::Log, 0.01f},    {OpKind::Sqrt, 0.0f},
      {OpKind::Abs, -1},      {OpKind::Neg, -1},       {OpKind::Erf, -1},   {OpKind::HardSwish, -1}, {OpKind::HardSigmoid, -1},
      {OpKind::Gelu, -1},     {OpKind::Softplus, -1},  {OpKind::Floor, -1}, {OpKind::Ceil, -1},      {OpKind::Reciprocal, 0.5f},
      {OpKind::Identity, -1}};
  for (const auto& [kind, lo] : kinds) {
    for (const char* cpu : {"", "x86-64-v3"}) {
      Case c(static_cast<uint32_t>(kind) + 3, cpu);
      c.output(c.op1(kind, {c.input({2, 3, 5, 37}, lo < 0 ? -6.0f : lo, 6.0f)}));
      c.check(str(opName(kind), " cpu ", cpu));
    }
  }
  Case clip(5);
  clip.output(clip.op1(OpKind::Clip, {clip.input({3, 17}, -3, 3), clip.scalar(-0.5f), clip.scalar(1.25f)}));
  clip.check("Clip");
  Case tanh_gelu(6);
  tanh_gelu.output(tanh_gelu.op1(OpKind::Gelu, {tanh_gelu.input({4, 9}, -4, 4)}, {{"approximate", Attribute::ofString("tanh")}}));
  tanh_gelu.check("Gelu tanh");
  Case big(8);  // long enough to be split over threads
  big.output(big.op1(OpKind::Sigmoid, {big.input({3, 70001}, -8, 8)}));
  big.check("Sigmoid over 210003 elements");
}

TEST(CpuOps, BinaryWithBroadcasting) {
  const std::vector<int64_t> full{2, 3, 4, 33};
  const std::vector<std::vector<int64_t>> others{{2, 3, 4, 33}, {33}, {1}, {3, 1, 1}, {2, 1, 4, 1}, {1, 3, 4, 33}, {4, 1}};
  uint32_t seed = 1;
  for (OpKind kind : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Max, OpKind::Min, OpKind::PRelu}) {
    for (const auto& other : others) {
      for (bool swap : {false, true}) {
        if (swap && kind == OpKind::PRelu) continue;
        Case c(seed++);
        Value* a = c.input(full);
        Value* b = kind == OpKind::Div ? c.input(other, 0.5f, 2.0f) : c.input(other);
        c.output(c.op1(kind, swap ? std::vector<Value*>{b, a} : std::vector<Value*>{a, b}));
        c.check(str(opName(kind), " with ", Shape::of(other).toString(), swap ? " (broadcast first)" : ""));
      }
    }
  }
  for (OpKind kind : {OpKind::Sum, OpKind::Mean}) {  // variadic, broadcasting
    Case c(seed++);
    c.output(c.op1(kind, {c.input(full), c.input({3, 1, 1}), c.input({33})}));
    c.check(opName(kind));
  }
  for (float exponent : {1.0f, 2.0f, 3.0f, 0.5f, -1.0f}) {  // Pow by the constant exponents it lowers
    Case c(seed++);
    c.output(c.op1(OpKind::Pow, {c.input({4, 9}, 0.5f, 2.0f), c.scalar(exponent)}));
    c.check(str("Pow ", exponent));
  }
  Case constant(90);  // a constant scalar operand becomes an immediate
  constant.output(constant.op1(OpKind::Mul, {constant.input({5, 7}), constant.scalar(0.25f)}));
  constant.check("Mul by a constant scalar");
}

// A tree of elementwise ops fused into one FusedElementwise region by the pass, then one loop.
TEST(CpuOps, FusedElementwiseRegions) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    Case c(seed, cpuFor(seed));
    Value* x = c.input({2, 8, 9, 11}, -3, 3);
    Value* s = c.input({1, 8, 1, 1});
    Value* y = c.op1(OpKind::Mul, {x, c.op1(OpKind::Sigmoid, {x})});        // SiLU
    y = c.op1(OpKind::Add, {y, c.op1(OpKind::Tanh, {s})});                   // broadcast per channel
    y = c.op1(OpKind::Clip, {y, c.scalar(-1.0f), c.scalar(2.5f)});
    y = c.op1(OpKind::Mul, {y, c.op1(OpKind::Exp, {c.op1(OpKind::Neg, {c.op1(OpKind::Abs, {x})})})});
    c.output(y);
    c.runPasses({"fuse-elementwise"});
    ASSERT_TRUE(c.has(OpKind::FusedElementwise));
    c.check(str("fused region seed ", seed), 1e-4, 1, 1);
  }
}

TEST(CpuOps, NormalizationSoftmaxAndDataMovement) {
  for (int axis : {-1, 0, 1, 2}) {
    for (OpKind kind : {OpKind::Softmax, OpKind::LogSoftmax}) {
      Case c(11 + static_cast<uint32_t>(axis + 1));
      c.output(c.op1(kind, {c.input({3, 4, 37}, -5, 5)}, {{"axis", Attribute::ofInt(axis)}}));
      c.check(str(opName(kind), " axis ", axis));
    }
  }
  for (int64_t len : {7, 768}) {
    Case ln(21);
    ln.output(ln.op1(OpKind::LayerNormalization, {ln.input({2, 5, len}, -2, 3), ln.weight({len}), ln.weight({len})},
                     {{"epsilon", Attribute::ofFloat(1e-5f)}}));
    ln.check(str("LayerNormalization over ", len));
    Case rms(22);
    rms.output(rms.op1(OpKind::RMSNormalization, {rms.input({2, 5, len}, -2, 3), rms.weight({len})}, {{"epsilon", Attribute::ofFloat(1e-6f)}}));
    rms.check(str("RMSNormalization over ", len));
  }
  Case rms2(23);  // over the last two axes
  rms2.output(rms2.op1(OpKind::RMSNormalization, {rms2.input({3, 4, 9}), rms2.weight({4, 9})}, {{"axis", Attribute::ofInt(1)}}));
  rms2.check("RMSNormalization over two axes");
  for (int axis : {0, 1, 3}) {
    Case c(30 + static_cast<uint32_t>(axis));
    std::vector<int64_t> d1{2, 3, 4, 5}, d2 = d1;
    d2[static_cast<size_t>(axis)] = 7;
    c.output(c.op1(OpKind::Concat, {c.input(d1), c.input(d2), c.input(d1)}, {{"axis", Attribute::ofInt(axis)}}));
    c.check(str("Concat axis ", axis));
  }
  Case t(40);
  t.output(t.op1(OpKind::Transpose, {t.input({2, 3, 4, 5})}, {{"perm", Attribute::ofInts({2, 0, 3, 1})}}));
  t.check("Transpose");
  Case s(43);
  Op* split = s.op(OpKind::Split, {s.input({2, 9, 4}), s.ints({2, 3, 4})}, {{"axis", Attribute::ofInt(1)}}, 3);
  for (int i = 0; i < 3; ++i) s.output(split->result(i));
  s.check("Split");
  // Views share memory inside a segment; one that is the segment's output is copied out.
  Case v(44);
  Value* r = v.op1(OpKind::Relu, {v.input({2, 3, 4, 5})});
  r = v.op1(OpKind::Reshape, {r, v.ints({6, 20})});
  r = v.op1(OpKind::Sigmoid, {r});
  v.output(v.op1(OpKind::Flatten, {v.op1(OpKind::Reshape, {r, v.ints({2, 3, 20})})}, {{"axis", Attribute::ofInt(2)}}));
  v.check("views inside and at the end of a segment", 1e-4, 1, 1);
}

TEST(CpuOps, BatchNormSliceAndReduceMean) {
  Case bn(80);
  bn.output(bn.op1(OpKind::BatchNormalization,
                   {bn.input({2, 5, 6, 7}), bn.weight({5}), bn.weight({5}), bn.weight({5}), bn.weight({5}, 0.5f, 2.0f)}));
  bn.check("BatchNormalization");
  Case sl(81);  // starts/ends with negatives and clamping, an axis subset, steps
  sl.output(sl.op1(OpKind::Slice, {sl.input({4, 9, 10}), sl.ints({1, -8, 0}), sl.ints({100, 8, -1}), sl.ints({0, 1, 2}),
                                   sl.ints({2, 3, 1})}));
  sl.check("Slice with steps");
  Case sl2(82);
  sl2.output(sl2.op1(OpKind::Slice, {sl2.input({3, 16}), sl2.ints({8}), sl2.ints({16}), sl2.ints({-1})}));
  sl2.check("Slice of the last axis");
  for (int keep = 0; keep < 2; ++keep) {
    Case rm(83 + static_cast<uint32_t>(keep));
    rm.output(rm.op1(OpKind::ReduceMean, {rm.input({2, 7, 5, 9})}, {{"axes", Attribute::ofInts({2, 3})}, {"keepdims", Attribute::ofInt(keep)}}));
    rm.check(str("ReduceMean keepdims ", keep));
  }
}

TEST(CpuOps, Attention) {
  for (int mask = 0; mask < 3; ++mask) {
    Case c(50 + static_cast<uint32_t>(mask));
    int64_t b = 2, seq = 7, t = 19, heads = 3, d = 8;
    std::vector<Value*> operands{c.input({b, seq, heads * d}), c.input({b, t, heads * d}), c.input({b, t, heads * 5})};
    if (mask == 1) operands.push_back(c.input({b, 1, 1, t}, -3, 0));
    if (mask == 2) operands.push_back(c.input({seq, t}, -3, 0));
    c.output(c.op1(OpKind::Attention, operands, {{"num_heads", Attribute::ofInt(heads)}}));
    c.check(str("Attention mask ", mask));
  }
  Case bert(55);  // BERT-base: 12 heads of 64 over 128 tokens
  bert.output(bert.op1(OpKind::Attention, {bert.input({1, 128, 768}), bert.input({1, 128, 768}), bert.input({1, 128, 768})},
                       {{"num_heads", Attribute::ofInt(12)}}));
  bert.check("BERT attention");
}

// A small CNN as one segment: intermediates in the planned workspace, reused as they die.
TEST(CpuOps, OneSegmentCnn) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    Case c(seed, cpuFor(seed));
    smallCnn(c);
    c.check(str("segment seed ", seed), 1e-4, 1, 1);
  }
}

// One artifact for any batch, sequence length or image size: a segment with symbolic dims reads its
// sizes from a table planned per binding at run time, so one session alternates shapes (a repeated
// binding reuses its table; a size of 1 broadcasts where others do not).
TEST(CpuOps, SymbolicShapes) {
  Case t(70);
  Value* g = symbolicEncoderBlock(t);  // and an RMSNorm, transposes, a softmax over the sequence, a concat
  g = t.op1(OpKind::RMSNormalization, {g, t.weight({24})});
  Value* sm = t.op1(OpKind::Softmax, {t.op1(OpKind::Transpose, {g}, {{"perm", Attribute::ofInts({0, 2, 1})}})}, {{"axis", Attribute::ofInt(-1)}});
  t.output(t.op1(OpKind::Concat, {g, t.op1(OpKind::Transpose, {sm}, {{"perm", Attribute::ofInts({0, 2, 1})}})}, {{"axis", Attribute::ofInt(1)}}));
  t.checkBindings("encoder block", {{{"N", 2}, {"S", 7}}, {{"N", 1}, {"S", 16}}, {{"N", 5}, {"S", 1}}, {{"N", 2}, {"S", 7}}}, 1e-4, 1);

  Case c(71);
  smallCnn(c, c.symbolicInput({Dim::sym("B"), Dim::of(3), Dim::of(20), Dim::of(20)}));
  c.checkBindings("cnn", {{{"B", 1}}, {{"B", 4}}, {{"B", 1}}}, 1e-4, 1);

  // Image height and width: strided convolution and pooling sizes only a run knows ("?").
  Case img(72);
  Value* im = img.symbolicInput({Dim::sym("B"), Dim::of(3), Dim::sym("H"), Dim::sym("W")});
  Value* y = img.op1(OpKind::FusedConv, {im, img.weight({8, 3, 3, 3}), img.weight({8})},
                     {{"pads", Attribute::ofInts({1, 1, 1, 1})}, {"strides", Attribute::ofInts({2, 2})}, {"activation", Attribute::ofString("Relu")}});
  y = img.op1(OpKind::BatchNormalization, {y, img.weight({8}), img.weight({8}), img.weight({8}), img.weight({8}, 0.5f, 2.0f)});
  Value* p = img.op1(OpKind::AveragePool, {y}, {{"kernel_shape", Attribute::ofInts({3, 3})}, {"strides", Attribute::ofInts({1, 1})},
                                                {"pads", Attribute::ofInts({1, 1, 1, 1})}});
  y = img.op1(OpKind::Mul, {img.op1(OpKind::Sigmoid, {p}), y});
  img.output(y);
  img.output(img.op1(OpKind::Flatten, {img.op1(OpKind::ReduceMean, {y}, {{"axes", Attribute::ofInts({2, 3})}})}));
  img.checkBindings("image", {{{"B", 1}, {"H", 9}, {"W", 13}}, {{"B", 2}, {"H", 32}, {"W", 1}}, {{"B", 1}, {"H", 1}, {"W", 1}}}, 1e-4, 1);

  // Operands whose dims broadcast only at some sizes ([N,8] + [M,8] with N or M of 1).
  Case bc(73);
  bc.output(bc.op1(OpKind::Mul, {bc.symbolicInput({Dim::sym("N"), Dim::of(8)}), bc.symbolicInput({Dim::sym("M"), Dim::of(8)})}));
  bc.checkBindings("broadcast", {{{"N", 1}, {"M", 5}}, {{"N", 5}, {"M", 1}}, {{"N", 3}, {"M", 3}}}, 1e-4, 1);
}

// A run shape the code was not generated for (here a batch that broadcasts between the operands of
// a MatMul, which takes one kernel call per entry) is a one-line error naming the op, not a misread.
TEST(CpuOps, SymbolicShapeTheCodeDoesNotFit) {
  Case c(74);
  c.output(c.op1(OpKind::MatMul, {c.symbolicInput({Dim::sym("N"), Dim::of(2), Dim::of(4), Dim::of(8)}),
                                  c.symbolicInput({Dim::sym("M"), Dim::of(2), Dim::of(8), Dim::of(5)})}));
  EXPECT_EQ(c.runFailure({{"N", 3}, {"M", 3}}), "");
  std::string error = c.runFailure({{"N", 1}, {"M", 3}});
  EXPECT_NE(error.find("MatMul"), std::string::npos) << error;
  EXPECT_NE(error.find("broadcast over the batch"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

// Sessions on four threads running one symbolic model at 70 batch sizes, more than a step keeps
// tables for: planning, shared use and eviction race with runs, and every output stays right.
TEST(CpuOps, SymbolicShapesFromManyThreads) {
  Case c(75);
  smallCnn(c, c.symbolicInput({Dim::sym("B"), Dim::of(3), Dim::of(20), Dim::of(20)}));
  std::vector<SymbolSizes> bindings;
  for (int64_t b = 1; b <= DLC_CPU_SHAPES_PER_STEP + 6; ++b) bindings.push_back({{"B", b}});
  c.checkBindingsConcurrently("cnn", bindings, 4, 2);
}

// An op the cpu target does not lower splits the model into compiled segments around a
// reference step, in one artifact.
TEST(CpuOps, UnsupportedOpsRunThroughTheReferenceKernels) {
  Case c(70);
  Value* x = c.input({4, 6});
  Value* y = c.op1(OpKind::Relu, {x});
  y = c.op1(OpKind::CumSum, {y, c.ints({1})});
  y = c.op1(OpKind::Sigmoid, {y});
  c.output(y);
  c.allowReference();
  c.check("Relu, CumSum (reference), Sigmoid", 1e-4, 1, 3);
  EXPECT_EQ(c.stepLibraries(), (std::vector<std::string>{"cpu", "reference", "cpu"}));
}

// Two models loaded at once, in one process, each running its own native code: their memory files
// once got the same /proc/self/fd path, and dlopen then returned the first model's library for
// the second (a batch-16 model ran batch-64 code, reading past its input).
TEST(CpuOps, ModelsLoadedTogetherRunTheirOwnCode) {
  auto compile = [](OpKind kind) {
    Graph g;
    Builder b(g.body());
    Value* x = b.addInput("x", Type::tensor(DType::F32, Shape::of({4})));
    auto op = b.create(kind, {x}, {}, 1, "op");
    EXPECT_TRUE(op.ok());
    b.addOutput((*op)->result());
    backends::ArtifactOptions options;
    options.target = "cpu";
    auto bytes = backends::writeArtifact(g, options);
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    return *bytes;
  };
  registerTestLibraries();
  const std::string neg_bytes = compile(OpKind::Neg), relu_bytes = compile(OpKind::Relu);
  auto neg = runtime::Model::loadMemory(neg_bytes.data(), neg_bytes.size());
  auto relu = runtime::Model::loadMemory(relu_bytes.data(), relu_bytes.size());
  const float x[4] = {-2, -1, 1, 2};
  const float want_neg[4] = {2, 1, -1, -2}, want_relu[4] = {0, 0, 1, 2};
  for (auto [model, want] : {std::pair{&neg, want_neg}, std::pair{&relu, want_relu}}) {
    runtime::Session session(*model, 1);
    session.bindInput(0, 1, {4}, x, sizeof x);
    session.run();
    dlc_tensor out = session.output(0);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(static_cast<const float*>(out.data)[i], want[i]) << "element " << i;
  }
}

}  // namespace
}  // namespace dlc::testing
