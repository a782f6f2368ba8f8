"""Stand-ins for outside services the lab cannot reach: the ACME server (Pebble) and Vercel's API."""
