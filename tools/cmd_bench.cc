// `dlc bench`: times repeated runs of a model and optionally profiles or traces its kernels.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "backends/reference/interpreter.h"
#include "ir/dtype_onnx.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/external.h"
#include "tools/inputs.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc bench MODEL(.onnx|.dlcir|.dlc) [--target T] [-O0..-O3] [--runs N] [--warmup N] [--threads N]\n"
    "                 [--input [NAME=]FILE]... [--input-shape NAME=AxB]... [--profile [--plot F.png]] [--trace FILE]\n"
    "\n"
    "Prepares the model as `dlc run` does, runs it --warmup times untimed, then --runs times\n"
    "timed, and prints one line\n"
    "  model=M target=T opt=O runs=N warmup=W threads=K load_ms=L compile_ms=C min_ms=.. mean_ms=.. median_ms=..\n"
    "load_ms: loading the model (ONNX import or IR parse, plus verification); compile_ms: the\n"
    "target's default pass pipeline (the reference target has no code generation).\n"
    "Inputs not given with --input are deterministic random data of the input's type\n"
    "(symbolic dims become 1; floats in [-1,1), integers in [0,10)).\n"
    "\n"
    "  --target T     reference (default: the interpreter), onednn or cpu (compiled in memory for\n"
    "                 the inputs' shapes, run through libdlcrt; compile_ms includes that)\n"
    "  -O0 .. -O3     optimization level of the target's default pipeline (default -O2)\n"
    "  --input-shape N=AxBxC  specialise input N's symbolic dims before optimizing\n"
    "  --runs N       timed runs (default 10)\n"
    "  --warmup N     untimed runs first (default 2)\n"
    "  --threads N    threads to use (default 1). For a .dlc artifact, the session's thread pool;\n"
    "                 the reference interpreter (ONNX/IR models) always runs on one thread.\n"
    "  --input F      an input file (.npy or ONNX .pb), in graph-input order or as NAME=FILE\n"
    "  --profile      before the result line, print time per op kind over the timed runs\n"
    "                 (total, count, share) and the slowest single ops\n"
    "  --plot F       with --profile: also draw it as a bar chart, F.png, .svg or .pdf (drawn by\n"
    "                 the dlc Python package with matplotlib)\n"
    "  --trace FILE   write the timed runs as a Chrome trace (chrome://tracing, Perfetto)\n"
    "\n"
    "A .dlc artifact runs through libdlcrt as compiled (opt=compiled; load_ms covers loading and\n"
    "verifying it, compile_ms is 0); there --profile times each step of the artifact (a oneDNN\n"
    "segment is one step) and --trace needs an ONNX or IR model.\n";

using Clock = std::chrono::steady_clock;

