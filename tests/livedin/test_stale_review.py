"""A review plan goes stale in a lived-in NetBox: a person makes the device it would create."""

import pytest

from dcim.models import Device, DeviceRole, DeviceType, Site

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.sync import apply_review, approve_changes

from ..reliability.conftest import sync

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def test_a_device_made_by_hand_after_the_plan_is_a_conflict_not_a_duplicate(baseline, simulator, meraki_config):
    serial = simulator.add_device(baseline.networks['campus_a'], model='MS120-8LP', name='new-switch')
    run = sync(baseline.org_a, SyncModeChoices.REVIEW)
    assert run.status == RunStatusChoices.AWAITING_REVIEW, (run.status, run.error)
    assert run.changes.filter(kind='device', meraki_id=serial, action='create').exists()
    # Before anyone approves, a person enters the switch they just unpacked.
    by_hand = Device.objects.create(
        name='new-switch (by hand)', serial=serial, site=Site.objects.get(pk=baseline.hand['site']),
        device_type=DeviceType.objects.get(model='C9300-48P'), role=DeviceRole.objects.get(slug='core-switch'),
    )

    approve_changes(run)
    run = apply_review(run, background=False)

    change = run.changes.get(kind='device', meraki_id=serial)
    assert change.state == ChangeStateChoices.CONFLICT and change.reason.strip(), (
        f'The creation of {serial}, made by hand since the plan, is {change.state}: {change.reason!r}')
    devices = list(Device.objects.filter(serial=serial).values_list('pk', flat=True))
    assert devices == [by_hand.pk], f'{len(devices)} devices with serial {serial}: {devices}'
    by_hand.refresh_from_db()
    assert (by_hand.name, by_hand.device_type.model) == ('new-switch (by hand)', 'C9300-48P')
