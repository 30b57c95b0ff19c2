"""One step at a time, on ads set up through the API: a mood chosen with the keyboard alone, a
storyboard edit the server refuses, ads reopened from the list where they are, and a stream
that is cut and comes back."""

from __future__ import annotations

import time
from typing import Any

from selenium.webdriver.common.keys import Keys

from tests.web.browser import (
    AD_SECONDS,
    BRIEF,
    WHOLE_AD_S,
    Page,
    ad_when,
    api,
    at_gate,
    create_ad,
    got_when,
)
from tests.web.stack import API_KEY, LiveStack

TAB_LIMIT = 40
QUIET_S = 2.0  # how long a canceled ad is watched for a change that must not come
LONG_CAPTION = "one two three four five six seven"
LONG_VOICE_LINE = "la-" * 700  # 2,100 characters; a line may have 2,000
NEW_VOICE_LINE = "Glow on."
# Its own product: prompts no earlier ad used, so nothing comes from the generator's cache and
# the seed images take long enough to cancel in the middle.
CANCELED_BRIEF = {**BRIEF, "product_name": "Quietly Canceled Bottle"}
RESUMED_BRIEF = {**BRIEF, "product_name": "Patiently Resumed Bottle"}
# A logo id that is not in the store fails the ad at its last step, after everything else was
# made: the one failure the offline stack offers. CreateAd lets it through (it checks the id's
# form; only the composer reads the file). A loopback URL would be refused at CreateAd.
FAILING_BRIEF = {**BRIEF, "brand": {"name": "Lumen", "logo": "d" * 64}}
PROGRESS = "return [...document.querySelectorAll('main progress')].map(p => p.value);"
TITLES = {"AD_STEP_CHOOSE_MOOD": "Choose a mood", "AD_STEP_APPROVE_STORYBOARD": "Storyboard"}


