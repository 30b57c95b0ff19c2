"""One step at a time, on ads set up through the API: a mood chosen with the keyboard alone, a
storyboard edit the server refuses, and ads reopened from the list where they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.browser import (
    AD_SECONDS,
    ad_when,
    api,
    at_gate,
    create_ad,
    current_step,
    fill,
    find,
    heading,
    open_page,
    shoot,
    showing,
    shown,
    text_of,
    wait,
)
from tests.web.stack import API_KEY, LiveStack

TAB_LIMIT = 40
LONG_CAPTION = "one two three four five six seven"


def gated_ad(stack: LiveStack, step: str) -> dict[str, Any]:
    """An ad stopped at ``step``: CHOOSE_MOOD, or APPROVE_STORYBOARD (its first mood chosen)."""
    ad = create_ad(stack.open_url, gates=True)
    ad = ad_when(stack.open_url, ad["id"], at_gate("AD_STEP_CHOOSE_MOOD"), "its moods")
    if step == "AD_STEP_CHOOSE_MOOD":
        return ad
    api(stack.open_url, "POST", f"/api/ads/{ad['id']}/mood", {"moodId": ad["moods"][0]["id"]})
    return ad_when(stack.open_url, ad["id"], at_gate(step), "its storyboard")


def focused(driver: WebDriver) -> str:
    return str(driver.execute_script(
        "const e = document.activeElement; return e.id || e.tagName;"
    ))  # fmt: skip


def tab_to(driver: WebDriver, element_id_prefix: str) -> None:
    """Presses Tab (only the keyboard) until the focus is on an element whose id starts so."""
    for _ in range(TAB_LIMIT):
        if focused(driver).startswith(element_id_prefix):
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f"Tab never reached #{element_id_prefix}…; it is on {focused(driver)}")


def test_a_mood_is_chosen_with_the_keyboard_alone(
    browser: WebDriver, stack: LiveStack, tmp_path: Path
) -> None:
    ad = gated_ad(stack, "AD_STEP_CHOOSE_MOOD")
    open_page(browser, f"{stack.open_url}/#/ads/{ad['id']}")
    wait(browser, lambda d: heading(d) == "Choose a mood", "the mood step")
    tab_to(browser, "mood-")
    assert focused(browser) == f"mood-{ad['moods'][0]['id']}"  # the group starts on the first
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    second = ad["moods"][1]
    assert focused(browser) == f"mood-{second['id']}"
    card = find(browser, f".mood-card[data-mood='{second['id']}']")
    outline = browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", card)
    assert outline != "none"  # the focus is visible on the card
    shown(browser, "#mood-continue:enabled", "Continue once the mood's images loaded")
    shoot(browser, tmp_path, "keyboard-mood")
    tab_to(browser, "mood-continue")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    chosen = ad_when(stack.open_url, ad["id"], lambda a: a["chosenMoodId"] != "", "a mood")
    assert chosen["chosenMoodId"] == second["id"]
    wait(browser, lambda d: heading(d) == "Storyboard", "the storyboard after the choice")


def test_a_storyboard_edit_that_breaks_a_rule_shows_the_servers_message(
    browser: WebDriver, stack: LiveStack, tmp_path: Path
) -> None:
    ad = gated_ad(stack, "AD_STEP_APPROVE_STORYBOARD")
    open_page(browser, f"{stack.open_url}/#/ads/{ad['id']}")
    duration = shown(browser, "#scene-0-duration", "the storyboard to edit")
    first = ad["storyboard"][0]["scene"]["durationSeconds"]
    fill(duration, str(first + 3))
    total = AD_SECONDS + 3
    wait(browser, text_of(".timeline figcaption", f"Total {total:.1f} s"), "the new total")
    fill(find(browser, "#scene-1-caption"), LONG_CAPTION)
    find(browser, "#storyboard-save").click()
    message = f"they must add up to exactly {AD_SECONDS:g} s"
    wait(browser, text_of("#storyboard-error", message), "the server's message")
    assert f"add up to {total:g} s" in find(browser, "#storyboard-error").text
    # The rule a scene breaks is shown on that scene's card.
    on_card = find(browser, "#scene-1 .scene-problem").text
    assert on_card == "scene 2's caption has 7 words; it must have at most 6"
    assert not browser.find_elements("css selector", "#scene-0 .scene-problem")
    shoot(browser, tmp_path, "storyboard-refused")
    unchanged = api(stack.open_url, "GET", f"/api/ads/{ad['id']}")
    assert unchanged["storyboard"][0]["scene"]["durationSeconds"] == first


def test_an_ad_reopened_from_the_list_lands_on_its_current_step(
    browser: WebDriver, stack: LiveStack
) -> None:
    at_mood = gated_ad(stack, "AD_STEP_CHOOSE_MOOD")
    at_storyboard = gated_ad(stack, "AD_STEP_APPROVE_STORYBOARD")
    for ad, step, title in (
        (at_storyboard, "Storyboard", "Storyboard"),
        (at_mood, "Mood", "Choose a mood"),
    ):
        open_page(browser, f"{stack.open_url}/#/ads")
        shown(browser, f"#ad-{ad['id']}", "the ad in the list").click()
        wait(browser, showing(title), f"the {step} step")
        assert current_step(browser) == step
        browser.refresh()  # the state is the server's: a reload lands on the same step
        wait(browser, showing(title), f"the {step} step after a reload")
        assert current_step(browser) == step


def test_a_lost_stream_reconnects_and_resumes_from_the_servers_snapshot(
    browser: Chrome, stack: LiveStack
) -> None:
    ad = gated_ad(stack, "AD_STEP_CHOOSE_MOOD")
    open_page(browser, f"{stack.open_url}/#/ads/{ad['id']}")
    wait(browser, showing("Choose a mood"), "the mood step")
    third = ad["moods"][2]
    with stack.open_gateway_down():
        wait(browser, text_of("#status", "reconnecting"), "that the connection was lost")
        # The ad moves on while the page is cut off (through the other gateway: same studio).
        path = f"/api/ads/{ad['id']}/mood"
        api(stack.keyed_url, "POST", path, {"moodId": third["id"]}, key=API_KEY)
    wait(browser, showing("Storyboard"), "the step the ad moved to while the page was away")
    assert find(browser, "#chosen-mood").text.startswith(f"Mood: {third['name']}")
    assert find(browser, "#status").text == ""
