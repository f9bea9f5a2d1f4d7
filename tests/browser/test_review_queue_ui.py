"""
The review queue in a real browser: a dry run's changes are planned only and the dry run is turned into a review (run
by the worker), a rejected change's rejection is undone from its page, and a newer review supersedes the older one,
which leaves the Review list. Screenshots under test-artifacts/screenshots/qa-*.png.
"""

import pytest
from django.urls import reverse

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import SyncRun
from netbox_meraki.sync import reject_changes

from ..ui.conftest import run_sync, simulator  # noqa: F401  (the small simulated Dashboard)
from .test_web_ui import CHROMIUM, browser_page, rq_worker, shoot  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason='No Chromium found (apt-get install chromium, or set CHROMIUM_PATH)'),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_dry_run_to_review_undo_a_rejection_and_supersede_in_the_browser(
    live_server, browser_page, rq_worker, meraki_config, org_id, django_user_model,  # noqa: F811
):
    page = browser_page
    url = live_server.url
    reverse('home')  # build NetBox's URL map before the first page load's timeout
    django_user_model.objects.create_superuser(username='qa-admin', password='qa-admin-password', email='')
    page.goto(f'{url}/login/?next=/plugins/meraki/')
    page.fill('input[name=username]', 'qa-admin')
    page.fill('input[name=password]', 'qa-admin-password')
    page.click('button[type=submit]')
    page.wait_for_url('**/plugins/meraki/dashboard/')

    # A dry run: planned only, and a button to turn it into a review.
    dry_run = run_sync(org_id, SyncModeChoices.DRY_RUN)
    page.goto(url + dry_run.get_absolute_url())
    assert page.get_by_text('planned only', exact=False).first.is_visible()
    shoot(page, 'qa-01-dry-run')
    page.get_by_role('button', name='Turn into a review').click()
    page.wait_for_url('**/plugins/meraki/runs/*/')
    review = SyncRun.objects.get(mode=SyncModeChoices.REVIEW)
    assert page.url.endswith(review.get_absolute_url())
    # The worker reads Meraki and plans; the page reloads itself when the run ends.
    page.get_by_text('This run awaits review').wait_for()
    assert page.get_by_text(f'Turned into a review from dry run #{dry_run.pk}').first.is_visible()
    shoot(page, 'qa-02-review-from-dry-run')

    # A rejected change, and its rejection undone from its page.
    review.refresh_from_db()
    change = review.changes.filter(kind='site').first()
    reject_changes(review, [change.pk])
    page.goto(url + change.get_absolute_url())
    shoot(page, 'qa-03-rejected-change')
    page.get_by_role('button', name='Undo rejection').click()
    page.get_by_text('The rejection of 1 change was undone.').wait_for()
    change.refresh_from_db()
    assert change.state == ChangeStateChoices.PENDING
    shoot(page, 'qa-04-rejection-undone')

    # A newer review supersedes it: the older run says so, and the Review list shows the newer one alone.
    newer = run_sync(org_id, SyncModeChoices.REVIEW)
    review.refresh_from_db()
    assert review.status == RunStatusChoices.SUPERSEDED
    page.goto(url + review.get_absolute_url())
    assert page.get_by_text(f'Superseded by run #{newer.pk}').first.is_visible()
    shoot(page, 'qa-05-superseded-run')
    page.goto(f'{url}/plugins/meraki/review/')
    def review_link(run):
        return page.locator(f'a[href="{reverse("plugins:netbox_meraki:syncrun_changes", kwargs={"pk": run.pk})}"]')

    assert review_link(newer).count() and not review_link(review).count()
    shoot(page, 'qa-06-review-list')