def gated_ad(stack: LiveStack, step: str, brief: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ad stopped at ``step``: CHOOSE_MOOD, or APPROVE_STORYBOARD (its first mood chosen)."""
    ad = create_ad(stack.open_url, gates=True, brief=brief)
    ad = ad_when(stack.open_url, ad["id"], at_gate("AD_STEP_CHOOSE_MOOD"), "its moods")
    if step == "AD_STEP_CHOOSE_MOOD":
        return ad
    api(stack.open_url, "POST", f"/api/ads/{ad['id']}/mood", {"moodId": ad["moods"][0]["id"]})
    return ad_when(stack.open_url, ad["id"], at_gate(step), "its storyboard")


def open_gated(
    page: Page, stack: LiveStack, step: str, brief: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An ad stopped at ``step``, open on the page at that step."""
    ad = gated_ad(stack, step, brief)
    page.open(f"{stack.open_url}/#/ads/{ad['id']}")
    page.shows(TITLES[step], f"the {TITLES[step]} step")
    return ad


def cancel_mid_generation(page: Page, stack: LiveStack, brief: dict[str, Any]) -> dict[str, Any]:
    """An ad approved at its storyboard and canceled on the page while its seed images are
    made; the page shows it stopped."""
    ad = open_gated(page, stack, "AD_STEP_APPROVE_STORYBOARD", brief)
    page.find("#storyboard-approve").click()
    page.shows("Clips", "the clips step")
    page.click("#cancel-ad", "Cancel while the seed images are made")
    page.has_text("#ad-stopped", "Canceled.", "that the ad is canceled")
    return ad


def tab_to(page: Page, id_prefix: str) -> None:
    """Presses Tab (only the keyboard) until the focus is on an element whose id starts so."""
    for _ in range(TAB_LIMIT):
        if page.focused().startswith(id_prefix):
            return
        page.keys(Keys.TAB)
    raise AssertionError(f"Tab never reached #{id_prefix}…; it is on {page.focused()}")


def stopped_job(job: dict[str, Any]) -> bool:
    assert job["state"] != "JOB_STATE_FAILED", job
    return job["state"] in ("JOB_STATE_CANCELED", "JOB_STATE_SUCCEEDED")


def test_a_mood_is_chosen_with_the_keyboard_alone(page: Page, stack: LiveStack) -> None:
    ad = open_gated(page, stack, "AD_STEP_CHOOSE_MOOD")
    tab_to(page, "mood-")
    assert page.focused() == f"mood-{ad['moods'][0]['id']}"  # the group starts on the first
    page.keys(Keys.ARROW_RIGHT)
    second = ad["moods"][1]
    assert page.focused() == f"mood-{second['id']}"
    card = page.find(f".mood-card[data-mood='{second['id']}']")
    assert card.value_of_css_property("outline-style") != "none"  # the focus is visible
    page.shown("#mood-continue:enabled", "Continue once the mood's images loaded")
    page.shoot("keyboard-mood")
    tab_to(page, "mood-continue")
    page.keys(Keys.ENTER)
    chosen = ad_when(stack.open_url, ad["id"], lambda a: a["chosenMoodId"] != "", "a mood")
    assert chosen["chosenMoodId"] == second["id"]
    page.shows("Storyboard", "the storyboard after the choice")


def test_a_storyboard_edit_that_breaks_a_rule_shows_the_servers_message(
    page: Page, stack: LiveStack
) -> None:
    ad = open_gated(page, stack, "AD_STEP_APPROVE_STORYBOARD")
    first = ad["storyboard"][0]["scene"]["durationSeconds"]
    page.fill("#scene-0-duration", str(first + 3))
    total = AD_SECONDS + 3
    page.has_text(".timeline figcaption", f"Total {total:.1f} s", "the new total")
    page.fill("#scene-1-caption", LONG_CAPTION)
    page.find("#storyboard-save").click()
    message = f"they must add up to exactly {AD_SECONDS:g} s"
    page.has_text("#storyboard-error", message, "the server's message")
    assert f"add up to {total:g} s" in page.find("#storyboard-error").text
    # The rule a scene breaks is shown on that scene's card.
    on_card = page.find("#scene-1 .scene-problem").text
    assert on_card == "scene 2's caption has 7 words; it must have at most 6"
    assert not page.find_all("#scene-0 .scene-problem")
    page.shoot("storyboard-refused")
    unchanged = api(stack.open_url, "GET", f"/api/ads/{ad['id']}")
    assert unchanged["storyboard"][0]["scene"]["durationSeconds"] == first


def test_an_ad_reopened_from_the_list_lands_on_its_current_step(
    page: Page, stack: LiveStack
) -> None:
    at_mood = gated_ad(stack, "AD_STEP_CHOOSE_MOOD")
    at_storyboard = gated_ad(stack, "AD_STEP_APPROVE_STORYBOARD")
    for ad, step, title in (
        (at_storyboard, "Storyboard", "Storyboard"),
        (at_mood, "Mood", "Choose a mood"),
    ):
        page.open(f"{stack.open_url}/#/ads")
        page.click(f"#ad-{ad['id']}", "the ad in the list")
        page.shows(title, f"the {step} step")
        assert page.step() == step
        page.driver.refresh()  # the state is the server's: a reload lands on the same step
        page.shows(title, f"the {step} step after a reload")
        assert page.step() == step


def test_a_lost_stream_reconnects_and_resumes_from_the_servers_snapshot(
    page: Page, stack: LiveStack
) -> None:
    ad = open_gated(page, stack, "AD_STEP_CHOOSE_MOOD")
    third = ad["moods"][2]
    with stack.open_gateway_down():
        page.has_text("#status", "reconnecting", "that the connection was lost")
        # The ad moves on while the page is cut off (through the other gateway: same studio).
        path = f"/api/ads/{ad['id']}/mood"
        api(stack.keyed_url, "POST", path, {"moodId": third["id"]}, key=API_KEY)
    page.shows("Storyboard", "the step the ad moved to while the page was away")
    assert page.find("#chosen-mood").text.startswith(f"Mood: {third['name']}")
    assert page.find("#status").text == ""


def test_a_voice_line_is_edited_and_a_too_long_one_is_refused_beside_it(
    page: Page, stack: LiveStack
) -> None:
    ad = open_gated(page, stack, "AD_STEP_APPROVE_STORYBOARD")
    lines = [scene["scene"]["voiceLine"] for scene in ad["storyboard"]]
    assert page.find("#scene-0-voice").get_property("value") == lines[0]
    page.fill("#scene-1-voice", LONG_VOICE_LINE)
    page.find("#storyboard-save").click()
    # The API's refusal, right under the field that broke the rule, which says so.
    problem = page.shown("#scene-1-voice + .scene-problem", "the refusal beside the voice line")
    assert problem.text.startswith("must be at most 2000 characters")
    field = page.find("#scene-1-voice")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == problem.get_attribute("id")
    assert "scenes[1].voice_line" in page.find("#storyboard-error").text
    page.shoot("voice-refused")
    assert (
        api(stack.open_url, "GET", f"/api/ads/{ad['id']}")["storyboard"][1]["scene"]["voiceLine"]
        == lines[1]
    )

    page.fill("#scene-1-voice", NEW_VOICE_LINE)
    page.find("#storyboard-save").click()
    page.wait(lambda _: not page.find_all(".scene-problem"), "the refusal gone once saved")
    saved = ad_when(
        stack.open_url,
        ad["id"],
        lambda a: a["storyboard"][1]["scene"]["voiceLine"] == NEW_VOICE_LINE,
        "the new voice line",
    )
    assert [s["scene"]["voiceLine"] for s in saved["storyboard"]] == [
        lines[0],
        NEW_VOICE_LINE,
        *lines[2:],
    ]
    assert page.find("#scene-1-voice").get_property("value") == NEW_VOICE_LINE


def test_cancel_mid_generation_stops_the_ad_and_it_can_start_over(
    page: Page, stack: LiveStack
) -> None:
    ad = cancel_mid_generation(page, stack, CANCELED_BRIEF)
    assert not page.find_all("#cancel-ad")
    canceled = api(stack.open_url, "GET", f"/api/ads/{ad['id']}")
    assert canceled["state"] == "AD_STATE_CANCELED" and not canceled["renders"]
    assert canceled["step"] in ("AD_STEP_SEED_IMAGES", "AD_STEP_CLIPS_AND_MUSIC")
    page.shoot("canceled")
    # No more progress: the jobs are stopped and, a while later, neither the ad nor a bar moved.
    jobs = [job for step in canceled["steps"] for job in step["jobIds"]]
    assert jobs
    for job_id in jobs:  # the generator stops them a moment after the ad
        got_when(stack.open_url, f"/api/jobs/{job_id}", stopped_job, "canceled")
    bars = page.driver.execute_script(PROGRESS)
    time.sleep(QUIET_S)
    again = api(stack.open_url, "GET", f"/api/ads/{ad['id']}")
    assert (again["version"], again["state"]) == (canceled["version"], "AD_STATE_CANCELED")
    assert page.driver.execute_script(PROGRESS) == bars
    assert page.find("#ad-stopped").is_displayed()

    page.click("#start-again", "Start over")
    page.wait(lambda d: ad["id"] not in d.current_url, "the new ad opened")
    page.shows("Choose a mood", "the new ad's moods")
    new_id = page.driver.current_url.rsplit("/", 1)[1]
    new = api(stack.open_url, "GET", f"/api/ads/{new_id}")
    assert new["brief"] == canceled["brief"] and new["options"] == canceled["options"]
    api(stack.open_url, "POST", f"/api/ads/{new_id}/cancel", {})


def test_an_ad_stopped_mid_generation_resumes_where_it_stopped_and_reaches_its_video(
    page: Page, stack: LiveStack
) -> None:
    ad = cancel_mid_generation(page, stack, RESUMED_BRIEF)
    canceled = api(stack.open_url, "GET", f"/api/ads/{ad['id']}")
    stopped_at = canceled["step"]
    assert canceled["state"] == "AD_STATE_CANCELED"
    assert stopped_at in ("AD_STEP_SEED_IMAGES", "AD_STEP_CLIPS_AND_MUSIC")
    # The clips step redraws as its jobs settle into CANCELED, so the button is looked up
    # afresh each time (a kept element goes stale when the panel is drawn again).
    label = page.wait(lambda d: d.find_element("css selector", "#resume-ad").text, "Resume")
    assert label == "Resume from " + stopped_at.removeprefix("AD_STEP_").replace("_", " ").lower()
    page.shoot("stopped")

    page.click("#resume-ad", "the resume button")
    page.wait(lambda _: not page.find_all("#ad-stopped"), "the stopped panel gone")
    page.shows("Final video", "the final video of the resumed ad", WHOLE_AD_S)
    page.shown("main video", "the resumed ad's video")
    final = api(stack.open_url, "GET", f"/api/ads/{ad['id']}")
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    # The same ad went on: the stopped step's record kept, the step run once more, the steps
    # before it (moods, plan) not again.
    steps = [s["step"] for s in final["steps"]]
    assert steps.count(stopped_at) == 2 and steps.count("AD_STEP_PLAN") == 1
    assert next(s for s in final["steps"] if s["step"] == stopped_at)["error"] == "canceled"
    assert final["moods"] == canceled["moods"]


def ended(ad: dict[str, Any]) -> bool:
    return bool(ad["state"] != "AD_STATE_RUNNING")


def test_a_failed_ad_shows_the_failed_step_and_why(page: Page, stack: LiveStack) -> None:
    ad = create_ad(stack.open_url, gates=False, brief=FAILING_BRIEF)
    failed = ad_when(stack.open_url, ad["id"], ended, "its end", wait_s=WHOLE_AD_S)
    assert failed["state"] == "AD_STATE_FAILED" and "end_card.logo" in failed["error"]
    page.open(f"{stack.open_url}/#/ads/{ad['id']}")
    page.shows("Clips", "the step the ad failed in")
    page.has_text("#ad-stopped", "Failed at compose: ", "the failed step")
    assert failed["error"] in page.find("#ad-stopped [role='alert']").text
    assert page.find("#start-again").text == "Start over from this brief"
    assert page.find("#resume-ad").text == "Resume from compose"
    assert not page.find_all("#cancel-ad")
    page.shoot("failed")
    page.open(f"{stack.open_url}/#/ads")
    page.has_text(f"#ad-{ad['id']}", "failed", "the failed ad in the list")


def test_an_ad_canceled_at_a_gate_says_so_on_that_step(page: Page, stack: LiveStack) -> None:
    ad = gated_ad(stack, "AD_STEP_CHOOSE_MOOD")
    api(stack.open_url, "POST", f"/api/ads/{ad['id']}/cancel", {})
    page.open(f"{stack.open_url}/#/ads/{ad['id']}")
    page.shows("Choose a mood", "the step it was canceled at")
    page.has_text("#ad-stopped", "Canceled.", "that the ad is canceled")
    assert not page.find_all("#mood-continue")
