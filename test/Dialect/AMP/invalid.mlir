// RUN: amp-opt %s -split-input-file -verify-diagnostics

func.func @same_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{casts 'f32' to itself}}
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @integer_operand(%x: tensor<4xi32>) -> tensor<4xf16> {
  // expected-error @+1 {{operand #0 must be f32, f16 or bf16 scalar or ranked tensor}}
  %0 = amp.cast %x : tensor<4xi32> to tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @f64_result(%x: f32) -> f64 {
  // expected-error @+1 {{result #0 must be f32, f16 or bf16 scalar or ranked tensor}}
  %0 = amp.cast %x : f32 to f64
  return %0 : f64
}

// -----

func.func @shape_mismatch(%x: tensor<4xf32>) -> tensor<8xf16> {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %0 = amp.cast %x : tensor<4xf32> to tensor<8xf16>
  return %0 : tensor<8xf16>
}

// -----

func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf16> {
  // expected-error @+1 {{operand #0 must be f32, f16 or bf16 scalar or ranked tensor}}
  %0 = amp.cast %x : tensor<*xf32> to tensor<*xf16>
  return %0 : tensor<*xf16>
}

// -----

func.func @pin_unsupported_type(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'amp.precision' pins to unsupported type 'f64'; expected "f32", "f16" or "bf16"}}
  %0 = arith.addf %a, %a {amp.precision = "f64"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @pin_not_a_string(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'amp.precision' must be a string}}
  %0 = arith.addf %a, %a {amp.precision = 16 : i32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unknown_amp_attribute(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown amp dialect attribute 'amp.loss_scale'}}
  %0 = arith.addf %a, %a {amp.loss_scale = 2.0 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}
