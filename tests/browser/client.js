// The lab's browser client of the stack, bundled by esbuild into dist/client.js and loaded by
// index.html at the app origin. It does what FlowSpace's pages do — a Socket.io player in a
// space, a LiveKit participant with a microphone — and exposes each step to the test driver
// (labkit/clients/browser.py) as window.flowspace.*, every result plain JSON.
import { io } from "socket.io-client";
import { Room, RoomEvent, Track, createLocalAudioTrack } from "livekit-client";

const events = [];
let socket;
let room;
let analyser;

// Every RTCPeerConnection the page makes, so the driver can read the selected candidate pair.
const peerConnections = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(...args) {
    super(...args);
    peerConnections.push(this);
  }
};

const violations = [];
// What a policy blocked, by origin (a blocked URL carries the join token in its query).
document.addEventListener("securitypolicyviolation", (event) => {
  let blocked = event.blockedURI;
  try {
    blocked = new URL(blocked).origin;
  } catch {
    // "inline", "eval" and the like are not URLs
  }
  violations.push({ directive: event.violatedDirective, blocked });
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function ask(name, payload) {
  return new Promise((resolve, reject) => {
    socket.timeout(10000).emit(name, payload, (error, answer) => (error ? reject(error) : resolve(answer)));
  });
}

async function joinSpace({ url, token, spaceId, name }) {
  socket = io(url, { transports: ["websocket"], auth: { token }, reconnection: false });
  for (const name of ["space:member-joined", "space:member-left", "players:moved", "chat:message"]) {
    socket.on(name, (payload) => events.push({ name, payload }));
  }
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (error) => reject(new Error(`connect_error: ${error.message}`)));
  });
  return ask("space:join", { spaceId, name });
}

// The level of what arrives from the other participants, measured as a listener hears it.
function listenTo(track) {
  const element = track.attach(); // Chrome feeds remote WebRTC audio to Web Audio only while played
  element.muted = false;
  document.body.appendChild(element);
  const context = new AudioContext();
  analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream([track.mediaStreamTrack])).connect(analyser);
}

async function joinRoom({ url, token, iceTransportPolicy }) {
  room = new Room();
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === Track.Kind.Audio) listenTo(track);
  });
  const rtcConfig = iceTransportPolicy ? { iceTransportPolicy } : undefined;
  await room.connect(url, token, { rtcConfig });
  const microphone = await createLocalAudioTrack(); // Chromium's fake device: a beep
  await room.localParticipant.publishTrack(microphone);
  return { room: room.name, identity: room.localParticipant.identity };
}

// The loudest level heard over `ms` milliseconds (0..1) once a remote track arrived (waiting up
// to `ms` for it), or -1 when none arrived.
async function heardLevel(ms) {
  const subscribedBy = performance.now() + ms;
  while (!analyser && performance.now() < subscribedBy) await sleep(50);
  if (!analyser) return -1;
  const samples = new Float32Array(analyser.fftSize);
  let loudest = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    analyser.getFloatTimeDomainData(samples);
    for (const sample of samples) loudest = Math.max(loudest, Math.abs(sample));
    await sleep(20);
  }
  return loudest;
}

// The candidate pairs ICE selected on each connection: how the media actually travels.
async function selectedPairs() {
  const pairs = [];
  for (const pc of peerConnections) {
    if (pc.connectionState === "closed") continue;
    const stats = new Map();
    (await pc.getStats()).forEach((report) => stats.set(report.id, report));
    for (const report of stats.values()) {
      if (report.type !== "transport" || !report.selectedCandidatePairId) continue;
      const pair = stats.get(report.selectedCandidatePairId);
      const local = stats.get(pair.localCandidateId);
      const remote = stats.get(pair.remoteCandidateId);
      pairs.push({
        state: pair.state,
        local: { type: local.candidateType, protocol: local.protocol, relayProtocol: local.relayProtocol ?? null },
        remote: { type: remote.candidateType, protocol: remote.protocol, address: remote.address, port: remote.port },
      });
    }
  }
  return pairs;
}

window.flowspace = {
  joinSpace,
  move: (x, y) => ask("player:move", { x, y }),
  chat: (text) => ask("chat:message", { text }),
  events: () => events,
  joinRoom,
  heardLevel,
  selectedPairs,
  violations: () => violations,
  leave: async () => {
    socket?.close();
    await room?.disconnect();
  },
};
