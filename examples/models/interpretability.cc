// Interpretability and uncertainty on a small CNN that tells four bright shapes apart wherever they
// are (SiLU activations, so the score is smooth for the finite-difference check):
//   saliency (Simonyan et al. 2014): |∂ score_c / ∂ image| through the Gradient op, checked against
//       central finite differences of the forward model;
//   Grad-CAM (Selvaraju et al. 2017): the gradient of the score w.r.t. the last feature map A,
//       averaged per channel into weights w_k, cam = relu(Σ_k w_k A_k) — its peak should fall on the
//       shape;
//   MC dropout (Gal & Ghahramani 2016): dropout kept on at inference (ONNX Dropout in training
//       mode, 16 masks from 16 seeds), the predictive mean and variance over the samples;
//   a deep ensemble (Lakshminarayanan et al. 2017): three members trained from different
//       initializations, their mean and variance in one graph.
#include <cmath>
#include <iostream>

#include "examples/models/example.h"
#include "frontend/builder/trainer.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSize = 8, kChannels = 8, kClasses = 4, kMcSamples = 16, kMembers = 3;
enum class Mode { Classify, Explain, McDropout };

struct Net {
  Conv2d conv1, conv2;
  Linear head;
  Net(Model& m, const std::string& p)
      : conv1(m, p + "conv1", 1, kChannels, 3, 1, 1), conv2(m, p + "conv2", kChannels, kChannels, 3, 1, 1),
        head(m, p + "head", kChannels, kClasses) {}
  Var features(Var image) const { return silu(conv2(silu(conv1(image)))); }  // A: [N, C, H, W]
  Var logits(Var a, Var dropped) const { return head(dropped.valid() ? dropped : flatten(globalAvgPool(a), 1)); }
};

void build(Model& m, Mode mode, const std::string& prefix = "") {
  Var image = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
  Net net(m, prefix);
  Var a = net.features(image);
  Var pooled = flatten(globalAvgPool(a), 1);
  if (mode == Mode::Classify) {
    m.output(net.logits(a, dropout(pooled, 0.2)), "logits");
  } else if (mode == Mode::Explain) {
    Var onehot = m.input("class_onehot", DType::F32, {Dim::sym("N"), Dim::of(kClasses)});
    Var score = reduceSum(mul(net.logits(a, pooled), onehot));
    score.value()->setName("score");
    auto g = m.op(OpKind::Gradient, {image, a},
                  {{"xs", Attribute::ofStrings({image.value()->name(), a.value()->name()})}, {"y", Attribute::ofString("score")}}, 2);
    if (g.size() != 2) return;
    m.output(abs(g[0]), "saliency");
    Var weights = reduceMean(g[1], {2, 3}, true);
    m.output(relu(reduceSum(mul(weights, a), {1})), "grad_cam");  // [N, H, W]
    m.output(score, "score");
  } else {
    // Dropout in training mode at inference: ONNX Dropout(x, ratio, training_mode = true) with a
    // seed per sample, then the mean and (population) variance of the softmax over the samples.
    Var on = m.constant(Tensor::scalar(DType::Bool, 1)), ratio = m.constant(Tensor::scalar(DType::F32, 0.2));
    std::vector<Var> probs;
    for (int64_t s = 0; s < kMcSamples; ++s) {
      Var d = m.op1(OpKind::Dropout, {pooled, ratio, on}, {{"seed", Attribute::ofInt(1000 + s)}});
      probs.push_back(unsqueeze(softmax(net.logits(a, d), 1), {0}));
    }
    Var all = concat(probs, 0);  // [S, N, C]
    Var mean = reduceMean(all, {0});
    Var centred = sub(all, mean);
    m.output(mean, "mc_mean");
    m.output(reduceMean(mul(centred, centred), {0}), "mc_variance");
  }
}

Expected<std::unique_ptr<Graph>> graphFor(Mode mode, const std::map<std::string, Tensor>& values) {
  Model m("explain", 1);
  build(m, mode);
  DLC_ASSIGN_OR_RETURN(auto g, m.finish());
  DLC_RETURN_IF_ERROR(writeTrainedValues(*g, values));
  return g;
}

