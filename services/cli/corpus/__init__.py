"""Client-side corpus ingestion: fetch licensed audio, scan it, register it via gRPC."""
