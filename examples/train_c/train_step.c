/* Example: training from C through the runtime's C API. The artifact is a compiled training step
 * (`dlc train MODEL.onnx --data D.npz -o OUT.onnx --export-step STEP.dlc`): its parameters,
 * optimizer state and step count are session state, so each dlc_session_run is one optimizer step
 * on the batch bound to "x" and "target". This program makes its own batches of a 3-class problem
 * whose class is the largest of three fixed linear scores of x, runs 200 steps, and checks that
 * the loss falls, that resetting the state gives back the first step's loss, and that a state
 * written through the API is what the next step starts from.
 *
 * usage: train_step STEP.dlc */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlc/runtime.h"
#include "dlc_kernels_onednn.h"
#include "dlc_kernels_reference.h"

static int check(dlc_status s, const char* what) {
  if (!s) return 1;
  fprintf(stderr, "train_step: error: %s: %s\n", what, dlc_status_message(s));
  dlc_status_free(s);
  return 0;
}

static unsigned long long rng_state = 12345;
static float uniform(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((rng_state >> 40) + 1) / 16777217.0f;
}
static float normal(void) { return sqrtf(-2.0f * logf(uniform())) * cosf(6.2831853f * uniform()); }

static void make_batch(float* x, long long* t, long long batch, long long features) {
  for (long long i = 0; i < batch; ++i) {
    float best = -1e30f;
    for (long long f = 0; f < features; ++f) x[i * features + f] = normal();
    for (int c = 0; c < 3; ++c) {
      float s = 0;
      for (long long f = 0; f < features; ++f) s += ((f * 7 + c * 3) % 5 - 2.0f) * x[i * features + f];
      if (s > best) best = s, t[i] = c;
    }
  }
}

static float loss_of(dlc_session* session) {
  dlc_tensor out;
  if (!check(dlc_session_output_get(session, 0, &out), "loss")) exit(1);
  return *(const float*)out.data;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: train_step STEP.dlc\n");
    return 2;
  }
  dlc_model* model = NULL;
  dlc_session* session = NULL;
  if (!check(dlc_kernels_reference_register(), "register") || !check(dlc_kernels_onednn_register(), "register") ||
      !check(dlc_model_load_file(argv[1], NULL, &model), argv[1]))
    return 1;
  size_t x_index, t_index;
  dlc_tensor_info x_info;
  if (!check(dlc_model_input_find(model, "x", &x_index), "input x") || !check(dlc_model_input_find(model, "target", &t_index), "input target") ||
      !check(dlc_model_input_info(model, x_index, &x_info), "input x"))
    return 1;
  long long batch = x_info.dims[0], features = x_info.dims[1];
  size_t states = dlc_model_state_count(model);
  printf("%s: %zu states (parameters, optimizer state, step), batch %lld x %lld\n", argv[1], states, batch, features);
  if (!check(dlc_session_create(model, NULL, &session), "session")) return 1;

  float* x = malloc(sizeof(float) * (size_t)(batch * features));
  long long* t = malloc(sizeof(long long) * (size_t)batch);
  int64_t x_shape[2] = {batch, features}, t_shape[1] = {batch};
  dlc_tensor xt = {DLC_DTYPE_F32, 2, x_shape, x, sizeof(float) * (size_t)(batch * features)};
  dlc_tensor tt = {DLC_DTYPE_I64, 1, t_shape, t, sizeof(long long) * (size_t)batch};
  if (!check(dlc_session_input_bind(session, x_index, &xt), "bind x") || !check(dlc_session_input_bind(session, t_index, &tt), "bind target"))
    return 1;

  make_batch(x, t, batch, features);
  if (!check(dlc_session_run(session), "step 1")) return 1;
  float first = loss_of(session), last = 0;
  for (int step = 2; step <= 200; ++step) {
    make_batch(x, t, batch, features);
    if (!check(dlc_session_run(session), "step")) return 1;
    if (step > 190) last += loss_of(session) / 10;
  }
  printf("loss %.4f -> %.4f over 200 steps\n", first, last);

  /* Back to the artifact's initial state: the first batch gives the first loss again. */
  dlc_session_state_reset(session);
  rng_state = 12345;
  make_batch(x, t, batch, features);
  if (!check(dlc_session_run(session), "after reset")) return 1;
  float again = loss_of(session);
  printf("after dlc_session_state_reset: loss %.4f (first step: %.4f)\n", again, first);

  /* Writing a state: zero the first parameter; the next step's loss changes accordingly. */
  dlc_tensor_info p_info;
  dlc_tensor p;
  if (!check(dlc_model_state_info(model, 1, &p_info), "state 1") || !check(dlc_session_state_get(session, 1, &p), "state 1"))
    return 1;
  void* zeros = calloc(1, p.bytes);
  dlc_tensor z = {p.dtype, p.rank, p.shape, zeros, p.bytes};
  if (!check(dlc_session_state_set(session, 1, &z), "write state")) return 1;
  if (!check(dlc_session_state_get(session, 1, &p), "state 1")) return 1;
  int zeroed = memcmp(p.data, zeros, p.bytes) == 0;
  printf("state 1 ('%s') written through the C API: %s\n", p_info.name, zeroed ? "yes" : "no");

  int ok = last < 0.5f * first && fabsf(again - first) <= 1e-6f * fabsf(first) && zeroed;
  free(zeros);
  free(x);
  free(t);
  dlc_session_free(session);
  dlc_model_free(model);
  if (!ok) fprintf(stderr, "train_step: error: the checks failed\n");
  return ok ? 0 : 1;
}
