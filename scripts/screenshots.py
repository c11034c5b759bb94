#!/usr/bin/env python3
"""Regenerate screenshots/*.svg: every main screen of the demo, at 120x40 and at 80x24 (compact).

Usage: python scripts/screenshots.py [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the scenes live with the tests
from showcase import SCENES, fixed_run_ids, make_app  # noqa: E402

SIZES = {"": (120, 40), "-80x24": (80, 24)}


async def shoot(name: str, size: tuple[int, int], path: Path) -> None:
    from convai_tui.services import runs

    runs.new_run_id = fixed_run_ids()  # the same picture from one run to the next
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await SCENES[name](pilot)
        svg = app.export_screenshot(title=f"convai-tui — {name}")
    path.write_text(svg, encoding="utf-8")
    print(f"wrote {path}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in SCENES:
        for suffix, size in SIZES.items():
            await shoot(name, size, out / f"{name}{suffix}.svg")


if __name__ == "__main__":
    asyncio.run(main())
