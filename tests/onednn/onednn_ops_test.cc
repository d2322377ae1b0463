// The oneDNN target against the reference kernels, op by op over randomized shapes (odd sizes,
// strides, padding, dilation, groups, broadcasting, fused epilogues) and on multi-op segments
// whose blocked layouts are carried between primitives. Every case must actually run as oneDNN
// steps: a silent fallback to the reference kernels would pass the comparison and test nothing.
#include "dlc_kernels_cpu.h"
#include "dlc_kernels_onednn.h"
#include "dlc_kernels_reference.h"
#include "backends/onednn/library/program.h"
#include "backends/specialize/segment_specialize.h"
#include "ir/parser.h"
#include "tests/common/backend_case.h"

namespace dlc::testing {

void registerTestLibraries() {
  runtime::check(dlc_kernels_reference_register());
  runtime::check(dlc_kernels_onednn_register());
  runtime::check(dlc_kernels_cpu_register());
}

namespace {

struct Case : BackendCase {
  explicit Case(uint32_t seed) : BackendCase("onednn", seed) {}
};

const CaseSizes kSizes{9, 17, 12, 33, 40, 37, false};

TEST(OnednnOps, Convolutions) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    Case c(seed);
    std::string what = randomConvolution(c, kSizes);
    c.check(str("conv seed ", seed, ": ", what));
  }
}

TEST(OnednnOps, MatMuls) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Case c(seed);
    std::string what = randomMatMul(c, kSizes);
    c.check(str("matmul seed ", seed, ": ", what));
  }
  Case plain(99);  // batched x batched, broadcasting the batch
  Value* a = plain.input({2, 3, 5, 7});
  Value* b = plain.input({1, 3, 7, 4});
  plain.output(plain.op1(OpKind::MatMul, {a, b}));
  plain.check("batched matmul");
}

TEST(OnednnOps, Pooling) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Case c(seed);
    std::string what = randomPooling(c, 15);
    c.check(str("pool seed ", seed, " ", what));
  }
  for (OpKind kind : {OpKind::GlobalAveragePool, OpKind::GlobalMaxPool}) {
    Case c(7);
    c.output(c.op1(kind, {c.input({2, 13, 7, 5})}));
    c.check(opName(kind));
  }
}

TEST(OnednnOps, Eltwise) {
  const std::pair<OpKind, float> kinds[] = {{OpKind::Relu, -1}, {OpKind::LeakyRelu, -1}, {OpKind::Elu, -1}, {OpKind::Sigmoid, -1},
                                            {OpKind::Tanh, -1}, {OpKind::Exp, -1}, {OpKind::Sqrt, 0.0f},
                                            {OpKind::Abs, -1}, {OpKind::Neg, -1}, {OpKind::HardSwish, -1}, {OpKind::Gelu, -1}};
  for (const auto& [kind, lo] : kinds) {
    Case c(static_cast<uint32_t>(kind) + 3);
    c.output(c.op1(kind, {c.input({2, 3, 5, 7}, lo < 0 ? -4.0f : lo, 4.0f)}));
    c.check(opName(kind));
  }
  Case clip(5);
  clip.output(clip.op1(OpKind::Clip, {clip.input({3, 17}, -3, 3), clip.scalar(-0.5f), clip.scalar(1.25f)}));
  clip.check("Clip");
  Case tanh_gelu(6);
  tanh_gelu.output(tanh_gelu.op1(OpKind::Gelu, {tanh_gelu.input({4, 9}, -4, 4)}, {{"approximate", Attribute::ofString("tanh")}}));
  tanh_gelu.check("Gelu tanh");
}

TEST(OnednnOps, BinaryWithBroadcasting) {
  const OpKind kinds[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Max, OpKind::Min};
  const std::vector<std::vector<int64_t>> others = {{2, 6, 5, 3}, {1, 6, 1, 1}, {6, 1, 1}, {3}, {}, {2, 1, 5, 1}};
  uint32_t seed = 1;
  for (OpKind kind : kinds)
    for (const auto& other : others) {
      Case c(seed++);
      Value* a = c.input({2, 6, 5, 3});
      Value* b = other.empty() ? c.scalar(1.5f) : c.input(other, 0.5f, 2.0f);
      bool swap = (kind == OpKind::Add || kind == OpKind::Mul || kind == OpKind::Max) && c.coin();
      c.output(c.op1(kind, swap ? std::vector<Value*>{b, a} : std::vector<Value*>{a, b}));
      c.check(str(opName(kind), " with ", Shape::of(other).toString(), swap ? " (broadcast first)" : ""));
    }
}

