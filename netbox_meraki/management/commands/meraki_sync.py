import json

from django.core.management.base import BaseCommand, CommandError

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.fetch import FetchError
from netbox_meraki.sync import MerakiSyncService, SyncRefused


class Command(BaseCommand):
    help = 'Sync Meraki organizations into NetBox now, in the foreground, and print a summary.'

    def add_arguments(self, parser):
        parser.add_argument('--mode', choices=SyncModeChoices.values(), help='default: the configured sync mode')
        parser.add_argument(
            '--organization', action='append', dest='organizations', metavar='ID',
            help='organization to sync (repeatable; default: the configured ones, else all the key sees)',
        )
        parser.add_argument('--network', action='append', dest='networks', metavar='ID',
                            help='limit the sync to this network (repeatable)')
        parser.add_argument('--full', action='store_true',
                            help='read every network from Meraki, not only those whose configuration changed since '
                                 'the last read')
        parser.add_argument('--json', action='store_true', help='print one JSON object per organization')

    def handle(self, *args, **options):
        service = MerakiSyncService(trigger=RunTriggerChoices.COMMAND)
        try:
            runs = service.sync_all(
                mode=options['mode'], organization_ids=options['organizations'], network_ids=options['networks'],
                background=False, full_read=options['full'],
            )
        except (SyncRefused, FetchError) as exc:
            raise CommandError(str(exc)) from None
        for refusal in service.refused:
            self.stderr.write(str(refusal))
        for run in runs:
            if options['json']:
                self.stdout.write(json.dumps(summary(run)))
            else:
                self.print_run(run)
        if any(run.status in (RunStatusChoices.FAILED, RunStatusChoices.INTERRUPTED) for run in runs):
            raise CommandError('A sync failed: ' + '; '.join(run.error for run in runs if run.error))

    def print_run(self, run):
        data = summary(run)
        self.stdout.write(
            f"Run #{data['run']} of {run.organization_name or run.organization_id}: {data['status']} "
            f"({data['mode']}, {'full read' if run.full_read else 'changed networks only'}, {data['api_calls']} API "
            f"calls, {data['duration_s']} s)"
        )
        for kind, actions in sorted(data['changes'].items()):
            counts = ', '.join(f'{count} {action}' for action, count in sorted(actions.items()))
            self.stdout.write(f'  {kind}: {counts}')
        if run.error:
            self.stdout.write(f'  error: {run.error}')


def summary(run):
    return {
        'run': run.pk,
        'organization': run.organization_id,
        'status': run.status,
        'mode': run.mode,
        'full_read': run.full_read,
        'api_calls': run.api_calls,
        'api_rate_limited': run.api_rate_limited,
        'duration_s': round(run.duration.total_seconds(), 3) if run.duration else None,
        'changes': run.counts,
        'error': run.error,
    }
