// RUN: amp-opt %s -amp-request-c-wrappers | FileCheck %s

// Exported functions get C entry points; declarations keep their C names.
// CHECK-LABEL: func.func private @rtclock() -> f64
// CHECK-NOT:     llvm.emit_c_interface
// CHECK-LABEL: func.func private @helper(
// CHECK-NOT:     llvm.emit_c_interface
// CHECK-SAME:    {
// CHECK-LABEL: func.func @step(
// CHECK-SAME:    attributes {llvm.emit_c_interface}
func.func private @rtclock() -> f64
func.func private @helper(%x: f64) -> f64 {
  return %x : f64
}
func.func @step(%x: memref<4xf32>) -> f64 {
  %t = func.call @rtclock() : () -> f64
  %u = func.call @helper(%t) : (f64) -> f64
  return %u : f64
}
