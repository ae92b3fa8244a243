"""``aekit explore``: the self-contained page, its sprite sheet, and a real headless browser on it."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import tempfile
import time

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.experiments.pca import Stacked, autoencode
from aekit.io import save_model
from aekit.report.explorer import decode, to_thumbnails, write_explorer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


def tiny_autoencoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return aekit.create_model("autoencoder", in_channels=1, image_size=16, latent_dim=4, widths=[8, 16]).eval()


def page_parts(html: str) -> tuple[dict, np.ndarray]:
    """The JSON payload and the decoded sprite sheet (H, W[, C]) of an explorer page."""
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S).group(1))
    src = re.search(r'<img id="sprite"[^>]*src="data:image/png;base64,([^"]+)"', html).group(1)
    sheet = np.asarray(Image.open(io.BytesIO(base64.b64decode(src))))
    return data, sheet


def cell(sheet: np.ndarray, data: dict, i: int) -> np.ndarray:
    w, h, cols = data["cell"]["w"], data["cell"]["h"], data["cell"]["cols"]
    r, c = divmod(i, cols)
    return sheet[r * h : (r + 1) * h, c * w : (c + 1) * w]


@pytest.fixture
def page(tmp_path):
    from conftest import blobs

    model = tiny_autoencoder()
    images = blobs(300, 16)[:, None].astype(np.float32) / 255
    data = Stacked(images, np.arange(300) % 5)
    names = [f"shot_{i:04d}.png" for i in range(300)]
    clusters = np.arange(300) % 3
    explorer = write_explorer(model, data, tmp_path / "explorer.html", names, clusters, "pca", landmarks=6, steps=5)
    return model, data, explorer


def test_page_is_self_contained_and_sprite_holds_the_right_cells(page):
    model, data, explorer = page
    html = explorer.path.read_text()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)  # nothing loads from the network
    assert "<link" not in html and "fetch(" not in html and "XMLHttpRequest" not in html
    assert "default-src 'none'" in html  # and the page's own policy forbids it
    payload, sheet = page_parts(html)
    assert payload["n"] == 300 and len(payload["x"]) == 300 and payload["names"][7] == "shot_0007.png"
    assert payload["label"][:6] == [0, 1, 2, 3, 4, 0] and payload["cluster"][:4] == [0, 1, 2, 0]
    assert len(payload["landmarks"]) == 6 and len(payload["pairStart"]) == 15
    recon, codes = autoencode(model, data)
    # image 3 and its reconstruction sit in the cells the page draws on hover
    assert np.array_equal(cell(sheet, payload, 3), to_thumbnails(data.images[3:4], (16, 16))[0, ..., 0])
    got = cell(sheet, payload, payload["reconOffset"] + 3).astype(int)
    assert np.abs(got - to_thumbnails(recon[3:4], (16, 16))[0, ..., 0]).max() <= 1
    # the line between landmarks 0 and 1 starts at the decoded code of landmark 0 and ends at landmark 1's
    start = payload["pairStart"]["0,1"]
    ends = decode(model, codes[payload["landmarks"][:2]])
    first, last = cell(sheet, payload, start), cell(sheet, payload, start + payload["steps"] - 1)
    assert np.abs(first.astype(int) - to_thumbnails(ends[:1], (16, 16))[0, ..., 0]).max() <= 1
    assert np.abs(last.astype(int) - to_thumbnails(ends[1:], (16, 16))[0, ..., 0]).max() <= 1
    # every point knows its nearest landmark in code space
    lm = codes[payload["landmarks"]]
    nearest = np.linalg.norm(codes[:, None] - lm[None], axis=2).argmin(axis=1)
    assert payload["nearestLandmark"] == nearest.tolist()


def test_cli_explore_on_a_folder(tmp_path, run_cli, image_folder, capsys):
    save_model(tiny_autoencoder(), tmp_path / "ae")
    out = tmp_path / "page.html"
    assert run_cli("explore", tmp_path / "ae", "--data", f"folder:{image_folder}", "--map", "pca", "--k", "3",
                   "--landmarks", "4", "--out", out) == 0  # fmt: skip
    assert "24 points" in capsys.readouterr().out
    payload, _ = page_parts(out.read_text())
    assert sorted(payload["names"]) == sorted(str(p.relative_to(image_folder)) for p in image_folder.rglob("*.png"))
    assert len(set(payload["cluster"])) == 3
    assert run_cli("explore", tmp_path / "ae", "--data", f"folder:{image_folder}", "--map", "z", "--out", out) == 2
    assert "--map z needs a 2-D code" in capsys.readouterr().err


def _browser():
    """A headless Debian chromium through selenium, or skip with the reason."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("no chromium/chromedriver installed (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tempfile.mkdtemp(prefix='aekit-chromium-')}",
        "--window-size=1300,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def canvas_pixels(driver, canvas_id: str, x0: int, width: int) -> np.ndarray:  # noqa: ANN001
    """The red channel of a canvas region (the thumbnails are grayscale)."""
    flat = driver.execute_script(
        "const c = document.getElementById(arguments[0]);"
        "return Array.from(c.getContext('2d').getImageData(arguments[1], 0, arguments[2], c.height).data);",
        canvas_id,
        x0,
        width,
    )
    return np.array(flat, dtype=np.uint8).reshape(-1, width, 4)[..., 0]


