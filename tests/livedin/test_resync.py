"""A lived-in NetBox with library device types converges: after a clean first run, the next plans nothing."""

import pytest

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices
from netbox_meraki.models import SyncRun

from ..reliability.conftest import sync
from .conftest import AMBIGUOUS_NEIGHBOUR

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def reported_ambiguity(change):
    """The cable to the neighbour two NetBox devices are named after, skipped and reported on every run."""
    return (change.kind == 'cable' and change.state == ChangeStateChoices.SKIPPED
            and AMBIGUOUS_NEIGHBOUR[0] in change.meraki_id and change.reason)


def describe(changes):
    return [f'{c.action} {c.kind} {c.object_repr} ({c.state}: {c.reason})' for c in changes][:15]


def test_a_second_run_after_a_clean_first_run_plans_nothing(baseline, simulator, meraki_config):
    for org_id, run_pk in baseline.first_runs.items():
        first = SyncRun.objects.get(pk=run_pk)
        not_applied = list(first.changes.exclude(state=ChangeStateChoices.APPLIED))
        problems = [c for c in not_applied if not reported_ambiguity(c)]
        assert not problems, f'The first sync of organization {org_id} was not clean ({first.status}): ' + str(
            describe(problems))
        # A skipped cable is reported as a partial run; nothing else may keep it from completing.
        expected = RunStatusChoices.PARTIAL if not_applied else RunStatusChoices.COMPLETED
        assert first.status == expected, (first.status, first.error, first.log[-5:])

    for org_id in baseline.first_runs:
        second = sync(org_id)
        planned = [c for c in second.changes.all() if not reported_ambiguity(c)]
        assert not planned, f'The second sync of organization {org_id} planned changes: {describe(planned)}'
