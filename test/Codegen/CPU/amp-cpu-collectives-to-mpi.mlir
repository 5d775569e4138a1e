// RUN: amp-opt %s -split-input-file -verify-diagnostics -amp-cpu-collectives-to-mpi | FileCheck %s

// In place (MPI_IN_PLACE is 1 in OpenMPI's ABI), on MPI_COMM_WORLD, with
// the reduction op OpenMPI's mpi.h names (ompi_mpi_op_sum, not ompi_mpi_sum).
// CHECK: llvm.mlir.global external @ompi_mpi_op_min()
// CHECK: llvm.mlir.global external @ompi_mpi_op_sum()
// CHECK-NOT: @ompi_mpi_sum
// CHECK-LABEL: func @bucket(
// CHECK: %[[WORLD:.+]] = llvm.mlir.addressof @ompi_mpi_comm_world
// CHECK: %[[IN_PLACE:.+]] = llvm.inttoptr %{{.+}} : i64 to !llvm.ptr
// CHECK: %[[FLOAT:.+]] = llvm.mlir.addressof @ompi_mpi_float
// CHECK: %[[SUM:.+]] = llvm.mlir.addressof @ompi_mpi_op_sum
// CHECK: llvm.call @MPI_Allreduce(%[[IN_PLACE]], %{{.+}}, %{{.+}}, %[[FLOAT]], %[[SUM]], %{{.+}})
// CHECK: llvm.mlir.addressof @ompi_mpi_int32_t
// CHECK: llvm.mlir.addressof @ompi_mpi_op_min
// CHECK: llvm.call @MPI_Allreduce
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">} {
  func.func @bucket(%b: memref<1152xf32>, %flag: memref<1xi32>) {
    amp.all_reduce_in_place sum %b : memref<1152xf32>
    amp.all_reduce_in_place min %flag : memref<1xi32>
    return
  }
}

// -----

// MPICH's handles are integer constants; nothing is renamed.
// CHECK-LABEL: func @mpich(
// CHECK: llvm.call @MPI_Allreduce
// CHECK-NOT: ompi_
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "MPICH">} {
  func.func @mpich(%b: memref<16xf32>) {
    amp.all_reduce_in_place sum %b : memref<16xf32>
    return
  }
}

// -----

// Without the ABI attribute the upstream lowering would call MPICH's ABI.
module {
  func.func @no_abi(%b: memref<16xf32>) {
    // expected-error @+1 {{amp-cpu-collectives-to-mpi: the module does not say which MPI to call}}
    amp.all_reduce_in_place sum %b : memref<16xf32>
    return
  }
}

// -----

// Nothing to do: the module is unchanged (no dlti.map needed).
// CHECK-LABEL: func @plain(
// CHECK-NOT: llvm.
func.func @plain(%b: memref<16xf32>) {
  return
}
