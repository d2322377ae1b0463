// `dlc prune`: magnitude (unstructured) and n:m (2:4) pruning of a model's weights, written as
// ONNX (the pruned weights as zeros: any runtime runs it) or as a .dlc for a target, with the
// exact sparsity of each layer reported; and structured channel pruning (passes/prune/channel.h),
// which writes a smaller dense model.
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <iostream>
#include <sstream>

#include "backends/artifact_writer.h"
#include "frontend/builder/trainer.h"
#include "frontend/onnx/exporter.h"
#include "ir/clone.h"
#include "passes/pass_manager.h"
#include "passes/pattern.h"
#include "passes/prune/channel.h"
#include "passes/prune/magnitude.h"
#include "passes/prune/mask.h"
#include "passes/prune/taylor.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/pipeline.h"
#include "tools/train_loop.h"
#include "tools/train_options.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc prune MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --method magnitude|n:m|channel [options]\n"
    "\n"
    "magnitude and n:m set weights of Conv, ConvTranspose, MatMul, Gemm and LSTM/GRU/RNN layers to\n"
    "zero. magnitude: the smallest |w|, exactly floor(sparsity x count) of them per layer (--scope\n"
    "layer) or over all layers together (--scope global). n:m: in every group of m consecutive\n"
    "weights along the reduction axis (a Conv's input channels and kernel, a MatMul's K), the m - n\n"
    "smallest. OUT.onnx holds the pruned weights as zeros; OUT.dlc is compiled for --target and\n"
    "stores mostly-zero weights compressed.\n"
    "channel removes whole channels: every tensor dimension that must shrink with a Conv's or\n"
    "Linear layer's output channels (its BatchNorm, the next layers' inputs, depthwise Convs,\n"
    "residual sums, squeeze-excitation, Concat, Split and Slices of the channels, a Flatten into a\n"
    "Linear layer, Transpose, Squeeze, reductions and Softmax over other axes, attention heads: a\n"
    "Reshape into [.., heads, dim] and the Q·K and P·V products) is one group, and each group keeps its\n"
    "highest-ranked channels (heads, for attention). The result is a smaller dense model; groups\n"
    "that reach a graph output or an op the analysis does not follow (overlapping Slices of the\n"
    "channels, a Reshape that mixes them with other dims, ...) stay whole and the report says why.\n"
    "\n"
    "  -o, --output OUT        .onnx or .dlc; replaced atomically\n"
    "  --method M              magnitude, n:m or channel\n"
    "  --sparsity S            magnitude: the fraction of weights set to zero; channel: of each\n"
    "                          group's channels removed; in [0, 1) (default 0.5)\n"
    "  --target-flops R        channel: instead of --sparsity, the one that leaves at most R of the\n"
    "                          Conv/Gemm/MatMul FLOPs (R in (0, 1], e.g. 0.5)\n"
    "  --min-channels N        channel: no group drops below N channels (default 8)\n"
    "  --criterion C           channel: l1 (default) or l2 norm of each channel's output weights\n"
    "                          summed over the group's layers, bn-gamma (|gamma| of its\n"
    "                          BatchNormalizations; groups without one use l1), or taylor\n"
    "                          (Molchanov et al. 2019: (sum of gradient x weight over the channel's\n"
    "                          parameters)^2, averaged over the batches of --calibrate)\n"
    "  --calibrate CALIB.npz   taylor: data as dlc train's (inputs and `target`), in batches of\n"
    "                          --batch (32), with dlc train's --loss options\n"
    "  --scope global|layer    magnitude: one threshold for all layers, or one per layer (default)\n"
    "  --pattern N:M           n:m: keep N of every M (default 2:4)\n"
    "  --exclude NODE,...      node names to leave dense (channel: their output channels' group)\n"
    "  --report REPORT.json    magnitude, n:m: per-layer weights, zeros and sparsity; channel: each\n"
    "                          group's layers, channels kept (and which), or why it stayed whole;\n"
    "                          FLOPs before and after\n"
    "  --finetune TRAIN.npz    train the pruned model on TRAIN.npz (as dlc train --data: one array\n"
    "                          per input and `target`) before writing it, with any of dlc train's\n"
    "                          options (--epochs, --lr, --optimizer, --val, ...; see dlc train\n"
    "                          --help); magnitude and n:m weights train through their masks, so\n"
    "                          the pruned ones stay zero\n"
    "  --teacher MODEL.onnx    with --finetune: distil from this model (the unpruned one, say):\n"
    "                          --distill-weight W (0.5) of T²·KL on logits softened by\n"
    "                          --temperature T (4), the rest the task loss\n"
    "  --iterative K           magnitude, with --finetune: the lottery ticket (Frankle & Carbin):\n"
    "                          K rounds of pruning to a rising sparsity (the last reaches\n"
    "                          --sparsity), rewinding the survivors to the rewind point and\n"
    "                          retraining them (--epochs each); a line per round\n"
    "  --rewind E              the rewind point: the weights after E epochs of training from the\n"
    "                          input's (default 0: the input's own)\n"
    "  --target T              target of OUT.dlc and of fine-tuning (default onednn)\n"
    "  --input-shape N=AxB     OUT.dlc: fix input N's symbolic dims, as dlc compile\n";

