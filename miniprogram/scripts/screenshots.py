"""Render every page the journeys show as a 375 px wide PNG under miniprogram/screenshots/.

Runs the jest journeys with MINIPROGRAM_SCREENSHOTS set (each page's simulated DOM and WXSS saved as
HTML, rpx converted), then opens each file in Chromium. Usage, from the repository root:

    .venv/bin/python miniprogram/scripts/screenshots.py

Needs node/npm (``npm ci`` in miniprogram/), Playwright for Python and Chromium (``/usr/bin/chromium``,
``apt-get install chromium fonts-noto-cjk``; CHROMIUM_PATH overrides).
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

MINIPROGRAM = Path(__file__).resolve().parent.parent
OUT = MINIPROGRAM / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def save_pages(html_dir: Path) -> None:
    env = {**os.environ, "MINIPROGRAM_SCREENSHOTS": str(html_dir)}
    npx = shutil.which("npx")
    if npx is None:
        raise SystemExit("npx not found: install node 20 and npm, then `npm ci` in miniprogram/")
    subprocess.run([npx, "jest", "--runInBand"], cwd=MINIPROGRAM, env=env, check=True)  # noqa: S603 - fixed argv


def render(html_dir: Path) -> list[Path]:
    OUT.mkdir(exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 375, "height": 812}, device_scale_factor=2)
        for html in sorted(html_dir.glob("*.html")):
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            target = OUT / (html.stem + ".png")
            page.screenshot(path=str(target))
            written.append(target)
        browser.close()
    return written


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="miniprogram-pages-") as tmp:
        save_pages(Path(tmp))
        for path in render(Path(tmp)):
            print(path.relative_to(MINIPROGRAM.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
