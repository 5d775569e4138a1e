// RUN: amp-opt %s -split-input-file -amp-autocast="policy=%S/Inputs/policy.yaml" | FileCheck %s --check-prefix=YAML
// RUN: amp-opt %s -split-input-file -amp-autocast="policy=%S/Inputs/policy.json" | FileCheck %s --check-prefix=JSON
// RUN: amp-opt %s -split-input-file -amp-autocast="deny-add=linalg.matmul infer-add=math.tanh" | FileCheck %s --check-prefix=OPTS
// RUN: amp-opt %s -split-input-file -amp-autocast="deny-add=linalg.conv_*,linalg.batch_matmul" | FileCheck %s --check-prefix=GLOB
// RUN: amp-opt %s -split-input-file -amp-autocast="policy=%S/Inputs/policy-glob.yaml" | FileCheck %s --check-prefix=GLOBFILE

// YAML-LABEL: func @policy_lists
// YAML: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf16>, tensor<4x4xf16>)
// YAML: math.tanh %{{.*}} : tensor<4x4xf16>
// YAML: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// JSON-LABEL: func @policy_lists
// JSON: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf16>, tensor<4x4xf16>)
// JSON: math.tanh %{{.*}} : tensor<4x4xf32>
// JSON: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x4x4xf16>, tensor<2x4x4xf16>)
// OPTS-LABEL: func @policy_lists
// OPTS: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>)
// OPTS: math.tanh %{{.*}} : tensor<4x4xf32>
// OPTS: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x4x4xf16>, tensor<2x4x4xf16>)
// GLOBFILE-LABEL: func @policy_lists
// GLOBFILE: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>)
// GLOBFILE: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// GLOB-LABEL: func @policy_lists
// GLOB: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf16>, tensor<4x4xf16>)
// GLOB: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
func.func @policy_lists(%a: tensor<4x4xf32>, %b: tensor<2x4x4xf32>) -> (tensor<4x4xf32>, tensor<2x4x4xf32>) {
  %m = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  %t = math.tanh %m : tensor<4x4xf32>
  %m2 = linalg.matmul ins(%t, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  %bm = linalg.batch_matmul ins(%b, %b : tensor<2x4x4xf32>, tensor<2x4x4xf32>) outs(%b : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %m2, %bm : tensor<4x4xf32>, tensor<2x4x4xf32>
}

// -----

// A glob moved to deny takes every convolution to f32 (removing it from allow
// alone would not: the payload still classifies as a convolution).
// GLOB-LABEL: func @conv_removed
// GLOB: linalg.conv_2d_nhwc_hwcf ins(%{{.*}}, %{{.*}} : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>)
// YAML-LABEL: func @conv_removed
// YAML: linalg.conv_2d_nhwc_hwcf ins(%{{.*}}, %{{.*}} : tensor<1x8x8x3xf16>, tensor<3x3x3x4xf16>)
func.func @conv_removed(%i: tensor<1x8x8x3xf32>, %f: tensor<3x3x3x4xf32>, %o: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  %0 = linalg.conv_2d_nhwc_hwcf ins(%i, %f : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%o : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  return %0 : tensor<1x6x6x4xf32>
}
