// Sessions: arena reuse (no allocation after the first run), growth for larger dynamic shapes,
// concurrent sessions on one model, the thread pool, and kernel-library failures.
#include <mutex>
#include <set>
#include <thread>

#include "craft.h"
#include "frontend/onnx/importer.h"
#include "runtime_util.h"

namespace dlc::testing {
namespace {

const char* kStatic = R"IR(graph @st (%x: f32[4,8]) {
  %a = Sigmoid(%x) : f32[4,8]
  %b = Mul(%a, %x) : f32[4,8]
  %c = Tanh(%b) : f32[4,8]
  %d = Add(%c, %a) : f32[4,8]
  %e = ReduceSum(%d) {keepdims = 0} : f32[]
  return %d, %e
}
)IR";

const char* kDynamic = R"IR(graph @dyn (%x: f32[N,8]) {
  %a = Sigmoid(%x) : f32[N,8]
  %b = Mul(%a, %x) : f32[N,8]
  %c = Tanh(%b) : f32[N,8]
  return %c
}
)IR";

class Sessions : public ::testing::Test {
 protected:
  void SetUp() override { registerReference(); }
};

TEST_F(Sessions, StaticModelAllocatesOnlyAtCreation) {
  std::string bytes = compileIr(kStatic);
  CountingAllocator counter;
  dlc_allocator a = counter.get();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1, &a);
  EXPECT_EQ(counter.allocations, 1);  // one arena: intermediates and outputs
  std::vector<float> x(32);
  for (int run = 0; run < 4; ++run) {
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i) - static_cast<float>(run);
    session.bindInput(0, DLC_DTYPE_F32, {4, 8}, x.data(), x.size() * 4);
    session.run();
    Tensor xt = Tensor::fromVector<float>(DType::F32, {4, 8}, x);
    std::vector<Tensor> expected = interpret(kStatic, {xt});
    EXPECT_EQ(floats(session.output(0)), std::vector<float>(expected[0].data<float>(), expected[0].data<float>() + 32));
    EXPECT_EQ(floats(session.output(1))[0], expected[1].data<float>()[0]);
  }
  EXPECT_EQ(counter.allocations, 1) << "runs allocated from the session allocator";
}

// Values with symbolic dims share one arena planned per binding at run start: %a and %b, then %b
// and %c, are live together, so it holds two [N,8] tensors, not three. It grows only for a binding
// a run has verified (the first run at a larger binding uses buffers per value), and same or
// smaller bindings reuse it.
TEST_F(Sessions, SymbolicArenaIsPlannedPerBinding) {
  std::string bytes = compileIr(kDynamic);
  CountingAllocator counter;
  dlc_allocator a = counter.get();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1, &a);
  const int at_creation = counter.allocations;
  auto runWith = [&](int64_t n) {
    std::vector<float> x(static_cast<size_t>(n * 8));
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(i) - 0.5f;
    session.bindInput(0, DLC_DTYPE_F32, {n, 8}, x.data(), x.size() * 4);
    session.run();
    Tensor xt = Tensor::fromVector<float>(DType::F32, {n, 8}, x);
    std::vector<Tensor> expected = interpret(kDynamic, {xt});
    EXPECT_EQ(floats(session.output(0)), std::vector<float>(expected[0].data<float>(), expected[0].data<float>() + n * 8));
  };
  runWith(4);
  EXPECT_EQ(counter.allocations, at_creation + 3) << "the first run at a binding: a buffer per value";
  runWith(4);
  EXPECT_EQ(counter.allocations, at_creation + 4) << "then one symbolic arena";
  EXPECT_EQ(counter.last_size.load(), 2u * 4 * 8 * 4);
  EXPECT_EQ(counter.frees.load(), 3) << "the buffers per value are freed";
  runWith(2);
  runWith(3);
  runWith(4);
  EXPECT_EQ(counter.allocations, at_creation + 4) << "same or smaller bindings reuse the arena";
  runWith(64);
  runWith(64);
  EXPECT_EQ(counter.allocations, at_creation + 8) << "a larger binding: 3 buffers, then a grown arena";
  EXPECT_EQ(counter.last_size.load(), 2u * 64 * 8 * 4);
  EXPECT_EQ(counter.frees.load(), 3 + 3 + 1);
  runWith(4);
  EXPECT_EQ(counter.allocations, at_creation + 8);
}

// Dims only a kernel knows (NonZero's count) get session buffers that grow only when needed.
const char* kDataDependent = R"IR(graph @nz (%x: f32[N,8]) {
  %i = NonZero(%x) : i64[2,?]
  %t = Transpose(%i) : i64[?,2]
  return %t
}
)IR";

