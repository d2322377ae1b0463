// The examples' harness (see example.h): forward check on every CPU target against the reference
// target, training through cli::trainModel, ONNX export of the trained model.
#include "examples/models/example.h"

#include <cmath>
#include <cstring>
#include <iostream>

#include "frontend/builder/trainer.h"
#include "frontend/onnx/exporter.h"
#include "ir/clone.h"
#include "passes/pass_manager.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/train_loop.h"

namespace dlc::examples {
namespace {

// The first `count` samples of `t` (its first axis).
Tensor firstSamples(const Tensor& t, int64_t count) {
  std::vector<int64_t> shape = t.shape();
  count = std::min(count, shape[0]);
  const size_t row = t.nbytes() / static_cast<size_t>(shape[0]);
  shape[0] = count;
  return Tensor::fromBytes(t.dtype(), shape, t.raw(), row * static_cast<size_t>(count));
}

// The batch the forward checks run: the first `batch` samples of each model input.
Expected<std::vector<DataValue>> forwardInputs(const Graph& g, const npz::Arrays& arrays, int64_t batch) {
  std::vector<DataValue> inputs;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    const std::string& name = g.body().argument(i)->name();
    const Tensor* found = nullptr;
    for (const auto& [n, t] : arrays)
      if (n == name) found = &t;
    if (!found) return Status::error(str("the example's data has no array for the model input '", name, "'"));
    inputs.push_back(DataValue::ofTensor(firstSamples(*found, batch)));
  }
  return inputs;
}

Expected<std::vector<DataValue>> runOn(const Graph& g, const std::string& target, int opt_level,
                                       const std::vector<DataValue>& inputs) {
  std::unique_ptr<Graph> copy = cloneGraph(g);
  DLC_ASSIGN_OR_RETURN(auto model, cli::compileForInputs(*copy, target, opt_level, {}, inputs));
  try {
    runtime::Session session(*model, 1);
    auto out = cli::runSession(*model, session, inputs);
    if (!out.ok()) return out.status().withContext(str("--target ", target));
    return out;
  } catch (const runtime::Error& e) {
    return Status::error(str("--target ", target, ": ", e.what()));
  }
}

// max |a − b| over an output, and max |b| (the reference's).
Expected<std::pair<double, double>> difference(const DataValue& a, const DataValue& b, const std::string& name) {
  if (a.is_sequence || b.is_sequence || a.is_none || b.is_none)
    return Status::error(str("output '", name, "' is not a tensor; the examples compare tensors"));
  if (a.tensor.shape() != b.tensor.shape() || a.tensor.dtype() != b.tensor.dtype())
    return Status::error(str("output '", name, "' differs in shape or dtype from the reference's"));
  std::vector<double> x = a.tensor.toDoubleVector(), y = b.tensor.toDoubleVector();
  double diff = 0, peak = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]))
      return Status::error(str("output '", name, "' is not finite at element ", i));
    diff = std::max(diff, std::fabs(x[i] - y[i]));
    peak = std::max(peak, std::fabs(y[i]));
  }
  return std::make_pair(diff, peak);
}

}  // namespace

Expected<std::vector<DataValue>> runOnTarget(const Graph& graph, const std::string& target, const std::vector<DataValue>& inputs) {
  return runOn(graph, target, target == "reference" ? 0 : 2, inputs);
}

std::map<std::string, Tensor> namedConstants(const Graph& graph) {
  std::map<std::string, Tensor> out;
  for (const auto& op : graph.body().ops()) {
    const Attribute* v = op->kind() == OpKind::Constant ? op->attr("value") : nullptr;
    if (v && v->type == AttrType::Tensor && !op->result()->name().empty() && isFloat(v->t.dtype())) out[op->result()->name()] = v->t;
  }
  return out;
}

namespace {

int fail(const Example& e, const Status& s) {
  std::cerr << "example_" << e.name << ": error: " << s.message() << "\n";
  return 1;
}

const char* kUsage =
    "usage: example_NAME [--export FILE.onnx] [--io FILE.npz] [--epochs N]\n"
    "Builds the example's model, checks its forward pass on --target cpu and onednn against the\n"
    "reference target, trains it for --epochs over data it makes (the loss must fall) and, with\n"
    "--export, writes the trained model as ONNX; --io writes the inputs it ran and the reference\n"
    "target's outputs of the trained model (arrays 'input:NAME' and 'output:NAME').\n";

}  // namespace

