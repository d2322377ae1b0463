// Model-level import: parse and validate the ModelProto, list every unsupported op at once, run
// the ONNX checker and ONNX shape inference, then build the IR graph.
#include <filesystem>
#include <set>
#include <string>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "frontend/onnx/importer.h"
#include "frontend/onnx/onnx_internal.h"

namespace dlc::onnx_import {
namespace {

constexpr int64_t kMinAiOnnxOpset = 7;
constexpr int64_t kMaxAiOnnxOpset = 17;

std::string firstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.empty() ? std::string("unknown error") : line;
}

std::map<std::string, int64_t> opsetMap(const onnx::ModelProto& model) {
  std::map<std::string, int64_t> m;
  for (const auto& o : model.opset_import()) m[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
  return m;
}

// An ai.onnx node of an opset below 7 is still supported when its op did not change between that
// opset and 7 (same schema version, e.g. Relu-6 or Softplus-1): the upgrade rules then apply as
// for opset 7. Ops that did change are supported where upgrade_legacy.cc has a rule.
bool unchangedUpToOpset7(const std::string& op_type, int64_t version) {
  try {
    const auto* old_schema = onnx::OpSchemaRegistry::Schema(op_type, static_cast<int>(version), "");
    const auto* v7 = onnx::OpSchemaRegistry::Schema(op_type, static_cast<int>(kMinAiOnnxOpset), "");
    return old_schema && v7 && old_schema->since_version() == v7->since_version();
  } catch (...) {
    return false;
  }
}

// Walks nodes in the importer's order (a node, then its subgraphs) so unnamed nodes get the same
// "<op_type>_<index>" names in both.
void scanUnsupported(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets,
                     std::vector<std::string>& out, int& counter) {
  for (const auto& node : g.node()) {
    std::string loc = node.name().empty() ? str(node.op_type(), "_", counter) : node.name();
    ++counter;
    std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    auto it = opsets.find(domain);
    int64_t v = it == opsets.end() ? -1 : it->second;
    auto kind = opKindFromName(node.op_type(), domain);
    bool bad = (!kind && !isExpandedContribOp(domain, node.op_type())) || v < 0;
    if (domain.empty())
      bad = bad || v > kMaxAiOnnxOpset ||
            (v < kMinAiOnnxOpset && !unchangedUpToOpset7(node.op_type(), v) && !legacyFormSupported(node.op_type(), v));
    if (domain == "ai.onnx.preview.training") bad = bad || v != 1;
    if (bad)
      out.push_back(str(node.op_type(), " (domain ", domain.empty() ? "ai.onnx" : domain, ", opset ",
                        v < 0 ? std::string("not imported") : std::to_string(v), ", node '", loc, "')"));
    for (const auto& a : node.attribute()) {
      if (a.has_g()) scanUnsupported(a.g(), opsets, out, counter);
      for (const auto& sub : a.graphs()) scanUnsupported(sub, opsets, out, counter);
    }
  }
}

// ONNX 1.12's inference functions of some ops read out of bounds on malformed nodes (crashes
// found by fuzz/onnx_import): the convolutions (Conv, ConvInteger, QLinearConv, ConvTranspose)
// index W's kernel shape by X's spatial dims, STFT assumes a rank-3 signal, LayerNormalization a
// ranked input of at least its axis, and Gemm two matrices. On the inference
// copy those nodes get an op type ONNX does not know, so it skips them; dlc's own inference types
// their results.
void hideFromOnnxInference(onnx::GraphProto* g) {
  static const std::set<std::string> hidden = {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "STFT",
                                                "LayerNormalization", "Gemm"};
  for (auto& node : *g->mutable_node()) {
    if (hidden.count(node.op_type()) && (node.domain().empty() || node.domain() == "ai.onnx"))
      node.set_op_type("dlc.NotInferredByOnnx");
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_g()) hideFromOnnxInference(a.mutable_g());
      for (auto& sub : *a.mutable_graphs()) hideFromOnnxInference(&sub);
    }
  }
}

// Runs ONNX shape inference on a copy whose large initializers carry no data (inference needs
// only their types), so a big model is not duplicated in memory. Failure is not an error: our
// own inference may not need its help.
std::unique_ptr<onnx::ModelProto> onnxInferredCopy(onnx::ModelProto& model) {
  auto* inits = model.mutable_graph()->mutable_initializer();
  google::protobuf::RepeatedPtrField<onnx::TensorProto> saved;
  saved.Swap(inits);
  for (const auto& t : saved) {
    int64_t n = 1;
    for (int64_t d : t.dims()) n = d > 0 && n < (int64_t{1} << 40) ? n * d : n;
    if (n <= 4096 && t.data_location() != onnx::TensorProto::EXTERNAL) {
      *inits->Add() = t;
    } else {
      onnx::TensorProto* stub = inits->Add();
      stub->set_name(t.name());
      stub->set_data_type(t.data_type());
      *stub->mutable_dims() = t.dims();
    }
  }
  auto copy = std::make_unique<onnx::ModelProto>(model);
  inits->Swap(&saved);
  hideFromOnnxInference(copy->mutable_graph());
  try {
    onnx::shape_inference::InferShapes(*copy);
  } catch (...) {
    return nullptr;
  }
  return copy;
}