double toMs(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double toUs(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Collects kernel timings for --profile (graph-body ops only, so shares add up to the run time;
// an If/Loop/Scan's time includes its nested ops) and every kernel for --trace.
class Recorder : public ref::OpObserver {
 public:
  struct Stat {
    int64_t count = 0;
    Clock::duration total{};
  };
  struct Event {
    const Op* op;
    Clock::time_point start;
    Clock::duration elapsed;
  };

  Recorder(bool profile, bool trace) : profile_(profile), trace_(trace) {}

  void onOp(const ref::OpEvent& e) override {
    if (profile_ && e.depth == 0) {
      Stat& k = by_kind_[e.op.name()];
      k.count++;
      k.total += e.elapsed;
      Stat& o = by_op_[&e.op];
      o.count++;
      o.total += e.elapsed;
      body_total_ += e.elapsed;
    }
    if (trace_) events_.push_back({&e.op, e.start, e.elapsed});
  }

  void printProfile(std::ostream& os, int runs) const {
    auto sorted = [](const auto& map) {
      std::vector<std::pair<typename std::decay_t<decltype(map)>::key_type, Stat>> v(map.begin(), map.end());
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.total > b.second.total; });
      return v;
    };
    double all = std::max(toMs(body_total_), 1e-9);
    char line[256];
    os << "profile over " << runs << " timed runs (ms per run; nested If/Loop/Scan ops count in their parent)\n";
    std::snprintf(line, sizeof line, "  %-24s %8s %12s %8s\n", "op", "count", "ms/run", "share");
    os << line;
    for (const auto& [name, s] : sorted(by_kind_)) {
      std::snprintf(line, sizeof line, "  %-24s %8lld %12.3f %7.1f%%\n", name.c_str(),
                    static_cast<long long>(s.count / runs), toMs(s.total) / runs, 100.0 * toMs(s.total) / all);
      os << line;
    }
    os << "slowest ops\n";
    std::snprintf(line, sizeof line, "  %12s %8s  %s\n", "ms/run", "share", "op");
    os << line;
    int shown = 0;
    for (const auto& [op, s] : sorted(by_op_)) {
      if (shown++ == 10) break;
      std::snprintf(line, sizeof line, "  %12.3f %7.1f%%  ", toMs(s.total) / runs, 100.0 * toMs(s.total) / all);
      os << line << op->name() << " '" << op->location() << "'\n";
    }
  }

  // ms per run of each op kind, for --plot.
  std::vector<std::pair<std::string, double>> msByKind(int runs) const {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [name, s] : by_kind_) out.emplace_back(name, toMs(s.total) / runs);
    return out;
  }

  // Chrome trace JSON: one complete ("X") event per kernel and per run, times in µs from `origin`.
  Status writeTrace(const std::string& path, Clock::time_point origin, const std::vector<Event>& run_spans) const {
    std::ofstream out(path);
    if (!out) return Status::error(str("cannot write trace file '", path, "'"));
    out << "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
    char num[64];
    auto times = [&](const Event& e) {
      std::snprintf(num, sizeof num, "\"ts\": %.3f, \"dur\": %.3f", toUs(e.start - origin), toUs(e.elapsed));
      return std::string(num);
    };
    bool first = true;
    for (size_t i = 0; i < run_spans.size(); ++i) {
      out << (first ? "" : ",\n") << "{\"name\": \"run " << i << "\", \"cat\": \"run\", \"ph\": \"X\", "
          << times(run_spans[i]) << ", \"pid\": 1, \"tid\": 1}";
      first = false;
    }
    for (const Event& e : events_) {
      out << (first ? "" : ",\n") << "{\"name\": " << jsonQuote(e.op->name()) << ", \"cat\": \"op\", \"ph\": \"X\", "
          << times(e) << ", \"pid\": 1, \"tid\": 1, \"args\": {\"location\": " << jsonQuote(e.op->location())
          << "}}";
      first = false;
    }
    out << "\n]}\n";
    if (!out) return Status::error(str("cannot write trace file '", path, "'"));
    return Status::success();
  }

 private:
  bool profile_, trace_;
  std::map<std::string, Stat> by_kind_;
  std::map<const Op*, Stat> by_op_;
  Clock::duration body_total_{};
  std::vector<Event> events_;
};

std::string baseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The result line: min, mean and median of the timed runs.
void printResult(const std::string& model_path, const std::string& target, const std::string& opt, int runs, int warmup,
                 int threads, double load_ms, double compile_ms, const std::vector<double>& ms) {
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  double mean = 0;
  for (double v : ms) mean += v / static_cast<double>(n);
  char times[256];
  std::snprintf(times, sizeof times, "load_ms=%.3f compile_ms=%.3f min_ms=%.3f mean_ms=%.3f median_ms=%.3f", load_ms,
                compile_ms, sorted.front(), mean, median);
  std::cout << "model=" << baseName(model_path) << " target=" << target << " opt=" << opt << " runs=" << runs
            << " warmup=" << warmup << " threads=" << threads << " " << times << "\n";
}

