// Lays an optimized graph out as a .dlc FlatBuffer (runtime/schema/dlc.fbs) behind the file header.
#include "backends/artifact_writer.h"

#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <set>

#include "ir/constant_value.h"
#include "ir/dtype_onnx.h"
#include "passes/memory_planner.h"
#include "runtime/schema/dlc_generated.h"
#include "runtime/src/file_header.h"

namespace dlc::backends {
namespace {

constexpr uint64_t kAlign = 64;
uint64_t alignUp(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// The artifact carries tensors of numeric types only; say which value is not one.
Status checkCarried(const Value& v, const Op* op) {
  const Type& t = v.type();
  std::string where = op ? str(" (", op->name(), " '", op->location(), "')") : std::string(" (graph input)");
  if (!t.isTensor())
    return Status::error(str("value '", v.name(), "'", where, " has type ", t.toString(),
                             ": .dlc artifacts carry tensors only at the top level (sequences and optionals inside "
                             "If/Loop/Scan bodies are fine)"));
  if (t.dtype == DType::String)
    return Status::error(str("value '", v.name(), "'", where, " is a string tensor, which .dlc artifacts do not carry"));
  return Status::success();
}

// A weight as the file stores it: its raw bytes, or (mostly zero, as pruning leaves weights) the
// Bitmap encoding of runtime/schema/dlc.fbs when that saves a quarter or more of the bytes.
struct StoredWeight {
  fb::Encoding encoding = fb::Encoding::Raw;
  uint8_t element_bytes = 0;
  std::string bitmap_bytes;  // Bitmap: the whole encoded form
};

StoredWeight encodeWeight(const Tensor& t) {
  StoredWeight w;
  const uint64_t bytes = t.nbytes(), n = static_cast<uint64_t>(t.numel());
  if (n == 0 || bytes % n != 0) return w;  // packed 4-bit types stay raw
  const uint64_t eb = bytes / n;
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8) return w;
  const auto* raw = static_cast<const uint8_t*>(t.raw());
  auto isZero = [&](uint64_t i) {
    for (uint64_t b = 0; b < eb; ++b)
      if (raw[i * eb + b]) return false;
    return true;
  };
  uint64_t nonzero = 0;
  for (uint64_t i = 0; i < n; ++i) nonzero += !isZero(i);
  const uint64_t map_bytes = (n + 7) / 8, values_at = (map_bytes + 7) / 8 * 8, encoded = values_at + nonzero * eb;
  if (encoded * 4 > bytes * 3) return w;
  w.encoding = fb::Encoding::Bitmap;
  w.element_bytes = static_cast<uint8_t>(eb);
  w.bitmap_bytes.assign(encoded, '\0');
  auto* out = reinterpret_cast<uint8_t*>(w.bitmap_bytes.data());
  uint8_t* value = out + values_at;
  for (uint64_t i = 0; i < n; ++i)
    if (!isZero(i)) {
      out[i / 8] = static_cast<uint8_t>(out[i / 8] | (1u << (i % 8)));
      std::memcpy(value, raw + i * eb, eb);
      value += eb;
    }
  return w;
}

struct Layout {
  std::unordered_map<const Value*, int32_t> index;
  std::vector<const Value*> values;
  int32_t add(const Value* v) {
    auto [it, inserted] = index.emplace(v, static_cast<int32_t>(values.size()));
    if (inserted) values.push_back(v);
    return it->second;
  }
};

}  // namespace

Expected<std::string> writeArtifact(const Graph& graph, const ArtifactOptions& options) {
  const Backend* backend = findBackend(options.target);
  if (!backend) return Status::error(str("unknown target '", options.target, "'"));
  DLC_ASSIGN_OR_RETURN(ArtifactParts parts, backend->compile(graph, options.compile));

  const Region& body = graph.body();
  for (int i = 0; i < body.numArguments(); ++i) DLC_RETURN_IF_ERROR(checkCarried(*body.argument(i), nullptr));
  for (const auto& op : body.ops())
    for (int r = 0; r < op->numResults(); ++r) DLC_RETURN_IF_ERROR(checkCarried(*op->result(r), op.get()));

  flatbuffers::FlatBufferBuilder fbb(1 << 20);

  // Values: inputs first, then weights and step results in program order (values internal to a
  // segment never leave its kernel library and are not listed).
  Layout layout;
  for (int i = 0; i < body.numArguments(); ++i) layout.add(body.argument(i));
  std::unordered_map<const Value*, uint32_t> weight_of;
  std::vector<Tensor> weights;
  // Steps in program order: each backend segment where its first op stands, every other
  // non-Constant op as a reference step of its own.
  std::unordered_map<const Op*, const Segment*> segment_of;
  for (const Segment& seg : parts.segments)
    for (const Op* op : seg.ops) segment_of[op] = &seg;
  struct PlannedStep {
    StepCode code;
    std::string location;
    std::vector<const Value*> inputs, outputs;
  };
  std::vector<PlannedStep> planned;
  std::unordered_map<const Op*, int> step_index;  // top-level op -> the step that runs it
  for (const auto& op : body.ops()) {
    if (op->kind() == OpKind::Constant) {
      DLC_ASSIGN_OR_RETURN(Tensor t, constantOpValue(*op));
      weight_of[op->result(0)] = static_cast<uint32_t>(weights.size());
      weights.push_back(std::move(t));
      layout.add(op->result(0));
      continue;
    }
    auto seg = segment_of.find(op.get());
    if (seg != segment_of.end()) {
      if (seg->second->ops.front() != op.get()) {
        step_index[op.get()] = static_cast<int>(planned.size()) - 1;
        continue;
      }
      const std::vector<const Op*>& ops = seg->second->ops;
      std::string location = ops.size() == 1 ? ops[0]->location()
                                             : str(ops.front()->location(), " .. ", ops.back()->location());
      planned.push_back({seg->second->code, location, segmentInputs(ops), segmentOutputs(ops)});
    } else {
      planned.push_back({referenceStep(*op), op->location(), segmentInputs({op.get()}), segmentOutputs({op.get()})});
    }
    step_index[op.get()] = static_cast<int>(planned.size()) - 1;
    for (const Value* v : planned.back().outputs) layout.add(v);
  }
  std::set<const Value*> outputs(body.outputs().begin(), body.outputs().end());
  // A state's next value goes to the session's state buffer, never to the arena.
  std::set<const Value*> state_outputs;
  for (const StateSpec& st : options.states) {
    if (st.input < 0 || st.input >= body.numArguments() || st.output < 0 || st.output >= body.numOutputs())
      return Status::error(str("state ", st.input, " -> ", st.output, " is not a graph input and output"));
    const Value* in = body.argument(st.input);
    const Value* out = body.output(st.output);
    std::vector<int64_t> want = in->type().shape.staticSizes();
    if (!in->type().shape.isStatic() || in->type() != out->type() || st.initial.dtype() != in->type().dtype ||
        st.initial.shape() != want)
      return Status::error(str("state '", in->name(), "' (", in->type().toString(), ") needs a static type shared with its output '",
                               out->name(), "' (", out->type().toString(), ") and its initial value"));
    state_outputs.insert(out);
  }
  // The arena holds only what crosses steps: values inside a segment are its library's business.
  // Times are steps: a segment may write an output before it has read all of its inputs.
  MemoryPlan plan = passes::planMemory(
      graph, [&](const Value* v) { return layout.index.count(v) != 0; },
      [&](const Op* op) {
        auto it = step_index.find(op);
        return it == step_index.end() ? -1 : it->second;
      });

  // Static graph outputs get slots after the planned arena, so a static model allocates nothing
  // after a session's creation; the rest grow session buffers at run time.
  uint64_t arena_bytes = static_cast<uint64_t>(plan.arena_bytes);
  std::vector<flatbuffers::Offset<fb::ValueInfo>> value_infos;
  for (const Value* v : layout.values) {
    const Type& t = v->type();
    std::vector<flatbuffers::Offset<fb::Dim>> dims;
    for (const Dim& d : t.shape.dims)
      dims.push_back(fb::CreateDim(fbb, d.isStatic() ? d.value : -1, d.isSymbolic() ? fbb.CreateString(d.symbol) : 0));
    fb::Storage storage = fb::Storage::Dynamic;
    uint32_t weight = 0;
    uint64_t offset = 0, size = 0;
    auto slot = plan.slots.find(v);
    if (v->argumentOf()) {
      storage = fb::Storage::Input;
    } else if (auto w = weight_of.find(v); w != weight_of.end()) {
      storage = fb::Storage::Weight;
      weight = w->second;
    } else if (slot != plan.slots.end()) {
      storage = fb::Storage::Arena;
      offset = static_cast<uint64_t>(slot->second.offset);
      size = static_cast<uint64_t>(slot->second.size);
    } else if (outputs.count(v) && t.shape.isStatic() && !state_outputs.count(v)) {
      std::vector<int64_t> sizes = t.shape.staticSizes();
      int64_t numel = 1;
      for (int64_t s : sizes) numel *= s;
      storage = fb::Storage::Arena;
      offset = arena_bytes;
      size = alignUp(dtypeStorageBytes(t.dtype, numel));
      arena_bytes += size;
    }
    value_infos.push_back(fb::CreateValueInfo(fbb, fbb.CreateString(v->name()), static_cast<int32_t>(dtypeToOnnxCode(t.dtype)),
                                              t.shape.ranked, fbb.CreateVector(dims), storage, weight, offset, size));
  }

  // Weights, each at a multiple of 64 in one aligned blob.
  const size_t first_state_weight = weights.size();
  for (const StateSpec& st : options.states) weights.push_back(st.initial);
  std::vector<fb::Weight> weight_table;
  std::vector<StoredWeight> stored;
  std::vector<fb::WeightEncoding> encodings;
  bool any_encoded = false;
  uint64_t weights_size = 0;
  for (const Tensor& t : weights) {
    stored.push_back(encodeWeight(t));
    const StoredWeight& w = stored.back();
    const uint64_t size = w.encoding == fb::Encoding::Raw ? t.nbytes() : w.bitmap_bytes.size();
    any_encoded |= w.encoding != fb::Encoding::Raw;
    weight_table.emplace_back(weights_size, size);
    weights_size = alignUp(weights_size + size);
  }
  if (any_encoded)  // else the table stays out: the file is what format 2 wrote
    for (size_t i = 0; i < weights.size(); ++i)
      encodings.emplace_back(weights[i].nbytes(), stored[i].encoding, stored[i].element_bytes);
  if (weights_size > (uint64_t{1} << 31) - (uint64_t{1} << 26))
    return Status::error(str("the weights take ", weights_size >> 20, " MiB; .dlc artifacts hold at most 2 GiB (a FlatBuffers limit)"));

  std::vector<flatbuffers::Offset<fb::Step>> steps;
  for (const PlannedStep& step : planned) {
    std::vector<int32_t> in, out;
    for (const Value* v : step.inputs) in.push_back(layout.index.at(v));
    for (const Value* v : step.outputs) out.push_back(layout.index.at(v));
    const StepCode& code = step.code;
    steps.push_back(fb::CreateStep(fbb, fbb.CreateString(code.library), fbb.CreateString(code.kernel),
                                   fbb.CreateString(step.location), fbb.CreateVector(in), fbb.CreateVector(out),
                                   fbb.CreateVector(reinterpret_cast<const uint8_t*>(code.payload.data()), code.payload.size())));
  }
  std::vector<flatbuffers::Offset<fb::NativeCode>> native;
  for (const NativeSection& n : parts.native_code)
    native.push_back(fb::CreateNativeCode(fbb, fbb.CreateString(n.format),
                                          fbb.CreateVector(reinterpret_cast<const uint8_t*>(n.code.data()), n.code.size())));
  std::vector<int32_t> inputs, outs;
  for (int i = 0; i < body.numArguments(); ++i) inputs.push_back(layout.index.at(body.argument(i)));
  for (const Value* v : body.outputs()) outs.push_back(layout.index.at(v));
  std::vector<flatbuffers::Offset<flatbuffers::String>> features;
  for (const auto& f : parts.cpu_features) features.push_back(fbb.CreateString(f));

  uint8_t* blob = nullptr;
  fbb.ForceVectorAlignment(weights_size, 1, kAlign);
  auto weights_data = fbb.CreateUninitializedVector(weights_size, 1, &blob);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (stored[i].encoding != fb::Encoding::Raw) std::memcpy(blob + weight_table[i].offset(), stored[i].bitmap_bytes.data(), weight_table[i].size());
    else if (weights[i].nbytes()) std::memcpy(blob + weight_table[i].offset(), weights[i].raw(), weights[i].nbytes());
  }
  std::vector<flatbuffers::Offset<fb::State>> states;
  for (size_t k = 0; k < options.states.size(); ++k)
    states.push_back(fb::CreateState(fbb, static_cast<uint32_t>(options.states[k].input), static_cast<uint32_t>(options.states[k].output),
                                     static_cast<uint32_t>(first_state_weight + k)));
  auto model = fb::CreateModel(fbb, rt::kFormatVersion, fbb.CreateString(options.producer), fbb.CreateString(graph.name),
                               fbb.CreateString(options.target), fbb.CreateVector(features), fbb.CreateVector(value_infos),
                               fbb.CreateVector(inputs), fbb.CreateVector(outs), fbb.CreateVectorOfStructs(weight_table),
                               weights_data, arena_bytes, fbb.CreateVector(steps), fbb.CreateVector(native),
                               fbb.CreateVector(states), any_encoded ? fbb.CreateVectorOfStructs(encodings) : 0);
  fb::FinishModelBuffer(fbb, model);

  rt::FileHeader header = rt::headerFor(fbb.GetBufferPointer(), fbb.GetSize());
  std::string file(reinterpret_cast<const char*>(&header), sizeof header);
  file.append(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  return file;
}

}  // namespace dlc::backends
