// Loading a model: mapping or copying the file, checking its header, and the model accessors.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "runtime/src/file_header.h"
#include "runtime/src/internal.h"

using namespace dlc::rt;

dlc_model_t::~dlc_model_t() {
  for (auto& step : steps)
    if (step.library && step.state) step.library->step_release(step.state);
  if (mapping) munmap(mapping, mapping_size);
  if (copy) allocator.free(allocator.user, copy);
  for (void* d : decoded_weights) allocator.free(allocator.user, d);
}

namespace {

dlc_status checkHeaderAndBuild(dlc_model_t& model, const uint8_t* bytes, size_t size) {
  if (size < kHeaderBytes)
    return makeStatus(DLC_INVALID_ARTIFACT, format("not a .dlc artifact: %zu bytes is shorter than the header", size));
  FileHeader header;
  std::memcpy(&header, bytes, sizeof header);
  if (std::memcmp(header.magic, kFileMagic, sizeof kFileMagic) != 0)
    return makeStatus(DLC_INVALID_ARTIFACT, "not a .dlc artifact (bad magic)");
  if (header.format_version < kMinFormatVersion || header.format_version > kFormatVersion)
    return makeStatus(DLC_UNSUPPORTED, format(".dlc format version %u; this runtime reads versions %u to %u",
                                              header.format_version, kMinFormatVersion, kFormatVersion));
  if (header.header_bytes != kHeaderBytes || header.body_bytes != size - kHeaderBytes)
    return makeStatus(DLC_INVALID_ARTIFACT, format("truncated or padded artifact: header says %llu body bytes, file has %zu",
                                                   static_cast<unsigned long long>(header.body_bytes), size - kHeaderBytes));
  for (uint8_t b : header.reserved)
    if (b != 0) return makeStatus(DLC_INVALID_ARTIFACT, "corrupt artifact: reserved header bytes are set");
  if (checksum(bytes + kHeaderBytes, size - kHeaderBytes) != header.body_checksum)
    return makeStatus(DLC_INVALID_ARTIFACT, "corrupt artifact: checksum mismatch");
  return buildModel(model, bytes + kHeaderBytes, size - kHeaderBytes);
}

dlc_status newModel(const dlc_allocator* allocator, dlc_model** out) {
  if (!out) return makeStatus(DLC_INVALID_ARGUMENT, "out_model is NULL");
  *out = nullptr;
  if (allocator && (!allocator->alloc || !allocator->free))
    return makeStatus(DLC_INVALID_ARGUMENT, "allocator needs both alloc and free");
  auto* m = new (std::nothrow) dlc_model_t;
  if (!m) return makeStatus(DLC_OUT_OF_MEMORY, "out of memory");
  m->allocator = allocator ? *allocator : defaultAllocator();
  *out = m;
  return nullptr;
}

dlc_status finish(dlc_model* model, dlc_status status, dlc_model** out) {
  if (status) {
    delete model;
    *out = nullptr;
    return status;
  }
  *out = model;
  return nullptr;
}

}  // namespace

extern "C" {

dlc_status dlc_model_load_file(const char* path, const dlc_allocator* allocator, dlc_model** out_model) {
  if (!path) return makeStatus(DLC_INVALID_ARGUMENT, "path is NULL");
  dlc_model* model = nullptr;
  if (dlc_status s = newModel(allocator, &model)) return s;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return finish(model, makeStatus(DLC_IO_ERROR, format("cannot open '%s': %s", path, strerror(errno))), out_model);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return finish(model, makeStatus(DLC_IO_ERROR, format("'%s' is not a regular file", path)), out_model);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return finish(model, makeStatus(DLC_INVALID_ARTIFACT, format("'%s' is empty", path)), out_model);
  }
  // MAP_PRIVATE: weights are used in place and never written; the file may change later without
  // affecting pages already read only if the writer replaces (not rewrites) it, as `dlc compile` does.
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return finish(model, makeStatus(DLC_IO_ERROR, format("cannot map '%s': %s", path, strerror(errno))), out_model);
  model->mapping = p;
  model->mapping_size = size;
  dlc_status s = checkHeaderAndBuild(*model, static_cast<const uint8_t*>(p), size);
  if (s) {
    std::string message = format("%s (%s)", dlc_status_message(s), path);
    dlc_status_code code = dlc_status_code_get(s);
    dlc_status_free(s);
    s = makeStatus(code, message);
  }
  return finish(model, s, out_model);
}

dlc_status dlc_model_load_memory(const void* data, size_t size, const dlc_allocator* allocator, dlc_model** out_model) {
  if (!data && size) return makeStatus(DLC_INVALID_ARGUMENT, "data is NULL");
  dlc_model* model = nullptr;
  if (dlc_status s = newModel(allocator, &model)) return s;
  // A copy at a 64-byte boundary keeps the FlatBuffer's alignment promises (weights at 64).
  model->copy = model->allocator.alloc(model->allocator.user, size ? size : 1, 64);
  if (!model->copy) return finish(model, makeStatus(DLC_OUT_OF_MEMORY, format("cannot allocate %zu bytes", size)), out_model);
  if (size) std::memcpy(model->copy, data, size);
  return finish(model, checkHeaderAndBuild(*model, static_cast<const uint8_t*>(model->copy), size), out_model);
}

void dlc_model_free(dlc_model* model) { delete model; }

