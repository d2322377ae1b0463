// ONNX export round trips: import -> export -> import prints the same IR (attributes of every kind,
// subgraphs capturing outer values, symbolic dims, absent optional inputs and outputs, multiple
// outputs, real models), the names the exporter gives, and the same numbers on the interpreter.
#include <set>

#include "tests/unit/onnx_export_util.h"
#include "tests/unit/onnx_test_util.h"

namespace dlc {
namespace {
using namespace export_test;
using AP = onnx::AttributeProto;

// Exports `text`'s graph, imports it again and expects the same printed IR and outputs.
void expectRoundTrip(const std::string& text) {
  std::unique_ptr<Graph> original = parse(text);
  ASSERT_TRUE(original);
  auto back = roundTrip(*original);
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto in = randomInputs(*original);
  EXPECT_EQ(relativeError(run(*original, in), run(**back, in)), 0.0);
  EXPECT_EQ(canonical(**back), canonical(*original));
}

// One op per attribute kind: ints/int/string (Conv), float (LeakyRelu), strings (StringNormalizer),
// tensor (ConstantOfShape), type (Optional), floats (RNN's activation parameters).
constexpr const char* kAttributes = R"(graph @attrs opsets {"" = 17} (%x: f32[1,2,5,5], %s: string[3], %shape: i64[2], %seq: f32[4,1,3]) {
  %w = Constant() {value = tensor<f32[2,2,1,1]> 0x0000803f0000003f000000400000803e} loc("w") : f32[2,2,1,1]
  %rw = Constant() {value = tensor<f32[1,2,3]> 0x0000803f0000003f000000400000803e0000803f0000003f} loc("rw") : f32[1,2,3]
  %rr = Constant() {value = tensor<f32[1,2,2]> 0x0000803f0000003f000000400000803e} loc("rr") : f32[1,2,2]
  %c = Conv(%x, %w) {auto_pad = "NOTSET", dilations = [1, 1], group = 1, pads = [0, 0, 0, 0], strides = [1, 1]} loc("conv") : f32[1,2,5,5]
  %l = LeakyRelu(%c) {alpha = 0.25} loc("leaky") : f32[1,2,5,5]
  %n = StringNormalizer(%s) {case_change_action = "UPPER", stopwords = ["a", "b"]} loc("norm") : string[?]
  %f = ConstantOfShape(%shape) {value = tensor<f32[1]> 0x0000803f} loc("fill") : f32[?,?]
  %o = Optional() {type = f32[2]} loc("opt") : opt<f32[2]>
  %h = OptionalHasElement(%o) loc("has") : bool[]
  %ry, %rh = RNN(%seq, %rw, %rr) {activation_alpha = [0.5], activation_beta = [0.25], activations = ["ScaledTanh"], hidden_size = 2} loc("rnn") : f32[4,1,1,2], f32[1,1,2]
  return %l, %n, %h, %ry, %rh
}
)";

TEST(OnnxExport, AttributesOfEveryKindRoundTrip) {
  expectRoundTrip(kAttributes);
  std::unique_ptr<Graph> g = parse(kAttributes);
  ASSERT_TRUE(g);
  onnx::ModelProto m = exportProto(*g);
  auto kind = [&](const char* op, const char* attr) {
    const onnx::NodeProto* n = findNode(m.graph(), op);
    const AP* a = n ? findAttr(*n, attr) : nullptr;
    return a ? a->type() : AP::UNDEFINED;
  };
  EXPECT_EQ(kind("Conv", "pads"), AP::INTS);
  EXPECT_EQ(kind("Conv", "group"), AP::INT);
  EXPECT_EQ(kind("Conv", "auto_pad"), AP::STRING);
  EXPECT_EQ(kind("LeakyRelu", "alpha"), AP::FLOAT);
  EXPECT_EQ(kind("StringNormalizer", "stopwords"), AP::STRINGS);
  EXPECT_EQ(kind("ConstantOfShape", "value"), AP::TENSOR);
  EXPECT_EQ(kind("Optional", "type"), AP::TYPE_PROTO);
  EXPECT_EQ(kind("RNN", "activation_alpha"), AP::FLOATS);
  // Only attributes the IR sets explicitly are written (RNN's direction stays the default).
  const onnx::NodeProto* rnn = findNode(m.graph(), "RNN");
  ASSERT_NE(rnn, nullptr);
  EXPECT_EQ(findAttr(*rnn, "direction"), nullptr);
  EXPECT_EQ(rnn->attribute_size(), 4);
  // Constants are initializers (and not graph inputs), named as their values.
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  EXPECT_EQ(inits, (std::set<std::string>{"w", "rw", "rr"}));
  EXPECT_EQ(m.graph().input_size(), 4);
  EXPECT_EQ(findNode(m.graph(), "Constant"), nullptr);
}

