/* The interface between the runtime and a kernel library (reference, LLVM CPU, oneDNN, ...).
 *
 * An artifact's steps name a library by id. A library registers itself once per process with
 * dlc_kernel_library_register; at model load the runtime asks it to prepare every step it owns
 * (parse and check the payload, build whatever the kernel needs), and each run calls run_step.
 * Prepared state is shared by all sessions of a model, so run_step must be safe to call
 * concurrently on one state. */
#ifndef DLC_KERNEL_LIBRARY_H_
#define DLC_KERNEL_LIBRARY_H_

#include "dlc/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLC_KERNEL_ABI_VERSION 3

/* A native-code section of the artifact (a code-generating backend's compiled segments), e.g.
 * format "elf-shared-object" for the LLVM CPU backend. */
typedef struct dlc_native_code {
  const char* format;
  const uint8_t* data;
  size_t size;
} dlc_native_code;

typedef struct dlc_step_info {
  const char* kernel;      /* the artifact's kernel name */
  const char* location;    /* source op name, for messages */
  const uint8_t* payload;  /* the library's own description of the call */
  size_t payload_size;
  int32_t num_inputs;
  int32_t num_outputs;
  const dlc_tensor_info* inputs;  /* declared types of the step's inputs and outputs */
  const dlc_tensor_info* outputs;
  /* Per input: the weight's bytes where the input is a weight of the artifact (valid as long as
   * the model; libraries may repack them here, once), data == NULL for inputs known only at run
   * time. */
  const dlc_tensor* constants;
  /* The artifact's native-code sections, valid as long as the model. */
  int32_t num_native_code;
  const dlc_native_code* native_code;
} dlc_step_info;

/* What one run of a step sees. Absent optional inputs have data == NULL. */
typedef struct dlc_kernel_io {
  const dlc_tensor* inputs;
  int32_t num_inputs;
  int32_t num_outputs;
  int32_t threads;
  void* runtime;
  /* Fixes output `index`'s dtype and shape and returns where to write it: a planned arena slot,
   * a session buffer or caller memory. NULL when the shape contradicts the artifact or memory ran
   * out; the kernel must then fail (the reason is already recorded). */
  void* (*output_allocate)(void* runtime, int32_t index, int32_t dtype, int32_t rank, const int64_t* shape);
  /* Runs fn(context, i) for every i in [0, range) on the session's thread pool, then returns. */
  void (*parallel_for)(void* runtime, size_t range, void (*fn)(void* context, size_t i), void* context);
  /* Scratch memory of at least `bytes` (64-byte aligned) owned by the session for this step: the
   * same buffer every run unless a run needs more. NULL when memory ran out. */
  void* (*workspace)(void* runtime, size_t bytes);
} dlc_kernel_io;

typedef struct dlc_kernel_library {
  uint32_t abi_version; /* DLC_KERNEL_ABI_VERSION */
  const char* id;       /* as named by artifacts: "reference", "cpu", "onednn" */
  /* Return 0 on success; otherwise write a one-line reason to `error` and return non-zero. */
  int (*step_prepare)(const dlc_step_info* step, void** out_state, char* error, size_t error_size);
  int (*step_run)(void* state, const dlc_kernel_io* io, char* error, size_t error_size);
  void (*step_release)(void* state);
  uint32_t flags; /* DLC_LIBRARY_* */
} dlc_kernel_library;

/* The library's kernels run on worker threads of their own (oneDNN's OpenMP), not through
 * parallel_for. A session whose model has such steps lets its own pool's workers sleep after each
 * parallel_for instead of spinning for the next, so that the two sets of threads do not take the
 * cores from each other (measured on resnet50 with the cpu target's sparse kernels inside an onednn
 * artifact, 2 cores: 148 ms spinning, 18 ms yielding; the yield costs a pool-only model ~15%, so
 * it is not the default). */
#define DLC_LIBRARY_OWN_THREADS 1u

/* Registers `library` (kept by pointer; it must outlive its use). Registering the same id again
 * with the same pointer is a no-op; with another pointer it is an error. Thread-safe. */
DLC_API dlc_status dlc_kernel_library_register(const dlc_kernel_library* library);
DLC_API const dlc_kernel_library* dlc_kernel_library_find(const char* id);

#ifdef __cplusplus
}
#endif

#endif /* DLC_KERNEL_LIBRARY_H_ */
