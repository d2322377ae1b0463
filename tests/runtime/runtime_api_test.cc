// The runtime's C API on small compiled graphs: loading from file and memory, the signature,
// binding by index and name, running, outputs, and the errors callers can cause.
#include <fstream>

#include "runtime_util.h"

namespace dlc::testing {
namespace {

// y = Relu(x @ W + b), z = Tanh(y) * 2; a static-shape model with weights and two outputs.
// W = [[0.5, -1, 0.25, 2], [1.5, 0, -0.5, 1], [-2, 0.75, 1, -1.5]], b = [0.1, 0.2, -0.3, 0.4].
const char* kMlp = R"IR(graph @mlp (%x: f32[2,3]) {
  %w = Constant() {value = tensor<f32[3,4]> 0x0000003f000080bf0000803e000000400000c03f00000000000000bf0000803f000000c00000403f0000803f0000c0bf} : f32[3,4]
  %b = Constant() {value = tensor<f32[4]> 0xcdcccc3dcdcc4c3e9a9999becdcccc3e} : f32[4]
  %two = Constant() {value_float = 2.0} : f32[]
  %m = MatMul(%x, %w) : f32[2,4]
  %a = Add(%m, %b) : f32[2,4]
  %y = Relu(%a) : f32[2,4]
  %t = Tanh(%y) : f32[2,4]
  %z = Mul(%t, %two) : f32[2,4]
  return %y, %z
}
)IR";

// Symbolic batch N shared by both inputs.
const char* kSymbolic = R"IR(graph @sym (%a: f32[N,3], %b: f32[N,3]) {
  %s = Add(%a, %b) : f32[N,3]
  %e = Exp(%s) : f32[N,3]
  return %e
}
)IR";

class RuntimeApi : public ::testing::Test {
 protected:
  void SetUp() override { registerReference(); }
};

Tensor input2x3() { return Tensor::fromVector<float>(DType::F32, {2, 3}, std::vector<float>{1, -2, 3, 0.5f, 4, -1}); }

TEST_F(RuntimeApi, RunsCompiledGraphLikeTheInterpreter) {
  std::string bytes = compileIr(kMlp);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  EXPECT_EQ(model.target(), "reference");
  ASSERT_EQ(model.inputCount(), 1u);
  ASSERT_EQ(model.outputCount(), 2u);
  runtime::Session session(model, 1);
  Tensor x = input2x3();
  session.bindInput(0, DLC_DTYPE_F32, {2, 3}, x.raw(), x.nbytes());
  session.run();
  std::vector<Tensor> expected = interpret(kMlp, {x});
  for (size_t i = 0; i < 2; ++i) {
    dlc_tensor out = session.output(i);
    ASSERT_EQ(out.rank, 2);
    EXPECT_EQ(out.shape[0], 2);
    EXPECT_EQ(out.shape[1], 4);
    std::vector<float> want(expected[i].data<float>(), expected[i].data<float>() + 8);
    EXPECT_EQ(floats(out), want) << "output " << i;
  }
}

TEST_F(RuntimeApi, LoadsFromFileAndReportsSignature) {
  std::string bytes = compileIr(kSymbolic);
  std::string path = ::testing::TempDir() + "/sym.dlc";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  auto model = runtime::Model::loadFile(path);
  dlc_tensor_info a = model.input(0);
  EXPECT_STREQ(a.name, "a");
  EXPECT_EQ(a.dtype, DLC_DTYPE_F32);
  ASSERT_EQ(a.rank, 2);
  EXPECT_EQ(a.dims[0], -1);
  EXPECT_STREQ(a.dim_names[0], "N");
  EXPECT_EQ(a.dims[1], 3);
  size_t index = 9;
  ASSERT_EQ(StatusResult(dlc_model_input_find(model.get(), "b", &index)).code, DLC_OK);
  EXPECT_EQ(index, 1u);
  StatusResult missing(dlc_model_input_find(model.get(), "nope", &index));
  EXPECT_EQ(missing.code, DLC_INVALID_ARGUMENT);
  EXPECT_NE(missing.message.find("'nope'"), std::string::npos);
  dlc_model_stats stats;
  dlc_model_stats_get(model.get(), &stats);
  EXPECT_EQ(stats.steps, 2u);
}

