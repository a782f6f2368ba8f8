"""Local lab for FlowSpace infra: offline test-host images and OCI-like host containers."""
