"""
Reviewing a run: approving and rejecting changes one by one and in bulk, then applying the approved ones; seeing what
each removal would take with it.
"""

import re

import pytest
from django.urls import reverse

from dcim.models import Site
from utilities.testing.utils import disable_warnings

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import Change, SyncRun
from netbox_meraki.sync import apply_review, execute_review

from .conftest import run_sync

pytestmark = pytest.mark.django_db

APPROVE = reverse('plugins:netbox_meraki:change_bulk_approve')
REJECT = reverse('plugins:netbox_meraki:change_bulk_reject')


@pytest.fixture
def reviewer(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change', 'netbox_meraki.approve_change')
    return user_client


def states(run):
    return dict(run.changes.values_list('pk', 'state'))


def test_approving_and_rejecting_one_change_or_the_ticked_ones(reviewer, review_run):
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    page = reviewer.get(changes_url).content.decode()
    assert 'Approve selected' in page and 'Reject selected' in page
    assert 'name="pk"' in page, 'the table has no checkboxes'

    sites = list(review_run.changes.filter(kind='site').values_list('pk', flat=True))
    device = review_run.changes.filter(kind='device').first()
    response = reviewer.post(f'{APPROVE}?return_url={changes_url}', {'pk': sites}, follow=True)
    assert f'{len(sites)} changes approved.' in response.content.decode()
    assert response.redirect_chain[-1][0] == changes_url
    response = reviewer.post(REJECT, {'change': device.pk}, follow=True)
    assert '1 change rejected.' in response.content.decode()

    after = states(review_run)
    assert {after[pk] for pk in sites} == {ChangeStateChoices.APPROVED}
    assert after[device.pk] == ChangeStateChoices.REJECTED
    assert list(after.values()).count(ChangeStateChoices.PENDING) == len(after) - len(sites) - 1


def test_approve_all_and_reject_all_take_every_undecided_change_of_the_run(reviewer, review_run):
    reviewer.post(REJECT, {'change': review_run.changes.first().pk})
    reviewer.post(APPROVE, {'_all': '', 'run': review_run.pk})
    values = list(states(review_run).values())
    assert values.count(ChangeStateChoices.REJECTED) == 1
    assert values.count(ChangeStateChoices.APPROVED) == len(values) - 1


def test_deciding_needs_the_approve_permission_and_a_post(user, user_client, grant, review_run):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change')
    page = user_client.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}))
    assert 'Approve selected' not in page.content.decode()
    assert 'approved change' not in page.content.decode()
    change = review_run.changes.first()
    with disable_warnings('django.request'):
        assert user_client.post(APPROVE, {'change': change.pk}).status_code == 403
        assert user_client.post(
            reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk})
        ).status_code == 403
    grant(user, 'netbox_meraki.approve_change')
    with disable_warnings('django.request'):
        assert user_client.get(APPROVE).status_code == 405
    assert states(review_run)[change.pk] == ChangeStateChoices.PENDING


def test_a_run_that_is_not_awaiting_review_refuses_decisions(reviewer, review_run):
    SyncRun.objects.filter(pk=review_run.pk).update(status=RunStatusChoices.COMPLETED)
    change = review_run.changes.first()
    response = reviewer.post(APPROVE, {'change': change.pk}, follow=True)
    assert 'not awaiting review' in response.content.decode()
    assert states(review_run)[change.pk] == ChangeStateChoices.PENDING
    page = reviewer.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}))
    assert 'Approve selected' not in page.content.decode()


def test_applying_the_approved_changes_runs_them_as_a_job_and_shows_each_outcome(
    reviewer, review_run, django_capture_on_commit_callbacks,
):
    sites = review_run.changes.filter(kind='site')
    devices = review_run.changes.filter(kind='device')
    reviewer.post(APPROVE, {'pk': [*sites.values_list('pk', flat=True), devices.first().pk]})
    apply_url = reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk})
    with disable_warnings('django.request'):
        assert reviewer.get(apply_url).status_code == 405

    with django_capture_on_commit_callbacks() as queued:
        response = reviewer.post(apply_url)
    assert response.status_code == 302 and response.url == review_run.get_absolute_url()
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.PENDING
    assert review_run.job is not None and queued

    # What the worker does with the job.
    planned = dict(review_run.timings)
    assert {'fetch', 'plan'} <= set(planned) and 'apply' not in planned
    execute_review(review_run)
    assert set(sites.values_list('state', flat=True)) == {ChangeStateChoices.APPLIED}
    # The planning times stay as they were; the review's are apart.
    assert {phase: review_run.timings[phase] for phase in planned} == planned
    assert {'review: read Meraki again', 'review: apply'} <= set(review_run.timings)
    page = reviewer.get(review_run.get_absolute_url()).content.decode()
    phases = re.findall(r'<tr><th scope="row">([^<]+)</th><td>[\d.]+ s</td></tr>', page)
    assert phases[:2] == ['fetch', 'plan'] and phases[-2:] == ['review: read Meraki again', 'review: apply']
    assert Site.objects.filter(tags__slug='meraki').count() == sites.count()
    # The device needs its device type and role, which were not approved: it is skipped, with the reason.
    skipped = devices.first()
    skipped.refresh_from_db()
    assert skipped.state == ChangeStateChoices.SKIPPED and skipped.reason

    page = reviewer.get(
        reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}), {'state': 'skipped'}
    ).content.decode()
    assert skipped.reason in page
    assert 'Skipped' in page


