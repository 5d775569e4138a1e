// RUN: amp-opt %s -split-input-file -amp-cpu-profile-points | FileCheck %s

// Kernel and runtime calls of a public function are timed, numbered in
// program order; other calls are not. The module attribute says what each
// point is: the kernel's op (a generic by its body), the model line and
// module path the call came from, and whether it is part of a backward.
// CHECK: module attributes {ampc.profile_points = [
// CHECK-SAME: {backward = false, callee = "step_kernel0", function = "step", module = "fc1", source = "model.py:10", what = "elementwise(mulf, addf)"},
// CHECK-SAME: {backward = false, callee = "ampc_cpu_gemm", function = "step", module = "", source = "other.py:7", what = "ampc_cpu_gemm"},
// CHECK-SAME: {backward = true, callee = "step_kernel0", function = "step", module = "fc1", source = "model.py:10", what = "elementwise(mulf, addf)"}]}
// CHECK-LABEL: func.func private @helper(
// CHECK-NOT: ampc_profile
// CHECK: return
// CHECK-LABEL: func.func @step(
// CHECK: %[[T0:.+]] = call @ampc_profile_begin() : () -> i64
// CHECK-NEXT: call @step_kernel0(
// CHECK-NEXT: %[[ID0:.+]] = arith.constant 0 : i64
// CHECK-NEXT: call @ampc_profile_end(%[[ID0]], %[[T0]]) : (i64, i64) -> ()
// CHECK: %[[T1:.+]] = call @ampc_profile_begin() : () -> i64
// CHECK-NEXT: call @ampc_cpu_gemm(
// CHECK-NEXT: %[[ID1:.+]] = arith.constant 1 : i64
// CHECK-NEXT: call @ampc_profile_end(%[[ID1]], %[[T1]])
// CHECK: call @helper(
// CHECK-NOT: ampc_profile
// CHECK: call @ampc_profile_begin()
// CHECK-NEXT: call @step_kernel0(
// CHECK-NEXT: arith.constant 2 : i64
// CHECK-NEXT: call @ampc_profile_end(
// CHECK-NEXT: return
#map = affine_map<(d0) -> (d0)>
func.func private @step_kernel0(%a: memref<8xf32>, %b: memref<8xf32>) attributes {ampc.kernel} {
  %c = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%a : memref<8xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %c : f32
    %s = arith.addf %m, %y : f32
    linalg.yield %s : f32
  }
  return
}
func.func private @ampc_cpu_gemm(memref<8xf32>, memref<8xf32>)
func.func private @helper(%a: memref<8xf32>, %b: memref<8xf32>) {
  call @step_kernel0(%a, %b) : (memref<8xf32>, memref<8xf32>) -> ()
  return
}
func.func @step(%a: memref<8xf32>, %b: memref<8xf32>) {
  call @step_kernel0(%a, %b) : (memref<8xf32>, memref<8xf32>) -> () loc(#fc1)
  call @ampc_cpu_gemm(%a, %b) : (memref<8xf32>, memref<8xf32>) -> () loc("other.py":7:1)
  call @helper(%a, %b) : (memref<8xf32>, memref<8xf32>) -> ()
  call @step_kernel0(%b, %a) : (memref<8xf32>, memref<8xf32>) -> () loc(#bwd)
  return
}
#file = loc("model.py":10:3)
#fc1 = loc("fc1"(#file))
#bwd = loc(fused<{amp.adjoint_of = "fc1"}>[#fc1])

// -----

// A parameter's name (the importer's argument locations) names the casts
// and updates built from it, with the first file location.
// CHECK: module attributes {ampc.profile_points = [{backward = false, callee = "ampc_cpu_gemm", function = "update", module = "fc1.weight", source = "train.py:4", what = "ampc_cpu_gemm"}]}
// CHECK-LABEL: func.func @update(
func.func private @ampc_cpu_gemm(memref<8xf32>)
func.func @update(%w: memref<8xf32>) {
  call @ampc_cpu_gemm(%w) : (memref<8xf32>) -> () loc(fused["fc1.weight", "train.py":4:1])
  return
}

// -----

// Nothing to time: an empty table.
// CHECK: module attributes {ampc.profile_points = []}
// CHECK-LABEL: func.func @nothing(
func.func @nothing() {
  return
}

// -----

// Ids run on across functions, in module order; a module instrumented
// already is left alone (running the pass twice times each call once).
// RUN: amp-opt %s -split-input-file -amp-cpu-profile-points -amp-cpu-profile-points | FileCheck %s --check-prefix=TWICE
// CHECK: module attributes {ampc.profile_points = [{{{.*}}function = "first"{{.*}}}, {{{.*}}function = "second"{{.*}}}]}
// CHECK-LABEL: func.func @first(
// CHECK: arith.constant 0 : i64
// CHECK-LABEL: func.func @second(
// CHECK: arith.constant 1 : i64
// TWICE-LABEL: func.func @second(
// TWICE-COUNT-1: call @ampc_profile_begin()
// TWICE-NOT: call @ampc_profile_begin()
// TWICE: return
func.func private @ampc_cpu_gemm(memref<8xf32>)
func.func @first(%w: memref<8xf32>) {
  call @ampc_cpu_gemm(%w) : (memref<8xf32>) -> ()
  return
}
func.func @second(%w: memref<8xf32>) {
  call @ampc_cpu_gemm(%w) : (memref<8xf32>) -> ()
  return
}
