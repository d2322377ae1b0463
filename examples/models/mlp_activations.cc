// An MLP with dropout and every activation the builder has: ReLU, LeakyReLU, PReLU, ELU, SELU,
// SiLU (Swish), GELU, HardSwish and Mish, one per residual block, classifying points by a fixed
// random linear rule.
#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

int main(int argc, char** argv) {
  constexpr int64_t kFeatures = 16, kHidden = 32, kClasses = 4;
  examples::Example e;
  e.name = "mlp_activations";
  e.summary = "an MLP with dropout and nine activations in residual blocks";
  e.build = [](Model& m) {
    Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(kFeatures)});
    Var h = relu(Linear(m, "stem", kFeatures, kHidden)(x));
    PReLU prelu(m, "prelu", kHidden);
    const std::vector<std::function<Var(Var)>> activations = {
        [](Var v) { return relu(v); },      [](Var v) { return leakyRelu(v, 0.1); },
        [&](Var v) { return prelu(v); },    [](Var v) { return elu(v); },
        [](Var v) { return selu(v); },      [](Var v) { return silu(v); },
        [](Var v) { return gelu(v); },      [](Var v) { return hardSwish(v); },
        [](Var v) { return mish(v); }};
    for (size_t i = 0; i < activations.size(); ++i) {
      Var block = activations[i](Linear(m, str("block", i), kHidden, kHidden)(h));
      h = add(h, i % 3 == 2 ? dropout(block, 0.1) : block);
    }
    m.output(Linear(m, "head", kHidden, kClasses)(h), "logits");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor x = examples::normal(rng, {samples, kFeatures});
    Tensor t = examples::linearClasses(rng, x, kClasses);
    return npz::Arrays{{"x", x}, {"target", t}};
  };
  e.config.loss = "cross-entropy";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  return examples::runExample(e, argc, argv);
}