int runExample(const Example& e, int argc, char** argv) {
  std::vector<std::string> argv_list(argv + 1, argv + argc);
  auto args = cli::Args::parse(argv_list, {"export", "io", "epochs"}, {"help"});
  if (!args.ok()) return fail(e, args.status());
  if (args->has("help")) {
    std::cout << e.name << ": " << e.summary << "\n" << kUsage;
    return 0;
  }
  if (!args->positional().empty()) return fail(e, Status::error("unexpected argument '" + args->positional()[0] + "' (see --help)"));
  auto epochs = cli::intOption(*args, "epochs", static_cast<int>(e.epochs), 2);
  if (!epochs.ok()) return fail(e, epochs.status());

  builder::Model m(e.name, e.seed);
  e.build(m);
  auto graph = m.finish();
  if (!graph.ok()) return fail(e, graph.status());
  std::mt19937_64 rng(e.seed * 7919 + 17);
  const npz::Arrays data = e.data(rng, e.samples);
  auto inputs = forwardInputs(**graph, data, e.batch);
  if (!inputs.ok()) return fail(e, inputs.status());

  // 1. The forward pass on every CPU target against the reference target (unoptimized: -O0).
  auto reference = runOn(**graph, "reference", 0, *inputs);
  if (!reference.ok()) return fail(e, reference.status());
  const Region& body = (*graph)->body();
  for (const std::string target : {"cpu", "onednn"}) {
    auto out = runOn(**graph, target, 2, *inputs);
    if (!out.ok()) return fail(e, out.status());
    double worst = 0;
    for (int i = 0; i < body.numOutputs(); ++i) {
      const std::string& name = body.output(i)->name();
      auto d = difference((*out)[static_cast<size_t>(i)], (*reference)[static_cast<size_t>(i)], name);
      if (!d.ok()) return fail(e, d.status().withContext(str("--target ", target)));
      const double bound = e.tolerance * std::max(1.0, d->second);
      if (d->first > bound)
        return fail(e, Status::error(str("--target ", target, ": output '", name, "' differs from the reference target's by ",
                                         d->first, " (max |reference| ", d->second, ", allowed ", bound, ")")));
      worst = std::max(worst, d->first / std::max(1.0, d->second));
    }
    std::cout << "forward --target " << target << ": matches the reference target (max error " << worst
              << " x max(1, max|out|) over " << body.numOutputs() << " output" << (body.numOutputs() == 1 ? "" : "s") << ")\n";
  }

  // 2. Training with dlc train's loop; the loss must fall.
  cli::TrainRun run;
  run.target = e.train_target;
  run.epochs = *epochs;
  run.batch = e.batch;
  run.seed = e.seed;
  run.threads = 1;
  run.train_path = e.name + "'s data";
  run.train_arrays = &data;
  std::vector<double> losses;
  run.on_epoch = [&](const cli::EpochStats& s) {
    losses.push_back(s.train_loss);
    return true;
  };
  Trained trained;
  if (e.train) {
    run.on_epoch = {};
    auto custom = e.train(**graph, data, run);
    if (!custom.ok()) return fail(e, custom.status());
    trained = std::move(*custom);
    losses = trained.losses;
  } else {
    auto result = cli::trainModel(**graph, e.config, run);
    if (!result.ok()) return fail(e, result.status());
    trained.values = std::move(result->values);
    trained.steps = result->steps;
    trained.measure = str("loss ", e.config.loss, ", ", e.config.optimizer.name);
  }
  if (losses.size() < 2) return fail(e, Status::error("training ran fewer than two epochs"));
  std::cout << "training (--target " << e.train_target << ", " << trained.measure << "): " << losses.front() << " -> "
            << losses.back() << " over " << losses.size() << (e.train ? " measurements, " : " epochs, ") << trained.steps << " steps\n";
  if (!(losses.back() <= e.loss_ratio * losses.front()))
    return fail(e, Status::error(str("the loss did not fall enough: ", losses.front(), " -> ", losses.back(),
                                     " (the last epoch must be at most ", e.loss_ratio, " x the first)")));

  // 3. The trained model as ONNX, with the reference target's outputs for the check under ONNX Runtime.
  std::unique_ptr<Graph> model = cloneGraph(**graph);
  Status s = builder::writeTrainedValues(*model, trained.values);
  if (!s.ok()) return fail(e, s);
  if (e.after) {
    s = e.after(*model, *inputs);
    if (!s.ok()) return fail(e, s);
  }
  if (args->has("export")) {
    // As `dlc export`: dlc's own ops (StopGradient, say) become standard ONNX first.
    std::unique_ptr<Graph> exported = cloneGraph(*model);
    passes::PassManager pm;
    s = pm.add({"unfuse", "dce"});
    if (s.ok()) s = pm.run(*exported, passes::PassContext{});
    if (s.ok()) s = onnx_export::exportModelFile(*exported, args->get("export"));
    if (!s.ok()) return fail(e, s);
    std::cout << "exported the trained model to " << args->get("export") << "\n";
  }
  if (args->has("io")) {
    auto out = runOn(*model, "reference", 0, *inputs);
    if (!out.ok()) return fail(e, out.status());
    npz::Arrays io;
    for (int i = 0; i < body.numArguments(); ++i) io.emplace_back("input:" + body.argument(i)->name(), (*inputs)[static_cast<size_t>(i)].tensor);
    for (int i = 0; i < model->body().numOutputs(); ++i)
      io.emplace_back("output:" + model->body().output(i)->name(), (*out)[static_cast<size_t>(i)].tensor);
    s = npz::writeFile(args->get("io"), io);
    if (!s.ok()) return fail(e, s);
  }
  return 0;
}

Tensor normal(std::mt19937_64& rng, std::vector<int64_t> shape, float scale) {
  Tensor t(DType::F32, std::move(shape));
  std::normal_distribution<float> n(0.0f, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = n(rng);
  return t;
}

Tensor uniform(std::mt19937_64& rng, std::vector<int64_t> shape, float lo, float hi) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

Tensor classes(std::mt19937_64& rng, std::vector<int64_t> shape, int64_t n) {
  Tensor t(DType::I64, std::move(shape));
  std::uniform_int_distribution<int64_t> u(0, n - 1);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = u(rng);
  return t;
}

Tensor linearClasses(std::mt19937_64& rng, const Tensor& x, int64_t n) {
  const int64_t samples = x.dim(0), features = x.numel() / samples;
  Tensor w = normal(rng, {n, features});
  Tensor t(DType::I64, {samples});
  for (int64_t s = 0; s < samples; ++s) {
    double best = -1e300;
    for (int64_t c = 0; c < n; ++c) {
      double score = 0;
      for (int64_t f = 0; f < features; ++f) score += w.data<float>()[c * features + f] * x.data<float>()[s * features + f];
      if (score > best) best = score, t.data<int64_t>()[s] = c;
    }
  }
  return t;
}

}  // namespace dlc::examples
