// Sessions: the arena and buffers of one user of a model, input/output binding, and running steps.
#include <pthreadpool.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <new>
#include <unistd.h>

#include "runtime/src/internal.h"

using namespace dlc::rt;

namespace {

// Where one value's bytes are during a run.
struct Slot {
  void* data = nullptr;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
  bool ready = false;  // written (or bound) for the current run
  void* buffer = nullptr;  // a grown session buffer (Storage::Dynamic)
  uint64_t capacity = 0;
};

struct BoundOutput {
  void* data = nullptr;
  uint64_t capacity = 0;
};

}  // namespace

struct dlc_session_t {
  const dlc_model* model = nullptr;
  dlc_allocator allocator{};
  pthreadpool_t pool = nullptr;
  uint32_t pool_flags = PTHREADPOOL_FLAG_DISABLE_DENORMALS;  // | YIELD_WORKERS beside DLC_LIBRARY_OWN_THREADS steps
  int32_t threads = 1;
  void* arena = nullptr;
  std::vector<Slot> slots;
  std::vector<char> input_bound;
  std::vector<BoundOutput> bound_outputs;  // per signature output
  std::vector<int32_t> output_position;    // value index -> signature output (-1: none)
  std::vector<std::pair<std::string, int64_t>> symbols;  // symbolic dim sizes of this run
  std::vector<dlc_tensor> step_inputs;     // scratch, reused across runs
  std::vector<std::pair<void*, size_t>> workspaces;  // per step: kernel-library scratch memory
  size_t current_step = 0;
  bool profile = false;
  std::vector<uint64_t> step_ns;  // with profile: summed over runs
  bool ran = false;  // a run completed since the last bind
  std::string error;
  // The symbolic arena: computed values whose dims are static or symbolic get offsets in one session
  // allocation, planned at the start of each run from the symbol sizes its inputs bind (first fit
  // by liveness, as the compile-time arena) and grown only when a binding needs more. Values with
  // a dim only their kernel knows (a NonZero count) keep buffers of their own.
  struct PlannedValue {
    int32_t value;
    size_t first, last;  // the step that writes it, the last step that reads it (or past the end)
  };
  std::vector<PlannedValue> planned;  // in order of `first`
  std::vector<uint64_t> planned_offset, planned_size;  // per value; kNotPlanned when not this run
  static constexpr uint64_t kNotPlanned = ~0ull;
  void* symbolic_arena = nullptr;
  uint64_t symbolic_capacity = 0;
  std::vector<std::pair<std::string, int64_t>> planned_for;  // the symbol sizes of the current plan
  bool plan_valid = false, plan_in_use = false, error_pending = false;
  uint64_t planned_total = 0;
  // The arena grows only for a binding a completed run has shown the plan right for: the sizes
  // come from the artifact's declared types, which a damaged artifact could make huge; a run's
  // values, which were allocated anyway, cannot.
  std::vector<std::pair<std::string, int64_t>> verified_for;
  bool verified = false;
  // Training state: two buffers per state of the model; buffer `phase` holds the current value and
  // the other receives the next, and they swap after each successful run.
  std::vector<std::array<void*, 2>> state_buffers;
  int phase = 0;

  ~dlc_session_t() {
    for (auto& pair : state_buffers)
      for (void* p : pair)
        if (p) allocator.free(allocator.user, p);
    for (Slot& s : slots)
      if (s.buffer) allocator.free(allocator.user, s.buffer);
    if (arena) allocator.free(allocator.user, arena);
    if (symbolic_arena) allocator.free(allocator.user, symbolic_arena);
    for (auto& [p, size] : workspaces)
      if (p) allocator.free(allocator.user, p);
    if (pool) pthreadpool_destroy(pool);
  }

  // Binds a symbolic dim to `size` for this run; false when it was bound to another size.
  bool bindSymbol(const std::string& name, int64_t size) {
    for (auto& [n, s] : symbols)
      if (n == name) return s == size;
    symbols.emplace_back(name, size);
    return true;
  }

