/*===- ampc_cpu_mpi.c - ampc's MPI runtime ---------------------------------===//
 *
 * Thin C over MPI (ampc_cpu_mpi.h): no transport of its own.
 *===----------------------------------------------------------------------===*/

#include "ampc_cpu_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>

static int initializedHere = 0;

int ampc_mpi_is_initialized(void) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

static int needMPI(const char *what) {
  if (ampc_mpi_is_initialized())
    return 1;
  fprintf(stderr,
          "ampc: %s needs MPI, which is not initialized: a data-parallel library runs under "
          "mpirun after ampc.distributed.init() (or ampc_mpi_init)\n",
          what);
  return 0;
}

int ampc_mpi_init(void) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) {
    fprintf(stderr, "ampc: MPI was already finalized in this process; it cannot start again\n");
    return MPI_ERR_OTHER;
  }
  if (initialized)
    return MPI_SUCCESS;
  /* Only the thread that initializes calls MPI; the step's own threads
   * (OpenMP) never do. */
  int provided = 0;
  int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  if (rc == MPI_SUCCESS)
    initializedHere = 1;
  return rc;
}

void ampc_mpi_finalize(void) {
  if (initializedHere && ampc_mpi_is_initialized())
    MPI_Finalize();
  initializedHere = 0;
}

int32_t ampc_mpi_rank(void) {
  if (!needMPI("ampc_mpi_rank"))
    return -1;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int32_t ampc_mpi_world_size(void) {
  if (!needMPI("a data-parallel step (ampc_mpi_world_size)"))
    return -1;
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int ampc_mpi_broadcast(void *data, int64_t bytes, int32_t root) {
  if (!needMPI("ampc_mpi_broadcast"))
    return -1;
  /* MPI counts in int: large states go in chunks. */
  char *at = (char *)data;
  while (bytes > 0) {
    int chunk = bytes > INT_MAX ? INT_MAX : (int)bytes;
    int rc = MPI_Bcast(at, chunk, MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
      return rc;
    at += chunk;
    bytes -= chunk;
  }
  return MPI_SUCCESS;
}

int ampc_mpi_same_everywhere(uint64_t value) {
  if (!needMPI("ampc_mpi_same_everywhere"))
    return -1;
  /* min(v) == max(v) <=> all equal; max(v) as min(~v). */
  uint64_t pair[2] = {value, ~value};
  if (MPI_Allreduce(MPI_IN_PLACE, pair, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
    return -1;
  return pair[0] == ~pair[1];
}

int ampc_mpi_allreduce_sum_f64(double *data, int64_t count) {
  if (!needMPI("ampc_mpi_allreduce_sum_f64"))
    return -1;
  if (count > INT_MAX)
    return MPI_ERR_COUNT;
  return MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int ampc_mpi_barrier(void) {
  if (!needMPI("ampc_mpi_barrier"))
    return -1;
  return MPI_Barrier(MPI_COMM_WORLD);
}

void ampc_mpi_abort(int code) {
  if (ampc_mpi_is_initialized())
    MPI_Abort(MPI_COMM_WORLD, code);
}
