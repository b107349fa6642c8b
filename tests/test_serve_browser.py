"""The page that `lightspeech serve --http` shows at /, in a real browser: Debian's
chromium and chromedriver driven by selenium, headless and offline."""

import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from lightspeech_cli import Synthesizer

from .test_serve import Server

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
TEXT = "Hello from the browser. This page speaks through the same API."


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=900,720",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def test_the_page_speaks_typed_text_into_an_audio_element(tmp_path, browser):
    server = Server(tmp_path)
    try:
        browser.get(server.http)
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#voice option"))
        assert browser.find_element(By.ID, "voice").get_attribute("value") == "en-us-lightspeech"
        text = browser.find_element(By.ID, "text")
        text.clear()
        text.send_keys(TEXT)
        browser.find_element(By.ID, "speak").click()
        WebDriverWait(browser, 30).until(
            lambda d: d.execute_script(
                "const player = document.getElementById('player');"
                "return player.src.startsWith('blob:') && player.readyState >= 1 && player.duration > 0"
            )
        )
        server.wait_for_log('"POST /v1/audio/speech HTTP/1.1" 200')
        duration = browser.execute_script("return document.getElementById('player').duration")
        synthesizer = Synthesizer.load(threads=1)
        assert duration == pytest.approx(synthesizer.seconds(synthesizer.synthesize(TEXT)), abs=0.02)
        download = browser.find_element(By.ID, "download")
        assert download.is_displayed() and download.get_attribute("href").startswith("blob:")
        assert "error" not in browser.find_element(By.ID, "status").get_attribute("class")
        screenshot = tmp_path / "serve-page.png"
        assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    finally:
        server.stop()