bool typeLeavesSomethingUnknown(const Type& t) {
  if (!t.isTensor()) return !t.element || typeLeavesSomethingUnknown(*t.element);
  if (t.dtype == DType::Undefined || !t.shape.ranked) return true;
  for (const Dim& d : t.shape.dims)
    if (!d.isStatic() && !d.isSymbolic()) return true;
  return false;
}

bool leavesTypesUnknown(const Graph& g) {
  bool unknown = false;
  walkOps(g.body(), [&](const Op* op) {
    for (int i = 0; i < op->numResults() && !unknown; ++i)
      unknown = !op->result(i)->name().empty() && typeLeavesSomethingUnknown(op->result(i)->type());
  });
  return unknown;
}

bool usesExternalData(const onnx::GraphProto& g) {
  for (const auto& t : g.initializer())
    if (t.data_location() == onnx::TensorProto::EXTERNAL) return true;
  for (const auto& node : g.node())
    for (const auto& a : node.attribute()) {
      if (a.has_t() && a.t().data_location() == onnx::TensorProto::EXTERNAL) return true;
      if (a.has_g() && usesExternalData(a.g())) return true;
      for (const auto& sub : a.graphs())
        if (usesExternalData(sub)) return true;
    }
  return false;
}

Status parseModel(const std::string& bytes, onnx::ModelProto& model) {
  if (bytes.empty()) return Status::error("file is empty");
  if (!parseProto(bytes, &model))
    return Status::error("not a valid ONNX model (protobuf parse failed: the file is truncated or corrupt)");
  if (!model.has_graph()) return Status::error("not a valid ONNX model (no graph)");
  if (model.ir_version() <= 0) return Status::error("not a valid ONNX model (ir_version is missing)");
  if (model.ir_version() < 3)
    return Status::error(str("IR version ", model.ir_version(), " is too old (opset imports need IR version 3)"));
  return Status::success();
}

Expected<std::unique_ptr<Graph>> importImpl(const std::string& bytes, const std::string& base_dir) {
  onnx::ModelProto model;
  DLC_RETURN_IF_ERROR(parseModel(bytes, model));
  std::map<std::string, int64_t> opsets = opsetMap(model);
  std::vector<std::string> unsupported;
  int counter = 0;
  scanUnsupported(model.graph(), opsets, unsupported, counter);
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& u : unsupported) list += (list.empty() ? "" : ", ") + u;
    return Status::error(str(unsupported.size(), " unsupported op", unsupported.size() == 1 ? "" : "s", ": ", list,
                             " (ai.onnx opsets ", kMinAiOnnxOpset, " to ", kMaxAiOnnxOpset,
                             " are supported, older ones for ops unchanged since ", kMinAiOnnxOpset,
                             " or with an upgrade rule)"));
  }
  // The checker resolves external data against the working directory, so models using it are
  // checked by our own reader instead; it also refuses IR versions newer than its own (8), which
  // newer exporters write even for opsets we support.
  if (!usesExternalData(model.graph()) && model.ir_version() <= onnx::IR_VERSION) {
    try {
      onnx::checker::check_model(model);
    } catch (const std::exception& e) {
      return Status::error(str("invalid model: ", firstLine(e.what())));
    }
  }
  // ONNX 1.12's inference functions trust their inputs (the crashes above), so a model first has
  // to import on dlc's own inference, whose checks it then has passed. Only where that leaves a
  // dim, rank or dtype unknown is ONNX asked to fill it in (e.g. an LSTM export's Expand whose
  // shape ONNX's inference traces through).
  auto own = buildGraph(model, base_dir, nullptr);
  if (!own.ok() || !leavesTypesUnknown(*own.value())) return own;
  std::unique_ptr<onnx::ModelProto> inferred = onnxInferredCopy(model);
  if (!inferred) return own;
  auto helped = buildGraph(model, base_dir, inferred.get());
  return helped.ok() ? std::move(helped) : std::move(own);
}

}  // namespace

// Names taken from a hostile file may hold newlines; errors stay on one line.
Status oneLine(const Status& s) {
  std::string m;
  for (char c : s.message()) {
    if (c == '\n') m += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) m += '?';
    else m += c;
  }
  return Status::error(m);
}

Expected<std::unique_ptr<Graph>> importModelBytes(const std::string& bytes, const std::string& source_name,
                                                  const std::string& base_dir) {
  const std::string source = source_name.empty() ? std::string("<model>") : source_name;
  try {
    auto g = importImpl(bytes, base_dir);
    if (!g.ok()) return oneLine(g.status().withContext(source));
    return g;
  } catch (const std::bad_alloc&) {
    return Status::error(str(source, ": out of memory"));
  } catch (const std::exception& e) {
    return oneLine(Status::error(str(source, ": ", firstLine(e.what()))));
  } catch (...) {
    return Status::error(str(source, ": unknown error while importing"));
  }
}

Expected<std::unique_ptr<Graph>> importModelFile(const std::string& path) {
  DLC_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  return importModelBytes(bytes, path, dir.empty() ? "." : dir);
}

Status readModelMetadata(const std::string& path, Graph* graph) {
  DLC_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(path));
  onnx::ModelProto model;
  try {
    DLC_RETURN_IF_ERROR(parseModel(bytes, model).withContext(path));
  } catch (const std::exception& e) {
    return Status::error(str(path, ": ", firstLine(e.what())));
  }
  fillModelMetadata(model, *graph);
  return Status::success();
}

}  // namespace dlc::onnx_import
