// RUN: amp-opt %s -split-input-file -amp-gpu-library-gemm -canonicalize | FileCheck %s

// Matmul-like ops on buffers become ampc_cuda_gemm calls:
//   (type_a, type_b, type_c, trans_a, trans_b, batch, m, n, k,
//    a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c, beta, bias)
// with type codes f32 = 0, f16 = 1, bf16 = 2 and bias 0 for none.

// The zero fill folds into beta = 0.
// CHECK: func.func private @ampc_cuda_gemm(i32, i32, i32, i32, i32, index, index, index, index, index, index, index, index, index, index, index, index, index, f32, index)
// CHECK-LABEL: func @bf16_matmul_zero_fill
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[BF16:.+]] = arith.constant 2 : i32
// CHECK-DAG: %[[F32:.+]] = arith.constant 0 : i32
// CHECK-NOT: linalg.fill
// CHECK: call @ampc_cuda_gemm(%[[BF16]], %[[BF16]], %[[F32]], %[[F32]], %[[F32]], %c1, %c32, %c128, %c64, %{{.+}}, %c64, %c0, %{{.+}}, %c128, %c0, %{{.+}}, %c128, %c0, %[[ZERO]], %c0)
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
// CHECK: call @ampc_cuda_gemm(%c1_i32, %c1_i32, %c0_i32, %c1_i32, %c0_i32, %c1, %c64, %c128, %c32, %[[PX]], %c64, %c0, %{{.+}}, %c128, %c0, %{{.+}}, %c128, %c0, %cst, %c0)
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
// CHECK: call @ampc_cuda_gemm(%c0_i32, %c0_i32, %c0_i32, %c0_i32, %c0_i32, %c4, %c8, %c32, %c16, %{{.+}}, %c16, %c128, %{{.+}}, %c32, %c512, %{{.+}}, %c32, %c256, %[[ONE]], %c0)
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

// -----

// A bias addition reading the GEMM's result becomes cuBLASLt's BIAS
// epilogue writing bf16 directly: the f32 bias, rounded to bf16 in the
// payload, is rounded once into a temporary; no f32 result is left.
// CHECK-LABEL: func @bias_epilogue_bf16
// CHECK-SAME: (%[[A:.+]]: memref<32x64xbf16>, %[[B:.+]]: memref<64x128xbf16>, %[[BIAS:.+]]: memref<128xf32>)
// CHECK-NOT: memref<32x128xf32>
// CHECK: %[[OUT:.+]] = memref.alloc() : memref<32x128xbf16>
// CHECK: %[[ROUNDED:.+]] = memref.alloc() : memref<128xbf16>
// CHECK: linalg.generic {{.+}} ins(%[[BIAS]] : memref<128xf32>) outs(%[[ROUNDED]] : memref<128xbf16>)
// CHECK: arith.truncf
// CHECK: %[[PBIAS:.+]] = memref.extract_aligned_pointer_as_index %[[ROUNDED]]
// CHECK: call @ampc_cuda_gemm(%c2_i32, %c2_i32, %c2_i32, %c0_i32, %c0_i32, %c1, %c32, %c128, %c64, %{{.+}}, %c64, %c0, %{{.+}}, %c128, %c0, %{{.+}}, %c128, %c0, %cst, %[[PBIAS]])
// CHECK: memref.dealloc %[[ROUNDED]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
func.func @bias_epilogue_bf16(%a: memref<32x64xbf16>, %b: memref<64x128xbf16>, %bias: memref<128xf32>) -> memref<32x128xbf16> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<32x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
  linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x128xbf16>) outs(%c : memref<32x128xf32>)
  %out = memref.alloc() : memref<32x128xbf16>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<32x128xf32>, memref<128xf32>) outs(%out : memref<32x128xbf16>) {
  ^bb0(%x: f32, %y: f32, %o: bf16):
    %yb = arith.truncf %y : f32 to bf16
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %ye = arith.extf %yb : bf16 to f32
    %s = arith.addf %xe, %ye : f32
    %r = arith.truncf %s : f32 to bf16
    linalg.yield %r : bf16
  }
  memref.dealloc %c : memref<32x128xf32>
  return %out : memref<32x128xbf16>
}

// -----

// An f32 bias added in place to f32 logits (later ops read the result):
// the epilogue writes the logits with the f32 bias as stored. The zero
// accumulator copied from a shared zero buffer folds into beta = 0 too.
// CHECK-LABEL: func @bias_epilogue_f32_in_place
// CHECK-SAME: (%[[A:.+]]: memref<32x128xbf16>, %[[B:.+]]: memref<128x10xbf16>, %[[BIAS:.+]]: memref<10xf32>
// CHECK-NOT: memref.copy
// CHECK-NOT: linalg.fill
// CHECK: %[[C:.+]] = memref.alloc() : memref<32x10xf32>
// CHECK: %[[PBIAS:.+]] = memref.extract_aligned_pointer_as_index %[[BIAS]]
// CHECK: call @ampc_cuda_gemm(%c2_i32, %c2_i32, %c0_i32, %c0_i32, %c0_i32, %c1, %c32, %c10, %c128, %{{.+}}, %c128, %c0, %{{.+}}, %c10, %c0, %{{.+}}, %c10, %c0, %cst, %[[PBIAS]])
// CHECK-NEXT: linalg.generic {{.+}} ins(%[[C]] : memref<32x10xf32>)
// CHECK: math.exp
func.func @bias_epilogue_f32_in_place(%a: memref<32x128xbf16>, %b: memref<128x10xbf16>, %bias: memref<10xf32>, %e: memref<32x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %zeros = memref.alloc() : memref<32x10xf32>
  linalg.fill ins(%zero : f32) outs(%zeros : memref<32x10xf32>)
  %c = memref.alloc() : memref<32x10xf32>
  memref.copy %zeros, %c : memref<32x10xf32> to memref<32x10xf32>
  linalg.matmul ins(%a, %b : memref<32x128xbf16>, memref<128x10xbf16>) outs(%c : memref<32x10xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<32x10xf32>, memref<10xf32>) outs(%c : memref<32x10xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<32x10xf32>) outs(%e : memref<32x10xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = math.exp %x : f32
    linalg.yield %y : f32
  }
  memref.dealloc %c : memref<32x10xf32>
  memref.dealloc %zeros : memref<32x10xf32>
  return
}