  // Checks a shape against a value's declared type (dtype, rank, static and symbolic dims).
  bool conforms(const ValueRecord& v, int32_t dtype, int32_t rank, const int64_t* shape, std::string& why) {
    if (dtype != v.dtype) {
      why = format("dtype %s, expected %s", dlc_dtype_name(dtype), dlc_dtype_name(v.dtype));
      return false;
    }
    if (rank < 0 || rank > DLC_MAX_RANK || (rank > 0 && !shape)) {
      why = format("invalid rank %d", rank);
      return false;
    }
    if (v.rank >= 0 && rank != v.rank) {
      why = format("rank %d, expected %d", rank, v.rank);
      return false;
    }
    for (int32_t i = 0; i < rank; ++i) {
      if (shape[i] < 0) {
        why = format("negative dim %lld", static_cast<long long>(shape[i]));
        return false;
      }
      if (v.rank < 0) continue;
      int64_t want = v.dims[static_cast<size_t>(i)];
      const std::string& sym = v.dim_names[static_cast<size_t>(i)];
      if ((want >= 0 && shape[i] != want) || (want < 0 && !sym.empty() && !bindSymbol(sym, shape[i]))) {
        why = format("dim %d of size %lld, expected %s", i, static_cast<long long>(shape[i]),
                     want >= 0 ? std::to_string(want).c_str() : sym.c_str());
        return false;
      }
    }
    return true;
  }

  // Which values the symbolic arena may hold, and their lives in steps (at session creation).
  void findPlannedValues() {
    const size_t end = model->steps.size();
    std::vector<size_t> first(model->values.size(), end + 1), last(model->values.size(), 0);
    for (size_t k = 0; k < model->steps.size(); ++k) {
      for (int32_t in : model->steps[k].inputs)
        if (in >= 0) last[static_cast<size_t>(in)] = k;
      for (int32_t out : model->steps[k].outputs)
        if (first[static_cast<size_t>(out)] > end) first[static_cast<size_t>(out)] = k;
    }
    for (int32_t out : model->outputs) last[static_cast<size_t>(out)] = end;  // read after the run
    std::vector<char> state_output(model->values.size(), 0);  // written into the state buffers
    for (const StateRecord& st : model->states) state_output[static_cast<size_t>(model->outputs[st.output])] = 1;
    for (size_t k = 0; k < model->steps.size(); ++k)
      for (int32_t out : model->steps[k].outputs) {
        const ValueRecord& v = model->values[static_cast<size_t>(out)];
        if (v.storage != Storage::Dynamic || v.rank < 0 || first[static_cast<size_t>(out)] != k || state_output[static_cast<size_t>(out)])
          continue;
        planned.push_back({out, k, std::max(k, last[static_cast<size_t>(out)])});
      }
    planned_offset.assign(model->values.size(), kNotPlanned);
    planned_size.assign(model->values.size(), 0);
  }

