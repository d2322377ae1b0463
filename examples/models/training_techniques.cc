// Training techniques on a small CNN telling four bright shapes apart (wherever they are):
//   mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) in the data path — half the samples
//       blend two images, λ ~ Beta(0.4, 0.4), half paste a random box of one into another, λ the
//       area kept — with the targets mixed in the same proportion;
//   label smoothing (Szegedy et al. 2016) on those soft targets, ε = 0.1;
//   the soft-target cross-entropy as KL(target ‖ softmax), the "kl-div" loss (batchmean) on the
//       model's log-probabilities;
//   gradient accumulation over 2 micro-batches per step, and the LAMB optimizer (You et al. 2020),
//       made for large batches;
//   bf16 mixed precision: the convolutions and the linear layer in bf16 on f32 master weights.
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSize = 8, kClasses = 4, kBatch = 16;
constexpr double kSmoothing = 0.1;

Tensor shapes(std::mt19937_64& rng, int64_t samples, Tensor& target) {
  Tensor image = examples::normal(rng, {samples, 1, kSize, kSize}, 0.2f);
  target = examples::classes(rng, {samples}, kClasses);
  static const int kShape[kClasses][4][2] = {{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, {{0, 0}, {0, 1}, {0, 2}, {0, 2}},
                                              {{0, 0}, {1, 0}, {2, 0}, {2, 0}}, {{0, 0}, {1, 1}, {2, 2}, {2, 2}}};
  std::uniform_int_distribution<int64_t> at(0, kSize - 3);
  for (int64_t s = 0; s < samples; ++s) {
    const int64_t c = target.data<int64_t>()[s], top = at(rng), left = at(rng);
    for (int k = 0; k < 4; ++k) image.data<float>()[(s * kSize + top + kShape[c][k][0]) * kSize + left + kShape[c][k][1]] = 2.0f;
  }
  return image;
}

double beta(std::mt19937_64& rng, double a) {
  std::gamma_distribution<double> g(a, 1.0);
  const double x = g(rng), y = g(rng);
  return x / (x + y);
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "training_techniques";
  e.summary = "mixup, CutMix, label smoothing, gradient accumulation, LAMB and bf16 mixed precision on a small CNN";
  e.build = [](Model& m) {
    // A static batch: KL's batchmean divides by it.
    Var x = m.input("image", DType::F32, {Dim::of(kBatch), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
    Var h = relu(BatchNorm2d(m, "bn1", 16)(Conv2d(m, "conv1", 1, 16, 3, 1, 1, 1, 1, false)(x)));
    h = relu(BatchNorm2d(m, "bn2", 16)(Conv2d(m, "conv2", 16, 16, 3, 1, 1, 1, 1, false)(h)));
    m.output(logSoftmax(Linear(m, "head", 16, kClasses)(flatten(globalAvgPool(h), 1)), 1), "log_probs");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor classes;
    Tensor clean = shapes(rng, samples, classes);
    Tensor image = clean.clone(), target(DType::F32, {samples, kClasses});
    std::uniform_int_distribution<int64_t> other(0, samples - 1), corner(0, kSize - 1);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t j = other(rng);
      double lambda;
      float* x = image.data<float>() + s * kSize * kSize;
      const float* a = clean.data<float>() + s * kSize * kSize;
      const float* b = clean.data<float>() + j * kSize * kSize;
      if (s % 2 == 0) {  // mixup
        lambda = beta(rng, 0.4);
        for (int64_t p = 0; p < kSize * kSize; ++p) x[p] = static_cast<float>(lambda * a[p] + (1 - lambda) * b[p]);
      } else {  // CutMix: a box of b pasted into a
        const int64_t top = corner(rng), left = corner(rng);
        const int64_t bottom = std::min(kSize, top + 1 + corner(rng) / 2), right = std::min(kSize, left + 1 + corner(rng) / 2);
        for (int64_t i = top; i < bottom; ++i)
          for (int64_t k = left; k < right; ++k) x[i * kSize + k] = b[i * kSize + k];
        lambda = 1.0 - static_cast<double>((bottom - top) * (right - left)) / (kSize * kSize);
      }
      float* t = target.data<float>() + s * kClasses;
      for (int64_t c = 0; c < kClasses; ++c) t[c] = static_cast<float>(kSmoothing / kClasses);
      t[classes.data<int64_t>()[s]] += static_cast<float>((1 - kSmoothing) * lambda);
      t[classes.data<int64_t>()[j]] += static_cast<float>((1 - kSmoothing) * (1 - lambda));
    }
    return npz::Arrays{{"image", image}, {"target", target}};
  };
  e.config.loss = "kl-div";
  e.config.loss_options.reduction = "batchmean";
  e.config.accumulate = 2;
  e.config.precision = "bf16";
  e.config.optimizer.name = "lamb";
  e.config.optimizer.lr = 1e-2;
  e.samples = 512;
  e.batch = kBatch;
  e.epochs = 6;
  return examples::runExample(e, argc, argv);
}
