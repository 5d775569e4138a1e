// RUN: amp-opt %s -split-input-file -verify-diagnostics -amp-data-parallel
// RUN: not amp-opt %s -split-input-file -amp-data-parallel=bucket-cap-mb=0 2>&1 | FileCheck %s --check-prefix=CAP
// RUN: not amp-opt %s -split-input-file -amp-data-parallel=bucket-cap-mb=inf 2>&1 | FileCheck %s --check-prefix=INF
// RUN: not amp-opt %s -split-input-file -amp-data-parallel=mpi-implementation=LAM 2>&1 | FileCheck %s --check-prefix=IMPL

// CAP: error: amp-data-parallel: bucket-cap-mb must be positive and finite, got 0
// INF: error: amp-data-parallel: bucket-cap-mb must be positive and finite, got INF
// IMPL: error: amp-data-parallel: mpi-implementation must be OpenMPI or MPICH, got 'LAM'

// expected-error@+1 {{amp-data-parallel: no function with optimizer ops}}
module {
  func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

func.func @twice(%w: tensor<4xf32> {amp.role = "param"}, %g: tensor<4xf32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}) {
  // expected-error@+1 {{amp-data-parallel: this function already all-reduces}}
  %s = amp.all_reduce sum %g : tensor<4xf32>
  %w1 = amp.sgd %w, %s {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1 : tensor<4xf32>
}

// -----

// expected-error@+1 {{amp-data-parallel: the module already targets MPI "MPICH", not 'OpenMPI'}}
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "MPICH">} {
  func.func @step(%w: tensor<4xf32> {amp.role = "param"}, %g: tensor<4xf32> {amp.role = "input"})
      -> (tensor<4xf32> {amp.role = "param"}) {
    %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    return %w1 : tensor<4xf32>
  }
}
