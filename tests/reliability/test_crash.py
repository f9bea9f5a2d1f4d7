"""
Crash safety: a process applying a plan is killed (SIGKILL) at a random moment. NetBox stays consistent (each change
written whole, with its state and its changelog, or not at all), the run is shown as interrupted on its page and in
the REST API before any other sync, its lock is free, and the next run converges.

Each trial syncs in a child process (`django.setup()` as `netbox meraki_sync` does) against this test database and
the in-process simulator. The next trial's child starts while the current one runs, to hide its start-up time.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.models import ObjectChange
from dcim.models import Cable, Device, Interface, MACAddress, Site
from ipam.models import VLAN, VRF, IPAddress, Prefix, VLANGroup
from users.models import User
from wireless.models import WirelessLAN, WirelessLANGroup

from netbox_meraki.apply import BATCH_SIZE
from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices
from netbox_meraki.kinds import KINDS, UPDATE_KINDS
from netbox_meraki.locks import release_organization, try_lock_organization
from netbox_meraki.mapping import REFERENCE_KINDS
from netbox_meraki.models import PluginSettings, SyncedObject, SyncRun

from .conftest import assert_converged, netbox_state, seeded_random, soak, sync_and_review

pytestmark = pytest.mark.usefixtures('committed')

REPO = Path(__file__).resolve().parents[2]
TRIALS = soak(3, 20)
# The models a sync creates objects of, whose rows are counted before and after a trial.
CREATED_MODELS = (
    Site, VRF, VLANGroup, WirelessLANGroup, Device, VLAN, Prefix, WirelessLAN, Interface, IPAddress, MACAddress, Cable,
)
# Models whose changelog entries come only from the sync's own changes (cables and interfaces also log side effects).
LOGGED_MODELS = (Site, VRF, VLANGroup, WirelessLANGroup, Device, VLAN, Prefix, WirelessLAN, IPAddress)
CHILD = '''
import os, sys
import django
django.setup()
from netbox_meraki import apply
from netbox_meraki.sync import MerakiSyncService
print('ready', flush=True)
apply.BATCH_SIZE = int(sys.stdin.readline())
MerakiSyncService().sync_all(mode='auto', organization_ids=[os.environ['ORGANIZATION']], background=False)
print('done', flush=True)
'''


class Child:
    """A sync in a child process, started ahead and waiting for the word to begin."""

    def __init__(self, env):
        self.process = subprocess.Popen(
            [sys.executable, '-c', CHILD], env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith('ready'):
                self.ready.set()

    def go(self, batch_size):
        assert self.ready.wait(120), self.lines
        self.process.stdin.write(f'{batch_size}\n')
        self.process.stdin.flush()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


@pytest.fixture
def child_env(simulator, org_id):
    env = dict(os.environ)
    env.update(
        NETBOX_DB_NAME=connection.settings_dict['NAME'], MERAKI_DASHBOARD_API_KEY=simulator.api_key,
        MERAKI_BASE_URL=simulator.base_url, ORGANIZATION=org_id, PYTHONUNBUFFERED='1',
        NETBOX_MERAKI_LOG_LEVEL='WARNING',
    )
    return env


def object_ids():
    return {model: set(model.objects.values_list('pk', flat=True)) for model in CREATED_MODELS}


def wait_for_apply(org_id, known, timeout=60):
    """The trial's run, once it has started applying."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SyncRun.objects.filter(organization_id=org_id).exclude(pk__in=known).order_by('-pk').first()
        if run and run.phase == 'apply':
            return run
        if run and run.is_finished:
            raise AssertionError(f'run #{run.pk} ended before applying: {run.status} {run.error}')
        time.sleep(0.02)
    raise AssertionError('No run started applying.')


def assert_consistent(run, before_ids):
    """Every change of the killed run is either wholly in NetBox (object, ownership, changelog) or not at all."""
    changes = list(run.changes.order_by('sequence'))
    applied = [change for change in changes if change.state == ChangeStateChoices.APPLIED]
    # What the apply got to (applied, or refused with a reason) comes before what it did not: whole batches.
    handled = [change.sequence for change in changes if change.state not in (
        ChangeStateChoices.PENDING, ChangeStateChoices.HELD)]
    waiting = [change.sequence for change in changes if change.state == ChangeStateChoices.PENDING]
    if handled and waiting:
        assert max(handled) < min(waiting)
    state = netbox_state(run.organization_id)

    # Every ownership record points at an existing object.
    for row in SyncedObject.objects.all():
        model = ContentType.objects.get_for_id(row.object_type_id).model_class()
        assert model.objects.filter(pk=row.object_id).exists(), f'{row} points at nothing'
    owned = {(row.kind, row.meraki_id): row.object_id for row in SyncedObject.objects.all()}

    for change in changes:
        model = KINDS[change.kind].model
        obj = model.objects.filter(pk=change.object_id).first() if change.object_id else None
        done = change.state == ChangeStateChoices.APPLIED
        if change.action == ChangeActionChoices.CREATE:
            if change.kind in REFERENCE_KINDS:
                continue
            assert ((change.kind, change.meraki_id) in owned) == done, change
            if done:
                assert obj is not None and owned[(change.kind, change.meraki_id)] == obj.pk, change
                assert state.current_values(change.kind, obj, list(change.after)) == change.after, change
        elif change.action == ChangeActionChoices.DELETE:
            assert (obj is None) == done, change
            assert ((change.kind, change.meraki_id) in owned) != done, change
        else:
            if obj is None and not done and change.kind in UPDATE_KINDS:
                continue  # the primary IP (MAC) of a device (interface) this run had not created yet
            expected = change.after if done else change.before
            now = state.current_values(change.kind, obj, list(change.after))
            assert {name: now[name] for name in expected} == expected, (change, now)

    # No object exists that no applied change created.
    created = {}
    for change in applied:
        if change.action == ChangeActionChoices.CREATE and change.kind not in REFERENCE_KINDS:
            created.setdefault(KINDS[change.kind].model, set()).add(change.object_id)
    for model, ids in object_ids().items():
        assert ids - before_ids[model] == created.get(model, set()), model.__name__

    # The changelog holds the applied changes and nothing else.
    logged = ObjectChange.objects.filter(request_id=run.request_id)
    touched = {(KINDS[c.kind].model, c.object_id) for c in applied}
    deleted_addresses = {
        change.object_id for change in applied
        if change.kind == 'ipaddress' and change.action == ChangeActionChoices.DELETE
    }
    for entry in logged:
        model = entry.changed_object_type.model_class()
        if model in LOGGED_MODELS and (model, entry.changed_object_id) not in touched:
            assert clears_a_deleted_address(entry, deleted_addresses), entry
    for model, object_id in touched:
        if model in LOGGED_MODELS:
            assert logged.filter(changed_object_type=ContentType.objects.get_for_model(model),
                                 changed_object_id=object_id).exists(), (model, object_id)


