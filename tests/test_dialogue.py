"""§3.2's negotiation game, agent, self-play and supervised trainer (dialogue/, models/dialogue_agent.py,
training/dialogue.py): hand-worked scoring and metrics, batched scoring equal to one-by-one scoring,
seeded self-play, and a tiny agent trained in seconds on a slice of the shipped data."""
from __future__ import annotations

import math

import pytest
import torch
from _dialogue_fixtures import SCENARIO, TINY, VOCABULARY, WORDS, tiny_agent, val_slices
from advrobust.data import Vocabulary
from advrobust.data import negotiation as neg
from advrobust.dialogue import (
    ModelNegotiator,
    Outcome,
    ReinforceConfig,
    RunningStandardiser,
    Scenario,
    discounted_weights,
    game_metrics,
    parse_selection,
    play,
    reinforce,
    scenarios,
    score,
    self_play,
    selfplay_metrics,
)
from advrobust.dialogue.objectives import (
    decision_loss,
    favourable_choices,
    selection_margin,
)
from advrobust.errors import ConfigError
from advrobust.models import DialogueAgent, create_model
from advrobust.models.dialogue_agent import UNSPEAKABLE, choice_table, enumerate_choices
from advrobust.profiles.dialogue import advagent
from advrobust.registry import available, family
from advrobust.training.dialogue import (
    DialogueTrainConfig,
    dialogue_run_directory,
    dialogue_training_history,
    evaluate_dialogue_model,
    train_dialogue_model,
    trained_dialogue_model,
)

# --- the game ----------------------------------------------------------------------------------------

def test_scenario_inputs_and_validation():
    assert SCENARIO.input(0) == (1, 4, 4, 1, 1, 2) and SCENARIO.input(1) == (1, 0, 4, 2, 1, 2)
    assert Scenario.from_inputs((1, 4, 4, 1, 1, 2), (1, 0, 4, 2, 1, 2)) == SCENARIO
    assert SCENARIO.complement((1, 0, 1)) == (0, 4, 0) and SCENARIO.complement(None) is None
    with pytest.raises(ConfigError, match="worth 9"):
        Scenario((1, 4, 1), ((4, 1, 1), (0, 2, 2)))
    with pytest.raises(ConfigError, match="counts"):
        Scenario((0, 4, 1), ((4, 1, 2), (0, 2, 2)))
    with pytest.raises(ConfigError, match="disagree on the counts"):
        Scenario.from_inputs((1, 4, 4, 1, 1, 2), (2, 0, 4, 2, 1, 2))


def test_parse_selection_formats():
    assert parse_selection("item0=1 item1=0 item2=2") == (1, 0, 2)
    assert parse_selection(["item0=1", "item1=0", "item2=2", "item0=0", "item1=4", "item2=0"]) == (1, 0, 2)
    assert parse_selection("book=0 hat=1 ball=1") == (0, 1, 1)  # the 2017 self-play log
    for no_deal in ("<no_agreement>", "<disagree> " * 6, "<disconnect> " * 3):
        assert parse_selection(no_deal) is None
    for bad in ("item1=1 item0=0 item2=2", "item0=1 item1=0", "hat=1 book=0 ball=1", "<disagree> item0=1 item1=0"):
        with pytest.raises(ConfigError):
            parse_selection(bad)


def test_scoring_hand_worked():
    # Table 3.9's shape: agent 0 takes the book and the ball (4 + 2), agent 1 the four hats (4 x 2)
    assert score(SCENARIO, ((1, 0, 1), (0, 4, 0))) == Outcome(True, (6, 8))
    # everything to agent 1: 0 for agent 0, 0 + 4x2 + 2 = 10 for agent 1
    assert score(SCENARIO, ((0, 0, 0), (1, 4, 1))) == Outcome(True, (0, 10))
    # both want the book: the selections add up to 2 books of 1, so no deal and no points
    assert score(SCENARIO, ((1, 0, 1), (1, 4, 0))) == Outcome(False, (0, 0))
    # leaving an item on the table is no deal either
    assert score(SCENARIO, ((1, 0, 0), (0, 4, 0))) == Outcome(False, (0, 0))
    # an explicit no agreement ends the game, even if the partner claimed the whole pool
    assert score(SCENARIO, (None, (1, 4, 1))) == Outcome(False, (0, 0))
    assert score(SCENARIO, ((1, 4, 1), None)) == Outcome(False, (0, 0))
    assert score(SCENARIO, (None, None)) == Outcome(False, (0, 0))


