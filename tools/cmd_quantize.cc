// `dlc quantize`: static post-training int8 quantization. Calibrates activation ranges by running
// the float model on dlc's own runtime, writes the QDQ model (ONNX, or a .dlc compiled with the
// QDQ chains lowered to integer kernels), and optionally keeps layers in float until an accuracy
// bound holds.
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "backends/artifact_writer.h"
#include "frontend/onnx/exporter.h"
#include "ir/clone.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"
#include "passes/quantize/insert_qdq.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/dataset.h"
#include "tools/external.h"
#include "tools/npz.h"
#include "tools/pipeline.h"
#include "tools/progress.h"
#include "tools/quantize_latency.h"
#include "tools/quantize_report.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc quantize MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --calibrate CALIB.npz [options]\n"
    "       dlc quantize MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --mode dynamic [options]\n"
    "       dlc quantize MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --dtype fp16|bf16\n"
    "       dlc quantize MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --mode weight-only [--dtype int4|int8]\n"
    "\n"
    "Static post-training quantization to int8. The float model runs on CALIB.npz (one array per\n"
    "model input, first axis the sample) to find each activation's range; Conv, MatMul and Gemm\n"
    "with constant weights get int8 weights (symmetric), int32 biases and quantized inputs and\n"
    "outputs, as QuantizeLinear/DequantizeLinear pairs (QDQ). OUT.onnx is that QDQ model, which\n"
    "ONNX Runtime and other tools read; OUT.dlc is compiled for --target with the QDQ chains lowered\n"
    "to integer kernels (QLinearConv, QLinearMatMul). BatchNormalization is folded first.\n"
    "Dynamic mode (for transformers and RNNs) needs no calibration: MatMul and Gemm get int8\n"
    "weights and quantize their input as they run (DynamicQuantizeLinear, MatMulInteger, rescaled\n"
    "to f32); LSTM becomes ONNX Runtime's DynamicQuantizeLSTM (int8 W and R; the input and each\n"
    "step's hidden state quantized as they arrive), GRU the same as dlc's DynamicQuantizeGRU, which\n"
    "only a .dlc output holds (ONNX Runtime has no quantized GRU: in OUT.onnx GRU stays float).\n"
    "--dtype fp16|bf16 stores Conv/MatMul/Gemm weights and biases in half precision (read through a\n"
    "Cast to f32; the compute stays f32): half the size, no calibration.\n"
    "Weight-only mode (for large MatMul/Gemm weights) stores them as int4 (default) or int8 codes in\n"
    "blocks of --block-size along the reduction axis, each block with a scale and zero point:\n"
    "ONNX Runtime's MatMulNBits op (domain com.microsoft, what its own int4 quantizer writes),\n"
    "computed from the codes without a float copy of the weight. No calibration.\n"
    "\n"
    "  -o, --output OUT        .onnx (QDQ) or .dlc (compiled); replaced atomically\n"
    "  --calibrate CALIB.npz   calibration samples (required for static; in the other modes, optional\n"
    "                          samples to measure the output SQNR on)\n"
    "  --samples N             use the first N calibration samples (default: all)\n"
    "  --batch-size N          calibration batch (default 32, or the model's static batch)\n"
    "  --mode M                static (default), dynamic or weight-only\n"
    "  --dtype T               uint8 (default) or int8: the activation type of int8 quantization\n"
    "                          (weights are always int8); fp16 or bf16: half-precision weights;\n"
    "                          weight-only: int4 (default) or int8 weights\n"
    "  --half-compute          with --dtype fp16|bf16: Conv/MatMul/Gemm also compute in half\n"
    "                          precision (their inputs cast to it, their results back to f32, so\n"
    "                          Softmax, norms and everything else stay f32); bf16 Conv only in a\n"
    "                          .dlc (ONNX's Conv has no bfloat16 form)\n"
    "  --block-size N          weight-only: weights per scale along K (a power of two >= 16,\n"
    "                          default 128)\n"
    "  --method M              activation range: minmax (observed, the default); percentile (|x|\n"
    "                          clipped at its --percentile, default 99.99); mse (the clipping with\n"
    "                          the least squared quantization error); entropy (the least KL\n"
    "                          divergence, TensorRT's method). All from a 2048-bin histogram.\n"
    "  --per-channel           a weight scale per output channel (default: one per tensor)\n"
    "  --bias-correction       static: subtract the weight rounding's mean output error\n"
    "                          (sum_k (W_q - W)[n, k] E[x_k], E[x] measured in calibration) from\n"
    "                          each layer's bias (Nagel et al., 2019)\n"
    "  --symmetric             activations (weight-only: weight blocks) with the zero point at the\n"
    "                          middle of the range (weight-only: no zero points stored)\n"
    "  --exclude NODE,...      node names to leave in float\n"
    "  --exclude-op OP,...     op types to leave in float (Conv, MatMul, Gemm, LSTM, GRU)\n"
    "  --eval EVAL.npz         measure top-1 accuracy (labels in array 'target', or, without it,\n"
    "                          agreement with the float model's top-1) of float and quantized models\n"
    "  --max-accuracy-drop P   with --eval: put the layers that hurt the output most back in float\n"
    "                          (ranked by each one's effect on the output) until the drop is <= P\n"
    "                          percentage points; a binary search over how many, reported\n"
    "  --latency-aware         time the model on the target (inputs from CALIB.npz or EVAL.npz,\n"
    "                          batch 1 unless the model fixes it) and put groups of quantized layers\n"
    "                          (by kind, and whether reorders surround them) back in float while\n"
    "                          that makes it faster by more than 3%; the float model when even the\n"
    "                          best quantized one is slower\n"
    "  --report REPORT.json    per-layer weight SQNR, activation ranges, what stayed float and why,\n"
    "                          output SQNR against the float model, accuracy, sizes\n"
    "  --plot SQNR.png         the report's per-layer SQNR as a bar chart (.png, .svg or .pdf; drawn\n"
    "                          by the dlc Python package with matplotlib)\n"
    "  --target T              target of OUT.dlc (default onednn; cpu for weight-only)\n"
    "  --input-shape N=AxB     OUT.dlc: fix input N's symbolic dims (as dlc compile), so that every\n"
    "                          op is compiled for the target rather than left to the reference kernels\n";

