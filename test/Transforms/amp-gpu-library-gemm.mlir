// RUN: amp-opt %s -split-input-file -amp-gpu-library-gemm -canonicalize | FileCheck %s

// Matmul-like ops on buffers become ampc_cuda_gemm calls:
//   (type_a, type_b, type_c, trans_a, trans_b, batch, m, n, k,
//    a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c, beta)
// with type codes f32 = 0, f16 = 1, bf16 = 2.

// The zero fill folds into beta = 0.
// CHECK: func.func private @ampc_cuda_gemm(i32, i32, i32, i32, i32, index, index, index, index, index, index, index, index, index, index, index, index, index, f32)
// CHECK-LABEL: func @bf16_matmul_zero_fill
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[BF16:.+]] = arith.constant 2 : i32
// CHECK-DAG: %[[F32:.+]] = arith.constant 0 : i32
// CHECK-NOT: linalg.fill
// CHECK: call @ampc_cuda_gemm(%[[BF16]], %[[BF16]], %[[F32]], %[[F32]], %[[F32]], %c1, %c32, %c128, %c64, %{{.+}}, %c64, %c0, %{{.+}}, %c128, %c0, %{{.+}}, %c128, %c0, %[[ZERO]])
// CHECK-NOT: linalg.matmul
func.func @bf16_matmul_zero_fill(%a: memref<32x64xbf16>, %b: memref<64x128xbf16>) -> memref<32x128xf32> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<32x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
  linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x128xbf16>) outs(%c : memref<32x128xf32>)
  return %c : memref<32x128xf32>
}

// -----

// The transposed copy is not written: A is read in place with trans_a = 1.
// CHECK-LABEL: func @transpose_folds_into_flag
// CHECK-SAME: (%[[X:.+]]: memref<32x64xf16>
// CHECK-NOT: linalg.transpose
// CHECK-NOT: memref.alloc
// CHECK: %[[PX:.+]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: call @ampc_cuda_gemm(%c1_i32, %c1_i32, %c0_i32, %c1_i32, %c0_i32, %c1, %c64, %c128, %c32, %[[PX]], %c64, %c0, %{{.+}}, %c128, %c0, %{{.+}}, %c128, %c0, %cst)
func.func @transpose_folds_into_flag(%x: memref<32x64xf16>, %g: memref<32x128xf16>, %c: memref<64x128xf32>) {
  %t = memref.alloc() : memref<64x32xf16>
  linalg.transpose ins(%x : memref<32x64xf16>) outs(%t : memref<64x32xf16>) permutation = [1, 0]
  linalg.matmul ins(%t, %g : memref<64x32xf16>, memref<32x128xf16>) outs(%c : memref<64x128xf32>)
  memref.dealloc %t : memref<64x32xf16>
  return
}

// -----

// Batched, FP32 (no tensor cores, as PyTorch's default), accumulating into
// the given C (beta = 1); batch strides come from the layouts.
// CHECK-LABEL: func @f32_batch_matmul_accumulates
// CHECK: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: call @ampc_cuda_gemm(%c0_i32, %c0_i32, %c0_i32, %c0_i32, %c0_i32, %c4, %c8, %c32, %c16, %{{.+}}, %c16, %c128, %{{.+}}, %c32, %c512, %{{.+}}, %c32, %c256, %[[ONE]])
func.func @f32_batch_matmul_accumulates(%a: memref<4x8x16xf32>, %b: memref<4x16x32xf32>, %c: memref<4x8x32xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<4x8x16xf32>, memref<4x16x32xf32>) outs(%c : memref<4x8x32xf32>)
  return
}

// -----

// cuBLASLt needs equal input types: this one stays a kernel.
// CHECK-LABEL: func @mixed_input_types_stay
// CHECK-NOT: call
// CHECK: linalg.matmul
func.func @mixed_input_types_stay(%a: memref<8x16xf16>, %b: memref<16x32xbf16>, %c: memref<8x32xf32>) {
  linalg.matmul ins(%a, %b : memref<8x16xf16>, memref<16x32xbf16>) outs(%c : memref<8x32xf32>)
  return
}

// -----

// cuBLASLt reads unit inner strides only.
// CHECK-LABEL: func @strided_operand_stays
// CHECK-NOT: call
// CHECK: linalg.matmul
func.func @strided_operand_stays(%a: memref<8x32xf16>, %b: memref<16x32xf16>, %c: memref<8x32xf32>) {
  %s = memref.subview %a[0, 0] [8, 16] [1, 2] : memref<8x32xf16> to memref<8x16xf16, strided<[32, 2]>>
  linalg.matmul ins(%s, %b : memref<8x16xf16, strided<[32, 2]>>, memref<16x32xf16>) outs(%c : memref<8x32xf32>)
  return
}