// Chains of elementwise ops, each the only reader of the one before, run as one primitive with
// post-ops: binary heads (also after a unary op), scalar and full operands, the chain value on either side of a
// Sub, a Div by the chain value (which ends it), and an Adam-shaped update with three outputs.
TEST(OnednnOps, ElementwiseChains) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    std::vector<int64_t> shape = seed % 2 ? std::vector<int64_t>{2, 16, 5, 3} : std::vector<int64_t>{37};
    {
      Case c(seed);
      Value* a = c.input(shape);
      Value* chain = c.op1(OpKind::Add, {a, c.input(shape)});
      chain = c.op1(OpKind::Mul, {chain, c.scalar(0.75f)});
      chain = c.op1(OpKind::Sub, {c.input(shape), chain});  // x − c
      chain = c.op1(OpKind::Relu, {chain});
      chain = c.op1(OpKind::Sub, {chain, c.scalar(0.25f)});
      chain = c.op1(OpKind::Max, {c.input(shape), chain});
      c.output(c.op1(OpKind::Clip, {chain, c.scalar(-0.5f), c.scalar(0.6f)}));
      c.check(str("binary-headed chain ", Shape::of(shape).toString()), 1e-5, 1, 1);
    }
    {
      Case c(seed + 10);
      Value* v = c.input(shape, 0.0f, 2.0f);
      Value* den = c.op1(OpKind::Add, {c.op1(OpKind::Sqrt, {v}), c.scalar(1e-3f)});
      Value* q = c.op1(OpKind::Div, {c.input(shape), den});  // den as divisor: a chain of its own
      c.output(c.op1(OpKind::Tanh, {c.op1(OpKind::Mul, {q, c.input({1})})}));
      c.check(str("a unary op, then a chain ", Shape::of(shape).toString()), 1e-5);
    }
    {
      // x' = x − lr·m'/(√v' + ε), m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g², lr a runtime scalar.
      Case c(seed + 20);
      Value *x = c.input(shape), *g = c.input(shape), *m = c.input(shape), *v = c.input(shape, 0.0f, 1.0f);
      Value* lr = c.input({1}, 0.01f, 0.1f);
      Value* m2 = c.op1(OpKind::Add, {c.op1(OpKind::Mul, {m, c.scalar(0.9f)}), c.op1(OpKind::Mul, {g, c.scalar(0.1f)})});
      Value* gg = c.op1(OpKind::Mul, {g, g});
      Value* v2 = c.op1(OpKind::Add, {c.op1(OpKind::Mul, {gg, c.scalar(0.001f)}), c.op1(OpKind::Mul, {v, c.scalar(0.999f)})});
      Value* den = c.op1(OpKind::Add, {c.op1(OpKind::Sqrt, {v2}), c.scalar(1e-8f)});
      Value* step = c.op1(OpKind::Mul, {c.op1(OpKind::Div, {m2, den}), lr});
      c.output(c.op1(OpKind::Sub, {x, step}));
      c.output(m2);
      c.output(v2);
      c.check(str("Adam-shaped update ", Shape::of(shape).toString()), 1e-5, 1, 1);
    }
  }
}

TEST(OnednnOps, NormalizationSoftmaxConcatAndLayout) {
  for (int axis : {-1, 1, 0}) {
    Case c(11 + static_cast<uint32_t>(axis + 1));
    c.output(c.op1(OpKind::Softmax, {c.input({3, 7, 10}, -5, 5)}, {{"axis", Attribute::ofInt(axis)}}));
    c.check(str("Softmax axis ", axis));
  }
  Case ln(21);
  ln.output(ln.op1(OpKind::LayerNormalization, {ln.input({2, 5, 24}), ln.weight({24}), ln.weight({24})},
                   {{"epsilon", Attribute::ofFloat(1e-5f)}}));
  ln.check("LayerNormalization");
  for (int64_t len : {24, 768}) {  // RMSNorm: a reduction, then layer normalization with given statistics
    Case rms(23);
    rms.output(rms.op1(OpKind::RMSNormalization, {rms.input({2, 5, len}, -2, 3), rms.weight({len})}, {{"epsilon", Attribute::ofFloat(1e-6f)}}));
    rms.check(str("RMSNormalization over ", len));
  }
  Case bn(22);
  bn.output(bn.op1(OpKind::BatchNormalization,
                   {bn.input({2, 5, 6, 7}), bn.weight({5}), bn.weight({5}), bn.weight({5}), bn.weight({5}, 0.5f, 2.0f)}));
  bn.check("BatchNormalization");
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
  Case r(41);
  r.output(r.op1(OpKind::Reshape, {r.input({2, 3, 4, 5}), r.ints({6, 20})}));
  r.check("Reshape");
  Case f(42);
  f.output(f.op1(OpKind::Flatten, {f.input({2, 3, 4, 5})}, {{"axis", Attribute::ofInt(2)}}));
  f.check("Flatten");
  Case s(43);
  Op* split = s.op(OpKind::Split, {s.input({2, 9, 4}), s.ints({2, 3, 4})}, {{"axis", Attribute::ofInt(1)}}, 3);
  for (int i = 0; i < 3; ++i) s.output(split->result(i));
  s.check("Split");
}

