// Model-level ONNX export: option checks, the refusal of dlc's own ops, the ModelProto's header
// (IR version, producer, opset imports), external data, and files written atomically.
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "frontend/onnx/export_internal.h"
#include "frontend/onnx/exporter.h"
#include "ir/constant_value.h"

namespace dlc::onnx_export {
namespace {
namespace fs = std::filesystem;

// ONNX 1.10 introduced IR version 8 together with opset 15; opsets 13 and 14 are IR version 7.
int64_t irVersionFor(int64_t opset) { return opset >= 15 ? 8 : 7; }

Status checkOptions(const ExportOptions& o) {
  if (o.opset < kMinExportOpset || o.opset > kMaxExportOpset)
    return Status::error(str("opset ", o.opset, " is not supported for export (ai.onnx opsets ", kMinExportOpset, " to ",
                             kMaxExportOpset, " are)"));
  if (o.external_data_alignment < 1 || (o.external_data_alignment & (o.external_data_alignment - 1)) != 0)
    return Status::error(str("external data alignment ", o.external_data_alignment, " is not a power of two"));
  if (o.external_data_threshold < 0) return Status::error("external data threshold is negative");
  return Status::success();
}

// Every dlc-domain op at once, so one run of the unfuse pass is seen to be the whole fix.
Status refuseDlcOps(const Graph& g) {
  std::vector<std::string> found;
  walkOps(g.body(), [&](const Op* op) {
    if (std::string(op->info().domain) == "dlc") found.push_back(nodeWhere(*op));
  });
  if (found.empty()) return Status::success();
  std::string list;
  for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
  return Status::error(str(found.size(), " op", found.size() == 1 ? " has" : "s have",
                           " no ONNX form (dlc's fused ops): ", list,
                           "; run the unfuse pass first (`dlc opt --passes=unfuse`; `dlc export` runs it)"));
}

bool returnedByGraph(const Value* v, const Region& top) {
  for (const Use& u : v->uses())
    if (!u.user && u.region == &top) return true;
  return false;
}

// Bytes of the tensors that become initializers (what protobuf's 2 GB limit is about).
int64_t initializerBytes(const Graph& g) {
  int64_t total = 0;
  for (const auto& op : g.body().ops()) {
    if (op->kind() != OpKind::Constant || returnedByGraph(op->result(), g.body())) continue;
    const Type& t = op->result()->type();
    if (t.isTensor() && t.shape.isStatic() && t.dtype != DType::String)
      total += static_cast<int64_t>(dtypeStorageBytes(t.dtype, t.shape.numElements()));
  }
  return total;
}

Expected<std::string> build(const Graph& graph, ExportContext& ctx) {
  onnx::ModelProto model;
  model.set_ir_version(irVersionFor(ctx.opset));
  model.set_producer_name("dlc");
  DLC_RETURN_IF_ERROR(writeGraph(graph, ctx, model.mutable_graph()));
  auto* ai = model.add_opset_import();
  ai->set_domain("");
  ai->set_version(ctx.opset);
  for (const std::string& domain : ctx.domains) {  // the training domain has only version 1
    auto* o = model.add_opset_import();
    o->set_domain(domain);
    o->set_version(1);
  }
  const size_t size = model.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX))
    return Status::error(str("the model is ", size, " bytes, beyond protobuf's 2 GB limit even with its initializers "
                             "as external data"));
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Status::error("protobuf could not serialize the model");
  return bytes;
}

// Runs `fn` on a fresh context, turning exceptions into errors.
template <typename Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory while exporting");
  } catch (const std::exception& e) {
    std::string what = e.what();
    return Status::error(str("export failed: ", what.substr(0, what.find('\n'))));
  }
}

// Writes a file under `path + ".tmp"`; the caller renames it into place.
template <typename Fn>
Status writeTemp(const std::string& path, Fn&& fill) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Status::error(str("cannot write '", tmp, "'"));
  fill(out);
  out.close();
  if (!out) {
    std::remove(tmp.c_str());
    return Status::error(str("cannot write '", tmp, "'"));
  }
  return Status::success();
}

Status moveIntoPlace(const std::string& path) {
  const std::string tmp = path + ".tmp";
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::error(str("cannot replace '", path, "'"));
  }
  return Status::success();
}

// The tensors' bytes at their offsets, zero padding in between.
void writeExternal(std::ofstream& out, const ExternalData& ext) {
  static const char kZeros[4096] = {};
  int64_t at = 0;
  for (const auto& [t, offset] : ext.tensors) {
    for (int64_t pad = offset - at; pad > 0; pad -= static_cast<int64_t>(sizeof kZeros))
      out.write(kZeros, static_cast<std::streamsize>(std::min<int64_t>(pad, sizeof kZeros)));
    out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    at = offset + static_cast<int64_t>(t.nbytes());
  }
}

}  // namespace

Expected<std::string> exportModelBytes(const Graph& graph, const ExportOptions& options) {
  return guarded([&]() -> Expected<std::string> {
    DLC_RETURN_IF_ERROR(checkOptions(options));
    DLC_RETURN_IF_ERROR(refuseDlcOps(graph));
    if (options.external_data) return Status::error("external data needs a model file (export to a file instead)");
    const int64_t weights = initializerBytes(graph);
    if (weights > options.inline_limit_bytes)
      return Status::error(str("the initializers hold ", weights, " bytes, more than one ONNX file can (protobuf's 2 GB "
                               "limit): export to a file, which puts them in an external data file"));
    ExportContext ctx{options.opset, ValueNames(graph.body()), {}, {}};
    return build(graph, ctx);
  });
}

Status exportModelFile(const Graph& graph, const std::string& path, const ExportOptions& options) {
  return guarded([&]() -> Status {
    DLC_RETURN_IF_ERROR(checkOptions(options));
    DLC_RETURN_IF_ERROR(refuseDlcOps(graph));
    ExportContext ctx{options.opset, ValueNames(graph.body()), {}, {}};
    ExternalData& ext = ctx.external;
    ext.enabled = options.external_data || initializerBytes(graph) > options.inline_limit_bytes;
    ext.location = options.external_data_file.empty() ? fs::path(path).filename().string() + ".data"
                                                      : options.external_data_file;
    ext.threshold = options.external_data_threshold;
    ext.alignment = options.external_data_alignment;
    if (ext.enabled && (ext.location.find('/') != std::string::npos || ext.location == "." || ext.location == ".."))
      return Status::error(str("external data file '", ext.location, "' must be a file name in the model's folder"));
    DLC_ASSIGN_OR_RETURN(std::string bytes, build(graph, ctx));
    const std::string data_path = (fs::path(path).parent_path() / ext.location).string();
    const bool has_data = ext.enabled && !ext.tensors.empty();
    if (has_data) DLC_RETURN_IF_ERROR(writeTemp(data_path, [&](std::ofstream& out) { writeExternal(out, ext); }));
    Status s = writeTemp(path, [&](std::ofstream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
    if (!s.ok()) {
      if (has_data) std::remove((data_path + ".tmp").c_str());
      return s;
    }
    // The data first: a model file in place always finds complete data beside it.
    if (has_data) DLC_RETURN_IF_ERROR(moveIntoPlace(data_path));
    return moveIntoPlace(path);
  });
}

}  // namespace dlc::onnx_export
