// Bad options and bad policy files: a located message and a non-zero exit.

// RUN: not amp-opt %s -amp-autocast="accumulate-type=bf16" 2>&1 | FileCheck %s --check-prefix=ACC
// ACC: error: amp-autocast: accumulate-type must be f32 or the compute type (f16), got bf16

// RUN: not amp-opt %s -amp-autocast="compute-type=f64" 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: Cannot find option named 'f64'

// RUN: not amp-opt %s -amp-autocast="policy=%S/Inputs/policy-bad-key.yaml" 2>&1 | FileCheck %s --check-prefix=KEY
// KEY: policy-bad-key.yaml:2:1: error: unknown key 'forbid'; expected 'base', 'allow', 'deny', 'infer' or 'clear'

// RUN: not amp-opt %s -amp-autocast="policy=%S/Inputs/policy-bad-syntax.yaml" 2>&1 | FileCheck %s --check-prefix=SYNTAX
// SYNTAX: policy-bad-syntax.yaml:3:{{[0-9]+}}: error:

// RUN: not amp-opt %s -amp-autocast="policy=%S/Inputs/policy-bad-name.json" 2>&1 | FileCheck %s --check-prefix=NAME
// NAME: policy-bad-name.json:1:11: error: 'matmul' is not an op name: expected 'dialect.op'

// RUN: not amp-opt %s -amp-autocast="policy=%S/Inputs/does-not-exist.yaml" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: {{.*}}does-not-exist.yaml: cannot read policy file: No such file or directory

// A YAML error inside a class value, a device, and a name that is no op
// name (the reader used to crash on the first and read /dev/zero until it ran
// out of memory).
// RUN: not amp-opt %s -amp-autocast="policy=%S/Inputs/policy-bad-anchor.yaml" 2>&1 | FileCheck %s --check-prefix=ANCHOR
// ANCHOR: policy-bad-anchor.yaml:1:7: error: Got empty alias or anchor
// RUN: not amp-opt %s -amp-autocast="policy=/dev/zero" 2>&1 | FileCheck %s --check-prefix=DEVICE
// DEVICE: error: /dev/zero: cannot read policy file: not a regular file
// RUN: not amp-opt %s -amp-autocast="allow-add=." 2>&1 | FileCheck %s --check-prefix=DOT
// DOT: error: amp-autocast option 'allow-add': '.' is not an op name
// DOT-NOT: warning

// Unknown op names are a warning, not an error.
// RUN: amp-opt %s -amp-autocast="policy=%S/Inputs/policy-typo.yaml" 2>&1 | FileCheck %s --check-prefix=TYPO
// TYPO: policy-typo.yaml:1:8: warning: policy entry 'linalg.matmull' names no registered operation
// RUN: amp-opt %s -amp-autocast="deny-add=lianlg.matmul" 2>&1 | FileCheck %s --check-prefix=OPTTYPO
// OPTTYPO: warning: amp-autocast options: policy entry 'lianlg.matmul' names no registered operation
// RUN: amp-opt %s -amp-autocast="infer-remove=linalg.matmul" 2>&1 | FileCheck %s --check-prefix=REMOVE
// REMOVE: warning: amp-autocast option 'infer-remove': 'linalg.matmul' is not in the infer list; nothing removed

// RUN: not amp-opt %s -amp-autocast="report=/nonexistent-dir/report.json" 2>&1 | FileCheck %s --check-prefix=REPORT
// REPORT: error: amp-autocast: cannot write report '/nonexistent-dir/report.json'

func.func @f(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// Malformed IR is a located parse error and a non-zero exit; no output file.
// RUN: rm -f %t.out.mlir
// RUN: echo 'func.func @broken(%a: tensor<4xf32>) { %0 = linalg.matmul ins(%a' | not amp-opt -amp-autocast -o %t.out.mlir 2>&1 | FileCheck %s --check-prefix=PARSE
// PARSE: <stdin>:1:{{[0-9]+}}: error:
// RUN: not test -e %t.out.mlir
