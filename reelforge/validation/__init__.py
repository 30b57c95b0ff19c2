"""Request rules that go with the contracts: one module per service (planner, generator, composer).

Each raises ``reelforge.runtime.errors.InvalidArgument`` naming every bad field, so the
gRPC answer is INVALID_ARGUMENT with field violations and the gateway's HTTP 400 says the same.
"""
