// A self-organizing map (Kohonen 1982) update step as a graph: a 4×4 grid of prototypes W [K, F]
// and a batch x [N, F]; each sample's best-matching unit b_n = argmin_k |x_n − w_k|², a Gaussian
// neighbourhood h_kn = exp(−|g_k − g_{b_n}|² / 2σ²) on the grid, and the batch-SOM target
// Σ_n h_kn x_n / Σ_n h_kn that W moves toward by lr: W' = W + lr (target − W). It also gives the
// quantization error, mean_n min_k |x_n − w_k|. No gradients: the steps run the update graph
// itself over the data (as training would), and the quantization error must fall.
#include <cmath>
#include <iostream>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kGridSide = 4, kUnits = kGridSide * kGridSide, kFeatures = 3;

void build(Model& m) {
  Var x = m.input("samples", DType::F32, {Dim::sym("N"), Dim::of(kFeatures)});
  Var w = m.input("weights", DType::F32, {Dim::of(kUnits), Dim::of(kFeatures)});
  Var lr = m.input("lr", DType::F32, {Dim::of(1)});
  Var sigma = m.input("sigma", DType::F32, {Dim::of(1)});
  Tensor grid(DType::F32, {kUnits, 2});
  for (int64_t k = 0; k < kUnits; ++k) grid.data<float>()[2 * k] = static_cast<float>(k / kGridSide), grid.data<float>()[2 * k + 1] = static_cast<float>(k % kGridSide);
  Var g = m.constant(grid);
  Var diff = sub(unsqueeze(x, {1}), unsqueeze(w, {0}));  // [N, K, F]
  Var d2 = reduceSum(mul(diff, diff), {2});               // [N, K]
  Var bmu = m.op1(OpKind::ArgMin, {d2}, {{"axis", Attribute::ofInt(1)}, {"keepdims", Attribute::ofInt(0)}});
  Var gd = sub(unsqueeze(gather(g, bmu, 0), {1}), unsqueeze(g, {0}));  // [N, K, 2]
  Var h = exp(div(neg(reduceSum(mul(gd, gd), {2})), mul(mul(sigma, sigma), 2.0)));  // [N, K]
  Var target = div(matmul(transpose(h, {1, 0}), x), unsqueeze(reduceSum(h, {0}), {1}));  // [K, F]
  m.output(add(w, mul(lr, sub(target, w))), "new_weights");
  Var nearest = m.op1(OpKind::ReduceMin, {d2}, {{"axes", Attribute::ofInts({1})}, {"keepdims", Attribute::ofInt(0)}});
  m.output(reduceMean(sqrt(nearest)), "quantization_error");
}

Expected<examples::Trained> train(const Graph& model, const npz::Arrays& data, const cli::TrainRun& run) {
  examples::Trained out;
  out.measure = "quantization error, batch-SOM steps with lr 0.5 and σ from 2 to 0.5";
  const Tensor& samples = data[0].second;
  Tensor w = data[1].second.clone();
  const int64_t n = samples.dim(0), steps_per_epoch = n / run.batch;
  auto scalar1 = [](double v) { return DataValue::ofTensor(Tensor::fromVector(DType::F32, {1}, std::vector<float>{static_cast<float>(v)})); };
  auto error = [&]() -> Expected<double> {
    DLC_ASSIGN_OR_RETURN(auto o, examples::runOnTarget(model, run.target, {DataValue::ofTensor(samples), DataValue::ofTensor(w), scalar1(0), scalar1(1)}));
    return o[1].tensor.getDouble(0);
  };
  DLC_ASSIGN_OR_RETURN(double e0, error());
  out.losses.push_back(e0);
  for (int64_t epoch = 0; epoch < run.epochs; ++epoch) {
    const double sigma = 2.0 * std::pow(0.25, static_cast<double>(epoch) / std::max<int64_t>(1, run.epochs - 1));
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      Tensor batch = Tensor::fromBytes(DType::F32, {run.batch, kFeatures}, samples.data<float>() + s * run.batch * kFeatures,
                                       static_cast<size_t>(run.batch * kFeatures) * 4);
      DLC_ASSIGN_OR_RETURN(auto o, examples::runOnTarget(model, run.target, {DataValue::ofTensor(batch), DataValue::ofTensor(w), scalar1(0.5), scalar1(sigma)}));
      w = o[0].tensor;
      ++out.steps;
    }
    DLC_ASSIGN_OR_RETURN(double e, error());
    out.losses.push_back(e);
    std::cout << "epoch " << epoch + 1 << ": sigma " << sigma << ", quantization error " << e << "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "som";
  e.summary = "a self-organizing map's batch update step, run over the data";
  e.build = build;
  // Three colour clusters in RGB, and prototypes starting at random in [0, 1]³.
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    static const float centres[3][3] = {{0.9f, 0.1f, 0.1f}, {0.1f, 0.8f, 0.2f}, {0.2f, 0.2f, 0.9f}};
    Tensor x = examples::normal(rng, {samples, kFeatures}, 0.05f);
    std::uniform_int_distribution<int> which(0, 2);
    for (int64_t s = 0; s < samples; ++s) {
      const int c = which(rng);
      for (int64_t f = 0; f < kFeatures; ++f) x.data<float>()[s * kFeatures + f] += centres[c][f];
    }
    return npz::Arrays{{"samples", x}, {"weights", examples::uniform(rng, {kUnits, kFeatures}, 0.0f, 1.0f)},
                       {"lr", Tensor::fromVector(DType::F32, {1}, std::vector<float>{0.5f})},
                       {"sigma", Tensor::fromVector(DType::F32, {1}, std::vector<float>{1.0f})}};
  };
  e.train = train;
  e.loss_ratio = 0.5;
  e.epochs = 4;
  return examples::runExample(e, argc, argv);
}