std::string reportJson(const std::string& model, const std::string& method, const prune::PruneResult& r) {
  std::ostringstream j;
  int64_t weights = 0, zeros = 0;
  j << "{\n  \"model\": " << jsonQuote(model) << ",\n  \"method\": " << jsonQuote(method) << ",\n  \"layers\": [";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    weights += l.weights;
    zeros += l.zeros;
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(l.node) << ", \"op\": " << jsonQuote(l.op_type)
      << ", \"weight\": " << jsonQuote(l.weight) << ", \"weights\": " << l.weights << ", \"zeros\": " << l.zeros
      << ", \"sparsity\": " << static_cast<double>(l.zeros) / static_cast<double>(std::max<int64_t>(1, l.weights)) << "}";
  }
  j << "\n  ],\n  \"dense\": [";
  for (size_t i = 0; i < r.skipped.size(); ++i) {
    const auto& s = r.skipped[i];
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(s.node) << ", \"op\": " << jsonQuote(s.op_type)
      << ", \"reason\": " << jsonQuote(s.reason) << "}";
  }
  j << "\n  ],\n  \"weights\": " << weights << ",\n  \"zeros\": " << zeros << ",\n  \"sparsity\": "
    << static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(1, weights)) << "\n}\n";
  return j.str();
}

std::string channelReportJson(const std::string& model, const std::string& method, const prune::ChannelResult& r) {
  std::ostringstream j;
  auto names = [&](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + jsonQuote(v[i]);
    return out + "]";
  };
  j << "{\n  \"model\": " << jsonQuote(model) << ",\n  \"method\": " << jsonQuote(method) << ",\n  \"flops_before\": " << std::llround(r.flops_before)
    << ",\n  \"flops_after\": " << std::llround(r.flops_after) << ",\n  \"groups\": [";
  for (size_t i = 0; i < r.groups.size(); ++i) {
    const auto& g = r.groups[i];
    j << (i ? "," : "") << "\n    {\"channels\": " << g.channels << ", \"kept\": " << g.kept.size() << ", \"producers\": " << names(g.producers)
      << ", \"consumers\": " << names(g.consumers);
    if (!g.frozen.empty()) j << ", \"whole\": " << jsonQuote(g.frozen);
    j << ", \"kept_channels\": [";
    for (size_t k = 0; k < g.kept.size(); ++k) j << (k ? "," : "") << g.kept[k];
    j << "]}";
  }
  j << "\n  ]\n}\n";
  return j.str();
}

