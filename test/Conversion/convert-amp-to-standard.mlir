// RUN: amp-opt %s -split-input-file -convert-amp-to-standard | FileCheck %s

// CHECK-LABEL: func @narrow_and_widen
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>, %[[H:.+]]: tensor<4x8xbf16>)
// CHECK: %[[T:.+]] = arith.truncf %[[X]] : tensor<4x8xf32> to tensor<4x8xf16>
// CHECK: %[[E:.+]] = arith.extf %[[H]] : tensor<4x8xbf16> to tensor<4x8xf32>
// CHECK-NOT: amp.cast
// CHECK: return %[[T]], %[[E]]
func.func @narrow_and_widen(%x: tensor<4x8xf32>, %h: tensor<4x8xbf16>) -> (tensor<4x8xf16>, tensor<4x8xf32>) {
  %0 = amp.cast %x : tensor<4x8xf32> to tensor<4x8xf16>
  %1 = amp.cast %h : tensor<4x8xbf16> to tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf16>, tensor<4x8xf32>
}

// -----

// f16 <-> bf16 goes through f32 (exact widening, one rounding).
// CHECK-LABEL: func @half_to_bfloat
// CHECK: %[[W:.+]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[R:.+]] = arith.truncf %[[W]] : f32 to bf16
// CHECK: return %[[R]]
func.func @half_to_bfloat(%x: f16) -> bf16 {
  %0 = amp.cast %x : f16 to bf16
  return %0 : bf16
}

// -----

// The pass works on any op, e.g. nested in a module, and leaves others alone.
// CHECK-LABEL: func @dynamic
// CHECK: arith.truncf %{{.*}} : tensor<?x4xf32> to tensor<?x4xbf16>
// CHECK: arith.addf
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xbf16> {
  %0 = amp.cast %x : tensor<?x4xf32> to tensor<?x4xbf16>
  %1 = arith.addf %0, %0 : tensor<?x4xbf16>
  return %1 : tensor<?x4xbf16>
}

// -----

// CHECK-LABEL: func @seed
// CHECK: %[[ONE:.+]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: return %[[ONE]]
func.func @seed(%l: tensor<f32>) -> tensor<f32> {
  %0 = amp.grad_seed %l : tensor<f32>
  return %0 : tensor<f32>
}

// -----