def test_applying_without_approved_changes_says_so(reviewer, review_run):
    response = reviewer.post(reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk}), follow=True)
    assert 'has no approved changes to apply' in response.content.decode()
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.AWAITING_REVIEW


def test_the_review_page_lists_the_runs_awaiting_review(admin_client, review_run):
    SyncRun.objects.create(organization_id='999', organization_name='Done Org', mode='auto', trigger='manual',
                           status=RunStatusChoices.COMPLETED)
    page = admin_client.get(reverse('plugins:netbox_meraki:review')).content.decode()
    assert review_run.organization_name in page
    assert 'Done Org' not in page
    assert reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}) in page
    assert f'>{review_run.changes.count()}<' in page


def ip(pk, owned, name=None):
    return {'type': 'IP address', 'id': pk, 'name': name or f'10.1.0.{pk}/24', 'owned': owned,
            'url': f'/ipam/ip-addresses/{pk}/'}


@pytest.fixture
def removals_run(db):
    """A run awaiting review with two removals, built as the engine writes them: one takes only what the plugin owns
    with it, the other would take objects it does not own, so it is planned as a mark."""
    run = SyncRun.objects.create(organization_id='1001', organization_name='Acme', mode=SyncModeChoices.REVIEW,
                                 trigger='manual', status=RunStatusChoices.AWAITING_REVIEW)
    marked = Change.objects.create(
        run=run, sequence=1, action=ChangeActionChoices.MARK, kind='device', meraki_id='Q2AA-0001', object_id=11,
        object_repr='old-switch', before={'status': 'active'}, after={'status': 'decommissioning'},
        reason='Deleting it would also delete 2 objects the plugin does not own: marked instead.',
        cascade=[
            ip(1, True), ip(2, False, name='<b>printer</b>'), ip(3, False),
            {'type': 'prefix', 'id': 4, 'name': '10.1.0.0/24', 'owned': True, 'url': '/ipam/prefixes/4/'},
        ],
    )
    deleted = Change.objects.create(
        run=run, sequence=2, action=ChangeActionChoices.DELETE, kind='device', meraki_id='Q2AA-0002', object_id=12,
        object_repr='gone-ap', before={'name': 'gone-ap'}, cascade=[ip(5, True), ip(6, True)],
    )
    Change.objects.create(run=run, sequence=3, action=ChangeActionChoices.CREATE, kind='site', meraki_id='N_1',
                          object_repr='New Site', after={'name': 'New Site'})
    return run, marked, deleted


def row(page, change):
    match = re.search(rf'<tr[^>]*id="change-{change.pk}".*?</tr>', page, re.S)
    assert match, f'no row for change {change.pk}'
    return match.group(0)


def test_a_removal_shows_what_netbox_would_delete_with_it_and_what_the_plugin_does_not_own(reviewer, removals_run):
    run, marked, deleted = removals_run
    page = reviewer.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk})).content.decode()
    assert '2 removals would take' not in page and '1 removal would take objects the plugin does not own' in page

    mark = row(page, marked)
    assert re.search(r'Deleting it would also delete: 3 IP addresses, 1 prefix <span class="text-danger[^>]*>'
                     r'<i [^>]*></i> \(2 not owned by the plugin\)</span>', mark), mark
    # Each object with its link and whether the plugin owns it; the two it does not own come first, and the list is
    # open: they are what a person would lose.
    assert '<details class="change-cascade mt-1" open>' in mark
    items = re.findall(r'<li class="cascade-(owned|not-owned)[^"]*">(.*?)</li>', mark, re.S)
    assert [kind for kind, _item in items] == ['not-owned', 'not-owned', 'owned', 'owned']
    assert 'href="/ipam/ip-addresses/2/"' in items[0][1] and '&lt;b&gt;printer&lt;/b&gt;' in items[0][1]
    assert 'href="/ipam/ip-addresses/3/"' in items[1][1] and '10.1.0.3/24' in items[1][1]
    assert all('not owned' in item for _kind, item in items[:2])
    assert all('owned by the plugin' in item for _kind, item in items[2:])
    assert 'href="/ipam/prefixes/4/"' in items[3][1]
    assert '<b>printer</b>' not in page

    delete = row(page, deleted)
    assert 'Also deletes: 2 IP addresses</summary>' in delete
    assert 'not owned' not in delete and ' open>' not in delete
    assert 'cascade' not in row(page, run.changes.get(action=ChangeActionChoices.CREATE))

    run_page = reviewer.get(run.get_absolute_url()).content.decode()
    assert '1 planned removal would take objects the plugin does not own with it' in run_page


