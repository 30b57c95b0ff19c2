"""The small runtime every reelforge service imports: settings, logs, errors, gRPC hosting."""
