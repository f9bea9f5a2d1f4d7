"""Fixtures of the scheduling tests: clean RQ queues, and child processes that share the test database."""

import os
import queue
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from core.models import Job

from netbox_meraki.jobs import ScheduledSyncJob, SyncJob
from netbox_meraki.models import Change, NetworkRead, PluginSettings, SyncRun

from ..conftest import clear_task_queues

REPO = Path(__file__).resolve().parents[2]
NETBOX = Path(sys.executable).parent / 'netbox'


@pytest.fixture(autouse=True)
def empty_task_queues():
    """Start and end with empty RQ queues: a job one test leaves in Redis must not run in another."""
    clear_task_queues()
    yield
    clear_task_queues()


def remove_what_the_tests_wrote():
    Change.objects.all().delete()
    SyncRun.objects.all().delete()
    Job.objects.filter(name__in=(ScheduledSyncJob.name, SyncJob.name)).delete()
    PluginSettings.objects.all().delete()
    NetworkRead.objects.all().delete()


@pytest.fixture
def committed_db(test_database, django_db_blocker):
    """
    The test database in autocommit mode, so that child processes (a worker, the command) and threads see what a
    test writes; what the scheduling tests write is removed afterwards. Cheaper than a transactional test, whose
    teardown truncates every NetBox table.
    """
    with django_db_blocker.unblock():
        assert connection.settings_dict['NAME'] == connection.creation._get_test_db_name()
        remove_what_the_tests_wrote()
        try:
            yield
        finally:
            remove_what_the_tests_wrote()


@pytest.fixture
def child_env(simulator):
    """Environment of a `netbox` child process: this test database, these Redis databases, the simulator."""
    env = dict(os.environ)
    env.update(
        NETBOX_DB_NAME=connection.settings_dict['NAME'],
        MERAKI_DASHBOARD_API_KEY=simulator.api_key,
        MERAKI_BASE_URL=simulator.base_url,
        PYTHONUNBUFFERED='1',
    )
    return env


def schedule_meraki_sync(*args):
    """Run the command in this process, as cron would run it; returns (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command('schedule_meraki_sync', *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def change_settings(**fields):
    """Save the settings with these values, validated, as the UI or the REST API would."""
    settings = PluginSettings.load()
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return PluginSettings.load()


def enable_schedule(interval=60, mode='dry_run', **fields):
    return change_settings(
        enable_scheduled_sync=True, sync_interval_minutes=interval, scheduled_sync_mode=mode, **fields,
    )


@pytest.fixture
def saved(django_capture_on_commit_callbacks):
    """
    Inside a test's transaction: a context that runs what waits for the commit when it closes, as a real commit
    of the saved settings would.
    """
    return lambda: django_capture_on_commit_callbacks(execute=True)


class LineReader:
    """Reads a child process's output on a thread, so that a test can wait for a line with a timeout."""

    def __init__(self, stream):
        self.lines = []
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self._queue.put(line.rstrip('\n'))
        self._queue.put(None)

    def wait_for(self, text, timeout=60):
        """The first unread line containing `text`; fails with everything read so far when it does not come."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail(f'No line with {text!r} within {timeout} s.')
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put(None)
                self.fail(f'The process ended without a line with {text!r}.')
            self.lines.append(line)
            if text in line:
                return line

    def fail(self, message):
        output = '\n'.join(self.lines)
        raise AssertionError(f'{message} Output:\n{output}')


def start_netbox(*args, env):
    """Start `netbox <args>` (the console script of a PyPI-installed NetBox), output on one text pipe."""
    return subprocess.Popen(
        [str(NETBOX), *args], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
