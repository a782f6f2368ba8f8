"""Many real LiveKit participants (the LiveKit Python SDK, WebRTC underneath) in audio rooms,
for the capacity benchmark: each room has its speakers publishing a steady tone and every
participant subscribed to every other one's audio. Once all have joined and heard, they stay
SECONDS; then each subscriber's WebRTC statistics give the packets received and lost, the
jitter and the round-trip time to the server. Prints one JSON line.

Run as its own process, like livekit_participants.py (a private /etc/hosts, SSL_CERT_FILE):

    python livekit_load.py URL PLAN_FILE SECONDS

PLAN_FILE is JSON: {"rooms": [{"name": ..., "speakers": [TOKEN...], "listeners": [TOKEN...]}]}.
"""

import asyncio
import json
import math
import statistics
import sys
import time

from livekit import rtc

SAMPLE_RATE = 48000
FRAME_SAMPLES = 480  # 10 ms
TONE_HZ = 400  # a whole number of periods per frame: one frame repeated is a steady tone
SUBSCRIBE_TIMEOUT = 30  # then the window starts anyway; what flows in it is what counts
JOIN_BATCH = 10


def tone() -> bytes:
    frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME_SAMPLES)
    for i in range(FRAME_SAMPLES):
        frame.data[i] = int(8000 * math.sin(2 * math.pi * TONE_HZ * i / SAMPLE_RATE))
    return bytes(frame.data.cast("B"))


async def speak(room: rtc.Room, stop: asyncio.Event, pcm: bytes, errors: list[str]) -> None:
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    try:
        await room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    except Exception as error:  # noqa: BLE001 - reported in the result, the others go on
        errors.append(f"publish: {error!r}"[:300])
        return
    while not stop.is_set():
        frame = rtc.AudioFrame(pcm, SAMPLE_RATE, 1, FRAME_SAMPLES)
        await source.capture_frame(frame)  # paced by the source's queue: real time