std::vector<std::string> argumentNames(const Graph& g) {
  std::vector<std::string> names;
  for (int i = 0; i < g.body().numArguments(); ++i) names.push_back(g.body().argument(i)->name());
  return names;
}

// Runs a graph over a dataset in batches on one target: compiled once for the full batch and once
// for a shorter last one. `extra` are values of `graph` to return after its outputs.
class BatchRunner {
 public:
  BatchRunner(const Graph& graph, std::vector<const Value*> extra, std::string target, int64_t batch)
      : graph_(graph), extra_(std::move(extra)), target_(std::move(target)), batch_(batch) {}

  // Calls fn(outputs, batch inputs) for every batch of the first `samples` samples of `data`.
  template <typename Fn>
  Status run(const Dataset& data, int64_t samples, ProgressBar* progress, const std::string& label, Fn&& fn) {
    std::vector<int64_t> order(static_cast<size_t>(samples));
    std::iota(order.begin(), order.end(), 0);
    std::vector<Tensor> batch;
    for (int64_t from = 0; from < samples; from += batch_) {
      int64_t n = std::min(batch_, samples - from);
      gatherBatch(data, order, from, n, batch);
      std::vector<DataValue> inputs;
      for (const Tensor& t : batch) inputs.push_back(DataValue::ofTensor(t));
      DLC_ASSIGN_OR_RETURN(Compiled * c, compiledFor(n, inputs));
      DLC_ASSIGN_OR_RETURN(std::vector<DataValue> outputs, runSession(*c->model, *c->session, inputs));
      DLC_RETURN_IF_ERROR(fn(outputs, inputs));
      if (progress) progress->update(label, from + n, samples, "samples");
    }
    if (progress) progress->clear();
    return Status::success();
  }

 private:
  struct Compiled {
    std::unique_ptr<runtime::Model> model;
    std::unique_ptr<runtime::Session> session;
  };
  Expected<Compiled*> compiledFor(int64_t n, const std::vector<DataValue>& inputs) {
    auto it = compiled_.find(n);
    if (it != compiled_.end()) return &it->second;
    // A copy whose outputs are the graph's, then the extra values.
    auto copy = std::make_unique<Graph>();
    copy->name = graph_.name;
    copy->opset_imports = graph_.opset_imports;
    copy->producer = graph_.producer;
    std::unordered_map<const Value*, Value*> map;
    cloneRegionInto(graph_.body(), copy->body(), map);
    std::vector<Value*> outputs = copy->body().outputs();
    for (const Value* v : extra_) outputs.push_back(map.at(v));
    copy->body().setOutputs(outputs);
    DLC_ASSIGN_OR_RETURN(auto model, compileForInputs(*copy, target_, 2, {}, inputs));
    Compiled c;
    try {
      c.session = std::make_unique<runtime::Session>(*model);
    } catch (const runtime::Error& e) {
      return Status::error(e.what());
    }
    c.model = std::move(model);
    return &(compiled_[n] = std::move(c));
  }

  const Graph& graph_;
  std::vector<const Value*> extra_;
  std::string target_;
  int64_t batch_;
  std::map<int64_t, Compiled> compiled_;
};

// Calibration: statistics of every tensor in plan.calibrated, keyed by name.
// What calibration gathers: each calibrated tensor's statistics, and (for bias correction) the
// per-channel mean of each planned op's input, by op location.
struct Calibration {
  std::map<std::string, quantize::TensorStats> stats;
  std::map<std::string, std::vector<double>> input_means;
};