const char* dlc_model_name(const dlc_model* model) { return model ? model->name.c_str() : ""; }
const char* dlc_model_target(const dlc_model* model) { return model ? model->target.c_str() : ""; }
const char* dlc_model_producer(const dlc_model* model) { return model ? model->producer.c_str() : ""; }
uint32_t dlc_model_format_version(const dlc_model* model) { return model ? model->format_version : 0; }
size_t dlc_model_input_count(const dlc_model* model) { return model ? model->inputs.size() : 0; }
size_t dlc_model_output_count(const dlc_model* model) { return model ? model->outputs.size() : 0; }

static dlc_status infoAt(const std::vector<dlc_tensor_info>& infos, size_t index, const char* what,
                         dlc_tensor_info* out) {
  if (!out) return makeStatus(DLC_INVALID_ARGUMENT, "out_info is NULL");
  if (index >= infos.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("%s index %zu out of range (the model has %zu)", what, index, infos.size()));
  *out = infos[index];
  return nullptr;
}

dlc_status dlc_model_input_info(const dlc_model* model, size_t index, dlc_tensor_info* out_info) {
  if (!model) return makeStatus(DLC_INVALID_ARGUMENT, "model is NULL");
  return infoAt(model->input_infos, index, "input", out_info);
}

dlc_status dlc_model_output_info(const dlc_model* model, size_t index, dlc_tensor_info* out_info) {
  if (!model) return makeStatus(DLC_INVALID_ARGUMENT, "model is NULL");
  return infoAt(model->output_infos, index, "output", out_info);
}

static dlc_status findByName(const std::vector<dlc_tensor_info>& infos, const char* name, const char* what, size_t* out) {
  if (!name || !out) return makeStatus(DLC_INVALID_ARGUMENT, "name and out_index must not be NULL");
  for (size_t i = 0; i < infos.size(); ++i)
    if (std::strcmp(infos[i].name, name) == 0) {
      *out = i;
      return nullptr;
    }
  return makeStatus(DLC_INVALID_ARGUMENT, format("the model has no %s named '%s'", what, name));
}

dlc_status dlc_model_input_find(const dlc_model* model, const char* name, size_t* out_index) {
  if (!model) return makeStatus(DLC_INVALID_ARGUMENT, "model is NULL");
  return findByName(model->input_infos, name, "input", out_index);
}

dlc_status dlc_model_output_find(const dlc_model* model, const char* name, size_t* out_index) {
  if (!model) return makeStatus(DLC_INVALID_ARGUMENT, "model is NULL");
  return findByName(model->output_infos, name, "output", out_index);
}

void dlc_model_stats_get(const dlc_model* model, dlc_model_stats* out) {
  if (!model || !out) return;
  out->steps = model->steps.size();
  out->values = model->values.size();
  out->weights = model->weight_count;
  out->weight_bytes = model->weight_bytes;
  out->arena_bytes = model->arena_bytes;
  out->native_code_bytes = model->native_code_bytes;
}

size_t dlc_model_state_count(const dlc_model* model) { return model ? model->states.size() : 0; }

dlc_status dlc_model_state_info(const dlc_model* model, size_t index, dlc_tensor_info* out_info) {
  if (!model || !out_info) return makeStatus(DLC_INVALID_ARGUMENT, "model and out_info must not be NULL");
  if (index >= model->states.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("state index %zu out of range (the model has %zu)", index, model->states.size()));
  *out_info = model->input_infos[model->states[index].input];
  return nullptr;
}

dlc_status dlc_model_state_binding(const dlc_model* model, size_t index, size_t* out_input, size_t* out_output) {
  if (!model || !out_input || !out_output) return makeStatus(DLC_INVALID_ARGUMENT, "NULL argument");
  if (index >= model->states.size())
    return makeStatus(DLC_INVALID_ARGUMENT, format("state index %zu out of range (the model has %zu)", index, model->states.size()));
  *out_input = model->states[index].input;
  *out_output = model->states[index].output;
  return nullptr;
}

dlc_status dlc_model_state_find(const dlc_model* model, const char* name, size_t* out_index) {
  if (!model || !name || !out_index) return makeStatus(DLC_INVALID_ARGUMENT, "NULL argument");
  for (size_t i = 0; i < model->states.size(); ++i)
    if (std::strcmp(model->input_infos[model->states[i].input].name, name) == 0) {
      *out_index = i;
      return nullptr;
    }
  return makeStatus(DLC_INVALID_ARGUMENT, format("the model has no state named '%s'", name));
}

size_t dlc_model_cpu_feature_count(const dlc_model* model) { return model ? model->cpu_features.size() : 0; }
const char* dlc_model_cpu_feature(const dlc_model* model, size_t index) {
  return model && index < model->cpu_features.size() ? model->cpu_features[index].c_str() : nullptr;
}

dlc_status dlc_model_step_describe(const dlc_model* model, size_t index, const char** out_library,
                                   const char** out_kernel, const char** out_location) {
  if (!model || !out_library || !out_kernel || !out_location) return makeStatus(DLC_INVALID_ARGUMENT, "NULL argument");
  if (index >= model->steps.size()) return makeStatus(DLC_INVALID_ARGUMENT, format("step index %zu out of range", index));
  const StepRecord& s = model->steps[index];
  *out_library = s.library->id;
  *out_kernel = s.kernel.c_str();
  *out_location = s.location.c_str();
  return nullptr;
}

}  // extern "C"