// A shape somewhere on noise; its kind is the class: a 2×2 square, a horizontal or a vertical bar
// of 3, or a diagonal of 3.
npz::Arrays makeData(std::mt19937_64& rng, int64_t samples) {
  Tensor image = examples::normal(rng, {samples, 1, kSize, kSize}, 0.2f);
  Tensor target = examples::classes(rng, {samples}, kClasses);
  static const int kShapes[kClasses][3][2] = {{{0, 0}, {0, 1}, {1, 1}}, {{0, 0}, {0, 1}, {0, 2}}, {{0, 0}, {1, 0}, {2, 0}}, {{0, 0}, {1, 1}, {2, 2}}};
  std::uniform_int_distribution<int64_t> at(0, kSize - 3);
  for (int64_t s = 0; s < samples; ++s) {
    const int64_t c = target.data<int64_t>()[s], top = at(rng), left = at(rng);
    for (const auto& d : kShapes[c]) image.data<float>()[(s * kSize + top + d[0]) * kSize + left + d[1]] += 2.0f;
    if (c == 0) image.data<float>()[(s * kSize + top + 1) * kSize + left] += 2.0f;  // the square's fourth pixel
  }
  return npz::Arrays{{"image", image}, {"target", target}};
}

int64_t argmaxRow(const Tensor& t, int64_t row, int64_t n) {
  int64_t best = 0;
  for (int64_t c = 1; c < n; ++c)
    if (t.getDouble(row * n + c) > t.getDouble(row * n + best)) best = c;
  return best;
}

