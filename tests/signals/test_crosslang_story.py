"""Story identity across languages end to end (issue 17, point 5): a Russian and an English
outlet as local feeds on 127.0.0.1, on a stepped clock."""

from __future__ import annotations

from typing import Any

from monitor import storage
from tests.signals.conftest import Newsroom, step

TOPIC = {
    "id": "summit",
    "name": "Trump–Putin summit",
    "all": [["Trump", "Трамп"], ["Putin", "Путин"]],
}
LANGUAGES = {"tass-ru": "ru", "reuters": "en"}
RUSSIAN = "Путин и Трамп встретятся в Анкоридже 15 августа, сообщил Ушаков"
ENGLISH = "Putin and Trump to meet in Anchorage on August 15, Ushakov says"


def alerts(app: Any) -> list[dict[str, Any]]:
    return [a.to_json() for _, a in storage.list_alerts(app.engine)]


def test_the_english_outlet_joins_the_russian_outlets_alert_and_another_story_does_not(
    newsroom: Newsroom, signals_app: Any
) -> None:
    app = signals_app(["tass-ru", "reuters"], TOPIC, languages=LANGUAGES)
    newsroom.carry("tass-ru", RUSSIAN, "ushakov-anchorage")
    app.poll()
    step(newsroom, minutes=12)
    newsroom.carry("reuters", ENGLISH, "putin-trump-anchorage")
    app.poll()

    (alert,) = alerts(app)
    assert alert["title"] == RUSSIAN
    assert alert["feeds"] == ["tass-ru", "reuters"]
    assert [o["outlet"] for o in alert["outlets"]] == ["TASS", "Reuters"]
    assert alert["first_reported_by"] == "TASS"

    step(newsroom, minutes=20)
    newsroom.carry("reuters", "Trump says his call with Putin on Ukraine went well", "call")
    app.poll()
    titles = [a["title"] for a in alerts(app)]
    assert titles == [RUSSIAN, "Trump says his call with Putin on Ukraine went well"]


def test_a_second_outlet_in_another_language_confirms_the_story(
    newsroom: Newsroom, signals_app: Any
) -> None:
    topic = TOPIC | {"confirm": {"outlets": 2, "within": "30m"}}
    app = signals_app(["tass-ru", "reuters"], topic, languages=LANGUAGES)
    newsroom.carry("tass-ru", RUSSIAN, "ushakov-anchorage")
    app.poll()
    assert alerts(app) == []
    step(newsroom, minutes=12)
    newsroom.carry("reuters", ENGLISH, "putin-trump-anchorage")
    app.poll()

    (alert,) = alerts(app)
    assert alert["title"] == RUSSIAN
    assert alert["confirmed_by"] == ["TASS", "Reuters"]
