/* The LLVM CPU backend's kernel library for the dlc runtime: runs the steps of `--target cpu`
 * artifacts, whose compiled segments travel in the artifact as a native shared object (ops the
 * backend leaves to the reference kernels need libdlc_kernels_reference as well). Link it next to
 * libdlcrt and register it once before loading models. It does not link LLVM. */
#ifndef DLC_KERNELS_CPU_H_
#define DLC_KERNELS_CPU_H_

#include "dlc/kernel_library.h"

/* Segments with symbolic dims read their sizes from a table planned once per distinct shape of
 * their inputs; this many are kept per step (the least recently used dropped). */
#define DLC_CPU_SHAPES_PER_STEP 64

#ifdef __cplusplus
extern "C" {
#endif

DLC_API const dlc_kernel_library* dlc_kernels_cpu(void); /* id "cpu" */
DLC_API dlc_status dlc_kernels_cpu_register(void);

#ifdef __cplusplus
}
#endif

#endif /* DLC_KERNELS_CPU_H_ */
