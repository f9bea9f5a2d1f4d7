"""
A run watched live in a real browser: its page updates in place while the worker reads Meraki (status, phase, what is
being read) and reloads once when the run ends; the dashboard follows a run under way the same way, then plots the
runs. Screenshots (live-*) under test-artifacts/screenshots/, in light and dark mode.
"""

import re

from django.db import connections
from django.urls import reverse

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import SyncRun
from netbox_meraki.sync import MerakiSyncService

from .test_web_ui import (  # noqa: F401  (fixtures)
    API_KEY,
    SCREENSHOTS,
    TIMEOUT_MS,
    browser_page,
    pytestmark,
    rq_worker,
    shoot,
    simulator,
    slow_simulator,
)

# An org-wide read is counted in pages: "0 pages so far", "1 page so far", "1 page". A change-driven read's endpoints
# are a page each, so "pages" alone may never be on the screen when the page polls.
PAGES = re.compile(r'\d+ pages?\b')


def start_sync(user, organization_id, mode, full_read=False):
    """A sync as "Sync now" starts it: a background job that the test's worker runs."""
    (run,) = MerakiSyncService(user=user, trigger=RunTriggerChoices.MANUAL).sync_all(
        mode=mode, organization_ids=[organization_id], full_read=full_read,
    )
    return run


def api_calls_in_table(page):
    return int(page.locator('#syncrun-progress table tr', has_text='API calls').locator('td').inner_text().split()[0])


def test_a_run_is_watched_live_on_its_page_and_on_the_dashboard(
    live_server, browser_page, rq_worker, slow_simulator, meraki_config, django_user_model,  # noqa: F811
):
    page = browser_page
    url = live_server.url
    reverse('home')
    admin = django_user_model.objects.create_superuser(username='live-admin', password='live-password', email='')
    organization_id = slow_simulator.org_ids[0]
    # Slower still than the shared fixture: each part of the read (org-wide, then per network) lasts several of the
    # page's polls.
    slow_simulator.backend.latency_ms = 3000

    page.goto(f'{url}/login/?next=/plugins/meraki/dashboard/')
    page.fill('input[name=username]', 'live-admin')
    page.fill('input[name=password]', 'live-password')
    page.click('button[type=submit]')
    page.wait_for_url('**/plugins/meraki/dashboard/')
    assert page.locator('#meraki-run-plots', has_text='No run has finished yet.').is_visible()

    # The run's page: updated in place while Meraki is read, without a reload.
    run = start_sync(admin, organization_id, SyncModeChoices.AUTO)
    page.goto(f'{url}{run.get_absolute_url()}')
    page.evaluate('window.notReloaded = true')
    live = page.locator('#syncrun-progress')
    calls_at_first = api_calls_in_table(page)
    # The worker starts the run when it gets to it: beside other tests, that can take a while.
    live.locator('.syncrun-reads', has_text=PAGES).wait_for(timeout=3 * TIMEOUT_MS)
    live.locator('.syncrun-status', has_text='Running').wait_for()
    assert live.locator('.syncrun-phase').inner_text() == 'fetch'
    # The per-network calls come after the org-wide ones, and are shown as they come.
    live.locator('.syncrun-reads', has_text=re.compile(r'\d+ of \d+ networks')).wait_for(timeout=3 * TIMEOUT_MS)
    assert page.evaluate('window.notReloaded') is True, 'the page reloaded instead of updating in place'
    shoot(page, 'live-01-run-reading-meraki')
    # The run's table is live too: its API calls grow with the read.
    assert api_calls_in_table(page) > calls_at_first
    # The end reloads the page once, with the outcome, and nothing polls any more.
    page.get_by_text('Outcome and log').wait_for(timeout=6 * TIMEOUT_MS)
    run.refresh_from_db()
    assert run.status == RunStatusChoices.COMPLETED
    assert page.locator('#syncrun-progress[hx-trigger]').count() == 0, 'a finished run keeps polling'
    assert page.locator('.syncrun-reads').count() == 0
    shoot(page, 'live-02-run-completed')

    # The dashboard: the run under way, with its progress, until it ends; then the page reloads with its plots.
    # A change-driven read of this organization is a few single-page calls, over between two of the dashboard's polls:
    # a full read is on the screen for several.
    second = start_sync(admin, organization_id, SyncModeChoices.DRY_RUN, full_read=True)
    page.goto(f'{url}/plugins/meraki/dashboard/')
    under_way = page.locator('#meraki-active-runs .meraki-active-run', has_text=f'Run #{second.pk}')
    under_way.locator('.syncrun-reads', has_text=PAGES).wait_for(timeout=3 * TIMEOUT_MS)
    # Its last run is the one that ended, not half of the one under way.
    last_run = page.locator('#meraki-last-run')
    assert last_run.get_by_role('link', name=f'#{run.pk} {run.organization_name}', exact=True).is_visible()
    assert last_run.locator('.badge', has_text='Completed').is_visible()
    shoot(page, 'live-03-dashboard-run-under-way')
    page.locator('#meraki-active-runs .meraki-active-run').wait_for(state='detached', timeout=6 * TIMEOUT_MS)
    assert page.locator('#meraki-active-runs[hx-trigger]').count() == 0, 'the dashboard keeps polling'
    second.refresh_from_db()
    assert second.status == RunStatusChoices.COMPLETED
    last_run.get_by_role('link', name=f'#{second.pk} {second.organization_name}', exact=True).wait_for()

    plots = page.locator('#meraki-run-plots')
    plots.locator('svg.meraki-plot').first.wait_for()
    assert plots.locator('svg.meraki-plot').count() == 3
    # Each run is a bar with what it stands for on hover, in each of the three charts.
    assert plots.locator('svg.meraki-plot g > title').count() == 3 * SyncRun.objects.count()
    assert API_KEY not in page.content()
    shoot(page, 'live-04-dashboard-plots')
    plots.screenshot(path=str(SCREENSHOTS / 'live-05-plots.png'))
    page.evaluate('document.documentElement.setAttribute("data-bs-theme", "dark")')
    plots.screenshot(path=str(SCREENSHOTS / 'live-06-plots-dark.png'))

    connections.close_all()
