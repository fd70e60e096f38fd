import numpy as np
import pytest
import torch
from torch import nn

from bilstm_attn import TrainingInterruptedWarning
from bilstm_attn.training import EarlyStopping, ParameterAverage, run_epochs


def toy_problem(seed=0):
    torch.manual_seed(seed)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    module = nn.Linear(3, 1)
    batches = [slice(i, i + 16) for i in range(0, 64, 16)]

    def batch_loss(batch):
        return ((module(x[batch]).squeeze(-1) - y[batch]) ** 2).mean()

    return module, batches, batch_loss


def test_loss_goes_down_and_history_has_one_record_per_epoch():
    module, batches, batch_loss = toy_problem()
    history = []
    outcome = run_epochs(
        module,
        torch.optim.SGD(module.parameters(), lr=0.05),
        epoch_batches=lambda epoch: batches,
        batch_loss=batch_loss,
        validate=None,
        max_epochs=5,
        history=history,
    )
    assert outcome.epochs == 5 and not outcome.stopped_early and not outcome.interrupted
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert not module.training


def test_early_stopping_restores_the_best_validation_weights():
    module, batches, batch_loss = toy_problem()
    scripted = iter([3.0, 1.0, 2.0, 2.5, 0.5])  # best at epoch 2, then two worse epochs
    snapshots = []

    def validate():
        snapshots.append(module.weight.detach().clone())
        return {"valid_loss": next(scripted)}

    outcome = run_epochs(
        module,
        torch.optim.SGD(module.parameters(), lr=0.05),
        epoch_batches=lambda epoch: batches,
        batch_loss=batch_loss,
        validate=validate,
        max_epochs=5,
        history=[],
        n_iter_no_change=2,
    )
    assert outcome.epochs == 4 and outcome.stopped_early and outcome.best_epoch == 2
    assert torch.equal(module.weight, snapshots[1])


def test_gradient_clipping_bounds_the_step():
    module, batches, batch_loss = toy_problem()
    before = module.weight.detach().clone()
    run_epochs(
        module,
        torch.optim.SGD(module.parameters(), lr=1.0),
        epoch_batches=lambda epoch: batches[:1],
        batch_loss=lambda b: 1000 * batch_loss(b),
        validate=None,
        max_epochs=1,
        history=[],
        grad_clip=0.01,
    )
    step = torch.cat([(module.weight - before).flatten()]).norm()
    assert step <= 0.01 + 1e-6


def test_ctrl_c_keeps_the_best_weights_and_warns():
    module, batches, batch_loss = toy_problem()
    calls = []

    def interrupting_loss(batch):
        calls.append(1)
        if len(calls) == 2 * len(batches) + 2:  # during epoch 3
            raise KeyboardInterrupt
        return batch_loss(batch)

    snapshots = []

    def validate():
        snapshots.append(module.weight.detach().clone())
        return {"valid_loss": [1.0, 2.0][len(snapshots) - 1]}

    history = []
    with pytest.warns(
        TrainingInterruptedWarning, match="during epoch 3; keeping the weights of epoch 1"
    ):
        outcome = run_epochs(
            module,
            torch.optim.SGD(module.parameters(), lr=0.05),
            epoch_batches=lambda epoch: batches,
            batch_loss=interrupting_loss,
            validate=validate,
            max_epochs=10,
            history=history,
        )
    assert outcome.interrupted and outcome.epochs == 2 and outcome.best_epoch == 1
    assert torch.equal(module.weight, snapshots[0]) and len(history) == 2


def test_early_stopping_flag():
    stopper = EarlyStopping(patience=2, tol=0.1)
    module = nn.Linear(1, 1)
    assert stopper.update(module, 1.0, 1)
    assert not stopper.update(module, 0.95, 2)  # not better by tol
    assert not stopper.should_stop
    assert not stopper.update(module, 1.2, 3)
    assert stopper.should_stop and stopper.best_epoch == 1


