"""
A run's changes at volume, in a real browser: the review of the benchmark's 1,000-device organization (over 10,000
changes) at 50 and at 1,000 a page, grouped and not. Its load times in Chromium are measured and recorded (the
machine is shared: they are not asserted); the page's queries are counted, and must not grow with the page's size.
The page at a laptop's 1366 px shows the decisions and reasons without scrolling sideways; at a phone's 400 px the
table scrolls inside its card and a row's buttons can be reached and used.
"""

import json
import time

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from meraki_sim import Scale, Simulator
from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices

from ..ui.conftest import API_KEY, run_sync
from .test_web_ui import CHROMIUM, SCREENSHOTS, TIMEOUT_MS, browser_page, shoot  # noqa: F401

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason='No Chromium found (apt-get install chromium, or set CHROMIUM_PATH)'),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMINGS = SCREENSHOTS.parent / 'changes-volume.json'
LAPTOP = {'width': 1366, 'height': 800}
PHONE = {'width': 400, 'height': 800}


@pytest.fixture
def simulator():
    """The benchmark's 1,000-device organization (make bench: seed 1, one network per 16 devices), without latency."""
    with Simulator(seed=1, scale=Scale(organizations=1, devices=1000), rate_limit=0, api_key=API_KEY) as sim:
        yield sim


def navigation_timing(page):
    """The last page load as the browser measured it: the server's answer, and the whole load, in milliseconds."""
    page.wait_for_function('performance.getEntriesByType("navigation")[0].loadEventEnd > 0')
    return page.evaluate('''() => {
        const load = performance.getEntriesByType('navigation')[0];
        return {response_ms: Math.round(load.responseEnd - load.requestStart), load_ms: Math.round(load.loadEventEnd)};
    }''')


def table_overflow(page):
    """How many pixels of the changes table are out of sight, to scroll to sideways within its card."""
    return page.locator('#object_list table').evaluate(
        'table => table.scrollWidth - table.closest(".table-responsive").clientWidth')


def test_the_changes_of_a_large_review_in_the_browser(
    live_server, browser_page, meraki_config, simulator, django_user_model,  # noqa: F811
):
    started = time.monotonic()
    run = run_sync(simulator.org_ids[0], SyncModeChoices.REVIEW)
    planned_s = round(time.monotonic() - started, 1)
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    total = run.changes.count()
    assert total >= 10_000

    reverse('home')  # NetBox's URL map, built here rather than in the first page's timeout
    django_user_model.objects.create_superuser(username='vol-admin', password='vol-admin-password', email='')
    address = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk})

    # The page's queries, counted through Django's test client: as many at 1,000 a page as at 50.
    client = Client()
    client.login(username='vol-admin', password='vol-admin-password')
    queries = {}
    for group_by in ('', 'site', 'device'):
        for per_page in (50, 1000):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(address, {'group_by': group_by, 'per_page': per_page}).status_code == 200
            queries[group_by or 'none', per_page] = len(captured)
        assert queries[group_by or 'none', 1000] == queries[group_by or 'none', 50], queries

    page = browser_page
    url = live_server.url
    page.set_viewport_size(LAPTOP)
    page.goto(f'{url}/login/?next={address}')
    page.fill('input[name=username]', 'vol-admin')
    page.fill('input[name=password]', 'vol-admin-password')
    page.click('button[type=submit]')
    page.wait_for_url(f'**{address}')

    # At 1366 px: the actions and reasons are in the window, the table does not scroll sideways.
    for query, name in (('', 'vol-01-changes-1366'), ('group_by=site&kind=device', 'vol-02-by-site-1366'),
                        ('group_by=device&action=create&kind=interface', 'vol-03-by-device-1366')):
        page.goto(f'{url}{address}?{query}&per_page=50')
        page.screenshot(path=str(SCREENSHOTS / f'{name}.png'))  # what the window shows
        assert page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), f'{name} scrolls sideways'
        assert table_overflow(page) <= 0, f'{name}: the table scrolls sideways in its card'
        reject = page.locator('tr[id^=change-] button[title=Reject]').first
        assert reject.bounding_box()['x'] + reject.bounding_box()['width'] <= LAPTOP['width']
    assert page.locator('tr.change-group button[title^=Approve]').first.is_visible()

    # Each page twice: the first load warms NetBox's and the database's caches; the second is recorded.
    timings = []
    for group_by in ('', 'site', 'device'):
        for per_page in (50, 1000):
            for _ in range(2):
                page.goto(f'{url}{address}?group_by={group_by}&per_page={per_page}', timeout=6 * TIMEOUT_MS)
            rows = page.locator('tr[id^=change-]').count()
            assert rows == per_page
            timings.append({'group_by': group_by or 'none', 'per_page': per_page, 'rows': rows,
                            'queries': queries[group_by or 'none', per_page], **navigation_timing(page)})
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps({'changes': total, 'plan_s': planned_s, 'pages': timings}, indent=2) + '\n')
    print(f'\n{total} changes (review planned in {planned_s} s):')
    for timing in timings:
        print('  group by {group_by:6} per page {per_page:4}: server {response_ms} ms, page loaded {load_ms} ms, '
              '{queries} queries'.format(**timing))

    # At 400 px: the page does not scroll sideways, the table scrolls inside its card, and a row's buttons are
    # reached by scrolling it and decide the change.
    page.set_viewport_size(PHONE)
    page.goto(f'{url}{address}?group_by=site&kind=device&per_page=50')
    assert page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'the page scrolls sideways'
    assert table_overflow(page) > 0, 'the table is squeezed into the window instead of scrolling in its card'
    shoot(page, 'vol-04-by-site-400')
    change = page.locator('tr[id^=change-]').first
    pk = int(change.get_attribute('id').removeprefix('change-'))
    button = change.locator('button[title=Approve]')
    button.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / 'vol-05-buttons-reached-400.png'))
    button.click()
    page.get_by_text('1 change approved.').wait_for()
    assert run.changes.get(pk=pk).state == ChangeStateChoices.APPROVED
    # The row, and only the row, was replaced in place: decided, without its buttons, in the one table.
    decided = page.locator(f'#change-{pk}')
    assert decided.count() == 1 and 'Approved' in decided.inner_text() and decided.locator('button').count() == 0
    assert page.locator('#object_list table').count() == 1
    page.goto(f'{url}{address}?per_page=50')
    shoot(page, 'vol-06-changes-400')

    # The test body runs beside Playwright's event loop, in a context whose database connection no fixture sees.
    connections.close_all()
