"""A model's registry state: its row while it serves, else its latest logged event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.common.registry import (
    EVENT_STATES,
    STATES,
    RegistryEntry,
    direct_activation_refusal,
    state_of,
)

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _entry(active: bool = False, known_good: bool = False,
           activated: datetime | None = None) -> RegistryEntry:
    return RegistryEntry(uuid.uuid4(), active, known_good, NOW, activated)


@pytest.mark.parametrize("event,state", [
    (None, "candidate"), ("registered", "candidate"), ("evaluated", "evaluated"),
    ("awaiting_approval", "awaiting_approval"), ("rejected", "rejected"),
    ("failed_gates", "rejected"), ("refused_by_governance", "rejected"),
    ("expired", "rejected"), ("superseded", "superseded"), ("rolled_back", "rolled_back"),
    ("activated", "superseded"),  # logged active, no longer the active row
])
def test_an_inactive_model_reads_its_latest_event(event: str | None, state: str) -> None:
    assert state_of(_entry(), event) == state


def test_the_row_decides_while_a_model_serves() -> None:
    assert state_of(_entry(active=True), "awaiting_approval") == "active"
    assert state_of(_entry(active=True, known_good=True), None) == "known_good"
    # activated before the log existed, replaced since
    assert state_of(_entry(activated=NOW), None) == "superseded"
    assert set(EVENT_STATES.values()) | {"known_good"} == set(STATES)


def test_direct_activation_is_refused_in_production_only_naming_the_promotion() -> None:
    assert direct_activation_refusal("development", "cf", "m1") is None
    refusal = direct_activation_refusal("production", "cf", "m1")
    assert refusal is not None and "`juke models promote m1 --kind cf`" in refusal


def test_the_activating_worker_checks_the_approver_against_its_own_setting() -> None:
    """Whoever starts a promotion chooses its input, approver included: the worker that
    activates refuses an approval by anyone but its JUKE_PROMOTION_APPROVER."""
    from services.common.errors import PermissionDenied
    from services.common.promotion_contracts import PromotionEvent
    from services.ranker.workflows.promotion_activities import RegistryActivities

    activated: list[str] = []

    class Registry:
        def activate_promoted(self, kind: str, model_id: str, promotion: object
                              ) -> tuple[None, None]:
            activated.append(model_id)
            return None, None

    activities = RegistryActivities(Registry(), "project-owner")  # type: ignore[arg-type]
    forged = PromotionEvent("cf", str(uuid.uuid4()), "activated", "p1",
                            approved_by="mallory")
    with pytest.raises(PermissionDenied, match="only 'project-owner'"):
        activities.activate_promoted_model(forged)
    assert activated == []
    genuine = PromotionEvent("cf", "m1", "activated", "p1", approved_by="project-owner")
    assert activities.activate_promoted_model(genuine).previous_id == ""
    assert activated == ["m1"]