TEST_F(Sessions, DynamicBuffersGrowOnlyWhenNeeded) {
  std::string bytes = compileIr(kDataDependent);
  CountingAllocator counter;
  dlc_allocator a = counter.get();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1, &a);
  auto runWith = [&](int64_t n) {
    std::vector<float> x(static_cast<size_t>(n * 8), 0.5f);  // every element nonzero
    session.bindInput(0, DLC_DTYPE_F32, {n, 8}, x.data(), x.size() * 4);
    session.run();
    dlc_tensor out = session.output(0);
    ASSERT_EQ(out.rank, 2);
    EXPECT_EQ(out.shape[0], n * 8);
    const int64_t* idx = static_cast<const int64_t*>(out.data);
    for (int64_t k = 0; k < n * 8; ++k) {
      EXPECT_EQ(idx[2 * k], k / 8);
      EXPECT_EQ(idx[2 * k + 1], k % 8);
    }
  };
  runWith(4);
  int after_first = counter.allocations;
  EXPECT_GT(after_first, 0);
  runWith(4);
  runWith(2);
  EXPECT_EQ(counter.allocations, after_first) << "same or smaller shapes reuse the buffers";
  runWith(64);
  EXPECT_GT(counter.allocations, after_first);
  EXPECT_EQ(counter.frees.load(), counter.allocations - after_first) << "grown buffers free the old ones";
}

std::string smallCnnArtifact() {
  auto g = onnx_import::importModelFile(DLC_SOURCE_DIR "/examples/models/small_cnn.onnx");
  EXPECT_TRUE(g.ok()) << g.status().message();
  auto bytes = backends::writeArtifact(**g, backends::ArtifactOptions{});
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return *bytes;
}

TEST_F(Sessions, ConcurrentSessionsOnOneModel) {
  std::string bytes = smallCnnArtifact();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  constexpr int kThreads = 4, kRuns = 10;
  auto inputFor = [](int t) {
    std::vector<float> x(3 * 32 * 32);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.01f * static_cast<float>(i) * static_cast<float>(t + 1));
    return x;
  };
  std::vector<std::vector<float>> expected(kThreads);
  for (int t = 0; t < kThreads; ++t) {  // one at a time first
    runtime::Session s(model, 1);
    std::vector<float> x = inputFor(t);
    s.bindInput(0, DLC_DTYPE_F32, {1, 3, 32, 32}, x.data(), x.size() * 4);
    s.run();
    expected[static_cast<size_t>(t)] = floats(s.output(0));
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      runtime::Session s(model, 1);
      std::vector<float> x = inputFor(t);
      for (int r = 0; r < kRuns; ++r) {
        s.bindInput(0, DLC_DTYPE_F32, {1, 3, 32, 32}, x.data(), x.size() * 4);
        s.run();
        if (floats(s.output(0)) != expected[static_cast<size_t>(t)]) mismatches[static_cast<size_t>(t)]++;
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << "thread " << t;
  EXPECT_NE(expected[0], expected[1]);
}

// A kernel library for the plumbing: "square" squares its input on the thread pool, "fail"
// fails, "wrong_shape" asks for a result shape the artifact does not declare, "nothing" writes nothing.
std::mutex g_ids_mutex;
std::set<std::thread::id> g_ids;

int testPrepare(const dlc_step_info* step, void** state, char* error, size_t size) {
  std::string k = step->kernel;
  if (k != "square" && k != "fail" && k != "wrong_shape" && k != "nothing") {
    snprintf(error, size, "unknown kernel '%s'", step->kernel);
    return 1;
  }
  *state = new std::string(k);
  return 0;
}

struct SquareJob {
  const float* in;
  float* out;
};

int testRun(void* state, const dlc_kernel_io* io, char* error, size_t size) {
  const std::string& k = *static_cast<std::string*>(state);
  if (k == "fail") {
    snprintf(error, size, "deliberate failure");
    return 1;
  }
  if (k == "nothing") return 0;
  const dlc_tensor& in = io->inputs[0];
  int64_t shape[2] = {in.shape[0] + (k == "wrong_shape" ? 1 : 0), in.shape[1]};
  auto* out = static_cast<float*>(io->output_allocate(io->runtime, 0, DLC_DTYPE_F32, 2, shape));
  if (!out) return 1;
  SquareJob job{static_cast<const float*>(in.data), out};
  io->parallel_for(io->runtime, static_cast<size_t>(in.shape[0] * in.shape[1]),
                   [](void* ctx, size_t i) {
                     auto* j = static_cast<SquareJob*>(ctx);
                     j->out[i] = j->in[i] * j->in[i];
                     std::lock_guard<std::mutex> lock(g_ids_mutex);
                     g_ids.insert(std::this_thread::get_id());
                   },
                   &job);
  return 0;
}

void testRelease(void* state) { delete static_cast<std::string*>(state); }
const dlc_kernel_library kTestLibrary{DLC_KERNEL_ABI_VERSION, "test_plumbing", testPrepare, testRun, testRelease, 0};

std::string oneStep(const std::string& kernel) {
  Spec spec;
  spec.values = {{"x", 1, {-1, 1000}, fb::Storage::Input}, {"y", 1, {-1, 1000}, fb::Storage::Dynamic}};
  spec.inputs = {0};
  spec.outputs = {1};
  spec.steps = {{"test_plumbing", kernel, {0}, {1}, ""}};
  return spec.build();
}

TEST_F(Sessions, KernelLibrariesRunOnTheThreadPool) {
  ASSERT_EQ(StatusResult(dlc_kernel_library_register(&kTestLibrary)).code, DLC_OK);
  ASSERT_EQ(StatusResult(dlc_kernel_library_register(&kTestLibrary)).code, DLC_OK) << "re-registering is a no-op";
  std::string bytes = oneStep("square");
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 4);
  std::vector<float> x(64 * 1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) - 48.0f;
  session.bindInput(0, DLC_DTYPE_F32, {64, 1000}, x.data(), x.size() * 4);
  g_ids.clear();
  session.run();
  std::vector<float> y = floats(session.output(0));
  ASSERT_EQ(y.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i] * x[i]) << i;
  EXPECT_GE(g_ids.size(), 1u);
  EXPECT_LE(g_ids.size(), 4u);
}