// SGD with momentum: one elementwise generic; the buffer starts as the first
// gradient (select on step == 0); the step counter increments.
// CHECK-LABEL: func @sgd_momentum
// CHECK-DAG: %[[NEGLR:.+]] = arith.constant -1.000000e-01 : f32
// CHECK-DAG: %[[MOM:.+]] = arith.constant 0.899999976 : f32
// CHECK: %[[STEP:.+]] = tensor.extract %{{.*}}[] : tensor<i64>
// CHECK: %[[NEXT:.+]] = arith.addi %[[STEP]], %{{.*}} : i64
// CHECK: %[[NEXTT:.+]] = tensor.from_elements %[[NEXT]] : tensor<i64>
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[STEP]], %{{.*}} : i64
// CHECK: %[[R:.+]]:2 = linalg.generic
// CHECK: ^bb0(%[[P:.+]]: f32, %[[G:.+]]: f32, %[[B:.+]]: f32, %{{.+}}: f32, %{{.+}}: f32):
// CHECK: %[[BM:.+]] = arith.mulf %[[B]], %[[MOM]] : f32
// CHECK: %[[RUNNING:.+]] = arith.addf %[[BM]], %{{.*}} : f32
// CHECK: %[[BUF:.+]] = arith.select %[[FIRST]], %[[G]], %[[RUNNING]] : f32
// CHECK: %[[U:.+]] = arith.mulf %[[NEGLR]], %[[BUF]] : f32
// CHECK: %[[PN:.+]] = arith.addf %[[P]], %[[U]] : f32
// CHECK: linalg.yield %[[PN]], %[[BUF]] : f32, f32
// CHECK: return %[[R]]#0, %[[R]]#1, %[[NEXTT]]
func.func @sgd_momentum(%p: tensor<4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %s: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<i64>) {
  %0:3 = amp.sgd %p, %g state(%b, %s : tensor<4xf32>, tensor<i64>) {lr = 1.0e-01 : f64, momentum = 9.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  return %0#0, %0#1, %0#2 : tensor<4xf32>, tensor<4xf32>, tensor<i64>
}

// -----

// Run-time lr and weight decay: read from their tensor<f64> inputs and
// rounded to f32 as PyTorch passes a Python float to an f32 kernel; the
// decay term is selected off when the run-time value is 0, as torch skips it.
// CHECK-LABEL: func @sgd_runtime
// CHECK-SAME: %[[LRT:[^:]+]]: tensor<f64>, %[[WDT:[^:]+]]: tensor<f64>
// CHECK-DAG: %[[LR:.+]] = tensor.extract %[[LRT]][] : tensor<f64>
// CHECK-DAG: %[[NEG:.+]] = arith.negf %[[LR]] : f64
// CHECK-DAG: %[[NEGLR:.+]] = arith.truncf %[[NEG]] : f64 to f32
// CHECK-DAG: %[[WD:.+]] = tensor.extract %[[WDT]][] : tensor<f64>
// CHECK-DAG: %[[WD32:.+]] = arith.truncf %[[WD]] : f64 to f32
// CHECK-DAG: %[[ON:.+]] = arith.cmpf une, %{{.+}}, %{{.+}} : f64
// CHECK: linalg.generic
// CHECK: ^bb0(%[[P:.+]]: f32, %[[G:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[D:.+]] = arith.mulf %[[WD32]], %[[P]] : f32
// CHECK: %[[GD:.+]] = arith.addf %[[G]], %[[D]] : f32
// CHECK: %[[G2:.+]] = arith.select %[[ON]], %[[GD]], %[[G]] : f32
// CHECK: %[[U:.+]] = arith.mulf %[[NEGLR]], %[[G2]] : f32
// CHECK: arith.addf %[[P]], %[[U]] : f32
func.func @sgd_runtime(%p: tensor<4xf32>, %g: tensor<4xf32>, %lr: tensor<f64>, %wd: tensor<f64>) -> tensor<4xf32> {
  %0 = amp.sgd %p, %g lr(%lr) weight_decay(%wd) {lr = 1.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Adam with a run-time lr: the step size -lr / (1 - beta1^t) in f64.
// CHECK-LABEL: func @adam_runtime_lr
// CHECK-SAME: %[[LRT:[^:]+]]: tensor<f64>
// CHECK: %[[LR:.+]] = tensor.extract %[[LRT]][] : tensor<f64>
// CHECK: %[[BC1:.+]] = arith.subf %{{.+}}, %{{.+}} : f64
// CHECK: %[[SS:.+]] = arith.divf %[[LR]], %[[BC1]] : f64
// CHECK: arith.negf %[[SS]] : f64
// CHECK: linalg.generic
func.func @adam_runtime_lr(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %s: tensor<i64>, %lr: tensor<f64>) -> tensor<4xf32> {
  %0:4 = amp.adam %p, %g, %m, %v, %s lr(%lr) {lr = 1.0e-03 : f64} : tensor<4xf32>, tensor<i64>
  return %0#0 : tensor<4xf32>
}

// -----

// clip_grad_norm_: one f32 sum of squares per gradient, the norm of the
// norms, then every gradient times min(max_norm / (norm + 1e-6), 1).
// CHECK-LABEL: func @clip_grad_norm
// CHECK: %[[S0:.+]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: %[[E0:.+]] = tensor.extract %[[S0]][] : tensor<f32>
// CHECK: %[[N0:.+]] = math.sqrt %[[E0]] : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: %[[N1:.+]] = math.sqrt %{{.+}} : f32
// CHECK: %[[T:.+]] = math.sqrt %{{.+}} : f32
// CHECK: %[[D:.+]] = arith.addf %[[T]], %{{.+}} : f32
// CHECK: %[[COEF:.+]] = arith.divf %{{.+}}, %[[D]] : f32
// CHECK: %[[CL:.+]] = arith.minimumf %[[COEF]], %{{.+}} : f32
// CHECK: linalg.generic
// CHECK:   arith.mulf %{{.+}}, %[[CL]] : f32
// CHECK: linalg.generic
// CHECK:   arith.mulf %{{.+}}, %[[CL]] : f32
// CHECK: %[[TN:.+]] = tensor.from_elements %[[T]] : tensor<f32>
// CHECK: return {{.*}}, %[[TN]]
func.func @clip_grad_norm(%g: tensor<4x2xf32>, %h: tensor<3xf32>) -> (tensor<4x2xf32>, tensor<3xf32>, tensor<f32>) {
  %c:2, %n = amp.clip_grad_norm %g, %h {max_norm = 1.0 : f64} : tensor<4x2xf32>, tensor<3xf32> -> tensor<4x2xf32>, tensor<3xf32>, tensor<f32>
  return %c#0, %c#1, %n : tensor<4x2xf32>, tensor<3xf32>, tensor<f32>
}

// -----

// The inf norm: max |g|, the max of the maxima.
// CHECK-LABEL: func @clip_grad_norm_inf
// CHECK: linalg.generic
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK-NOT: math.sqrt
// CHECK: arith.minimumf
func.func @clip_grad_norm_inf(%g: tensor<4xf32>) -> tensor<4xf32> {
  %c, %n = amp.clip_grad_norm %g {max_norm = 1.0 : f64, norm_type = 0x7FF0000000000000 : f64} : tensor<4xf32> -> tensor<4xf32>, tensor<f32>
  return %c : tensor<4xf32>
}

// -----

// clip_grad_value_: clamp to [-v, v].
// CHECK-LABEL: func @clip_grad_value
// CHECK-DAG: %[[LO:.+]] = arith.constant -5.000000e-01 : f32
// CHECK-DAG: %[[HI:.+]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[A:.+]] = arith.maximumf %{{.+}}, %[[LO]] : f32
// CHECK: arith.minimumf %[[A]], %[[HI]] : f32
func.func @clip_grad_value(%g: tensor<4xf32>) -> tensor<4xf32> {
  %c = amp.clip_grad_value %g {clip_value = 0.5 : f64} : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// Adam: f64 bias corrections from the incremented step, then one generic.
// CHECK-LABEL: func @adam
// CHECK: %[[NEXT:.+]] = arith.addi
// CHECK: %[[STEPF:.+]] = arith.sitofp %[[NEXT]] : i64 to f64
// CHECK: math.powf %{{.*}}, %[[STEPF]] : f64
// CHECK: math.powf %{{.*}}, %[[STEPF]] : f64
// CHECK: math.sqrt %{{.*}} : f64
// CHECK: linalg.generic
// CHECK: math.sqrt %{{.*}} : f32
// CHECK: linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
func.func @adam(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %v: tensor<?xf32>, %s: tensor<i64>) -> tensor<?xf32> {
  %0:4 = amp.adam %p, %g, %m, %v, %s {lr = 1.0e-03 : f64} : tensor<?xf32>, tensor<i64>
  return %0#0 : tensor<?xf32>
}

// -----

// The inverse scale is computed in f64 and rounded once.
// CHECK-LABEL: func @unscale
// CHECK: %[[S:.+]] = tensor.extract %{{.*}}[] : tensor<f32>
// CHECK: %[[W:.+]] = arith.extf %[[S]] : f32 to f64
// CHECK: %[[INV:.+]] = arith.divf %{{.*}}, %[[W]] : f64
// CHECK: %[[INVF:.+]] = arith.truncf %[[INV]] : f64 to f32
// CHECK: linalg.generic
// CHECK: arith.mulf %{{.*}}, %[[INVF]] : f32
func.func @unscale(%g: tensor<4x4xf32>, %s: tensor<f32>) -> tensor<4x4xf32> {
  %0 = amp.unscale %g, %s : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// CHECK-LABEL: func @all_finite
// CHECK: %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: %[[ABS:.+]] = math.absf %{{.*}} : f32
// CHECK: %[[FIN:.+]] = arith.cmpf olt, %[[ABS]], %[[INF]] : f32
// CHECK: arith.andi %{{.*}}, %[[FIN]] : i1
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: tensor.from_elements %{{.*}} : tensor<i1>
func.func @all_finite(%a: tensor<4x4xf32>, %b: tensor<8xf32>) -> tensor<i1> {
  %0 = amp.all_finite %a, %b : tensor<4x4xf32>, tensor<8xf32>
  return %0 : tensor<i1>
}

// -----

// CHECK-LABEL: func @update_scale
// CHECK-DAG: %[[BACKOFF:.+]] = arith.constant 5.000000e-01 : f64
// CHECK-DAG: %[[GROWTH:.+]] = arith.constant 2.000000e+00 : f64
// CHECK-DAG: %[[INTERVAL:.+]] = arith.constant 2000 : i32
// CHECK: %[[REACHED:.+]] = arith.cmpi eq, %{{.*}}, %[[INTERVAL]] : i32
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: tensor.from_elements %{{.*}} : tensor<f32>
// CHECK: tensor.from_elements %{{.*}} : tensor<i32>
func.func @update_scale(%s: tensor<f32>, %t: tensor<i32>, %ok: tensor<i1>) -> (tensor<f32>, tensor<i32>) {
  %0, %1 = amp.update_scale %s, %t, %ok {min_scale = 1.0 : f64} : tensor<f32>, tensor<i32>
  return %0, %1 : tensor<f32>, tensor<i32>
}

// -----

// Philox4x32-10: key = seed, counter = (element, stream, offset low, high);
// ten rounds of two 32x32->64 products, the key bumped between rounds.
// CHECK-LABEL: func @random_uniform
// CHECK-SAME: (%[[RNG:.+]]: tensor<2xi64>)
// CHECK-DAG: %[[SEED:.+]] = tensor.extract %[[RNG]][%c0]
// CHECK-DAG: %[[OFFSET:.+]] = tensor.extract %[[RNG]][%c1]
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x6xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.index_castui %{{.*}} : index to i32
// CHECK-COUNT-20: arith.muli %{{.*}}, %{{.*}} : i64
// CHECK: %[[TOP:.+]] = arith.shrui %{{.*}}, %{{.*}} : i32
// CHECK: %[[F:.+]] = arith.uitofp %[[TOP]] : i32 to f32
// CHECK: arith.mulf %[[F]], %{{.*}} : f32
func.func @random_uniform(%rng: tensor<2xi64>) -> tensor<4x6xf32> {
  %u = amp.random_uniform %rng {stream = 3 : i64} : tensor<2xi64> -> tensor<4x6xf32>
  return %u : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func @stop_gradient
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @stop_gradient(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = amp.stop_gradient %x : tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// A bucket: packed into one fresh flat tensor, its buffer reduced in place
// (a writable to_buffer), read back as views; the world size is a runtime
// call.
// CHECK: func.func private @ampc_mpi_step_world_size() -> i32
// CHECK-LABEL: func @all_reduce_bucket(
// CHECK-SAME: %[[A:[^:]+]]: tensor<2x3xf32>, %[[B:[^:]+]]: tensor<f32>
// CHECK: %[[EMPTY:.+]] = tensor.empty() : tensor<7xf32>
// CHECK: %[[FA:.+]] = tensor.collapse_shape %[[A]] {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK: %[[P1:.+]] = tensor.insert_slice %[[FA]] into %[[EMPTY]][0] [6] [1]
// CHECK: %[[FB:.+]] = tensor.expand_shape %[[B]] [] output_shape [1] : tensor<f32> into tensor<1xf32>
// CHECK: %[[P2:.+]] = tensor.insert_slice %[[FB]] into %[[P1]][6] [1] [1]
// CHECK: %[[BUF:.+]] = bufferization.to_buffer %[[P2]] : tensor<7xf32> to memref<7xf32>
// CHECK: amp.all_reduce_in_place sum %[[BUF]] : memref<7xf32>
// CHECK: %[[SUM:.+]] = bufferization.to_tensor %[[BUF]] restrict writable
// CHECK: %[[SA:.+]] = tensor.extract_slice %[[SUM]][0] [6] [1]
// CHECK: tensor.expand_shape %[[SA]] {{\[\[}}0, 1]] output_shape [2, 3]
// CHECK: %[[SB:.+]] = tensor.extract_slice %[[SUM]][6] [1] [1]
// CHECK: tensor.collapse_shape %[[SB]] [] : tensor<1xf32> into tensor<f32>
// CHECK: %[[N:.+]] = call @ampc_mpi_step_world_size() : () -> i32
// CHECK: arith.sitofp %[[N]] : i32 to f32
func.func @all_reduce_bucket(%a: tensor<2x3xf32>, %b: tensor<f32>) -> (tensor<2x3xf32>, tensor<f32>, tensor<f32>) {
  %r:2 = amp.all_reduce sum %a, %b : tensor<2x3xf32>, tensor<f32>
  %n = amp.world_size : tensor<f32>
  return %r#0, %r#1, %n : tensor<2x3xf32>, tensor<f32>, tensor<f32>
}

// -----

// A lone tensor is packed into a fresh one too: the reduced buffer aliases
// nothing the step still reads or writes.
// CHECK-LABEL: func @lone_gradient(
// CHECK-SAME: %[[G:[^:]+]]: tensor<8xf32>
// CHECK: %[[EMPTY:.+]] = tensor.empty() : tensor<8xf32>
// CHECK: %[[P:.+]] = tensor.insert_slice %[[G]] into %[[EMPTY]][0] [8] [1]
// CHECK: %[[BUF:.+]] = bufferization.to_buffer %[[P]]
// CHECK: amp.all_reduce_in_place sum %[[BUF]] : memref<8xf32>
func.func @lone_gradient(%g: tensor<8xf32>) -> tensor<8xf32> {
  %r = amp.all_reduce sum %g : tensor<8xf32>
  return %r : tensor<8xf32>
}
