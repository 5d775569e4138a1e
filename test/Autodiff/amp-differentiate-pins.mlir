// RUN: amp-opt %s -amp-differentiate="loss=mse params=0,1" | FileCheck %s
// RUN: amp-opt %s -amp-differentiate="loss=mse params=0,1" -mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// RUN: amp-opt %s -amp-differentiate="loss=mse params=0,1" -amp-pipeline="compute-type=bf16" | FileCheck %s --check-prefix=BF16

// The adjoints of a pinned op carry its pin, as PyTorch runs an op's
// backward in the precision its forward ran in; the transposes feeding them
// too (they compute in f32), not the tensor.empty inits.
// CHECK-LABEL: func.func @f_train_step(
// CHECK:       linalg.matmul {amp.precision = "f32"} ins(%{{.+}}, %{{.+}} : tensor<4x3xf32>, tensor<3x5xf32>)
// CHECK:       amp.grad_seed
// CHECK-DAG:   linalg.transpose ins(%{{.+}} : tensor<3x5xf32>) outs(%{{.+}} : tensor<5x3xf32>) permutation = [1, 0]  {amp.precision = "f32"}
// CHECK-DAG:   linalg.matmul {amp.precision = "f32"} ins(%{{.+}}, %{{.+}} : tensor<4x5xf32>, tensor<5x3xf32>)
// CHECK-DAG:   linalg.matmul {amp.precision = "f32"} ins(%{{.+}}, %{{.+}} : tensor<3x4xf32>, tensor<4x5xf32>)
// CHECK-NOT:   tensor.empty() {amp.precision

// Backward ops are located at their forward op, marked as its adjoint.
// LOC: #[[FWD:loc[0-9]+]] = loc("{{.*}}amp-differentiate-pins.mlir":[[@LINE+12]]:8)
// LOC: = loc(fused<{amp.adjoint_of = "linalg.matmul"}>[#[[FWD]]])

// With the pipeline, all three matmuls stay f32 in a bf16 step.
// BF16-LABEL: func.func @f_train_step(
// BF16-NOT:   xbf16
// BF16:       return
#id = affine_map<(i, j) -> (i, j)>
func.func @f(%x: tensor<4x3xf32>, %w: tensor<3x5xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  %m = linalg.matmul {amp.precision = "f32"} ins(%x, %w : tensor<4x3xf32>, tensor<3x5xf32>) outs(%f : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %m : tensor<4x5xf32>
}
