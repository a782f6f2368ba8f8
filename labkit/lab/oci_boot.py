"""Lab hosts for the OCI emulator's instances: a launched instance boots as an OCI-like
first-boot container (only cloud-init and Oracle's firewall, images/oci-firstboot) with its
user_data and SSH keys as the NoCloud seed, the way Oracle's metadata service hands them over.
Its address on the Docker bridge is the instance's address."""

import base64
import itertools
from pathlib import Path

from labkit.lab import hosts, images


class LabBoot:
    def __init__(self, work: Path, flavour: str = "debian12", first_ssh_port: int = 2460):
        self.work, self.flavour = work, flavour
        self.ports = itertools.count(first_ssh_port)
        self.started: list[str] = []

    @staticmethod
    def container(instance: dict) -> str:
        return f"flowspace-oci-{instance['displayName']}"

    def boot(self, instance: dict) -> str:
        name = self.container(instance)
        seed = self.work / name
        seed.mkdir(parents=True, exist_ok=True)
        metadata = instance.get("metadata") or {}
        user_data = base64.b64decode(metadata.get("user_data", "")).decode() or "#cloud-config\n{}\n"
        keys = [key for key in metadata.get("ssh_authorized_keys", "").splitlines() if key.strip()]
        (seed / "user-data").write_text(user_data)
        (seed / "meta-data").write_text(
            f"instance-id: {instance['id']}\nlocal-hostname: {instance['displayName']}\n"
            + ("public-keys:\n" + "".join(f"  - {key}\n" for key in keys) if keys else "")
        )
        image = images.build_firstboot(images.FLAVOURS[self.flavour])
        host = hosts.start(
            name,
            self.flavour,
            next(self.ports),
            image=image,
            timeout=300,
            extra_args=["-v", f"{seed}:/var/lib/cloud/seed/nocloud:ro"],
        )
        self.started.append(name)
        return host.ip_address()

    def halt(self, instance: dict) -> None:
        hosts.remove(self.container(instance))

    def remove_all(self) -> None:
        for name in self.started:
            hosts.remove(name)
