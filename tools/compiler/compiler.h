/* libdlc_compiler: dlc's compiler as a library (installed as dlc/compiler.h, CMake target
 * dlc::compiler). It compiles models to .dlc artifacts in-process and runs any `dlc` subcommand
 * (quantize, prune, train, export, ...) with the command line's arguments; the artifacts run
 * through libdlcrt (dlc/runtime.h). Functions return 0 on success, else non-zero with dlc's
 * one-line message in `error` (NUL-terminated, cut to `error_capacity`; `error` may be NULL). */
#ifndef DLC_COMPILER_H_
#define DLC_COMPILER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DLC_COMPILER_API __attribute__((visibility("default")))
#else
#define DLC_COMPILER_API
#endif

typedef struct dlc_compile_options {
  const char* target;              /* "reference" (default), "onednn" or "cpu" */
  int32_t opt_level;               /* 0..3 (default 2) */
  const char* const* input_shapes; /* "NAME=1x3x224x224" each: fixes symbolic dims */
  size_t input_shape_count;
  const char* cpu;                 /* cpu target: the CPU to generate code for; NULL: this one */
} dlc_compile_options;

DLC_COMPILER_API void dlc_compile_options_init(dlc_compile_options* options);

/* Compiles MODEL (.onnx or .dlcir) into the artifact at `artifact_path` (written atomically), as
 * `dlc compile` does. `options` may be NULL for the defaults. */
DLC_COMPILER_API int dlc_compile_file(const char* model_path, const char* artifact_path, const dlc_compile_options* options,
                                      char* error, size_t error_capacity);

/* Runs `dlc ARGV[0] ARGV[1..]`, e.g. {"quantize", "m.onnx", "-o", "q.onnx", "--calibrate", "c.npz"}.
 * Its normal output goes to stdout/stderr as the command line's does. */
DLC_COMPILER_API int dlc_compiler_run(int argc, const char* const* argv, char* error, size_t error_capacity);

#ifdef __cplusplus
}
#endif

#endif /* DLC_COMPILER_H_ */
