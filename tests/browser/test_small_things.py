"""
The smaller things in a real browser: the network picker of Sync now (opened, searched, a network picked by name),
the Cleanup tab's help following the chosen policy, and a scheduled sync that could not start, on the dashboard.
Screenshots under test-artifacts/screenshots/small-*.png.
"""

from django.urls import reverse

from netbox_meraki.choices import SyncModeChoices
from netbox_meraki.models import PluginSettings
from netbox_meraki.scheduling import run_scheduled_sync
from netbox_meraki.sync import MerakiSyncService

from .test_web_ui import browser_page, playwright_api, pytestmark, shoot, simulator  # noqa: F401

__all__ = ('pytestmark',)


def log_in(page, url, django_user_model):
    django_user_model.objects.create_superuser(username='ui-admin', password='ui-admin-password', email='')
    page.goto(f'{url}/login/?next=/plugins/meraki/')
    page.fill('input[name=username]', 'ui-admin')
    page.fill('input[name=password]', 'ui-admin-password')
    page.click('button[type=submit]')
    page.wait_for_url('**/plugins/meraki/dashboard/')


def test_network_picker_cleanup_help_and_schedule_failure_in_the_browser(
    live_server, browser_page, simulator, meraki_config, django_user_model,  # noqa: F811
):
    page, url = browser_page, live_server.url
    reverse('home')
    org_id = simulator.org_ids[0]
    # A first sync makes the organization's networks known (their sites).
    (run,) = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)
    network = next(iter(simulator.dashboard.orgs[org_id].networks.values()))
    log_in(page, url, django_user_model)

    # Sync now: open the network picker, search by part of a name, pick the network by its name.
    page.goto(f'{url}/plugins/meraki/sync/')
    picker = page.locator('select#id_network_ids + .ts-wrapper')
    picker.click()
    page.keyboard.type(network['name'][:6])
    option = page.locator('.ts-dropdown .option', has_text=f'{network["name"]} ({network["id"]})')
    option.wait_for()
    # The search narrows the list to the networks whose name (or id) holds what was typed.
    playwright_api.expect(page.locator('.ts-dropdown .option')).to_have_count(1)
    shoot(page, 'small-01-sync-now-network-picker')
    option.click()
    assert page.eval_on_selector('select#id_network_ids', 'select => [...select.selectedOptions].map(o => o.value)') \
        == [network['id']]
    page.keyboard.press('Escape')
    shoot(page, 'small-02-sync-now-network-picked')

    # Cleanup: the site's help says what "mark" does; choosing "delete" shows what deleting does instead.
    page.goto(f'{url}/plugins/meraki/settings/cleanup/')
    help_text = page.locator('#id_policy_site_helptext')
    assert 'status becomes retired' in help_text.inner_text()
    page.locator('select#id_policy_site + .ts-wrapper').click()
    page.locator('.ts-dropdown .option', has_text='Delete').first.click()
    assert 'deleted from NetBox' in help_text.inner_text()
    assert 'status becomes retired' not in help_text.inner_text()
    shoot(page, 'small-03-cleanup-help')

    # A scheduled sync whose key Meraki refuses: the dashboard says so, and what to check.
    settings = PluginSettings.load()
    settings.enable_scheduled_sync, settings.scheduled_sync_mode = True, SyncModeChoices.DRY_RUN
    settings.save()
    simulator.revoke_key(simulator.api_key)
    run_scheduled_sync(force=True)
    page.goto(f'{url}/plugins/meraki/dashboard/')
    failure = page.locator('.schedule-failure')
    assert failure.is_visible()
    assert 'could not start' in failure.inner_text() and 'MERAKI_DASHBOARD_API_KEY' in failure.inner_text()
    assert simulator.api_key not in page.content()
    shoot(page, 'small-04-dashboard-schedule-failure')
    page.goto(f'{url}/plugins/meraki/settings/scheduling/')
    assert page.locator('.schedule-failure').is_visible()
    shoot(page, 'small-05-scheduling-failure')