TEST_F(RuntimeApi, SymbolicDimsBindPerRunAndMustAgree) {
  std::string bytes = compileIr(kSymbolic);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  for (int64_t n : {1, 5, 2}) {
    std::vector<float> a(static_cast<size_t>(n * 3), 0.5f), b(static_cast<size_t>(n * 3), -0.25f);
    session.bindInput("a", DLC_DTYPE_F32, {n, 3}, a.data(), a.size() * 4);
    session.bindInput("b", DLC_DTYPE_F32, {n, 3}, b.data(), b.size() * 4);
    session.run();
    dlc_tensor out = session.output(0);
    ASSERT_EQ(out.shape[0], n);
    for (float v : floats(out)) EXPECT_FLOAT_EQ(v, std::exp(0.25f));
  }
  std::vector<float> a(6), b(9);
  session.bindInput(0, DLC_DTYPE_F32, {2, 3}, a.data(), a.size() * 4);
  session.bindInput(1, DLC_DTYPE_F32, {3, 3}, b.data(), b.size() * 4);
  StatusResult r(dlc_session_run(session.get()));
  EXPECT_EQ(r.code, DLC_INVALID_ARGUMENT);
  EXPECT_NE(r.message.find("input 'b'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("expected N"), std::string::npos) << r.message;
}

TEST_F(RuntimeApi, BadBindingsAreErrorsNamingTheInput) {
  std::string bytes = compileIr(kMlp);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  std::vector<float> data(6);
  std::vector<int64_t> shape{2, 3}, wrong{3, 2};
  struct Case {
    dlc_tensor t;
    const char* message;
  } cases[] = {
      {{DLC_DTYPE_I32, 2, shape.data(), data.data(), 24}, "input 'x' has dtype i32, expected f32"},
      {{DLC_DTYPE_F32, 2, wrong.data(), data.data(), 24}, "input 'x' has dim 0 of size 3, expected 2"},
      {{DLC_DTYPE_F32, 1, shape.data(), data.data(), 24}, "input 'x' has rank 1, expected 2"},
      {{DLC_DTYPE_F32, 2, shape.data(), data.data(), 20}, "input 'x' needs 24 bytes, the tensor gives 20"},
      {{DLC_DTYPE_F32, 2, shape.data(), nullptr, 24}, "input 'x' needs 24 bytes"},
  };
  for (const Case& c : cases) {
    StatusResult r(dlc_session_input_bind(session.get(), 0, &c.t));
    EXPECT_EQ(r.code, DLC_INVALID_ARGUMENT);
    EXPECT_NE(r.message.find(c.message), std::string::npos) << r.message;
  }
  dlc_tensor ok{DLC_DTYPE_F32, 2, shape.data(), data.data(), 24};
  EXPECT_EQ(StatusResult(dlc_session_input_bind(session.get(), 7, &ok)).code, DLC_INVALID_ARGUMENT);
  StatusResult unbound(dlc_session_run(session.get()));
  EXPECT_EQ(unbound.message, "input 'x' is not bound");
  dlc_tensor out;
  EXPECT_EQ(StatusResult(dlc_session_output_get(session.get(), 0, &out)).code, DLC_INVALID_ARGUMENT);
  EXPECT_EQ(StatusResult(dlc_session_input_bind(nullptr, 0, &ok)).code, DLC_INVALID_ARGUMENT);
  EXPECT_EQ(StatusResult(dlc_session_create(nullptr, nullptr, nullptr)).code, DLC_INVALID_ARGUMENT);
}

TEST_F(RuntimeApi, BoundOutputsReceiveResults) {
  std::string bytes = compileIr(kMlp);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  Tensor x = input2x3();
  session.bindInput(0, DLC_DTYPE_F32, {2, 3}, x.raw(), x.nbytes());
  std::vector<float> z(8, -7.0f), small(4);
  std::vector<int64_t> shape{2, 4};
  dlc_tensor zt{DLC_DTYPE_F32, 2, shape.data(), z.data(), z.size() * 4};
  ASSERT_EQ(StatusResult(dlc_session_output_bind_by_name(session.get(), "z", &zt)).code, DLC_OK);
  session.run();
  std::vector<Tensor> expected = interpret(kMlp, {x});
  EXPECT_EQ(z, std::vector<float>(expected[1].data<float>(), expected[1].data<float>() + 8));
  EXPECT_EQ(session.output(1).data, z.data());

  dlc_tensor st{DLC_DTYPE_F32, 2, shape.data(), small.data(), small.size() * 4};
  ASSERT_EQ(StatusResult(dlc_session_output_bind(session.get(), 1, &st)).code, DLC_OK);
  StatusResult r(dlc_session_run(session.get()));
  EXPECT_EQ(r.code, DLC_KERNEL_ERROR);
  EXPECT_NE(r.message.find("output 'z' needs 32 bytes; the bound buffer holds 16"), std::string::npos) << r.message;
}

TEST_F(RuntimeApi, ControlFlowWithCapturedValuesRuns) {
  // The If branches read %y and %x from the enclosing graph: they become inputs of its step.
  const char* text = R"IR(graph @cf (%c: bool[], %x: f32[3]) {
  %y = Neg(%x) : f32[3]
  %z = If(%c) {else_branch = region() {
    %e = Abs(%y) : f32[3]
    return %e
  }, then_branch = region() {
    %t = Add(%y, %x) : f32[3]
    return %t
  }} : f32[3]
  return %z
}
)IR";
  std::string bytes = compileIr(text);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  std::vector<float> x{1.5f, -2.0f, 3.0f};
  for (bool c : {true, false}) {
    session.bindInput(0, DLC_DTYPE_BOOL, {}, &c, 1);
    session.bindInput(1, DLC_DTYPE_F32, {3}, x.data(), 12);
    session.run();
    std::vector<float> want = c ? std::vector<float>{0, 0, 0} : std::vector<float>{1.5f, 2.0f, 3.0f};
    EXPECT_EQ(floats(session.output(0)), want) << "cond " << c;
  }
}

