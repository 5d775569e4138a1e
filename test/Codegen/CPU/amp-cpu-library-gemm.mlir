// RUN: amp-opt %s -split-input-file -amp-cpu-library-gemm -canonicalize | FileCheck %s

// f32 GEMM from zero with a bias and a ReLU after it: one call, beta = 0,
// the bias and the ReLU as oneDNN's bias and post-op; nothing else left.
// CHECK: func.func private @ampc_cpu_gemm(i32, i32, i32, i32, i32, index, index, index, index, index, index, index, index, index, index, index, index, index, f32, index, i32, i32)
// CHECK-LABEL: func.func @f32_bias_relu(
// CHECK-SAME: %[[A:.*]]: memref<32x64xf32>, %[[B:.*]]: memref<64x128xf32>, %[[BIAS:.*]]: memref<128xf32>, %[[OUT:.*]]: memref<32x128xf32>)
// CHECK-NOT: linalg.
// CHECK-DAG: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK-DAG: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-DAG: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK-DAG: %[[PBIAS:.*]] = memref.extract_aligned_pointer_as_index %[[BIAS]]
// types f32 x f32 -> f32, no transposes, batch 1, M N K, A/lda, B/ldb,
// C/ldc, beta 0, bias (f32), ReLU post-op:
// CHECK: call @ampc_cpu_gemm(%c0_i32, %c0_i32, %c0_i32, %c0_i32, %c0_i32, %c1, %c32, %c128, %c64, %[[PA]], %c64, %c0, %[[PB]], %c128, %c0, %[[PC]], %c128, %c0, %cst, %[[PBIAS]], %c0_i32, %c1_i32)
// CHECK-NOT: linalg.
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @f32_bias_relu(%a: memref<32x64xf32>, %b: memref<64x128xf32>, %bias: memref<128xf32>,
                         %out: memref<32x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<32x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
  linalg.matmul ins(%a, %b : memref<32x64xf32>, memref<64x128xf32>) outs(%c : memref<32x128xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<32x128xf32>, memref<128xf32>) outs(%out : memref<32x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %c : memref<32x128xf32>
  return
}

// -----

// bf16 inputs, f32 accumulator that every reader rounds to bf16: oneDNN
// writes bf16 (type 2) into a bf16 buffer the reader then reads.
// CHECK-LABEL: func.func @bf16_narrowed(
// CHECK: %[[C:.*]] = memref.alloc() : memref<32x128xbf16>
// CHECK-NOT: linalg.fill
// CHECK: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK: call @ampc_cpu_gemm(%c2_i32, %c2_i32, %c2_i32, %c0_i32, %c0_i32, %c1, %c32, %c128, %c64, %{{.*}}, %c64, %c0, %{{.*}}, %c128, %c0, %[[PC]], %c128, %c0, %cst, %c0, %c0_i32, %c0_i32)
// CHECK: linalg.generic {{.*}} ins(%[[C]] : memref<32x128xbf16>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16,
// CHECK-NEXT: arith.extf %[[IN]] : bf16 to f32
// CHECK: memref.dealloc %[[C]] : memref<32x128xbf16>
func.func @bf16_narrowed(%a: memref<32x64xbf16>, %b: memref<64x128xbf16>, %out: memref<32x128xbf16>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<32x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
  linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x128xbf16>) outs(%c : memref<32x128xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<32x128xf32>) outs(%out : memref<32x128xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    %e = arith.extf %t : bf16 to f32
    %m = arith.mulf %e, %e : f32
    %r = arith.truncf %m : f32 to bf16
    linalg.yield %r : bf16
  }
  memref.dealloc %c : memref<32x128xf32>
  return
}

// -----