def test_metrics_hand_worked():
    outcomes = [Outcome(True, (8, 2)), Outcome(True, (3, 7)), Outcome(False, (0, 0)), Outcome(True, (5, 5))]
    metrics = game_metrics(outcomes)
    assert metrics.games == 4
    assert metrics.adversary_score == pytest.approx(16 / 4) and metrics.target_score == pytest.approx(14 / 4)
    assert metrics.advantage == pytest.approx(0.5)  # a difference of means over all 4 games
    assert metrics.agreement == pytest.approx(0.75)
    assert metrics.par == pytest.approx(0.25)  # only the first game; a tie or a no-deal is not positive
    assert metrics.agreed_advantage == pytest.approx(2 / 3)  # the 2017 code's: agreed games only
    swapped = game_metrics(outcomes, adversary=1)
    assert swapped.advantage == pytest.approx(-0.5) and swapped.par == pytest.approx(0.25)
    assert math.isnan(game_metrics([Outcome(False, (0, 0))]).agreed_advantage)
    with pytest.raises(ConfigError):
        game_metrics([])


# --- the agent ---------------------------------------------------------------------------------------

def test_registered_with_its_family():
    assert "negotiator_gru" in available("model", family="dialogue_agent")
    assert family("model", "negotiator_gru") == "dialogue_agent"
    model = create_model("negotiator_gru", vocab_size=465)
    assert sum(p.numel() for p in model.parameters()) == 1_631_789  # the notes' 1.64M


def test_choices_enumerate_every_split():
    choices = enumerate_choices((1, 4, 1))
    assert len(choices) == 2 * 5 * 2 + 2 and choices[0] == (0, 0, 0) and choices[1] == (0, 0, 1)
    assert choices[-3] == (1, 4, 1) and choices[-2:] == [None, None]
    table = choice_table((1, 4, 1))
    assert [neg.OUTPUT_TOKENS[i] for i in table[1].tolist()] == \
        ["item0=0", "item1=0", "item2=1", "item0=1", "item1=4", "item2=0"]
    assert [neg.OUTPUT_TOKENS[i] for i in table[-1].tolist()] == ["<disconnect>"] * 6


