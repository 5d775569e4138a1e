// RUN: amp-opt %s -split-input-file -amp-cpu-library-gemm -canonicalize | FileCheck %s

// Call arguments: kind (0 forward, 1 backward data, 2 backward weights),
// types of x, w, y; N, G, C, H, W, K, KH, KW, OH, OW; x and its strides
// (N, G*C, H, W); w and its strides (G, K, C, KH, KW); y and its strides
// (N, G*K, OH, OW); strides, dilations, padding top/left/bottom/right;
// beta; bias, its type and the post-op.

// A forward convolution (stride 2) of a zero-padded copy: the copy is read
// in place with its offsets as the padding (top/left 1, bottom/right what
// the last window needs: 0), the zero fill of the output is beta = 0.
// CHECK-LABEL: func.func @forward_padded(
// CHECK-SAME: %[[X:.*]]: memref<2x3x8x8xbf16>, %[[W:.*]]: memref<4x3x3x3xbf16>
// CHECK-NOT: linalg.
// CHECK-NOT: memref.subview
// CHECK: %[[Y:.*]] = memref.alloc() : memref<2x4x4x4xf32>
// CHECK-DAG: %[[PX:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK-DAG: %[[PW:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK-DAG: %[[PY:.*]] = memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK: call @ampc_cpu_conv2d(%c0_i32, %c2_i32, %c2_i32, %c0_i32, %c2, %c1, %c3, %c8, %c8, %c4, %c3, %c3, %c4, %c4, %[[PX]], %c192, %c64, %c8, %c1, %[[PW]], %c0, %c27, %c9, %c3, %c1, %[[PY]], %c64, %c16, %c4, %c1, %c2, %c2, %c1, %c1, %c1, %c1, %c0, %c0, %cst, %c0, %c0_i32, %c0_i32)
// CHECK-NOT: linalg.
// CHECK: memref.copy %[[Y]]
func.func @forward_padded(%x: memref<2x3x8x8xbf16>, %w: memref<4x3x3x3xbf16>, %out: memref<2x4x4x4xf32>) {
  %zero = arith.constant 0.0 : bf16
  %zf = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<2x3x10x10xbf16>
  linalg.map outs(%p : memref<2x3x10x10xbf16>)
    (%init: bf16) {
      linalg.yield %zero : bf16
    }
  %v = memref.subview %p[0, 0, 1, 1] [2, 3, 8, 8] [1, 1, 1, 1]
      : memref<2x3x10x10xbf16> to memref<2x3x8x8xbf16, strided<[300, 100, 10, 1], offset: 11>>
  memref.copy %x, %v : memref<2x3x8x8xbf16> to memref<2x3x8x8xbf16, strided<[300, 100, 10, 1], offset: 11>>
  %y = memref.alloc() : memref<2x4x4x4xf32>
  linalg.fill ins(%zf : f32) outs(%y : memref<2x4x4x4xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%p, %w : memref<2x3x10x10xbf16>, memref<4x3x3x3xbf16>) outs(%y : memref<2x4x4x4xf32>)
  memref.copy %y, %out : memref<2x4x4x4xf32> to memref<2x4x4x4xf32>
  memref.dealloc %p : memref<2x3x10x10xbf16>
  memref.dealloc %y : memref<2x4x4x4xf32>
  return
}

// -----

