// With a policy file the checker classifies ops as autocast does with the
// same file: there batch_matmul is deny, so an f32 one passes, and a plain
// matmul is still allow.
// RUN: amp-opt %s -split-input-file -amp-check-precision="policy=%S/Inputs/policy.yaml" -verify-diagnostics
// RUN: not amp-opt %s -split-input-file -amp-check-precision -verify-diagnostics 2>&1 | FileCheck %s --check-prefix=DEFAULT
// RUN: not amp-opt %s -amp-check-precision="policy=%S/Inputs/does-not-exist.yaml" 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not amp-opt %s -amp-check-precision="policy=%S/Inputs/policy-bad-key.yaml" 2>&1 | FileCheck %s --check-prefix=BADFILE

// Under the default policy the f32 batch_matmul is an error.
// DEFAULT: error: unexpected error: amp-check-precision: matmul-like op reads 'f32' input #0, expected 'f16'
// NOFILE: error: {{.*}}does-not-exist.yaml: cannot read policy file
// BADFILE: policy-bad-key.yaml:{{[0-9]+}}:{{[0-9]+}}: error: unknown key

func.func @f32_batch_matmul_ok(%a: tensor<2x4x4xf32>, %c: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %m = linalg.batch_matmul ins(%a, %a : tensor<2x4x4xf32>, tensor<2x4x4xf32>) outs(%c : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %m : tensor<2x4x4xf32>
}

// -----

func.func @f32_matmul(%a: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{amp-check-precision: matmul-like op reads 'f32' input #0, expected 'f16'}}
  %m = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}