  // Plans the symbolic arena for the symbols this run's inputs bound (kept while they repeat) and
  // uses it when it fits, or when a run at this binding verified it; false when memory ran out
  // (the reason recorded).
  bool planSymbolicArena() {
    if (planned.empty()) return true;
    if (plan_valid && planned_for == symbols) {
      plan_in_use = plan_in_use || (verified && verified_for == symbols && growSymbolicArena());
      return !error_pending;
    }
    struct Block {
      uint64_t offset, size;
      size_t last;
    };
    std::vector<Block> live;
    uint64_t total = 0;
    for (const PlannedValue& p : planned) {
      const ValueRecord& v = model->values[static_cast<size_t>(p.value)];
      uint64_t numel = 1;
      bool known = true;
      for (size_t d = 0; known && d < v.dims.size(); ++d) {
        int64_t n = v.dims[d];
        if (n < 0)
          for (const auto& [name, size] : symbols)
            if (!v.dim_names[d].empty() && name == v.dim_names[d]) n = size;
        known = n >= 0 && !__builtin_mul_overflow(numel, static_cast<uint64_t>(n), &numel);
      }
      bool ok = true;
      uint64_t bytes = known ? dtypeBytes(v.dtype, numel, &ok) : 0;
      if (!known || !ok || bytes > (1ull << 60)) {
        planned_offset[static_cast<size_t>(p.value)] = kNotPlanned;
        continue;
      }
      uint64_t size = (bytes + 63) / 64 * 64;
      live.erase(std::remove_if(live.begin(), live.end(), [&](const Block& b) { return b.last < p.first; }), live.end());
      std::sort(live.begin(), live.end(), [](const Block& a, const Block& b) { return a.offset < b.offset; });
      uint64_t at = 0;
      for (const Block& b : live) {
        if (b.offset >= at + size) break;
        at = std::max(at, b.offset + b.size);
      }
      live.push_back({at, size, p.last});
      planned_offset[static_cast<size_t>(p.value)] = at;
      planned_size[static_cast<size_t>(p.value)] = size;
      total = std::max(total, at + size);
    }
    planned_total = total;
    planned_for = symbols;
    plan_valid = true;
    plan_in_use = total <= symbolic_capacity || (verified && verified_for == symbols && growSymbolicArena());
    return !error_pending;
  }

  // Grows the symbolic arena to the current plan; false (with error_pending) when memory ran out.
  bool growSymbolicArena() {
    if (planned_total <= symbolic_capacity) return true;
    void* fresh = allocator.alloc(allocator.user, planned_total, 64);
    if (!fresh) {
      error = format("out of memory for the %llu-byte symbolic arena", static_cast<unsigned long long>(planned_total));
      error_pending = true;
      return false;
    }
    if (symbolic_arena) allocator.free(allocator.user, symbolic_arena);
    symbolic_arena = fresh;
    symbolic_capacity = planned_total;
    // Values now planned no longer need the buffers earlier runs grew for them.
    for (const PlannedValue& p : planned) {
      Slot& slot = slots[static_cast<size_t>(p.value)];
      if (planned_offset[static_cast<size_t>(p.value)] != kNotPlanned && slot.buffer) {
        allocator.free(allocator.user, slot.buffer);
        slot.buffer = nullptr;
        slot.capacity = 0;
      }
    }
    return true;
  }

  // After a completed run that did not use the plan: whether every planned value was produced with
  // its planned size (as the types promise: a symbolic dim is the bound size), so that the next run
  // at this binding may grow the arena for it.
  void verifyPlan() {
    if (planned.empty() || plan_in_use || !plan_valid) return;
    for (const PlannedValue& p : planned) {
      size_t v = static_cast<size_t>(p.value);
      if (planned_offset[v] != kNotPlanned && (!slots[v].ready || (slots[v].bytes + 63) / 64 * 64 != planned_size[v])) {
        verified = false;
        return;
      }
    }
    verified_for = planned_for;
    verified = true;
  }

