// A thin C++ wrapper over the C API: RAII handles, and errors as dlc::runtime::Error exceptions.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dlc/runtime.h"

namespace dlc::runtime {

class Error : public std::runtime_error {
 public:
  Error(dlc_status_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  dlc_status_code code() const { return code_; }

 private:
  dlc_status_code code_;
};

// Throws for a non-OK status (freeing it).
inline void check(dlc_status status) {
  if (!status) return;
  Error e(dlc_status_code_get(status), dlc_status_message(status));
  dlc_status_free(status);
  throw e;
}

class Model {
 public:
  static Model loadFile(const std::string& path, const dlc_allocator* allocator = nullptr) {
    dlc_model* m = nullptr;
    check(dlc_model_load_file(path.c_str(), allocator, &m));
    return Model(m);
  }
  static Model loadMemory(const void* data, size_t size, const dlc_allocator* allocator = nullptr) {
    dlc_model* m = nullptr;
    check(dlc_model_load_memory(data, size, allocator, &m));
    return Model(m);
  }
  Model(Model&& o) noexcept : model_(std::exchange(o.model_, nullptr)) {}
  Model& operator=(Model&& o) noexcept {
    std::swap(model_, o.model_);
    return *this;
  }
  ~Model() { dlc_model_free(model_); }

  const dlc_model* get() const { return model_; }
  std::string target() const { return dlc_model_target(model_); }
  size_t inputCount() const { return dlc_model_input_count(model_); }
  size_t outputCount() const { return dlc_model_output_count(model_); }
  dlc_tensor_info input(size_t i) const {
    dlc_tensor_info info;
    check(dlc_model_input_info(model_, i, &info));
    return info;
  }
  dlc_tensor_info output(size_t i) const {
    dlc_tensor_info info;
    check(dlc_model_output_info(model_, i, &info));
    return info;
  }
  size_t stateCount() const { return dlc_model_state_count(model_); }
  dlc_tensor_info state(size_t i) const {
    dlc_tensor_info info;
    check(dlc_model_state_info(model_, i, &info));
    return info;
  }
  // The signature input and output positions state i connects.
  std::pair<size_t, size_t> stateBinding(size_t i) const {
    size_t in = 0, out = 0;
    check(dlc_model_state_binding(model_, i, &in, &out));
    return {in, out};
  }

 private:
  explicit Model(dlc_model* m) : model_(m) {}
  dlc_model* model_;
};

class Session {
 public:
  explicit Session(const Model& model, int32_t threads = 0, const dlc_allocator* allocator = nullptr,
                   bool profile = false) {
    dlc_session_options options;
    dlc_session_options_init(&options);
    options.threads = threads;
    options.allocator = allocator;
    options.profile = profile ? 1 : 0;
    check(dlc_session_create(model.get(), &options, &session_));
  }
  Session(Session&& o) noexcept : session_(std::exchange(o.session_, nullptr)) {}
  Session(const Session&) = delete;
  ~Session() { dlc_session_free(session_); }

  // The caller keeps `data` alive and unchanged until the runs that read it are done.
  void bindInput(size_t index, int32_t dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes) {
    dlc_tensor t{dtype, static_cast<int32_t>(shape.size()), shape.data(), const_cast<void*>(data), bytes};
    check(dlc_session_input_bind(session_, index, &t));
  }
  void bindInput(const std::string& name, int32_t dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes) {
    dlc_tensor t{dtype, static_cast<int32_t>(shape.size()), shape.data(), const_cast<void*>(data), bytes};
    check(dlc_session_input_bind_by_name(session_, name.c_str(), &t));
  }
  void run() { check(dlc_session_run(session_)); }
  dlc_tensor output(size_t index) const {
    dlc_tensor t;
    check(dlc_session_output_get(session_, index, &t));
    return t;
  }
  // Nanoseconds step `index` took over all runs (sessions created with profile).
  uint64_t stepTimeNs(size_t index) const {
    uint64_t ns = 0;
    check(dlc_session_step_time(session_, index, &ns));
    return ns;
  }
  // Training state: the current value (a view valid until the next run or write), and a copy in.
  dlc_tensor state(size_t index) const {
    dlc_tensor t;
    check(dlc_session_state_get(session_, index, &t));
    return t;
  }
  void setState(size_t index, int32_t dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes) {
    dlc_tensor t{dtype, static_cast<int32_t>(shape.size()), shape.data(), const_cast<void*>(data), bytes};
    check(dlc_session_state_set(session_, index, &t));
  }
  void resetState() { dlc_session_state_reset(session_); }
  dlc_session* get() { return session_; }

 private:
  dlc_session* session_ = nullptr;
};

}  // namespace dlc::runtime