TEST(OnednnOps, Attention) {
  for (bool mask : {false, true}) {
    Case c(50 + mask);
    int64_t b = 2, seq = 7, t = 9, heads = 3, d = 4;
    Value* q = c.input({b, seq, heads * d});
    Value* k = c.input({b, t, heads * d});
    Value* v = c.input({b, t, heads * 5});
    std::vector<Value*> operands{q, k, v};
    if (mask) operands.push_back(c.input({b, 1, 1, t}, -3, 0));
    c.output(c.op1(OpKind::Attention, operands, {{"num_heads", Attribute::ofInt(heads)}}));
    c.check(mask ? "Attention with mask" : "Attention");
  }
}

// Blocked layouts chosen by one convolution must reach the next primitives intact: conv ->
// eltwise -> pool -> residual add with another conv -> global pool -> flatten -> matmul.
TEST(OnednnOps, SegmentsCarryLayouts) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    Case c(seed);
    smallCnn(c);  // its pooled intermediate, in a blocked layout, is also an output
    c.check(str("segment seed ", seed), 1e-4, 1, 1);
  }
}

// One artifact for any batch and sequence length: segments with symbolic dims are lowered per
// binding at run time and kept, so one session alternates shapes (a repeated binding reuses its
// program; a batch of 1 broadcasts differently from the others).
TEST(OnednnOps, SymbolicShapes) {
  Case t(70);
  t.output(t.op1(OpKind::RMSNormalization, {symbolicEncoderBlock(t), t.weight({24})}));
  t.checkBindings("encoder block", {{{"N", 2}, {"S", 7}}, {{"N", 1}, {"S", 16}}, {{"N", 5}, {"S", 1}}, {{"N", 2}, {"S", 7}}}, 1e-4, 1);

  Case c(71);
  smallCnn(c, c.symbolicInput({Dim::sym("B"), Dim::of(3), Dim::of(20), Dim::of(20)}));
  c.checkBindings("cnn", {{{"B", 1}}, {{"B", 4}}, {{"B", 1}}}, 1e-4, 1);
}

// Sessions on four threads running one symbolic model at 20 batch sizes, more than a step keeps
// programs for: builds, shared use and eviction race with runs, and every output stays right.
TEST(OnednnOps, SymbolicShapesFromManyThreads) {
  Case c(72);
  smallCnn(c, c.symbolicInput({Dim::sym("B"), Dim::of(3), Dim::of(20), Dim::of(20)}));
  std::vector<SymbolSizes> bindings;
  for (int64_t b = 1; b <= 20; ++b) bindings.push_back({{"B", b}});
  c.checkBindingsConcurrently("cnn", bindings, 4, 2);
}

// A residual read only by the fused convolution is overwritten in place by its result; one read
// elsewhere too must survive (it is copied instead).
// Slice with constant starts as a sub-tensor view copied out: channel halves (ShuffleNet's split),
// negative and clamped bounds, an axis subset; a step other than 1 stays with the reference kernels.
TEST(OnednnOps, Slice) {
  Case halves(90);
  Value* x = halves.input({1, 8, 5, 5});
  halves.output(halves.op1(OpKind::Relu, {halves.op1(OpKind::Slice, {x, halves.ints({0}), halves.ints({4}), halves.ints({1})})}));
  halves.output(halves.op1(OpKind::Slice, {x, halves.ints({4}), halves.ints({8}), halves.ints({1})}));
  halves.check("channel halves", 1e-6, 1, 1);
  Case bounds(91);
  bounds.output(bounds.op1(OpKind::Slice, {bounds.input({4, 9, 10}), bounds.ints({1, -8, 0}), bounds.ints({100, 8, -1}), bounds.ints({0, 1, 2})}));
  bounds.check("negative and clamped bounds");
  Case stepped(92);
  stepped.allowReference();
  stepped.output(stepped.op1(OpKind::Slice, {stepped.input({4, 9}), stepped.ints({0}), stepped.ints({9}), stepped.ints({1}), stepped.ints({2})}));
  stepped.check("a step of 2");
  EXPECT_EQ(stepped.stepLibraries(), (std::vector<std::string>{"reference"}));
}