Status explain(const Graph& trained, const std::vector<DataValue>& inputs) {
  const auto values = examples::namedConstants(trained);
  const Tensor& images = inputs[0].tensor;
  const int64_t n = images.dim(0);
  DLC_ASSIGN_OR_RETURN(auto classify, graphFor(Mode::Classify, values));
  DLC_ASSIGN_OR_RETURN(auto logits, examples::runOnTarget(*classify, "reference", {inputs[0]}));
  Tensor onehot(DType::F32, {n, kClasses});
  std::vector<int64_t> predicted(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    predicted[static_cast<size_t>(r)] = argmaxRow(logits[0].tensor, r, kClasses);
    onehot.data<float>()[r * kClasses + predicted[static_cast<size_t>(r)]] = 1.0f;
  }

  // Saliency and Grad-CAM, on the reference target and on onednn.
  DLC_ASSIGN_OR_RETURN(auto explainer, graphFor(Mode::Explain, values));
  std::vector<DataValue> explain_in{inputs[0], DataValue::ofTensor(onehot)};
  DLC_ASSIGN_OR_RETURN(auto ex, examples::runOnTarget(*explainer, "reference", explain_in));
  DLC_ASSIGN_OR_RETURN(auto ex_onednn, examples::runOnTarget(*explainer, "onednn", explain_in));
  for (size_t i = 0; i < 2; ++i) {
    const Tensor &a = ex[i].tensor, &b = ex_onednn[i].tensor;
    double diff = 0, peak = 0;
    for (int64_t k = 0; k < a.numel(); ++k) diff = std::max(diff, std::fabs(a.getDouble(k) - b.getDouble(k))), peak = std::max(peak, std::fabs(a.getDouble(k)));
    if (diff > 1e-4 * std::max(peak, 1e-3)) return Status::error(str("--target onednn: ", i == 0 ? "saliency" : "Grad-CAM", " differs by ", diff));
  }
  // Finite differences of the score over 16 pixels of image 0 (central, h = 1e-2; the score is
  // smooth, so the error is O(h²) plus f32 rounding).
  Tensor one = Tensor::fromBytes(DType::F32, {1, 1, kSize, kSize}, images.raw(), kSize * kSize * 4);
  Tensor one_hot = Tensor::fromBytes(DType::F32, {1, kClasses}, onehot.raw(), kClasses * 4);
  double worst = 0;
  for (int64_t p = 0; p < kSize * kSize; p += 4) {
    double f[2];
    for (int side = 0; side < 2; ++side) {
      Tensor moved = one.clone();
      moved.data<float>()[p] += side ? 1e-2f : -1e-2f;
      DLC_ASSIGN_OR_RETURN(auto o, examples::runOnTarget(*explainer, "reference", {DataValue::ofTensor(moved), DataValue::ofTensor(one_hot)}));
      f[side] = o[2].tensor.getDouble(0);
    }
    const double fd = std::fabs((f[1] - f[0]) / 2e-2), g = ex[0].tensor.getDouble(p);
    worst = std::max(worst, std::fabs(fd - g) / (1e-3 + std::fabs(g)));
    if (std::fabs(fd - g) > 1e-3 + 2e-2 * std::fabs(g))
      return Status::error(str("saliency at pixel ", p, " is ", g, ", finite differences give ", fd));
  }
  // Grad-CAM's peak on the shape: within 2 pixels (the shapes' extent) of the image's brightest one.
  int64_t on_shape = 0;
  for (int64_t r = 0; r < n; ++r) {
    int64_t cam = 0, bright = 0;
    for (int64_t k = 1; k < kSize * kSize; ++k) {
      if (ex[1].tensor.getDouble(r * kSize * kSize + k) > ex[1].tensor.getDouble(r * kSize * kSize + cam)) cam = k;
      if (images.getDouble(r * kSize * kSize + k) > images.getDouble(r * kSize * kSize + bright)) bright = k;
    }
    on_shape += std::abs(cam / kSize - bright / kSize) <= 2 && std::abs(cam % kSize - bright % kSize) <= 2;
  }
  std::cout << "saliency: matches finite differences at 16 pixels (worst " << worst << " relative); Grad-CAM peaks on the "
            << "shape for " << on_shape << " of " << n << " images; onednn gives the reference's maps\n";
  if (on_shape * 2 < n) return Status::error("Grad-CAM's peak is on the shape for fewer than half the images");

  // MC dropout: a spread over the samples, and a mean that mostly agrees with the deterministic model.
  DLC_ASSIGN_OR_RETURN(auto mc_graph, graphFor(Mode::McDropout, values));
  DLC_ASSIGN_OR_RETURN(auto mc, examples::runOnTarget(*mc_graph, "reference", {inputs[0]}));
  double total_var = 0;
  int64_t agree = 0;
  for (int64_t r = 0; r < n; ++r) {
    agree += argmaxRow(mc[0].tensor, r, kClasses) == predicted[static_cast<size_t>(r)];
    for (int64_t c = 0; c < kClasses; ++c) total_var += mc[1].tensor.getDouble(r * kClasses + c);
  }
  std::cout << "MC dropout (" << kMcSamples << " samples): mean predictive variance " << total_var / (n * kClasses)
            << ", the mean's class agrees with the deterministic model on " << agree << " of " << n << "\n";
  if (!(total_var > 0)) return Status::error("MC dropout gave no variance: dropout was off");
  if (agree * 10 < n * 8) return Status::error("MC dropout's mean disagrees with the deterministic model on over 20% of images");
  return Status::success();
}