// Subgraphs use outer values by name: the If branches use %s, %a, %b of the main graph, the
// Loop body's inner If uses %one two levels up; Scan's body too.
constexpr const char* kSubgraphs = R"(graph @subgraphs opsets {"" = 17} (%cond: bool[], %a: f32[N,3], %b: f32[N,3], %trip: i64[], %xs: f32[5,2]) {
  %one = Constant() {value = tensor<f32[]> 0x0000803f} loc("one") : f32[]
  %s = Add(%a, %b) loc("add") : f32[N,3]
  %y = If(%cond) {else_branch = region() {
    %e = Sub(%s, %b) loc("else_sub") : f32[N,3]
    return %e
  }, then_branch = region() {
    %t = Mul(%s, %a) loc("then_mul") : f32[N,3]
    return %t
  }} loc("if") : f32[N,3]
  %lf, %ls = Loop(%trip, %cond, %a) {body = region(%i: i64[], %c: bool[], %acc: f32[N,3]) {
    %sum = Add(%acc, %b) loc("loop_add") : f32[N,3]
    %inner = If(%c) {else_branch = region() {
      %k = Neg(%sum) loc("inner_neg") : f32[N,3]
      return %k
    }, then_branch = region() {
      %r = Mul(%sum, %one) loc("inner_mul") : f32[N,3]
      return %r
    }} loc("inner_if") : f32[N,3]
    return %c, %sum, %inner
  }} loc("loop") : f32[N,3], f32[?,N,3]
  %st, %sc = Scan(%one, %xs) {body = region(%acc2: f32[], %x: f32[2]) {
    %rs = ReduceSum(%x) {keepdims = 0} loc("scan_sum") : f32[]
    %acc3 = Add(%acc2, %rs) loc("scan_add") : f32[]
    %xo = Mul(%x, %one) loc("scan_mul") : f32[2]
    return %acc3, %xo
  }, num_scan_inputs = 1} loc("scan") : f32[], f32[5,2]
  return %y, %lf, %ls, %st, %sc
}
)";

TEST(OnnxExport, SubgraphsCaptureOuterValuesByName) {
  expectRoundTrip(kSubgraphs);
  std::unique_ptr<Graph> g = parse(kSubgraphs);
  ASSERT_TRUE(g);
  onnx::ModelProto m = exportProto(*g);
  const onnx::NodeProto* loop = findNode(m.graph(), "Loop");
  ASSERT_NE(loop, nullptr);
  const AP* body = findAttr(*loop, "body");
  ASSERT_NE(body, nullptr);
  ASSERT_EQ(body->type(), AP::GRAPH);
  EXPECT_EQ(body->g().name(), "loop_body");
  EXPECT_EQ(body->g().input_size(), 3);  // (i, cond, carried): captures are not inputs
  const onnx::NodeProto* inner = findNode(body->g(), "If");
  ASSERT_NE(inner, nullptr);
  const AP* then_branch = findAttr(*inner, "then_branch");
  ASSERT_NE(then_branch, nullptr);
  const onnx::NodeProto* mul = findNode(then_branch->g(), "Mul");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(std::vector<std::string>(mul->input().begin(), mul->input().end()),
            (std::vector<std::string>{"sum", "one"}));
  EXPECT_EQ(then_branch->g().input_size(), 0);
}

