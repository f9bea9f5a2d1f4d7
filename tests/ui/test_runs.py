"""Runs and their changes: the list, a run's page with its live progress, its changes, cancelling."""

from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ObjectType
from dcim.models import Site
from utilities.testing import ViewTestCases
from utilities.testing.utils import disable_warnings

from netbox_meraki.choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from netbox_meraki.models import Change, SyncedObject, SyncRun
from netbox_meraki.sync import outcome_line
from netbox_meraki.tables.display import outcome_parts

from .conftest import API_KEY


class PluginViewTestCase:
    """NetBox's view test cases, for this plugin's URL names."""

    def _get_base_url(self):
        return f'plugins:netbox_meraki:{self.model._meta.model_name}_{{}}'


def make_run(number, status=RunStatusChoices.COMPLETED, **fields):
    fields = {
        'organization_id': f'10{number}', 'organization_name': f'Org {number}', 'mode': SyncModeChoices.REVIEW,
        'trigger': RunTriggerChoices.MANUAL, **fields,
    }
    return SyncRun.objects.create(status=status, **fields)


def make_change(run, sequence, kind='site', action=ChangeActionChoices.CREATE, **fields):
    fields = {
        'meraki_id': f'N_{sequence}', 'object_repr': f'{kind} {sequence}', 'after': {'name': f'{kind} {sequence}'},
        **fields,
    }
    return Change.objects.create(run=run, sequence=sequence, kind=kind, action=action, **fields)


class SyncRunViewTestCase(
    PluginViewTestCase, ViewTestCases.GetObjectViewTestCase, ViewTestCases.ListObjectsViewTestCase,
):
    model = SyncRun

    @classmethod
    def setUpTestData(cls):
        for number in range(3):
            make_run(number, counts={'site': {'create': 2}}, log=[{'time': '2026-01-01T10:00:00+00:00',
                                                                   'level': 'info', 'message': f'run {number}'}])

    def test_list_objects_with_permission(self):
        # As NetBox's own test, without its per-app query-count baseline.
        self.add_permissions('netbox_meraki.view_syncrun')
        response = self.client.get(self._get_url('list'))
        self.assertHttpStatus(response, 200)
        self.assertIn('Org 1', response.content.decode())


class ChangeViewTestCase(PluginViewTestCase, ViewTestCases.ListObjectsViewTestCase):
    model = Change

    @classmethod
    def setUpTestData(cls):
        run = make_run(1)
        for sequence in range(3):
            make_change(run, sequence)

    def test_list_objects_with_permission(self):
        self.add_permissions('netbox_meraki.view_change')
        response = self.client.get(self._get_url('list'))
        self.assertHttpStatus(response, 200)
        self.assertIn('site 2', response.content.decode())


pytestmark = pytest.mark.django_db


def test_the_runs_list_filters_by_status_mode_trigger_and_organization(admin_client):
    make_run(1, status=RunStatusChoices.FAILED)
    make_run(2, status=RunStatusChoices.COMPLETED, trigger=RunTriggerChoices.SCHEDULE)
    url = reverse('plugins:netbox_meraki:syncrun_list')
    assert 'Org 1' in admin_client.get(url, {'status': 'failed'}).content.decode()
    assert 'Org 2' not in admin_client.get(url, {'status': 'failed'}).content.decode()
    assert 'Org 1' not in admin_client.get(url, {'trigger': 'schedule'}).content.decode()
    assert 'Org 2' in admin_client.get(url, {'organization_id': '102'}).content.decode()
    assert 'Org 1' not in admin_client.get(url, {'mode': 'auto'}).content.decode()


def test_the_runs_list_filters_by_full_read(admin_client):
    make_run(1, full_read=True)
    make_run(2)
    url = reverse('plugins:netbox_meraki:syncrun_list')
    assert 'Org 1' in admin_client.get(url, {'full_read': 'true'}).content.decode()
    assert 'Org 2' not in admin_client.get(url, {'full_read': 'true'}).content.decode()
    assert 'Org 1' not in admin_client.get(url, {'full_read': 'false'}).content.decode()
    assert 'name="full_read"' in admin_client.get(url).content.decode()  # in the filter form


def test_a_runs_page_says_whether_it_read_every_network(admin_client, hold_organization_lock):
    def read(run):
        page = admin_client.get(run.get_absolute_url()).content.decode()
        return page.split('<th scope="row">Read</th><td>', 1)[1].split('</td>', 1)[0]

    assert read(make_run(1, full_read=True)) == 'Full'
    assert read(make_run(2)) == 'Changed networks only'
    # Until it has finished, a run not asked for a full read may still find one due.
    hold_organization_lock('103')
    running = make_run(3, status=RunStatusChoices.RUNNING, phase='fetch', started=timezone.now())
    assert read(running) == 'Changed networks only, unless a full read is due'


