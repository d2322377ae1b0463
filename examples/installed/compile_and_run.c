/* Uses the installed dlc: compiles MODEL.onnx for TARGET with libdlc_compiler (dlc/compiler.h),
 * loads the artifact with libdlcrt (dlc/runtime.h) and runs it on INPUT.npy (float32), printing
 * the first output's shape and values, one per line.
 *
 * usage: compile_and_run MODEL.onnx OUT.dlc INPUT.npy [TARGET] [INPUT_SHAPE] */
#include <stdio.h>
#include <stdlib.h>

#include "dlc/compiler.h"
#include "dlc/runtime.h"
#include "dlc_kernels_cpu.h"
#include "dlc_kernels_reference.h"
#include "read_npy.h"

static int failed(dlc_status status, const char* what) {
  if (!status) return 0;
  fprintf(stderr, "compile_and_run: error: %s: %s\n", what, dlc_status_message(status));
  dlc_status_free(status);
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: compile_and_run MODEL.onnx OUT.dlc INPUT.npy [TARGET] [INPUT_SHAPE]\n");
    return 2;
  }
  dlc_compile_options options;
  dlc_compile_options_init(&options);
  if (argc > 4) options.target = argv[4];
  const char* shapes[1] = {argc > 5 ? argv[5] : NULL};
  if (argc > 5) {
    options.input_shapes = shapes;
    options.input_shape_count = 1;
  }
  char error[512];
  if (dlc_compile_file(argv[1], argv[2], &options, error, sizeof error) != 0) {
    fprintf(stderr, "compile_and_run: error: %s\n", error);
    return 1;
  }

  if (failed(dlc_kernels_reference_register(), "registering the reference kernels")) return 1;
  if (failed(dlc_kernels_cpu_register(), "registering the cpu kernels")) return 1;
  dlc_model* model = NULL;
  if (failed(dlc_model_load_file(argv[2], NULL, &model), "loading the artifact")) return 1;
  int32_t rank = 0;
  int64_t shape[DLC_MAX_RANK];
  size_t bytes = 0;
  float* input = read_npy(argv[3], &rank, shape, &bytes);
  if (!input) {
    fprintf(stderr, "compile_and_run: error: cannot read '%s' as a float32 .npy file\n", argv[3]);
    dlc_model_free(model);
    return 1;
  }
  int status = 1;
  dlc_session* session = NULL;
  dlc_tensor tensor = {DLC_DTYPE_F32, rank, shape, input, bytes};
  dlc_tensor out;
  if (failed(dlc_session_create(model, NULL, &session), "creating a session")) goto done;
  if (failed(dlc_session_input_bind(session, 0, &tensor), "binding the input")) goto done;
  if (failed(dlc_session_run(session), "running")) goto done;
  if (failed(dlc_session_output_get(session, 0, &out), "reading the output")) goto done;
  size_t count = 1;
  printf("target %s output [", dlc_model_target(model));
  for (int32_t i = 0; i < out.rank; ++i) {
    printf("%s%lld", i ? ", " : "", (long long)out.shape[i]);
    count *= (size_t)out.shape[i];
  }
  printf("]\n");
  for (size_t i = 0; out.dtype == DLC_DTYPE_F32 && i < count; ++i) printf("%.9g\n", ((const float*)out.data)[i]);
  status = 0;
done:
  dlc_session_free(session);
  dlc_model_free(model);
  free(input);
  return status;
}
