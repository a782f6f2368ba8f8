"""The lab's stand-ins for the upstream sources production installs from, under the same URL
paths and file layouts (each below a folder named after the upstream host):

  dl.cloudsmith.io/public/caddy/stable/...   Caddy's apt repository (suite any-version) and key
  deb.nodesource.com/node_<major>.x/...      NodeSource's apt repository (suite nodistro) and key
  github.com/livekit/livekit/releases/...    LiveKit's release tarball and checksums.txt

built from what this machine can reach (caddy and livekit-server from the Go module proxy,
Node.js from the npm registry's node-linux-<arch> package) and signed by a lab key.

    python -m labkit mirror build      -> prints the folder to serve
"""
