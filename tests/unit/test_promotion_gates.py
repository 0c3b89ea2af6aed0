from services.ranker.workflows.promotion import gate_checks, gate_failures
from services.ranker.workflows.promotion_contracts import Gates

ACTIVE = {"ndcg@10": 0.20, "recall@10": 0.25, "coverage": 0.40, "ndcg@10_cold": 0.10}


def test_a_clear_improvement_passes() -> None:
    assert gate_failures(Gates(), {"ndcg@10": 0.21, "recall@10": 0.2575, "coverage": 0.3,
                                   "ndcg@10_cold": 0.098}, ACTIVE) == []


def test_each_gate_names_its_numbers() -> None:
    failures = gate_failures(Gates(), {"ndcg@10": 0.209, "recall@10": 0.257, "coverage": 0.29,
                                       "ndcg@10_cold": 0.097}, ACTIVE)
    assert [f.split()[0] for f in failures] == ["coverage", "ndcg@10", "recall@10", "cold-start"]
    assert "+4.5% < +5%" in failures[1]


def test_first_model_is_held_to_absolute_floors() -> None:
    first = {"coverage": 0.5, "ndcg@10": 0.03, "recall@10": 0.025}
    assert gate_failures(Gates(), first, {}) == []
    assert gate_failures(Gates(coverage_min=0.6), first, {}) != []
    assert gate_failures(Gates(), {"coverage": 0.5, "ndcg@10": 0.0, "recall@10": 0.1}, {}) == \
        ["ndcg@10 0.0000 < 0.02 (the first model's floor)"]
    names = [c.name for c in gate_checks(Gates(), first, {})]
    assert names == ["coverage", "ndcg@10 floor", "recall@10 floor"]


def test_every_gate_is_reported_with_its_numbers() -> None:
    checks = {c.name: c for c in gate_checks(Gates(), {"ndcg@10": 0.209, "recall@10": 0.26,
                                                      "coverage": 0.4, "ndcg@10_cold": 0.1},
                                             ACTIVE)}
    assert set(checks) == {"coverage", "ndcg@10 gain", "recall@10 gain",
                           "cold-start ndcg@10 regression"}
    assert checks["ndcg@10 gain"].numbers() == {"candidate": 0.209, "active": 0.20,
                                                "needed": 0.05, "passed": False}
    assert checks["recall@10 gain"].passed and checks["cold-start ndcg@10 regression"].passed
