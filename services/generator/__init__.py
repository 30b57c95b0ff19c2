"""The generator service (gRPC, default port 50052)."""
