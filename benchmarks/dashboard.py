"""Dashboard rendering time after sign-in: the demo commune and a 1,000-unit ward (Chromium, headless).

Targets: the demo in at most 3 s, a 1,000-unit ward in at most 10 s, from the click on "sign in"
to the map showing one polygon per unit.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PASSWORD = "matkhau-123"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _prepare(scenario: Path, time_limit: float) -> None:
    from typer.testing import CliRunner

    from planner.cli import app

    runner = CliRunner()
    for args in (["users", "add", scenario, "lap", "--role", "planner", "--password", PASSWORD],
                 ["solve", scenario, "--out", scenario.parent / "plan", "-q", "--time-limit", str(time_limit)]):
        result = runner.invoke(app, [str(a) for a in args])
        if result.exit_code != 0:
            raise RuntimeError(result.stdout + result.stderr)


def render_seconds(scenario: Path, units: int, repeats: int = 3) -> list[float]:
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "planner.cli", "app", str(scenario), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.25)
        times = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.get_by_label("Tên đăng nhập").fill("lap")
                page.get_by_label("Mật khẩu").fill(PASSWORD)
                start = time.perf_counter()
                page.get_by_role("button", name="Đăng nhập").click()
                done = None
                while time.perf_counter() - start < 120 and done is None:
                    for frame in page.frames:
                        try:
                            if frame.locator("path.unit-polygon").count() >= units:
                                done = time.perf_counter() - start
                        except Exception:
                            continue
                    time.sleep(0.05)
                times.append(round(done, 2) if done is not None else float("nan"))
                page.close()
            browser.close()
        return times
    finally:
        server.terminate()
        server.wait(10)


def run() -> dict[str, Any]:
    from pollplan_data import DEMO_DIR

    if shutil.which("chromium") is None:
        return {"error": "chromium is not installed"}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        demo = root / "demo" / "scenario"
        shutil.copytree(DEMO_DIR, demo, ignore=shutil.ignore_patterns("_*"))
        _prepare(demo, 20)
        from benchmarks.communes import make_ward

        ward = make_ward(root / "ward")
        _prepare(ward, 60)
        from planner.validation import load_scenario

        ward_units = len(load_scenario(ward).units)
        return {"demo": {"units": 47, "seconds": render_seconds(demo, 47)},
                "ward": {"units": ward_units, "seconds": render_seconds(ward, ward_units)}}


def markdown(result: dict[str, Any]) -> list[str]:
    lines = ["## Review dashboard rendering (headless Chromium)", ""]
    if "error" in result:
        return lines + [f"not run: {result['error']}", ""]
    lines += ["From the click on \"Đăng nhập\" to the map showing one polygon per unit; three sign-ins each.", "",
              "| commune | units | seconds (each run) | target |", "|---|---|---|---|",
              f"| demo commune | {result['demo']['units']} | {result['demo']['seconds']} | 3 s |",
              f"| urban ward | {result['ward']['units']} | {result['ward']['seconds']} | 10 s |", ""]
    return lines


if __name__ == "__main__":
    import sys

    from benchmarks.sections import publish

    figures = run()
    publish("dashboard", figures, markdown(figures), sys.argv)
