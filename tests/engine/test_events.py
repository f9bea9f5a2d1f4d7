"""
Events of a sync's writes reach NetBox's event rules for what was written, once: a real webhook, delivered by an RQ
worker to an HTTP endpoint of the test, for a first sync, for a sync with changes NetBox refuses, and for a run that
fails half-way. These tests commit (see tests/reliability/conftest.py `committed`): events are sent on commit.
"""

import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django_rq
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from rq import SimpleWorker

from core.events import OBJECT_CREATED, OBJECT_DELETED, OBJECT_UPDATED
from core.models import ObjectType
from dcim.models import Cable, Site
from extras.choices import EventRuleActionChoices
from extras.models import EventRule, Tag, Webhook
from netbox.context import events_queue
from netbox.context_managers import event_tracking
from users.models import User
from utilities.request import NetBoxFakeRequest

from netbox_meraki import apply
from netbox_meraki.apply import rollback_to
from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.events import queued_events
from netbox_meraki.kinds import KINDS
from netbox_meraki.models import Change, PluginSettings
from netbox_meraki.sync import apply_review, approve_changes

from ..reliability.conftest import (  # noqa: F401  (committing fixtures, and a small simulator without rate limit)
    committed,
    meraki_config,
    simulator,
    sync,
)

# The models a sync writes: the event rule of these tests covers them all.
SYNCED_MODELS = tuple(dict.fromkeys(spec.model for spec in KINDS.values()))


class WebhookReceiver(ThreadingHTTPServer):
    """An HTTP endpoint on 127.0.0.1 that keeps the body of every webhook delivered to it."""

    def __init__(self):
        self.bodies = []
        super().__init__(('127.0.0.1', 0), ReceiverHandler)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}/hook'


class ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.bodies.append(json.loads(self.rfile.read(int(self.headers['Content-Length']))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class InProcessWorker(SimpleWorker):
    """NetBox's RQ worker, in this process; pytest keeps its own signal handlers."""

    def _install_signal_handlers(self):
        pass


class Webhooks:
    """What a webhook on every event of the synced models delivered: {(object type, object id, event): count}."""

    def __init__(self, receiver):
        self.receiver = receiver

    def deliver(self):
        """Run the queued webhook jobs, as `netbox rqworker` would, and return what was delivered so far."""
        queue = django_rq.get_queue('default')
        InProcessWorker([queue], connection=queue.connection).work(burst=True, logging_level='WARNING')
        assert not queue.failed_job_registry.get_job_ids(), 'a webhook job failed'
        return Counter((body['object_type'], body['data']['id'], body['event']) for body in self.receiver.bodies)

    def bodies(self, object_type):
        return [body for body in self.receiver.bodies if body['object_type'] == object_type]


@pytest.fixture
def webhooks(committed):  # noqa: F811
    receiver = WebhookReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    webhook = Webhook.objects.create(name='Meraki sync events', payload_url=receiver.url)
    rule = EventRule.objects.create(
        name='Meraki sync events', event_types=[OBJECT_CREATED, OBJECT_UPDATED, OBJECT_DELETED],
        action_type=EventRuleActionChoices.WEBHOOK, action_object_type=ContentType.objects.get_for_model(Webhook),
        action_object_id=webhook.pk,
    )
    rule.object_types.set(ObjectType.objects.get_for_models(*SYNCED_MODELS).values())
    try:
        yield Webhooks(receiver)
    finally:
        receiver.shutdown()
        receiver.server_close()
        rule.delete()
        webhook.delete()


def label(model):
    return f'{model._meta.app_label}.{model._meta.model_name}'


def created_objects(run):
    """(object type, object id) of every object the run created, by its own record of what it applied."""
    return {
        (label(KINDS[change.kind].model), change.object_id)
        for change in run.changes.filter(action=ChangeActionChoices.CREATE, state=ChangeStateChoices.APPLIED)
    }


def assert_only_what_exists(delivered):
    """No event of a created or updated object that is not in NetBox: nothing was sent for an undone write."""
    missing = [
        key for key in delivered if key[2] != 'deleted'
        and not ObjectType.objects.get_by_natural_key(*key[0].split('.')).model_class().objects.filter(
            pk=key[1]).exists()
    ]
    assert not missing, missing[:10]


# Batches smaller than the test organization's plan, so that it is applied in several.
BATCH_SIZE = 50


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(apply, 'BATCH_SIZE', BATCH_SIZE)


@pytest.mark.usefixtures('meraki_config', 'small_batches')
def test_a_first_sync_sends_one_created_event_per_object_it_creates(org_id, webhooks):
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    created = created_objects(run)
    assert len(created) > BATCH_SIZE  # more than one batch, each sending its own events
    delivered = webhooks.deliver()
    assert {key[:2]: count for key, count in delivered.items() if key[2] == 'created'} == dict.fromkeys(created, 1)
    assert_only_what_exists(delivered)


@pytest.fixture
def refused_tag(committed):  # noqa: F811
    """A tag people may only put on sites, configured as an extra tag of the sync's cables: NetBox refuses it."""
    tag = Tag.objects.create(name='Sites only', slug='sites-only')
    tag.object_types.set([ObjectType.objects.get_for_model(Site)])
    settings = PluginSettings.load()
    settings.extra_tags = {'cable': [tag.slug]}
    settings.save()
    yield tag
    tag.delete()


@pytest.mark.usefixtures('meraki_config', 'refused_tag')
def test_a_change_netbox_refuses_sends_nothing_and_the_others_are_sent_once(org_id, webhooks, monkeypatch):
    # One batch: the cables are refused after NetBox saved them and updated the ports they connect, ports created
    # earlier in the same batch, whose queued creation the cable's update had changed.
    monkeypatch.setattr(apply, 'BATCH_SIZE', 10_000)

    run = sync(org_id)

    cables = run.changes.filter(kind='cable')
    assert cables.exists()
    assert set(cables.values_list('state', flat=True)) == {ChangeStateChoices.FAILED}
    assert 'Sites only' in cables.first().reason
    assert not Cable.objects.exists()
    delivered = webhooks.deliver()
    assert not webhooks.bodies('dcim.cable')
    assert {key[:2]: count for key, count in delivered.items() if key[2] == 'created'} == dict.fromkeys(
        created_objects(run), 1)
    assert_only_what_exists(delivered)
    # The ports' events say what NetBox holds: no cable, not the one that was undone.
    ports = webhooks.bodies('dcim.interface')
    assert ports
    cabled = [
        f"{body['data']['device']['display']} {body['data']['display']}" for body in ports
        if body['data']['cable'] is not None or (body['snapshots']['postchange'] or {}).get('cable') is not None
    ]
    assert not cabled


@pytest.fixture
def crash_at_commit(committed):  # noqa: F811
    """crash_at_commit(change): the transaction that writes the change's outcome fails when it commits."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION test_events_crash() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'simulated crash: the transaction cannot commit';
            END $$
        """)

    def arm(change):
        with connection.cursor() as cursor:
            cursor.execute(f"""
                CREATE CONSTRAINT TRIGGER test_events_crash AFTER UPDATE ON {Change._meta.db_table}
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.id = {int(change.pk)})
                EXECUTE FUNCTION test_events_crash()
            """)

    yield arm
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER IF EXISTS test_events_crash ON {Change._meta.db_table}')
        cursor.execute('DROP FUNCTION test_events_crash()')


@pytest.mark.usefixtures('meraki_config', 'small_batches')
def test_a_run_that_fails_half_way_sends_the_events_of_what_it_committed(org_id, webhooks, crash_at_commit):
    run = sync(org_id, SyncModeChoices.REVIEW)
    approve_changes(run)
    approved = list(run.changes.filter(state=ChangeStateChoices.APPROVED).order_by('sequence'))
    assert len(approved) > BATCH_SIZE
    crash_at_commit(approved[BATCH_SIZE])  # the second batch cannot commit

    run = apply_review(run, background=False)

    assert run.status == RunStatusChoices.FAILED and 'simulated crash' in run.error
    states = Counter(Change.objects.filter(pk__in=[change.pk for change in approved]).values_list('state', flat=True))
    assert states[ChangeStateChoices.APPLIED] == BATCH_SIZE
    assert states[ChangeStateChoices.APPROVED] == len(approved) - BATCH_SIZE
    created = created_objects(run)
    assert created
    delivered = webhooks.deliver()
    assert {key[:2]: count for key, count in delivered.items() if key[2] == 'created'} == dict.fromkeys(created, 1)
    assert_only_what_exists(delivered)


@pytest.mark.django_db
def test_an_undone_change_leaves_the_events_queued_before_it_as_they_were():
    user = User.objects.create(username='events-test')
    request = NetBoxFakeRequest({
        'META': {}, 'COOKIES': {}, 'POST': {}, 'GET': {}, 'FILES': {}, 'user': user, 'method': 'POST', 'path': '',
        'id': uuid.uuid4(),
    })
    with event_tracking(request), transaction.atomic():
        site = Site.objects.create(name='Created', slug='created')
        before = queued_events()
        savepoint = transaction.savepoint_create()
        # A change that updates the site created earlier in the batch, creates another object, and is undone.
        again = Site.objects.get(pk=site.pk)
        again.snapshot()
        again.description = 'undone'
        again.save()
        Site.objects.create(name='Undone', slug='undone')
        rollback_to(savepoint, before)

        queue = events_queue.get()
        assert list(queue) == [f'dcim.site:{site.pk}']
        event = queue[f'dcim.site:{site.pk}']
        assert event['event_type'] == OBJECT_CREATED
        assert event['snapshots']['postchange']['description'] == ''
        assert event['data']['description'] == ''
        events_queue.set({})  # nothing to send: the test's transaction is rolled back