TEST_F(RuntimeApi, OutputThatIsAnInputOrWeight) {
  const char* text = R"IR(graph @pass (%x: f32[2]) {
  %k = Constant() {value = tensor<f32[2]> 0x000080400000a040} : f32[2]
  return %x, %k
}
)IR";
  std::string bytes = compileIr(text);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  std::vector<float> x{1, 2}, bound(2);
  session.bindInput(0, DLC_DTYPE_F32, {2}, x.data(), 8);
  std::vector<int64_t> shape{2};
  dlc_tensor b{DLC_DTYPE_F32, 1, shape.data(), bound.data(), 8};
  ASSERT_EQ(StatusResult(dlc_session_output_bind(session.get(), 0, &b)).code, DLC_OK);
  session.run();
  EXPECT_EQ(bound, x);
  EXPECT_EQ(floats(session.output(1)), (std::vector<float>{4, 5}));
}

TEST_F(RuntimeApi, CompileRefusesTopLevelSequencesAndStrings) {
  const char* text = R"IR(graph @seq (%x: f32[2]) {
  %s = SequenceConstruct(%x, %x) : seq<f32[2]>
  %n = SequenceLength(%s) : i64[]
  return %n
}
)IR";
  auto g = parseGraph(text, "seq.dlcir");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto bytes = backends::writeArtifact(**g, backends::ArtifactOptions{});
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("value 's' (SequenceConstruct"), std::string::npos) << bytes.status().message();
}

TEST_F(RuntimeApi, ModelsLoadWithTheCallersAllocator) {
  std::string bytes = compileIr(kMlp);
  CountingAllocator counter;
  dlc_allocator a = counter.get();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size(), &a);
  EXPECT_EQ(counter.allocations, 1);  // the aligned copy of the artifact
  {
    runtime::Session session(model, 1);  // the session inherits the model's allocator
    EXPECT_EQ(counter.allocations, 2);   // its arena
  }
  EXPECT_EQ(counter.frees, 1);
}

}  // namespace
}  // namespace dlc::testing
