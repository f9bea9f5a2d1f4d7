"""
A run stopped from outside while it applies: the job's time limit (RQ raises JobTimeoutException wherever the run is)
ends the run as failed with the reason, and a worker's shutdown ends it as interrupted; either way the
organization's lock is released, no change is marked failed for it, and the next sync finishes the job.
"""

import signal
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.db.models.signals import post_save
from rq.exceptions import ShutDownImminentException
from rq.timeouts import JobTimeoutException

from dcim.models import Device

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.locks import organization_lock_key
from netbox_meraki.sync import apply_review, approve_changes

from .conftest import assert_converged, sync, sync_and_review


@pytest.fixture
def approved_review(committed, meraki_config, org_id):
    """
    A first sync's plan (hundreds of changes), approved and waiting to be applied. Committed, as a worker commits: a
    stop in the middle of a query leaves the connection unusable, and Django then drops it (which releases the
    session's lock), where a test's enclosing transaction could not recover.
    """
    run = sync(org_id, SyncModeChoices.REVIEW)
    approve_changes(run)
    return run


@contextmanager
def stopped_during_the_apply(exception):
    """
    Raise `exception` as RQ raises a job's timeout or a worker's shutdown: from a signal handler, in whatever code
    runs when the signal comes. The alarm is set when the first device is written, so it comes during the apply.
    """
    def arm(sender, **kwargs):
        post_save.disconnect(arm, sender=Device)
        signal.setitimer(signal.ITIMER_REAL, 0.2)

    def stop(signum, frame):
        raise exception

    previous = signal.signal(signal.SIGALRM, stop)
    post_save.connect(arm, sender=Device, weak=False)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        post_save.disconnect(arm, sender=Device)


def lock_is_free(org_id):
    """Whether another database session can take the organization's lock (the sync's session may re-enter it)."""
    with psycopg.connect(**connection.get_connection_params()) as other:
        key = organization_lock_key(org_id)
        taken = other.execute('SELECT pg_try_advisory_lock(%s)', [key]).fetchone()[0]
        if taken:
            other.execute('SELECT pg_advisory_unlock(%s)', [key])
        return taken


def assert_stopped_as_a_whole(run, status, reason, org_id):
    assert run.status == status
    assert reason in run.error and 'during apply' in run.error
    assert run.log[-1]['message'] == run.error
    states = set(run.changes.values_list('state', flat=True))
    assert ChangeStateChoices.FAILED not in states
    assert ChangeStateChoices.APPROVED in states  # what the stop came before is still to do
    assert lock_is_free(org_id)


def test_the_job_time_limit_fails_the_run_with_the_reason_never_a_change(approved_review, org_id):
    with stopped_during_the_apply(JobTimeoutException('Task exceeded maximum timeout value (3600 seconds)')):
        run = apply_review(approved_review, background=False)
    assert_stopped_as_a_whole(run, RunStatusChoices.FAILED, 'Stopped by the job time limit', org_id)
    assert 'job_timeout' in run.error

    assert sync_and_review(org_id).status == RunStatusChoices.COMPLETED
    assert_converged(org_id)


def test_a_worker_shutdown_interrupts_the_run_and_releases_its_lock(approved_review, org_id):
    shutdown = ShutDownImminentException('shut down imminent', {})
    with pytest.raises(ShutDownImminentException), stopped_during_the_apply(shutdown):
        apply_review(approved_review, background=False)
    approved_review.refresh_from_db()
    assert_stopped_as_a_whole(approved_review, RunStatusChoices.INTERRUPTED, 'Stopped with its process', org_id)

    assert sync_and_review(org_id).status == RunStatusChoices.COMPLETED
    assert_converged(org_id)
