"""Whatever text a feed carries, matching neither crashes nor points outside the text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document

TOPICS = compile_topics(
    [
        TopicConfig(id="a", any=["a", "Board of Peace", "Friedensrat*", "*rat", "Совет мира"]),
        TopicConfig.model_validate(
            {"id": "b", "near": [{"terms": ["ab", ["ba", "bb"]], "within": 2}]}
        ),
        TopicConfig(id="c", all=[["ﷺ", "ä"], ["ß"]], fields=["title"], languages=["de"]),
    ]
)

pieces = st.sampled_from(
    [*"abß äÄ-–'’\u00ad\u200b\u00a0\u0301\n ", "ﷺ", "ﷻ", "ﬁ", "й", "Совет", " мира", "rat"]
)
texts = st.lists(pieces | st.characters(), max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(title=texts, summary=texts, language=st.sampled_from([None, "en", "de", "ru", "fr", ""]))
def test_any_text_matches_without_error_and_evidence_points_into_it(
    title: str, summary: str, language: str | None
) -> None:
    doc = Document(title=title, summary=summary, language=language)
    for match in TOPICS.match(doc):
        assert match.evidence
        for ev in match.evidence:
            text = getattr(doc, ev.field)
            assert 0 <= ev.offset < len(text)
            assert ev.snippet
