/*===- ampc_cpu_mpi.c - ampc's MPI runtime ---------------------------------===//
 *
 * Thin C over MPI (ampc_cpu_mpi.h): no transport of its own.
 *===----------------------------------------------------------------------===*/

/* clock_gettime and nanosleep under -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include "ampc_cpu_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
  if (!needMPI("ampc_mpi_world_size"))
    return -1;
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int32_t ampc_mpi_step_world_size(void) {
  if (!needMPI("this data-parallel step (compiled with --data-parallel=mpi)")) {
    fflush(stderr);
    abort();
  }
  return ampc_mpi_world_size();
}

const char *ampc_mpi_implementation(void) {
#if defined(OPEN_MPI)
  return "OpenMPI";
#elif defined(MPICH)
  return "MPICH";
#else
  return "unknown";
#endif
}

static double secondsNow(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

void ampc_mpi_finalize_or_abort(double timeoutSeconds) {
  if (!initializedHere || !ampc_mpi_is_initialized())
    return;
  if (timeoutSeconds > 0) {
    MPI_Request request;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    double deadline = secondsNow() + timeoutSeconds;
    int done = 0;
    while (!done) {
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done)
        break;
      if (secondsNow() > deadline) {
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr,
                "ampc: rank %d is exiting, but other ranks did not reach the end within %g s "
                "(a rank left early, e.g. sys.exit, while others wait in a collective): "
                "aborting the job (AMPC_MPI_EXIT_TIMEOUT sets the wait)\n",
                rank, timeoutSeconds);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      struct timespec pause = {0, 1000000}; /* 1 ms */
      nanosleep(&pause, NULL);
    }
  }
  ampc_mpi_finalize();
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
