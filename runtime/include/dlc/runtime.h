/* The dlc runtime C API: load a compiled .dlc artifact, create sessions, bind tensors, run.
 *
 * Conventions: opaque handles; functions return a dlc_status (NULL means success, otherwise the
 * caller frees it with dlc_status_free); out-parameters come last; memory the runtime allocates
 * for models and sessions comes from the caller's allocator when one is given.
 *
 * Threading: a dlc_model is immutable once loaded and may be shared by any number of sessions
 * running concurrently on different threads. A dlc_session is used by one thread at a time. */
#ifndef DLC_RUNTIME_H_
#define DLC_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLC_API __attribute__((visibility("default")))

/* ---- status ---------------------------------------------------------------------------------- */

typedef enum dlc_status_code {
  DLC_OK = 0,
  DLC_INVALID_ARGUMENT = 1, /* a caller error: bad index, wrong dtype or shape, NULL pointer */
  DLC_INVALID_ARTIFACT = 2, /* the file is not a valid .dlc (corrupt, truncated, inconsistent) */
  DLC_UNSUPPORTED = 3,      /* valid but not runnable here: unknown kernel library, CPU feature */
  DLC_IO_ERROR = 4,
  DLC_OUT_OF_MEMORY = 5,
  DLC_KERNEL_ERROR = 6, /* a kernel failed while running */
} dlc_status_code;

typedef struct dlc_status_t* dlc_status;

DLC_API dlc_status_code dlc_status_code_get(dlc_status status); /* DLC_OK for NULL */
DLC_API const char* dlc_status_message(dlc_status status);      /* "" for NULL */
DLC_API void dlc_status_free(dlc_status status);

/* ---- allocator ------------------------------------------------------------------------------- */

/* alloc returns memory aligned to `alignment` (a power of two, at most 4096) or NULL. */
typedef struct dlc_allocator {
  void* user;
  void* (*alloc)(void* user, size_t size, size_t alignment);
  void (*free)(void* user, void* ptr);
} dlc_allocator;

/* ---- tensors --------------------------------------------------------------------------------- */

/* Element types use ONNX TensorProto.DataType codes. */
typedef enum dlc_dtype {
  DLC_DTYPE_F32 = 1, DLC_DTYPE_U8 = 2, DLC_DTYPE_I8 = 3, DLC_DTYPE_U16 = 4, DLC_DTYPE_I16 = 5,
  DLC_DTYPE_I32 = 6, DLC_DTYPE_I64 = 7, DLC_DTYPE_BOOL = 9, DLC_DTYPE_F16 = 10,
  DLC_DTYPE_F64 = 11, DLC_DTYPE_U32 = 12, DLC_DTYPE_U64 = 13, DLC_DTYPE_BF16 = 16,
  DLC_DTYPE_U4 = 21, DLC_DTYPE_I4 = 22 /* packed two per byte, low nibble first */
} dlc_dtype;

DLC_API const char* dlc_dtype_name(int32_t dtype); /* "f32", ...; "?" when unknown */

#define DLC_MAX_RANK 16

/* A tensor view. The runtime never takes ownership of `data`. */
typedef struct dlc_tensor {
  int32_t dtype;
  int32_t rank;
  const int64_t* shape;
  void* data;
  size_t bytes;
} dlc_tensor;

/* A signature entry. dims[i] is -1 where the dim is symbolic (dim_names[i] is its name) or unknown
 * (dim_names[i] is ""); rank is -1 for an unranked tensor. Pointers live as long as the model. */
typedef struct dlc_tensor_info {
  const char* name;
  int32_t dtype;
  int32_t rank;
  const int64_t* dims;
  const char* const* dim_names;
} dlc_tensor_info;

/* ---- models ---------------------------------------------------------------------------------- */

typedef struct dlc_model_t dlc_model;

/* Loads and verifies an artifact. A file is memory-mapped (weights are used in place); memory is
 * copied. `allocator` may be NULL (malloc). Any defect in the artifact is an error, never a crash. */
DLC_API dlc_status dlc_model_load_file(const char* path, const dlc_allocator* allocator, dlc_model** out_model);
DLC_API dlc_status dlc_model_load_memory(const void* data, size_t size, const dlc_allocator* allocator,
                                         dlc_model** out_model);
DLC_API void dlc_model_free(dlc_model* model);

DLC_API const char* dlc_model_name(const dlc_model* model);
DLC_API const char* dlc_model_target(const dlc_model* model);
DLC_API const char* dlc_model_producer(const dlc_model* model);
DLC_API uint32_t dlc_model_format_version(const dlc_model* model);
DLC_API size_t dlc_model_input_count(const dlc_model* model);
DLC_API size_t dlc_model_output_count(const dlc_model* model);
DLC_API dlc_status dlc_model_input_info(const dlc_model* model, size_t index, dlc_tensor_info* out_info);
DLC_API dlc_status dlc_model_output_info(const dlc_model* model, size_t index, dlc_tensor_info* out_info);
DLC_API dlc_status dlc_model_input_find(const dlc_model* model, const char* name, size_t* out_index);
DLC_API dlc_status dlc_model_output_find(const dlc_model* model, const char* name, size_t* out_index);