TEST(OnednnOps, ResidualInPlaceOrCopied) {
  for (bool shared : {false, true}) {
    Case c(shared ? 61 : 60);
    Value* x = c.input({1, 8, 9, 9});
    std::map<std::string, Attribute> same{{"pads", Attribute::ofInts({1, 1, 1, 1})}};
    Value* r = c.op1(OpKind::Conv, {x, c.weight({16, 8, 3, 3})}, same);
    Value* y = c.op1(OpKind::Conv, {x, c.weight({16, 8, 3, 3})}, same);
    Value* z = c.op1(OpKind::FusedConv, {y, c.weight({16, 16, 3, 3}), c.weight({16}), r},
                     {{"pads", Attribute::ofInts({1, 1, 1, 1})}, {"activation", Attribute::ofString("Relu")}});
    c.output(shared ? c.op1(OpKind::Add, {z, r}) : z);
    c.check(shared ? "residual also read later" : "residual overwritten in place", 1e-4, 1, 1);
  }
}

TEST(OnednnOps, ConvTranspose) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    Case c(seed);
    int64_t k = c.pick(1, 4), s = c.pick(1, 3), dil = c.pick(1, 2), group = c.pick(1, 2);
    int64_t p = c.pick(0, static_cast<int>((k - 1) * dil / 2));  // keeps every output size positive
    int64_t ch = group * c.pick(1, 4), m = group * c.pick(1, 5), opad = c.pick(0, std::min(s, dil) - 1);
    Value* x = c.input({c.pick(1, 2), ch, c.pick(2, 9), c.pick(2, 9)});
    std::vector<Value*> operands{x, c.weight({ch, m / group, k, k})};
    if (c.coin()) operands.push_back(c.weight({m}));
    Value* y = c.op1(OpKind::ConvTranspose, operands,
                   {{"strides", Attribute::ofInts({s, s})}, {"pads", Attribute::ofInts({p, p, p, p})},
                    {"dilations", Attribute::ofInts({dil, dil})}, {"group", Attribute::ofInt(group)},
                    {"output_padding", Attribute::ofInts({opad, opad})}});
    ASSERT_NE(y, nullptr);
    c.output(y);
    c.check(str("conv transpose seed ", seed, ": k", k, " s", s, " p", p, " d", dil, " g", group, " opad", opad));
  }
}

// oneDNN runs bf16 convolutions only on AVX-512 CPUs, and the int8 ops on CPUs with VNNI (the
// lowering refuses them elsewhere); on other CPUs the same cases check the fallback instead.
bool cpuRunsBf16() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
bool cpuRunsInt8() { return __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni"); }

// bf16 convolution and matmul (f32 accumulation, one rounding at the end in both backends).
TEST(OnednnOps, Bf16ConvAndMatMul) {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    Case c(seed);
    if (!cpuRunsBf16()) c.allowReference();
    int64_t ch = c.pick(1, 17), oc = c.pick(1, 19), k = 2 * c.pick(0, 1) + 1;
    Value* x = c.input({1, ch, c.pick(5, 12), c.pick(5, 12)}, -1, 1, DType::BF16);
    std::map<std::string, Attribute> attrs = activation(c, {{"pads", Attribute::ofInts({k / 2, k / 2, k / 2, k / 2})}});
    c.output(c.op1(OpKind::FusedConv, {x, c.weight({oc, ch, k, k}, -1, 1, DType::BF16), c.weight({oc}, -1, 1, DType::BF16)}, attrs));
    c.check(str("bf16 conv seed ", seed), 2e-2);
  }
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    Case c(seed);
    if (!cpuRunsBf16()) c.allowReference();
    int64_t m = c.pick(1, 20), k = c.pick(1, 64), n = c.pick(1, 30);
    Value* a = c.input({m, k}, -1, 1, DType::BF16);
    std::vector<Value*> operands{a, c.weight({k, n}, -1, 1, DType::BF16)};
    if (c.coin()) operands.push_back(c.weight({n}, -1, 1, DType::BF16));
    c.output(c.op1(OpKind::FusedMatMul, operands, activation(c, {})));
    c.check(str("bf16 matmul seed ", seed), 2e-2);
  }
}

