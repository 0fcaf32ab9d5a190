#!/usr/bin/python3
"""Regenerates the images in samples/ (run from anywhere: `/usr/bin/python3 samples/make_samples.py`).

Deterministic; needs only Debian packages: python3-numpy, python3-pil (9.4), python3-skimage (the
photos, public domain / CC0, see README.md) and fonts-dejavu-core (the rendered documents).
The outputs are committed; this script documents how they were made.
"""
import json
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def font(size, bold=False, mono=False):
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    if bold:
        name += "-Bold"
    return ImageFont.truetype(os.path.join(FONT_DIR, name + ".ttf"), size)


def save_jpeg(img, name, **kw):
    img.save(os.path.join(HERE, name), "JPEG", quality=90, optimize=False, progressive=False, **kw)


def photos():
    """skimage sample photos, re-encoded as JPEG (q90) to keep the repository small."""
    for src, dst in [("astronaut.png", "astronaut.jpg"), ("coffee.png", "coffee.jpg"),
                     ("chelsea.png", "chelsea.jpg"), ("rocket.jpg", "rocket.jpg")]:
        img = Image.open(os.path.join(SKIMAGE_DATA, src)).convert("RGB")
        save_jpeg(img, dst)
    # The cat stored sideways (pixels rotated 90 degrees counter-clockwise) with EXIF
    # Orientation 6 ("rotate 90 CW to display"): a viewer, and fastvlm, show it upright.
    cat = Image.open(os.path.join(SKIMAGE_DATA, "chelsea.png")).convert("RGB")
    sideways = cat.transpose(Image.Transpose.ROTATE_90)   # PIL rotates counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    save_jpeg(sideways, "chelsea_exif_rot6.jpg", exif=exif.tobytes())


def receipt():
    items = [("Espresso", 1, 2.80), ("Croissant", 2, 3.10), ("Orange juice", 1, 4.25),
             ("Bagel, cream cheese", 1, 3.95), ("Bottled water", 3, 1.50)]
    total = sum(q * p for _, q, p in items)
    w, h = 480, 720
    img = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(img)
    y = 30
    d.text((w // 2, y), "CORNER CAFE", font=font(34, bold=True), fill=(20, 20, 20), anchor="mt")
    y += 50
    d.text((w // 2, y), "12 Harbour Street", font=font(18), fill=(60, 60, 60), anchor="mt")
    y += 28
    d.text((w // 2, y), "2024-03-14  09:42", font=font(18), fill=(60, 60, 60), anchor="mt")
    y += 45
    d.line((30, y, w - 30, y), fill=(90, 90, 90), width=2)
    y += 20
    mono = font(20, mono=True)
    for name, q, p in items:
        d.text((30, y), f"{q} x {name}", font=mono, fill=(20, 20, 20))
        d.text((w - 30, y), f"${q * p:.2f}", font=mono, fill=(20, 20, 20), anchor="ra")
        y += 36
    y += 10
    d.line((30, y, w - 30, y), fill=(90, 90, 90), width=2)
    y += 24
    d.text((30, y), "TOTAL", font=font(28, bold=True), fill=(0, 0, 0))
    d.text((w - 30, y), f"${total:.2f}", font=font(28, bold=True), fill=(0, 0, 0), anchor="ra")
    y += 70
    d.text((w // 2, y), "Thank you!", font=font(22), fill=(60, 60, 60), anchor="mt")
    img.save(os.path.join(HERE, "receipt.png"), optimize=True)
    return {"total": f"${total:.2f}", "items": len(items)}


def form():
    w, h = 640, 480
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((40, 30), "Library Card Application", font=font(30, bold=True), fill=(10, 40, 90))
    fields = [("Name", "Maria Lopez"), ("Date of birth", "1990-07-21"),
              ("City", "Lisbon"), ("Email", "maria.lopez@example.org")]
    y = 110
    for label, value in fields:
        d.text((40, y), label + ":", font=font(22), fill=(40, 40, 40))
        d.rectangle((230, y - 6, w - 40, y + 30), outline=(120, 120, 120), width=2)
        d.text((242, y), value, font=font(22), fill=(0, 0, 160))
        y += 64
    d.text((40, y + 10), "Membership:", font=font(22), fill=(40, 40, 40))
    for i, (opt, checked) in enumerate([("Adult", True), ("Student", False), ("Senior", False)]):
        x = 230 + i * 130
        d.rectangle((x, y + 10, x + 24, y + 34), outline=(60, 60, 60), width=2)
        if checked:
            d.line((x + 4, y + 22, x + 10, y + 30), fill=(0, 0, 160), width=4)
            d.line((x + 10, y + 30, x + 21, y + 13), fill=(0, 0, 160), width=4)
        d.text((x + 32, y + 10), opt, font=font(20), fill=(40, 40, 40))
    img.save(os.path.join(HERE, "form.png"), optimize=True)
    return {"name": "Maria Lopez", "city": "Lisbon", "membership": "Adult"}


def shelf():
    """Three wooden shelves with coloured boxes; counts per colour are recorded."""
    rng = np.random.RandomState(7)
    w, h = 800, 600
    img = Image.new("RGB", (w, h), (236, 232, 222))
    d = ImageDraw.Draw(img)
    colours = {"red": (200, 40, 40), "blue": (40, 80, 200), "green": (40, 150, 60), "yellow": (235, 200, 40)}
    counts = {k: 0 for k in colours}
    for s in range(3):
        base = 180 + s * 180
        d.rectangle((20, base, w - 20, base + 16), fill=(120, 80, 40))
        x = 40
        while True:
            bw = int(rng.randint(100, 150))
            if x + bw > w - 40:
                break
            bh = int(rng.randint(70, 140))
            name = list(colours)[int(rng.randint(0, len(colours)))]
            d.rectangle((x, base - bh, x + bw, base - 1), fill=colours[name], outline=(30, 30, 30), width=2)
            counts[name] += 1
            x += bw + int(rng.randint(50, 90))
    img.save(os.path.join(HERE, "shelf.png"), optimize=True)
    return {"boxes": sum(counts.values()), **{k + "_boxes": v for k, v in counts.items()}}


def main():
    photos()
    facts = {"receipt.png": receipt(), "form.png": form(), "shelf.png": shelf(),
             "chelsea_exif_rot6.jpg": {"stored": "451x300 rotated", "displayed_width": 451,
                                       "displayed_height": 300, "exif_orientation": 6}}
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(facts, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