def clears_a_deleted_address(entry, deleted_addresses):
    """NetBox's own side effect of an address deletion: the device that had it as primary IP no longer has one."""
    before, after = entry.prechange_data or {}, entry.postchange_data or {}
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)} - {'last_updated'}
    return (
        entry.changed_object_type.model_class() is Device and changed
        and changed <= {'primary_ip4', 'primary_ip6', 'oob_ip'}
        and all(after.get(name) is None and before.get(name) in deleted_addresses for name in changed)
    )


def kill_somewhere_in_the_apply(child, run, rng, batch_size):
    """Kill the child at a random change of the plan: past the batches before it, somewhere inside its own."""
    target = rng.randrange(max(run.progress_total, 1))
    while run.progress_done < target // batch_size * batch_size and not run.is_finished:
        time.sleep(0.01)
        run.refresh_from_db(fields=('progress_done', 'status'))
    # About 30 changes a second here.
    time.sleep(target % batch_size / 30)
    child.kill()


def lock_is_free(org_id, timeout=10):
    """The killed process's lock is released (PostgreSQL drops it with the connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if try_lock_organization(org_id):
            release_organization(org_id)
            return True
        time.sleep(0.1)
    return False


def mutate(sim, org_id, rng, trial):
    """Enough Meraki changes for an apply of a few seconds: devices added, moved, renamed, removed; a recabling."""
    org = sim.dashboard.orgs[org_id]
    networks = sorted(org.networks)
    for number in range(rng.randint(3, 6)):
        model = rng.choice(['MS120-8LP', 'MR36', 'MX67'])
        sim.add_device(rng.choice(networks), model=model, name=f'new-{trial}-{number}')
    serials = sorted(org.devices)
    rng.shuffle(serials)
    for serial in serials[:3]:
        sim.rename_device(serial, f'{serial}-renamed-{rng.randint(0, 999)}')
    sim.move_device(serials[3], rng.choice([n for n in networks if n != org.devices[serials[3]]['networkId']]))
    sim.remove_device(serials[4])
    if org.links:
        link = rng.choice(org.links)
        if link['a'].get('serial') and link['b'].get('serial'):
            sim.remove_link(link['a']['serial'], link['a']['portId'])


def test_a_sync_killed_while_applying_leaves_netbox_consistent_and_the_next_run_converges(
    simulator, org_id, meraki_config, child_env,
):
    rng = seeded_random('crash trials')
    client = Client()
    client.force_login(User.objects.create_superuser(username='watcher', password='watcher'))
    known = set()
    # Every run reads every network: the Meraki changes between trials unplug a cable, which Meraki does not log.
    settings = PluginSettings.load()
    settings.full_read_hours = 0
    settings.save()
    child = Child(child_env)
    for trial in range(TRIALS):
        if trial:
            mutate(simulator, org_id, rng, trial)
        before_ids = object_ids()
        # Batches as in production, and smaller ones, so that kills fall after several commits too.
        batch_size = rng.choice([BATCH_SIZE, 20, 7])
        child.go(batch_size)
        upcoming = Child(child_env) if trial + 1 < TRIALS else None
        run = wait_for_apply(org_id, known)
        known.add(run.pk)
        kill_somewhere_in_the_apply(child, run, rng, batch_size)
        run.refresh_from_db()
        print(f'trial {trial}: batches of {batch_size}, killed at {run.progress_done}/{run.progress_total} '
              f'({run.status})')

        assert_consistent(run, before_ids)
        assert lock_is_free(org_id)
        if run.status == RunStatusChoices.RUNNING:
            # Whoever looks next, before any other sync, sees the run interrupted: its page, or the REST API.
            if trial % 2:
                answer = client.get(reverse('plugins-api:netbox_meraki-api:syncrun-detail', args=[run.pk]))
                assert answer.json()['status']['value'] == RunStatusChoices.INTERRUPTED, answer.json()
            else:
                page = client.get(run.get_absolute_url()).content.decode()
                assert 'Interrupted: the process running this sync stopped before it finished.' in page
            run.refresh_from_db()
            assert run.status == RunStatusChoices.INTERRUPTED and run.completed
        known.add(sync_and_review(org_id).pk)
        assert_converged(org_id)
        known.update(SyncRun.objects.values_list('pk', flat=True))
        child = upcoming