// int8 QLinearConv and QLinearMatMul: u8 or s8 activations with zero points, s8 weights with
// per-tensor or per-output-channel scales, int32 bias; results within one quantization step.
TEST(OnednnOps, Int8ConvAndMatMul) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    Case c(seed);
    if (!cpuRunsInt8()) c.allowReference();
    bool u8 = c.coin(), per_channel = c.coin();
    int64_t ch = c.pick(1, 16), oc = c.pick(1, 24), k = 2 * c.pick(0, 1) + 1, group = 1;
    if (c.coin() && ch % 2 == 0 && oc % 2 == 0) group = 2;
    DType xt = u8 ? DType::U8 : DType::I8;
    Value* x = c.input({c.pick(1, 2), ch, c.pick(4, 11), c.pick(4, 11)}, u8 ? 0 : -128, u8 ? 255 : 127, xt);
    Value* w = c.weight({oc, ch / group, k, k}, -127, 127, DType::I8);
    Value* w_scale = per_channel ? c.weight({oc}, 0.001f, 0.004f) : c.scalar(0.0025f);
    Value* w_zp = per_channel ? c.weight({oc}, 0, 0, DType::I8) : c.scalarOf(DType::I8, 0);
    std::vector<Value*> operands{x, c.scalar(0.02f), c.scalarOf(xt, u8 ? 128 : 3), w, w_scale, w_zp, c.scalar(0.05f),
                                 c.scalarOf(DType::U8, 100)};
    if (c.coin()) operands.push_back(c.weight({oc}, -2000, 2000, DType::I32));
    c.output(c.op1(OpKind::QLinearConv, operands,
                   {{"pads", Attribute::ofInts({k / 2, k / 2, k / 2, k / 2})}, {"group", Attribute::ofInt(group)}}));
    c.check(str("int8 conv seed ", seed, u8 ? " u8" : " s8", per_channel ? " per-channel" : "", " g", group));
  }
  // Fully connected layers as 1x1 QLinearConv of 1x1 images (how fuse-qdq writes Linear): lowered
  // as an int8 matmul with the bias.
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    Case c(seed);
    if (!cpuRunsInt8()) c.allowReference();
    const bool u8 = c.coin(), per_channel = c.coin();
    const int64_t n = c.pick(1, 40), ch = c.pick(1, 70), oc = c.pick(1, 30);
    const DType xt = u8 ? DType::U8 : DType::I8;
    Value* x = c.input({n, ch, 1, 1}, u8 ? 0 : -128, u8 ? 255 : 127, xt);
    Value* w = c.weight({oc, ch, 1, 1}, -127, 127, DType::I8);
    Value* w_scale = per_channel ? c.weight({oc}, 0.001f, 0.004f) : c.scalar(0.0025f);
    Value* w_zp = per_channel ? c.weight({oc}, 0, 0, DType::I8) : c.scalarOf(DType::I8, 0);
    std::vector<Value*> operands{x, c.scalar(0.02f), c.scalarOf(xt, u8 ? 128 : 3), w, w_scale, w_zp, c.scalar(0.05f),
                                 c.scalarOf(DType::U8, 100)};
    if (c.coin()) operands.push_back(c.weight({oc}, -2000, 2000, DType::I32));
    c.output(c.op1(OpKind::QLinearConv, operands, {{"kernel_shape", Attribute::ofInts({1, 1})}}));
    c.check(str("int8 fully connected seed ", seed, u8 ? " u8" : " s8", per_channel ? " per-channel" : "", operands.size() > 8 ? " bias" : ""));
  }
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    Case c(seed);
    if (!cpuRunsInt8()) c.allowReference();
    int64_t m = c.pick(1, 16), k = c.pick(1, 80), n = c.pick(1, 24);
    bool per_channel = c.coin();
    Value* a = c.input({m, k}, 0, 255, DType::U8);
    Value* b = c.weight({k, n}, -127, 127, DType::I8);
    Value* b_scale = per_channel ? c.weight({n}, 0.001f, 0.004f) : c.scalar(0.002f);
    Value* b_zp = per_channel ? c.weight({n}, 0, 0, DType::I8) : c.scalarOf(DType::I8, 0);
    c.output(c.op1(OpKind::QLinearMatMul, {a, c.scalar(0.02f), c.scalarOf(DType::U8, 120), b, b_scale, b_zp, c.scalar(0.04f),
                                           c.scalarOf(DType::I8, -5)}));
    c.check(str("int8 matmul seed ", seed, per_channel ? " per-channel" : ""));
  }
}

