"""Two real LiveKit participants (the LiveKit Python SDK, WebRTC underneath): one publishes a
440 Hz tone, the other subscribes and counts the audio frames that carry sound. Prints one
JSON line with what happened; exits non-zero when no sound arrived within the bound.

Run as its own process: the SDK's native core resolves names and trusts CAs the system way,
so the caller gives it a private /etc/hosts and SSL_CERT_FILE (see labkit/clients/livekit_clients.py).

    python livekit_participants.py URL SPEAKER_TOKEN LISTENER_TOKEN SECONDS [STAY] [--relay]

With STAY, a call in progress: once sound arrived, a line {"in_call": true} is printed and both
stay in the room STAY seconds more (or until the server ends their session) before leaving.
With --relay, the listener may use TURN relay candidates only (as a browser on a network that
lets only TCP 443 out ends up doing), through the TURN servers in FLOWSPACE_RELAY_ICE_SERVERS
when set, and the result says which relay carried its media.
"""

import asyncio
import contextlib
import json
import math
import os
import sys
import time

from livekit import rtc

SAMPLE_RATE = 48000
FRAME_MS = 10
SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
WANTED_FRAMES = 50  # half a second of sound


def tone_frame(start: int) -> rtc.AudioFrame:
    frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, SAMPLES)
    samples = frame.data
    for i in range(SAMPLES):
        samples[i] = int(8000 * math.sin(2 * math.pi * 440 * (start + i) / SAMPLE_RATE))
    return frame


async def speak(room: rtc.Room, stop: asyncio.Event) -> None:
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await room.local_participant.publish_track(track, options)
    sent = 0
    while not stop.is_set():
        await source.capture_frame(tone_frame(sent))
        sent += SAMPLES


async def listen(room: rtc.Room, result: dict, stop: asyncio.Event) -> None:
    subscribed: asyncio.Future = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def on_track(track, _publication, participant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and not subscribed.done():
            result["from"] = participant.identity
            subscribed.set_result(track)

    track = await subscribed
    result["subscribed_after"] = round(time.monotonic() - result["started"], 2)
    async for event in rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1):
        peak = max((abs(s) for s in event.frame.data), default=0)
        result["peak"] = max(result["peak"], peak)
        if peak > 1000:
            result["frames"] += 1
        if result["frames"] >= WANTED_FRAMES:
            break
    stop.set()


async def stay_in_call(room: rtc.Room, result: dict, stay: float) -> None:
    ended = asyncio.Event()

    @room.on("disconnected")
    def on_disconnected(reason) -> None:
        result["disconnected"] = str(reason)
        ended.set()

    print(json.dumps({"in_call": True}), flush=True)
    stayed = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ended.wait(), stay)
    result["stayed"] = round(time.monotonic() - stayed, 2)


def relay_servers() -> list:
    """The TURN servers a relay-only listener may use, when given (FLOWSPACE_RELAY_ICE_SERVERS:
    JSON [{urls, username, credential}], in the environment so that no credential shows in a
    process list); none: the ones LiveKit hands it."""
    given = json.loads(os.environ.get("FLOWSPACE_RELAY_ICE_SERVERS") or "[]")
    return [rtc.IceServer(urls=s["urls"], username=s["username"], password=s["credential"]) for s in given]


def enum_name(message, field: str) -> str:
    """The name of an enum field's value (the stats carry numbers: RELAY, TRANSPORT_TLS, ...)."""
    value = getattr(message, field)
    return message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number[value].name


async def selected_candidate(room: rtc.Room) -> dict:
    """The local ICE candidate of a selected pair that carried media in: its type (host, srflx,
    relay) and, for a relay, the protocol to the TURN server and its URL. (The SDK may carry
    everything on one peer connection: both connections' stats are read.)"""
    stats = await room.get_rtc_stats()
    by_kind: dict[str, dict] = {}
    for stat in [*stats.subscriber_stats, *stats.publisher_stats]:
        kind = stat.WhichOneof("stats")
        if kind in ("transport", "candidate_pair", "local_candidate"):
            entry = getattr(stat, kind)
            by_kind.setdefault(kind, {})[entry.rtc.id] = entry
    pairs = by_kind.get("candidate_pair", {})
    selected = [pairs[t.transport.selected_candidate_pair_id] for t in by_kind.get("transport", {}).values()
                if t.transport.selected_candidate_pair_id in pairs]
    selected = selected or [p for p in pairs.values() if p.candidate_pair.nominated]
    for pair in sorted(selected, key=lambda p: -p.candidate_pair.bytes_received):
        local = by_kind.get("local_candidate", {}).get(pair.candidate_pair.local_candidate_id)
        if local:
            candidate = local.candidate
            protocol = enum_name(candidate, "relay_protocol").removeprefix("TRANSPORT_")
            return {"type": enum_name(candidate, "candidate_type").lower(),
                    "relay_protocol": protocol.lower(), "url": candidate.url}
    return {"seen": {kind: len(entries) for kind, entries in by_kind.items()}}


async def main(url: str, speaker_token: str, listener_token: str, seconds: float, stay: float,  # noqa: PLR0917
               relay: bool = False) -> int:
    result = {"frames": 0, "peak": 0, "started": time.monotonic()}
    speaker, listener = rtc.Room(), rtc.Room()
    stop = asyncio.Event()
    relay_only = rtc.RoomOptions(rtc_config=rtc.RtcConfiguration(
        ice_transport_type=rtc.IceTransportType.TRANSPORT_RELAY,
        ice_servers=relay_servers())) if relay else None
    try:
        await listener.connect(url, listener_token, *([relay_only] if relay_only else []))
        await speaker.connect(url, speaker_token)
        result["connected_after"] = round(time.monotonic() - result["started"], 2)
        speaking = asyncio.create_task(speak(speaker, stop))
        try:
            await asyncio.wait_for(listen(listener, result, stop), seconds)
        except TimeoutError:
            result["error"] = f"fewer than {WANTED_FRAMES} frames with sound within {seconds} s"
        stop.set()
        await speaking
        if relay:
            result["listener_candidate"] = await selected_candidate(listener)
        if stay and result["frames"] >= WANTED_FRAMES:
            await stay_in_call(listener, result, stay)
    except Exception as error:  # noqa: BLE001 - reported to the test as data
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        await speaker.disconnect()
        await listener.disconnect()
    result["elapsed"] = round(time.monotonic() - result.pop("started"), 2)
    print(json.dumps(result))
    return 0 if result["frames"] >= WANTED_FRAMES else 1


if __name__ == "__main__":
    relay_asked = "--relay" in sys.argv
    arguments = [a for a in sys.argv[1:] if a != "--relay"]
    url, speaker_token, listener_token, seconds = arguments[:4]
    stay = float(arguments[4]) if len(arguments) > 4 else 0
    code = asyncio.run(main(url, speaker_token, listener_token, float(seconds), stay, relay_asked))
    # The verdict is printed; leave without the SDK's native teardown at interpreter exit, which
    # now and then dies on a signal after both rooms have already disconnected cleanly.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