  // Gives a computed value its buffer; records the reason and returns null on failure.
  void* allocateValue(int32_t value, int32_t dtype, int32_t rank, const int64_t* shape) {
    const ValueRecord& v = model->values[static_cast<size_t>(value)];
    Slot& slot = slots[static_cast<size_t>(value)];
    std::string why;
    if (!conforms(v, dtype, rank, shape, why)) {
      error = format("result '%s' has %s", v.name.c_str(), why.c_str());
      return nullptr;
    }
    uint64_t numel = 1;
    for (int32_t i = 0; i < rank; ++i)
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(shape[i]), &numel)) {
        error = format("result '%s' is too large", v.name.c_str());
        return nullptr;
      }
    bool ok = true;
    uint64_t bytes = dtypeBytes(dtype, numel, &ok);
    slot.shape.assign(shape, shape + rank);
    slot.bytes = bytes;
    int32_t out = output_position[static_cast<size_t>(value)];
    if (out >= 0 && bound_outputs[static_cast<size_t>(out)].data) {
      const BoundOutput& b = bound_outputs[static_cast<size_t>(out)];
      if (bytes > b.capacity) {
        error = format("output '%s' needs %llu bytes; the bound buffer holds %llu", v.name.c_str(),
                       static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(b.capacity));
        return nullptr;
      }
      slot.data = b.data;
    } else if (bytes == 0) {
      // An empty result still gets a valid address: a null return means failure.
      static char empty_result[64] __attribute__((aligned(64)));
      slot.data = empty_result;
    } else if (v.storage == Storage::Arena) {
      if (bytes > v.arena_size) {
        error = format("result '%s' does not fit its arena slot", v.name.c_str());
        return nullptr;
      }
      slot.data = static_cast<char*>(arena) + v.arena_offset;
    } else if (plan_in_use && planned_offset[static_cast<size_t>(value)] != kNotPlanned &&
               bytes <= planned_size[static_cast<size_t>(value)]) {
      slot.data = static_cast<char*>(symbolic_arena) + planned_offset[static_cast<size_t>(value)];
    } else {
      if (bytes > slot.capacity || !slot.buffer) {
        uint64_t grown = bytes > slot.capacity * 2 ? bytes : slot.capacity * 2;
        void* fresh = allocator.alloc(allocator.user, grown ? grown : 64, 64);
        if (!fresh) {
          error = format("out of memory for result '%s' (%llu bytes)", v.name.c_str(), static_cast<unsigned long long>(grown));
          return nullptr;
        }
        if (slot.buffer) allocator.free(allocator.user, slot.buffer);
        slot.buffer = fresh;
        slot.capacity = grown;
      }
      slot.data = slot.buffer;
    }
    slot.ready = true;
    return slot.data;
  }
};

namespace {

void* outputAllocate(void* runtime, int32_t index, int32_t dtype, int32_t rank, const int64_t* shape) {
  auto* s = static_cast<dlc_session_t*>(runtime);
  const StepRecord& step = s->model->steps[s->current_step];
  if (index < 0 || static_cast<size_t>(index) >= step.outputs.size()) {
    s->error = format("kernel asked for output %d of %zu", index, step.outputs.size());
    return nullptr;
  }
  return s->allocateValue(step.outputs[static_cast<size_t>(index)], dtype, rank, shape);
}

void* workspace(void* runtime, size_t bytes) {
  auto* s = static_cast<dlc_session_t*>(runtime);
  auto& [p, size] = s->workspaces[s->current_step];
  if (p && size >= bytes) return p;
  void* fresh = s->allocator.alloc(s->allocator.user, bytes ? bytes : 64, 64);
  if (!fresh) {
    s->error = format("out of memory for a %zu-byte workspace", bytes);
    return nullptr;
  }
  if (p) s->allocator.free(s->allocator.user, p);
  p = fresh;
  size = bytes;
  return p;
}

void parallelFor(void* runtime, size_t range, void (*fn)(void*, size_t), void* context) {
  auto* s = static_cast<dlc_session_t*>(runtime);
  if (s->pool && range > 1) {
    pthreadpool_parallelize_1d(s->pool, fn, context, range, s->pool_flags);
    return;
  }
  for (size_t i = 0; i < range; ++i) fn(context, i);
}

// The CPUs this process may run on (its affinity mask, as containers set it), not all online ones.
int32_t usableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<int32_t>(online > 0 ? online : 1);
}

dlc_status findIndex(const dlc_session* session, const char* name, bool input, size_t* index) {
  if (!session) return makeStatus(DLC_INVALID_ARGUMENT, "session is NULL");
  return input ? dlc_model_input_find(session->model, name, index) : dlc_model_output_find(session->model, name, index);
}

}  // namespace

