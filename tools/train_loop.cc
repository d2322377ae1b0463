// The training driver: compiled training step and evaluation artifacts, epochs of shuffled batches,
// progress, logs, checkpoints and resume, stochastic weight averaging.
#include "tools/train_loop.h"

#include "tools/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sys/stat.h>

#include "backends/artifact_writer.h"
#include "ir/clone.h"
#include "ir/constant_value.h"
#include "ir/dtype_onnx.h"
#include "tools/artifact.h"
#include "tools/dataset.h"
#include "tools/external.h"
#include "tools/npz.h"
#include "tools/pipeline.h"
#include "tools/teacher.h"

namespace dlc::cli {
namespace {

using Clock = std::chrono::steady_clock;
using builder::StateInfo;

double seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

dlc_tensor viewOf(const Tensor& t, std::vector<int64_t>& shape_storage) {
  shape_storage = t.shape();
  return dlc_tensor{static_cast<int32_t>(dtypeToOnnxCode(t.dtype())), t.rank(), shape_storage.data(), const_cast<void*>(t.raw()),
                    t.nbytes()};
}

Tensor copyOf(const dlc_tensor& t) {
  std::vector<int64_t> shape(t.shape, t.shape + t.rank);
  return Tensor::fromBytes(dtypeFromOnnxCode(t.dtype).value_or(DType::F32), shape, t.data, t.bytes);
}

// Binds `t` (whose memory must outlive the binding) to the model input named `name`.
void bindByName(const runtime::Model& model, runtime::Session& session, const std::string& name, const Tensor& t) {
  size_t idx = 0;
  runtime::check(dlc_model_input_find(model.get(), name.c_str(), &idx));
  std::vector<int64_t> shape;
  dlc_tensor view = viewOf(t, shape);
  runtime::check(dlc_session_input_bind(session.get(), idx, &view));
}

double scalarOf(const dlc_tensor& t) {
  return t.dtype == DLC_DTYPE_F64 ? *static_cast<const double*>(t.data) : *static_cast<const float*>(t.data);
}

bool allFinite(const dlc_tensor& t) {
  if (t.dtype == DLC_DTYPE_F32) {
    const float* p = static_cast<const float*>(t.data);
    for (size_t i = 0; i < t.bytes / 4; ++i)
      if (!std::isfinite(p[i])) return false;
  } else if (t.dtype == DLC_DTYPE_F64) {
    const double* p = static_cast<const double*>(t.data);
    for (size_t i = 0; i < t.bytes / 8; ++i)
      if (!std::isfinite(p[i])) return false;
  }
  return true;
}

// Optimizes `graph` for the target with the inputs fixed to `shapes`, writes the artifact (with
// `states`) and loads it; returns its bytes too when asked.
Expected<std::unique_ptr<runtime::Model>> compile(Graph& graph, const TrainRun& run, const std::map<std::string, std::vector<int64_t>>& shapes,
                                                  std::vector<backends::StateSpec> states, std::string* bytes_out = nullptr) {
  DLC_ASSIGN_OR_RETURN(auto ctx, makePassContext(run.target, {}));
  ctx.input_shapes = shapes;
  DLC_RETURN_IF_ERROR(optimize(graph, ctx, run.opt_level));
  backends::ArtifactOptions options;
  options.target = run.target;
  options.states = std::move(states);
  DLC_ASSIGN_OR_RETURN(std::string bytes, backends::writeArtifact(graph, options));
  if (bytes_out) *bytes_out = bytes;
  return loadArtifactBytes(bytes);
}

// The training progress bar: epoch, steps, speed and running loss.
class Progress {
 public:
  explicit Progress(bool on) : bar_(on) {}
  void update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double rate) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "%.1f steps/s  loss %.4f", rate, loss);
    bar_.update(str("epoch ", epoch, "/", epochs), step, steps, suffix);
  }
  void clear() { bar_.clear(); }

 private:
  ProgressBar bar_;
};

