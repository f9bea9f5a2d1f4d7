import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from netbox_meraki.scheduling import (
    BUSY,
    FAILED,
    run_scheduled_sync,
    schedule_status,
    when,
)

HELP = """Run the scheduled Meraki sync when it is due, in the scheduled mode (plugin settings: enable, interval,
mode), and record the last and next scheduled times. Exit codes: 0 synced, 1 sync failed, 2 not due, 3 scheduled syncs
disabled, 4 another sync is running (the message names it). With --continuous it checks every --interval seconds
until SIGTERM or SIGINT, then exits 0."""


class StopRequested(BaseException):
    """Raised by the signal handler to leave a sleep (or, on a second signal, a sync) at once."""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument('--force', action='store_true',
                            help='sync now, even when not due or when scheduled syncs are disabled')
        action.add_argument('--continuous', action='store_true',
                            help='keep checking every --interval seconds until stopped (SIGTERM, SIGINT)')
        action.add_argument('--status', action='store_true',
                            help='print the schedule and the result of the last scheduled sync, and exit')
        parser.add_argument('--interval', type=int, metavar='SECONDS',
                            help='seconds between two checks with --continuous (default: 60)')

    def handle(self, *args, **options):
        interval = options['interval']
        if interval is not None and not options['continuous']:
            raise CommandError('--interval only applies with --continuous.')
        if options['status']:
            self.print_status()
            return
        if options['continuous']:
            interval = 60 if interval is None else interval
            if interval < 1:
                raise CommandError('--interval must be at least 1 second.')
            self.run_continuously(interval)
            return
        outcome = run_scheduled_sync(force=options['force'])
        self.report(outcome)
        if outcome.exit_code:
            raise SystemExit(outcome.exit_code)

    def say(self, message, error=False):
        stream = self.stderr if error else self.stdout
        stream.write(f'{timezone.localtime():%Y-%m-%d %H:%M:%S} {message}')
        stream.flush()

    def report(self, outcome):
        error = outcome.status in (FAILED, BUSY)
        self.say(outcome.message, error=error)
        for line in outcome.details:
            self.say(f'  {line}', error=error)

    # --- --continuous -------------------------------------------------------------------------------------------

    def run_continuously(self, interval):
        self.stopping = False
        self.sleeping = False
        self.checking = False
        handlers = {signum: signal.signal(signum, self.on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
        self.say(f'Checking every {interval} s whether a scheduled Meraki sync is due; SIGTERM or SIGINT stops.')
        try:
            while not self.stopping:
                self.check_once()
                self.sleep(interval)
        except StopRequested:
            pass
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        self.say('Stopped.')

    def on_signal(self, signum, frame):
        name = signal.Signals(signum).name
        if self.sleeping or self.stopping:
            raise StopRequested(name)
        self.stopping = True
        self.say(f'{name} received: stopping' + (
            ' once the running check has finished (send it again to stop at once).' if self.checking else '.'
        ))

    def check_once(self):
        """One cycle: the settings are read afresh, and nothing that goes wrong ends the loop."""
        self.checking = True
        close_old_connections()
        try:
            self.report(run_scheduled_sync())
        except Exception as exc:
            self.say(f'The scheduled sync check failed: {type(exc).__name__}: {exc}', error=True)
        finally:
            close_old_connections()
            self.checking = False

    def sleep(self, seconds):
        self.sleeping = True
        try:
            if not self.stopping:
                time.sleep(seconds)
        finally:
            self.sleeping = False

    # --- --status -----------------------------------------------------------------------------------------------

    def print_status(self):
        status = schedule_status()
        job = status['job']
        lines = [
            f"Scheduled sync: {'enabled' if status['enabled'] else 'disabled'}",
            f"Interval: every {status['interval_minutes']} minutes",
            f"Mode: {status['mode']}",
            f"Last scheduled sync: {when(status['last_scheduled_sync'])}",
            f"Next scheduled sync: {when(status['next_scheduled_sync'])}" + (' (due)' if status['due'] else ''),
            'NetBox recurring job: ' + (
                f'#{job.pk}, {job.get_status_display().lower()} for {when(job.scheduled)}, '
                f'every {job.interval} minutes' if job else 'none'
            ),
        ]
        runs = status['runs']
        if not runs:
            lines.append('Last scheduled run: none yet')
        for run in runs:
            name = run.organization_name or run.organization_id
            lines.append(
                f'Last scheduled run: #{run.pk} of {name}: {run.get_status_display().lower()} ({run.mode}, '
                f'started {when(run.started or run.created)})' + (f': {run.error}' if run.error else '')
            )
        if status['failed_at']:
            lines.append(f"Last scheduled sync could not start ({when(status['failed_at'])}): {status['failure']}")
        for line in lines:
            self.stdout.write(line)

