"""§3.2's attacks and adversarial training (dialogue/whitebox.py, adversary.py, agents.py): the
greedy ⟨PAD⟩ search on hand-made objectives, the reactive attack on a small agent trained here,
batched objectives equal to one-by-one, the adversaries' turn rules, the transfer list, the
policy-gradient update on a toy policy, and the cached self-play runs."""
from __future__ import annotations

import pytest
import torch
from _dialogue_fixtures import (
    SCENARIO,
    VOCABULARY,
    WORDS,
    tiny_agent,
    trained_small_agent,
    val_slices,
)
from advrobust.data import Vocabulary
from advrobust.data import negotiation as neg
from advrobust.dialogue import (
    ModelNegotiator,
    Outcome,
    ReinforceConfig,
    Scenario,
    play,
    scenarios,
)
from advrobust.dialogue.adversary import Adversary, transfer_sentences
from advrobust.dialogue.objectives import decision_loss, favourable_choices
from advrobust.dialogue.reinforce import discounted_weights
from advrobust.dialogue.selfplay import GameRecord
from advrobust.dialogue.whitebox import (
    FIRST_WORD_ID,
    Scores,
    WhiteBoxSettings,
    greedy_substitution,
    preemptive_objective,
    reactive_objective,
)
from advrobust.errors import ConfigError
from advrobust.profiles.dialogue import ATTACK_ROWS, advagent
from advrobust.training.self_play import (
    AdversarialTrainingSettings,
    TrainedAgent,
    adversarial_training,
    reinforced_agent,
    run_history,
)

# --- the greedy search on objectives with known answers ----------------------------------------------


def distance_objective(goal: torch.Tensor):
    """Key = how many positions differ from ``goal``: the greedy search must walk to it."""
    calls = []

    def objective(words: torch.Tensor) -> Scores:
        calls.append(len(words))
        key = (words != goal).sum(dim=1).float()
        return Scores(key, key, torch.full_like(key, float("inf")))
    return objective, calls


def test_greedy_search_changes_at_most_max_changes_words_towards_the_optimum():
    goal = torch.tensor([9, 10, 11, 12])
    start = torch.tensor([9, 15, 11, 16])
    objective, calls = distance_objective(goal)
    found = greedy_substitution(start, objective, len(WORDS), max_changes=2)
    assert torch.equal(found.words, goal) and sorted(found.changed) == [1, 3] and float(found.scores.key[0]) == 0
    assert torch.equal(start, torch.tensor([9, 15, 11, 16]))  # the input is not mutated
    # one scoring of the start, then per change: the <pad> trials (one per open position), one sweep
    assert calls == [1, 4, len(WORDS) - FIRST_WORD_ID, 3, len(WORDS) - FIRST_WORD_ID]
    one = greedy_substitution(start, distance_objective(goal)[0], len(WORDS), max_changes=1)
    assert len(one.changed) == 1 and int((one.words != goal).sum()) == 1


def test_greedy_search_never_substitutes_a_special_token_and_stops_without_improvement():
    # the best word of the objective is a special token: the search may not use it
    def prefers_specials(words: torch.Tensor) -> Scores:
        key = (words >= FIRST_WORD_ID).sum(dim=1).float()
        return Scores(key, key, torch.full_like(key, float("inf")))
    found = greedy_substitution(torch.tensor([9, 10]), prefers_specials, len(WORDS), 2)
    assert found.changed == () and torch.equal(found.words, torch.tensor([9, 10]))
    with pytest.raises(ConfigError):
        greedy_substitution(torch.tensor([], dtype=torch.long), prefers_specials, len(WORDS), 2)


def test_decision_loss_with_the_best_unfavourable_choice_hand_worked():
    favourable = torch.tensor([False, True, True, False])
    logits = torch.tensor([[2.0, 1.0, 0.5, 9.0], [0.0, 3.0, -1.0, 1.0]])
    # row 0: best unfavourable 9 - best favourable 1 = 8; row 1: 1 - 3 = -2, clipped at -kappa = -1
    torch.testing.assert_close(decision_loss(logits, None, favourable, kappa=1.0), torch.tensor([8.0, -1.0]))


# --- the objectives on an agent ----------------------------------------------------------------------

def _state(model, words: str = ""):
    negotiator = ModelNegotiator(model, VOCABULARY)
    negotiator.start(SCENARIO.input(1))
    if words:
        negotiator.read(words.split())
    return negotiator.state


