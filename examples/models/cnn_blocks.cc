// A CNN made of the blocks modern convolutional networks use: a depthwise-separable convolution
// (MobileNet), a dilated one, a grouped one (ResNeXt), squeeze-and-excitation (SENet), an
// inverted residual with ReLU6 (MobileNetV2), a weight-standardized convolution (Qiao et al.
// 2019) and a spectrally normalized linear head (Miyato et al. 2018), with Batch, Instance,
// Group and Layer normalization, trained with LARS. It tells stripe patterns (orientation and
// period) apart.
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSize = 16, kClasses = 4;

Var relu6(Var x) { return clip(x, 0.0, 6.0); }

// Squeeze-and-excitation: channel weights from the pooled features, x · σ(W₂ relu(W₁ pool(x))).
Var squeezeExcite(Model& m, const std::string& name, Var x, int64_t channels, int64_t reduced) {
  Var s = globalAvgPool(x);
  s = relu(Conv2d(m, name + ".reduce", channels, reduced, 1)(s));
  s = sigmoid(Conv2d(m, name + ".expand", reduced, channels, 1)(s));
  return mul(x, s);
}

// MobileNetV2's inverted residual: 1×1 expand, 3×3 depthwise, 1×1 project (linear), plus x.
Var invertedResidual(Model& m, const std::string& name, Var x, int64_t channels, int64_t expand) {
  const int64_t wide = channels * expand;
  Var h = relu6(BatchNorm2d(m, name + ".bn1", wide)(Conv2d(m, name + ".expand", channels, wide, 1, 1, 0, 1, 1, false)(x)));
  h = relu6(BatchNorm2d(m, name + ".bn2", wide)(Conv2d(m, name + ".dw", wide, wide, 3, 1, 1, wide, 1, false)(h)));
  h = BatchNorm2d(m, name + ".bn3", channels)(Conv2d(m, name + ".project", wide, channels, 1, 1, 0, 1, 1, false)(h));
  return add(x, h);
}

// Weight standardization: ŵ = (w − mean(w)) / sqrt(var(w) + eps) per output channel, in the graph,
// so the gradient flows through the standardization as in the paper.
Var standardizedConv(Model& m, const std::string& name, Var x, int64_t in, int64_t out) {
  Var w = m.parameter(name + ".weight", {out, in, 3, 3}, 1.0f / std::sqrt(static_cast<float>(in * 9)));
  Var mean = reduceMean(w, {1, 2, 3}, true);
  Var centred = sub(w, mean);
  Var var = reduceMean(mul(centred, centred), {1, 2, 3}, true);
  return conv2d(x, div(centred, sqrt(add(var, 1e-5))), Var(), 1, 1);
}

// Spectral normalization of a linear layer's weight W [in, out]: W / σ(W), σ estimated by three
// power iterations from a fixed start vector in every forward pass (torch keeps its vector u
// between steps; the graph here is a pure function of W, so it iterates from the same start).
Var spectralLinear(Model& m, const std::string& name, Var x, int64_t in, int64_t out) {
  Var w = m.parameter(name + ".weight", {in, out}, 1.0f / std::sqrt(static_cast<float>(in)));
  Var b = m.parameter(name + ".bias", {out}, 1.0f / std::sqrt(static_cast<float>(in)));
  Tensor start(DType::F32, {out, 1});
  for (int64_t i = 0; i < out; ++i) start.data<float>()[i] = 1.0f / std::sqrt(static_cast<float>(out));
  Var v = m.constant(start);  // unnamed: not trained
  auto normalize = [](Var t) { return div(t, sqrt(add(reduceSum(mul(t, t)), 1e-12))); };
  Var u;
  for (int i = 0; i < 3; ++i) {
    u = normalize(matmul(w, v));                       // [in, 1]
    v = normalize(matmul(transpose(w, {1, 0}), u));    // [out, 1]
  }
  Var sigma = reduceSum(mul(u, matmul(w, v)));         // uᵀ W v
  return add(matmul(x, div(w, sigma)), b);
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "cnn_blocks";
  e.summary = "depthwise-separable, dilated, grouped, SE, inverted-residual and weight-standardized convolutions, four norms";
  e.build = [](Model& m) {
    Var x = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(3), Dim::of(kSize), Dim::of(kSize)});
    Var h = relu(BatchNorm2d(m, "stem.bn", 16)(Conv2d(m, "stem", 3, 16, 3, 1, 1, 1, 1, false)(x)));
    // Depthwise-separable: a 3×3 per channel, then a 1×1 across channels.
    h = Conv2d(m, "separable.pointwise", 16, 32, 1)(Conv2d(m, "separable.depthwise", 16, 16, 3, 1, 1, 16)(h));
    h = relu(InstanceNorm2d(m, "separable.in", 32)(h));
    h = maxPool2d(h, 2, 2);  // 8×8
    h = silu(GroupNorm(m, "dilated.gn", 4, 32)(Conv2d(m, "dilated", 32, 32, 3, 1, 2, 1, 2)(h)));
    h = relu(BatchNorm2d(m, "grouped.bn", 32)(Conv2d(m, "grouped", 32, 32, 3, 1, 1, 4)(h)));
    h = squeezeExcite(m, "se", h, 32, 8);
    h = invertedResidual(m, "inverted", h, 32, 2);
    h = relu(GroupNorm(m, "ws.gn", 8, 32)(standardizedConv(m, "ws", h, 32, 32)));
    Var features = LayerNorm(m, "head.ln", 32)(flatten(globalAvgPool(h), 1));
    m.output(spectralLinear(m, "head", features, 32, kClasses), "logits");
  };
  // Stripes: class 0/1 horizontal/vertical of period 4, class 2/3 of period 8, random phase and
  // channel weights, plus noise.
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor x = examples::normal(rng, {samples, 3, kSize, kSize}, 0.5f);
    Tensor t = examples::classes(rng, {samples}, kClasses);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t c = t.data<int64_t>()[s];
      const float period = c < 2 ? 4.0f : 8.0f, phase = u(rng) * 6.2832f;
      for (int64_t ch = 0; ch < 3; ++ch) {
        const float weight = 0.5f + u(rng);
        for (int64_t i = 0; i < kSize; ++i)
          for (int64_t j = 0; j < kSize; ++j) {
            const float pos = static_cast<float>(c % 2 == 0 ? i : j);
            x.data<float>()[((s * 3 + ch) * kSize + i) * kSize + j] += weight * std::sin(6.2832f * pos / period + phase);
          }
      }
    }
    return npz::Arrays{{"image", x}, {"target", t}};
  };
  e.config.loss = "cross-entropy";
  // LARS (You et al. 2017; timm's defaults otherwise): SGD with momentum and a per-layer trust ratio.
  e.config.optimizer.name = "lars";
  e.config.optimizer.lr = 1.0;
  e.config.optimizer.momentum = 0.9;
  e.epochs = 4;
  return examples::runExample(e, argc, argv);
}
