// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=mse params=0,1" | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=cross-entropy params=0,1 optimizer=adamw lr=0.001" | FileCheck %s --check-prefix=CE
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=cross-entropy labels=indices params=0,1" | FileCheck %s --check-prefix=IDX
// RUN: not amp-opt %s -split-input-file -amp-differentiate="loss=mse labels=indices params=0,1" 2>&1 | FileCheck %s --check-prefix=LABELS
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=cross-entropy labels=indices label-smoothing=0.2 params=0,1" | FileCheck %s --check-prefix=SMOOTH
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=nll params=0,1" | FileCheck %s --check-prefix=NLL
// RUN: not amp-opt %s -split-input-file -amp-differentiate="loss=mse label-smoothing=0.1 params=0,1" 2>&1 | FileCheck %s --check-prefix=SMOOTHMSE
// RUN: not amp-opt %s -split-input-file -amp-differentiate="loss=cross-entropy label-smoothing=1 params=0,1" 2>&1 | FileCheck %s --check-prefix=SMOOTHRANGE
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=mse params=0,1 keep-forward=false" | FileCheck %s --check-prefix=NOFWD

// keep-forward=false: only the step is left (ampc.torch's trainers).
// NOFWD-NOT: func.func @matmul(
// NOFWD-LABEL: func.func @matmul_train_step(