/* Statistics for inspection: steps, weights and arena bytes, required CPU features. */
typedef struct dlc_model_stats {
  size_t steps;
  size_t values;
  size_t weights;
  uint64_t weight_bytes;
  uint64_t arena_bytes;
  size_t native_code_bytes;
} dlc_model_stats;
DLC_API void dlc_model_stats_get(const dlc_model* model, dlc_model_stats* out_stats);
DLC_API size_t dlc_model_cpu_feature_count(const dlc_model* model);
DLC_API const char* dlc_model_cpu_feature(const dlc_model* model, size_t index);
/* Step i's kernel library, kernel name and source location (for `dlc inspect`). */
DLC_API dlc_status dlc_model_step_describe(const dlc_model* model, size_t index, const char** out_library,
                                           const char** out_kernel, const char** out_location);

/* Training state. A training step's artifact carries state (parameters, optimizer state, the step
 * count): signature inputs the session feeds itself, each replaced after every run by a signature
 * output. A session keeps two buffers per state and swaps them, so a step allocates nothing and
 * copies no state. State inputs and outputs cannot be bound; use dlc_session_state_*. */
DLC_API size_t dlc_model_state_count(const dlc_model* model);
/* State `index`'s name (its input's), dtype and static shape. */
DLC_API dlc_status dlc_model_state_info(const dlc_model* model, size_t index, dlc_tensor_info* out_info);
/* The signature input and output positions state `index` connects. */
DLC_API dlc_status dlc_model_state_binding(const dlc_model* model, size_t index, size_t* out_input, size_t* out_output);
DLC_API dlc_status dlc_model_state_find(const dlc_model* model, const char* name, size_t* out_index);

/* ---- sessions -------------------------------------------------------------------------------- */

typedef struct dlc_session_t dlc_session;

typedef struct dlc_session_options {
  int32_t threads;                /* intra-op threads; 0 = one per CPU this process may use */
  const dlc_allocator* allocator; /* the session's arena and buffers; NULL = the model's */
  int32_t profile;                /* non-zero: time every step of every run (two clock reads each) */
} dlc_session_options;

DLC_API void dlc_session_options_init(dlc_session_options* options);
/* `options` may be NULL for the defaults. The model must outlive the session. */
DLC_API dlc_status dlc_session_create(const dlc_model* model, const dlc_session_options* options,
                                      dlc_session** out_session);
DLC_API void dlc_session_free(dlc_session* session);

/* Binds input `index` to caller memory, read (not copied) by every later run until rebound.
 * dtype and shape must match the signature (symbolic dims bind consistently across inputs). */
DLC_API dlc_status dlc_session_input_bind(dlc_session* session, size_t index, const dlc_tensor* tensor);
DLC_API dlc_status dlc_session_input_bind_by_name(dlc_session* session, const char* name, const dlc_tensor* tensor);

/* Optionally binds output `index` to caller memory of `tensor->bytes` capacity: later runs write the
 * result there (an error if it does not fit). Unbound outputs live in the session. */
DLC_API dlc_status dlc_session_output_bind(dlc_session* session, size_t index, const dlc_tensor* tensor);
DLC_API dlc_status dlc_session_output_bind_by_name(dlc_session* session, const char* name,
                                                   const dlc_tensor* tensor);

/* Runs every step. Allocates only when buffers must grow (the first run, or larger dynamic shapes). */
DLC_API dlc_status dlc_session_run(dlc_session* session);

/* With options.profile: nanoseconds step `index` took, summed over the runs so far. */
DLC_API dlc_status dlc_session_step_time(const dlc_session* session, size_t index, uint64_t* out_ns);

/* The current value of state `index`: a view valid until the next run, state write or free. */
DLC_API dlc_status dlc_session_state_get(const dlc_session* session, size_t index, dlc_tensor* out_tensor);
/* Copies `tensor` (the state's dtype and shape) into state `index`. */
DLC_API dlc_status dlc_session_state_set(dlc_session* session, size_t index, const dlc_tensor* tensor);
/* Puts every state back to the artifact's initial value. */
DLC_API void dlc_session_state_reset(dlc_session* session);

/* The result of the last run: a view valid until the next run, rebind or free. */
DLC_API dlc_status dlc_session_output_get(const dlc_session* session, size_t index, dlc_tensor* out_tensor);

#ifdef __cplusplus
}
#endif

#endif /* DLC_RUNTIME_H_ */
