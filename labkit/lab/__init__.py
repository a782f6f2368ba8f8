"""The lab itself: images, host containers, the lab's lifecycle, cached binaries and toolchains."""
