"""LLDP/CDP neighbours people keep in NetBox: a cable only when the advertised name means exactly one device."""

import pytest

from dcim.models import Interface

from netbox_meraki.models import SyncRun

from .conftest import AMBIGUOUS_NEIGHBOUR, AMBIGUOUS_PORT, UNIQUE_PORT, owned_pk

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def switch_port(baseline, port):
    return Interface.objects.get(pk=owned_pk('interface', f'{baseline.serials["branch_switch"]}:port/{port}'))


def test_a_cable_goes_to_the_neighbour_whose_name_one_device_has(baseline, simulator, meraki_config):
    neighbour = Interface.objects.get(pk=baseline.hand['dist_sw_interface'])
    port = switch_port(baseline, UNIQUE_PORT)

    assert port.cable_id and neighbour.cable_id == port.cable_id, (
        f'No cable between {port.device} {port} and {neighbour.device} {neighbour}, its only namesake')


def test_no_cable_to_a_neighbour_whose_name_two_devices_share_and_the_run_says_why(baseline, simulator,
                                                                                   meraki_config):
    namesakes = Interface.objects.filter(device_id__in=baseline.hand['core_sw'], name=AMBIGUOUS_NEIGHBOUR[1])
    port = switch_port(baseline, AMBIGUOUS_PORT)

    cabled = [f'{interface.device} in {interface.device.site}' for interface in namesakes if interface.cable_id]
    assert not cabled and not port.cable_id, (
        f'{port.device} {port} was cabled to one of two devices named {AMBIGUOUS_NEIGHBOUR[0]}: {cabled}')
    run = SyncRun.objects.get(pk=baseline.first_runs[baseline.org_a])
    reasons = [change.reason for change in run.changes.filter(kind='cable') if AMBIGUOUS_NEIGHBOUR[0] in change.reason
               or AMBIGUOUS_NEIGHBOUR[0] in change.meraki_id and change.reason]
    lines = [line for line in run.log if AMBIGUOUS_NEIGHBOUR[0] in str(line)]
    assert reasons or lines, (
        f'The run does not say why {port.device} {port} got no cable to {AMBIGUOUS_NEIGHBOUR[0]}: no change reason '
        f'or log line names it')
