// ONNX export: opsets 13..17 (older forms, decompositions, refusals naming the op and node), dlc
// ops refused all at once, types ONNX cannot hold, external data, and atomic files.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "tests/unit/onnx_export_util.h"

namespace dlc {
namespace {
using namespace export_test;
using onnx_export::ExportOptions;
namespace fs = std::filesystem;

ExportOptions atOpset(int64_t opset) {
  ExportOptions o;
  o.opset = opset;
  return o;
}

std::string exportError(const std::string& text, const ExportOptions& options = {}) {
  std::unique_ptr<Graph> g = parse(text);
  if (!g) return "parse failed";
  auto bytes = onnx_export::exportModelBytes(*g, options);
  return bytes.ok() ? std::string("no error") : bytes.status().message();
}

// The graph exported at `opset` and imported again computes what it did (within `tol` of
// max|y|), and the file's opset and IR version are the opset's.
onnx::ModelProto checkAtOpset(const std::string& text, int64_t opset, double tol = 0.0) {
  std::unique_ptr<Graph> g = parse(text);
  EXPECT_TRUE(g);
  if (!g) return {};
  onnx::ModelProto m = exportProto(*g, atOpset(opset));
  EXPECT_EQ(m.opset_import(0).domain(), "");
  EXPECT_EQ(m.opset_import(0).version(), opset);
  auto back = roundTrip(*g, atOpset(opset));
  EXPECT_TRUE(back.ok()) << back.status().message();
  if (back.ok()) {
    const auto in = randomInputs(*g);
    EXPECT_LE(relativeError(run(*g, in), run(**back, in)), tol);
  }
  return m;
}

TEST(OnnxExportOpset, IrVersionFollowsTheOpset) {
  const char* text = "graph @g opsets {\"\" = 17} (%x: f32[2]) {\n  %y = Relu(%x) loc(\"r\") : f32[2]\n  return %y\n}\n";
  for (auto [opset, ir] : {std::pair<int64_t, int64_t>{13, 7}, {14, 7}, {15, 8}, {16, 8}, {17, 8}}) {
    onnx::ModelProto m = checkAtOpset(text, opset);
    EXPECT_EQ(m.ir_version(), ir) << "opset " << opset;
    EXPECT_EQ(m.producer_name(), "dlc");
  }
}

TEST(OnnxExportOpset, OutsideThirteenToSeventeenIsAnError) {
  const char* text = "graph @g opsets {\"\" = 17} (%x: f32[2]) {\n  %y = Relu(%x) : f32[2]\n  return %y\n}\n";
  for (int64_t opset : {12, 18, 7})
    EXPECT_EQ(exportError(text, atOpset(opset)),
              str("opset ", opset, " is not supported for export (ai.onnx opsets 13 to 17 are)"));
}

// HardSwish (opset 14) is x·HardSigmoid(x; 1/6, 1/2) before: the reference's own formula.
TEST(OnnxExportOpset, HardSwishBefore14IsDecomposed) {
  const char* text = "graph @g opsets {\"\" = 17} (%x: f32[3,7]) {\n  %y = HardSwish(%x) loc(\"hs\") : f32[3,7]\n  return %y\n}\n";
  EXPECT_EQ(opTypes(checkAtOpset(text, 13).graph()), (std::vector<std::string>{"HardSigmoid", "Mul"}));
  EXPECT_EQ(opTypes(checkAtOpset(text, 14).graph()), std::vector<std::string>{"HardSwish"});
}

// LayerNormalization (opset 17) is ReduceMean/Sub/Mul/ReduceMean/Add/Sqrt/Reciprocal/Mul/Mul/Add
// before, with its Mean and InvStdDev outputs; positive and negative axes; a 16-bit input runs in
// f32. ReduceMean sums in another order than the LayerNorm kernel: a few ulps of max|y|.
TEST(OnnxExportOpset, LayerNormalizationBefore17IsDecomposed) {
  const char* text = R"(graph @g opsets {"" = 17} (%x: f32[2,3,4], %s: f32[3,4], %b: f32[3,4], %h: f16[2,5], %hs: f16[5]) {
  %y, %mean, %inv = LayerNormalization(%x, %s, %b) {axis = 1, epsilon = 0.01} loc("ln") : f32[2,3,4], f32[2,1,1], f32[2,1,1]
  %z = LayerNormalization(%x, %s) {axis = -2} loc("ln2") : f32[2,3,4]
  %w = LayerNormalization(%h, %hs) loc("ln3") : f16[2,5]
  return %y, %mean, %inv, %z, %w
}
)";
  onnx::ModelProto m = checkAtOpset(text, 16, 1e-6);
  EXPECT_EQ(findNode(m.graph(), "LayerNormalization"), nullptr);
  const onnx::NodeProto* mean = findNode(m.graph(), "ReduceMean");
  ASSERT_NE(mean, nullptr);
  const onnx::AttributeProto* axes = findAttr(*mean, "axes");
  ASSERT_NE(axes, nullptr);
  EXPECT_EQ(std::vector<int64_t>(axes->ints().begin(), axes->ints().end()), (std::vector<int64_t>{1, 2}));
}

