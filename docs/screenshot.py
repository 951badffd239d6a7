"""Remake docs/images/view-simple.png, the README's picture of `graphrun view graphs/simple.yaml`.

    python docs/screenshot.py        # needs what the browser tests need (see tests/test_view_browser.py)

The page at step 8 (the lesson's line going back, dL/dv = ∂L/∂v = 2v = 2 · 10 = 20) with the
param w clicked (its one path to the loss, and the sum). The picture is reduced to a palette to
keep it small; it is not compared by any test (a browser's fonts differ from machine to machine).
"""

import io
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,660", "--hide-scrollbars")


def main():
    folder = tempfile.mkdtemp(prefix="graphrun-shot-")
    page = os.path.join(folder, "simple.html")
    subprocess.run([sys.executable, "-m", "graphrun", "view", "graphs/simple.yaml", "-o", page],
                   cwd=ROOT, check=True)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in FLAGS + (f"--user-data-dir={folder}/profile",):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or
                                              "/usr/bin/chromedriver"), options=options)
    try:
        driver.get("file://" + page + "#step=8")
        driver.find_element(By.CSS_SELECTOR, 'g.node[data-name="w"]').click()
        png = driver.get_screenshot_as_png()
    finally:
        driver.quit()
        shutil.rmtree(folder, ignore_errors=True)
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    target = os.path.join(ROOT, "docs", "images", "view-simple.png")
    image.save(target, optimize=True)
    print(f"wrote {os.path.relpath(target, ROOT)} ({os.path.getsize(target)} bytes)")


if __name__ == "__main__":
    main()