def random_dialogue(generator: torch.Generator, length: int) -> list[int]:
    words = torch.randint(UNSPEAKABLE, len(WORDS), (length,), generator=generator).tolist()
    return [neg.YOU_ID, *words[: length // 2], neg.EOT_ID, neg.THEM_ID, *words[length // 2:], neg.EOT_ID,
            neg.YOU_ID, neg.SELECTION_ID]


def test_forward_equals_reading_piece_by_piece_and_padding_is_masked():
    model = tiny_agent()
    generator = torch.Generator().manual_seed(0)
    dialogues = [random_dialogue(generator, n) for n in (3, 9, 6)]
    padded = torch.full((3, max(map(len, dialogues))), 0, dtype=torch.long)
    for row, dialogue in enumerate(dialogues):
        padded[row, : len(dialogue)] = torch.tensor(dialogue)
    context = torch.tensor([SCENARIO.input(0)] * 3)
    with torch.no_grad():
        batched = model(context, padded)
        for row, dialogue in enumerate(dialogues):
            alone = model(context[row:row + 1], torch.tensor([dialogue]))
            torch.testing.assert_close(batched.selection_logits[row], alone.selection_logits[0])
            torch.testing.assert_close(batched.word_logits[row, : len(dialogue)], alone.word_logits[0])
            state = model.start(context[row:row + 1])  # the same dialogue read in three pieces
            for piece in (dialogue[:2], dialogue[2:5], dialogue[5:]):
                state, _ = model.read(state, torch.tensor([piece]))
            torch.testing.assert_close(model.selection_logits(state), alone.selection_logits)
            assert state.tokens[0].tolist() == dialogue


def test_batched_candidate_scoring_equals_one_by_one():
    model = tiny_agent(1)
    generator = torch.Generator().manual_seed(1)
    state = model.start(torch.tensor([SCENARIO.input(1)]))
    state, _ = model.read(state, torch.tensor([random_dialogue(generator, 8)[:-2]]))  # ... THEM: ... <eos>
    candidates = torch.randint(UNSPEAKABLE, len(WORDS), (7, 5), generator=generator)
    candidates[:, 0] = neg.YOU_ID
    lengths = torch.tensor([5, 2, 3, 5, 4, 1, 5])
    with torch.no_grad():
        batched = model.score_candidates(state, candidates, lengths)
        sampled = model.score_candidates(state, candidates, lengths, temperature=0.5, mask_unspeakable=True)
        branched = model.continue_batch(state, candidates, lengths, suffix=(neg.THEM_ID, neg.SELECTION_ID))
        choice_logits = model.choice_logits(branched)
        next_logits = model.next_word_logits(model.continue_batch(state, candidates, lengths))
        for k in range(len(candidates)):
            words = candidates[k, : int(lengths[k])].tolist()
            total, reader = 0.0, state  # one word at a time, as write reads them
            for word in words:
                log_p = torch.log_softmax(model.next_word_logits(reader), dim=1)[0, word]
                total += float(log_p)
                reader, _ = model.read(reader, torch.tensor([[word]]))
            assert float(batched[k]) == pytest.approx(total, abs=1e-5)
            torch.testing.assert_close(model.next_word_logits(reader)[0], next_logits[k])
            alone = model.continue_batch(state, candidates[k:k + 1, : int(lengths[k])],
                                         suffix=(neg.THEM_ID, neg.SELECTION_ID))
            torch.testing.assert_close(model.choice_logits(alone)[0], choice_logits[k])
    assert bool((sampled[lengths > 0] < 0).all())
    assert choice_logits.shape == (7, len(enumerate_choices(SCENARIO.counts)))
    probabilities = torch.softmax(choice_logits, dim=1)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(7))


def test_write_is_seeded_and_stops_at_end_of_turn():
    model = tiny_agent(2)
    state = model.start(torch.tensor([SCENARIO.input(0)] * 4))
    with torch.no_grad():
        first = model.write(state, torch.Generator().manual_seed(5))
        again = model.write(state, torch.Generator().manual_seed(5))
    assert torch.equal(first.words, again.words) and torch.equal(first.log_probs, again.log_probs)
    for row in range(4):
        words = first.words[row, : int(first.lengths[row])].tolist()
        assert words[-1] in (neg.EOT_ID, neg.SELECTION_ID) or len(words) == 100
        assert all(w >= UNSPEAKABLE for w in words) and sum(w in (neg.EOT_ID, neg.SELECTION_ID) for w in words) <= 1
        assert first.state.tokens[row, : len(words) + 1].tolist() == [neg.YOU_ID, *words]
    assert bool((first.log_probs[first.words == 0] == 0).all()) and bool((first.log_probs[first.words > 0] < 0).all())


def test_choose_picks_the_most_likely_valid_choice():
    model = tiny_agent(3)
    state = model.start(torch.tensor([SCENARIO.input(0)]))
    state, _ = model.read(state, torch.tensor([random_dialogue(torch.Generator().manual_seed(3), 6)]))
    with torch.no_grad():
        logits = model.choice_logits(state)[0]
        (choice,), log_p = model.choose(state)
        sampled, _ = model.choose(state, sample=True, generator=torch.Generator().manual_seed(0))
    assert choice == enumerate_choices(SCENARIO.counts)[int(logits.argmax())]
    assert float(log_p) == pytest.approx(float(torch.log_softmax(logits, 0).max()))
    assert sampled[0] in enumerate_choices(SCENARIO.counts)


# --- self-play ---------------------------------------------------------------------------------------

