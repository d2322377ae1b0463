// A variational autoencoder (Kingma & Welling 2014) on points near a 4-dimensional linear
// manifold in 16 dimensions: the encoder gives μ and log σ², the reparameterization
// z = μ + exp(½ log σ²) ⊙ ε draws the code (ε is an input, so the graph stays a pure function; the
// data holds a fresh ε per sample), and the model computes its own loss — reconstruction
// Σ (x̂ − x)² plus the KL term −½ Σ (1 + log σ² − μ² − σ²), each summed over features and averaged
// over the batch — trained with the "model" loss (the first output is the loss).
#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {
constexpr int64_t kFeatures = 16, kLatent = 4, kHidden = 32;
}

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "vae";
  e.summary = "a variational autoencoder: reparameterization and the KL term, its own loss";
  e.build = [](Model& m) {
    Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(kFeatures)});
    Var eps = m.input("eps", DType::F32, {Dim::sym("N"), Dim::of(kLatent)});
    Var h = relu(Linear(m, "enc", kFeatures, kHidden)(x));
    Var mu = Linear(m, "enc.mu", kHidden, kLatent)(h);
    Var logvar = Linear(m, "enc.logvar", kHidden, kLatent)(h);
    Var z = add(mu, mul(exp(mul(logvar, 0.5)), eps));
    Var recon = Linear(m, "dec.out", kHidden, kFeatures)(relu(Linear(m, "dec", kLatent, kHidden)(z)));
    Var d = sub(recon, x);
    Var reconstruction = reduceMean(reduceSum(mul(d, d), {1}));
    Var kl = mul(reduceMean(reduceSum(sub(sub(add(logvar, 1.0), mul(mu, mu)), exp(logvar)), {1})), -0.5);
    m.output(add(reconstruction, kl), "loss");
    m.output(recon, "reconstruction");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor basis = examples::normal(rng, {kLatent, kFeatures});
    Tensor code = examples::normal(rng, {samples, kLatent});
    Tensor x = examples::normal(rng, {samples, kFeatures}, 0.1f);
    for (int64_t s = 0; s < samples; ++s)
      for (int64_t f = 0; f < kFeatures; ++f)
        for (int64_t k = 0; k < kLatent; ++k)
          x.data<float>()[s * kFeatures + f] += code.data<float>()[s * kLatent + k] * basis.data<float>()[k * kFeatures + f];
    return npz::Arrays{{"x", x}, {"eps", examples::normal(rng, {samples, kLatent})}};
  };
  e.config.loss = "model";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
