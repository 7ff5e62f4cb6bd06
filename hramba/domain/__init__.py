"""Pure rules: retention arithmetic, manifests, audit chain, fixity comparison. No I/O."""