def test_batched_objectives_equal_one_by_one():
    model = tiny_agent(1)
    state = _state(model, "w1 w2 <eos>")
    favourable = favourable_choices(SCENARIO, target=1)
    candidates = torch.tensor([[8, 9, 10], [11, 12, 13], [9, 9, 9]])
    reactive = reactive_objective(model, state, favourable, WhiteBoxSettings())
    batched = reactive(candidates)
    for row in range(len(candidates)):
        alone = reactive(candidates[row:row + 1])
        for name in ("key", "loss", "margin"):
            torch.testing.assert_close(getattr(alone, name), getattr(batched, name)[row:row + 1], rtol=1e-5, atol=1e-5)
    settings = WhiteBoxSettings(samples=2, reply_words=5)
    runs = [preemptive_objective(model, state, favourable, settings, torch.Generator().manual_seed(4), 0.5)(candidates)
            for _ in range(2)]
    torch.testing.assert_close(runs[0].loss, runs[1].loss)  # seeded replies: the same loss
    assert torch.isinf(runs[0].margin).all() and runs[0].loss.shape == (3,)


@pytest.fixture(scope="module")
def small_agent():
    """An agent trained for seconds on 1,000 lines of val.txt, and its vocabulary."""
    train, valid = val_slices(1000, 87)
    return trained_small_agent(train, valid, epochs=4, lr=3e-3, word_dim=32, lang_hidden=32), Vocabulary(train.words)


def test_reactive_attack_makes_the_target_select(small_agent):
    model, vocabulary = small_agent
    scenario = Scenario((1, 4, 1), ((4, 1, 2), (0, 2, 2)))
    target = ModelNegotiator(model, vocabulary)
    target.start(scenario.input(1))
    objective = reactive_objective(model, target.state, favourable_choices(scenario, 1), WhiteBoxSettings())
    flipped = 0
    drafts = ("i would like the book and the hats", "can i have the ball", "i need the ball", "you can have the hats")
    for draft in drafts:
        words = torch.tensor(vocabulary.encode(draft.split()))
        before = objective(words.unsqueeze(0))
        found = greedy_substitution(words, objective, model.vocab_size, max_changes=2)
        changed = (found.words != words).nonzero().flatten().tolist()
        assert len(changed) <= 2 and set(changed) <= set(found.changed)
        assert all(int(found.words[p]) >= FIRST_WORD_ID for p in changed)  # never a special token
        assert float(found.scores.key[0]) <= float(before.key[0])
        if float(before.margin[0]) < 0 <= float(found.scores.margin[0]):
            flipped += 1
            # the target, having read the attacked sentence, would now say <selection> first
            heard = model.continue_batch(target.state, torch.tensor([[neg.THEM_ID, *found.words.tolist(), neg.EOT_ID,
                                                                      neg.YOU_ID]]))
            logits = model.next_word_logits(heard).masked_fill(model.unspeakable, float("-inf"))
            assert int(logits.argmax()) == neg.SELECTION_ID
    assert flipped >= 3  # measured: all four drafts (each missed (3.9) before the attack)


# --- the adversaries ---------------------------------------------------------------------------------

def _game(strategy: str, turn: int = 2, sentences=(("w3", "w4", "<eos>"),), seed: int = 0):
    model = tiny_agent(2)
    target = ModelNegotiator(model, VOCABULARY, max_words=6)
    adversary = Adversary(ModelNegotiator(tiny_agent(3), VOCABULARY, max_words=6), strategy, target,
                          WhiteBoxSettings(samples=1, reply_words=4), turn=turn, transfer_turn=turn,
                          sentences=sentences)
    record = play((adversary, target), SCENARIO, torch.Generator().manual_seed(seed), max_turns=8, first=0,
                  complement=0)
    return record, adversary


def test_fixed_turn_attacks_act_once_at_the_first_adversary_turn_after_n_utterances():
    for strategy in ("reactive", "preemptive", "transfer"):
        record, adversary = _game(strategy, turn=2)
        attacked = [e for e in adversary.events if e.kind != "draft"]
        assert len(attacked) == 1 and attacked[0].utterance == 2  # the adversary opens: utterances 0, 1, then 2
        said = record.turns[2][1]
        assert said == attacked[0].said and said[-1] == "<eos>"
        if strategy == "preemptive" and len(record.turns) > 4:
            assert record.turns[4][1] == ("<selection>",)  # the target replied; the adversary ends the game
        if strategy == "transfer":
            assert said == ("w3", "w4", "<eos>")
        if not record.expired:
            assert record.outcome.agreed or record.selections[1] is None  # the adversary takes the complement


def test_white_box_edits_change_at_most_two_words_and_no_special_token():
    for strategy in ("reactive", "ra_pa_da", "ra_pa_ta"):
        for seed in range(3):
            _, adversary = _game(strategy, seed=seed)
            for event in adversary.events:
                if event.kind in ("reactive", "preemptive"):
                    body = [w for w in event.draft if w not in ("<eos>", "<selection>")]
                    assert event.said[-1] == "<eos>" and len(event.said) == len(body) + 1
                    changes = [w for w, d in zip(event.said, body) if w != d]
                    assert len(changes) <= 2 and all(VOCABULARY.id(w) >= FIRST_WORD_ID for w in changes)


