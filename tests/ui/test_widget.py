"""The Meraki widget on NetBox's own home dashboard: added as a person adds it, shown to those who may see runs."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ObjectType
from extras.models import Dashboard
from users.models import ObjectPermission

from netbox_meraki.choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from netbox_meraki.models import Change, PluginSettings, SyncRun
from netbox_meraki.widgets import MerakiSyncWidget

pytestmark = pytest.mark.django_db

HOME = reverse('home')
REVIEW = reverse('plugins:netbox_meraki:review')
WIDGET_CLASS = 'netbox_meraki.MerakiSyncWidget'
NO_PERMISSION = 'No permission to view Meraki syncs.'


def make_run(organization_id, organization_name, status, age_minutes, changes=()):
    """A finished run of the organization, `age_minutes` old, with changes in the given states."""
    created = timezone.now() - timedelta(minutes=age_minutes)
    run = SyncRun.objects.create(
        organization_id=organization_id, organization_name=organization_name, mode=SyncModeChoices.REVIEW,
        status=status, trigger=RunTriggerChoices.SCHEDULE, created=created, started=created, completed=created,
    )
    Change.objects.bulk_create(
        Change(run=run, sequence=number, action=ChangeActionChoices.CREATE, kind='site', meraki_id=f'N_{number}',
               object_repr=f'Site {number}', state=state)
        for number, state in enumerate(changes)
    )
    return run


@pytest.fixture
def runs():
    """Two organizations: Acme synced twice (the newer run awaits review), Globex once (failed)."""
    older = make_run('101', 'Acme', RunStatusChoices.COMPLETED, age_minutes=120)
    newer = make_run('101', 'Acme', RunStatusChoices.AWAITING_REVIEW, age_minutes=10, changes=(
        ChangeStateChoices.PENDING, ChangeStateChoices.PENDING, ChangeStateChoices.HELD, ChangeStateChoices.APPROVED,
    ))
    failed = make_run('202', 'Globex', RunStatusChoices.FAILED, age_minutes=30)
    return {'older': older, 'newer': newer, 'failed': failed}


@pytest.fixture
def scheduled():
    PluginSettings.load()
    # update(): the schedulers' bookkeeping, without the settings signal that would schedule a real job.
    PluginSettings.objects.filter(pk=1).update(
        enable_scheduled_sync=True, sync_interval_minutes=60, next_scheduled_sync=timezone.now() + timedelta(hours=2),
    )


def add_widget(user):
    """Put the widget, alone, on the user's dashboard, as NetBox's "Add widget" dialog would."""
    dashboard = Dashboard.objects.create(user=user)
    dashboard.add_widget(MerakiSyncWidget())
    dashboard.save()


def widget_html(client):
    response = client.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'error was encountered when attempting to render this widget' not in page
    return page


def link(run):
    return f'href="{run.get_absolute_url()}"'


def test_an_administrator_adds_the_widget_and_sees_each_organizations_last_run(admin_client, admin_user, runs,
                                                                                scheduled):
    # The add-widget dialog offers it, with its description, and adds it to the administrator's dashboard.
    Dashboard.objects.create(user=admin_user)
    dialog = admin_client.get(reverse('extras:dashboardwidget_add'), {'widget_class': WIDGET_CLASS},
                              HTTP_HX_REQUEST='true')
    assert 'The last Meraki sync of each organization' in dialog.content.decode()
    response = admin_client.post(reverse('extras:dashboardwidget_add'), {'widget_class': WIDGET_CLASS, 'title': '',
                                                                         'color': ''})
    assert response.status_code == 200 and response.headers['HX-Redirect'] == HOME

    page = widget_html(admin_client)

    assert 'Meraki sync' in page
    assert link(runs['newer']) in page and 'Awaiting review' in page
    assert link(runs['failed']) in page and 'Failed' in page
    assert link(runs['older']) not in page, 'only the last run of an organization is shown'
    assert page.index('Acme') < page.index('Globex'), 'newest first'
    # Three changes wait for a decision (the approved one does not), linked to the Review page.
    assert f'href="{REVIEW}"' in page
    assert '<strong class="text-purple">3</strong>' in page
    assert 'Next scheduled sync' in page and 'in 1\xa0hour' in page
    assert NO_PERMISSION not in page


def test_a_user_who_may_view_runs_sees_the_widget(user, user_client, grant, runs):
    grant(user, 'netbox_meraki.view_syncrun')
    add_widget(user)

    page = widget_html(user_client)

    assert link(runs['newer']) in page and link(runs['failed']) in page
    assert '<strong class="text-purple">3</strong>' in page
    assert 'Not scheduled' in page
    assert NO_PERMISSION not in page


def test_a_user_who_may_view_some_organizations_sees_only_those(user, user_client, runs):
    permission = ObjectPermission.objects.create(name='Globex runs', actions=['view'],
                                                 constraints={'organization_id': '202'})
    permission.object_types.add(ObjectType.objects.get_for_model(SyncRun))
    permission.users.add(user)
    add_widget(user)

    page = widget_html(user_client)

    assert link(runs['failed']) in page
    assert 'Acme' not in page and link(runs['newer']) not in page
    assert '<strong class="text-secondary">0</strong>' in page, "Acme's changes are not counted"


def test_a_user_who_may_not_view_runs_sees_no_data(user, user_client, runs):
    add_widget(user)

    page = widget_html(user_client)

    assert NO_PERMISSION in page
    assert 'Acme' not in page and 'Globex' not in page
    assert link(runs['newer']) not in page
    assert 'Changes awaiting review' not in page


def test_without_runs_the_widget_says_no_sync_has_run(admin_client, admin_user):
    add_widget(admin_user)

    page = widget_html(admin_client)

    assert 'No sync has run yet.' in page
    assert '<strong class="text-secondary">0</strong>' in page
