"""What the in-process CPU benchmarks share: the load average they print,
and timing systems that take turns (models.py, resnet18_step.py)."""
import statistics
import time


def load_average():
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    return " ".join(open("/proc/loadavg").read().split()[:3])


def median_step_ms(steps, rounds, steps_per_round):
    """Median over `rounds` rounds of the mean time (ms) of `steps_per_round`
    calls of each step function in `steps` (name -> callable). Each is
    called twice first (primitives, caches); in each round every system runs
    in turn, so machine noise reaches all of them alike."""
    for step in steps.values():
        step()
        step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(steps_per_round):
                step()
            times[name].append(1e3 * (time.perf_counter() - start) / steps_per_round)
    return {name: statistics.median(t) for name, t in times.items()}