Expected<Calibration> calibrate(const Graph& graph, const quantize::QuantPlan& plan, const Dataset& data, int64_t samples,
                                int64_t batch, const std::string& target, bool input_means) {
  // Every observed value once: a graph argument is read from the batch, anything else is an extra output.
  std::vector<const Value*> observed;
  std::map<const Value*, size_t> slot;
  auto observe = [&](const Value* v) {
    if (slot.emplace(v, observed.size()).second) observed.push_back(v);
    return slot[v];
  };
  std::vector<size_t> stat_slot, mean_slot;
  for (const Value* v : plan.calibrated) stat_slot.push_back(observe(v));
  if (input_means)
    for (const auto& p : plan.ops) mean_slot.push_back(observe(p.input));
  std::vector<const Value*> extra;
  std::vector<int> source;  // per observed value: its batch input, or -1 - its extra output
  for (const Value* v : observed) {
    int arg = -1;
    for (int i = 0; i < graph.body().numArguments(); ++i)
      if (graph.body().argument(i) == v) arg = i;
    if (arg < 0) {
      source.push_back(-1 - static_cast<int>(extra.size()));
      extra.push_back(v);
    } else {
      source.push_back(arg);
    }
  }
  std::vector<quantize::TensorStats> stats(plan.calibrated.size());
  std::vector<quantize::ChannelMeans> means(mean_slot.size());
  const size_t first_extra = static_cast<size_t>(graph.body().numOutputs());
  BatchRunner runner(graph, extra, target, batch);
  ProgressBar progress;
  DLC_RETURN_IF_ERROR(runner.run(data, samples, &progress, "calibrating", [&](const std::vector<DataValue>& out, const std::vector<DataValue>& in) {
    auto tensorOf = [&](size_t s) -> const Tensor& {
      return source[s] >= 0 ? in[static_cast<size_t>(source[s])].tensor : out[first_extra + static_cast<size_t>(-1 - source[s])].tensor;
    };
    for (size_t i = 0; i < stats.size(); ++i) {
      const Tensor& t = tensorOf(stat_slot[i]);
      if (t.dtype() != DType::F32) return Status::error(str("tensor '", plan.calibrated[i]->name(), "' is not f32"));
      stats[i].add(t.data<float>(), t.numel());
    }
    for (size_t i = 0; i < means.size(); ++i) {
      const Tensor& t = tensorOf(mean_slot[i]);
      if (t.dtype() != DType::F32 || t.rank() < 2) continue;
      means[i].add(t.data<float>(), t.shape(), plan.ops[i].op->kind() == OpKind::Conv ? 1 : t.rank() - 1);
    }
    return Status::success();
  }));
  Calibration c;
  for (size_t i = 0; i < stats.size(); ++i) c.stats[plan.calibrated[i]->name()] = stats[i];
  for (size_t i = 0; i < means.size(); ++i)
    if (!means[i].empty()) c.input_means[plan.ops[i].op->location()] = means[i].means();
  return c;
}

Expected<Quantized> quantizeWith(const Graph& prepared, const quantize::QuantizeOptions& options, const Calibration& calibration) {
  const auto& stats = calibration.stats;
  Quantized q;
  q.graph = cloneGraph(prepared);
  q.plan = quantize::planQuantization(*q.graph, options);
  std::vector<quantize::TensorStats> ordered;
  for (const Value* v : q.plan.calibrated) {
    auto it = stats.find(v->name());
    if (it == stats.end()) return Status::error(str("no calibration statistics for tensor '", v->name(), "'"));
    ordered.push_back(it->second);
  }
  DLC_ASSIGN_OR_RETURN(q.result, quantize::insertQdq(*q.graph, q.plan, ordered, options, calibration.input_means));
  // The float weights the rewrite replaced are dead now: without dce they would be written too.
  passes::PassManager pm;
  DLC_RETURN_IF_ERROR(pm.add({"dce"}));
  DLC_RETURN_IF_ERROR(pm.run(*q.graph, passes::PassContext{}));
  DLC_RETURN_IF_ERROR(verifyGraph(*q.graph));
  return q;
}

// Output SQNR of a quantized model against the float one: 10·log10(Σy² / Σ(y - y_q)²) over all
// outputs and samples.
struct Sqnr {
  double signal = 0, noise = 0;
  double db() const { return noise == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(signal / noise); }
};

Expected<std::vector<std::vector<Tensor>>> runOutputs(const Graph& g, const Dataset& data, int64_t samples, int64_t batch,
                                                      const std::string& target) {
  std::vector<std::vector<Tensor>> all;
  BatchRunner runner(g, {}, target, batch);
  DLC_RETURN_IF_ERROR(runner.run(data, samples, nullptr, "", [&](const std::vector<DataValue>& out, const std::vector<DataValue>&) {
    std::vector<Tensor> ts;
    for (const DataValue& v : out) ts.push_back(v.tensor);
    all.push_back(std::move(ts));
    return Status::success();
  }));
  return all;
}

Sqnr outputSqnr(const std::vector<std::vector<Tensor>>& ref, const std::vector<std::vector<Tensor>>& got) {
  Sqnr s;
  for (size_t b = 0; b < ref.size() && b < got.size(); ++b)
    for (size_t o = 0; o < ref[b].size() && o < got[b].size(); ++o)
      for (int64_t i = 0; i < ref[b][o].numel() && i < got[b][o].numel(); ++i) {
        double r = ref[b][o].getDouble(i), e = r - got[b][o].getDouble(i);
        s.signal += r * r;
        s.noise += e * e;
      }
  return s;
}

