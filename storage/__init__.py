"""Object stores behind hramba.ports.ObjectStore: S3 with Object Lock, local filesystem."""