// Dynamic quantization's integer matmul: MatMulInteger(u8/s8 a, s8 b, a_zp) with a's zero point a
// run-time input (as DynamicQuantizeLinear computes it) or a constant, batched a, then Cast to f32.
TEST(OnednnOps, MatMulIntegerAndCast) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    Case c(seed);
    if (!cpuRunsInt8()) c.allowReference();
    const bool u8 = c.coin(), runtime_zp = c.coin(), batched = c.coin();
    const DType at = u8 ? DType::U8 : DType::I8;
    const int64_t m = c.pick(1, 20), k = c.pick(1, 90), n = c.pick(1, 40);
    std::vector<int64_t> a_shape{m, k};
    if (batched) a_shape.insert(a_shape.begin(), c.pick(1, 3));
    Value* a = c.input(a_shape, u8 ? 0 : -128, u8 ? 255 : 127, at);
    Value* w = c.weight({k, n}, -127, 127, DType::I8);
    Value* zp = runtime_zp ? c.input({}, u8 ? 0 : -128, u8 ? 255 : 127, at) : c.scalarOf(at, u8 ? 131 : -3);
    Value* acc = c.op1(OpKind::MatMulInteger, {a, w, zp});
    c.output(acc);
    c.output(c.op1(OpKind::Cast, {acc}, {{"to", Attribute::ofInt(1)}}));
    c.check(str("MatMulInteger seed ", seed, u8 ? " u8" : " s8", runtime_zp ? " run-time zero point" : "", batched ? " batched" : ""),
            1e-6, 0, 1);
  }
}

// Quantized residual adds and products (QLinearAdd/QLinearMul, as fuse-qdq writes them): one
// binary primitive with source scales and an offset post-op; within one step of the reference.
TEST(OnednnOps, QLinearAddAndMul) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    Case c(seed);
    if (!cpuRunsInt8()) c.allowReference();
    const bool u8 = c.coin(), mul = seed % 3 == 0, broadcast = c.coin();
    const DType t = u8 ? DType::U8 : DType::I8;
    const std::vector<int64_t> shape{c.pick(1, 2), c.pick(1, 20), c.pick(1, 9), c.pick(1, 9)};
    std::vector<int64_t> bshape = shape;
    if (broadcast) bshape = {1, shape[1], 1, 1};
    const float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f;
    Value* a = c.input(shape, lo, hi, t);
    Value* b = c.input(bshape, lo, hi, t);
    auto zp = [&](float v) { return c.scalarOf(t, mul ? 0.0 : v); };
    Value* y = c.op1(mul ? OpKind::QLinearMul : OpKind::QLinearAdd,
                     {a, c.scalar(0.02f + 0.01f * c.pick(0, 5)), zp(u8 ? 120 : -5), b, c.scalar(0.03f), zp(u8 ? 130 : 7),
                      c.scalar(mul ? 0.5f : 0.05f), c.scalarOf(t, u8 ? 100 : 3)});
    c.output(y);
    c.check(str(mul ? "QLinearMul" : "QLinearAdd", " seed ", seed, u8 ? " u8" : " s8", broadcast ? " broadcast" : ""), 1e-6, 1, 1);
  }
}

// Half-precision compute as dlc quantize --dtype bf16 --half-compute writes it: f32 -> bf16 casts
// as reorders (round to nearest even, like the reference kernel), bf16 convolution and matmul,
// bf16 -> f32 casts; the reference kernels compute the bf16 ops in f32 and round their result.
TEST(OnednnOps, Bf16ComputeWithCasts) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    Case c(seed);
    const int64_t ch = c.pick(1, 16), oc = c.pick(1, 24), hw = c.pick(3, 12);
    Value* x = c.input({2, ch, hw, hw});
    Value* xb = c.op1(OpKind::Cast, {x}, {{"to", Attribute::ofInt(16)}});
    Value* y = c.op1(OpKind::Conv, {xb, c.weight({oc, ch, 3, 3}, -0.5f, 0.5f, DType::BF16), c.weight({oc}, -1, 1, DType::BF16)},
                     {{"pads", Attribute::ofInts({1, 1, 1, 1})}});
    Value* yf = c.op1(OpKind::Cast, {y}, {{"to", Attribute::ofInt(1)}});
    Value* flat = c.op1(OpKind::Flatten, {c.op1(OpKind::Relu, {yf})});
    Value* fb = c.op1(OpKind::Cast, {flat}, {{"to", Attribute::ofInt(16)}});
    Value* z = c.op1(OpKind::MatMul, {fb, c.weight({oc * hw * hw, 10}, -0.1f, 0.1f, DType::BF16)});
    c.output(c.op1(OpKind::Cast, {z}, {{"to", Attribute::ofInt(1)}}));
    c.check(str("bf16 compute seed ", seed), 8e-3, 1, 1);  // one bf16 rounding of the output: 2^-8 of |y|
  }
}

