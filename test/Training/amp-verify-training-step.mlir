// RUN: amp-opt %s -split-input-file -amp-verify-training-step -verify-diagnostics | FileCheck %s

// A minimal valid step: linear model, squared error, SGD.
// CHECK-LABEL: func @valid
func.func @valid(%w: tensor<4x2xf32> {amp.role = "param"},
                 %x: tensor<8x4xf32> {amp.role = "input"},
                 %y: tensor<8x2xf32> {amp.role = "label"})
    -> (tensor<4x2xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x2xf32>) -> tensor<8x2xf32>
  %p = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x2xf32>) outs(%z : tensor<8x2xf32>) -> tensor<8x2xf32>
  %d = arith.subf %p, %y : tensor<8x2xf32>
  %sq = arith.mulf %d, %d : tensor<8x2xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.reduce ins(%sq : tensor<8x2xf32>) outs(%z0 : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %seed = amp.grad_seed %loss : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<8x2xf32>
  %seedb = linalg.broadcast ins(%seed : tensor<f32>) outs(%e : tensor<8x2xf32>) dimensions = [0, 1]
  %g0 = arith.mulf %d, %two : tensor<8x2xf32>
  %dp = arith.mulf %g0, %seedb : tensor<8x2xf32>
  %xt0 = tensor.empty() : tensor<4x8xf32>
  %xt = linalg.transpose ins(%x : tensor<8x4xf32>) outs(%xt0 : tensor<4x8xf32>) permutation = [1, 0]
  %gw0 = tensor.empty() : tensor<4x2xf32>
  %gwz = linalg.fill ins(%zero : f32) outs(%gw0 : tensor<4x2xf32>) -> tensor<4x2xf32>
  %gw = linalg.matmul ins(%xt, %dp : tensor<4x8xf32>, tensor<8x2xf32>) outs(%gwz : tensor<4x2xf32>) -> tensor<4x2xf32>
  %w1 = amp.sgd %w, %gw {lr = 0.01 : f64} : tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  return %w1, %loss : tensor<4x2xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{training step must return its loss last}}
func.func @no_loss(%w: tensor<4xf32> {amp.role = "param"}) -> (tensor<4xf32> {amp.role = "param"})
    attributes {amp.training_step} {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{training step result #0 has no 'amp.role'}}
func.func @missing_result_role(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32>, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{training step argument #1 has no 'amp.role'}}
func.func @missing_arg_role(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32>)
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{param argument #0 must be an f32 tensor (the f32 master weight), got 'tensor<4xf16>'}}
func.func @f16_param(%w: tensor<4xf16> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf16> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf16>, tensor<f32>
}

// -----

// expected-error @+1 {{training step takes 2 state arguments (param, optimizer_state, scaler_state, param_copy) but returns 1}}
func.func @state_not_returned(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{result #0 (param, 'tensor<8xf32>') must be the updated state argument #0 (param, 'tensor<4xf32>')}}
func.func @state_type_mismatch(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<8xf32> {amp.role = "input"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<8xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %v, %l : tensor<8xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{training step must have exactly one amp.grad_seed, found 0}}
func.func @no_seed(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

func.func @seed_wrong_value(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"}, %other: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  // expected-error @+1 {{amp.grad_seed must seed the returned loss}}
  %s = amp.grad_seed %other : tensor<f32>
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

func.func @grad_not_from_seed(%w: tensor<4xf32> {amp.role = "param"}, %g: tensor<4xf32> {amp.role = "input"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %s = amp.grad_seed %l : tensor<f32>
  // expected-error @+1 {{the gradient of this optimizer op does not come from the amp.grad_seed}}
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{param argument #0 is not updated by any optimizer op}}
func.func @param_not_updated(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %s = amp.grad_seed %l : tensor<f32>
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

func.func @update_not_returned(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %s = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%s : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  // expected-error @+1 {{the updated param must be returned as result #0}}
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

func.func @optimizer_on_input(%w: tensor<4xf32> {amp.role = "param"}, %x: tensor<4xf32> {amp.role = "input"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %s = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%s : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{optimizer op must update a param argument of the training step}}
  %x1 = amp.sgd %x, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}

// -----

// Bad role names and misplaced roles are caught by the dialect verifier.
// expected-error @+1 {{argument #0: 'amp.role' must be one of}}
func.func @bad_role(%w: tensor<4xf32> {amp.role = "weights"}) {
  return
}

// -----

// expected-error @+1 {{result #0: role 'input' is only for arguments}}
func.func @input_result(%w: tensor<4xf32>) -> (tensor<4xf32> {amp.role = "input"}) {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{'amp.training_step' is a unit attribute on a function}}
func.func @bad_marker() attributes {amp.training_step = 1 : i32} {
  return
}

// -----

// expected-error @+1 {{argument #0: role 'found_inf' is only for results}}
func.func @found_inf_argument(%f: tensor<i1> {amp.role = "found_inf"}) {
  return
}

// -----

// expected-error @+1 {{result #0: role 'hyperparameter' is only for arguments}}
func.func @hyperparameter_result(%w: tensor<f64>) -> (tensor<f64> {amp.role = "hyperparameter"}) {
  return %w : tensor<f64>
}

// -----

// expected-error @+1 {{argument #0: 'amp.name' must be a non-empty string}}
func.func @bad_name(%w: tensor<4xf32> {amp.name = 3 : i32, amp.role = "param"}) {
  return
}

// -----

// Hyperparameters are f64 scalars, as Python floats.
func.func @f32_hyperparameter(%w: tensor<4xf32> {amp.role = "param"},
                              // expected-error @+1 {{hyperparameter argument #1 must be a tensor<f64>, got 'tensor<f32>'}}
                              %lr: tensor<f32> {amp.role = "hyperparameter"},
                              %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}

// -----

// found_inf is a report, not state: it pairs with no argument.
// expected-error @+1 {{found_inf result #1 must be a 'tensor<i1>', got 'tensor<f32>'}}
func.func @bad_found_inf(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "found_inf"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l, %l : tensor<4xf32>, tensor<f32>, tensor<f32>
}

// -----

// A hyperparameter needs its name and initial value: a caller sets it by name.
func.func @anonymous_hyperparameter(%w: tensor<4xf32> {amp.role = "param"},
                                    // expected-error @+1 {{hyperparameter argument #1 needs 'amp.name' and a float 'amp.init'}}
                                    %lr: tensor<f64> {amp.role = "hyperparameter"},
                                    %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g lr(%lr) {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}

// -----

// Names key checkpoints: two state arrays cannot share one.
func.func @duplicate_names(%w: tensor<4xf32> {amp.name = "w", amp.role = "param"},
                           // expected-error @+1 {{argument #1 has the 'amp.name' 'w' of argument #0; names must be unique}}
                           %v: tensor<4xf32> {amp.name = "w", amp.role = "param"},
                           %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %v1 = amp.sgd %v, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %v1, %l : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}