def test_adversary_validation():
    negotiator = ModelNegotiator(tiny_agent(), VOCABULARY)
    with pytest.raises(ConfigError, match="unknown strategy"):
        Adversary(negotiator, "bribe")
    with pytest.raises(ConfigError, match="needs the target"):
        Adversary(negotiator, "reactive")
    with pytest.raises(ConfigError, match="transfer sentences"):
        Adversary(negotiator, "transfer", negotiator)
    with pytest.raises(ConfigError, match="complement"):
        Adversary(negotiator, "none").choose()


def test_transfer_sentences_hand_worked():
    def record(turns, scores, agreed=True):
        return GameRecord(SCENARIO, 0, tuple(turns), ((0, 0, 0), (1, 4, 1)), Outcome(agreed, scores), False)
    won = record([(0, ("take", "it", "<eos>")), (1, ("ok", "<eos>")), (0, ("deal", "<eos>")), (1, ("<selection>",))],
                 (9, 2))
    lost = record([(0, ("no", "<eos>")), (1, ("<selection>",))], (2, 8))
    repeat = record([(0, ("deal", "<eos>")), (1, ("<selection>",))], (10, 0))
    assert transfer_sentences([won, lost, repeat], min_advantage=5) == [("deal", "<eos>")]
    # nobody reaches the threshold: the best game supplies L
    assert transfer_sentences([lost, record([(0, ("a", "<eos>")), (1, ("<selection>",))], (5, 4))], 0, 5) == [
        ("a", "<eos>")]


# --- policy gradient and the cached self-play runs ----------------------------------------------------

def test_policy_gradient_raises_the_probability_of_a_rewarded_action():
    # a toy softmax policy over 3 actions; action 2 is rewarded. The update of reinforce():
    # loss = -sum(weight * log p(action)), weights from discounted_weights (eq. 3.8)
    logits = torch.zeros(3, requires_grad=True)
    optimizer = torch.optim.SGD([logits], lr=0.5)
    before = torch.softmax(logits.detach(), 0)[2].item()
    for _ in range(5):
        log_probs = torch.log_softmax(logits, 0)[torch.tensor([2, 2])]
        loss = -(log_probs * discounted_weights(2, 1.0, 0.95)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.softmax(logits.detach(), 0)[2].item() > before + 0.3
    torch.testing.assert_close(discounted_weights(2, 1.0, 0.95), torch.tensor([0.95, 1.0]))


def test_cached_self_play_runs_equal_fresh_ones(tmp_path):
    start, partner = TrainedAgent(tiny_agent(4), "start"), TrainedAgent(tiny_agent(5), "partner")
    games = [SCENARIO, Scenario((2, 2, 1), ((1, 2, 4), (3, 1, 2)))]
    config = ReinforceConfig(epochs=1, sv_train_freq=0, max_turns=3, seed=2, reward="advantage", complement=True)
    fresh = reinforced_agent("rlattack", start, partner, VOCABULARY, games, config, None, "toy", "cpu", tmp_path)
    again = reinforced_agent("rlattack", start, partner, VOCABULARY, games, config, None, "toy", "cpu", tmp_path)
    assert fresh.key == again.key
    for name, tensor in fresh.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name])
    assert len(run_history("rlattack", "toy", fresh.key, tmp_path)["advantage"]) == 1
    settings = AdversarialTrainingSettings(rounds=2, target=ReinforceConfig(sv_train_freq=0, max_turns=3),
                                           attacker=ReinforceConfig(sv_train_freq=0, max_turns=3))
    target, attacker = adversarial_training(start, fresh, VOCABULARY, games, settings, None, "toy", "cpu", tmp_path)
    history = run_history("advtrain", "toy", target.key.rsplit("-", 1)[0], tmp_path)
    assert len(history["target_advantage"]) == len(history["attacker_advantage"]) == 2
    assert target.model is not start.model and attacker.model is not fresh.model  # trained copies
    with pytest.raises(ConfigError):
        AdversarialTrainingSettings(rounds=0, target=config, attacker=config)


def test_profiles_cover_every_row():
    for profile in ("smoke", "quick", "paper"):
        settings = advagent(profile)
        assert set(settings.games) == set(ATTACK_ROWS) and settings.whitebox.max_changes == 2
    assert advagent("paper").games["reactive"] == 2000 and advagent("paper").supervised.epochs == 30
    with pytest.raises(ConfigError, match="unknown profile"):
        advagent("huge")
    assert len(scenarios(((SCENARIO.input(0), SCENARIO.input(1)),) * 3, 3, seed=1)) == 3