def test_a_long_cascade_counts_what_is_not_listed(reviewer, removals_run):
    run, marked, _deleted = removals_run
    # As the engine counts what it does not list: by plural type name, or as objects past the first 50.
    marked.cascade = [ip(1, False), {'type': 'IP addresses', 'more': 2}, {'type': 'objects', 'more': 120}]
    marked.save()
    page = reviewer.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk})).content.decode()
    mark = row(page, marked)
    assert '3 IP addresses, 120 objects' in mark and '(at least 1 not owned by the plugin)' in mark
    assert 'and 2 more IP addresses, not listed' in mark and 'and 120 more objects, not listed' in mark


def test_the_changes_export_carries_the_cascade_summary(reviewer, removals_run):
    run, _marked, _deleted = removals_run
    # Every column: the cascade's is not among those shown by default (its detail is under the fields).
    export = reviewer.get(reverse('plugins:netbox_meraki:change_list'), {'export': ''})
    assert export.status_code == 200
    rows = export.content.decode().splitlines()
    assert 'Also deletes' in rows[0]
    assert any('old-switch' in line and '3 IP addresses, 1 prefix (2 not owned by the plugin)' in line for line in rows)
    assert not any('<' in line for line in rows), 'HTML in the export'


def test_a_change_has_a_page_with_its_fields_dependencies_history_and_decision(reviewer, review_run, meraki_config,
                                                                               org_id):
    address = review_run.changes.filter(kind='ipaddress', action=ChangeActionChoices.CREATE).first()
    url = address.get_absolute_url()
    assert url == reverse('plugins:netbox_meraki:change', kwargs={'pk': address.pk})
    # Linked from the run's changes.
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    assert f'href="{url}"' in reviewer.get(changes_url, {'kind': 'ipaddress'}).content.decode()

    page = reviewer.get(url).content.decode()
    assert 'IP address' in page and address.object_repr in page and address.meraki_id in page
    fields = page.split('id="change-fields"', 1)[1].split('</table>', 1)[0]
    assert 'assigned_object' in fields and address.after['address'] in fields
    # The interface it is on, planned by the same run, is a dependency, shown by name.
    interface = review_run.changes.get(kind='interface', meraki_id=address.after['assigned_object']['id'])
    dependencies = page.split('id="change-dependencies"', 1)[1].split('</ul>', 1)[0]
    assert interface.get_absolute_url() in dependencies
    assert f'interface {interface.object_repr}' in fields
    assert 'No other run planned a change of this object.' in page

    # Decided from its page.
    response = reviewer.post(APPROVE, {'change': address.pk, 'return_url': url})
    assert response.status_code == 302 and response.url == url
    address.refresh_from_db()
    assert address.state == ChangeStateChoices.APPROVED
    assert 'formaction' not in reviewer.get(url).content.decode()

    # A later run's change of the same object lists this one in its history.
    review_run.status = RunStatusChoices.COMPLETED
    review_run.save()
    later = run_sync(org_id)
    again = later.changes.get(kind='ipaddress', meraki_id=address.meraki_id)
    history = reviewer.get(again.get_absolute_url()).content.decode().split('id="change-history"', 1)[1]
    assert address.get_absolute_url() in history.split('</table>', 1)[0]