// Times session runs of a loaded artifact on `inputs`.
// Per-step times of the timed runs of an artifact (--profile): by kernel library/kernel, then
// the slowest steps. A oneDNN segment is one step; ONEDNN_VERBOSE=1 breaks it down further.
// Returns ms per run by library/kernel, for --plot.
std::vector<std::pair<std::string, double>> printStepProfile(const runtime::Model& model, const std::vector<uint64_t>& ns, int runs,
                                                             double total_ms) {
  std::map<std::string, std::pair<int, uint64_t>> by_kernel;
  std::vector<std::pair<uint64_t, std::string>> steps;
  for (size_t i = 0; i < ns.size(); ++i) {
    const char *library, *kernel, *location;
    runtime::check(dlc_model_step_describe(model.get(), i, &library, &kernel, &location));
    auto& k = by_kernel[str(library, "/", kernel)];
    k.first++;
    k.second += ns[i];
    steps.emplace_back(ns[i], str(library, "/", kernel, " '", location, "'"));
  }
  std::vector<std::pair<std::string, std::pair<int, uint64_t>>> kernels(by_kernel.begin(), by_kernel.end());
  std::sort(kernels.begin(), kernels.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  auto msPerRun = [runs](uint64_t ns_total) { return static_cast<double>(ns_total) / 1e6 / runs; };
  double all = std::max(total_ms, 1e-9);
  char line[512];
  std::cout << "profile over " << runs << " timed runs (ms per run, per step of the artifact)\n";
  std::snprintf(line, sizeof line, "  %-32s %8s %12s %8s\n", "library/kernel", "steps", "ms/run", "share");
  std::cout << line;
  for (const auto& [name, k] : kernels) {
    std::snprintf(line, sizeof line, "  %-32s %8d %12.3f %7.1f%%\n", name.c_str(), k.first, msPerRun(k.second),
                  100.0 * msPerRun(k.second) / all);
    std::cout << line;
  }
  std::cout << "slowest steps\n";
  for (size_t i = 0; i < steps.size() && i < 10; ++i) {
    std::snprintf(line, sizeof line, "  %12.3f %7.1f%%  %s\n", msPerRun(steps[i].first), 100.0 * msPerRun(steps[i].first) / all,
                  steps[i].second.c_str());
    std::cout << line;
  }
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, k] : kernels) out.emplace_back(name, msPerRun(k.second));
  return out;
}

// --plot: the profile as a bar chart (python3 -m dlc.plot profile).
Status plotProfile(const std::vector<std::pair<std::string, double>>& ms, const std::string& title, const std::string& path) {
  std::string json = str("{\"title\": ", jsonQuote(title), ", \"ops\": [");
  char num[64];
  for (size_t i = 0; i < ms.size(); ++i) {
    std::snprintf(num, sizeof num, "%.6g", ms[i].second);
    json += str(i ? ", " : "", "{\"name\": ", jsonQuote(ms[i].first), ", \"ms\": ", num, "}");
  }
  json += "]}\n";
  std::string data = temporaryPath(".json");
  Status s = writeFileAtomically(data, json);
  if (s.ok()) s = drawPlot("profile", data, path);
  std::remove(data.c_str());
  return s;
}