def test_seeded_self_play_is_identical_run_to_run():
    agents = (ModelNegotiator(tiny_agent(4), VOCABULARY), ModelNegotiator(tiny_agent(5), VOCABULARY, max_words=12))
    games = [SCENARIO, Scenario((2, 2, 1), ((1, 2, 4), (3, 1, 2))), Scenario((1, 1, 3), ((0, 1, 3), (1, 0, 3)))]
    first = self_play(agents, games, seed=7, max_turns=6)
    second = self_play(agents, games, seed=7, max_turns=6)
    assert first == second
    assert self_play(agents, games[:2], seed=7, max_turns=6) == first[:2]  # game i depends on (seed, i) only
    assert [play(agents, g, torch.Generator().manual_seed(1), max_turns=6) for g in games] == \
        [play(agents, g, torch.Generator().manual_seed(1), max_turns=6) for g in games]
    for record in first:
        assert 1 <= len(record.turns) <= 6 and record.turns[0][0] == record.first
        assert all(speaker != other for (speaker, _), (other, _) in zip(record.turns, record.turns[1:]))
        if record.expired:
            assert record.outcome == Outcome(False, (0, 0)) and record.turns[-1][1] != ("<selection>",)
        else:
            assert record.turns[-1][1] == ("<selection>",)
            assert record.outcome == score(record.scenario, record.selections)
    assert selfplay_metrics(first).games == 3
    assert "Alice" in first[0].transcript()


def test_turn_limit_and_complement():
    agents = (ModelNegotiator(tiny_agent(6), VOCABULARY, max_words=3), ModelNegotiator(tiny_agent(7), VOCABULARY, max_words=3))
    expired = play(agents, SCENARIO, torch.Generator().manual_seed(0), max_turns=1, first=0)
    if expired.turns[0][1] != ("<selection>",):
        assert expired.expired and expired.selections == (None, None) and not expired.outcome.agreed
    records = self_play(agents, [SCENARIO] * 6, seed=1, max_turns=40, complement=0)
    for record in records:
        if not record.expired and record.selections[1] is not None:
            assert record.outcome.agreed and record.selections[0] == SCENARIO.complement(record.selections[1])


def test_scenarios_from_selfplay_pairs():
    pairs = [((1, 0, 1, 1, 3, 3), (1, 1, 1, 0, 3, 3)), ((1, 4, 4, 1, 1, 2), (1, 0, 4, 2, 1, 2))] * 3
    assert scenarios(pairs)[1] == SCENARIO and len(scenarios(pairs)) == 6
    assert scenarios(pairs, 4, seed=2) == scenarios(pairs, 4, seed=2) and len(scenarios(pairs, 4, seed=2)) == 4


# --- supervised training -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slices() -> tuple[neg.NegotiationData, neg.NegotiationData]:
    """128 training and 32 validation lines of the shipped val.txt, with a vocabulary built on them."""
    return val_slices(128, 32)


def tiny_config(vocab_size: int, **overrides: float) -> DialogueTrainConfig:
    fields = {"epochs": 2, "batch_size": 16, "min_lr": 0.1, "seed": 3, **overrides}
    return DialogueTrainConfig("negotiator_gru", "val-slice", (("vocab_size", vocab_size), *TINY.items()), **fields)


def test_a_tiny_agent_learns(slices):
    train, valid = slices
    config = tiny_config(len(train.words), epochs=3, lr=1.0, min_lr=1.0)
    torch.manual_seed(config.seed)
    model = config.build_model()
    before, _ = evaluate_dialogue_model(model, train)
    history = train_dialogue_model(model, train, valid, config, "cpu", progress=False)
    assert config.anneal_lrs == () and len(history["loss"]) == 3
    assert history["loss"][-1] < history["loss"][0] < before
    after, _ = evaluate_dialogue_model(model, train)
    assert after < before - 0.5 and history["valid_perplexity"][-1] == pytest.approx(math.exp(history["valid_loss"][-1]))


