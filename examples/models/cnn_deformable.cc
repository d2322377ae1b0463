// Two convolutional techniques written from primitives:
//   a deformable convolution (Dai et al. 2017): a 3×3 convolution predicts an offset (Δy, Δx) per
//       tap and position; the input is sampled at p + p_k + Δp_k by bilinear interpolation (four
//       GatherElements over the flattened image, zero outside it), the 9 samples stacked per
//       channel and mixed by a 1×1 convolution — the gradient reaches the offsets through the
//       interpolation weights;
//   DropBlock (Ghiasi et al. 2018): during training, contiguous 3×3 blocks of a feature map are
//       dropped — block centres drawn by a Dropout on ones (so the training step gives them fresh
//       random masks each step), grown by a 3×3 max-pool, the survivors rescaled by
//       count / kept; at inference the same graph is the identity.
// The task: which of four shapes a slightly rotated and sheared image holds.
#include <cmath>
#include <iostream>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSize = 8, kClasses = 4, kChannels = 8;
constexpr double kDropProbability = 0.1;

// DropBlock with block size 3 over x [N, C, H, W].
Var dropBlock(Var x) {
  Var ones = add(mul(stopGradient(x), 0.0), 1.0);
  const double gamma = kDropProbability / 9;  // centres so that about kDropProbability of the map drops
  Var keep_centre = mul(dropout(ones, gamma), 1.0 - gamma);  // 1 kept, 0 a block centre; 1 − γ at inference
  Var dropped = maxPool2d(sub(scalarLike(keep_centre, 1.0), keep_centre), 3, 1, 1);
  Var mask = stopGradient(sub(scalarLike(dropped, 1.0), dropped));
  Var count = reduceSum(ones), kept = reduceSum(mask);
  return mul(mul(x, mask), div(count, kept));
}

// x at integer positions (yi, xi) [N, 1, H, W] (i64), zero where outside the image.
Var sampleAt(Var flat, Var yi, Var xi, int64_t channels) {
  Var inside = cast(logicalNot(greater(add(cast(less(yi, scalarLike(yi, 0.0)), DType::F32), add(
                                           cast(greater(yi, scalarLike(yi, kSize - 1.0)), DType::F32),
                                           add(cast(less(xi, scalarLike(xi, 0.0)), DType::F32),
                                               cast(greater(xi, scalarLike(xi, kSize - 1.0)), DType::F32)))),
                                       scalarOf(*flat.model(), DType::F32, 0.0))),
                   DType::F32);
  Var yc = clip(yi, 0.0, kSize - 1.0), xc = clip(xi, 0.0, kSize - 1.0);
  Var idx = reshape(add(mul(yc, scalarLike(yc, static_cast<double>(kSize))), xc), {0, 1, kSize * kSize});
  Var values = gatherElements(flat, expand(idx, {1, channels, 1}), 2);  // [N, C, H·W]
  return mul(values, reshape(inside, {0, 1, kSize * kSize}));
}

