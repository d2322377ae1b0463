// The LLVM CPU backend's runtime library: maps an artifact's compiled segments (an ELF shared
// object in its native-code section) with the system's dynamic loader, repacks each segment's
// weights once at load, and runs segments on the session's workspace and thread pool. A segment
// with symbolic dims reads its sizes from a table planned here once per distinct run shape (its
// textual IR re-inferred from the run's inputs: plan/segment_plan.h), a bounded number kept.
#include "dlc_kernels_cpu.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backends/llvm_cpu/plan/segment_plan.h"
#include "backends/specialize/segment_specialize.h"
#include "ir/parser.h"
#include "kernels.h"

namespace {

constexpr const char* kFormat = "elf-shared-object";

int fail(char* error, size_t size, const std::string& message) {
  if (size) std::snprintf(error, size, "%s", message.c_str());
  return 1;
}

// One loaded shared object per artifact, shared by its steps (keyed by the section's bytes, which
// live as long as the model).
struct LoadedCode {
  void* handle = nullptr;
  int fd = -1;  // the memory file, open while loaded (see openSharedObject)
  int refs = 0;
};
std::mutex g_mutex;
std::map<const uint8_t*, LoadedCode> g_loaded;

// dlopen needs a file: the bytes go to an anonymous memory file, never to disk. The file stays
// open while the library is loaded: dlopen recognises an object it already has by its path, so
// had the descriptor been closed, the next model's memory file would get the same number, the
// same "/proc/self/fd/N", and dlopen would hand back the first model's code (seen: a model
// compiled for batch 16 running the batch-64 code of the one loaded before it).
void* openSharedObject(const uint8_t* data, size_t size, int* fd_out, std::string& error) {
  int fd = memfd_create("dlc-native-code", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create failed: ") + std::strerror(errno);
    return nullptr;
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      error = std::string("cannot write the native code to memory: ") + std::strerror(errno);
      close(fd);
      return nullptr;
    }
    done += static_cast<size_t>(n);
  }
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    error = std::string("the native code does not load: ") + (why ? why : "dlopen failed");
    close(fd);
    return nullptr;
  }
  *fd_out = fd;
  return handle;
}

void unload(LoadedCode& loaded) {
  dlclose(loaded.handle);
  if (loaded.fd >= 0) close(loaded.fd);
}

void* acquire(const dlc_native_code& code, std::string& error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  LoadedCode& loaded = g_loaded[code.data];
  if (!loaded.handle) {
    loaded.handle = openSharedObject(code.data, code.size, &loaded.fd, error);
    if (!loaded.handle) {
      g_loaded.erase(code.data);
      return nullptr;
    }
    const int32_t* abi = static_cast<const int32_t*>(dlsym(loaded.handle, "dlc_cpu_abi_version"));
    if (!abi || *abi != DLC_CPU_ABI_VERSION) {
      error = "the native code was built for another version of the CPU kernel interface";
      unload(loaded);
      g_loaded.erase(code.data);
      return nullptr;
    }
  }
  ++loaded.refs;
  return loaded.handle;
}

void release(const uint8_t* key) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_loaded.find(key);
  if (it == g_loaded.end()) return;
  if (--it->second.refs == 0) {
    unload(it->second);
    g_loaded.erase(it);
  }
}

using RunFn = void (*)(const dlc_cpu_call*);
using PackFn = void (*)(const void* const* inputs, void* packed);
using SizeFn = size_t (*)(void);
using WorkspaceFn = size_t (*)(int32_t threads, const void* table);

// One run shape of a symbolic segment: its table and output shapes.
struct Shaped {
  std::vector<uint8_t> table;
  std::vector<std::vector<int64_t>> output_dims;
};

