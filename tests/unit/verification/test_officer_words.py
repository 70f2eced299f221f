"""Officers read why a member was removed in words of the station's language, never the
internal code ("（原因：grace_expired）") — issue 15."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from linli.bot.features.verification.feature import VerificationFeature
from linli.common.i18n import Translator, catalogue
from linli.common.ids import CompoundId, UserID
from linli.verification.model import Effect, EffectKind

REASONS = ["grace_expired", "moved_out", "removed_from_registry"]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("reason", REASONS)
def test_a_removal_reason_reaches_officers_in_words(locale: str, reason: str) -> None:
    feature = VerificationFeature.__new__(VerificationFeature)
    feature.translator = Translator([catalogue("common"), catalogue("verification")])
    compound = cast(Any, SimpleNamespace(locale=locale, name="梅园小区"))
    effect = Effect(EffectKind.NOTIFY_OFFICERS, CompoundId(1), UserID("@u:hs"),
                    "verification.officers.removed",
                    {"compound": "梅园小区", "user": "@u:hs", "reason": reason})
    text = feature._render(compound, effect)
    assert reason not in text and "_" not in text.split("@u:hs")[-1]
    assert feature.translator.render(locale, f"verification.reason.{reason}") in text