def test_a_run_without_changes_says_why_and_only_a_completed_one_says_netbox_matches(admin_client):
    def said(run):
        page = admin_client.get(run.get_absolute_url()).content.decode()
        return ' '.join(page.split('id="syncrun-no-changes">', 1)[1].split('</div>', 1)[0].split())

    assert said(make_run(1)) == 'Nothing to change: NetBox matches Meraki.'
    partial = make_run(2, status=RunStatusChoices.PARTIAL,
                       error='Meraki could not be read in full: switch_ports of network N_2: 500 Server Error')
    assert said(partial) == ('Nothing to change in what was read. What Meraki could not give was not compared with '
                             'NetBox: Meraki could not be read in full: switch_ports of network N_2: 500 Server Error')
    for number, status in ((3, RunStatusChoices.FAILED), (4, RunStatusChoices.CANCELLED)):
        text = said(make_run(number, status=status, error='401 Unauthorized'))
        assert text.startswith('Nothing was planned: the run') and 'NetBox matches' not in text


def test_a_running_run_polls_its_progress_and_a_finished_one_stops(admin_client, hold_organization_lock):
    hold_organization_lock('101')
    run = make_run(1, status=RunStatusChoices.RUNNING, phase='fetch', started=timezone.now(),
                   log=[{'time': '2026-01-01T10:00:00+00:00', 'level': 'info', 'message': 'Fetching networks'}])
    progress = reverse('plugins:netbox_meraki:syncrun_progress', kwargs={'pk': run.pk})

    page = admin_client.get(run.get_absolute_url()).content.decode()
    assert f'hx-get="{progress}" hx-trigger="every 2s"' in page
    assert 'Fetching networks' in page

    run.progress_done, run.progress_total, run.phase = 40, 80, 'apply'
    run.save()
    partial = admin_client.get(progress, HTTP_HX_REQUEST='true')
    assert 'hx-trigger="every 2s"' in partial.content.decode()
    assert '40 / 80' in partial.content.decode()
    assert 'HX-Refresh' not in partial

    run.status, run.completed = RunStatusChoices.COMPLETED, timezone.now()
    run.save()
    partial = admin_client.get(progress, HTTP_HX_REQUEST='true')
    assert partial['HX-Refresh'] == 'true'
    assert 'hx-trigger' not in partial.content.decode()
    assert 'hx-trigger="every 2s"' not in admin_client.get(run.get_absolute_url()).content.decode()


def test_changes_show_each_field_before_and_after_with_references_by_name(admin_client):
    run = make_run(1)
    madrid = Site.objects.create(name='Madrid Branch 01', slug='madrid-branch-01')
    SyncedObject.objects.create(kind='site', meraki_id='N_1', object_type=ObjectType.objects.get_for_model(Site),
                                object_id=madrid.pk, organization_id='101', last_synced=timezone.now())
    make_change(run, 0, kind='site', meraki_id='L_2', object_repr='London Wi-Fi 03')
    make_change(
        run, 1, kind='device', action=ChangeActionChoices.UPDATE, meraki_id='Q2XX-AAAA-0001',
        before={'name': 'old-name', 'site': {'ref': 'site', 'id': 'N_1'}, 'tagged_vlans': []},
        after={'name': 'new-name', 'site': {'ref': 'site', 'id': 'L_2'},
               'tagged_vlans': [{'ref': 'vlan', 'id': 'L_2:10'}, {'ref': 'vlan', 'id': 'L_2:20'}]},
    )
    page = admin_client.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk})).content.decode()
    assert 'old-name' in page and 'new-name' in page
    # By the name NetBox has for an object the plugin owns, or the name the run gives one it creates.
    assert '<span title="Meraki N_1">site Madrid Branch 01</span>' in page
    assert '<span title="Meraki L_2">site London Wi-Fi 03</span>' in page
    # An object known by neither, by its Meraki identity; object types as NetBox names them.
    assert 'VLAN L_2:10, VLAN L_2:20' in page
    assert '<td >Device</td>' in page and '<td >Site</td>' in page
    assert 'mdi-arrow-right' in page


def test_a_runs_changes_filter_by_object_type_action_and_state(admin_client):
    run = make_run(1)
    make_change(run, 1, kind='site', object_repr='Site One')
    make_change(run, 2, kind='device', object_repr='Device Two', action=ChangeActionChoices.DELETE,
                before={'name': 'x'}, after={})
    make_change(run, 3, kind='device', object_repr='Device Three', state=ChangeStateChoices.FAILED,
                reason='NetBox refused: name taken')
    url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk})

    def shown(**params):
        page = admin_client.get(url, params).content.decode()
        return {name for name in ('Site One', 'Device Two', 'Device Three') if name in page}

    assert shown() == {'Site One', 'Device Two', 'Device Three'}
    assert shown(kind='device') == {'Device Two', 'Device Three'}
    assert shown(action='delete') == {'Device Two'}
    assert shown(state='failed') == {'Device Three'}
    assert 'NetBox refused: name taken' in admin_client.get(url).content.decode()


