// A mixture of experts (Shazeer et al. 2017) with top-2 gating: a softmax router picks each
// sample's two most probable of four expert MLPs and mixes their outputs with the renormalized
// gate probabilities; the loss adds to the cross-entropy the Switch Transformer's load-balancing
// term (Fedus et al. 2021), E · Σ_e f_e P_e with f_e the fraction of routing slots expert e got
// and P_e its mean router probability, weighted 0.01 — so the model computes its own loss
// ("model" loss) from its labels input. Outputs: the loss, the logits and the auxiliary term.
#include "examples/models/example.h"
#include "frontend/builder/losses.h"

using namespace dlc;
using namespace dlc::builder;

namespace {
constexpr int64_t kFeatures = 16, kHidden = 32, kClasses = 4, kExperts = 4, kTopK = 2;
constexpr double kBalanceWeight = 0.01;
}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "moe";
  e.summary = "a mixture of four experts with top-2 gating and a load-balancing loss";
  e.build = [](Model& m) {
    Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(kFeatures)});
    Var labels = m.input("labels", DType::I64, {Dim::sym("N")});
    Var probs = softmax(Linear(m, "router", kFeatures, kExperts)(x), 1);  // [N, E]
    // The top-k mask: probabilities at least the k-th largest (TopK's values carry no gradient
    // here; the gates' gradient flows through the softmax).
    Var kth = slice(topk(probs, kTopK, 1).first, {kTopK - 1}, {kTopK}, {1});
    Var chosen = cast(logicalNot(less(probs, kth)), DType::F32);
    Var gated = mul(probs, chosen);
    Var gates = div(gated, reduceSum(gated, {1}, true));
    Var logits;
    for (int64_t k = 0; k < kExperts; ++k) {
      const std::string name = str("expert", k);
      Var out = Linear(m, name + ".fc2", kHidden, kClasses)(relu(Linear(m, name + ".fc1", kFeatures, kHidden)(x)));
      Var weighted = mul(slice(gates, {k}, {k + 1}, {1}), out);
      logits = logits.valid() ? add(logits, weighted) : weighted;
    }
    Var fraction = div(reduceMean(chosen, {0}), scalarLike(chosen, static_cast<double>(kTopK)));  // f_e
    Var balance = mul(reduceSum(mul(fraction, reduceMean(probs, {0}))), static_cast<double>(kExperts));
    Var task = crossEntropyLoss(logits, labels);
    m.output(add(task, mul(balance, kBalanceWeight)), "loss");
    m.output(logits, "logits");
    m.output(balance, "load_balance");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor x = examples::normal(rng, {samples, kFeatures});
    // Piecewise: the rule that labels a sample depends on the sign of its first feature.
    Tensor a = examples::linearClasses(rng, x, kClasses), b = examples::linearClasses(rng, x, kClasses);
    for (int64_t s = 0; s < samples; ++s)
      if (x.data<float>()[s * kFeatures] < 0) a.data<int64_t>()[s] = b.data<int64_t>()[s];
    return npz::Arrays{{"x", x}, {"labels", a}};
  };
  e.config.loss = "model";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
