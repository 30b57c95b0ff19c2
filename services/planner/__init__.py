"""The planner service (gRPC, default port 50051)."""
