// `dlc inspect`: a model's signature, op counts and weight size as text, JSON or Graphviz dot.
#include <iostream>
#include <map>
#include <sstream>

#include "tools/cli.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc inspect MODEL(.onnx|.dlcir) [--format text|json|dot] [--target T] [-O0..3]\n"
    "\n"
    "Prints, for the graph after the target's default pipeline (-O0: as imported), the model's\n"
    "inputs and outputs (name, dtype, shape), the number of ops of each kind and the bytes of\n"
    "constant weights. --format dot prints the op graph for Graphviz.\n"
    "\n"
    "  --target T             reference (default), cpu, onednn, cuda\n"
    "  --input-shape N=AxBxC  specialise input N's symbolic dims first\n";

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

struct Summary {
  std::map<std::string, int> op_counts;
  int64_t weights_bytes = 0;
  int total_ops = 0;
};

Summary summarize(const Graph& g) {
  Summary s;
  walkOps(g.body(), [&](const Op* op) {
    s.op_counts[op->name()]++;
    s.total_ops++;
    if (op->kind() == OpKind::Constant)
      if (const Attribute* a = op->attr("value"); a && a->type == AttrType::Tensor) s.weights_bytes += static_cast<int64_t>(a->t.nbytes());
  });
  return s;
}

std::string jsonShape(const Type& t) {
  if (!t.isTensor() || !t.shape.ranked) return "null";
  std::string out = "[";
  for (size_t i = 0; i < t.shape.dims.size(); ++i) {
    const Dim& d = t.shape.dims[i];
    out += i ? ", " : "";
    out += d.isStatic() ? std::to_string(d.value) : jsonString(d.toString());
  }
  return out + "]";
}

std::string jsonValues(const std::vector<const Value*>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    const Type& t = values[i]->type();
    out += str(i ? ", " : "", "{\"name\": ", jsonString(values[i]->name()), ", \"type\": ", jsonString(t.toString()),
               ", \"dtype\": ", t.isTensor() ? jsonString(dtypeName(t.dtype)) : "null", ", \"shape\": ", jsonShape(t),
               "}");
  }
  return out + "]";
}

void printJson(const Graph& g) {
  Summary s = summarize(g);
  std::vector<const Value*> ins, outs;
  for (int i = 0; i < g.body().numArguments(); ++i) ins.push_back(g.body().argument(i));
  for (Value* v : g.body().outputs()) outs.push_back(v);
  std::cout << "{\n  \"ops\": {";
  bool first = true;
  for (const auto& [name, n] : s.op_counts) {
    std::cout << (first ? "" : ", ") << jsonString(name) << ": " << n;
    first = false;
  }
  std::cout << "},\n  \"total_ops\": " << s.total_ops << ",\n  \"weights_bytes\": " << s.weights_bytes
            << ",\n  \"inputs\": " << jsonValues(ins) << ",\n  \"outputs\": " << jsonValues(outs) << "\n}\n";
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
  std::cout << "ops: " << s.total_ops << "\n";
  for (const auto& [name, n] : s.op_counts) std::cout << "  " << name << ": " << n << "\n";
  std::cout << "weights: " << s.weights_bytes << " bytes\n";
}

void printDot(const Graph& g) {
  std::map<const Value*, std::string> producer;
  std::cout << "digraph dlc {\n  rankdir=TB;\n  node [shape=box, fontsize=10];\n";
  for (int i = 0; i < g.body().numArguments(); ++i) {
    std::string id = str("in", i);
    producer[g.body().argument(i)] = id;
    std::cout << "  " << id << " [shape=ellipse, label=" << jsonString(g.body().argument(i)->name()) << "];\n";
  }
  int n = 0;
  for (const auto& op : g.body().ops()) {
    std::string id = str("op", n++);
    if (op->kind() == OpKind::Constant) {
      for (int r = 0; r < op->numResults(); ++r) producer[op->result(r)] = "";
      continue;  // weights would drown the picture
    }
    std::cout << "  " << id << " [label=" << jsonString(str(op->name(), "\\n", op->location())) << "];\n";
    for (Value* v : op->operands()) {
      auto it = v ? producer.find(v) : producer.end();
      if (it != producer.end() && !it->second.empty())
        std::cout << "  " << it->second << " -> " << id << " [label=" << jsonString(v->type().toString()) << "];\n";
    }
    for (int r = 0; r < op->numResults(); ++r) producer[op->result(r)] = id;
  }
  for (size_t i = 0; i < g.body().outputs().size(); ++i) {
    const Value* v = g.body().outputs()[i];
    std::cout << "  out" << i << " [shape=ellipse, label=" << jsonString(v->name()) << "];\n";
    auto it = producer.find(v);
    if (it != producer.end() && !it->second.empty()) std::cout << "  " << it->second << " -> out" << i << ";\n";
  }
  std::cout << "}\n";
}

}  // namespace

int runInspect(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"format", "target", "O", "input-shape"}, {"help"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("inspect takes exactly one MODEL (see --help)");
  std::string format = args->get("format", "text");
  if (format != "text" && format != "json" && format != "dot")
    return fail(str("unknown format '", format, "' (expected text, json or dot)"));
  auto level = parseOptLevel(args->get("O", "2"));
  if (!level.ok()) return fail(level.status());
  auto ctx = makePassContext(args->get("target", "reference"), args->getAll("input-shape"));
  if (!ctx.ok()) return fail(ctx.status());
  auto graph = loadModel(args->positional()[0]);
  if (!graph.ok()) return fail(graph.status());
  Status optimized = optimize(**graph, *ctx, *level);
  if (!optimized.ok()) return fail(str(optimized.message(), " (", args->positional()[0], ")"));
  if (format == "json")
    printJson(**graph);
  else if (format == "dot")
    printDot(**graph);
  else
    printText(**graph);
  return 0;
}

}  // namespace dlc::cli
