"""
A run's changes at volume: grouped by site or device (a header per group, its count, its approve and reject), filtered
by site, device and network, reasons that name objects, and a page whose queries do not grow with its size.
"""

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dcim.models import Device, Site

from netbox_meraki.choices import ChangeStateChoices, SyncModeChoices
from netbox_meraki.filtersets import ChangeFilterSet
from netbox_meraki.models import Change, SyncedObject
from netbox_meraki.sync import execute_review

from .conftest import run_sync

pytestmark = pytest.mark.django_db

APPROVE = reverse('plugins:netbox_meraki:change_bulk_approve')


@pytest.fixture
def reviewer(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change', 'netbox_meraki.approve_change')
    return user_client


def changes_url(run):
    return reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk})


def expected_devices(run):
    """
    {change pk: serial of the device it is about}, worked out from the changes' values the long way round (an
    address's interface's device, a cable's first end's device), to check the grouping's SQL against.
    """
    changes = list(run.changes.all())
    interface_device = {change.meraki_id: change.after['device']['id'] for change in changes
                        if change.kind == 'interface' and change.after.get('device')}
    devices = {}
    for change in changes:
        values = change.after or change.before
        if change.kind in ('device', 'primaryip', 'vcmember'):
            devices[change.pk] = change.meraki_id
        elif change.kind == 'interface':
            devices[change.pk] = values['device']['id']
        elif change.kind == 'primarymac':
            devices[change.pk] = interface_device[change.meraki_id]
        elif change.kind in ('ipaddress', 'macaddress'):
            devices[change.pk] = interface_device[values['assigned_object']['id']]
        elif change.kind == 'cable':
            devices[change.pk] = interface_device[values['a']['id']]
    return devices


def group_rows(page):
    """[(group header text, [change ids under it])] in the order of the page."""
    groups = []
    for row in re.findall(r'<tr\b([^>]*)>(.*?)</tr>', page, re.S):
        attrs, cells = row
        if 'change-group' in attrs:
            groups.append((unescape(re.sub(r'<[^>]+>', ' ', cells)), []))
        elif match := re.search(r'id="change-(\d+)"', attrs):
            groups[-1][1].append(int(match.group(1)))
    return groups


def test_grouped_by_site_each_site_heads_its_changes_with_their_count(reviewer, review_run):
    page = reviewer.get(changes_url(review_run), {'group_by': 'site', 'per_page': 1000}).content.decode()
    groups = group_rows(page)
    scopes = dict(review_run.changes.values_list('pk', 'scope'))
    sites = dict(review_run.changes.filter(kind='site').values_list('meraki_id', 'object_repr'))
    assert len(groups) == len(sites) + 1, 'one group per site and one for the organization-wide objects'
    assert 'No site' in groups[0][0] and {scopes[pk] for pk in groups[0][1]} == {''}
    for header, pks in groups[1:]:
        (network,) = {scopes[pk] for pk in pks}
        assert sites[network] in header
        assert f'{len(pks)} changes' in header
    assert sorted(pk for _, pks in groups for pk in pks) == sorted(scopes)


def test_grouped_by_device_each_device_heads_exactly_its_changes(reviewer, review_run):
    expected = expected_devices(review_run)
    names = dict(review_run.changes.filter(kind='device').values_list('meraki_id', 'object_repr'))
    page = reviewer.get(changes_url(review_run), {'group_by': 'device', 'per_page': 1000}).content.decode()
    groups = group_rows(page)
    assert 'No device' in groups[0][0] and not set(groups[0][1]) & set(expected)
    assert len(groups) == len(names) + 1
    for header, pks in groups[1:]:
        (serial,) = {expected[pk] for pk in pks}
        assert names[serial] in header and f'{len(pks)} change' in header
    # The device filter takes the same changes.
    serial = next(iter(names))
    assert set(ChangeFilterSet({'device': [serial]}, review_run.changes.all()).qs.values_list('pk', flat=True)) == {
        pk for pk, device in expected.items() if device == serial}


def test_a_groups_buttons_decide_its_undecided_changes_the_filter_shows(reviewer, review_run):
    network, site = review_run.changes.filter(kind='site').values_list('meraki_id', 'object_repr').first()
    page = reviewer.get(changes_url(review_run), {'group_by': 'site', 'action': 'create'}).content.decode()
    # The browser submits the hidden form of the run and filter, with the clicked button's site.
    form = re.search(r'<form id="change-group-decision".*?</form>', page, re.S).group()
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    button = re.search(rf'<button[^>]*formaction="([^"]+)" name="scope" value="{network}"[^>]*title="Approve',
                       page).group(1)
    assert button.startswith(APPROVE)
    assert fields['action'] == 'create' and 'scope' not in fields
    reviewer.post(unescape(button), {**fields, 'scope': network})

    approved = set(review_run.changes.filter(state=ChangeStateChoices.APPROVED).values_list('pk', flat=True))
    assert approved == set(review_run.changes.filter(scope=network, action='create').values_list('pk', flat=True))
    assert approved, f'nothing of site {site} was approved'
    assert review_run.changes.exclude(pk__in=approved).filter(state=ChangeStateChoices.PENDING).count() == (
        review_run.changes.count() - len(approved))


