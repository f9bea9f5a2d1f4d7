"""
The organization's API budget is shared with every other tool using it: a 429 holds back every thread of a run for
the Retry-After, the run slows to what the organization has left, keeps going, and says how long it waited.
"""

import threading
import time

import httpx
import pytest

from netbox_meraki.choices import RunStatusChoices, SyncModeChoices
from netbox_meraki.fetch import RateLimiter
from netbox_meraki.sync import RATE_LIMIT_WAIT, MerakiSyncService


def acquire_times(limiter, threads):
    """When each of `threads` threads got its turn, in seconds from now."""
    started, times = time.monotonic(), []

    def take():
        limiter.acquire()
        times.append(time.monotonic() - started)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(times)


def test_a_429_holds_every_thread_for_the_retry_after_then_paces_them_at_half_the_rate():
    limiter = RateLimiter(8)
    limiter.refused(0.5)
    times = acquire_times(limiter, 4)
    assert times[0] >= 0.45  # no thread goes before the Retry-After has passed
    assert limiter.rate == 4
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert all(gap >= 0.2 for gap in gaps), gaps  # then one request per 1/4 s: no burst
    assert limiter.waited == pytest.approx(0.5, abs=0.01)


def test_overlapping_429s_count_the_time_held_back_once_and_the_rate_grows_back_to_the_share():
    limiter = RateLimiter(8)
    limiter.refused(1)
    limiter.refused(1)  # a second thread refused at the same moment: the same pause
    assert limiter.waited == pytest.approx(1, abs=0.01)
    assert limiter.rate == 2
    for _ in range(100):
        limiter.answered()
    assert limiter.rate == 8


@pytest.mark.django_db
@pytest.mark.scale('small')
def test_a_run_sharing_the_budget_with_another_tool_slows_down_keeps_going_and_says_how_long_it_waited(
    meraki_config, simulator, org_id
):
    simulator.configure(rate_limit=10, burst=0)  # Meraki's 10 requests per second, without the burst
    stop = threading.Event()

    def other_tool():
        # About 8 of the organization's 10 requests per second, for as long as the run lasts (the limit is the
        # organization's, whatever key a tool uses).
        with httpx.Client(base_url=simulator.base_url, headers={'X-Cisco-Meraki-API-Key': simulator.api_key}) as http:
            while not stop.is_set():
                http.get(f'/organizations/{org_id}/networks')
                time.sleep(1 / 8)

    tool = threading.Thread(target=other_tool)
    tool.start()
    try:
        (run,) = MerakiSyncService().sync_all(mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id],
                                               background=False)
    finally:
        stop.set()
        tool.join()
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.api_rate_limited >= 1
    assert run.timings[RATE_LIMIT_WAIT] >= 1
    assert any('waited for them' in line['message'] for line in run.log), run.log