// Empty names for absent optional inputs (Clip's min, Resize's roi) and for unused unnamed
// optional outputs (LSTM's Y, printed %0); multiple outputs returned in another order.
constexpr const char* kOptional = R"(graph @optional_io opsets {"" = 17} (%x: f32[1,2,4,4], %hi: f32[], %seq: f32[3,1,2]) {
  %k = Constant() {value = tensor<i64[1]> 0x0200000000000000} loc("k") : i64[1]
  %sizes = Constant() {value = tensor<i64[2]> 0x01000000000000000100000000000000} loc("sizes") : i64[2]
  %scales = Constant() {value = tensor<f32[4]> 0x0000803f0000803f0000004000000040} loc("scales") : f32[4]
  %lw = Constant() {value = tensor<f32[1,8,2]> 0x0000803f0000003f000000bf0000803e0000803f0000003f000000bf0000803e0000803f0000003f000000bf0000803e0000803f0000003f000000bf0000803e} loc("lw") : f32[1,8,2]
  %c = Clip(%x, _, %hi) loc("clip") : f32[1,2,4,4]
  %r = Resize(%c, _, %scales) {mode = "nearest"} loc("resize") : f32[1,2,8,8]
  %m = MaxPool(%r) {kernel_shape = [2, 2], strides = [2, 2]} loc("pool") : f32[1,2,4,4]
  %0, %yh = LSTM(%seq, %lw, %lw) {hidden_size = 2} loc("lstm") : f32[3,1,1,2], f32[1,1,2]
  %v, %i = TopK(%m, %k) {axis = -1} loc("topk") : f32[1,2,4,2], i64[1,2,4,2]
  %p, %q = Split(%m, %sizes) {axis = 1} loc("split") : f32[1,1,4,4], f32[1,1,4,4]
  return %i, %yh, %v, %q, %p
}
)";

TEST(OnnxExport, OptionalInputsAndOutputsAsEmptyNames) {
  expectRoundTrip(kOptional);
  std::unique_ptr<Graph> g = parse(kOptional);
  ASSERT_TRUE(g);
  onnx::ModelProto m = exportProto(*g);
  auto io = [](const google::protobuf::RepeatedPtrField<std::string>& f) { return std::vector<std::string>(f.begin(), f.end()); };
  EXPECT_EQ(io(findNode(m.graph(), "Clip")->input()), (std::vector<std::string>{"x", "", "hi"}));
  EXPECT_EQ(io(findNode(m.graph(), "Resize")->input()), (std::vector<std::string>{"c", "", "scales"}));
  EXPECT_EQ(io(findNode(m.graph(), "LSTM")->output()), (std::vector<std::string>{"", "yh"}));
  std::vector<std::string> outs;
  for (const auto& o : m.graph().output()) outs.push_back(o.name());
  EXPECT_EQ(outs, (std::vector<std::string>{"i", "yh", "v", "q", "p"}));
}

// Symbolic dims (also ones that are not identifiers) are dim_param, unknown dims are empty.
TEST(OnnxExport, SymbolicAndUnknownDims) {
  const char* text = R"(graph @dims opsets {"" = 17} (%x: f32[N,"seq len",8], %y: f32[?,4]) {
  %r = Relu(%x) loc("relu") : f32[N,"seq len",8]
  %t = Transpose(%r) {perm = [1, 0, 2]} loc("t") : f32["seq len",N,8]
  %n = Neg(%y) loc("neg") : f32[?,4]
  return %t, %n
}
)";
  expectRoundTrip(text);
  std::unique_ptr<Graph> g = parse(text);
  ASSERT_TRUE(g);
  onnx::ModelProto m = exportProto(*g);
  const auto& x = m.graph().input(0).type().tensor_type().shape();
  ASSERT_EQ(x.dim_size(), 3);
  EXPECT_EQ(x.dim(0).dim_param(), "N");
  EXPECT_EQ(x.dim(1).dim_param(), "seq len");
  EXPECT_EQ(x.dim(2).dim_value(), 8);
  const auto& y = m.graph().input(1).type().tensor_type().shape();
  ASSERT_EQ(y.dim_size(), 2);
  EXPECT_FALSE(y.dim(0).has_dim_value());
  EXPECT_FALSE(y.dim(0).has_dim_param());
  // The intermediate's type is in value_info, symbolic dims included.
  ASSERT_EQ(m.graph().value_info_size(), 1);
  EXPECT_EQ(m.graph().value_info(0).name(), "r");
  EXPECT_EQ(m.graph().value_info(0).type().tensor_type().shape().dim(1).dim_param(), "seq len");
}

