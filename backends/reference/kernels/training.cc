// Reference kernels: the ai.onnx.preview.training optimizers Adagrad, Adam and Momentum. Gradient
// has no kernel: it stands for an autodiff result and is lowered by the autodiff pass.
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

// Inputs are R, T, then `blocks` groups of n tensors (X, G, state...); outputs are X' then each
// state'. Returns n, or -1 when the input count does not split evenly.
int64_t groupSize(const KernelContext& ctx, int blocks) {
  int64_t rest = ctx.numInputs() - 2;
  if (rest <= 0 || rest % blocks != 0) return -1;
  int64_t n = rest / blocks;
  return ctx.numOutputs() == n * (blocks - 1) ? n : -1;
}

enum class Opt { Adagrad, Adam, Momentum };

template <Opt O>
Status optimizerKernel(KernelContext& ctx) {
  const Op& op = ctx.op();
  const int blocks = O == Opt::Adam ? 4 : 3;
  const int64_t n = groupSize(ctx, blocks);
  if (n < 0) return ctx.error(str("expects R, T and ", blocks, " groups of equally many tensors, with ", blocks - 1, " groups of outputs"));
  const double r = ctx.input(0).getDouble(0);
  const int64_t t = ctx.input(1).getInt(0);
  const double norm = op.getFloat("norm_coefficient", 0.0f);
  const std::string mode = op.getString("mode", "standard");
  if (O == Opt::Momentum && mode != "standard" && mode != "nesterov") return ctx.error(str("unknown mode '", mode, "'"));
  for (int64_t k = 0; k < n; ++k) {
    int i = static_cast<int>(k);
    const Tensor& X = ctx.input(2 + i);
    const Tensor& G = ctx.input(2 + static_cast<int>(n) + i);
    const Tensor& S1 = ctx.input(2 + 2 * static_cast<int>(n) + i);
    if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
    if (G.shape() != X.shape() || S1.shape() != X.shape()) return ctx.error("gradients and states must have X's shape");
    Tensor xo(X.dtype(), X.shape()), s1o(S1.dtype(), S1.shape()), s2o;
    const Tensor* S2 = nullptr;
    if (O == Opt::Adam) {
      S2 = &ctx.input(2 + 3 * static_cast<int>(n) + i);
      if (S2->shape() != X.shape()) return ctx.error("states must have X's shape");
      s2o = Tensor(S2->dtype(), S2->shape());
    }
    for (int64_t e = 0; e < X.numel(); ++e) {
      double x = X.getDouble(e), g = norm * x + G.getDouble(e), s1 = S1.getDouble(e);
      if (O == Opt::Adagrad) {
        // r' = R / (1 + T * decay); H' = H + g^2; X' = X - r' * g / (sqrt(H') + eps)
        double rr = r / (1 + static_cast<double>(t) * op.getFloat("decay_factor", 0.0f));
        double h = s1 + g * g;
        xo.setDouble(e, x - rr * g / (std::sqrt(h) + op.getFloat("epsilon", 1e-6f)));
        s1o.setDouble(e, h);
      } else if (O == Opt::Momentum) {
        // V' = alpha * V + beta' * g (beta' = 1 on the first step); X' = X - R * V' (standard)
        // or X - R * (g + alpha * V') (nesterov).
        double alpha = op.getFloat("alpha", 0.0f), beta = t > 0 ? op.getFloat("beta", 0.0f) : 1.0;
        double v = alpha * s1 + beta * g;
        xo.setDouble(e, mode == "standard" ? x - r * v : x - r * (g + alpha * v));
        s1o.setDouble(e, v);
      } else {
        // V' = a V + (1-a) g; H' = b H + (1-b) g^2; X' = (1 - post) * (X - r' V' / (sqrt(H') + eps)),
        // r' = R sqrt(1 - b^T) / (1 - a^T) after the first step.
        double alpha = op.getFloat("alpha", 0.9f), beta = op.getFloat("beta", 0.999f), eps = op.getFloat("epsilon", 1e-6f);
        double v = alpha * s1 + (1 - alpha) * g, h = beta * S2->getDouble(e) + (1 - beta) * g * g;
        double rr = t > 0 ? r * std::sqrt(1 - std::pow(beta, static_cast<double>(t))) / (1 - std::pow(alpha, static_cast<double>(t))) : r;
        double xn = x - rr * (v / (std::sqrt(h) + eps));
        xo.setDouble(e, (1 - op.getFloat("norm_coefficient_post", 0.0f)) * xn);
        s1o.setDouble(e, v);
        s2o.setDouble(e, h);
      }
    }
    ctx.setOutput(i, xo);
    ctx.setOutput(static_cast<int>(n) + i, s1o);
    if (O == Opt::Adam) ctx.setOutput(2 * static_cast<int>(n) + i, s2o);
  }
  return Status::success();
}

}  // namespace

void registerTrainingKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::Adagrad)] = optimizerKernel<Opt::Adagrad>;
  t[static_cast<size_t>(OpKind::Adam)] = optimizerKernel<Opt::Adam>;
  t[static_cast<size_t>(OpKind::Momentum)] = optimizerKernel<Opt::Momentum>;
}

}  // namespace dlc::ref
