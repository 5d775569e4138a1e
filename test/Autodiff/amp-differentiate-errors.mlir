// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=mse params=0" -verify-diagnostics

// A payload op without a derivative rule is named, at the op that holds it.
func.func @no_derivative(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{amp-differentiate: no derivative for 'math.atan' in the payload}}
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.atan %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// An op on the path from a param to the loss without a gradient rule.
func.func @no_rule(%x: tensor<4xf32>, %i: tensor<2x1xindex>) -> tensor<2xf32> {
  // expected-error @+1 {{amp-differentiate: no gradient rule for 'tensor.gather'}}
  %g = tensor.gather %x[%i] gather_dims([0]) unique : (tensor<4xf32>, tensor<2x1xindex>) -> tensor<2xf32>
  return %g : tensor<2xf32>
}

// -----

// A product reduction has no rule (only sums, differences, max and min).
func.func @product(%x: tensor<4x3xf32>) -> tensor<4xf32> {
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  // expected-error @+1 {{no gradient rule for result #0 of this reduction: its payload folds the accumulator with 'arith.mulf'}}
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x3xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Calls are inlined first.
func.func private @g(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @calls(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{amp-differentiate: calls are not differentiated; inline the callee first (--inline)}}
  %y = func.call @g(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A param that does not reach the loss.
// expected-error @+1 {{amp-differentiate: param argument #0 does not affect the loss}}
func.func @unused(%w: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{amp-differentiate: params=0: expected 'auto' or argument numbers below 0, got '0'}}
func.func @no_arguments() -> tensor<4xf32> {
  %c = arith.constant dense<1.0> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// expected-error @+1 {{amp-differentiate: @two_results has 2 results; say which one the loss reads with result=N}}
func.func @two_results(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  return %x, %x : tensor<4xf32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{amp-differentiate: 2 public functions with results @a @b; name the forward function with function=NAME}}
module {
  func.func @a(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
  func.func @b(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

// A loss over no elements has no mean.
// expected-error @+1 {{amp-differentiate: the loss needs a result with elements, got 'tensor<2x0xf32>'}}
func.func @empty_result(%w: tensor<2x0xf32>) -> tensor<2x0xf32> {
  return %w : tensor<2x0xf32>
}

// -----

// A differentiable tensor read inside a payload by anything but a
// tensor.extract in the payload itself has no rule.
func.func @captured_in_nested_region(%w: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %c0 = arith.constant 0 : index
  %true = arith.constant true
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      outs(%e : tensor<4xf32>) {
  ^bb0(%o: f32):
    %v = scf.if %true -> f32 {
      // expected-error @+1 {{amp-differentiate: a differentiable value is used inside the payload other than by a tensor.extract in the payload itself; pass it as an operand}}
      %x = tensor.extract %w[%c0] : tensor<4xf32>
      scf.yield %x : f32
    } else {
      scf.yield %o : f32
    }
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}
