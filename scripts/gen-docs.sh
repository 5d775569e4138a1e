#!/usr/bin/env bash
# Regenerates docs/generated/ from the ODS definitions (run after changing a
# .td file; scripts/test.sh fails while they are stale).
set -euo pipefail
source "$(dirname "$0")/common.sh"
ampc_build mlir-doc
mkdir -p "$AMPC_ROOT/docs/generated"
cp "$AMPC_BUILD_DIR/docs/Dialects/AMPDialect.md" "$AMPC_BUILD_DIR/docs/PrecisionPasses.md" \
  "$AMPC_BUILD_DIR/docs/AMPConversionPasses.md" \
  "$AMPC_ROOT/docs/generated/"
ampc_log "docs/generated updated"
