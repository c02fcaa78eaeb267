"""Security features: personal data masking, payload encryption at rest, retention and erasure, and the
audited reveal. See docs/security.md for the threat model and the control mapping."""