Var deformableConv(Model& m, const std::string& name, Var x, int64_t in, int64_t out) {
  // Offsets start at zero (a plain 3×3 convolution) as in the paper.
  Var off_w = m.constant(Tensor(DType::F32, {18, in, 3, 3}), name + ".offset.weight");
  Var off_b = m.constant(Tensor(DType::F32, {18}), name + ".offset.bias");
  Var offsets = conv2d(x, off_w, off_b, 1, 1);  // [N, 2·9, H, W]
  Var flat = reshape(x, {0, in, kSize * kSize});
  Tensor rows(DType::F32, {1, 1, kSize, kSize}), cols(DType::F32, {1, 1, kSize, kSize});
  for (int64_t i = 0; i < kSize; ++i)
    for (int64_t j = 0; j < kSize; ++j) rows.data<float>()[i * kSize + j] = static_cast<float>(i), cols.data<float>()[i * kSize + j] = static_cast<float>(j);
  Var row = m.constant(rows), col = m.constant(cols);
  std::vector<Var> taps;
  for (int64_t k = 0; k < 9; ++k) {
    Var y = add(add(row, static_cast<double>(k / 3 - 1)), slice(offsets, {2 * k}, {2 * k + 1}, {1}));
    Var xx = add(add(col, static_cast<double>(k % 3 - 1)), slice(offsets, {2 * k + 1}, {2 * k + 2}, {1}));
    Var y0 = m.op1(OpKind::Floor, {y}), x0 = m.op1(OpKind::Floor, {xx});
    Var wy = sub(y, y0), wx = sub(xx, x0);  // the interpolation weights: the gradient's way to the offsets
    Var y0i = cast(y0, DType::I64), x0i = cast(x0, DType::I64);
    Var y1i = add(y0i, scalarLike(y0i, 1.0)), x1i = add(x0i, scalarLike(x0i, 1.0));
    auto w = [&](Var t) { return reshape(t, {0, 1, kSize * kSize}); };
    Var v = add(add(mul(sampleAt(flat, y0i, x0i, in), w(mul(sub(scalarLike(wy, 1.0), wy), sub(scalarLike(wx, 1.0), wx)))),
                    mul(sampleAt(flat, y0i, x1i, in), w(mul(sub(scalarLike(wy, 1.0), wy), wx)))),
                add(mul(sampleAt(flat, y1i, x0i, in), w(mul(wy, sub(scalarLike(wx, 1.0), wx)))),
                    mul(sampleAt(flat, y1i, x1i, in), w(mul(wy, wx)))));
    taps.push_back(unsqueeze(v, {2}));  // [N, C, 1, H·W]
  }
  Var stacked = reshape(concat(taps, 2), {0, in * 9, kSize, kSize});  // channel-major, tap-minor: Conv's weight order
  return Conv2d(m, name, in * 9, out, 1)(stacked);
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "cnn_deformable";
  e.summary = "a deformable convolution (bilinear sampling by gather) and DropBlock";
  e.build = [](Model& m) {
    Var x = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
    Var h = relu(Conv2d(m, "conv1", 1, kChannels, 3, 1, 1)(x));
    h = relu(BatchNorm2d(m, "bn", kChannels)(deformableConv(m, "deform", h, kChannels, kChannels)));
    h = dropBlock(h);
    m.output(Linear(m, "head", kChannels, kClasses)(flatten(globalAvgPool(h), 1)), "logits");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor image = examples::normal(rng, {samples, 1, kSize, kSize}, 0.2f);
    Tensor target = examples::classes(rng, {samples}, kClasses);
    static const float kShape[kClasses][3][2] = {{{0, 0}, {0, 1}, {1, 1}}, {{0, 0}, {0, 1}, {0, 2}}, {{0, 0}, {1, 0}, {2, 0}}, {{0, 0}, {1, 1}, {2, 2}}};
    std::uniform_real_distribution<float> at(2.0f, kSize - 3.0f), shear(-0.3f, 0.3f);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t c = target.data<int64_t>()[s];
      const float top = at(rng), left = at(rng), k = shear(rng);
      for (const auto& d : kShape[c]) {
        const int64_t i = static_cast<int64_t>(std::lround(top + d[0])), j = static_cast<int64_t>(std::lround(left + d[1] + k * d[0]));
        image.data<float>()[(s * kSize + i) * kSize + j] = 2.0f;
      }
    }
    return npz::Arrays{{"image", image}, {"target", target}};
  };
  e.config.loss = "cross-entropy";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 5e-3;
  e.samples = 512;
  e.epochs = 5;
  // The offsets started at zero; training must have moved them (the gradient reaches them only
  // through the bilinear weights).
  e.after = [](const Graph& trained, const std::vector<DataValue>&) -> Status {
    const Tensor w = examples::namedConstants(trained).at("deform.offset.weight");
    double peak = 0;
    for (int64_t i = 0; i < w.numel(); ++i) peak = std::max(peak, std::fabs(w.getDouble(i)));
    std::cout << "deformable offsets: the offset convolution's weights moved from 0 to max |w| " << peak << "\n";
    return peak > 0 ? Status::success() : Status::error("the offset convolution did not train");
  };
  return examples::runExample(e, argc, argv);
}
