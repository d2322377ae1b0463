// The textual IR printer: an MLIR-like form that the parser reads back exactly.
#include "ir/printer.h"

#include <cstdio>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ir/text_syntax.h"

namespace dlc {
namespace {

using text::formatFloat;
using text::isBareIdentifier;
using text::quoteString;

std::string nameOrQuoted(const std::string& s) { return isBareIdentifier(s) ? s : quoteString(s); }

// Type::toString(), except that dim symbols which are not identifiers are quoted so they read back.
std::string typeText(const Type& t) {
  if (t.kind != Type::Kind::Tensor) {
    std::string inner = t.element ? typeText(*t.element) : "?";
    return (t.isSequence() ? "seq<" : "opt<") + inner + ">";
  }
  std::string s = dtypeName(t.dtype);
  if (!t.shape.ranked) return s + "[*]";
  s += "[";
  for (size_t i = 0; i < t.shape.dims.size(); ++i) {
    const Dim& d = t.shape.dims[i];
    if (i) s += ",";
    s += d.isSymbolic() ? nameOrQuoted(d.symbol) : d.toString();
  }
  return s + "]";
}

class Printer {
 public:
  // `one_line`: printOp's mode, no naming pass and regions abbreviated.
  Printer(const PrintOptions& options, bool one_line) : opts_(options), one_line_(one_line) {}

  std::string graph(const Graph& g) {
    nameRegion(g.body());
    os_ << "graph @" << nameOrQuoted(g.name);
    if (!g.opset_imports.empty()) {
      os_ << " opsets {";
      bool first = true;
      for (const auto& [domain, version] : g.opset_imports) {
        os_ << (first ? "" : ", ") << quoteString(domain) << " = " << version;
        first = false;
      }
      os_ << "}";
    }
    if (!g.producer.empty()) os_ << " producer " << quoteString(g.producer);
    os_ << " ";
    region(g.body(), 0);
    os_ << "\n";
    return os_.str();
  }

  std::string op(const Op& o) {
    opLine(o, 0);
    return os_.str();
  }

  std::string opsGraph(const std::vector<const Op*>& ops, const std::vector<const Value*>& inputs,
                       const std::vector<const Value*>& outputs) {
    for (const Value* v : inputs) nameValue(v);
    for (const Op* o : ops) {
      for (int i = 0; i < o->numResults(); ++i) nameValue(o->result(i));
      for (const auto& [name, a] : o->attrs()) {
        if (a.g) nameRegion(*a.g);
        for (const auto& g : a.graphs)
          if (g) nameRegion(*g);
      }
    }
    os_ << "graph @step (";
    for (size_t i = 0; i < inputs.size(); ++i) os_ << (i ? ", " : "") << ref(inputs[i]) << ": " << typeText(inputs[i]->type());
    os_ << ") {\n";
    for (const Op* o : ops) {
      opLine(*o, 2);
      os_ << "\n";
    }
    os_ << "  return";
    for (size_t i = 0; i < outputs.size(); ++i) os_ << (i ? ", " : " ") << ref(outputs[i]);
    os_ << "\n}\n";
    return os_.str();
  }

 private:
  // Gives every value its printed name in print order: its own name when non-empty and not yet
  // taken in this graph, else the next fresh number. Deterministic, so reprinting a parsed graph
  // (where fresh-numbered values come back unnamed) gives the same text.
  void nameValue(const Value* v) {
    const std::string& n = v->name();
    if (!n.empty() && taken_.insert(n).second)
      names_[v] = "%" + nameOrQuoted(n);
    else
      names_[v] = "%" + std::to_string(fresh_++);
  }

  void nameRegion(const Region& r) {
    for (int i = 0; i < r.numArguments(); ++i) nameValue(r.argument(i));
    for (const auto& o : r.ops()) {
      for (int i = 0; i < o->numResults(); ++i) nameValue(o->result(i));
      for (const auto& [name, a] : o->attrs()) {
        if (a.g) nameRegion(*a.g);
        for (const auto& g : a.graphs)
          if (g) nameRegion(*g);
      }
    }
  }

  std::string ref(const Value* v) const {
    if (!v) return "_";
    auto it = names_.find(v);
    if (it != names_.end()) return it->second;
    if (one_line_ && !v->name().empty()) return "%" + nameOrQuoted(v->name());
    return one_line_ ? "%?" : "%\"<value outside this graph>\"";
  }

  void indent(int n) { os_ << std::string(static_cast<size_t>(n), ' '); }

  // `region(args) {...}` for attributes; the graph body uses the same form minus the keyword.
  void region(const Region& r, int ind) {
    os_ << "(";
    for (int i = 0; i < r.numArguments(); ++i)
      os_ << (i ? ", " : "") << ref(r.argument(i)) << ": " << typeText(r.argument(i)->type());
    os_ << ") {";
    if (one_line_) {
      os_ << " " << r.ops().size() << " ops }";
      return;
    }
    os_ << "\n";
    for (const auto& o : r.ops()) {
      opLine(*o, ind + 2);
      os_ << "\n";
    }
    indent(ind + 2);
    os_ << "return";
    for (int i = 0; i < r.numOutputs(); ++i) os_ << (i ? ", " : " ") << ref(r.output(i));
    os_ << "\n";
    indent(ind);
    os_ << "}";
  }

