// Textual IR: printer golden texts and exact round-trips (print(parse(print(g))) == print(g)).
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/text_syntax.h"

namespace dlc {
namespace {

std::unique_ptr<Graph> mustParse(const std::string& text) {
  auto g = parseGraph(text, "test.dlcir");
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return nullptr;
  return std::move(g).value();
}

// Checks that `text` is already in printed form and that it survives two more rounds.
void expectCanonical(const std::string& text) {
  auto g = mustParse(text);
  ASSERT_NE(g, nullptr);
  std::string printed = printGraph(*g);
  EXPECT_EQ(printed, text);
  auto g2 = mustParse(printed);
  ASSERT_NE(g2, nullptr);
  EXPECT_EQ(printGraph(*g2), printed);
}

const Op* findOp(const Region& r, const std::string& result_name) {
  const Op* found = nullptr;
  walkOps(r, [&](const Op* op) {
    for (int i = 0; i < op->numResults(); ++i)
      if (op->result(i)->name() == result_name) found = op;
  });
  return found;
}

// Hand-written in the printer's canonical form: regions nested three deep with outer-value capture,
// every attribute kind an op of the table can hold, sequence/optional types, absent operands,
// quoted/unicode/numeric names, an unnamed value (%0), a zero-result op and a training-domain op.
const char* kCanonical = R"IR(graph @main opsets {"" = 17, "ai.onnx.preview.training" = 1} producer "pytorch 1.13" (%x: f32[N,3,4,4], %"onnx::in 1": i64[*], %cond: bool[], %s: seq<f32[2]>, %o: opt<seq<f32[*]>>, %"résumé": f32["batch size",?]) {
  %w = Constant() {value = tensor<f32[2]> 0x0000803f00000040} loc("conv1.weight") : f32[2]
  %y = Add(%x, %w) loc("add_1") : f32[N,3,4,4]
  %a, %b = Split(%y, _) {axis = 1} : f32[N,1,4,4], f32[N,2,4,4]
  %0 = Relu(%a) : f32[N,1,4,4]
  %"onnx::Conv_12" = Sigmoid(%0) : f32[N,1,4,4]
  %input.1 = Transpose(%b) {perm = [0, 2, 3, 1]} : f32[N,4,4,2]
  %"123" = Clip(%x, _, %w) : f32[N,3,4,4]
  %sm = Softmax(%x) {axis = -1} : f32[N,3,4,4]
  %c1 = Constant() {value_float = -0.0} : f32[]
  %c2 = Constant() {value_floats = [1.0, 0.1, -2.5e-07, 1e-45, 3.4028235e+38, inf, -inf, nan, nan(0xffc00001)]} : f32[9]
  %c3 = Constant() {value_int = -9223372036854775808} : i64[]
  %c4 = Constant() {value_ints = [1, -2, 9223372036854775807]} : i64[3]
  %c5 = Constant() {value_string = "q\"b\\s\n\t\x01\x7f ünï 日本"} : string[]
  %c6 = Constant() {value_strings = ["a", "", "ü"]} : string[3]
  %c7 = Constant() {value = tensor<string[2]> ["x", "y\n"]} : string[2]
  %c8 = Constant() {value = tensor<i64[2,1]> 0x0300000000000000ffffffffffffffff} : i64[2,1]
  %c9 = Constant() {value = tensor<bool[3]> 0x010001} : bool[3]
  %c10 = Constant() {value = tensor<f16[]> 0x003c} : f16[]
  %c11 = Constant() {value = tensor<i4[3]> 0x210f} : i4[3]
  %c12 = Constant() {value = tensor<f32[0,3]> 0x} : f32[0,3]
  %c13 = Constant() {value = tensor<undef>} : undef[*]
  %m = ReduceMean(%x) {axes = [], keepdims = 0} : f32[]
  %sn = StringNormalizer(%c6) {stopwords = []} : string[3]
  RNN(%x, %x, %x) {activations = ["Tanh", "Relu"], hidden_size = 4}
  %opt = Optional(%s) {type = seq<f32[2]>} : opt<seq<f32[2]>>
  %none = Optional() {type = opt<?>} : opt<seq<?>>
  %has = OptionalHasElement(%o) : bool[]
  %p2 = Adam(%cond, %"onnx::in 1", %x) {alpha = 0.5} : f32[*]
  %z = If(%cond) {else_branch = region() {
    %e = Neg(%y) : f32[N,3,4,4]
    return %e
  }, then_branch = region() {
    return %y
  }} loc("if0") : f32[N,3,4,4]
  %lf, %ls = Loop(_, %cond, %x) {body = region(%i: i64[], %c: bool[], %acc: f32[N,3,4,4]) {
    %sum = Add(%acc, %y) : f32[N,3,4,4]
    %inner = If(%c) {else_branch = region() {
      return %w
    }, then_branch = region() {
      %t = Relu(%sum) : f32[N,3,4,4]
      %1 = Mul(%t, %"résumé") : f32[*]
      return %1
    }} : f32[*]
    return %c, %sum, %inner
  }} : f32[N,3,4,4], f32[?,N,3,4,4]
  return %y, %z, %"onnx::Conv_12", %lf
}
)IR";