// Names follow the printer: the first value with a name keeps it; a repeated name or no name
// gives the printer's fresh number n, written `_n` (or `_n_1` when the model already uses `_n`).
TEST(OnnxExport, DuplicateAndUnnamedValuesGetUniqueNames) {
  std::unique_ptr<Graph> g = parse(R"(graph @names opsets {"" = 17} (%x: f32[2], %y: f32[2]) {
  %a = Relu(%x) loc("r") : f32[2]
  %b = Neg(%a) loc("n") : f32[2]
  %c = Exp(%b) loc("e") : f32[2]
  %d = Add(%c, %y) loc("s") : f32[2]
  return %d, %b
}
)");
  ASSERT_TRUE(g);
  Region& body = g->body();
  auto result = [&](const char* loc) {
    for (const auto& op : body.ops())
      if (op->location() == loc) return op->result();
    return static_cast<Value*>(nullptr);
  };
  body.argument(1)->setName("_1");
  result("r")->setName("x");  // the input's name again: fresh number 0
  result("n")->setName("");   // no name: fresh number 1, but `_1` is taken
  result("e")->setName("v");
  result("s")->setName("v");  // fresh number 2
  const std::string printed = printGraph(*g);
  EXPECT_NE(printed.find("%0 = Relu(%x)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("%1 = Neg(%0)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("%2 = Add(%v, %_1)"), std::string::npos) << printed;

  onnx::ModelProto m = exportProto(*g);
  std::vector<std::string> outputs;
  for (const auto& n : m.graph().node()) outputs.push_back(n.output(0));
  EXPECT_EQ(outputs, (std::vector<std::string>{"_0", "_1_1", "v", "_2"}));
  EXPECT_EQ(m.graph().input(1).name(), "_1");
  EXPECT_EQ(std::vector<std::string>(m.graph().node(3).input().begin(), m.graph().node(3).input().end()),
            (std::vector<std::string>{"v", "_1"}));
  EXPECT_EQ(m.graph().output(0).name(), "_2");
  EXPECT_EQ(m.graph().output(1).name(), "_1_1");
  auto back = roundTrip(*g);
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto in = randomInputs(*g);
  EXPECT_EQ(relativeError(run(*g, in), run(**back, in)), 0.0);
}

// A value returned twice goes out the second time through an Identity (a name is listed once);
// a graph input may be returned as is; a returned constant stays a Constant node.
TEST(OnnxExport, ReturnedTwiceInputsAndConstants) {
  std::unique_ptr<Graph> g = parse(R"(graph @outs opsets {"" = 17} (%x: f32[3]) {
  %c = Constant() {value = tensor<f32[3]> 0x0000803f0000003f000000bf} loc("c") : f32[3]
  %r = Relu(%x) loc("relu") : f32[3]
  return %r, %x, %r, %c
}
)");
  ASSERT_TRUE(g);
  onnx::ModelProto m = exportProto(*g);
  EXPECT_EQ(opTypes(m.graph()), (std::vector<std::string>{"Constant", "Relu", "Identity"}));
  EXPECT_EQ(m.graph().initializer_size(), 0);
  std::vector<std::string> outs;
  for (const auto& o : m.graph().output()) outs.push_back(o.name());
  EXPECT_EQ(outs, (std::vector<std::string>{"r", "x", "r_out", "c"}));
  auto back = roundTrip(*g);
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto in = randomInputs(*g);
  EXPECT_EQ(relativeError(run(*g, in), run(**back, in)), 0.0);
}

