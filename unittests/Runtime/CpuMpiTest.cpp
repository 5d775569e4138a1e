//===- CpuMpiTest.cpp - ampc's MPI runtime (ampc_cpu_mpi.h) -----------------===//
//
// One process, so MPI runs as a singleton (world size 1): what the functions
// do before MPI is up, and that they are identities on one rank. Several
// ranks are tested from Python under mpirun (python/tests/test_distributed.py).
//
//===----------------------------------------------------------------------===//

#include "ampc_cpu_mpi.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace {

TEST(CpuMpiTest, RefusesBeforeInit) {
  EXPECT_EQ(ampc_mpi_is_initialized(), 0);
  EXPECT_EQ(ampc_mpi_rank(), -1);
  EXPECT_EQ(ampc_mpi_world_size(), -1);
  char byte = 7;
  EXPECT_EQ(ampc_mpi_broadcast(&byte, 1, 0), -1);
  EXPECT_EQ(ampc_mpi_same_everywhere(42), -1);
  EXPECT_EQ(ampc_mpi_barrier(), -1);
  ampc_mpi_finalize(); // nothing to finalize: no effect
  EXPECT_EQ(ampc_mpi_is_initialized(), 0);
}

TEST(CpuMpiTest, SingletonIsTheIdentity) {
  // OpenMPI refuses root without these (CI runs as root).
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  ASSERT_EQ(ampc_mpi_init(), 0);
  EXPECT_EQ(ampc_mpi_init(), 0); // once only
  EXPECT_EQ(ampc_mpi_is_initialized(), 1);
  EXPECT_EQ(ampc_mpi_rank(), 0);
  EXPECT_EQ(ampc_mpi_world_size(), 1);
  EXPECT_EQ(ampc_mpi_same_everywhere(0xdeadbeefcafef00dULL), 1);
  EXPECT_EQ(ampc_mpi_same_everywhere(0), 1);
  EXPECT_EQ(ampc_mpi_same_everywhere(~0ULL), 1);
  std::vector<unsigned char> bytes = {1, 2, 3, 4, 5};
  EXPECT_EQ(ampc_mpi_broadcast(bytes.data(), bytes.size(), 0), 0);
  EXPECT_EQ(bytes, (std::vector<unsigned char>{1, 2, 3, 4, 5}));
  std::vector<double> values = {1.5, -2.0, 0.25};
  EXPECT_EQ(ampc_mpi_allreduce_sum_f64(values.data(), values.size()), 0);
  EXPECT_EQ(values, (std::vector<double>{1.5, -2.0, 0.25}));
  EXPECT_EQ(ampc_mpi_barrier(), 0);
  ampc_mpi_finalize();
  EXPECT_EQ(ampc_mpi_is_initialized(), 0);
  // MPI cannot start twice in one process: a clear refusal, not a crash.
  EXPECT_NE(ampc_mpi_init(), 0);
}

} // namespace