TEST_F(Sessions, KernelFailuresNameTheStep) {
  ASSERT_EQ(StatusResult(dlc_kernel_library_register(&kTestLibrary)).code, DLC_OK);
  struct Case {
    const char* kernel;
    const char* message;
  } cases[] = {
      {"fail", "step 0 (fail 'loc', library test_plumbing): deliberate failure"},
      {"wrong_shape", "step 0 (wrong_shape 'loc', library test_plumbing): result 'y' has dim 0 of size 3, expected N"},
      {"nothing", "step 0 (nothing 'loc', library test_plumbing): produced no value for 'y'"},
  };
  for (const Case& c : cases) {
    std::string bytes = oneStep(c.kernel);
    auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
    runtime::Session session(model, 1);
    std::vector<float> x(2000);
    session.bindInput(0, DLC_DTYPE_F32, {2, 1000}, x.data(), x.size() * 4);
    StatusResult r(dlc_session_run(session.get()));
    EXPECT_EQ(r.code, DLC_KERNEL_ERROR);
    EXPECT_EQ(r.message, c.message);
  }
  std::string bytes = oneStep("frobnicate");
  dlc_model* m = nullptr;
  StatusResult r(dlc_model_load_memory(bytes.data(), bytes.size(), nullptr, &m));
  EXPECT_EQ(r.code, DLC_INVALID_ARTIFACT);
  EXPECT_NE(r.message.find("unknown kernel 'frobnicate'"), std::string::npos) << r.message;
  EXPECT_EQ(m, nullptr);
}

}  // namespace
}  // namespace dlc::testing

namespace dlc::testing {
namespace {

// The reference GEMM splits rows of C across the session's threads; each element sums the same
// products in the same order, so any thread count gives the interpreter's (serial) result exactly.
TEST_F(Sessions, ThreadedGemmMatchesTheSerialInterpreter) {
  const char* text = R"IR(graph @mm (%a: f32[67,256], %b: f32[256,130]) {
  %c = MatMul(%a, %b) : f32[67,130]
  return %c
}
)IR";
  std::string bytes = compileIr(text);
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  std::vector<float> a(67 * 256), b(256 * 130);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.37f * static_cast<float>(i));
  for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(0.11f * static_cast<float>(i));
  std::vector<Tensor> expected = interpret(text, {Tensor::fromVector<float>(DType::F32, {67, 256}, a),
                                                  Tensor::fromVector<float>(DType::F32, {256, 130}, b)});
  std::vector<float> want(expected[0].data<float>(), expected[0].data<float>() + 67 * 130);
  for (int threads : {1, 2, 3, 8}) {
    runtime::Session session(model, threads);
    session.bindInput(0, DLC_DTYPE_F32, {67, 256}, a.data(), a.size() * 4);
    session.bindInput(1, DLC_DTYPE_F32, {256, 130}, b.data(), b.size() * 4);
    session.run();
    EXPECT_EQ(floats(session.output(0)), want) << threads << " threads";
  }
}

}  // namespace
}  // namespace dlc::testing