// Dynamic quantization as dlc quantize --mode dynamic writes it: DynamicQuantizeLinear (a host
// step: the range depends on the data) feeding MatMulInteger with its run-time zero point, then
// the rescale; the quantized tensor, scale and zero point equal the reference kernel's exactly.
TEST(OnednnOps, DynamicQuantizeLinearIntoMatMulInteger) {
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    Case c(seed);
    if (!cpuRunsInt8()) c.allowReference();
    const int64_t m = c.pick(1, 40), k = c.pick(1, 90), n = c.pick(1, 40);
    const float lo = c.coin() ? -2.0f : 0.5f;  // all-positive inputs too: the range still holds 0
    Value* x = c.input({c.pick(1, 3), m, k}, lo, 3.0f);
    Op* dq = c.op(OpKind::DynamicQuantizeLinear, {x}, {}, 3);
    Value* acc = c.op1(OpKind::MatMulInteger, {dq->result(0), c.weight({k, n}, -127, 127, DType::I8), dq->result(2)});
    Value* f = c.op1(OpKind::Cast, {acc}, {{"to", Attribute::ofInt(1)}});
    Value* scale = c.op1(OpKind::Mul, {dq->result(1), c.scalar(0.01f)});
    c.output(c.op1(OpKind::Mul, {f, scale}));
    c.output(dq->result(0));
    c.output(dq->result(1));
    c.output(dq->result(2));
    c.check(str("DynamicQuantizeLinear seed ", seed, " [", m, ", ", k, "] x [", k, ", ", n, "]"), 1e-6, 0, 1);
  }
}

// The float islands of a quantized model: QuantizeLinear/DequantizeLinear (per tensor, u8 and s8,
// with zero points) as reorders, max pooling on u8/s8, and a residual Add between them, all in
// oneDNN; quantized outputs within one step (x·(1/s) may round a halfway value the other way).
TEST(OnednnOps, QuantizeDequantizeAndInt8Pooling) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    Case c(seed);
    const bool u8 = c.coin();
    const DType qt = u8 ? DType::U8 : DType::I8;
    const std::vector<int64_t> shape{c.pick(1, 2), c.pick(1, 20), c.pick(2, 9), c.pick(2, 9)};
    Value* x = c.input(shape, -3.0f, 3.0f);
    Value* r = c.input(shape, -1.0f, 1.0f);
    Value* s = c.scalar(0.03f);
    Value* z = c.scalarOf(qt, u8 ? 120 : -7);
    Value* q = c.op1(OpKind::QuantizeLinear, {x, s, z});
    Value* pooled = c.op1(OpKind::MaxPool, {q}, {{"kernel_shape", Attribute::ofInts({2, 2})}, {"pads", Attribute::ofInts({0, 0, 1, 1})}});
    Value* sum = c.op1(OpKind::Add, {c.op1(OpKind::DequantizeLinear, {q, s, z}), r});
    c.output(pooled);
    c.output(c.op1(OpKind::QuantizeLinear, {c.op1(OpKind::Relu, {sum}), c.scalar(0.02f), c.scalarOf(qt, u8 ? 0 : -128)}));
    c.output(c.op1(OpKind::DequantizeLinear, {pooled, s, z}));
    c.check(str("quantize/dequantize seed ", seed, u8 ? " u8" : " s8"), 1e-5, 1, 1);
  }
}

