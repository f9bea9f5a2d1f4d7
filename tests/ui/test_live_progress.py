"""
A run followed live: its whole page while it runs (status, phase, API calls, counts, what the fetch reads, the apply's
rate and time left), the dashboard's runs under way, the plots of runs over time, and a review's apply timed apart.
"""

import re
import time
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from meraki_sim import Simulator
from meraki_sim.generator import Scale
from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.fetch import fetch_organization
from netbox_meraki.models import SyncRun
from netbox_meraki.plots import run_charts
from netbox_meraki.sync import apply_review, approve_changes, dashboard_client, save_progress

from .conftest import API_KEY, run_sync
from .test_runs import make_run

pytestmark = pytest.mark.django_db

SVG = '{http://www.w3.org/2000/svg}'


def live_part(client, run):
    """What the run's page polls, as htmx asks for it."""
    return client.get(reverse('plugins:netbox_meraki:syncrun_progress', kwargs={'pk': run.pk}), HTTP_HX_REQUEST='true')


def test_a_running_runs_page_is_live_in_full_with_the_applys_rate_and_time_left(admin_client, hold_organization_lock):
    hold_organization_lock('101')
    run = make_run(1, status=RunStatusChoices.RUNNING, mode=SyncModeChoices.AUTO, started=timezone.now(),
                   phase='apply', phase_started=timezone.now() - timedelta(seconds=100), progress_done=4000,
                   progress_total=10000, api_calls=134, api_rate_limited=3, counts={'device': {'create': 10000}})

    page = ' '.join(live_part(admin_client, run).content.decode().split())
    # The whole page below the title is polled, not one panel: the run's table and its planned changes too.
    assert '<div id="syncrun-progress" hx-get=' in page and 'hx-trigger="every 2s"' in page
    assert '<th scope="row">Status</th><td> <span class="badge text-bg-blue">Running</span>' in page
    assert '<strong class="syncrun-phase">apply</strong>' in page
    assert '<strong>134</strong>' in page and '(3 × 429)' in page and '(3 answered 429)' in page
    assert '4000 / 10000' in page and '10000 create' in page
    # 4,000 objects in 100 s (and the seconds the request took): 40 a second, and 6,000 left take 150 s.
    pace = page.split('class="mb-2 syncrun-pace">', 1)[1].split('</div>', 1)[0]
    rate = re.search(r'([\d.]+) objects/s, about 2m \d+s left', pace).group(1)
    assert 36 < float(rate) <= 40, pace
    assert run.pace(now=run.phase_started + timedelta(seconds=100)) == (40.0, 150.0)

    # Reading Meraki: which endpoint, pages so far, networks done of the total.
    SyncRun.objects.filter(pk=run.pk).update(phase='fetch', progress_done=0, progress_total=0, progress_detail=[
        ['devices', 3, 3, 'pages'], ['switch ports', 12, None, 'pages'], ['SSIDs', 212, 625, 'networks'],
    ])
    page = ' '.join(live_part(admin_client, run).content.decode().split())
    reads = page.split('class="list-unstyled small mb-2 syncrun-reads">', 1)[1].split('</ul>', 1)[0]
    assert 'devices: 3 pages' in reads and 'switch ports: 12 pages so far' in reads
    assert 'SSIDs: 212 of 625 networks' in reads
    assert 'objects/s' not in page  # no rate without progress to reckon it from

    SyncRun.objects.filter(pk=run.pk).update(status=RunStatusChoices.COMPLETED, completed=timezone.now(), phase='done')
    response = live_part(admin_client, run)
    assert response['HX-Refresh'] == 'true'
    assert 'hx-trigger' not in response.content.decode() and 'syncrun-reads' not in response.content.decode()


def test_the_dashboard_follows_runs_under_way_and_reloads_when_one_ends(admin_client, hold_organization_lock):
    hold_organization_lock('101')
    run = make_run(1, status=RunStatusChoices.RUNNING, started=timezone.now(), phase='apply',
                   phase_started=timezone.now() - timedelta(seconds=4), progress_done=200, progress_total=1000,
                   api_calls=20)
    active = reverse('plugins:netbox_meraki:dashboard_active_runs')

    dashboard = ' '.join(admin_client.get(reverse('plugins:netbox_meraki:dashboard')).content.decode().split())
    assert f'hx-get="{active}?runs={run.pk}" hx-trigger="every 2s"' in dashboard
    assert '<span class="badge text-bg-blue">Running</span>' in dashboard
    assert '<strong class="syncrun-phase">apply</strong>' in dashboard and 'API calls: <strong>20</strong>' in dashboard
    assert '200 / 1000' in dashboard and re.search(r'[\d.]+ objects/s, about \d+s left', dashboard)

    SyncRun.objects.filter(pk=run.pk).update(progress_done=600)
    response = admin_client.get(active, {'runs': run.pk}, HTTP_HX_REQUEST='true')
    assert '600 / 1000' in response.content.decode() and 'HX-Refresh' not in response

    SyncRun.objects.filter(pk=run.pk).update(status=RunStatusChoices.COMPLETED, completed=timezone.now())
    response = admin_client.get(active, {'runs': run.pk}, HTTP_HX_REQUEST='true')
    assert response['HX-Refresh'] == 'true' and 'hx-trigger' not in response.content.decode()
    assert 'hx-trigger="every 2s"' not in admin_client.get(reverse('plugins:netbox_meraki:dashboard')).content.decode()