extern "C" {

void dlc_session_options_init(dlc_session_options* options) {
  if (options) *options = dlc_session_options{0, nullptr, 0};
}

dlc_status dlc_session_create(const dlc_model* model, const dlc_session_options* options, dlc_session** out_session) {
  if (!model || !out_session) return makeStatus(DLC_INVALID_ARGUMENT, "model and out_session must not be NULL");
  *out_session = nullptr;
  dlc_session_options opts;
  dlc_session_options_init(&opts);
  if (options) opts = *options;
  if (opts.threads < 0) return makeStatus(DLC_INVALID_ARGUMENT, format("threads must be >= 0, got %d", opts.threads));
  if (opts.allocator && (!opts.allocator->alloc || !opts.allocator->free))
    return makeStatus(DLC_INVALID_ARGUMENT, "allocator needs both alloc and free");
  auto* s = new (std::nothrow) dlc_session_t;
  if (!s) return makeStatus(DLC_OUT_OF_MEMORY, "out of memory");
  s->model = model;
  s->allocator = opts.allocator ? *opts.allocator : model->allocator;
  s->threads = opts.threads > 0 ? opts.threads : usableCpus();
  if (s->threads > 1) {
    s->pool = pthreadpool_create(static_cast<size_t>(s->threads));
    if (!s->pool) {
      delete s;
      return makeStatus(DLC_OUT_OF_MEMORY, format("cannot start %d threads", opts.threads));
    }
    for (const StepRecord& step : model->steps)
      if (step.library && (step.library->flags & DLC_LIBRARY_OWN_THREADS)) s->pool_flags |= PTHREADPOOL_FLAG_YIELD_WORKERS;
  }
  if (model->arena_bytes) {
    s->arena = s->allocator.alloc(s->allocator.user, model->arena_bytes, 64);
    if (!s->arena) {
      delete s;
      return makeStatus(DLC_OUT_OF_MEMORY, format("cannot allocate the %llu-byte arena", static_cast<unsigned long long>(model->arena_bytes)));
    }
  }
  s->slots.resize(model->values.size());
  s->output_position.assign(model->values.size(), -1);
  for (size_t i = 0; i < model->outputs.size(); ++i) s->output_position[static_cast<size_t>(model->outputs[i])] = static_cast<int32_t>(i);
  s->input_bound.assign(model->inputs.size(), 0);
  s->workspaces.assign(model->steps.size(), {nullptr, 0});
  s->profile = opts.profile != 0;
  if (s->profile) s->step_ns.assign(model->steps.size(), 0);
  s->bound_outputs.resize(model->outputs.size());
  s->findPlannedValues();
  for (size_t i = 0; i < model->values.size(); ++i) {
    const ValueRecord& v = model->values[i];
    if (v.storage != Storage::Weight) continue;
    Slot& slot = s->slots[i];
    slot.data = const_cast<uint8_t*>(v.weight);
    slot.shape = v.dims;
    slot.bytes = v.static_bytes;
    slot.ready = true;
  }
  s->state_buffers.assign(model->states.size(), {nullptr, nullptr});
  for (size_t k = 0; k < model->states.size(); ++k) {
    const StateRecord& st = model->states[k];
    for (void*& p : s->state_buffers[k]) {
      p = s->allocator.alloc(s->allocator.user, st.bytes ? st.bytes : 64, 64);
      if (!p) {
        delete s;
        return makeStatus(DLC_OUT_OF_MEMORY, format("cannot allocate training state (%llu bytes)", static_cast<unsigned long long>(st.bytes)));
      }
    }
    if (st.bytes) std::memcpy(s->state_buffers[k][0], st.initial, st.bytes);
    s->input_bound[st.input] = 1;
  }
  *out_session = s;
  return nullptr;
}

void dlc_session_free(dlc_session* session) { delete session; }

dlc_status dlc_session_input_bind(dlc_session* session, size_t index, const dlc_tensor* t) {
  if (!session || !t) return makeStatus(DLC_INVALID_ARGUMENT, "session and tensor must not be NULL");
  const dlc_model* m = session->model;
  if (index >= m->inputs.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("input index %zu out of range (the model has %zu)", index, m->inputs.size()));
  int32_t value = m->inputs[index];
  const ValueRecord& v = m->values[static_cast<size_t>(value)];
  if (m->input_is_state[index])
    return makeStatus(DLC_INVALID_ARGUMENT, format("input '%s' is training state, which the session feeds itself "
                                                   "(write it with dlc_session_state_set)", v.name.c_str()));
  session->symbols.clear();  // symbols are checked across inputs again at run time
  std::string why;
  if (!session->conforms(v, t->dtype, t->rank, t->shape, why))
    return makeStatus(DLC_INVALID_ARGUMENT, format("input '%s' has %s", v.name.c_str(), why.c_str()));
  uint64_t numel = 1;
  for (int32_t i = 0; i < t->rank; ++i)
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(t->shape[i]), &numel))
      return makeStatus(DLC_INVALID_ARGUMENT, format("input '%s' is too large", v.name.c_str()));
  bool ok = true;
  uint64_t bytes = dtypeBytes(t->dtype, numel, &ok);
  if (t->bytes < bytes || (bytes && !t->data))
    return makeStatus(DLC_INVALID_ARGUMENT, format("input '%s' needs %llu bytes, the tensor gives %zu", v.name.c_str(),
                                                   static_cast<unsigned long long>(bytes), t->bytes));
  Slot& slot = session->slots[static_cast<size_t>(value)];
  slot.data = t->data;
  slot.shape.assign(t->shape, t->shape + t->rank);
  slot.bytes = bytes;
  session->input_bound[index] = 1;
  session->ran = false;
  return nullptr;
}