// Times session runs of a loaded artifact on `inputs`.
int benchModel(const runtime::Model& model, const std::string& model_path, const std::string& opt,
               const std::vector<DataValue>& inputs, int runs, int warmup, int threads, double load_ms, double compile_ms,
               bool profile, const std::string& plot) {
  try {
    runtime::Session session(model, threads, nullptr, profile);
    Status bound = bindInputs(model, session, inputs);
    if (!bound.ok()) return fail(str(bound.message(), " (", model_path, ")"));
    for (int i = 0; i < warmup; ++i) session.run();
    dlc_model_stats stats;
    dlc_model_stats_get(model.get(), &stats);
    std::vector<uint64_t> before(stats.steps, 0);
    for (size_t i = 0; profile && i < stats.steps; ++i) before[i] = session.stepTimeNs(i);
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      Clock::time_point start = Clock::now();
      session.run();
      ms.push_back(toMs(Clock::now() - start));
    }
    if (profile) {
      std::vector<uint64_t> timed(stats.steps);
      for (size_t i = 0; i < stats.steps; ++i) timed[i] = session.stepTimeNs(i) - before[i];
      double total = 0;
      for (double m : ms) total += m / runs;
      auto by_kernel = printStepProfile(model, timed, runs, total);
      if (!plot.empty()) {
        Status drawn = plotProfile(by_kernel, str(baseName(model_path), " on ", model.target(), ": ms per run by kernel"), plot);
        if (!drawn.ok()) return fail(drawn);
      }
    }
    printResult(model_path, model.target(), opt, runs, warmup, threads, load_ms, compile_ms, ms);
  } catch (const runtime::Error& e) {
    return fail(str(e.what(), " (", model_path, ")"));
  }
  return 0;
}

// --input files, or deterministic random data (symbolic dims as 1), for `body`'s inputs.
Expected<std::vector<DataValue>> benchInputs(const Args& args, const Region& body, const std::string& model_path) {
  DLC_ASSIGN_OR_RETURN(auto files, matchInputFiles(body, args.getAll("input")));
  std::vector<DataValue> inputs;
  for (int i = 0; i < body.numArguments(); ++i) {
    const std::string& file = files[static_cast<size_t>(i)];
    auto v = file.empty() ? randomInput(*body.argument(i), static_cast<uint64_t>(i) + 1)
                          : readInput(file, body.argument(i)->type());
    if (!v.ok()) return Status::error(str(v.status().message(), " (", file.empty() ? model_path : file, ")"));
    inputs.push_back(std::move(v).value());
  }
  return inputs;
}

int benchArtifact(const Args& args, const std::string& model_path, int runs, int warmup, int threads) {
  for (const char* option : {"O", "input-shape", "trace"})
    if (args.has(option)) return fail(str(option == std::string("O") ? "-" : "--", option, " needs an ONNX or IR model; '", model_path, "' is compiled already"));
  Clock::time_point load_start = Clock::now();
  auto artifact = loadArtifact(model_path);
  if (!artifact.ok()) return fail(artifact.status());
  double load_ms = toMs(Clock::now() - load_start);
  if (args.has("target") && args.get("target") != (*artifact)->target())
    return fail(str("'", model_path, "' was compiled for target ", (*artifact)->target(), ", not ", args.get("target")));
  std::unique_ptr<Graph> signature = signatureGraph(**artifact);
  auto inputs = benchInputs(args, signature->body(), model_path);
  if (!inputs.ok()) return fail(inputs.status());
  return benchModel(**artifact, model_path, "compiled", *inputs, runs, warmup, threads, load_ms, 0.0, args.has("profile"),
                    args.get("plot"));
}

// A compiled target from an ONNX/IR model: compile in memory for the inputs' shapes, then time.
int benchCompiled(const Args& args, const std::string& model_path, const std::string& target, int level, int runs,
                  int warmup, int threads) {
  if (args.has("trace")) return fail("--trace is available for the reference target only");
  Clock::time_point load_start = Clock::now();
  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  Clock::time_point compile_start = Clock::now();
  auto inputs = benchInputs(args, (*graph)->body(), model_path);
  if (!inputs.ok()) return fail(inputs.status());
  auto model = compileForInputs(**graph, target, level, args.getAll("input-shape"), *inputs);
  if (!model.ok()) return fail(str(model.status().message(), " (", model_path, ")"));
  double load_ms = toMs(compile_start - load_start), compile_ms = toMs(Clock::now() - compile_start);
  return benchModel(**model, model_path, std::to_string(level), *inputs, runs, warmup, threads, load_ms, compile_ms,
                    args.has("profile"), args.get("plot"));
}

}  // namespace