def test_cancel_is_a_post_that_needs_the_run_sync_permission(user_client, user, grant, hold_organization_lock):
    hold_organization_lock('101')
    run = make_run(1, status=RunStatusChoices.RUNNING, started=timezone.now())
    url = reverse('plugins:netbox_meraki:syncrun_cancel', kwargs={'pk': run.pk})
    grant(user, 'netbox_meraki.view_syncrun')
    with disable_warnings('django.request'):
        assert user_client.post(url).status_code == 403
    assert not SyncRun.objects.get(pk=run.pk).cancel_requested
    page = user_client.get(run.get_absolute_url()).content.decode()
    assert 'Cancel sync' not in page

    grant(user, 'netbox_meraki.run_syncrun')
    assert 'Cancel sync' in user_client.get(run.get_absolute_url()).content.decode()
    with disable_warnings('django.request'):
        assert user_client.get(url).status_code == 405
    assert not SyncRun.objects.get(pk=run.pk).cancel_requested
    response = user_client.post(url, follow=True)
    assert SyncRun.objects.get(pk=run.pk).cancel_requested
    assert 'will stop at its next safe point' in response.content.decode()
    assert 'Stopping at the next safe point' in response.content.decode()


def test_cancelling_a_finished_run_says_why_it_cannot(admin_client):
    run = make_run(1, status=RunStatusChoices.COMPLETED)
    url = reverse('plugins:netbox_meraki:syncrun_cancel', kwargs={'pk': run.pk})
    response = admin_client.post(url, follow=True)
    assert 'there is nothing to cancel' in response.content.decode()
    assert not SyncRun.objects.get(pk=run.pk).cancel_requested


def test_run_pages_need_the_view_permission(user_client, user, grant):
    run = make_run(1)
    urls = [
        run.get_absolute_url(),
        reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk}),
        reverse('plugins:netbox_meraki:syncrun_progress', kwargs={'pk': run.pk}),
        reverse('plugins:netbox_meraki:review'),
    ]
    with disable_warnings('django.request'):
        for url in urls:
            assert user_client.get(url).status_code == 403, url
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change')
    for url in urls:
        assert user_client.get(url).status_code == 200, url


def test_a_real_review_run_reads_right_and_holds_no_api_key(admin_client, review_run):
    assert review_run.status == RunStatusChoices.AWAITING_REVIEW
    urls = [
        review_run.get_absolute_url(),
        reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}),
        reverse('plugins:netbox_meraki:syncrun_list'),
        reverse('plugins:netbox_meraki:change_list'),
        reverse('plugins:netbox_meraki:review'),
    ]
    for url in urls:
        page = admin_client.get(url).content.decode()
        assert API_KEY not in page, url
    page = admin_client.get(review_run.get_absolute_url()).content.decode()
    assert 'This run awaits review' in page
    assert review_run.organization_name in page
    changes = admin_client.get(urls[1]).content.decode()
    device = review_run.changes.filter(kind='device').first()
    assert device.meraki_id in changes
    assert f'id="change-{device.pk}"' in changes


def test_a_dry_run_a_half_decided_review_and_an_applied_run_do_not_look_alike(admin_client):
    dry = make_run(1, mode=SyncModeChoices.DRY_RUN, counts={'site': {'create': 2}})
    review = make_run(2, status=RunStatusChoices.AWAITING_REVIEW, counts={'site': {'create': 2}})
    auto = make_run(3, mode=SyncModeChoices.AUTO, counts={'site': {'create': 2}})
    for run, states in ((dry, ('planned', 'planned')), (review, ('approved', 'pending')),
                        (auto, ('applied', 'failed'))):
        for sequence, state in enumerate(states):
            make_change(run, sequence, state=state)

    page = admin_client.get(reverse('plugins:netbox_meraki:syncrun_list')).content.decode()
    rows = {run: page.split(f'href="{run.get_absolute_url()}"', 1)[1].split('</tr>', 1)[0]
            for run in (dry, review, auto)}
    assert '2 planned only' in rows[dry]
    assert '1 approved' in rows[review] and '1 awaiting decision' in rows[review]
    assert '1 applied' in rows[auto] and '1 failed' in rows[auto]
    dashboard = admin_client.get(reverse('plugins:netbox_meraki:dashboard')).content.decode()
    outcome = dashboard.split('id="last-run-outcome">', 1)[1].split('</td>', 1)[0]
    assert '1 applied' in outcome and '1 failed' in outcome


def test_a_runs_log_and_its_pages_name_what_became_of_its_changes_alike():
    states = Counter({state: number for number, state in enumerate(ChangeStateChoices.values(), start=1)})
    for mode in SyncModeChoices.values():
        run = SyncRun(mode=mode)
        line = outcome_line(run, states)
        assert line.startswith('Applied 5, failed 7, conflict 6, skipped 8, held 2, ')
        badges = outcome_parts(run, states)
        assert len(badges) == len(states)
        for label, _color, number in badges:
            assert f' {label} {number},' in f' {line[:1].lower()}{line[1:-1]},', (mode, label)