dlc_status dlc_session_input_bind_by_name(dlc_session* session, const char* name, const dlc_tensor* tensor) {
  size_t index = 0;
  if (dlc_status s = findIndex(session, name, true, &index)) return s;
  return dlc_session_input_bind(session, index, tensor);
}

dlc_status dlc_session_output_bind(dlc_session* session, size_t index, const dlc_tensor* t) {
  if (!session || !t) return makeStatus(DLC_INVALID_ARGUMENT, "session and tensor must not be NULL");
  if (index >= session->bound_outputs.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("output index %zu out of range (the model has %zu)", index, session->bound_outputs.size()));
  if (t->bytes && !t->data) return makeStatus(DLC_INVALID_ARGUMENT, "output buffer is NULL");
  for (const StateRecord& st : session->model->states)
    if (st.output == index)
      return makeStatus(DLC_INVALID_ARGUMENT, format("output %zu is the next value of training state '%s' and goes to the session's "
                                                     "state buffer", index, session->model->input_infos[st.input].name));
  session->bound_outputs[index] = BoundOutput{t->data, t->bytes};
  session->ran = false;
  return nullptr;
}

dlc_status dlc_session_output_bind_by_name(dlc_session* session, const char* name, const dlc_tensor* tensor) {
  size_t index = 0;
  if (dlc_status s = findIndex(session, name, false, &index)) return s;
  return dlc_session_output_bind(session, index, tensor);
}