// A segment with symbolic dims: the tables of the run shapes met, the least recently used dropped
// past kMaxShapes (a run still using one keeps it alive).
struct SymbolicSegment {
  static constexpr size_t kMaxShapes = DLC_CPU_SHAPES_PER_STEP;
  std::string text;  // the segment as textual IR
  std::unique_ptr<dlc::Graph> graph;
  std::vector<const dlc::Op*> ops;
  std::vector<const void*> constants;
  std::vector<bool> shape_operands;
  std::vector<int64_t> signature;
  std::mutex mutex;
  struct Cached {
    std::shared_ptr<const Shaped> shaped;
    uint64_t used = 0;
  };
  std::map<std::vector<int64_t>, Cached> shapes;
  uint64_t clock = 0;
};

struct PreparedStep {
  const uint8_t* code_key = nullptr;
  RunFn run = nullptr;
  WorkspaceFn workspace_bytes = nullptr;
  void* packed = nullptr;
  std::vector<dlc_tensor_info> outputs;
  std::vector<std::vector<int64_t>> output_dims;
  int32_t num_inputs = 0;
  std::unique_ptr<SymbolicSegment> symbolic;
  ~PreparedStep() {
    std::free(packed);
    if (code_key) release(code_key);
  }
};

// The payload names the segment's symbol prefix: "segment=dlc_seg3"; a symbolic segment's goes on
// "\nsignature=w,w,...\n" and its textual IR.
struct Payload {
  std::string prefix;
  bool symbolic = false;
  std::vector<int64_t> signature;
  std::string text;
};

