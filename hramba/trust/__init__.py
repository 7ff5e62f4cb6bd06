"""Trust: RFC 3161 time-stamping, RFC 4998 Evidence Records, token validation."""
