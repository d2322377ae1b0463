// Reinforcement-learning heads on one shared torso, trained on transitions (s, a, r, s', done)
// of a synthetic contextual task (reward linear in the state, a different rule per action):
//   DQN (Mnih et al. 2015): Huber(Q(s, a) − y), y = r + γ (1 − done) max_a' Q(s', a') with the
//       target detached (stopGradient: the semi-gradient);
//   actor-critic (A2C): A = r + γ (1 − done) sg(V(s')) − V(s); the policy term −log π(a|s) · sg(A),
//       the value term ½ A², minus 0.01 × the policy's entropy.
// The model computes its own loss (the "model" loss) and also outputs Q(s), the policy's logits and
// V(s).
#include "examples/models/example.h"
#include "frontend/builder/losses.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kState = 8, kActions = 4, kHidden = 32;
constexpr double kGamma = 0.9, kEntropy = 0.01;

// x[n, idx[n]] for x [N, A] and idx [N].
Var pick(Var x, Var idx) { return squeeze(gatherElements(x, unsqueeze(idx, {1}), 1), {1}); }

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "rl_heads";
  e.summary = "DQN and actor-critic heads with their losses (detached targets)";
  e.build = [](Model& m) {
    Var s = m.input("state", DType::F32, {Dim::sym("N"), Dim::of(kState)});
    Var a = m.input("action", DType::I64, {Dim::sym("N")});
    Var r = m.input("reward", DType::F32, {Dim::sym("N")});
    Var s2 = m.input("next_state", DType::F32, {Dim::sym("N"), Dim::of(kState)});
    Var done = m.input("done", DType::F32, {Dim::sym("N")});
    Linear torso1(m, "torso1", kState, kHidden), torso2(m, "torso2", kHidden, kHidden);
    Linear q_head(m, "q", kHidden, kActions), pi_head(m, "pi", kHidden, kActions), v_head(m, "v", kHidden, 1);
    auto torso = [&](Var x) { return relu(torso2(relu(torso1(x)))); };
    Var h = torso(s), h2 = torso(s2);
    Var q = q_head(h), logits = pi_head(h), v = squeeze(v_head(h), {1});
    Var discount = mul(sub(scalarLike(done, 1.0), done), kGamma);  // γ (1 − done)
    // DQN.
    Var y = add(r, mul(discount, stopGradient(reduceMax(q_head(h2), {1}))));
    Var dqn = huberLoss(pick(q, a), y);
    // Actor-critic.
    Var advantage = sub(add(r, mul(discount, stopGradient(squeeze(v_head(h2), {1})))), v);
    Var log_pi = logSoftmax(logits, 1);
    Var policy = neg(reduceMean(mul(pick(log_pi, a), stopGradient(advantage))));
    Var value = mul(reduceMean(mul(advantage, advantage)), 0.5);
    Var entropy = neg(reduceMean(reduceSum(mul(exp(log_pi), log_pi), {1})));
    m.output(sub(add(add(dqn, policy), value), mul(entropy, kEntropy)), "loss");
    m.output(q, "q_values");
    m.output(logits, "policy_logits");
    m.output(v, "value");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor s = examples::normal(rng, {samples, kState}), s2 = examples::normal(rng, {samples, kState});
    Tensor a = examples::classes(rng, {samples}, kActions);
    Tensor rule = examples::normal(rng, {kActions, kState}, 0.5f);
    Tensor r(DType::F32, {samples}), done(DType::F32, {samples});
    std::bernoulli_distribution ends(0.5);
    for (int64_t n = 0; n < samples; ++n) {
      double reward = 0;
      for (int64_t k = 0; k < kState; ++k) reward += rule.data<float>()[a.data<int64_t>()[n] * kState + k] * s.data<float>()[n * kState + k];
      r.data<float>()[n] = static_cast<float>(reward);
      done.data<float>()[n] = ends(rng) ? 1.0f : 0.0f;
    }
    return npz::Arrays{{"state", s}, {"action", a}, {"reward", r}, {"next_state", s2}, {"done", done}};
  };
  e.config.loss = "model";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