async def join(url: str, token: str, expected_tracks: int) -> tuple[rtc.Room, asyncio.Future]:
    room = rtc.Room()
    heard: asyncio.Future = asyncio.get_running_loop().create_future()
    subscribed = set()

    @room.on("track_subscribed")
    def on_track(track, _publication, participant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            subscribed.add(participant.identity)
            if len(subscribed) >= expected_tracks and not heard.done():
                heard.set_result(time.monotonic())

    if expected_tracks == 0:
        heard.set_result(time.monotonic())
    await room.connect(url, token)
    return room, heard


def audio_in(stats: rtc.RtcStats) -> dict:
    """Received audio and the ICE round trip of one participant's connections (newer servers and
    SDKs carry both directions on one peer connection, reported as the publisher's)."""
    received = lost = 0
    jitters, rtts, paths, by_stream = [], [], [], {}
    entries = [*stats.publisher_stats, *stats.subscriber_stats]
    remote = {e.remote_candidate.rtc.id: e.remote_candidate.candidate for e in entries
              if e.WhichOneof("stats") == "remote_candidate"}
    for entry in entries:
        kind = entry.WhichOneof("stats")
        if kind == "inbound_rtp" and entry.inbound_rtp.stream.kind == "audio":
            received += entry.inbound_rtp.received.packets_received
            by_stream[entry.inbound_rtp.stream.ssrc] = entry.inbound_rtp.received.packets_received
            lost += max(entry.inbound_rtp.received.packets_lost, 0)
            jitters.append(entry.inbound_rtp.received.jitter * 1000)
        elif kind == "candidate_pair" and entry.candidate_pair.candidate_pair.nominated:
            pair = entry.candidate_pair.candidate_pair
            rtts.append(pair.current_round_trip_time * 1000)
            # The media's way to the server: UDP to its range, ICE over TCP, or TURN.
            server_side = remote.get(pair.remote_candidate_id)
            if server_side is not None:
                paths.append(f"{server_side.protocol}:{server_side.port}")
    return {"received": received, "lost": lost, "jitter_ms": jitters, "rtt_ms": rtts, "paths": paths,
            "streams": by_stream}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else 0.0


def participants(plan: dict) -> list[tuple[str, bool, int]]:
    """(token, speaks, how many speakers it hears) of everyone in the plan."""
    found = []
    for spec in plan["rooms"]:
        speakers = len(spec["speakers"])
        found += [(token, True, speakers - 1) for token in spec["speakers"]]
        found += [(token, False, speakers) for token in spec["listeners"]]
    return found


def streams(plan: dict) -> int:
    """Audio streams the server forwards: each speaker to everyone else in the room."""
    return sum(len(s["speakers"]) * (len(s["speakers"]) + len(s["listeners"]) - 1) for s in plan["rooms"])


def flowing(before: dict, after: dict) -> int:
    """The audio streams whose packets kept arriving over the window."""
    return sum(1 for ssrc, count in after["streams"].items() if count > before["streams"].get(ssrc, 0))


def summary(first: list[dict], last: list[dict], seconds: float, plan: dict) -> dict:
    received = sum(b["received"] - a["received"] for a, b in zip(first, last, strict=True))
    lost = sum(b["lost"] - a["lost"] for a, b in zip(first, last, strict=True))
    jitter = [j for b in last for j in b["jitter_ms"]]
    rtt = [r for b in last for r in b["rtt_ms"]]
    ways: dict[str, int] = {}
    for way in (way for b in last for way in b["paths"]):
        kind = "udp" if way.startswith("udp") else way
        ways[kind] = ways.get(kind, 0) + 1
    return {
        "seconds": seconds, "packets_received": received, "packets_lost": lost,
        "loss_percent": round(100 * lost / (received + lost), 2) if received + lost else 100.0,
        "packets_per_second_per_stream": round(received / seconds / max(1, streams(plan)), 1),
        "jitter_ms_p50": percentile(jitter, 0.5), "jitter_ms_p99": percentile(jitter, 0.99),
        "rtt_ms_p50": percentile(rtt, 0.5), "rtt_ms_p99": percentile(rtt, 0.99),
        "rtt_ms_mean": round(statistics.fmean(rtt), 1) if rtt else 0.0, "media_paths": ways,
    }


async def main(url: str, plan: dict, seconds: float) -> int:
    pcm, stop = tone(), asyncio.Event()
    everyone = participants(plan)
    rooms: list[rtc.Room] = []
    hearing: list[asyncio.Future] = []
    speaking: list[asyncio.Task] = []
    expects: list[int] = []  # how many speakers each joined participant should hear
    speakers: list[rtc.Room] = []
    result: dict = {"participants": len(everyone), "joined": 0}
    started = time.monotonic()
    try:
        # In batches: a thousand simultaneous handshakes measure the load generator, not the server.
        for first in range(0, len(everyone), JOIN_BATCH):
            batch = everyone[first:first + JOIN_BATCH]
            joined = await asyncio.gather(*(join(url, token, hears) for token, _, hears in batch),
                                          return_exceptions=True)
            for (_, speaks, hears), outcome in zip(batch, joined, strict=True):
                if isinstance(outcome, BaseException):
                    result.setdefault("errors", []).append(repr(outcome)[:300])
                    continue
                rooms.append(outcome[0])
                expects.append(hears)
                hearing.append(outcome[1])
                speakers += [outcome[0]] if speaks else []
        result["joined"] = len(rooms)
        # The speakers publish once everyone is in: what is measured is forwarding, not the
        # order of a join storm.
        failures: list[str] = result.setdefault("errors", [])
        speaking += [asyncio.create_task(speak(room, stop, pcm, failures)) for room in speakers]
        done, _ = await asyncio.wait(hearing, timeout=SUBSCRIBE_TIMEOUT) if hearing else (set(), set())
        result["subscribed_to_every_speaker"] = len(done)
        result["join_seconds"] = round(max((h.result() for h in done), default=started) - started, 2)
        before = [audio_in(await room.get_rtc_stats()) for room in rooms]
        await asyncio.sleep(seconds)
        after = [audio_in(await room.get_rtc_stats()) for room in rooms]
        result.update(summary(before, after, seconds, plan))
        # Heard: every speaker's packets kept arriving over the whole window.
        result["heard_every_speaker"] = sum(1 for b, a, hears in zip(before, after, expects, strict=True)
                                            if flowing(b, a) >= hears)
    finally:
        stop.set()
        await asyncio.gather(*speaking, return_exceptions=True)
        await asyncio.gather(*(room.disconnect() for room in rooms), return_exceptions=True)
    if not result.get("errors"):
        result.pop("errors", None)
    print(json.dumps(result))
    return 0 if result["joined"] == result["participants"] else 1


if __name__ == "__main__":
    url, plan_file, seconds = sys.argv[1:4]
    with open(plan_file) as handle:
        loaded = json.load(handle)
    sys.exit(asyncio.run(main(url, loaded, float(seconds))))