dlc_status dlc_session_run(dlc_session* session) {
  if (!session) return makeStatus(DLC_INVALID_ARGUMENT, "session is NULL");
  const dlc_model* m = session->model;
  session->symbols.clear();
  // State inputs read the current buffers, state outputs write the others.
  for (size_t k = 0; k < m->states.size(); ++k) {
    const StateRecord& st = m->states[k];
    const ValueRecord& v = m->values[static_cast<size_t>(m->inputs[st.input])];
    Slot& slot = session->slots[static_cast<size_t>(m->inputs[st.input])];
    slot.data = session->state_buffers[k][static_cast<size_t>(session->phase)];
    slot.shape = v.dims;
    slot.bytes = v.static_bytes;
    session->bound_outputs[st.output] = BoundOutput{session->state_buffers[k][static_cast<size_t>(1 - session->phase)], st.bytes};
  }
  for (size_t i = 0; i < m->inputs.size(); ++i) {
    const ValueRecord& v = m->values[static_cast<size_t>(m->inputs[i])];
    if (!session->input_bound[i]) return makeStatus(DLC_INVALID_ARGUMENT, format("input '%s' is not bound", v.name.c_str()));
    const Slot& slot = session->slots[static_cast<size_t>(m->inputs[i])];
    std::string why;
    if (!session->conforms(v, v.dtype, static_cast<int32_t>(slot.shape.size()), slot.shape.data(), why))
      return makeStatus(DLC_INVALID_ARGUMENT, format("input '%s' has %s", v.name.c_str(), why.c_str()));
  }
  for (size_t i = 0; i < m->values.size(); ++i)
    if (m->values[i].storage == Storage::Arena || m->values[i].storage == Storage::Dynamic) session->slots[i].ready = false;
  session->error_pending = false;
  if (!session->planSymbolicArena()) return makeStatus(DLC_OUT_OF_MEMORY, session->error);

  session->ran = false;
  dlc_kernel_io io{};
  io.threads = session->threads;
  io.runtime = session;
  io.output_allocate = outputAllocate;
  io.parallel_for = parallelFor;
  io.workspace = workspace;
  char error[512];
  for (size_t k = 0; k < m->steps.size(); ++k) {
    const StepRecord& step = m->steps[k];
    session->current_step = k;
    session->step_inputs.resize(step.inputs.size());
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      dlc_tensor& t = session->step_inputs[i];
      int32_t value = step.inputs[i];
      if (value < 0) {
        t = dlc_tensor{0, 0, nullptr, nullptr, 0};
        continue;
      }
      const Slot& slot = session->slots[static_cast<size_t>(value)];
      t = dlc_tensor{m->values[static_cast<size_t>(value)].dtype, static_cast<int32_t>(slot.shape.size()), slot.shape.data(),
                     slot.data, static_cast<size_t>(slot.bytes)};
    }
    io.inputs = session->step_inputs.data();
    io.num_inputs = static_cast<int32_t>(step.inputs.size());
    io.num_outputs = static_cast<int32_t>(step.outputs.size());
    session->error.clear();
    error[0] = '\0';
    timespec start{};
    if (session->profile) clock_gettime(CLOCK_MONOTONIC, &start);
    int failed = step.library->step_run(step.state, &io, error, sizeof error);
    if (session->profile) {
      timespec end{};
      clock_gettime(CLOCK_MONOTONIC, &end);
      session->step_ns[k] += static_cast<uint64_t>((end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec));
    }
    if (failed != 0) {
      const std::string& why = !session->error.empty() ? session->error : std::string(error[0] ? error : "failed");
      return makeStatus(DLC_KERNEL_ERROR, format("%s: %s", step.describe(k).c_str(), why.c_str()));
    }
    for (int32_t o : step.outputs)
      if (!session->slots[static_cast<size_t>(o)].ready)
        return makeStatus(DLC_KERNEL_ERROR, format("%s: produced no value for '%s'", step.describe(k).c_str(),
                                                   m->values[static_cast<size_t>(o)].name.c_str()));
  }
  // Outputs that are inputs or weights themselves were not written by a step: copy when bound.
  for (size_t i = 0; i < m->outputs.size(); ++i) {
    const Slot& slot = session->slots[static_cast<size_t>(m->outputs[i])];
    const BoundOutput& b = session->bound_outputs[i];
    if (!b.data || slot.data == b.data) continue;
    if (slot.bytes > b.capacity)
      return makeStatus(DLC_INVALID_ARGUMENT, format("output %zu needs %llu bytes; the bound buffer holds %llu", i,
                                                     static_cast<unsigned long long>(slot.bytes), static_cast<unsigned long long>(b.capacity)));
    std::memcpy(b.data, slot.data, slot.bytes);
  }
  if (!m->states.empty()) session->phase = 1 - session->phase;
  session->verifyPlan();
  session->ran = true;
  return nullptr;
}

