"""REST gateway: the public HTTP API for apps, translating to the services' gRPC APIs."""
