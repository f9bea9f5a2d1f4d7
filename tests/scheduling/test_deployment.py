"""The deployment templates: systemd units that systemd accepts, a cron script that works, a Compose service."""

import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from netbox_meraki.scheduling import scheduler_commands

from .conftest import REPO

DEPLOYMENT = REPO / 'deployment'
SYSTEMD = DEPLOYMENT / 'systemd'
UNITS = ('netbox-meraki-scheduler.service', 'netbox-meraki-scheduler-oneshot.service', 'netbox-meraki-scheduler.timer')
VENV_BIN = REPO / '.venv' / 'bin'
# The templates name NetBox's standard paths; systemd-analyze verify needs the programs to exist, so the copies
# it checks point at this machine's virtual environment instead. Nothing else is changed.
PROGRAMS = {'/opt/netbox/venv/bin/python': sys.executable, '/opt/netbox/venv/bin/netbox': str(VENV_BIN / 'netbox')}


def directives(text):
    """Directive -> list of values, of the lines that are not comments."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith(('#', '[')):
            key, _, value = line.partition('=')
            values.setdefault(key, []).append(value)
    return values


def unit_values(name):
    return directives((SYSTEMD / name).read_text())


def verify(tmp_path, texts):
    """Run systemd-analyze verify on the given unit texts (name -> text); returns its output."""
    if not shutil.which('systemd-analyze'):
        pytest.fail('systemd-analyze is missing: `make setup` installs it (Debian package systemd).')
    for name, text in texts.items():
        for template_path, real_path in PROGRAMS.items():
            text = text.replace(template_path, real_path)
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ['systemd-analyze', 'verify', '--man=no', *(str(tmp_path / name) for name in texts)],
        capture_output=True, text=True, timeout=60,
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def with_alternative_exec_start(text):
    """The unit as a PyPI install would use it: the commented ExecStart instead of the active one."""
    alternative = re.search(r'^# (ExecStart=.*)$', text, re.MULTILINE).group(1)
    text = re.sub(r'^ExecStart=.*$', alternative, text, count=1, flags=re.MULTILINE)
    return text.replace(f'# {alternative}', '')


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    texts = {name: (SYSTEMD / name).read_text() for name in UNITS}
    assert verify(tmp_path, texts) == (0, '')


def test_the_units_also_pass_with_the_pypi_netbox_command(tmp_path):
    texts = {name: (SYSTEMD / name).read_text() for name in UNITS}
    for name in ('netbox-meraki-scheduler.service', 'netbox-meraki-scheduler-oneshot.service'):
        texts[name] = with_alternative_exec_start(texts[name])
        assert '/opt/netbox/venv/bin/netbox schedule_meraki_sync' in texts[name]
        assert 'manage.py' not in directives(texts[name])['ExecStart'][0]
    assert verify(tmp_path, texts) == (0, '')


def test_verify_would_report_a_broken_unit(tmp_path):
    text = (SYSTEMD / 'netbox-meraki-scheduler.service').read_text().replace('Restart=on-failure', 'Restrt=on-failure')
    _code, output = verify(tmp_path, {'netbox-meraki-scheduler.service': text})
    assert "Unknown key 'Restrt'" in output


def test_the_service_runs_the_continuous_check_restarts_on_failure_and_logs_to_journald():
    values = unit_values('netbox-meraki-scheduler.service')
    assert values['ExecStart'] == [
        '/opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py schedule_meraki_sync --continuous --interval 60'
    ]
    assert values['Restart'] == ['on-failure']
    assert values['KillSignal'] == ['SIGTERM']
    assert values['StandardOutput'] == values['StandardError'] == ['journal']
    assert values['User'] == ['netbox']


def test_the_timer_starts_the_oneshot_check_which_accepts_not_due_disabled_and_busy():
    timer = unit_values('netbox-meraki-scheduler.timer')
    assert timer['Unit'] == ['netbox-meraki-scheduler-oneshot.service']
    assert timer['OnCalendar'] == ['*:0/5']
    oneshot = unit_values('netbox-meraki-scheduler-oneshot.service')
    assert oneshot['Type'] == ['oneshot']
    assert oneshot['ExecStart'] == ['/opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py schedule_meraki_sync']
    # 2 not due, 3 disabled, 4 another sync running: not failures of the unit. 1 (sync failed) is.
    assert oneshot['SuccessExitStatus'] == ['2 3 4']


def test_the_cron_script_is_valid_bash():
    result = subprocess.run(['bash', '-n', str(DEPLOYMENT / 'cron' / 'meraki-sync-cron.sh')], capture_output=True)
    assert result.returncode == 0, result.stderr


CRON_SCRIPT = str(DEPLOYMENT / 'cron' / 'meraki-sync-cron.sh')


@pytest.fixture
def cron_env(tmp_path):
    """The cron script's environment: a log file, a lock file, and a `mail` that records what it is given."""
    stub = tmp_path / 'stub'
    stub.mkdir()
    executable(stub / 'mail', '#!/bin/sh\n{ echo "args: $*"; cat; } >> "$MAIL_RECORD"\n')
    return {
        'MERAKI_SYNC_LOG': str(tmp_path / 'log' / 'meraki-sync.log'), 'MERAKI_SYNC_LOCK': str(tmp_path / 'lock'),
        'MERAKI_SYNC_MAILTO': 'netops@example.com', 'MAIL_RECORD': str(tmp_path / 'mails'),
        'PATH': f'{stub}:/usr/bin:/bin',
    }


def executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def fake_netbox(tmp_path, exit_code, script='netbox'):
    """A NetBox virtual environment whose `bin/<script>` prints its arguments and exits with exit_code."""
    venv = tmp_path / 'venv'
    executable(venv / 'bin' / script, f'#!/bin/sh\necho "{script} $*"\nexit {exit_code}\n')
    return str(venv)


@pytest.mark.usefixtures('committed_db')
def test_the_cron_script_runs_the_command_and_logs_and_mails_a_failed_sync(tmp_path, child_env, cron_env):
    # A forced sync with a key Meraki refuses fails (exit code 1): logged and mailed.
    env = dict(child_env, **cron_env, NETBOX_VENV=str(REPO / '.venv'), MERAKI_DASHBOARD_API_KEY='not-a-valid-key')
    result = subprocess.run([CRON_SCRIPT, '--force'], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    mail = (tmp_path / 'mails').read_text()
    assert 'args: -s NetBox Meraki scheduled sync failed on' in mail and 'netops@example.com' in mail
    assert 'Invalid API key' in mail
    log = (tmp_path / 'log' / 'meraki-sync.log').read_text()
    assert 'Invalid API key' in log and 'schedule_meraki_sync exited with code 1' in log


@pytest.mark.parametrize('exit_code', [0, 2, 3, 4])
def test_the_cron_script_takes_synced_not_due_disabled_and_busy_as_success(tmp_path, cron_env, exit_code):
    env = dict(cron_env, NETBOX_VENV=fake_netbox(tmp_path, exit_code))
    result = subprocess.run([CRON_SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, '')
    assert 'netbox schedule_meraki_sync' in (tmp_path / 'log' / 'meraki-sync.log').read_text()
    assert not (tmp_path / 'mails').exists()


def test_the_cron_script_prints_a_failure_for_crons_mail_when_no_address_is_set(tmp_path, cron_env):
    env = dict(cron_env, NETBOX_VENV=fake_netbox(tmp_path, 1), MERAKI_SYNC_MAILTO='')
    result = subprocess.run([CRON_SCRIPT, '--force'], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert 'NetBox Meraki scheduled sync failed' in result.stdout
    assert 'netbox schedule_meraki_sync --force' in result.stdout
    assert not (tmp_path / 'mails').exists()


def test_the_cron_script_uses_manage_py_on_a_git_install(tmp_path, cron_env):
    env = dict(cron_env, NETBOX_VENV=fake_netbox(tmp_path, 0, script='python'), NETBOX_ROOT='/srv/netbox')
    assert subprocess.run([CRON_SCRIPT], env=env, timeout=30).returncode == 0
    log = (tmp_path / 'log' / 'meraki-sync.log').read_text()
    assert 'python /srv/netbox/netbox/manage.py schedule_meraki_sync' in log


def test_the_cron_script_skips_a_check_while_the_previous_one_runs(tmp_path, cron_env):
    env = dict(cron_env, NETBOX_VENV=fake_netbox(tmp_path, 1))
    lock = cron_env['MERAKI_SYNC_LOCK']
    previous = subprocess.Popen(['flock', lock, 'sleep', '30'])
    try:
        while subprocess.run(['flock', '-n', lock, 'true']).returncode == 0:
            time.sleep(0.05)
        result = subprocess.run([CRON_SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    finally:
        previous.kill()
        previous.wait()
    assert result.returncode == 0
    assert 'the previous check is still running; skipped' in (tmp_path / 'log' / 'meraki-sync.log').read_text()
    assert not (tmp_path / 'mails').exists()


def test_the_compose_service_runs_the_continuous_check_in_the_netbox_image():
    compose = yaml.safe_load((DEPLOYMENT / 'docker' / 'docker-compose.override.yml').read_text())
    service = compose['services']['netbox-meraki-scheduler']
    assert service['command'] == [
        '/opt/netbox/venv/bin/python', '/opt/netbox/netbox/manage.py', 'schedule_meraki_sync', '--continuous',
        '--interval', '60',
    ]
    assert 'netbox' in service['image']
    assert service['depends_on']['netbox']['condition'] == 'service_healthy'
    assert service['stop_signal'] == 'SIGTERM'
    assert service['restart'] == 'unless-stopped'


def test_the_setup_commands_offered_in_the_ui_cover_both_installs_and_name_files_that_exist():
    entries = scheduler_commands()
    assert [entry['key'] for entry in entries] == [
        'netbox_worker', 'systemd_service', 'systemd_timer', 'cron', 'continuous', 'docker',
    ]
    for entry in entries:
        assert set(entry['commands']) == {'netbox', 'manage_py'}
        for line in entry['commands']['netbox'] + entry['commands']['manage_py']:
            for path in re.findall(r'deployment/\S+', line):
                assert (REPO / path).is_file(), line
    cron = next(entry for entry in entries if entry['key'] == 'cron')['commands']
    assert '/opt/netbox/venv/bin/netbox schedule_meraki_sync' in cron['netbox'][0]
    assert '/opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py schedule_meraki_sync' in cron['manage_py'][0]
