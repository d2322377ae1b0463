// `dlc inspect`: a model's signature, op counts and weight size as text, JSON, Graphviz dot or SVG.
#include <iostream>
#include <map>
#include <sstream>

#include "passes/explain.h"
#include "passes/memory_planner.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/external.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc inspect MODEL(.onnx|.dlcir|.dlc) [--format text|json|dot|svg] [-o FILE] [--target T] [-O0..3]\n"
    "                   [--unfused]\n"
    "\n"
    "Prints, for the graph after the target's default pipeline (-O0: as imported), the model's\n"
    "inputs and outputs (name, dtype, shape), the number of ops of each kind and the bytes of\n"
    "constant weights. --format dot prints the op graph for Graphviz; --format svg draws it\n"
    "(with Graphviz's dot). Fused ops are drawn filled, labelled with what they fuse.\n"
    "\n"
    "  -o, --output FILE      write there (atomically) instead of to stdout\n"
    "  --target T             reference (default), cpu, onednn, cuda\n"
    "  --input-shape N=AxBxC  specialise input N's symbolic dims first; without it, symbolic\n"
    "                         dims are taken as 1 for the report (listed as assumed_dims)\n"
    "  --unfused              (text) also list the ops LayerNorm/GELU/attention recognition\n"
    "                         looks for that remain (Softmax, ReduceMean, Erf, Tanh, Pow, Sqrt,\n"
    "                         Reciprocal) with their node names, and why each pattern that\n"
    "                         found a candidate declined it; symbolic dims stay symbolic\n"
    "                         (DLC_EXPLAIN=1 prints the same to stderr from any command)\n"
    "\n"
    "Op counts leave out Constant ops (weights). The arena is the memory plan's: intermediates\n"
    "that are not graph outputs, placed by liveness in one 64-byte-aligned buffer.\n"
    "\n"
    "For a .dlc artifact (text or json): format version, producer, target, required CPU\n"
    "features, signature, steps per kernel library/kernel, weights and the session arena size.\n";

// Op counts leave Constant ops out: they are weights, reported as bytes and a count of their own.
struct Summary {
  std::map<std::string, int> op_counts;
  int total_ops = 0;
  int constants = 0;
  MemoryPlan plan;
};

Summary summarize(const Graph& g) {
  Summary s;
  walkOps(g.body(), [&](const Op* op) {
    if (op->kind() == OpKind::Constant) {
      s.constants++;
      return;
    }
    s.op_counts[op->name()]++;
    s.total_ops++;
  });
  s.plan = g.memory_plan ? *g.memory_plan : passes::planMemory(g);
  return s;
}

std::string jsonShape(const Type& t) {
  if (!t.isTensor() || !t.shape.ranked) return "null";
  std::string out = "[";
  for (size_t i = 0; i < t.shape.dims.size(); ++i) {
    const Dim& d = t.shape.dims[i];
    out += i ? ", " : "";
    out += d.isStatic() ? std::to_string(d.value) : jsonQuote(d.toString());
  }
  return out + "]";
}

std::string jsonValues(const std::vector<const Value*>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    const Type& t = values[i]->type();
    out += str(i ? ", " : "", "{\"name\": ", jsonQuote(values[i]->name()), ", \"type\": ", jsonQuote(t.toString()),
               ", \"dtype\": ", t.isTensor() ? jsonQuote(dtypeName(t.dtype)) : "null", ", \"shape\": ", jsonShape(t),
               "}");
  }
  return out + "]";
}

void printJson(const Graph& g, const std::map<std::string, int64_t>& assumed) {
  Summary s = summarize(g);
  std::vector<const Value*> ins, outs;
  for (int i = 0; i < g.body().numArguments(); ++i) ins.push_back(g.body().argument(i));
  for (Value* v : g.body().outputs()) outs.push_back(v);
  std::cout << "{\n  \"ops\": {";
  bool first = true;
  for (const auto& [name, n] : s.op_counts) {
    std::cout << (first ? "" : ", ") << jsonQuote(name) << ": " << n;
    first = false;
  }
  std::cout << "},\n  \"total_ops\": " << s.total_ops << ",\n  \"constants\": " << s.constants
            << ",\n  \"weights_bytes\": " << s.plan.weights_bytes << ",\n  \"arena_bytes\": " << s.plan.arena_bytes
            << ",\n  \"intermediate_bytes\": " << s.plan.intermediate_bytes
            << ",\n  \"in_place\": " << s.plan.in_place
            << ",\n  \"dynamic_intermediates\": " << s.plan.dynamic_values.size() << ",\n  \"assumed_dims\": {";
  first = true;
  for (const auto& [sym, v] : assumed) {
    std::cout << (first ? "" : ", ") << jsonQuote(sym) << ": " << v;
    first = false;
  }
  std::cout << "},\n  \"inputs\": " << jsonValues(ins) << ",\n  \"outputs\": " << jsonValues(outs) << "\n}\n";
}

