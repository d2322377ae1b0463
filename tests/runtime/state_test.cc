// Training state in sessions: states fed by the session, swapped after each run (no allocation, no
// copy), read and written through the C API, refused as bindings, and kept intact by a failed run.
#include "runtime_util.h"

namespace dlc::testing {
namespace {

// One SGD step on w for L = Σ (x·w)²/2: g = x²·w, w' = w − 0.25·g; the step count n' = n + 1.
const char* kStep = R"IR(graph @step (%x: f32[4], %w: f32[4], %n: i64[]) {
  %xx = Mul(%x, %x) : f32[4]
  %g = Mul(%xx, %w) : f32[4]
  %lr = Constant() {value_float = 0.25} : f32[]
  %d = Mul(%g, %lr) : f32[4]
  %w2 = Sub(%w, %d) : f32[4]
  %xw = Mul(%x, %w) : f32[4]
  %sq = Mul(%xw, %xw) : f32[4]
  %loss = ReduceSum(%sq) {keepdims = 0} : f32[]
  %one = Constant() {value_int = 1} : i64[]
  %n2 = Add(%n, %one) : i64[]
  return %loss, %w2, %n2
}
)IR";

std::string compileStep(std::vector<float> w0) {
  auto g = parseGraph(kStep, "step.dlcir");
  EXPECT_TRUE(g.ok()) << g.status().message();
  backends::ArtifactOptions options;
  options.states.push_back({1, 1, Tensor::fromVector<float>(DType::F32, {4}, w0)});
  options.states.push_back({2, 2, Tensor::scalar(DType::I64, 0)});
  auto bytes = backends::writeArtifact(**g, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : std::string();
}

class State : public ::testing::Test {
 protected:
  void SetUp() override { registerReference(); }
};

TEST_F(State, StepsUpdateStateWithoutAllocating) {
  std::string bytes = compileStep({1, -2, 0.5f, 3});
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  ASSERT_EQ(model.stateCount(), 2u);
  EXPECT_STREQ(model.state(0).name, "w");
  EXPECT_EQ(model.stateBinding(0), (std::pair<size_t, size_t>{1, 1}));
  CountingAllocator counter;
  dlc_allocator a = counter.get();
  runtime::Session session(model, 1, &a);
  const int at_creation = counter.allocations;
  std::vector<float> x{1, 0.5f, -1, 0.25f};
  session.bindInput(0, DLC_DTYPE_F32, {4}, x.data(), 16);
  std::vector<float> w{1, -2, 0.5f, 3};
  const void* buffers[2] = {session.state(0).data, nullptr};
  for (int step = 1; step <= 5; ++step) {
    session.run();
    for (size_t i = 0; i < 4; ++i) w[i] -= 0.25f * x[i] * x[i] * w[i];
    EXPECT_EQ(floats(session.state(0)), w) << "step " << step;
    EXPECT_EQ(floats(session.output(1)), w) << "the state output is the new state";
    EXPECT_EQ(static_cast<const int64_t*>(session.state(1).data)[0], step);
    if (step == 1) buffers[1] = session.state(0).data;
    EXPECT_EQ(session.state(0).data, buffers[step % 2]) << "two buffers, swapped after each run";
  }
  EXPECT_EQ(counter.allocations, at_creation) << "runs allocated";
  EXPECT_NE(buffers[0], buffers[1]);
}

TEST_F(State, ReadWriteResetAndRefusals) {
  std::string bytes = compileStep({0, 0, 0, 0});
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  std::vector<float> w{2, 2, 2, 2};
  session.setState(0, DLC_DTYPE_F32, {4}, w.data(), 16);
  EXPECT_EQ(floats(session.state(0)), w);
  EXPECT_THROW(session.setState(0, DLC_DTYPE_F32, {3}, w.data(), 12), runtime::Error);
  EXPECT_THROW(session.setState(0, DLC_DTYPE_I32, {4}, w.data(), 16), runtime::Error);
  EXPECT_THROW(session.bindInput(1, DLC_DTYPE_F32, {4}, w.data(), 16), runtime::Error) << "a state input cannot be bound";
  dlc_tensor out{DLC_DTYPE_F32, 1, nullptr, w.data(), 16};
  int64_t four = 4;
  out.shape = &four;
  dlc_status s = dlc_session_output_bind(session.get(), 1, &out);
  ASSERT_NE(s, nullptr) << "a state output cannot be bound";
  dlc_status_free(s);
  // Running without x bound fails and leaves the state as it was.
  EXPECT_THROW(session.run(), runtime::Error);
  EXPECT_EQ(floats(session.state(0)), w);
  session.resetState();
  EXPECT_EQ(floats(session.state(0)), std::vector<float>(4, 0.0f));
  EXPECT_EQ(static_cast<const int64_t*>(session.state(1).data)[0], 0);
}

TEST_F(State, SessionsOfOneModelKeepTheirOwnState) {
  std::string bytes = compileStep({1, 1, 1, 1});
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session a(model, 1), b(model, 1);
  std::vector<float> x{1, 1, 1, 1};
  a.bindInput(0, DLC_DTYPE_F32, {4}, x.data(), 16);
  a.run();
  a.run();
  EXPECT_EQ(floats(a.state(0)), std::vector<float>(4, 0.5625f));
  EXPECT_EQ(floats(b.state(0)), std::vector<float>(4, 1.0f));
}

TEST_F(State, WriterRefusesMismatchedStates) {
  auto g = parseGraph(kStep, "step.dlcir");
  ASSERT_TRUE(g.ok());
  backends::ArtifactOptions options;
  options.states.push_back({1, 0, Tensor::fromVector<float>(DType::F32, {4}, std::vector<float>(4))});  // w -> loss
  auto bytes = backends::writeArtifact(**g, options);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("state 'w'"), std::string::npos) << bytes.status().message();
}

}  // namespace
}  // namespace dlc::testing
