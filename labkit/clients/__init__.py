"""Real clients, as a user's side runs them: HTTP/WebSocket, Socket.io, LiveKit and Vercel."""
