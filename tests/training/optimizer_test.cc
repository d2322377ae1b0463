// dlc's optimizers and schedules against reference trajectories (gen_optimizer_fixtures.py):
// torch.optim / torch.optim.lr_scheduler / swa_utils, and NumPy implementations of the papers'
// algorithms where torch has none. Each optimizer case is the builder's optimizer step lowered by
// the lower-optimizers pass and run on the reference interpreter for 25 steps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "backends/reference/interpreter.h"
#include "frontend/builder/optimizers.h"
#include "frontend/builder/schedules.h"
#include "passes/pass_manager.h"
#include "tools/npz.h"

namespace dlc::testing {
namespace {

using builder::Model;
using builder::Var;

std::string fixtureDir() {
  const char* dir = std::getenv("DLC_TRAINING_FIXTURES");
  return dir ? dir : "";
}

struct Case {
  std::string kind, name;
  std::map<std::string, std::string> options;
  double get(const std::string& key, double fallback) const {
    auto it = options.find(key);
    return it == options.end() ? fallback : std::strtod(it->second.c_str(), nullptr);
  }
  bool has(const std::string& key) const { return options.count(key) != 0; }
};

std::vector<Case> readCases() {
  std::vector<Case> cases;
  std::ifstream in(fixtureDir() + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    Case c;
    ss >> c.kind >> c.name;
    std::string kv;
    while (ss >> kv) {
      size_t eq = kv.find('=');
      c.options[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    cases.push_back(c);
  }
  return cases;
}

std::map<std::string, Tensor> readArrays(const std::string& file) {
  auto arrays = npz::readFile(fixtureDir() + "/" + file);
  EXPECT_TRUE(arrays.ok()) << arrays.status().message();
  std::map<std::string, Tensor> out;
  if (arrays.ok())
    for (auto& [n, t] : *arrays) out[n] = t;
  return out;
}

// The optimizer's states become graph inputs (and their next values outputs), as in a training step.
struct Inputs : builder::StateSource {
  Model& m;
  std::vector<Tensor> initial;
  std::vector<Var> vars;
  explicit Inputs(Model& model) : m(model) {}
  Var state(const std::string& name, Tensor init) override {
    std::vector<Dim> dims;
    for (int64_t d : init.shape()) dims.push_back(Dim::of(d));
    vars.push_back(m.input(name, init.dtype(), dims));
    initial.push_back(init);
    return vars.back();
  }
};

builder::OptimizerOptions optimizerOptions(const Case& c) {
  builder::OptimizerOptions o;
  o.name = c.name;
  o.lr = c.get("lr", 0.01);
  auto opt = [&](const char* key, std::optional<double>& field) {
    if (c.has(key)) field = c.get(key, 0);
  };
  opt("momentum", o.momentum);
  opt("dampening", o.dampening);
  opt("weight_decay", o.weight_decay);
  opt("beta1", o.beta1);
  opt("beta2", o.beta2);
  opt("eps", o.epsilon);
  opt("alpha", o.alpha);
  o.nesterov = c.get("nesterov", 0) != 0;
  o.amsgrad = c.get("amsgrad", 0) != 0;
  o.centered = c.get("centered", 0) != 0;
  o.lr_decay = c.get("lr_decay", 0);
  o.initial_accumulator_value = c.get("initial_accumulator_value", 0);
  o.lookahead = c.get("lookahead", 0) != 0;
  o.lookahead_k = static_cast<int64_t>(c.get("lookahead_k", 5));
  o.lookahead_alpha = c.get("lookahead_alpha", 0.5);
  return o;
}

void lower(Graph& g) {
  passes::PassManager pm;
  ASSERT_TRUE(pm.add({"lower-optimizers"}).ok());
  Status s = pm.run(g, passes::PassContext{});
  ASSERT_TRUE(s.ok()) << s.message();
}

TEST(Optimizers, MatchReferenceTrajectories) {
  if (fixtureDir().empty()) GTEST_SKIP() << "DLC_TRAINING_FIXTURES is not set (ctest runs gen_optimizer_fixtures.py first)";
  std::map<std::string, Tensor> arrays = readArrays("optimizers.npz");
  int index = -1, checked = 0;
  for (const Case& c : readCases()) {
    if (c.kind != "optimizer") continue;
    ++index;
    SCOPED_TRACE(str("optimizer case ", index, ": ", c.name));
    auto resolved = builder::resolveOptimizer(optimizerOptions(c));
    ASSERT_TRUE(resolved.ok()) << resolved.status().message();
    Model m("opt");
    Var s = m.input("s", DType::F32, {});
    Var lr = builder::scalarOf(m, DType::F32, *resolved->lr);
    Var t = builder::add(s, 1.0);
    Inputs states(m);
    std::vector<Var> xs, gs;
    std::vector<Tensor> x0;
    std::vector<builder::ParamStep> steps;
    for (int k = 0; k < 2; ++k) {
      Tensor init = arrays.at(str("o", index, "_init", k));
      std::vector<Dim> dims;
      for (int64_t d : init.shape()) dims.push_back(Dim::of(d));
      xs.push_back(m.input(str("x", k), DType::F32, dims));
      gs.push_back(m.input(str("g", k), DType::F32, dims));
      x0.push_back(init);
    }
    for (int k = 0; k < 2; ++k) {  // states come after every x and g among the inputs
      Var g = *resolved->gradient_centralization ? builder::centralizeGradient(gs[k]) : gs[k];
      steps.push_back(builder::optimizerStep(*resolved, lr, t, xs[k], g, str("x", k), x0[k], states));
    }
    // Outputs: x0', x1', then every state's next value in the order the states were made.
    for (auto& st : steps) m.output(st.next);
    std::vector<Var> nexts(states.vars.size());
    for (auto& st : steps)
      for (auto& [in, out] : st.states)
        for (size_t i = 0; i < states.vars.size(); ++i)
          if (states.vars[i].value() == in.value()) nexts[i] = out;
    for (Var& v : nexts) m.output(v);
    auto graph = m.finish();
    ASSERT_TRUE(graph.ok()) << graph.status().message();
    lower(**graph);
    ref::Interpreter interp(**graph);
    std::vector<Tensor> x = x0, st = states.initial;
    for (int step = 0; step < 25; ++step) {
      std::vector<DataValue> feed{DataValue::ofTensor(Tensor::scalar(DType::F32, step))};
      for (int k = 0; k < 2; ++k) {
        feed.push_back(DataValue::ofTensor(x[static_cast<size_t>(k)]));
        Tensor g = arrays.at(str("o", index, "_grad", k));
        int64_t n = g.numel() / 25;
        std::vector<int64_t> shape(g.shape().begin() + 1, g.shape().end());
        feed.push_back(DataValue::ofTensor(Tensor::fromBytes(DType::F32, shape, g.data<float>() + step * n, static_cast<size_t>(n) * 4)));
      }
      for (const Tensor& v : st) feed.push_back(DataValue::ofTensor(v));
      auto out = interp.run(feed);
      ASSERT_TRUE(out.ok()) << out.status().message();
      for (int k = 0; k < 2; ++k) x[static_cast<size_t>(k)] = (*out)[static_cast<size_t>(k)].tensor;
      for (size_t i = 0; i < st.size(); ++i) st[i] = (*out)[2 + i].tensor;
      for (int k = 0; k < 2; ++k) {
        Tensor want = arrays.at(str("o", index, "_traj", k));
        int64_t n = want.numel() / 25;
        double max_ref = 0, max_err = 0;
        for (int64_t e = 0; e < n; ++e) {
          double w = want.data<float>()[step * n + e], got = x[static_cast<size_t>(k)].data<float>()[e];
          max_ref = std::max(max_ref, std::abs(w));
          max_err = std::max(max_err, std::abs(got - w));
        }
        ASSERT_LE(max_err, 1e-5 * std::max(1.0, max_ref)) << "parameter " << k << " after step " << step + 1;
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 18);
}

builder::ScheduleOptions scheduleOptions(const Case& c) {
  builder::ScheduleOptions o;
  o.name = c.name;
  auto i64 = [&](const char* key, int64_t fallback) { return static_cast<int64_t>(c.get(key, static_cast<double>(fallback))); };
  o.step_size = i64("step_size", 1);
  o.gamma = c.get("gamma", 0.1);
  if (c.has("milestones")) {
    std::stringstream ss(c.options.at("milestones"));
    std::string item;
    while (std::getline(ss, item, ',')) o.milestones.push_back(std::strtoll(item.c_str(), nullptr, 10));
  }
  o.t_max = i64("t_max", 0);
  o.eta_min = c.get("eta_min", 0);
  o.t_0 = i64("t_0", 0);
  o.t_mult = i64("t_mult", 1);
  o.max_lr = c.get("max_lr", 0);
  o.step_size_up = i64("step_size_up", 2000);
  o.step_size_down = i64("step_size_down", 0);
  o.total_steps = i64("total_steps", 0);
  o.pct_start = c.get("pct_start", 0.3);
  o.warmup = i64("warmup", 0);
  o.warmup_factor = c.get("warmup_factor", 1.0 / 3);
  o.swa_start = i64("swa_start", -1);
  o.swa_lr = c.get("swa_lr", 0);
  o.swa_anneal_epochs = i64("swa_anneal_epochs", 10);
  o.steps_per_epoch = i64("steps_per_epoch", 1);
  return o;
}

TEST(Schedules, MatchTorchLrScheduler) {
  if (fixtureDir().empty()) GTEST_SKIP() << "DLC_TRAINING_FIXTURES is not set (ctest runs gen_optimizer_fixtures.py first)";
  std::map<std::string, Tensor> rates = readArrays("schedules.npz");
  int index = -1;
  for (const Case& c : readCases()) {
    if (c.kind != "schedule") continue;
    ++index;
    SCOPED_TRACE(str("schedule case ", index, ": ", c.name));
    builder::ScheduleOptions o = scheduleOptions(c);
    ASSERT_TRUE(builder::checkSchedule(o).ok()) << builder::checkSchedule(o).message();
    Model m("lr");
    Var s = m.input("s", DType::F32, {});
    m.output(builder::learningRate(s, 0.1, o));
    auto graph = m.finish();
    ASSERT_TRUE(graph.ok()) << graph.status().message();
    ref::Interpreter interp(**graph);
    const Tensor& want = rates.at(str("s", index));
    // The rate is computed in f32 (relative precision 6e-8 per op; a cosine of an argument near 9
    // radians loses more): within 1e-6 of the schedule's largest rate.
    double scale = 0;
    for (int64_t step = 0; step < want.numel(); ++step) scale = std::max(scale, want.getDouble(step));
    for (int64_t step = 0; step < want.numel(); ++step) {
      auto out = interp.run({DataValue::ofTensor(Tensor::scalar(DType::F32, static_cast<double>(step)))});
      ASSERT_TRUE(out.ok()) << out.status().message();
      double got = (*out)[0].tensor.getDouble(0), w = want.getDouble(step);
      ASSERT_NEAR(got, w, 1e-6 * scale) << "step " << step;
    }
  }
  EXPECT_EQ(index + 1, 11);
}

}  // namespace
}  // namespace dlc::testing
