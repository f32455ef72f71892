# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3.2 AdvAgent: attacking and hardening a negotiation agent (Tables 3.9–3.15)
#
# Seq2Sick attacked a model that maps one sentence to another. AdvAgent
# {cite}`cheng2019advagent` attacks an *agent*: a goal-oriented dialogue system that talks with a
# partner over several turns and then acts. The running example is the negotiation game of
# Lewis et al. {cite}`lewis2017deal` ("Deal or No Deal").
#
# **The game.** A pool holds 1–4 books, hats and balls. Each agent has its own value per item, so
# that its whole pool is worth 10 points; it sees only its own values. The agents talk, in turns
# (at most 10 here, §3.2.1), until one says `<selection>`. Then each outputs the items it takes
# (Eq. (3.6)). If the two selections split the pool, each scores the value of its part;
# otherwise both score 0.
#
# **The agent.** One network both speaks and decides. A GRU language model writes each word given
# the dialogue so far and the goal (Eq. (3.5)), sampling at temperature 0.5. A bidirectional GRU
# with attention reads the whole dialogue and scores every legal split (Eq. (3.6)). The *SV agent*
# imitates the human dialogues of the data; the *RL agent* is the SV agent fine-tuned by
# REINFORCE {cite}`williams1992reinforce` in self-play against the SV agent, reward its own score.
#
# **The attacker's rule.** The adversary never decides: it takes whatever the target leaves. So a
# game ends in a deal whenever the target selects a split, and the question is only how much the
# target gives away. Four numbers measure that (§3.2.5): both mean scores (0 for no deal), their
# difference, the *advantage* $\bar S_{adv} - \bar S_{ori}$, the *positive advantage rate* (PAR,
# the share of games the adversary wins), and the agreement rate.
#
# **Six attacks.**
#
# * *RL attack* (black-box, §3.2.2.1): an adversary trained by policy gradient with the reward
#   $r_{adv} = S_{adv} - S_{ori}$ (Eqs. (3.7)–(3.8)).
# * *Transfer* (black-box, §3.2.2.2): three ordinary turns, then a sentence that won a past
#   dialogue for the RL attacker.
# * *Reactive* (white-box, §3.2.3.2): edit the adversary's sentence so that the target's next word
#   is `<selection>` (constraint (3.9)) and its decision favours the adversary: with $o'$ the
#   target's choice and $\bar O$ the choices that leave the adversary more,
#   $L = \max\{[Z_o]_{o'} - \max_{o\in\bar O}[Z_o]_o,\ -\kappa\}$ (Eqs. (3.10)–(3.11)).
# * *Preemptive* (white-box, §3.2.3.3): edit the sentence so that, after the target's reply and
#   the adversary's `<selection>`, the decision favours the adversary (Eq. (3.12)).
# * *RA+PA+DA* and *RA+PA+TA* (Algorithm 7): at every adversary turn, try the reactive edit, then
#   the preemptive one; if neither drives $L$ below 0, say the ordinary sentence (a delayed
#   attack) or a transfer sentence.
#
# The white-box edits use the thesis's greedy step. Set each word to `<pad>` in turn and pick the
# position whose removal lowers the loss most. Try every vocabulary word there in one batched
# pass, and keep the best. At most two words change.
#
# **Adversarial training** (§3.2.4) solves $\min_{\theta_{ori}}\max_{\theta_{adv}} S_{adv} - S_{ori}$
# (Eq. (3.13)) by alternating policy-gradient updates of the target and of the RL attacker.
#
# **Choices the thesis leaves open, and where the author's code departs from it.**
#
# * *The agents* are LYD17's 2017 architecture and recipe (`advrobust.models.DialogueAgent`,
#   `advrobust.training.dialogue`). At `quick` the SV agent is narrower, keeps torch's
#   initialisation and trains 3 epochs with Adam; the self-play runs take one pass over 150
#   scenarios at a tenth of the recipe's learning rates, which on this Adam-trained agent double
#   the validation perplexity within 100 games. `paper` runs the recipe.
# * *Scoring*: the 2017 code, except that `<no_agreement>` always means no deal (the 2017 code
#   reads it as taking nothing). A game that reaches 10 turns without `<selection>` is no deal.
# * *$o'$ and $\kappa$.* $L$ uses as $o'$ the target's best unfavourable choice for each candidate
#   sentence. This equals the thesis's $o'$ while the original choice leads, and it is negative
#   exactly when the target's preferred choice favours the adversary. $\kappa = 1$ (the thesis
#   gives no value).
# * *The greedy search* is the thesis's `<pad>` heuristic with two words at most; the author's code
#   searches exhaustively with no limit on changed words. Special tokens are never substituted in
#   (the author's logs show sentences such as "i just the THEM: and book"). The sentences that fail
#   constraint (3.9) rank after every sentence that meets it.
# * *The preemptive loss* samples the target's reply (3 samples per candidate at `paper`; 1, of at
#   most 20 words, at `quick`) and averages $L$. In Algorithm 7 a preemptive edit counts only if $L$ stays below 0
#   on 10 fresh replies, as the author's code re-scores its candidates. The fixed-turn attacks
#   speak their edited sentence whether or not the search succeeded.
# * *The RL attacker's reward* is the thesis's $S_{adv} - S_{ori}$, standardised by the running
#   mean and standard deviation of the 2017 code. The author's code rewards $5 -$ the decision loss.
# * *Regular speaking module.* The white-box and transfer adversaries speak with the RL agent
#   when they do not attack, as the no-attack row's adversary does.
# * *Adversarial training*: each round, one REINFORCE pass of the target against the fixed
#   attacker (reward $S_{ori} - S_{adv}$, the target's side of Eq. (3.13)), then one of the
#   attacker against the updated target. Table 3.14's RL attack is the attacker of the last round.
# * *Scenarios*: `selfplay.txt`'s 4,086 scenarios are shuffled once. Evaluation scenarios come
#   first; self-play training uses the rest, so no agent is tested on a scenario it trained on.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"  # auto | cpu | cuda
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch3_advagent as ch3
from advrobust.experiments.setup import setup_chapter
from advrobust.profiles.dialogue import advagent

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = advagent(profile)
print(f"{chapter.describe()}: {settings.describe()}")

