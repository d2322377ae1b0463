// Turns a verified FlatBuffer into a model: every index, offset, size and shape is checked here,
// so nothing later trusts a number read from the file.
#include <flatbuffers/flatbuffers.h>

#include <cstring>

#include "runtime/schema/dlc_generated.h"
#include "runtime/src/file_header.h"
#include "runtime/src/internal.h"

namespace dlc::rt {
namespace {

constexpr uint64_t kMaxBytes = uint64_t{1} << 46;  // 64 TiB: larger is certainly corrupt

dlc_status invalid(std::string message) { return makeStatus(DLC_INVALID_ARTIFACT, "invalid artifact: " + message); }

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// The dense bytes of weight `index` (which must be `bytes` long once decoded): in place for a Raw
// weight, else decoded once into memory the model owns. `what` names the user, for messages.
dlc_status weightData(const fb::Model& fbm, dlc_model_t& model, uint32_t index, uint64_t bytes, const std::string& what,
                      const uint8_t** out) {
  const auto* weights = fbm.weights();
  const auto* data = fbm.weights_data();
  if (!weights || index >= weights->size())
    return invalid(format("%s names weight %u of %u", what.c_str(), index, weights ? weights->size() : 0));
  const fb::Weight* w = weights->Get(index);
  const uint64_t available = data ? data->size() : 0;
  if (w->offset() % 64 != 0 || w->offset() > available || w->size() > available - w->offset())
    return invalid(format("%s lies outside the weights section", what.c_str()));
  const uint8_t* stored = data ? data->data() + w->offset() : nullptr;
  const auto* encodings = fbm.weight_encodings();
  const fb::WeightEncoding* e = encodings && index < encodings->size() ? encodings->Get(index) : nullptr;
  if (encodings && encodings->size() != weights->size())
    return invalid(format("%u weight encodings for %u weights", encodings->size(), weights->size()));
  if (!e || e->encoding() == fb::Encoding::Raw) {
    if (w->size() != bytes)
      return invalid(format("%s has %llu bytes, its type needs %llu", what.c_str(), static_cast<unsigned long long>(w->size()),
                            static_cast<unsigned long long>(bytes)));
    if (w->size() && reinterpret_cast<uintptr_t>(stored) % 64 != 0) return invalid(format("%s is not 64-byte aligned in memory", what.c_str()));
    *out = stored;
    return nullptr;
  }
  if (e->encoding() != fb::Encoding::Bitmap)
    return invalid(format("%s has unknown encoding %d", what.c_str(), static_cast<int>(e->encoding())));
  const uint64_t eb = e->element_bytes();
  if ((eb != 1 && eb != 2 && eb != 4 && eb != 8) || e->dense_size() != bytes || bytes % eb != 0)
    return invalid(format("%s: Bitmap encoding of %llu bytes in %llu-byte elements, its type needs %llu", what.c_str(),
                          static_cast<unsigned long long>(e->dense_size()), static_cast<unsigned long long>(eb),
                          static_cast<unsigned long long>(bytes)));
  if (model.weight_data.size() < weights->size()) model.weight_data.resize(weights->size(), nullptr);
  if (model.weight_data[index]) {
    *out = model.weight_data[index];
    return nullptr;
  }
  const uint64_t n = bytes / eb, map_bytes = (n + 7) / 8, values_at = (map_bytes + 7) / 8 * 8;
  uint64_t nonzero = 0;
  if (values_at > w->size()) return invalid(format("%s: its bitmap does not fit its %llu bytes", what.c_str(),
                                                   static_cast<unsigned long long>(w->size())));
  for (uint64_t i = 0; i < map_bytes; ++i) nonzero += static_cast<uint64_t>(__builtin_popcount(stored[i]));
  if ((n % 8 && (stored[map_bytes - 1] >> (n % 8))) || w->size() != values_at + nonzero * eb)
    return invalid(format("%s: its bitmap marks %llu elements, which do not fill its %llu bytes", what.c_str(),
                          static_cast<unsigned long long>(nonzero), static_cast<unsigned long long>(w->size())));
  void* dense = model.allocator.alloc(model.allocator.user, bytes ? bytes : 1, 64);
  if (!dense) return makeStatus(DLC_OUT_OF_MEMORY, format("cannot allocate %llu bytes to decode %s",
                                                          static_cast<unsigned long long>(bytes), what.c_str()));
  model.decoded_weights.push_back(dense);
  auto* dst = static_cast<uint8_t*>(dense);
  std::memset(dst, 0, bytes);
  const uint8_t* value = stored + values_at;
  for (uint64_t i = 0; i < n; ++i)
    if (stored[i / 8] >> (i % 8) & 1) {
      std::memcpy(dst + i * eb, value, eb);
      value += eb;
    }
  model.weight_data[index] = dst;
  *out = dst;
  return nullptr;
}

dlc_status readValue(const fb::ValueInfo& v, size_t index, const fb::Model& fbm, dlc_model_t& model, ValueRecord& out) {
  out.name = str(v.name());
  if (out.name.empty()) out.name = format("value%zu", index);
  out.dtype = v.dtype();
  bool ok = false;
  dtypeBytes(out.dtype, 1, &ok);
  if (!ok) return invalid(format("value '%s' has unsupported dtype code %d", out.name.c_str(), out.dtype));
  out.static_shape = v.ranked();
  uint64_t numel = 1;
  if (v.ranked()) {
    size_t rank = v.dims() ? v.dims()->size() : 0;
    if (rank > DLC_MAX_RANK) return invalid(format("value '%s' has rank %zu (at most %d)", out.name.c_str(), rank, DLC_MAX_RANK));
    out.rank = static_cast<int32_t>(rank);
    for (size_t i = 0; i < rank; ++i) {
      const fb::Dim* d = v.dims()->Get(static_cast<flatbuffers::uoffset_t>(i));
      if (!d) return invalid(format("value '%s' has a missing dim", out.name.c_str()));
      int64_t size = d->value();
      if (size < -1 || size > static_cast<int64_t>(kMaxBytes))
        return invalid(format("value '%s' has dim %zu of size %lld", out.name.c_str(), i, static_cast<long long>(size)));
      out.dims.push_back(size);
      out.dim_names.push_back(size >= 0 ? std::string() : str(d->symbol()));
      if (size < 0) {
        out.static_shape = false;
      } else if (__builtin_mul_overflow(numel, static_cast<uint64_t>(size), &numel) || numel > kMaxBytes) {
        return invalid(format("value '%s' has more than 2^46 elements", out.name.c_str()));
      }
    }
  }
  for (const auto& n : out.dim_names) out.dim_name_ptrs.push_back(n.c_str());
  if (out.static_shape) out.static_bytes = dtypeBytes(out.dtype, numel, &ok);

  switch (v.storage()) {
    case fb::Storage::Input: out.storage = Storage::Input; break;
    case fb::Storage::Dynamic: out.storage = Storage::Dynamic; break;
    case fb::Storage::Weight: {
      out.storage = Storage::Weight;
      if (!out.static_shape) return invalid(format("weight '%s' has no static shape", out.name.c_str()));
      if (!fbm.weights() || v.weight() >= fbm.weights()->size())
        return invalid(format("value '%s' names weight %u of %u", out.name.c_str(), v.weight(), fbm.weights() ? fbm.weights()->size() : 0));
      if (dlc_status s = weightData(fbm, model, v.weight(), out.static_bytes, format("weight '%s'", out.name.c_str()), &out.weight))
        return s;
      break;
    }
    case fb::Storage::Arena: {
      out.storage = Storage::Arena;
      uint64_t end = 0;
      if (!out.static_shape) return invalid(format("arena value '%s' has no static shape", out.name.c_str()));
      if (v.arena_offset() % 64 != 0 || v.arena_size() < out.static_bytes ||
          __builtin_add_overflow(v.arena_offset(), v.arena_size(), &end) || end > fbm.arena_bytes())
        return invalid(format("arena slot of '%s' does not fit the arena", out.name.c_str()));
      out.arena_offset = v.arena_offset();
      out.arena_size = v.arena_size();
      break;
    }
    default: return invalid(format("value '%s' has unknown storage %d", out.name.c_str(), static_cast<int>(v.storage())));
  }
  return nullptr;
}

dlc_status readIndexList(const flatbuffers::Vector<int32_t>* list, size_t num_values, bool allow_absent,
                         const std::string& what, std::vector<int32_t>& out) {
  if (!list) return nullptr;
  for (int32_t i : *list) {
    if ((i < 0 && !(allow_absent && i == -1)) || (i >= 0 && static_cast<size_t>(i) >= num_values))
      return invalid(format("%s refers to value %d of %zu", what.c_str(), i, num_values));
    out.push_back(i);
  }
  return nullptr;
}

// Training states: each pairs a distinct signature input with a distinct signature output of the
// same dtype and static shape, and starts from a weight of exactly that size.
dlc_status readStates(const fb::Model& fbm, dlc_model_t& model) {
  model.input_is_state.assign(model.inputs.size(), 0);
  if (!fbm.states()) return nullptr;
  std::vector<char> output_used(model.outputs.size(), 0);
  for (flatbuffers::uoffset_t k = 0; k < fbm.states()->size(); ++k) {
    const fb::State* st = fbm.states()->Get(k);
    if (!st) return invalid(format("state %u is missing", k));
    if (st->input() >= model.inputs.size() || st->output() >= model.outputs.size())
      return invalid(format("state %u names input %u and output %u of %zu and %zu", k, st->input(), st->output(),
                            model.inputs.size(), model.outputs.size()));
    if (model.input_is_state[st->input()] || output_used[st->output()])
      return invalid(format("state %u shares its input or output with another state", k));
    const ValueRecord& in = model.values[static_cast<size_t>(model.inputs[st->input()])];
    const ValueRecord& out = model.values[static_cast<size_t>(model.outputs[st->output()])];
    if (!in.static_shape || !out.static_shape || in.dtype != out.dtype || in.dims != out.dims)
      return invalid(format("state '%s' and its output '%s' need one static type", in.name.c_str(), out.name.c_str()));
    const uint8_t* initial = nullptr;
    if (dlc_status s = weightData(fbm, model, st->initial(), in.static_bytes, format("the initial value of state '%s'", in.name.c_str()), &initial))
      return s;
    model.input_is_state[st->input()] = 1;
    output_used[st->output()] = 1;
    model.states.push_back(StateRecord{st->input(), st->output(), initial, in.static_bytes});
  }
  return nullptr;
}

}  // namespace

dlc_tensor_info ValueRecord::info() const {
  return dlc_tensor_info{name.c_str(), dtype, rank, dims.data(), dim_name_ptrs.data()};
}

std::string StepRecord::describe(size_t index) const {
  return format("step %zu (%s '%s', library %s)", index, kernel.c_str(), location.c_str(), library ? library->id : "?");
}

dlc_status buildModel(dlc_model_t& model, const uint8_t* body, size_t size) {
  flatbuffers::Verifier verifier(body, size, /*max_depth=*/64, /*max_tables=*/10'000'000);
  if (!fb::VerifyModelBuffer(verifier)) return invalid("the FlatBuffers verifier rejected it");
  const fb::Model& fbm = *fb::GetModel(body);
  model.fb = &fbm;
  model.format_version = fbm.format_version();
  if (model.format_version < kMinFormatVersion || model.format_version > kFormatVersion)
    return makeStatus(DLC_UNSUPPORTED, format("format version %u; this runtime reads %u to %u", model.format_version,
                                              kMinFormatVersion, kFormatVersion));
  if (model.format_version < 3 && fbm.weight_encodings()) return invalid("format 2 has no weight encodings");
  model.name = str(fbm.model_name());
  model.target = str(fbm.target());
  model.producer = str(fbm.producer());
  model.arena_bytes = fbm.arena_bytes();
  if (model.arena_bytes > kMaxBytes) return invalid("arena size beyond 2^46 bytes");

  if (fbm.cpu_features())
    for (const auto* f : *fbm.cpu_features()) {
      std::string name = str(f);
      bool known = false;
      bool has = cpuHasFeature(name, &known);
      if (!known) return makeStatus(DLC_UNSUPPORTED, format("artifact requires CPU feature '%s', unknown to this runtime", name.c_str()));
      if (!has) return makeStatus(DLC_UNSUPPORTED, format("artifact requires CPU feature '%s', which this CPU lacks", name.c_str()));
      model.cpu_features.push_back(name);
    }

  const auto* data = fbm.weights_data();
  if (data && data->size() && reinterpret_cast<uintptr_t>(data->data()) % 64 != 0)
    return invalid("weights section is not 64-byte aligned");
  model.weight_count = fbm.weights() ? fbm.weights()->size() : 0;
  if (fbm.native_code())
    for (const auto* nc : *fbm.native_code())
      if (nc && nc->code()) model.native_code_bytes += nc->code()->size();

  size_t num_values = fbm.values() ? fbm.values()->size() : 0;
  model.values.resize(num_values);
  std::vector<char> defined(num_values, 0);
  for (size_t i = 0; i < num_values; ++i) {
    const fb::ValueInfo* v = fbm.values()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!v) return invalid(format("value %zu is missing", i));
    if (dlc_status s = readValue(*v, i, fbm, model, model.values[i])) return s;
    if (model.values[i].storage == Storage::Weight) {
      defined[i] = 1;
      model.weight_bytes += model.values[i].static_bytes;
    }
  }

