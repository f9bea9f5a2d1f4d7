"""
The web UI in a real browser: headless Chromium, driven by Playwright, against a live NetBox (the test database),
an RQ worker running the sync jobs, and the Meraki simulator. A person logs in, starts a sync from "Sync now",
watches it to the end, opens the run, approves part of the review, rejects a change, applies the approved ones and
walks through the other pages, and adds the Meraki widget to NetBox's home dashboard. Every page is saved as a
screenshot under test-artifacts/screenshots/, and the README's figures under docs/images/.
"""

import os
import shutil
import threading
from pathlib import Path

import django_rq
import pytest
from django.db import connections
from django.urls import reverse
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from dcim.models import Site
from extras.models import Dashboard, Notification

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices
from netbox_meraki.event_types import MERAKI_CHANGES_AWAIT_REVIEW
from netbox_meraki.models import SyncRun

from ..ui.conftest import API_KEY, simulator  # noqa: F401  (the small simulated Dashboard)

SCREENSHOTS = Path(__file__).resolve().parents[2] / 'test-artifacts' / 'screenshots'
README_FIGURES = Path(__file__).resolve().parents[2] / 'docs' / 'images'
# The README's figures show what a laptop's browser window shows.
README_VIEWPORT = {'width': 1366, 'height': 800}
CHROMIUM = os.environ.get('CHROMIUM_PATH') or shutil.which('chromium') or shutil.which('chromium-browser')
TIMEOUT_MS = 20_000

playwright_api = pytest.importorskip('playwright.sync_api', reason='Playwright is not installed (pip install ".[dev]")')
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason='No Chromium found (apt-get install chromium, or set CHROMIUM_PATH)'),
    # Committed data, for the live server and the worker; the database is restored afterwards for other tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class ThreadWorker(SimpleWorker):
    """An RQ worker that runs jobs in a thread of the test process (signals belong to the main thread)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


@pytest.fixture
def rq_worker():
    """Run the queued jobs, as `netbox rqworker` would, until the test ends."""
    queues = [django_rq.get_queue(name) for name in ('high', 'default', 'low')]
    for queue in queues:
        queue.empty()
    stop = threading.Event()

    def work():
        worker = ThreadWorker(queues, connection=queues[0].connection)
        try:
            while not stop.is_set():
                if not worker.work(burst=True, logging_level='WARNING'):
                    stop.wait(0.2)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name='rq-worker', daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


@pytest.fixture
def slow_simulator(simulator):  # noqa: F811
    # A little latency, so that the run is seen in progress before it ends.
    simulator.backend.latency_ms = 800
    return simulator


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's synchronous API keeps an event loop in this thread; the test's own ORM calls are synchronous.
    monkeypatch.setenv('DJANGO_ALLOW_ASYNC_UNSAFE', 'true')
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        page = browser.new_page(viewport={'width': 1440, 'height': 900})
        page.set_default_timeout(TIMEOUT_MS)
        yield page
        browser.close()


def shoot(page, name):
    """Save the whole page, with a window as tall as the page so that sticky bars sit where they belong."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    height = page.evaluate('document.documentElement.scrollHeight')
    page.set_viewport_size({'width': viewport['width'], 'height': max(viewport['height'], height)})
    page.evaluate('window.scrollTo(0, 0)')
    page.screenshot(path=str(SCREENSHOTS / f'{name}.png'))
    page.set_viewport_size(viewport)


def readme_figure(page, address, name):
    """Save a figure of the README: the top of the page at `address`, as a 1366x800 window shows it."""
    README_FIGURES.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    page.set_viewport_size(README_VIEWPORT)
    page.goto(address)
    page.screenshot(path=str(README_FIGURES / f'{name}.png'))
    page.set_viewport_size(viewport)