// Shape's start/end (opset 15) are a Slice of the whole shape before.
TEST(OnnxExportOpset, ShapeStartEndBefore15IsASlice) {
  const char* text = R"(graph @g opsets {"" = 17} (%x: f32[2,3,4,5]) {
  %s = Shape(%x) {end = -1, start = 1} loc("shape") : i64[2]
  %t = Shape(%x) {start = -2} loc("tail") : i64[2]
  %a = Shape(%x) {start = 0} loc("all") : i64[4]
  return %s, %t, %a
}
)";
  EXPECT_EQ(opTypes(checkAtOpset(text, 14).graph()),
            (std::vector<std::string>{"Shape", "Constant", "Constant", "Slice", "Shape", "Constant", "Constant", "Slice", "Shape"}));
  EXPECT_EQ(opTypes(checkAtOpset(text, 15).graph()), (std::vector<std::string>{"Shape", "Shape", "Shape"}));
}

// Older versions without an attribute take it when it has opset 17's default, and refuse any
// other value, naming the op, the node and the opset that has it.
TEST(OnnxExportOpset, NewAttributesAtTheirDefaultAreLeftOut) {
  const char* text = R"(graph @g opsets {"" = 17} (%x: f32[3,1,2], %d: f32[2,3], %i: i64[2,1], %u: f32[2,1]) {
  %w = Constant() {value = tensor<f32[1,8,2]> 0x0000803f0000003f000000bf0000803e0000803f0000003f000000bf0000803e0000803f0000003f000000bf0000803e0000803f0000003f000000bf0000803e} loc("w") : f32[1,8,2]
  %y, %yh = LSTM(%x, %w, %w) {hidden_size = 2, layout = 0} loc("lstm") : f32[3,1,1,2], f32[1,1,2]
  %s = ScatterElements(%d, %i, %u) {axis = 1, reduction = "none"} loc("scatter") : f32[2,3]
  return %y, %s
}
)";
  onnx::ModelProto m = checkAtOpset(text, 13);
  EXPECT_EQ(findAttr(*findNode(m.graph(), "LSTM"), "layout"), nullptr);
  EXPECT_EQ(findAttr(*findNode(m.graph(), "ScatterElements"), "reduction"), nullptr);
  std::string layout1 = text;
  layout1.replace(layout1.find("layout = 0"), 10, "layout = 1");
  layout1.replace(layout1.find("f32[3,1,2]"), 10, "f32[1,3,2]");
  layout1.replace(layout1.find("f32[3,1,1,2], f32[1,1,2]"), 24, "f32[1,3,1,2], f32[1,1,2]");
  EXPECT_EQ(exportError(layout1, atOpset(13)),
            "node 'lstm' (LSTM): attribute 'layout' needs opset 14 (exporting at opset 13)");
}

// Types an older version does not take: Add-13 has no int8, Identity-13 no sequences.
TEST(OnnxExportOpset, TypesTheOlderVersionLacksAreRefused) {
  EXPECT_EQ(exportError("graph @g opsets {\"\" = 17} (%x: i8[2]) {\n  %y = Add(%x, %x) loc(\"add\") : i8[2]\n  return %y\n}\n",
                        atOpset(13)),
            "node 'add' (Add): input 0 is tensor(int8), which Add-13 does not take (exporting at opset 13)");
  EXPECT_EQ(exportError("graph @g opsets {\"\" = 17} (%x: i8[2]) {\n  %y = Add(%x, %x) loc(\"add\") : i8[2]\n  return %y\n}\n",
                        atOpset(14)),
            "no error");
  EXPECT_EQ(exportError(R"(graph @g opsets {"" = 17} (%x: f32[2]) {
  %s = SequenceConstruct(%x) loc("seq") : seq<f32[2]>
  %t = Identity(%s) loc("id") : seq<f32[2]>
  %n = SequenceLength(%t) loc("len") : i64[]
  return %n
}
)",
                        atOpset(13)),
            "node 'id' (Identity): input 0 is seq(tensor(float)), which Identity-13 does not take (exporting at opset 13)");
}

