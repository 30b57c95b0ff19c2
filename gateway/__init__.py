"""The REST + SSE gateway (aiohttp, default port 8080) in front of the three gRPC services."""
