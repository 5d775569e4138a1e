// RUN: amp-opt %s -split-input-file -amp-autocast | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-autocast=compute-type=bf16 | FileCheck %s --check-prefix=BF16
// RUN: amp-opt %s -split-input-file -amp-autocast="accumulate-type=f16" | FileCheck %s --check-prefix=ACC16

// 1. A matmul alone: inputs cast, f32 accumulator kept, result f32.
// CHECK-LABEL: func @matmul_f32_accumulate
// CHECK-SAME: (%[[A:.+]]: tensor<8x16xf32>, %[[B:.+]]: tensor<16x4xf32>, %[[C:.+]]: tensor<8x4xf32>)
// CHECK-DAG: %[[B16:.+]] = amp.cast %[[B]] : tensor<16x4xf32> to tensor<16x4xf16>
// CHECK-DAG: %[[A16:.+]] = amp.cast %[[A]] : tensor<8x16xf32> to tensor<8x16xf16>
// CHECK: %[[M:.+]] = linalg.matmul ins(%[[A16]], %[[B16]] : tensor<8x16xf16>, tensor<16x4xf16>) outs(%[[C]] : tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: return %[[M]]
// BF16-LABEL: func @matmul_f32_accumulate
// BF16: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x16xbf16>, tensor<16x4xbf16>) outs(%{{.*}} : tensor<8x4xf32>)
// ACC16-LABEL: func @matmul_f32_accumulate
// ACC16: %[[C16:.+]] = amp.cast %{{.*}} : tensor<8x4xf32> to tensor<8x4xf16>
// ACC16: %[[M:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x16xf16>, tensor<16x4xf16>) outs(%[[C16]] : tensor<8x4xf16>) -> tensor<8x4xf16>
// ACC16: %[[R:.+]] = amp.cast %[[M]] : tensor<8x4xf16> to tensor<8x4xf32>
// ACC16: return %[[R]]
func.func @matmul_f32_accumulate(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>, %c: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// 2. Transposed matmul (indexing_maps) and batch_matmul are allow.
// CHECK-LABEL: func @matmul_variants
// CHECK: linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<16x8xf16>, tensor<16x4xf16>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x8x16xf16>, tensor<2x16x4xf16>) outs(%{{.*}} : tensor<2x8x4xf32>)
func.func @matmul_variants(%a: tensor<16x8xf32>, %b: tensor<16x4xf32>, %c: tensor<8x4xf32>,
                           %x: tensor<2x8x16xf32>, %y: tensor<2x16x4xf32>, %z: tensor<2x8x4xf32>) -> (tensor<8x4xf32>, tensor<2x8x4xf32>) {
  %0 = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
       ins(%a, %b : tensor<16x8xf32>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  %1 = linalg.batch_matmul ins(%x, %y : tensor<2x8x16xf32>, tensor<2x16x4xf32>) outs(%z : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %0, %1 : tensor<8x4xf32>, tensor<2x8x4xf32>
}

// -----

// 3. Convolutions (NHWC and NCHW) and depthwise convolutions are allow.
// CHECK-LABEL: func @convolutions
// CHECK: linalg.conv_2d_nhwc_hwcf ins(%{{.*}}, %{{.*}} : tensor<1x8x8x3xf16>, tensor<3x3x3x4xf16>) outs(%{{.*}} : tensor<1x6x6x4xf32>)
// CHECK: linalg.conv_2d_nchw_fchw ins(%{{.*}}, %{{.*}} : tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>) outs(%{{.*}} : tensor<1x4x6x6xf32>)
// CHECK: linalg.depthwise_conv_2d_nhwc_hwc ins(%{{.*}}, %{{.*}} : tensor<1x8x8x3xf16>, tensor<3x3x3xf16>) outs(%{{.*}} : tensor<1x6x6x3xf32>)
func.func @convolutions(%i: tensor<1x8x8x3xf32>, %f: tensor<3x3x3x4xf32>, %o: tensor<1x6x6x4xf32>,
                        %ic: tensor<1x3x8x8xf32>, %fc: tensor<4x3x3x3xf32>, %oc: tensor<1x4x6x6xf32>,
                        %fd: tensor<3x3x3xf32>, %od: tensor<1x6x6x3xf32>) -> (tensor<1x6x6x4xf32>, tensor<1x4x6x6xf32>, tensor<1x6x6x3xf32>) {
  %0 = linalg.conv_2d_nhwc_hwcf ins(%i, %f : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%o : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  %1 = linalg.conv_2d_nchw_fchw ins(%ic, %fc : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%oc : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %2 = linalg.depthwise_conv_2d_nhwc_hwc ins(%i, %fd : tensor<1x8x8x3xf32>, tensor<3x3x3xf32>) outs(%od : tensor<1x6x6x3xf32>) -> tensor<1x6x6x3xf32>
  return %0, %1, %2 : tensor<1x6x6x4xf32>, tensor<1x4x6x6xf32>, tensor<1x6x6x3xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
#rowred = affine_map<(d0, d1) -> (d0)>

// 4. Bias-add and ReLU between two matmuls go low; the weight shared by two
// matmuls is cast once.
// CHECK-LABEL: func @mlp_between_allow
// CHECK-SAME: %[[W:[^:]+]]: tensor<16x16xf32>
// CHECK-COUNT-1: amp.cast %[[W]] : tensor<16x16xf32> to tensor<16x16xf16>
// CHECK-NOT: amp.cast %[[W]]
// CHECK: %[[M:.+]] = linalg.matmul ins({{.*}} : tensor<8x16xf16>, tensor<16x16xf16>) outs({{.*}} : tensor<8x16xf32>)
// CHECK: %[[M16:.+]] = amp.cast %[[M]] : tensor<8x16xf32> to tensor<8x16xf16>
// CHECK: %[[BIAS:.+]] = linalg.generic {{.*}} ins(%[[M16]], %{{.*}} : tensor<8x16xf16>, tensor<16xf16>) outs(%{{.*}} : tensor<8x16xf16>)
// CHECK: ^bb0(%[[I:.+]]: f16, %[[J:.+]]: f16, %{{.+}}: f16):
// CHECK-DAG: %[[IE:.+]] = arith.extf %[[I]] : f16 to f32
// CHECK-DAG: %[[JE:.+]] = arith.extf %[[J]] : f16 to f32
// CHECK: %[[S:.+]] = arith.addf %[[IE]], %[[JE]] : f32
// CHECK: %[[T:.+]] = arith.truncf %[[S]] : f32 to f16
// CHECK: linalg.yield %[[T]] : f16
// CHECK: %[[RELU:.+]] = linalg.generic {{.*}} ins(%[[BIAS]] : tensor<8x16xf16>) outs(%{{.*}} : tensor<8x16xf16>)
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: linalg.matmul ins(%[[RELU]], %{{.*}} : tensor<8x16xf16>, tensor<16x16xf16>) outs(%{{.*}} : tensor<8x16xf32>)
func.func @mlp_between_allow(%x: tensor<8x16xf32>, %w: tensor<16x16xf32>, %b: tensor<16xf32>) -> tensor<8x16xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %m = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x16xf32>) outs(%z : tensor<8x16xf32>) -> tensor<8x16xf32>
  %a = linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %b : tensor<8x16xf32>, tensor<16xf32>) outs(%e : tensor<8x16xf32>) {
    ^bb0(%i: f32, %j: f32, %o: f32):
      %s = arith.addf %i, %j : f32
      linalg.yield %s : f32
  } -> tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
    ^bb0(%i: f32, %o: f32):
      %s = arith.maximumf %i, %cst : f32
      linalg.yield %s : f32
  } -> tensor<8x16xf32>
  %m2 = linalg.matmul ins(%r, %w : tensor<8x16xf32>, tensor<16x16xf32>) outs(%z : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %m2 : tensor<8x16xf32>
}

// -----

// 5. Infer ops after the last matmul, with no low consumer, stay f32.
// CHECK-LABEL: func @infer_after_last_allow
// CHECK: %[[M:.+]] = linalg.matmul {{.*}} -> tensor<8x4xf32>
// CHECK-NEXT: %[[A:.+]] = arith.addf %[[M]], %{{.*}} : tensor<8x4xf32>
// CHECK-NEXT: return %[[A]]
func.func @infer_after_last_allow(%x: tensor<8x16xf32>, %w: tensor<16x4xf32>, %c: tensor<8x4xf32>, %b: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  %a = arith.addf %m, %b : tensor<8x4xf32>
  return %a : tensor<8x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
#rowred = affine_map<(d0, d1) -> (d0)>

// 6. Softmax-style exp and sum reduction stay f32, as does the subtraction
// feeding them (deny propagates forward through infer ops to deny ops).
// CHECK-LABEL: func @deny_exp_and_sum
// CHECK: %[[M:.+]] = linalg.matmul {{.*}} -> tensor<8x16xf32>
// CHECK: %[[D:.+]] = arith.subf %[[M]], %{{.*}} : tensor<8x16xf32>
// CHECK: linalg.generic {{.*}} ins(%[[D]] : tensor<8x16xf32>)
// CHECK: math.exp %{{.*}} : f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<8xf32>)
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: amp.cast
func.func @deny_exp_and_sum(%x: tensor<8x16xf32>, %w: tensor<16x16xf32>, %c: tensor<8x16xf32>, %mx: tensor<8x16xf32>, %acc: tensor<8xf32>) -> tensor<8xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x16xf32>) outs(%c : tensor<8x16xf32>) -> tensor<8x16xf32>
  %d = arith.subf %m, %mx : tensor<8x16xf32>
  %e = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<8x16xf32>) outs(%c : tensor<8x16xf32>) {
    ^bb0(%i: f32, %o: f32):
      %s = math.exp %i : f32
      linalg.yield %s : f32
  } -> tensor<8x16xf32>
  %s = linalg.generic {indexing_maps = [#id, #rowred], iterator_types = ["parallel", "reduction"]}
      ins(%e : tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
    ^bb0(%i: f32, %o: f32):
      %t = arith.addf %i, %o : f32
      linalg.yield %t : f32
  } -> tensor<8xf32>
  return %s : tensor<8xf32>
}

// -----

// 7. An infer op downstream of a deny op stays f32 even between matmuls.
// CHECK-LABEL: func @deny_propagates_through_infer
// CHECK: %[[E:.+]] = math.exp %{{.*}} : tensor<8x8xf32>
// CHECK: %[[P:.+]] = arith.mulf %[[E]], %[[E]] : tensor<8x8xf32>
// CHECK: %[[P16:.+]] = amp.cast %[[P]] : tensor<8x8xf32> to tensor<8x8xf16>
// CHECK: linalg.matmul ins(%[[P16]], %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>)
func.func @deny_propagates_through_infer(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %e = math.exp %m : tensor<8x8xf32>
  %a = arith.mulf %e, %e : tensor<8x8xf32>
  %m2 = linalg.matmul ins(%a, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %m2 : tensor<8x8xf32>
}

// -----

// 8. Clear ops (transpose, reshape) next to low-precision ops follow them: the
// weight is cast once and transposed in f16.
// CHECK-LABEL: func @clear_follows
// CHECK-SAME: %[[W:[^:]+]]: tensor<4x16xf32>
// CHECK: %[[W16:.+]] = amp.cast %[[W]] : tensor<4x16xf32> to tensor<4x16xf16>
// CHECK: %[[WT:.+]] = linalg.transpose ins(%[[W16]] : tensor<4x16xf16>) outs(%{{.*}} : tensor<16x4xf16>)
// CHECK: %[[M:.+]] = linalg.matmul ins(%{{.*}}, %[[WT]] : tensor<8x16xf16>, tensor<16x4xf16>) outs(%{{.*}} : tensor<8x4xf32>)
// The reshape after the f32 accumulator stays f32: no extra rounding.
// CHECK: tensor.expand_shape %[[M]] {{.*}} : tensor<8x4xf32> into tensor<2x4x4xf32>
func.func @clear_follows(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %c: tensor<8x4xf32>) -> tensor<2x4x4xf32> {
  %t0 = tensor.empty() : tensor<16x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x16xf32>) outs(%t0 : tensor<16x4xf32>) permutation = [1, 0]
  %m = linalg.matmul ins(%x, %wt : tensor<8x16xf32>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  %r = tensor.expand_shape %m [[0, 1], [2]] output_shape [2, 4, 4] : tensor<8x4xf32> into tensor<2x4x4xf32>
  return %r : tensor<2x4x4xf32>
}

// -----

// 9. Max reductions and max pooling are clear; sum pooling is infer with an
// f32 accumulator.
// CHECK-LABEL: func @pooling
// CHECK: %[[C:.+]] = linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x6x6x4xf32>
// CHECK: %[[C16:.+]] = amp.cast %[[C]] : tensor<1x6x6x4xf32> to tensor<1x6x6x4xf16>
// CHECK: %[[MP:.+]] = linalg.pooling_nhwc_max {{.*}} ins(%[[C16]], %{{.*}} : tensor<1x6x6x4xf16>, tensor<2x2xf16>) outs(%{{.*}} : tensor<1x4x4x4xf16>)
// CHECK: linalg.pooling_nhwc_sum {{.*}} ins(%[[C]], %{{.*}} : tensor<1x6x6x4xf32>, tensor<2x2xf32>) outs(%{{.*}} : tensor<1x4x4x4xf32>)
// CHECK: linalg.conv_2d_nhwc_hwcf ins(%[[MP]], %{{.*}} : tensor<1x4x4x4xf16>, tensor<1x1x4x4xf16>)
func.func @pooling(%i: tensor<1x8x8x4xf32>, %win: tensor<2x2xf32>, %o: tensor<1x4x4x4xf32>, %f: tensor<3x3x4x4xf32>, %co: tensor<1x6x6x4xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) {
  %c = linalg.conv_2d_nhwc_hwcf ins(%i, %f : tensor<1x8x8x4xf32>, tensor<3x3x4x4xf32>) outs(%co : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  %mp = linalg.pooling_nhwc_max {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
        ins(%c, %win : tensor<1x6x6x4xf32>, tensor<2x2xf32>) outs(%o : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %sp = linalg.pooling_nhwc_sum {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
        ins(%c, %win : tensor<1x6x6x4xf32>, tensor<2x2xf32>) outs(%o : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %f2 = tensor.empty() : tensor<1x1x4x4xf32>
  %co2 = tensor.empty() : tensor<1x4x4x4xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf ins(%mp, %f2 : tensor<1x4x4x4xf32>, tensor<1x1x4x4xf32>) outs(%co2 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %c2, %sp : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>
}

// -----

// 10. Pins: an allow op pinned to f32 stays f32; an infer op pinned to bf16
// runs bf16 even with compute-type f16.
// CHECK-LABEL: func @pins
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x8xf32>, %[[W:[^:]+]]: tensor<8x8xf32>
// CHECK-DAG: %[[WB:.+]] = amp.cast %[[W]] : tensor<8x8xf32> to tensor<8x8xbf16>
// CHECK-DAG: %[[XB:.+]] = amp.cast %[[X]] : tensor<8x8xf32> to tensor<8x8xbf16>
// CHECK: linalg.matmul {amp.precision = "f32"} ins(%[[X]], %[[W]] : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK: %[[A:.+]] = arith.addf %[[XB]], %[[WB]] {amp.precision = "bf16"} : tensor<8x8xbf16>
// CHECK: amp.cast %[[A]] : tensor<8x8xbf16> to tensor<8x8xf32>
func.func @pins(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %m = linalg.matmul {amp.precision = "f32"} ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %a = arith.addf %x, %w {amp.precision = "bf16"} : tensor<8x8xf32>
  return %m, %a : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// 11. Constant weights are cast (and folded by amp-cast-cleanup).
// CHECK-LABEL: func @constant_weight
// CHECK: %[[W:.+]] = arith.constant dense<2.500000e-01> : tensor<4x4xf32>
// CHECK: %[[W16:.+]] = amp.cast %[[W]] : tensor<4x4xf32> to tensor<4x4xf16>
// CHECK: linalg.matmul ins(%{{.*}}, %[[W16]] : tensor<4x4xf16>, tensor<4x4xf16>)
func.func @constant_weight(%x: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.25> : tensor<4x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

// 12. Ops already in another precision, and integer work, are left alone.
// CHECK-LABEL: func @non_f32_untouched
// CHECK-NOT: amp.cast
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf16>, tensor<4x4xf16>) outs(%{{.*}} : tensor<4x4xf16>)
// CHECK: arith.addi
func.func @non_f32_untouched(%h: tensor<4x4xf16>, %i: tensor<4xi32>, %c: tensor<4x4xf16>) -> (tensor<4x4xf16>, tensor<4xi32>) {
  %m = linalg.matmul ins(%h, %h : tensor<4x4xf16>, tensor<4x4xf16>) outs(%c : tensor<4x4xf16>) -> tensor<4x4xf16>
  %a = arith.addi %i, %i : tensor<4xi32>
  return %m, %a : tensor<4x4xf16>, tensor<4xi32>
}

// -----

// 13. Scalar f32 arithmetic between no low ops stays f32; tensor.pad next to
// a convolution follows it and its padding value is cast.
// CHECK-LABEL: func @pad_follows_conv
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 1, 1, 0]
// CHECK: %[[Z16:.+]] = amp.cast %[[ZERO]] : f32 to f16
// CHECK: tensor.yield %[[Z16]] : f16
// CHECK: } : tensor<1x6x6x3xf16> to tensor<1x8x8x3xf16>
// CHECK: linalg.conv_2d_nhwc_hwcf ins(%{{.*}}, %{{.*}} : tensor<1x8x8x3xf16>, tensor<3x3x3x4xf16>)
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
func.func @pad_follows_conv(%i: tensor<1x6x6x3xf32>, %f: tensor<3x3x3x4xf32>, %o: tensor<1x6x6x4xf32>, %s: f32) -> (tensor<1x6x6x4xf32>, f32) {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %i low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
  } : tensor<1x6x6x3xf32> to tensor<1x8x8x3xf32>
  %0 = linalg.conv_2d_nhwc_hwcf ins(%p, %f : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%o : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  %t = arith.mulf %s, %s : f32
  return %0, %t : tensor<1x6x6x4xf32>, f32
}

// -----

// 14. Named elementwise ops and linalg.map between matmuls go low; their
// payloads are rebuilt (named) or widened to f32 (map).
// CHECK-LABEL: func @named_and_map
// CHECK: %[[M:.+]] = linalg.matmul
// CHECK: %[[M16:.+]] = amp.cast %[[M]] : tensor<8x8xf32> to tensor<8x8xf16>
// CHECK: %[[A:.+]] = linalg.add ins(%[[M16]], %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>) outs(%{{.*}} : tensor<8x8xf16>)
// CHECK: %[[R:.+]] = linalg.map ins(%[[A]] : tensor<8x8xf16>) outs(%{{.*}} : tensor<8x8xf16>)
// CHECK-NEXT: (%[[IN:.+]]: f16, %{{.+}}: f16) {
// CHECK-NEXT: %[[W:.+]] = arith.extf %[[IN]] : f16 to f32
// CHECK: arith.maximumf %[[W]], %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: linalg.matmul ins(%[[R]], %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>)
func.func @named_and_map(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %e = tensor.empty() : tensor<8x8xf32>
  %a = linalg.add ins(%m, %x : tensor<8x8xf32>, tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %r = linalg.map ins(%a : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>)
    (%v: f32, %init: f32) {
      %cst = arith.constant 0.0 : f32
      %y = arith.maximumf %v, %cst : f32
      linalg.yield %y : f32
    }
  %m2 = linalg.matmul ins(%r, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %m2 : tensor<8x8xf32>
}

// -----

// 15. linalg.reduce: a max reduction between matmul and matmul goes low and
// needs no f32 accumulator; a sum reduction stays f32.
// CHECK-LABEL: func @reduce_ops
// CHECK: %[[MX:.+]] = linalg.reduce ins(%{{.*}} : tensor<4x8x8xf16>) outs(%{{.*}} : tensor<8x8xf16>)
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: linalg.matmul ins(%[[MX]], %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>)
// CHECK: linalg.reduce ins(%{{.*}} : tensor<4x8x8xf32>) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
func.func @reduce_ops(%x: tensor<4x8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>, %acc: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %mx = linalg.reduce ins(%x : tensor<4x8x8xf32>) outs(%acc : tensor<8x8xf32>) dimensions = [0]
    (%in: f32, %init: f32) {
      %y = arith.maximumf %in, %init : f32
      linalg.yield %y : f32
    }
  %m = linalg.matmul ins(%mx, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %sum = linalg.reduce ins(%x : tensor<4x8x8xf32>) outs(%acc : tensor<8x8xf32>) dimensions = [0]
    (%in: f32, %init: f32) {
      %y = arith.addf %in, %init : f32
      linalg.yield %y : f32
    }
  return %m, %sum : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// 16. linalg.elementwise is classified by its kind's payload: exp is deny.
// CHECK-LABEL: func @elementwise_exp
// CHECK: %[[M:.+]] = linalg.matmul
// CHECK: %[[E:.+]] = linalg.elementwise kind=#linalg.elementwise_kind<exp> ins(%[[M]] : tensor<8x8xf32>) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: %[[E16:.+]] = amp.cast %[[E]] : tensor<8x8xf32> to tensor<8x8xf16>
// CHECK: linalg.matmul ins(%[[E16]], %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>)
func.func @elementwise_exp(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %e = tensor.empty() : tensor<8x8xf32>
  %x2 = linalg.elementwise kind=#linalg.elementwise_kind<exp> ins(%m : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %m2 = linalg.matmul ins(%x2, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %m2 : tensor<8x8xf32>
}

// -----

// 17. Dynamic shapes.
// CHECK-LABEL: func @dynamic_shapes
// CHECK-DAG: amp.cast %{{.*}} : tensor<?x16xf32> to tensor<?x16xf16>
// CHECK: %[[M:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x16xf16>, tensor<16x16xf16>) outs(%{{.*}} : tensor<?x16xf32>)
// CHECK: %[[M16:.+]] = amp.cast %[[M]] : tensor<?x16xf32> to tensor<?x16xf16>
// CHECK: %[[R:.+]] = linalg.generic {{.*}} ins(%[[M16]] : tensor<?x16xf16>) outs(%{{.*}} : tensor<?x16xf16>)
// CHECK: linalg.matmul ins(%[[R]], %{{.*}} : tensor<?x16xf16>, tensor<16x16xf16>)
func.func @dynamic_shapes(%x: tensor<?x16xf32>, %w: tensor<16x16xf32>, %n: index) -> tensor<?x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x16xf32>, tensor<16x16xf32>) outs(%z : tensor<?x16xf32>) -> tensor<?x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%m : tensor<?x16xf32>) outs(%e : tensor<?x16xf32>) {
    ^bb0(%v: f32, %o: f32):
      %y = arith.maximumf %v, %zero : f32
      linalg.yield %y : f32
  } -> tensor<?x16xf32>
  %m2 = linalg.matmul ins(%r, %w : tensor<?x16xf32>, tensor<16x16xf32>) outs(%z : tensor<?x16xf32>) -> tensor<?x16xf32>
  return %m2 : tensor<?x16xf32>
}

// -----

// 18. Slices and concatenation feeding a matmul follow it (clear).
// CHECK-LABEL: func @slices
// CHECK: %[[S:.+]] = tensor.extract_slice %{{.*}}[0, 0] [8, 16] [1, 1] : tensor<8x16xf16> to tensor<8x16xf16>
// CHECK: %[[C:.+]] = tensor.concat dim(1) %[[S]], %{{.*}} : (tensor<8x16xf16>, tensor<8x16xf16>) -> tensor<8x32xf16>
// CHECK: linalg.matmul ins(%[[C]], %{{.*}} : tensor<8x32xf16>, tensor<32x4xf16>)
func.func @slices(%x: tensor<8x16xf32>, %y: tensor<8x16xf32>, %w: tensor<32x4xf32>, %c: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %s = tensor.extract_slice %x[0, 0] [8, 16] [1, 1] : tensor<8x16xf32> to tensor<8x16xf32>
  %cat = tensor.concat dim(1) %s, %y : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x32xf32>
  %m = linalg.matmul ins(%cat, %w : tensor<8x32xf32>, tensor<32x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %m : tensor<8x4xf32>
}

// -----

// 19. An op pinned to f16 under compute-type=bf16 gets a direct bf16 -> f16 cast
// from its bf16 producer.
// BF16-LABEL: func @mixed_pins
// BF16: %[[T:.+]] = linalg.transpose ins(%{{.*}} : tensor<8x8xbf16>) outs(%{{.*}} : tensor<8x8xbf16>)
// BF16: %[[T16:.+]] = amp.cast %[[T]] : tensor<8x8xbf16> to tensor<8x8xf16>
// BF16: linalg.matmul {amp.precision = "f16"} ins(%[[T16]], %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>)
// BF16: linalg.matmul ins(%[[T]], %{{.*}} : tensor<8x8xbf16>, tensor<8x8xbf16>)
func.func @mixed_pins(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %t0 = tensor.empty() : tensor<8x8xf32>
  %t = linalg.transpose ins(%x : tensor<8x8xf32>) outs(%t0 : tensor<8x8xf32>) permutation = [1, 0]
  %m = linalg.matmul {amp.precision = "f16"} ins(%t, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %m2 = linalg.matmul ins(%t, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %s = arith.addf %m, %m2 : tensor<8x8xf32>
  return %s : tensor<8x8xf32>
}

// -----

// 20. Optimizer ops are never painted: gradients reach them in f32 even when
// produced by a low-precision matmul, and the update runs in f32.
// CHECK-LABEL: func @optimizer_stays_f32
// CHECK: %[[DW:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: amp.sgd %{{.*}}, %[[DW]] {lr = 1.000000e-01 : f64} : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
func.func @optimizer_stays_f32(%x: tensor<8x8xf32>, %dy: tensor<8x8xf32>, %w: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %dw = linalg.matmul ins(%x, %dy : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %w1 = amp.sgd %w, %dw {lr = 1.0e-01 : f64} : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  return %w1 : tensor<8x8xf32>
}
