"""
The built wheel, installed as a user installs it: into a new virtual environment beside NetBox from the package index,
not from this checkout. It must carry the plugin's templates, static files and migrations, and nothing of the tests or
the simulator; NetBox must migrate, start and serve the plugin's pages, and a sync must run from the installed code.

`make test-dist` builds the wheel and runs this module with NETBOX_MERAKI_WHEEL set; `make test` skips it.
"""

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest

import netbox_meraki
from meraki_sim import Simulator

WHEEL = os.environ.get('NETBOX_MERAKI_WHEEL')
DATABASE = 'netbox_meraki_dist'
TEMPLATE_DATABASE = 'netbox_meraki_tpl'  # NetBox's migrations already applied (make setup)
API_KEY = 'dist-test-key'
ADMIN_PASSWORD = 'dist-admin-password'
PAGES = (
    'plugins/meraki/',
    'plugins/meraki/sync/',
    'plugins/meraki/runs/',
    'plugins/meraki/review/',
    'plugins/meraki/changes/',
    'plugins/meraki/settings/',
    'plugins/meraki/settings/rules/',
    'plugins/meraki/settings/scheduling/',
)

pytestmark = pytest.mark.skipif(not WHEEL, reason='make test-dist builds the wheel and runs this test')

CONFIGURATION = """
ALLOWED_HOSTS = ['*']
SECRET_KEY = {secret!r}
API_TOKEN_PEPPERS = {{1: SECRET_KEY}}
DATABASES = {{'default': {{
    'ENGINE': 'django.db.backends.postgresql', 'NAME': {database!r},
    'USER': 'netbox_meraki', 'PASSWORD': 'netbox_meraki', 'HOST': '127.0.0.1', 'PORT': '5432',
}}}}
REDIS = {{
    'tasks': {{'HOST': '127.0.0.1', 'PORT': 6379, 'DATABASE': 8, 'USERNAME': '', 'PASSWORD': '', 'SSL': False}},
    'caching': {{'HOST': '127.0.0.1', 'PORT': 6379, 'DATABASE': 9, 'USERNAME': '', 'PASSWORD': '', 'SSL': False}},
}}
RELEASE_CHECK_URL = None
CENSUS_REPORTING_ENABLED = False
PLUGINS = ['netbox_meraki']
PLUGINS_CONFIG = {{'netbox_meraki': {{'api_key': {api_key!r}, 'base_url': {base_url!r}}}}}
"""


# Run by the installed environment's Python (each NetBox start-up takes seconds): the admin user, and what it runs.
INSTALLED_STATE = f"""
import json, django
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from users.models import User
import netbox_meraki
User.objects.create_superuser('admin', 'admin@example.com', {ADMIN_PASSWORD!r})
executor = MigrationExecutor(connection)
print(json.dumps({{
    'plugin_file': netbox_meraki.__file__,
    'unapplied': [str(migration) for migration, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())],
}}))
"""


def wheel_names():
    with zipfile.ZipFile(WHEEL) as wheel:
        return wheel.namelist()


def wheel_metadata():
    with zipfile.ZipFile(WHEEL) as wheel:
        name = next(name for name in wheel.namelist() if name.endswith('.dist-info/METADATA'))
        return Parser().parsestr(wheel.read(name).decode())