def test_resume_equals_uninterrupted_across_annealing(slices, tmp_path):
    train, valid = slices
    config = tiny_config(len(train.words))
    assert config.anneal_lrs == (0.2,) and config.total_epochs == 3
    torch.manual_seed(config.seed)
    whole = config.build_model()
    full = train_dialogue_model(whole, train, valid, config, "cpu", tmp_path / "a", progress=False)
    for stop in (1, 2):  # stop mid-training, and right before the annealing epoch
        torch.manual_seed(config.seed)
        resumed = config.build_model()
        train_dialogue_model(resumed, train, valid, config, "cpu", tmp_path / f"b{stop}", stop_after_epoch=stop,
                             progress=False)
        torch.manual_seed(99)  # a different fresh model: everything must come from last.pt
        resumed = config.build_model()
        history = train_dialogue_model(resumed, train, valid, config, "cpu", tmp_path / f"b{stop}", progress=False)
        for name, tensor in whole.state_dict().items():
            assert torch.equal(tensor, resumed.state_dict()[name]), name
        assert history["loss"] == full["loss"] and history["lr"] == [1.0, 1.0, 0.2]


def test_cache_returns_the_same_weights_loaded_weights_only(slices, tmp_path):
    train, valid = slices
    config = tiny_config(len(train.words), epochs=1, min_lr=1.0)
    first = trained_dialogue_model(config, train, valid, "cpu", tmp_path)
    directory = dialogue_run_directory(config, tmp_path)
    assert directory.name == f"negotiator_gru-val-slice-{config.key()}"
    assert (directory / "config.json").exists()
    state = torch.load(directory / "final.pt", weights_only=True)
    torch.load(directory / "last.pt", weights_only=True)
    assert all(torch.equal(state[name], tensor) for name, tensor in first.state_dict().items())
    second = trained_dialogue_model(config, train, valid, "cpu", tmp_path)  # a cache hit: no training
    assert all(torch.equal(tensor, second.state_dict()[name]) for name, tensor in first.state_dict().items())
    assert len(dialogue_training_history(config, tmp_path)["loss"]) == 1
    assert not first.training


def test_config_validation():
    with pytest.raises(ConfigError, match="not a dialogue agent"):
        DialogueTrainConfig("lstm_lm", "x")
    with pytest.raises(ConfigError, match="takes no"):
        DialogueTrainConfig("negotiator_gru", "x", (("vocab_size", 10), ("hidden", 3)))
    with pytest.raises(ConfigError):
        DialogueTrainConfig("negotiator_gru", "x", (("vocab_size", 10),), decay_rate=1.0)
    recipe = DialogueTrainConfig("negotiator_gru", "x", (("vocab_size", 465),))
    assert recipe.anneal_lrs == pytest.approx((0.2, 0.04)) and recipe.total_epochs == 32
    assert recipe.key() != DialogueTrainConfig("negotiator_gru", "x", (("vocab_size", 465),), seed=2).key()
    quick = advagent("quick").supervised.config(465, "negotiate-unk20")
    assert dict(quick.model_options)["init_range"] == 0.0 and quick.total_epochs == 3


def test_rnn_goal_encoder_option():
    model = tiny_agent(rnn_context=True)
    output = model(torch.tensor([SCENARIO.input(0)]), torch.tensor([[neg.YOU_ID, 9, neg.EOT_ID, neg.THEM_ID, neg.SELECTION_ID]]))
    assert output.word_logits.shape == (1, 5, len(WORDS)) and output.selection_logits.shape == (1, 6, 18)


# --- REINFORCE ---------------------------------------------------------------------------------------

def test_discount_and_running_standardisation_hand_worked():
    torch.testing.assert_close(discounted_weights(3, 2.0, 0.5), torch.tensor([0.5, 1.0, 2.0]))
    standardise = RunningStandardiser()
    assert standardise(4.0) == 0.0  # one reward: its own mean, std floored at 1e-4
    assert standardise(8.0) == pytest.approx((8 - 6) / 2)  # mean 6, std 2
    assert standardise(0.0) == pytest.approx((0 - 4) / math.sqrt(32 / 3))