TEST(IrText, CanonicalTextRoundTripsExactly) { expectCanonical(kCanonical); }

TEST(IrText, ParsedGraphHoldsTheWrittenValues) {
  auto g = mustParse(kCanonical);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "main");
  EXPECT_EQ(g->producer, "pytorch 1.13");
  EXPECT_EQ(g->opset_imports.at(""), 17);
  EXPECT_EQ(g->opset_imports.at("ai.onnx.preview.training"), 1);
  const Region& body = g->body();
  ASSERT_EQ(body.numArguments(), 6);
  EXPECT_EQ(body.argument(1)->name(), "onnx::in 1");
  EXPECT_EQ(body.argument(5)->name(), "résumé");
  EXPECT_EQ(body.argument(5)->type().shape.dims[0].symbol, "batch size");
  ASSERT_EQ(body.numOutputs(), 4);
  EXPECT_EQ(body.output(2)->name(), "onnx::Conv_12");

  const Op* w = findOp(body, "w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->location(), "conv1.weight");
  const Tensor& wt = w->attr("value")->t;
  EXPECT_EQ(wt.getDouble(0), 1.0);  // 0x3f800000
  EXPECT_EQ(wt.getDouble(1), 2.0);  // 0x40000000

  const Op* split = findOp(body, "a");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->numOperands(), 2);
  EXPECT_EQ(split->operand(1), nullptr);
  EXPECT_EQ(split->getInt("axis"), 1);

  // %0 is a printer-generated name: the value it names stays unnamed.
  const Op* sig = findOp(body, "onnx::Conv_12");
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->operand(0)->name(), "");
  EXPECT_EQ(sig->operand(0)->definingOp()->kind(), OpKind::Relu);

  const Op* c2 = findOp(body, "c2");
  ASSERT_NE(c2, nullptr);
  std::vector<float> f = c2->getFloats("value_floats");
  ASSERT_EQ(f.size(), 9u);
  uint32_t bits[9];
  std::memcpy(bits, f.data(), sizeof bits);
  EXPECT_EQ(bits[0], 0x3f800000u);
  EXPECT_EQ(bits[1], 0x3dcccccdu);  // 0.1f
  EXPECT_EQ(bits[3], 0x00000001u);  // smallest denormal
  EXPECT_EQ(bits[4], 0x7f7fffffu);  // FLT_MAX
  EXPECT_EQ(bits[5], 0x7f800000u);
  EXPECT_EQ(bits[6], 0xff800000u);
  EXPECT_EQ(bits[7], 0x7fc00000u);
  EXPECT_EQ(bits[8], 0xffc00001u);
  uint32_t neg_zero;
  float c1 = findOp(body, "c1")->getFloat("value_float");
  std::memcpy(&neg_zero, &c1, 4);
  EXPECT_EQ(neg_zero, 0x80000000u);

  EXPECT_EQ(findOp(body, "c3")->getInt("value_int"), INT64_MIN);
  EXPECT_EQ(findOp(body, "c5")->getString("value_string"), "q\"b\\s\n\t\x01\x7f ünï 日本");
  const Tensor& c8 = findOp(body, "c8")->attr("value")->t;
  EXPECT_EQ(c8.toInt64Vector(), (std::vector<int64_t>{3, -1}));
  const Tensor& c7 = findOp(body, "c7")->attr("value")->t;
  EXPECT_EQ(c7.strings(), (std::vector<std::string>{"x", "y\n"}));
  const Tensor& c11 = findOp(body, "c11")->attr("value")->t;
  ASSERT_EQ(c11.nbytes(), 2u);
  EXPECT_EQ(static_cast<const uint8_t*>(c11.raw())[1], 0x0f);

  const Op* opt = findOp(body, "opt");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->attr("type")->type_value.toString(), "seq<f32[2]>");
  EXPECT_EQ(findOp(body, "none")->attr("type")->type_value.toString(), "opt<?>");
  EXPECT_EQ(findOp(body, "p2")->kind(), OpKind::Adam);

  // The inner If captures %sum from the Loop body and %w from the graph body.
  const Op* inner = findOp(body, "inner");
  ASSERT_NE(inner, nullptr);
  Region* else_branch = inner->attr("else_branch")->g.get();
  EXPECT_EQ(else_branch->parentOp(), inner);
  EXPECT_EQ(else_branch->output(0), w->result(0));
  const Op* t = findOp(body, "t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->operand(0), findOp(body, "sum")->result(0));
}

