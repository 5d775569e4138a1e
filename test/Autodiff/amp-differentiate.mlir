// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=mse params=0,1" | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=cross-entropy params=0,1 optimizer=adamw lr=0.001" | FileCheck %s --check-prefix=CE
// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=cross-entropy labels=indices params=0,1" | FileCheck %s --check-prefix=IDX
// RUN: not amp-opt %s -split-input-file -amp-differentiate="loss=mse labels=indices params=0,1" 2>&1 | FileCheck %s --check-prefix=LABELS

// The step goes next to the forward function, which stays as it was.
// Matmul keeps named ops in the backward: dX = dY W^T, dW = X^T dY.
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    -> tensor<4x5xf32> {
// CHECK-LABEL: func.func @matmul_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<4x3xf32> {amp.role = "param"}, %[[W:.+]]: tensor<3x5xf32> {amp.role = "param"},
// CHECK-SAME:    %[[Y:.+]]: tensor<4x5xf32> {amp.role = "label"})
// CHECK-SAME:    -> (tensor<4x3xf32> {amp.role = "param"}, tensor<3x5xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
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
// CE-SAME:    %[[X:.+]]: tensor<4x3xf32> {amp.role = "param"}, %[[W:.+]]: tensor<3x5xf32> {amp.role = "param"},
// CE-SAME:    %[[Y:.+]]: tensor<4x5xf32> {amp.role = "label"},
// CE-SAME:    %{{.+}}: tensor<4x3xf32> {amp.role = "optimizer_state"}, %{{.+}}: tensor<4x3xf32> {amp.role = "optimizer_state"}, %{{.+}}: tensor<i64> {amp.role = "optimizer_state"},
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
// CHECK-SAME:    %[[X:.+]]: tensor<1x7x7x2xf32> {amp.role = "param"}, %[[W:.+]]: tensor<3x3x2x4xf32> {amp.role = "param"}
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

// Max pooling: the adjoint goes to the elements equal to the window's max.
// CHECK-LABEL: func.func @maxpool_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<1x6x6x2xf32> {amp.role = "param"}, %[[S:.+]]: tensor<1x3x3x2xf32> {amp.role = "param"}
// CHECK:         %[[K:.+]] = tensor.empty() : tensor<2x2xf32>
// CHECK:         %[[OUT:.+]] = linalg.pooling_nhwc_max
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DSCALED:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%[[S]], %[[DSCALED]] :
// CHECK:         %[[ROUT:.+]] = tensor.insert_slice %[[OUT]] into {{.*}} [1, 2, 2, 1] : tensor<1x3x3x2xf32> into tensor<1x7x7x2xf32>
// CHECK:         %[[RDOUT:.+]] = tensor.insert_slice %[[DOUT]] into {{.*}} [1, 2, 2, 1] : tensor<1x3x3x2xf32> into tensor<1x7x7x2xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[K]], %[[ROUT]], %[[RDOUT]] :
// CHECK:           ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32, %[[MAX:.+]]: f32, %[[D:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK:           %[[HIT:.+]] = arith.cmpf oeq, %[[IN]], %[[MAX]]
// CHECK:           %[[PICK:.+]] = arith.select %[[HIT]]
// CHECK:           %[[C:.+]] = arith.mulf %[[D]], %[[PICK]]
// CHECK:           arith.addf %[[ACC]], %[[C]]
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
// CHECK-SAME:    %[[X:.+]]: tensor<2x6xf32> {amp.role = "param"}, %[[W:.+]]: tensor<3x4xf32> {amp.role = "param"}
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
// (here the two adjoints are one value after CSE). Elementwise arith on
// tensors goes through linalg first.
// CHECK-LABEL: func.func @concat_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<2x3xf32> {amp.role = "param"}, %[[W:.+]]: tensor<2x2xf32> {amp.role = "param"}
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

// Broadcast and sum reduction: the bias adjoint sums over the batch.
// CHECK-LABEL: func.func @bias_train_step(
// CHECK-SAME:    %[[X:.+]]: tensor<4x5xf32> {amp.role = "param"}, %[[B:.+]]: tensor<5xf32> {amp.role = "param"}
// CHECK:         %[[SEED:.+]] = amp.grad_seed
// CHECK:         %[[DOUT:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[SEED]] :
// CHECK:         %[[DX:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[B]], %[[DOUT]] :
// CHECK:           arith.cmpf ogt
// CHECK:         %[[DB:.+]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[X]], %[[B]], %[[DOUT]] : {{.*}} outs(%{{.+}} : tensor<5xf32>)
// CHECK:           arith.cmpf ogt
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
