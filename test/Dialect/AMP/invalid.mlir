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

// -----

func.func @seed_not_f32(%l: tensor<f16>) -> tensor<f16> {
  // expected-error @+1 {{operand #0 must be 32-bit float or 0D tensor of 32-bit float values}}
  %0 = amp.grad_seed %l : tensor<f16>
  return %0 : tensor<f16>
}

// -----

func.func @sgd_negative_lr(%p: tensor<4xf32>, %g: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{invalid lr -0.1: expected a value in [0, inf)}}
  %0 = amp.sgd %p, %g {lr = -1.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @sgd_momentum_without_state(%p: tensor<4xf32>, %g: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{with momentum takes state(momentum_buffer, step): 0 operands given}}
  %0 = amp.sgd %p, %g {lr = 1.0e-01 : f64, momentum = 0.9 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @sgd_nesterov_dampening(%p: tensor<4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %s: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+1 {{nesterov momentum requires a momentum and zero dampening}}
  %0:3 = amp.sgd %p, %g state(%b, %s : tensor<4xf32>, tensor<i64>) {lr = 1.0e-01 : f64, momentum = 0.9 : f64, dampening = 0.1 : f64, nesterov = true} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  return %0#0 : tensor<4xf32>
}

// -----

func.func @sgd_grad_shape(%p: tensor<4xf32>, %g: tensor<8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{param, grad and new_param must have the same type}}
  %0 = amp.sgd %p, %g {lr = 1.0e-01 : f64} : tensor<4xf32>, tensor<8xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @sgd_bad_step(%p: tensor<4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{step counter must be tensor<i64>, got 'tensor<f32>'}}
  %0:3 = amp.sgd %p, %g state(%b, %s : tensor<4xf32>, tensor<f32>) {lr = 1.0e-01 : f64, momentum = 0.9 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<f32>
  return %0#0 : tensor<4xf32>
}

// -----

func.func @adam_bad_beta(%p: tensor<4xf32>, %g: tensor<4xf32>, %s: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+1 {{invalid beta2 1: expected a value in [0, 1)}}
  %0:4 = amp.adam %p, %g, %p, %p, %s {lr = 1.0e-03 : f64, beta2 = 1.0 : f64} : tensor<4xf32>, tensor<i64>
  return %0#0 : tensor<4xf32>
}

// -----

func.func @adam_f16_param(%p: tensor<4xf16>, %s: tensor<i64>) -> tensor<4xf16> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float values}}
  %0:4 = amp.adam %p, %p, %p, %p, %s {lr = 1.0e-03 : f64} : tensor<4xf16>, tensor<i64>
  return %0#0 : tensor<4xf16>
}

// -----

func.func @update_bad_backoff(%s: tensor<f32>, %t: tensor<i32>, %ok: tensor<i1>) -> tensor<f32> {
  // expected-error @+1 {{backoff_factor must be in (0, 1)}}
  %0, %1 = amp.update_scale %s, %t, %ok {backoff_factor = 1.5 : f64} : tensor<f32>, tensor<i32>
  return %0 : tensor<f32>
}

// -----

func.func @update_bad_tracker(%s: tensor<f32>, %t: tensor<i64>, %ok: tensor<i1>) -> tensor<f32> {
  // expected-error @+1 {{operand #1 must be 0D tensor of 32-bit signless integer values}}
  %0, %1 = amp.update_scale %s, %t, %ok : tensor<f32>, tensor<i64>
  return %0 : tensor<f32>
}

// -----

func.func @all_finite_empty() -> tensor<i1> {
  // expected-error @+1 {{needs at least one input}}
  %0 = "amp.all_finite"() : () -> tensor<i1>
  return %0 : tensor<i1>
}

// -----

func.func @clip_norm_type(%g: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{norm_type must be 1, 2 or inf, got 3}}
  %c, %n = amp.clip_grad_norm %g {max_norm = 1.0 : f64, norm_type = 3.0 : f64} : tensor<4xf32> -> tensor<4xf32>, tensor<f32>
  return %c : tensor<4xf32>
}

// -----

func.func @clip_max_norm(%g: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{max_norm must be finite and > 0, got 0}}
  %c, %n = amp.clip_grad_norm %g {max_norm = 0.0 : f64} : tensor<4xf32> -> tensor<4xf32>, tensor<f32>
  return %c : tensor<4xf32>
}

// -----

func.func @clip_types(%g: tensor<4xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{clipped gradients must have the gradients' types}}
  %c, %n = amp.clip_grad_norm %g {max_norm = 1.0 : f64} : tensor<4xf32> -> tensor<2x2xf32>, tensor<f32>
  return %c : tensor<2x2xf32>
}

// -----

func.func @clip_value(%g: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{clip_value must be finite and > 0, got -1}}
  %c = amp.clip_grad_value %g {clip_value = -1.0 : f64} : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @momentum_input_without_momentum(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<f64>) -> tensor<4xf32> {
  // expected-error @+1 {{a run-time momentum needs momentum > 0 when the op is built}}
  %0 = amp.sgd %p, %g momentum(%m) {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @random_state(%rng: tensor<3xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{needs the random state as tensor<2xi64> (seed, offset), got 'tensor<3xi64>'}}
  %u = amp.random_uniform %rng {stream = 0 : i64} : tensor<3xi64> -> tensor<4xf32>
  return %u : tensor<4xf32>
}

// -----

func.func @random_stream(%rng: tensor<2xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{stream -1 is not a 32-bit unsigned number}}
  %u = amp.random_uniform %rng {stream = -1 : i64} : tensor<2xi64> -> tensor<4xf32>
  return %u : tensor<4xf32>
}

// -----

func.func @all_reduce_mixed(%a: tensor<4xf32>, %b: tensor<4xi32>) {
  // expected-error @+1 {{needs one element type for the whole bucket}}
  %r:2 = amp.all_reduce sum %a, %b : tensor<4xf32>, tensor<4xi32>
  return
}

// -----

func.func @all_reduce_dynamic(%a: tensor<?xf32>) {
  // expected-error @+1 {{needs statically shaped inputs}}
  %r = amp.all_reduce sum %a : tensor<?xf32>
  return
}

// -----

func.func @all_reduce_bf16(%a: tensor<4xbf16>) {
  // expected-error @+1 {{operand #0 must be variadic of ranked tensor of 32-bit float or 32-bit signless integer values}}
  %r = amp.all_reduce sum %a : tensor<4xbf16>
  return
}
