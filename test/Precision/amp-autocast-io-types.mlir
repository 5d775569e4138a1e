// RUN: amp-opt %s -split-input-file -amp-autocast="keep-io-types=false" | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-autocast | FileCheck %s --check-prefix=KEEP

// Arguments used only in low precision take the low type; low results are
// returned as they are.
// CHECK-LABEL: func @io_types
// CHECK-SAME: (%[[X:.+]]: tensor<4x4xf16>, %[[W:.+]]: tensor<4x4xf16>, %[[C:.+]]: tensor<4x4xf32>) -> tensor<4x4xf16>
// CHECK-NOT: amp.cast %[[X]]
// CHECK: %[[M:.+]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<4x4xf16>, tensor<4x4xf16>) outs(%[[C]] : tensor<4x4xf32>)
// CHECK: %[[M2:.+]] = linalg.matmul
// CHECK: %[[M216:.+]] = amp.cast %[[M2]]
// CHECK: %[[R:.+]] = linalg.transpose ins(%[[M216]] : tensor<4x4xf16>)
// CHECK: return %[[R]] : tensor<4x4xf16>
// KEEP-LABEL: func @io_types
// KEEP-SAME: (%{{.+}}: tensor<4x4xf32>, %{{.+}}: tensor<4x4xf32>, %{{.+}}: tensor<4x4xf32>) -> tensor<4x4xf32>
// KEEP: %[[R:.+]] = amp.cast %{{.*}} : tensor<4x4xf16> to tensor<4x4xf32>
// KEEP: return %[[R]] : tensor<4x4xf32>
func.func @io_types(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %t = linalg.transpose ins(%m : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %m2 = linalg.matmul ins(%t, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r = linalg.transpose ins(%m2 : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %u = linalg.transpose ins(%r : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %m3 = linalg.matmul ins(%u, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// A function with callers keeps its signature, with a warning.
// CHECK-LABEL: func @callee
// CHECK-SAME: (%{{.+}}: tensor<4x4xf32>) -> tensor<4x4xf32>
func.func @callee(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul ins(%x, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%x : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}
func.func @caller(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = func.call @callee(%x) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
