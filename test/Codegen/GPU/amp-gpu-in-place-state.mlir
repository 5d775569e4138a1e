// RUN: amp-opt %s -split-input-file -verify-diagnostics -amp-gpu-in-place-state | FileCheck %s

// An optimizer update reading the old parameter and momentum element by
// element, writing the new ones: safe in place. A cast of the parameter
// before the update reads it before it changes.
// CHECK-LABEL: func @sgd_momentum
// CHECK-SAME: attributes {ampc.in_place_state}
// CHECK-NOT: ampc.state_pairs
#id = affine_map<(d0) -> (d0)>
func.func @sgd_momentum(%w: memref<64xf32>, %m: memref<64xf32>, %g: memref<64xf32>,
                        %w_new: memref<64xf32>, %m_new: memref<64xf32>, %w_bf16: memref<64xbf16>)
    attributes {ampc.state_pairs = array<i64: 0, 3, 1, 4>} {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%w : memref<64xf32>) outs(%w_bf16 : memref<64xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  }
  linalg.generic {indexing_maps = [#id, #id, #id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %m, %g : memref<64xf32>, memref<64xf32>, memref<64xf32>) outs(%w_new, %m_new : memref<64xf32>, memref<64xf32>) {
  ^bb0(%x: f32, %v: f32, %d: f32, %o: f32, %p: f32):
    %c = arith.constant 0.9 : f32
    %lr = arith.constant -0.01 : f32
    %vm = arith.mulf %v, %c : f32
    %v2 = arith.addf %vm, %d : f32
    %s = arith.mulf %v2, %lr : f32
    %x2 = arith.addf %x, %s : f32
    linalg.yield %x2, %v2 : f32, f32
  }
  return
}

// -----

// The step counter is incremented before the update that reads the old
// count (broadcast to every element): the increment moves after that read.
// CHECK-LABEL: func @counter_moves_after_its_last_read
// CHECK-SAME: attributes {ampc.in_place_state}
// CHECK: linalg.generic {{.+}} ins(%[[W:.+]], %[[T:.+]] : memref<64xf32>, memref<i64>)
// CHECK: arith.addi
// CHECK-NEXT: linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: return
#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
func.func @counter_moves_after_its_last_read(%w: memref<64xf32>, %t: memref<i64>, %w_new: memref<64xf32>, %t_new: memref<i64>)
    attributes {ampc.state_pairs = array<i64: 0, 2, 1, 3>} {
  linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%t : memref<i64>) outs(%t_new : memref<i64>) {
  ^bb0(%x: i64, %o: i64):
    %one = arith.constant 1 : i64
    %n = arith.addi %x, %one : i64
    linalg.yield %n : i64
  }
  linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel"]}
      ins(%w, %t : memref<64xf32>, memref<i64>) outs(%w_new : memref<64xf32>) {
  ^bb0(%x: f32, %step: i64, %o: f32):
    %zero = arith.constant 0 : i64
    %first = arith.cmpi eq, %step, %zero : i64
    %half = arith.constant 0.5 : f32
    %y = arith.mulf %x, %half : f32
    %r = arith.select %first, %x, %y : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A GEMM reads the old parameter after the update wrote the new one, and
// overwrites the gradient the update reads, so the update cannot move
// after it either: the step keeps two state buffers.
// CHECK-LABEL: func @read_after_update
// CHECK-NOT: ampc.in_place_state
// CHECK: return
#id = affine_map<(d0) -> (d0)>
func.func private @ampc_cuda_gemm(i32, i32, i32, i32, i32, index, index, index, index, index, index, index, index, index, index, index, index, index, f32, index)
func.func @read_after_update(%w: memref<64xf32>, %g: memref<64xf32>, %out: memref<64xf32>, %w_new: memref<64xf32>)
    attributes {ampc.state_pairs = array<i64: 0, 3>} {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %g : memref<64xf32>, memref<64xf32>) outs(%w_new : memref<64xf32>) {
  ^bb0(%x: f32, %d: f32, %o: f32):
    %y = arith.subf %x, %d : f32
    linalg.yield %y : f32
  }
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %pw = memref.extract_aligned_pointer_as_index %w : memref<64xf32> -> index
  %pg = memref.extract_aligned_pointer_as_index %g : memref<64xf32> -> index
  func.call @ampc_cuda_gemm(%c0, %c0, %c0, %c0, %c0, %c1, %c1, %c1, %c1, %pw, %c1, %c1, %pw, %c1, %c1, %pg, %c1, %c1, %zero, %c1)
      : (i32, i32, i32, i32, i32, index, index, index, index, index, index, index, index, index, index, index, index, index, f32, index) -> ()
  return
}

// -----

// expected-error @+1 {{amp-gpu-in-place-state: 'ampc.state_pairs' must list (argument, out-parameter) index pairs of the function}}
func.func @bad_pairs(%w: memref<64xf32>, %w_new: memref<64xf32>) attributes {ampc.state_pairs = array<i64: 0, 5>} {
  return
}
