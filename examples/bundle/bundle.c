/* A model statically linked into a C program with no loader and no dlc runtime: the object, header
 * and weights of `dlc compile --target cpu --emit=bundle` (here small_cnn.o/.h/.weights).
 *
 * usage: bundle small_cnn.weights INPUT.npy EXPECTED.npy
 * Runs the model on INPUT (float32 [1,3,32,32]), prints the output and its largest difference
 * from EXPECTED (PyTorch's output), and exits non-zero when that exceeds 1e-5 x max|EXPECTED|. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "read_npy.h"
#include "small_cnn.h"

static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* data = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return data;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bundle small_cnn.weights INPUT.npy EXPECTED.npy\n");
    return 2;
  }
  size_t weights_size = 0, in_bytes = 0, want_bytes = 0;
  int32_t rank = 0;
  int64_t shape[READ_NPY_MAX_RANK];
  unsigned char* weights = read_file(argv[1], &weights_size);
  float* input = read_npy(argv[2], &rank, shape, &in_bytes);
  float* want = read_npy(argv[3], &rank, shape, &want_bytes);
  if (!weights || !input || !want) {
    fprintf(stderr, "bundle: error: cannot read the weights or the .npy files\n");
    return 1;
  }
  if (in_bytes != SMALL_CNN_INPUT0_ELEMENTS * sizeof(float) || want_bytes != SMALL_CNN_OUTPUT0_ELEMENTS * sizeof(float)) {
    fprintf(stderr, "bundle: error: the input or expected output has the wrong size\n");
    return 1;
  }
  small_cnn_model model;
  if (small_cnn_init(&model, weights, weights_size) != 0) {
    fprintf(stderr, "bundle: error: %s is not this model's weights file (%zu bytes, expected %u)\n", argv[1], weights_size,
            SMALL_CNN_WEIGHTS_BYTES);
    return 1;
  }
  float output[SMALL_CNN_OUTPUT0_ELEMENTS];
  const void* inputs[1] = {input};
  void* outputs[1] = {output};
  small_cnn_infer(&model, inputs, outputs);
  double max_err = 0, max_ref = 0;
  for (int i = 0; i < SMALL_CNN_OUTPUT0_ELEMENTS; ++i) {
    printf("%.9g\n", output[i]);
    max_err = fmax(max_err, fabs((double)output[i] - want[i]));
    max_ref = fmax(max_ref, fabs((double)want[i]));
  }
  double bound = 1e-5 * (max_ref > 1 ? max_ref : 1);
  printf("bundle vs PyTorch: max abs error %.3g, bound %.3g\n", max_err, bound);
  small_cnn_free(&model);
  free(weights);
  free(input);
  free(want);
  return max_err <= bound ? 0 : 1;
}