def test_a_decision_from_a_row_answers_htmx_with_that_row_and_its_toast(reviewer, review_run):
    change = review_run.changes.filter(kind='site').first()
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    response = reviewer.post(f'{REJECT}?return_url={changes_url}', {'change': change.pk}, HTTP_HX_REQUEST='true')
    assert response.status_code == 200
    page = response.content.decode()
    row = re.search(rf'<tr [^>]*id="change-{change.pk}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert 'Rejected' in row and 'title="Reject"' not in row and f'/runs/{review_run.pk}/"' not in row
    assert 'id="django-messages"' in page and '1 change rejected.' in page
    change.refresh_from_db()
    assert change.state == ChangeStateChoices.REJECTED


def test_the_row_a_decision_swaps_in_is_the_row_of_the_page(reviewer, review_run):
    change = review_run.changes.filter(kind='device').first()
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    response = reviewer.post(f'{APPROVE}?return_url={changes_url}', {'change': change.pk}, HTTP_HX_REQUEST='true')

    def row(page):
        return ' '.join(re.search(rf'<tr [^>]*id="change-{change.pk}".*?</tr>', page, re.S).group().split())

    assert row(response.content.decode()) == row(reviewer.get(changes_url).content.decode())


def test_a_row_decides_through_htmx_and_without_javascript_goes_back_to_the_page_as_shown(reviewer, review_run):
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    shown = f'{changes_url}?kind=device&per_page=5'
    page = reviewer.get(shown).content.decode()
    change = review_run.changes.filter(kind='device').order_by('pk').first()
    # htmx: the row says what its buttons' answer replaces, itself by the same row of the answer.
    row = re.search(rf'<tr [^>]*id="change-{change.pk}"[^>]*>', page).group()
    assert f'hx-select="#change-{change.pk}"' in row and 'hx-target="this"' in row and 'hx-swap="outerHTML"' in row
    button = re.search(rf'<button [^>]*value="{change.pk}" title="Reject"[^>]*>', page).group()
    assert f'formaction="{REJECT}"' in button and f'hx-post="{REJECT}"' in button
    # Without JavaScript the button submits the table's form, whose return_url is the page as shown.
    form = re.search(r'<form method="post">(.*?)</form>', page, re.S).group(1)
    assert button in form
    return_url = re.search(r'<input type="hidden" id="object-list-return-url" name="return_url" value="([^"]*)"',
                           form).group(1)
    assert return_url.replace('&amp;', '&') == shown
    response = reviewer.post(REJECT, {'change': change.pk, 'return_url': return_url.replace('&amp;', '&')})
    assert response.status_code == 302 and response.url == shown
    change.refresh_from_db()
    assert change.state == ChangeStateChoices.REJECTED
    # A decided row has no buttons, nor what they would replace.
    row = re.search(rf'<tr [^>]*id="change-{change.pk}"[^>]*>', reviewer.get(shown).content.decode()).group()
    assert 'hx-' not in row


def test_approving_what_a_filter_shows_then_what_the_approved_changes_need(reviewer, review_run):
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    sites = set(review_run.changes.filter(kind='site').values_list('pk', flat=True))
    assert 0 < len(sites) < review_run.changes.count()
    page = reviewer.get(changes_url, {'kind': 'site', 'per_page': 1}).content.decode()
    form = re.search(r'<form [^>]*id="approve-matching">(.*?)</form>', page, re.S).group(1)
    assert f'Approve the {len(sites)} matching' in form
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    assert ('kind', 'site') in fields and not [name for name, _ in fields if name in ('page', 'per_page')]

    # Every matching change, not only the page's one.
    reviewer.post(APPROVE, {**dict(fields), '_all': ''})
    assert {pk for pk, state in states(review_run).items() if state == ChangeStateChoices.APPROVED} == sites

    # A device approved alone needs its type, role and platform, and they the manufacturer: the page offers them.
    device = review_run.changes.filter(kind='device').exclude(after__platform=None).first()
    reviewer.post(APPROVE, {'change': device.pk})
    page = reviewer.get(changes_url).content.decode()
    wanted = {('devicetype', device.after['device_type']['id']), ('role', device.after['role']['id']),
              ('platform', device.after['platform']['id']), ('manufacturer', 'meraki')}
    needed = {change.pk for change in review_run.changes.all() if (change.kind, change.meraki_id) in wanted}
    assert len(needed) == 4
    assert needed and f'Approve the {len(needed)} changes the approved ones need' in page
    form = re.search(r'<form [^>]*id="approve-dependencies">(.*?)</form>', page, re.S).group(1)
    reviewer.post(APPROVE, {**dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)),
                            '_dependencies': ''})
    approved = {pk for pk, state in states(review_run).items() if state == ChangeStateChoices.APPROVED}
    assert approved == sites | {device.pk} | needed
    assert 'id="approve-dependencies"' not in reviewer.get(changes_url).content.decode()

    apply_review(SyncRun.objects.get(pk=review_run.pk), background=False)
    device.refresh_from_db()
    assert device.state == ChangeStateChoices.APPLIED, device.reason