TEST(IrText, SiblingRegionsMayReuseNames) {
  // Each branch is its own scope; the printer makes names unique over the whole graph.
  auto g = mustParse(R"IR(graph @g (%c: bool[], %x: f32[2]) {
  %z = If(%c) {else_branch = region() {
    %t = Neg(%x) : f32[2]
    return %t
  }, then_branch = region() {
    %t = Relu(%x) : f32[2]
    return %t
  }} : f32[2]
  return %z
}
)IR");
  ASSERT_NE(g, nullptr);
  const std::string expected = R"IR(graph @g (%c: bool[], %x: f32[2]) {
  %z = If(%c) {else_branch = region() {
    %t = Neg(%x) : f32[2]
    return %t
  }, then_branch = region() {
    %0 = Relu(%x) : f32[2]
    return %0
  }} : f32[2]
  return %z
}
)IR";
  EXPECT_EQ(printGraph(*g), expected);
  expectCanonical(expected);
}

TEST(IrText, ApiBuiltGraphGetsFreshAndQuotedNames) {
  Graph g;
  g.name = "my model";
  Region& b = g.body();
  Value* x = b.addArgument(Type::tensor(DType::F32, Shape({Dim::of(2), Dim::sym("N")})), "x");
  Value* x2 = b.addArgument(Type::tensor(DType::F32, Shape::of({2})), "x");  // duplicate name
  Op* r1 = b.createOp(OpKind::Relu, {x}, {Type::tensor(DType::F32, Shape({Dim::of(2), Dim::sym("N")}))});
  Op* r2 = b.createOp(OpKind::Relu, {x2}, {Type::tensor(DType::F32, Shape::of({2}))});
  r2->result(0)->setName("0");
  Op* r3 = b.createOp(OpKind::Identity, {r2->result(0)}, {Type()});  // type not inferred yet
  r3->result(0)->setName("a\tb");
  r3->setLocation("node \"3\"");
  b.setOutputs({r1->result(0), r2->result(0), r3->result(0)});
  const std::string expected = R"IR(graph @"my model" (%x: f32[2,N], %0: f32[2]) {
  %1 = Relu(%x) : f32[2,N]
  %"0" = Relu(%0) : f32[2]
  %"a\tb" = Identity(%"0") loc("node \"3\"") : undef[]
  return %1, %"0", %"a\tb"
}
)IR";
  EXPECT_EQ(printGraph(g), expected);
  expectCanonical(expected);
  auto parsed = mustParse(expected);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(parsed->body().output(1)->name(), "0");
  EXPECT_EQ(parsed->body().output(0)->name(), "");
  EXPECT_EQ(parsed->body().output(2)->name(), "a\tb");
}

TEST(IrText, FloatsRoundTripBitExactly) {
  Graph g;
  std::vector<float> values;
  for (uint32_t i = 0; i < 20000; ++i) {
    uint32_t bits = i * 214739u + (i << 20);  // spread over signs, exponents, NaN payloads
    float f;
    std::memcpy(&f, &bits, 4);
    values.push_back(f);
  }
  Op* c = g.body().createOp(OpKind::Constant, {}, {Type::tensor(DType::F32, Shape::of({20000}))});
  c->setAttr("value_floats", Attribute::ofFloats(values));
  g.body().setOutputs({c->result(0)});
  auto parsed = mustParse(printGraph(g));
  ASSERT_NE(parsed, nullptr);
  std::vector<float> back = parsed->body().ops().front()->getFloats("value_floats");
  ASSERT_EQ(back.size(), values.size());
  EXPECT_EQ(std::memcmp(back.data(), values.data(), values.size() * 4), 0);
}

TEST(IrText, FloatSpellingIsShortestThatReadsBack) {
  EXPECT_EQ(text::formatFloat(1.0f), "1.0");
  EXPECT_EQ(text::formatFloat(0.1f), "0.1");
  EXPECT_EQ(text::formatFloat(100.0f), "100.0");
  EXPECT_EQ(text::formatFloat(-2.5f), "-2.5");
  EXPECT_EQ(text::formatFloat(16777216.0f), "16777216.0");
  EXPECT_EQ(text::formatFloat(1e10f), "1e+10");
  EXPECT_EQ(text::formatFloat(1.17549435e-38f), "1.1754944e-38");  // FLT_MIN
  EXPECT_EQ(text::formatFloat(0.333333343f), "0.33333334");
}