// The weights' gradient amp-differentiate builds (the output is the kernel):
// oneDNN's backward-weights convolution; the last row and column of x are
// read by no window (bottom/right padding -1).
// CHECK-LABEL: func.func @backward_weights(
// CHECK-NOT: linalg.generic
// CHECK: call @ampc_cpu_conv2d(%c2_i32, %c2_i32, %c0_i32, %c2_i32, %c2, %c1, %c3, %c10, %c10, %c4, %c3, %c3, %c4, %c4, %{{.*}}, %c300, %c100, %c10, %c1, %{{.*}}, %c0, %c27, %c9, %c3, %c1, %{{.*}}, %c64, %c16, %c4, %c1, %c2, %c2, %c1, %c1, %c0, %c0, %c-1, %c-1, %cst, %c0, %c0_i32, %c0_i32)
func.func @backward_weights(%x: memref<2x3x10x10xbf16>, %dy: memref<2x4x4x4xbf16>, %dw: memref<4x3x3x3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, k, oh, ow, c, kh, kw) -> (n, c, oh * 2 + kh, ow * 2 + kw)>,
                                   affine_map<(n, k, oh, ow, c, kh, kw) -> (n, k, oh, ow)>,
                                   affine_map<(n, k, oh, ow, c, kh, kw) -> (k, c, kh, kw)>],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction", "parallel", "parallel", "parallel"]}
      ins(%x, %dy : memref<2x3x10x10xbf16>, memref<2x4x4x4xbf16>) outs(%dw : memref<4x3x3x3xf32>) {
  ^bb0(%a: bf16, %b: bf16, %o: f32):
    %ea = arith.extf %a : bf16 to f32
    %eb = arith.extf %b : bf16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The input gradient amp-differentiate builds for a stride-2, pad-1 forward:
// a stride-1 convolution of the output gradient spread out by 2 (offset 1)
// over the flipped kernel. It becomes oneDNN's backward-data convolution of
// the unspread gradient and the unflipped kernel; the spread and the flip go.
// CHECK-LABEL: func.func @backward_data(
// CHECK-SAME: %[[DY:.*]]: memref<2x4x4x4xf32>, %[[W:.*]]: memref<4x3x3x3xf32>
// CHECK-NOT: linalg.
// CHECK-NOT: memref.subview
// CHECK: %[[DX:.*]] = memref.alloc() : memref<2x3x8x8xf32>
// CHECK-DAG: %[[PDX:.*]] = memref.extract_aligned_pointer_as_index %[[DX]]
// CHECK-DAG: %[[PW:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK-DAG: %[[PDY:.*]] = memref.extract_aligned_pointer_as_index %[[DY]]
// the forward's shape: C 3, H 8, K 4, OH 4, stride 2, padding 1, 0:
// CHECK: call @ampc_cpu_conv2d(%c1_i32, %c0_i32, %c0_i32, %c0_i32, %c2, %c1, %c3, %c8, %c8, %c4, %c3, %c3, %c4, %c4, %[[PDX]], %c192, %c64, %c8, %c1, %[[PW]], %c0, %c27, %c9, %c3, %c1, %[[PDY]], %c64, %c16, %c4, %c1, %c2, %c2, %c1, %c1, %c1, %c1, %c0, %c0, %cst, %c0, %c0_i32, %c0_i32)
// CHECK-NOT: linalg.
// CHECK: memref.copy %[[DX]]
func.func @backward_data(%dy: memref<2x4x4x4xf32>, %w: memref<4x3x3x3xf32>, %out: memref<2x3x8x8xf32>) {
  %zf = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<2x4x10x10xf32>
  linalg.fill ins(%zf : f32) outs(%s : memref<2x4x10x10xf32>)
  %v = memref.subview %s[0, 0, 1, 1] [2, 4, 4, 4] [1, 1, 2, 2]
      : memref<2x4x10x10xf32> to memref<2x4x4x4xf32, strided<[400, 100, 20, 2], offset: 11>>
  memref.copy %dy, %v : memref<2x4x4x4xf32> to memref<2x4x4x4xf32, strided<[400, 100, 20, 2], offset: 11>>
  %f = memref.alloc() : memref<4x3x3x3xf32>
  linalg.generic {indexing_maps = [affine_map<(a, b, i, j) -> (a, b, -i + 2, -j + 2)>,
                                   affine_map<(a, b, i, j) -> (a, b, i, j)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%w : memref<4x3x3x3xf32>) outs(%f : memref<4x3x3x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %dx = memref.alloc() : memref<2x3x8x8xf32>
  linalg.fill ins(%zf : f32) outs(%dx : memref<2x3x8x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(n, k, h, w, c, kh, kw) -> (k, c, kh, kw)>,
                                   affine_map<(n, k, h, w, c, kh, kw) -> (n, k, h + kh, w + kw)>,
                                   affine_map<(n, k, h, w, c, kh, kw) -> (n, c, h, w)>],
                  iterator_types = ["parallel", "reduction", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%f, %s : memref<4x3x3x3xf32>, memref<2x4x10x10xf32>) outs(%dx : memref<2x3x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  memref.copy %dx, %out : memref<2x3x8x8xf32> to memref<2x3x8x8xf32>
  memref.dealloc %s : memref<2x4x10x10xf32>
  memref.dealloc %f : memref<4x3x3x3xf32>
  memref.dealloc %dx : memref<2x3x8x8xf32>
  return
}

// -----

// The input gradient of a stride-1, pad-1 forward: the output gradient is
// only padded (by the kernel's reach minus the padding: 1), not spread. It
// is the backward-data convolution with stride 1 and padding 1; the padded
// copy and the flip go.
// CHECK-LABEL: func.func @backward_data_stride1(
// CHECK-SAME: %[[DY:.*]]: memref<2x4x8x8xf32>, %[[W:.*]]: memref<4x3x3x3xf32>
// CHECK-NOT: linalg.
// CHECK-NOT: memref.subview
// CHECK: %[[DX:.*]] = memref.alloc() : memref<2x3x8x8xf32>
// CHECK-DAG: %[[PDX:.*]] = memref.extract_aligned_pointer_as_index %[[DX]]
// CHECK-DAG: %[[PW:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK-DAG: %[[PDY:.*]] = memref.extract_aligned_pointer_as_index %[[DY]]
// the forward's shape: C 3, H 8, K 4, OH 8, stride 1, padding 1, 1:
// CHECK: call @ampc_cpu_conv2d(%c1_i32, %c0_i32, %c0_i32, %c0_i32, %c2, %c1, %c3, %c8, %c8, %c4, %c3, %c3, %c8, %c8, %[[PDX]], %c192, %c64, %c8, %c1, %[[PW]], %c0, %c27, %c9, %c3, %c1, %[[PDY]], %c256, %c64, %c8, %c1, %c1, %c1, %c1, %c1, %c1, %c1, %c1, %c1, %cst, %c0, %c0_i32, %c0_i32)
// CHECK-NOT: linalg.
// CHECK: memref.copy %[[DX]]
func.func @backward_data_stride1(%dy: memref<2x4x8x8xf32>, %w: memref<4x3x3x3xf32>, %out: memref<2x3x8x8xf32>) {
  %zf = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<2x4x10x10xf32>
  linalg.fill ins(%zf : f32) outs(%s : memref<2x4x10x10xf32>)
  %v = memref.subview %s[0, 0, 1, 1] [2, 4, 8, 8] [1, 1, 1, 1]
      : memref<2x4x10x10xf32> to memref<2x4x8x8xf32, strided<[400, 100, 10, 1], offset: 11>>
  memref.copy %dy, %v : memref<2x4x8x8xf32> to memref<2x4x8x8xf32, strided<[400, 100, 10, 1], offset: 11>>
  %f = memref.alloc() : memref<4x3x3x3xf32>
  linalg.generic {indexing_maps = [affine_map<(a, b, i, j) -> (a, b, -i + 2, -j + 2)>,
                                   affine_map<(a, b, i, j) -> (a, b, i, j)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%w : memref<4x3x3x3xf32>) outs(%f : memref<4x3x3x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %dx = memref.alloc() : memref<2x3x8x8xf32>
  linalg.fill ins(%zf : f32) outs(%dx : memref<2x3x8x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(n, k, h, w, c, kh, kw) -> (k, c, kh, kw)>,
                                   affine_map<(n, k, h, w, c, kh, kw) -> (n, k, h + kh, w + kw)>,
                                   affine_map<(n, k, h, w, c, kh, kw) -> (n, c, h, w)>],
                  iterator_types = ["parallel", "reduction", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%f, %s : memref<4x3x3x3xf32>, memref<2x4x10x10xf32>) outs(%dx : memref<2x3x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  memref.copy %dx, %out : memref<2x3x8x8xf32> to memref<2x3x8x8xf32>
  memref.dealloc %s : memref<2x4x10x10xf32>
  memref.dealloc %f : memref<4x3x3x3xf32>
  memref.dealloc %dx : memref<2x3x8x8xf32>
  return
}

// -----

// Depthwise NHWC: 16 groups of one channel each, strides per logical
// dimension read the NHWC and HWC layouts in place.
// CHECK-LABEL: func.func @depthwise(
// G 16, C 1, K 1; the channel strides are the group's:
// CHECK: call @ampc_cpu_conv2d(%c0_i32, %c0_i32, %c0_i32, %c0_i32, %c1, %c16, %c1, %c8, %c8, %c1, %c3, %c3, %c6, %c6, %{{.*}}, %c1024, %c1, %c128, %c16, %{{.*}}, %c1, %c0, %c0, %c48, %c16, %{{.*}}, %c576, %c1, %c96, %c16, %c1, %c1, %c1, %c1, %c0, %c0, %c0, %c0, %cst, %c0, %c0_i32, %c0_i32)
func.func @depthwise(%x: memref<1x8x8x16xf32>, %w: memref<3x3x16xf32>, %y: memref<1x6x6x16xf32>) {
  linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : memref<1x8x8x16xf32>, memref<3x3x16xf32>) outs(%y : memref<1x6x6x16xf32>)
  return
}

// -----

// What stays generated: pooling (no multiply), 1-D convolutions, integer
// convolutions.
// CHECK-LABEL: func.func @stays(
// CHECK-NOT: call @ampc_cpu_conv2d
// CHECK: linalg.pooling_nchw_max
// CHECK: linalg.conv_1d_nwc_wcf
// CHECK: linalg.conv_2d_nchw_fchw {{.*}}i8
// CHECK-NOT: call @ampc_cpu_conv2d
func.func @stays(%x: memref<1x4x8x8xf32>, %win: memref<2x2xf32>, %p: memref<1x4x4x4xf32>,
                 %x1: memref<1x8x4xf32>, %w1: memref<3x4x4xf32>, %y1: memref<1x6x4xf32>,
                 %xi: memref<1x4x8x8xi8>, %wi: memref<4x4x3x3xi8>, %yi: memref<1x4x6x6xi32>) {
  linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %win : memref<1x4x8x8xf32>, memref<2x2xf32>) outs(%p : memref<1x4x4x4xf32>)
  linalg.conv_1d_nwc_wcf {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%x1, %w1 : memref<1x8x4xf32>, memref<3x4x4xf32>) outs(%y1 : memref<1x6x4xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%xi, %wi : memref<1x4x8x8xi8>, memref<4x4x3x3xi8>) outs(%yi : memref<1x4x6x6xi32>)
  return
}

// -----

// ResNet-18's last 3x3 convolutions at 32x32 see a 1x1 image padded to 3x3:
// read as a forward convolution (the image's batch first), not as backward
// weights with a 1x1 window, which takes the channels for the batch. The
// padding folds (kind 0; N 2, C 8, H 1, W 1, K 4, KH 3, KW 3, OH 1, OW 1;
// padding 1 on each side).
// CHECK-LABEL: func.func @small_image_reads_as_forward(
// CHECK-NOT: memref.copy
// CHECK: call @ampc_cpu_conv2d(%c0_i32, %c0_i32, %c0_i32, %c0_i32, %c2, %c1, %c8, %c1, %c1, %c4, %c3, %c3, %c1, %c1,
// CHECK-SAME: %c1, %c1, %c1, %c1, %c1, %c1, %c1, %c1, %cst,
// CHECK-NOT: linalg.conv
func.func @small_image_reads_as_forward(%x: memref<2x8x1x1xf32>, %w: memref<4x8x3x3xf32>, %out: memref<2x4x1x1xf32>) {
  %zf = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<2x8x3x3xf32>
  linalg.fill ins(%zf : f32) outs(%p : memref<2x8x3x3xf32>)
  %v = memref.subview %p[0, 0, 1, 1] [2, 8, 1, 1] [1, 1, 1, 1]
      : memref<2x8x3x3xf32> to memref<2x8x1x1xf32, strided<[72, 9, 3, 1], offset: 4>>
  memref.copy %x, %v : memref<2x8x1x1xf32> to memref<2x8x1x1xf32, strided<[72, 9, 3, 1], offset: 4>>
  linalg.fill ins(%zf : f32) outs(%out : memref<2x4x1x1xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%p, %w : memref<2x8x3x3xf32>, memref<4x8x3x3xf32>) outs(%out : memref<2x4x1x1xf32>)
  memref.dealloc %p : memref<2x8x3x3xf32>
  return
}

// -----

// The same arithmetic written as a weight gradient (a 1x1 kernel over the
// padded 1x1 image): padding wider than the window, which once came out
// wrong after a few training steps (CPULibraryGemm.cpp,
// padsWithinWindow). The padded copy stays and the call reads it unpadded
// (kind 2, padding 0).
// CHECK-LABEL: func.func @padding_wider_than_the_window(
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<2x8x1x1xf32> to memref<2x8x1x1xf32, strided<[72, 9, 3, 1], offset: 4>>
// CHECK: call @ampc_cpu_conv2d(%c2_i32,
// CHECK-SAME: %c0, %c0, %c0, %c0, %cst
// CHECK-NOT: linalg.generic
#dw_x = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d1, d5 + d2, d6 + d3)>
#dw_dy = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d0, d5, d6)>
#dw_w = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
func.func @padding_wider_than_the_window(%x: memref<2x8x1x1xf32>, %dy: memref<2x4x3x3xf32>, %dw: memref<4x8x1x1xf32>) {
  %zf = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<2x8x3x3xf32>
  linalg.fill ins(%zf : f32) outs(%p : memref<2x8x3x3xf32>)
  %v = memref.subview %p[0, 0, 1, 1] [2, 8, 1, 1] [1, 1, 1, 1]
      : memref<2x8x3x3xf32> to memref<2x8x1x1xf32, strided<[72, 9, 3, 1], offset: 4>>
  memref.copy %x, %v : memref<2x8x1x1xf32> to memref<2x8x1x1xf32, strided<[72, 9, 3, 1], offset: 4>>
  linalg.fill ins(%zf : f32) outs(%dw : memref<4x8x1x1xf32>)
  linalg.generic {indexing_maps = [#dw_x, #dw_dy, #dw_w],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%p, %dy : memref<2x8x3x3xf32>, memref<2x4x3x3xf32>) outs(%dw : memref<4x8x1x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  memref.dealloc %p : memref<2x8x3x3xf32>
  return
}