void printText(const Graph& g) {
  Summary s = summarize(g);
  std::cout << "graph @" << g.name;
  if (!g.producer.empty()) std::cout << " (producer: " << g.producer << ")";
  std::cout << "\ninputs:\n";
  for (int i = 0; i < g.body().numArguments(); ++i)
    std::cout << "  " << g.body().argument(i)->name() << ": " << g.body().argument(i)->type().toString() << "\n";
  std::cout << "outputs:\n";
  for (Value* v : g.body().outputs()) std::cout << "  " << v->name() << ": " << v->type().toString() << "\n";
  std::cout << "ops: " << s.total_ops << " (and " << s.constants << " constants)\n";
  for (const auto& [name, n] : s.op_counts) std::cout << "  " << name << ": " << n << "\n";
  std::cout << "weights: " << s.plan.weights_bytes << " bytes\n";
  std::cout << "arena: " << s.plan.arena_bytes << " bytes for " << s.plan.intermediate_bytes
            << " bytes of intermediates (" << s.plan.in_place << " in place, " << s.plan.dynamic_values.size()
            << " sized at run time)\n";
}

// What a fused op computes, for its picture: "Conv + bias + residual + relu", the ops of a
// FusedElementwise body, an Attention's heads.
std::string fusedLabel(const Op& op) {
  auto activation = [&](std::string s) {
    const Attribute* a = op.attr("activation");
    if (a && a->s != "none") s += " + " + a->s;
    return s;
  };
  switch (op.kind()) {
    case OpKind::FusedConv:
      return activation(str("Conv", op.operand(2) ? " + bias" : "", op.operand(3) ? " + residual" : ""));
    case OpKind::FusedMatMul:
      return activation(str("MatMul", op.operand(2) ? " + bias" : "", op.operand(3) ? " + residual" : ""));
    case OpKind::FusedElementwise: {
      std::string body;
      int n = 0;
      for (Region* r : op.regions())
        for (const auto& inner : r->ops())
          if (inner->kind() != OpKind::Constant && n++ < 8) body += str(body.empty() ? "" : " ", inner->name());
      return n > 8 ? str(body, " ... (", n, " ops)") : body;
    }
    case OpKind::Attention: {
      const Attribute* h = op.attr("num_heads");
      return str("softmax(QK^T) V", h ? str(", ", h->i, " heads") : "", op.operand(3) ? ", masked" : "");
    }
    default:
      return "";
  }
}

// `s` as a Graphviz string: quotes and backslashes escaped, line breaks as dot's \n.
std::string dotQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

std::string dotGraph(const Graph& g) {
  std::ostringstream out;
  std::map<const Value*, std::string> producer;
  out << "digraph dlc {\n  rankdir=TB;\n  node [shape=box, fontsize=10];\n";
  for (int i = 0; i < g.body().numArguments(); ++i) {
    std::string id = str("in", i);
    producer[g.body().argument(i)] = id;
    out << "  " << id << " [shape=ellipse, label=" << dotQuote(g.body().argument(i)->name()) << "];\n";
  }
  int n = 0;
  for (const auto& op : g.body().ops()) {
    std::string id = str("op", n++);
    if (op->kind() == OpKind::Constant) {
      for (int r = 0; r < op->numResults(); ++r) producer[op->result(r)] = "";
      continue;  // weights would drown the picture
    }
    const bool fused = std::string(op->info().domain) == "dlc";
    std::string what = fused ? fusedLabel(*op) : "";
    out << "  " << id << " [label=" << dotQuote(str(op->name(), what.empty() ? "" : "\n" + what, "\n", op->location()))
        << (fused ? ", style=filled, fillcolor=\"#cfe2ff\"" : "") << "];\n";
    for (Value* v : op->operands()) {
      auto it = v ? producer.find(v) : producer.end();
      if (it != producer.end() && !it->second.empty())
        out << "  " << it->second << " -> " << id << " [label=" << dotQuote(v->type().toString()) << "];\n";
    }
    for (int r = 0; r < op->numResults(); ++r) producer[op->result(r)] = id;
  }
  for (size_t i = 0; i < g.body().outputs().size(); ++i) {
    const Value* v = g.body().outputs()[i];
    out << "  out" << i << " [shape=ellipse, label=" << dotQuote(v->name()) << "];\n";
    auto it = producer.find(v);
    if (it != producer.end() && !it->second.empty()) out << "  " << it->second << " -> out" << i << ";\n";
  }
  out << "}\n";
  return out.str();
}

