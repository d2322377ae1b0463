/* Embedding dlc: a C program that loads a compiled .dlc artifact and runs it, linking only
 * libdlcrt and the kernel library the artifact needs (here the reference kernels).
 *
 * usage: embed MODEL.dlc INPUT.npy [RUNS]
 * INPUT.npy is a little-endian float32 array in C order, matching the model's first input. The
 * program prints the first output's shape and values, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlc/runtime.h"
#include "read_npy.h"
#include "dlc_kernels_reference.h"
#ifdef DLC_EMBED_ONEDNN
#include "dlc_kernels_onednn.h" /* built a second time linking libdlc_onednn as well */
#endif
#ifdef DLC_EMBED_CPU
#include "dlc_kernels_cpu.h" /* and a third time with libdlc_cpu (native code in the artifact) */
#endif

/* Prints the status's message and returns 1 when it is an error (and frees it). */
static int failed(dlc_status status, const char* what) {
  if (!status) return 0;
  fprintf(stderr, "embed: error: %s: %s\n", what, dlc_status_message(status));
  dlc_status_free(status);
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: embed MODEL.dlc INPUT.npy [RUNS]\n");
    return 2;
  }
  int runs = argc > 3 ? atoi(argv[3]) : 1;
  if (failed(dlc_kernels_reference_register(), "registering the reference kernels")) return 1;
#ifdef DLC_EMBED_CPU
  if (failed(dlc_kernels_cpu_register(), "registering the CPU kernels")) return 1;
#endif
#ifdef DLC_EMBED_ONEDNN
  if (failed(dlc_kernels_onednn_register(), "registering the oneDNN kernels")) return 1;
#endif

  dlc_model* model = NULL;
  if (failed(dlc_model_load_file(argv[1], NULL, &model), "loading the model")) return 1;
  dlc_tensor_info info;
  if (failed(dlc_model_input_info(model, 0, &info), "reading the signature")) return 1;
  printf("model %s (target %s): input '%s' %s, %zu output(s)\n", dlc_model_name(model), dlc_model_target(model),
         info.name, dlc_dtype_name(info.dtype), dlc_model_output_count(model));

  int32_t rank = 0;
  int64_t shape[DLC_MAX_RANK];
  size_t bytes = 0;
  float* input = read_npy(argv[2], &rank, shape, &bytes);
  if (!input) {
    fprintf(stderr, "embed: error: cannot read '%s' as a float32 .npy file\n", argv[2]);
    return 1;
  }

  dlc_session_options options;
  dlc_session_options_init(&options);
  options.threads = 1;
  dlc_session* session = NULL;
  int status = 1;
  if (failed(dlc_session_create(model, &options, &session), "creating a session")) goto cleanup;
  dlc_tensor tensor = {DLC_DTYPE_F32, rank, shape, input, bytes};
  if (failed(dlc_session_input_bind(session, 0, &tensor), "binding the input")) goto cleanup;
  for (int r = 0; r < runs; ++r)
    if (failed(dlc_session_run(session), "running")) goto cleanup;

  dlc_tensor out;
  if (failed(dlc_session_output_get(session, 0, &out), "reading the output")) goto cleanup;
  printf("output shape [");
  size_t count = 1;
  for (int32_t i = 0; i < out.rank; ++i) {
    printf("%s%lld", i ? ", " : "", (long long)out.shape[i]);
    count *= (size_t)out.shape[i];
  }
  printf("]\n");
  if (out.dtype == DLC_DTYPE_F32)
    for (size_t i = 0; i < count; ++i) printf("%.9g\n", ((const float*)out.data)[i]);
  status = 0;

cleanup:
  dlc_session_free(session);
  dlc_model_free(model);
  free(input);
  return status;
}
