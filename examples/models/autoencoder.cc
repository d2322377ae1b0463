// A denoising autoencoder: noisy points near a 3-dimensional linear manifold in 24 dimensions in,
// the clean points out (MSE), through a 3-unit bottleneck with tanh and ELU layers.
#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {
constexpr int64_t kFeatures = 24, kCode = 3;
}

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "autoencoder";
  e.summary = "a denoising autoencoder with a 3-unit bottleneck (MSE)";
  e.build = [](Model& m) {
    Var x = m.input("noisy", DType::F32, {Dim::sym("N"), Dim::of(kFeatures)});
    Var code = Linear(m, "enc2", 16, kCode)(tanh(Linear(m, "enc1", kFeatures, 16)(x)));
    m.output(Linear(m, "dec2", 16, kFeatures)(elu(Linear(m, "dec1", kCode, 16)(code))), "clean");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor basis = examples::normal(rng, {kCode, kFeatures});
    Tensor code = examples::normal(rng, {samples, kCode});
    Tensor clean(DType::F32, {samples, kFeatures});
    for (int64_t s = 0; s < samples; ++s)
      for (int64_t f = 0; f < kFeatures; ++f)
        for (int64_t k = 0; k < kCode; ++k)
          clean.data<float>()[s * kFeatures + f] += code.data<float>()[s * kCode + k] * basis.data<float>()[k * kFeatures + f];
    Tensor noisy = examples::normal(rng, {samples, kFeatures}, 0.3f);
    for (int64_t i = 0; i < noisy.numel(); ++i) noisy.data<float>()[i] += clean.data<float>()[i];
    return npz::Arrays{{"noisy", noisy}, {"target", clean}};
  };
  e.config.loss = "mse";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 5e-3;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
