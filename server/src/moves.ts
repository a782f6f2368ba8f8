// Positions are latest-value data: a player's moves between two ticks collapse into the last
// one, and each space's changes go out once per tick as one message to everyone in it. So a
// busy server never rejects an ordinary move, and never sends positions nobody will see.
import { Position } from './validation';

export interface Move extends Position { id: string }

export class MoveCoalescer {
  private pending = new Map<string, Map<string, Position>>(); // space -> player -> latest

  set(spaceId: string, playerId: string, position: Position): void {
    let space = this.pending.get(spaceId);
    if (!space) this.pending.set(spaceId, (space = new Map()));
    space.set(playerId, position);
  }

  // A player who leaves takes their unsent move along.
  forget(spaceId: string, playerId: string): void {
    this.pending.get(spaceId)?.delete(playerId);
  }

  // Hands each space's moves since the last tick to `send`, then starts afresh.
  flush(send: (spaceId: string, moves: Move[]) => void): number {
    const batches = this.pending;
    this.pending = new Map();
    let count = 0;
    for (const [spaceId, players] of batches) {
      if (players.size === 0) continue;
      const moves = [...players].map(([id, position]) => ({ id, ...position }));
      count += moves.length;
      send(spaceId, moves);
    }
    return count;
  }
}