// A deep ensemble: members trained from different seeds, combined into one graph (prefixes m0.,
// m1., ...) giving the members' mean softmax and its variance; checked against the members run
// one by one.
Status ensemble(const cli::TrainRun& base, const npz::Arrays& data, const std::vector<DataValue>& inputs) {
  std::map<std::string, Tensor> values;
  std::vector<Tensor> member_probs;
  for (int64_t k = 0; k < kMembers; ++k) {
    Model m("member", 100 + static_cast<uint64_t>(k));
    build(m, Mode::Classify, str("m", k, "."));
    DLC_ASSIGN_OR_RETURN(auto g, m.finish());
    TrainingConfig config;
    config.optimizer.name = "adam";
    config.optimizer.lr = 1e-2;
    config.seed = static_cast<uint64_t>(k);
    cli::TrainRun run = base;
    run.train_arrays = &data;
    DLC_ASSIGN_OR_RETURN(cli::TrainResult r, cli::trainModel(*g, config, run));
    DLC_RETURN_IF_ERROR(writeTrainedValues(*g, r.values));
    DLC_ASSIGN_OR_RETURN(auto out, examples::runOnTarget(*g, "reference", {inputs[0]}));
    member_probs.push_back(out[0].tensor);
    for (auto& [name, t] : r.values) values[name] = t;
  }
  Model m("ensemble", 1);
  Var image = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
  std::vector<Var> probs;
  for (int64_t k = 0; k < kMembers; ++k) {
    Net net(m, str("m", k, "."));
    probs.push_back(unsqueeze(softmax(net.logits(net.features(image), Var()), 1), {0}));
  }
  Var all = concat(probs, 0);
  Var mean = reduceMean(all, {0});
  m.output(mean, "ensemble_mean");
  m.output(reduceMean(mul(sub(all, mean), sub(all, mean)), {0}), "ensemble_variance");
  DLC_ASSIGN_OR_RETURN(auto g, m.finish());
  DLC_RETURN_IF_ERROR(writeTrainedValues(*g, values));
  DLC_ASSIGN_OR_RETURN(auto out, examples::runOnTarget(*g, "onednn", {inputs[0]}));
  double diff = 0, var = 0;
  for (int64_t i = 0; i < out[1].tensor.numel(); ++i) var += out[1].tensor.getDouble(i);
  // The members' softmax, row by row, against the ensemble graph's mean.
  const int64_t n = out[0].tensor.dim(0);
  for (int64_t r = 0; r < n; ++r) {
    std::vector<double> mean_row(kClasses, 0.0);
    for (const Tensor& p : member_probs) {
      double z = 0, peak = -1e300;
      for (int64_t c = 0; c < kClasses; ++c) peak = std::max(peak, p.getDouble(r * kClasses + c));
      for (int64_t c = 0; c < kClasses; ++c) z += std::exp(p.getDouble(r * kClasses + c) - peak);
      for (int64_t c = 0; c < kClasses; ++c) mean_row[static_cast<size_t>(c)] += std::exp(p.getDouble(r * kClasses + c) - peak) / z / kMembers;
    }
    for (int64_t c = 0; c < kClasses; ++c) diff = std::max(diff, std::fabs(mean_row[static_cast<size_t>(c)] - out[0].tensor.getDouble(r * kClasses + c)));
  }
  std::cout << "deep ensemble (" << kMembers << " members, --target onednn): mean within " << diff
            << " of the members run one by one, mean variance " << var / out[1].tensor.numel() << "\n";
  if (diff > 1e-5) return Status::error(str("the ensemble's mean differs from its members' by ", diff));
  if (!(var > 0)) return Status::error("the ensemble's members agree exactly: they were not trained apart");
  return Status::success();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "interpretability";
  e.summary = "saliency, Grad-CAM, MC dropout and a deep ensemble on a small CNN";
  e.build = [](Model& m) { build(m, Mode::Classify); };
  e.data = makeData;
  e.config.loss = "cross-entropy";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 1e-2;
  e.samples = 512;
  e.epochs = 12;
  static npz::Arrays ensemble_data;
  e.after = [&e](const Graph& trained, const std::vector<DataValue>& inputs) -> Status {
    DLC_RETURN_IF_ERROR(explain(trained, inputs));
    std::mt19937_64 rng(e.seed * 7919 + 17);
    ensemble_data = makeData(rng, e.samples);
    cli::TrainRun run;
    run.target = e.train_target;
    run.epochs = e.epochs;
    run.batch = e.batch;
    run.threads = 1;
    run.train_path = "the ensemble's data";
    return ensemble(run, ensemble_data, inputs);
  };
  return examples::runExample(e, argc, argv);
}