// The step goes next to the forward function, which stays as it was.
// Matmul keeps named ops in the backward: dX = dY W^T, dW = X^T dY.
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    -> tensor<4x5xf32> {
// CHECK-LABEL: func.func @matmul_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<4x3xf32> {amp.name = "param.0", amp.role = "param"}, %[[W:.+]]: tensor<3x5xf32> {amp.name = "param.1", amp.role = "param"},
// CHECK-SAME:    %[[Y:.+]]: tensor<4x5xf32> {amp.role = "label"})
// CHECK-SAME:    -> (tensor<4x3xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, tensor<3x5xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, tensor<f32> {amp.role = "loss"})
// CHECK-SAME:    attributes {amp.training_step}
// CHECK:         %[[OUT:.+]] = linalg.matmul ins(%[[X]], %[[W]]
// CHECK:         %[[LOSS:.+]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[OUT]], %[[Y]]
// CHECK:         %[[SEED:.+]] = amp.grad_seed %[[LOSS]] : tensor<f32>
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%[[OUT]], %[[Y]], %[[SEED]]
// CHECK:         %[[WT:.+]] = linalg.transpose ins(%[[W]] : tensor<3x5xf32>)
// CHECK:         %[[DX:.+]] = linalg.matmul ins(%[[DOUT]], %[[WT]] : tensor<4x5xf32>, tensor<5x3xf32>)
// CHECK:         %[[XT:.+]] = linalg.transpose ins(%[[X]] : tensor<4x3xf32>)
// CHECK:         %[[DW:.+]] = linalg.matmul ins(%[[XT]], %[[DOUT]] : tensor<3x4xf32>, tensor<4x5xf32>)
// CHECK:         %[[NX:.+]] = amp.sgd %[[X]], %[[DX]] {lr = 1.000000e-02 : f64}
// CHECK:         %[[NW:.+]] = amp.sgd %[[W]], %[[DW]] {lr = 1.000000e-02 : f64}
// CHECK:         return %[[NX]], %[[NW]], %[[LOSS]]

// Cross-entropy: max, exp, sum, then the closed-form d/dlogits.
// CE-LABEL: func.func @matmul_train_step(
// CE-SAME:    %[[X:.+]]: tensor<4x3xf32> {amp.name = "param.0", amp.role = "param"}, %[[W:.+]]: tensor<3x5xf32> {amp.name = "param.1", amp.role = "param"},
// CE-SAME:    %[[Y:.+]]: tensor<4x5xf32> {amp.role = "label"},
// CE-SAME:    %{{.+}}: tensor<4x3xf32> {amp.name = "exp_avg.0", amp.role = "optimizer_state"}, %{{.+}}: tensor<4x3xf32> {amp.name = "exp_avg_sq.0", amp.role = "optimizer_state"}, %{{.+}}: tensor<i64> {amp.name = "step.0", amp.role = "optimizer_state"},
// CE:         arith.maximumf
// CE:         math.exp
// CE:         math.log
// CE:         %[[SEED:.+]] = amp.grad_seed
// CE:         arith.divf
// CE:         amp.adamw %[[X]], %{{.+}} {lr = 1.000000e-03 : f64} : tensor<4x3xf32>, tensor<i64>
// Class numbers as labels: one i64 per row, compared with the class index.
// IDX-LABEL: func.func @matmul_train_step(
// IDX-SAME:    %[[Y:[a-z0-9_]+]]: tensor<4xi64> {amp.role = "label"})
// IDX:         linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %{{.+}}, %[[Y]] : tensor<4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi64>)
// IDX:           %[[C:.+]] = linalg.index 1 : index
// IDX:           %[[K:.+]] = arith.index_cast %{{.+}} : i64 to index
// IDX:           arith.cmpi eq, %[[C]], %[[K]] : index
// IDX:         amp.grad_seed
// LABELS: error: amp-differentiate: labels= applies to loss=cross-entropy
// Label smoothing: the target is 0.8 * onehot + 0.2 / 5 classes.
// SMOOTH-LABEL: func.func @matmul_train_step(
// SMOOTH:         arith.select
// SMOOTH:         arith.mulf %{{.+}}, %{{.+}} : f32
// SMOOTH:         arith.addf %{{.+}}, %{{.+}} : f32
// SMOOTH:         amp.grad_seed
// SMOOTH-DAG:     arith.constant 8.000000e-01 : f32
// SMOOTH-DAG:     arith.constant 4.000000e-02 : f32
// nll_loss: minus the mean over rows of the label's log-probability; the
// adjoint is -onehot / rows.
// NLL-LABEL: func.func @matmul_train_step(
// NLL-SAME:    %{{[a-z0-9_]+}}: tensor<4xi64> {amp.role = "label"})
// NLL:         arith.constant -2.500000e-01 : f32
// NLL-NOT:     math.exp
// NLL:         linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// NLL-NOT:     math.exp
// NLL:         amp.grad_seed
// NLL-NOT:     math.exp
// NLL:         return
// SMOOTHMSE: error: amp-differentiate: label-smoothing= applies to loss=cross-entropy
// SMOOTHRANGE: error: amp-differentiate: label-smoothing=1.000000e+00 is outside [0, 1)
func.func @matmul(%x: tensor<4x3xf32>, %w: tensor<3x5xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x5xf32>) outs(%f : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

// Convolution: the filter's adjoint contracts input and output adjoint; the
// input's is the transposed convolution (output adjoint spread out by the
// stride, padded by the kernel's reach, filter flipped).
// CHECK-DAG: #[[FLIP:.+]] = affine_map<(d0, d1, d2, d3) -> (-d0 + 2, -d1 + 2, d2, d3)>
// CHECK-DAG: #[[SPREAD:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1 + d4, d2 + d5, d3)>
// CHECK-LABEL: func.func @conv_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<1x7x7x2xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, %[[W:.+]]: tensor<3x3x2x4xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[FLIPPED:.+]] = linalg.generic {indexing_maps = [#[[FLIP]], {{.*}}} ins(%[[W]] :
// CHECK:         %[[SPREADOUT:.+]] = tensor.insert_slice %[[DOUT]] into %{{.+}}[0, 2, 2, 0] [1, 3, 3, 4] [1, 2, 2, 1] : tensor<1x3x3x4xf32> into tensor<1x9x9x4xf32>
// CHECK:         %[[DX:.+]] = linalg.generic {{.*}}#[[SPREAD]]{{.*}} ins(%[[FLIPPED]], %[[SPREADOUT]] : {{.*}} outs(%{{.+}} : tensor<1x7x7x2xf32>)
// CHECK:           arith.mulf
// CHECK-NEXT:      arith.addf
// CHECK:         %[[DW:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[DOUT]] : {{.*}} outs(%{{.+}} : tensor<3x3x2x4xf32>)
// CHECK:         amp.sgd %[[X]], %[[DX]]
// CHECK:         amp.sgd %[[W]], %[[DW]]
func.func @conv(%x: tensor<1x7x7x2xf32>, %w: tensor<3x3x2x4xf32>) -> tensor<1x3x3x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x3x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x3x3x4xf32>) -> tensor<1x3x3x4xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x7x7x2xf32>, tensor<3x3x2x4xf32>) outs(%f : tensor<1x3x3x4xf32>) -> tensor<1x3x3x4xf32>
  return %y : tensor<1x3x3x4xf32>
}

// -----