  if (dlc_status s = readIndexList(fbm.inputs(), num_values, false, "signature input", model.inputs)) return s;
  if (dlc_status s = readIndexList(fbm.outputs(), num_values, false, "signature output", model.outputs)) return s;
  for (int32_t i : model.inputs) {
    if (model.values[static_cast<size_t>(i)].storage != Storage::Input || defined[static_cast<size_t>(i)])
      return invalid(format("signature input %d is not a distinct input value", i));
    defined[static_cast<size_t>(i)] = 1;
  }
  for (size_t i = 0; i < num_values; ++i)
    if (model.values[i].storage == Storage::Input && !defined[i])
      return invalid(format("input value '%s' is not in the signature", model.values[i].name.c_str()));

  size_t num_steps = fbm.steps() ? fbm.steps()->size() : 0;
  model.steps.resize(num_steps);
  for (size_t k = 0; k < num_steps; ++k) {
    const fb::Step* st = fbm.steps()->Get(static_cast<flatbuffers::uoffset_t>(k));
    StepRecord& step = model.steps[k];
    if (!st) return invalid(format("step %zu is missing", k));
    step.kernel = str(st->kernel());
    step.location = str(st->location());
    std::string library = str(st->library());
    std::string what = format("step %zu (%s)", k, step.kernel.c_str());
    if (dlc_status s = readIndexList(st->inputs(), num_values, true, what, step.inputs)) return s;
    if (dlc_status s = readIndexList(st->outputs(), num_values, false, what, step.outputs)) return s;
    for (int32_t i : step.inputs)
      if (i >= 0 && !defined[static_cast<size_t>(i)])
        return invalid(format("%s reads value '%s' before any step writes it", what.c_str(), model.values[static_cast<size_t>(i)].name.c_str()));
    for (int32_t o : step.outputs) {
      const ValueRecord& v = model.values[static_cast<size_t>(o)];
      if (defined[static_cast<size_t>(o)] || (v.storage != Storage::Arena && v.storage != Storage::Dynamic))
        return invalid(format("%s writes value '%s', which is an input, a weight or written twice", what.c_str(), v.name.c_str()));
      defined[static_cast<size_t>(o)] = 1;
    }
    step.library = dlc_kernel_library_find(library.c_str());
    if (!step.library)
      return makeStatus(DLC_UNSUPPORTED, format("%s needs kernel library '%s', which is not registered (link it and call its register function)",
                                                what.c_str(), library.c_str()));
  }
  for (int32_t o : model.outputs)
    if (!defined[static_cast<size_t>(o)])
      return invalid(format("output '%s' is never computed", model.values[static_cast<size_t>(o)].name.c_str()));

