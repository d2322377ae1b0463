// An encoder-decoder Transformer (Vaswani et al. 2017) learning to reverse sequences of tokens:
// token embeddings with sinusoidal positions (encoder) and learned ones (decoder); an encoder layer
// with local (banded, sparse) self-attention and one with full attention; a decoder layer with
// causal self-attention and cross-attention; post-norm residual blocks with GELU feed-forwards.
// Trained with teacher forcing: the decoder sees the answer shifted right behind a start token.
#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSteps = 6, kVocab = 10, kStart = kVocab, kDim = 32, kHeads = 4, kWindow = 2;

Var feedForward(Model& m, const std::string& name, Var x) {
  return Linear(m, name + ".fc2", 2 * kDim, kDim)(gelu(Linear(m, name + ".fc1", kDim, 2 * kDim)(x)));
}

// An additive band mask [T, T]: position i attends to j with |i − j| <= window only.
Var localMask(Model& m) {
  Tensor t(DType::F32, {kSteps, kSteps});
  for (int64_t i = 0; i < kSteps; ++i)
    for (int64_t j = 0; j < kSteps; ++j) t.data<float>()[i * kSteps + j] = std::abs(i - j) <= kWindow ? 0.0f : -1e9f;
  return m.constant(t);
}

Var encoderLayer(Model& m, const std::string& name, Var x, Var mask) {
  x = LayerNorm(m, name + ".ln1", kDim)(add(x, MultiheadAttention(m, name + ".attn", kDim, kHeads)(x, mask)));
  return LayerNorm(m, name + ".ln2", kDim)(add(x, feedForward(m, name + ".ff", x)));
}

Var decoderLayer(Model& m, const std::string& name, Var y, Var memory) {
  y = LayerNorm(m, name + ".ln1", kDim)(add(y, MultiheadAttention(m, name + ".self", kDim, kHeads)(y, causalMask(m, kSteps))));
  y = LayerNorm(m, name + ".ln2", kDim)(add(y, MultiheadAttention(m, name + ".cross", kDim, kHeads).cross(y, memory)));
  return LayerNorm(m, name + ".ln3", kDim)(add(y, feedForward(m, name + ".ff", y)));
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "transformer";
  e.summary = "an encoder-decoder Transformer (local, full, causal and cross attention) reversing token sequences";
  e.build = [](Model& m) {
    Var source = m.input("source", DType::I64, {Dim::sym("N"), Dim::of(kSteps)});
    Var shifted = m.input("decoder_input", DType::I64, {Dim::sym("N"), Dim::of(kSteps)});
    Embedding src_embed(m, "src_embed", kVocab, kDim), tgt_embed(m, "tgt_embed", kVocab + 1, kDim);
    Var learned = m.parameter("tgt_positions", {kSteps, kDim}, 0.1f);
    Var x = add(src_embed(source), sinusoidalPositions(m, kSteps, kDim));
    x = encoderLayer(m, "enc0", x, localMask(m));
    x = encoderLayer(m, "enc1", x, Var());
    Var y = decoderLayer(m, "dec0", add(tgt_embed(shifted), learned), x);
    m.output(Linear(m, "head", kDim, kVocab)(y), "logits");  // [N, T, vocab]
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor src = examples::classes(rng, {samples, kSteps}, kVocab);
    Tensor dec(DType::I64, {samples, kSteps}), target(DType::I64, {samples, kSteps});
    for (int64_t s = 0; s < samples; ++s)
      for (int64_t t = 0; t < kSteps; ++t) {
        const int64_t answer = src.data<int64_t>()[s * kSteps + (kSteps - 1 - t)];
        target.data<int64_t>()[s * kSteps + t] = answer;
        if (t + 1 < kSteps) dec.data<int64_t>()[s * kSteps + t + 1] = answer;
      }
    for (int64_t s = 0; s < samples; ++s) dec.data<int64_t>()[s * kSteps] = kStart;
    return npz::Arrays{{"source", src}, {"decoder_input", dec}, {"target", target}};
  };
  e.config.loss = "cross-entropy";
  e.config.loss_options.class_axis = 2;
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.samples = 512;
  e.epochs = 4;
  return examples::runExample(e, argc, argv);
}