// Max pooling: the adjoint goes to one element per window, the first
// maximum in the window's iteration order (as PyTorch's max_pool2d
// backward). A forward (max, first index) reduction finds it, starting
// from the pool's init with index -1; the adjoint's payload compares the
// flipped kernel position with it and selects the adjoint (no multiply by
// a mask).
// CHECK-LABEL: func.func @maxpool_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<1x6x6x2xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, %[[S:.+]]: tensor<1x3x3x2xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}
// CHECK:         %[[INIT:.+]] = linalg.fill
// CHECK:         %[[K:.+]] = tensor.empty() : tensor<2x2xf32>
// CHECK:         %[[OUT:.+]] = linalg.pooling_nhwc_max
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DSCALED:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%[[S]], %[[DSCALED]] :
// CHECK:         %[[NONE:.+]] = linalg.fill ins(%{{.+}} : i64) {{.*}} -> tensor<1x3x3x2xi64>
// CHECK:         %[[FIRST:.+]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[K]] : {{.*}}) outs(%[[INIT]], %[[NONE]] : tensor<1x3x3x2xf32>, tensor<1x3x3x2xi64>)
// CHECK:           %[[KH:.+]] = linalg.index 4
// CHECK:           %[[KW:.+]] = linalg.index 5
// CHECK:           arith.cmpf ogt
// CHECK:           arith.cmpi slt
// CHECK:           arith.cmpf oeq
// CHECK:           arith.cmpf uno
// CHECK:           linalg.yield
// CHECK:         %[[RDOUT:.+]] = tensor.insert_slice %[[DOUT]] into {{.*}} [1, 2, 2, 1] : tensor<1x3x3x2xf32> into tensor<1x7x7x2xf32>
// CHECK:         %[[MINUS1:.+]] = linalg.fill ins(%{{.+}} : i64) {{.*}} -> tensor<1x7x7x2xi64>
// CHECK:         %[[RFIRST:.+]] = tensor.insert_slice %[[FIRST]]#1 into %[[MINUS1]]{{.*}} [1, 2, 2, 1] : tensor<1x3x3x2xi64> into tensor<1x7x7x2xi64>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[K]], %[[RDOUT]], %[[RFIRST]] :
// CHECK:           ^bb0(%{{.+}}: f32, %[[D:.+]]: f32, %[[F:.+]]: i64, %[[ACC:.+]]: f32):
// CHECK:           %[[FLIPH:.+]] = arith.subi %{{.+}}, %{{.+}} : index
// CHECK:           %[[FLIPW:.+]] = arith.subi %{{.+}}, %{{.+}} : index
// CHECK:           %[[HIT:.+]] = arith.cmpi eq, %{{.+}}, %[[F]] : i64
// CHECK:           %[[PICK:.+]] = arith.select %[[HIT]], %[[D]], %{{.+}} : f32
// CHECK-NOT:       arith.mulf
// CHECK:           arith.addf %[[ACC]], %[[PICK]]
func.func @maxpool(%x: tensor<1x6x6x2xf32>, %s: tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x3x3x2xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %k = tensor.empty() : tensor<2x2xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %k : tensor<1x6x6x2xf32>, tensor<2x2xf32>) outs(%f : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %y = arith.mulf %p, %s : tensor<1x3x3x2xf32>
  return %y : tensor<1x3x3x2xf32>
}

// -----

