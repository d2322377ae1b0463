/* The reference kernel library for the dlc runtime: runs `--target reference` artifacts (and the
 * steps other targets leave to the reference kernels). Link it next to libdlcrt and register it
 * once before loading models. */
#ifndef DLC_KERNELS_REFERENCE_H_
#define DLC_KERNELS_REFERENCE_H_

#include "dlc/kernel_library.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library descriptor (id "reference"). */
DLC_API const dlc_kernel_library* dlc_kernels_reference(void);
/* Registers it with the runtime; safe to call more than once. */
DLC_API dlc_status dlc_kernels_reference_register(void);

#ifdef __cplusplus
}
#endif

#endif /* DLC_KERNELS_REFERENCE_H_ */
