// Helpers for the ONNX export tests: textual-IR models, round trips through ONNX bytes, the
// printed IR to compare, and reference-interpreter runs.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "backends/reference/interpreter.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace dlc::export_test {

inline std::unique_ptr<Graph> parse(const std::string& text) {
  auto g = parseGraph(text, "test.dlcir");
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(*g) : nullptr;
}

inline Expected<std::unique_ptr<Graph>> roundTrip(const Graph& g, const onnx_export::ExportOptions& options = {}) {
  DLC_ASSIGN_OR_RETURN(std::string bytes, onnx_export::exportModelBytes(g, options));
  return onnx_import::importModelBytes(bytes, "exported.onnx", "");
}

inline onnx::ModelProto exportProto(const Graph& g, const onnx_export::ExportOptions& options = {}) {
  onnx::ModelProto m;
  auto bytes = onnx_export::exportModelBytes(g, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (bytes.ok()) EXPECT_TRUE(m.ParseFromString(*bytes));
  return m;
}

// The printed IR with the header's opsets and producer left out (export writes its own), and
// ONNX shape inference's placeholder symbols for unknown dims (unk__0, ...), which the importer
// takes over from ONNX's inference, read as the unknown dims they stand for.
inline std::string canonical(Graph& g) {
  g.opset_imports.clear();
  g.producer.clear();
  return std::regex_replace(printGraph(g), std::regex("unk__[0-9]+"), "?");
}

// Random inputs in [-2, 2) (integers 0..2, valid indices for dims of 3; bools and strings
// alternating) for every graph input.
inline std::vector<ref::RtValue> randomInputs(const Graph& g, unsigned seed = 5) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<ref::RtValue> in;
  for (int i = 0; i < g.body().numArguments(); ++i) {
    const Type& t = g.body().argument(i)->type();
    std::vector<int64_t> shape = t.shape.staticSizes();
    for (int64_t& d : shape)
      if (d < 0) d = 2;
    Tensor x(t.dtype, shape);
    for (int64_t k = 0; k < x.numel(); ++k) {
      if (t.dtype == DType::String) x.strings()[static_cast<size_t>(k)] = k % 2 ? "a" : "word";
      else if (isFloat(t.dtype)) x.setDouble(k, dist(rng));
      else if (t.dtype == DType::Bool) x.setInt(k, k % 2);
      else x.setInt(k, static_cast<int64_t>(rng() % 3));
    }
    in.push_back(ref::RtValue::ofTensor(x));
  }
  return in;
}

inline std::vector<Tensor> run(const Graph& g, const std::vector<ref::RtValue>& in) {
  auto outs = ref::Interpreter(g).run(in);
  EXPECT_TRUE(outs.ok()) << outs.status().message();
  std::vector<Tensor> r;
  if (outs.ok())
    for (auto& o : *outs) r.push_back(o.tensor);
  return r;
}

// max |want - got| / max |want| over all outputs (shapes and dtypes must match; strings exactly).
inline double relativeError(const std::vector<Tensor>& want, const std::vector<Tensor>& got) {
  EXPECT_EQ(want.size(), got.size());
  double worst = 0;
  for (size_t o = 0; o < want.size() && o < got.size(); ++o) {
    EXPECT_EQ(want[o].shape(), got[o].shape()) << "output " << o;
    EXPECT_EQ(want[o].dtype(), got[o].dtype()) << "output " << o;
    if (want[o].shape() != got[o].shape() || want[o].dtype() != got[o].dtype()) return INFINITY;
    if (want[o].dtype() == DType::String) {
      if (want[o].strings() != got[o].strings()) return INFINITY;
      continue;
    }
    double max_abs = 0, max_err = 0;
    for (int64_t i = 0; i < want[o].numel(); ++i) {
      max_abs = std::max(max_abs, std::fabs(want[o].getDouble(i)));
      max_err = std::max(max_err, std::fabs(want[o].getDouble(i) - got[o].getDouble(i)));
    }
    worst = std::max(worst, max_abs > 0 ? max_err / max_abs : max_err);
  }
  return worst;
}

inline const onnx::NodeProto* findNode(const onnx::GraphProto& g, const std::string& op_type) {
  for (const auto& n : g.node())
    if (n.op_type() == op_type) return &n;
  return nullptr;
}

inline std::vector<std::string> opTypes(const onnx::GraphProto& g) {
  std::vector<std::string> out;
  for (const auto& n : g.node()) out.push_back(n.op_type());
  return out;
}

inline const onnx::AttributeProto* findAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

}  // namespace dlc::export_test
