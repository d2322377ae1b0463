// Learning-rate schedules in closed form (each formula is torch's, written at its function).
#include "frontend/builder/schedules.h"

#include <cmath>

namespace dlc::builder {
namespace {

constexpr double kPi = 3.14159265358979323846;

Var c(Var like, double v) { return scalarLike(like, v); }
Var floorOf(Var x) { return x.model()->op1(OpKind::Floor, {x}); }
Var cosOf(Var x) { return x.model()->op1(OpKind::Cos, {x}); }
Var atLeast(Var s, double v) { return cast(logicalNot(less(s, c(s, v))), s.type().dtype); }  // [s >= v] as 0/1

// ½(1 + cos(π·x)) between `hi` (x = 0) and `lo` (x = 1).
Var cosineBetween(Var x, double hi, double lo) {
  return add(mul(add(cosOf(mul(x, kPi)), 1.0), 0.5 * (hi - lo)), lo);
}

Var schedule(Var s, double lr, const ScheduleOptions& o);

// StepLR: lr·γ^⌊s/step_size⌋
Var stepLr(Var s, double lr, const ScheduleOptions& o) {
  // Division, not multiplication by a reciprocal: integer quotients stay exact before the floor.
  Var k = floorOf(div(s, c(s, static_cast<double>(o.step_size))));
  return mul(s.model()->op1(OpKind::Pow, {c(s, o.gamma), k}), lr);
}
// MultiStepLR: lr·γ^(milestones passed)
Var multiStepLr(Var s, double lr, const ScheduleOptions& o) {
  Var passed = c(s, 0.0);
  for (int64_t m : o.milestones) passed = add(passed, atLeast(s, static_cast<double>(m)));
  return mul(s.model()->op1(OpKind::Pow, {c(s, o.gamma), passed}), lr);
}
// ExponentialLR: lr·γ^s
Var exponentialLr(Var s, double lr, const ScheduleOptions& o) { return mul(s.model()->op1(OpKind::Pow, {c(s, o.gamma), s}), lr); }
// CosineAnnealingLR: η_min + (lr − η_min)·½(1 + cos(π·s/T_max))
Var cosineLr(Var s, double lr, const ScheduleOptions& o) {
  return cosineBetween(mul(s, 1.0 / static_cast<double>(o.t_max)), lr, o.eta_min);
}
// CosineAnnealingWarmRestarts: with cycle i starting at B_i = T₀(T_multⁱ − 1)/(T_mult − 1) (T₀·i when
// T_mult = 1) and lasting T_i = T₀·T_multⁱ, lr = η_min + (lr − η_min)·½(1 + cos(π·(s − B_i)/T_i)).
// The cycle is counted by comparisons with the boundaries, exact in f32.
Var cosineRestartsLr(Var s, double lr, const ScheduleOptions& o) {
  const double t0 = static_cast<double>(o.t_0), mult = static_cast<double>(o.t_mult);
  Var start = c(s, 0.0), length = c(s, t0);
  double b = 0, len = t0;
  for (int i = 1; i < 64 && b + len < 16777216.0; ++i) {  // boundaries up to 2^24 steps
    b += len;
    Var passed = atLeast(s, b);
    start = add(start, mul(passed, len));
    length = add(length, mul(passed, len * mult - len));
    len *= mult;
  }
  return cosineBetween(div(sub(s, start), length), lr, o.eta_min);
}
// CyclicLR (triangular, base lr → max_lr in step_size_up steps, back in step_size_down):
//   cycle = ⌊1 + s/(up + down)⌋, x = 1 + s/(up + down) − cycle, scale = x/r for x ≤ r else (x − 1)/(r − 1),
//   r = up/(up + down); lr + (max_lr − lr)·scale.
Var cyclicLr(Var s, double lr, const ScheduleOptions& o) {
  const double up = static_cast<double>(o.step_size_up), down = static_cast<double>(o.step_size_down ? o.step_size_down : o.step_size_up);
  const double total = up + down, r = up / total;
  Var u = add(div(s, c(s, total)), 1.0);
  Var x = sub(u, floorOf(u));
  Var scale = where(less(c(s, r), x), mul(add(x, -1.0), 1.0 / (r - 1.0)), mul(x, 1.0 / r));
  return add(mul(scale, o.max_lr - lr), lr);
}
// OneCycleLR (cos annealing, two phases): from max_lr/div up to max_lr over steps [0, p·N − 1],
// then down to max_lr/(div·final_div) at step N − 1; the phase position is (s − start)/(end − start).
Var oneCycleLr(Var s, double, const ScheduleOptions& o) {
  const double initial = o.max_lr / o.div_factor, lowest = initial / o.final_div_factor;
  const double end1 = o.pct_start * static_cast<double>(o.total_steps) - 1, end2 = static_cast<double>(o.total_steps) - 1;
  Var sc = minimum(s, c(s, end2));
  Var rise = cosineBetween(mul(sc, 1.0 / end1), initial, o.max_lr);
  Var fall = cosineBetween(mul(add(sc, -end1), 1.0 / (end2 - end1)), o.max_lr, lowest);
  return where(greater(sc, c(s, end1)), fall, rise);
}

Var schedule(Var s, double lr, const ScheduleOptions& o) {
  if (o.name == "step") return stepLr(s, lr, o);
  if (o.name == "multistep") return multiStepLr(s, lr, o);
  if (o.name == "exponential") return exponentialLr(s, lr, o);
  if (o.name == "cosine") return cosineLr(s, lr, o);
  if (o.name == "cosine-restarts") return cosineRestartsLr(s, lr, o);
  if (o.name == "cyclic") return cyclicLr(s, lr, o);
  if (o.name == "one-cycle") return oneCycleLr(s, lr, o);
  return c(s, lr);
}

}  // namespace

const std::vector<std::string>& scheduleNames() {
  static const std::vector<std::string> names{"constant", "step", "multistep", "exponential", "cosine", "cosine-restarts",
                                              "cyclic", "one-cycle"};
  return names;
}

Status checkSchedule(const ScheduleOptions& o) {
  bool known = false;
  for (const auto& n : scheduleNames()) known = known || n == o.name;
  if (!known) {
    std::string all;
    for (const auto& n : scheduleNames()) all += (all.empty() ? "" : ", ") + n;
    return Status::error(str("unknown schedule '", o.name, "' (one of ", all, ")"));
  }
  if (o.warmup < 0 || o.warmup_factor <= 0 || o.warmup_factor > 1)
    return Status::error("warm-up needs a step count >= 0 and a start factor in (0, 1]");
  if (o.name == "step" && o.step_size < 1) return Status::error("the step schedule needs a step size >= 1");
  if (o.name == "cosine" && o.t_max < 1) return Status::error("the cosine schedule needs T_max >= 1 steps");
  if (o.name == "cosine-restarts" && (o.t_0 < 1 || o.t_mult < 1))
    return Status::error("the cosine-restarts schedule needs T_0 >= 1 and an integer T_mult >= 1");
  if (o.name == "cyclic" && (o.max_lr <= 0 || o.step_size_up < 1 || o.step_size_down < 0))
    return Status::error("the cyclic schedule needs a max lr and step sizes >= 1");
  if (o.name == "one-cycle" && (o.max_lr <= 0 || o.total_steps < 2 || o.pct_start <= 0 || o.pct_start >= 1 ||
                                o.pct_start * static_cast<double>(o.total_steps) < 2))
    return Status::error("the one-cycle schedule needs a max lr, total steps >= 2 and 0 < pct_start < 1 with a rising phase");
  if (o.swa_start >= 0 && (o.swa_lr <= 0 || o.swa_anneal_epochs < 0 || o.steps_per_epoch < 1))
    return Status::error("SWA needs a positive swa lr and anneal epochs >= 0");
  return Status::success();
}

// SequentialLR(LinearLR(f, W), main, [W]): lr·(f + (1 − f)·s/W) for s < W, main(s − W) after; then
// SWALR from swa_start: α = ½(1 − cos(π·min(1, e/E))), e the whole epochs since swa_start, E the
// anneal epochs, and lr = swa_lr·α + lr(swa_start)·(1 − α).
Var learningRate(Var s, double lr, const ScheduleOptions& o) {
  Var rate;
  if (o.warmup > 0) {
    const double w = static_cast<double>(o.warmup);
    Var warm = mul(add(mul(s, (1.0 - o.warmup_factor) / w), o.warmup_factor), lr);
    rate = where(less(s, c(s, w)), warm, schedule(maximum(add(s, -w), c(s, 0.0)), lr, o));
  } else {
    rate = schedule(s, lr, o);
  }
  if (o.swa_start < 0) return rate;
  ScheduleOptions main = o;
  main.swa_start = -1;
  Var at_start = learningRate(c(s, static_cast<double>(o.swa_start)), lr, main);
  Var since = maximum(sub(s, c(s, static_cast<double>(o.swa_start))), c(s, 0.0));
  Var epochs = floorOf(div(since, c(s, static_cast<double>(o.steps_per_epoch))));
  Var t = o.swa_anneal_epochs > 0 ? minimum(mul(epochs, 1.0 / static_cast<double>(o.swa_anneal_epochs)), c(s, 1.0)) : c(s, 1.0);
  Var alpha = mul(sub(c(s, 1.0), cosOf(mul(t, kPi))), 0.5);
  Var swa = add(mul(alpha, o.swa_lr), mul(sub(c(s, 1.0), alpha), at_start));
  return where(less(s, c(s, static_cast<double>(o.swa_start))), rate, swa);
}

}  // namespace dlc::builder
