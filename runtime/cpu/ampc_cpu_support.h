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
 *    so that each library uses its own;
 *  - the step profiler (ampc_cpu_profile.c): a per-library table of the
 *    time spent in each kernel and runtime call of its steps.
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

/* The step profiler. amp-cpu-profile-points surrounds every kernel and
 * runtime call of a step with ampc_profile_begin/ampc_profile_end and lists
 * the points in the manifest ("profile_points", by id); ampc gives the
 * library a table of that many totals. Profiling is off until
 * ampc_profile_enable(1): begin then tests a flag and returns 0, and end
 * ignores it. On, begin returns the time (ns, never 0) and
 * end adds what elapsed, and one call, to point `id`. */
long long ampc_profile_begin(void);
void ampc_profile_end(long long id, long long start);
/* Turns profiling on (1) or off (0); returns the previous setting. */
int ampc_profile_enable(int on);
/* How many points the library's table holds. */
long long ampc_profile_points(void);
/* Copies the totals of points 0..count-1 (nanoseconds, calls); points past
 * the table read 0. */
void ampc_profile_read(long long count, long long *nanoseconds, long long *calls);
/* Zeroes every total. */
void ampc_profile_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_CPU_SUPPORT_H */