def test_a_group_has_no_buttons_without_the_approve_permission(user, user_client, grant, review_run):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change')
    page = user_client.get(changes_url(review_run), {'group_by': 'site'}).content.decode()
    assert 'change-group' in page
    assert 'form="change-group-decision"' not in page and 'id="change-group-decision"' not in page


def test_changes_filter_by_netbox_site_and_device(meraki_config, org_id):
    run = run_sync(org_id, SyncModeChoices.AUTO)
    site = Site.objects.filter(tags__slug='meraki').first()
    network = SyncedObject.objects.get(kind='site', object_id=site.pk).meraki_id
    of_site = ChangeFilterSet({'site_id': [site.pk]}, run.changes.all()).qs
    assert of_site.exists() and set(of_site.values_list('scope', flat=True)) == {network}
    assert of_site.count() == run.changes.filter(scope=network).count()

    device = Device.objects.filter(tags__slug='meraki').first()
    serial = SyncedObject.objects.get(kind='device', object_id=device.pk).meraki_id
    expected = {pk for pk, of in expected_devices(run).items() if of == serial}
    assert set(ChangeFilterSet({'device_id': [device.pk]}, run.changes.all()).qs.values_list('pk', flat=True)) == (
        expected)
    # A device the plugin does not own has no changes.
    other = Device.objects.create(name='not-synced', site=site, device_type=device.device_type, role=device.role)
    assert not ChangeFilterSet({'device_id': [other.pk]}, run.changes.all()).qs.exists()


def test_a_skipped_change_names_what_it_needs_with_its_meraki_identity_as_tooltip(reviewer, review_run):
    named = {serial: name for serial, name in review_run.changes.filter(kind='device').values_list(
        'meraki_id', 'object_repr') if name != serial}
    interface = next(change for change in review_run.changes.filter(kind='interface')
                     if change.after['device']['id'] in named)
    serial = interface.after['device']['id']
    device_name = named[serial]
    reviewer.post(APPROVE, {'change': interface.pk})
    reviewer.post(reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk}))
    execute_review(review_run)
    interface.refresh_from_db()
    assert interface.state == ChangeStateChoices.SKIPPED
    assert interface.reason == f'needs device {device_name}, which is not in NetBox'
    page = reviewer.get(changes_url(review_run), {'state': 'skipped'}).content.decode()
    assert f'title="device {device_name}: Meraki {serial}"' in page


def clone(run, copies):
    """`copies` more of the run's changes, each copy's site and devices its own (identities prefixed)."""
    originals = list(run.changes.all())
    Change.objects.bulk_create([
        Change(run=run, sequence=copy * len(originals) + change.sequence, action=change.action, kind=change.kind,
               meraki_id=f'C{copy}{change.meraki_id}', object_repr=change.object_repr,
               scope=f'C{copy}{change.scope}' if change.scope else '', before=change.before, after=change.after,
               state=change.state, reason=change.reason)
        for copy in range(1, copies + 1) for change in originals
    ])


@pytest.mark.parametrize('group_by', ['', 'site', 'device'])
def test_the_changes_page_makes_as_many_queries_at_1000_a_page_as_at_50(reviewer, review_run, group_by):
    clone(review_run, 20)
    assert review_run.changes.count() > 2000
    counts = {}
    for per_page in (50, 1000):
        with CaptureQueriesContext(connection) as queries:
            response = reviewer.get(changes_url(review_run), {'group_by': group_by, 'per_page': per_page})
        assert response.status_code == 200
        assert len(re.findall(r'id="change-\d+"', response.content.decode())) == per_page
        counts[per_page] = len(queries)
    assert counts[1000] == counts[50], counts


def test_the_list_of_every_runs_changes_groups_and_filters_too(admin_client, review_run):
    network = review_run.changes.filter(kind='site').values_list('meraki_id', flat=True).first()
    page = admin_client.get(reverse('plugins:netbox_meraki:change_list'), {
        'group_by': 'site', 'scope': network, 'per_page': 1000,
    }).content.decode()
    ((header, pks),) = group_rows(page)
    assert set(pks) == set(review_run.changes.filter(scope=network).values_list('pk', flat=True))
    assert f'{len(pks)} changes' in header
    # No review here: the group has no buttons. The filters tab offers the grouping.
    assert 'form="change-group-decision"' not in page
    assert 'name="group_by"' in page