// Reshapes, slices and pads: each adjoint is the inverse data movement.
// CHECK-LABEL: func.func @slices_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<2x6xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, %[[W:.+]]: tensor<3x4xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[DPADIN:.+]] = tensor.extract_slice %[[DOUT]][1, 0] [3, 4] [1, 1] : tensor<4x5xf32> to tensor<3x4xf32>
// CHECK:         %[[DSLICE:.+]] = tensor.extract_slice %[[DPADIN]][0, 0] [2, 4] [1, 1]
// CHECK:         %[[DW:.+]] = tensor.insert_slice %{{.+}} into %[[DPADIN]][0, 0] [2, 4] [1, 1]
// CHECK:         %[[DR:.+]] = tensor.insert_slice %[[DSLICE]] into %{{.+}}[1, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<3x4xf32>
// CHECK:         %[[DC:.+]] = tensor.collapse_shape %[[DR]] {{\[}}[0, 1]] : tensor<3x4xf32> into tensor<12xf32>
// CHECK:         %[[DX:.+]] = tensor.expand_shape %[[DC]] {{\[}}[0, 1]] output_shape [2, 6] : tensor<12xf32> into tensor<2x6xf32>
// CHECK:         amp.sgd %[[X]], %[[DX]]
// CHECK:         amp.sgd %[[W]], %[[DW]]
func.func @slices(%x: tensor<2x6xf32>, %w: tensor<3x4xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %c = tensor.collapse_shape %x [[0, 1]] : tensor<2x6xf32> into tensor<12xf32>
  %r = tensor.expand_shape %c [[0, 1]] output_shape [3, 4] : tensor<12xf32> into tensor<3x4xf32>
  %s = tensor.extract_slice %r[1, 0] [2, 4] [1, 1] : tensor<3x4xf32> to tensor<2x4xf32>
  %i = tensor.insert_slice %s into %w[0, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<3x4xf32>
  %p = tensor.pad %i low[1, 0] high[0, 1] {
  ^bb0(%a: index, %b: index):
    tensor.yield %z : f32
  } : tensor<3x4xf32> to tensor<4x5xf32>
  return %p : tensor<4x5xf32>
}

// -----

// Fan-out: %k feeds the product twice; the adjoints of both uses are summed
// (here the two adjoints are one value after CSE: the derivative of x * y
// is written d * y through either operand). Elementwise arith on tensors
// goes through linalg first.
// CHECK-LABEL: func.func @concat_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<2x3xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, %[[W:.+]]: tensor<2x2xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}
// CHECK:         %[[K:.+]] = tensor.concat dim(1) %[[X]], %[[W]]
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[D1:.+]] = linalg.generic {{.*}} ins(%[[K]], %[[DOUT]] :
// CHECK:         %[[DK:.+]] = linalg.generic {{.*}} ins(%[[D1]], %[[D1]] :
// CHECK-NEXT:      ^bb0
// CHECK-NEXT:      arith.addf
// CHECK:         %[[DX:.+]] = tensor.extract_slice %[[DK]][0, 0] [2, 3] [1, 1]
// CHECK:         %[[DW:.+]] = tensor.extract_slice %[[DK]][0, 3] [2, 2] [1, 1]
// CHECK:         amp.sgd %[[X]], %[[DX]]
// CHECK:         amp.sgd %[[W]], %[[DW]]
func.func @concat(%x: tensor<2x3xf32>, %w: tensor<2x2xf32>) -> tensor<2x5xf32> {
  %k = tensor.concat dim(1) %x, %w : (tensor<2x3xf32>, tensor<2x2xf32>) -> tensor<2x5xf32>
  %y = arith.mulf %k, %k : tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Broadcast and sum reduction: the bias adjoint sums over the batch. ReLU's
// adjoint selects the incoming adjoint or zero (threshold_backward): an
// infinite adjoint at an inactive unit gives 0, never inf * 0 = NaN.
// CHECK-LABEL: func.func @bias_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<4x5xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, %[[B:.+]]: tensor<5xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[DX:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[B]], %[[DOUT]] :
// CHECK-NEXT:      ^bb0(%{{.+}}: f32, %{{.+}}: f32, %[[D:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT:      %[[PRE:.+]] = arith.addf
// CHECK-NEXT:      %[[ON:.+]] = arith.cmpf ogt, %[[PRE]], %[[ZERO:.+]] : f32
// CHECK-NEXT:      %[[PASS:.+]] = arith.select %[[ON]], %[[D]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[PASS]]
// CHECK:         %[[DB:.+]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[X]], %[[B]], %[[DOUT]] : {{.*}} outs(%{{.+}} : tensor<5xf32>)
// CHECK:           arith.cmpf ogt
// CHECK-NOT:       arith.mulf
// CHECK:           linalg.yield
// CHECK:         amp.sgd %[[X]], %[[DX]]
// CHECK:         amp.sgd %[[B]], %[[DB]]
func.func @bias(%x: tensor<4x5xf32>, %b: tensor<5xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<4x5xf32>, tensor<5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  } -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

// A reduction with several results, of which only one is differentiated
// (torch-mlir's aten.max.dim: the max and its argmax; a softmax uses the
// max): the argmax needs no rule, and the max's first hits come from the
// max result alone.
// CHECK-LABEL: func.func @max_with_argmax_train_step(
// CHECK:         amp.grad_seed
// CHECK:         %[[FIRST:.+]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x6xf32>) outs(%{{.+}}, %{{.+}} : tensor<4xf32>, tensor<4xi64>)
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %[[FIRST]]#1 : tensor<4xf32>, tensor<4xi64>)
// CHECK:           %[[LIN:.+]] = linalg.index 1
// CHECK:           arith.cmpi eq, %{{.+}}, %{{.+}} : i64
func.func @max_with_argmax(%x: tensor<4x6xf32>, %s: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = arith.constant 0 : i64
  %e = tensor.empty() : tensor<4xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %ei = tensor.empty() : tensor<4xi64>
  %i0 = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x6xf32>) outs(%m0, %i0 : tensor<4xf32>, tensor<4xi64>) {
  ^bb0(%in: f32, %out: f32, %idx: i64):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i64
    %max = arith.maximumf %in, %out : f32
    %gt = arith.cmpf ogt, %in, %out : f32
    %sel = arith.select %gt, %ji, %idx : i64
    linalg.yield %max, %sel : f32, i64
  } -> (tensor<4xf32>, tensor<4xi64>)
  %ey = tensor.empty() : tensor<4x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %r#0 : tensor<4x6xf32>, tensor<4xf32>) outs(%ey : tensor<4x6xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %ex = math.exp %d : f32
    linalg.yield %ex : f32
  } -> tensor<4x6xf32>
  %ys = arith.mulf %y, %s : tensor<4x6xf32>
  return %ys : tensor<4x6xf32>
}

