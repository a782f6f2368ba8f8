// The comparison for the moves benchmark: a plain Socket.io 4 server doing the same room
// broadcast the obvious way (every move relayed at once to the rest of the space).
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const httpServer = http.createServer();
const io = new Server(httpServer);
io.on('connection', (socket) => {
  let space: string | undefined;
  socket.on('space:join', (payload: { spaceId: string }, ack?: (a: unknown) => void) => {
    space = `space:${payload.spaceId}`;
    socket.join(space);
    ack?.({ ok: true, self: socket.id });
  });
  socket.on('player:move', (payload: { x: number; y: number }, ack?: (a: unknown) => void) => {
    if (space) socket.to(space).emit('player:moved', { id: socket.id, x: payload.x, y: payload.y });
    ack?.({ ok: true });
  });
});
httpServer.listen(port, '127.0.0.1', () => {
  const address = httpServer.address();
  console.log(JSON.stringify({ msg: 'listening', port: typeof address === 'object' && address ? address.port : port }));
});
process.once('SIGTERM', () => process.exit(0));