def test_sync_review_and_apply_in_the_browser(
    live_server, browser_page, rq_worker, slow_simulator, meraki_config, django_user_model,
):
    page = browser_page
    url = live_server.url
    # Build NetBox's URL map here (it imports every view: seconds), not within the first page load's timeout.
    reverse('home')
    admin = django_user_model.objects.create_superuser(username='ui-admin', password='ui-admin-password', email='')
    # An empty home dashboard (NetBox's default one reads a news feed from the internet), for the widget alone.
    Dashboard.objects.create(user=admin)

    # Log in.
    page.goto(f'{url}/login/?next=/plugins/meraki/')
    page.fill('input[name=username]', 'ui-admin')
    page.fill('input[name=password]', 'ui-admin-password')
    shoot(page, '01-login')
    page.click('button[type=submit]')
    page.wait_for_url('**/plugins/meraki/dashboard/')
    assert page.get_by_role('heading', name='Last run').is_visible()
    shoot(page, '02-dashboard-empty')

    # Start a sync from the menu's "Sync now", for the organization the key sees, in review mode.
    page.goto(f'{url}/plugins/meraki/sync/')
    page.locator('#id_organization_ids').locator('..').locator('.ts-control').click()
    page.locator('.ts-dropdown .option', has_text=slow_simulator.org_ids[0]).first.click()
    page.keyboard.press('Escape')
    shoot(page, '03-sync-now')
    page.get_by_role('button', name='Start sync').click()

    # The run's page shows the progress live, and reloads itself when the run ends.
    page.wait_for_url('**/plugins/meraki/runs/*/')
    run = SyncRun.objects.get()
    try:
        page.locator('#syncrun-progress .syncrun-phase').wait_for(timeout=5_000)
    except playwright_api.TimeoutError:
        pass  # the worker was quicker than the page's next poll: the run is shown as it is
    shoot(page, '04-run-in-progress')
    page.locator('.page-title', has_text='Sync run').wait_for()
    page.get_by_text('This run awaits review').wait_for(timeout=TIMEOUT_MS)
    run.refresh_from_db()
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert page.locator('#syncrun-progress[hx-trigger]').count() == 0, 'a finished run keeps polling'
    shoot(page, '05-run-awaiting-review')

    # Review: approve the sites (filtered, ticked, approved in bulk), reject one device alone.
    page.get_by_role('link', name='Review changes').click()
    page.wait_for_url('**/changes/')
    shoot(page, '06-review-all-changes')
    page.goto(f'{url}/plugins/meraki/runs/{run.pk}/changes/?kind=site')
    sites = run.changes.filter(kind='site')
    assert page.locator('tr[id^=change-]').count() == sites.count()
    page.locator('th input.toggle').check()
    shoot(page, '07-review-sites-selected')
    page.get_by_role('button', name='Approve selected').click()
    page.get_by_text(f'{sites.count()} changes approved.').wait_for()
    page.goto(f'{url}/plugins/meraki/runs/{run.pk}/changes/?kind=device')
    device = run.changes.filter(kind='device').first()
    # One change decided in place: the row changes, the page is not loaded again.
    page.evaluate('window.notReloaded = true')
    page.locator(f'#change-{device.pk} button[title=Reject]').click()
    page.get_by_text('1 change rejected.').wait_for()
    page.locator(f'#change-{device.pk}', has_text='Rejected').wait_for()
    assert page.evaluate('window.notReloaded') is True
    device.refresh_from_db()
    assert device.state == ChangeStateChoices.REJECTED
    assert set(sites.values_list('state', flat=True)) == {ChangeStateChoices.APPROVED}
    shoot(page, '08-review-device-rejected')
    readme_figure(page, f'{url}/plugins/meraki/runs/{run.pk}/changes/', 'run-changes')

    # Apply the approved changes as a job, and watch it to the end.
    page.get_by_role('button', name=f'Apply {sites.count()} approved changes').click()
    page.wait_for_url(f'**/plugins/meraki/runs/{run.pk}/')
    page.get_by_text('This run awaits review').wait_for()
    assert set(sites.values_list('state', flat=True)) == {ChangeStateChoices.APPLIED}
    assert Site.objects.filter(tags__slug='meraki').count() == sites.count()
    shoot(page, '09-run-after-apply')
    page.goto(f'{url}/plugins/meraki/runs/{run.pk}/changes/?state=applied')
    shoot(page, '10-applied-changes')

    # The other pages.
    pages = {
        '11-dashboard': '/plugins/meraki/dashboard/',
        '12-runs': '/plugins/meraki/runs/',
        '13-review-list': '/plugins/meraki/review/',
        '14-settings-organizations': '/plugins/meraki/settings/organizations/',
        '15-settings-mapping': '/plugins/meraki/settings/mapping/',
        '16-settings-cleanup': '/plugins/meraki/settings/cleanup/',
        '17-settings-scheduling': '/plugins/meraki/settings/scheduling/',
        '18-change': device.get_absolute_url(),
    }
    for name, path in pages.items():
        page.goto(f'{url}{path}')
        shoot(page, name)
        assert API_KEY not in page.content()
    # The menu marks the page's own item, not the dashboard on every plugin page.
    active = page.locator('.navbar-nav .dropdown-item.active')
    page.goto(f'{url}/plugins/meraki/runs/')
    active.first.wait_for(state='attached')
    assert [text.strip() for text in active.all_inner_texts()] == ['Runs']
    page.goto(f'{url}/plugins/meraki/changes/')
    active.first.wait_for(state='attached')
    assert [text.strip() for text in active.all_inner_texts()] == ['Changes']
    readme_figure(page, f'{url}/plugins/meraki/dashboard/', 'dashboard')

    page.goto(f'{url}/plugins/meraki/settings/')
    page.get_by_role('button', name='Test connection').click()
    page.get_by_text('Connected: the key sees 1 organization.').wait_for()
    shoot(page, '18-settings-connection-tested')

    page.goto(f'{url}/plugins/meraki/settings/rules/')
    page.fill('#id_rule-0-regex', r'^(?P<city>\w+) (?P<kind>\w+)')
    page.fill('#id_rule-0-template', '{city}-{kind}')
    page.fill('#test_network_name', 'Berlin Branch 7')
    page.locator('#site-name-preview', has_text='Berlin-Branch').wait_for()
    page.fill('#id_prefix_exclude', '192.168.0.0/16')
    page.fill('#test_prefix', '192.168.10.0/24')
    page.locator('#prefix-preview', has_text='is not synced').wait_for()
    shoot(page, '19-settings-rules-preview')

    site = Site.objects.filter(tags__slug='meraki').first()
    page.goto(f'{url}{site.get_absolute_url()}')
    page.get_by_role('heading', name='Meraki').wait_for()
    shoot(page, '20-site-meraki-panel')
    assert API_KEY not in page.content()
    # The worker's run told the administrator, an approver, that its changes await review.
    assert Notification.objects.filter(user=admin, object_id=run.pk, event_type=MERAKI_CHANGES_AWAIT_REVIEW).exists()

    # NetBox's home dashboard: the Meraki widget, added as a person adds a widget, shows the organization's last run.
    page.goto(f'{url}/')
    page.locator('#unlock_dashboard').click()
    page.get_by_role('link', name='Add Widget').click()
    # NetBox renders the widget's form on the select's change (htmx), once the modal's content is settled: its
    # TomSelect is made then. A change made before that is lost, so the test waits for it.
    page.locator('#htmx-modal .ts-wrapper').first.wait_for()
    page.locator('#id_widget_class').select_option('netbox_meraki.MerakiSyncWidget', force=True)
    page.get_by_text('The last Meraki sync of each organization').wait_for(timeout=3 * TIMEOUT_MS)
    shoot(page, '21-home-add-meraki-widget')
    page.locator('#htmx-modal').get_by_role('button', name='Save').click()
    widget = page.locator('.meraki-sync-widget')
    widget.locator(f'a[href="{run.get_absolute_url()}"]').wait_for()
    assert run.organization_name in widget.inner_text() and 'Awaiting review' in widget.inner_text()
    shoot(page, '22-home-meraki-widget')
    widget.screenshot(path=str(SCREENSHOTS / '23-meraki-widget.png'))

    # The test body runs beside Playwright's event loop, in a context whose database connection no fixture sees.
    connections.close_all()
