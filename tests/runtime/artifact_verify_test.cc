// Every defect of an artifact is an error before anything runs: header and checksum, the
// FlatBuffers verifier, semantic checks (crafted files with a valid checksum), and a sweep of 300
// random corruptions and truncations of a real artifact (fixed seed), none of which may load.
#include <random>

#include "craft.h"
#include "dlc_kernels_onednn.h"
#include "frontend/onnx/importer.h"
#include "ir/reinfer.h"
#include "runtime_util.h"

namespace dlc::testing {
namespace {

class ArtifactVerify : public ::testing::Test {
 protected:
  void SetUp() override { registerReference(); }
};

StatusResult load(const std::string& bytes) {
  dlc_model* m = nullptr;
  dlc_status s = dlc_model_load_memory(bytes.data(), bytes.size(), nullptr, &m);
  dlc_model_free(m);
  return StatusResult(s);
}

// A valid two-step model: y = Relu(x + w) with a weight, all static, y in the arena.
Spec validSpec() {
  Spec s;
  s.values = {{"x", 1, {4}, fb::Storage::Input},
              {"w", 1, {4}, fb::Storage::Weight, 0},
              {"s", 1, {4}, fb::Storage::Arena, 0, 0, 64},
              {"y", 1, {4}, fb::Storage::Arena, 0, 64, 64}};
  s.inputs = {0};
  s.outputs = {3};
  s.weights = {fb::Weight(0, 16)};
  s.weights_data = std::string(64, '\0');
  s.arena_bytes = 128;
  s.steps = {{"reference", "Add", {0, 1}, {2},
              "graph @step (%x: f32[4], %w: f32[4]) {\n  %s = Add(%x, %w) : f32[4]\n  return %s\n}\n"},
             {"reference", "Relu", {2}, {3}, "graph @step (%s: f32[4]) {\n  %y = Relu(%s) : f32[4]\n  return %y\n}\n"}};
  return s;
}

TEST_F(ArtifactVerify, ValidCraftedModelLoadsAndRuns) {
  Spec s = validSpec();
  float w[4] = {1, -2, 3, -4};
  std::memcpy(s.weights_data.data(), w, sizeof w);
  std::string bytes = s.build();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  std::vector<float> x{0.5f, 0.5f, 0.5f, 0.5f};
  session.bindInput(0, DLC_DTYPE_F32, {4}, x.data(), 16);
  session.run();
  EXPECT_EQ(floats(session.output(0)), (std::vector<float>{1.5f, 0, 3.5f, 0}));
}

TEST_F(ArtifactVerify, SemanticDefectsAreNamed) {
  struct Case {
    const char* what;
    std::function<void(Spec&)> mutate;
    dlc_status_code code;
    const char* message;
  };
  const Case cases[] = {
      {"weight out of range", [](Spec& s) { s.weights[0] = fb::Weight(64, 16); }, DLC_INVALID_ARTIFACT,
       "weight 'w' lies outside the weights section"},
      {"weight misaligned", [](Spec& s) { s.weights[0] = fb::Weight(8, 16); }, DLC_INVALID_ARTIFACT,
       "weight 'w' lies outside the weights section"},
      {"weight size", [](Spec& s) { s.weights[0] = fb::Weight(0, 12); }, DLC_INVALID_ARTIFACT,
       "weight 'w' has 12 bytes, its type needs 16"},
      {"weight index", [](Spec& s) { s.values[1].weight = 5; }, DLC_INVALID_ARTIFACT, "value 'w' names weight 5 of 1"},
      {"arena slot", [](Spec& s) { s.values[3].arena_offset = 128; }, DLC_INVALID_ARTIFACT,
       "arena slot of 'y' does not fit the arena"},
      {"arena too small", [](Spec& s) { s.values[3].arena_size = 8; }, DLC_INVALID_ARTIFACT,
       "arena slot of 'y' does not fit the arena"},
      {"use before def", [](Spec& s) { std::swap(s.steps[0], s.steps[1]); }, DLC_INVALID_ARTIFACT,
       "step 0 (Relu) reads value 's' before any step writes it"},
      {"writes input", [](Spec& s) { s.steps[1].outputs = {0}; }, DLC_INVALID_ARTIFACT,
       "step 1 (Relu) writes value 'x', which is an input, a weight or written twice"},
      {"index range", [](Spec& s) { s.steps[0].inputs = {0, 9}; }, DLC_INVALID_ARTIFACT, "step 0 (Add) refers to value 9 of 4"},
      {"never computed", [](Spec& s) { s.steps.pop_back(); }, DLC_INVALID_ARTIFACT, "output 'y' is never computed"},
      {"input not in signature", [](Spec& s) { s.inputs.clear(); }, DLC_INVALID_ARTIFACT,
       "input value 'x' is not in the signature"},
      {"string dtype", [](Spec& s) { s.values[2].dtype = 8; }, DLC_INVALID_ARTIFACT, "value 's' has unsupported dtype code 8"},
      {"rank", [](Spec& s) { s.values[2].dims.assign(17, 1); }, DLC_INVALID_ARTIFACT, "value 's' has rank 17"},
      {"negative dim", [](Spec& s) { s.values[2].dims = {-5}; }, DLC_INVALID_ARTIFACT, "value 's' has dim 0 of size -5"},
      {"huge", [](Spec& s) { s.values[2].dims = {1 << 30, 1 << 30}; }, DLC_INVALID_ARTIFACT, "more than 2^46 elements"},
      {"format version", [](Spec& s) { s.format_version = 7; }, DLC_UNSUPPORTED, "format version 7"},
      {"unknown feature", [](Spec& s) { s.cpu_features = {"quantum-tunnel"}; }, DLC_UNSUPPORTED,
       "requires CPU feature 'quantum-tunnel', unknown to this runtime"},
      {"unregistered library", [](Spec& s) { s.steps[1].library = "cuda"; }, DLC_UNSUPPORTED,
       "needs kernel library 'cuda', which is not registered"},
      {"payload syntax", [](Spec& s) { s.steps[1].payload = "graph @step (%s: f32[4]) { %y = Relu("; }, DLC_INVALID_ARTIFACT,
       "step 1 (Relu 'loc', library reference): step payload:1:"},
      {"payload kind", [](Spec& s) { s.steps[1].kernel = "Sigmoid"; }, DLC_INVALID_ARTIFACT,
       "payload op Relu does not match kernel 'Sigmoid'"},
      {"payload type", [](Spec& s) { s.values[3].dtype = 11; }, DLC_INVALID_ARTIFACT,
       "output 0 is f32[4] in the payload but has dtype code 11 in the step"},
      {"payload arity", [](Spec& s) { s.steps[0].inputs = {0}; }, DLC_INVALID_ARTIFACT,
       "payload takes 2 inputs and gives 1 outputs; the step has 1 and 1"},
      {"payload types re-inferred",
       [](Spec& s) { s.steps[1].payload = "graph @step (%s: f32[4]) {\n  %y = Relu(%s) : f32[5]\n  return %y\n}\n"; },
       DLC_INVALID_ARTIFACT, "step 1 (Relu 'loc', library reference): "},
  };
  for (const Case& c : cases) {
    Spec s = validSpec();
    c.mutate(s);
    StatusResult r = load(s.build());
    EXPECT_EQ(r.code, c.code) << c.what << ": " << r.message;
    EXPECT_NE(r.message.find(c.message), std::string::npos) << c.what << ": " << r.message;
  }
}

// w = {1, 0, 0, -4} in the Bitmap encoding: bits 0 and 3 (0x09), zeros to 8 bytes, then 1 and -4.
Spec sparseSpec() {
  Spec s = validSpec();
  float nonzero[2] = {1, -4};
  s.weights_data = std::string(64, '\0');
  s.weights_data[0] = 0x09;
  std::memcpy(s.weights_data.data() + 8, nonzero, sizeof nonzero);
  s.weights = {fb::Weight(0, 16)};
  s.encodings = {{fb::Encoding::Bitmap, 16, 4}};
  return s;
}

TEST_F(ArtifactVerify, BitmapWeightIsDecodedAtLoad) {
  std::string bytes = sparseSpec().build();
  auto model = runtime::Model::loadMemory(bytes.data(), bytes.size());
  runtime::Session session(model, 1);
  std::vector<float> x{0.5f, 0.5f, 0.5f, 0.5f};
  session.bindInput(0, DLC_DTYPE_F32, {4}, x.data(), 16);
  session.run();
  EXPECT_EQ(floats(session.output(0)), (std::vector<float>{1.5f, 0.5f, 0.5f, 0}));
  // A format-2 file (no encodings) still loads.
  Spec old = validSpec();
  old.format_version = 2;
  EXPECT_EQ(load(old.build()).code, DLC_OK);
}

TEST_F(ArtifactVerify, BitmapDefectsAreNamed) {
  struct Case {
    const char* what;
    std::function<void(Spec&)> mutate;
    const char* message;
  };
  const Case cases[] = {
      {"bit past the end", [](Spec& s) { s.weights_data[0] = 0x19; }, "weight 'w': its bitmap marks 3 elements, which do not fill its 16 bytes"},
      {"too few values", [](Spec& s) { s.weights[0] = fb::Weight(0, 12); }, "weight 'w': its bitmap marks 2 elements, which do not fill its 12 bytes"},
      {"no room for the bitmap", [](Spec& s) { s.weights[0] = fb::Weight(0, 4); }, "weight 'w': its bitmap does not fit its 4 bytes"},
      {"dense size", [](Spec& s) { s.encodings[0].dense_size = 20; }, "weight 'w': Bitmap encoding of 20 bytes"},
      {"element size", [](Spec& s) { s.encodings[0].element_bytes = 3; }, "in 3-byte elements"},
      {"unknown encoding", [](Spec& s) { s.encodings[0].encoding = static_cast<fb::Encoding>(7); }, "weight 'w' has unknown encoding 7"},
      {"count", [](Spec& s) { s.encodings.push_back(s.encodings[0]); }, "2 weight encodings for 1 weights"},
      {"format 2", [](Spec& s) { s.format_version = 2; }, "format 2 has no weight encodings"},
  };
  for (const Case& c : cases) {
    Spec s = sparseSpec();
    c.mutate(s);
    StatusResult r = load(s.build());
    EXPECT_EQ(r.code, DLC_INVALID_ARTIFACT) << c.what << ": " << r.message;
    EXPECT_NE(r.message.find(c.message), std::string::npos) << c.what << ": " << r.message;
  }
}

TEST_F(ArtifactVerify, HeaderDefects) {
  std::string good = validSpec().build();
  EXPECT_EQ(load(good).code, DLC_OK);
  EXPECT_EQ(load("").message, "not a .dlc artifact: 0 bytes is shorter than the header");
  EXPECT_EQ(load(std::string(200, 'x')).message, "not a .dlc artifact (bad magic)");
  std::string v = good;
  v[8] = 9;
  EXPECT_EQ(load(v).message, ".dlc format version 9; this runtime reads versions 2 to 3");
  EXPECT_NE(load(good.substr(0, good.size() - 1)).message.find("truncated or padded artifact"), std::string::npos);
  EXPECT_NE(load(good + "x").message.find("truncated or padded artifact"), std::string::npos);
  std::string flipped = good;
  flipped[100] ^= 1;
  EXPECT_EQ(load(flipped).message, "corrupt artifact: checksum mismatch");
  std::string reserved = good;
  reserved[40] = 1;
  EXPECT_EQ(load(reserved).message, "corrupt artifact: reserved header bytes are set");
  std::string not_fb = withHeader(std::string(256, '\x11'));
  EXPECT_EQ(load(not_fb).message, "invalid artifact: the FlatBuffers verifier rejected it");
}

TEST_F(ArtifactVerify, LoadFileErrorsNameThePath) {
  dlc_model* m = nullptr;
  StatusResult r(dlc_model_load_file("/nonexistent/model.dlc", nullptr, &m));
  EXPECT_EQ(r.code, DLC_IO_ERROR);
  EXPECT_NE(r.message.find("cannot open '/nonexistent/model.dlc'"), std::string::npos) << r.message;
  StatusResult dir(dlc_model_load_file("/tmp", nullptr, &m));
  EXPECT_EQ(dir.message, "'/tmp' is not a regular file");
}

// The example CNN compiled for `target` (onednn: with its batch fixed, so every op is one oneDNN
// segment whose payload the corruptions then reach).
std::string realArtifact(const std::string& target = "reference") {
  auto g = onnx_import::importModelFile(DLC_SOURCE_DIR "/examples/models/small_cnn.onnx");
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (target != "reference") {
    Value* image = (*g)->body().argument(0);
    image->setType(Type::tensor(DType::F32, Shape::of({1, 3, 32, 32})));
    auto changed = reinferTypes((*g)->body());
    EXPECT_TRUE(changed.ok());
  }
  backends::ArtifactOptions options;
  options.target = target;
  auto bytes = backends::writeArtifact(**g, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return *bytes;
}

// One random defect: flipped bits, an overwritten or zeroed range, truncation or extension.
std::string corrupt(const std::string& good, std::mt19937_64& rng) {
  std::string bad = good;
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  switch (pick(5)) {
    case 0:
      for (size_t i = 0, n = 1 + pick(8); i < n; ++i) bad[pick(bad.size())] ^= static_cast<char>(1 << pick(8));
      break;
    case 1: {
      size_t at = pick(bad.size()), n = std::min(bad.size() - at, 1 + pick(64));
      for (size_t i = 0; i < n; ++i) bad[at + i] = static_cast<char>(rng());
      break;
    }
    case 2: {
      size_t at = pick(bad.size()), n = std::min(bad.size() - at, 1 + pick(256));
      std::fill(bad.begin() + static_cast<std::ptrdiff_t>(at), bad.begin() + static_cast<std::ptrdiff_t>(at + n), '\0');
      if (bad == good) bad[at] = 1;
      break;
    }
    case 3: bad.resize(pick(bad.size())); break;
    default:
      for (size_t i = 0, n = 1 + pick(100); i < n; ++i) bad.push_back(static_cast<char>(rng()));
  }
  return bad;
}

TEST_F(ArtifactVerify, ThreeHundredCorruptionsAreAllRefused) {
  std::string good = realArtifact();
  ASSERT_EQ(load(good).code, DLC_OK);
  std::mt19937_64 rng(20261121);
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bad = corrupt(good, rng);
    StatusResult r = load(bad);
    if (r.code != DLC_OK) {
      refused++;
      EXPECT_FALSE(r.message.empty());
      EXPECT_EQ(r.message.find('\n'), std::string::npos) << "one-line messages";
    } else {
      ADD_FAILURE() << "corruption " << i << " loaded";
    }
  }
  EXPECT_EQ(refused, 300);
}

// With the checksum recomputed, a corruption reaches the verifier and the semantic checks; some
// (a changed weight value) make a valid artifact. None may crash or hang: each either fails to
// load or loads and runs to a result or an error.
// DLC_RESEALED_ITERATIONS raises the count for longer local fuzzing. The oneDNN artifact puts the
// whole model in one segment, so corrupted payloads reach its parser and lowering.
class ResealedCorruptions : public ArtifactVerify, public ::testing::WithParamInterface<const char*> {};

TEST_P(ResealedCorruptions, NeverCrash) {
  runtime::check(dlc_kernels_onednn_register());
  std::string good = realArtifact(GetParam());
  {
    auto model = runtime::Model::loadMemory(good.data(), good.size());
    const char *library, *kernel, *location;
    runtime::check(dlc_model_step_describe(model.get(), 0, &library, &kernel, &location));
    EXPECT_STREQ(library, GetParam());
  }
  std::mt19937_64 rng(4242);
  int refused = 0, ran = 0, run_errors = 0;
  std::vector<float> x(3 * 32 * 32, 0.25f);
  const char* env = std::getenv("DLC_RESEALED_ITERATIONS");
  const int iterations = env ? std::atoi(env) : 300;
  for (int i = 0; i < iterations; ++i) {
    std::string bad = corrupt(good, rng);
    resealed(bad);
    dlc_model* m = nullptr;
    dlc_status s = dlc_model_load_memory(bad.data(), bad.size(), nullptr, &m);
    if (s) {
      dlc_status_free(s);
      refused++;
      continue;
    }
    dlc_session* session = nullptr;
    dlc_session_options options;
    dlc_session_options_init(&options);
    options.threads = 1;
    if (dlc_status cs = dlc_session_create(m, &options, &session)) {
      dlc_status_free(cs);
      run_errors++;
      dlc_model_free(m);
      continue;
    }
    int64_t shape[4] = {1, 3, 32, 32};
    dlc_tensor t{DLC_DTYPE_F32, 4, shape, x.data(), x.size() * 4};
    dlc_status bs = dlc_session_input_bind(session, 0, &t);
    dlc_status rs = bs ? nullptr : dlc_session_run(session);
    (bs || rs) ? run_errors++ : ran++;
    dlc_status_free(bs);
    dlc_status_free(rs);
    dlc_session_free(session);
    dlc_model_free(m);
  }
  std::printf("resealed corruptions (%s): %d refused at load, %d ran, %d failed at run\n", GetParam(), refused, ran,
              run_errors);
  EXPECT_EQ(refused + ran + run_errors, iterations);
  EXPECT_GT(refused, 0);
}

INSTANTIATE_TEST_SUITE_P(Targets, ResealedCorruptions, ::testing::Values("reference", "onednn"));

}  // namespace
}  // namespace dlc::testing