TEST(IrText, EveryOpKindRoundTripsByName) {
  // Op names are unique across domains, so the printed name alone identifies the op.
  std::set<std::string> names;
  Graph g;
  g.opset_imports = {{"", 17}, {"ai.onnx.preview.training", 1}};
  Value* x = g.body().addArgument(Type::tensor(DType::F32, Shape::of({2})), "x");
  for (int k = 0; k < kNumOpKinds; ++k) {
    auto kind = static_cast<OpKind>(k);
    EXPECT_TRUE(names.insert(opName(kind)).second) << "duplicate op name " << opName(kind);
    const OpInfo& info = opInfo(kind);
    std::vector<Value*> operands(static_cast<size_t>(info.min_inputs), x);
    std::vector<Type> types(static_cast<size_t>(info.min_outputs), Type::tensor(DType::F32, Shape::of({2})));
    g.body().createOp(kind, operands, types);
  }
  std::string printed = printGraph(g);
  auto parsed = mustParse(printed);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(printGraph(*parsed), printed);
  ASSERT_EQ(parsed->body().ops().size(), static_cast<size_t>(kNumOpKinds));
  int k = 0;
  for (const auto& op : parsed->body().ops()) EXPECT_EQ(op->kind(), static_cast<OpKind>(k++));
}

TEST(IrText, PrintsTensorListAndRegionListAttributes) {
  // No op in the table holds tensors/graphs attributes today, but the printer is total.
  Graph g;
  Value* x = g.body().addArgument(Type::tensor(DType::F32, Shape::of({})), "x");
  Op* id = g.body().createOp(OpKind::Identity, {x}, {Type::tensor(DType::F32, Shape::of({}))});
  Attribute ts;
  ts.type = AttrType::Tensors;
  ts.tensors = {Tensor::scalar(DType::F32, 1.0), Tensor()};
  id->setAttr("ts", ts);
  Attribute gs;
  gs.type = AttrType::Graphs;
  gs.graphs = {std::make_shared<Region>()};
  gs.graphs[0]->addArgument(Type::tensor(DType::I64, Shape::of({})), "k");
  gs.graphs[0]->setOutputs({x});
  id->setAttr("gs", gs);
  g.body().setOutputs({id->result(0)});
  EXPECT_EQ(printGraph(g), R"IR(graph @main (%x: f32[]) {
  %0 = Identity(%x) {gs = [region(%k: i64[]) {
    return %x
  }], ts = [tensor<f32[]> 0x0000803f, tensor<undef>]} : f32[]
  return %0
}
)IR");
  auto parsed = parseGraph(printGraph(g), "t");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "t:2:22: unknown attribute 'gs' for Identity");
}

TEST(IrText, ElidedConstantsPrintButDoNotParse) {
  Graph g;
  Tensor big(DType::F32, {4, 5});
  Op* c = g.body().createOp(OpKind::Constant, {}, {Type::tensor(DType::F32, Shape::of({4, 5}))});
  c->setAttr("value", Attribute::ofTensor(big));
  Op* small = g.body().createOp(OpKind::Constant, {}, {Type::tensor(DType::F32, Shape::of({}))});
  small->setAttr("value", Attribute::ofTensor(Tensor::scalar(DType::F32, 2.0)));
  g.body().setOutputs({c->result(0), small->result(0)});
  PrintOptions opts;
  opts.elide_large_constants = true;
  std::string text = printGraph(g, opts);
  EXPECT_EQ(text, R"IR(graph @main () {
  %0 = Constant() {value = tensor<f32[4,5]> <elided>} : f32[4,5]
  %1 = Constant() {value = tensor<f32[]> 0x00000040} : f32[]
  return %0, %1
}
)IR");
  auto parsed = parseGraph(text, "elided.dlcir");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "elided.dlcir:2:45: constant is elided; re-import without eliding");
  // Without eliding, the full data is there and parses.
  EXPECT_NE(mustParse(printGraph(g)), nullptr);
}

TEST(IrText, PrintOpIsOneLine) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2], %c: bool[]) {
  %y = Add(%x, %x) loc("add_1") : f32[2]
  %z = If(%c) {else_branch = region() {
    return %y
  }, then_branch = region() {
    %n = Neg(%y) : f32[2]
    return %n
  }} : f32[2]
  return %z
}
)IR");
  ASSERT_NE(g, nullptr);
  auto it = g->body().ops().begin();
  EXPECT_EQ(printOp(**it), "%y = Add(%x, %x) loc(\"add_1\") : f32[2]");
  ++it;
  EXPECT_EQ(printOp(**it), "%z = If(%c) {else_branch = region() { 0 ops }, then_branch = region() { 1 ops }} : f32[2]");
}

}  // namespace
}  // namespace dlc
