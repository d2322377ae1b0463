// A Vision Transformer (Dosovitskiy et al. 2021): 4×4 patches embedded by a strided convolution,
// a learned class token prepended, learned positions, pre-norm encoder blocks (multi-head
// self-attention, GELU MLP), classification from the class token. The task: which quadrant of a
// 16×16 image holds a bright square.
#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {
constexpr int64_t kSize = 16, kPatch = 4, kPatches = (kSize / kPatch) * (kSize / kPatch), kDim = 32, kHeads = 4, kClasses = 4;
}

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "vit";
  e.summary = "a Vision Transformer: patch embedding, class token, learned positions, encoder blocks";
  e.build = [](Model& m) {
    Var image = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
    Var patches = Conv2d(m, "patch_embed", 1, kDim, kPatch, kPatch)(image);           // [N, D, 4, 4]
    patches = transpose(reshape(patches, {0, kDim, kPatches}), {0, 2, 1});            // [N, 16, D]
    Var cls = m.parameter("cls_token", {1, 1, kDim}, 0.02f);
    Var cls_batch = add(mul(slice(patches, {0}, {1}, {1}), 0.0), cls);               // [N, 1, D]
    Var x = add(concat({cls_batch, patches}, 1), m.parameter("positions", {kPatches + 1, kDim}, 0.02f));
    for (int l = 0; l < 2; ++l) {
      const std::string n = str("block", l);
      x = add(x, MultiheadAttention(m, n + ".attn", kDim, kHeads)(LayerNorm(m, n + ".ln1", kDim)(x)));
      Var h = LayerNorm(m, n + ".ln2", kDim)(x);
      x = add(x, Linear(m, n + ".fc2", 2 * kDim, kDim)(gelu(Linear(m, n + ".fc1", kDim, 2 * kDim)(h))));
    }
    Var token = squeeze(slice(LayerNorm(m, "ln", kDim)(x), {0}, {1}, {1}), {1});      // [N, D]
    m.output(Linear(m, "head", kDim, kClasses)(token), "logits");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor image = examples::normal(rng, {samples, 1, kSize, kSize}, 0.2f);
    Tensor target = examples::classes(rng, {samples}, kClasses);
    std::uniform_int_distribution<int64_t> offset(0, kSize / 2 - 4);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t q = target.data<int64_t>()[s], top = (q / 2) * kSize / 2 + offset(rng), left = (q % 2) * kSize / 2 + offset(rng);
      for (int64_t i = top; i < top + 4; ++i)
        for (int64_t j = left; j < left + 4; ++j) image.data<float>()[(s * kSize + i) * kSize + j] += 2.0f;
    }
    return npz::Arrays{{"image", image}, {"target", target}};
  };
  e.config.loss = "cross-entropy";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 1e-3;
  e.samples = 512;
  e.epochs = 6;
  return examples::runExample(e, argc, argv);
}
