// A neural ODE (Chen et al. 2018) classifier: the hidden state follows dh/dt = f(h, t) with f a small
// MLP taking t as an extra input, integrated from t = 0 to 1 by four fixed steps of the classical
// Runge-Kutta method (RK4) unrolled in the graph, so the gradient is backpropagation through the
// solver. Two interleaved spirals are the classes.
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {
constexpr int64_t kHidden = 16, kSteps = 4;
}

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "neural_ode";
  e.summary = "a neural ODE: dh/dt = MLP(h, t) integrated by four unrolled RK4 steps";
  e.build = [](Model& m) {
    Var x = m.input("point", DType::F32, {Dim::sym("N"), Dim::of(2)});
    Linear f1(m, "f.fc1", kHidden + 1, kHidden), f2(m, "f.fc2", kHidden, kHidden);
    // f(h, t) = W₂ tanh(W₁ [h; t] + b₁) + b₂, t broadcast as a column.
    auto f = [&](Var h, double t) {
      Var column = add(mul(slice(h, {0}, {1}, {1}), 0.0), t);
      return f2(tanh(f1(concat({h, column}, 1))));
    };
    Var h = Linear(m, "embed", 2, kHidden)(x);
    const double dt = 1.0 / kSteps;
    for (int64_t s = 0; s < kSteps; ++s) {
      // RK4: k1 = f(h, t), k2 = f(h + dt/2 k1, t + dt/2), k3 = f(h + dt/2 k2, t + dt/2),
      //      k4 = f(h + dt k3, t + dt), h' = h + dt/6 (k1 + 2 k2 + 2 k3 + k4).
      const double t = s * dt;
      Var k1 = f(h, t);
      Var k2 = f(add(h, mul(k1, dt / 2)), t + dt / 2);
      Var k3 = f(add(h, mul(k2, dt / 2)), t + dt / 2);
      Var k4 = f(add(h, mul(k3, dt)), t + dt);
      h = add(h, mul(add(add(k1, mul(k2, 2.0)), add(mul(k3, 2.0), k4)), dt / 6));
    }
    m.output(Linear(m, "head", kHidden, 2)(h), "logits");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor x(DType::F32, {samples, 2});
    Tensor t = examples::classes(rng, {samples}, 2);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    for (int64_t s = 0; s < samples; ++s) {
      const float r = 0.2f + 0.8f * u(rng), angle = 1.5f * 3.14159f * r + (t.data<int64_t>()[s] ? 3.14159f : 0.0f);
      x.data<float>()[2 * s] = r * std::cos(angle) + noise(rng);
      x.data<float>()[2 * s + 1] = r * std::sin(angle) + noise(rng);
    }
    return npz::Arrays{{"point", x}, {"target", t}};
  };
  e.config.loss = "cross-entropy";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.samples = 512;
  e.epochs = 10;
  return examples::runExample(e, argc, argv);
}
