/*===- ampc_cpu_support.h - what every ampc CPU library carries -*- C -*-===//
 *
 * Linked statically into every library ampc builds (and into the host side
 * of CUDA libraries), compiled for the baseline x86-64 ISA so that it runs on
 * any x86-64 CPU:
 *  - ampc_cpu_missing_feature, which a loader calls before anything else to
 *    refuse a library compiled for ISA extensions the running CPU lacks
 *    (instead of dying of SIGILL inside a step);
 *  - conversion helpers that LLVM calls where the target has no instruction
 *    for them and that Debian 12's libgcc lacks (__truncsfbf2), kept hidden
 *    so that each library uses its own.
 *
 * Each library also exports, from its own code:
 *   const char ampc_cpu_name[];      the LLVM CPU it was compiled for
 *   const char ampc_cpu_features[];  the ISA extensions it may use, as LLVM
 *                                    names them, comma-separated
 *   const char ampc_manifest[];      its JSON manifest (see docs/ampc.md)
 *===----------------------------------------------------------------------===*/

#ifndef AMPC_CPU_SUPPORT_H
#define AMPC_CPU_SUPPORT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The first feature of `features` (LLVM names, comma-separated, e.g.
 * "avx2,fma,avx512bf16") that the running CPU, or the operating system's
 * saved register state, does not support: a pointer to its first character
 * inside `features`. NULL when every feature is supported. A name this
 * function does not know counts as missing. */
const char *ampc_cpu_missing_feature(const char *features);

/* Whether ampc_cpu_missing_feature knows `feature` (a NUL-terminated LLVM
 * name): the features ampc records are the ones it can check. */
int ampc_cpu_feature_known(const char *feature);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_CPU_SUPPORT_H */
