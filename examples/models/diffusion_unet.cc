// A diffusion model's denoiser (Ho et al. 2020): a small U-Net predicting the noise ε in
// x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε from x_t and the timestep t, with ᾱ from the cosine schedule
// (Nichol & Dhariwal 2021) over 50 steps. The timestep enters as a sinusoidal embedding computed in
// the graph (sin/cos of t times fixed frequencies), through an MLP, added to the features of each
// resolution; the U-Net goes down by a strided convolution, up by a transposed one, and joins the
// skip connection by concatenation. Trained with the MSE of the predicted noise (the DDPM loss).
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSize = 8, kSteps = 50, kEmbed = 16, kWidth = 16;

double alphaBar(int64_t t) {
  auto f = [](double s) { return std::pow(std::cos((s / kSteps + 0.008) / 1.008 * 3.14159265358979 / 2), 2); };
  return f(static_cast<double>(t + 1)) / f(0.0);
}

// The sinusoidal embedding of t [N] (i64): [sin(t ω_i), cos(t ω_i)], ω_i = 10000^(−i/(D/2)).
Var timestepEmbedding(Model& m, Var t) {
  Tensor freqs(DType::F32, {1, kEmbed / 2});
  for (int64_t i = 0; i < kEmbed / 2; ++i) freqs.data<float>()[i] = static_cast<float>(std::pow(10000.0, -static_cast<double>(i) / (kEmbed / 2)));
  Var angle = mul(unsqueeze(cast(t, DType::F32), {1}), m.constant(freqs));  // [N, D/2]
  return concat({sin(angle), cos(angle)}, 1);
}

// Per-channel shift from the timestep: [N, C] -> [N, C, 1, 1].
Var shift(Model& m, const std::string& name, Var temb, int64_t channels) {
  return unsqueeze(Linear(m, name, kWidth, channels)(temb), {2, 3});
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "diffusion_unet";
  e.summary = "a diffusion U-Net predicting noise, with a sinusoidal timestep embedding";
  e.build = [](Model& m) {
    Var x = m.input("noisy", DType::F32, {Dim::sym("N"), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
    Var t = m.input("timestep", DType::I64, {Dim::sym("N")});
    Var temb = Linear(m, "temb.fc2", kWidth, kWidth)(silu(Linear(m, "temb.fc1", kEmbed, kWidth)(timestepEmbedding(m, t))));
    Var d1 = silu(add(GroupNorm(m, "down1.gn", 4, kWidth)(Conv2d(m, "down1", 1, kWidth, 3, 1, 1)(x)), shift(m, "down1.t", temb, kWidth)));
    Var d2 = silu(add(GroupNorm(m, "down2.gn", 4, 2 * kWidth)(Conv2d(m, "down2", kWidth, 2 * kWidth, 3, 2, 1)(d1)),
                      shift(m, "down2.t", temb, 2 * kWidth)));  // 4×4
    Var mid = silu(Conv2d(m, "mid", 2 * kWidth, 2 * kWidth, 3, 1, 1)(d2));
    Var w = m.parameter("up.weight", {2 * kWidth, kWidth, 2, 2}, 1.0f / std::sqrt(static_cast<float>(2 * kWidth * 4)));
    Var up = silu(add(convTranspose2d(mid, w, m.parameter("up.bias", {kWidth}, 0.05f), 2), shift(m, "up.t", temb, kWidth)));  // 8×8
    Var joined = silu(Conv2d(m, "join", 2 * kWidth, kWidth, 3, 1, 1)(concat({up, d1}, 1)));
    m.output(Conv2d(m, "out", kWidth, 1, 3, 1, 1)(joined), "predicted_noise");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    // x₀: a bright 3×3 square at a random place; t uniform; x_t from the schedule.
    Tensor clean(DType::F32, {samples, 1, kSize, kSize});
    std::uniform_int_distribution<int64_t> at(0, kSize - 3), step(0, kSteps - 1);
    Tensor t(DType::I64, {samples});
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t top = at(rng), left = at(rng);
      for (int64_t i = 0; i < kSize * kSize; ++i) clean.data<float>()[s * kSize * kSize + i] = -1.0f;
      for (int64_t i = top; i < top + 3; ++i)
        for (int64_t j = left; j < left + 3; ++j) clean.data<float>()[(s * kSize + i) * kSize + j] = 1.0f;
      t.data<int64_t>()[s] = step(rng);
    }
    Tensor noise = examples::normal(rng, {samples, 1, kSize, kSize});
    Tensor noisy(DType::F32, {samples, 1, kSize, kSize});
    for (int64_t s = 0; s < samples; ++s) {
      const double ab = alphaBar(t.data<int64_t>()[s]);
      for (int64_t i = 0; i < kSize * kSize; ++i) {
        const int64_t k = s * kSize * kSize + i;
        noisy.data<float>()[k] = static_cast<float>(std::sqrt(ab) * clean.data<float>()[k] + std::sqrt(1 - ab) * noise.data<float>()[k]);
      }
    }
    return npz::Arrays{{"noisy", noisy}, {"timestep", t}, {"target", noise}};
  };
  e.config.loss = "mse";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.samples = 512;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