def test_explorer_in_a_headless_browser(page, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    _, _, explorer = page
    payload, sheet = page_parts(explorer.path.read_text())
    driver = _browser()
    try:
        driver.get(explorer.path.resolve().as_uri())
        for _ in range(100):
            if driver.execute_script("return !!(window.explorer && window.explorer.ready)"):
                break
            time.sleep(0.05)
        assert driver.execute_script("return window.explorer.state.drawn") >= 1
        canvas = driver.find_element("id", "map")
        size = canvas.size
        pos = np.array(
            driver.execute_script("return window.explorer.data.x.map((_, i) => window.explorer.screenPos(i))")
        )
        inner = driver.execute_script(
            "const m = document.getElementById('map'); return [m.clientWidth, m.clientHeight]"
        )

        def move_to(i: int) -> ActionChains:
            px, py = pos[i] * np.array(inner) / 720  # canvas pixels -> CSS pixels (720x720 drawing, no zoom)
            return ActionChains(driver).move_to_element_with_offset(
                canvas, int(round(px - size["width"] / 2 + 1)), int(round(py - size["height"] / 2 + 1))
            )

        # hover the most isolated point: the panel must show exactly its image and its reconstruction
        d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
        np.fill_diagonal(d, np.inf)
        target = int(d.min(axis=1).argmax())
        move_to(target).perform()
        hover = driver.find_element("id", "hover")
        assert int(hover.get_attribute("data-index")) == target
        w = payload["cell"]["w"]
        assert np.array_equal(canvas_pixels(driver, "himg", 0, w), cell(sheet, payload, target))
        recon_cell = payload["reconOffset"] + target
        assert int(hover.get_attribute("data-recon-cell")) == recon_cell
        assert np.array_equal(canvas_pixels(driver, "hrec", 0, w), cell(sheet, payload, recon_cell))
        assert payload["names"][target] in driver.find_element("id", "hname").text

        # pick two landmarks (the two most isolated on screen, so a click cannot hit a neighbour):
        # the strip shows the precomputed line between their codes, from A to B
        iso = d.min(axis=1)
        la, lb = sorted(range(len(payload["landmarks"])), key=lambda j: -iso[payload["landmarks"][j]])[:2]
        a, b = payload["landmarks"][la], payload["landmarks"][lb]
        assert not driver.find_element("id", "line").is_displayed()  # nothing picked yet
        move_to(a).click().perform()
        move_to(b).click().perform()
        assert driver.find_element("id", "line").is_displayed()
        pick = driver.find_element("id", "pick")
        assert (int(pick.get_attribute("data-a")), int(pick.get_attribute("data-b"))) == (a, b)
        assert (int(pick.get_attribute("data-landmark-a")), int(pick.get_attribute("data-landmark-b"))) == (a, b)
        start, steps = payload["pairStart"][f"{min(la, lb)},{max(la, lb)}"], payload["steps"]
        expected = [start + (s if la < lb else steps - 1 - s) for s in range(steps)]
        assert [int(c) for c in pick.get_attribute("data-cells").split(",")] == expected
        for k, c in enumerate(expected):
            assert np.array_equal(canvas_pixels(driver, "line", k * w, w), cell(sheet, payload, c))

        # search by file name highlights the match and shows it
        driver.find_element("id", "search").send_keys("shot_0042")
        assert driver.find_element("id", "found").text == "1 found"
        assert int(hover.get_attribute("data-index")) == 42

        shot = tmp_path / "explorer.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 10_000
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