  void opLine(const Op& o, int ind) {
    indent(ind);
    for (int i = 0; i < o.numResults(); ++i) os_ << (i ? ", " : "") << ref(o.result(i));
    if (o.numResults() > 0) os_ << " = ";
    os_ << o.name() << "(";
    for (int i = 0; i < o.numOperands(); ++i) os_ << (i ? ", " : "") << ref(o.operand(i));
    os_ << ")";
    if (!o.attrs().empty()) {
      os_ << " {";
      bool first = true;
      for (const auto& [name, a] : o.attrs()) {
        os_ << (first ? "" : ", ") << nameOrQuoted(name) << " = ";
        attr(a, ind);
        first = false;
      }
      os_ << "}";
    }
    if (!o.location().empty()) os_ << " loc(" << quoteString(o.location()) << ")";
    if (o.numResults() > 0) {
      os_ << " : ";
      for (int i = 0; i < o.numResults(); ++i) os_ << (i ? ", " : "") << typeText(o.result(i)->type());
    }
  }

  void tensor(const Tensor& t) {
    if (!t.defined()) {
      os_ << "tensor<undef>";
      return;
    }
    os_ << "tensor<" << dtypeName(t.dtype()) << "[";
    for (int i = 0; i < t.rank(); ++i) os_ << (i ? "," : "") << t.dim(i);
    os_ << "]> ";
    if (opts_.elide_large_constants && t.numel() > opts_.elide_threshold) {
      os_ << "<elided>";
      return;
    }
    if (t.dtype() == DType::String) {
      os_ << "[";
      for (size_t i = 0; i < t.strings().size(); ++i) os_ << (i ? ", " : "") << quoteString(t.strings()[i]);
      os_ << "]";
      return;
    }
    // Raw little-endian bytes: exact for every dtype, including f16/bf16 and packed 4-bit types.
    static const char kHex[] = "0123456789abcdef";
    const auto* bytes = static_cast<const unsigned char*>(t.raw());
    size_t n = bytes ? t.nbytes() : 0;
    std::string hex = "0x";
    hex.reserve(2 + 2 * n);
    for (size_t i = 0; i < n; ++i) {
      hex += kHex[bytes[i] >> 4];
      hex += kHex[bytes[i] & 15];
    }
    os_ << hex;
  }

  template <typename T, typename Fn>
  void list(const std::vector<T>& items, Fn&& fn) {
    os_ << "[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) os_ << ", ";
      fn(items[i]);
    }
    os_ << "]";
  }

  void graphAttr(const std::shared_ptr<Region>& r, int ind) {
    if (!r) {
      os_ << "<null region>";
      return;
    }
    os_ << "region";
    region(*r, ind);
  }

  void attr(const Attribute& a, int ind) {
    switch (a.type) {
      case AttrType::Int: os_ << a.i; break;
      case AttrType::Float: os_ << formatFloat(a.f); break;
      case AttrType::String: os_ << quoteString(a.s); break;
      case AttrType::Tensor: tensor(a.t); break;
      case AttrType::Graph: graphAttr(a.g, ind); break;
      case AttrType::Ints: list(a.ints, [&](int64_t v) { os_ << v; }); break;
      case AttrType::Floats: list(a.floats, [&](float v) { os_ << formatFloat(v); }); break;
      case AttrType::Strings: list(a.strings, [&](const std::string& v) { os_ << quoteString(v); }); break;
      case AttrType::Tensors: list(a.tensors, [&](const Tensor& v) { tensor(v); }); break;
      case AttrType::Graphs: list(a.graphs, [&](const std::shared_ptr<Region>& r) { graphAttr(r, ind); }); break;
      case AttrType::TypeProto: os_ << typeText(a.type_value); break;
    }
  }

  const PrintOptions& opts_;
  bool one_line_;
  std::ostringstream os_;
  std::unordered_map<const Value*, std::string> names_;
  std::unordered_set<std::string> taken_;
  int fresh_ = 0;
};

}  // namespace

std::string printGraph(const Graph& graph, const PrintOptions& options) {
  return Printer(options, false).graph(graph);
}

std::string printOpsAsGraph(const std::vector<const Op*>& ops, const std::vector<const Value*>& inputs,
                            const std::vector<const Value*>& outputs) {
  return Printer(PrintOptions{}, false).opsGraph(ops, inputs, outputs);
}

std::string printOp(const Op& op) {
  PrintOptions options;
  options.elide_large_constants = true;  // error messages stay short
  return Printer(options, true).op(op);
}

}  // namespace dlc