// A subgraph returning an outer value returns it through an Identity inside the subgraph.
TEST(OnnxExport, SubgraphReturningAnOuterValue) {
  std::unique_ptr<Graph> g = parse(R"(graph @capture_out opsets {"" = 17} (%c: bool[], %x: f32[2], %y: f32[2]) {
  %z = If(%c) {else_branch = region() {
    return %y
  }, then_branch = region() {
    %n = Neg(%x) loc("neg") : f32[2]
    return %n
  }} loc("if") : f32[2]
  return %z
}
)");
  ASSERT_TRUE(g);
  onnx::ModelProto m = exportProto(*g);
  const AP* else_branch = findAttr(*findNode(m.graph(), "If"), "else_branch");
  ASSERT_NE(else_branch, nullptr);
  EXPECT_EQ(opTypes(else_branch->g()), std::vector<std::string>{"Identity"});
  EXPECT_EQ(else_branch->g().output(0).name(), "y_out");
  auto back = roundTrip(*g);
  ASSERT_TRUE(back.ok()) << back.status().message();
  for (bool c : {false, true}) {
    std::vector<ref::RtValue> in = randomInputs(*g);
    in[0].tensor.setInt(0, c);
    EXPECT_EQ(relativeError(run(*g, in), run(**back, in)), 0.0);
  }
}

// A real model prints the same IR after the round trip; exporting is deterministic and a second
// export of the re-imported model gives the same bytes.
TEST(OnnxExport, SmallCnnRoundTripsToTheSameIrAndBytes) {
  const std::string path = std::string(DLC_SOURCE_DIR) + "/examples/models/small_cnn.onnx";
  auto original = onnx_import::importModelFile(path);
  ASSERT_TRUE(original.ok()) << original.status().message();
  auto bytes = onnx_export::exportModelBytes(**original);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto again = onnx_export::exportModelBytes(**original);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*bytes, *again);
  auto back = onnx_import::importModelBytes(*bytes, "exported.onnx", "");
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto rebytes = onnx_export::exportModelBytes(**back);
  ASSERT_TRUE(rebytes.ok());
  EXPECT_EQ(*rebytes, *bytes);
  EXPECT_EQ((*back)->producer, "dlc");
  EXPECT_EQ((*back)->opset_imports, (std::map<std::string, int64_t>{{"", 17}}));
  EXPECT_EQ(canonical(**back), canonical(**original));
}

// Test-data models with sequences, optionals and the training domain come back the same.
TEST(OnnxExport, TestDataModelsRoundTrip) {
  if (!onnx_test::haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  for (const char* name : {"node/test_momentum", "node/test_loop16_seq_none", "node/test_sequence_insert_at_back",
                           "node/test_optional_get_element_sequence", "node/test_scan9_sum", "node/test_lstm_with_peepholes",
                           "pytorch-converted/test_BatchNorm2d_momentum_eval", "pytorch-operator/test_operator_symbolic_override_nested", "simple/test_expand_shape_model1"}) {
    SCOPED_TRACE(name);
    auto original = onnx_import::importModelFile(onnx_test::kTestData + "/" + name + "/model.onnx");
    ASSERT_TRUE(original.ok()) << original.status().message();
    auto back = roundTrip(**original);
    ASSERT_TRUE(back.ok()) << back.status().message();
    if (std::string(name) == "node/test_momentum")
      EXPECT_EQ((*back)->opset_imports.at("ai.onnx.preview.training"), 1);
    EXPECT_EQ(canonical(**back), canonical(**original));
  }
}

}  // namespace
}  // namespace dlc
