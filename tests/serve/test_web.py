"""The page that `lightspeech serve --http` shows at /, in a real browser: Debian's
chromium and chromedriver driven by selenium, headless and offline."""

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from lightspeech_cli import Synthesizer

from .helpers import Server

TEXT = "Hello from the browser. This page speaks through the same API."


def test_the_page_speaks_typed_text_and_lights_the_word_being_said(tmp_path, browser):
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
        server.wait_for_log('"POST /v1/audio/speech/timed HTTP/1.1" 200')
        duration = browser.execute_script("return document.getElementById('player').duration")
        synthesizer = Synthesizer.load(threads=1)
        assert duration == pytest.approx(synthesizer.seconds(synthesizer.synthesize(TEXT)), abs=0.02)
        # The words, each lit while it is said: seek into "browser." and it alone is lit.
        spans = browser.find_elements(By.CSS_SELECTOR, "#spoken span")
        assert [s.text for s in spans] == TEXT.split()
        timed = requests.post(f"{server.http}/v1/audio/speech/timed", json={"input": TEXT}, timeout=30).json()
        browser_word = timed["words"][3]
        assert browser_word["text"] == "browser."
        browser.execute_script(
            "const player = document.getElementById('player'); player.pause(); player.currentTime = arguments[0];",
            (browser_word["start"] + browser_word["end"]) / 2,
        )
        WebDriverWait(browser, 10).until(
            lambda d: [s.text for s in d.find_elements(By.CSS_SELECTOR, "#spoken span.now")] == ["browser."]
        )
        download = browser.find_element(By.ID, "download")
        assert download.is_displayed() and download.get_attribute("href").startswith("blob:")
        assert "error" not in browser.find_element(By.ID, "status").get_attribute("class")
        screenshot = tmp_path / "serve-page.png"
        assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    finally:
        server.stop()