// Evaluation: the eval graph compiled for the full batch and for the last, shorter one.
class Evaluator {
 public:
  Evaluator(const Graph& forward, const builder::TrainingConfig& config, const TrainRun& run, Dataset data, int64_t batch)
      : forward_(forward), config_(config), run_(run), data_(std::move(data)), batch_(std::min(batch, data_.samples)) {}

  struct Result {
    double loss = 0, correct = 0, counted = 0;
  };
  Expected<Result> run(runtime::Session& train, const runtime::Model& train_model) {
    Result r;
    std::vector<int64_t> order(static_cast<size_t>(data_.samples));
    std::iota(order.begin(), order.end(), 0);
    for (int64_t from = 0; from < data_.samples; from += batch_) {
      int64_t n = std::min(batch_, data_.samples - from);
      Part* part = nullptr;
      DLC_ASSIGN_OR_RETURN(part, partFor(n));
      gatherBatch(data_, order, from, n, part->batch);
      std::vector<int64_t> shape;
      for (size_t i = 0; i < part->data_index.size(); ++i) {
        dlc_tensor t = viewOf(part->batch[i], shape);
        runtime::check(dlc_session_input_bind(part->session->get(), part->data_index[i], &t));
      }
      for (size_t i = 0; i < part->state_index.size(); ++i) {
        dlc_tensor t = train.state(part->train_state[i]);
        runtime::check(dlc_session_input_bind(part->session->get(), part->state_index[i], &t));
      }
      part->session->run();
      double w = static_cast<double>(n) / static_cast<double>(data_.samples);
      r.loss += w * scalarOf(part->session->output(0));
      if (part->model->outputCount() >= 3) {
        r.correct += scalarOf(part->session->output(1));
        r.counted += scalarOf(part->session->output(2));
      }
    }
    (void)train_model;
    return r;
  }
  void attach(const runtime::Model& train_model) { train_model_ = &train_model; }

 private:
  struct Part {
    std::unique_ptr<runtime::Model> model;
    std::unique_ptr<runtime::Session> session;
    std::vector<Tensor> batch;
    std::vector<size_t> data_index, state_index, train_state;
  };
  Expected<Part*> partFor(int64_t n) {
    auto& slot = n == batch_ ? full_ : tail_;
    if (slot) return slot.get();
    DLC_ASSIGN_OR_RETURN(builder::EvalStep eval, builder::buildEvalStep(cloneGraph(forward_), config_));
    std::map<std::string, std::vector<int64_t>> shapes;
    for (size_t i = 0; i < data_.names.size(); ++i) shapes[data_.names[i]] = batchShape(data_, i, n);
    auto part = std::make_unique<Part>();
    DLC_ASSIGN_OR_RETURN(part->model, compile(*eval.graph, run_, shapes, {}));
    part->session = std::make_unique<runtime::Session>(*part->model, run_.threads);
    for (const auto& name : data_.names) {
      size_t idx = 0;
      runtime::check(dlc_model_input_find(part->model->get(), name.c_str(), &idx));
      part->data_index.push_back(idx);
    }
    for (const auto& name : eval.state_inputs) {
      size_t idx = 0, st = 0;
      runtime::check(dlc_model_input_find(part->model->get(), name.c_str(), &idx));
      runtime::check(dlc_model_state_find(train_model_->get(), name.c_str(), &st));
      part->state_index.push_back(idx);
      part->train_state.push_back(st);
    }
    slot = std::move(part);
    return slot.get();
  }

  const Graph& forward_;
  const builder::TrainingConfig& config_;
  const TrainRun& run_;
  Dataset data_;
  int64_t batch_;
  const runtime::Model* train_model_ = nullptr;
  std::unique_ptr<Part> full_, tail_;
};

Status makeDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::error(str("cannot create directory '", dir, "'"));
  return Status::success();
}

std::string checkpointPath(const std::string& dir) { return dir + "/checkpoint.npz"; }