# %% [markdown]
# ## Table 3.9: a negotiation from the data
#
# A dialogue between two people of the data (the scenario of the thesis's Table 3.9, which shows
# a person against an agent).

# %%
turns, outcome = ch3.table_3_9()
results.table(turns, "table_3_9_dialogue", caption="Table 3.9: a negotiation from the training dialogues.")
results.table(outcome, "table_3_9_outcome", caption="Table 3.9 (continued): the pool, the values and the deal.")

# %% [markdown]
# ## The agents
#
# The SV agent learns from the human dialogues; the RL agent, the two RL attackers (one trained
# against each target) and the adversarially trained agent come from self-play. All are cached,
# so a second run of the page only plays. The thesis reports validation perplexity 5.47 for its
# SV agent and 5.86 for its RL agent: reinforcement learning trades some human-likeness for
# reward.

# %%
setup = ch3.negotiation(settings, chapter.device)
agents = ch3.agents(setup)
results.table(ch3.perplexities(setup, agents, profile), "perplexity", caption=(
    "Validation perplexity of the agents (2017 validation dialogues), thesis beside ours."))

# %% [markdown]
# ## Table 3.10: six attacks against the SV and the RL agent
#
# Each row plays the same evaluation scenarios with the same seeds (the counts are in the
# `games` column). The thesis's rows use 2,000 scenarios; the author's logs suggest that its
# preemptive row against the RL agent comes from 52 dialogues (a log of 52 dialogues reports
# 6.79 against 6.02, advantage 0.77, the thesis's row).

# %%
runs = {name: ch3.attack_rows(setup, target, agents.rl, agents.attackers[name])
        for name, target in (("SV", agents.sv), ("RL", agents.rl))}
table_3_10 = ch3.attack_table(runs, "table_3_10", profile)
results.table(table_3_10, "table_3_10", caption=(
    "Table 3.10: PAR, adversary and target scores, advantage and agreement of each attack against the SV and the "
    "RL agent, thesis (2,000 scenarios) beside ours."))