TEST(OnnxExportOpset, OpsNewerThanTheOpsetAreRefused) {
  EXPECT_EQ(exportError("graph @g opsets {\"\" = 17} (%x: f32[3,3]) {\n  %y = Trilu(%x) loc(\"tri\") : f32[3,3]\n  return %y\n}\n",
                        atOpset(13)),
            "node 'tri' (Trilu): Trilu needs opset 14 (exporting at opset 13)");
  EXPECT_EQ(exportError(R"(graph @g opsets {"" = 17} (%x: f32[2,3,4,5], %m: f32[3], %v: f32[3]) {
  %y, %rm, %rv = BatchNormalization(%x, %m, %v, %m, %v) {training_mode = 1} loc("bn") : f32[2,3,4,5], f32[3], f32[3]
  return %y, %rm, %rv
}
)",
                        atOpset(13)),
            "node 'bn' (BatchNormalization): training-mode BatchNormalization needs opset 14 (exporting at opset 13)");
  EXPECT_EQ(exportError(R"(graph @g opsets {"" = 17} (%x: f32[1,1,4,4], %r: f32[1,4], %i: i64[1]) {
  %y = RoiAlign(%x, %r, %i) loc("roi") : f32[1,1,1,1]
  return %y
}
)",
                        atOpset(15)),
            "node 'roi' (RoiAlign): RoiAlign with coordinate_transformation_mode half_pixel needs opset 16 (exporting at opset 15)");
}

// Reshape's allowzero (opset 14) means nothing for a constant shape without zeros.
TEST(OnnxExportOpset, ReshapeAllowZeroWithAConstantShape) {
  const char* text = R"(graph @g opsets {"" = 17} (%x: f32[2,6], %s: i64[2]) {
  %c = Constant() {value = tensor<i64[2]> 0x03000000000000000400000000000000} loc("c") : i64[2]
  %y = Reshape(%x, %c) {allowzero = 1} loc("r") : f32[3,4]
  return %y
}
)";
  EXPECT_EQ(findAttr(*findNode(checkAtOpset(text, 13).graph(), "Reshape"), "allowzero"), nullptr);
  EXPECT_EQ(exportError(R"(graph @g opsets {"" = 17} (%x: f32[2,6], %s: i64[2]) {
  %y = Reshape(%x, %s) {allowzero = 1} loc("r") : f32[?,?]
  return %y
}
)",
                        atOpset(13)),
            "node 'r' (Reshape): Reshape with allowzero=1 and a shape that may hold 0 needs opset 14 (exporting at opset 13)");
}

// Ops deprecated before opset 13 are written as their successors at every opset.
TEST(OnnxExportOpset, DeprecatedOpsGetTheirSuccessors) {
  const char* text = R"(graph @g opsets {"" = 17} (%x: f32[1,1,2,3], %d: f32[2,3], %i: i64[2,1], %u: f32[2,1]) {
  %sc = Constant() {value = tensor<f32[4]> 0x0000803f0000803f0000004000004040} loc("sc") : f32[4]
  %n = Upsample(%x, %sc) loc("up") : f32[1,1,4,9]
  %l = Upsample(%x, %sc) {mode = "linear"} loc("up2") : f32[1,1,4,9]
  %s = Scatter(%d, %i, %u) {axis = 1} loc("scatter") : f32[2,3]
  return %n, %l, %s
}
)";
  for (int64_t opset : {13, 17}) {
    onnx::ModelProto m = checkAtOpset(text, opset);
    EXPECT_EQ(opTypes(m.graph()), (std::vector<std::string>{"Resize", "Resize", "ScatterElements"}));
    const onnx::NodeProto& up = m.graph().node(0);
    EXPECT_EQ(std::vector<std::string>(up.input().begin(), up.input().end()), (std::vector<std::string>{"x", "", "sc"}));
    EXPECT_EQ(findAttr(up, "coordinate_transformation_mode")->s(), "asymmetric");
    EXPECT_EQ(findAttr(up, "nearest_mode")->s(), "floor");
  }
}