// -----

// Readers that round the f32 result to bf16 first (the ReLU backward) read
// a bf16 GEMM output instead, the same values bit for bit; their payloads
// lose the rounding.
// CHECK-LABEL: func @narrowed_result
// CHECK-NOT: memref<32x128xf32>
// CHECK: %[[C:.+]] = memref.alloc() : memref<32x128xbf16>
// CHECK: call @ampc_cuda_gemm(%c2_i32, %c2_i32, %c2_i32, %c0_i32, %c1_i32, %c1, %c32, %c128, %c10, %{{.+}}, %c10, %c0, %{{.+}}, %c10, %c0, %{{.+}}, %c128, %c0, %cst, %c0)
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %[[C]] : memref<32x128xbf16>, memref<32x128xbf16>)
// CHECK-NEXT: ^bb0(%{{.+}}: bf16, %[[G:.+]]: bf16, %{{.+}}: bf16):
// CHECK-NOT: arith.truncf %[[G]]
// CHECK: arith.extf %[[G]]
// CHECK: memref.dealloc %[[C]] : memref<32x128xbf16>
func.func @narrowed_result(%g: memref<32x10xbf16>, %w: memref<128x10xbf16>, %pre: memref<32x128xbf16>, %out: memref<32x128xbf16>) {
  %zero = arith.constant 0.0 : f32
  %wt = memref.alloc() : memref<10x128xbf16>
  linalg.transpose ins(%w : memref<128x10xbf16>) outs(%wt : memref<10x128xbf16>) permutation = [1, 0]
  %c = memref.alloc() : memref<32x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
  linalg.matmul ins(%g, %wt : memref<32x10xbf16>, memref<10x128xbf16>) outs(%c : memref<32x128xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%pre, %c : memref<32x128xbf16>, memref<32x128xf32>) outs(%out : memref<32x128xbf16>) {
  ^bb0(%p: bf16, %x: f32, %o: bf16):
    %xb = arith.truncf %x : f32 to bf16
    %pe = arith.extf %p : bf16 to f32
    %xe = arith.extf %xb : bf16 to f32
    %pos = arith.cmpf ogt, %pe, %zero : f32
    %sel = arith.select %pos, %xe, %zero : f32
    %r = arith.truncf %sel : f32 to bf16
    linalg.yield %r : bf16
  }
  memref.dealloc %wt : memref<10x128xbf16>
  memref.dealloc %c : memref<32x128xf32>
  return
}

// -----

// A reader that uses the f32 result unrounded (an f32 weight gradient into
// the optimizer) keeps the f32 output; a payload doing more than the bias
// addition is no epilogue.
// CHECK-LABEL: func @f32_reader_keeps_f32_output
// CHECK: %[[C:.+]] = memref.alloc() : memref<64x128xf32>
// CHECK: call @ampc_cuda_gemm(%c2_i32, %c2_i32, %c0_i32, {{.+}}, %c0)
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %[[C]] : memref<64x128xf32>, memref<64x128xf32>)
// CHECK: arith.mulf
func.func @f32_reader_keeps_f32_output(%x: memref<32x64xbf16>, %g: memref<32x128xbf16>, %w: memref<64x128xf32>, %wn: memref<64x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %lr = arith.constant -0.1 : f32
  %xt = memref.alloc() : memref<64x32xbf16>
  linalg.transpose ins(%x : memref<32x64xbf16>) outs(%xt : memref<64x32xbf16>) permutation = [1, 0]
  %c = memref.alloc() : memref<64x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<64x128xf32>)
  linalg.matmul ins(%xt, %g : memref<64x32xbf16>, memref<32x128xbf16>) outs(%c : memref<64x128xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w, %c : memref<64x128xf32>, memref<64x128xf32>) outs(%wn : memref<64x128xf32>) {
  ^bb0(%p: f32, %d: f32, %o: f32):
    %s = arith.mulf %d, %lr : f32
    %n = arith.addf %p, %s : f32
    linalg.yield %n : f32
  }
  memref.dealloc %xt : memref<64x32xbf16>
  memref.dealloc %c : memref<64x128xf32>
  return
}

// -----

// Bias plus ReLU in one payload: not the BIAS epilogue, but the payload
// rounds the product to bf16 first, so the GEMM writes bf16.
// CHECK-LABEL: func @bias_relu_is_no_epilogue
// CHECK: call @ampc_cuda_gemm(%c2_i32, %c2_i32, %c2_i32, {{.+}}, %c0)
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @bias_relu_is_no_epilogue(%a: memref<32x64xbf16>, %b: memref<64x128xbf16>, %bias: memref<128xbf16>, %out: memref<32x128xbf16>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<32x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
  linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x128xbf16>) outs(%c : memref<32x128xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<32x128xf32>, memref<128xbf16>) outs(%out : memref<32x128xbf16>) {
  ^bb0(%x: f32, %y: bf16, %o: bf16):
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %s = arith.addf %xe, %ye : f32
    %m = arith.maximumf %s, %zero : f32
    %r = arith.truncf %m : f32 to bf16
    linalg.yield %r : bf16
  }
  memref.dealloc %c : memref<32x128xf32>
  return
}
