"""The variables vercel_env's tests declare, here and through a play (tests/test_vercel_env.py):
one of each type and target the module handles."""

VARIABLES = [
    {"key": "NEXT_PUBLIC_SOCKET_URL", "value": "https://socket.example.test", "type": "plain"},
    {"key": "LIVEKIT_URL", "value": "wss://livekit.example.test"},
    {"key": "LIVEKIT_API_SECRET", "value": "a-secret-that-is-long-enough-0123456789",
     "type": "sensitive", "target": ["production", "preview"]},
    {"key": "PREVIEW_ONLY", "value": "preview-only-value", "target": ["preview"]},
]
