"""Shared vocabulary: errors, value types, findings. Depends on nothing else in hramba."""
