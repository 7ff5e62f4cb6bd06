"""Headless Chromium from Debian (packages chromium and chromium-driver), driven by
Selenium through that chromedriver: nothing is downloaded at test time (Selenium Manager
is never asked, the driver's path being given)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plugins.services import missing

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (its own profile: no cookies from another test), 1280
    pixels wide; stopped after the test by its driver."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        missing("Chromium is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1000", "--lang=sl",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, folder: Path, name: str) -> Path:
    """The page as the browser shows it, under the test's output folder (and /tmp, to
    look at)."""
    target = folder / f"{name}.png"
    driver.save_screenshot(str(target))
    shutil.copy(target, Path("/tmp") / f"browser-{name}.png")
    return target


def wait_for(driver: Any, condition: Callable[[Any], object], seconds: float = 30) -> None:
    """Until `condition(driver)` holds; a page replaced meanwhile (an element gone stale
    while it navigates) is asked again, not an error."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,)
                  ).until(condition)


def sign_in_with(driver: Any, url: str | None, login: str, password: str) -> None:
    """The portal's sign-in form (at `url`, or the page shown), filled in and sent."""
    from selenium.webdriver.common.by import By

    if url is not None:
        driver.get(url)
    driver.find_element(By.NAME, "login").send_keys(login)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.signin button").click()


def download(driver: Any, link: Any, folder: Path, name: str, seconds: float = 30) -> Path:
    """Click `link` and wait until the browser has saved `name` into `folder`."""
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(folder)})
    link.click()
    target = folder / name
    deadline = time.monotonic() + seconds
    while not target.is_file():
        assert time.monotonic() < deadline, f"no download in {list(folder.glob('*'))}"
        time.sleep(0.2)
    return target
