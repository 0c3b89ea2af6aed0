from services.ranker.workflows.promotion import gate_failures
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


def test_first_model_only_needs_coverage() -> None:
    assert gate_failures(Gates(), {"coverage": 0.5}, {}) == []
    assert gate_failures(Gates(coverage_min=0.6), {"coverage": 0.5}, {}) != []