const Tensor* constantNamed(const Graph& g, const std::string& name) {
  for (const auto& op : g.body().ops())
    if (op->kind() == OpKind::Constant && op->result()->name() == name) return passes::constantValue(op->result());
  return nullptr;
}

// Frankle & Carbin's lottery ticket with rewinding: `rounds` times, prune the current weights by
// magnitude to the round's sparsity (1 - (1 - s)^(k / rounds), so the last round reaches s), set
// the surviving weights back to the rewind point (the input weights, or those after `rewind`
// epochs of training from them) and retrain them through their masks. `g` ends with the last
// round's weights; the result is the last round's pruning report.
Expected<prune::PruneResult> lotteryTicket(Graph& g, const prune::PruneOptions& options, int rounds, int rewind,
                                           const TrainRun& run, builder::TrainingConfig config) {
  std::unique_ptr<Graph> rewind_point = cloneGraph(g);
  if (rewind > 0) {
    TrainRun early = run;
    early.epochs = rewind, early.max_steps = 0;
    DLC_ASSIGN_OR_RETURN(TrainResult trained, trainModel(*rewind_point, config, early));
    DLC_RETURN_IF_ERROR(builder::writeTrainedValues(*rewind_point, trained.values));
    std::cerr << str("dlc: rewind point: the weights after ", rewind, " epoch", rewind == 1 ? "" : "s", "\n");
  }
  std::unique_ptr<Graph> trained_so_far = cloneGraph(g);
  prune::PruneResult last;
  std::map<std::string, Tensor> values;
  for (int k = 1; k <= rounds; ++k) {
    prune::PruneOptions round = options;
    round.sparsity = 1.0 - std::pow(1.0 - options.sparsity, static_cast<double>(k) / rounds);
    std::unique_ptr<Graph> current = cloneGraph(*trained_so_far);
    DLC_ASSIGN_OR_RETURN(last, prune::pruneWeights(*current, round));
    // The masks, by the weights' names in the unpruned graph; the survivors at the rewind point.
    std::unique_ptr<Graph> rewound = cloneGraph(*rewind_point);
    std::map<std::string, Tensor> masked;
    std::vector<std::string> names;
    for (const auto& l : last.layers) {
      const Tensor* mask = constantNamed(*current, l.pruned_value);
      const Tensor* start = constantNamed(*rewound, l.weight);
      if (!mask || !start || mask->numel() != start->numel()) return Status::error(str("lost the weight '", l.weight, "' of ", l.node));
      Tensor t = *start;
      for (int64_t i = 0; i < t.numel(); ++i)
        if (mask->data<float>()[i] == 0.0f) t.data<float>()[i] = 0.0f;
      masked[l.weight] = t;
      names.push_back(l.weight);
    }
    DLC_RETURN_IF_ERROR(builder::writeTrainedValues(*rewound, masked));
    DLC_ASSIGN_OR_RETURN(std::vector<std::string> masks, prune::insertMasks(*rewound, names));
    builder::TrainingConfig c = config;
    c.freeze.insert(c.freeze.end(), masks.begin(), masks.end());
    DLC_ASSIGN_OR_RETURN(TrainResult trained, trainModel(*rewound, c, run));
    values = trained.values;
    for (auto& [name, t] : masked)  // the trained weights, exactly zero where pruned
      if (auto it = values.find(name); it != values.end())
        for (int64_t i = 0; i < t.numel(); ++i)
          if (t.data<float>()[i] == 0.0f) it->second.data<float>()[i] = 0.0f;
    trained_so_far = cloneGraph(*rewind_point);
    DLC_RETURN_IF_ERROR(builder::writeTrainedValues(*trained_so_far, values));
    int64_t weights = 0, zeros = 0;
    for (const auto& l : last.layers) weights += l.weights, zeros += l.zeros;
    std::cerr << str("dlc: round ", k, " of ", rounds, ": ", 100.0 * static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(1, weights)),
                     "% of the weights pruned, rewound, retrained", trained.last_val_accuracy >= 0
                         ? str("; validation accuracy ", trained.last_val_accuracy, "%") : std::string(), "\n");
  }
  DLC_RETURN_IF_ERROR(builder::writeTrainedValues(g, values));
  return last;
}