int runBench(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"target", "O", "input-shape", "runs", "warmup", "threads", "input", "trace", "plot"},
                          {"help", "profile"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("bench takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  std::string target = args->get("target", "reference");
  Status known = checkTarget(target);
  if (!known.ok()) return fail(known);
  if (args->has("plot")) {
    if (!args->has("profile")) return fail("--plot draws the profile: give --profile too");
    Status ok = checkPlotPath(args->get("plot"));
    if (!ok.ok()) return fail(ok);
  }
  auto runs = intOption(*args, "runs", 10, 1);
  auto warmup = intOption(*args, "warmup", 2, 0);
  auto threads = intOption(*args, "threads", 1, 1);
  for (const auto* opt : {&runs, &warmup, &threads})
    if (!opt->ok()) return fail(opt->status());
  if (isArtifactPath(model_path)) return benchArtifact(*args, model_path, *runs, *warmup, *threads);

  auto level = parseOptLevel(args->get("O", "2"));
  if (!level.ok()) return fail(level.status());
  if (target != "reference") return benchCompiled(*args, model_path, target, *level, *runs, *warmup, *threads);
  auto ctx = makePassContext(target, args->getAll("input-shape"));
  if (!ctx.ok()) return fail(ctx.status());

  Clock::time_point load_start = Clock::now();
  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  Clock::time_point compile_start = Clock::now();
  Status optimized = optimize(**graph, *ctx, *level);
  if (!optimized.ok()) return fail(str(optimized.message(), " (", model_path, ")"));
  double load_ms = toMs(compile_start - load_start), compile_ms = toMs(Clock::now() - compile_start);
  const Region& body = (*graph)->body();

  auto files = matchInputFiles(body, args->getAll("input"));
  if (!files.ok()) return fail(files.status());
  std::vector<DataValue> inputs;
  for (int i = 0; i < body.numArguments(); ++i) {
    const std::string& file = (*files)[static_cast<size_t>(i)];
    auto v = file.empty() ? randomInput(*body.argument(i), static_cast<uint64_t>(i) + 1)
                          : readInput(file, body.argument(i)->type());
    if (!v.ok()) return fail(str(v.status().message(), " (", file.empty() ? model_path : file, ")"));
    inputs.push_back(std::move(v).value());
  }

  ref::Interpreter interpreter(**graph);
  for (int i = 0; i < *warmup; ++i) {
    auto out = interpreter.run(inputs);
    if (!out.ok()) return fail(str(out.status().message(), " (", model_path, ")"));
  }
  // The observer is attached only for the timed runs; without --profile/--trace there is none.
  const bool profile = args->has("profile"), trace = args->has("trace");
  Recorder recorder(profile, trace);
  if (profile || trace) interpreter.setObserver(&recorder);
  std::vector<Recorder::Event> spans;
  std::vector<double> ms;
  for (int i = 0; i < *runs; ++i) {
    Clock::time_point start = Clock::now();
    auto out = interpreter.run(inputs);
    Clock::duration elapsed = Clock::now() - start;
    if (!out.ok()) return fail(str(out.status().message(), " (", model_path, ")"));
    spans.push_back({nullptr, start, elapsed});
    ms.push_back(toMs(elapsed));
  }

  if (trace) {
    Status s = recorder.writeTrace(args->get("trace"), spans.front().start, spans);
    if (!s.ok()) return fail(s);
  }
  if (profile) recorder.printProfile(std::cout, *runs);
  if (profile && args->has("plot")) {
    Status drawn = plotProfile(recorder.msByKind(*runs), str(baseName(model_path), " on reference: ms per run by op"), args->get("plot"));
    if (!drawn.ok()) return fail(drawn);
  }

  printResult(model_path, target, std::to_string(*level), *runs, *warmup, *threads, load_ms, compile_ms, ms);
  return 0;
}

}  // namespace dlc::cli
