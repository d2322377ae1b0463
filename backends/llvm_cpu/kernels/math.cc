// Scalar entry points of the vectorizable math in vector_math.h, for the generated elementwise loops to call.
// always_inline: after linking into a model's module the calls inline into those loops, which then vectorize
// (the bodies are branch-free selects with no libm calls).
#include "kernels.h"
#include "vector_math.h"

extern "C" {

__attribute__((always_inline)) float dlc_k_expf(float x) { return dlc_k::exp_(x); }
__attribute__((always_inline)) float dlc_k_logf(float x) { return dlc_k::log_(x); }
__attribute__((always_inline)) float dlc_k_erff(float x) { return dlc_k::erf_(x); }
__attribute__((always_inline)) float dlc_k_tanhf(float x) { return dlc_k::tanh_(x); }
__attribute__((always_inline)) float dlc_k_sigmoidf(float x) { return dlc_k::sigmoid_(x); }
__attribute__((always_inline)) float dlc_k_activate(int32_t act, float x, float alpha, float beta) {
  return dlc_k::activate_(act, x, alpha, beta);
}

}  // extern "C"