# %% [markdown]
# ### What the white-box searches achieved
#
# An attack's advantage mixes two things: how often its search meets its goal, and what happens
# in the games where it does not. The table counts both for each white-box row. When a reactive
# edit succeeds and the target then says `<selection>`, the adversary wins by construction: the
# target's decision is the choice the search scored.

# %%
results.table(ch3.search_outcomes(runs), "search_outcomes", caption=(
    "The white-box searches of Table 3.10: edits, edits that met Algorithm 7's test, and what the target did "
    "after a successful reactive edit."))

# %% [markdown]
# ## Tables 3.11–3.13: dialogues of the attacks against the RL agent
#
# The first game of each attack that the adversary won. Where the white-box search changed the
# adversary's sentence, the ordinary sentence it replaced is shown below the dialogue.

# %%
for name, caption, row in (("table_3_11", "Table 3.11: the RL attack against the RL agent", "rl"),
                           ("table_3_12", "Table 3.12: the reactive attack against the RL agent", "reactive"),
                           ("table_3_13", "Table 3.13: the RA+PA+DA attack against the RL agent", "ra_pa_da")):
    results.text(ch3.example_dialogue(runs["RL"][row]), name, caption=caption)

# %% [markdown]
# ## Table 3.14: the attacks against the adversarially trained agent
#
# The RL agent after adversarial training (Eq. (3.13)), attacked by the same six attacks. Its RL
# attack is the attacker of the last round of the alternation, trained against it. The thesis
# finds the RL attack's advantage falls from 2.32 to −1.80, and the white-box attacks lose
# ground as well.

# %%
runs_3_14 = ch3.attack_rows(setup, agents.adversarially_trained, agents.rl, agents.co_trained_attacker)
table_3_14 = ch3.attack_table({"Adversarially trained": runs_3_14}, "table_3_14", profile)
results.table(table_3_14, "table_3_14", caption=(
    "Table 3.14: the six attacks against the adversarially trained agent, thesis beside ours."))

# %% [markdown]
# ## Table 3.15: the reactive attack at turn n
#
# The fixed-turn reactive attack waits for n utterances. The thesis finds the turn matters little
# (advantage 4.84–5.52), which it reads as the best turn varying from game to game: the motive
# for Algorithm 7's attack at any turn. A turn counts utterances of both agents, and the attack
# comes at the adversary's first turn once n utterances have passed, so n = 1 and n = 2 differ
# only in the games the target opens.

# %%
turn_runs = ch3.turn_runs(setup, agents.rl, agents.rl)
results.table(ch3.table_3_15(turn_runs, profile), "table_3_15", caption=(
    "Table 3.15: the reactive attack against the RL agent at turn n, thesis beside ours."))

# %% [markdown]
# ## The claims, measured
#
# Each comparison pairs the games two rows played on the same scenarios with the same seeds, and
# gives the mean difference of the advantage with a 95% bootstrap interval over those games. A
# claim whose interval contains zero is inconclusive at this number of games.

# %%
results.claims(ch3.claims(runs, runs_3_14, turn_runs))

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): do the agents agree without an attack?
#
# In the no-attack row both agents choose their share of the pool; a deal needs the two selections
# to split it. Predict the share of games without a deal for the SV and the RL agent, then read it
# from `runs[...]["none"].metrics.agreement`. What does it say about the selection module at this
# profile?

# %% tags=["solution"]
for name in ("SV", "RL"):
    metrics = runs[name]["none"].metrics
    print(f"{name} agent, no attack: {1 - metrics.agreement:.0%} of {metrics.games} games end without a deal")

# %% [markdown] tags=["solution"]
# In the thesis's Table 3.10 the no-attack games end in a deal 90% of the time against the SV agent
# and 76% against the RL agent; every attack row reaches 100%, since the adversary steers the target
# to `<selection>`. Our reduced-scale agents, trained on fewer dialogues for fewer epochs, fail to
# split the pool more often (at `smoke`, barely trained, they never agree): their selection module
# has seen less, and the RL agent, pushed towards its own score by self-play, asks for more than the
# other side's selection leaves. A game without a deal scores 0 for both sides, so the no-attack row's
# advantage and PAR, the baseline of every attack row, depend on this rate.