def test_parameter_average_follows_the_documented_recursion():
    module = nn.Linear(2, 1)
    average = ParameterAverage(module, decay=0.9)
    expected = module.weight.detach().clone()
    for step in range(1, 40):
        with torch.no_grad():
            module.weight.add_(torch.randn_like(module.weight))
        average.update()
        decay = min(0.9, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * module.weight.detach()
    assert torch.allclose(average.averages[0], expected, atol=1e-6)
    assert not torch.allclose(module.weight, expected)
    current = module.weight.detach().clone()
    with average.applied():
        assert torch.allclose(module.weight, expected, atol=1e-6)
    assert torch.equal(module.weight, current)


def _fit(average_decay, validate=None, seed=0):
    module, batches, batch_loss = toy_problem(seed)
    history = []
    run_epochs(
        module,
        torch.optim.SGD(module.parameters(), lr=0.05),
        epoch_batches=lambda epoch: batches,
        batch_loss=batch_loss,
        validate=validate(module) if validate else None,
        max_epochs=4,
        history=history,
        average_decay=average_decay,
    )
    return module, history


def test_averaging_leaves_the_training_trajectory_and_ends_on_the_average():
    plain, plain_history = _fit(None)
    averaged, averaged_history = _fit(0.99)
    # The optimizer steps the same parameters: the same training losses epoch by epoch.
    assert [r["train_loss"] for r in plain_history] == [r["train_loss"] for r in averaged_history]
    # The module ends on the average of 16 steps, which trails the last step.
    assert not torch.allclose(plain.weight, averaged.weight)
    module, batches, batch_loss = toy_problem()
    average = ParameterAverage(module, 0.99)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05)
    for _ in range(4):
        for batch in batches:
            optimizer.zero_grad()
            batch_loss(batch).backward()
            optimizer.step()
            average.update()
    assert torch.allclose(averaged.weight, average.averages[0], atol=1e-6)


def test_validation_and_the_restored_best_weights_are_the_averaged_ones():
    seen = []

    def validate(module):
        def run():
            seen.append(module.weight.detach().clone())
            return {"valid_loss": [3.0, 1.0, 2.0, 2.5][len(seen) - 1]}  # best: epoch 2

        return run

    module, history = _fit(0.99, validate)
    _, plain_history = _fit(None)
    assert [r["train_loss"] for r in history] == [r["train_loss"] for r in plain_history]
    assert torch.equal(module.weight, seen[1])
    reference, _ = _fit(0.99)  # no validation: ends on the average after 4 epochs
    assert not torch.equal(seen[3], seen[1]) and torch.allclose(seen[3], reference.weight)


def test_warmup_linear_rises_then_falls_to_zero_at_the_end():
    from bilstm_attn.training import warmup_linear

    assert warmup_linear(0.025) == pytest.approx(0.5)
    assert warmup_linear(0.05) == pytest.approx(1.0)
    assert warmup_linear(0.525) == pytest.approx(0.5)
    assert warmup_linear(1.0) == 0.0
    rising = [warmup_linear(p / 100) for p in range(1, 6)]
    falling = [warmup_linear(p / 100) for p in range(5, 101)]
    assert rising == sorted(rising) and falling == sorted(falling, reverse=True)


@pytest.mark.parametrize("estimator", ["classifier", "translator"])
def test_lr_schedule_sets_the_rate_of_every_step(estimator, monkeypatch):
    from bilstm_attn import BiLSTMAttentionClassifier, Seq2SeqTranslator
    from bilstm_attn.training import warmup_linear

    rates = []
    step = torch.optim.AdamW.step

    def watched(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", watched)
    common = dict(hidden_size=8, embedding_dim=8, max_epochs=4, batch_size=8, random_state=0,
                  learning_rate=0.01, lr_schedule="warmup_linear", validation_fraction=None,
                  n_iter_no_change=None)  # fmt: skip
    if estimator == "classifier":
        BiLSTMAttentionClassifier(**common, min_frequency=1).fit(["a b", "b a"] * 20, [0, 1] * 20)
    else:
        Seq2SeqTranslator(**common).fit(["ab", "ba"] * 20, ["x", "y"] * 20)
    assert len(rates) == 4 * 5  # 40 texts in batches of 8, 4 epochs
    expected = [0.01 * warmup_linear(n / 20) for n in range(1, 21)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=0)