def last_run_card(client):
    page = client.get(reverse('plugins:netbox_meraki:dashboard')).content.decode()
    return ' '.join(page.split('id="meraki-last-run">', 1)[1].split('<div class="col', 1)[0].split())


def test_the_dashboards_last_run_is_the_last_finished_one_while_others_are_under_way(
    admin_client, hold_organization_lock,
):
    hold_organization_lock('102')
    assert 'No sync has finished yet.' in last_run_card(admin_client)
    finished = make_run(1, completed=timezone.now(), api_calls=7)
    running = make_run(2, status=RunStatusChoices.RUNNING, started=timezone.now(), phase='fetch', api_calls=3)

    # The run under way has its live card above; the last run is how the last one ended.
    card = last_run_card(admin_client)
    assert f'href="{finished.get_absolute_url()}"' in card
    assert '<span class="badge text-bg-green">Completed</span>' in card
    assert running.get_absolute_url() not in card and 'Running' not in card

    SyncRun.objects.filter(pk=running.pk).update(status=RunStatusChoices.FAILED, completed=timezone.now())
    card = last_run_card(admin_client)
    assert f'href="{running.get_absolute_url()}"' in card and '<span class="badge text-bg-red">Failed</span>' in card


def test_the_dashboards_live_runs_need_the_view_permission(user_client, user, grant):
    url = reverse('plugins:netbox_meraki:dashboard_active_runs')
    assert user_client.get(url).status_code == 403
    grant(user, 'netbox_meraki.view_syncrun')
    assert user_client.get(url).status_code == 200


def parse(svg):
    root = ElementTree.fromstring(str(svg))
    assert root.tag == f'{SVG}svg'
    return root


def tooltips(svg):
    return [title.text for title in parse(svg).iter(f'{SVG}title')][1:]  # the first is the chart's own


def test_the_plots_draw_no_runs_one_run_failed_runs_and_429s():
    # No runs: three empty charts that say so.
    for title, legend, svg in run_charts([], {}):
        assert 'No runs yet' in [text.text for text in parse(svg).iter(f'{SVG}text')], title
        assert tooltips(svg) == []

    now = timezone.now()
    one = make_run(1, started=now - timedelta(seconds=90), completed=now, api_calls=134)
    (duration, changes, calls) = run_charts([one], {one.pk: {ChangeStateChoices.APPLIED: 12}})
    assert tooltips(duration[2]) == [f'#{one.pk} {timezone.localtime(one.created):%Y-%m-%d %H:%M}, completed: 90 s']
    assert tooltips(changes[2])[0].endswith('12 applied, 0 failed, conflicting or skipped')
    assert tooltips(calls[2])[0].endswith('134 API calls, 0 answered 429')
    # The axis' top is a round number above the tallest bar.
    axis = [text.text for text in parse(calls[2]).iter(f'{SVG}text')]
    assert '200' in axis and '0' in axis

    failed = make_run(1, status=RunStatusChoices.FAILED, started=now, completed=now + timedelta(seconds=3),
                      api_calls=40, api_rate_limited=8)
    partial = make_run(1, status=RunStatusChoices.PARTIAL, started=now, completed=now + timedelta(seconds=30),
                       api_calls=50, api_rate_limited=2)
    outcomes = {partial.pk: {ChangeStateChoices.APPLIED: 5, ChangeStateChoices.FAILED: 2}}
    (duration, changes, calls) = run_charts([one, failed, partial], outcomes)
    bars = [rect.get('class') for rect in parse(duration[2]).iter(f'{SVG}rect') if rect.get('class')]
    assert bars == ['text-green', 'text-red', 'text-orange']  # each run in its status' colour
    assert tooltips(duration[2])[1].endswith('failed: 3 s')
    assert tooltips(changes[2])[2].endswith('5 applied, 2 failed, conflicting or skipped')
    parts = [rect.get('class') for rect in parse(changes[2]).iter(f'{SVG}rect') if rect.get('class')]
    assert parts.count('text-red') == 3 and parts.count('text-green') == 3
    # The 429s sit on the answered calls, in orange, as tall as their share.
    rects = [rect for rect in parse(calls[2]).iter(f'{SVG}rect') if rect.get('class')]
    answered, refused = rects[2], rects[3]
    assert (answered.get('class'), refused.get('class')) == ('text-blue', 'text-orange')
    assert float(answered.get('height')) == 4 * float(refused.get('height'))
    assert tooltips(calls[2])[1].endswith('40 API calls, 8 answered 429')


