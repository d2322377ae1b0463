// Recurrent networks: torch-style RNN (tanh), LSTM (bidirectional) and GRU layers (the ONNX
// recurrent ops), and two written from primitives and unrolled over time: a QRNN (Bradbury et al.
// 2016: gates from a width-2 convolution over time, then fo-pooling) and an IndRNN (Li et al.
// 2018: h_t = relu(W x_t + u ⊙ h_{t−1} + b), one recurrent weight per unit). Their last states
// together classify sequences by which of three running sums ends largest.
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSteps = 8, kFeatures = 4, kHidden = 12, kClasses = 3;

// x[:, t, :] as [N, F].
Var step(Var x, int64_t t) { return squeeze(slice(x, {t}, {t + 1}, {1}), {1}); }

// QRNN with fo-pooling: [z f o] = W [x_t; x_{t−1}] + b (x_{−1} = 0), z = tanh, f, o = σ,
// c_t = f ⊙ c_{t−1} + (1 − f) ⊙ z, h_t = o ⊙ c_t. Returns h at the last step.
Var qrnn(Model& m, Var x) {
  Linear gates(m, "qrnn.gates", 2 * kFeatures, 3 * kHidden);
  Var c, h, prev = mul(step(x, 0), 0.0);
  for (int64_t t = 0; t < kSteps; ++t) {
    Var xt = step(x, t);
    Var g = gates(concat({xt, prev}, 1));
    Var z = tanh(slice(g, {0}, {kHidden}, {1}));
    Var f = sigmoid(slice(g, {kHidden}, {2 * kHidden}, {1}));
    Var o = sigmoid(slice(g, {2 * kHidden}, {3 * kHidden}, {1}));
    Var fz = mul(sub(scalarLike(f, 1.0), f), z);
    c = c.valid() ? add(mul(f, c), fz) : fz;
    h = mul(o, c);
    prev = xt;
  }
  return h;
}

// IndRNN: h_t = relu(W x_t + u ⊙ h_{t−1} + b), u initialised in [0, 1) as the paper suggests.
Var indrnn(Model& m, Var x) {
  Linear input(m, "indrnn.input", kFeatures, kHidden);
  Var u = m.parameter("indrnn.recurrent", {kHidden}, 0.5f);
  Var h;
  for (int64_t t = 0; t < kSteps; ++t) {
    Var a = input(step(x, t));
    h = relu(h.valid() ? add(a, mul(u, h)) : a);
  }
  return h;
}

// The last state [dirs, N, H] as [N, dirs·H].
Var lastState(Var h, int64_t dirs) { return reshape(transpose(h, {1, 0, 2}), {-1, dirs * kHidden}); }

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "rnn_family";
  e.summary = "RNN, bidirectional LSTM, GRU (ONNX ops) and QRNN, IndRNN (from primitives) on sequences";
  e.build = [](Model& m) {
    Var x = m.input("sequence", DType::F32, {Dim::sym("N"), Dim::of(kSteps), Dim::of(kFeatures)});
    Recurrent rnn(m, "rnn", Recurrent::Cell::Rnn, kFeatures, kHidden);
    Recurrent lstm(m, "lstm", Recurrent::Cell::Lstm, kFeatures, kHidden, /*bidirectional=*/true);
    Recurrent gru(m, "gru", Recurrent::Cell::Gru, kFeatures, kHidden);
    auto [rnn_y, rnn_h] = rnn(x);
    auto [lstm_y, lstm_h] = lstm(x);
    // The GRU runs over the LSTM's outputs: a stacked layer.
    Recurrent gru2(m, "gru_stacked", Recurrent::Cell::Gru, 2 * kHidden, kHidden);
    auto [gru_y, gru_h] = gru(x);
    auto [stacked_y, stacked_h] = gru2(lstm_y);
    Var features = concat({lastState(rnn_h, 1), lastState(lstm_h, 2), lastState(gru_h, 1), lastState(stacked_h, 1),
                           qrnn(m, x), indrnn(m, x)}, 1);
    m.output(Linear(m, "head", 7 * kHidden, kClasses)(features), "logits");
  };
  // Class: the largest of Σ_t x_t[0], Σ_t x_t[1] and 2·(x_{T−1}[2] − x_0[2]).
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor x = examples::normal(rng, {samples, kSteps, kFeatures});
    Tensor t(DType::I64, {samples});
    for (int64_t s = 0; s < samples; ++s) {
      const float* v = x.data<float>() + s * kSteps * kFeatures;
      double a = 0, b = 0;
      for (int64_t k = 0; k < kSteps; ++k) a += v[k * kFeatures], b += v[k * kFeatures + 1];
      double c = 2.0 * (v[(kSteps - 1) * kFeatures + 2] - v[2]);
      t.data<int64_t>()[s] = a >= b && a >= c ? 0 : b >= c ? 1 : 2;
    }
    return npz::Arrays{{"sequence", x}, {"target", t}};
  };
  e.config.loss = "cross-entropy";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 5e-3;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