// Every dlc op at once (nested ones included), with the fix.
TEST(OnnxExportErrors, DlcOpsAreAllListedWithTheFix) {
  EXPECT_EQ(exportError(R"(graph @g opsets {"" = 17} (%x: f32[1,2,3,3], %w: f32[2,2,1,1], %c: bool[]) {
  %y = FusedConv(%x, %w) {activation = "Relu"} loc("conv1") : f32[1,2,3,3]
  %z = If(%c) {else_branch = region() {
    return %y
  }, then_branch = region() {
    %g = Gelu(%y) loc("gelu") : f32[1,2,3,3]
    return %g
  }} loc("if") : f32[1,2,3,3]
  return %z
}
)"),
            "2 ops have no ONNX form (dlc's fused ops): node 'conv1' (FusedConv), node 'gelu' (Gelu); run the unfuse pass "
            "first (`dlc opt --passes=unfuse`; `dlc export` runs it)");
}

TEST(OnnxExportErrors, TypesOnnxCannotHold) {
  EXPECT_EQ(exportError(R"(graph @g opsets {"" = 17} (%x: f32[3]) {
  %q = Constant() {value = tensor<i4[3]> 0x210f} loc("q") : i4[3]
  %d = DequantizeLinear(%q, %x) loc("dq") : f32[3]
  return %d
}
)"),
            "initializer 'q': i4 tensors have no ONNX form at opsets 13 to 17 (4-bit types need IR version 10)");
  EXPECT_EQ(exportError("graph @g opsets {\"\" = 17} (%x: f32[*]) {\n  %y = Relu(%x) loc(\"r\") : f32[*]\n  return %y\n}\n"),
            "graph input 'x' has type f32[*]: ONNX needs a dtype and a rank for the main graph's inputs and outputs");
}

std::string tempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / str("dlc_export_", name, "_", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// 300 floats (1200 bytes: above the default 1 KB threshold) and a 3-float bias (inline).
constexpr const char* kWeights = R"(graph @weights opsets {"" = 17} (%x: f32[2,100]) {
  %w = Constant() {value = tensor<f32[100,3]> 0x%W%} loc("w") : f32[100,3]
  %b = Constant() {value = tensor<f32[3]> 0x0000803f0000003f000000bf} loc("b") : f32[3]
  %m = MatMul(%x, %w) loc("mm") : f32[2,3]
  %y = Add(%m, %b) loc("add") : f32[2,3]
  return %y
}
)";

std::unique_ptr<Graph> weightsGraph() {
  std::string hex;
  static const char* kDigits = "0123456789abcdef";
  for (int i = 0; i < 300; ++i) {
    float f = 0.01f * static_cast<float>(i % 37) - 0.1f;
    unsigned char b[4];
    std::memcpy(b, &f, 4);
    for (unsigned char c : b) hex += {kDigits[c >> 4], kDigits[c & 15]};
  }
  std::string text = kWeights;
  text.replace(text.find("%W%"), 3, hex);
  return parse(text);
}

TEST(OnnxExportExternalData, ForcedOnASmallModelRoundTrips) {
  std::unique_ptr<Graph> g = weightsGraph();
  ASSERT_TRUE(g);
  const std::string dir = tempDir("external");
  ExportOptions o;
  o.external_data = true;
  Status s = onnx_export::exportModelFile(*g, dir + "/m.onnx", o);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(fs::exists(dir + "/m.onnx.data"));
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(readAll(dir + "/m.onnx")));
  int external = 0;
  for (const auto& t : m.graph().initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) {
      EXPECT_EQ(t.name(), "b");  // below the threshold: inline
      continue;
    }
    ++external;
    std::map<std::string, std::string> kv;
    for (const auto& e : t.external_data()) kv[e.key()] = e.value();
    EXPECT_EQ(kv["location"], "m.onnx.data");
    EXPECT_EQ(std::stoll(kv["offset"]) % 4096, 0);
    EXPECT_EQ(kv["length"], "1200");
    EXPECT_FALSE(t.has_raw_data());
  }
  EXPECT_EQ(external, 1);
  EXPECT_EQ(fs::file_size(dir + "/m.onnx.data"), 1200u);
  EXPECT_FALSE(fs::exists(dir + "/m.onnx.tmp"));
  EXPECT_FALSE(fs::exists(dir + "/m.onnx.data.tmp"));
  auto back = onnx_import::importModelFile(dir + "/m.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(canonical(**back), canonical(*g));
  const auto in = randomInputs(*g);
  EXPECT_EQ(relativeError(run(*g, in), run(**back, in)), 0.0);
}

