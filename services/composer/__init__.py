"""The composer service (gRPC, default port 50053)."""
