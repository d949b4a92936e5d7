#!/usr/bin/python3
"""Write Pillow BILINEAR resize fixtures for the host's resampler tests.

Each fixture is raw bytes: the source image (seeded random RGB, W x H x 3)
followed by Pillow's resize of it. Regenerate with Debian's interpreter:
    /usr/bin/python3 tools/host/make_pil_resize_fixtures.py
"""

import random
from pathlib import Path

from PIL import Image

BILINEAR = getattr(Image, "Resampling", Image).BILINEAR
OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "host"
# (source width, height) -> (output width, height): downscale like the gesture model,
# odd non-integer factors, an upscale and a one-axis resize.
CASES = [((100, 100), (32, 32)), ((37, 23), (11, 7)), ((5, 4), (9, 7)), ((160, 120), (32, 32)), ((13, 9), (13, 4))]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2024)
    for (sw, sh), (dw, dh) in CASES:
        # Smooth gradients plus noise, so both flat and busy regions are covered.
        pixels = bytes(
            min(255, max(0, (x * 255 // max(1, sw - 1) + y * 7 + c * 40) % 256 + rng.randint(-20, 20)))
            for y in range(sh) for x in range(sw) for c in range(3)
        )
        src = Image.frombytes("RGB", (sw, sh), pixels)
        dst = src.resize((dw, dh), BILINEAR)
        (OUT / f"pil_bilinear_{sw}x{sh}_to_{dw}x{dh}.rgb").write_bytes(pixels + dst.tobytes())


if __name__ == "__main__":
    main()
