// Example: training with dlc's C++ API. An MLP built with the builder learns a synthetic 3-class
// problem: the Trainer makes the training step (forward, cross-entropy, gradients, Adam), the pass
// pipeline and a backend compile it to an artifact with its state, and a runtime session runs the
// steps, keeping parameters and optimizer state in its own buffers. Exits non-zero unless the loss
// falls and the trained model classifies most samples right.
#include <cmath>
#include <cstdio>
#include <random>

#include "backends/artifact_writer.h"
#include "backends/reference/interpreter.h"
#include "dlc/runtime.hpp"
#include "dlc_kernels_reference.h"
#include "frontend/builder/model.h"
#include "frontend/builder/trainer.h"
#include "passes/pass_manager.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kBatch = 32, kFeatures = 8, kClasses = 3;

int fail(const Status& s) {
  std::fprintf(stderr, "train_mlp: error: %s\n", s.message().c_str());
  return 1;
}

// Samples whose class is the largest of three fixed linear scores.
void makeBatch(std::mt19937& rng, std::vector<float>& x, std::vector<int64_t>& t) {
  static const float w[kClasses][kFeatures] = {{1, -1, 0.5f, 0, 0, 1, -0.5f, 0}, {-1, 1, 0, 0.5f, 1, 0, 0, -0.5f},
                                               {0, 0, -1, -1, 0.5f, -1, 1, 1}};
  std::normal_distribution<float> n(0, 1);
  x.resize(kBatch * kFeatures);
  t.resize(kBatch);
  for (int64_t i = 0; i < kBatch; ++i) {
    float best = -1e30f;
    for (int64_t f = 0; f < kFeatures; ++f) x[i * kFeatures + f] = n(rng);
    for (int64_t c = 0; c < kClasses; ++c) {
      float s = 0;
      for (int64_t f = 0; f < kFeatures; ++f) s += w[c][f] * x[i * kFeatures + f];
      if (s > best) best = s, t[i] = c;
    }
  }
}

}  // namespace

int main() {
  Model m("mlp", /*seed=*/1);
  Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(kFeatures)});
  Linear fc1(m, "fc1", kFeatures, 32), fc2(m, "fc2", 32, kClasses);
  m.output(fc2(relu(fc1(x))), "logits");
  auto graph = m.finish();
  if (!graph.ok()) return fail(graph.status());

  Trainer trainer(std::move(graph).value());
  OptimizerOptions adam;
  adam.name = "adam";
  adam.lr = 0.01;
  trainer.loss("cross-entropy").optimizer(adam);
  auto step = trainer.trainingStep();
  if (!step.ok()) return fail(step.status());

  // Compile: the reference target's pipeline (which lowers the Gradient and optimizer ops) with the
  // batch fixed, then an artifact that carries the states.
  passes::PassContext ctx;
  ctx.evaluate = [](const Op& op, const std::vector<const Tensor*>& in) { return ref::evaluateOp(op, in); };
  ctx.input_shapes = {{"x", {kBatch, kFeatures}}, {"target", {kBatch}}};
  passes::PassManager pm;
  auto names = passes::defaultPipeline("reference", 2);
  Status s = names.ok() ? pm.add(*names) : names.status();
  if (s.ok()) s = pm.run(*step->graph, ctx);
  if (!s.ok()) return fail(s);
  backends::ArtifactOptions options;
  for (const StateInfo& st : step->states) options.states.push_back({st.input, st.output, st.initial});
  auto bytes = backends::writeArtifact(*step->graph, options);
  if (!bytes.ok()) return fail(bytes.status());

  try {
    runtime::check(dlc_kernels_reference_register());
    runtime::Model model = runtime::Model::loadMemory(bytes->data(), bytes->size());
    runtime::Session session(model, 1);
    std::mt19937 rng(7);
    std::vector<float> xs;
    std::vector<int64_t> ts;
    makeBatch(rng, xs, ts);
    session.bindInput("x", DLC_DTYPE_F32, {kBatch, kFeatures}, xs.data(), xs.size() * 4);
    session.bindInput("target", DLC_DTYPE_I64, {kBatch}, ts.data(), ts.size() * 8);
    double first = 0, last = 0, correct = 0;
    for (int i = 0; i < 300; ++i) {
      makeBatch(rng, xs, ts);  // new samples in the same bound buffers
      session.run();
      double loss = *static_cast<const float*>(session.output(0).data);
      if (i == 0) first = loss;
      if (i >= 290) {
        last += loss / 10;
        correct += *static_cast<const float*>(session.output(1).data);
      }
    }
    std::printf("loss %.4f -> %.4f, accuracy over the last 10 batches %.1f%%\n", first, last, 100.0 * correct / (10 * kBatch));
    // The trained weights are the session's state: read them by name into the inference model.
    std::map<std::string, Tensor> trained;
    for (size_t k = 0; k < step->states.size(); ++k) {
      const StateInfo& st = step->states[k];
      if (st.kind != StateInfo::Kind::Parameter) continue;
      dlc_tensor t = session.state(k);
      trained[st.name] = Tensor::fromBytes(DType::F32, std::vector<int64_t>(t.shape, t.shape + t.rank), t.data, t.bytes);
    }
    auto inference = trainer.trainedModel(trained);
    if (!inference.ok()) return fail(inference.status());
    std::printf("trained %zu parameters; the inference model has %d inputs\n", trained.size(), (*inference)->body().numArguments());
    if (!(last < 0.5 * first) || correct < 0.8 * 10 * kBatch) {
      std::fprintf(stderr, "train_mlp: error: training did not converge\n");
      return 1;
    }
  } catch (const runtime::Error& e) {
    std::fprintf(stderr, "train_mlp: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