  if (dlc_status s = readStates(fbm, model)) return s;

  for (int32_t i : model.inputs) model.input_infos.push_back(model.values[static_cast<size_t>(i)].info());
  for (int32_t o : model.outputs) model.output_infos.push_back(model.values[static_cast<size_t>(o)].info());

  // Only a fully checked model reaches the kernel libraries.
  std::vector<dlc_tensor_info> in_infos, out_infos;
  std::vector<dlc_tensor> constants;
  std::vector<dlc_native_code> native;
  if (fbm.native_code())
    for (const auto* nc : *fbm.native_code())
      if (nc) native.push_back(dlc_native_code{nc->format() ? nc->format()->c_str() : "", nc->code() ? nc->code()->data() : nullptr,
                                               nc->code() ? nc->code()->size() : 0});
  char error[512];
  for (size_t k = 0; k < num_steps; ++k) {
    const fb::Step* st = fbm.steps()->Get(static_cast<flatbuffers::uoffset_t>(k));
    StepRecord& step = model.steps[k];
    in_infos.clear();
    out_infos.clear();
    constants.clear();
    for (int32_t i : step.inputs) {
      in_infos.push_back(i >= 0 ? model.values[static_cast<size_t>(i)].info() : dlc_tensor_info{"", 0, -1, nullptr, nullptr});
      const ValueRecord* v = i >= 0 ? &model.values[static_cast<size_t>(i)] : nullptr;
      if (v && v->storage == Storage::Weight)
        constants.push_back(dlc_tensor{v->dtype, v->rank, v->dims.data(), const_cast<uint8_t*>(v->weight), static_cast<size_t>(v->static_bytes)});
      else
        constants.push_back(dlc_tensor{0, 0, nullptr, nullptr, 0});
    }
    for (int32_t o : step.outputs) out_infos.push_back(model.values[static_cast<size_t>(o)].info());
    dlc_step_info info{step.kernel.c_str(), step.location.c_str(),
                       st->payload() ? st->payload()->data() : nullptr, st->payload() ? st->payload()->size() : 0,
                       static_cast<int32_t>(in_infos.size()), static_cast<int32_t>(out_infos.size()),
                       in_infos.data(), out_infos.data(), constants.data(),
                       static_cast<int32_t>(native.size()), native.data()};
    error[0] = '\0';
    void* state = nullptr;
    if (step.library->step_prepare(&info, &state, error, sizeof error) != 0)
      return invalid(format("%s: %s", step.describe(k).c_str(), error[0] ? error : "the kernel library refused it"));
    step.state = state;
  }
  return nullptr;
}

}  // namespace dlc::rt
