"""Shared estimator plumbing: inference spread over the CPU's cores."""

import threading
import time

import pytest
import torch

from bilstm_attn._base import gradient_map, inference_map

CPU = torch.device("cpu")


@pytest.fixture
def two_threads(torch_threads):
    """Two torch threads for one test (the suite runs with one)."""
    with torch_threads(2):
        yield


def probe(delay: float) -> tuple[float, int, bool, int]:
    time.sleep(delay)  # later items finish first
    return delay, torch.get_num_threads(), torch.is_inference_mode_enabled(), threading.get_ident()


def test_items_run_in_one_thread_workers_and_come_back_in_order(two_threads):
    delays = [0.05, 0.04, 0.03, 0.02, 0.01, 0.0, 0.03]
    results = list(inference_map(probe, delays, CPU))
    assert [r[0] for r in results] == delays
    assert {r[1] for r in results} == {1}  # one intra-op thread per worker
    assert all(r[2] for r in results)
    workers = {r[3] for r in results}
    assert threading.get_ident() not in workers and 1 <= len(workers) <= 2
    assert torch.get_num_threads() == 2  # the caller's count
    seen = []  # and the count a thread started afterwards takes
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert seen == [2]


def test_no_worker_ever_runs_an_item_on_more_than_one_thread(two_threads):
    """A worker thread takes its first count lazily from a process-wide one, which the
    other workers set to 1 and back to 2 around their items: it must take it before it
    sets its own (this failed in about one call in 40 when it did not)."""

    def count(delay: float) -> int:
        time.sleep(delay)
        return torch.get_num_threads()

    for _ in range(200):
        seen = set(inference_map(count, [0.002, 0.001, 0.0, 0.002, 0.0, 0.001, 0.0], CPU))
        assert seen == {1}


def test_one_thread_maps_in_the_calling_thread():
    assert torch.get_num_threads() == 1
    results = list(inference_map(probe, [0.0, 0.0], CPU))
    assert [(r[1], r[2], r[3]) for r in results] == [(1, True, threading.get_ident())] * 2
    assert not torch.is_inference_mode_enabled()


def test_a_worker_error_reaches_the_caller(two_threads):
    def fail_on_three(item: int) -> int:
        if item == 3:
            raise ValueError("item 3")
        return item

    results = inference_map(fail_on_three, range(10), CPU)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3"):
        next(results)
    assert torch.get_num_threads() == 2


def test_items_are_drawn_a_few_ahead_only(two_threads):
    drawn = []

    def items():
        for i in range(100):
            drawn.append(i)
            yield i

    results = inference_map(lambda i: i, items(), CPU)
    assert next(results) == 0
    assert len(drawn) == 4  # 2 per worker in flight
    results.close()  # stopping early leaves the rest undrawn
    assert len(drawn) == 4


def test_gradient_map_runs_items_with_autograd_in_one_thread_workers(two_threads):
    weight = torch.ones(3, requires_grad=True)

    def gradient(scale: float):
        with torch.no_grad():  # the item decides; the worker starts with autograd on
            pass
        (grad,) = torch.autograd.grad((weight * scale).sum(), weight)
        return scale, grad, torch.get_num_threads(), threading.get_ident()

    with torch.no_grad():  # a caller's no_grad does not reach the workers
        results = list(gradient_map(gradient, [1.0, 2.0, 3.0, 4.0], CPU))
    assert [r[0] for r in results] == [1.0, 2.0, 3.0, 4.0]
    for scale, grad, threads, _ in results:
        torch.testing.assert_close(grad, torch.full((3,), scale))
        assert threads == 1
    assert threading.get_ident() not in {r[3] for r in results}


def test_gradient_map_on_one_thread_is_a_map_with_autograd_on():
    weight = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        found = list(gradient_map(lambda s: torch.autograd.grad((weight * s).sum(), weight)[0],
                                  [2.0], CPU))  # fmt: skip
    torch.testing.assert_close(found[0], torch.full((2,), 2.0))