def test_reinforce_is_seeded_and_moves_the_policy(slices):
    train, _ = slices
    vocabulary = Vocabulary(train.words)
    games = [SCENARIO, Scenario((2, 2, 1), ((1, 2, 4), (3, 1, 2))), Scenario((1, 1, 3), ((0, 1, 3), (1, 0, 3)))]
    config = ReinforceConfig(epochs=2, sv_train_freq=2, max_turns=4, seed=5)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        learner = DialogueAgent(len(vocabulary), **TINY)
        torch.manual_seed(1)
        partner = ModelNegotiator(DialogueAgent(len(vocabulary), **TINY).eval(), vocabulary, max_words=8)
        start = {name: tensor.clone() for name, tensor in learner.state_dict().items()}
        history = reinforce(learner, partner, vocabulary, games, config, supervised=train)
        runs.append((history, learner.state_dict()))
        assert any(not torch.equal(start[name], tensor) for name, tensor in learner.state_dict().items())
        assert not learner.training and len(history["learner_score"]) == 2
    (first, weights), (second, again) = runs
    assert {k: v for k, v in first.items() if k != "seconds"} == {k: v for k, v in second.items() if k != "seconds"}
    assert all(torch.equal(weights[name], again[name]) for name in weights)
    with pytest.raises(ConfigError, match="unknown reward"):
        ReinforceConfig(reward="score")


# --- the white-box objectives (3.9), (3.10) ----------------------------------------------------------

def test_favourable_choices_hand_worked():
    # target = agent 1 (values 0, 2, 2); the adversary (4, 1, 2) takes the rest of (1, 4, 1):
    # S_adv = 10 - 4 k0 - k1 - 2 k2 > S_ori = 2 k1 + 2 k2  <=>  10 - 4 k0 > 3 k1 + 4 k2
    mask = favourable_choices(SCENARIO, target=1)
    choices = enumerate_choices(SCENARIO.counts)
    expected = {(0, 0, 0): True, (0, 3, 0): True, (0, 2, 1): False, (0, 4, 1): False, (1, 0, 0): True,
                (1, 1, 0): True, (1, 2, 0): False}
    for choice, favourable in expected.items():
        assert bool(mask[choices.index(choice)]) == favourable
    assert not bool(mask[-1]) and not bool(mask[-2])  # no agreement never favours the adversary


def test_decision_loss_and_selection_margin_hand_worked():
    favourable = torch.tensor([False, True, True, False])
    logits = torch.tensor([[2.0, 1.0, 0.5, 9.0], [0.0, 3.0, -1.0, 1.0]])
    # row 0: Z_o' = 2 (original 0), best favourable 1 -> 1; row 1: 0 - 3 = -3, clipped at -kappa
    torch.testing.assert_close(decision_loss(logits, 0, favourable), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(decision_loss(logits, 0, favourable, kappa=5.0), torch.tensor([1.0, -3.0]))
    with pytest.raises(ConfigError):
        decision_loss(logits, 0, torch.zeros(4, dtype=torch.bool))
    next_logits = torch.zeros(2, len(WORDS))
    next_logits[0, neg.SELECTION_ID], next_logits[0, 9] = 2.0, 0.5
    next_logits[1, neg.SELECTION_ID], next_logits[1, neg.THEM_ID], next_logits[1, 10] = 1.0, 5.0, 1.5
    torch.testing.assert_close(selection_margin(next_logits), torch.tensor([1.5, -0.5]))  # THEM: is unspeakable
    torch.testing.assert_close(selection_margin(next_logits, speakable_only=False), torch.tensor([1.5, -4.0]))


def test_initialisation_2017_or_torch_default():
    recipe = tiny_agent(0).state_dict()
    assert float(recipe["word_embedding.weight"].abs().max()) <= 0.1 and float(recipe["decoder.bias"].abs().max()) == 0
    default = tiny_agent(0, init_range=0.0).state_dict()  # torch's initialisation: N(0, 1) embeddings
    assert float(default["word_embedding.weight"].std()) == pytest.approx(1.0, abs=0.2)
