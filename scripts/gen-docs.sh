#!/usr/bin/env bash
# Regenerates docs/generated/ from the ODS definitions (run after changing a
# .td file; scripts/test.sh fails while they are stale).
set -euo pipefail
source "$(dirname "$0")/common.sh"
# From scratch, so that a page of a removed area cannot linger.
rm -rf "$AMPC_BUILD_DIR/docs" "$AMPC_ROOT/docs/generated"
ampc_build mlir-doc
mkdir -p "$AMPC_ROOT/docs/generated"
# One passes page per area (include/ampc/<Area>/Passes.td), and the dialect.
cp "$AMPC_BUILD_DIR/docs/Dialects/AMPDialect.md" "$AMPC_BUILD_DIR/docs/Dialects/ATenDialect.md" \
  "$AMPC_BUILD_DIR"/docs/*Passes.md \
  "$AMPC_ROOT/docs/generated/"
ampc_log "docs/generated updated"
