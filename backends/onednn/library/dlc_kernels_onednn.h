/* The oneDNN kernel library for the dlc runtime: runs the steps of `--target onednn` artifacts
 * (the ops such artifacts leave to the reference kernels need libdlc_kernels_reference as well).
 * Link it next to libdlcrt and register it once before loading models. */
#ifndef DLC_KERNELS_ONEDNN_H_
#define DLC_KERNELS_ONEDNN_H_

#include "dlc/kernel_library.h"

/* A step whose types are not all static (symbolic batch, sequence or image dims) is lowered to
 * primitives at the first run with each distinct input shape; this many are kept per step (per
 * thread count too), the least recently used dropped first. */
#define DLC_ONEDNN_PROGRAMS_PER_STEP 16

#ifdef __cplusplus
extern "C" {
#endif

DLC_API const dlc_kernel_library* dlc_kernels_onednn(void); /* id "onednn" */
DLC_API dlc_status dlc_kernels_onednn_register(void);

#ifdef __cplusplus
}
#endif

#endif /* DLC_KERNELS_ONEDNN_H_ */