// --input-shape specs that set every symbolic dim of the graph inputs to 1 (inputs with unknown
// dims are left alone), recording the symbols in `assumed`.
std::vector<std::string> assumeSymbolicDimsAreOne(const Graph& g, std::map<std::string, int64_t>* assumed) {
  std::vector<std::string> specs;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    const Value* arg = g.body().argument(i);
    const Type& t = arg->type();
    if (!t.isTensor() || !t.shape.ranked || t.shape.isStatic()) continue;
    std::string dims;
    bool ok = true;
    for (const Dim& d : t.shape.dims) {
      if (!d.isStatic() && !d.isSymbolic()) ok = false;
      if (d.isSymbolic()) (*assumed)[d.symbol] = 1;
      dims += str(dims.empty() ? "" : "x", d.isStatic() ? d.value : 1);
    }
    if (ok) specs.push_back(str(arg->name(), "=", dims));
  }
  return specs;
}

}  // namespace

int runInspect(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"format", "target", "O", "input-shape", "output"}, {"help", "unfused"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("inspect takes exactly one MODEL (see --help)");
  std::string format = args->get("format", "text");
  if (format != "text" && format != "json" && format != "dot" && format != "svg")
    return fail(str("unknown format '", format, "' (expected text, json, dot or svg)"));
  const std::string out_path = args->get("output");
  const bool unfused = args->has("unfused");
  if (unfused && format != "text") return fail("--unfused is a text report (drop --format)");
  if (isArtifactPath(args->positional()[0])) {
    if (!out_path.empty()) return fail("-o applies to models, not to .dlc artifacts (redirect stdout)");
    return inspectArtifact(args->positional()[0], format);
  }
  auto level = parseOptLevel(args->get("O", "2"));
  if (!level.ok()) return fail(level.status());
  auto graph = loadModel(args->positional()[0]);
  if (!graph.ok()) return fail(graph.status());
  std::vector<std::string> shapes = args->getAll("input-shape");
  std::map<std::string, int64_t> assumed;
  // Recognition depends on the dims (a length of 1 changes what folds), so the unfused report
  // keeps them symbolic.
  if (shapes.empty() && *level > 0 && !unfused) shapes = assumeSymbolicDimsAreOne(**graph, &assumed);
  auto ctx = makePassContext(args->get("target", "reference"), shapes);
  if (!ctx.ok()) return fail(ctx.status());
  std::vector<passes::Decline> declines;
  if (unfused) passes::setExplainSink(&declines);
  Status optimized = optimize(**graph, *ctx, *level);
  passes::setExplainSink(nullptr);
  if (!optimized.ok()) return fail(str(optimized.message(), " (", args->positional()[0], ")"));
  if (format == "svg") {
    Status drawn = renderDot(dotGraph(**graph), out_path);
    return drawn.ok() ? 0 : fail(drawn);
  }
  // The text reports go through a buffer so that -o writes them whole or not at all.
  std::ostringstream text;
  std::streambuf* saved = std::cout.rdbuf(text.rdbuf());
  if (format == "json")
    printJson(**graph, assumed);
  else if (format == "dot")
    std::cout << dotGraph(**graph);
  else
    printText(**graph);
  if (unfused) {
    const std::string report = passes::unfusedReport(**graph, declines);
    std::cout << (report.empty() ? "unfused: none (no op that recognition looks for remains)\n" : report);
  }
  std::cout.rdbuf(saved);
  if (out_path.empty()) {
    std::cout << text.str();
    return 0;
  }
  Status written = writeFileAtomically(out_path, text.str());
  return written.ok() ? 0 : fail(written);
}

}  // namespace dlc::cli