def test_the_wheel_holds_the_plugin_and_nothing_else():
    names = wheel_names()
    packaged = {name for name in names if not name.startswith('netbox_meraki_sync-')}
    checkout = Path(netbox_meraki.__file__).parent
    expected = {
        str(path.relative_to(checkout.parent))
        for path in checkout.rglob('*')
        if path.is_file() and '__pycache__' not in path.parts
    }
    assert packaged == expected
    assert any(name.startswith('netbox_meraki/templates/netbox_meraki/') for name in names)
    assert any(name.startswith('netbox_meraki/static/netbox_meraki/') for name in names)
    assert 'netbox_meraki/migrations/0001_initial.py' in names
    assert not [name for name in names if name.startswith(('tests/', 'meraki_sim/', 'dev/'))]

    metadata = wheel_metadata()
    assert metadata['Name'] == 'netbox-meraki-sync'
    assert metadata['Version'] == netbox_meraki.__version__
    assert metadata['License-Expression'] == 'Apache-2.0'
    assert [requirement for requirement in metadata.get_all('Requires-Dist') if 'extra ==' not in requirement] == [
        'meraki<5,>=4.7'
    ]


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def psql(statement):
    subprocess.run(
        ['psql', '-h', '127.0.0.1', '-U', 'netbox_meraki', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', statement],
        check=True, env={**os.environ, 'PGPASSWORD': 'netbox_meraki', 'PGOPTIONS': '-c client_min_messages=warning'},
    )


class InstalledNetBox:
    """NetBox and the wheel in a virtual environment of their own, configured for a database of their own."""

    def __init__(self, root, base_url):
        self.root = root
        self.venv = root / 'venv'
        conf = root / 'conf'
        conf.mkdir()
        (conf / 'dist_configuration.py').write_text(CONFIGURATION.format(
            secret='dist-test-' + 'x' * 50, database=DATABASE, api_key=API_KEY, base_url=base_url,
        ))
        # Nothing of the checkout's environment: PYTHONPATH there puts this source tree on the path.
        self.environment = {
            'PATH': f'{self.venv}/bin:/usr/bin:/bin',
            'HOME': os.environ.get('HOME', '/root'),
            'NETBOX_ROOT': str(root),
            'NETBOX_CONFIGURATION': 'dist_configuration',
            'PYTHONPATH': str(conf),
            'DJANGO_SETTINGS_MODULE': 'netbox.settings',
        }

    def run(self, *command, timeout=600):
        result = subprocess.run(
            command, cwd=self.root, env=self.environment, capture_output=True, text=True, timeout=timeout,
        )
        assert result.returncode == 0, f'{" ".join(command)} failed:\n{result.stdout}\n{result.stderr}'
        return result.stdout

    def netbox(self, *arguments):
        return self.run(str(self.venv / 'bin' / 'netbox'), *arguments)


@pytest.fixture(scope='module')
def simulator():
    with Simulator(seed=5, scale='small', api_key=API_KEY) as running:
        yield running


@pytest.fixture(scope='module')
def installed(tmp_path_factory, simulator):
    root = tmp_path_factory.mktemp('installed')
    netbox = InstalledNetBox(root, simulator.base_url)
    subprocess.run([sys.executable, '-m', 'venv', str(netbox.venv)], check=True)
    netbox.run(
        str(netbox.venv / 'bin' / 'pip'), 'install', '--quiet', f'netbox=={version("netbox")}', WHEEL, timeout=900,
    )
    psql(f'drop database if exists {DATABASE}')
    psql(f'create database {DATABASE} template {TEMPLATE_DATABASE}')
    try:
        # The template already holds the plugin's tables: take them away, then let the wheel's migrations make them.
        netbox.netbox('migrate', 'netbox_meraki', 'zero', '--no-input')
        netbox.netbox('migrate', '--no-input')
        netbox.state = json.loads(netbox.run(str(netbox.venv / 'bin' / 'python'), '-c', INSTALLED_STATE))
        yield netbox
    finally:
        psql(f'drop database if exists {DATABASE} with (force)')
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope='module')
def server(installed):
    port = free_port()
    process = subprocess.Popen(
        [str(installed.venv / 'bin' / 'netbox'), 'runserver', '--insecure', '--noreload', f'127.0.0.1:{port}'],
        cwd=installed.root, env=installed.environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(('127.0.0.1', port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, f'NetBox did not start:\n{process.stderr.read()}'
                assert time.monotonic() < deadline, 'NetBox did not start within 120 s'
                time.sleep(0.5)
        yield f'http://127.0.0.1:{port}/'
    finally:
        process.terminate()
        process.wait(timeout=30)


def logged_in(base_url):
    """A browser-like opener with the admin's session."""
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    opener.open(base_url + 'login/').read()
    token = next(cookie.value for cookie in cookies if cookie.name == 'csrftoken')
    form = urllib.parse.urlencode({
        'csrfmiddlewaretoken': token, 'username': 'admin', 'password': ADMIN_PASSWORD, 'next': '/',
    }).encode()
    request = urllib.request.Request(base_url + 'login/', data=form, headers={'Referer': base_url + 'login/'})
    opener.open(request).read()
    assert any(cookie.name == 'sessionid' for cookie in cookies), 'logging in as admin failed'
    return opener


def test_the_installed_wheel_is_the_code_that_runs(installed):
    assert installed.state['plugin_file'].startswith(str(installed.venv / 'lib'))
    assert installed.state['unapplied'] == []


def test_netbox_serves_the_plugins_pages_and_static_files(server):
    opener = logged_in(server)
    for page in PAGES:
        response = opener.open(server + page)
        body = response.read().decode()
        assert response.status == 200, page
        assert 'Meraki' in body, page
    rules = opener.open(server + 'plugins/meraki/settings/rules/').read().decode()
    static = sorted(set(re.findall(r'/static/netbox_meraki/[\w./-]+', rules)))
    assert static, 'the rules page links none of the plugin static files'
    for path in static:
        assert opener.open(server.rstrip('/') + path).status == 200, path


def test_a_sync_runs_from_the_installed_code(installed, server):
    output = installed.netbox('meraki_sync', '--mode', 'auto', '--json')
    summaries = [json.loads(line) for line in output.splitlines() if line.startswith('{')]
    assert [summary['status'] for summary in summaries] == ['completed'], output
    assert summaries[0]['changes'], output
    opener = logged_in(server)
    runs = opener.open(server + 'plugins/meraki/runs/').read().decode()
    run = re.search(r'/plugins/meraki/runs/(\d+)/', runs)
    assert run, 'the runs list shows no run'
    assert opener.open(server + run.group(0)).status == 200
    devices = opener.open(server + 'dcim/devices/?tag=meraki').read().decode()
    assert 'No results found' not in devices
