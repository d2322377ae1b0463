/* The CPU kernel library's bitcode (built by clang-19 from kernels/), embedded in the compiler. */
  .section .rodata
  .global dlc_cpu_kernels_bitcode
  .global dlc_cpu_kernels_bitcode_end
  .balign 16
dlc_cpu_kernels_bitcode:
  .incbin DLC_CPU_KERNELS_BC
dlc_cpu_kernels_bitcode_end:
  .byte 0
  .section .note.GNU-stack,"",@progbits