// Two transposed copies in one reused buffer, each read by one GEMM: both
// fold into the GEMMs' transpose flags; a GEMM with beta = 1 accumulates.
// CHECK-LABEL: func.func @shared_transposes(
// CHECK-SAME: %[[X:.*]]: memref<64x32xf32>, %[[Y:.*]]: memref<64x32xf32>,
// CHECK-NOT: linalg.transpose
// CHECK-NOT: memref.alloc
// CHECK: %[[PX:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// transA = 1, lda = 32 (the stored 64x32), beta = 1:
// CHECK: call @ampc_cpu_gemm(%c0_i32, %c0_i32, %c0_i32, %c1_i32, %c0_i32, %c1, %c32, %c16, %c64, %[[PX]], %c32, %c0, {{.*}}, %cst,
// CHECK: %[[PY:.*]] = memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK: call @ampc_cpu_gemm(%c0_i32, %c0_i32, %c0_i32, %c1_i32, %c0_i32, %c1, %c32, %c16, %c64, %[[PY]], %c32, %c0,
// CHECK-NOT: linalg.transpose
func.func @shared_transposes(%x: memref<64x32xf32>, %y: memref<64x32xf32>, %b: memref<64x16xf32>,
                             %c1: memref<32x16xf32>, %c2: memref<32x16xf32>) {
  %t = memref.alloc() : memref<32x64xf32>
  linalg.transpose ins(%x : memref<64x32xf32>) outs(%t : memref<32x64xf32>) permutation = [1, 0]
  linalg.matmul ins(%t, %b : memref<32x64xf32>, memref<64x16xf32>) outs(%c1 : memref<32x16xf32>)
  linalg.transpose ins(%y : memref<64x32xf32>) outs(%t : memref<32x64xf32>) permutation = [1, 0]
  linalg.matmul ins(%t, %b : memref<32x64xf32>, memref<64x16xf32>) outs(%c2 : memref<32x16xf32>)
  memref.dealloc %t : memref<32x64xf32>
  return
}

// -----

// A batched GEMM: batch strides from the buffers' layouts.
// CHECK-LABEL: func.func @batched(
// batch 4; batch strides 128, 512, 256 elements:
// CHECK: call @ampc_cpu_gemm(%c2_i32, %c2_i32, %c0_i32, %c0_i32, %c0_i32, %c4, %c8, %c32, %c16, %{{.*}}, %c16, %c128, %{{.*}}, %c32, %c512, %{{.*}}, %c32, %c256, %cst, %c0, %c0_i32, %c0_i32)
func.func @batched(%a: memref<4x8x16xbf16>, %b: memref<4x16x32xbf16>, %c: memref<4x8x32xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<4x8x16xbf16>, memref<4x16x32xbf16>)
                      outs(%c : memref<4x8x32xf32>)
  return
}

// -----

// What stays generated: integer matmuls, payloads that are not out + a * b,
// mixed input types, and operands whose inner stride is not 1.
// CHECK-LABEL: func.func @stays(
// CHECK-NOT: call @ampc_cpu_gemm
// CHECK: linalg.matmul {{.*}}memref<8x8xi8>
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: linalg.matmul {{.*}}memref<8x8xf16>, memref<8x8xbf16>
// CHECK: linalg.matmul {{.*}}strided<[1, 8]>
// CHECK-NOT: call @ampc_cpu_gemm
func.func @stays(%ai: memref<8x8xi8>, %bi: memref<8x8xi8>, %ci: memref<8x8xi32>,
                 %a: memref<8x8xf32>, %b: memref<8x8xf32>, %c: memref<8x8xf32>,
                 %h: memref<8x8xf16>, %bb: memref<8x8xbf16>,
                 %s: memref<8x8xf32, strided<[1, 8]>>) {
  linalg.matmul ins(%ai, %bi : memref<8x8xi8>, memref<8x8xi8>) outs(%ci : memref<8x8xi32>)
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>,
                                   affine_map<(i, j, k) -> (i, j)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %n = arith.negf %x : f32
    %m = arith.mulf %n, %y : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  linalg.matmul ins(%h, %bb : memref<8x8xf16>, memref<8x8xbf16>) outs(%c : memref<8x8xf32>)
  linalg.matmul ins(%a, %b : memref<8x8xf32>, memref<8x8xf32>) outs(%s : memref<8x8xf32, strided<[1, 8]>>)
  return
}

// -----

// A linear layer over (batch, tokens, features) whose reshape was folded
// into the contraction: two M loops that every operand reads together
// merge into one (M = 4 * 8), and the GEMM goes to oneDNN.
// CHECK-LABEL: func.func @merged_m_dims(
// CHECK-NOT: linalg.generic
// CHECK: call @ampc_cpu_gemm(%c2_i32, %c2_i32, %c0_i32, %c0_i32, %c0_i32, %c1, %c32, %c16, %c64,
func.func @merged_m_dims(%x: memref<4x8x64xbf16>, %w: memref<64x16xbf16>, %out: memref<4x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<4x8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, t, n, k) -> (b, t, k)>, affine_map<(b, t, n, k) -> (k, n)>,
                                   affine_map<(b, t, n, k) -> (b, t, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x8x64xbf16>, memref<64x16xbf16>) outs(%out : memref<4x8x16xf32>) {
  ^bb0(%a: bf16, %b: bf16, %o: f32):
    %ea = arith.extf %a : bf16 to f32
    %eb = arith.extf %b : bf16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  }
  return
}