// torch.optim.swa_utils.update_bn for the averaged weights: every full batch of `train` in order
// through the model with BatchNorm in training mode; each running statistic becomes the mean of its
// batch statistics.
Expected<std::map<std::string, Tensor>> recomputeBatchNorm(const Graph& forward, const builder::TrainingConfig& config,
                                                           const TrainRun& run, const Dataset& train, int64_t batch,
                                                           const std::map<std::string, Tensor>& params) {
  DLC_ASSIGN_OR_RETURN(builder::StatisticsStep stats, builder::buildBatchNormStatistics(cloneGraph(forward), config));
  std::map<std::string, std::vector<int64_t>> shapes;
  std::vector<size_t> data_arrays;
  for (size_t i = 0; i < train.names.size(); ++i)
    for (const auto& name : stats.data_inputs)
      if (name == train.names[i]) {
        shapes[name] = batchShape(train, i, batch);
        data_arrays.push_back(i);
      }
  DLC_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model, compile(*stats.graph, run, shapes, {}));
  runtime::Session session(*model, run.threads);
  std::vector<Tensor> batch_data;
  std::vector<int64_t> order(static_cast<size_t>(train.samples));
  std::iota(order.begin(), order.end(), 0);
  gatherBatch(train, order, 0, batch, batch_data);
  for (size_t i : data_arrays) bindByName(*model, session, train.names[i], batch_data[i]);
  for (const auto& name : stats.state_inputs) bindByName(*model, session, name, params.at(name));
  std::vector<std::vector<double>> sums(model->outputCount());
  const int64_t batches = train.samples / batch;
  for (int64_t b = 0; b < batches; ++b) {
    gatherBatch(train, order, b * batch, batch, batch_data);
    session.run();
    for (size_t o = 0; o < sums.size(); ++o) {
      dlc_tensor t = session.output(o);
      Tensor v = copyOf(t);
      sums[o].resize(static_cast<size_t>(v.numel()), 0.0);
      for (int64_t e = 0; e < v.numel(); ++e) sums[o][static_cast<size_t>(e)] += v.getDouble(e);
    }
  }
  std::map<std::string, Tensor> out;
  for (size_t k = 0; k < stats.statistics.size(); ++k)
    for (int which = 0; which < 2; ++which) {
      const std::string& name = which == 0 ? stats.statistics[k].first : stats.statistics[k].second;
      const std::vector<double>& sum = sums[2 * k + static_cast<size_t>(which)];
      Tensor t(params.begin()->second.dtype(), {static_cast<int64_t>(sum.size())});
      for (size_t e = 0; e < sum.size(); ++e) t.setDouble(static_cast<int64_t>(e), sum[e] / static_cast<double>(batches));
      out[name] = t;
    }
  std::cerr << "dlc: SWA: BatchNorm statistics of the averaged weights recomputed over " << batches << " batches\n";
  return out;
}

}  // namespace

Expected<int64_t> forEachGradient(const Graph& forward, const builder::TrainingConfig& config, const TrainRun& run,
                                  const std::string& path, const std::function<void(const std::map<std::string, Tensor>&)>& each) {
  DLC_ASSIGN_OR_RETURN(builder::GradientStep step, builder::buildGradientStep(cloneGraph(forward), config));
  DLC_ASSIGN_OR_RETURN(Dataset data, loadDataset(path, step.data_inputs, inputTypes(*step.graph)));
  const int64_t batch = std::min(run.batch, data.samples);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (size_t i = 0; i < data.names.size(); ++i) shapes[data.names[i]] = batchShape(data, i, batch);
  DLC_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model, compile(*step.graph, run, shapes, {}));
  runtime::Session session(*model, run.threads);
  std::vector<Tensor> batch_data;
  std::vector<int64_t> order(static_cast<size_t>(data.samples));
  std::iota(order.begin(), order.end(), 0);
  gatherBatch(data, order, 0, batch, batch_data);
  for (size_t i = 0; i < data.names.size(); ++i) bindByName(*model, session, data.names[i], batch_data[i]);
  for (const auto& [name, value] : step.parameters) bindByName(*model, session, name, value);
  std::map<std::string, Tensor> grads;
  const int64_t batches = data.samples / batch;
  ProgressBar bar(run.progress);
  for (int64_t b = 0; b < batches; ++b) {
    bar.update("gradients", b, batches, "");
    gatherBatch(data, order, b * batch, batch, batch_data);
    try {
      session.run();
    } catch (const runtime::Error& e) {
      return Status::error(str(path, ": batch ", b + 1, ": ", e.what()));
    }
    for (size_t k = 0; k < step.parameters.size(); ++k) grads[step.parameters[k].first] = copyOf(session.output(k + 1));
    each(grads);
  }
  bar.clear();
  return batches;
}

