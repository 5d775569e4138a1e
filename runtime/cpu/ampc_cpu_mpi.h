/*===- ampc_cpu_mpi.h - ampc's MPI runtime, C API ----------------*- C -*-===//
 *
 * What data-parallel CPU libraries (ampc --data-parallel=mpi) and
 * ampc.distributed call beside the MPI calls the upstream `mpi` dialect
 * emits itself (MPI_Allreduce). Built only where MPI is found; it links
 * libmpi, so libraries that do not all-reduce never need MPI.
 *
 * The runtime owns MPI, not the compiled step: ampc_mpi_init initializes it
 * once (unless the process already did, e.g. through mpi4py) and
 * ampc_mpi_finalize finalizes it only if ampc_mpi_init did. Functions that
 * need MPI and find it uninitialized print why on stderr and return -1.
 * MPI_COMM_WORLD keeps MPI's default error handler (MPI_ERRORS_ARE_FATAL):
 * a failed collective aborts the job with MPI's message instead of
 * returning garbage (docs/distributed.md).
 *===----------------------------------------------------------------------===*/

#ifndef AMPC_CPU_MPI_H
#define AMPC_CPU_MPI_H

#include <stdint.h>

#ifndef AMPC_CPU_MPI_EXPORT
#define AMPC_CPU_MPI_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Initializes MPI (MPI_THREAD_FUNNELED) unless it already is. 0 on success,
 * else MPI's error code. */
AMPC_CPU_MPI_EXPORT int ampc_mpi_init(void);
/* Finalizes MPI if ampc_mpi_init initialized it and it is not finalized. */
AMPC_CPU_MPI_EXPORT void ampc_mpi_finalize(void);
/* At exit: waits up to `timeout_seconds` (<= 0: forever) for every rank to
 * reach the end, then finalizes as ampc_mpi_finalize. A rank that exits
 * while others still wait in a collective (sys.exit on one rank) would
 * otherwise block in MPI_Finalize forever, and they in the collective: after
 * the timeout it calls MPI_Abort, which ends the whole job with a message. */
AMPC_CPU_MPI_EXPORT void ampc_mpi_finalize_or_abort(double timeout_seconds);
/* "OpenMPI" or "MPICH": the ABI this runtime (and its libmpi) has; a library
 * compiled for another one cannot run with it. */
AMPC_CPU_MPI_EXPORT const char *ampc_mpi_implementation(void);
/* 1 when MPI is initialized and not finalized. */
AMPC_CPU_MPI_EXPORT int ampc_mpi_is_initialized(void);
/* This process's rank and the number of ranks in MPI_COMM_WORLD (-1: MPI is
 * not initialized). */
AMPC_CPU_MPI_EXPORT int32_t ampc_mpi_rank(void);
AMPC_CPU_MPI_EXPORT int32_t ampc_mpi_world_size(void);
/* What a compiled data-parallel step calls (before its first all-reduce):
 * the world size, or, when MPI is not initialized, a message on stderr and
 * abort(): a step cannot report an error, and running on would be wrong. */
AMPC_CPU_MPI_EXPORT int32_t ampc_mpi_step_world_size(void);
/* Broadcasts `bytes` bytes at `data` from `root` to every rank. */
AMPC_CPU_MPI_EXPORT int ampc_mpi_broadcast(void *data, int64_t bytes, int32_t root);
/* Whether every rank passed the same `value`: 1 yes, 0 no, -1 no MPI. Every
 * rank learns the answer (one all-reduce of (min, max) pairs). */
AMPC_CPU_MPI_EXPORT int ampc_mpi_same_everywhere(uint64_t value);
/* MPI_Allreduce(MPI_IN_PLACE, ...) of `count` doubles (MPI_SUM); for the
 * host side's averages (losses, metrics). 0 on success. */
AMPC_CPU_MPI_EXPORT int ampc_mpi_allreduce_sum_f64(double *data, int64_t count);
/* MPI_Abort(MPI_COMM_WORLD, code): ends every rank, for a rank that fails
 * (an exception) while the others wait in a collective. */
AMPC_CPU_MPI_EXPORT void ampc_mpi_abort(int code);
/* MPI_Barrier on MPI_COMM_WORLD. 0 on success. */
AMPC_CPU_MPI_EXPORT int ampc_mpi_barrier(void);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_CPU_MPI_H */