// oneDNN 2.6 has no sparse primitives: MatMuls by a pruned weight, where the cpu target's sparse
// kernel is faster (sparse_choice.cc: sparseMaxDensity), become cpu steps of the onednn artifact
// between oneDNN ones; convolutions (pruned or not) stay oneDNN's (onednn_backend.cc says why), and
// DLC_CPU_SPARSE=off keeps everything oneDNN's.
TEST(OnednnOps, PrunedWeightsTakeTheCpuSparseKernels) {
  for (const char* mode : {"auto", "off"}) {
    if (std::string(mode) == "off") setenv("DLC_CPU_SPARSE", "off", 1);
    Case c(90);
    Value* x = c.input({1, 32, 20, 20});
    std::map<std::string, Attribute> pad1{{"pads", Attribute::ofInts({1, 1, 1, 1})}, {"activation", Attribute::ofString("Relu")}};
    Value* y = c.op1(OpKind::FusedConv, {x, c.sparseWeight({48, 32, 3, 3}, 0.08), c.weight({48})}, pad1);  // sparse
    y = c.op1(OpKind::FusedConv, {y, c.weight({48, 48, 3, 3}, -0.1f, 0.1f), c.weight({48})}, pad1);        // dense
    y = c.op1(OpKind::FusedConv, {y, c.sparseWeight({64, 48, 1, 1}, 0.1), c.weight({64})},
              {{"activation", Attribute::ofString("Relu")}});                                            // sparse pointwise
    y = c.op1(OpKind::Reshape, {y, c.ints({64, 400})});
    y = c.op1(OpKind::MatMul, {y, c.sparseWeight({400, 96}, 0.05)});                                     // sparse MatMul
    c.output(c.op1(OpKind::Relu, {y}));
    c.allowLibrary("cpu");
    c.allowReference();
    c.check(str("pruned convolutions and MatMul on onednn, DLC_CPU_SPARSE=", mode));
    int cpu = 0, onednn = 0;
    for (const std::string& library : c.stepLibraries()) cpu += library == "cpu", onednn += library == "onednn";
    if (std::string(mode) == "off") {
      EXPECT_EQ(cpu, 0) << "DLC_CPU_SPARSE=off still handed ops to the cpu target";
      unsetenv("DLC_CPU_SPARSE");
    } else {
      EXPECT_EQ(cpu, 1) << "the pruned MatMul (only) should be a cpu step";
    }
    EXPECT_GE(onednn, 1) << "the convolutions left oneDNN";
  }
}

}  // namespace
}  // namespace dlc::testing

namespace dlc::testing {
namespace {

// A run's program is keyed on its input shapes and on the values of inputs read as shape operands
// only: a count that changes every run (an optimizer's step) must not make every run a new program.
TEST(OnednnSpecialize, OnlyShapeOperandsKeyTheRun) {
  const char* text = R"IR(graph @seg (%x: f32[N,6], %shape: i64[2], %step: i64[]) {
  %r = Reshape(%x, %shape) : f32[?,?]
  %s = Cast(%step) {to = 1} : f32[]
  %y = Mul(%r, %s) : f32[?,?]
  return %y
}
)IR";
  auto graph = parseGraph(text, "segment");
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  std::vector<bool> shape = backends::shapeOperands(**graph);
  EXPECT_EQ(shape, (std::vector<bool>{false, true, false}));
  std::vector<float> x(12, 1.0f);
  std::vector<const void*> constants(3, nullptr);
  auto key = [&](int64_t rows, int64_t cols, int64_t step) {
    std::vector<int64_t> target{rows, cols};
    const int64_t x_shape[] = {2, 6}, shape_shape[] = {2};
    dlc_tensor in[] = {{DLC_DTYPE_F32, 2, x_shape, x.data(), 48},
                       {DLC_DTYPE_I64, 1, shape_shape, target.data(), 16},
                       {DLC_DTYPE_I64, 0, nullptr, &step, 8}};
    return backends::runKey(**graph, constants, shape, in);
  };
  EXPECT_EQ(key(3, 4, 1), key(3, 4, 2)) << "the step count changed the key";
  EXPECT_NE(key(3, 4, 1), key(4, 3, 1)) << "the reshape target did not change the key";
  // And the specialization reads the target: [3,4] and [4,3] give those types.
  std::vector<int64_t> target{4, 3};
  int64_t step = 7;
  const int64_t x_shape[] = {2, 6}, shape_shape[] = {2};
  dlc_tensor in[] = {{DLC_DTYPE_F32, 2, x_shape, x.data(), 48},
                     {DLC_DTYPE_I64, 1, shape_shape, target.data(), 16},
                     {DLC_DTYPE_I64, 0, nullptr, &step, 8}};
  auto specialized = backends::specializeSegment(text, constants, shape, in);
  ASSERT_TRUE(specialized.ok()) << specialized.status().message();
  EXPECT_EQ((*specialized)->body().output(0)->type().toString(), "f32[4,3]");
  // An input against the segment's types is an error naming it.
  const int64_t bad_shape[] = {2, 5};
  in[0].shape = bad_shape;
  auto refused = backends::specializeSegment(text, constants, shape, in);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("input 'x' is [2,5], the step takes f32[N,6]"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace dlc::testing