bool parsePayload(const dlc_step_info& step, Payload& out) {
  std::string text(reinterpret_cast<const char*>(step.payload), step.payload_size);
  const std::string key = "segment=";
  if (text.compare(0, key.size(), key) != 0) return false;
  size_t line_end = text.find('\n');
  out.prefix = text.substr(key.size(), line_end == std::string::npos ? std::string::npos : line_end - key.size());
  while (!out.prefix.empty() && out.prefix.back() == ' ') out.prefix.pop_back();
  if (out.prefix.empty() || out.prefix.size() > 64) return false;
  for (char c : out.prefix)
    if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  if (line_end == std::string::npos || line_end + 1 == text.size()) return true;
  const std::string sig = "signature=";
  size_t sig_end = text.find('\n', line_end + 1);
  if (text.compare(line_end + 1, sig.size(), sig) != 0 || sig_end == std::string::npos) return false;
  std::string words = text.substr(line_end + 1 + sig.size(), sig_end - line_end - 1 - sig.size());
  size_t at = 0;
  while (at < words.size()) {
    size_t comma = words.find(',', at);
    std::string w = words.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    char* end = nullptr;
    long long v = std::strtoll(w.c_str(), &end, 10);
    if (w.empty() || *end) return false;
    out.signature.push_back(v);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  out.symbolic = true;
  out.text = text.substr(sig_end + 1);
  return !out.signature.empty();
}

// The segment re-inferred at this run's shapes, its table planned and checked against the code's.
dlc::Expected<std::shared_ptr<const Shaped>> planShape(const SymbolicSegment& seg, const dlc_tensor* inputs) {
  DLC_ASSIGN_OR_RETURN(auto sized, dlc::backends::specializeSegment(seg.text, seg.constants, seg.shape_operands, inputs));
  const dlc::Region& body = sized->body();
  std::vector<const dlc::Op*> ops;
  for (const auto& op : body.ops()) ops.push_back(op.get());
  std::set<const dlc::Value*> outputs;
  for (int i = 0; i < body.numOutputs(); ++i) outputs.insert(body.output(i));
  const std::vector<const void*>& constants = seg.constants;
  dlc::llvm_cpu::IsWeight weight = [&](const dlc::Value* v) {
    const dlc::Value* arg = v;
    for (int i = 0; i < body.numArguments(); ++i)
      if (body.argument(i) == arg) return constants[static_cast<size_t>(i)] != nullptr;
    return false;
  };
  DLC_ASSIGN_OR_RETURN(dlc::llvm_cpu::SegmentTable table, dlc::llvm_cpu::planSegmentTable(seg.ops, ops, outputs, weight));
  if (table.signature != seg.signature)
    return dlc::Status::error("the compiled code does not fit these input sizes (a broadcast or kernel choice they change); compile with --input-shape for them");
  auto shaped = std::make_shared<Shaped>();
  shaped->table = std::move(table.bytes);
  for (int i = 0; i < body.numOutputs(); ++i) {
    const dlc::Type& t = body.output(i)->type();
    if (!t.isTensor() || !t.shape.isStatic()) return dlc::Status::error(dlc::str("output ", i, " has no static shape at these sizes"));
    shaped->output_dims.push_back(t.shape.staticSizes());
  }
  return std::shared_ptr<const Shaped>(std::move(shaped));
}

dlc::Expected<std::shared_ptr<const Shaped>> shapeFor(SymbolicSegment& seg, const dlc_tensor* inputs) {
  std::vector<int64_t> key = dlc::backends::runKey(*seg.graph, seg.constants, seg.shape_operands, inputs);
  {
    std::lock_guard<std::mutex> lock(seg.mutex);
    auto it = seg.shapes.find(key);
    if (it != seg.shapes.end()) {
      it->second.used = ++seg.clock;
      return it->second.shaped;
    }
  }
  DLC_ASSIGN_OR_RETURN(std::shared_ptr<const Shaped> shaped, planShape(seg, inputs));
  std::lock_guard<std::mutex> lock(seg.mutex);
  if (seg.shapes.size() >= SymbolicSegment::kMaxShapes) {
    auto oldest = seg.shapes.begin();
    for (auto it = seg.shapes.begin(); it != seg.shapes.end(); ++it)
      if (it->second.used < oldest->second.used) oldest = it;
    seg.shapes.erase(oldest);
  }
  seg.shapes[key] = {shaped, ++seg.clock};
  return shaped;
}

int stepPrepare(const dlc_step_info* step, void** out_state, char* error, size_t error_size) {
  if (!step->kernel || std::strcmp(step->kernel, "segment") != 0)
    return fail(error, error_size, std::string("unknown kernel '") + (step->kernel ? step->kernel : "") + "'");
  Payload payload;
  if (!parsePayload(*step, payload)) return fail(error, error_size, "malformed payload (expected segment=NAME)");
  const std::string& prefix = payload.prefix;
  const dlc_native_code* code = nullptr;
  for (int32_t i = 0; i < step->num_native_code; ++i)
    if (std::strcmp(step->native_code[i].format, kFormat) == 0) code = &step->native_code[i];
  if (!code || !code->data || code->size == 0) return fail(error, error_size, "the artifact has no native code section");
  for (int32_t o = 0; o < step->num_outputs && !payload.symbolic; ++o)
    for (int32_t d = 0; d < step->outputs[o].rank; ++d)
      if (step->outputs[o].rank < 0 || step->outputs[o].dims[d] < 0)
        return fail(error, error_size, "a segment without symbolic sizes has a symbolic output shape");

  auto* prepared = new PreparedStep();
  if (payload.symbolic) {
    auto seg = std::make_unique<SymbolicSegment>();
    seg->text = std::move(payload.text);
    seg->signature = std::move(payload.signature);
    auto graph = dlc::parseGraph(seg->text, "step payload");
    if (!graph.ok()) {
      delete prepared;
      return fail(error, error_size, graph.status().message());
    }
    seg->graph = std::move(*graph);
    const dlc::Region& body = seg->graph->body();
    if (body.numArguments() != step->num_inputs || body.numOutputs() != step->num_outputs) {
      delete prepared;
      return fail(error, error_size, "the payload's segment does not have the step's inputs and outputs");
    }
    for (const auto& op : body.ops()) seg->ops.push_back(op.get());
    for (int32_t i = 0; i < step->num_inputs; ++i) seg->constants.push_back(step->constants ? step->constants[i].data : nullptr);
    seg->shape_operands = dlc::backends::shapeOperands(*seg->graph);
    prepared->symbolic = std::move(seg);
  }
  std::string why;
  void* handle = acquire(*code, why);
  if (!handle) {
    delete prepared;
    return fail(error, error_size, why);
  }
  prepared->code_key = code->data;
  prepared->run = reinterpret_cast<RunFn>(dlsym(handle, (prefix + "_run").c_str()));
  prepared->workspace_bytes = reinterpret_cast<WorkspaceFn>(dlsym(handle, (prefix + "_workspace_bytes").c_str()));
  auto packed_bytes = reinterpret_cast<SizeFn>(dlsym(handle, (prefix + "_packed_bytes").c_str()));
  auto pack = reinterpret_cast<PackFn>(dlsym(handle, (prefix + "_pack").c_str()));
  if (!prepared->run || !prepared->workspace_bytes || !packed_bytes || !pack) {
    delete prepared;
    return fail(error, error_size, "the native code has no segment '" + prefix + "'");
  }
  // Weights are repacked once, here, into the layouts the kernels read.
  std::vector<const void*> constants(static_cast<size_t>(step->num_inputs));
  for (int32_t i = 0; i < step->num_inputs; ++i) constants[static_cast<size_t>(i)] = step->constants ? step->constants[i].data : nullptr;
  size_t bytes = packed_bytes();
  if (bytes) {
    prepared->packed = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!prepared->packed) {
      delete prepared;
      return fail(error, error_size, "out of memory for packed weights");
    }
    pack(constants.data(), prepared->packed);
  }
  prepared->num_inputs = step->num_inputs;
  for (int32_t o = 0; o < step->num_outputs; ++o) {
    prepared->outputs.push_back(step->outputs[o]);
    prepared->output_dims.emplace_back(step->outputs[o].dims, step->outputs[o].dims + step->outputs[o].rank);
  }
  *out_state = prepared;
  return 0;
}