// The Taylor criterion's scores: the groups of `g` (ranked by L1 meanwhile), then the gradients of
// the task loss on every batch of the calibration data.
Expected<std::vector<std::vector<double>>> taylorScores(const Graph& g, prune::ChannelOptions options, const std::string& calib,
                                                         const TrainRun& run, const builder::TrainingConfig& config) {
  options.criterion = prune::Criterion::L1;
  DLC_ASSIGN_OR_RETURN(prune::ChannelResult groups, prune::analyzeChannels(g, options));
  prune::TaylorImportance taylor(groups, g);
  auto t0 = std::chrono::steady_clock::now();
  DLC_ASSIGN_OR_RETURN(int64_t batches, forEachGradient(g, config, run, calib, [&](const std::map<std::string, Tensor>& grads) {
                         taylor.addBatch(grads);
                       }));
  std::cerr << "dlc: Taylor criterion: gradients of " << batches << " calibration batch" << (batches == 1 ? "" : "es") << " in "
            << static_cast<int>(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() + 0.5) << " s\n";
  return taylor.scores();
}

}  // namespace

int runPrune(const std::vector<std::string>& argv) {
  std::vector<std::string> values{"output", "method", "sparsity", "scope", "pattern", "exclude", "report", "input-shape",
                                  "min-channels", "criterion", "calibrate", "finetune", "iterative", "rewind", "target-flops"};
  values.insert(values.end(), trainValueOptions().begin(), trainValueOptions().end());  // --target among them
  auto args = Args::parse(argv, values, trainFlagOptions());
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("prune takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  const std::string out_path = args->get("output");
  if (out_path.empty()) return fail("prune needs -o OUT.onnx or -o OUT.dlc");
  const bool to_artifact = endsWith(out_path, ".dlc");
  if (!to_artifact && !endsWith(out_path, ".onnx")) return fail(str("-o ", out_path, ": the output must end in .onnx or .dlc"));
  const bool finetune = args->has("finetune");
  const bool calibrate = args->has("calibrate");
  auto rounds = intOption(*args, "iterative", 0, 1);
  if (!rounds.ok()) return fail(rounds.status());
  auto rewind = intOption(*args, "rewind", 0, 0);
  if (!rewind.ok()) return fail(rewind.status());
  const bool iterative = args->has("iterative");
  if (args->has("rewind") && !iterative) return fail("--rewind applies to --iterative");
  if (iterative && !finetune) return fail("--iterative retrains after every round: give --finetune TRAIN.npz");
  if (!finetune) {
    // The Taylor criterion's gradients take the loss, the batch and where to run.
    static const std::set<std::string> calibration{"target", "batch", "threads", "O", "loss", "reduction", "class-axis",
                                                   "label-smoothing", "class-weights", "ignore-index", "delta", "margin",
                                                   "pos-weight", "focal-alpha", "focal-gamma"};
    for (const std::string& o : trainValueOptions())
      if (o != "target" && args->has(o) && !(calibrate && calibration.count(o)))
        return fail(str("--", o, " is a fine-tuning option: give --finetune TRAIN.npz"));
    for (const std::string& o : trainFlagOptions())
      if (o != "help" && args->has(o)) return fail(str("--", o, " is a fine-tuning option: give --finetune TRAIN.npz"));
  }
  prune::PruneOptions options;
  prune::ChannelOptions channel;
  const std::string method = args->get("method");
  if (method.empty()) return fail("prune needs --method magnitude, n:m or channel");
  const bool structured = method == "channel";
  if (!structured)
    for (const char* o : {"criterion", "min-channels", "target-flops"})
      if (args->has(o)) return fail(str("--", o, " applies to --method channel"));
  double target_flops = 0;
  if (structured) {
    for (const char* o : {"scope", "pattern"})
      if (args->has(o)) return fail(str("--", o, " applies to --method magnitude or n:m"));
    if (args->has("sparsity") && args->has("target-flops")) return fail("give --sparsity or --target-flops, not both");
    auto sparsity = doubleOption(*args, "sparsity", 0.5, 0.0, 1.0);
    if (!sparsity.ok()) return fail(sparsity.status());
    if (*sparsity >= 1.0) return fail(str("--sparsity ", *sparsity, " is outside [0, 1)"));
    channel.sparsity = *sparsity;
    auto flops = doubleOption(*args, "target-flops", 0.0, 0.0, 1.0);
    if (!flops.ok()) return fail(flops.status());
    if (args->has("target-flops") && *flops <= 0) return fail("--target-flops must be in (0, 1]");
    target_flops = *flops;
    auto min_channels = intOption(*args, "min-channels", 8, 1);
    if (!min_channels.ok()) return fail(min_channels.status());
    channel.min_channels = *min_channels;
    const std::string criterion = args->get("criterion", "l1");
    if (criterion == "l1") channel.criterion = prune::Criterion::L1;
    else if (criterion == "l2") channel.criterion = prune::Criterion::L2;
    else if (criterion == "bn-gamma") channel.criterion = prune::Criterion::BnGamma;
    else if (criterion == "taylor") channel.criterion = prune::Criterion::Taylor;
    else return fail(str("--criterion '", criterion, "' is not l1, l2, bn-gamma or taylor"));
    if (channel.criterion == prune::Criterion::Taylor && !calibrate)
      return fail("--criterion taylor ranks channels by gradients on calibration data: give --calibrate CALIB.npz");
  } else if (method == "n:m") {
    options.method = prune::Method::NM;
    const std::string pattern = args->get("pattern", "2:4");
    size_t colon = pattern.find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      size_t a = 0, b = 0;
      options.n = std::stoi(pattern.substr(0, colon), &a);
      options.m = std::stoi(pattern.substr(colon + 1), &b);
      if (a != colon || b != pattern.size() - colon - 1) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      return fail(str("--pattern '", pattern, "' is not N:M (2:4, say)"));
    }
    if (!(options.n > 0 && options.m > options.n && options.m <= 64)) return fail(str("--pattern ", pattern, " needs 0 < N < M <= 64"));
    for (const char* o : {"sparsity", "scope"})
      if (args->has(o)) return fail(str("--", o, " applies to --method magnitude (n:m's sparsity is 1 - N/M)"));
  } else if (method == "magnitude") {
    if (args->has("pattern")) return fail("--pattern applies to --method n:m");
    auto sparsity = doubleOption(*args, "sparsity", 0.5, 0.0, 1.0);
    if (!sparsity.ok()) return fail(sparsity.status());
    if (*sparsity >= 1.0) return fail(str("--sparsity ", *sparsity, " is outside [0, 1)"));
    options.sparsity = *sparsity;
    const std::string scope = args->get("scope", "layer");
    if (scope != "layer" && scope != "global") return fail(str("--scope '", scope, "' is not global or layer"));
    options.global = scope == "global";
  } else {
    return fail(str("--method '", method, "' is not magnitude, n:m or channel"));
  }
  for (const auto& e : args->getAll("exclude"))
    for (const auto& n : splitList(e)) options.exclude.insert(n);
  channel.exclude = options.exclude;
  const std::string target = args->get("target", "onednn");
  if (Status s = checkTarget(target); !s.ok()) return fail(s);
  if (!to_artifact && !finetune && !calibrate && args->has("target"))
    return fail("--target applies to a .dlc output (and to --finetune and --calibrate)");
  if (!to_artifact && args->has("input-shape")) return fail("--input-shape applies to a .dlc output");
  if (calibrate && channel.criterion != prune::Criterion::Taylor) return fail("--calibrate feeds --criterion taylor (with --method channel)");
  TrainRun train_run;
  builder::TrainingConfig train_config;
  if (finetune || calibrate) {
    if (Status s = parseTrainOptions(*args, finetune ? "finetune" : "calibrate", &train_run, &train_config); !s.ok()) return fail(s);
    // Before pruning, so that a mistyped path costs nothing.
    for (const std::string& path : {train_run.train_path, train_run.val_path, args->get("calibrate")})
      if (!path.empty() && !std::ifstream(path)) return fail(str("cannot open '", path, "'"));
  }

  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  Graph& g = **graph;
  {
    auto ctx = makePassContext("reference", {});
    if (!ctx.ok()) return fail(ctx.status());
    passes::PassManager pm;
    Status s = pm.add({"canonicalize", "constant-fold", "dce"});
    if (s.ok()) s = pm.run(g, *ctx);
    if (!s.ok()) return fail(str(s.message(), " (", model_path, ")"));
  }
  nameValuesAndLayers(g, [](const Op& op) {
    switch (op.kind()) {
      case OpKind::Conv: case OpKind::ConvTranspose: case OpKind::MatMul: case OpKind::Gemm: case OpKind::LSTM:
      case OpKind::GRU: case OpKind::RNN:
        return true;
      default:
        return false;
    }
  });
  std::optional<prune::ChannelResult> channels;
  Expected<prune::PruneResult> pruned = prune::PruneResult{};
  if (structured) {
    std::set<std::string> layers;
    for (const auto& op : g.body().ops())
      if (op->kind() == OpKind::Conv || op->kind() == OpKind::Gemm || op->kind() == OpKind::MatMul) layers.insert(op->location());
    for (const auto& e : channel.exclude)
      if (!layers.count(e)) return fail(str("--exclude ", e, ": no Conv, Gemm or MatMul node has that name (", model_path, ")"));
    if (channel.criterion == prune::Criterion::Taylor) {
      auto scores = taylorScores(g, channel, args->get("calibrate"), train_run, train_config);
      if (!scores.ok()) return fail(str(scores.status().message(), " (", model_path, ")"));
      channel.scores = std::move(*scores);
    }
    if (target_flops > 0) {
      auto s = prune::sparsityForFlops(g, channel, target_flops);
      if (!s.ok()) return fail(str(s.status().message(), " (", model_path, ")"));
      channel.sparsity = *s;
    }
    auto r = prune::pruneChannels(g, channel);
    if (!r.ok()) return fail(str(r.status().message(), " (", model_path, ")"));
    bool any = false;
    for (const auto& grp : r->groups) any |= grp.kept.size() < static_cast<size_t>(grp.channels);
    if (!any) {
      std::string why;
      for (const auto& grp : r->groups)
        if (!grp.frozen.empty() && why.size() < 400) why += str(why.empty() ? "" : "; ", grp.producers.empty() ? "?" : grp.producers[0], ": ", grp.frozen);
      return fail(str("nothing to prune: no channel group can shrink (", model_path, ")", why.empty() ? "" : ": " + why));
    }
    channels = std::move(*r);
  } else if (iterative) {
    if (options.method != prune::Method::Magnitude) return fail("--iterative applies to --method magnitude");
    auto done = lotteryTicket(g, options, *rounds, *rewind, train_run, train_config);
    if (!done.ok()) return fail(str(done.status().message(), " (", model_path, ")"));
    pruned = std::move(*done);
  } else {
    pruned = prune::pruneWeights(g, options);
    if (!pruned.ok()) return fail(str(pruned.status().message(), " (", model_path, ")"));
  }
  {
    passes::PassManager pm;  // the dense weights the pruned copies replaced
    Status s = pm.add({"dce"});
    if (s.ok()) s = pm.run(g, passes::PassContext{});
    if (!s.ok()) return fail(s);
  }
  if (finetune && !iterative) {
    // Channel pruning left a smaller dense model: it trains as it is. Magnitude and n:m weights
    // train through their masks, so that the zeros stay zeros.
    std::vector<std::string> masks;
    if (!structured) {
      std::vector<std::string> weights;
      for (const auto& l : pruned->layers) weights.push_back(l.pruned_value);
      auto m = prune::insertMasks(g, weights);
      if (!m.ok()) return fail(m.status());
      masks = *m;
      train_config.freeze.insert(train_config.freeze.end(), masks.begin(), masks.end());
    }
    std::cerr << "dlc: fine-tuning the pruned model on " << train_run.train_path << " (" << train_run.epochs << " epoch"
              << (train_run.epochs == 1 ? "" : "s") << ", target " << train_run.target << ")\n";
    auto trained = trainModel(g, train_config, train_run);
    if (!trained.ok()) return fail(str(trained.status().message(), " (fine-tuning ", model_path, ")"));
    if (Status s = builder::writeTrainedValues(g, trained->values); !s.ok()) return fail(s);
    if (Status s = prune::foldMasks(g, masks); !s.ok()) return fail(s);
    passes::PassManager pm;
    Status s = pm.add({"dce"});
    if (s.ok()) s = pm.run(g, passes::PassContext{});
    if (!s.ok()) return fail(s);
  }

  Status written;
  if (to_artifact) {
    auto ctx = makePassContext(target, args->getAll("input-shape"));
    if (!ctx.ok()) return fail(ctx.status());
    Status s = optimize(g, *ctx, 2);
    backends::ArtifactOptions artifact;
    artifact.target = target;
    Expected<std::string> bytes = s.ok() ? backends::writeArtifact(g, artifact) : Expected<std::string>(s);
    written = bytes.ok() ? writeFileAtomically(out_path, *bytes) : bytes.status();
  } else {
    written = onnx_export::exportModelFile(g, out_path, {});
  }
  if (!written.ok()) return fail(str(written.message(), " (writing ", out_path, ")"));
  const std::string method_name = structured ? str("channel ", channel.sparsity)
                                  : options.method == prune::Method::NM ? str(options.n, ":", options.m)
                                                                         : str("magnitude ", options.global ? "global " : "", options.sparsity);
  const std::string report_path = args->get("report");
  if (!report_path.empty()) {
    Status r = writeFileAtomically(report_path, structured ? channelReportJson(model_path, method_name, *channels)
                                                           : reportJson(model_path, method_name, *pruned));
    if (!r.ok()) return fail(r);
  }
  if (structured) {
    size_t shrunk = 0, whole = 0;
    for (const auto& grp : channels->groups) (grp.kept.size() < static_cast<size_t>(grp.channels) ? shrunk : whole) += 1;
    // str(): its own stream's precision, whatever training left on std::cerr.
    std::cerr << str("dlc: pruned channels of ", shrunk, " groups (", method_name, "; ", whole, " left whole): FLOPs ",
                     std::llround(channels->flops_before), " -> ", std::llround(channels->flops_after), " (",
                     100.0 * channels->flops_after / std::max(1.0, channels->flops_before), "%)\n");
    return 0;
  }
  int64_t weights = 0, zeros = 0;
  for (const auto& l : pruned->layers) weights += l.weights, zeros += l.zeros;
  std::cerr << str("dlc: pruned ", pruned->layers.size(), " weight tensors (", method_name, "): ", zeros, " of ", weights,
                   " weights are zero (", 100.0 * static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(1, weights)), "%)",
                   pruned->skipped.empty() ? "" : str("; ", pruned->skipped.size(), " layers left dense"), "\n");
  return 0;
}

}  // namespace dlc::cli
