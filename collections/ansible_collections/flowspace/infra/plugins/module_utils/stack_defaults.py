"""Defaults every layer of the stack shares, written once: the roles' defaults, their argument
specs and the edge's upstreams read them through the stack_default lookup."""

STACK_DEFAULTS = {
    # The Socket.io server and LiveKit's API listen here on loopback, behind Caddy.
    "socket_port": 3001,
    "livekit_port": 7880,
    # LiveKit takes the TURN streams the edge relays (TLS ended at the edge) here.
    "turn_tls_port": 5349,
    # Redis (scale-out only: a redis group in the inventory), for socket processes and LiveKit nodes.
    "redis_port": 6379,
    # What the monitoring layer scrapes on loopback: Caddy's admin API, LiveKit's metrics and
    # the first socket process's metrics (the next processes count up from it).
    "caddy_admin_listen": "localhost:2019",
    "livekit_prometheus_port": 6789,
    "socket_metrics_port": 9464,
}