# %% [markdown]
# ### Exercise 2 (implement): the decision loss (3.10)
#
# Implement (3.10) in the form the attacks use: for the target's choice logits $Z$ (one row per
# candidate utterance) and the mask $\bar O$ of choices that favour the adversary,
# $\max\{\max_{o' \notin \bar O} Z_{o'} - \max_{o \in \bar O} Z_o,\ -\kappa\}$: positive while an
# unfavourable choice leads, and $-\kappa$ at most. The library's version is
# `advrobust.dialogue.objectives.decision_loss(logits, None, favourable, kappa)`; yours should pass
# `tests/test_dialogue_attacks.py::test_decision_loss_with_the_best_unfavourable_choice_hand_worked`.

# %% tags=["solution"]
import torch
from advrobust.dialogue.objectives import decision_loss

favourable = torch.tensor([False, True, True, False])
logits = torch.tensor([[2.0, 1.0, 0.5, 9.0], [0.0, 3.0, -1.0, 1.0]])
best_unfavourable = logits.masked_fill(favourable, float("-inf")).amax(dim=1)
best_favourable = logits.masked_fill(~favourable, float("-inf")).amax(dim=1)
by_hand = (best_unfavourable - best_favourable).clamp(min=-1.0)
assert torch.allclose(decision_loss(logits, None, favourable, kappa=1.0), by_hand)
assert torch.allclose(by_hand, torch.tensor([8.0, -1.0]))
print("decision loss per candidate:", by_hand.tolist())

# %% [markdown]
# ### Exercise 3 (predict, then run): three changed words
#
# The reactive attack changes at most two words of the adversary's utterance (the thesis's limit,
# `settings.whitebox.max_changes`). Predict whether three words raise the advantage on the first few
# games, and whether the sentences stay readable. Then run it with `ch3.run_attack` on a copy of
# `setup` whose settings allow three changes (`dataclasses.replace`, twice).

# %% tags=["solution"]
import dataclasses

few_games = min(4, settings.games["reactive"])
wider = dataclasses.replace(settings, whitebox=dataclasses.replace(settings.whitebox, max_changes=3))
three = ch3.run_attack(dataclasses.replace(setup, settings=wider), "reactive", agents.rl, agents.rl,
                       agents.attackers["RL"], (), few_games)
two = runs["RL"]["reactive"].advantages[:few_games]
print(f"advantage per game, two words: {two}; three words: {three.advantages}")
print(ch3.example_dialogue(three))

# %% [markdown] tags=["solution"]
# A third word widens the search, so the objective can only get at least as low on each utterance
# the search sees; but the games then diverge (the target reads different words), so on a few games
# the advantage may move either way. What grows reliably is the share of edits that meet
# Algorithm 7's test. The sentences become less readable: the greedy search picks whatever word
# moves the target's logits, with no language model to keep the sentence fluent, which is why the
# thesis limits the attack to two words.

# %% [markdown]
# ### Exercise 4: the author's exhaustive search
#
# The author's code tries every position and every word (100 iterations, no limit on changed
# words) instead of the `<pad>` heuristic. Estimate the cost of one iteration of each in forward
# passes of the target for an utterance of $n$ words and a vocabulary of $|V|$ words, and say what
# the heuristic can miss.

# %% [markdown] tags=["solution"]
# The heuristic scores $n$ candidates (each position set to `<pad>`), then $|V|$ words at the chosen
# position: $n + |V|$ candidates per iteration. The exhaustive search scores $n \cdot |V|$: for a
# ten-word utterance and a vocabulary of a few hundred words, about ten times as many candidates
# per iteration, and the code runs 100 iterations. The heuristic can miss the best substitution when the position whose removal
# lowers the loss most is not the one where *some* word lowers it most: removing a word and
# replacing it are different operations. The exhaustive search finds larger advantages per edit,
# at about ten times the cost and with more words changed.