int stepRun(void* state, const dlc_kernel_io* io, char* error, size_t error_size) {
  auto* step = static_cast<PreparedStep*>(state);
  void* args_small[32];
  std::vector<void*> args_big;
  size_t count = static_cast<size_t>(step->num_inputs) + step->outputs.size();
  void** args = args_small;
  if (count > 32) {
    args_big.resize(count);
    args = args_big.data();
  }
  for (int32_t i = 0; i < step->num_inputs; ++i) args[i] = io->inputs[i].data;
  std::shared_ptr<const Shaped> shaped;
  if (step->symbolic) {
    auto planned = shapeFor(*step->symbolic, io->inputs);
    if (!planned.ok()) return fail(error, error_size, planned.status().message());
    shaped = *planned;
  }
  for (size_t o = 0; o < step->outputs.size(); ++o) {
    const auto& dims = shaped ? shaped->output_dims[o] : step->output_dims[o];
    void* p = io->output_allocate(io->runtime, static_cast<int32_t>(o), step->outputs[o].dtype,
                                  static_cast<int32_t>(dims.size()), dims.data());
    if (!p) return fail(error, error_size, "cannot allocate the output");
    args[static_cast<size_t>(step->num_inputs) + o] = p;
  }
  int32_t threads = io->threads > 0 ? io->threads : 1;
  const void* table = shaped ? shaped->table.data() : nullptr;
  size_t bytes = step->workspace_bytes(threads, table);
  void* workspace = bytes ? io->workspace(io->runtime, bytes) : nullptr;
  if (bytes && !workspace) return fail(error, error_size, "out of memory for the step's workspace");
  dlc_cpu_call call{args, step->packed, workspace, io->runtime, io->parallel_for, threads, 0, table};
  step->run(&call);
  return 0;
}

void stepRelease(void* state) { delete static_cast<PreparedStep*>(state); }

const dlc_kernel_library kLibrary{DLC_KERNEL_ABI_VERSION, "cpu", stepPrepare, stepRun, stepRelease, 0};

}  // namespace

extern "C" {
const dlc_kernel_library* dlc_kernels_cpu(void) { return &kLibrary; }
dlc_status dlc_kernels_cpu_register(void) { return dlc_kernel_library_register(&kLibrary); }
}