// -----

// A differentiable tensor gathered inside a payload with tensor.extract
// (torch-mlir's adaptive average pooling): a generic over the op's loops
// computes each element's contribution and indices, and loops scatter-add
// them into the adjoint, skipping indices out of bounds.
// CHECK-LABEL: func.func @adaptive_pool_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<1x2x5x5xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}
// CHECK:         amp.grad_seed
// CHECK:         %[[PARTS:.+]]:5 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
// CHECK:         } -> (tensor<1x2x2x2x3x3xf32>, tensor<1x2x2x2x3x3xi64>, tensor<1x2x2x2x3x3xi64>, tensor<1x2x2x2x3x3xi64>, tensor<1x2x2x2x3x3xi64>)
// CHECK:         %[[ZEROS:.+]] = linalg.fill {{.*}} -> tensor<1x2x5x5xf32>
// CHECK:         %[[DX:.+]] = scf.for {{.*}} iter_args(%{{.+}} = %[[ZEROS]])
// CHECK:           %[[C:.+]] = tensor.extract %[[PARTS]]#0
// CHECK:           arith.cmpi ult
// CHECK:           scf.if
// CHECK:             %[[OLD:.+]] = tensor.extract
// CHECK:             %[[NEW:.+]] = arith.addf %[[OLD]], %[[C]]
// CHECK:             tensor.insert %[[NEW]]
// CHECK:         amp.sgd %[[X]], %[[DX]]
func.func @adaptive_pool(%x: tensor<1x2x5x5xf32>, %scale: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %c5 = arith.constant 5 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %k = tensor.empty() : tensor<3x3xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(n, c, i, j, p, q) -> (p, q)>, affine_map<(n, c, i, j, p, q) -> (n, c, i, j)>],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%k : tensor<3x3xf32>) outs(%acc : tensor<1x2x2x2xf32>) {
  ^bb0(%unused: f32, %out: f32):
    %n = linalg.index 0 : index
    %c = linalg.index 1 : index
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %p = linalg.index 4 : index
    %q = linalg.index 5 : index
    // start = i * 5 / 2, end = ((i + 1) * 5 + 1) / 2
    %i5 = arith.muli %i, %c5 : index
    %hs = arith.divui %i5, %c2 : index
    %i1 = arith.addi %i, %c1 : index
    %i15 = arith.muli %i1, %c5 : index
    %i15r = arith.addi %i15, %c1 : index
    %he = arith.divui %i15r, %c2 : index
    %j5 = arith.muli %j, %c5 : index
    %ws = arith.divui %j5, %c2 : index
    %j1 = arith.addi %j, %c1 : index
    %j15 = arith.muli %j1, %c5 : index
    %j15r = arith.addi %j15, %c1 : index
    %we = arith.divui %j15r, %c2 : index
    %h = arith.addi %hs, %p : index
    %w = arith.addi %ws, %q : index
    %hin = arith.cmpi ult, %h, %he : index
    %win = arith.cmpi ult, %w, %we : index
    %in = arith.andi %hin, %win : i1
    %v = tensor.extract %x[%n, %c, %h, %w] : tensor<1x2x5x5xf32>
    %picked = arith.select %in, %v, %zero : f32
    %s = arith.addf %picked, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x2x2x2xf32>
  %y = arith.mulf %sum, %scale : tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}
