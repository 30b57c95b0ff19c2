"""Studio service: the ad as a durable server-side resource."""
