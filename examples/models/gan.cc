// A GAN (Goodfellow et al. 2014): an MLP generator maps noise to 2-D points, an MLP discriminator
// tells them from samples of a correlated Gaussian, trained alternately — a discriminator step
// on bce(D(real), 1) + bce(D(sg(G(z))), 0) with the generator frozen (and its output detached),
// then a generator step on the non-saturating bce(D(G(z)), 1) with the discriminator frozen, each
// a cli::trainModel run continuing from the other's weights. What must fall is the distance of
// the generator's samples from the data: |Δ mean|² + ‖Δ covariance‖_F on a fixed noise batch.
#include <cmath>
#include <iostream>

#include "examples/models/example.h"
#include "frontend/builder/losses.h"
#include "frontend/builder/trainer.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kNoise = 4, kHidden = 32, kRounds = 8;
enum class Phase { Model, Discriminator, Generator };

Var mlp(Model& m, const std::string& name, Var x, int64_t in, int64_t out) {
  Var h = leakyRelu(Linear(m, name + ".fc1", in, kHidden)(x), 0.2);
  h = leakyRelu(Linear(m, name + ".fc2", kHidden, kHidden)(h), 0.2);
  return Linear(m, name + ".fc3", kHidden, out)(h);
}

// The graph of one phase; the parameters ("G.*", "D.*") are created in the same order in each.
void build(Model& m, Phase phase) {
  Var z = m.input("z", DType::F32, {Dim::sym("N"), Dim::of(kNoise)});
  Var real = phase == Phase::Generator ? Var() : m.input("real", DType::F32, {Dim::sym("N"), Dim::of(2)});
  Var fake = mlp(m, "G", z, kNoise, 2);
  // The discriminator is one set of parameters applied to several inputs.
  Linear d1(m, "D.fc1", 2, kHidden), d2(m, "D.fc2", kHidden, kHidden), d3(m, "D.fc3", kHidden, 1);
  auto d = [&](Var x) { return d3(leakyRelu(d2(leakyRelu(d1(x), 0.2)), 0.2)); };
  auto filled = [](Var like, double v) { return add(mul(stopGradient(like), 0.0), v); };
  if (phase == Phase::Model) {
    m.output(fake, "fake");
    m.output(d(real), "d_real");
    m.output(d(fake), "d_fake");
  } else if (phase == Phase::Discriminator) {
    Var on_real = d(real), on_fake = d(stopGradient(fake));
    m.output(add(bceWithLogitsLoss(on_real, filled(on_real, 1.0)), bceWithLogitsLoss(on_fake, filled(on_fake, 0.0))), "loss");
  } else {
    Var on_fake = d(fake);
    m.output(bceWithLogitsLoss(on_fake, filled(on_fake, 1.0)), "loss");
  }
}

// |Δ mean|² + ‖Δ covariance‖_F between two point sets [S, 2].
double momentDistance(const Tensor& a, const Tensor& b) {
  auto moments = [](const Tensor& t, double mean[2], double cov[4]) {
    const int64_t n = t.dim(0);
    mean[0] = mean[1] = 0;
    for (int64_t i = 0; i < n; ++i) mean[0] += t.getDouble(2 * i) / n, mean[1] += t.getDouble(2 * i + 1) / n;
    for (int k = 0; k < 4; ++k) cov[k] = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c) cov[r * 2 + c] += (t.getDouble(2 * i + r) - mean[r]) * (t.getDouble(2 * i + c) - mean[c]) / n;
  };
  double ma[2], ca[4], mb[2], cb[4];
  moments(a, ma, ca);
  moments(b, mb, cb);
  double d = (ma[0] - mb[0]) * (ma[0] - mb[0]) + (ma[1] - mb[1]) * (ma[1] - mb[1]), f = 0;
  for (int k = 0; k < 4; ++k) f += (ca[k] - cb[k]) * (ca[k] - cb[k]);
  return d + std::sqrt(f);
}

Expected<std::unique_ptr<Graph>> phaseGraph(Phase phase, const std::map<std::string, Tensor>& values) {
  Model m("gan", 1);
  build(m, phase);
  DLC_ASSIGN_OR_RETURN(auto g, m.finish());
  DLC_RETURN_IF_ERROR(writeTrainedValues(*g, values));
  return g;
}

Expected<examples::Trained> train(const Graph& model, const npz::Arrays& data, const cli::TrainRun& base) {
  examples::Trained out;
  out.measure = "moment distance of G(z) from the data, alternating D and G steps (adam)";
  out.values = examples::namedConstants(model);
  // The fixed batch the distance is measured on: all samples' noise through the generator.
  std::vector<DataValue> inputs;
  for (const auto& [name, t] : data) inputs.push_back(DataValue::ofTensor(t));
  auto measure = [&]() -> Expected<double> {
    DLC_ASSIGN_OR_RETURN(auto g, phaseGraph(Phase::Model, out.values));
    DLC_ASSIGN_OR_RETURN(auto outs, examples::runOnTarget(*g, "reference", inputs));
    return momentDistance(outs[0].tensor, data[1].second);
  };
  DLC_ASSIGN_OR_RETURN(double start, measure());
  out.losses.push_back(start);
  TrainingConfig config;
  config.loss = "model";
  config.optimizer.name = "adam";
  config.optimizer.lr = 2e-3;
  config.optimizer.beta1 = 0.5;  // the DCGAN setting
  for (int64_t round = 0; round < kRounds; ++round) {
    for (Phase phase : {Phase::Discriminator, Phase::Generator}) {
      DLC_ASSIGN_OR_RETURN(auto g, phaseGraph(phase, out.values));
      DLC_ASSIGN_OR_RETURN(std::vector<std::string> params, trainableParameters(*g, {}));
      config.freeze.clear();
      for (const auto& p : params)
        if (p.rfind(phase == Phase::Discriminator ? "G." : "D.", 0) == 0) config.freeze.push_back(p);
      npz::Arrays arrays;
      for (const auto& a : data)
        if (phase == Phase::Discriminator || a.first == "z") arrays.push_back(a);
      cli::TrainRun run = base;
      run.epochs = 1;
      run.train_arrays = &arrays;
      DLC_ASSIGN_OR_RETURN(cli::TrainResult r, cli::trainModel(*g, config, run));
      for (auto& [name, t] : r.values) out.values[name] = t;
      out.steps += r.steps;
    }
    DLC_ASSIGN_OR_RETURN(double d, measure());
    out.losses.push_back(d);
    std::cout << "round " << round + 1 << ": moment distance " << d << "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "gan";
  e.summary = "a GAN on 2-D points: generator and discriminator trained alternately";
  e.build = [](Model& m) { build(m, Phase::Model); };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor z = examples::normal(rng, {samples, kNoise});
    Tensor u = examples::normal(rng, {samples, 2});
    Tensor real(DType::F32, {samples, 2});
    for (int64_t i = 0; i < samples; ++i) {  // mean (2, −1), std 0.5, correlation 0.8
      const float a = u.data<float>()[2 * i], b = u.data<float>()[2 * i + 1];
      real.data<float>()[2 * i] = 2.0f + 0.5f * a;
      real.data<float>()[2 * i + 1] = -1.0f + 0.5f * (0.8f * a + 0.6f * b);
    }
    return npz::Arrays{{"z", z}, {"real", real}};
  };
  e.train = train;
  e.loss_ratio = 0.5;
  return examples::runExample(e, argc, argv);
}
