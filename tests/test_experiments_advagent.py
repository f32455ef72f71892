"""Chapter 3.2's claims (advrobust.experiments.ch3_advagent.claims): each comparison pairs the games
two rows played, with a bootstrap interval, and records the thesis table it checks."""
from __future__ import annotations

from types import SimpleNamespace

from advrobust.experiments import ch3_advagent as ch3


def attack_run(advantages: list[float], agreed: bool = True) -> SimpleNamespace:
    """An AttackRun stand-in: the per-game advantages, every game agreed or none."""
    records = [SimpleNamespace(outcome=SimpleNamespace(agreed=agreed)) for _ in advantages]
    return SimpleNamespace(advantages=advantages, records=records, expired=0,
                           metrics=SimpleNamespace(advantage=sum(advantages) / len(advantages)))


def rows(scale: float) -> dict[str, SimpleNamespace]:
    base = {"none": 0.0, "transfer": 1.0, "rl": 2.0, "reactive": 3.0, "preemptive": 2.5, "ra_pa_da": 4.0,
            "ra_pa_ta": 3.5}
    return {row: attack_run([scale * value + 0.1 * (i % 3) for i in range(30)]) for row, value in base.items()}


def test_claims_pair_the_games_and_name_their_tables():
    runs = {"SV": rows(1.0), "RL": rows(1.0)}
    adversarial = {row: attack_run([value - 1.0 for value in run.advantages]) for row, run in rows(1.0).items()}
    turns = {n: attack_run([5.0 + 0.01 * n + 0.1 * (i % 2) for i in range(30)]) for n in (1, 2, 3, 4)}
    found = {claim.claim: claim for claim in ch3.claims(runs, adversarial, turns)}
    ordered = found["vs RL: reactive > RL attack > transfer (advantage)"]
    assert ordered.verdict == "holds" and ordered.item == "Table 3.10" and ordered.effect.over == "games"
    assert found["vs SV: a combination is the best attack"].verdict == "holds"
    assert found["every attack reaches 100% agreement"].verdict == "holds"
    assert found["adversarial training lowers the RL attack's advantage"].item == "Table 3.14"
    turn = found["the turn n matters little (every pairwise difference within ±1 point)"]
    assert turn.verdict == "holds" and turn.margin == -ch3.TURN_TOLERANCE and turn.item == "Table 3.15"
    adversarial["rl"] = attack_run([0.0] * 29, agreed=False)
    assert {c.claim: c for c in ch3.claims(runs, adversarial, turns)}[
        "every attack reaches 100% agreement"].verdict == "fails"  # a counterexample, whatever the interval
