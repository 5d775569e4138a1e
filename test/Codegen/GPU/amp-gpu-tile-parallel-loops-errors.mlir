// RUN: amp-opt %s -amp-gpu-tile-parallel-loops=block-size=0 -verify-diagnostics

// expected-error @+1 {{amp-gpu-tile-parallel-loops: block-size must be positive}}
func.func @bad_block_size() {
  return
}