// Top-1 of every sample of a classifier output [N, ..., C] (argmax over the last axis).
std::vector<int64_t> top1(const Tensor& scores) {
  std::vector<int64_t> out;
  const int64_t n = scores.dim(0), c = scores.numel() / std::max<int64_t>(1, n);
  for (int64_t s = 0; s < n; ++s) {
    int64_t best = 0;
    for (int64_t k = 1; k < c; ++k)
      if (scores.getDouble(s * c + k) > scores.getDouble(s * c + best)) best = k;
    out.push_back(best);
  }
  return out;
}

// Top-1 accuracy (percent) of `g` on the eval set: against `labels`, or when there are none
// against `reference` (the float model's top-1).
Expected<double> accuracy(const Graph& g, const Dataset& eval, int64_t batch, const std::string& target,
                          const std::vector<int64_t>& labels) {
  int64_t correct = 0, counted = 0;
  BatchRunner runner(g, {}, target, batch);
  ProgressBar progress;
  DLC_RETURN_IF_ERROR(runner.run(eval, eval.samples, &progress, "evaluating", [&](const std::vector<DataValue>& out, const std::vector<DataValue>&) {
    if (out.empty() || out[0].tensor.rank() < 2) return Status::error("--eval needs a classifier: output 0 of shape [N, classes]");
    for (int64_t p : top1(out[0].tensor)) correct += p == labels[static_cast<size_t>(counted++)];
    return Status::success();
  }));
  return 100.0 * static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, counted));
}

}  // namespace