dlc_status dlc_session_state_get(const dlc_session* session, size_t index, dlc_tensor* out) {
  if (!session || !out) return makeStatus(DLC_INVALID_ARGUMENT, "session and out_tensor must not be NULL");
  const dlc_model* m = session->model;
  if (index >= m->states.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("state index %zu out of range (the model has %zu)", index, m->states.size()));
  const ValueRecord& v = m->values[static_cast<size_t>(m->inputs[m->states[index].input])];
  *out = dlc_tensor{v.dtype, v.rank, v.dims.data(), session->state_buffers[index][static_cast<size_t>(session->phase)],
                    static_cast<size_t>(v.static_bytes)};
  return nullptr;
}

dlc_status dlc_session_state_set(dlc_session* session, size_t index, const dlc_tensor* t) {
  if (!session || !t) return makeStatus(DLC_INVALID_ARGUMENT, "session and tensor must not be NULL");
  const dlc_model* m = session->model;
  if (index >= m->states.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("state index %zu out of range (the model has %zu)", index, m->states.size()));
  const ValueRecord& v = m->values[static_cast<size_t>(m->inputs[m->states[index].input])];
  bool same = t->dtype == v.dtype && t->rank == v.rank && (t->rank == 0 || t->shape);
  for (int32_t i = 0; same && i < t->rank; ++i) same = t->shape[i] == v.dims[static_cast<size_t>(i)];
  if (!same) return makeStatus(DLC_INVALID_ARGUMENT, format("state '%s' needs its own dtype and shape", v.name.c_str()));
  if (t->bytes < v.static_bytes || (v.static_bytes && !t->data))
    return makeStatus(DLC_INVALID_ARGUMENT, format("state '%s' needs %llu bytes, the tensor gives %zu", v.name.c_str(),
                                                   static_cast<unsigned long long>(v.static_bytes), t->bytes));
  if (v.static_bytes) std::memcpy(session->state_buffers[index][static_cast<size_t>(session->phase)], t->data, v.static_bytes);
  session->ran = false;
  return nullptr;
}

void dlc_session_state_reset(dlc_session* session) {
  if (!session) return;
  const dlc_model* m = session->model;
  for (size_t k = 0; k < m->states.size(); ++k)
    if (m->states[k].bytes) std::memcpy(session->state_buffers[k][static_cast<size_t>(session->phase)], m->states[k].initial, m->states[k].bytes);
  session->ran = false;
}

dlc_status dlc_session_step_time(const dlc_session* session, size_t index, uint64_t* out_ns) {
  if (!session || !out_ns) return makeStatus(DLC_INVALID_ARGUMENT, "session and out_ns must not be NULL");
  if (!session->profile) return makeStatus(DLC_INVALID_ARGUMENT, "the session was created without profile");
  if (index >= session->step_ns.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("step index %zu out of range (the model has %zu)", index, session->step_ns.size()));
  *out_ns = session->step_ns[index];
  return nullptr;
}

dlc_status dlc_session_output_get(const dlc_session* session, size_t index, dlc_tensor* out) {
  if (!session || !out) return makeStatus(DLC_INVALID_ARGUMENT, "session and out_tensor must not be NULL");
  const dlc_model* m = session->model;
  if (index >= m->outputs.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("output index %zu out of range (the model has %zu)", index, m->outputs.size()));
  int32_t value = m->outputs[index];
  const Slot& slot = session->slots[static_cast<size_t>(value)];
  if (!session->ran) return makeStatus(DLC_INVALID_ARGUMENT, "no output yet: bind the inputs and run the session first");
  const BoundOutput& b = session->bound_outputs[index];
  *out = dlc_tensor{m->values[static_cast<size_t>(value)].dtype, static_cast<int32_t>(slot.shape.size()), slot.shape.data(),
                    b.data ? b.data : slot.data, static_cast<size_t>(slot.bytes)};
  return nullptr;
}

}  // extern "C"