// Every tensor at a multiple of the alignment, under a chosen file name.
TEST(OnnxExportExternalData, NamedFileAndAlignment) {
  std::unique_ptr<Graph> g = weightsGraph();
  ASSERT_TRUE(g);
  const std::string dir = tempDir("external_named");
  ExportOptions o;
  o.external_data = true;
  o.external_data_file = "weights.bin";
  o.external_data_threshold = 0;
  o.external_data_alignment = 64;
  ASSERT_TRUE(onnx_export::exportModelFile(*g, dir + "/m.onnx", o).ok());
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(readAll(dir + "/m.onnx")));
  ASSERT_EQ(m.graph().initializer_size(), 2);
  for (const auto& t : m.graph().initializer()) {
    ASSERT_EQ(t.data_location(), onnx::TensorProto::EXTERNAL) << t.name();
    EXPECT_EQ(t.external_data(0).value(), "weights.bin");
  }
  // w at 0 (1200 bytes), b at the next multiple of 64.
  EXPECT_EQ(m.graph().initializer(1).external_data(1).value(), "1216");
  EXPECT_EQ(fs::file_size(dir + "/weights.bin"), 1216u + 12u);
  auto back = onnx_import::importModelFile(dir + "/m.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(canonical(**back), canonical(*g));
  o.external_data_file = "sub/weights.bin";
  EXPECT_EQ(onnx_export::exportModelFile(*g, dir + "/m2.onnx", o).message(),
            "external data file 'sub/weights.bin' must be a file name in the model's folder");
}

// Past the inline limit (protobuf's 2 GB, lowered here) a file gets external data on its own and
// bytes are refused.
TEST(OnnxExportExternalData, UsedAutomaticallyPastTheLimit) {
  std::unique_ptr<Graph> g = weightsGraph();
  ASSERT_TRUE(g);
  ExportOptions o;
  o.inline_limit_bytes = 1000;
  auto bytes = onnx_export::exportModelBytes(*g, o);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().message(),
            "the initializers hold 1212 bytes, more than one ONNX file can (protobuf's 2 GB limit): export to a file, "
            "which puts them in an external data file");
  const std::string dir = tempDir("external_auto");
  ASSERT_TRUE(onnx_export::exportModelFile(*g, dir + "/m.onnx", o).ok());
  EXPECT_TRUE(fs::exists(dir + "/m.onnx.data"));
  auto back = onnx_import::importModelFile(dir + "/m.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  o.external_data = true;
  o.inline_limit_bytes = ExportOptions{}.inline_limit_bytes;
  EXPECT_EQ(onnx_export::exportModelBytes(*g, o).status().message(),
            "external data needs a model file (export to a file instead)");
}

// A failed export leaves an existing file as it was, and no temporary file behind.
TEST(OnnxExportFiles, FailedExportLeavesNoPartialOutput) {
  const std::string dir = tempDir("atomic");
  const std::string path = dir + "/m.onnx";
  { std::ofstream(path) << "previous"; }
  std::unique_ptr<Graph> fused = parse(R"(graph @g opsets {"" = 17} (%x: f32[2]) {
  %y = Gelu(%x) loc("g") : f32[2]
  return %y
}
)");
  ASSERT_TRUE(fused);
  EXPECT_FALSE(onnx_export::exportModelFile(*fused, path).ok());
  EXPECT_EQ(readAll(path), "previous");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  std::unique_ptr<Graph> g = weightsGraph();
  ASSERT_TRUE(g);
  EXPECT_EQ(onnx_export::exportModelFile(*g, dir + "/no/such/dir/m.onnx").message(),
            str("cannot write '", dir, "/no/such/dir/m.onnx.tmp'"));
  // The last step, the rename, failing (a folder is in the way): the temporary file goes too.
  fs::create_directories(dir + "/taken");
  EXPECT_EQ(onnx_export::exportModelFile(*g, dir + "/taken").message(), str("cannot replace '", dir, "/taken'"));
  EXPECT_FALSE(fs::exists(dir + "/taken.tmp"));
  ASSERT_TRUE(onnx_export::exportModelFile(*g, path).ok());
  EXPECT_NE(readAll(path), "previous");
  EXPECT_FALSE(fs::exists(path + ".data"));  // nothing asked for external data
}

}  // namespace
}  // namespace dlc