int runQuantize(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv,
                          {"output", "calibrate", "samples", "batch-size", "mode", "dtype", "method", "percentile", "block-size",
                           "exclude", "exclude-op", "eval", "max-accuracy-drop", "report", "target", "input-shape", "plot"},
                          {"help", "per-channel", "symmetric", "bias-correction", "latency-aware", "half-compute"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("quantize takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  const std::string out_path = args->get("output");
  if (out_path.empty()) return fail("quantize needs -o OUT.onnx or -o OUT.dlc");
  if (args->has("plot"))
    if (Status ok = checkPlotPath(args->get("plot")); !ok.ok()) return fail(ok);
  const bool to_artifact = endsWith(out_path, ".dlc");
  if (!to_artifact && !endsWith(out_path, ".onnx")) return fail(str("-o ", out_path, ": the output must end in .onnx or .dlc"));
  const std::string mode = args->get("mode", "static");
  if (mode != "static" && mode != "dynamic" && mode != "weight-only")
    return fail(str("--mode '", mode, "' is not static, dynamic or weight-only"));
  quantize::QuantizeOptions options;
  const bool dynamic = mode == "dynamic";
  const bool weight_only = mode == "weight-only";
  if (weight_only) {
    options.mode = quantize::QuantizeMode::WeightOnly;
    for (const char* o : {"method", "percentile", "per-channel"})
      if (args->has(o)) return fail(str("--", o, " applies to static quantization (weight-only mode has a scale per block of weights)"));
    const std::string wdtype = args->get("dtype", "int4");
    if (wdtype != "int4" && wdtype != "int8") return fail(str("--mode weight-only takes --dtype int4 or int8, not '", wdtype, "'"));
    options.weight_bits = wdtype == "int4" ? 4 : 8;
    auto block = intOption(*args, "block-size", 128, 16);
    if (!block.ok()) return fail(block.status());
    if ((*block & (*block - 1)) != 0) return fail(str("--block-size ", *block, " is not a power of two"));
    options.block_size = *block;
  } else if (args->has("block-size")) {
    return fail("--block-size applies to --mode weight-only");
  }
  if (dynamic) {
    options.mode = quantize::QuantizeMode::Dynamic;
    options.dlc_ops = to_artifact;
    for (const char* o : {"method", "percentile", "symmetric"})
      if (args->has(o)) return fail(str("--", o, " applies to static quantization (dynamic mode finds each input's range as it runs)"));
    if (args->has("dtype") && args->get("dtype") != "uint8")
      return fail("dynamic quantization quantizes activations to uint8 (DynamicQuantizeLinear); --dtype int8 is for static");
  }
  const std::string dtype = args->get("dtype", weight_only ? "int4" : "uint8");
  if (weight_only) {
    // checked above
  } else if (dtype == "int8") options.activation_dtype = DType::I8;
  else if (dtype == "fp16" || dtype == "bf16") {
    if (dynamic) return fail(str("--dtype ", dtype, " converts weights; it takes no --mode"));
    options.mode = quantize::QuantizeMode::HalfWeights;
    options.half_dtype = dtype == "fp16" ? DType::F16 : DType::BF16;
    for (const char* o : {"method", "percentile", "symmetric", "per-channel"})
      if (args->has(o)) return fail(str("--", o, " applies to int8 quantization, not to --dtype ", dtype));
    options.half_compute = args->has("half-compute");
    options.half_compute_conv = to_artifact;
  } else if (dtype == "int4") {
    return fail("--dtype int4 is weight-only quantization: add --mode weight-only");
  } else if (dtype != "uint8") {
    return fail(str("--dtype '", dtype, "' is not uint8, int8, int4, fp16 or bf16"));
  }
  const bool half = options.mode == quantize::QuantizeMode::HalfWeights;
  if (args->has("half-compute") && !half) return fail("--half-compute applies to --dtype fp16|bf16");
  const bool no_calibration = dynamic || half || weight_only;
  const std::string method = args->get("method", "minmax");
  if (method == "percentile") options.method = quantize::CalibrationMethod::Percentile;
  else if (method == "entropy") options.method = quantize::CalibrationMethod::Entropy;
  else if (method == "mse") options.method = quantize::CalibrationMethod::Mse;
  else if (method != "minmax") return fail(str("--method '", method, "' is not minmax, percentile, entropy or mse"));
  auto percentile = doubleOption(*args, "percentile", 99.99, 50.0, 100.0);
  if (!percentile.ok()) return fail(percentile.status());
  if (args->has("percentile") && method != "percentile") return fail("--percentile applies to --method percentile");
  options.percentile = *percentile;
  options.per_channel = args->has("per-channel");
  options.bias_correction = args->has("bias-correction");
  if (options.bias_correction && options.mode != quantize::QuantizeMode::Static)
    return fail("--bias-correction applies to static quantization (it needs the calibrated input means)");
  options.symmetric = args->has("symmetric");
  for (const auto& e : args->getAll("exclude"))
    for (const auto& n : splitList(e)) options.exclude_nodes.insert(n);
  for (const auto& e : args->getAll("exclude-op"))
    for (const auto& n : splitList(e)) {
      if (n != "Conv" && n != "MatMul" && n != "Gemm" && n != "LSTM" && n != "GRU")
        return fail(str("--exclude-op ", n, ": dlc quantizes Conv, MatMul, Gemm, LSTM and GRU only"));
      options.exclude_ops.insert(n);
    }
  const std::string calib_path = args->get("calibrate");
  if (calib_path.empty() && !no_calibration) return fail("static quantization needs --calibrate CALIB.npz (samples of the model's inputs)");
  auto samples_opt = intOption(*args, "samples", 0, 1);
  auto batch_opt = intOption(*args, "batch-size", 32, 1);
  if (!samples_opt.ok()) return fail(samples_opt.status());
  if (!batch_opt.ok()) return fail(batch_opt.status());
  const bool bounded_mode = args->has("max-accuracy-drop");
  const bool latency_aware = args->has("latency-aware");
  if (latency_aware && half) return fail("--latency-aware applies to int8/int4 quantization, not to --dtype fp16|bf16");
  if (latency_aware && calib_path.empty() && args->get("eval").empty())
    return fail("--latency-aware times the model on inputs from --calibrate or --eval; give one");
  auto max_drop = doubleOption(*args, "max-accuracy-drop", 0.0, 0.0, 100.0);
  if (!max_drop.ok()) return fail(max_drop.status());
  const std::string eval_path = args->get("eval");
  if (bounded_mode && eval_path.empty()) return fail("--max-accuracy-drop needs --eval EVAL.npz");
  // Weight-only: the cpu target decodes the codes inside its GEMM; onednn leaves MatMulNBits to the
  // reference kernel.
  const std::string target = args->get("target", weight_only ? "cpu" : "onednn");
  if (Status s = checkTarget(target); !s.ok()) return fail(s);
  if (!to_artifact && (args->has("target") || args->has("input-shape")))
    return fail("--target and --input-shape apply to a .dlc output");
  // Where the float and quantized models run for calibration and evaluation: onednn (cpu for
  // weight-only, whose MatMulNBits only the cpu target compiles), or the reference kernels.
  const std::string fast = weight_only ? "cpu" : "onednn";
  const std::string run_target = checkTarget(fast).ok() ? fast : "reference";
  if (bounded_mode && eval_path.empty()) return fail("--max-accuracy-drop needs --eval EVAL.npz");

  // The float model, cleaned up and with BatchNormalization folded into the weights.
  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  Graph& prepared = **graph;
  {
    auto ctx = makePassContext("reference", {});
    if (!ctx.ok()) return fail(ctx.status());
    passes::PassManager pm;
    Status s = pm.add({"canonicalize", "constant-fold", "fold-batchnorm", "dce"});
    if (s.ok()) s = pm.run(prepared, *ctx);
    if (!s.ok()) return fail(str(s.message(), " (", model_path, ")"));
  }
  nameValuesAndLayers(prepared, [](const Op& op) {
    return op.kind() == OpKind::Conv || op.kind() == OpKind::MatMul || op.kind() == OpKind::Gemm || op.kind() == OpKind::LSTM ||
           op.kind() == OpKind::GRU;
  });
  quantize::QuantPlan full_plan = quantize::planQuantization(prepared, options);
  if (full_plan.ops.empty()) {
    std::string why;
    for (const auto& s : full_plan.skipped) why += str(why.empty() ? "" : "; ", s.node.empty() ? s.op_type : s.node, " (", s.op_type, "): ", s.reason);
    return fail(str(model_path, ": no op to quantize (dlc quantizes Conv, MatMul and Gemm with constant f32 weights; LSTM and GRU in dynamic mode)",
                    why.empty() ? "" : ": " + why));
  }
  for (int i = 0; i < prepared.body().numArguments(); ++i)
    if (!prepared.body().argument(i)->type().isTensor())
      return fail(str(model_path, ": input '", prepared.body().argument(i)->name(), "' is not a tensor; calibration feeds tensors only"));

  // Calibration (static), and the data for measuring output SQNR: the calibration samples, or
  // without them (dynamic) the eval inputs.
  const Type& first = prepared.body().argument(0)->type();
  const bool static_batch = first.shape.ranked && first.shape.rank() > 0 && first.shape.dims[0].isStatic();
  std::optional<Dataset> data;
  int64_t samples = 0, batch = *batch_opt;
  const std::string data_path = !calib_path.empty() ? calib_path : eval_path;
  if (!data_path.empty()) {
    auto loaded = loadDataset(data_path, argumentNames(prepared), inputTypes(prepared));
    if (!loaded.ok()) return fail(loaded.status());
    data = std::move(*loaded);
    samples = *samples_opt > 0 ? std::min<int64_t>(*samples_opt, data->samples) : data->samples;
    if (static_batch) {
      batch = first.shape.dims[0].value;  // a model with a fixed batch takes exactly that many
      if (samples % batch != 0)
        return fail(str(model_path, " takes batches of ", batch, " samples; ", data_path, " gives ", samples,
                        " (use --samples with a multiple of ", batch, ")"));
    }
    batch = std::min(batch, samples);
  }
  Calibration stats;
  if (!no_calibration) {
    auto calibrated = calibrate(prepared, full_plan, *data, samples, batch, run_target, options.bias_correction);
    if (!calibrated.ok()) return fail(str(calibrated.status().message(), " (calibrating on ", calib_path, ")"));
    stats = std::move(*calibrated);
  }

  auto quantized = quantizeWith(prepared, options, stats);
  if (!quantized.ok()) return fail(quantized.status());

  // Output SQNR on (up to) the first 64 samples.
  const int64_t probe = std::min<int64_t>(samples, std::max<int64_t>(batch, (64 / std::max<int64_t>(1, batch)) * batch));
  std::vector<std::vector<Tensor>> ref_out;
  if (data) {
    auto r = runOutputs(prepared, *data, probe, batch, run_target);
    if (!r.ok()) return fail(r.status());
    ref_out = std::move(*r);
  }
  auto sqnrOf = [&](const Graph& g) -> Expected<double> {
    if (!data) return std::numeric_limits<double>::quiet_NaN();
    auto q_out = runOutputs(g, *data, probe, batch, run_target);
    if (!q_out.ok()) return Status::error(str(q_out.status().message(), " (running the quantized model)"));
    return outputSqnr(ref_out, *q_out).db();
  };

  // Accuracy, and the accuracy-bounded search.
  std::function<Expected<double>(const Graph&)> accuracyOf;  // set with --eval
  double acc_float = 0, acc_quant = 0;
  BoundedSearch bounded;
  if (!eval_path.empty()) {
    std::vector<std::string> names = argumentNames(prepared);
    auto types = inputTypes(prepared);
    auto eval_arrays = npz::readFile(eval_path);
    if (!eval_arrays.ok()) return fail(eval_arrays.status());
    bool found_target = false;
    for (const auto& [n, t] : *eval_arrays) found_target |= n == "target";
    eval_arrays->clear();
    const bool* has_target = &found_target;
    std::vector<std::string> eval_names = names;
    Type label_type;
    label_type.kind = Type::Kind::Tensor;
    label_type.dtype = DType::I64;
    label_type.shape.ranked = true;
    label_type.shape.dims = {Dim{}};
    if (*has_target) {
      eval_names.push_back("target");
      types["target"] = label_type;
    }
    auto eval = loadDataset(eval_path, eval_names, types);
    if (!eval.ok()) return fail(eval.status());
    const int64_t eval_batch = static_batch ? first.shape.dims[0].value : std::min<int64_t>(64, eval->samples);
    if (static_batch && eval->samples % eval_batch != 0)
      return fail(str(model_path, " takes batches of ", eval_batch, "; ", eval_path, " has ", eval->samples, " samples"));
    Dataset inputs_only = *eval;
    std::vector<int64_t> labels;
    if (*has_target) {
      const Tensor& t = eval->arrays.back();
      for (int64_t i = 0; i < t.numel(); ++i) labels.push_back(t.getInt(i));
      inputs_only.names.pop_back();
      inputs_only.arrays.pop_back();
    } else {
      auto outs = runOutputs(prepared, inputs_only, inputs_only.samples, eval_batch, run_target);
      if (!outs.ok()) return fail(outs.status());
      for (const auto& b : *outs) {
        if (b.empty() || b[0].rank() < 2) return fail("--eval needs a classifier: output 0 of shape [N, classes]");
        for (int64_t p : top1(b[0])) labels.push_back(p);
      }
    }
    accuracyOf = [&, inputs_only, eval_batch, labels](const Graph& g) { return accuracy(g, inputs_only, eval_batch, run_target, labels); };
    auto af = accuracy(prepared, inputs_only, eval_batch, run_target, labels);
    if (!af.ok()) return fail(af.status());
    auto aq = accuracy(*quantized->graph, inputs_only, eval_batch, run_target, labels);
    if (!aq.ok()) return fail(aq.status());
    acc_float = *af;
    acc_quant = *aq;
    std::cerr << "dlc: accuracy " << acc_float << "% float, " << acc_quant << "% quantized (" << eval->samples << " samples"
              << (*has_target ? "" : ", agreement with the float model") << ")\n";
    if (bounded_mode) {
      bounded.ran = true;
      bounded.bound = *max_drop;
      bounded.evaluations = 1;
      bounded.met = acc_float - acc_quant <= *max_drop;
      if (!bounded.met) {
        // Rank the quantized ops by the output SQNR of the model with only that op quantized:
        // the error each one causes at the output, propagated through the rest of the graph.
        for (const auto& p : quantized->plan.ops) {
          quantize::QuantizeOptions alone = options;
          for (const auto& other : quantized->plan.ops)
            if (other.op->location() != p.op->location()) alone.exclude_nodes.insert(other.op->location());
          auto single = quantizeWith(prepared, alone, stats);
          if (!single.ok()) return fail(single.status());
          auto out = runOutputs(*single->graph, *data, std::min<int64_t>(probe, batch), batch, run_target);
          if (!out.ok()) return fail(out.status());
          bounded.ranking.push_back({p.op->location(), outputSqnr(ref_out, *out).db()});
        }
        std::vector<std::pair<std::string, double>> order = bounded.ranking;
        std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
        // Binary search for the fewest float layers, most harmful first, that meet the bound;
        // all of them in float is the float model, which meets it.
        size_t lo = 0, hi = order.size();
        std::unique_ptr<Quantized> best_pass, best_fail;
        double pass_acc = 0, fail_acc = acc_quant;
        while (hi - lo > 1) {
          size_t mid = (lo + hi) / 2;
          quantize::QuantizeOptions partial = options;
          for (size_t i = 0; i < mid; ++i) partial.exclude_nodes.insert(order[i].first);
          auto candidate = quantizeWith(prepared, partial, stats);
          if (!candidate.ok()) return fail(candidate.status());
          auto acc = accuracy(*candidate->graph, inputs_only, eval_batch, run_target, labels);
          if (!acc.ok()) return fail(acc.status());
          ++bounded.evaluations;
          std::cerr << "dlc: " << mid << " of " << order.size() << " layers in float: accuracy " << *acc << "%\n";
          if (acc_float - *acc <= *max_drop) {
            hi = mid;
            best_pass = std::make_unique<Quantized>(std::move(*candidate));
            pass_acc = *acc;
          } else {
            lo = mid;
            if (*acc > fail_acc) {
              fail_acc = *acc;
              best_fail = std::make_unique<Quantized>(std::move(*candidate));
            }
          }
        }
        bounded.met = best_pass != nullptr;
        std::unique_ptr<Quantized> best = best_pass ? std::move(best_pass) : std::move(best_fail);
        double best_acc = bounded.met ? pass_acc : fail_acc;
        if (best) {
          *quantized = std::move(*best);
          acc_quant = best_acc;
        }
        for (const auto& s : quantized->plan.skipped)
          if (s.reason == "excluded by --exclude" && !options.exclude_nodes.count(s.node)) bounded.kept_float.push_back(s.node);
        for (auto& s : quantized->plan.skipped)
          if (s.reason == "excluded by --exclude" && !options.exclude_nodes.count(s.node))
            s.reason = str("kept in float to meet --max-accuracy-drop ", *max_drop);
      }
    }
  }

  // Latency: groups of layers back to float while that makes the model faster on the target.
  LatencySearch latency;
  if (latency_aware) {
    const int64_t timing_batch = static_batch ? batch : 1;
    std::vector<int64_t> order(static_cast<size_t>(timing_batch));
    std::iota(order.begin(), order.end(), 0);
    std::vector<Tensor> timing_tensors;
    gatherBatch(*data, order, 0, timing_batch, timing_tensors);
    std::vector<DataValue> timing;
    for (const Tensor& t : timing_tensors) timing.push_back(DataValue::ofTensor(t));
    const std::vector<std::string> shapes = args->getAll("input-shape");
    std::cerr << "dlc: --latency-aware: timing on " << target << " (batch " << timing_batch << ")\n";
    auto float_ms = medianLatencyMs(prepared, target, shapes, timing, 10);
    if (!float_ms.ok()) return fail(str(float_ms.status().message(), " (timing the float model)"));
    quantize::QuantizeOptions current = options;
    for (const auto& s : quantized->plan.skipped) current.exclude_nodes.insert(s.node);
    auto measure = [&](const std::set<std::string>& extra) -> Expected<double> {
      quantize::QuantizeOptions o = current;
      o.exclude_nodes.insert(extra.begin(), extra.end());
      DLC_ASSIGN_OR_RETURN(Quantized q, quantizeWith(prepared, o, stats));
      return medianLatencyMs(*q.graph, target, shapes, timing, 10);
    };
    auto searched = searchLatency(latencyGroups(prepared, quantize::planQuantization(prepared, current)), *float_ms, 0.03, measure,
                                  [](const LatencyTrial& t) {
                                    std::cerr << "dlc:   " << t.group << " (" << t.nodes << ") in float: " << t.ms << " ms"
                                              << (t.kept_float ? ", kept" : "") << "\n";
                                  });
    if (!searched.ok()) return fail(str(searched.status().message(), " (timing the quantized model)"));
    latency = std::move(*searched);
    std::cerr << "dlc: latency " << latency.float_ms << " ms float, " << latency.quantized_ms << " ms all quantized, "
              << latency.final_ms << " ms chosen" << (latency.float_faster ? "; the float model is faster still: it is written" : "") << "\n";
    std::set<std::string> to_float(latency.kept_float.begin(), latency.kept_float.end());
    if (latency.float_faster)
      for (const auto& p : quantized->plan.ops) to_float.insert(p.op->location());
    if (!to_float.empty()) {
      quantize::QuantizeOptions o = current;
      o.exclude_nodes.insert(to_float.begin(), to_float.end());
      auto q = quantizeWith(prepared, o, stats);
      if (!q.ok()) return fail(q.status());
      for (auto& s : q->plan.skipped)
        if (to_float.count(s.node)) s.reason = str("kept in float: the model is faster so on ", target, " (--latency-aware)");
      *quantized = std::move(*q);
      if (!eval_path.empty()) {
        auto aq = accuracyOf(*quantized->graph);
        if (!aq.ok()) return fail(aq.status());
        acc_quant = *aq;
      }
    }
  }

  auto output_sqnr_or = sqnrOf(*quantized->graph);
  if (!output_sqnr_or.ok()) return fail(output_sqnr_or.status());
  const double output_sqnr = *output_sqnr_or;

  // The per-layer SQNR plot first: a failure to draw it leaves no output behind.
  const std::string report = reportJson(model_path, *quantized, options, samples, output_sqnr, acc_float, acc_quant,
                                        !eval_path.empty(), bounded, latency, target);
  if (args->has("plot")) {
    std::string data = temporaryPath(".json");
    Status drawn = writeFileAtomically(data, report);
    if (drawn.ok()) drawn = drawPlot("sqnr", data, args->get("plot"));
    std::remove(data.c_str());
    if (!drawn.ok()) return fail(drawn);
  }

  // Output.
  Status written;
  if (to_artifact) {
    auto ctx = makePassContext(target, args->getAll("input-shape"));
    if (!ctx.ok()) return fail(ctx.status());
    Status s = optimize(*quantized->graph, *ctx, 2);
    backends::ArtifactOptions artifact;
    artifact.target = target;
    Expected<std::string> bytes = s.ok() ? backends::writeArtifact(*quantized->graph, artifact) : Expected<std::string>(s);
    written = bytes.ok() ? writeFileAtomically(out_path, *bytes) : bytes.status();
  } else {
    written = onnx_export::exportModelFile(*quantized->graph, out_path, {});
  }
  if (!written.ok()) return fail(str(written.message(), " (writing ", out_path, ")"));
  const std::string report_path = args->get("report");
  if (!report_path.empty()) {
    Status r = writeFileAtomically(report_path, report);
    if (!r.ok()) return fail(r);
  }
  std::cerr << "dlc: quantized " << quantized->plan.ops.size() << " of " << quantized->plan.ops.size() + quantized->plan.skipped.size()
            << " Conv/MatMul/Gemm/LSTM/GRU ops"
            << (dynamic ? " (dynamic)"
                : half ? str(options.half_compute ? " (weights and compute in " : " (weights as ", dtype,
                             quantized->result.f32_compute.empty() ? std::string() : str("; ", quantized->result.f32_compute.size(), " in f32 compute"), ")")
                : weight_only ? str(" (weight-only ", dtype, ", blocks of ", options.block_size, ")")
                : str(" on ", samples, " calibration samples"))
            << "; weights "
            << quantized->result.float_weight_bytes << " -> " << quantized->result.quantized_weight_bytes << " bytes"
            << (std::isnan(output_sqnr) ? std::string() : str("; output SQNR ", output_sqnr, " dB")) << "\n";
  if (bounded.ran && !bounded.met)
    return fail(str("accuracy bound not met: the best model found loses ", acc_float - acc_quant, " points (", acc_quant,
                    "% against ", acc_float, "%) with ", bounded.kept_float.size(), " layers in float; it was written to ", out_path));
  return 0;
}

}  // namespace dlc::cli