Expected<TrainResult> trainModel(const Graph& forward, builder::TrainingConfig config, const TrainRun& run) {
  // The step's data inputs and their types come from a first build; the data then fixes the batch
  // and the number of steps the schedule needs.
  // (The probe's schedule is constant: the real one's periods may depend on the steps per epoch.)
  builder::TrainingConfig probe_config = config;
  probe_config.schedule = builder::ScheduleOptions{};
  DLC_ASSIGN_OR_RETURN(builder::TrainingStep probe, builder::buildTrainingStep(cloneGraph(forward), probe_config));
  // The data file holds every data input but the teacher's logits, which the teacher computes.
  std::vector<std::string> arrays;
  for (const std::string& name : probe.data_inputs)
    if (name != builder::kTeacherLogits) arrays.push_back(name);
  const std::map<std::string, Type> types = inputTypes(*probe.graph);
  DLC_ASSIGN_OR_RETURN(Dataset train, run.train_arrays ? datasetOf(*run.train_arrays, run.train_path.empty() ? "<training arrays>" : run.train_path, arrays, types)
                                                      : loadDataset(run.train_path, arrays, types));
  if (config.distill_weight > 0) {
    if (run.teacher_path.empty()) return Status::error("distillation needs a teacher model (--teacher)");
    DLC_RETURN_IF_ERROR(addTeacherLogits(run.teacher_path, run, types.at(builder::kTeacherLogits), train));
  }
  const int64_t batch = std::min(run.batch, train.samples);
  if (batch < run.batch)
    std::cerr << "dlc: note: " << run.train_path << " holds " << train.samples << " samples, fewer than a batch of " << run.batch
              << "; training on batches of " << batch << "\n";
  const int64_t steps_per_epoch = train.samples / batch;
  int64_t total_steps = run.max_steps > 0 ? run.max_steps : steps_per_epoch * run.epochs;
  const int64_t opt_steps = std::max<int64_t>(1, total_steps / config.accumulate);
  builder::ScheduleOptions& sched = config.schedule;
  if (sched.name == "cosine" && sched.t_max == 0) sched.t_max = std::max<int64_t>(1, opt_steps - sched.warmup);
  if (sched.name == "one-cycle" && sched.total_steps == 0) sched.total_steps = opt_steps;
  if (sched.name == "one-cycle" && sched.max_lr == 0) sched.max_lr = config.optimizer.lr.value_or(1e-3);
  if (sched.name == "cosine-restarts" && sched.t_0 == 0) sched.t_0 = std::max<int64_t>(1, steps_per_epoch / config.accumulate);
  const int64_t opt_per_epoch = std::max<int64_t>(1, steps_per_epoch / config.accumulate);
  if (run.step_size_epochs > 0) sched.step_size = run.step_size_epochs * opt_per_epoch;
  if (!run.milestone_epochs.empty()) {
    sched.milestones.clear();
    for (int64_t e : run.milestone_epochs) sched.milestones.push_back(e * opt_per_epoch);
  }
  if (run.swa_start >= 0) {
    sched.swa_start = run.swa_start * steps_per_epoch / config.accumulate;
    sched.steps_per_epoch = std::max<int64_t>(1, steps_per_epoch / config.accumulate);
  }
  DLC_ASSIGN_OR_RETURN(builder::TrainingStep step, builder::buildTrainingStep(cloneGraph(forward), config));

  std::map<std::string, std::vector<int64_t>> shapes;
  for (size_t i = 0; i < train.names.size(); ++i) shapes[train.names[i]] = batchShape(train, i, batch);
  std::vector<backends::StateSpec> specs;
  for (const StateInfo& s : step.states) specs.push_back({s.input, s.output, s.initial});
  std::string artifact;
  auto t_compile = Clock::now();
  DLC_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model, compile(*step.graph, run, shapes, specs, &artifact));
  std::cerr << "dlc: compiled the training step for " << run.target << " (" << step.states.size() << " states, batch " << batch
            << ") in " << std::fixed;
  std::cerr.precision(1);
  std::cerr << seconds(t_compile) << " s\n";
  std::cerr.unsetf(std::ios::fixed);
  if (!run.export_step.empty()) {
    std::string tmp = run.export_step + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(artifact.data(), static_cast<std::streamsize>(artifact.size()));
    out.close();
    if (!out || std::rename(tmp.c_str(), run.export_step.c_str()) != 0) {
      std::remove(tmp.c_str());
      return Status::error(str("cannot write '", run.export_step, "'"));
    }
  }
  runtime::Session session(*model, run.threads);

  // Bind the batch buffers once: gatherBatch refills the same memory every step.
  std::vector<Tensor> batch_data;
  std::vector<int64_t> order(static_cast<size_t>(train.samples));
  std::iota(order.begin(), order.end(), 0);
  gatherBatch(train, order, 0, batch, batch_data);
  for (size_t i = 0; i < train.names.size(); ++i) bindByName(*model, session, train.names[i], batch_data[i]);
  auto metric = [&](const std::string& name) -> int {
    for (size_t i = 0; i < step.metrics.size(); ++i)
      if (step.metrics[i] == name) return static_cast<int>(i + 1);
    return -1;
  };
  const int correct_out = metric("correct"), counted_out = metric("counted"), lr_out = metric("lr");

  TrainResult result;
  int64_t first_epoch = 0;
  std::map<std::string, Tensor> swa_avg;
  int64_t swa_count = 0;
  if (!run.resume_dir.empty()) {
    DLC_ASSIGN_OR_RETURN(npz::Arrays saved, npz::readFile(checkpointPath(run.resume_dir)));
    std::map<std::string, Tensor> by_name(saved.begin(), saved.end());
    for (size_t k = 0; k < step.states.size(); ++k) {
      auto it = by_name.find(step.states[k].name);
      if (it == by_name.end())
        return Status::error(str(checkpointPath(run.resume_dir), " has no state '", step.states[k].name,
                                 "': it was written for another model or other training options"));
      std::vector<int64_t> s;
      dlc_tensor t = viewOf(it->second, s);
      try {
        session.setState(k, t.dtype, it->second.shape(), t.data, t.bytes);
      } catch (const runtime::Error& e) {
        return Status::error(str(checkpointPath(run.resume_dir), ": state '", step.states[k].name, "' does not fit this training: ", e.what()));
      }
    }
    auto epoch = by_name.find("dlc.epoch");
    if (epoch == by_name.end()) return Status::error(str(checkpointPath(run.resume_dir), " is not a dlc checkpoint (no dlc.epoch)"));
    first_epoch = epoch->second.getInt(0);
    if (auto c = by_name.find("dlc.swa_count"); c != by_name.end()) swa_count = c->second.getInt(0);
    for (const auto& [name, t] : by_name)
      if (name.rfind("swa.", 0) == 0) swa_avg[name.substr(4)] = t;
    std::cerr << "dlc: resumed from " << checkpointPath(run.resume_dir) << " after epoch " << first_epoch << "\n";
  }

  std::unique_ptr<Evaluator> evaluator;
  if (!run.val_path.empty()) {
    DLC_ASSIGN_OR_RETURN(Dataset val, loadDataset(run.val_path, arrays, types));  // evaluation: the task loss
    evaluator = std::make_unique<Evaluator>(forward, config, run, std::move(val), batch);
    evaluator->attach(*model);
  }
  // --plot draws from the log: a temporary one when no --log is kept.
  std::ofstream csv;
  const bool temporary_log = run.log_csv.empty() && !run.plot_path.empty();
  const std::string log_path = temporary_log ? temporaryPath(".csv") : run.log_csv;
  struct RemoveLater {
    std::string path;
    ~RemoveLater() {
      if (!path.empty()) std::remove(path.c_str());
    }
  } remove_log{temporary_log ? log_path : ""};
  if (!log_path.empty()) {
    const bool append = !run.resume_dir.empty() && !temporary_log;
    csv.open(log_path, append ? std::ios::app : std::ios::trunc);
    if (!csv) return Status::error(str("cannot write '", log_path, "'"));
    csv.precision(9);
    if (!append) csv << "epoch,steps,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n";
  }

  Progress progress(run.progress);
  int64_t global_step = first_epoch * steps_per_epoch;
  for (int64_t epoch = first_epoch; epoch < run.epochs; ++epoch) {
    if (run.shuffle) {
      std::mt19937_64 rng(run.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
      std::iota(order.begin(), order.end(), 0);
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
    }
    auto t0 = Clock::now();
    double loss_sum = 0, correct = 0, counted = 0, lr = 0;
    int64_t done = 0;
    for (int64_t b = 0; b < steps_per_epoch; ++b) {
      if (run.max_steps > 0 && global_step >= run.max_steps) break;
      gatherBatch(train, order, b * batch, batch, batch_data);
      try {
        session.run();
      } catch (const runtime::Error& e) {
        progress.clear();
        return Status::error(str("step ", global_step + 1, " (epoch ", epoch + 1, "): ", e.what()));
      }
      double loss = scalarOf(session.output(0));
      if (!std::isfinite(loss)) {
        progress.clear();
        std::string cause;
        for (size_t i = 0; i < batch_data.size() && cause.empty(); ++i) {
          std::vector<int64_t> s;
          if (!allFinite(viewOf(batch_data[i], s))) cause = str("the batch's '", train.names[i], "' holds non-finite values");
        }
        for (size_t k = 0; k < step.states.size() && cause.empty(); ++k)
          if (!allFinite(session.state(k))) cause = str("'", step.states[k].name, "' became non-finite in this step");
        if (cause.empty()) cause = "the parameters are finite; the loss itself overflowed (try a lower --lr)";
        return Status::error(str("the loss is ", loss, " at step ", global_step + 1, " (epoch ", epoch + 1, ", batch ", b + 1, "): ", cause));
      }
      loss_sum += loss;
      if (correct_out > 0) {
        correct += scalarOf(session.output(static_cast<size_t>(correct_out)));
        counted += scalarOf(session.output(static_cast<size_t>(counted_out)));
      }
      if (lr_out > 0) lr = scalarOf(session.output(static_cast<size_t>(lr_out)));
      ++done;
      ++global_step;
      ++result.steps;
      progress.update(epoch + 1, run.epochs, b + 1, steps_per_epoch, loss_sum / static_cast<double>(done),
                      static_cast<double>(done) / std::max(1e-9, seconds(t0)));
    }
    progress.clear();
    if (done == 0) break;
    const double secs = seconds(t0), train_loss = loss_sum / static_cast<double>(done);
    result.last_train_loss = train_loss;
    result.epochs_done = epoch + 1;
    // SWA: the running average of the parameters after each epoch from swa_start on.
    if (run.swa_start >= 0 && epoch >= run.swa_start) {
      for (size_t k = 0; k < step.states.size(); ++k) {
        if (step.states[k].kind != StateInfo::Kind::Parameter) continue;
        Tensor now = copyOf(session.state(k));
        Tensor& avg = swa_avg[step.states[k].name];
        if (!avg.defined()) avg = now.clone();
        else
          for (int64_t e = 0; e < avg.numel(); ++e)
            avg.setDouble(e, avg.getDouble(e) + (now.getDouble(e) - avg.getDouble(e)) / static_cast<double>(swa_count + 1));
      }
      ++swa_count;
    }
    std::string line = str("epoch ", epoch + 1, "/", run.epochs, ": train loss ", train_loss);
    char buf[64];
    if (counted > 0) {
      std::snprintf(buf, sizeof buf, " accuracy %.2f%%", 100.0 * correct / counted);
      line += buf;
    }
    double val_loss = NAN, val_acc = NAN;
    if (evaluator) {
      DLC_ASSIGN_OR_RETURN(Evaluator::Result r, evaluator->run(session, *model));
      val_loss = r.loss;
      line += str(" | val loss ", r.loss);
      if (r.counted > 0) {
        val_acc = 100.0 * r.correct / r.counted;
        std::snprintf(buf, sizeof buf, " accuracy %.2f%%", val_acc);
        line += buf;
        result.last_val_accuracy = val_acc;
      }
    }
    std::snprintf(buf, sizeof buf, " | %.1f s (%.1f steps/s)", secs, static_cast<double>(done) / std::max(secs, 1e-9));
    line += buf;
    std::cout << line << std::endl;
    if (csv) {
      csv << epoch + 1 << "," << global_step << "," << train_loss << "," << (counted > 0 ? 100.0 * correct / counted : NAN) << ","
          << val_loss << "," << val_acc << "," << lr << "," << secs << "\n";
      csv.flush();
    }
    if (!run.checkpoint_dir.empty()) {
      DLC_RETURN_IF_ERROR(makeDir(run.checkpoint_dir));
      npz::Arrays arrays;
      for (size_t k = 0; k < step.states.size(); ++k) arrays.emplace_back(step.states[k].name, copyOf(session.state(k)));
      arrays.emplace_back("dlc.epoch", Tensor::scalar(DType::I64, static_cast<double>(epoch + 1)));
      if (swa_count > 0) {
        arrays.emplace_back("dlc.swa_count", Tensor::scalar(DType::I64, static_cast<double>(swa_count)));
        for (const auto& [name, t] : swa_avg) arrays.emplace_back("swa." + name, t);
      }
      DLC_RETURN_IF_ERROR(npz::writeFile(checkpointPath(run.checkpoint_dir), arrays));
    }
    if (run.on_epoch) {
      EpochStats stats{epoch + 1, run.epochs, global_step, train_loss, counted > 0 ? 100.0 * correct / counted : NAN,
                       val_loss, val_acc, lr, secs};
      if (!run.on_epoch(stats)) break;
    }
    if (run.max_steps > 0 && global_step >= run.max_steps) break;
  }

  if (!run.plot_path.empty()) {
    csv.close();
    DLC_RETURN_IF_ERROR(drawPlot("training", log_path, run.plot_path));
  }
  for (size_t k = 0; k < step.states.size(); ++k) {
    const StateInfo& s = step.states[k];
    if (s.kind == StateInfo::Kind::Parameter || s.kind == StateInfo::Kind::Buffer) result.values[s.name] = copyOf(session.state(k));
  }
  if (swa_count > 0) {
    for (const auto& [name, avg] : swa_avg) result.values[name] = avg;
    if (config.train_batchnorm && !builder::batchNormBuffers(forward).empty()) {
      DLC_ASSIGN_OR_RETURN(auto stats, recomputeBatchNorm(forward, config, run, train, batch, result.values));
      for (auto& [name, t] : stats) result.values[name] = t;
    }
  }
  return result;
}

}  // namespace dlc::cli