def test_the_dashboard_plots_each_organizations_runs(admin_client):
    url = reverse('plugins:netbox_meraki:dashboard')
    assert 'No run has finished yet.' in admin_client.get(url).content.decode()
    now = timezone.now()
    make_run(1, started=now, completed=now + timedelta(seconds=5), organization_name='Plotted One')
    make_run(2, status=RunStatusChoices.FAILED, started=now, completed=now, organization_name='Plotted Two')
    page = admin_client.get(url).content.decode()
    plots = page.split('id="meraki-run-plots">', 1)[1].split('Recent runs', 1)[0]
    assert plots.index('Plotted Two') < plots.index('Plotted One')  # the last to run first
    assert plots.count('<svg ') == 6


def test_a_reviews_apply_keeps_the_plans_times_and_shows_its_own(admin_client, review_run):
    planned = (review_run.started, review_run.completed)
    assert planned[0] and planned[1] and review_run.review_started is None
    approve_changes(review_run)
    apply_review(SyncRun.objects.get(pk=review_run.pk), background=False)

    run = SyncRun.objects.get(pk=review_run.pk)
    assert run.status == RunStatusChoices.COMPLETED
    assert (run.started, run.completed) == planned
    assert run.duration == planned[1] - planned[0]
    assert planned[1] <= run.review_started <= run.review_completed
    page = admin_client.get(run.get_absolute_url()).content.decode()
    assert 'Review apply started' in page and 'Review apply completed' in page
    shown = re.sub('<[^>]+>', '', page.split('<td id="syncrun-review-completed">', 1)[1].split('</td>', 1)[0])
    assert f'{timezone.localtime(run.review_completed):%Y-%m-%d %H:%M:%S}' in shown


def test_a_read_reports_its_progress_by_endpoint_at_most_about_once_a_second(meraki_config, simulator, org_id):
    # Slower answers than the reports' interval, so that a report comes while endpoints are being read.
    simulator.backend.latency_ms = 1200
    reports = []
    client = dashboard_client()
    start = time.monotonic()
    try:
        snapshot = fetch_organization(client, org_id, progress=reports.append)
    finally:
        client.close()
    elapsed = time.monotonic() - start
    assert snapshot.complete and reports
    assert len(reports) <= elapsed + 3, (len(reports), elapsed)  # about one a second
    last = {label: (done, total, unit) for label, done, total, unit in reports[-1]}
    assert last['devices'][1] == last['devices'][0] >= 1 and last['devices'][2] == 'pages'
    wireless = [network for network in snapshot.networks if 'wireless' in network['productTypes']]
    assert last['SSIDs'] == (len(wireless), len(wireless), 'networks')
    # A report while the read went on had endpoints still being read.
    assert any(total is None or done < total for report in reports[:-1] for _label, done, total, _unit in report)


def test_a_syncs_progress_writes_stay_few_and_hold_no_api_key(meraki_config, settings):
    # Forty networks, read 25 calls a second: many pages and networks read a second, and a write a second.
    with Simulator(seed=5, scale=Scale(organizations=1, networks=40, devices=80), rate_limit=0,
                   api_key=API_KEY) as simulator:
        settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_meraki': {
            **meraki_config, 'base_url': simulator.base_url, 'requests_per_second': 25,
        }}
        start = time.monotonic()
        with CaptureQueriesContext(connection) as queries:
            run = run_sync(simulator.org_ids[0], SyncModeChoices.DRY_RUN)
        elapsed = time.monotonic() - start
    assert run.status == RunStatusChoices.COMPLETED
    progress = [query['sql'] for query in queries if query['sql'].startswith('UPDATE "netbox_meraki_syncrun"')]
    # A write a second at most while Meraki is read, one per phase, and the run's claim and end.
    assert len(progress) <= elapsed + 6, (len(progress), elapsed)
    assert any('SSIDs' in sql for sql in progress)  # what the fetch read was written as it went
    assert not any(API_KEY in sql for sql in progress)


def test_a_review_apply_whose_process_died_ends_in_its_own_times(admin_client):
    planned = (timezone.now() - timedelta(hours=1), timezone.now() - timedelta(minutes=59))
    run = make_run(1, status=RunStatusChoices.RUNNING, started=planned[0], completed=planned[1],
                   review_started=timezone.now(), phase='apply')
    admin_client.get(run.get_absolute_url())  # no process holds the organization's lock: the run is marked dead
    run.refresh_from_db()
    assert run.status == RunStatusChoices.INTERRUPTED
    assert (run.started, run.completed) == planned and run.review_completed >= run.review_started


def test_a_new_phase_starts_its_progress_and_clock_afresh(hold_organization_lock):
    # An auto run's apply left 50 of 50 done; its review's apply then reads Meraki again: no rate from the old apply.
    hold_organization_lock('101')
    run = make_run(1, status=RunStatusChoices.RUNNING, phase='apply', progress_done=50, progress_total=50,
                   phase_started=timezone.now() - timedelta(minutes=5))
    save_progress(run, phase='fetch')
    run = SyncRun.objects.get(pk=run.pk)
    assert (run.phase, run.progress_done, run.progress_total) == ('fetch', 0, 0)
    assert timezone.now() - run.phase_started < timedelta(seconds=5)
    assert run.pace() == (None, None)
